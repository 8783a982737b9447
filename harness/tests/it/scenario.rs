//! Scenario files end to end: every broken fixture is reported at the right
//! line and column with its hint and nothing is sent; every example
//! scenario passes against the in-process reference receiver (run through
//! the real binary with `--scale`); secrets never reach output or reports;
//! `report diff` catches an injected slowdown and passes on two equal runs;
//! N sharded processes merge to the exact totals; the published schema
//! matches `hookstorm scenario schema` and accepts every example; a custom
//! provider file yields events that validate and verify; the HTML report
//! renders in headless Chromium without console errors.
//!
//! Receivers bind 127.0.0.1:0; every run is bounded by its scenario
//! (scaled down) and by a timeout.

use std::collections::HashSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use generators::{Generator, Provider, ProviderId, Secret, Signer, Verifier};
use harness::ledger::OrderingPolicy;
use harness::receiver::{self, Fault, ReceiverConfig, RunningReceiver};
use harness::scenario::{self, Options};
use reports::Report;

use crate::util::process::{hookstorm, lossy, Hookstorm};
use crate::util::repository::root as repo;

const SECRET: &str = "scenario-test-secret-5c1f";
/// Every example scenario runs at this fraction of its durations.
const SCALE: &str = "0.05";
/// What every run writes into its report directory.
const REPORT_FILES: [&str; 5] = [
    "report.json",
    "junit.xml",
    "summary.md",
    "latency.hgrm",
    "index.html",
];
/// A bound on any one run of the binary.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenarios")
}

/// `hookstorm ARGS` run from the repository's root (the scenarios name
/// their files from there), with `HOOKSTORM_FIXTURE_UNSET` unset whatever
/// the caller's environment holds.
fn in_repo(args: &[&str]) -> Hookstorm {
    hookstorm(args)
        .current_dir(repo())
        .env_remove("HOOKSTORM_FIXTURE_UNSET")
}

/// Standard Webhooks secrets are `whsec_` + base64 of the key.
const WHSEC: &str = "whsec_c2NlbmFyaW8tdGVzdC1zZWNyZXQtNWMxZg==";

/// The secret a provider's receiver and sender share in these tests: one
/// in the form its scheme's key wants (`whsec_<base64>`, a hex seed, ...).
fn secret_for(provider: &Provider) -> String {
    match ProviderId::parse(provider.name()) {
        Ok(ProviderId::StandardWebhooks) => WHSEC.to_string(),
        Ok(_) => SECRET.to_string(),
        Err(_) => harness::demo::demo_secret(provider.scheme())
            .expose()
            .to_string(),
    }
}

async fn start_receiver(
    provider: impl Into<Provider>,
    ordering: OrderingPolicy,
    fault: Option<(Fault, Duration)>,
) -> RunningReceiver {
    let provider = provider.into();
    let secret = Secret::new(secret_for(&provider));
    let mut config = ReceiverConfig::for_provider(provider, secret);
    config.ordering = ordering;
    if let Some((fault, slow)) = fault {
        config = config.with_fault(fault);
        config.slow_delay = slow;
    }
    receiver::start(config).await.expect("receiver starts")
}

// ---------------------------------------------------------------- broken files

/// `# expect: LINE:COL: MESSAGE | hint: HINT` on a fixture's first line.
struct Expect {
    line: usize,
    column: usize,
    message: String,
    hint: String,
}

fn expectation(path: &Path) -> Expect {
    let text = std::fs::read_to_string(path).unwrap();
    let first = text.lines().next().unwrap();
    let rest = first
        .strip_prefix("# expect: ")
        .unwrap_or_else(|| panic!("{}: no expect line", path.display()));
    let (pos, rest) = rest.split_once(": ").unwrap();
    let (line, column) = pos.split_once(':').unwrap();
    let (message, hint) = rest.split_once(" | hint: ").unwrap();
    Expect {
        line: line.parse().unwrap(),
        column: column.parse().unwrap(),
        message: message.to_string(),
        hint: hint.to_string(),
    }
}

fn broken_fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_broken_fixture_names_its_line_column_and_hint() {
    let files = broken_fixtures();
    assert!(files.len() >= 15, "only {} broken fixtures", files.len());
    let env = |name: &str| (name == "HOOK_SECRET").then(|| SECRET.to_string());
    for path in files {
        let expect = expectation(&path);
        let result = if path.file_name().unwrap() == "broken-provider.yaml" {
            harness::provider_file::read(&path).map(|_| ())
        } else {
            let options = Options {
                sets: Vec::new(),
                env: &env,
            };
            scenario::parse_file(&path, &options).map(|_| ())
        };
        let diag = result.expect_err(&format!("{} should not validate", path.display()));
        let found = diag.problems.iter().any(|p| {
            p.line_column() == Some((expect.line, expect.column))
                && p.message.contains(&expect.message)
                && p.hint.as_deref().is_some_and(|h| h.contains(&expect.hint))
        });
        assert!(
            found,
            "{}: expected {}:{} `{}` (hint `{}`), got:\n{}",
            path.display(),
            expect.line,
            expect.column,
            expect.message,
            expect.hint,
            diag.render_plain()
        );
        // The terminal rendering carries the same position and hint.
        let fancy = diag.render_fancy(false);
        let at = format!("{}:{}:{}", path.display(), expect.line, expect.column);
        assert!(fancy.contains(&at), "{fancy}");
        assert!(fancy.contains(&expect.hint), "{fancy}");
    }
}

/// A loopback listener that counts the connections made to it.
fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stream.is_ok() {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    (url, count)
}

#[tokio::test]
async fn broken_scenarios_exit_2_before_sending_anything() {
    let (url, connections) = counting_listener();
    let set_target = format!("target={url}");
    for path in broken_fixtures() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "broken-provider.yaml" {
            continue;
        }
        let expect = expectation(&path);
        let rel = path.strip_prefix(repo()).unwrap().display().to_string();
        let mut args = vec!["run", rel.as_str()];
        // Overriding the target would erase a target mistake.
        if !name.contains("target") {
            args.extend(["--set", set_target.as_str()]);
        }
        let out = in_repo(&args).secret(SECRET).run().await;
        let stderr = lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        let at = format!("{rel}:{}:{}", expect.line, expect.column);
        assert!(stderr.contains(&at), "{name}: `{at}` not in\n{stderr}");
        assert!(
            stderr.contains(&expect.hint),
            "{name}: hint `{}` not in\n{stderr}",
            expect.hint
        );
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "a broken scenario sent something"
    );
    // `validate` on all of them at once: every file reported, exit 2.
    let rels: Vec<String> = broken_fixtures()
        .iter()
        .map(|p| p.strip_prefix(repo()).unwrap().display().to_string())
        .collect();
    let mut args = vec!["validate"];
    args.extend(rels.iter().map(String::as_str));
    let out = in_repo(&args).secret(SECRET).run().await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{} of {} files invalid", rels.len(), rels.len())),
        "{stderr}"
    );
}

// ------------------------------------------------------------ example scenarios

/// Runs `scenarios/NAME` against a fresh correct receiver of its provider,
/// scaled down, and returns the report it wrote.
async fn run_example(name: &str) -> Report {
    run_example_scaled(name, SCALE).await
}

/// [`run_example`] at another scale.
async fn run_example_scaled(name: &str, scale: &str) -> Report {
    let path = repo().join("scenarios").join(name);
    let env = |var: &str| (var == "HOOK_SECRET").then(|| SECRET.to_string());
    let plan = scenario::parse_file(
        &path,
        &Options {
            sets: Vec::new(),
            env: &env,
        },
    )
    .expect("example validates");
    let provider = plan.provider.clone();
    assert!(
        harness::provider::lookup(provider.name()).is_some(),
        "{name}: examples use built-in providers"
    );
    let receiver = start_receiver(provider.clone(), plan.ordering, None).await;
    let out_dir = tempfile::tempdir().unwrap();
    let target = format!("target={}", receiver.url());
    let ledger = format!("ledger.url={}", receiver.ledger_url());
    let out_path = out_dir.path().display().to_string();
    let file = format!("scenarios/{name}");
    let mut args = vec![
        "run",
        file.as_str(),
        "--scale",
        scale,
        "--out",
        out_path.as_str(),
        "--quiet",
        "--set",
        target.as_str(),
    ];
    if plan.ledger.is_some() {
        args.extend(["--set", ledger.as_str()]);
    }
    let out = in_repo(&args).secret(&secret_for(&provider)).run().await;
    receiver.shutdown().await;
    let stdout = lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{name} failed:\n{stdout}\n{}\n{}",
        lossy(&out.stderr),
        failures(&out_dir.path().join("report.json"))
    );
    for file in REPORT_FILES {
        assert!(out_dir.path().join(file).is_file(), "{name}: no {file}");
    }
    let report =
        Report::from_json(&std::fs::read_to_string(out_dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report.run.command, "run");
    assert_eq!(report.run.scenario.as_deref(), Some(file.as_str()));
    assert!(report.passed(), "{name}: report not passed");
    report
}

/// The failed checks and thresholds of a written report, for messages.
fn failures(path: &Path) -> String {
    let Ok(text) = std::fs::read_to_string(path) else {
        return "(no report written)".into();
    };
    let Ok(report) = Report::from_json(&text) else {
        return "(unreadable report)".into();
    };
    let mut out = String::new();
    for c in report
        .checks
        .iter()
        .filter(|c| c.level == reports::Level::Fail)
    {
        out.push_str(&format!(
            "FAIL {} [{}]: {}\n",
            c.id,
            c.event_type,
            c.reason.as_deref().unwrap_or("")
        ));
    }
    for t in report.thresholds.iter().filter(|t| !t.passed) {
        out.push_str(&format!("THRESHOLD {} measured {}\n", t.expr, t.actual));
    }
    out
}

fn check_ids(report: &Report) -> HashSet<&str> {
    report.checks.iter().map(|c| c.id.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_ci_gate_authgear() {
    let r = run_example("ci-gate-authgear.yaml").await;
    assert!(check_ids(&r).contains("no_loss") && check_ids(&r).contains("ordering"));
    assert!(r.load.as_ref().unwrap().stats.requests() > 0);
    assert_eq!(r.thresholds.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_ci_gate_fusionauth() {
    let r = run_example("ci-gate-fusionauth.yaml").await;
    assert!(r.checks.iter().all(|c| c.event_type == "user.login.success"
        || c.event_type == "*"
        || c.event_type.contains("→")));
    assert!(r.load.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_ci_gate_infrahub() {
    let r = run_example("ci-gate-infrahub.yaml").await;
    let types: HashSet<String> = r
        .load
        .as_ref()
        .unwrap()
        .stats
        .types()
        .map(|(n, _)| n.to_string())
        .collect();
    assert!(
        types.contains("infrahub.account.logged_in")
            && types.contains("infrahub.account.logged_out"),
        "{types:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_ci_gate_auth0() {
    let r = run_example("ci-gate-auth0.yaml").await;
    assert!(
        !check_ids(&r).contains("rejects_jwt_alg_none"),
        "excluded check ran"
    );
    assert!(r.load.as_ref().unwrap().model.starts_with("closed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_ci_gate_standard_webhooks() {
    let r = run_example("ci-gate-standard-webhooks.yaml").await;
    assert_eq!(r.run.provider, "standard-webhooks");
    assert!(r.load.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_ci_gate_stripe() {
    let r = run_example("ci-gate-stripe.yaml").await;
    assert_eq!(r.run.provider, "stripe");
    assert!(r.checks.iter().any(|c| c.id == "rejects_stale_signature"));
    assert!(r.load.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_signup_burst() {
    let r = run_example("signup-burst.yaml").await;
    let load = r.load.as_ref().unwrap();
    assert!(load.model.starts_with("ramp"), "{}", load.model);
    // The 5 s blocking-hook budget holds (the thresholds passed, and here directly).
    assert!(load.stats.latency().value_at_quantile(0.99) < 5_000_000);
    let types: HashSet<String> = load.stats.types().map(|(n, _)| n.to_string()).collect();
    assert!(types.contains("user.pre_create"), "{types:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_fusionauth_login_storm() {
    let r = run_example("fusionauth-login-storm.yaml").await;
    let load = r.load.as_ref().unwrap();
    // Two load steps, merged into one section.
    assert!(load.model.contains("; then "), "{}", load.model);
    // One after the other on the timeline (3 s of login threads, a 0.25 s
    // drain, a 2 s spike at this scale), not overlaid: at least 5 seconds,
    // and every request in some second.
    let timeline = load.stats.timeline();
    assert!(timeline.len() >= 5, "{} seconds", timeline.len());
    let in_timeline: u64 = timeline.iter().map(|s| s.requests).sum();
    assert_eq!(in_timeline, load.stats.requests());
    assert!(check_ids(&r).contains("no_loss"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_duplicate_storm() {
    let r = run_example("duplicate-storm.yaml").await;
    assert!(
        r.checks
            .iter()
            .filter(|c| c.id == "duplicate_idempotent")
            .count()
            >= 2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_infrahub_logout_out_of_order() {
    let r = run_example("infrahub-logout-out-of-order.yaml").await;
    assert!(r.checks.iter().filter(|c| c.id == "ordering").count() >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_capacity_search() {
    // Steps of 2 s (not 0.5 s): at 100/s a single late request in a
    // 50-request step would already break the 1 % missed bound on a busy machine.
    let r = run_example_scaled("capacity-search.yaml", "0.2").await;
    let cap = r.capacity.as_ref().expect("a capacity section");
    assert!(!cap.steps.is_empty());
    assert!(cap.best_rate.is_some_and(|rate| rate >= 100.0), "{cap:?}");
}

#[test]
fn every_example_scenario_is_exercised() {
    // A new example file must get a test above.
    let tested = [
        "ci-gate-authgear.yaml",
        "ci-gate-fusionauth.yaml",
        "ci-gate-infrahub.yaml",
        "ci-gate-auth0.yaml",
        "ci-gate-standard-webhooks.yaml",
        "ci-gate-stripe.yaml",
        "signup-burst.yaml",
        "fusionauth-login-storm.yaml",
        "duplicate-storm.yaml",
        "infrahub-logout-out-of-order.yaml",
        "capacity-search.yaml",
        "custom-provider.yaml",
    ];
    for entry in std::fs::read_dir(repo().join("scenarios")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".yaml") {
            assert!(
                tested.contains(&name.as_str()),
                "scenarios/{name} has no test"
            );
        }
    }
}

// --------------------------------------------------------------------- secrets

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_output_or_reports() {
    // Auth0 sends the secret itself as a bearer token, and a faulty
    // receiver makes checks fail, so reports carry requests and curl lines.
    let receiver = start_receiver(
        ProviderId::Auth0,
        OrderingPolicy::LastWriteWins,
        Some((Fault::RejectUnknownFields, Duration::ZERO)),
    )
    .await;
    let out_dir = tempfile::tempdir().unwrap();
    let target = format!("target={}", receiver.url());
    let ledger = format!("ledger.url={}", receiver.ledger_url());
    let out_path = out_dir.path().display().to_string();
    let out = in_repo(&[
        "run",
        "scenarios/ci-gate-auth0.yaml",
        "--scale",
        SCALE,
        "--out",
        &out_path,
        "--set",
        &target,
        "--set",
        &ledger,
    ])
    .secret(SECRET)
    .run()
    .await;
    receiver.shutdown().await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "the faulty receiver must fail the run"
    );
    let report = std::fs::read_to_string(out_dir.path().join("report.json")).unwrap();
    assert!(
        report.contains("\"curl\""),
        "no failure with a reproduction was recorded"
    );
    assert!(!lossy(&out.stdout).contains(SECRET), "secret on stdout");
    assert!(!lossy(&out.stderr).contains(SECRET), "secret on stderr");
    // Every file, the findings' repro/ bodies included.
    let mut paths: Vec<_> = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    while let Some(path) = paths.pop() {
        if path.is_dir() {
            paths.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !lossy(&bytes).contains(SECRET),
            "secret in {}",
            path.display()
        );
    }
}

// ------------------------------------------------------------------- report diff

const TINY_LOAD: &str = "\
target: http://127.0.0.1:8080/hooks
provider: authgear
secret: ${HOOK_SECRET}
steps:
  - load:
      rate: 100
      duration: 2s
      mix: {user.created: 1}
";

/// Runs TINY_LOAD against a receiver answering `delay` late; returns the report dir.
async fn tiny_run(dir: &Path, name: &str, delay: Duration) -> PathBuf {
    let file = dir.join("tiny.yaml");
    std::fs::write(&file, TINY_LOAD).unwrap();
    let receiver = start_receiver(
        ProviderId::Authgear,
        OrderingPolicy::None,
        Some((Fault::Slow, delay)),
    )
    .await;
    let out = dir.join(name);
    let target = format!("target={}", receiver.url());
    let result = in_repo(&[
        "run",
        &file.display().to_string(),
        "--quiet",
        "--out",
        &out.display().to_string(),
        "--set",
        &target,
    ])
    .secret(SECRET)
    .run()
    .await;
    receiver.shutdown().await;
    assert_eq!(result.status.code(), Some(0), "{}", lossy(&result.stderr));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_diff_flags_an_injected_slowdown_and_passes_equal_runs() {
    let dir = tempfile::tempdir().unwrap();
    // Latency dominated by a fixed answer delay keeps equal runs equal
    // within the tolerance even on a busy machine.
    let base = tiny_run(dir.path(), "base", Duration::from_millis(30)).await;
    let same = tiny_run(dir.path(), "same", Duration::from_millis(30)).await;
    let slow = tiny_run(dir.path(), "slow", Duration::from_millis(300)).await;
    let json = |d: &Path| d.join("report.json").display().to_string();
    let equal = in_repo(&[
        "report",
        "diff",
        &json(&base),
        &json(&same),
        "--tolerance",
        "100%",
    ])
    .secret(SECRET)
    .run()
    .await;
    assert_eq!(equal.status.code(), Some(0), "{}", lossy(&equal.stdout));
    let regressed = in_repo(&[
        "report",
        "diff",
        &json(&base),
        &json(&slow),
        "--tolerance",
        "100%",
    ])
    .secret(SECRET)
    .run()
    .await;
    let table = lossy(&regressed.stdout);
    assert_eq!(regressed.status.code(), Some(1), "{table}");
    assert!(table.contains("REGRESSION"), "{table}");
    // `report render` re-renders a directory from its JSON alone.
    let rendered = dir.path().join("rendered");
    let r = in_repo(&[
        "report",
        "render",
        &json(&base),
        "--out",
        &rendered.display().to_string(),
    ])
    .secret(SECRET)
    .run()
    .await;
    assert_eq!(r.status.code(), Some(0), "{}", lossy(&r.stderr));
    for file in REPORT_FILES {
        assert!(rendered.join(file).is_file(), "render wrote no {file}");
    }
}

// --------------------------------------------------------------------- shards

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_processes_merge_to_the_exact_totals() {
    const N: u32 = 3;
    const REQUESTS: u64 = 300;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sharded.yaml");
    std::fs::write(
        &file,
        format!(
            "target: http://127.0.0.1:8080/hooks\nprovider: authgear\nsecret: ${{HOOK_SECRET}}\nsteps:\n  - load:\n      rate: 300\n      requests: {REQUESTS}\n      duration: 20s\n      mix: {{user.created: 1}}\n"
        ),
    )
    .unwrap();
    let receiver = start_receiver(ProviderId::Authgear, OrderingPolicy::None, None).await;
    let target = format!("target={}", receiver.url());
    let runs = (1..=N).map(|k| {
        let out = dir.path().join(format!("part{k}")).display().to_string();
        let shard = format!("{k}/{N}");
        let file = file.display().to_string();
        let target = target.clone();
        async move {
            in_repo(&[
                "run", &file, "--quiet", "--shard", &shard, "--out", &out, "--set", &target,
            ])
            .secret(SECRET)
            .run()
            .await
        }
    });
    for out in futures_join(runs).await {
        assert_eq!(out.status.code(), Some(0), "{}", lossy(&out.stderr));
    }
    // The receiver may still be processing what it acknowledged: wait for
    // the ledger to reach the count (or a deadline), then judge it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while (receiver.ledger().len() as u64) < REQUESTS && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let processed = receiver.ledger().len();
    receiver.shutdown().await;
    let parts: Vec<String> = (1..=N)
        .map(|k| {
            dir.path()
                .join(format!("part{k}/report.json"))
                .display()
                .to_string()
        })
        .collect();
    let mut total = 0;
    for part in &parts {
        let r = Report::from_json(&std::fs::read_to_string(part).unwrap()).unwrap();
        assert!(r.run.shard.is_some());
        total += r.load.unwrap().stats.requests();
    }
    assert_eq!(total, REQUESTS);
    let merged_dir = dir.path().join("merged");
    let mut args = vec!["report", "merge"];
    args.extend(parts.iter().map(String::as_str));
    let merged_out = merged_dir.display().to_string();
    args.extend(["--out", merged_out.as_str()]);
    let out = in_repo(&args).secret(SECRET).run().await;
    assert_eq!(out.status.code(), Some(0), "{}", lossy(&out.stderr));
    let merged =
        Report::from_json(&std::fs::read_to_string(merged_dir.join("report.json")).unwrap())
            .unwrap();
    let stats = &merged.load.unwrap().stats;
    assert_eq!(stats.requests(), REQUESTS);
    assert_eq!(stats.latency().len(), REQUESTS);
    assert_eq!(merged.run.shard, None);
    // Shards send disjoint events: the receiver processed every one once.
    assert_eq!(processed as u64, REQUESTS);
}

/// Awaits every future concurrently (tokio has no join_all).
async fn futures_join<F: std::future::Future<Output = Output> + Send + 'static>(
    runs: impl Iterator<Item = F>,
) -> Vec<Output> {
    let handles: Vec<_> = runs.map(tokio::spawn).collect();
    let mut outs = Vec::new();
    for h in handles {
        outs.push(h.await.unwrap());
    }
    outs
}

// ---------------------------------------------------------------------- schema

fn yaml_to_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    harness::document::parse_yaml(&text).unwrap().to_json()
}

#[tokio::test]
async fn published_schema_matches_the_binary_and_accepts_every_example() {
    let out = in_repo(&["scenario", "schema"]).secret(SECRET).run().await;
    assert_eq!(out.status.code(), Some(0));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checked_in: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("scenarios/scenario.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        printed, checked_in,
        "regenerate: hookstorm scenario schema > scenarios/scenario.schema.json"
    );
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&printed)
        .unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(repo().join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".yaml") || name == "custom-provider.yaml" {
            continue;
        }
        let doc = yaml_to_json(&path);
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        seen += 1;
    }
    assert!(seen >= 10);
    // And the schema rejects what the parser rejects, e.g. a bad duration.
    let broken = yaml_to_json(&fixtures().join("bad-duration.yaml"));
    assert!(!validator.is_valid(&broken));
}

// ------------------------------------------------------------- custom provider

#[test]
fn the_custom_provider_example_generates_valid_signed_events() {
    let p = harness::provider_file::read(&repo().join("scenarios/custom-provider.yaml")).unwrap();
    assert_eq!(p.name(), "acme-billing");
    assert!(ProviderId::parse(p.name()).is_err(), "must not be built in");
    let catalog = p.catalog();
    let secret = Secret::new(SECRET.to_string());
    let signer = Signer::new(p.scheme(), &secret).unwrap();
    let verifier = Verifier::new(p.scheme(), &secret).unwrap();
    let mut generator = Generator::new(7, 1_760_000_000_000);
    for ty in catalog.types() {
        for _ in 0..20 {
            let event = generator.valid(ty);
            catalog
                .validate(ty, &event)
                .unwrap_or_else(|e| panic!("{}: {e:?}\n{event}", ty.name));
            assert_eq!(
                event["type"],
                ty.name.as_str(),
                "the envelope pins the type"
            );
            let body = serde_json::to_vec(&event).unwrap();
            let headers = signer.sign(&body, "msg_1", 1_760_000_000);
            assert_eq!(headers[0].0, "x-acme-signature");
            let lookup = |name: &str| {
                headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            };
            verifier.verify(&lookup, &body, 1_760_000_000).unwrap();
            let mut tampered = body.clone();
            tampered.push(b' ');
            assert!(verifier.verify(&lookup, &tampered, 1_760_000_000).is_err());
        }
    }
}

// ------------------------------------------------------------------ screenshot

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's chromium at /usr/bin/chromium; .ci/run installs it and runs ignored tests"]
async fn html_report_renders_in_headless_chromium() {
    // Run explicitly, the test fails without Chromium: it never passes
    // having rendered nothing.
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is not installed (apt-get install -y chromium)"
    );
    let dir = tempfile::tempdir().unwrap();
    let report = tiny_run(dir.path(), "report", Duration::from_millis(1)).await;
    let out = tokio::time::timeout(
        RUN_TIMEOUT,
        tokio::process::Command::new(repo().join("scripts/screenshot.sh"))
            .arg(&report)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("screenshot.sh ends")
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        lossy(&out.stdout),
        lossy(&out.stderr)
    );
    let png = std::fs::read(report.join("screenshot.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let dom = std::fs::read_to_string(report.join("dom.html")).unwrap();
    assert!(dom.contains("<svg"), "no chart in the DOM");
}

// ------------------------------------------------------- validate = run's checks

/// What `run` would refuse before sending, `validate` refuses too (one
/// function, `scenario::run::preflight`, for both): scenario thresholds
/// with no load step, a check step that selects no check. `run` refuses
/// them before its first request, so a check step never runs first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_refuses_what_run_would_refuse_before_sending() {
    let receiver = start_receiver(ProviderId::Authgear, OrderingPolicy::None, None).await;
    let dir = tempfile::tempdir().unwrap();
    let all = harness::check::CheckId::ALL.map(|c| c.as_str()).join(", ");
    for (name, text, expect) in [
        (
            "thresholds.yaml",
            "target: http://127.0.0.1:8080/hooks\nprovider: authgear\nsecret: ${HOOK_SECRET}\n\
             thresholds: [p99<1s]\nsteps:\n  - check: {checks: [accepts_valid], types: [user.created]}\n"
                .to_string(),
            "scenario-level thresholds need at least one load step",
        ),
        (
            "nothing.yaml",
            format!(
                "target: http://127.0.0.1:8080/hooks\nprovider: authgear\nsecret: ${{HOOK_SECRET}}\n\
                 steps:\n  - check: {{types: [user.created]}}\n  - check: {{exclude: [{all}]}}\n"
            ),
            "no check is left to run",
        ),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let path = file.display().to_string();
        let validated = in_repo(&["validate", &path]).secret(SECRET).run().await;
        let err = lossy(&validated.stderr);
        assert_eq!(validated.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(expect), "{name}: {err}");
        let target = format!("target={}", receiver.url());
        let ran = in_repo(&["run", &path, "--set", &target, "--quiet"]).secret(SECRET).run().await;
        let err = lossy(&ran.stderr);
        assert_eq!(ran.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(expect), "{name}: {err}");
        let ledger = harness::ledger::fetch_ledger(&receiver.ledger_url())
            .await
            .unwrap();
        assert!(ledger.is_empty(), "{name}: the run sent {} events", ledger.len());
    }
    receiver.shutdown().await;
}
