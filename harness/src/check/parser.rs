//! `survives_parser_breakers`: correctly signed bodies that break JSON
//! parsers and text decoders at the byte level (JSONTestSuite's `n_` and
//! `i_` taxonomy, invalid UTF-8, BOMs, UTF-16, extreme nesting; see
//! `generators::breaker`). They pass signature verification, so they reach
//! the receiver's parser; no provider sends them, so the receiver may reject
//! any of them and accept those RFC 8259 leaves to the implementation. What
//! it must not do is answer 5xx (the sender retries the same bytes) or drop
//! the connection (it crashed).

use bytes::Bytes;
use generators::{breakers, Breaker, Class, EventType};
use reports::CheckResult;

use super::{Context, Probe, ResultBuilder};

/// What one breaker's answer says about the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Judgement {
    /// Rejected with a 4xx, or an implementation-defined input accepted.
    Held,
    /// A must-reject body acknowledged: a lenient parser, harmless when what
    /// it read was the event plus an unknown field (informational).
    Lenient,
    /// A 5xx or a dropped connection: the receiver failed on input it
    /// should have turned away (a SHOULD: gates only under `--strict`).
    ServerFailure,
    /// No answer within the probe's time: `within_deadline` judges that.
    NoAnswer,
}

/// Judges one breaker's probe. `delivered` says whether the status counts
/// as delivered for the provider.
pub(super) fn judge(breaker: &Breaker, probe: &Probe, delivered: bool) -> Judgement {
    let timed_out = matches!(&probe.answer, Err(e) if e.kind == reports::ErrorKind::Timeout);
    if timed_out {
        Judgement::NoAnswer
    } else if probe.is_server_failure() {
        Judgement::ServerFailure
    } else if delivered && breaker.class == Class::MustReject {
        Judgement::Lenient
    } else {
        Judgement::Held
    }
}

/// Sends every breaker once, built from a valid event of the first selected
/// type (the parser runs before any type is known; repeating the family per
/// type would only repeat the same finding), and records each judgement.
pub async fn run(ctx: &Context) -> Vec<CheckResult> {
    let Some(ty) = probe_type(ctx) else {
        let mut v = ResultBuilder::new("survives_parser_breakers", "*");
        v.skip("no event type selected");
        return vec![v.finish()];
    };
    let mut v = ResultBuilder::new("survives_parser_breakers", &ty.name);
    for breaker in breakers() {
        let event = ctx.valid(ty);
        let broken = breaker.apply(&event);
        let (mut headers, _) = ctx.sign(broken.body.clone());
        for (k, value) in headers.iter_mut() {
            if k.eq_ignore_ascii_case("content-type") {
                *value = broken.content_type.to_string();
            }
        }
        // `breaker: n_trailing-comma`: the class prefix as JSONTestSuite
        // names its files, so the level table can tell the classes apart.
        let variant = format!("breaker: {}{}", breaker.class.prefix(), breaker.label);
        let probe = ctx
            .send(ty, &variant, headers, Bytes::from(broken.body))
            .await;
        record(ctx, &mut v, breaker, &probe);
    }
    vec![v.finish()]
}

/// The type the breakers are built from: the first selected non-blocking
/// type (a plain delivery), else the first selected.
fn probe_type(ctx: &Context) -> Option<&EventType> {
    let types = &ctx.plan.types;
    types.iter().find(|t| !t.blocking).or_else(|| types.first())
}

/// Turns a judgement into the result. With today's pass/fail results a
/// server failure fails the check, a lenient parser passes and a timeout
/// is left to `within_deadline`; this is the one place that maps
/// judgements to verdict levels (server failure: NON-STRICT; lenient:
/// INFO; no answer: ERROR).
fn record(ctx: &Context, v: &mut ResultBuilder, breaker: &Breaker, probe: &Probe) {
    match judge(breaker, probe, ctx.is_success(probe)) {
        Judgement::Held | Judgement::Lenient => v.pass(),
        Judgement::ServerFailure => v.fail(ctx.failure(
            probe,
            format!(
                "parser breaker `{}` ({}: {}) caused a server failure: {}; \
                 answer 4xx to input that cannot be parsed",
                breaker.label,
                breaker.class.prefix(),
                breaker.description,
                probe.outcome_text()
            ),
        )),
        Judgement::NoAnswer => {}
    }
}
