//! The check catalog: every check as a [`CheckId`], with its description
//! and the provider rule it enforces. Ids are parsed once, at the edge
//! (a `--checks` flag, a scenario's `checks:` key), into [`CheckId`]; the
//! plans, the dispatch and the levels table match on the enum, so a check
//! added here without a runner or a row does not compile or fails a test.

use std::fmt;
use std::str::FromStr;

/// One check. Its [`CheckId::as_str`] is the stable id used in `--checks`,
/// scenario files, reports and JUnit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckId {
    /// `handshake`.
    Handshake,
    /// `accepts_valid`.
    AcceptsValid,
    /// `tolerates_unknown_fields`.
    ToleratesUnknownFields,
    /// `tolerates_optional_absent`.
    ToleratesOptionalAbsent,
    /// `rejects_invalid`.
    RejectsInvalid,
    /// `survives_parser_breakers`.
    SurvivesParserBreakers,
    /// `no_server_error`.
    NoServerError,
    /// `rejects_missing_signature`.
    RejectsMissingSignature,
    /// `rejects_bad_signature`.
    RejectsBadSignature,
    /// `rejects_stale_signature`.
    RejectsStaleSignature,
    /// `rejects_jwt_alg_none`.
    RejectsJwtAlgNone,
    /// `within_deadline`.
    WithinDeadline,
    /// `duplicate_idempotent`.
    DuplicateIdempotent,
    /// `ordering`.
    Ordering,
    /// `blocking_response_schema`.
    BlockingResponseSchema,
    /// `no_loss`.
    NoLoss,
}

impl CheckId {
    /// Every check, in the order they run and are reported.
    pub const ALL: [CheckId; 16] = [
        CheckId::Handshake,
        CheckId::AcceptsValid,
        CheckId::ToleratesUnknownFields,
        CheckId::ToleratesOptionalAbsent,
        CheckId::RejectsInvalid,
        CheckId::SurvivesParserBreakers,
        CheckId::NoServerError,
        CheckId::RejectsMissingSignature,
        CheckId::RejectsBadSignature,
        CheckId::RejectsStaleSignature,
        CheckId::RejectsJwtAlgNone,
        CheckId::WithinDeadline,
        CheckId::DuplicateIdempotent,
        CheckId::Ordering,
        CheckId::BlockingResponseSchema,
        CheckId::NoLoss,
    ];

    /// The stable id (`accepts_valid`).
    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::Handshake => "handshake",
            CheckId::AcceptsValid => "accepts_valid",
            CheckId::ToleratesUnknownFields => "tolerates_unknown_fields",
            CheckId::ToleratesOptionalAbsent => "tolerates_optional_absent",
            CheckId::RejectsInvalid => "rejects_invalid",
            CheckId::SurvivesParserBreakers => "survives_parser_breakers",
            CheckId::NoServerError => "no_server_error",
            CheckId::RejectsMissingSignature => "rejects_missing_signature",
            CheckId::RejectsBadSignature => "rejects_bad_signature",
            CheckId::RejectsStaleSignature => "rejects_stale_signature",
            CheckId::RejectsJwtAlgNone => "rejects_jwt_alg_none",
            CheckId::WithinDeadline => "within_deadline",
            CheckId::DuplicateIdempotent => "duplicate_idempotent",
            CheckId::Ordering => "ordering",
            CheckId::BlockingResponseSchema => "blocking_response_schema",
            CheckId::NoLoss => "no_loss",
        }
    }

    /// What must hold: the probes sent and the answers expected.
    pub fn description(self) -> &'static str {
        match self {
            CheckId::Handshake => "the sender's endpoint challenge (Slack url_verification, Zoom endpoint.url_validation, Discord's interactions or Webhook Events PING, Okta verification GET) -> the answer the sender checks (200 with the echo, HMAC or PONG; 204 for Discord's Webhook Events); the same challenge badly signed -> 401 (Discord, Zoom; accepted elsewhere: INFO); only for providers that declare a challenge",
            CheckId::AcceptsValid => "every event type, valid form, still-valid edge forms and header names in Title-Case and UPPER-CASE -> success status within the deadline",
            CheckId::ToleratesUnknownFields => "unknown fields at any depth -> still accepted",
            CheckId::ToleratesOptionalAbsent => "optional fields absent or null -> still accepted",
            CheckId::RejectsInvalid => "malformed, truncated, mistyped, incomplete, empty, wrong-content-type or oversized bodies -> 4xx (accepted: INFO, NON-STRICT once the ledger shows it processed; 5xx: NON-STRICT)",
            CheckId::SurvivesParserBreakers => "correctly signed bodies that break JSON parsers and text decoders (JSONTestSuite n_/i_ cases, invalid UTF-8, BOM, UTF-16, 10,000-deep nesting) -> 4xx, or accepted where RFC 8259 leaves it open (a must-reject one accepted: INFO); 5xx or a dropped connection: NON-STRICT",
            CheckId::NoServerError => "no 5xx and no dropped connection: FAIL on deliveries a provider sends, NON-STRICT on adversarial input",
            CheckId::RejectsMissingSignature => "a delivery without its signature -> 401/403 (400 or another 4xx: INFO)",
            CheckId::RejectsBadSignature => "tampered body, wrong secret, truncated or mis-encoded signature -> rejected; rotation (several signatures, one valid) -> accepted",
            CheckId::RejectsStaleSignature => "timestamps an hour off -> rejected; 305 s off -> rejected (accepted: INFO); 295 s off -> accepted",
            CheckId::RejectsJwtAlgNone => "JWT signatures with alg none or another algorithm -> rejected; an unknown kid with a valid HMAC accepted is INFO",
            CheckId::WithinDeadline => "every answer inside the provider's deadline, with --concurrency deliveries in flight; the one check that judges a timeout",
            CheckId::DuplicateIdempotent => "the same event delivered twice (in sequence, concurrently, after the sender gave up waiting, in two overlapping batches where the provider batches) -> success both times, effect once",
            CheckId::Ordering => "one subject's events delivered out of order -> the effect follows the declared policy",
            CheckId::BlockingResponseSchema => "blocking hooks answer a body valid against the response schema; mutations only where allowed",
            CheckId::NoLoss => "under a burst, every acknowledged event is processed exactly once",
        }
    }

    /// The provider rule (or RFC) the check enforces.
    pub fn rule(self) -> &'static str {
        match self {
            CheckId::Handshake => "the sender does not deliver to (Slack, Zoom, Okta) or removes (Discord) an endpoint that fails its challenge; Zoom re-validates every 72 h",
            CheckId::AcceptsValid => "providers deliver every documented type and retry on non-success (Standard Webhooks spec, FusionAuth webhook docs)",
            CheckId::ToleratesUnknownFields => "providers add fields without notice (Authgear: receivers must tolerate unknown fields)",
            CheckId::ToleratesOptionalAbsent => "documented optional fields (e.g. Authgear context.user_id, ip_address) may be absent",
            CheckId::RejectsInvalid => "no provider requires schema validation, but a 5xx invites retries and an invalid event should not be acted on",
            CheckId::SurvivesParserBreakers => "RFC 8259 (§8.1 UTF-8, §9 parsers may set limits): input no provider sends must be turned away, not crash the receiver or invite retries",
            CheckId::NoServerError => "a 5xx makes the provider retry forever (Infrahub, Standard Webhooks) or fail the user's operation (blocking hooks)",
            CheckId::RejectsMissingSignature => "each provider signs every delivery (Authgear pkg/lib/hook/http.go, FusionAuth signing docs, Standard Webhooks spec): unsigned input is forged",
            CheckId::RejectsBadSignature => "signature over the raw body (Authgear hex HMAC, FusionAuth request_body_sha256, Standard Webhooks v1)",
            CheckId::RejectsStaleSignature => "Standard Webhooks reference library: 5-minute tolerance against replay",
            CheckId::RejectsJwtAlgNone => "RFC 8725 §3.1 (algorithm verification); RFC 7515 §4.1.4 (kid is a hint)",
            CheckId::WithinDeadline => "documented deadlines: Authgear blocking 5 s (10 s total) / 60 s, FusionAuth read timeout, Infrahub 10 s, Auth0 Action timeout",
            CheckId::DuplicateIdempotent => "providers redeliver (FusionAuth up to 3 more sends; Infrahub new webhook-id, same body id); dedupe by the provider's key",
            CheckId::Ordering => "no provider guarantees delivery order (Authgear: order unspecified); seq/timestamps are the order",
            CheckId::BlockingResponseSchema => "Authgear blocking hooks: an invalid body fails the user's operation",
            CheckId::NoLoss => "an acknowledged delivery is never redelivered: losing it loses the event",
        }
    }

    /// Parses a check id; an unknown one is an [`UnknownCheck`] with a
    /// "did you mean".
    pub fn parse(id: &str) -> Result<CheckId, UnknownCheck> {
        #[cfg(test)]
        parses::record();
        CheckId::ALL
            .into_iter()
            .find(|c| c.as_str() == id)
            .ok_or_else(|| UnknownCheck {
                id: id.to_string(),
                suggestion: generators::did_you_mean(id, CheckId::ALL.iter().map(|c| c.as_str())),
            })
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CheckId {
    type Err = UnknownCheck;

    fn from_str(id: &str) -> Result<CheckId, UnknownCheck> {
        CheckId::parse(id)
    }
}

/// A check id that is not in the catalog.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown check `{id}`{}", .suggestion.as_ref().map(|s| format!(", did you mean `{s}`?")).unwrap_or_default())]
pub struct UnknownCheck {
    /// The id as given.
    pub id: String,
    /// The closest catalog id, when one is close.
    pub suggestion: Option<String>,
}

/// The checks `only` names (every check when empty) minus `exclude`, in
/// catalog order; `None` when nothing is left, which would pass having
/// checked nothing.
pub fn select(only: &[CheckId], exclude: &[CheckId]) -> Option<Vec<CheckId>> {
    let selected: Vec<CheckId> = CheckId::ALL
        .into_iter()
        .filter(|id| only.is_empty() || only.contains(id))
        .filter(|id| !exclude.contains(id))
        .collect();
    (!selected.is_empty()).then_some(selected)
}

/// The message for a selection that leaves nothing to run.
pub const NOTHING_SELECTED: &str =
    "no check is left to run: the exclusions remove every selected check; \
     exclude fewer (see `hookstorm check --list`)";

/// How many check ids were parsed, so a test can prove a scenario's ids
/// are parsed once.
#[cfg(test)]
pub(crate) mod parses {
    use std::cell::Cell;

    thread_local! {
        static COUNT: Cell<usize> = const { Cell::new(0) };
    }

    pub(super) fn record() {
        COUNT.with(|c| c.set(c.get() + 1));
    }

    /// Ids parsed on this thread so far.
    pub(crate) fn count() -> usize {
        COUNT.with(Cell::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for id in CheckId::ALL {
            assert!(seen.insert(id.as_str()), "{id} twice");
            assert_eq!(CheckId::parse(id.as_str()), Ok(id));
            assert!(!id.description().is_empty() && !id.rule().is_empty());
        }
        let err = CheckId::parse("no_los").unwrap_err();
        assert_eq!(err.suggestion.as_deref(), Some("no_loss"));
        assert_eq!(
            err.to_string(),
            "unknown check `no_los`, did you mean `no_loss`?"
        );
    }

    #[test]
    fn selection_keeps_catalog_order_and_refuses_nothing() {
        use CheckId::*;
        assert_eq!(
            select(&[NoLoss, AcceptsValid], &[]),
            Some(vec![AcceptsValid, NoLoss])
        );
        assert_eq!(select(&[NoLoss], &[NoLoss]), None);
        assert_eq!(select(&[], &CheckId::ALL), None);
        assert_eq!(select(&[], &[]).unwrap().len(), CheckId::ALL.len());
    }
}
