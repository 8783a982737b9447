//! The reference receiver over real loopback HTTP: the correct receiver
//! accepts every valid event of every provider and rejects every hostile or
//! invalid one with the right 4xx, dedupes, orders and answers blocking
//! hooks as specified (each fault's change is `receiver_faults`', which
//! shares the fixtures here); the `hookstorm receiver` binary and the Python stdlib receiver serve the
//! same contract as separate processes.

use base64::Engine;
use bytes::Bytes;
use generators::{
    apply_case, envelope, message_id, signature_cases, validate_blocking_response, variants,
    Catalog, Delivery, EventType, Expect, Family, Generator, ProviderId, Secret, Signer,
};
use harness::client::{send_one, ClientOptions, Response, SendError};
use harness::ledger::{fetch_ledger, LedgerEntry, OrderingPolicy};
use harness::receiver::{start, Fault, ReceiverConfig, RunningReceiver};
use harness::target::Target;
use serde_json::{json, Value};

use crate::util::process::{hookstorm, listening_url, python_receiver};
use harness::clock::now_unix_ms as now_ms;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn secret(provider: ProviderId) -> Secret {
    match provider {
        ProviderId::StandardWebhooks => Secret::new(format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(b"hookstorm-receiver-test-key-0123")
        )),
        _ => Secret::new("hookstorm-receiver-test-secret".to_string()),
    }
}

pub(crate) fn catalog_type(provider: ProviderId, name: &str) -> &'static EventType {
    Catalog::builtin()
        .get(provider.name(), name)
        .expect("catalog type")
}

/// A receiver plus what a sender of its provider needs.
pub(crate) struct Fixture {
    pub(crate) rx: RunningReceiver,
    pub(crate) provider: ProviderId,
    pub(crate) signer: Signer,
    pub(crate) gen: Generator,
    pub(crate) next_msg: std::cell::Cell<u128>,
}

impl Fixture {
    pub(crate) async fn new(config: ReceiverConfig) -> Fixture {
        let provider = ProviderId::parse(config.provider.name()).expect("a code-defined provider");
        let signer = Signer::new(config.provider.scheme(), &config.secret).expect("signer");
        let rx = start(config).await.expect("receiver starts");
        Fixture {
            rx,
            provider,
            signer,
            gen: Generator::new(0x5eed ^ provider as u64, now_ms()),
            next_msg: std::cell::Cell::new(1),
        }
    }

    pub(crate) async fn correct(provider: ProviderId) -> Fixture {
        Fixture::new(ReceiverConfig::new(provider, secret(provider))).await
    }

    pub(crate) async fn faulty(provider: ProviderId, fault: Fault) -> Fixture {
        Fixture::new(ReceiverConfig::new(provider, secret(provider)).with_fault(fault)).await
    }

    /// A generated valid event of the provider's first type (or `name`).
    pub(crate) fn event(&mut self, name: Option<&str>) -> Value {
        let ty = match name {
            Some(n) => catalog_type(self.provider, n),
            None => Catalog::builtin().of_provider_name(self.provider.name())[0],
        };
        self.gen.valid(ty)
    }

    /// `body` signed now, with a fresh message id.
    pub(crate) fn next_msg_id(&self) -> String {
        self.next_msg.set(self.next_msg.get() + 1);
        message_id(self.next_msg.get())
    }

    pub(crate) fn sign(&self, body: &[u8]) -> Delivery {
        let ts = now_ms() / 1000;
        envelope(
            &self.provider.profile(),
            &self.signer,
            body.to_vec(),
            &self.next_msg_id(),
            ts,
        )
    }

    pub(crate) fn sign_value(&self, value: &Value) -> Delivery {
        self.sign(&serde_json::to_vec(value).unwrap())
    }

    /// A generated valid event, signed.
    pub(crate) fn signed_event(&mut self, name: Option<&str>) -> Delivery {
        let e = self.event(name);
        self.sign_value(&e)
    }

    pub(crate) async fn post(&self, d: &Delivery) -> Response {
        self.try_post(d, TIMEOUT).await.expect("an answer")
    }

    pub(crate) async fn try_post(
        &self,
        d: &Delivery,
        timeout: Duration,
    ) -> Result<Response, SendError> {
        post_to(&self.rx.url(), d, timeout).await
    }

    pub(crate) async fn ledger(&self) -> Vec<LedgerEntry> {
        fetch_ledger(&self.rx.ledger_url()).await.expect("ledger")
    }
}

pub(crate) async fn post_to(
    url: &str,
    d: &Delivery,
    timeout: Duration,
) -> Result<Response, SendError> {
    let target = Target::parse(url).unwrap();
    send_one(
        &target,
        &ClientOptions::default(),
        "POST",
        &d.headers,
        Bytes::from(d.body.clone()),
        timeout,
    )
    .await
}

pub(crate) fn without_header(mut d: Delivery, name: &str) -> Delivery {
    d.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    d
}

pub(crate) fn with_header(d: Delivery, name: &str, value: &str) -> Delivery {
    let mut d = without_header(d, name);
    d.headers.push((name.to_string(), value.to_string()));
    d
}

pub(crate) fn body_json(a: &Response) -> Value {
    serde_json::from_slice(&a.body).unwrap_or(Value::Null)
}

pub(crate) fn ids(ledger: &[LedgerEntry]) -> Vec<&str> {
    ledger.iter().map(|e| e.id.as_str()).collect()
}

/// Three events about one subject with increasing `seq`, as Authgear sends.
pub(crate) fn one_subject_events(f: &mut Fixture, n: usize) -> Vec<Value> {
    let ty = catalog_type(ProviderId::Authgear, "user.authenticated");
    let subject = f.gen.subject(ty);
    let events: Vec<Value> = (0..n)
        .map(|_| f.gen.valid_for_subject(ty, &subject))
        .collect();
    for w in events.windows(2) {
        assert!(
            w[0]["seq"].as_i64() < w[1]["seq"].as_i64(),
            "generator seq increases"
        );
        assert_eq!(w[0]["context"]["user_id"], w[1]["context"]["user_id"]);
    }
    events
}

// ------------------------------------------------------------- correct

#[tokio::test]
async fn accepts_every_valid_event_type_of_every_provider_and_records_each_once() {
    for provider in ProviderId::ALL {
        let mut f = Fixture::correct(provider).await;
        let types = Catalog::builtin().of_provider_name(provider.name());
        assert!(!types.is_empty());
        for ty in &types {
            let value = f.gen.valid(ty);
            let d = f.sign_value(&value);
            let a = f.post(&d).await;
            assert!(
                provider.profile().success.is_success(a.status),
                "{provider} {}: {} {}",
                ty.name,
                a.status,
                String::from_utf8_lossy(&a.body)
            );
            if ty.blocking {
                let answer = body_json(&a);
                assert_eq!(
                    validate_blocking_response(&answer),
                    Ok(()),
                    "{}: {answer}",
                    ty.name
                );
            }
        }
        assert_eq!(f.ledger().await.len(), types.len(), "{provider}");
        f.rx.shutdown().await;
    }
}

#[tokio::test]
async fn every_signature_case_gets_the_expected_answer() {
    for provider in ProviderId::ALL {
        let mut f = Fixture::correct(provider).await;
        let scheme = provider.profile().scheme;
        let body = serde_json::to_vec(&f.event(None)).unwrap();
        let mut acknowledged = 0;
        for case in signature_cases(&scheme) {
            // The cases sit one second outside (or inside) the ±300 s
            // window, so they only mean something if the receiver reads the
            // same clock second the case was built for: retry otherwise.
            let status = loop {
                let now = now_ms() / 1000;
                let d = apply_case(
                    &case,
                    &f.signer,
                    &secret(provider),
                    &body,
                    &f.next_msg_id(),
                    now,
                );
                let a = f.post(&d).await;
                acknowledged += usize::from(a.status == 200);
                if now_ms() / 1000 == now {
                    break a.status;
                }
            };
            match case.expect {
                Expect::Accept => assert_eq!(status, 200, "{provider} {}", case.label),
                Expect::Reject => assert_eq!(status, 401, "{provider} {}", case.label),
            }
        }
        // Rejected deliveries are never recorded. The accepted ones carry
        // one body, recorded once, except where the dedupe key is the
        // message id header (Standard Webhooks): each has its own id.
        let want = if provider.profile().dedupe_key.starts_with("header:") {
            acknowledged
        } else {
            1
        };
        assert_eq!(f.ledger().await.len(), want, "{provider}");
        f.rx.shutdown().await;
    }
}

#[tokio::test]
async fn every_adversarial_variant_is_accepted_or_rejected_with_a_4xx() {
    for provider in [
        ProviderId::Authgear,
        ProviderId::Fusionauth,
        ProviderId::Infrahub,
    ] {
        let mut f = Fixture::correct(provider).await;
        let ty = Catalog::builtin().of_provider_name(provider.name())[0];
        for variant in variants() {
            let m = f.gen.mutate(ty, variant);
            let d = with_header(f.sign(&m.body), "content-type", &m.content_type);
            let a = f.post(&d).await;
            match variant.family {
                Family::StillValid => {
                    assert_eq!(a.status, 200, "{provider} {}", variant.label)
                }
                Family::Invalid => assert!(
                    (400..500).contains(&a.status),
                    "{provider} {}: {}",
                    variant.label,
                    a.status
                ),
            }
        }
        f.rx.shutdown().await;
    }
}

#[tokio::test]
async fn invalid_requests_get_the_specific_4xx() {
    let mut f = Fixture::correct(ProviderId::Authgear).await;
    let valid = f.event(Some("user.created"));

    let malformed = f.sign(b"{\"id\" \"x\"}");
    assert_eq!(f.post(&malformed).await.status, 400);

    let mut missing = valid.clone();
    missing.as_object_mut().unwrap().remove("seq");
    assert_eq!(f.post(&f.sign_value(&missing)).await.status, 400);

    let mut unknown_type = valid.clone();
    unknown_type["type"] = json!("user.exploded");
    let a = f.post(&f.sign_value(&unknown_type)).await;
    assert_eq!(a.status, 400);
    assert!(String::from_utf8_lossy(&a.body).contains("user.exploded"));

    let plain = with_header(f.sign_value(&valid), "content-type", "text/plain");
    assert_eq!(f.post(&plain).await.status, 415);
    let charset = with_header(
        f.sign_value(&valid),
        "content-type",
        "Application/JSON; charset=utf-8",
    );
    assert_eq!(f.post(&charset).await.status, 200);

    assert_eq!(f.post(&f.sign(b"")).await.status, 400);

    // Only the one valid delivery was processed.
    assert_eq!(f.ledger().await.len(), 1);
    f.rx.shutdown().await;
}

#[tokio::test]
async fn oversized_bodies_are_413_without_being_read() {
    let mut config = ReceiverConfig::new(ProviderId::Authgear, secret(ProviderId::Authgear));
    config.max_body_bytes = 4096;
    let mut f = Fixture::new(config).await;

    // Declared too large: the answer comes before any body byte is sent.
    let mut s = TcpStream::connect(f.rx.addr()).await.unwrap();
    s.write_all(
        b"POST /hooks HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 104857600\r\n\r\n",
    )
    .await
    .unwrap();
    let head = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");

    // Chunked, no length: reading stops at the limit.
    let mut s = TcpStream::connect(f.rx.addr()).await.unwrap();
    s.write_all(b"POST /hooks HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    let chunk = format!("1000\r\n{}\r\n", "a".repeat(4096));
    for _ in 0..2 {
        s.write_all(chunk.as_bytes()).await.unwrap();
    }
    let head = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");

    // Padded over the limit through the normal client: 413 as well.
    let mut big = f.event(Some("user.created"));
    big["pad"] = json!("x".repeat(5000));
    assert_eq!(f.post(&f.sign_value(&big)).await.status, 413);
    assert!(f.ledger().await.is_empty());
    f.rx.shutdown().await;
}

pub(crate) async fn read_head(s: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    let deadline = Instant::now() + TIMEOUT;
    while !got.windows(4).any(|w| w == b"\r\n\r\n") && Instant::now() < deadline {
        match tokio::time::timeout(TIMEOUT, s.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn duplicates_are_acknowledged_and_processed_once_even_concurrently() {
    let mut f = Fixture::correct(ProviderId::Authgear).await;
    let d = f.signed_event(Some("user.created"));
    assert_eq!(f.post(&d).await.status, 200);
    assert_eq!(f.post(&d).await.status, 200);
    assert_eq!(f.ledger().await.len(), 1);

    let d = f.signed_event(Some("user.created"));
    let url = f.rx.url();
    let sends: Vec<_> = (0..20)
        .map(|_| {
            let (url, d) = (url.clone(), d.clone());
            tokio::spawn(async move { post_to(&url, &d, TIMEOUT).await.map(|a| a.status) })
        })
        .collect();
    for s in sends {
        assert_eq!(s.await.unwrap().unwrap(), 200);
    }
    let ledger = f.ledger().await;
    assert_eq!(ledger.len(), 2, "{ledger:?}");
    f.rx.shutdown().await;
}

#[tokio::test]
async fn dedupe_uses_each_providers_key() {
    // Infrahub retries with a new webhook-id: the body id dedupes.
    let mut f = Fixture::correct(ProviderId::Infrahub).await;
    let body = serde_json::to_vec(&f.event(None)).unwrap();
    let (a, b) = (f.sign(&body), f.sign(&body));
    assert_ne!(a.header("webhook-id"), b.header("webhook-id"));
    assert_eq!(f.post(&a).await.status, 200);
    assert_eq!(f.post(&b).await.status, 200);
    assert_eq!(f.ledger().await.len(), 1);
    f.rx.shutdown().await;

    // Standard Webhooks: the webhook-id header is the key.
    let mut f = Fixture::correct(ProviderId::StandardWebhooks).await;
    let body = serde_json::to_vec(&f.event(None)).unwrap();
    let first = f.sign(&body);
    assert_eq!(f.post(&first).await.status, 200);
    assert_eq!(f.post(&first).await.status, 200);
    assert_eq!(f.post(&f.sign(&body)).await.status, 200);
    let ledger = f.ledger().await;
    assert_eq!(ledger.len(), 2);
    assert_eq!(Some(ledger[0].id.as_str()), first.header("webhook-id"));
    f.rx.shutdown().await;
}

#[tokio::test]
async fn last_write_wins_applies_only_newer_events_per_subject() {
    let mut config = ReceiverConfig::new(ProviderId::Authgear, secret(ProviderId::Authgear));
    config.ordering = OrderingPolicy::LastWriteWins;
    let mut f = Fixture::new(config).await;
    let e = one_subject_events(&mut f, 4);
    for i in [2, 0, 1] {
        assert_eq!(f.post(&f.sign_value(&e[i])).await.status, 200);
    }
    let other = f.event(Some("user.created"));
    assert_eq!(f.post(&f.sign_value(&other)).await.status, 200);
    assert_eq!(f.post(&f.sign_value(&e[3])).await.status, 200);
    let ledger = f.ledger().await;
    let want = [&e[2]["id"], &other["id"], &e[3]["id"]];
    assert_eq!(ids(&ledger), want.map(|v| v.as_str().unwrap()));
    assert_eq!(ledger[0].seq, e[2]["seq"]);
    f.rx.shutdown().await;
}

#[tokio::test]
async fn strict_holds_a_subject_and_processes_it_in_seq_order() {
    let mut config = ReceiverConfig::new(ProviderId::Authgear, secret(ProviderId::Authgear));
    config.ordering = OrderingPolicy::Strict;
    config.settle = Duration::from_millis(1000);
    let mut f = Fixture::new(config).await;
    let e = one_subject_events(&mut f, 3);
    for i in [2, 0, 1] {
        assert_eq!(f.post(&f.sign_value(&e[i])).await.status, 200);
    }
    // Acknowledged but held for the settle window.
    assert!(f.rx.ledger().is_empty());
    // The ledger endpoint waits for the window to close.
    let ledger = f.ledger().await;
    let want: Vec<&str> = e.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids(&ledger), want);
    f.rx.shutdown().await;
}

#[tokio::test]
async fn no_policy_processes_in_arrival_order() {
    let mut f = Fixture::correct(ProviderId::Authgear).await;
    let e = one_subject_events(&mut f, 3);
    for i in [2, 0, 1] {
        f.post(&f.sign_value(&e[i])).await;
    }
    let want: Vec<&str> = [2, 0, 1]
        .iter()
        .map(|&i| e[i]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids(&f.ledger().await), want);
    f.rx.shutdown().await;
}

#[tokio::test]
async fn arrival_processes_each_delivery_before_its_answer() {
    let mut config = ReceiverConfig::new(ProviderId::Authgear, secret(ProviderId::Authgear));
    config.ordering = OrderingPolicy::Arrival;
    let mut f = Fixture::new(config).await;
    let e = one_subject_events(&mut f, 3);
    let mut want = Vec::new();
    for i in [2, 0, 1] {
        assert_eq!(f.post(&f.sign_value(&e[i])).await.status, 200);
        want.push(e[i]["id"].as_str().unwrap());
        // Already in the ledger when the answer arrives.
        assert_eq!(ids(&f.rx.ledger()), want);
    }
    f.rx.shutdown().await;
}

#[tokio::test]
async fn fault_reorder_after_ack_processes_after_answering_in_its_own_order() {
    let mut config = ReceiverConfig::new(ProviderId::Authgear, secret(ProviderId::Authgear))
        .with_fault(Fault::ReorderAfterAck);
    config.ordering = OrderingPolicy::Arrival;
    let mut f = Fixture::new(config).await;
    let e = one_subject_events(&mut f, 3);
    for i in [2, 0, 1] {
        assert_eq!(f.post(&f.sign_value(&e[i])).await.status, 200);
    }
    // Acknowledged, not processed yet.
    assert!(f.rx.ledger().is_empty());
    // Then processed by ordering key, not in acknowledgement order.
    let want: Vec<&str> = e.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids(&f.ledger().await), want);
    f.rx.shutdown().await;
}

#[tokio::test]
async fn standard_webhooks_bodies_are_the_specs_shape() {
    let p = ProviderId::StandardWebhooks;
    let mut f = Fixture::correct(p).await;
    let ty = catalog_type(p, "user.created");
    let event = f.gen.valid(ty);
    let members: Vec<&str> = event
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(members, ["type", "timestamp", "data"]);
    assert_eq!(event["type"], "user.created");
    assert!(event["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(f.post(&f.sign_value(&event)).await.status, 200);
    // Authgear's envelope is not a Standard Webhooks payload.
    let authgear = f
        .gen
        .valid(catalog_type(ProviderId::Authgear, "user.created"));
    assert_eq!(f.post(&f.sign_value(&authgear)).await.status, 400);
    let ledger = f.ledger().await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].seq, event["timestamp"], "ordered by timestamp");
    f.rx.shutdown().await;
}

#[tokio::test]
async fn blocking_hooks_allow_with_allowed_mutations_and_deny_blocked_domains() {
    let mut f = Fixture::correct(ProviderId::Authgear).await;
    let mut pre_create = f.event(Some("user.pre_create"));
    let a = body_json(&f.post(&f.sign_value(&pre_create)).await);
    assert_eq!(validate_blocking_response(&a), Ok(()), "{a}");
    assert_eq!(a["is_allowed"], true);
    assert_eq!(
        a["mutations"]["user"]["custom_attributes"]["hookstorm_checked"],
        true
    );

    pre_create["id"] = json!(uuid::Uuid::new_v4().to_string());
    pre_create["payload"]["user"]["standard_attributes"]["email"] =
        json!("mallory@blocked.example");
    let a = body_json(&f.post(&f.sign_value(&pre_create)).await);
    assert_eq!(validate_blocking_response(&a), Ok(()), "{a}");
    assert_eq!(a["is_allowed"], false);
    assert!(a["title"].is_string() && a["reason"].is_string());

    let jwt = f.event(Some("oidc.jwt.pre_create"));
    let a = body_json(&f.post(&f.sign_value(&jwt)).await);
    assert_eq!(validate_blocking_response(&a), Ok(()), "{a}");
    assert_eq!(
        a["mutations"]["jwt"]["payload"]["sub"],
        jwt["payload"]["jwt"]["payload"]["sub"]
    );

    let plain = f.event(Some("user.created"));
    let a = f.post(&f.sign_value(&plain)).await;
    assert_eq!((a.status, body_json(&a)), (200, json!({})));
    f.rx.shutdown().await;
}

#[tokio::test]
async fn health_ledger_and_other_methods() {
    let f = Fixture::correct(ProviderId::Auth0).await;
    let base = format!("http://{}", f.rx.addr());
    let get = |path: &str| {
        let target = Target::parse(&format!("{base}{path}")).unwrap();
        async move {
            send_one(
                &target,
                &ClientOptions::default(),
                "GET",
                &[],
                Bytes::new(),
                TIMEOUT,
            )
            .await
            .unwrap()
        }
    };
    assert_eq!(get("/healthz").await.status, 200);
    let ledger = get("/ledger").await;
    assert_eq!((ledger.status, body_json(&ledger)), (200, json!([])));
    assert_eq!(get("/hooks").await.status, 405);
    f.rx.shutdown().await;
}

/// Posts `delivery` to `url` `times` times, one after another; each must get 204.
pub(crate) async fn assert_answers_204(url: &str, delivery: &Delivery, times: usize) {
    for _ in 0..times {
        assert_eq!(post_to(url, delivery, TIMEOUT).await.unwrap().status, 204);
    }
}

#[tokio::test]
async fn sink_answers_204_to_anything() {
    let mut config = ReceiverConfig::new(ProviderId::StandardWebhooks, Secret::new(String::new()));
    config.sink = true;
    let rx = start(config).await.unwrap();
    let junk = Delivery {
        headers: vec![("content-type".into(), "text/plain".into())],
        body: b"\xff\xfe not json".to_vec(),
    };
    assert_answers_204(&rx.url(), &junk, 3).await;
    assert!(rx.ledger().is_empty());
    rx.shutdown().await;
}

/// A busy-polling sink still answers, and its spinning task neither starves
/// the runtime's other tasks (the client below runs on the same
/// current-thread runtime) nor keeps the sink from stopping.
#[tokio::test]
async fn busy_polling_sink_answers_and_stops() {
    let mut config = ReceiverConfig::new(ProviderId::Authgear, Secret::new(String::new()));
    config.sink = true;
    config.busy_poll = true;
    let rx = start(config).await.unwrap();
    let body = Delivery {
        headers: vec![("content-type".into(), "application/json".into())],
        body: b"{}".to_vec(),
    };
    assert_answers_204(&rx.url(), &body, 50).await;
    tokio::time::timeout(Duration::from_secs(5), rx.shutdown())
        .await
        .expect("the sink stops despite its spinning task");
}

/// The sink is served by its own lean HTTP/1.1 code: a client not written
/// in Rust (Python's `http.client`) keeps one connection alive across
/// Content-Length and chunked POSTs and a GET, and sees 204 each time.
#[tokio::test]
async fn sink_serves_a_python_http_client_on_one_connection() {
    let mut config = ReceiverConfig::new(ProviderId::Authgear, Secret::new(String::new()));
    config.sink = true;
    let rx = start(config).await.unwrap();
    let script = r#"
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
out = []
for i in range(3):
    c.request("POST", "/hooks", body=b'{"n":%d}' % i, headers={"Content-Type": "application/json"})
    r = c.getresponse(); r.read(); out.append(r.status)
    if i == 0:
        first = c.sock
def chunks():
    yield b'{"big":"'
    yield b"x" * 100000
    yield b'"}'
c.request("POST", "/hooks", body=chunks(), encode_chunked=True)
r = c.getresponse(); r.read(); out.append(r.status)
c.request("GET", "/ledger")
r = c.getresponse(); r.read(); out.append(r.status)
# http.client reconnects silently if the server closed: insist on one socket.
out.append(c.sock is first)
print(" ".join(map(str, out)))
"#;
    let port = rx.addr().port().to_string();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args(["-c", script, &port])
            .output()
            .expect("python3 runs")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "204 204 204 204 204 True"
    );
    rx.shutdown().await;
}

#[tokio::test]
async fn an_unusable_secret_is_refused_at_start() {
    let config = ReceiverConfig::new(
        ProviderId::StandardWebhooks,
        Secret::new("whsec_!!!".into()),
    );
    let err = start(config).await.unwrap_err();
    assert!(format!("{err:#}").contains("secret"), "{err:#}");
}

// ------------------------------------------------------- other processes

#[tokio::test]
async fn python_stdlib_receiver_serves_the_same_contract() {
    let spawn = |faults: &[&str]| python_receiver(faults, secret(ProviderId::Authgear).expose());
    let p = ProviderId::Authgear;
    // A fixture only for its generator and signer.
    let mut f = Fixture::correct(p).await;

    let (_child, base) = spawn(&[]);
    let hooks = format!("{base}/hooks");
    let d = f.signed_event(Some("user.created"));
    assert_eq!(post_to(&hooks, &d, TIMEOUT).await.unwrap().status, 200);
    assert_eq!(post_to(&hooks, &d, TIMEOUT).await.unwrap().status, 200);
    let unsigned = without_header(d.clone(), "x-authgear-body-signature");
    assert_eq!(
        post_to(&hooks, &unsigned, TIMEOUT).await.unwrap().status,
        401
    );
    assert_eq!(
        post_to(&hooks, &f.sign(b"{nope"), TIMEOUT)
            .await
            .unwrap()
            .status,
        400
    );
    let blocking = f.signed_event(Some("user.pre_create"));
    let a = post_to(&hooks, &blocking, TIMEOUT).await.unwrap();
    assert_eq!(validate_blocking_response(&body_json(&a)), Ok(()));
    let ledger = fetch_ledger(&format!("{base}/ledger")).await.unwrap();
    assert_eq!(ledger.len(), 2, "one per distinct event: {ledger:?}");

    let (_child, base) = spawn(&["double-process", "skip-signature"]);
    let hooks = format!("{base}/hooks");
    assert_eq!(
        post_to(&hooks, &unsigned, TIMEOUT).await.unwrap().status,
        200
    );
    assert_eq!(
        post_to(&hooks, &unsigned, TIMEOUT).await.unwrap().status,
        200
    );
    let ledger = fetch_ledger(&format!("{base}/ledger")).await.unwrap();
    assert_eq!(ledger.len(), 2, "processed twice: {ledger:?}");
    f.rx.shutdown().await;
}

#[tokio::test]
async fn hookstorm_receiver_command_serves_until_sigterm() {
    let p = ProviderId::Infrahub;
    let mut child = hookstorm(["receiver", "--provider", "infrahub", "--port", "0"])
        .secret(secret(p).expose())
        .spawn();
    // The reader is dropped after the URL line: the receiver must survive
    // a closed stdout.
    let url = listening_url(&mut child.0);
    let url = url.expect("the URL on stdout");
    let mut f = Fixture::correct(p).await;
    let d = f.signed_event(None);
    assert_eq!(post_to(&url, &d, TIMEOUT).await.unwrap().status, 200);
    let ledger_url = url.replace("/hooks", "/ledger");
    assert_eq!(fetch_ledger(&ledger_url).await.unwrap().len(), 1);

    child.signal(libc::SIGTERM);
    let status = child.exit_within(TIMEOUT, "still running after SIGTERM");
    assert_eq!(status.code(), Some(0));
    f.rx.shutdown().await;
}

#[test]
fn hookstorm_receiver_command_without_a_secret_is_a_usage_error() {
    let out = hookstorm(["receiver", "--provider", "authgear", "--port", "0"])
        .args(["--secret-env", "HOOKSTORM_TEST_UNSET_SECRET"])
        .env_remove("HOOKSTORM_TEST_UNSET_SECRET")
        .output();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HOOKSTORM_TEST_UNSET_SECRET"), "{err}");

    let out = hookstorm(["receiver", "--provider", "authgaer"]).output();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `authgear`"));
}
