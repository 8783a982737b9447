//! HTTPS end to end: a real rustls server on loopback with a self-signed
//! certificate (rcgen) for 127.0.0.1/localhost, and the real `hookstorm`
//! binary against it.
//!
//! - `load` with `--ca-cert` or `--insecure` delivers every request (2xx);
//!   without either it counts each request as a `tls` error, ends, and
//!   fails its threshold (exit 1, no panic, no hang).
//! - `check --ledger-url https://...` reads the ledger with the same
//!   `--ca-cert`/`--insecure` as the target (`no_loss` passes rather than
//!   being skipped as "ledger unreadable").
//! - `fetch_ledger_with` trusts exactly what its options say.
//!
//! The server binds 127.0.0.1:0; every run of the binary is bounded in
//! requests and by a timeout.

use crate::util::process::{output_within, transcript, HOOKSTORM};
use crate::util::tls_server::{self, TlsServer};

use std::path::Path;
use std::process::Output;
use std::sync::atomic::Ordering;

use harness::client::ClientOptions;
use harness::ledger::{fetch_ledger, fetch_ledger_with, LedgerEntry};
use reports::{ErrorKind, Level, Report};
use serde_json::json;

const SECRET_VAR: &str = "HOOKSTORM_TLS_TEST_SECRET";
const SECRET: &str = "tls-test-secret-8d2e41";

/// Runs the binary with the secret in [`SECRET_VAR`], bounded by `tls_server::RUN_TIMEOUT`.
async fn hookstorm(args: &[String]) -> Output {
    let mut cmd = tokio::process::Command::new(HOOKSTORM);
    cmd.args(args)
        .args(["--secret-env", SECRET_VAR])
        .env(SECRET_VAR, SECRET)
        .env("CI", "true");
    output_within(cmd, tls_server::RUN_TIMEOUT, &format!("hookstorm {args:?}")).await
}

fn read_report(dir: &Path) -> Report {
    Report::from_json(&std::fs::read_to_string(dir.join("report.json")).expect("report.json"))
        .expect("a valid report")
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// `hookstorm load` of exactly 50 authgear events at the server, with
/// `tls` (the TLS flags under test); the report goes to `out`.
async fn load(server: &TlsServer, tls: &[&str], out: &Path) -> Output {
    let mut a = args(&["load", "-p", "authgear", "-t"]);
    a.push(server.url("/hooks"));
    a.extend(args(&[
        "--concurrency",
        "4",
        "--requests",
        "50",
        "--timeout",
        "5s",
        "--seed",
        "7",
        "--threshold",
        "error_rate<1%",
        "--quiet",
        "--out",
    ]));
    a.push(out.display().to_string());
    a.extend(args(tls));
    hookstorm(&a).await
}

/// Asserts a load run delivered all 50 requests with a 2xx and no error.
fn assert_all_delivered(server: &TlsServer, output: &Output, out: &Path) {
    assert_eq!(output.status.code(), Some(0), "{}", transcript(output));
    let report = read_report(out);
    let stats = &report.load.as_ref().expect("a load section").stats;
    assert_eq!(stats.requests(), 50, "{}", transcript(output));
    let statuses: Vec<_> = stats.statuses().collect();
    assert_eq!(statuses, vec![(204, 50)], "{}", transcript(output));
    assert_eq!(stats.error_kinds().count(), 0, "{}", transcript(output));
    assert_eq!(server.posts(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_over_https_trusts_the_ca_cert() {
    let server = TlsServer::start().await;
    let out = tempfile::tempdir().unwrap();
    let ca = server.ca().display().to_string();
    let output = load(&server, &["--ca-cert", &ca], out.path()).await;
    assert_all_delivered(&server, &output, out.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_over_https_with_insecure_skips_verification() {
    let server = TlsServer::start().await;
    let out = tempfile::tempdir().unwrap();
    let output = load(&server, &["--insecure"], out.path()).await;
    assert_all_delivered(&server, &output, out.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_over_https_with_an_untrusted_cert_counts_tls_errors() {
    let server = TlsServer::start().await;
    for tls in [
        Vec::new(),
        vec![
            "--ca-cert".to_string(),
            server.other_ca().display().to_string(),
        ],
    ] {
        let tls: Vec<&str> = tls.iter().map(String::as_str).collect();
        let out = tempfile::tempdir().unwrap();
        let output = load(&server, &tls, out.path()).await;
        // The run ends and fails its error-rate threshold: exit 1, not a
        // panic (101) or a usage error (2).
        assert_eq!(
            output.status.code(),
            Some(1),
            "{tls:?}: {}",
            transcript(&output)
        );
        assert!(
            !transcript(&output).contains("panicked"),
            "{}",
            transcript(&output)
        );
        let report = read_report(out.path());
        let stats = &report.load.as_ref().expect("a load section").stats;
        assert_eq!(stats.requests(), 50, "{tls:?}: {}", transcript(&output));
        assert_eq!(
            stats.statuses().count(),
            0,
            "{tls:?}: {}",
            transcript(&output)
        );
        let kinds: Vec<_> = stats.error_kinds().collect();
        assert_eq!(
            kinds,
            vec![(ErrorKind::Tls, 50)],
            "{tls:?}: {}",
            transcript(&output)
        );
        assert!(report.thresholds.iter().any(|t| !t.passed));
    }
    assert_eq!(server.posts(), 0, "no request got past the handshake");
}

/// `check` with an https `--ledger-url`: `no_loss` can only pass if the
/// ledger fetch trusted the same CA as the target (an unreadable ledger
/// makes it a skip).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reads_an_https_ledger_with_the_targets_tls_options() {
    let server = TlsServer::start().await;
    let ca = server.ca().display().to_string();
    for (seed, tls) in [
        ("3", vec!["--ca-cert", ca.as_str()]),
        ("4", vec!["--insecure"]),
    ] {
        let reads_before = server.state.ledger_reads.load(Ordering::SeqCst);
        let out = tempfile::tempdir().unwrap();
        let mut a = args(&["check", "-p", "authgear", "-t"]);
        a.push(server.url("/hooks"));
        a.push("--ledger-url".into());
        a.push(server.url("/ledger"));
        a.extend(args(&[
            "--checks", "no_loss", "--burst", "20", "--settle", "10ms", "--seed", seed, "--quiet",
            "--out",
        ]));
        a.push(out.path().display().to_string());
        a.extend(args(&tls));
        let output = hookstorm(&a).await;
        assert_eq!(
            output.status.code(),
            Some(0),
            "{tls:?}: {}",
            transcript(&output)
        );
        let report = read_report(out.path());
        let no_loss = report
            .checks
            .iter()
            .find(|c| c.id == "no_loss")
            .expect("a no_loss result");
        assert_eq!(
            no_loss.level,
            Level::Pass,
            "{tls:?}: {no_loss:?}\n{}",
            transcript(&output)
        );
        assert!(server.state.ledger_reads.load(Ordering::SeqCst) > reads_before);
    }
    // Without either flag the target itself is refused, before anything is
    // sent: a usage error naming TLS.
    let mut a = args(&["check", "-p", "authgear", "-t"]);
    a.push(server.url("/hooks"));
    a.extend(args(&["--checks", "no_loss", "--quiet"]));
    let output = hookstorm(&a).await;
    assert_eq!(output.status.code(), Some(2), "{}", transcript(&output));
    assert!(
        transcript(&output).contains("tls"),
        "{}",
        transcript(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_ledger_with_trusts_what_its_options_say() {
    let server = TlsServer::start().await;
    let entries = vec![
        LedgerEntry {
            id: "evt_1".into(),
            seq: json!(1),
        },
        LedgerEntry {
            id: "evt_2".into(),
            seq: json!(2),
        },
    ];
    server.state.ledger.lock().unwrap().extend(entries.clone());
    let url = server.url("/ledger");

    let with_ca = ClientOptions {
        ca_cert: Some(server.ca()),
        ..ClientOptions::default()
    };
    assert_eq!(fetch_ledger_with(&url, &with_ca).await.unwrap(), entries);
    let insecure = ClientOptions {
        insecure: true,
        ..ClientOptions::default()
    };
    assert_eq!(fetch_ledger_with(&url, &insecure).await.unwrap(), entries);

    let wrong_ca = ClientOptions {
        ca_cert: Some(server.other_ca()),
        ..ClientOptions::default()
    };
    for (what, result) in [
        ("default options", fetch_ledger(&url).await),
        ("another CA", fetch_ledger_with(&url, &wrong_ca).await),
    ] {
        let err = format!("{:#}", result.expect_err(what));
        assert!(err.contains("tls"), "{what}: {err}");
    }
}
