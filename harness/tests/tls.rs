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

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use harness::client::ClientOptions;
use harness::ledger::{fetch_ledger, fetch_ledger_with, LedgerEntry};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use reports::{CheckOutcome, ErrorKind, Report};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{json, Value};
use tokio_rustls::TlsAcceptor;

const SECRET_VAR: &str = "HOOKSTORM_TLS_TEST_SECRET";
const SECRET: &str = "tls-test-secret-8d2e41";
/// A bound on any one run of the binary.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// What the server saw: POSTs answered, and the ledger of distinct event
/// ids (in arrival order) it serves on `GET /ledger`.
#[derive(Default)]
struct State {
    posts: AtomicUsize,
    ledger_reads: AtomicUsize,
    ledger: Mutex<Vec<LedgerEntry>>,
    seen: Mutex<HashSet<String>>,
}

/// An HTTPS server on 127.0.0.1:0: 204 to every POST (recording the body's
/// `id`/`seq` once per id), the ledger JSON on `GET /ledger`, 404 otherwise.
struct TlsServer {
    addr: SocketAddr,
    state: Arc<State>,
    /// Holds `cert.pem` (the server's self-signed certificate) and
    /// `other.pem` (an unrelated one).
    dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl TlsServer {
    async fn start() -> TlsServer {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let key = rcgen::generate_simple_self_signed(names.clone()).expect("certificate");
        let other = rcgen::generate_simple_self_signed(names).expect("certificate");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cert.pem"), key.cert.pem()).unwrap();
        std::fs::write(dir.path().join("other.pem"), other.cert.pem()).unwrap();

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![key.cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der())),
            )
            .expect("server TLS config");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let state = shared.clone();
                tokio::spawn(async move {
                    // A client that does not trust the certificate aborts
                    // the handshake: nothing to serve.
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(Duration::from_secs(5), acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let service = service_fn(move |req| handle(req, state.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        TlsServer {
            addr,
            state,
            dir,
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn other_ca(&self) -> PathBuf {
        self.dir.path().join("other.pem")
    }

    fn posts(&self) -> usize {
        self.state.posts.load(Ordering::SeqCst)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<State>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let status = |code: StatusCode, body: Vec<u8>| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = code;
        response
    };
    match (req.method().clone(), req.uri().path()) {
        (Method::GET, "/ledger") => {
            state.ledger_reads.fetch_add(1, Ordering::SeqCst);
            let body = serde_json::to_vec(&*state.ledger.lock().unwrap()).unwrap();
            Ok(status(StatusCode::OK, body))
        }
        (Method::POST, _) => {
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            state.posts.fetch_add(1, Ordering::SeqCst);
            if let Ok(event) = serde_json::from_slice::<Value>(&body) {
                if let Some(id) = event.get("id").and_then(Value::as_str) {
                    // Effect once per id, as a correct receiver would.
                    if state.seen.lock().unwrap().insert(id.to_string()) {
                        state.ledger.lock().unwrap().push(LedgerEntry {
                            id: id.to_string(),
                            seq: event.get("seq").cloned().unwrap_or(Value::Null),
                        });
                    }
                }
            }
            Ok(status(StatusCode::NO_CONTENT, Vec::new()))
        }
        _ => Ok(status(StatusCode::NOT_FOUND, Vec::new())),
    }
}

/// Runs the binary with the secret in [`SECRET_VAR`], bounded by [`RUN_TIMEOUT`].
async fn hookstorm(args: &[String]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookstorm"));
    cmd.args(args)
        .args(["--secret-env", SECRET_VAR])
        .env(SECRET_VAR, SECRET)
        .env("CI", "true")
        .kill_on_drop(true);
    tokio::time::timeout(RUN_TIMEOUT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("hookstorm {args:?} did not end within {RUN_TIMEOUT:?}"))
        .expect("the binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
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
    assert_eq!(output.status.code(), Some(0), "{}", text(output));
    let report = read_report(out);
    let stats = &report.load.as_ref().expect("a load section").stats;
    assert_eq!(stats.requests(), 50, "{}", text(output));
    let statuses: Vec<_> = stats.statuses().collect();
    assert_eq!(statuses, vec![(204, 50)], "{}", text(output));
    assert_eq!(stats.error_kinds().count(), 0, "{}", text(output));
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
        assert_eq!(output.status.code(), Some(1), "{tls:?}: {}", text(&output));
        assert!(!text(&output).contains("panicked"), "{}", text(&output));
        let report = read_report(out.path());
        let stats = &report.load.as_ref().expect("a load section").stats;
        assert_eq!(stats.requests(), 50, "{tls:?}: {}", text(&output));
        assert_eq!(stats.statuses().count(), 0, "{tls:?}: {}", text(&output));
        let kinds: Vec<_> = stats.error_kinds().collect();
        assert_eq!(
            kinds,
            vec![(ErrorKind::Tls, 50)],
            "{tls:?}: {}",
            text(&output)
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
        assert_eq!(output.status.code(), Some(0), "{tls:?}: {}", text(&output));
        let report = read_report(out.path());
        let no_loss = report
            .checks
            .iter()
            .find(|c| c.id == "no_loss")
            .expect("a no_loss result");
        assert_eq!(
            no_loss.outcome,
            CheckOutcome::Pass,
            "{tls:?}: {no_loss:?}\n{}",
            text(&output)
        );
        assert!(server.state.ledger_reads.load(Ordering::SeqCst) > reads_before);
    }
    // Without either flag the target itself is refused, before anything is
    // sent: a usage error naming TLS.
    let mut a = args(&["check", "-p", "authgear", "-t"]);
    a.push(server.url("/hooks"));
    a.extend(args(&["--checks", "no_loss", "--quiet"]));
    let output = hookstorm(&a).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("tls"), "{}", text(&output));
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
