//! Scenarios against an HTTPS receiver with a private CA: a real rustls
//! server on loopback with a self-signed certificate (rcgen, as in
//! `tls.rs`), and the real `hookstorm` binary running a small scenario
//! (a `check` step whose `no_loss` reads an https ledger, then a short
//! `load` step) at it.
//!
//! - `tls: {ca_cert: ...}` (relative to the scenario file) makes the run
//!   pass: the probe, both checks, the ledger fetch and the load all trust
//!   the CA;
//! - without it the reachability probe refuses the target (exit 2, a TLS
//!   message, nothing sent);
//! - `--insecure` or `--ca-cert` on the command line make the same file pass;
//! - `validate` reports a missing `ca_cert` at its line and column, and
//!   `--ca-cert` replaces it.
//!
//! The server binds 127.0.0.1:0; every run is short (scaled) and bounded
//! by a timeout.

use crate::util::process::{hookstorm, transcript};
use crate::util::tls_server::{self, TlsServer};

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::Ordering;

use reports::{Level, Report};

const SECRET: &str = "scenario-tls-secret-41c7";

/// The scenario: two checks (one reading the https ledger) and a short
/// load step; `tls` is inserted after the target.
fn scenario(server: &TlsServer, tls: &str) -> String {
    format!(
        "target: {target}\n{tls}provider: authgear\nsecret: ${{HOOK_SECRET}}\n\
         ledger: {{url: {ledger}}}\nseed: 11\nsteps:\n  \
         - check:\n      checks: [accepts_valid, no_loss]\n      types: [user.created]\n      burst: 20\n  \
         - load:\n      rate: 40\n      duration: 2s\n      mix: {{user.created: 1}}\n      \
         thresholds: [error_rate<1%]\n",
        target = server.url("/hooks"),
        ledger = server.url("/ledger"),
    )
}

/// `hookstorm run FILE --scale 0.5 --out OUT EXTRA...`.
async fn run(file: &Path, out: &Path, extra: &[&str]) -> Output {
    let file = file.display().to_string();
    let out = out.display().to_string();
    let mut args = vec!["run", &file, "--scale", "0.5", "--quiet", "--out", &out];
    args.extend(extra);
    hookstorm(&args)
        .secret(SECRET)
        .within(tls_server::RUN_TIMEOUT)
        .run()
        .await
}

/// Asserts a run passed: both checks passed (no_loss could only pass if
/// the https ledger was read) and the load got a 204 for every request.
fn assert_passed(server: &TlsServer, output: &Output, out: &Path, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{what}: {}",
        transcript(output)
    );
    let report =
        Report::from_json(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    for id in ["accepts_valid", "no_loss"] {
        let results: Vec<_> = report.checks.iter().filter(|c| c.id == id).collect();
        assert!(!results.is_empty(), "{what}: no {id} result");
        assert!(
            results.iter().all(|c| c.level == Level::Pass),
            "{what}: {results:?}"
        );
    }
    let stats = &report.load.as_ref().expect("a load section").stats;
    assert!(stats.requests() > 0, "{what}: no load");
    let statuses: Vec<_> = stats.statuses().collect();
    assert_eq!(statuses, vec![(204, stats.requests())], "{what}");
    assert_eq!(
        stats.error_kinds().count(),
        0,
        "{what}: {}",
        transcript(output)
    );
    assert!(server.state.ledger_reads.load(Ordering::SeqCst) > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_trusts_its_tls_ca_cert_and_the_command_line_overrides() {
    let dir = tempfile::tempdir().unwrap();
    // The certificate sits next to the scenario: `ca_cert: ca.pem` is
    // resolved against the file's directory, not the working directory.
    let server = TlsServer::start().await;
    std::fs::copy(server.ca(), dir.path().join("ca.pem")).unwrap();
    let with_ca = dir.path().join("with-ca.yaml");
    std::fs::write(&with_ca, scenario(&server, "tls:\n  ca_cert: ca.pem\n")).unwrap();
    let plain = dir.path().join("plain.yaml");
    std::fs::write(&plain, scenario(&server, "")).unwrap();

    // With `tls.ca_cert`: probe, checks, ledger and load all over TLS.
    let out = dir.path().join("out-ca");
    let output = run(&with_ca, &out, &[]).await;
    assert_passed(&server, &output, &out, "tls.ca_cert");

    // Without it: the probe refuses the target before anything is sent.
    let posts = server.posts();
    let output = run(&plain, &dir.path().join("out-none"), &[]).await;
    assert_eq!(output.status.code(), Some(2), "{}", transcript(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unreachable")
            && stderr.contains("TLS handshake failed")
            && stderr.contains("--insecure")
            && stderr.contains("nothing was sent"),
        "{}",
        transcript(&output)
    );
    assert!(!stderr.contains("panicked"), "{}", transcript(&output));
    assert_eq!(server.posts(), posts, "a request got past the handshake");

    // `--insecure` and `--ca-cert` on the command line make the same file pass.
    let out = dir.path().join("out-insecure");
    let output = run(&plain, &out, &["--insecure"]).await;
    assert_passed(&server, &output, &out, "--insecure");
    let ca = dir.path().join("ca.pem").display().to_string();
    let out = dir.path().join("out-cli-ca");
    let output = run(&plain, &out, &["--ca-cert", &ca]).await;
    assert_passed(&server, &output, &out, "--ca-cert");
}

#[tokio::test]
async fn validate_checks_ca_cert_and_the_command_line_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TlsServer::start().await;
    std::fs::copy(server.ca(), dir.path().join("ca.pem")).unwrap();
    let file = dir.path().join("missing.yaml");
    std::fs::write(
        &file,
        scenario(&server, "tls:\n  ca_cert: certs/nope.pem\n"),
    )
    .unwrap();
    let path = file.display().to_string();

    let output = hookstorm(["validate", &path])
        .secret(SECRET)
        .within(tls_server::RUN_TIMEOUT)
        .run()
        .await;
    assert_eq!(output.status.code(), Some(2), "{}", transcript(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{path}:3:12")),
        "{}",
        transcript(&output)
    );
    assert!(
        stderr.contains("`ca_cert` file `certs/nope.pem` cannot be read"),
        "{}",
        transcript(&output)
    );
    // `run` refuses it the same way, before anything is sent.
    let output = run(&file, &dir.path().join("out"), &[]).await;
    assert_eq!(output.status.code(), Some(2), "{}", transcript(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(&format!("{path}:3:12")),
        "{}",
        transcript(&output)
    );
    assert_eq!(server.posts(), 0);

    // --ca-cert replaces the file's value (which is then not read) ...
    let ca = dir.path().join("ca.pem").display().to_string();
    let output = hookstorm(["validate", &path, "--ca-cert", &ca])
        .secret(SECRET)
        .within(tls_server::RUN_TIMEOUT)
        .run()
        .await;
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    // ... and is itself checked: a missing or non-PEM file is exit 2.
    let not_pem: PathBuf = file.clone();
    for bad in [dir.path().join("absent.pem"), not_pem] {
        let bad = bad.display().to_string();
        let output = hookstorm(["validate", &path, "--ca-cert", &bad])
            .secret(SECRET)
            .within(tls_server::RUN_TIMEOUT)
            .run()
            .await;
        assert_eq!(output.status.code(), Some(2), "{}", transcript(&output));
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(&format!("--ca-cert {bad}")),
            "{}",
            transcript(&output)
        );
    }
}
