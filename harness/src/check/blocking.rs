//! `blocking_response_schema`: blocking hooks must answer with a body valid
//! against the provider's response schema (Authgear: allowed/denied shapes,
//! no extra keys, mutations only where allowed).

use reports::CheckResult;

use super::{per_type, CheckId, Context, ResultBuilder, Seen};

/// Judges every blocking type; providers without blocking hooks skip.
pub async fn run(ctx: &Context) -> Vec<CheckResult> {
    if !ctx.plan.types.iter().any(|t| t.blocking) {
        let mut v = ResultBuilder::new(CheckId::BlockingResponseSchema, "*");
        v.skip(format!(
            "{} has no blocking hooks",
            ctx.plan.provider.name()
        ));
        return vec![v.finish()];
    }
    let results = per_type(ctx, |ty| async move {
        let mut v = ResultBuilder::new(CheckId::BlockingResponseSchema, &ty.name);
        if !ty.blocking {
            return v.finish();
        }
        let mut events = vec![("blocking: allowed path", ctx.valid(ty))];
        // A sign-up from a domain a receiver may deny exercises the denied shape.
        let mut denied = ctx.valid(ty);
        if let Some(email) = denied.pointer_mut("/payload/user/standard_attributes/email") {
            *email = serde_json::Value::String("someone@blocked.example".into());
            events.push(("blocking: denied path", denied));
        }
        for (variant, event) in events {
            let probe = super::acceptance::send_value(ctx, ty, variant, &event).await;
            let verdict = match &probe.answer {
                Ok(answer) if ctx.is_success(&probe) => {
                    serde_json::from_slice::<serde_json::Value>(&answer.body)
                        .map_err(|e| vec![format!("body is not JSON: {e}")])
                        .and_then(|body| generators::validate_blocking_response(&body))
                }
                _ => Ok(()),
            };
            match verdict {
                Ok(()) => v.judge(ctx, &probe, "the blocking hook's decision"),
                Err(errors) => v.judge_seen(
                    ctx,
                    &probe,
                    Seen::InvalidAnswer,
                    format!("the blocking hook's decision ({})", errors.join("; ")),
                ),
            };
        }
        v.finish()
    })
    .await;
    results.into_iter().filter(|r| r.cases > 0).collect()
}
