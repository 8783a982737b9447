//! The reference receiver: a correct webhook receiver for every built-in
//! provider (signature, content type, JSON, schema, dedupe, ordering,
//! blocking answers, ledger), with [`Fault`]s that make it wrong in one
//! precise way each, and a sink mode that answers 204 to everything for
//! benchmarks.
//!
//! It is the fixture of the conformance tests and of `hookstorm demo`:
//! [`start`] binds, spawns the server on the current tokio runtime and
//! returns at once; [`RunningReceiver::shutdown`] stops it even while
//! requests hang.

mod blocking;
mod effect;
mod fault;
mod handler;
mod pedantic_schema;
mod sink;

pub use fault::Fault;

use anyhow::Context;
use generators::{Profile, Provider, ProviderId, Secret};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::ledger::{LedgerEntry, OrderingPolicy};
use effect::Effects;

/// The default settle window of the `strict` ordering policy.
pub const DEFAULT_SETTLE: Duration = Duration::from_millis(500);

/// How long [`RunningReceiver::shutdown`] lets open requests finish before
/// it drops their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Everything a reference receiver is configured with.
#[derive(Clone, Debug)]
pub struct ReceiverConfig {
    /// The provider whose deliveries it receives: its delivery profile and
    /// the catalog its bodies are validated against.
    pub provider: Provider,
    /// The signing secret (or bearer token) deliveries are verified with.
    pub secret: Secret,
    /// Faults to inject; empty for a correct receiver.
    pub faults: Vec<Fault>,
    /// What it does with events of one subject that arrive out of order.
    pub ordering: OrderingPolicy,
    /// Sink mode: answer 204 to everything, check nothing.
    pub sink: bool,
    /// In sink mode, poll instead of sleeping when idle (a benchmark sink
    /// on a dedicated core; see `sink::spin`).
    pub busy_poll: bool,
    /// Where to listen (port 0 picks a free port).
    pub addr: SocketAddr,
    /// Bodies larger than this are answered 413.
    pub max_body_bytes: usize,
    /// How long the `strict` policy waits after a subject's last arrival
    /// before processing its held events.
    pub settle: Duration,
    /// How late the `slow` fault answers.
    pub slow_delay: Duration,
}

impl ReceiverConfig {
    /// A correct receiver for the built-in `provider` on `127.0.0.1:0`,
    /// every other setting at its default.
    pub fn new(provider: ProviderId, secret: Secret) -> ReceiverConfig {
        ReceiverConfig::for_provider(Provider::builtin(provider), secret)
    }

    /// A correct receiver for `provider` (built in or declared in a file)
    /// on `127.0.0.1:0`, every other setting at its default.
    pub fn for_provider(provider: Provider, secret: Secret) -> ReceiverConfig {
        let slow_delay = default_slow_delay(provider.profile());
        ReceiverConfig {
            provider,
            secret,
            faults: Vec::new(),
            ordering: OrderingPolicy::default(),
            sink: false,
            busy_poll: false,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            max_body_bytes: generators::MAX_BODY_BYTES,
            settle: DEFAULT_SETTLE,
            slow_delay,
        }
    }

    /// The same configuration with `fault` injected.
    pub fn with_fault(mut self, fault: Fault) -> ReceiverConfig {
        self.faults.push(fault);
        self
    }

    /// Whether `fault` is injected.
    pub fn has(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }
}

/// The `slow` fault's default delay: 500 ms past the provider's
/// non-blocking deadline, so every delivery misses it.
pub fn default_slow_delay(profile: &Profile) -> Duration {
    Duration::from_millis(profile.deadline_ms.saturating_add(500))
}

/// A receiver serving on a loopback port until [`shutdown`](Self::shutdown).
#[derive(Debug)]
pub struct RunningReceiver {
    addr: SocketAddr,
    effects: Arc<Effects>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
}

impl RunningReceiver {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL deliveries go to: `http://ADDR/hooks`.
    pub fn url(&self) -> String {
        format!("http://{}/hooks", self.addr)
    }

    /// The URL of its ledger: `http://ADDR/ledger`.
    pub fn ledger_url(&self) -> String {
        format!("http://{}/ledger", self.addr)
    }

    /// What it has processed so far, in processing order (events the
    /// `strict` policy still holds are not in it yet).
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.effects.ledger.snapshot()
    }

    /// Stops accepting, lets open requests finish for up to 2 s (hanging
    /// and slow requests are released at once), then drops what is left.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
    }
}

/// Binds `config.addr` and starts serving on the current tokio runtime.
pub async fn start(config: ReceiverConfig) -> anyhow::Result<RunningReceiver> {
    let (stop, stopped) = watch::channel(false);
    let effects = Arc::new(Effects::new(config.ordering, config.settle));
    let handler = handler::Handler::new(config.clone(), Arc::clone(&effects), stopped.clone())
        .with_context(|| {
            format!(
                "cannot verify {} signatures with this secret",
                config.provider.name()
            )
        })?;
    let listener = TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    let addr = listener.local_addr().context("no local address")?;
    let server = if config.sink {
        tokio::spawn(sink::serve(listener, stopped, config.busy_poll))
    } else {
        tokio::spawn(serve(listener, Arc::new(handler), stopped))
    };
    Ok(RunningReceiver {
        addr,
        effects,
        stop,
        server,
    })
}

/// The next connection on `listener`, Nagle off (answers are written
/// whole). Accept errors (out of file descriptors and the like) are logged
/// and retried after a short back-off instead of spinning: the listener
/// itself stays valid. Cancel-safe, for use in `select!`.
async fn accept(listener: &TcpListener) -> TcpStream {
    // Said once per wait, not every 10 ms while descriptors are short.
    let mut said = false;
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                let _ = stream.set_nodelay(true);
                return stream;
            }
            Err(err) => {
                if !said {
                    eprintln!("hookstorm receiver: accept failed, retrying: {err}");
                    said = true;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// The accept loop: one hyper HTTP/1.1 keep-alive connection task per
/// client, all watched so shutdown can close them.
async fn serve(
    listener: TcpListener,
    handler: Arc<handler::Handler>,
    mut stopped: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // The timer bounds how long a client may take to send its headers
    // (hyper's 30 s default), so idle half-open clients cannot pile up.
    http.timer(TokioTimer::new()).keep_alive(true);
    loop {
        let stream = tokio::select! {
            stream = accept(&listener) => stream,
            _ = stopped.wait_for(|stop| *stop) => break,
        };
        let handler = Arc::clone(&handler);
        let service = hyper::service::service_fn(move |req| {
            let handler = Arc::clone(&handler);
            async move { handler.handle(req).await }
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Errors here are clients hanging up or the crash fault
            // dropping a connection on purpose: nothing to report.
            let _ = conn.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
}
