//! The `hookstorm` binary as a user runs it: exit codes, messages, the
//! `events` commands, and `check` against targets that are not listening,
//! hang, or reset connections.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::util::process::{drain, hookstorm, listening_url, stderr, stdout, KillOnDrop};
use crate::util::repository;

/// The secret every run here has in HOOK_SECRET.
const SECRET: &str = "cli-test-secret";

#[test]
fn help_reads_like_a_tool() {
    let o = hookstorm(["--help"]).secret(SECRET).output();
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    for word in ["check", "events", "demo", "Exit codes"] {
        assert!(text.contains(word), "help lacks {word}:\n{text}");
    }
}

#[test]
fn events_list_has_every_builtin_type() {
    let o = hookstorm(["events", "list", "--format", "json"])
        .secret(SECRET)
        .output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    // The 48 documented types and the 39 Standard Webhooks payloads of the
    // providers defined in code, then the senders shipped as files.
    let in_code = rows
        .iter()
        .filter(|r| generators::ProviderId::parse(r["provider"].as_str().unwrap()).is_ok())
        .count();
    assert_eq!(in_code, 87);
    let in_files: usize = harness::provider::SENDER_FILES
        .iter()
        .map(|(name, _)| harness::provider::named(name).unwrap().types().len())
        .sum();
    assert!(in_files > 0);
    assert_eq!(rows.len(), in_code + in_files);
    let sw = rows
        .iter()
        .filter(|r| r["provider"] == "standard-webhooks")
        .count();
    assert_eq!(sw, 39);
    let expected = std::fs::read_to_string(repository::event_types_txt()).unwrap();
    for line in expected.lines().filter(|l| !l.trim().is_empty()) {
        let (provider, name) = line.split_once(' ').unwrap();
        assert!(
            rows.iter()
                .any(|r| r["provider"] == provider && r["type"] == name),
            "{line} missing from `events list`"
        );
    }
    let table = stdout(
        &hookstorm(["events", "list", "--provider", "authgear"])
            .secret(SECRET)
            .output(),
    );
    assert!(table.contains("user.pre_create") && table.contains("yes"));
    assert!(table.contains("44 event types"), "{table}");
}

#[test]
fn events_schema_prints_json_schema() {
    let o = hookstorm([
        "events",
        "schema",
        "--provider",
        "fusionauth",
        "user.login.success",
    ])
    .secret(SECRET)
    .output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let schema: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(schema["$schema"].as_str().unwrap().contains("2020-12"));
}

#[test]
fn unknown_names_get_did_you_mean_and_exit_2() {
    for (args, hint) in [
        (
            &["events", "list", "--provider", "authgaer"][..],
            "authgear",
        ),
        (
            &["events", "schema", "--provider", "authgear", "user.craeted"][..],
            "user.created",
        ),
        (
            &[
                "events",
                "gen",
                "--provider",
                "authgear",
                "--type",
                "user.created",
                "--variant",
                "unknown-field-dep",
            ][..],
            "unknown-field-deep",
        ),
        (
            &[
                "check",
                "--provider",
                "fusionauht",
                "--target",
                "http://127.0.0.1:9/",
            ][..],
            "fusionauth",
        ),
        (
            &[
                "check",
                "--provider",
                "authgear",
                "--target",
                "http://127.0.0.1:9/",
                "--checks",
                "ordring",
            ][..],
            "ordering",
        ),
    ] {
        let o = hookstorm(args).secret(SECRET).output();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("did you mean `{hint}`")),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    // A wrong flag is a clap usage error: exit 2 too.
    assert_eq!(
        hookstorm(["check", "--no-such-flag"])
            .secret(SECRET)
            .output()
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn events_gen_is_byte_identical_for_the_same_seed_and_clock() {
    let args = [
        "events",
        "gen",
        "--provider",
        "authgear",
        "--all",
        "--count",
        "60",
        "--seed",
        "42",
        "--now",
        "1763900000000",
    ];
    let a = hookstorm(args).secret(SECRET).output();
    let b = hookstorm(args).secret(SECRET).output();
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(stdout(&a).lines().count(), 60);
    let mut other = args;
    other[8] = "43";
    assert_ne!(hookstorm(other).secret(SECRET).output().stdout, a.stdout);
    // Signed records are reproducible too, and carry the signature header.
    let signed = [
        "events",
        "gen",
        "--provider",
        "infrahub",
        "--all",
        "--count",
        "4",
        "--seed",
        "9",
        "--now",
        "1763900000000",
        "--signed",
    ];
    let s1 = hookstorm(signed).secret(SECRET).output();
    assert_eq!(s1.status.code(), Some(0), "{}", stderr(&s1));
    assert_eq!(s1.stdout, hookstorm(signed).secret(SECRET).output().stdout);
    for line in stdout(&s1).lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(record["headers"]["webhook-signature"]
            .as_str()
            .unwrap()
            .starts_with("v1,"));
        assert!(record["body"].is_string());
    }
}

#[test]
fn check_list_names_every_check_and_its_rule() {
    let o = hookstorm(["check", "--list"]).secret(SECRET).output();
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    for id in [
        "handshake",
        "accepts_valid",
        "rejects_jwt_alg_none",
        "duplicate_idempotent",
        "no_loss",
    ] {
        assert!(text.contains(id), "{id} missing");
    }
    assert!(text.matches("rule:").count() >= 14);
}

#[test]
fn check_against_a_closed_port_exits_2_with_a_clear_message() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let o = hookstorm([
        "check",
        "-p",
        "authgear",
        "-t",
        &format!("http://127.0.0.1:{port}/hooks"),
    ])
    .secret(SECRET)
    .output();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("unreachable") && err.contains("is the receiver running"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn check_without_the_secret_variable_exits_2() {
    let o = hookstorm([
        "check",
        "-p",
        "authgear",
        "-t",
        "http://127.0.0.1:9/",
        "--secret-env",
        "HOOKSTORM_NOT_SET",
    ])
    .output();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("HOOKSTORM_NOT_SET is not set"));
}

/// A loopback server that does `behaviour` with each connection it
/// accepts, until it is dropped.
struct Server {
    url: String,
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    accepting: Option<JoinHandle<()>>,
}

/// Starts a [`Server`] doing `behaviour` with each connection.
fn serve(behaviour: fn(TcpStream)) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stopping = Arc::new(AtomicBool::new(false));
    let stop = stopping.clone();
    let accepting = std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            if let Ok(stream) = stream {
                std::thread::spawn(move || behaviour(stream));
            }
        }
    });
    Server {
        url: format!("http://{addr}/hooks"),
        addr,
        stopping,
        accepting: Some(accepting),
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // The accept blocks: one last connection wakes it to see the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accepting) = self.accepting.take() {
            let _ = accepting.join();
        }
    }
}

#[test]
fn check_against_a_hanging_target_ends_within_its_deadlines() {
    let server = serve(|mut s| {
        // Reads what comes and never answers, until the client hangs up.
        let _ = std::io::copy(&mut s, &mut std::io::sink());
    });
    let url = server.url.clone();
    let started = Instant::now();
    let o = hookstorm([
        "check",
        "-p",
        "authgear",
        "-t",
        &url,
        "--deadline",
        "300ms",
        "--type",
        "user.created",
        "--checks",
        "accepts_valid,within_deadline,rejects_invalid",
    ])
    .secret(SECRET)
    .output();
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("accepts_valid") && out.contains("FAIL"),
        "{out}"
    );
    assert!(out.contains("timeout"), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn check_against_a_resetting_target_reports_server_failures() {
    let server = serve(|mut s| {
        // Read a few bytes and close: closing with unread data in the
        // receive buffer makes the kernel send RST, so the client sees a reset.
        let mut buf = [0u8; 16];
        let _ = s.read(&mut buf);
        drop(s);
    });
    let url = server.url.clone();
    let o = hookstorm([
        "check",
        "-p",
        "authgear",
        "-t",
        &url,
        "--deadline",
        "1s",
        "--type",
        "user.created",
        "--checks",
        "accepts_valid,no_server_error",
    ])
    .secret(SECRET)
    .output();
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("no_server_error"), "{out}");
    assert!(out.contains("reset") || out.contains("connection"), "{out}");
    let _ = std::io::stdout().flush();
}

/// Starts `hookstorm receiver --sink` on a free port; the child and the
/// URL it prints. The child is killed on drop.
fn sink_process() -> (KillOnDrop, String) {
    receiver_process(&["--provider", "authgear", "--sink"])
}

/// Starts `hookstorm receiver ARGS --port 0` (secret `cli-test-secret` in
/// HOOK_SECRET); the child, killed on drop, and the URL it prints.
fn receiver_process(args: &[&str]) -> (KillOnDrop, String) {
    let mut child = hookstorm(["receiver"])
        .args(args)
        .args(["--port", "0"])
        .secret(SECRET)
        .stderr_null()
        .spawn();
    let url = listening_url(&mut child.0);
    (child, url.expect("the URL on stdout"))
}

/// Starts `hookstorm load` against `url` at 200/s for `duration` with
/// `extra` options, in CI mode, writing its report to `out`; stdout and
/// stderr piped, killed on drop.
fn load_process(url: &str, extra: &[&str], duration: &str, out: &std::path::Path) -> KillOnDrop {
    hookstorm(against("load", url))
        .args(extra)
        .args([
            "--rate",
            "200",
            "--duration",
            duration,
            "--out",
            out.to_str().unwrap(),
        ])
        .secret(SECRET)
        .spawn()
}

/// `hookstorm capacity` end to end: it doubles from the start rate to the
/// maximum when every step meets the SLO (exit 0, best rate = max), and
/// stops after the first step when nothing can (exit 1, no best rate);
/// both write the steps to report.json.
#[test]
fn capacity_climbs_to_the_max_rate_or_reports_none() {
    let (_sink, url) = sink_process();
    let dir = tempfile::tempdir().unwrap();
    let run = |slo: &str, out: &str| {
        let out = dir.path().join(out);
        let o = hookstorm(
            [
                &against("capacity", &url)[..],
                &[
                    "--slo",
                    slo,
                    "--start-rate",
                    "50",
                    "--max-rate",
                    "200",
                    "--step-duration",
                    "400ms",
                    "--max-time",
                    "20s",
                    "--connections",
                    "4",
                    "--out",
                    out.to_str().unwrap(),
                ],
            ]
            .concat(),
        )
        .secret(SECRET)
        .output();
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        (o, report["capacity"].clone())
    };

    let (o, capacity) = run("error_rate<1%", "ok");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rates: Vec<f64> = capacity["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rate"].as_f64().unwrap())
        .collect();
    assert_eq!(rates, vec![50.0, 100.0, 200.0], "{capacity}");
    assert_eq!(capacity["best_rate"], 200.0);
    assert!(stdout(&o).contains("200"), "{}", stdout(&o));

    // No loopback answer takes under a microsecond at the 99th percentile.
    let (o, capacity) = run("p99<1us", "none");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(capacity["steps"].as_array().unwrap().len(), 1, "{capacity}");
    assert!(capacity["best_rate"].is_null(), "{capacity}");
}

/// Ctrl-C (SIGINT) ends a long `load` at once, and the partial result is
/// still printed and written, marked interrupted; also with `--busy-poll` on one thread, where
/// the runtime never sleeps.
#[test]
fn sigint_stops_load_and_keeps_the_partial_report() {
    for extra in [&[][..], &["--busy-poll", "--threads", "1"][..]] {
        sigint_leg(extra);
    }
}

fn sigint_leg(extra: &[&str]) {
    let (_sink, url) = sink_process();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("partial");
    let mut child = load_process(&url, extra, "60s", &out);
    let started = child.first_stderr_line();
    assert!(started.starts_with("hookstorm load:"), "{started}");
    // About time itself: the test counts what 1.5 s of load sent.
    std::thread::sleep(Duration::from_millis(1500));
    child.signal(libc::SIGINT);
    let status = child.exit_within(
        Duration::from_secs(15),
        &format!("load {extra:?} did not stop on SIGINT"),
    );
    // Partial: never a pass, whatever it measured (128 + SIGINT's 2).
    assert_eq!(status.code(), Some(130));
    let err = drain(child.0.stderr.take());
    assert!(err.contains("SIGINT: stopping"), "{err}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["run"]["interrupted"], "SIGINT");
    let requests = report["load"]["stats"]["requests"].as_u64().unwrap();
    // About 1.5 s of 200/s: well above zero, far below the 12,000 planned.
    assert!((100..2_000).contains(&requests), "{extra:?}: {requests}");
}

/// A load machine that stalls shows it: the load process is stopped
/// (SIGSTOP) for 400 ms mid-run, and the report's generator hiccups carry
/// that stall as the requests' latency does, and the summary says the
/// machine stalled (while the receiver, another process, never did).
#[test]
fn a_stalled_load_machine_shows_in_the_hiccups() {
    let (_sink, url) = sink_process();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stalled");
    let mut child = load_process(&url, &[], "3s", &out);
    let started = child.first_stderr_line();
    assert!(started.starts_with("hookstorm load:"), "{started}");
    // About time itself: a stall of a known length, mid-run.
    std::thread::sleep(Duration::from_millis(1000));
    child.signal(libc::SIGSTOP);
    std::thread::sleep(Duration::from_millis(400));
    child.signal(libc::SIGCONT);
    let status = child.exit_within(Duration::from_secs(30), "load did not end");
    let text = drain(child.0.stdout.take());
    assert_eq!(status.code(), Some(0), "{text}");
    let report =
        reports::Report::from_json(&std::fs::read_to_string(out.join("report.json")).unwrap())
            .unwrap();
    let stats = &report.load.unwrap().stats;
    assert!(
        stats.hiccups().max() >= 350_000,
        "hiccup max {} µs after a 400 ms stop",
        stats.hiccups().max()
    );
    assert!(
        stats.latency().max() >= 350_000,
        "{}",
        stats.latency().max()
    );
    assert!(text.contains("load machine itself stalled"), "{text}");
}

/// The pipeline vegeta and oha users ask for: `events gen --signed` writes
/// JSONL, `load --events` sends it. Verbatim, the recorded events arrive
/// byte for byte (the reference receiver verifies each signature and
/// records each once); without `--verbatim` every send is patched into a
/// new event and re-signed (members in the pool's order or, with
/// `--keep-order`, the recorded one), so the ledger grows by every
/// request; with the wrong secret the re-signed events are all refused.
#[test]
fn events_gen_output_loads_verbatim_and_re_signed() {
    let (_receiver, url) = receiver_process(&["--provider", "authgear"]);
    let ledger_url = url.replace("/hooks", "/ledger");
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let o = hookstorm([
        "events",
        "gen",
        "--provider",
        "authgear",
        "--type",
        "user.created",
        "--type",
        "user.profile.updated",
        "--count",
        "10",
        "--seed",
        "3",
        "--signed",
        "--secret-env",
        "HOOK_SECRET",
    ])
    .secret(SECRET)
    .output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::write(&events, &o.stdout).unwrap();
    let records = stdout(&o).lines().count();
    assert!(records >= 10, "{records} records");

    let load = |extra: &[&str], secret: &str, out: &str| {
        let out = dir.path().join(out);
        let o = hookstorm(against("load", &url))
            .args([
                "--events",
                events.to_str().unwrap(),
                "--concurrency",
                "1",
                "--out",
                out.to_str().unwrap(),
            ])
            .args(extra)
            .secret(secret)
            .output();
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        (o, report["load"]["stats"].clone())
    };
    let ledger_len = || {
        let o = Command::new("python3")
            .args([
                "-c",
                "import json,sys,urllib.request; print(len(json.load(urllib.request.urlopen(sys.argv[1]))))",
                &ledger_url,
            ])
            .output()
            .expect("python3 runs");
        stdout(&o).trim().parse::<usize>().expect("a ledger length")
    };

    let n = records.to_string();
    let (o, stats) = load(
        &[
            "--verbatim",
            "--requests",
            &n,
            "--threshold",
            "error_rate<0.01%",
        ],
        "cli-test-secret",
        "verbatim",
    );
    assert_eq!(o.status.code(), Some(0), "{}{stats}", stderr(&o));
    assert_eq!(stats["requests"], records as u64);
    assert_eq!(ledger_len(), records);

    let (o, stats) = load(
        &["--requests", "30", "--threshold", "error_rate<0.01%"],
        "cli-test-secret",
        "re-signed",
    );
    assert_eq!(o.status.code(), Some(0), "{}{stats}", stderr(&o));
    assert_eq!(ledger_len(), records + 30);

    // Re-signed with the recorded member order (no resumable prefix: the
    // id comes first), every event still verifies.
    let (o, stats) = load(
        &[
            "--keep-order",
            "--requests",
            "20",
            "--threshold",
            "error_rate<0.01%",
        ],
        "cli-test-secret",
        "re-signed-kept-order",
    );
    assert_eq!(o.status.code(), Some(0), "{}{stats}", stderr(&o));
    assert_eq!(ledger_len(), records + 50);

    let (o, stats) = load(
        &["--requests", "5", "--threshold", "error_rate<0.01%"],
        "not-the-receivers-secret",
        "wrong-secret",
    );
    assert_eq!(o.status.code(), Some(1), "{}{stats}", stderr(&o));
    assert_eq!(stats["status"]["401"], 5, "{stats}");
    assert_eq!(ledger_len(), records + 50);
}

/// A k6-style ramp (`--stage`) with an event mix file (`--mix`): the
/// schedule sends the ramp's integral (0→200/s over 1 s, then back to 0:
/// 200 requests) and the types follow the weights (3:1).
#[test]
fn stages_and_mix_shape_the_load() {
    let (_sink, url) = sink_process();
    let dir = tempfile::tempdir().unwrap();
    let mix = dir.path().join("mix.txt");
    std::fs::write(&mix, "# weights\nuser.created: 3\nuser.deleted: 1\n").unwrap();
    let out = dir.path().join("ramp");
    let o = hookstorm(
        [
            &against("load", &url)[..],
            &[
                "--mix",
                mix.to_str().unwrap(),
                "--rate",
                "0",
                "--stage",
                "1s:200",
                "--stage",
                "1s:0",
                "--out",
                out.to_str().unwrap(),
            ],
        ]
        .concat(),
    )
    .secret(SECRET)
    .output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let stats = &report["load"]["stats"];
    let requests = stats["requests"].as_u64().unwrap();
    assert!((198..=201).contains(&requests), "{requests}");
    let count = |name: &str| {
        stats["types"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .map_or(0, |t| t["requests"].as_u64().unwrap())
    };
    let (created, deleted) = (count("user.created"), count("user.deleted"));
    assert_eq!(created + deleted, requests);
    assert!((140..=160).contains(&created), "{created} / {deleted}");
}

/// `COMMAND --provider authgear --target URL --secret-env HOOK_SECRET`.
fn against<'a>(command: &'a str, url: &'a str) -> [&'a str; 7] {
    [
        command,
        "--provider",
        "authgear",
        "--target",
        url,
        "--secret-env",
        "HOOK_SECRET",
    ]
}

/// `demo --provider NAME` runs that provider's checks only, one line; an
/// unknown name is a usage error with a suggestion.
#[test]
fn demo_runs_the_chosen_providers_only() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("report");
    let out_arg = out_dir.display().to_string();
    let o = hookstorm([
        "demo",
        "--provider",
        "stripe",
        "--load-duration",
        "200ms",
        "--load-rate",
        "50",
        "--out",
        &out_arg,
    ])
    .secret(SECRET)
    .output();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" passed ") && l.contains(" failed "))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].trim_start().starts_with("stripe "), "{text}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["run"]["provider"], "stripe");

    let o = hookstorm(["demo", "--provider", "strpe", "--out", &out_arg])
        .secret(SECRET)
        .output();
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("did you mean `stripe`"),
        "{}",
        stderr(&o)
    );
}
