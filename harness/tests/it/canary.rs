//! No secret in any output: every command runs with canary secrets (an
//! HMAC secret, a FusionAuth JWT key, a `whsec_` secret, a bearer token), a
//! canary password in the target URL and in the ledger URL, and a canary
//! in a ledger command, and none of them appears in stdout, stderr or any
//! file of a report directory, even when the receiver echoes every request
//! back in its answer. The canaries are really in play: the
//! receivers got the bearer token and the URL's Basic credentials, and the
//! reference receiver verified what was signed with the canary secrets.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output};
use std::time::Duration;

use crate::util::faulty_servers;
use crate::util::process::{hookstorm, transcript, KillOnDrop};

/// Every canary has this word in it; nothing else the tests pass has.
const WORD: &str = "canary";
/// base64("canary"): the start of any base64 text that starts with a canary.
const WORD_BASE64: &str = "Y2FuYXJ5";
/// The target URL's user and (canary) password.
const USER: &str = "hookuser";
const PASSWORD: &str = "canary-pw-5a7e13";
/// base64("hookuser:canary-pw-5a7e13"): the Basic credentials on the wire.
const BASIC: &str = "aG9va3VzZXI6Y2FuYXJ5LXB3LTVhN2UxMw==";
/// Commands run at once.
const AT_ONCE: usize = 6;
/// A ledger command that holds a password, as `psql` lines often do, and fails.
const LEDGER_CMD: &str = "LEDGER_PASSWORD=canary-ledger-pw-8e0b sh -c 'echo no ledger >&2; exit 3'";

/// A provider, its canary secret, and an event type of it.
struct Kind {
    provider: &'static str,
    secret: &'static str,
    event_type: &'static str,
}

const KINDS: [Kind; 4] = [
    Kind {
        provider: "authgear",
        secret: "canary-hmac-4b1d9e",
        event_type: "user.created",
    },
    Kind {
        provider: "fusionauth",
        secret: "canary-jwt-key-7c2f0a",
        event_type: "user.login.success",
    },
    // whsec_ + base64("canary-whsec-key-3e8a51")
    Kind {
        provider: "standard-webhooks",
        secret: "whsec_Y2FuYXJ5LXdoc2VjLWtleS0zZThhNTE=",
        event_type: "user.created",
    },
    Kind {
        provider: "auth0",
        secret: "canary-bearer-9f6c2d",
        event_type: "post-login",
    },
];

impl Kind {
    /// A bearer token must go in Authorization itself: no URL credentials.
    fn bearer(&self) -> bool {
        self.provider == "auth0"
    }
}

/// The needles found in `text`: the canary word (any case), a base64 canary,
/// the Basic credentials.
fn leaks(text: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    if text.to_lowercase().contains(WORD) {
        found.push(WORD);
    }
    for needle in [WORD_BASE64, BASIC] {
        if text.contains(needle) {
            found.push(needle);
        }
    }
    found
}

/// One command to run and what it must end with.
struct Run {
    what: String,
    args: Vec<String>,
    secret: &'static str,
    /// Exit codes that mean the command did its work (not a stray usage
    /// error): where a report must be written, the report is the proof, and
    /// an unreadable ledger may fail the gate as a failure or an error.
    exits: &'static [i32],
    /// The report directory it must write, if any.
    out: Option<PathBuf>,
}

/// Everything a command printed or wrote, by where.
fn outputs(output: &Output, out: Option<&Path>) -> Vec<(String, String)> {
    let mut texts = vec![
        ("stdout".to_string(), lossy(&output.stdout)),
        ("stderr".to_string(), lossy(&output.stderr)),
    ];
    if let Some(dir) = out {
        for file in files_under(dir) {
            let bytes = std::fs::read(&file).unwrap();
            texts.push((file.display().to_string(), lossy(&bytes)));
        }
    }
    texts
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_leak_finder_finds_what_it_looks_for() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("nested")).unwrap();
    std::fs::write(
        dir.path().join("nested/report.json"),
        "{\"x\":\"CANARY-hmac\"}",
    )
    .unwrap();
    std::fs::write(dir.path().join("clean.md"), "nothing here").unwrap();
    let output = StdCommand::new("sh")
        .args(["-c", &format!("echo {BASIC}; echo {WORD_BASE64}x >&2")])
        .output()
        .unwrap();
    let found: Vec<(String, Vec<&str>)> = outputs(&output, Some(dir.path()))
        .into_iter()
        .map(|(place, text)| (place, leaks(&text)))
        .filter(|(_, needles)| !needles.is_empty())
        .collect();
    assert_eq!(found.len(), 3, "{found:?}");
    // The Basic credentials start with base64("hookuser:"), three whole
    // groups, so the canary's own base64 is in them too.
    assert_eq!(found[0], ("stdout".to_string(), vec![WORD_BASE64, BASIC]));
    assert_eq!(found[1], ("stderr".to_string(), vec![WORD_BASE64]));
    assert!(found[2].0.ends_with("report.json") && found[2].1 == [WORD]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_command_prints_or_writes_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (accepting, recorded) = faulty_servers::echoing().await;
    let receivers: Vec<Receiver> = KINDS.iter().map(Receiver::start).collect();
    // The longest first.
    let mut runs = vec![Run {
        what: "demo".into(),
        args: strings(&[
            "demo",
            // Two token schemes: the secret itself travels in a header.
            "--provider",
            "auth0",
            "--provider",
            "auth0-log-streams",
            "--load-duration",
            "300ms",
            "--load-rate",
            "50",
            "--out",
            &dir.path().join("demo").display().to_string(),
        ]),
        secret: KINDS[3].secret,
        exits: &[0],
        out: Some(dir.path().join("demo")),
    }];
    for (kind, receiver) in KINDS.iter().zip(&receivers) {
        runs.extend(commands(
            kind,
            dir.path(),
            &format!("{accepting}"),
            &receiver.url,
        ));
    }
    let ended = run_all(&runs).await;
    let receivers: Vec<(String, String)> = receivers.into_iter().map(Receiver::stop).collect();

    let mut problems = Vec::new();
    for (run, output) in runs.iter().zip(&ended) {
        let code = output.status.code().unwrap_or(-1);
        if !run.exits.contains(&code) {
            problems.push(format!(
                "{}: expected exit {:?}\n{}",
                run.what,
                run.exits,
                transcript(output)
            ));
        }
        if let Some(out) = &run.out {
            if !out.join("report.json").is_file() {
                problems.push(format!("{}: wrote no report.json", run.what));
            }
        }
        // A bearer provider's signed events hold the token by design (the
        // command warns); everywhere else is checked.
        let documented = run.what == "events gen --signed (auth0)";
        for (place, text) in outputs(output, run.out.as_deref()) {
            if documented && place == "stdout" {
                continue;
            }
            let found = leaks(&text);
            if !found.is_empty() {
                problems.push(format!(
                    "{} leaked {found:?} into {place}:\n{}",
                    run.what,
                    excerpt_around(&text)
                ));
            }
        }
    }
    for (kind, (stdout, stderr)) in KINDS.iter().zip(&receivers) {
        for (place, text) in [("stdout", stdout), ("stderr", stderr)] {
            let found = leaks(text);
            if !found.is_empty() {
                problems.push(format!(
                    "receiver ({}) leaked {found:?} into {place}:\n{}",
                    kind.provider,
                    excerpt_around(text)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));

    // The canaries were in play, and the finder sees them where they belong.
    let recorded = recorded.lock().unwrap().clone();
    assert!(
        recorded.contains(&format!("authorization: Basic {BASIC}")),
        "the URL's credentials were not sent as Basic auth"
    );
    assert!(
        recorded.contains(&format!("authorization: Bearer {}", KINDS[3].secret)),
        "the bearer token was not sent"
    );
    assert!(leaks(&recorded).contains(&WORD) && leaks(&recorded).contains(&BASIC));
    for host in recorded.lines().filter(|l| l.starts_with("host:")) {
        assert!(!host.contains('@') && leaks(host).is_empty(), "{host}");
    }
    let gen_auth0 = runs
        .iter()
        .position(|r| r.what == "events gen --signed (auth0)")
        .unwrap();
    assert!(lossy(&ended[gen_auth0].stdout).contains(KINDS[3].secret));
    let warned = lossy(&ended[gen_auth0].stderr);
    assert!(
        warned.contains("warning") && warned.contains("HOOK_SECRET"),
        "{warned}"
    );
}

/// The commands of one kind: against a receiver that accepts everything and
/// echoes the request's headers (so checks fail and reports carry requests,
/// `curl` lines and the echoing answers), and against
/// the reference receiver holding the same secret (so they pass).
fn commands(kind: &Kind, dir: &Path, accepting: &str, reference: &str) -> Vec<Run> {
    let p = kind.provider;
    let credentials = if kind.bearer() {
        String::new()
    } else {
        format!("{USER}:{PASSWORD}@")
    };
    let target = format!("http://{credentials}{accepting}/hooks");
    let ledger_url = format!("http://{USER}:{PASSWORD}@{accepting}/ledger");
    let out = |name: &str| dir.join(format!("{p}-{name}"));
    let out_arg = |name: &str| out(name).display().to_string();
    let scenario = dir.join(format!("{p}.yaml"));
    std::fs::write(
        &scenario,
        format!(
            "target: http://127.0.0.1:1/hooks\nprovider: {p}\nsecret: ${{HOOK_SECRET}}\n\
             ledger:\n  cmd: \"{}\"\ndeadline: 2s\nsteps:\n\
             \x20 - check: {{checks: [accepts_valid, rejects_missing_signature, no_loss], \
             types: [{}], burst: 10}}\n\
             \x20 - load: {{rate: 50, requests: 20, connections: 4}}\n",
            LEDGER_CMD.replace('"', "\\\""),
            kind.event_type
        ),
    )
    .unwrap();
    let scenario = scenario.display().to_string();
    let run = |what: &str, args: Vec<String>, exits: &'static [i32], out: Option<PathBuf>| Run {
        what: format!("{what} ({p})"),
        args,
        secret: kind.secret,
        exits,
        out,
    };
    let checks = "accepts_valid,rejects_missing_signature,rejects_bad_signature,no_loss";
    let mut runs = vec![
        run(
            "check",
            strings(&[
                "check",
                "-p",
                p,
                "-t",
                &target,
                "--checks",
                checks,
                "--type",
                kind.event_type,
                "--burst",
                "10",
                "--ledger-cmd",
                LEDGER_CMD,
                "--out",
                &out_arg("check"),
            ]),
            &[1, 2],
            Some(out("check")),
        ),
        run(
            "check --ledger-url",
            strings(&[
                "check",
                "-p",
                p,
                "-t",
                &target,
                "--checks",
                "no_loss",
                "--type",
                kind.event_type,
                "--burst",
                "10",
                "--ledger-url",
                &ledger_url,
                "--out",
                &out_arg("ledger-url"),
            ]),
            &[0, 1, 2],
            Some(out("ledger-url")),
        ),
        run(
            "check against the reference receiver",
            strings(&[
                "check",
                "-p",
                p,
                "-t",
                &format!("{}/hooks", with_credentials(reference, &credentials)),
                "--checks",
                "accepts_valid,rejects_missing_signature,rejects_bad_signature",
                "--type",
                kind.event_type,
                "--out",
                &out_arg("reference"),
            ]),
            &[0],
            Some(out("reference")),
        ),
        run(
            "load",
            strings(&[
                "load",
                "-p",
                p,
                "-t",
                &target,
                "--rate",
                "50",
                "--requests",
                "20",
                "--connections",
                "4",
                "--pool-size",
                "16",
                "--out",
                &out_arg("load"),
            ]),
            &[0],
            Some(out("load")),
        ),
        run(
            "capacity",
            strings(&[
                "capacity",
                "-p",
                p,
                "-t",
                &target,
                "--slo",
                "p99<1s",
                "--start-rate",
                "20",
                "--max-rate",
                "40",
                "--step-duration",
                "500ms",
                "--max-time",
                "3s",
                "--pool-size",
                "16",
                "--out",
                &out_arg("capacity"),
            ]),
            &[0, 1],
            Some(out("capacity")),
        ),
        run(
            "run",
            strings(&[
                "run",
                &scenario,
                "--set",
                &format!("target={target}"),
                "--out",
                &out_arg("run"),
            ]),
            &[1, 2],
            Some(out("run")),
        ),
        run(
            "run --set secret=",
            strings(&[
                "run",
                &scenario,
                "--set",
                &format!("target={target}"),
                "--set",
                &format!("secret={}", kind.secret),
            ]),
            &[2],
            None,
        ),
        run(
            "validate",
            strings(&["validate", &scenario, "--set", &format!("target={target}")]),
            &[0],
            None,
        ),
        run(
            "validate --set secret=",
            strings(&[
                "validate",
                &scenario,
                "--set",
                &format!("target={target}"),
                "--set",
                &format!("secret={}", kind.secret),
            ]),
            &[2],
            None,
        ),
        run(
            "validate --set ledger=URL",
            strings(&[
                "validate",
                &scenario,
                "--set",
                &format!("ledger={ledger_url}"),
            ]),
            &[0],
            None,
        ),
        run(
            "validate --set ledger.url=URL",
            strings(&[
                "validate",
                &scenario,
                "--set",
                &format!("ledger.url=ftp://{USER}:{PASSWORD}@{accepting}/ledger"),
            ]),
            &[2],
            None,
        ),
        run(
            "events gen --signed",
            strings(&[
                "events", "gen", "-p", p, "--all", "--count", "3", "--signed", "--seed", "1",
            ]),
            &[0],
            None,
        ),
        run(
            "an invalid target",
            strings(&[
                "check",
                "-p",
                p,
                "-t",
                &format!("http://{USER}:{PASSWORD} x@{accepting}/hooks"),
            ]),
            &[2],
            None,
        ),
    ];
    if kind.bearer() {
        // Credentials cannot share Authorization with the token: refused.
        let both = format!("http://{USER}:{PASSWORD}@{accepting}/hooks");
        runs.push(run(
            "check with a bearer token and URL credentials",
            strings(&["check", "-p", p, "-t", &both]),
            &[2],
            None,
        ));
        runs.push(run(
            "load with a bearer token and URL credentials",
            strings(&[
                "load",
                "-p",
                p,
                "-t",
                &both,
                "--requests",
                "1",
                "--rate",
                "1",
            ]),
            &[2],
            None,
        ));
    }
    if p == "authgear" {
        // A blocking hook's decision is read and judged: the echoed
        // request (its Basic credentials) is quoted in the FAIL reason.
        runs.push(run(
            "check of a blocking hook",
            strings(&[
                "check",
                "-p",
                p,
                "-t",
                &target,
                "--checks",
                "blocking_response_schema",
                "--type",
                "user.pre_create",
                "--out",
                &out_arg("blocking"),
            ]),
            &[1],
            Some(out("blocking")),
        ));
    }
    runs
}

/// `http://host:port` with `credentials` (`user:password@` or nothing).
fn with_credentials(url: &str, credentials: &str) -> String {
    url.replacen("://", &format!("://{credentials}"), 1)
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// Runs the commands, [`AT_ONCE`] at a time: each mostly waits on a
/// receiver, and fewer at once keep the CPU for the tests that measure rates.
async fn run_all(runs: &[Run]) -> Vec<Output> {
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(AT_ONCE));
    let handles: Vec<_> = runs
        .iter()
        .map(|run| {
            let command = hookstorm(&run.args).secret(run.secret);
            let permits = permits.clone();
            tokio::spawn(async move {
                let _permit = permits.acquire().await.expect("the semaphore stays open");
                command.run().await
            })
        })
        .collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.expect("a command's task"));
    }
    outputs
}

/// A `hookstorm receiver` child holding a kind's secret, its whole output
/// collected.
struct Receiver {
    child: KillOnDrop,
    url: String,
    stdout: std::thread::JoinHandle<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Receiver {
    fn start(kind: &Kind) -> Receiver {
        let mut child = hookstorm(["receiver", "--provider", kind.provider, "--port", "0"])
            .secret(kind.secret)
            .spawn();
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let out = child.0.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = url_tx.send(url.trim_end_matches("/hooks").to_string());
                }
                text.push_str(&line);
                text.push('\n');
            }
            text
        });
        let mut err = child.0.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        let url = url_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the receiver prints where it listens");
        Receiver {
            child,
            url,
            stdout,
            stderr,
        }
    }

    /// Stops it with Ctrl-C; everything it printed.
    fn stop(mut self) -> (String, String) {
        self.child.signal(libc::SIGINT);
        self.child
            .exit_within(Duration::from_secs(10), "the receiver stops on Ctrl-C");
        (self.stdout.join().unwrap(), self.stderr.join().unwrap())
    }
}

/// The lines of `text` that hold a needle (a leak's context, short).
fn excerpt_around(text: &str) -> String {
    text.lines()
        .filter(|l| !leaks(l).is_empty())
        .take(5)
        .map(|l| l.chars().take(300).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}
