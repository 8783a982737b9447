//! Batches: a provider that delivers several events per request (Auth0 Log
//! Streams: JSON Lines, a JSON Array, or one object per request). The
//! reference receiver reads each format and records each event; `check`
//! passes it in every format and catches the faults that apply inside
//! batches (a receiver that processes an event of an overlapping re-sent
//! batch twice is `double-process`); `load` sends full batches and reports
//! events/s beside requests/s; a declared HMAC scheme batches too.

use harness::check::CheckId;
use std::time::Duration;

use bytes::Bytes;
use generators::{Batch, BatchFormat, Generator, Provider, Secret, Signer};
use harness::check::{self, CheckPlan};
use harness::client::{send_one, ClientOptions};
use harness::ledger::{LedgerSource, OrderingPolicy};
use harness::receiver::{self, Fault, ReceiverConfig, RunningReceiver};
use harness::target::Target;
use reports::{Level, Report};
use serde_json::Value;

use crate::util::process::{hookstorm, transcript};
use crate::util::reference;

/// The token Auth0 sends verbatim in `Authorization`.
const TOKEN: &str = "Bearer hookstorm-log-stream-token";

fn streams() -> Provider {
    harness::provider::named("auth0-log-streams").expect("a built-in sender")
}

/// The Auth0 Log Streams sender delivering in `format`, `max` per request.
fn streams_in(format: BatchFormat, max: u32) -> Provider {
    let provider = streams();
    let mut profile = provider.profile().clone();
    profile.batch = Some(Batch {
        format,
        max_events: max,
    });
    provider.with_profile(profile)
}

async fn receiver_for(provider: &Provider, faults: &[Fault]) -> RunningReceiver {
    let mut config = ReceiverConfig::for_provider(provider.clone(), Secret::new(TOKEN.into()));
    config.faults = faults.to_vec();
    config.ordering = OrderingPolicy::LastWriteWins;
    config.slow_delay = Duration::from_millis(1500);
    receiver::start(config).await.expect("receiver starts")
}

/// Runs the checks `configure` selects against a reference receiver (with
/// `faults`) of `provider`, with its ledger.
async fn check_against(
    provider: &Provider,
    faults: &[Fault],
    configure: impl FnOnce(CheckPlan) -> CheckPlan,
) -> Report {
    let running = receiver_for(provider, faults).await;
    let target = Target::parse(&running.url()).unwrap();
    let mut plan = CheckPlan::new(provider.clone(), target, Secret::new(TOKEN.into()));
    plan.ledger = Some(LedgerSource::Url(
        Target::parse(&running.ledger_url()).unwrap(),
    ));
    plan.seed = 11;
    let report = check::run(&configure(plan)).await.expect("check runs");
    running.shutdown().await;
    report
}

async fn post(url: &str, headers: &[(String, String)], body: Vec<u8>) -> u16 {
    send_one(
        &Target::parse(url).unwrap(),
        &ClientOptions::default(),
        "POST",
        headers,
        Bytes::from(body),
        Duration::from_secs(10),
    )
    .await
    .expect("the receiver answers")
    .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_receiver_reads_every_format_and_records_each_event() {
    for (format, max) in [
        (BatchFormat::Lines, 20),
        (BatchFormat::Array, 20),
        (BatchFormat::Object, 1),
    ] {
        let provider = streams_in(format, max);
        let batch = provider.profile().batch.unwrap();
        let running = receiver_for(&provider, &[]).await;
        let signer = Signer::new(provider.scheme(), &Secret::new(TOKEN.into())).unwrap();
        let headers = |body: &[u8]| {
            let mut h = vec![("content-type".to_string(), "application/json".to_string())];
            h.extend(signer.sign(body, "", 0));
            h
        };
        assert_eq!(headers(b"")[1], ("Authorization".into(), TOKEN.into()));
        let mut generator = Generator::new(3, harness::clock::now_unix_ms());
        let types = provider.types();
        let n = batch.per_request() as usize;
        let events: Vec<Value> = (0..n + 1)
            .map(|i| generator.valid(types[i % types.len()]))
            .collect();
        let first: Vec<&Value> = events[..n].iter().collect();
        let body = batch.body(&first);
        assert_eq!(
            post(&running.url(), &headers(&body), body).await,
            200,
            "{format:?}"
        );
        // A re-send overlapping the first batch: its last event again, with
        // one not delivered yet (one object per request: each in turn).
        let again: Vec<&Value> = events[n - 1..].iter().collect();
        for chunk in again.chunks(n) {
            let body = batch.body(chunk);
            assert_eq!(post(&running.url(), &headers(&body), body).await, 200);
        }
        // One invalid event refuses the whole batch: none of it is processed.
        let mut broken = generator.valid(types[0]);
        broken["data"]["type"] = Value::String("no-such-type".into());
        let fresh = generator.valid(types[1]);
        let mixed: Vec<&Value> = if n == 1 {
            vec![&broken]
        } else {
            vec![&fresh, &broken]
        };
        let body = batch.body(&mixed);
        assert_eq!(post(&running.url(), &headers(&body), body).await, 400);
        // Bodies that are not a batch of this format.
        let not_a_batch: &[u8] = match format {
            BatchFormat::Array => b"{\"log_id\":\"1\"}",
            BatchFormat::Lines => b"{\"log_id\":\"1\"}\n{oops\n",
            BatchFormat::Object => b"[]",
        };
        assert_eq!(
            post(&running.url(), &headers(not_a_batch), not_a_batch.to_vec()).await,
            400
        );
        // A wrong token is refused before anything is read.
        let body = batch.body(&first);
        let forged = vec![
            ("content-type".to_string(), "application/json".to_string()),
            (
                "Authorization".to_string(),
                "Bearer not-the-token".to_string(),
            ),
        ];
        assert_eq!(post(&running.url(), &forged, body).await, 401);
        let ledger = running.ledger();
        running.shutdown().await;
        let mut ids: Vec<&str> = ledger.iter().map(|e| e.id.as_str()).collect();
        let expected: Vec<String> = events
            .iter()
            .map(|e| e["log_id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), n + 1, "{format:?}: each event once: {ids:?}");
        ids.sort_unstable();
        let mut expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        expected.sort_unstable();
        assert_eq!(ids, expected, "{format:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_passes_on_the_correct_receiver_in_every_format() {
    for (format, max) in [
        (BatchFormat::Lines, 20),
        (BatchFormat::Array, 5),
        (BatchFormat::Object, 1),
    ] {
        let provider = streams_in(format, max);
        let report = check_against(&provider, &[], |plan| plan).await;
        let (pass, fail, skip) = report.check_counts();
        println!("auth0-log-streams {format:?}: {pass} passed, {fail} failed, {skip} skipped");
        assert!(
            reference::failures(&report).is_empty(),
            "{format:?}: the correct receiver failed:\n{}",
            reference::failures(&report).join("\n")
        );
        for id in [
            "accepts_valid",
            "rejects_invalid",
            "duplicate_idempotent",
            "no_loss",
        ] {
            let levels = reference::levels(&report, id);
            assert!(
                !levels.is_empty() && levels.iter().all(|l| *l == Level::Pass),
                "{format:?}: {id}: {levels:?}"
            );
        }
        // The token carries no timestamp and is no JWT, and Auth0 declares
        // no endpoint challenge: those are skipped, with why; nothing else is.
        for c in report.checks.iter().filter(|c| c.level == Level::Skipped) {
            let reason = c.reason.as_deref().unwrap_or_default();
            assert!(
                reason.contains("no timestamp")
                    || reason.contains("not JWTs")
                    || reason.contains("no blocking hooks")
                    || reason.contains("no endpoint challenge"),
                "{format:?}: unexpected skip of {} [{}]: {reason}",
                c.id,
                c.event_type
            );
        }
    }
}

/// The faults that apply to a token-signed batching sender without
/// timestamps or blocking hooks, each caught by its own check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_caught_inside_batches_by_their_checks() {
    let provider = streams();
    let mut missed = Vec::new();
    for fault in [
        Fault::SkipSignature,
        Fault::RejectUnknownFields,
        Fault::DoubleProcess,
        Fault::OutOfOrder,
        Fault::Slow,
        Fault::CrashOnUnicode,
        Fault::ServerErrorOnBadJson,
        Fault::LoseUnderLoad,
    ] {
        let id = fault.caught_by();
        let configure = |plan: CheckPlan| {
            let mut plan = plan
                .select(&[id.parse().unwrap()], &[])
                .unwrap()
                .only_types(&["s".into(), "f".into(), "slo".into()])
                .unwrap();
            plan.deadline = Some(Duration::from_millis(800));
            plan.strict = true;
            plan
        };
        let faulty = check_against(&provider, &[fault], configure).await;
        let expected = match fault {
            Fault::ServerErrorOnBadJson => Level::NonStrict,
            _ => Level::Fail,
        };
        let levels = reference::levels(&faulty, id);
        let caught = levels.contains(&expected) && !faulty.passed();
        println!("{:24} {id:28} {levels:?}", fault.name());
        if !caught {
            missed.push((fault.name(), levels));
        }
        let correct = check_against(&provider, &[], configure).await;
        assert!(
            reference::failures(&correct).is_empty(),
            "{id} fails on the correct receiver: {:?}",
            reference::failures(&correct)
        );
    }
    assert!(missed.is_empty(), "not caught: {missed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_processed_again_from_an_overlapping_batch_is_caught_there() {
    let report = check_against(&streams(), &[Fault::DoubleProcess], |plan| {
        plan.select(&[CheckId::DuplicateIdempotent], &[])
            .unwrap()
            .only_types(&["s".into()])
            .unwrap()
    })
    .await;
    assert_eq!(
        reference::levels(&report, "duplicate_idempotent"),
        [Level::Fail]
    );
    let overlap = report
        .findings
        .iter()
        .find(|f| f.variant == "duplicate: overlapping batch")
        .unwrap_or_else(|| {
            panic!(
                "no finding on the overlapping batch: {:#?}",
                report.findings
            )
        });
    assert!(
        overlap
            .message
            .contains("in two overlapping batches was processed 2 times"),
        "{}",
        overlap.message
    );
    // The events each batch carried alone were processed once: only the
    // shared one is blamed.
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.message.contains("batch only")),
        "{:#?}",
        report.findings
    );
    // The repro is the re-sent batch itself: two JSON Lines.
    let body = overlap.request.body.as_deref().unwrap_or_default();
    assert_eq!(body.trim_end().lines().count(), 2, "{body}");
}

/// A provider file with a declared HMAC scheme and JSON Array batches.
const DECLARED: &str = r#"
name: acme-audit
signature:
  algorithm: hmac-sha512
  key: {form: base64, prefix: whsec_}
  signed: "{ts}.{body}"
  encoding: base64url
  header: x-acme-signature
  value: "t={ts},sig={sig}"
  separator: ","
  timestamp: {unit: seconds, tolerance: 300s}
deadline: 5s
redelivery: {max_resends: 2}
batch: {format: array, max_events: 8}
keys:
  dedupe: /id
  type: /kind
  timestamp: {path: /at, format: unix-seconds}
envelope:
  schema:
    type: object
    required: [id, kind, at, detail]
    properties:
      id: {type: string, x-gen: event-id}
      at: {type: integer, x-gen: unix-s}
  payload: detail
  type_field: kind
types:
  - name: record.read
    schema: {type: object, required: [who], properties: {who: {type: string, x-gen: email}}}
  - name: record.written
    schema: {type: object, required: [who, size], properties: {who: {type: string, x-gen: email}, size: {type: integer, minimum: 0, maximum: 1000}}}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_hmac_scheme_batches_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acme-audit.yaml");
    std::fs::write(&file, DECLARED).unwrap();
    let provider = harness::provider::from_file(&file).expect("the file reads");
    assert_eq!(provider.profile().events_per_request(), 8);
    let secret = harness::demo::demo_secret(provider.scheme());

    let mut config = ReceiverConfig::for_provider(provider.clone(), secret.clone());
    config.ordering = OrderingPolicy::LastWriteWins;
    let running = receiver::start(config).await.unwrap();
    let mut plan = CheckPlan::new(
        provider.clone(),
        Target::parse(&running.url()).unwrap(),
        secret.clone(),
    );
    plan.ledger = Some(LedgerSource::Url(
        Target::parse(&running.ledger_url()).unwrap(),
    ));
    let report = check::run(&plan).await.unwrap();
    running.shutdown().await;
    assert!(
        reference::failures(&report).is_empty(),
        "{:#?}",
        reference::failures(&report)
    );
    for id in [
        "rejects_bad_signature",
        "rejects_stale_signature",
        "duplicate_idempotent",
    ] {
        assert!(
            reference::levels(&report, id)
                .iter()
                .all(|l| *l == Level::Pass),
            "{id}: {:?}",
            reference::levels(&report, id)
        );
    }

    let running = receiver::start(ReceiverConfig::for_provider(provider, secret.clone()))
        .await
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = load(&file, &running.url(), secret.expose(), out.path(), "40").await;
    let ledger = running.ledger();
    running.shutdown().await;
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    let stats = load_stats(out.path());
    assert_eq!(stats.events(), stats.requests() * 8);
    // Every event of every request was valid, signed and unique.
    assert_eq!(
        ledger.len() as u64,
        stats.events(),
        "{}",
        transcript(&output)
    );
}

async fn load(
    provider_file: &std::path::Path,
    url: &str,
    secret: &str,
    out: &std::path::Path,
    rate: &str,
) -> std::process::Output {
    let args: Vec<String> = vec![
        "load".into(),
        "--provider-file".into(),
        provider_file.display().to_string(),
        "--target".into(),
        url.into(),
        "--rate".into(),
        rate.into(),
        "--duration".into(),
        "1s".into(),
        "--seed".into(),
        "5".into(),
        "--out".into(),
        out.display().to_string(),
    ];
    hookstorm(args).secret(secret).run().await
}

fn load_stats(out: &std::path::Path) -> reports::LoadStats {
    let text = std::fs::read_to_string(out.join("report.json")).unwrap();
    Report::from_json(&text)
        .unwrap()
        .load
        .expect("a load section")
        .stats
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_sends_full_batches_and_reports_events_per_second() {
    let provider = streams();
    let running = receiver_for(&provider, &[]).await;
    let out = tempfile::tempdir().unwrap();
    let args: Vec<String> = [
        "load",
        "--provider",
        "auth0-log-streams",
        "--target",
        &running.url(),
        "--rate",
        "50",
        "--duration",
        "1s",
        "--seed",
        "9",
        "--out",
    ]
    .into_iter()
    .map(String::from)
    .chain([out.path().display().to_string()])
    .collect();
    let output = hookstorm(args).secret(TOKEN).run().await;
    let ledger = running.ledger();
    running.shutdown().await;
    let text = transcript(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    let stats = load_stats(out.path());
    assert!(stats.batched());
    assert!(stats.requests() >= 40, "{text}");
    assert_eq!(stats.events(), stats.requests() * 20);
    // Events/s is requests/s times the batch, measured over one window.
    let ratio = stats.events_rate() / stats.achieved_rate();
    assert!((ratio - 20.0).abs() < 1e-9, "{ratio}");
    // Every event reached the ledger once, each with its own id.
    assert_eq!(ledger.len() as u64, stats.events(), "{text}");
    let ids: std::collections::HashSet<&str> = ledger.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), ledger.len());
    let line = text
        .lines()
        .find(|l| l.starts_with("events"))
        .unwrap_or_else(|| panic!("no events line: {text}"));
    assert!(line.contains("(20.0 per request)"), "{line}");
    let json = std::fs::read_to_string(out.path().join("report.json")).unwrap();
    let value: Value = serde_json::from_str(&json).unwrap();
    let load = &value["load"]["stats"];
    assert_eq!(load["events"], stats.events());
    assert!(load["events_per_second"].as_f64().unwrap() > load["requests"].as_f64().unwrap() / 2.0);
}
