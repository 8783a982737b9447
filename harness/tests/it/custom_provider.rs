//! A provider that is not built in (`scenarios/custom-provider.yaml`,
//! "acme-billing"): the reference receiver serves it, `check` passes on the
//! correct receiver and catches a fault, and `load` drives it.

use std::path::PathBuf;
use std::process::Command;

use generators::{Provider, Secret};
use harness::check::{self, CheckPlan};
use harness::client::Target;
use harness::ledger::LedgerSource;
use harness::receiver::{self, Fault, ReceiverConfig};
use reports::Level;

use crate::util::process::HOOKSTORM;
use crate::util::repository;

const SECRET: &str = "acme-test-secret";

fn provider_file() -> PathBuf {
    repository::root().join("scenarios/custom-provider.yaml")
}

async fn receiver_for(faults: &[Fault]) -> receiver::RunningReceiver {
    let provider = acme();
    assert_eq!(provider.name(), "acme-billing");
    assert!(provider.builtin_id().is_none());
    let mut config = ReceiverConfig::for_provider(provider, Secret::new(SECRET.into()));
    config.faults = faults.to_vec();
    // The policy `check` assumes by default.
    config.ordering = harness::ledger::OrderingPolicy::LastWriteWins;
    receiver::start(config).await.expect("receiver starts")
}

/// The provider the file declares, resolved the way `--provider-file` is.
fn acme() -> Provider {
    harness::provider::from_file(&provider_file()).expect("provider file loads")
}

fn plan_for(running: &receiver::RunningReceiver) -> CheckPlan {
    let target = Target::parse(&running.url()).unwrap();
    let mut plan = CheckPlan::new(acme(), target, Secret::new(SECRET.into()));
    plan.ledger = Some(LedgerSource::Url(running.ledger_url()));
    plan.seed = 3;
    plan
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_on_a_correct_receiver_for_a_custom_provider_and_catches_a_fault() {
    let running = receiver_for(&[]).await;
    let report = check::run(&plan_for(&running)).await.expect("check runs");
    running.shutdown().await;
    assert_eq!(report.run.provider, "acme-billing");
    let failed: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.level == Level::Fail)
        .map(|c| format!("{} [{}]: {:?}", c.id, c.event_type, c.reason))
        .collect();
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
        Command::new(HOOKSTORM)
            .args(["load", "--provider-file"])
            .arg(&file)
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
            .env("HOOK_SECRET", SECRET)
            .env("CI", "true")
            .output()
            .expect("hookstorm runs")
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
    assert!(stdout.contains("2xx"), "{stdout}");
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
        Command::new(HOOKSTORM)
            .arg("run")
            .arg(&scenario)
            .arg("--out")
            .arg(&out)
            .arg("--quiet")
            .env("HOOK_SECRET", SECRET)
            .env("CI", "true")
            .output()
            .expect("hookstorm runs")
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
