//! `survives_parser_breakers`: correctly signed bodies that break JSON
//! parsers and text decoders at the byte level (JSONTestSuite's `n_` and
//! `i_` taxonomy, invalid UTF-8, BOMs, UTF-16, extreme nesting; see
//! `generators::breaker`). They pass signature verification, so they reach
//! the receiver's parser; no provider sends them, so the receiver may reject
//! any of them and accept those RFC 8259 leaves to the implementation. What
//! it must not do is answer 5xx (the sender retries the same bytes) or drop
//! the connection (it crashed).

use bytes::Bytes;
use generators::{breakers, EventType};
use reports::CheckResult;

use super::{CheckId, Context, ResultBuilder};

/// Sends every breaker once, built from a valid event of the first selected
/// type (the parser runs before any type is known; repeating the family per
/// type would only repeat the same finding). Each answer is judged by the
/// level table (`levels.rs`): a 5xx or a dropped connection is NON-STRICT,
/// a must-reject (`n_`) body accepted is INFO, anything else passes.
pub async fn run(ctx: &Context) -> Vec<CheckResult> {
    let Some(ty) = probe_type(ctx) else {
        let mut v = ResultBuilder::new(CheckId::SurvivesParserBreakers, "*");
        v.skip("no event type selected");
        return vec![v.finish()];
    };
    let mut v = ResultBuilder::new(CheckId::SurvivesParserBreakers, &ty.name);
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
        v.judge(
            ctx,
            &probe,
            format!(
                "parser breaker `{}` ({})",
                breaker.label, breaker.description
            ),
        );
    }
    vec![v.finish()]
}

/// The type the breakers are built from: the first selected non-blocking
/// type (a plain delivery), else the first selected.
fn probe_type(ctx: &Context) -> Option<&EventType> {
    let types = &ctx.plan.types;
    types.iter().find(|t| !t.blocking).or_else(|| types.first())
}
