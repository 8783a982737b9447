//! The body-signed senders shipped as provider files: `github`, `shopify`
//! and `pagerduty`. The reference receiver passes `hookstorm check` for
//! each and the `skip-signature` fault is caught; GitHub and Shopify name
//! the event type in a header (`X-GitHub-Event`, `X-Shopify-Topic`), so
//! every way hookstorm sends (check, load, `events gen --signed`, load of
//! those records) carries it there and the receiver judges a body by the
//! type its header names.

use generators::{Delivery, Secret, Signer};
use harness::receiver::{self, Fault, ReceiverConfig};

use crate::util::process::{hookstorm, transcript};

const SENDERS: [&str; 3] = ["github", "shopify", "pagerduty"];
const SECRET: &str = "It's a Secret to Everybody";

async fn reference(name: &str, faults: &[Fault]) -> receiver::RunningReceiver {
    let provider = harness::provider::named(name).expect("a built-in sender");
    let mut config = ReceiverConfig::for_provider(provider, Secret::new(SECRET.into()));
    config.faults = faults.to_vec();
    receiver::start(config).await.expect("receiver starts")
}

/// `hookstorm check --provider NAME` against `running`: the output and
/// the report's (check id, level) pairs.
async fn check(
    name: &str,
    running: &receiver::RunningReceiver,
    extra: &[&str],
) -> (std::process::Output, Vec<(String, String)>) {
    let out_dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = ["check", "--provider", name, "--target"]
        .map(String::from)
        .to_vec();
    args.push(running.url());
    args.extend(["--ledger-url".into(), running.ledger_url()]);
    args.extend(["--seed", "3", "--quiet", "--out"].map(String::from));
    args.push(out_dir.path().display().to_string());
    args.extend(extra.iter().map(|a| a.to_string()));
    let out = hookstorm(args).secret(SECRET).run().await;
    let report: serde_json::Value = std::fs::read(out_dir.path().join("report.json"))
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or_else(|e| panic!("{name}: no report.json ({e}): {}", transcript(&out)));
    let levels = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                format!("{} [{}]", c["id"].as_str().unwrap(), c["event_type"]),
                c["level"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (out, levels)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_receiver_passes_check_for_each_sender_and_skip_signature_is_caught() {
    for name in SENDERS {
        let running = reference(name, &[]).await;
        let (out, levels) = check(name, &running, &[]).await;
        running.shutdown().await;
        let bad: Vec<_> = levels
            .iter()
            .filter(|(_, l)| ["FAIL", "ERROR", "NON-STRICT"].contains(&l.as_str()))
            .collect();
        assert!(bad.is_empty(), "{name}: {bad:#?}\n{}", transcript(&out));
        assert_eq!(out.status.code(), Some(0), "{name}: {}", transcript(&out));
        for id in [
            "accepts_valid",
            "rejects_bad_signature",
            "duplicate_idempotent",
        ] {
            assert!(
                levels
                    .iter()
                    .any(|(c, l)| c.starts_with(&format!("{id} ")) && l == "PASS"),
                "{name}: {id} did not pass: {levels:?}"
            );
        }

        let faulty = reference(name, &[Fault::SkipSignature]).await;
        let (out, levels) = check(
            name,
            &faulty,
            &[
                "--checks",
                "rejects_missing_signature,rejects_bad_signature",
            ],
        )
        .await;
        faulty.shutdown().await;
        assert_eq!(out.status.code(), Some(1), "{name}: {}", transcript(&out));
        for id in ["rejects_missing_signature", "rejects_bad_signature"] {
            assert!(
                levels
                    .iter()
                    .any(|(c, l)| c.starts_with(&format!("{id} ")) && l == "FAIL"),
                "{name} skip-signature: {id} not at FAIL: {levels:?}"
            );
        }
    }
}

/// A signed GitHub delivery of `body` naming `event` in `X-GitHub-Event`,
/// as hookstorm signs it.
fn github_delivery(body: &serde_json::Value, event: &str, n: u128) -> Delivery {
    let provider = harness::provider::named("github").unwrap();
    let signer = Signer::new(provider.scheme(), &Secret::new(SECRET.into())).unwrap();
    let mut d = generators::envelope(
        provider.profile(),
        &signer,
        serde_json::to_vec(body).unwrap(),
        &generators::message_id(n),
        harness::clock::now_unix(),
    );
    generators::name_type(provider.profile(), event, &mut d.headers);
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_type_a_header_names_picks_the_schema_a_body_is_judged_by() {
    let provider = harness::provider::named("github").unwrap();
    assert_eq!(provider.profile().type_header(), Some("X-GitHub-Event"));
    let push = provider.event_type("push").unwrap();
    let body = generators::Generator::new(1, 1_700_000_000_000).valid(push);
    let running = reference("github", &[]).await;
    let client = harness::client::Client::new(Default::default()).unwrap();
    let target = harness::target::Target::parse(&running.url()).unwrap();
    let send = |d: Delivery| {
        let (client, target) = (&client, &target);
        async move {
            client
                .send(
                    target,
                    "POST",
                    &d.headers,
                    bytes::Bytes::from(d.body),
                    std::time::Duration::from_secs(5),
                )
                .await
                .expect("an answer")
        }
    };
    let as_push = send(github_delivery(&body, "push", 1)).await;
    assert_eq!(as_push.status, 200, "{:?}", as_push.body);
    // The same signed body named `issues` is judged by the issues schema.
    let as_issues = send(github_delivery(&body, "issues", 2)).await;
    assert_eq!(as_issues.status, 400);
    let why = String::from_utf8_lossy(&as_issues.body);
    assert!(why.contains("issues"), "{why}");
    // No type header at all: the receiver cannot tell what it got.
    let mut untyped = github_delivery(&body, "push", 3);
    untyped
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("X-GitHub-Event"));
    let answer = send(untyped).await;
    assert_eq!(answer.status, 400);
    assert!(
        String::from_utf8_lossy(&answer.body).contains("X-GitHub-Event"),
        "{:?}",
        answer.body
    );
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_records_carry_the_type_header_and_load_sends_it() {
    // `events gen --signed`: each record names its type in the header, and
    // its delivery id is a GUID.
    let out = hookstorm(
        [
            "events", "gen", "-p", "shopify", "--all", "--signed", "--count", "10", "--seed", "4",
        ]
        .map(String::from)
        .to_vec(),
    )
    .secret(SECRET)
    .run()
    .await;
    assert!(out.status.success(), "{}", transcript(&out));
    let records: Vec<Delivery> = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 10);
    let provider = harness::provider::named("shopify").unwrap();
    for r in &records {
        let topic = r.header("X-Shopify-Topic").expect("a topic header");
        assert!(provider.event_type(topic).is_ok(), "{topic}");
        let id = r.header("X-Shopify-Webhook-Id").unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
        assert_eq!(
            r.header("X-Shopify-Shop-Domain"),
            Some("hookstorm-test.myshopify.com")
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let records_file = dir.path().join("shopify.jsonl");
    std::fs::write(&records_file, &out.stdout).unwrap();
    // A bare body cannot name a header type: refused, saying why.
    let bare_file = dir.path().join("bare.jsonl");
    std::fs::write(
        &bare_file,
        format!("{}\n", String::from_utf8_lossy(&records[0].body)),
    )
    .unwrap();

    let running = reference("shopify", &[]).await;
    let load = |events: Option<&std::path::Path>| {
        let mut args: Vec<String> = ["load", "--provider", "shopify", "--target"]
            .map(String::from)
            .to_vec();
        args.push(running.url());
        args.extend(
            [
                "--rate",
                "100",
                "--duration",
                "1s",
                "--quiet",
                "--seed",
                "5",
            ]
            .map(String::from),
        );
        args.extend(["--threshold", "error_rate<1%"].map(String::from));
        if let Some(file) = events {
            args.push("--events".into());
            args.push(file.display().to_string());
        }
        hookstorm(args).secret(SECRET).run()
    };
    // Generated events and the records, re-signed: every request accepted,
    // so each named a topic whose schema its body meets.
    for events in [None, Some(records_file.as_path())] {
        let before = running.ledger().len();
        let out = load(events).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{events:?}: {}",
            transcript(&out)
        );
        let processed = running.ledger().len() - before;
        assert!(processed >= 90, "{events:?}: {processed} processed");
    }
    let out = load(Some(&bare_file)).await;
    running.shutdown().await;
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    assert!(
        transcript(&out).contains("X-Shopify-Topic"),
        "{}",
        transcript(&out)
    );
}
