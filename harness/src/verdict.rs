//! What a command concluded, and how that maps to the process exit code
//! (0 = passed, 1 = a check or threshold failed, 2 = usage or runtime error,
//! as ripgrep and cargo do).

use std::process::ExitCode;

/// The conclusion of a command that ran to completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Everything checked held.
    Pass,
    /// A check failed or a threshold was violated.
    Fail,
}

impl Verdict {
    /// Combines two verdicts: any failure fails the whole.
    pub fn and(self, other: Verdict) -> Verdict {
        if self == Verdict::Fail || other == Verdict::Fail {
            Verdict::Fail
        } else {
            Verdict::Pass
        }
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
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
