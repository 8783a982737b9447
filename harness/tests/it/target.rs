//! Target and ledger URLs as a user gives them: a port out of range or not
//! a number is a usage error (exit 2) naming the problem, in every place a
//! URL is typed (`check --target`, `load --target`, `check --ledger-url`,
//! a scenario's `target:` and `ledger:` under `validate` and `run`), and
//! nothing is sent. Such a URL used to go to port 80.

use std::net::TcpListener;
use std::time::Duration;

use crate::util::process::{hookstorm, stderr, stdout, transcript};

/// URLs no request can go to, with what the error must say about each.
const BAD: &[(&str, &str)] = &[
    (
        "http://127.0.0.1:99999/",
        "port 99999 is out of range (1-65535)",
    ),
    (
        "http://127.0.0.1:65536/",
        "port 65536 is out of range (1-65535)",
    ),
    ("http://127.0.0.1:99999x/", "port `99999x` is not a number"),
    (
        "http://127.0.0.1:0/",
        "port 0 is not one a receiver can listen on",
    ),
];

/// A scenario file against `target` whose ledger is `ledger`.
fn scenario(target: &str, ledger: &str) -> String {
    format!(
        "target: {target}\nprovider: authgear\nsecret: ${{HOOK_SECRET}}\n\
         ledger: {{url: {ledger}}}\nsteps: [{{check: {{checks: [accepts_valid]}}}}]\n"
    )
}

/// Where a URL is typed: the arguments of a run with `bad` there and, where
/// the command has a second URL, the `listening` receiver in it (which must
/// see no connection), plus whether the message comes from a file (with
/// its line and column) or from a flag.
struct Place {
    name: &'static str,
    args: fn(bad: &str, listening: &str, dir: &std::path::Path) -> Vec<String>,
    /// What the message says where the URL was: `for --target`, `file:1:9`.
    at: &'static str,
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn write(dir: &std::path::Path, text: &str) -> String {
    let path = dir.join("s.yaml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const PLACES: &[Place] = &[
    Place {
        name: "check --target",
        args: |bad, listening, _| {
            let ledger = format!("{listening}/ledger");
            strings(&[
                "check",
                "-p",
                "authgear",
                "--target",
                bad,
                "--ledger-url",
                &ledger,
            ])
        },
        at: "for --target",
    },
    Place {
        name: "check --ledger-url",
        args: |bad, listening, _| {
            strings(&[
                "check",
                "-p",
                "authgear",
                "--target",
                listening,
                "--ledger-url",
                bad,
            ])
        },
        at: "for --ledger-url",
    },
    Place {
        name: "load --target",
        args: |bad, _, _| {
            strings(&[
                "load",
                "-p",
                "authgear",
                "--target",
                bad,
                "--rate",
                "10",
                "--duration",
                "1s",
            ])
        },
        at: "for --target",
    },
    Place {
        name: "validate (target:)",
        args: |bad, listening, dir| {
            let file = write(dir, &scenario(bad, &format!("{listening}/ledger")));
            strings(&["validate", &file])
        },
        at: "s.yaml:1:9",
    },
    Place {
        name: "validate (ledger url:)",
        args: |bad, listening, dir| {
            let file = write(dir, &scenario(listening, bad));
            strings(&["validate", &file])
        },
        at: "s.yaml:4:15",
    },
    Place {
        name: "run (ledger url:)",
        args: |bad, listening, dir| {
            let file = write(dir, &scenario(listening, bad));
            strings(&["run", &file])
        },
        at: "s.yaml:4:15",
    },
];

#[tokio::test]
async fn a_port_out_of_range_or_not_a_number_is_a_usage_error_and_nothing_is_sent() {
    for place in PLACES {
        for (bad, problem) in BAD {
            // A receiver the command would reach if it sent anything: its
            // second URL, or (before this was fixed) the reachability probe.
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            let listening = format!("http://{}", listener.local_addr().unwrap());
            let dir = tempfile::tempdir().unwrap();
            let what = format!("{} {bad}", place.name);
            let o = hookstorm((place.args)(bad, &listening, dir.path()))
                .secret("target-test-secret")
                .within(Duration::from_secs(30))
                .run()
                .await;
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{what}: {}", transcript(&o));
            assert!(err.contains(problem), "{what}: {}", transcript(&o));
            assert!(err.contains(bad), "{what} quotes the URL: {err}");
            assert!(err.contains(place.at), "{what} says where: {err}");
            assert!(!err.contains("unreachable"), "{what} connected: {err}");
            match listener.accept() {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                other => panic!("{what}: the receiver saw a connection: {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn the_highest_port_is_a_port() {
    // `validate` sends nothing: the boundary is read, not connected to.
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        &scenario(
            "http://127.0.0.1:65535/hooks",
            "http://127.0.0.1:65535/ledger",
        ),
    );
    let o = hookstorm(["validate", &file])
        .secret("target-test-secret")
        .within(Duration::from_secs(30))
        .run()
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", transcript(&o));
    assert!(stdout(&o).starts_with("ok: "), "{}", transcript(&o));
}
