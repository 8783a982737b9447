//! How a run is told to stop: SIGINT (Ctrl-C) or SIGTERM (what Kubernetes,
//! CI cancellation and `timeout` send). [`Shutdown`] is the one value every
//! command hands down to its work (checks, the emitter, capacity searches,
//! scenario steps), which stops sending and returns what it measured; it
//! remembers which signal came, so the command marks its report interrupted
//! and exits 130 or 143 (128 + the signal's number, as shells report it).

use std::io::Write as _;
use std::sync::Arc;

use tokio::sync::watch;

/// A signal that stops a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C in a terminal.
    Interrupt,
    /// SIGTERM: a process supervisor, CI runner or `timeout` stopping us.
    Terminate,
}

impl Signal {
    /// The signal's name, as reports and messages spell it.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// The exit code of a process this signal stopped: 128 + its number.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }
}

/// Whether, and by which signal, the current run has been asked to stop.
/// Clones share one state; the first request wins.
#[derive(Clone, Debug)]
pub struct Shutdown {
    state: Arc<watch::Sender<Option<Signal>>>,
}

impl Default for Shutdown {
    fn default() -> Shutdown {
        Shutdown::manual()
    }
}

impl Shutdown {
    /// A shutdown only [`request`](Self::request) triggers: for tests, and
    /// for work nothing can interrupt.
    pub fn manual() -> Shutdown {
        Shutdown {
            state: Arc::new(watch::channel(None).0),
        }
    }

    /// A shutdown SIGINT and SIGTERM trigger from now on. Must be called
    /// inside the runtime that will run the work. The first signal asks
    /// the run to stop (it then writes its partial report); a second one
    /// ends the process at once with the first one's exit code (the report
    /// directory still holds whole files: they are renamed into place).
    pub fn on_signals() -> anyhow::Result<Shutdown> {
        let shutdown = Shutdown::manual();
        let mut signals = Signals::install()?;
        let listener = shutdown.clone();
        tokio::spawn(async move {
            let first = signals.next().await;
            listener.request(first);
            // Best effort: a closed stderr must not stop the shutdown.
            let _ = writeln!(
                std::io::stderr(),
                "\n{}: stopping (send it again to exit at once)",
                first.name()
            );
            let second = signals.next().await;
            let _ = writeln!(
                std::io::stderr(),
                "{}: exiting without writing the report",
                second.name()
            );
            std::process::exit(i32::from(first.exit_code()));
        });
        Ok(shutdown)
    }

    /// Asks the run to stop because of `signal` (ignored once asked).
    pub fn request(&self, signal: Signal) {
        self.state.send_if_modified(|state| {
            if state.is_none() {
                *state = Some(signal);
                true
            } else {
                false
            }
        });
    }

    /// The signal that asked the run to stop, if one did.
    pub fn signal(&self) -> Option<Signal> {
        *self.state.borrow()
    }

    /// Whether the run has been asked to stop.
    pub fn is_requested(&self) -> bool {
        self.signal().is_some()
    }

    /// Resolves when the run is asked to stop (at once if it already was).
    pub async fn requested(&self) -> Signal {
        let mut rx = self.state.subscribe();
        let signal = match rx.wait_for(Option::is_some).await {
            Ok(signal) => *signal,
            // `self` holds the sender, so it cannot be dropped while we wait.
            Err(_) => None,
        };
        match signal {
            Some(signal) => signal,
            None => std::future::pending().await,
        }
    }

    /// Marks `report` interrupted when a signal came before the work
    /// returned, and returns that signal: the command then exits with its
    /// code whatever the partial results say.
    pub fn mark(&self, report: &mut reports::Report) -> Option<Signal> {
        let signal = self.signal();
        report.run.interrupted = signal.map(|s| s.name().to_string());
        signal
    }
}

/// The signal streams a [`Shutdown`] listens to.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn install() -> anyhow::Result<Signals> {
        use anyhow::Context as _;
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> anyhow::Result<Signals> {
        Ok(Signals {})
    }

    /// The next signal (never resolves once the streams have ended).
    async fn next(&mut self) -> Signal {
        #[cfg(unix)]
        {
            tokio::select! {
                Some(()) = self.interrupt.recv() => Signal::Interrupt,
                Some(()) = self.terminate.recv() => Signal::Terminate,
                else => std::future::pending().await,
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => Signal::Interrupt,
                Err(_) => std::future::pending().await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn nothing_is_requested_until_asked_and_the_first_signal_wins() {
        let shutdown = Shutdown::manual();
        let waited = tokio::time::timeout(Duration::from_millis(50), shutdown.requested()).await;
        assert!(waited.is_err());
        assert_eq!(shutdown.signal(), None);

        let clone = shutdown.clone();
        let waiter = tokio::spawn(async move { clone.requested().await });
        shutdown.request(Signal::Terminate);
        shutdown.request(Signal::Interrupt);
        let got = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("requested() resolves")
            .unwrap();
        assert_eq!(got, Signal::Terminate);
        assert_eq!(shutdown.signal(), Some(Signal::Terminate));
        // Already requested: resolves at once.
        assert_eq!(shutdown.requested().await, Signal::Terminate);
    }

    #[test]
    fn exit_codes_are_128_plus_the_signal_number() {
        assert_eq!(Signal::Interrupt.exit_code(), 128 + 2);
        assert_eq!(Signal::Terminate.exit_code(), 128 + 15);
        assert_eq!(Signal::Terminate.name(), "SIGTERM");
    }

    #[test]
    fn mark_sets_the_report_interrupted_only_after_a_signal() {
        let mut report = reports::Report::new(reports::RunInfo {
            command: "load".into(),
            provider_file: None,
            provider: "authgear".into(),
            target: "http://127.0.0.1:1/".into(),
            seed: 1,
            shard: None,
            scenario: None,
            interrupted: None,
        });
        let shutdown = Shutdown::manual();
        assert_eq!(shutdown.mark(&mut report), None);
        assert!(report.passed());
        shutdown.request(Signal::Interrupt);
        assert_eq!(shutdown.mark(&mut report), Some(Signal::Interrupt));
        assert_eq!(report.run.interrupted.as_deref(), Some("SIGINT"));
        assert!(!report.passed());
    }
}
