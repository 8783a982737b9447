//! The faults the reference receiver can be told to have: each makes it
//! wrong in exactly one way, and names the conformance check that exists to
//! catch it, so the test suite can prove every check bites.

use generators::{did_you_mean, Error};
use std::fmt;

/// One way of being a wrong receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Accepts any signature, or none.
    SkipSignature,
    /// Verifies signatures but ignores the timestamp window.
    AcceptStale,
    /// Rejects bodies with keys the schema does not declare.
    RejectUnknownFields,
    /// Rejects bodies where an optional property is absent or null.
    RejectOptionalAbsent,
    /// Processes duplicates again (no dedupe).
    DoubleProcess,
    /// Ignores the ordering policy and processes on arrival.
    OutOfOrder,
    /// Answers after the provider's deadline.
    Slow,
    /// Blocking hooks answer with a key the response schema forbids.
    BadBlockingResponse,
    /// Drops the connection when the body holds a non-ASCII byte.
    CrashOnUnicode,
    /// Answers 500 to malformed JSON.
    ServerErrorOnBadJson,
    /// Acknowledges but does not record events that overflow its work queue.
    LoseUnderLoad,
    /// Never answers valid requests.
    Hang,
    /// Acknowledges first and processes later, in its own order.
    ReorderAfterAck,
    /// Answers the sender's endpoint challenge like an ordinary event.
    IgnoreChallenge,
}

impl Fault {
    /// Every fault, in documentation order.
    pub const ALL: [Fault; 14] = [
        Fault::SkipSignature,
        Fault::AcceptStale,
        Fault::RejectUnknownFields,
        Fault::RejectOptionalAbsent,
        Fault::DoubleProcess,
        Fault::OutOfOrder,
        Fault::Slow,
        Fault::BadBlockingResponse,
        Fault::CrashOnUnicode,
        Fault::ServerErrorOnBadJson,
        Fault::LoseUnderLoad,
        Fault::Hang,
        Fault::ReorderAfterAck,
        Fault::IgnoreChallenge,
    ];

    /// The name used with `--fault`.
    pub fn name(self) -> &'static str {
        match self {
            Fault::SkipSignature => "skip-signature",
            Fault::AcceptStale => "accept-stale",
            Fault::RejectUnknownFields => "reject-unknown-fields",
            Fault::RejectOptionalAbsent => "reject-optional-absent",
            Fault::DoubleProcess => "double-process",
            Fault::OutOfOrder => "out-of-order",
            Fault::Slow => "slow",
            Fault::BadBlockingResponse => "bad-blocking-response",
            Fault::CrashOnUnicode => "crash-on-unicode",
            Fault::ServerErrorOnBadJson => "5xx-on-bad-json",
            Fault::LoseUnderLoad => "lose-under-load",
            Fault::Hang => "hang",
            Fault::ReorderAfterAck => "reorder-after-ack",
            Fault::IgnoreChallenge => "ignore-challenge",
        }
    }

    /// Parses a fault name; unknown names get a "did you mean" error.
    pub fn parse(name: &str) -> Result<Fault, Error> {
        Fault::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| Error::UnknownName {
                what: "fault",
                name: name.to_string(),
                suggestion: did_you_mean(name, Fault::ALL.iter().map(|f| f.name())),
            })
    }

    /// What the fault makes the receiver do, in one sentence.
    pub fn description(self) -> &'static str {
        match self {
            Fault::SkipSignature => "accepts requests with any signature, or none",
            Fault::AcceptStale => {
                "verifies signatures but ignores the timestamp window \
                 (cannot be caught for authgear, fusionauth and auth0, or any \
                 scheme whose signatures carry no timestamp or no window: discord)"
            }
            Fault::RejectUnknownFields => {
                "answers 400 when an object has a key its schema's `properties` do not \
                 declare (free-form objects excepted)"
            }
            Fault::RejectOptionalAbsent => {
                "answers 400 when an optional property senders always send in practice \
                 (schema `x-presence: 1.0`, e.g. Authgear `context.user_id`, FusionAuth \
                 `authenticationType`) is absent (infrahub and auth0 mark none: it cannot \
                 be caught there)"
            }
            Fault::DoubleProcess => "does not deduplicate: every delivery is processed again",
            Fault::OutOfOrder => "ignores the ordering policy and processes events on arrival",
            Fault::Slow => "answers after the provider's deadline (deadline + 500 ms by default)",
            Fault::BadBlockingResponse => {
                "blocking hooks answer with an extra top-level key the response schema forbids"
            }
            Fault::CrashOnUnicode => {
                "drops the connection without an answer when the body has a non-ASCII byte"
            }
            Fault::ServerErrorOnBadJson => "answers 500 instead of 400 to malformed JSON",
            Fault::LoseUnderLoad => {
                "acknowledges but does not record deliveries that overflow a work queue of 8 \
                 draining 200 per second (any burst of more than 8 at once loses some)"
            }
            Fault::Hang => "never answers valid requests",
            Fault::ReorderAfterAck => {
                "acknowledges each delivery at once and processes it after the answer, \
                 each subject's events sorted by ordering key: processing no longer \
                 follows acknowledgement order (caught by `ordering` under the \
                 `arrival` policy)"
            }
            Fault::IgnoreChallenge => {
                "answers the sender's endpoint challenge (Slack url_verification, Zoom \
                 endpoint.url_validation, Discord PING, Okta verification GET) like an \
                 ordinary event: 200 `{}` without the echo (only providers that declare \
                 a challenge send one)"
            }
        }
    }

    /// The id of the conformance check that exists to catch this fault.
    pub fn caught_by(self) -> &'static str {
        match self {
            Fault::SkipSignature => "rejects_missing_signature",
            Fault::AcceptStale => "rejects_stale_signature",
            Fault::RejectUnknownFields => "tolerates_unknown_fields",
            Fault::RejectOptionalAbsent => "tolerates_optional_absent",
            Fault::DoubleProcess => "duplicate_idempotent",
            Fault::OutOfOrder => "ordering",
            Fault::Slow => "within_deadline",
            Fault::BadBlockingResponse => "blocking_response_schema",
            Fault::CrashOnUnicode => "no_server_error",
            Fault::ServerErrorOnBadJson => "rejects_invalid",
            Fault::LoseUnderLoad => "no_loss",
            // A request timeout is judged by within_deadline alone: the
            // other checks mark an unanswered probe inconclusive (ERROR).
            Fault::Hang => "within_deadline",
            Fault::ReorderAfterAck => "ordering",
            Fault::IgnoreChallenge => "handshake",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_round_trip_are_unique_and_typos_suggest() {
        let names: HashSet<_> = Fault::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(names.len(), Fault::ALL.len());
        for f in Fault::ALL {
            assert_eq!(Fault::parse(f.name()).unwrap(), f);
            assert!(!f.description().is_empty());
        }
        let err = Fault::parse("skip-signatur").unwrap_err().to_string();
        assert!(err.contains("did you mean `skip-signature`"), "{err}");
        let err = Fault::parse("zzz").unwrap_err().to_string();
        assert!(!err.contains("did you mean"), "{err}");
    }

    #[test]
    fn every_fault_names_a_distinct_kind_of_check() {
        // Two faults share a check only where the issue says so: a slow
        // and a hanging receiver both time out, and a timeout is
        // within_deadline's alone to judge; the `ordering` check catches
        // `out-of-order` under the provider-order policies and
        // `reorder-after-ack` under `arrival`. Every other fault has its
        // own, which keeps the fault-vs-check matrix test unambiguous.
        let checks: HashSet<_> = Fault::ALL
            .iter()
            .filter(|f| !matches!(f, Fault::Hang | Fault::ReorderAfterAck))
            .map(|f| f.caught_by())
            .collect();
        assert_eq!(checks.len(), Fault::ALL.len() - 2);
        assert_eq!(Fault::Hang.caught_by(), Fault::Slow.caught_by());
        assert_eq!(
            Fault::ReorderAfterAck.caught_by(),
            Fault::OutOfOrder.caught_by()
        );
    }
}
