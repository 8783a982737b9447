//! Every command that sends ends the same way on SIGINT and SIGTERM: it
//! stops (a running check at once), writes its partial report marked
//! interrupted (report.json, junit.xml, summary.md, index.html, the
//! terminal), never says PASS, and exits 130 or 143. And a report
//! directory that cannot take the report is refused before anything is
//! sent.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::process::{hookstorm, listening_url, lossy, transcript, KillOnDrop};

/// SIGINT and SIGTERM, their names and exit codes.
const SIGNALS: [(libc::c_int, &str, i32); 2] = [
    (libc::SIGINT, "SIGINT", 130),
    (libc::SIGTERM, "SIGTERM", 143),
];

/// A loopback target that accepts connections, counts them and the ones
/// that sent something, reads what it is sent and never answers (for at
/// most a minute).
struct Silent {
    url: String,
    connections: Arc<AtomicUsize>,
    requested: Arc<AtomicUsize>,
}

fn silent_target() -> Silent {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let requested = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    let sent = requested.clone();
    std::thread::spawn(move || {
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let sent = sent.clone();
                    std::thread::spawn(move || {
                        let mut first = true;
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
                        let mut buf = [0u8; 16 * 1024];
                        let until = Instant::now() + Duration::from_secs(60);
                        while Instant::now() < until {
                            match stream.read(&mut buf) {
                                Ok(0) => break,
                                Ok(_) => {
                                    if std::mem::take(&mut first) {
                                        sent.fetch_add(1, Ordering::SeqCst);
                                    }
                                }
                                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                                Err(_) => break,
                            }
                        }
                    });
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    Silent {
        url,
        connections,
        requested,
    }
}

/// `hookstorm receiver --sink` on a free port: the child and its URL.
fn sink() -> (KillOnDrop, String) {
    let mut child = hookstorm([
        "receiver",
        "--provider",
        "authgear",
        "--sink",
        "--port",
        "0",
    ])
    .stderr_null()
    .spawn();
    let url = listening_url(&mut child.0);
    (child, url.expect("the URL on stdout"))
}

/// `COMMAND --provider authgear --target URL --secret-env HOOK_SECRET`.
fn against(command: &str, url: &str) -> Vec<String> {
    [
        command,
        "--provider",
        "authgear",
        "--target",
        url,
        "--secret-env",
        "HOOK_SECRET",
    ]
    .map(String::from)
    .to_vec()
}

/// Where a command says it has started sending.
enum Ready<'a> {
    /// Its first line on stderr (`hookstorm load: …`).
    Stderr,
    /// Its first line on stdout (`hookstorm demo — …`).
    Stdout,
    /// Its first line on stderr, and then a request at this target (a
    /// scenario builds a load step's events after its start line, and
    /// connects before it sends).
    Requested(&'a Silent),
}

/// How an interrupted command ended.
struct Ended {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// From the signal to the exit.
    stopping: Duration,
}

/// Reads a pipe up to and including its first line.
fn first_line(pipe: &mut impl Read) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8];
    while pipe.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    lossy(&line)
}

/// Reads the rest of a pipe on its own thread, so a chatty child never
/// blocks on a full pipe.
fn collect(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        lossy(&bytes)
    })
}

/// Runs `hookstorm ARGS`, waits until it says it started, `after` more,
/// sends `signal`, and waits (at most 30 s) for it to exit.
fn interrupt(args: &[String], ready: Ready, after: Duration, signal: libc::c_int) -> Ended {
    let mut child = hookstorm(args).secret("signal-test-secret").spawn();
    let mut stdout = child.0.stdout.take().unwrap();
    let mut stderr = child.0.stderr.take().unwrap();
    let started = match ready {
        Ready::Stderr | Ready::Requested(_) => first_line(&mut stderr),
        Ready::Stdout => first_line(&mut stdout),
    };
    if let Ready::Requested(target) = ready {
        let until = Instant::now() + Duration::from_secs(30);
        while target.requested.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < until, "{args:?} never sent a request");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    assert!(started.starts_with("hookstorm "), "{args:?}: {started}");
    let (out, err) = (collect(stdout), collect(stderr));
    std::thread::sleep(after);
    let signalled = Instant::now();
    child.signal(signal);
    let status = child.exit_within(
        Duration::from_secs(30),
        &format!("{args:?} did not stop on {signal}"),
    );
    let stopping = signalled.elapsed();
    Ended {
        code: status.code(),
        stdout: format!("{started}\n{}", out.join().unwrap()),
        stderr: err.join().unwrap(),
        stopping,
    }
}

/// The report directory holds the partial report, marked interrupted by
/// `name` in every file, and the terminal said so too, never PASS.
fn assert_interrupted(out: &Path, name: &str, ended: &Ended) -> Value {
    let context = format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        ended.code, ended.stdout, ended.stderr
    );
    let read = |file: &str| {
        std::fs::read_to_string(out.join(file))
            .unwrap_or_else(|e| panic!("{file} in {}: {e}\n{context}", out.display()))
    };
    let report: Value = serde_json::from_str(&read("report.json")).unwrap();
    assert_eq!(report["run"]["interrupted"], name, "{context}");
    let banner = format!("interrupted by {name}");
    assert!(read("junit.xml").contains(&banner), "junit.xml\n{context}");
    let summary = read("summary.md");
    assert!(
        summary.contains(&banner) && summary.contains(": INTERRUPTED"),
        "{summary}"
    );
    assert!(read("index.html").contains(">INTERRUPTED</span>"));
    assert!(ended.stdout.contains(&banner), "{context}");
    // The verdict line of `check`/`demo` or of the summary.
    assert!(
        ended.stdout.contains("INTERRUPTED — ") || ended.stdout.contains("verdict     INTERRUPTED"),
        "{context}"
    );
    assert!(
        !ended
            .stdout
            .lines()
            .any(|l| l.starts_with("PASSED") || l.starts_with("verdict     PASS")),
        "{context}"
    );
    report
}

/// A check running when the signal comes stops at once: against a target
/// that never answers, each probe would wait out Authgear's 5 s deadline.
#[test]
fn check_stops_at_once_and_writes_the_checks_that_ran() {
    let target = silent_target();
    for (signal, name, code) in SIGNALS {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("report");
        let mut args = against("check", &target.url);
        args.extend(["--out".into(), out.display().to_string()]);
        let ended = interrupt(&args, Ready::Stderr, Duration::from_millis(500), signal);
        assert_eq!(ended.code, Some(code), "{}", ended.stderr);
        assert!(
            ended.stopping < Duration::from_secs(5),
            "check took {:?} to stop",
            ended.stopping
        );
        let report = assert_interrupted(&out, name, &ended);
        assert!(report["checks"].is_array());
    }
    assert!(target.connections.load(Ordering::SeqCst) > 0);
}

/// `load` stops sending on either signal; requests still in flight after
/// the grace are counted as cancelled, not lost: against a target that
/// never answers, the report shows each sender's request, cancelled (not
/// "0 requests, 0 % errors").
#[test]
fn load_writes_the_partial_run_and_counts_requests_in_flight_as_cancelled() {
    let (_sink, url) = sink();
    let silent = silent_target();
    for ((signal, name, code), target) in SIGNALS.into_iter().zip([&url, &silent.url]) {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("report");
        let mut args = against("load", target);
        args.extend(
            [
                "--rate",
                "100",
                "--duration",
                "60s",
                "--connections",
                "4",
                "--out",
            ]
            .map(String::from),
        );
        args.push(out.display().to_string());
        let ready = if *target == url {
            Ready::Stderr
        } else {
            Ready::Requested(&silent)
        };
        let ended = interrupt(&args, ready, Duration::from_millis(1000), signal);
        assert_eq!(ended.code, Some(code), "{}", ended.stderr);
        let report = assert_interrupted(&out, name, &ended);
        let stats = &report["load"]["stats"];
        let requests = stats["requests"].as_u64().unwrap();
        let cancelled = stats["error_kinds"]["cancelled"].as_u64().unwrap_or(0);
        if *target == url {
            // About a second of 100/s, far below the 6,000 planned.
            assert!((1..3_000).contains(&requests), "{requests}");
            assert!(cancelled <= 4, "{stats}");
        } else {
            assert!((1..=4).contains(&requests), "{stats}");
            assert_eq!(cancelled, requests, "{stats}");
            assert!(ended.stdout.contains("cancelled"), "{}", ended.stdout);
        }
    }
}

/// `run`: a check step stops at once (SIGINT during a check against a
/// silent target), a load step after its grace (SIGTERM: the requests in
/// flight are cancelled); either way the steps after it are skipped and
/// the report of what ran is written.
#[test]
fn run_stops_its_step_and_writes_the_report_of_what_ran() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = |name: &str, target: &str, check: bool| {
        let path = dir.path().join(format!("{name}.yaml"));
        let check_step = if check {
            "  - name: conformance\n    check: {}\n"
        } else {
            ""
        };
        std::fs::write(
            &path,
            format!(
                "name: {name}\ntarget: {target}\nprovider: authgear\nsecret: ${{HOOK_SECRET}}\n\
                 steps:\n{check_step}  - name: long load\n    load:\n      rate: 100\n      \
                 duration: 60s\n      connections: 4\n  - name: never reached\n    wait: 1s\n"
            ),
        )
        .unwrap();
        path
    };
    let (checking, loading) = (silent_target(), silent_target());
    let legs = [
        (
            SIGNALS[0],
            scenario("checking", &checking.url, true),
            Ready::Stderr,
        ),
        (
            SIGNALS[1],
            scenario("loading", &loading.url, false),
            Ready::Requested(&loading),
        ),
    ];
    for ((signal, name, code), file, ready) in legs {
        let out = dir.path().join(format!("report-{name}"));
        let args = [
            "run".to_string(),
            file.display().to_string(),
            "--out".into(),
            out.display().to_string(),
        ];
        let ended = interrupt(&args, ready, Duration::from_millis(500), signal);
        assert_eq!(ended.code, Some(code), "{}", ended.stderr);
        assert!(
            ended.stopping < Duration::from_secs(5),
            "run took {:?} to stop",
            ended.stopping
        );
        let report = assert_interrupted(&out, name, &ended);
        assert!(!ended.stderr.contains("never reached"), "{}", ended.stderr);
        if name == "SIGINT" {
            // Stopped inside the check step: the load step never ran.
            assert!(report["load"].is_null(), "{}", report["load"]);
            assert!(!ended.stderr.contains("long load"), "{}", ended.stderr);
        } else {
            let stats = &report["load"]["stats"];
            let requests = stats["requests"].as_u64().unwrap();
            assert!((1..=4).contains(&requests), "{stats}");
            assert_eq!(stats["error_kinds"]["cancelled"], requests, "{stats}");
        }
    }
}

/// `capacity`: the step a signal cuts short is not judged (a partial step
/// says nothing about its rate), and the report is written.
#[test]
fn capacity_stops_mid_step_and_judges_only_whole_steps() {
    let (_sink, url) = sink();
    for (signal, name, code) in SIGNALS {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("report");
        let mut args = against("capacity", &url);
        args.extend(
            [
                "--slo",
                "error_rate<1%",
                "--start-rate",
                "50",
                "--max-rate",
                "100",
                "--step-duration",
                "30s",
                "--max-time",
                "2m",
                "--connections",
                "4",
                "--out",
            ]
            .map(String::from),
        );
        args.push(out.display().to_string());
        let ended = interrupt(&args, Ready::Stderr, Duration::from_millis(800), signal);
        assert_eq!(ended.code, Some(code), "{}", ended.stderr);
        let report = assert_interrupted(&out, name, &ended);
        let steps = report["capacity"]["steps"].as_array().unwrap();
        assert!(steps.is_empty(), "{steps:?}");
        assert!(report["capacity"]["best_rate"].is_null());
    }
}

/// `demo` stops the phase running and writes its report directory.
#[test]
fn demo_writes_the_partial_report() {
    for (signal, name, code) in SIGNALS {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("demo");
        let args = ["demo", "--out", out.to_str().unwrap(), "--seed", "7"].map(String::from);
        let ended = interrupt(&args, Ready::Stdout, Duration::from_millis(300), signal);
        assert_eq!(ended.code, Some(code), "{}", ended.stderr);
        assert!(
            ended.stopping < Duration::from_secs(5),
            "demo took {:?} to stop",
            ended.stopping
        );
        assert_interrupted(&out, name, &ended);
    }
}

/// A second signal ends the process at once, during the grace the first
/// one gave the requests in flight (1 s against a target that never
/// answers), without writing: the previous report stays whole.
#[test]
fn a_second_signal_exits_at_once_without_writing() {
    let silent = silent_target();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("report.json"), "{\"earlier\": true}").unwrap();
    let mut child = hookstorm(against("load", &silent.url))
        .args(["--rate", "100", "--duration", "60s", "--connections", "4"])
        .args(["--out", out.to_str().unwrap()])
        .secret("signal-test-secret")
        .stdout_null()
        .spawn();
    let mut stderr = child.0.stderr.take().unwrap();
    let started = first_line(&mut stderr);
    assert!(started.starts_with("hookstorm load:"), "{started}");
    let err = collect(stderr);
    // Both sleeps are about time itself: the run must be sending when the
    // first signal comes, and the second must land inside its grace.
    std::thread::sleep(Duration::from_millis(800));
    child.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(150));
    child.signal(libc::SIGINT);
    let status = child.exit_within(Duration::from_secs(30), "load did not exit");
    let err = err.join().unwrap();
    // The first signal's code: the run was asked to stop by SIGTERM.
    assert_eq!(status.code(), Some(143), "{err}");
    assert!(err.contains("exiting without writing"), "{err}");
    assert_eq!(
        std::fs::read_to_string(out.join("report.json")).unwrap(),
        "{\"earlier\": true}"
    );
}

/// An `--out` that cannot hold a report (a file, or a path under a file)
/// is refused with exit 2 before the target hears anything; the file is
/// left as it was.
#[test]
fn an_unusable_out_is_refused_before_anything_is_sent() {
    let target = silent_target();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, "keep me").unwrap();
    let scenario = dir.path().join("scenario.yaml");
    std::fs::write(
        &scenario,
        format!(
            "name: out-check\ntarget: {}\nprovider: authgear\nsecret: ${{HOOK_SECRET}}\n\
             steps:\n  - name: load\n    load:\n      rate: 10\n      requests: 5\n",
            target.url
        ),
    )
    .unwrap();
    let with_traffic = |command: &str| {
        let mut args = against(command, &target.url);
        let extra: &[&str] = match command {
            "load" => &["--rate", "10", "--requests", "5"],
            "capacity" => &[
                "--slo",
                "p99<1s",
                "--max-time",
                "10s",
                "--step-duration",
                "1s",
            ],
            _ => &[],
        };
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let commands = [
        with_traffic("check"),
        with_traffic("load"),
        with_traffic("capacity"),
        vec!["run".into(), scenario.display().to_string()],
        vec!["demo".into()],
    ];
    for out in [file.clone(), file.join("under")] {
        for command in &commands {
            let o = hookstorm(command)
                .args(["--out", out.to_str().unwrap()])
                .secret("signal-test-secret")
                .output();
            let what = format!("{command:?} --out {}\n{}", out.display(), transcript(&o));
            assert_eq!(o.status.code(), Some(2), "{what}");
            let err = lossy(&o.stderr);
            assert!(
                err.contains("--out") && err.contains("nothing was sent"),
                "{what}"
            );
        }
    }
    assert_eq!(
        target.connections.load(Ordering::SeqCst),
        0,
        "the target heard from a command whose --out was unusable"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}
