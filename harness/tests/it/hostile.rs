//! The hostile-receiver matrix: receivers that never answer, reset, answer
//! garbage, drip a byte at a time, send 1 GiB chunked, answer shorter than
//! their Content-Length, or answer 404 on the path, each against `check`,
//! `load` and `run` as a user runs them (the binary, with short timeouts).
//! Every cell must end in bounded time and memory (peak RSS of the child
//! below 200 MB), exit 1 (failed, not a usage error), and write a report
//! that says what happened.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::faulty_servers;
use crate::util::process::{hookstorm, transcript};

/// Peak resident memory a cell's process may reach.
const RSS_LIMIT_KIB: u64 = 200 * 1024;
/// A cell that takes longer has hung (each is designed to end in seconds).
const CELL_LIMIT: Duration = Duration::from_secs(45);
/// The response deadline and request timeout of every cell: short, so
/// receivers that never finish an answer cost little time.
const TIMEOUT: &str = "300ms";

/// How a hostile receiver misbehaves, and what a report must call it.
#[derive(Clone, Copy, Debug)]
enum Hostile {
    NeverAnswers,
    Resets,
    Garbage,
    Drips,
    GigabyteChunked,
    ShortContentLength,
    NotFound,
}

impl Hostile {
    const ALL: [Hostile; 7] = [
        Hostile::NeverAnswers,
        Hostile::Resets,
        Hostile::Garbage,
        Hostile::Drips,
        Hostile::GigabyteChunked,
        Hostile::ShortContentLength,
        Hostile::NotFound,
    ];

    async fn start(self) -> SocketAddr {
        match self {
            Hostile::NeverAnswers => faulty_servers::hanging().await,
            Hostile::Resets => faulty_servers::resetting().await,
            Hostile::Garbage => faulty_servers::garbage().await,
            Hostile::Drips => faulty_servers::dripping(Duration::from_millis(20)).await,
            Hostile::GigabyteChunked => faulty_servers::huge().await,
            Hostile::ShortContentLength => faulty_servers::short_content_length().await,
            Hostile::NotFound => faulty_servers::not_found().await,
        }
    }

    /// The error kinds (as reports spell them) or status that name what
    /// this receiver did; a report must use one of them.
    fn classified_as(self) -> Classified {
        match self {
            Hostile::NeverAnswers | Hostile::Drips => Classified::Error(&["timeout"]),
            Hostile::Resets => Classified::Error(&["reset"]),
            Hostile::Garbage => Classified::Error(&["protocol"]),
            Hostile::GigabyteChunked => Classified::Error(&["body_too_large"]),
            // The answer ends early: the connection closed mid-body.
            Hostile::ShortContentLength => Classified::Error(&["reset", "protocol"]),
            Hostile::NotFound => Classified::Status(404),
        }
    }
}

/// What a report must say happened.
#[derive(Clone, Copy, Debug)]
enum Classified {
    Error(&'static [&'static str]),
    Status(u16),
}

#[derive(Clone, Copy, Debug)]
enum Command {
    Check,
    Load,
    Run,
}

/// One cell's outcome, judged after every cell ran.
struct Cell {
    hostile: Hostile,
    command: Command,
    output: Output,
    took: Duration,
    peak_kib: u64,
    report: Option<Value>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_receivers_end_bounded_classified_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("hostile.yaml");
    std::fs::write(
        &scenario,
        format!(
            "target: http://127.0.0.1:1/hooks\nprovider: authgear\nsecret: ${{HOOK_SECRET}}\n\
             deadline: {TIMEOUT}\nsteps:\n\
             \x20 - check: {{checks: [accepts_valid], types: [user.created]}}\n\
             \x20 - load: {{rate: 20, requests: 10, connections: 2}}\n"
        ),
    )
    .unwrap();
    let mut cells = Vec::new();
    for hostile in Hostile::ALL {
        let addr = hostile.start().await;
        let url = format!("http://{addr}/hooks");
        for command in [Command::Check, Command::Load, Command::Run] {
            let out = dir.path().join(format!("{hostile:?}-{command:?}"));
            let args = cell_args(command, &url, &scenario, &out);
            cells.push(async move {
                let started = Instant::now();
                let (output, peak_kib) = run_measured(&args).await;
                let report = std::fs::read(out.join("report.json"))
                    .ok()
                    .and_then(|bytes| serde_json::from_slice(&bytes).ok());
                Cell {
                    hostile,
                    command,
                    output,
                    took: started.elapsed(),
                    peak_kib,
                    report,
                }
            });
        }
    }
    // All cells at once: each spends its time waiting on a receiver.
    let cells = join_all(cells).await;
    let mut wrong = Vec::new();
    for cell in &cells {
        let what = format!(
            "{:?} × {:?} ({:.1} s, peak RSS {} MiB)",
            cell.hostile,
            cell.command,
            cell.took.as_secs_f64(),
            cell.peak_kib / 1024
        );
        eprintln!("{what}: exit {:?}", cell.output.status.code());
        if let Some(problem) = judge(cell) {
            wrong.push(format!("{what}: {problem}\n{}", transcript(&cell.output)));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cells went wrong:\n\n{}",
        wrong.len(),
        cells.len(),
        wrong.join("\n\n")
    );
}

/// What is wrong with a cell, if anything.
fn judge(cell: &Cell) -> Option<String> {
    if cell.peak_kib == 0 {
        return Some("its memory was never sampled".into());
    }
    if cell.peak_kib >= RSS_LIMIT_KIB {
        return Some(format!("peak RSS {} KiB is over the limit", cell.peak_kib));
    }
    if cell.output.status.code() != Some(1) {
        return Some("expected exit 1 (a failure, reported)".into());
    }
    let Some(report) = &cell.report else {
        return Some("no readable report.json".into());
    };
    let said = match cell.command {
        Command::Check => check_says(report, cell.hostile.classified_as()),
        Command::Load => load_says(report, cell.hostile.classified_as()),
        Command::Run => {
            check_says(report, cell.hostile.classified_as())
                && load_says(report, cell.hostile.classified_as())
        }
    };
    (!said).then(|| {
        format!(
            "the report does not say {:?}:\n{}",
            cell.hostile.classified_as(),
            serde_json::to_string_pretty(report).unwrap_or_default()
        )
    })
}

/// Whether a recorded failure of the checks names what happened: each
/// check's `failures` (report version 1) or the report's `findings`
/// (version 2), which both carry `error` and `response_status`.
fn check_says(report: &Value, classified: Classified) -> bool {
    let per_check = report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["failures"].as_array().into_iter().flatten());
    let findings = report["findings"].as_array().into_iter().flatten();
    per_check.chain(findings).any(|f| match classified {
        Classified::Error(kinds) => f["error"]
            .as_str()
            .is_some_and(|e| kinds.iter().any(|k| e.starts_with(&format!("{k}:")))),
        Classified::Status(code) => f["response_status"] == code,
    })
}

/// Whether the load section counts what happened.
fn load_says(report: &Value, classified: Classified) -> bool {
    let stats = &report["load"]["stats"];
    match classified {
        Classified::Error(kinds) => kinds
            .iter()
            .any(|k| stats["error_kinds"][k].as_u64().is_some_and(|n| n > 0)),
        Classified::Status(code) => stats["status"][code.to_string()]
            .as_u64()
            .is_some_and(|n| n > 0),
    }
}

fn cell_args(command: Command, url: &str, scenario: &Path, out: &Path) -> Vec<String> {
    let out = out.display().to_string();
    let args: Vec<&str> = match command {
        Command::Check => vec![
            "check",
            "-p",
            "authgear",
            "-t",
            url,
            "--checks",
            "accepts_valid",
            "--type",
            "user.created",
            "--deadline",
            TIMEOUT,
            "--out",
            &out,
            "-q",
        ],
        // A threshold, as a CI gate has: the run fails when requests fail.
        Command::Load => vec![
            "load",
            "-p",
            "authgear",
            "-t",
            url,
            "--rate",
            "20",
            "--requests",
            "10",
            "--connections",
            "2",
            "--pool-size",
            "16",
            "--timeout",
            TIMEOUT,
            "--threshold",
            "error_rate<1%",
            "--out",
            &out,
            "-q",
        ],
        Command::Run => {
            return vec![
                "run".into(),
                scenario.display().to_string(),
                "--set".into(),
                format!("target={url}"),
                "--set".into(),
                "thresholds=[error_rate<1%]".into(),
                "--out".into(),
                out,
                "-q".into(),
            ]
        }
    };
    args.into_iter().map(String::from).collect()
}

/// Runs the binary with `args` to its end (killed after [`CELL_LIMIT`]),
/// sampling its peak resident set (`VmHWM`) while it runs; the output and
/// the peak in KiB.
async fn run_measured(args: &[String]) -> (Output, u64) {
    // Started on tokio, not through `Hookstorm::output`: the test samples
    // the running child's memory by its pid.
    let mut command = tokio::process::Command::from(
        hookstorm(args)
            .secret("hostile-matrix-secret")
            .into_command(),
    );
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().expect("the binary runs");
    let pid = child.id().expect("a running child has a pid");
    let done = Arc::new(AtomicBool::new(false));
    let sampling = {
        let done = done.clone();
        tokio::spawn(async move {
            // VmHWM only grows, so the last reading is the peak up to then;
            // a reading every 10 ms misses at most the final 10 ms.
            let mut peak = 0;
            let samples = CELL_LIMIT.as_millis() / 10;
            for _ in 0..samples {
                if done.load(Ordering::Acquire) {
                    break;
                }
                if let Some(hwm) = vm_hwm_kib(pid) {
                    peak = peak.max(hwm);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            peak
        })
    };
    let output = tokio::time::timeout(CELL_LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "`hookstorm {}` did not end within {CELL_LIMIT:?}",
                args.join(" ")
            )
        })
        .expect("the binary runs");
    done.store(true, Ordering::Release);
    (output, sampling.await.unwrap())
}

/// The peak resident set of process `pid` so far, KiB (`None` once it has
/// exited).
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Awaits every future concurrently; outputs in input order.
async fn join_all<F: std::future::Future + Send + 'static>(futures: Vec<F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.expect("a cell panicked"));
    }
    outputs
}
