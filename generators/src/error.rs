//! The error types of the generators crate ([`Error`](enum@Error) for lookups,
//! generating and signing; [`VerifyError`] for a refused delivery), and the
//! "did you mean" helper used for every unknown name a user can type.

use thiserror::Error;

/// Errors from looking things up, generating, signing or verifying.
#[derive(Debug, Error)]
pub enum Error {
    /// A name (provider, event type, variant) that does not exist.
    #[error("unknown {what} `{name}`{}", suggestion.as_ref().map(|s| format!(", did you mean `{s}`?")).unwrap_or_default())]
    UnknownName {
        /// What kind of name it was.
        what: &'static str,
        /// What the user typed.
        name: String,
        /// The closest known name, if any is close.
        suggestion: Option<String>,
    },
    /// A secret that cannot be used with the scheme.
    #[error("invalid secret: {detail}")]
    InvalidSecret {
        /// What is wrong with it.
        detail: String,
    },
    /// A schema that does not compile.
    #[error("invalid JSON Schema for `{event_type}`: {detail}")]
    InvalidSchema {
        /// Which event type.
        event_type: String,
        /// The compiler's message.
        detail: String,
    },
}

/// The closest of `candidates` to `input`, if it is close enough to be a typo.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(input, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

/// Why a delivery's signature was refused. `Copy` so a receiver counts
/// these on its hot path without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
pub enum VerifyError {
    /// A header the scheme needs is absent or empty.
    #[error("signature header missing")]
    Missing,
    /// A header is present but cannot be parsed.
    #[error("signature header malformed")]
    Malformed,
    /// Well-formed, but no signature matches the body.
    #[error("signature does not match")]
    Mismatch,
    /// The signed timestamp is older than the tolerance.
    #[error("signature timestamp too old")]
    Stale,
    /// The signed timestamp is further ahead than the tolerance.
    #[error("signature timestamp too far in the future")]
    Future,
    /// The JWT names an algorithm other than the configured one (`none`, RS256, ...).
    #[error("JWT algorithm not allowed")]
    AlgorithmNotAllowed,
    /// The JWT names a key id the receiver does not have, or the receiver's
    /// own secret cannot be used by the scheme.
    #[error("unknown signing key")]
    UnknownKey,
}

impl VerifyError {
    /// Every variant, in declaration order.
    pub const ALL: [VerifyError; 7] = [
        VerifyError::Missing,
        VerifyError::Malformed,
        VerifyError::Mismatch,
        VerifyError::Stale,
        VerifyError::Future,
        VerifyError::AlgorithmNotAllowed,
        VerifyError::UnknownKey,
    ];

    /// A stable kebab-case id for reports and counters.
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyError::Missing => "missing",
            VerifyError::Malformed => "malformed",
            VerifyError::Mismatch => "mismatch",
            VerifyError::Stale => "stale",
            VerifyError::Future => "future",
            VerifyError::AlgorithmNotAllowed => "algorithm-not-allowed",
            VerifyError::UnknownKey => "unknown-key",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_ids_are_distinct() {
        let ids: std::collections::HashSet<_> =
            VerifyError::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(ids.len(), VerifyError::ALL.len());
    }
}
