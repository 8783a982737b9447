//! The general-purpose HTTP client: one request at a time over hyper 1, with
//! rustls for HTTPS and optional HTTP/2.
//!
//! The checks, the ledger fetch and the HTTPS/HTTP2 path of the load emitter
//! all send through here, so there is one place that knows how to connect,
//! how to bound a response, and how to classify a failure into a
//! [`reports::ErrorKind`]. The plain-HTTP/1.1 load fast path lives in
//! `wire.rs`; this module favours correctness and coverage over speed.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use reports::ErrorKind;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::header_case::{CasedIo, HeaderCase};
use crate::target::Target;

/// The longest response body read; a longer one fails as
/// [`ErrorKind::BodyTooLarge`] (the checks' client and `load`'s default).
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// How the client connects.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Extra PEM CA certificate(s) to trust for HTTPS targets.
    pub ca_cert: Option<PathBuf>,
    /// Skip certificate verification (test targets with self-signed certs).
    pub insecure: bool,
    /// Speak HTTP/2 (with prior knowledge on plain HTTP, ALPN on HTTPS).
    pub http2: bool,
    /// Bound on establishing TCP (and TLS).
    pub connect_timeout: Duration,
    /// Responses longer than this fail with [`ErrorKind::BodyTooLarge`].
    pub max_response_bytes: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            ca_cert: None,
            insecure: false,
            http2: false,
            connect_timeout: Duration::from_secs(5),
            max_response_bytes: MAX_RESPONSE_BYTES,
        }
    }
}

/// An HTTP response as the checks read it: status, headers and body.
/// (The load path's lean HTTP/1.1 client keeps only a
/// [`ResponseSummary`](crate::wire::ResponseSummary), so it never buffers a
/// body.)
#[derive(Clone, Debug)]
pub struct Response {
    /// Response status.
    pub status: u16,
    /// Response headers (lowercase names).
    pub headers: Vec<(String, String)>,
    /// Response body (bounded by `max_response_bytes`).
    pub body: Bytes,
    /// Time from starting to connect to the end of the body.
    pub elapsed: Duration,
}

/// A request that produced no status.
#[derive(Debug, thiserror::Error)]
#[error("{}: {detail}", kind.as_str())]
pub struct SendError {
    /// The classified failure.
    pub kind: ErrorKind,
    /// What happened, for humans.
    pub detail: String,
}

impl SendError {
    fn new(kind: ErrorKind, detail: impl Into<String>) -> SendError {
        SendError {
            kind,
            detail: detail.into(),
        }
    }
}

/// A reusable client: TLS configuration is built once.
#[derive(Clone)]
pub struct Client {
    options: ClientOptions,
    tls: TlsConnector,
    header_case: HeaderCase,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("options", &self.options)
            .finish()
    }
}

/// An established connection on which requests can be sent one after another.
pub enum Connection {
    /// HTTP/1.1 (keep-alive).
    Http1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    /// HTTP/2.
    Http2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

impl Client {
    /// Builds a client; fails (usage error) when the CA file cannot be read.
    pub fn new(options: ClientOptions) -> anyhow::Result<Client> {
        let config =
            crate::tls::client_config(options.ca_cert.as_deref(), options.insecure, options.http2)?;
        let tls = TlsConnector::from(Arc::new(config));
        Ok(Client {
            options,
            tls,
            header_case: HeaderCase::AsGiven,
        })
    }

    /// This client, writing HTTP/1.1 header names in `case` (HTTP/2 names
    /// stay lowercase, as RFC 9113 §8.2.1 requires).
    pub fn with_header_case(&self, case: HeaderCase) -> Client {
        Client {
            header_case: case,
            ..self.clone()
        }
    }

    /// The options this client was built with.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Opens a connection to `target` (TCP, then TLS if https, then the
    /// HTTP handshake), bounded by the connect timeout.
    pub async fn connect(&self, target: &Target) -> Result<Connection, SendError> {
        match tokio::time::timeout(self.options.connect_timeout, self.connect_inner(target)).await {
            Ok(result) => result,
            Err(_) => Err(SendError::new(
                ErrorKind::Connect,
                format!(
                    "no connection to {} within {:?}",
                    target.socket_addr(),
                    self.options.connect_timeout
                ),
            )),
        }
    }

    async fn connect_inner(&self, target: &Target) -> Result<Connection, SendError> {
        let tcp = TcpStream::connect(target.socket_addr())
            .await
            .map_err(|e| {
                SendError::new(ErrorKind::Connect, format!("{}: {e}", target.socket_addr()))
            })?;
        let _ = tcp.set_nodelay(true);
        if target.https {
            let name =
                rustls_pki_types::ServerName::try_from(target.host.clone()).map_err(|e| {
                    SendError::new(
                        ErrorKind::Tls,
                        format!("invalid TLS name `{}`: {e}", target.host),
                    )
                })?;
            let tls = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| SendError::new(ErrorKind::Tls, crate::tls::handshake_words(&e)))?;
            self.handshake(TokioIo::new(CasedIo::new(tls, self.header_case)))
                .await
        } else {
            self.handshake(TokioIo::new(CasedIo::new(tcp, self.header_case)))
                .await
        }
    }

    async fn handshake<T>(&self, io: TokioIo<T>) -> Result<Connection, SendError>
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        if self.options.http2 {
            let (send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| classify_hyper(&e))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(Connection::Http2(send))
        } else {
            let (send, conn) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(|e| classify_hyper(&e))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(Connection::Http1(send))
        }
    }

    /// Sends one request on an open connection and reads the bounded body.
    pub async fn request(
        &self,
        conn: &mut Connection,
        target: &Target,
        method: &str,
        headers: &[(String, String)],
        body: Bytes,
    ) -> Result<(u16, Vec<(String, String)>, Bytes), SendError> {
        let mut builder = Request::builder()
            .method(method)
            .uri(if self.options.http2 {
                target.url()
            } else {
                target.path_and_query.clone()
            });
        if !self.options.http2 {
            builder = builder.header("host", &target.authority);
        }
        for (name, value) in headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        // The URL's credentials, unless the request carries its own
        // Authorization (a bearer token, or a probe's deliberately wrong one).
        if let Some(credentials) = &target.credentials {
            if !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            {
                builder = builder.header("authorization", credentials.header_value());
            }
        }
        let request = builder
            .body(Full::new(body))
            .map_err(|e| SendError::new(ErrorKind::Other, format!("cannot build request: {e}")))?;
        let response = match conn {
            Connection::Http1(send) => {
                send.ready().await.map_err(|e| classify_hyper(&e))?;
                send.send_request(request).await
            }
            Connection::Http2(send) => {
                send.ready().await.map_err(|e| classify_hyper(&e))?;
                send.send_request(request).await
            }
        }
        .map_err(|e| classify_hyper(&e))?;
        let status = response.status().as_u16();
        let response_headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let limit = self.options.max_response_bytes;
        let body = Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    SendError::new(
                        ErrorKind::BodyTooLarge,
                        format!("response body larger than {limit} bytes"),
                    )
                } else if let Some(h) = e.downcast_ref::<hyper::Error>() {
                    classify_hyper(h)
                } else {
                    SendError::new(ErrorKind::Other, e.to_string())
                }
            })?
            .to_bytes();
        Ok((status, response_headers, body))
    }

    /// Connects, sends one request, reads the answer; everything bounded by
    /// `timeout` (a hung receiver yields [`ErrorKind::Timeout`]).
    pub async fn send(
        &self,
        target: &Target,
        method: &str,
        headers: &[(String, String)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<Response, SendError> {
        let started = Instant::now();
        let exchange = async {
            let mut conn = self.connect(target).await?;
            self.request(&mut conn, target, method, headers, body).await
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok((status, headers, body))) => Ok(Response {
                status,
                headers,
                body,
                elapsed: started.elapsed(),
            }),
            Ok(Err(err)) => Err(err),
            Err(_) => Err(SendError::new(
                ErrorKind::Timeout,
                format!("no complete answer within {timeout:?}"),
            )),
        }
    }
}

/// Sends one request with a fresh client (convenience for one-off calls).
pub async fn send_one(
    target: &Target,
    options: &ClientOptions,
    method: &str,
    headers: &[(String, String)],
    body: Bytes,
    timeout: Duration,
) -> Result<Response, SendError> {
    let client = Client::new(options.clone())
        .map_err(|e| SendError::new(ErrorKind::Tls, format!("{e:#}")))?;
    client.send(target, method, headers, body, timeout).await
}

/// Maps a hyper error to the error kind a report counts.
fn classify_hyper(err: &hyper::Error) -> SendError {
    let kind = if err.is_timeout() {
        ErrorKind::Timeout
    } else if err.is_parse() || err.is_parse_status() || err.is_parse_too_large() {
        ErrorKind::Protocol
    } else if err.is_incomplete_message() || err.is_canceled() || err.is_closed() {
        ErrorKind::Reset
    } else if let Some(io) =
        std::error::Error::source(err).and_then(|s| s.downcast_ref::<io::Error>())
    {
        classify_io(io)
    } else {
        ErrorKind::Other
    };
    SendError::new(kind, err.to_string())
}

/// Maps an I/O error to the error kind a report counts.
pub fn classify_io(err: &io::Error) -> ErrorKind {
    use io::ErrorKind as K;
    match err.kind() {
        K::ConnectionRefused | K::AddrNotAvailable | K::HostUnreachable | K::NetworkUnreachable => {
            ErrorKind::Connect
        }
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            ErrorKind::Reset
        }
        K::TimedOut => ErrorKind::Timeout,
        K::InvalidData => ErrorKind::Protocol,
        _ => ErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn url_credentials_go_in_authorization_not_in_host() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut heads = Vec::new();
            for _ in 0..2 {
                let (mut sock, _) = listener.accept().await.unwrap();
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = sock.read(&mut buf).await.unwrap();
                    assert!(n > 0, "the request ended early");
                    head.extend_from_slice(&buf[..n]);
                }
                sock.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                    .await
                    .unwrap();
                heads.push(String::from_utf8_lossy(&head).to_lowercase());
            }
            heads
        });
        let target = Target::parse(&format!("http://user:pw@{addr}/hooks")).unwrap();
        let send = |headers: Vec<(String, String)>| {
            let target = target.clone();
            async move {
                send_one(
                    &target,
                    &ClientOptions::default(),
                    "GET",
                    &headers,
                    Bytes::new(),
                    Duration::from_secs(5),
                )
                .await
                .unwrap()
                .status
            }
        };
        assert_eq!(send(Vec::new()).await, 204);
        let own = vec![("authorization".to_string(), "Bearer x".to_string())];
        assert_eq!(send(own).await, 204);
        let heads = server.await.unwrap();
        assert!(
            heads[0].contains(&format!("host: {addr}\r\n")),
            "{}",
            heads[0]
        );
        assert!(!heads[0].contains("pw@"), "{}", heads[0]);
        assert!(
            heads[0].contains("authorization: basic dxnlcjpwdw=="),
            "{}",
            heads[0]
        );
        // A request's own Authorization wins; there is only one.
        assert_eq!(
            heads[1].matches("authorization:").count(),
            1,
            "{}",
            heads[1]
        );
        assert!(heads[1].contains("authorization: bearer x"), "{}", heads[1]);
    }

    #[tokio::test]
    async fn unreachable_target_is_a_connect_error() {
        // Bind then drop a listener: the port is now closed.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let target = Target::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let err = send_one(
            &target,
            &ClientOptions::default(),
            "POST",
            &[],
            Bytes::new(),
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Connect, "{err}");
    }

    #[tokio::test]
    async fn hanging_target_is_a_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let (_sock, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let target = Target::parse(&format!("http://{addr}/")).unwrap();
        let err = send_one(
            &target,
            &ClientOptions::default(),
            "POST",
            &[],
            Bytes::from_static(b"{}"),
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
        hold.abort();
    }
}
