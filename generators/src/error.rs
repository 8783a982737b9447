//! The error type of the generators crate, and the "did you mean" helper
//! used for every unknown name a user can type.

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
