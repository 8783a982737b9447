//! The one table of verdict levels: for each check and probe variant, which
//! answers are PASS, FAIL, NON-STRICT, INFO, SKIPPED or ERROR. The first
//! matching row wins; checks never decide a level themselves, they classify
//! what they saw ([`Seen`]) and look it up here.
//!
//! The table follows the providers' MUSTs (FAIL), their SHOULDs (NON-STRICT,
//! gating only with `--strict`, as h2spec's strict mode and Autobahn's
//! NON-STRICT), and what they leave open (INFO). README "Verdict levels"
//! prints it.

use reports::{ErrorKind, Level};

use super::{CheckId, Probe};

/// What came back for a probe, as the table matches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// A success status by the provider's rules.
    Accepted,
    /// Accepted, and the ledger shows the event was processed.
    Processed,
    /// 401 or 403: the rejection a forged delivery should get.
    Unauthorized,
    /// 400.
    BadRequest,
    /// Another 4xx.
    OtherClientError,
    /// A 5xx.
    ServerError,
    /// The connection was reset or closed without an answer.
    Dropped,
    /// No answer within the request timeout.
    TimedOut,
    /// An answer, but after the deadline.
    Late,
    /// Never answered: connection refused, TLS failure, or not sent
    /// because the run stopped.
    NoAnswer,
    /// Any other status (1xx, 3xx, a 2xx the provider does not count).
    Other,
    /// The ledger shows an event processed more than once.
    ProcessedTwice,
    /// The ledger breaks the declared ordering policy.
    OutOfOrder,
    /// An acknowledged event is missing from the ledger.
    Lost,
    /// A blocking hook answered a body its response schema refuses.
    InvalidAnswer,
    /// A sender's endpoint challenge answered with success, but without
    /// the echo (or Zoom's HMAC) the sender checks for.
    WrongAnswer,
}

impl Seen {
    /// Classifies a probe's answer (`success` is the provider's rule).
    pub fn of(probe: &Probe, success: impl Fn(u16) -> bool) -> Seen {
        if probe.not_sent {
            return Seen::NoAnswer;
        }
        match &probe.answer {
            Ok(a) if success(a.status) => Seen::Accepted,
            Ok(a) => match a.status {
                401 | 403 => Seen::Unauthorized,
                400 => Seen::BadRequest,
                402..=499 => Seen::OtherClientError,
                500..=599 => Seen::ServerError,
                _ => Seen::Other,
            },
            Err(e) => match e.kind {
                ErrorKind::Timeout => Seen::TimedOut,
                ErrorKind::Reset | ErrorKind::Protocol | ErrorKind::BodyTooLarge => Seen::Dropped,
                ErrorKind::Connect | ErrorKind::Tls | ErrorKind::Cancelled | ErrorKind::Other => {
                    Seen::NoAnswer
                }
            },
        }
    }

    /// The status class a finding is grouped by.
    pub fn class(self, status: Option<u16>) -> String {
        match (self, status) {
            (Seen::Processed | Seen::ProcessedTwice | Seen::OutOfOrder | Seen::Lost, _) => {
                "ledger".into()
            }
            (Seen::InvalidAnswer | Seen::WrongAnswer, _) => "answer body".into(),
            (Seen::Late, _) => "late".into(),
            (_, Some(s)) => format!("{}xx", s / 100),
            (Seen::TimedOut, None) => "timeout".into(),
            (Seen::Dropped, None) => "dropped".into(),
            _ => "no answer".into(),
        }
    }
}

/// Which probes a row applies to.
#[derive(Clone, Copy, Debug)]
pub enum Probes {
    /// Every probe of the check.
    Any,
    /// Probes whose variant is one of these labels; a label ending in `*`
    /// matches every variant starting with what precedes it.
    Named(&'static [&'static str]),
}

impl Probes {
    fn matches(self, variant: &str) -> bool {
        match self {
            Probes::Any => true,
            Probes::Named(labels) => labels.iter().any(|l| match l.strip_suffix('*') {
                Some(prefix) => variant.starts_with(prefix),
                None => *l == variant,
            }),
        }
    }
}

/// Which checks a row applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checks {
    /// Every check.
    Every,
    /// This one.
    One(CheckId),
}

impl Checks {
    fn matches(self, check: CheckId) -> bool {
        match self {
            Checks::Every => true,
            Checks::One(id) => id == check,
        }
    }
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    /// The checks it applies to.
    pub check: Checks,
    /// The probes it applies to.
    pub probes: Probes,
    /// The answers it applies to; empty means any answer.
    pub seen: &'static [Seen],
    /// The level those answers get.
    pub level: Level,
    /// Why, in one sentence, citing the provider doc or RFC.
    pub why: &'static str,
}

const fn row(
    check: Checks,
    probes: Probes,
    seen: &'static [Seen],
    level: Level,
    why: &'static str,
) -> Row {
    Row {
        check,
        probes,
        seen,
        level,
        why,
    }
}

use Checks::{Every, One};
use Level::{Error, Fail, Info, NonStrict, Pass, Skipped};
use Probes::{Any, Named};
use Seen::*;

/// Every answer a server failure can be.
const CRASH: &[Seen] = &[ServerError, Dropped];
/// Every rejection.
const REJECTED: &[Seen] = &[Unauthorized, BadRequest, OtherClientError];

/// Correctly signed deliveries a provider does send: valid events, their
/// still-valid edge forms, duplicates, bursts, blocking calls, and the
/// signature cases that must be accepted.
pub const VALID_PROBES: &[&str] = &[
    "valid",
    "valid (shrunk)",
    "concurrent valid",
    "burst",
    "duplicate:*",
    "blocking:*",
    "ordering*",
    "unknown-field-top",
    "unknown-field-deep",
    "optional-absent",
    "optional-null",
    "unicode-extreme",
    "max-length",
    "i64-edges",
    "deep-nesting",
    "large-array",
    "multiple-one-valid",
    "just-inside-past",
    "just-inside-future",
];

/// Invalid bodies: not JSON at all.
const UNPARSABLE: &[&str] = &["malformed-json", "truncated-body", "empty-body"];
/// Invalid bodies: JSON, but not the event's schema.
const SCHEMA_INVALID: &[&str] = &["wrong-type", "missing-required", "wrong-event-type"];
/// Invalid deliveries a lenient receiver may take as they are.
const TOLERABLE: &[&str] = &["wrong-content-type", "oversized-body"];

/// The table. Order matters: the first row whose check, probes and answer
/// match decides.
pub const TABLE: &[Row] = &[
    // within_deadline judges time alone.
    row(One(CheckId::WithinDeadline), Any, &[TimedOut, Late], Fail,
        "providers give up after their documented deadline and retry: an answer after it is a failed delivery"),
    row(One(CheckId::WithinDeadline), Any, &[NoAnswer], Error,
        "no answer to time"),
    row(One(CheckId::WithinDeadline), Any, &[], Pass, "answered inside the deadline"),
    // no_server_error judges answers; a probe without one is its own
    // check's to report.
    row(One(CheckId::NoServerError), Any, &[TimedOut, Late, NoAnswer], Skipped,
        "no answer: judged by the probe's own check and within_deadline"),
    // A timeout is within_deadline's; every other check cannot judge it.
    row(Every, Any, &[TimedOut], Error,
        "inconclusive: no answer within the request timeout (within_deadline judges the delay)"),
    row(Every, Any, &[NoAnswer], Error,
        "inconclusive: the harness got no answer (refused, TLS, or not sent)"),
    // no_server_error looks at every exchange of the run.
    row(One(CheckId::NoServerError), Named(VALID_PROBES), CRASH, Fail,
        "a 5xx or dropped connection on a delivery a provider sends makes it retry (Standard Webhooks, Infrahub) or fail the user's operation (blocking hooks)"),
    row(One(CheckId::NoServerError), Any, CRASH, NonStrict,
        "a 5xx or dropped connection on input no provider sends invites retries; answer 4xx"),
    row(One(CheckId::NoServerError), Any, &[], Pass, "no server failure"),
    // Acceptance: a MUST.
    row(One(CheckId::AcceptsValid), Any, &[Accepted], Pass, "acknowledged"),
    row(One(CheckId::AcceptsValid), Any, &[], Fail,
        "a valid delivery must be acknowledged with success, or the provider retries and finally drops it"),
    row(One(CheckId::ToleratesUnknownFields), Any, &[Accepted], Pass, "acknowledged"),
    row(One(CheckId::ToleratesUnknownFields), Any, &[], Fail,
        "providers add fields without notice (Authgear: receivers must tolerate unknown fields)"),
    row(One(CheckId::ToleratesOptionalAbsent), Any, &[Accepted], Pass, "acknowledged"),
    row(One(CheckId::ToleratesOptionalAbsent), Any, &[], Fail,
        "documented optional fields may be absent or null"),
    // Invalid bodies: rejecting is right; no provider requires schema
    // validation, so accepting is left open unless the ledger shows the
    // event was processed.
    row(One(CheckId::RejectsInvalid), Any, REJECTED, Pass, "rejected"),
    row(One(CheckId::RejectsInvalid), Any, CRASH, NonStrict,
        "a correctly signed input no provider sends answered with a 5xx or a dropped connection: answer 4xx, a 5xx invites retries"),
    row(One(CheckId::RejectsInvalid), Named(TOLERABLE), &[Accepted, Processed], Info,
        "no provider forbids accepting another content type or a body over 1 MiB"),
    row(One(CheckId::RejectsInvalid), Named(SCHEMA_INVALID), &[Processed], NonStrict,
        "a schema-invalid event was processed (the ledger shows it): validate before acting"),
    row(One(CheckId::RejectsInvalid), Named(UNPARSABLE), &[Processed], NonStrict,
        "an unparsable body was processed (the ledger shows it)"),
    row(One(CheckId::RejectsInvalid), Any, &[Accepted], Info,
        "accepted; no provider requires schema validation, and no ledger shows it was processed"),
    row(One(CheckId::RejectsInvalid), Any, &[], Info, "neither accepted nor rejected"),
    // Parser breakers (generators::breaker): correctly signed bodies no
    // provider sends, broken at the byte level. Rejecting is right;
    // accepting is left open where RFC 8259 leaves it to the parser (`i_`).
    row(One(CheckId::SurvivesParserBreakers), Any, CRASH, NonStrict,
        "a correctly signed body no provider sends answered with a 5xx or a dropped connection: answer 4xx, a 5xx invites retries of the same bytes"),
    row(One(CheckId::SurvivesParserBreakers), Named(&["breaker: n_*"]), &[Accepted, Processed], Info,
        "accepted a body RFC 8259 says is not JSON: a lenient parser (what it read is the event and an unknown field)"),
    row(One(CheckId::SurvivesParserBreakers), Any, &[], Pass,
        "turned away, or accepted where RFC 8259 leaves the outcome to the implementation"),
    // Signatures: a forged delivery acknowledged is a FAIL.
    row(Every, Named(&["valid", "multiple-one-valid", "just-inside-past", "just-inside-future"]), &[Accepted], Pass,
        "acknowledged"),
    row(Every, Named(&["valid", "multiple-one-valid", "just-inside-past", "just-inside-future"]), &[], Fail,
        "a correctly signed delivery (rotation lists and timestamps inside the 300 s tolerance included) must be acknowledged"),
    row(One(CheckId::RejectsBadSignature), Named(&["uppercase-hex"]), &[Accepted], Info,
        "the same MAC in uppercase hex: RFC 4648 §8 base16 is case-insensitive, so it cannot be forged"),
    row(One(CheckId::RejectsBadSignature), Named(&["hash-hex"]), &[Accepted], Info,
        "the same body hash in hex: a correctly signed token over the same body, so it cannot be forged"),
    row(One(CheckId::RejectsJwtAlgNone), Named(&["wrong-kid"]), &[Accepted], Info,
        "an unknown kid with a valid HMAC: RFC 7515 §4.1.4 makes kid a hint, the signature still verifies"),
    row(One(CheckId::RejectsStaleSignature), Named(&["stale", "future"]), &[Accepted], Info,
        "a timestamp 305 s off accepted: the window is wider than the Standard Webhooks reference library's 300 s"),
    row(One(CheckId::RejectsMissingSignature), Any, &[Unauthorized], Pass, "rejected"),
    row(One(CheckId::RejectsBadSignature), Any, &[Unauthorized], Pass, "rejected"),
    row(One(CheckId::RejectsStaleSignature), Any, &[Unauthorized], Pass, "rejected"),
    row(One(CheckId::RejectsJwtAlgNone), Any, &[Unauthorized], Pass, "rejected"),
    row(One(CheckId::RejectsMissingSignature), Any, &[Accepted], Fail,
        "every provider signs every delivery: an unsigned one is forged"),
    row(One(CheckId::RejectsBadSignature), Any, &[Accepted], Fail,
        "a delivery whose signature does not cover these bytes with this secret is forged"),
    row(One(CheckId::RejectsStaleSignature), Any, &[Accepted], Fail,
        "a timestamp an hour off accepted: a captured delivery can be replayed (Standard Webhooks: reject outside the tolerance)"),
    row(One(CheckId::RejectsJwtAlgNone), Any, &[Accepted], Fail,
        "RFC 8725 §3.1: the algorithm must be the one configured, never none or another"),
    row(One(CheckId::RejectsMissingSignature), Any, &[BadRequest, OtherClientError], Info,
        "rejected, but 401/403 says why (RFC 9110 §15.5.2)"),
    row(One(CheckId::RejectsBadSignature), Any, &[BadRequest, OtherClientError], Info,
        "rejected, but 401/403 says why (RFC 9110 §15.5.2)"),
    row(One(CheckId::RejectsStaleSignature), Any, &[BadRequest, OtherClientError], Info,
        "rejected, but 401/403 says why (RFC 9110 §15.5.2)"),
    row(One(CheckId::RejectsJwtAlgNone), Any, &[BadRequest, OtherClientError], Info,
        "rejected, but 401/403 says why (RFC 9110 §15.5.2)"),
    row(Every, Named(&["missing", "tampered-body", "wrong-secret", "truncated", "reserialized-body", "uppercase-hex",
        "stale", "future", "expired", "far-future", "whsec-*", "alg-*", "wrong-kid", "hash-hex", "wrong-scheme"]), CRASH, NonStrict,
        "a correct rejection answered with a 5xx or a dropped connection invites retries: answer 401/403"),
    // Endpoint challenges (generators::challenge): the challenge itself
    // must get the answer the sender checks; badly signed, it must not.
    row(One(CheckId::Handshake), Named(&["challenge"]), &[Accepted], Pass, "answered as the sender checks"),
    row(One(CheckId::Handshake), Named(&["challenge"]), &[], Fail,
        "the sender verifies the endpoint by this answer (200 with the echo, Zoom's HMAC, or Discord's PONG or 204): without it Slack, Zoom and Okta do not deliver and Discord does not save the URL"),
    row(One(CheckId::Handshake), Named(&["bad signature: *"]), &[Unauthorized], Pass, "rejected"),
    row(One(CheckId::Handshake), Named(&["bad signature: discord-ping", "bad signature: discord-webhook-ping", "bad signature: zoom-url-validation"]), &[Accepted, WrongAnswer], Fail,
        "Discord sends PINGs with invalid signatures and removes an endpoint that does not answer them 401; a Zoom receiver answering an unsigned validation computes HMAC(secret token, any text) for anyone, the very MAC that signs Zoom's events"),
    row(One(CheckId::Handshake), Named(&["bad signature: *"]), &[Accepted, WrongAnswer], Info,
        "a badly signed challenge answered: the echo reveals no secret, but the sender's docs ask to verify the request first"),
    row(One(CheckId::Handshake), Named(&["bad signature: *"]), CRASH, NonStrict,
        "a correct rejection answered with a 5xx or a dropped connection: answer 401"),
    row(One(CheckId::Handshake), Named(&["bad signature: *"]), &[BadRequest, OtherClientError], Info,
        "rejected, but 401/403 says why (RFC 9110 §15.5.2; Discord's docs ask for 401)"),
    // Duplicates, ordering, loss and blocking answers.
    row(One(CheckId::DuplicateIdempotent), Any, &[Accepted], Pass, "acknowledged"),
    row(One(CheckId::DuplicateIdempotent), Any, &[ProcessedTwice], Fail,
        "providers redeliver (FusionAuth, Infrahub, Standard Webhooks): a duplicate must have its effect once"),
    row(One(CheckId::DuplicateIdempotent), Any, &[Lost], Fail,
        "an event of an acknowledged batch is not sent again (Auth0 Log Streams retry errored logs only): left unprocessed, it is lost"),
    row(One(CheckId::DuplicateIdempotent), Any, &[], Fail,
        "a redelivered event must be acknowledged, or the provider keeps retrying"),
    row(One(CheckId::Ordering), Any, &[Accepted], Pass, "acknowledged"),
    row(One(CheckId::Ordering), Any, &[OutOfOrder], Fail, "the ledger breaks the declared ordering policy"),
    row(One(CheckId::Ordering), Any, &[], Fail,
        "no provider guarantees delivery order: an out-of-order delivery must still be acknowledged"),
    row(One(CheckId::NoLoss), Any, &[Lost, ProcessedTwice], Fail,
        "an acknowledged delivery is never redelivered: losing it loses the event"),
    row(One(CheckId::BlockingResponseSchema), Any, &[Accepted], Pass, "a valid decision"),
    row(One(CheckId::BlockingResponseSchema), Any, &[InvalidAnswer], Fail,
        "Authgear blocking hooks: an answer the response schema refuses fails the user's operation"),
    row(One(CheckId::BlockingResponseSchema), Any, &[], Fail,
        "a blocking hook must answer 2xx with a decision, or the user's operation fails"),
    // Whatever no row above names.
    row(Every, Any, &[Accepted, Processed], Pass, "held"),
    row(Every, Any, &[], Skipped, "no rule judges this answer"),
];

/// The level and reason the table gives `seen` on a probe of `variant`
/// in `check`.
pub fn judge(check: CheckId, variant: &str, seen: Seen) -> (Level, &'static str) {
    TABLE
        .iter()
        .find(|r| {
            r.check.matches(check)
                && r.probes.matches(variant)
                && (r.seen.is_empty() || r.seen.contains(&seen))
        })
        .map(|r| (r.level, r.why))
        .expect("the table ends in a catch-all row")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issues_examples_land_where_the_table_says() {
        let cases = [
            ("rejects_invalid", "wrong-type", Accepted, Info),
            ("rejects_invalid", "wrong-type", Processed, NonStrict),
            ("rejects_invalid", "malformed-json", ServerError, NonStrict),
            ("rejects_invalid", "oversized-body", Accepted, Info),
            ("rejects_invalid", "empty-body", BadRequest, Pass),
            ("rejects_bad_signature", "uppercase-hex", Accepted, Info),
            ("rejects_bad_signature", "tampered-body", Accepted, Fail),
            ("rejects_bad_signature", "tampered-body", BadRequest, Info),
            (
                "rejects_bad_signature",
                "tampered-body",
                ServerError,
                NonStrict,
            ),
            (
                "rejects_bad_signature",
                "multiple-one-valid",
                Unauthorized,
                Fail,
            ),
            ("rejects_jwt_alg_none", "wrong-kid", Accepted, Info),
            ("rejects_jwt_alg_none", "alg-none", Accepted, Fail),
            ("rejects_stale_signature", "stale", Accepted, Info),
            ("rejects_stale_signature", "expired", Accepted, Fail),
            (
                "rejects_stale_signature",
                "just-inside-past",
                Accepted,
                Pass,
            ),
            ("accepts_valid", "valid", TimedOut, Error),
            ("accepts_valid", "valid", Dropped, Fail),
            ("within_deadline", "concurrent valid", TimedOut, Fail),
            ("within_deadline", "concurrent valid", ServerError, Pass),
            ("no_server_error", "unicode-extreme", Dropped, Fail),
            (
                "survives_parser_breakers",
                "breaker: i_byte-ff",
                Dropped,
                NonStrict,
            ),
            (
                "survives_parser_breakers",
                "breaker: n_trailing-comma",
                ServerError,
                NonStrict,
            ),
            ("survives_parser_breakers", "breaker: n_nan", Accepted, Info),
            (
                "survives_parser_breakers",
                "breaker: i_lone-surrogate",
                Accepted,
                Pass,
            ),
            (
                "survives_parser_breakers",
                "breaker: n_raw-nul",
                BadRequest,
                Pass,
            ),
            (
                "survives_parser_breakers",
                "breaker: i_utf16be",
                TimedOut,
                Error,
            ),
            ("no_server_error", "malformed-json", ServerError, NonStrict),
            ("handshake", "challenge", Accepted, Pass),
            ("handshake", "challenge", WrongAnswer, Fail),
            ("handshake", "challenge", BadRequest, Fail),
            ("handshake", "challenge", TimedOut, Error),
            ("handshake", "bad signature: discord-ping", Accepted, Fail),
            (
                "handshake",
                "bad signature: discord-webhook-ping",
                Accepted,
                Fail,
            ),
            (
                "handshake",
                "bad signature: zoom-url-validation",
                WrongAnswer,
                Fail,
            ),
            (
                "handshake",
                "bad signature: slack-url-verification",
                Accepted,
                Info,
            ),
            (
                "handshake",
                "bad signature: discord-ping",
                Unauthorized,
                Pass,
            ),
            ("handshake", "bad signature: discord-ping", BadRequest, Info),
            ("no_server_error", "valid", TimedOut, Skipped),
            ("rejects_missing_signature", "missing", TimedOut, Error),
            (
                "duplicate_idempotent",
                "duplicate: first",
                ProcessedTwice,
                Fail,
            ),
            (
                "tolerates_unknown_fields",
                "unknown-field-top",
                BadRequest,
                Fail,
            ),
        ];
        for (check, variant, seen, level) in cases {
            let check = CheckId::parse(check).unwrap();
            assert_eq!(
                judge(check, variant, seen).0,
                level,
                "{check} {variant} {seen:?}"
            );
        }
    }

    /// Labels the harness's own checks give their probes (the generators'
    /// labels come from `generators::{variants, signature_cases,
    /// breakers}` and the challenges).
    const HARNESS_LABELS: &[&str] = &[
        "valid",
        "valid (shrunk)",
        "valid, header names Title-Case",
        "concurrent valid",
        "burst",
        "challenge",
        "duplicate: first",
        "blocking: allowed path",
        "ordering: event 1 of 4 sent at position 3",
    ];

    /// Every probe label a run can carry, with what the generators say a
    /// correct receiver does with it.
    fn generator_labels() -> Vec<(String, Option<bool>)> {
        let mut labels: Vec<(String, Option<bool>)> = Vec::new();
        for v in generators::variants() {
            let accept = v.family == generators::Family::StillValid;
            labels.push((v.label.to_string(), Some(accept)));
        }
        for provider in crate::provider::all() {
            for case in generators::signature_cases(provider.scheme()) {
                let accept = case.expect == generators::Expect::Accept;
                labels.push((case.label.to_string(), Some(accept)));
            }
        }
        for b in generators::breakers() {
            labels.push((format!("breaker: {}{}", b.class.prefix(), b.label), None));
        }
        for c in generators::Challenge::ALL {
            labels.push((format!("bad signature: {}", c.name()), Some(false)));
        }
        labels.extend(HARNESS_LABELS.iter().map(|l| (l.to_string(), None)));
        labels
    }

    /// A label renamed in the generators (or a typo here) would silently
    /// move probes onto another row: every label a row names must be one
    /// some probe carries.
    #[test]
    fn every_label_a_row_names_is_a_label_probes_carry() {
        let labels = generator_labels();
        let named = TABLE
            .iter()
            .filter_map(|r| match r.probes {
                Named(l) => Some(l),
                Any => None,
            })
            .chain([VALID_PROBES, UNPARSABLE, SCHEMA_INVALID, TOLERABLE]);
        for patterns in named {
            for pattern in patterns {
                assert!(
                    labels
                        .iter()
                        .any(|(l, _)| Probes::Named(std::slice::from_ref(pattern)).matches(l)),
                    "`{pattern}` matches no probe label"
                );
            }
        }
    }

    /// The table agrees with what each generated probe says a correct
    /// receiver does: accepted cases are deliveries a provider sends (a
    /// crash on one FAILs), rejected ones are not (a crash is NON-STRICT),
    /// and every invalid body is in exactly one class.
    #[test]
    fn the_table_follows_each_probes_own_expectation() {
        for (label, accept) in generator_labels() {
            let Some(accept) = accept else { continue };
            let crash = judge(CheckId::NoServerError, &label, ServerError).0;
            if accept {
                assert_eq!(crash, Fail, "a crash on `{label}`, which providers send");
            } else {
                assert_eq!(
                    crash, NonStrict,
                    "a crash on `{label}`, which no provider sends"
                );
            }
        }
        for v in generators::variants() {
            match v.family {
                generators::Family::StillValid => assert!(
                    VALID_PROBES.contains(&v.label),
                    "`{}` is still valid: the table must treat it as sent",
                    v.label
                ),
                generators::Family::Invalid => {
                    let classes = [UNPARSABLE, SCHEMA_INVALID, TOLERABLE];
                    let n = classes.iter().filter(|c| c.contains(&v.label)).count();
                    assert_eq!(n, 1, "`{}` must be in one invalid class", v.label);
                    assert_eq!(judge(CheckId::RejectsInvalid, v.label, BadRequest).0, Pass);
                }
            }
        }
        for provider in crate::provider::all() {
            for case in generators::signature_cases(provider.scheme()) {
                let check = super::super::signature::check_of(case.label);
                let refused = judge(check, case.label, Unauthorized).0;
                match case.expect {
                    generators::Expect::Accept => {
                        assert_eq!(refused, Fail, "{check} `{}` refused", case.label);
                        assert_eq!(judge(check, case.label, Accepted).0, Pass);
                    }
                    generators::Expect::Reject => {
                        assert_eq!(refused, Pass, "{check} `{}` refused", case.label);
                        assert_ne!(judge(check, case.label, Accepted).0, Pass);
                    }
                }
            }
        }
        for b in generators::breakers() {
            let label = format!("breaker: {}{}", b.class.prefix(), b.label);
            let accepted = judge(CheckId::SurvivesParserBreakers, &label, Accepted).0;
            let expected = match b.class {
                generators::Class::MustReject => Info,
                generators::Class::ImplementationDefined => Pass,
            };
            assert_eq!(accepted, expected, "{label} accepted");
        }
    }

    #[test]
    fn every_row_says_why() {
        for r in TABLE {
            assert!(!r.why.is_empty(), "{:?}", r.check);
        }
    }
}
