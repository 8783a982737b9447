//! What a command concluded, and how that maps to the process exit code
//! (0 = passed, 1 = a check or threshold failed, 2 = usage or runtime error,
//! as ripgrep and cargo do; 130/143 = stopped by SIGINT/SIGTERM, as shells
//! report a process a signal ended).

use std::process::ExitCode;

use crate::shutdown::Signal;

/// The conclusion of a command that ran to completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Everything checked held.
    Pass,
    /// A check failed or a threshold was violated.
    Fail,
    /// A signal stopped the run; its partial report was written.
    Interrupted(Signal),
}

impl Verdict {
    /// Combines two verdicts: an interruption ends the whole, any failure
    /// fails it.
    pub fn and(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Interrupted(s), _) | (_, Verdict::Interrupted(s)) => Verdict::Interrupted(s),
            (Verdict::Fail, _) | (_, Verdict::Fail) => Verdict::Fail,
            _ => Verdict::Pass,
        }
    }

    /// `Interrupted` when `signal` stopped the run, whatever its partial
    /// results say; else this verdict.
    pub fn unless_interrupted(self, signal: Option<Signal>) -> Verdict {
        signal.map_or(self, Verdict::Interrupted)
    }

    /// `Pass` when `ok`, else `Fail`.
    pub fn from_ok(ok: bool) -> Verdict {
        if ok {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }
}

/// An error that ends a command with exit code 2: a usage mistake, an
/// unreachable target, a file that cannot be read. Printed with its cause
/// chain, never with a backtrace.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    /// What went wrong and what to do about it.
    pub message: String,
}

/// Shorthand for a usage error wrapped in `anyhow`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError {
        message: message.into(),
    })
}

/// Maps a command's result to the process exit code, printing any error.
pub fn exit_code(result: anyhow::Result<Verdict>) -> ExitCode {
    match result {
        Ok(Verdict::Pass) => ExitCode::from(0),
        Ok(Verdict::Fail) => ExitCode::from(1),
        Ok(Verdict::Interrupted(signal)) => ExitCode::from(signal.exit_code()),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
