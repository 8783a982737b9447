//! HTTPS end to end: a real rustls server on loopback with a self-signed
//! certificate (rcgen) for 127.0.0.1/localhost, and the real `hookstorm`
//! binary against it.
//!
//! - `load` with `--ca-cert` (a CA, or the server's own self-signed
//!   certificate even when marked CA) or `--insecure` delivers every
//!   request (2xx); without either it is refused before sending (exit 2,
//!   the TLS reason in words, no panic, no hang).
//! - `check --ledger-url https://...` reads the ledger with the same
//!   `--ca-cert`/`--insecure` as the target (`no_loss` passes rather than
//!   being skipped as "ledger unreadable").
//! - `fetch_ledger_with` trusts exactly what its options say.
//!
//! The server binds 127.0.0.1:0; every run of the binary is bounded in
//! requests and by a timeout.

use crate::util::process::{hookstorm, transcript};
use crate::util::tls_server::{self, TlsServer};

use std::path::Path;
use std::process::Output;
use std::sync::atomic::Ordering;

use harness::client::ClientOptions;
use harness::ledger::{fetch_ledger, fetch_ledger_with, LedgerEntry};
use reports::{Level, Report};
use serde_json::json;

const SECRET_VAR: &str = "HOOKSTORM_TLS_TEST_SECRET";
const SECRET: &str = "tls-test-secret-8d2e41";

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
    hookstorm(&a)
        .args(["--secret-env", SECRET_VAR])
        .env(SECRET_VAR, SECRET)
        .within(tls_server::RUN_TIMEOUT)
        .run()
        .await
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

/// A self-signed certificate marked CA (what `openssl req -x509` makes)
/// given to `--ca-cert` is trusted as its own anchor, as `curl --cacert`
/// does: rustls alone refuses it as `CaUsedAsEndEntity`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_over_https_trusts_a_self_signed_ca_certificate_given_as_ca_cert() {
    let server = TlsServer::start_self_signed_ca().await;
    let out = tempfile::tempdir().unwrap();
    let ca = server.ca().display().to_string();
    let output = load(&server, &["--ca-cert", &ca], out.path()).await;
    assert_all_delivered(&server, &output, out.path());
}

/// An untrusted certificate is found by the probe before anything is
/// sent: exit 2, the reason in words with a TLS hint, no report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_over_https_with_an_untrusted_cert_is_refused_before_sending() {
    let server = TlsServer::start_self_signed_ca().await;
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
        let text = transcript(&output);
        assert_eq!(output.status.code(), Some(2), "{tls:?}: {text}");
        assert!(!text.contains("panicked"), "{text}");
        assert!(
            text.contains("the TLS handshake failed: the server presented a CA certificate")
                || text.contains("the TLS handshake failed: the server's certificate is signed by a CA this client does not trust"),
            "{tls:?}: {text}"
        );
        assert!(
            text.contains("--ca-cert FILE") && text.contains("--insecure"),
            "{text}"
        );
        assert!(!text.contains("is the receiver running"), "{text}");
        assert!(!text.contains("CaUsedAsEndEntity"), "{text}");
        assert!(text.contains("nothing was sent"), "{text}");
        assert!(!out.path().join("report.json").exists(), "{text}");
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
        let output = hookstorm(&a)
            .args(["--secret-env", SECRET_VAR])
            .env(SECRET_VAR, SECRET)
            .within(tls_server::RUN_TIMEOUT)
            .run()
            .await;
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
    let output = hookstorm(&a)
        .args(["--secret-env", SECRET_VAR])
        .env(SECRET_VAR, SECRET)
        .within(tls_server::RUN_TIMEOUT)
        .run()
        .await;
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
