//! TLS for the HTTP client (`client.rs`): the rustls configuration it is
//! built with, `--ca-cert` PEM files read and checked, and the two certificate
//! verifiers (web PKI with exact-certificate pinning, and `--insecure`).
//!
//! Apart from `client.rs` (as oha keeps `tls_config.rs` apart) because it
//! is a different job: deciding whom to trust, once per client, against
//! connecting and sending per request. It knows nothing of HTTP.

use std::io;
use std::path::Path;
use std::sync::Arc;

use crate::verdict::usage;

/// Builds the rustls client configuration: web roots plus `ca_cert`
/// (`--ca-cert`, with exact-certificate pinning), or no verification at
/// all when `insecure`; ALPN offers `h2` when `http2`, else `http/1.1`.
/// Fails (usage error) when the CA file cannot be used.
pub fn client_config(
    ca_cert: Option<&Path>,
    insecure: bool,
    http2: bool,
) -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| usage(format!("TLS setup failed: {e}")))?;
    let mut config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(insecure::NoVerification(provider)))
            .with_no_client_auth()
    } else {
        let pinned = match ca_cert {
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
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(config)
}

/// A failed TLS handshake in words (rustls names its errors in code:
/// `invalid peer certificate: UnknownIssuer`).
pub fn handshake_words(err: &io::Error) -> String {
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
fn read_pem_certs(path: &Path) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, String> {
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
pub fn read_ca_certs(path: &Path) -> Result<rustls::RootCertStore, String> {
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
