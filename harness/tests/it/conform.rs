//! The conformance matrix: every fault is caught by the check that exists
//! to catch it (and the report names it); the matrix is printed. That every
//! check passes against the correct reference receiver for every provider
//! is the registry table's, in `registry`.

use harness::check::CheckId;
use std::collections::BTreeSet;
use std::time::Duration;

use generators::{Provider, ProviderId, Secret};
use harness::check::{self, CheckPlan};
use harness::demo::demo_secret;
use harness::ledger::{LedgerSource, OrderingPolicy};
use harness::receiver::{self, Fault, ReceiverConfig};
use harness::target::Target;
use reports::{Level, Report};

use crate::util::process::{self, KillOnDrop};
use crate::util::reference;

/// Starts a reference receiver (with `faults`), runs `configure`d checks
/// against it with its ledger, and returns the report.
async fn run_against(
    provider: ProviderId,
    faults: &[Fault],
    slow_delay: Option<Duration>,
    configure: impl FnOnce(CheckPlan) -> CheckPlan,
) -> Report {
    run_against_with(
        provider,
        faults,
        slow_delay,
        OrderingPolicy::LastWriteWins,
        configure,
    )
    .await
}

/// [`run_against`] with the receiver applying `ordering`, for any
/// built-in provider (a sender file's too).
async fn run_against_with(
    provider: impl Into<Provider>,
    faults: &[Fault],
    slow_delay: Option<Duration>,
    ordering: OrderingPolicy,
    configure: impl FnOnce(CheckPlan) -> CheckPlan,
) -> Report {
    let provider: Provider = provider.into();
    let secret: Secret = demo_secret(provider.scheme());
    let mut config = ReceiverConfig::for_provider(provider.clone(), secret.clone());
    config.ordering = ordering;
    config.faults = faults.to_vec();
    if let Some(d) = slow_delay {
        config.slow_delay = d;
    }
    let running = receiver::start(config).await.expect("receiver starts");
    let plan = configure(reference::plan(&provider, &running, 7));
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
            plan.select(&[CheckId::AcceptsValid], &[])
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
        reference::failures(&report)
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
    process::python_receiver(
        faults,
        demo_secret(&ProviderId::Authgear.profile().scheme).expose(),
    )
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
    let authgear = Provider::builtin(ProviderId::Authgear);
    let run = |base: String| {
        let hooks = format!("{base}/hooks");
        reference::plan_at(&authgear, &hooks, &format!("{base}/ledger"), 11)
            .select(&checks.map(|c| c.parse().unwrap()), &[])
            .unwrap()
            .only_types(&["user.created".into(), "user.pre_create".into()])
            .unwrap()
    };

    let (_correct, base) = python_receiver(&[]);
    let report = check::run(&run(base)).await.unwrap();
    assert!(
        reference::failures(&report).is_empty(),
        "the correct Python receiver failed: {:?}",
        reference::failures(&report)
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
            reference::failures(&report)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_names_in_any_case_must_be_accepted() {
    // HTTP names are case-insensitive (RFC 9110 §5.1): accepts_valid sends
    // the valid delivery with Title-Case and UPPER-CASE names too.
    let secret = demo_secret(&ProviderId::Authgear.profile().scheme);
    let run = |base: String| {
        let target = Target::parse(&format!("{base}/hooks")).unwrap();
        let mut plan = CheckPlan::new(
            Provider::builtin(ProviderId::Authgear),
            target,
            secret.clone(),
        )
        .select(&[CheckId::AcceptsValid], &[])
        .unwrap()
        .only_types(&["user.created".into()])
        .unwrap();
        plan.seed = 13;
        plan
    };
    let cased = [
        "valid, header names Title-Case",
        "valid, header names UPPER-CASE",
    ];

    let (_correct, base) = python_receiver(&[]);
    let report = check::run(&run(base)).await.unwrap();
    assert!(
        reference::failures(&report).is_empty(),
        "{:?}",
        reference::failures(&report)
    );
    let cases: u32 = report.checks.iter().map(|c| c.cases).sum();
    assert!(cases >= 2, "the header-case probes were not sent: {cases}");

    // Matching the raw names: only the lowercase deliveries get through.
    let (_faulty, base) = python_receiver(&["case-sensitive-headers"]);
    let report = check::run(&run(base)).await.unwrap();
    assert!(!report.passed());
    let failed: BTreeSet<&str> = report
        .findings
        .iter()
        .filter(|f| f.level == Level::Fail)
        .map(|f| f.variant.as_str())
        .collect();
    assert_eq!(failed, BTreeSet::from(cased), "{:?}", report.findings);
    for f in &report.findings {
        assert_eq!(f.check, "accepts_valid", "{f:?}");
        assert_eq!(f.status_class, "4xx", "{f:?}");
        // The repro sends the names as the probe did.
        let name = if f.variant.ends_with("Title-Case") {
            "X-Authgear-Body-Signature:"
        } else {
            "X-AUTHGEAR-BODY-SIGNATURE:"
        };
        assert!(f.curl.contains(name), "{}", f.curl);
    }
}

/// The breakers whose findings are at `level`, by label.
fn breakers_at(report: &Report, level: Level) -> BTreeSet<String> {
    report
        .findings
        .iter()
        .filter(|f| f.check == "survives_parser_breakers" && f.level == level)
        .filter_map(|f| {
            let labelled = f.variant.strip_prefix("breaker: ")?;
            // `n_` or `i_`, then the label.
            labelled.get(2..).map(String::from)
        })
        .collect()
}

/// The level of `survives_parser_breakers` in `report`.
fn breakers_level(report: &Report) -> Option<Level> {
    report
        .checks
        .iter()
        .find(|c| c.id == "survives_parser_breakers")
        .map(|c| c.level)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_receiver_crashing_on_invalid_utf8_is_caught_by_the_parser_breakers() {
    let secret = demo_secret(&ProviderId::Authgear.profile().scheme);
    let run = |base: String| {
        let target = Target::parse(&format!("{base}/hooks")).unwrap();
        let mut plan = CheckPlan::new(
            Provider::builtin(ProviderId::Authgear),
            target,
            secret.clone(),
        )
        .select(
            &[CheckId::SurvivesParserBreakers, CheckId::NoServerError],
            &[],
        )
        .unwrap()
        .only_types(&["user.created".into()])
        .unwrap();
        plan.seed = 5;
        plan
    };
    // The bodies that are not UTF-8, whatever the breakers' labels.
    let event = serde_json::json!({"id": "e", "seq": 1, "type": "user.created"});
    let not_utf8: BTreeSet<String> = generators::breakers()
        .iter()
        .filter(|b| std::str::from_utf8(&b.apply(&event).body).is_err())
        .map(|b| b.label.to_string())
        .collect();
    assert!(not_utf8.len() >= 4, "{not_utf8:?}");

    let (_correct, base) = python_receiver(&[]);
    let report = check::run(&run(base)).await.unwrap();
    assert!(
        reference::failures(&report).is_empty(),
        "the correct Python receiver failed: {:?}",
        reference::failures(&report)
    );
    // Python's json reads NaN and -Infinity: a lenient parser, recorded
    // as INFO, gating nothing even under --strict.
    assert_eq!(breakers_level(&report), Some(Level::Info));
    assert!(breakers_at(&report, Level::Info).contains("nan"));
    assert!(report.passed());

    let (_faulty, base) = python_receiver(&["crash-on-invalid-utf8"]);
    let mut report = check::run(&run(base)).await.unwrap();
    assert_eq!(breakers_level(&report), Some(Level::NonStrict));
    // Exactly the invalid UTF-8 bodies, each a dropped connection, at
    // NON-STRICT: listed, gating only under --strict.
    assert_eq!(breakers_at(&report, Level::NonStrict), not_utf8);
    for f in report
        .findings
        .iter()
        .filter(|f| f.level == Level::NonStrict)
    {
        assert_eq!(f.status_class, "dropped", "{f:?}");
    }
    // Its own check blames it, not no_server_error a second time.
    assert!(report
        .checks
        .iter()
        .all(|c| c.id != "no_server_error" || !c.level.gates(true)));
    assert!(report.passed(), "NON-STRICT does not gate by default");
    report.strict = true;
    assert!(!report.passed(), "it gates under --strict");
    println!(
        "crash-on-invalid-utf8: NON-STRICT for {:?}",
        breakers_at(&report, Level::NonStrict)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parser_breakers_pass_the_reference_receiver_and_catch_a_5xx_on_bad_json() {
    let configure = |plan: CheckPlan| {
        plan.select(&[CheckId::SurvivesParserBreakers], &[])
            .unwrap()
            .only_types(&["user.created".into()])
            .unwrap()
    };
    let correct = run_against(ProviderId::Authgear, &[], None, configure).await;
    assert!(
        reference::failures(&correct).is_empty(),
        "{:?}",
        reference::failures(&correct)
    );
    assert_eq!(breakers_level(&correct), Some(Level::Pass));
    let cases: u32 = correct.checks.iter().map(|c| c.cases).sum();
    assert_eq!(cases as usize, generators::breakers().len());

    let faulty = run_against(
        ProviderId::Authgear,
        &[Fault::ServerErrorOnBadJson],
        None,
        configure,
    )
    .await;
    assert_eq!(breakers_level(&faulty), Some(Level::NonStrict));
    // Every body serde_json refuses gets the 500: all must-reject ones.
    let failing = breakers_at(&faulty, Level::NonStrict);
    for b in generators::breakers() {
        if b.class == generators::Class::MustReject {
            assert!(failing.contains(b.label), "{} not caught", b.label);
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

/// What the receiver applies and the checks expect for `fault`: under the
/// `arrival` policy (and a receiver processing on arrival, `--ordering
/// none`) for `reorder-after-ack`, last-write-wins for the rest.
fn policies_for(fault: Fault) -> (OrderingPolicy, OrderingPolicy) {
    match fault {
        Fault::ReorderAfterAck => (OrderingPolicy::None, OrderingPolicy::Arrival),
        _ => (OrderingPolicy::LastWriteWins, OrderingPolicy::LastWriteWins),
    }
}

/// The provider on which a fault is observable: timestamp faults need a
/// scheme with timestamps, challenge faults a sender with a challenge.
fn provider_for(fault: Fault) -> Provider {
    match fault {
        Fault::AcceptStale => ProviderId::StandardWebhooks.into(),
        Fault::IgnoreChallenge => harness::provider::named("zoom").expect("built in"),
        _ => ProviderId::Authgear.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_is_caught_by_its_check() {
    let mut matrix = Vec::new();
    for fault in Fault::ALL {
        let provider = provider_for(fault);
        let target_check = fault.caught_by();
        let (receiver_ordering, declared) = policies_for(fault);
        let configure = |plan: CheckPlan| {
            // The ordering sequence and a blocking hook, not all 44 types
            // (Standard Webhooks has no blocking hooks).
            let types: Vec<String> = [
                "user.created",
                "user.profile.updated",
                "user.disabled",
                "user.deleted",
                "user.pre_create",
            ]
            .into_iter()
            .filter(|t| plan.provider.event_type(t).is_ok())
            .map(String::from)
            .collect();
            let mut plan = plan
                .select(&[target_check.parse().unwrap()], &[])
                .unwrap()
                .only_types(&types)
                .unwrap();
            plan.deadline = Some(Duration::from_millis(800));
            plan.ordering = declared;
            // NON-STRICT findings gate only under --strict: run strict so
            // every fault fails the run.
            plan.strict = true;
            plan
        };
        let faulty = run_against_with(
            provider.clone(),
            &[fault],
            Some(Duration::from_millis(1500)),
            receiver_ordering,
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
                reference::failures(&faulty)
            );
        }
        // The same narrowed run passes on the correct receiver: the failure
        // is the fault's doing, not the configuration's.
        let correct =
            run_against_with(provider.clone(), &[], None, receiver_ordering, configure).await;
        let clean = reference::failures(&correct).is_empty();
        matrix.push((
            fault.name(),
            provider.name().to_string(),
            target_check,
            caught,
            level,
        ));
        assert!(
            clean,
            "{target_check} fails on the correct receiver: {:?}",
            reference::failures(&correct)
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

/// A ledger that was configured but cannot be read fails the effect checks
/// (and so the gate), with a message saying so: a skip would pass the run
/// having judged nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_configured_ledger_fails_the_effect_checks() {
    // Port 1 on loopback: nothing listens, the fetch is refused.
    let report = run_against(ProviderId::Authgear, &[], None, |mut plan| {
        plan = plan
            .select(
                &[
                    CheckId::NoLoss,
                    CheckId::DuplicateIdempotent,
                    CheckId::Ordering,
                ],
                &[],
            )
            .unwrap();
        plan.ledger = Some(LedgerSource::Url(
            Target::parse("http://127.0.0.1:1/ledger").unwrap(),
        ));
        plan.burst = 5;
        plan.settle = Duration::from_millis(10);
        plan
    })
    .await;
    assert!(!report.passed(), "{:?}", reference::failures(&report));
    for id in ["no_loss", "duplicate_idempotent", "ordering"] {
        let results: Vec<_> = report.checks.iter().filter(|c| c.id == id).collect();
        assert!(!results.is_empty(), "{id} ran");
        for result in results {
            assert_eq!(result.level, Level::Error, "{id}: {result:?}");
            let reason = result.reason.as_deref().unwrap_or_default();
            assert!(
                reason.starts_with("the configured ledger could not be read"),
                "{id}: {reason}"
            );
        }
    }
}

/// `no_server_error` against a receiver that reads every request and never
/// answers: no probe got an answer, so it fails rather than passing on
/// nothing (`within_deadline` names the timeouts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_server_error_does_not_pass_when_no_probe_got_an_answer() {
    let addr = crate::util::faulty_servers::hanging().await;
    let provider = ProviderId::Authgear;
    let target = Target::parse(&format!("http://{addr}/hooks")).unwrap();
    let mut plan = CheckPlan::new(
        Provider::builtin(provider),
        target,
        demo_secret(&provider.profile().scheme),
    )
    .select(&[CheckId::AcceptsValid, CheckId::NoServerError], &[])
    .unwrap()
    .only_types(&["user.created".into()])
    .unwrap();
    plan.deadline = Some(Duration::from_millis(200));
    plan.quiet = true;
    let report = tokio::time::timeout(Duration::from_secs(60), check::run(&plan))
        .await
        .expect("bounded")
        .expect("check runs");
    let result = report
        .checks
        .iter()
        .find(|c| c.id == "no_server_error")
        .expect("a no_server_error result");
    assert_eq!(result.level, Level::Error, "{result:?}");
    assert!(
        result
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("got an answer")),
        "{result:?}"
    );
    assert!(!report.passed());
}
