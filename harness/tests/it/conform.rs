//! The conformance matrix: every check passes against the correct reference
//! receiver for every provider, and every fault is caught by the check that
//! exists to catch it (and the report names it). The matrix is printed.

use std::time::Duration;

use generators::{Provider, ProviderId, Secret};
use harness::check::{self, CheckPlan};
use harness::client::Target;
use harness::demo::demo_secret;
use harness::ledger::{LedgerSource, OrderingPolicy};
use harness::receiver::{self, Fault, ReceiverConfig};
use reports::{Level, Report};

use crate::util::process::{self, KillOnDrop};

/// Starts a reference receiver (with `faults`), runs `configure`d checks
/// against it with its ledger, and returns the report.
async fn run_against(
    provider: ProviderId,
    faults: &[Fault],
    slow_delay: Option<Duration>,
    configure: impl FnOnce(CheckPlan) -> CheckPlan,
) -> Report {
    let secret: Secret = demo_secret(provider);
    let mut config = ReceiverConfig::new(provider, secret.clone());
    config.ordering = OrderingPolicy::LastWriteWins;
    config.faults = faults.to_vec();
    if let Some(d) = slow_delay {
        config.slow_delay = d;
    }
    let running = receiver::start(config).await.expect("receiver starts");
    let target = Target::parse(&running.url()).unwrap();
    let mut plan = CheckPlan::new(Provider::builtin(provider), target, secret);
    plan.ledger = Some(LedgerSource::Url(running.ledger_url()));
    plan.seed = 7;
    let plan = configure(plan);
    let report = check::run(&plan).await.expect("check runs");
    running.shutdown().await;
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_valid_event_is_shrunk_to_a_smaller_failing_form() {
    // 5xx-on-bad-json leaves valid events alone; crash-on-unicode fails
    // those with non-ASCII text, which the generator's names often have.
    let report = run_against(
        ProviderId::Authgear,
        &[Fault::CrashOnUnicode],
        None,
        |plan| {
            plan.select(&["accepts_valid".into()], &[])
                .unwrap()
                .only_types(&["user.created".into(), "user.profile.updated".into()])
                .unwrap()
        },
    )
    .await;
    let shrunk: Vec<(usize, usize)> = report
        .findings
        .iter()
        .filter_map(|f| {
            let m = f.message.split("shrunk from ").nth(1)?;
            let mut nums = m
                .split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty());
            Some((nums.next()?.parse().ok()?, nums.next()?.parse().ok()?))
        })
        .collect();
    assert!(
        !shrunk.is_empty(),
        "no shrunk failure: {:?}",
        failures(&report)
    );
    for (from, to) in &shrunk {
        assert!(
            to < from,
            "shrinking did not reduce the event: {from} -> {to} bytes"
        );
    }
    println!("shrunk (bytes): {shrunk:?}");
}

/// The Python standard-library receiver with `faults`, keyed with the
/// demo secret; the child and its base URL.
fn python_receiver(faults: &[&str]) -> (KillOnDrop, String) {
    process::python_receiver(faults, demo_secret(ProviderId::Authgear).expose())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_catches_a_python_receiver_failing_and_passing() {
    // What the small Python receiver implements: signatures, JSON, dedupe
    // by id, a ledger (it does not validate schemas, so rejects_invalid is
    // not asked of it).
    let checks = [
        "accepts_valid",
        "rejects_missing_signature",
        "rejects_bad_signature",
        "duplicate_idempotent",
        "no_server_error",
    ];
    let secret = demo_secret(ProviderId::Authgear);
    let run = |base: String| {
        let target = Target::parse(&format!("{base}/hooks")).unwrap();
        let mut plan = CheckPlan::new(
            Provider::builtin(ProviderId::Authgear),
            target,
            secret.clone(),
        )
        .select(&checks.map(String::from), &[])
        .unwrap()
        .only_types(&["user.created".into(), "user.pre_create".into()])
        .unwrap();
        plan.ledger = Some(LedgerSource::Url(format!("{base}/ledger")));
        plan.seed = 11;
        plan
    };

    let (_correct, base) = python_receiver(&[]);
    let report = check::run(&run(base)).await.unwrap();
    assert!(
        failures(&report).is_empty(),
        "the correct Python receiver failed: {:?}",
        failures(&report)
    );
    assert!(report
        .checks
        .iter()
        .any(|c| c.id == "duplicate_idempotent" && c.level == Level::Pass));

    for (fault, check_id) in [
        ("skip-signature", "rejects_missing_signature"),
        ("double-process", "duplicate_idempotent"),
    ] {
        let (_faulty, base) = python_receiver(&[fault]);
        let report = check::run(&run(base)).await.unwrap();
        assert!(
            report
                .checks
                .iter()
                .any(|c| c.id == check_id && c.level == Level::Fail),
            "Python receiver with {fault}: {check_id} did not fail: {:?}",
            failures(&report)
        );
    }
}

/// Every result at FAIL, ERROR or NON-STRICT: what a correct receiver
/// never gets, whether the run is strict or not.
fn failures(report: &Report) -> Vec<String> {
    report
        .checks
        .iter()
        .filter(|c| c.level.gates(true))
        .map(|c| {
            format!(
                "{} [{}]: {}",
                c.id,
                c.event_type,
                c.reason.clone().unwrap_or_default()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_passes_on_the_correct_receiver_for_every_provider() {
    println!(
        "\n{:18} {:>6} {:>6} {:>7}",
        "provider", "passed", "failed", "skipped"
    );
    for provider in ProviderId::ALL {
        let report = run_against(provider, &[], None, |plan| plan).await;
        let (pass, fail, skip) = report.check_counts();
        println!("{:18} {pass:>6} {fail:>6} {skip:>7}", provider.name());
        assert!(
            failures(&report).is_empty(),
            "{provider}: the correct receiver failed:\n{}",
            failures(&report).join("\n")
        );
        // Every check ran (skips are only the documented inapplicable ones).
        for c in &report.checks {
            if c.level == Level::Skipped {
                let reason = c.reason.as_deref().unwrap_or_default();
                assert!(
                    reason.contains("no timestamp")
                        || reason.contains("not JWTs")
                        || reason.contains("no blocking hooks")
                        || reason.contains("no ordering key"),
                    "{provider}: unexpected skip of {} [{}]: {reason}",
                    c.id,
                    c.event_type
                );
            }
        }
    }
}

/// The level the table gives each fault's finding: a 500 to malformed JSON
/// is a SHOULD (NON-STRICT), every other fault breaks a MUST.
fn level_of(fault: Fault) -> Level {
    match fault {
        Fault::ServerErrorOnBadJson => Level::NonStrict,
        _ => Level::Fail,
    }
}

/// The provider on which a fault is observable: timestamp faults need a
/// scheme with timestamps.
fn provider_for(fault: Fault) -> ProviderId {
    match fault {
        Fault::AcceptStale => ProviderId::StandardWebhooks,
        _ => ProviderId::Authgear,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_is_caught_by_its_check() {
    let mut matrix = Vec::new();
    for fault in Fault::ALL {
        let provider = provider_for(fault);
        let target_check = fault.caught_by();
        let configure = |plan: CheckPlan| {
            // The ordering sequence and a blocking hook, not all 44 types.
            let types = [
                "user.created",
                "user.profile.updated",
                "user.disabled",
                "user.deleted",
                "user.pre_create",
            ]
            .map(String::from);
            let mut plan = plan
                .select(&[target_check.to_string()], &[])
                .unwrap()
                .only_types(&types)
                .unwrap();
            plan.deadline = Some(Duration::from_millis(800));
            // NON-STRICT findings gate only under --strict: run strict so
            // every fault fails the run.
            plan.strict = true;
            plan
        };
        let faulty = run_against(
            provider,
            &[fault],
            Some(Duration::from_millis(1500)),
            configure,
        )
        .await;
        let level = level_of(fault);
        let caught = faulty
            .checks
            .iter()
            .any(|c| c.id == target_check && c.level == level)
            && !faulty.passed();
        if level == Level::NonStrict {
            // Without --strict the same finding is listed but does not gate.
            let mut lenient = faulty.clone();
            lenient.strict = false;
            assert!(
                lenient.passed(),
                "{}: only NON-STRICT findings expected: {:?}",
                fault.name(),
                failures(&faulty)
            );
        }
        // The same narrowed run passes on the correct receiver: the failure
        // is the fault's doing, not the configuration's.
        let correct = run_against(provider, &[], None, configure).await;
        let clean = failures(&correct).is_empty();
        matrix.push((fault.name(), provider.name(), target_check, caught, level));
        assert!(
            clean,
            "{target_check} fails on the correct receiver: {:?}",
            failures(&correct)
        );
    }
    println!(
        "\n{:24} {:18} {:28} result",
        "fault", "provider", "caught by"
    );
    for (fault, provider, check, caught, level) in &matrix {
        println!(
            "{fault:24} {provider:18} {check:28} {}",
            if *caught {
                format!("{level} (caught)")
            } else {
                format!("not {level} (MISSED)")
            }
        );
    }
    let missed: Vec<_> = matrix.iter().filter(|r| !r.3).map(|r| r.0).collect();
    assert!(
        missed.is_empty(),
        "faults not caught by their check: {missed:?}"
    );
}
