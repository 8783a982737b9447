//! Whether a target answers at all, asked once before a run sends anything,
//! so a typo in a URL or a stopped receiver is a usage error (exit 2) and
//! not a report full of failures. The message names the real reason: the
//! host name does not resolve (DNS), nothing listens (refused), nothing
//! answers in time, or the TLS handshake failed (and why, in words).

use crate::client::Client;
use crate::target::Target;
use crate::verdict::usage;

/// Fails, with exit code 2, when the target's host does not resolve,
/// nothing listens at it, or its TLS certificate is not trusted; any other
/// answer (even an error status later) means it is reachable.
pub async fn ensure_reachable(client: &Client, target: &Target) -> anyhow::Result<()> {
    if let Err(e) = tokio::net::lookup_host(target.socket_addr()).await {
        return Err(usage(format!(
            "target {target} is unreachable: the host name `{}` does not resolve (DNS: {e}); \
             check the URL; nothing was sent",
            target.host
        )));
    }
    match client.connect(target).await {
        Err(e) if e.kind == reports::ErrorKind::Connect => Err(usage(format!(
            "target {target} is unreachable: {}; nothing was sent",
            connect_reason(&e.detail, target)
        ))),
        Err(e) if e.kind == reports::ErrorKind::Tls => Err(usage(format!(
            "target {target} is unreachable: the TLS handshake failed: {}; trust its CA (or its \
             self-signed certificate) with --ca-cert FILE (in a scenario: \
             `tls: {{ca_cert: ca.pem}}`), or skip verification with --insecure (test targets \
             only); nothing was sent",
            e.detail
        ))),
        _ => Ok(()),
    }
}

/// A failed TCP connect in words, with what to do about it.
fn connect_reason(detail: &str, target: &Target) -> String {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("refused") {
        format!(
            "the connection was refused (nothing listens on {}); is the receiver running?",
            target.socket_addr()
        )
    } else if lower.contains("within") || lower.contains("timed out") {
        format!(
            "no TCP connection ({detail}); a firewall may drop the packets, or the host is down"
        )
    } else if lower.contains("unreachable") {
        format!("the network has no route to it ({detail})")
    } else {
        format!("{detail}; is the receiver running?")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientOptions;

    fn client() -> Client {
        Client::new(ClientOptions::default()).unwrap()
    }

    #[tokio::test]
    async fn a_refused_port_says_refused() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let target = Target::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let err = ensure_reachable(&client(), &target)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("connection was refused"), "{err}");
        assert!(err.contains("nothing was sent"), "{err}");
    }

    #[tokio::test]
    async fn an_unresolvable_host_says_dns() {
        // `.invalid` never resolves (RFC 6761 §6.4).
        let target = Target::parse("http://no-such-host.invalid:8080/").unwrap();
        let err = ensure_reachable(&client(), &target)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not resolve (DNS"), "{err}");
    }

    #[tokio::test]
    async fn a_listening_port_is_reachable() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = tokio::spawn(async move {
            let _conn = listener.accept().await;
        });
        let target = Target::parse(&format!("http://{addr}/")).unwrap();
        ensure_reachable(&client(), &target).await.unwrap();
        accept.abort();
    }
}
