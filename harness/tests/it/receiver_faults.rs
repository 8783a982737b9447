//! The reference receiver's faults over real loopback HTTP: each fault
//! changes exactly the behaviour it names and nothing else (the correct
//! receiver's contract is `receiver`'s, whose fixtures these tests share).

use generators::{envelope, validate_blocking_response, Catalog, Delivery, ProviderId};
use harness::clock::now_unix_ms as now_ms;
use harness::ledger::OrderingPolicy;
use harness::receiver::{Fault, ReceiverConfig};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::receiver::{
    body_json, ids, one_subject_events, post_to, read_head, secret, with_header, without_header,
    Fixture, TIMEOUT,
};

#[tokio::test]
async fn fault_skip_signature_accepts_unsigned_requests() {
    let mut f = Fixture::faulty(ProviderId::Authgear, Fault::SkipSignature).await;
    let unsigned = without_header(f.signed_event(None), "x-authgear-body-signature");
    assert_eq!(f.post(&unsigned).await.status, 200);
    // Everything after the signature still holds.
    let plain = with_header(f.signed_event(None), "content-type", "text/plain");
    assert_eq!(f.post(&plain).await.status, 415);
    f.rx.shutdown().await;
}

#[tokio::test]
async fn fault_accept_stale_ignores_only_the_timestamp_window() {
    for fault in [None, Some(Fault::AcceptStale)] {
        let p = ProviderId::StandardWebhooks;
        let mut config = ReceiverConfig::new(p, secret(p));
        config.faults.extend(fault);
        let mut f = Fixture::new(config).await;
        let body = serde_json::to_vec(&f.event(None)).unwrap();
        let stale = envelope(
            &p.profile(),
            &f.signer,
            body.clone(),
            "msg_stale",
            now_ms() / 1000 - 3600,
        );
        let expected = if fault.is_some() { 200 } else { 401 };
        assert_eq!(f.post(&stale).await.status, expected, "{fault:?}");
        let mut tampered = f.sign(&body);
        tampered.body[0] = b' ';
        assert_eq!(f.post(&tampered).await.status, 401, "{fault:?}");
        f.rx.shutdown().await;
    }
}

#[tokio::test]
async fn fault_reject_unknown_fields_refuses_additive_evolution() {
    let mut f = Fixture::faulty(ProviderId::Authgear, Fault::RejectUnknownFields).await;
    let mut e = f.event(Some("user.created"));
    assert_eq!(f.post(&f.sign_value(&e)).await.status, 200);
    e["id"] = json!(uuid::Uuid::new_v4().to_string());
    e["context"]["tracking_id_v2"] = json!("new");
    let a = f.post(&f.sign_value(&e)).await;
    assert_eq!(a.status, 400);
    assert!(String::from_utf8_lossy(&a.body).contains("/context/tracking_id_v2"));
    f.rx.shutdown().await;

    let f = Fixture::correct(ProviderId::Authgear).await;
    assert_eq!(f.post(&f.sign_value(&e)).await.status, 200);
    f.rx.shutdown().await;
}

#[tokio::test]
async fn fault_reject_optional_absent_refuses_a_missing_always_sent_optional() {
    let mut f = Fixture::faulty(ProviderId::Authgear, Fault::RejectOptionalAbsent).await;
    let mut e = f.event(Some("user.created"));
    assert_eq!(f.post(&f.sign_value(&e)).await.status, 200);
    e["id"] = json!(uuid::Uuid::new_v4().to_string());
    e["context"].as_object_mut().unwrap().remove("user_id");
    let a = f.post(&f.sign_value(&e)).await;
    assert_eq!(a.status, 400);
    assert!(String::from_utf8_lossy(&a.body).contains("/context/user_id"));
    f.rx.shutdown().await;

    let f = Fixture::correct(ProviderId::Authgear).await;
    assert_eq!(f.post(&f.sign_value(&e)).await.status, 200);
    f.rx.shutdown().await;
}

#[tokio::test]
async fn fault_reject_optional_absent_passes_ordinary_valid_traffic() {
    // Valid events leave optionals out at random; the fault must not turn
    // into "rejects valid events" or accepts_valid would catch it too.
    let mut f = Fixture::faulty(ProviderId::Authgear, Fault::RejectOptionalAbsent).await;
    for ty in Catalog::builtin().of_provider_name(ProviderId::Authgear.name()) {
        for _ in 0..5 {
            let e = f.gen.valid(ty);
            let d = f.sign_value(&e);
            assert_eq!(f.post(&d).await.status, 200, "{}", ty.name);
        }
    }
    f.rx.shutdown().await;
}

#[tokio::test]
async fn fault_double_process_records_duplicates_again() {
    // Under every policy: last-write-wins must not hide the duplicate.
    for ordering in [OrderingPolicy::None, OrderingPolicy::LastWriteWins] {
        let p = ProviderId::Fusionauth;
        let mut config = ReceiverConfig::new(p, secret(p)).with_fault(Fault::DoubleProcess);
        config.ordering = ordering;
        let mut f = Fixture::new(config).await;
        let d = f.signed_event(None);
        assert_eq!(f.post(&d).await.status, 200);
        assert_eq!(f.post(&d).await.status, 200);
        let ledger = f.ledger().await;
        assert_eq!(ledger.len(), 2, "{ordering:?}");
        assert_eq!(ledger[0], ledger[1]);
        f.rx.shutdown().await;
    }
}

#[tokio::test]
async fn fault_out_of_order_ignores_the_policy() {
    let mut config = ReceiverConfig::new(ProviderId::Authgear, secret(ProviderId::Authgear))
        .with_fault(Fault::OutOfOrder);
    config.ordering = OrderingPolicy::LastWriteWins;
    let mut f = Fixture::new(config).await;
    let e = one_subject_events(&mut f, 2);
    f.post(&f.sign_value(&e[1])).await;
    f.post(&f.sign_value(&e[0])).await;
    let want = [e[1]["id"].as_str().unwrap(), e[0]["id"].as_str().unwrap()];
    assert_eq!(ids(&f.ledger().await), want);
    f.rx.shutdown().await;
}

#[tokio::test]
async fn fault_slow_answers_after_the_delay() {
    let mut config = ReceiverConfig::new(ProviderId::Fusionauth, secret(ProviderId::Fusionauth))
        .with_fault(Fault::Slow);
    config.slow_delay = Duration::from_millis(400);
    let mut f = Fixture::new(config).await;
    let d = f.signed_event(None);
    let started = Instant::now();
    assert_eq!(f.post(&d).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(400));
    f.rx.shutdown().await;

    let mut f = Fixture::correct(ProviderId::Fusionauth).await;
    let started = Instant::now();
    let d = f.signed_event(None);
    assert_eq!(f.post(&d).await.status, 200);
    assert!(started.elapsed() < Duration::from_millis(400));
    f.rx.shutdown().await;
}

#[tokio::test]
async fn fault_bad_blocking_response_breaks_only_blocking_answers() {
    let mut f = Fixture::faulty(ProviderId::Authgear, Fault::BadBlockingResponse).await;
    for name in [
        "user.pre_create",
        "oidc.jwt.pre_create",
        "user.pre_schedule_deletion",
    ] {
        let d = f.signed_event(Some(name));
        let a = f.post(&d).await;
        assert_eq!(a.status, 200);
        assert!(
            validate_blocking_response(&body_json(&a)).is_err(),
            "{name}"
        );
    }
    let d = f.signed_event(Some("user.created"));
    let a = f.post(&d).await;
    assert_eq!(body_json(&a), json!({}));
    f.rx.shutdown().await;
}

#[tokio::test]
async fn fault_crash_on_unicode_drops_the_connection() {
    let mut f = Fixture::faulty(ProviderId::Authgear, Fault::CrashOnUnicode).await;
    // Generated events carry realistic unicode names: make one plain ASCII.
    let mut e = f.event(Some("user.created"));
    ascii_only(&mut e);
    let ascii = f.sign_value(&e);
    assert!(ascii.body.is_ascii());
    assert_eq!(f.post(&ascii).await.status, 200);
    e["id"] = json!(uuid::Uuid::new_v4().to_string());
    e["note"] = json!("Zoë 日本語 \u{1F469}\u{200D}\u{1F467}");
    let d = f.sign_value(&e);
    assert!(f.try_post(&d, TIMEOUT).await.is_err(), "no answer at all");
    f.rx.shutdown().await;

    let f = Fixture::correct(ProviderId::Authgear).await;
    assert_eq!(f.post(&f.sign_value(&e)).await.status, 200);
    f.rx.shutdown().await;
}

/// Replaces every non-ASCII string (names, user agents) with an ASCII one.
fn ascii_only(v: &mut Value) {
    match v {
        Value::String(s) if !s.is_ascii() => *s = "ascii".to_string(),
        Value::Array(items) => items.iter_mut().for_each(ascii_only),
        Value::Object(obj) => {
            obj.retain(|k, _| k.is_ascii());
            obj.values_mut().for_each(ascii_only);
        }
        _ => {}
    }
}

#[tokio::test]
async fn fault_5xx_on_bad_json_answers_500() {
    let f = Fixture::faulty(ProviderId::Authgear, Fault::ServerErrorOnBadJson).await;
    assert_eq!(f.post(&f.sign(b"{\"id\": ")).await.status, 500);
    // Valid JSON that fails the schema is still a 400.
    assert_eq!(f.post(&f.sign(b"{}")).await.status, 400);
    f.rx.shutdown().await;
}

/// Opens `n` connections, sends each a whole request but its last byte,
/// waits until all are in flight, then completes them together. A request
/// is in flight once its handler reads the body: the request expects
/// `100-continue`, which the server sends at that moment.
async fn deliver_all_in_flight(addr: SocketAddr, deliveries: &[Delivery]) -> Vec<String> {
    let mut streams = Vec::new();
    for d in deliveries {
        let mut req = format!(
            "POST /hooks HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\n",
            d.body.len()
        );
        for (n, v) in &d.headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        req.push_str("expect: 100-continue\r\n\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(&d.body);
        let last = bytes.pop().unwrap();
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&bytes).await.unwrap();
        streams.push((s, last));
    }
    for (s, _) in &mut streams {
        let head = read_head(s).await;
        assert!(head.starts_with("HTTP/1.1 100"), "not in flight: {head}");
    }
    for (s, last) in &mut streams {
        s.write_all(&[*last]).await.unwrap();
    }
    let mut heads = Vec::new();
    for (s, _) in &mut streams {
        heads.push(read_head(s).await);
    }
    heads
}

#[tokio::test]
async fn fault_lose_under_load_acknowledges_but_does_not_record() {
    for fault in [None, Some(Fault::LoseUnderLoad)] {
        let mut config = ReceiverConfig::new(ProviderId::Authgear, secret(ProviderId::Authgear));
        config.faults.extend(fault);
        let mut f = Fixture::new(config).await;
        let deliveries: Vec<Delivery> = (0..12)
            .map(|_| {
                let e = f.event(Some("user.created"));
                f.sign_value(&e)
            })
            .collect();
        let heads = deliver_all_in_flight(f.rx.addr(), &deliveries).await;
        for h in &heads {
            assert!(h.starts_with("HTTP/1.1 200"), "{fault:?}: {h}");
        }
        let recorded = f.ledger().await.len();
        match fault {
            None => assert_eq!(recorded, 12),
            Some(_) => assert!(recorded < 12, "lost none of 12"),
        }
        // Traffic slower than the queue drains is never lost.
        for _ in 0..10 {
            // About time itself: 50/s, slower than the queue drains.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let d = f.signed_event(Some("user.created"));
            assert_eq!(f.post(&d).await.status, 200);
        }
        assert_eq!(f.ledger().await.len(), recorded + 10, "{fault:?}");
        f.rx.shutdown().await;
    }
}

#[tokio::test]
async fn fault_hang_never_answers_valid_requests_and_does_not_block_shutdown() {
    let mut f = Fixture::faulty(ProviderId::Authgear, Fault::Hang).await;
    let d = f.signed_event(None);
    let url = f.rx.url();
    let hung = tokio::spawn(async move { post_to(&url, &d, Duration::from_secs(30)).await });
    // About time itself: "hung" is "no answer after a while".
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!hung.is_finished());
    // Invalid requests are still answered.
    let unsigned = without_header(f.signed_event(None), "x-authgear-body-signature");
    assert_eq!(f.post(&unsigned).await.status, 401);
    let started = Instant::now();
    f.rx.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(3));
    let answer = hung.await.unwrap();
    assert!(answer.is_err(), "the hung request never got a status");
}
