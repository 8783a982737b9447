//! The configured secret, [`Secret`]: the bottom of the signing vocabulary,
//! kept apart from the signer so the modules that only carry a secret
//! (challenges, the hostile cases) need not import the signer.

use std::fmt;

/// The configured secret: kept out of every `Debug`/`Display` so it never
/// reaches a log line or a report.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps the configured secret string.
    pub fn new(secret: String) -> Secret {
        Secret(secret)
    }

    /// The secret itself, for the code that derives keys from it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hunter2");
    }
}
