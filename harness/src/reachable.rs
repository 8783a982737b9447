//! Whether a target answers at all, asked once before a run sends anything,
//! so a typo in a URL or a stopped receiver is a usage error (exit 2) and
//! not a report full of failures.

use crate::client::{Client, Target};
use crate::verdict::usage;

/// Fails, with exit code 2, when nothing listens at `target` or its TLS
/// certificate is not trusted; any other answer (even an error status
/// later) means it is reachable.
pub async fn ensure_reachable(client: &Client, target: &Target) -> anyhow::Result<()> {
    match client.connect(target).await {
        Err(e) if e.kind == reports::ErrorKind::Connect => Err(usage(format!(
            "target {target} is unreachable ({e}); is the receiver running? nothing was sent"
        ))),
        Err(e) if e.kind == reports::ErrorKind::Tls => Err(usage(format!(
            "target {target} is unreachable: the TLS handshake failed ({e}); trust its CA with \
             --ca-cert FILE (in a scenario: `tls: {{ca_cert: ca.pem}}`), or skip verification \
             with --insecure (test targets only); nothing was sent"
        ))),
        _ => Ok(()),
    }
}
