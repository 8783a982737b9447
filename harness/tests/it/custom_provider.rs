//! Providers that are not built in: `scenarios/custom-provider.yaml`
//! ("acme-billing", a built-in scheme) and
//! `scenarios/custom-provider/acme-ledger.yaml` (a declared signing scheme
//! no built-in uses). The reference receiver serves them, `check` passes on
//! the correct receiver and catches faults, and `load` drives them.

use std::path::PathBuf;
use std::process::Command;

use generators::{Provider, Secret};
use harness::check::{self, CheckPlan};
use harness::ledger::LedgerSource;
use harness::receiver::{self, Fault, ReceiverConfig};
use harness::target::Target;
use reports::Level;

use crate::util::process::hookstorm;
use crate::util::reference;
use crate::util::repository;

const SECRET: &str = "acme-test-secret";

fn provider_file() -> PathBuf {
    repository::root().join("scenarios/custom-provider.yaml")
}

/// A reference receiver for the user's `provider` (not built in) with
/// `faults`, keyed with [`SECRET`].
async fn start(provider: Provider, faults: &[Fault]) -> receiver::RunningReceiver {
    let mut config = ReceiverConfig::for_provider(provider, Secret::new(SECRET.into()));
    config.faults = faults.to_vec();
    // The policy `check` assumes by default.
    config.ordering = harness::ledger::OrderingPolicy::LastWriteWins;
    receiver::start(config).await.expect("receiver starts")
}

/// A check plan of `provider` against `running`, keyed with [`SECRET`],
/// reading its ledger, with `seed`.
fn plan(provider: Provider, running: &receiver::RunningReceiver, seed: u64) -> CheckPlan {
    let target = Target::parse(&running.url()).unwrap();
    let mut plan = CheckPlan::new(provider, target, Secret::new(SECRET.into()));
    plan.ledger = Some(LedgerSource::Url(
        Target::parse(&running.ledger_url()).unwrap(),
    ));
    plan.seed = seed;
    plan
}

async fn receiver_for(faults: &[Fault]) -> receiver::RunningReceiver {
    let provider = acme();
    assert_eq!(provider.name(), "acme-billing");
    assert!(harness::provider::lookup(provider.name()).is_none());
    start(provider, faults).await
}

/// The provider the file declares, resolved the way `--provider-file` is.
fn acme() -> Provider {
    harness::provider::from_file(&provider_file()).expect("provider file loads")
}

fn plan_for(running: &receiver::RunningReceiver) -> CheckPlan {
    plan(acme(), running, 3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_on_a_correct_receiver_for_a_custom_provider_and_catches_a_fault() {
    let running = receiver_for(&[]).await;
    let report = check::run(&plan_for(&running)).await.expect("check runs");
    running.shutdown().await;
    assert_eq!(report.run.provider, "acme-billing");
    let failed = reference::failures(&report);
    assert!(failed.is_empty(), "{failed:#?}");
    let passed = report
        .checks
        .iter()
        .filter(|c| c.level == Level::Pass)
        .count();
    assert!(passed >= 10, "only {passed} checks passed");
    for id in [
        "accepts_valid",
        "rejects_invalid",
        "duplicate_idempotent",
        "ordering",
        "no_loss",
    ] {
        assert!(
            report
                .checks
                .iter()
                .any(|c| c.id == id && c.level == Level::Pass),
            "{id} did not pass"
        );
    }

    let faulty = receiver_for(&[Fault::SkipSignature]).await;
    let report = check::run(&plan_for(&faulty)).await.expect("check runs");
    faulty.shutdown().await;
    assert!(report
        .checks
        .iter()
        .any(|c| c.id == "rejects_missing_signature" && c.level == Level::Fail));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_drives_a_custom_provider() {
    let running = receiver_for(&[]).await;
    let url = running.url();
    let file = provider_file();
    let output = tokio::task::spawn_blocking(move || {
        hookstorm(["load", "--provider-file"])
            .args([&file])
            .args([
                "--target",
                &url,
                "--rate",
                "200",
                "--duration",
                "1s",
                "--quiet",
            ])
            .args(["--threshold", "error_rate<1%", "--seed", "5"])
            .secret(SECRET)
            .output()
    })
    .await
    .unwrap();
    let ledger = running.ledger();
    running.shutdown().await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Statuses are per code; the first (most frequent) is a success.
    let status = stdout
        .lines()
        .find(|l| l.starts_with("status"))
        .unwrap_or_default();
    assert!(
        status
            .split_whitespace()
            .nth(1)
            .is_some_and(|c| c.starts_with('2')),
        "{stdout}"
    );
    // Every request was a unique, correctly signed, schema-valid event.
    assert!(ledger.len() >= 180, "ledger holds {} events", ledger.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_with_a_provider_file_runs_checks_and_load() {
    let running = receiver_for(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("acme.yaml");
    std::fs::write(
        &scenario,
        format!(
            "name: acme-gate\ntarget: {}\nprovider_file: {}\nsecret: ${{HOOK_SECRET}}\n\
             ledger: {{url: {}}}\nsteps:\n  - check:\n      checks: [accepts_valid, rejects_invalid, duplicate_idempotent]\n\
             \x20 - load:\n      rate: 100\n      duration: 1s\n      thresholds: [error_rate<1%]\n",
            running.url(),
            provider_file().display(),
            running.ledger_url()
        ),
    )
    .unwrap();
    let out = dir.path().join("report");
    let output = tokio::task::spawn_blocking(move || {
        hookstorm(["run"])
            .args([&scenario])
            .args(["--out"])
            .args([&out])
            .args(["--quiet"])
            .secret(SECRET)
            .output()
    })
    .await
    .unwrap();
    running.shutdown().await;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(0), "{text}");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report/report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["run"]["provider"], "acme-billing");
    assert!(report["load"].is_object(), "no load section");
    assert!(!text.contains(SECRET), "the secret leaked into the output");
}

// ------------------------------------------------- a declared signing scheme

/// `acme-ledger` declares a scheme no built-in uses: HMAC-SHA512 over
/// `{ts}.{method}.{body}`, unpadded base64url, `x-acme-signature: sig={sig}`.
fn declared_file() -> PathBuf {
    repository::root().join("scenarios/custom-provider/acme-ledger.yaml")
}

fn ledger_provider() -> Provider {
    harness::provider::from_file(&declared_file()).expect("provider file loads")
}

async fn declared_receiver(faults: &[Fault]) -> receiver::RunningReceiver {
    start(ledger_provider(), faults).await
}

#[test]
fn the_declared_scheme_is_read_as_declared() {
    let p = ledger_provider();
    let generators::Scheme::Signed(scheme) = p.scheme() else {
        panic!("not a declared scheme: {:?}", p.scheme());
    };
    let v = scheme.default_version();
    assert_eq!(v.algorithm, generators::Algorithm::HmacSha512);
    assert_eq!(v.encoding, generators::Encoding::Base64url);
    assert_eq!(scheme.signed.to_string(), "{ts}.{method}.{body}");
    assert_eq!(v.value.to_string(), "sig={sig}");
    // No built-in provider signs this way.
    for id in generators::ProviderId::ALL {
        assert_ne!(&id.profile().scheme, p.scheme(), "{id}");
    }
    // The battery derives from the declaration: body, timestamp (at the
    // declared tolerance), rotation (the `,` separator) and no hex case.
    let labels: Vec<&str> = generators::signature_cases(p.scheme())
        .iter()
        .map(|c| c.label)
        .collect();
    for label in [
        "tampered-body",
        "reserialized-body",
        "stale",
        "future",
        "just-inside-past",
        "multiple-one-valid",
    ] {
        assert!(labels.contains(&label), "{label} missing from {labels:?}");
    }
    assert!(!labels.contains(&"uppercase-hex"), "{labels:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_on_the_reference_receiver_for_a_declared_scheme_and_catches_its_faults() {
    let running = declared_receiver(&[]).await;
    let report = check::run(&plan(ledger_provider(), &running, 11))
        .await
        .expect("check runs");
    running.shutdown().await;
    let failed = reference::failures(&report);
    assert!(failed.is_empty(), "{failed:#?}");
    for id in [
        "accepts_valid",
        "rejects_missing_signature",
        "rejects_bad_signature",
        "rejects_stale_signature",
        "duplicate_idempotent",
        "no_loss",
    ] {
        assert_eq!(reference::levels(&report, id), [Level::Pass], "{id}");
    }

    // Each signature fault is caught by the check that exists for it.
    for (fault, id) in [
        (Fault::SkipSignature, "rejects_missing_signature"),
        (Fault::AcceptStale, "rejects_stale_signature"),
    ] {
        let faulty = declared_receiver(&[fault]).await;
        let target = Target::parse(&faulty.url()).unwrap();
        let plan = CheckPlan::new(ledger_provider(), target, Secret::new(SECRET.into()))
            .select(&[id.parse().unwrap()], &[])
            .unwrap();
        let report = check::run(&plan).await.expect("check runs");
        faulty.shutdown().await;
        assert_eq!(reference::levels(&report, id), [Level::Fail], "{fault:?}");
    }
}

/// The whole path through the binary: `hookstorm receiver --provider-file`
/// serves the declared provider, `hookstorm check` passes against it and
/// `hookstorm load` drives it with every request accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_check_and_load_commands_work_end_to_end_with_a_declared_scheme() {
    use crate::util::process::{listening_url, transcript};

    let file = declared_file();
    let mut child = hookstorm(["receiver", "--provider-file"])
        .args([&file])
        .args(["--port", "0"])
        .secret(SECRET)
        .stderr_null()
        .spawn();
    let url = listening_url(&mut child.0);
    let url = url.expect("the URL on stdout");
    let ledger = url.replace("/hooks", "/ledger");

    let run = |args: Vec<String>| {
        let file = file.clone();
        tokio::task::spawn_blocking(move || {
            hookstorm(&args[..1])
                .args(["--provider-file"])
                .args([&file])
                .args(&args[1..])
                .secret(SECRET)
                .output()
        })
    };
    let strings = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let check = run(strings(&[
        "check",
        "--target",
        &url,
        "--ledger-url",
        &ledger,
        "--seed",
        "4",
        "--checks",
        "accepts_valid,rejects_missing_signature,rejects_bad_signature,rejects_stale_signature,duplicate_idempotent",
    ]))
    .await
    .unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", transcript(&check));

    let load = run(strings(&[
        "load",
        "--target",
        &url,
        "--rate",
        "200",
        "--duration",
        "1s",
        "--quiet",
        "--threshold",
        "error_rate<1%",
        "--seed",
        "5",
    ]))
    .await
    .unwrap();
    assert_eq!(load.status.code(), Some(0), "{}", transcript(&load));
    let processed = harness::ledger::fetch_ledger(&ledger).await.unwrap();
    assert!(processed.len() >= 180, "ledger holds {}", processed.len());
}

/// `events gen --signed` output verifies with Python's own `hmac`, reading
/// the declaration the way its text says: HMAC-SHA512(secret,
/// "{ts}.POST.{body}"), unpadded base64url, `sig=` before it.
#[test]
fn signed_events_of_a_declared_scheme_verify_with_an_independent_implementation() {
    let out = hookstorm(["events", "gen", "--provider-file"])
        .args([declared_file()])
        .args(["--type", "invoice.paid", "--count", "3", "--seed", "9"])
        .args(["--now", "1700000000000", "--signed"])
        .secret(SECRET)
        .output();
    assert!(
        out.status.success(),
        "{}",
        crate::util::process::transcript(&out)
    );
    let script = r#"
import base64, hashlib, hmac, json, sys
secret = sys.argv[1].encode()
n = 0
for line in sys.stdin:
    d = json.loads(line)
    h = {k.lower(): v for k, v in d["headers"].items()}
    ts = h["x-acme-timestamp"]
    assert ts == "1700000000", ts
    assert h["x-acme-api-version"] == "2026-01"
    assert h["x-acme-delivery"].startswith("msg_")
    mac = hmac.new(secret, f"{ts}.POST.".encode() + d["body"].encode(), hashlib.sha512)
    want = "sig=" + base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")
    assert h["x-acme-signature"] == want, (h["x-acme-signature"], want)
    n += 1
print(n)
"#;
    let mut py = Command::new("python3")
        .args(["-c", script, SECRET])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    py.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    let verdict = py.wait_with_output().unwrap();
    assert!(
        verdict.status.success(),
        "{}",
        crate::util::process::transcript(&verdict)
    );
    assert_eq!(crate::util::process::stdout(&verdict).trim(), "3");
}

// ------------------------------------------------ senders as provider files

/// `providers/stripe.yaml` and `providers/svix.yaml`: real senders'
/// schemes declared as data.
fn sender_file(name: &str) -> PathBuf {
    repository::root().join(format!("providers/{name}.yaml"))
}

/// `events gen --signed` for both senders verifies with each sender's
/// documented manual procedure, written in Python's standard library:
/// Stripe (docs.stripe.com/webhooks, "Verify manually": split on `,`, take
/// `t` and every `v1`, HMAC-SHA256 of "{t}.{payload}" with the secret, hex)
/// and Svix (docs.svix.com/receiving/verifying-payloads/how-manual:
/// base64-decode the secret after `whsec_`, HMAC-SHA256 of
/// "{svix-id}.{svix-timestamp}.{body}", base64, among `v1,` entries).
#[test]
fn stripe_and_svix_signed_events_verify_with_their_documented_procedures() {
    let script = r#"
import base64, hashlib, hmac, json, sys
name, secret = sys.argv[1], sys.argv[2]
n = 0
for line in sys.stdin:
    d = json.loads(line)
    h = {k.lower(): v for k, v in d["headers"].items()}
    body = d["body"].encode()
    if name == "stripe":
        parts = [p.split("=", 1) for p in h["stripe-signature"].split(",")]
        t = [v for k, v in parts if k == "t"][0]
        sigs = [v for k, v in parts if k == "v1"]
        want = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    else:
        key = base64.b64decode(secret.split("_", 1)[1])
        signed = (h["svix-id"] + "." + h["svix-timestamp"] + ".").encode() + body
        want = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        sigs = [e.split(",", 1)[1] for e in h["svix-signature"].split(" ") if e.startswith("v1,")]
    assert any(hmac.compare_digest(want, s) for s in sigs), (name, h)
    n += 1
print(n)
"#;
    for (name, secret) in [
        ("stripe", "whsec_stripe_signing_secret_for_tests"),
        ("svix", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ] {
        let out = hookstorm(["events", "gen", "--provider-file"])
            .args([sender_file(name)])
            .args(["--all", "--count", "6", "--seed", "2", "--signed"])
            .secret(secret)
            .output();
        assert!(
            out.status.success(),
            "{}",
            crate::util::process::transcript(&out)
        );
        let mut py = Command::new("python3")
            .args(["-c", script, name, secret])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        use std::io::Write;
        py.stdin.take().unwrap().write_all(&out.stdout).unwrap();
        let verdict = py.wait_with_output().unwrap();
        assert!(
            verdict.status.success(),
            "{name}: {}",
            crate::util::process::transcript(&verdict)
        );
        assert_eq!(crate::util::process::stdout(&verdict).trim(), "6", "{name}");
    }
}
