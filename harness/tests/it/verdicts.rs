//! Verdicts a team can gate on: harmless deviations pass the default gate
//! and fail only under `--strict`, a slow or hanging receiver ends the run
//! quickly with `within_deadline` the only FAIL, `--concurrency` bounds the
//! deliveries in flight for the whole run, and a receiver that accepts
//! everything gets reports a CI can hold.

use std::path::Path;
use std::time::{Duration, Instant};

use generators::{Provider, ProviderId};
use harness::check::{self, CheckPlan};
use harness::demo::demo_secret;
use harness::target::Target;
use reports::{Level, Report};

use crate::util::faulty_servers;
use crate::util::process::{self, stdout, transcript};

/// Generous bound for runs that must end "within 60 s" on a loaded machine.
const ONE_MINUTE: Duration = Duration::from_secs(60);

/// Runs `hookstorm check ARGS --out DIR` with `secret` in HOOK_SECRET,
/// bounded by `limit`; the output and the report it wrote.
async fn check_cli(
    args: &[&str],
    secret: &str,
    out: &Path,
    limit: Duration,
) -> (std::process::Output, Report) {
    let o = process::hookstorm(["check"])
        .args(args)
        .args(["--out".as_ref(), out.as_os_str()])
        .secret(secret)
        .within(limit)
        .run()
        .await;
    let text = std::fs::read_to_string(out.join("report.json"))
        .unwrap_or_else(|e| panic!("no report.json ({e}): {}", transcript(&o)));
    (o, Report::from_json(&text).unwrap())
}

/// A check plan of the built-in `provider` (keyed with its scheme's demo
/// secret) against the server at `addr`, running only `checks`.
fn plan_against(provider: ProviderId, addr: std::net::SocketAddr, checks: &[&str]) -> CheckPlan {
    CheckPlan::new(
        Provider::builtin(provider),
        Target::parse(&format!("http://{addr}/hooks")).unwrap(),
        demo_secret(&provider.profile().scheme),
    )
    .select(
        &checks
            .iter()
            .map(|c| c.parse().unwrap())
            .collect::<Vec<_>>(),
        &[],
    )
    .unwrap()
}

/// `(check, level)` of every result that is neither PASS nor SKIPPED.
fn not_passed(report: &Report) -> Vec<(String, Level)> {
    let mut out: Vec<(String, Level)> = report
        .checks
        .iter()
        .filter(|c| c.level.is_finding())
        .map(|c| (c.id.clone(), c.level))
        .collect();
    out.dedup();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harmless_deviations_pass_the_default_gate_and_fail_strict_only_for_non_strict() {
    // The Python receiver accepts uppercase hex, answers 400 to bad
    // signatures and does not validate schemas (only the envelope).
    let secret = demo_secret(&ProviderId::Authgear.profile().scheme);
    let (_receiver, base) =
        process::python_receiver(&["uppercase-hex", "400-bad-signature"], secret.expose());
    let target = format!("{base}/hooks");
    let ledger = format!("{base}/ledger");
    let args = |strict: bool| {
        let mut a = vec![
            "-p", "authgear", "-t", &target, "--ledger-url", &ledger, "--seed", "5",
            "--type", "user.created", "--type", "user.disabled",
            "--checks", "accepts_valid,rejects_invalid,rejects_missing_signature,rejects_bad_signature,no_server_error,duplicate_idempotent",
        ];
        if strict {
            a.push("--strict");
        }
        a
    };
    let dir = tempfile::tempdir().unwrap();
    let (o, report) = check_cli(
        &args(false),
        secret.expose(),
        &dir.path().join("default"),
        ONE_MINUTE,
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "the default gate passes: {}",
        transcript(&o)
    );
    let levels = |check: &str, variant: &str| -> Vec<Level> {
        report
            .findings
            .iter()
            .filter(|f| f.check == check && f.variant == variant)
            .map(|f| f.level)
            .collect()
    };
    assert_eq!(
        levels("rejects_bad_signature", "uppercase-hex"),
        [Level::Info],
        "{:#?}",
        report.findings
    );
    assert_eq!(
        levels("rejects_missing_signature", "missing"),
        [Level::Info],
        "400, not 401"
    );
    assert_eq!(
        levels("rejects_bad_signature", "tampered-body"),
        [Level::Info],
        "400, not 401"
    );
    let schema_invalid_processed = report
        .findings
        .iter()
        .filter(|f| f.check == "rejects_invalid" && f.level == Level::NonStrict)
        .count();
    assert!(
        schema_invalid_processed > 0,
        "schema-invalid events processed are NON-STRICT: {:#?}",
        report.findings
    );
    for (id, level) in not_passed(&report) {
        assert!(
            matches!(level, Level::Info | Level::NonStrict),
            "{id} is {level}"
        );
    }
    let out = stdout(&o);
    assert!(out.contains("NON-STRICT") && out.contains("INFO"), "{out}");

    let (o, strict) = check_cli(
        &args(true),
        secret.expose(),
        &dir.path().join("strict"),
        ONE_MINUTE,
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(1),
        "--strict fails: {}",
        transcript(&o)
    );
    let gating: Vec<_> = strict
        .checks
        .iter()
        .filter(|c| c.level.gates(true))
        .collect();
    assert!(!gating.is_empty());
    for c in gating {
        assert_eq!(
            c.level,
            Level::NonStrict,
            "{} [{}]: {:?}",
            c.id,
            c.event_type,
            c.reason
        );
    }
    let junit = std::fs::read_to_string(dir.path().join("strict/junit.xml")).unwrap();
    assert!(
        junit.contains("<failure") && junit.contains("NON-STRICT"),
        "NON-STRICT is a <failure> under --strict"
    );
    let junit = std::fs::read_to_string(dir.path().join("default/junit.xml")).unwrap();
    assert!(!junit.contains("<failure"), "and <skipped> without it");
    assert!(junit.contains("name=\"level\" value=\"INFO\""), "{junit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_kid_verified_with_the_one_secret_is_info_while_alg_none_is_still_rejected() {
    let secret = demo_secret(&ProviderId::Fusionauth.profile().scheme);
    let provider = Provider::builtin(ProviderId::Fusionauth);
    let addr = faulty_servers::ignoring_kid(provider.profile().clone(), secret.clone()).await;
    let mut plan = plan_against(
        ProviderId::Fusionauth,
        addr,
        &[
            "rejects_jwt_alg_none",
            "rejects_bad_signature",
            "rejects_missing_signature",
        ],
    );
    plan.seed = 4;
    let report = check::run(&plan).await.unwrap();
    let kid: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.variant == "wrong-kid")
        .collect();
    assert_eq!(kid.len(), 1, "{:#?}", report.findings);
    assert_eq!(kid[0].level, Level::Info);
    assert!(kid[0].message.contains("RFC 7515"), "{}", kid[0].message);
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.variant == "alg-none" || f.variant == "alg-confusion"),
        "the receiver still rejects forged algorithms: {:#?}",
        report.findings
    );
    assert!(
        report.passed(),
        "an unknown kid is not a forgery: {:?}",
        not_passed(&report)
    );
    let mut strict = report.clone();
    strict.strict = true;
    assert!(strict.passed(), "INFO never gates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_answering_after_6_s_fails_within_deadline_and_nothing_else() {
    // Auth0's deadline is 5 s: every answer comes a second late.
    let addr = faulty_servers::slow(Duration::from_secs(6)).await;
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (o, report) = check_cli(
        &["-p", "auth0", "-t", &format!("http://{addr}/hooks")],
        "bearer-secret",
        dir.path(),
        ONE_MINUTE,
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", transcript(&o));
    assert!(started.elapsed() < ONE_MINUTE);
    let stopped = report.stopped.clone().unwrap_or_default();
    assert!(stopped.contains("unresponsive"), "{stopped}");
    assert!(stdout(&o).contains("unresponsive"), "{}", transcript(&o));
    let failing: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.level == Level::Fail)
        .map(|c| c.id.as_str())
        .collect();
    assert!(!failing.is_empty());
    assert!(
        failing.iter().all(|id| *id == "within_deadline"),
        "only within_deadline is blamed: {failing:?}"
    );
    // The other checks are unjudged, not failed.
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.id == "accepts_valid" && c.level == Level::Error),
        "{:?}",
        not_passed(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_reference_receiver_ends_the_run_within_a_minute() {
    let mut receiver = process::hookstorm([
        "receiver",
        "--provider",
        "auth0",
        "--port",
        "0",
        "--fault",
        "hang",
    ])
    .secret("bearer-secret")
    .stderr_null()
    .spawn();
    let url = process::listening_url(&mut receiver.0);
    let url = url.expect("the URL on stdout");
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (o, report) = check_cli(
        &["-p", "auth0", "-t", &url],
        "bearer-secret",
        dir.path(),
        ONE_MINUTE,
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", transcript(&o));
    assert!(started.elapsed() < ONE_MINUTE);
    assert!(report.stopped.is_some(), "{:?}", not_passed(&report));
    assert!(report
        .checks
        .iter()
        .any(|c| c.id == "within_deadline" && c.level == Level::Fail));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_means_deliveries_in_flight_for_the_whole_run() {
    // One request at a time, 10 ms each: with 3 in flight none waits more
    // than ~30 ms, far inside a 2 s deadline, whatever the other checks do.
    let (addr, most) = faulty_servers::serial(Duration::from_millis(10)).await;
    let mut plan = plan_against(
        ProviderId::Auth0,
        addr,
        &[
            "accepts_valid",
            "rejects_missing_signature",
            "within_deadline",
            "duplicate_idempotent",
        ],
    );
    plan.concurrency = 3;
    plan.deadline = Some(Duration::from_secs(2));
    plan.seed = 3;
    let report = check::run(&plan).await.unwrap();
    let in_flight = most.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        in_flight <= 3,
        "{in_flight} deliveries in flight with --concurrency 3"
    );
    assert!(
        in_flight >= 2,
        "the run does use its concurrency: {in_flight}"
    );
    let late: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.id == "within_deadline" && c.level != Level::Pass)
        .map(|c| (&c.event_type, c.level, &c.reason))
        .collect();
    assert!(
        late.is_empty(),
        "judged on the time each probe waited: {late:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_time_and_max_failures_end_the_run_early() {
    // A receiver that never answers, with a long deadline and no
    // unresponsive cut-off: only --max-time ends the run, and what it cut
    // short is unjudged (ERROR), not late (FAIL).
    let addr = faulty_servers::hanging().await;
    let mut hang = plan_against(
        ProviderId::Auth0,
        addr,
        &["accepts_valid", "within_deadline"],
    );
    hang.deadline = Some(Duration::from_secs(30));
    hang.unresponsive_after = 0;
    hang.max_time = Duration::from_secs(2);
    let started = Instant::now();
    let report = check::run(&hang).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "{:?}",
        started.elapsed()
    );
    assert!(
        report
            .stopped
            .as_deref()
            .unwrap_or_default()
            .contains("--max-time"),
        "{:?}",
        report.stopped
    );
    assert!(
        report.checks.iter().all(|c| c.level != Level::Fail),
        "{:?}",
        not_passed(&report)
    );
    assert!(report.checks.iter().any(|c| c.level == Level::Error));
    assert!(!report.passed());

    // Everything accepted: forged deliveries FAIL (Authgear: five forged
    // cases for each of 44 types), and the third ends the run.
    let sink = faulty_servers::sink(None).await;
    let mut lenient = plan_against(ProviderId::Authgear, sink.addr, &["rejects_bad_signature"]);
    lenient.concurrency = 1;
    lenient.max_failures = Some(3);
    let report = check::run(&lenient).await.unwrap();
    assert!(
        report
            .stopped
            .as_deref()
            .unwrap_or_default()
            .contains("--max-failures 3"),
        "{:?}",
        report.stopped
    );
    let probes: u32 = report
        .findings
        .iter()
        .filter(|f| f.level == Level::Fail)
        .map(|f| f.probes)
        .sum();
    assert!((3..10).contains(&probes), "{probes} FAIL probes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_accepting_everything_gets_reports_a_ci_can_hold() {
    let sink = faulty_servers::sink(None).await;
    let dir = tempfile::tempdir().unwrap();
    let (o, report) = check_cli(
        &[
            "-p",
            "authgear",
            "-t",
            &format!("http://{}/hooks", sink.addr),
            "--seed",
            "9",
        ],
        "cli-test-secret",
        dir.path(),
        Duration::from_secs(300),
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", transcript(&o));
    let out = stdout(&o);
    assert!(
        out.lines().count() <= 60,
        "{} terminal lines:\n{out}",
        out.lines().count()
    );
    assert!(out.contains("more finding(s)"), "{out}");
    let summary = std::fs::metadata(dir.path().join("summary.md"))
        .unwrap()
        .len();
    assert!(summary < 1024 * 1024, "summary.md is {summary} bytes");
    let total: u64 = walk(dir.path())
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(
        total < 10 * 1024 * 1024,
        "report directory is {total} bytes"
    );
    // The 1 MiB oversized body is one finding, written once under repro/.
    let oversized: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.variant == "oversized-body")
        .collect();
    assert_eq!(oversized.len(), 1, "{oversized:#?}");
    let file = oversized[0]
        .request
        .body_file
        .clone()
        .expect("a repro file");
    assert!(
        oversized[0]
            .curl
            .contains(&format!("--data-binary @{file}")),
        "{}",
        oversized[0].curl
    );
    assert!(std::fs::metadata(dir.path().join(&file)).unwrap().len() > 1024 * 1024);
    assert!(
        oversized[0].event_types.len() > 40,
        "one finding lists its types"
    );
    for f in &report.findings {
        assert!(
            f.request
                .body
                .as_ref()
                .is_none_or(|b| b.len() <= reports::INLINE_BODY_MAX),
            "{}",
            f.id
        );
        assert!(
            f.curl.len() < reports::INLINE_BODY_MAX * 2 + 4096,
            "{}: {} bytes",
            f.id,
            f.curl.len()
        );
    }
    for name in ["junit.xml", "index.html", "summary.md", "report.json"] {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(
            !text.contains(&"x".repeat(8 * 1024)),
            "{name} inlines a large body"
        );
    }
    // Forged deliveries accepted are FAIL; the noise is not.
    let level_of = |check: &str, variant: &str| {
        report
            .findings
            .iter()
            .find(|f| f.check == check && f.variant == variant)
            .map(|f| f.level)
    };
    assert_eq!(
        level_of("rejects_bad_signature", "tampered-body"),
        Some(Level::Fail)
    );
    assert_eq!(
        level_of("rejects_missing_signature", "missing"),
        Some(Level::Fail)
    );
    assert_eq!(level_of("rejects_invalid", "wrong-type"), Some(Level::Info));
    assert_eq!(
        level_of("rejects_invalid", "oversized-body"),
        Some(Level::Info)
    );
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
