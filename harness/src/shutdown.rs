//! Shutdown signals as futures: the emitter takes "when to stop" as an
//! argument (Ctrl-C here, a oneshot in tests), so a stopped run still ends
//! through its normal path and reports what it measured.

/// Resolves on the first Ctrl-C (SIGINT). If the handler cannot be
/// installed the run simply cannot be interrupted, so this never resolves.
pub async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn ctrl_c_does_not_resolve_by_itself() {
        let waited = tokio::time::timeout(Duration::from_millis(50), ctrl_c()).await;
        assert!(waited.is_err());
    }
}
