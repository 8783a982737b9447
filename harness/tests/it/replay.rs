//! `hookstorm replay REPORT_DIR FINDING`, through the binary: a finding of a
//! real `check --out DIR` run re-sent with a fresh id, timestamp and
//! signature (signature cases as the same forgery, rebuilt now), its body
//! byte for byte (inline or from `repro/`); a correct receiver accepts a
//! replay whose recorded signature has gone stale; and every usage mistake
//! is exit 2, no answer exit 1.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use generators::{Provider, ProviderId, Secret, Signer};
use harness::client::{self, ClientOptions};
use harness::clock::now_unix;
use harness::demo::demo_secret;
use harness::ledger::OrderingPolicy;
use harness::receiver::{self, Fault, ReceiverConfig, RunningReceiver};
use harness::target::Target;
use reports::{Finding, Level, Report, RequestSummary, RunInfo};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::util::faulty_servers::{self, read_request, Request};
use crate::util::process::{hookstorm, stderr, stdout, transcript};

/// Every request a [`capturing`] server read.
type Captured = Arc<Mutex<Vec<Request>>>;

/// Answers 202 with `ok` to everything and keeps every request.
async fn capturing() -> (SocketAddr, Captured) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let captured = Captured::default();
    let shared = captured.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let captured = shared.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                while let Some(req) = read_request(&mut s, &mut buf).await {
                    captured.lock().unwrap().push(req);
                    let answer = b"HTTP/1.1 202 Accepted\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
                    if s.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, captured)
}

/// `hookstorm check ARGS --out DIR`, expected to exit 1 (findings that
/// gate), and the report it wrote.
async fn check(args: &[&str], secret: &str, dir: &Path) -> Report {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    all.extend(["--seed", "3", "--out", dir.to_str().unwrap()]);
    let o = hookstorm(&all).secret(secret).run().await;
    assert_eq!(o.status.code(), Some(1), "{}", transcript(&o));
    Report::from_json(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

/// `hookstorm replay DIR ID EXTRA...`.
async fn replay(dir: &Path, id: &str, extra: &[&str], secret: &str) -> std::process::Output {
    let mut args = vec!["replay", dir.to_str().unwrap(), id];
    args.extend_from_slice(extra);
    hookstorm(&args).secret(secret).run().await
}

/// A reference receiver for `provider` keyed with `secret`, with `faults`
/// and the default ordering policy.
async fn receiving(provider: &Provider, secret: &Secret, faults: &[Fault]) -> RunningReceiver {
    let mut config = ReceiverConfig::for_provider(provider.clone(), secret.clone());
    config.faults = faults.to_vec();
    receiver::start(config).await.expect("receiver starts")
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// The first non-blocking event type of a provider.
fn a_type(provider: &Provider) -> String {
    provider
        .types()
        .into_iter()
        .find(|t| !t.blocking)
        .expect("a non-blocking type")
        .name
        .clone()
}

fn finding_of<'a>(report: &'a Report, check: &str, variant: &str) -> &'a Finding {
    report
        .findings
        .iter()
        .find(|f| f.check == check && f.variant == variant)
        .unwrap_or_else(|| panic!("no {check} `{variant}` finding: {:#?}", report.findings))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_are_resent_freshly_signed_with_their_recorded_bodies() {
    let provider = Provider::builtin(ProviderId::StandardWebhooks);
    let secret = demo_secret(&ProviderId::StandardWebhooks.profile().scheme);
    let (addr, captured) = capturing().await;
    let url = format!("http://{addr}/hooks");
    let ty = a_type(&provider);
    let dir = tempfile::tempdir().unwrap();
    let report = check(
        &[
            "-p",
            "standard-webhooks",
            "-t",
            &url,
            "--type",
            &ty,
            "--checks",
            "rejects_invalid,rejects_bad_signature,rejects_stale_signature",
        ],
        secret.expose(),
        dir.path(),
    )
    .await;
    let verify = |req: &Request, at: i64| {
        let lookup = |n: &str| req.header(n);
        generators::verify(provider.scheme(), &secret, &lookup, &req.body, at)
    };
    let send = |id: String| {
        let dir = dir.path().to_path_buf();
        let captured = captured.clone();
        let secret = secret.expose().to_string();
        async move {
            captured.lock().unwrap().clear();
            let o = replay(&dir, &id, &[], &secret).await;
            assert_eq!(o.status.code(), Some(0), "{}", transcript(&o));
            assert!(stdout(&o).contains("answer      202"), "{}", transcript(&o));
            let mut got = std::mem::take(&mut *captured.lock().unwrap());
            assert_eq!(got.len(), 1, "one request per replay");
            (o, got.remove(0))
        }
    };

    // A signature an hour old accepted (FAIL): replayed, it is as old as
    // it was, counted from now, and validly signed at that time.
    let stale = finding_of(&report, "rejects_stale_signature", "expired");
    assert_eq!(stale.level, Level::Fail);
    let recorded_id = header(&stale.request.headers, "webhook-id").unwrap();
    let (o, req) = send(stale.id.to_lowercase()).await;
    assert!(
        stdout(&o).contains("the `expired` case rebuilt now"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("2xx → 2xx: the same answer"),
        "{}",
        stdout(&o)
    );
    let ts: i64 = req.header("webhook-timestamp").unwrap().parse().unwrap();
    let expected = now_unix() - 3_600;
    assert!(
        (expected - 60..=expected).contains(&ts),
        "timestamp {ts}, now-305 {expected}"
    );
    assert!(verify(&req, ts).is_ok(), "validly signed at its timestamp");
    assert!(verify(&req, now_unix()).is_err(), "and stale now");
    assert_ne!(req.header("webhook-id").unwrap(), recorded_id, "a fresh id");
    assert_eq!(req.body, stale.request.body.as_deref().unwrap().as_bytes());

    // A tampered body: the recorded bytes, under a signature that does
    // not cover them.
    let tampered = finding_of(&report, "rejects_bad_signature", "tampered-body");
    let (_, req) = send(tampered.id.clone()).await;
    assert_eq!(
        req.body,
        tampered.request.body.as_deref().unwrap().as_bytes()
    );
    let ts: i64 = req.header("webhook-timestamp").unwrap().parse().unwrap();
    assert!(
        (now_unix() - 60..=now_unix()).contains(&ts),
        "signed now: {ts}"
    );
    assert!(
        verify(&req, ts).is_err(),
        "the signature does not cover the body"
    );

    // A body over 4 KiB lives in repro/: replayed byte for byte, validly
    // signed now, with the recorded content type.
    let big = report
        .findings
        .iter()
        .find(|f| f.request.body_file.is_some())
        .unwrap_or_else(|| panic!("a finding with a repro/ body: {:#?}", report.findings));
    let file = big.request.body_file.clone().unwrap();
    let bytes = std::fs::read(dir.path().join(&file)).unwrap();
    assert!(
        bytes.len() > reports::INLINE_BODY_MAX,
        "{} bytes",
        bytes.len()
    );
    let (o, req) = send(big.id.clone()).await;
    assert!(
        stdout(&o).contains(&format!("from {file}")),
        "{}",
        stdout(&o)
    );
    assert_eq!(req.body.len(), bytes.len());
    assert!(req.body == bytes, "the repro file's exact bytes");
    assert!(verify(&req, now_unix()).is_ok(), "validly signed now");
    assert_eq!(
        req.header("content-type"),
        header(&big.request.headers, "content-type")
    );
    assert_ne!(
        req.header("webhook-id"),
        header(&big.request.headers, "webhook-id")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fixed_receiver_accepts_a_replay_after_the_recorded_signature_went_stale() {
    let id = ProviderId::StandardWebhooks;
    let provider = Provider::builtin(id);
    let secret = demo_secret(&id.profile().scheme);
    let faulty = receiving(&provider, &secret, &[Fault::RejectUnknownFields]).await;
    let mut config = ReceiverConfig::new(id, secret.clone());
    config.ordering = OrderingPolicy::LastWriteWins;
    let fixed = receiver::start(config).await.unwrap();
    let ty = a_type(&provider);
    let dir = tempfile::tempdir().unwrap();
    let report = check(
        &[
            "-p",
            "standard-webhooks",
            "-t",
            &faulty.url(),
            "--type",
            &ty,
            "--checks",
            "tolerates_unknown_fields",
        ],
        secret.expose(),
        dir.path(),
    )
    .await;
    let f = finding_of(&report, "tolerates_unknown_fields", "unknown-field-top").clone();
    assert_eq!((f.level, f.status_class.as_str()), (Level::Fail, "4xx"));
    let expires = f.expires.clone().unwrap_or_default();
    assert!(
        expires.contains(&format!("hookstorm replay REPORT_DIR {}", f.id)),
        "the curl line says how to replay it: {expires:?}"
    );

    // The report an hour later: its signature was made an hour ago.
    let body = f.request.body.clone().unwrap();
    let msg_id = header(&f.request.headers, "webhook-id").unwrap();
    let signer = Signer::new(provider.scheme(), &secret).unwrap();
    let old = signer.sign(body.as_bytes(), &msg_id, now_unix() - 3_600);
    let mut aged = report.clone();
    let headers = &mut aged
        .findings
        .iter_mut()
        .find(|g| g.id == f.id)
        .unwrap()
        .request
        .headers;
    for (name, value) in old {
        let slot = headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
            .unwrap();
        slot.1 = value;
    }
    let recorded = headers.clone();
    std::fs::write(dir.path().join("report.json"), aged.to_json().unwrap()).unwrap();

    // Sent as recorded (what its curl line does), the fixed receiver
    // refuses it as stale ...
    let answer = client::send_one(
        &Target::parse(&fixed.url()).unwrap(),
        &ClientOptions::default(),
        "POST",
        &recorded,
        Bytes::from(body.clone()),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 401, "the recorded request expired");
    assert!(fixed.ledger().is_empty());

    // ... replayed, it verifies and is processed.
    let o = replay(
        dir.path(),
        &f.id,
        &["--target", &fixed.url()],
        secret.expose(),
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", transcript(&o));
    assert!(
        stdout(&o).contains("4xx → 2xx: the answer changed since the report"),
        "{}",
        stdout(&o)
    );
    assert_eq!(fixed.ledger().len(), 1, "the fixed receiver processed it");

    // Against the report's own target (the faulty receiver): still 4xx.
    let o = replay(dir.path(), &f.id, &[], secret.expose()).await;
    assert_eq!(o.status.code(), Some(0), "{}", transcript(&o));
    assert!(stdout(&o).contains("answer      400"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("4xx → 4xx: the same answer"),
        "{}",
        stdout(&o)
    );
    faulty.shutdown().await;
    fixed.shutdown().await;
}

/// A report by hand: one finding of `provider` sent to `url` with `body`
/// (into `repro/F1.body` when `file`).
fn write_report(
    dir: &Path,
    provider: &str,
    url: &str,
    headers: Vec<(String, String)>,
    body: &[u8],
    file: bool,
) {
    let finding = Finding {
        id: "F1".into(),
        check: "accepts_valid".into(),
        variant: "valid".into(),
        level: Level::Fail,
        status_class: "4xx".into(),
        event_types: vec!["user.created".into()],
        probes: 1,
        message: "refused".into(),
        request: RequestSummary {
            method: "POST".into(),
            url: url.into(),
            headers,
            body_excerpt: String::new(),
            event_type: "user.created".into(),
            body: (!file).then(|| String::from_utf8(body.to_vec()).unwrap()),
            body_file: file.then(|| "repro/F1.body".to_string()),
            body_len: body.len(),
        },
        response_status: Some(400),
        response_excerpt: String::new(),
        error: None,
        curl: String::new(),
        expires: None,
        repro: file.then(|| body.to_vec()),
    };
    let mut report = Report::new(RunInfo {
        command: "check".into(),
        provider_file: None,
        provider: provider.into(),
        target: url.into(),
        seed: 1,
        shard: None,
        scenario: None,
        interrupted: None,
    });
    report.findings.push(finding);
    reports::write_dir(&report, dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_mistakes_exit_2_and_no_answer_exits_1() {
    let secret = "hookstorm-demo-secret";
    let (addr, _) = capturing().await;
    let url = format!("http://{addr}/hooks");
    let json = vec![("content-type".to_string(), "application/json".to_string())];
    let root = tempfile::tempdir().unwrap();
    let dir = |name: &str| root.path().join(name);
    let expect_2 = |o: &std::process::Output, says: &str| {
        assert_eq!(o.status.code(), Some(2), "{}", transcript(o));
        assert!(
            stderr(o).contains(says),
            "expected {says:?}: {}",
            transcript(o)
        );
    };

    write_report(&dir("ok"), "authgear", &url, json.clone(), b"{}", false);
    let o = replay(&dir("ok"), "F1", &[], secret).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "the control case answers: {}",
        transcript(&o)
    );

    expect_2(
        &replay(&dir("absent"), "F1", &[], secret).await,
        "cannot read",
    );
    expect_2(
        &replay(&dir("ok"), "F9", &[], secret).await,
        "its findings: F1",
    );
    expect_2(
        &replay(&dir("ok"), "F11", &[], secret).await,
        "did you mean F1",
    );
    expect_2(
        &hookstorm(["replay", dir("ok").to_str().unwrap(), "F1"])
            .run()
            .await,
        "HOOK_SECRET is not set",
    );

    let empty = dir("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let nothing = Report::new(RunInfo {
        command: "check".into(),
        provider_file: None,
        provider: "authgear".into(),
        target: url.clone(),
        seed: 1,
        shard: None,
        scenario: None,
        interrupted: None,
    });
    std::fs::write(empty.join("report.json"), nothing.to_json().unwrap()).unwrap();
    expect_2(&replay(&empty, "F1", &[], secret).await, "has no findings");

    let v1 = dir("v1");
    std::fs::create_dir_all(&v1).unwrap();
    std::fs::write(
        v1.join("report.json"),
        format!(
            r#"{{"version":1,"tool":"hookstorm 0.1.0","created_at":"2026-01-01T00:00:00Z",
               "run":{{"command":"check","provider":"authgear","target":"{url}","seed":1,"shard":null,"scenario":null}},
               "checks":[],"load":null,"capacity":null,"thresholds":[]}}"#
        ),
    )
    .unwrap();
    expect_2(&replay(&v1, "F1", &[], secret).await, "version-1 report");

    write_report(
        &dir("file"),
        "authgear",
        &url,
        json.clone(),
        &[b'x'; 5000],
        true,
    );
    std::fs::remove_file(dir("file").join("repro/F1.body")).unwrap();
    expect_2(
        &replay(&dir("file"), "F1", &[], secret).await,
        "repro/F1.body",
    );

    write_report(
        &dir("declared"),
        "acme-ledger",
        &url,
        json.clone(),
        b"{}",
        false,
    );
    expect_2(
        &replay(&dir("declared"), "F1", &[], secret).await,
        "--provider-file",
    );
    let o = replay(&dir("declared"), "F1", &["--provider", "authgear"], secret).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "--provider overrides: {}",
        transcript(&o)
    );

    let redacted = format!("http://<redacted>@{addr}/hooks");
    write_report(
        &dir("redacted"),
        "authgear",
        &redacted,
        json.clone(),
        b"{}",
        false,
    );
    expect_2(
        &replay(&dir("redacted"), "F1", &[], secret).await,
        "--target",
    );
    let o = replay(&dir("redacted"), "F1", &["--target", &url], secret).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "--target overrides: {}",
        transcript(&o)
    );

    // Nothing listens: no answer, exit 1.
    let refusing = faulty_servers::refusing().await;
    let o = replay(
        &dir("ok"),
        "F1",
        &["--target", &format!("http://{refusing}/hooks")],
        secret,
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", transcript(&o));
    assert!(stdout(&o).contains("no answer"), "{}", transcript(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_token_echoed_back_is_not_printed() {
    let token = "replay-canary-token-4711";
    let (addr, recorded) = faulty_servers::echoing().await;
    let url = format!("http://{addr}/hooks");
    let dir = tempfile::tempdir().unwrap();
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("authorization".to_string(), "Bearer <redacted>".to_string()),
    ];
    write_report(dir.path(), "auth0", &url, headers, b"{}", false);
    let o = replay(dir.path(), "F1", &[], token).await;
    assert_eq!(o.status.code(), Some(0), "{}", transcript(&o));
    assert!(
        recorded
            .lock()
            .unwrap()
            .contains(&format!("Bearer {token}")),
        "the fresh token was sent"
    );
    assert!(!transcript(&o).contains(token), "{}", transcript(&o));
    assert!(stdout(&o).contains("<redacted>"), "{}", stdout(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_file_run_is_replayed_with_its_file_and_its_curl_line_says_when_it_expires() {
    let file = crate::util::repository::root().join("providers/stripe.yaml");
    let file_arg = file.to_str().unwrap();
    let provider = harness::provider_file::read(&file).unwrap();
    let secret = generators::Secret::new("whsec_stripe_signing_secret_for_tests".into());
    let lenient = receiving(&provider, &secret, &[Fault::AcceptStale]).await;
    let strict = receiving(&provider, &secret, &[]).await;
    let ty = a_type(&provider);
    let dir = tempfile::tempdir().unwrap();
    let report = check(
        &[
            "--provider-file",
            file_arg,
            "-t",
            &lenient.url(),
            "--type",
            &ty,
            "--checks",
            "rejects_stale_signature",
        ],
        secret.expose(),
        dir.path(),
    )
    .await;
    let f = finding_of(&report, "rejects_stale_signature", "expired");
    // Stripe's timestamp travels in the signature value (`t=`).
    let expires = f.expires.clone().unwrap_or_default();
    assert!(
        expires.contains("signed at timestamp")
            && expires.contains(&format!("`hookstorm replay REPORT_DIR {}`", f.id)),
        "{expires:?}"
    );

    let o = replay(dir.path(), &f.id, &[], secret.expose()).await;
    assert_eq!(o.status.code(), Some(2), "{}", transcript(&o));
    assert!(stderr(&o).contains("--provider-file"), "{}", transcript(&o));

    let o = replay(
        dir.path(),
        &f.id,
        &["--provider-file", file_arg],
        secret.expose(),
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", transcript(&o));
    assert!(
        stdout(&o).contains("2xx → 2xx: the same answer"),
        "{}",
        stdout(&o)
    );
    let o = replay(
        dir.path(),
        &f.id,
        &["--provider-file", file_arg, "--target", &strict.url()],
        secret.expose(),
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", transcript(&o));
    assert!(
        stdout(&o).contains("2xx → 4xx: the answer changed"),
        "{}",
        stdout(&o)
    );
    lenient.shutdown().await;
    strict.shutdown().await;
}

/// Every built-in provider, from the one registry (code-defined or shipped
/// as a file): a finding of `check --provider P` against a receiver that
/// skips verification is re-sent by `replay DIR F1` with no other flag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_builtin_providers_finding_replays_with_no_other_flag() {
    let names = harness::provider::names();
    assert!(names.len() >= 16, "{names:?}");
    for name in names {
        let provider = harness::provider::named(name).unwrap();
        let secret = demo_secret(provider.scheme());
        let faulty = receiving(&provider, &secret, &[Fault::SkipSignature]).await;
        let ty = a_type(&provider);
        let dir = tempfile::tempdir().unwrap();
        let report = check(
            &[
                "-p",
                name,
                "-t",
                &faulty.url(),
                "--type",
                &ty,
                "--checks",
                "rejects_missing_signature",
            ],
            secret.expose(),
            dir.path(),
        )
        .await;
        let f1 = report
            .findings
            .iter()
            .find(|f| f.id == "F1")
            .unwrap_or_else(|| panic!("{name}: no F1: {:#?}", report.findings));
        assert_eq!(f1.check, "rejects_missing_signature", "{name}");
        assert_eq!(report.run.provider_file, None, "{name} is built in");
        let o = replay(dir.path(), "F1", &[], secret.expose()).await;
        assert_eq!(o.status.code(), Some(0), "{name}: {}", transcript(&o));
        assert!(
            stdout(&o).contains("answer      2"),
            "{name}: the faulty receiver accepted it again: {}",
            transcript(&o)
        );
    }
}
