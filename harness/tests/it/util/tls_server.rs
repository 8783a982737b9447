//! An HTTPS server for the TLS tests: rustls on 127.0.0.1:0 with a
//! self-signed certificate (rcgen) for localhost/127.0.0.1, answering 204
//! to every POST and serving a ledger of the event ids it saw.

use std::collections::HashSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use harness::ledger::LedgerEntry;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use tokio_rustls::TlsAcceptor;

/// What the server saw: POSTs answered, and the ledger of distinct event
/// ids (in arrival order) it serves on `GET /ledger`.
#[derive(Default)]
pub struct State {
    pub posts: AtomicUsize,
    pub ledger_reads: AtomicUsize,
    pub ledger: Mutex<Vec<LedgerEntry>>,
    pub seen: Mutex<HashSet<String>>,
}

/// An HTTPS server on 127.0.0.1:0: 204 to every POST (recording the body's
/// `id`/`seq` once per id), the ledger JSON on `GET /ledger`, 404 otherwise.
pub struct TlsServer {
    pub addr: SocketAddr,
    pub state: Arc<State>,
    /// Holds `cert.pem` (the server's self-signed certificate) and
    /// `other.pem` (an unrelated one).
    dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl TlsServer {
    pub async fn start() -> TlsServer {
        TlsServer::start_with(false).await
    }

    /// A server whose self-signed certificate is marked a CA
    /// (basicConstraints CA:TRUE), as `openssl req -x509` makes them.
    pub async fn start_self_signed_ca() -> TlsServer {
        TlsServer::start_with(true).await
    }

    async fn start_with(is_ca: bool) -> TlsServer {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let mut params = rcgen::CertificateParams::new(names.clone()).expect("names");
        if is_ca {
            params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        }
        let signing_key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&signing_key).expect("certificate");
        let key = rcgen::CertifiedKey { cert, signing_key };
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

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    pub fn other_ca(&self) -> PathBuf {
        self.dir.path().join("other.pem")
    }

    pub fn posts(&self) -> usize {
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

/// A bound on any one run of the binary in these tests.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);
