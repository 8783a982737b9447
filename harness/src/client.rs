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

use crate::secret::redact_url;
use crate::verdict::usage;

/// Where requests go: a parsed `http://` or `https://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Whether the target speaks TLS.
    pub https: bool,
    /// Host name or IP literal (without IPv6 brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Path and query sent in the request line.
    pub path_and_query: String,
    /// The value of the `Host` header: host and port, never the userinfo
    /// (RFC 9110 §7.2 has no place for it).
    pub authority: String,
    /// The URL's `user:password@`, sent as `Authorization: Basic`.
    pub credentials: Option<BasicAuth>,
}

/// The `Authorization: Basic` value (RFC 7617) made from a URL's userinfo:
/// a secret, so its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth(String);

impl BasicAuth {
    /// From a URL's userinfo (`user:password`, percent-encoded as RFC
    /// 3986 §3.2.1 writes it): `Basic base64(user ":" password)`; a user
    /// alone has an empty password (RFC 7617 §2 always has the colon, and
    /// curl sends it so).
    fn from_userinfo(userinfo: &str) -> BasicAuth {
        use base64::Engine;
        let mut decoded = percent_decode(userinfo);
        if !userinfo.contains(':') {
            decoded.push(b':');
        }
        BasicAuth(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(decoded)
        ))
    }

    /// The header value, for the code that sends it.
    pub fn header_value(&self) -> &str {
        &self.0
    }

    /// The base64 credentials after `Basic `, for scrubbing echoes of them.
    pub fn token(&self) -> &str {
        self.0.trim_start_matches("Basic ")
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::secret::REDACTED)
    }
}

/// `%XX` escapes decoded to bytes (anything else kept as it is).
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

impl Target {
    /// Parses a target URL; only `http` and `https` are accepted. A
    /// `user:password@` becomes [`Target::credentials`]; messages show the
    /// URL without it.
    pub fn parse(url: &str) -> anyhow::Result<Target> {
        let shown = redact_url(url);
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| usage(format!("invalid target URL `{shown}`: {e}")))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(other) => {
                return Err(usage(format!(
                    "unsupported scheme `{other}` in `{shown}`: use http:// or https://"
                )))
            }
            None => {
                return Err(usage(format!(
                    "target `{shown}` has no scheme: write it as http://HOST:PORT/PATH"
                )))
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| usage(format!("target `{shown}` has no host")))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let path_and_query = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/".to_string());
        let (credentials, host_port) = match authority.as_str().rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(BasicAuth::from_userinfo(userinfo)), host_port),
            None => (None, authority.as_str()),
        };
        Ok(Target {
            https,
            host,
            port,
            path_and_query,
            authority: host_port.to_string(),
            credentials,
        })
    }

    /// Fails (usage error) when the URL has credentials and `scheme` puts
    /// its own token in `Authorization` (a bearer token): one header cannot
    /// carry both.
    pub fn check_credentials_fit(&self, scheme: &generators::Scheme) -> anyhow::Result<()> {
        if self.credentials.is_some()
            && scheme
                .signature_header()
                .eq_ignore_ascii_case("authorization")
        {
            return Err(usage(format!(
                "target {self} has a user:password@, but this provider signs in \
                 the Authorization header, where HTTP Basic credentials would go: remove them \
                 from the URL"
            )));
        }
        Ok(())
    }

    /// The same server with another path (e.g. `/ledger`).
    pub fn with_path(&self, path: &str) -> Target {
        Target {
            path_and_query: path.to_string(),
            ..self.clone()
        }
    }

    /// The full URL without credentials, for messages, reports and `curl`
    /// lines.
    pub fn url(&self) -> String {
        format!(
            "{}://{}{}",
            if self.https { "https" } else { "http" },
            self.authority,
            self.path_and_query
        )
    }

    /// `host:port` suitable for `TcpStream::connect`.
    pub fn socket_addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url())
    }
}

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
        let tls = TlsConnector::from(Arc::new(tls_config(&options)?));
        Ok(Client { options, tls })
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
                .map_err(|e| SendError::new(ErrorKind::Tls, tls_words(&e)))?;
            self.handshake(TokioIo::new(tls)).await
        } else {
            self.handshake(TokioIo::new(tcp)).await
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

/// Builds the rustls client configuration: web roots plus `--ca-cert`, or
/// no verification at all with `--insecure`.
fn tls_config(options: &ClientOptions) -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| usage(format!("TLS setup failed: {e}")))?;
    let mut config = if options.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(insecure::NoVerification(provider)))
            .with_no_client_auth()
    } else {
        let pinned = match &options.ca_cert {
            Some(path) => read_pem_certs(path)
                .map_err(|e| usage(format!("--ca-cert {}: {e}", path.display())))?,
            None => Vec::new(),
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in &pinned {
            roots
                .add(cert.clone())
                .map_err(|e| usage(format!("--ca-cert holds an invalid certificate: {e}")))?;
        }
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| usage(format!("TLS setup failed: {e}")))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(pinned::PinnedOrWebPki { webpki, pinned }))
            .with_no_client_auth()
    };
    config.alpn_protocols = if options.http2 {
        vec![b"h2".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(config)
}

/// A failed TLS handshake in words (rustls names its errors in code:
/// `invalid peer certificate: UnknownIssuer`).
fn tls_words(err: &io::Error) -> String {
    use rustls::{CertificateError, Error};
    let Some(tls) = err.get_ref().and_then(|e| e.downcast_ref::<Error>()) else {
        return err.to_string();
    };
    match tls {
        Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => {
                "the server's certificate is signed by a CA this client does not trust".into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "the server's certificate is not valid for this host name".into()
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the server's certificate has expired".into()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet (check the clocks)".into()
            }
            CertificateError::BadSignature => {
                "the server's certificate has an invalid signature".into()
            }
            CertificateError::Other(other) if other.to_string().contains("CaUsedAsEndEntity") => {
                "the server presented a CA certificate as its own; give that exact certificate \
                 to --ca-cert to trust it"
                    .into()
            }
            other => format!("the server's certificate was refused ({other:?})"),
        },
        Error::AlertReceived(alert) => format!("the server refused the handshake ({alert:?})"),
        Error::InvalidMessage(_) | Error::InappropriateMessage { .. } => {
            "the server does not speak TLS here (plain HTTP on an https:// URL?)".into()
        }
        other => other.to_string(),
    }
}

/// Reads the PEM certificate(s) in `path`, each checked to parse as a
/// trust anchor. The error is worded as [`read_ca_certs`]'s.
fn read_pem_certs(
    path: &std::path::Path,
) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, String> {
    use rustls_pki_types::pem::{self, PemObject};
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(path).map_err(|e| match e {
        pem::Error::Io(io) => format!("cannot be read: {io}"),
        other => format!("is not valid PEM: {other}"),
    })?;
    let mut out = Vec::new();
    for cert in certs {
        out.push(cert.map_err(|e| match e {
            pem::Error::Io(io) => format!("cannot be read: {io}"),
            other => format!("is not valid PEM: {other}"),
        })?);
    }
    if out.is_empty() {
        return Err("holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)".into());
    }
    Ok(out)
}

/// `--ca-cert` as `curl --cacert` reads it: the certificates are trust
/// anchors (web PKI verification), and a server presenting exactly one of
/// them is trusted too. That is a self-signed server certificate given as
/// its own anchor: webpki refuses a CA certificate as an end entity
/// (`CaUsedAsEndEntity`) and most self-signed certificates are CAs
/// (`openssl req -x509` marks them so). The host name is still checked,
/// and the handshake signatures prove the server holds its key.
mod pinned {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::client::WebPkiServerVerifier;
    use rustls::{CertificateError, DigitallySignedStruct, Error};
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
    use std::sync::Arc;

    /// Whether trusting the exact certificate answers this refusal.
    fn answered_by_a_pin(refusal: &CertificateError) -> bool {
        match refusal {
            CertificateError::UnknownIssuer => true,
            // webpki's error, which rustls passes on as `Other`.
            CertificateError::Other(other) => other.to_string().contains("CaUsedAsEndEntity"),
            _ => false,
        }
    }

    #[derive(Debug)]
    pub struct PinnedOrWebPki {
        pub webpki: Arc<WebPkiServerVerifier>,
        pub pinned: Vec<CertificateDer<'static>>,
    }

    impl ServerCertVerifier for PinnedOrWebPki {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            let verdict =
                self.webpki
                    .verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
            match verdict {
                // Only the two refusals an exact pin answers: "not signed by
                // a trusted CA" and "a CA as end entity". An expired or
                // misnamed pinned certificate stays refused.
                Err(Error::InvalidCertificate(ref refusal))
                    if answered_by_a_pin(refusal)
                        && self
                            .pinned
                            .iter()
                            .any(|p| p.as_ref() == end_entity.as_ref()) =>
                {
                    let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
                    rustls::client::verify_server_name(&parsed, server_name)?;
                    Ok(ServerCertVerified::assertion())
                }
                other => other,
            }
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            self.webpki.verify_tls12_signature(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            self.webpki.verify_tls13_signature(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.webpki.supported_verify_schemes()
        }
    }
}

/// Reads the PEM CA certificate(s) in `path` (a `--ca-cert` or a scenario's
/// `tls.ca_cert`) into a root store. The error says what is wrong with the
/// file, without naming it: `cannot be read: ...`, `is not valid PEM: ...`,
/// `holds no PEM certificate`, `holds an invalid certificate: ...`.
pub fn read_ca_certs(path: &std::path::Path) -> Result<rustls::RootCertStore, String> {
    use rustls_pki_types::pem::{self, PemObject};
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(path).map_err(|e| match e {
        pem::Error::Io(io) => format!("cannot be read: {io}"),
        other => format!("is not valid PEM: {other}"),
    })?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        let cert = cert.map_err(|e| match e {
            pem::Error::Io(io) => format!("cannot be read: {io}"),
            other => format!("is not valid PEM: {other}"),
        })?;
        roots
            .add(cert)
            .map_err(|e| format!("holds an invalid certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err("holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)".into());
    }
    Ok(roots)
}

/// `--insecure`: accept any server certificate (still checks signatures of
/// the handshake itself, so the TLS session is sound; only identity is not).
mod insecure {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::DigitallySignedStruct;
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
    use std::sync::Arc;

    #[derive(Debug)]
    pub struct NoVerification(pub Arc<CryptoProvider>);

    impl ServerCertVerifier for NoVerification {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        let t = Target::parse("http://127.0.0.1:8080/hooks?x=1").unwrap();
        assert!(!t.https);
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 8080));
        assert_eq!(t.path_and_query, "/hooks?x=1");
        let t = Target::parse("https://[::1]/").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 443));
        assert_eq!(t.socket_addr(), "[::1]:443");
        assert!(Target::parse("ftp://x/").is_err());
        assert!(Target::parse("localhost:8080").is_err());
    }

    #[test]
    fn url_credentials_become_basic_auth_and_are_never_shown() {
        let t = Target::parse("http://us%3Ar:p%40ss@127.0.0.1:8080/hooks").unwrap();
        assert_eq!(t.authority, "127.0.0.1:8080");
        assert_eq!(t.url(), "http://127.0.0.1:8080/hooks");
        assert_eq!(t.to_string(), t.url());
        // RFC 7617 §2: base64 of the decoded `user:password`.
        assert_eq!(
            t.credentials.as_ref().map(BasicAuth::header_value),
            Some("Basic dXM6cjpwQHNz")
        );
        assert!(!format!("{t:?}").contains("dXM6"), "{t:?}");
        assert_eq!(
            Target::parse("https://tok@h/").unwrap().credentials,
            Some(BasicAuth("Basic dG9rOg==".into()))
        );
        assert_eq!(Target::parse("http://h/a@b").unwrap().credentials, None);
        let err = Target::parse("http://u:hunter2 x@h/")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`http://<redacted>@h/`"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let bearer = Target::parse("http://u:p@h/").unwrap();
        assert!(bearer
            .check_credentials_fit(&generators::Scheme::bearer())
            .is_err());
        assert!(Target::parse("http://h/")
            .unwrap()
            .check_credentials_fit(&generators::Scheme::bearer())
            .is_ok());
    }

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
