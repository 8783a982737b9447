//! The signature battery: every hostile case of the provider's scheme must
//! be rejected (401/403; 400 is INFO), every benign oddity (key rotation,
//! timestamps just inside the window) must be accepted. Forms that cannot
//! be forged (uppercase hex, an unknown `kid` with a valid HMAC, a timestamp
//! 305 s off) are INFO when accepted: `levels::TABLE` says so.
//!
//! Cases come from `generators::signature_cases`, so the battery follows the
//! scheme: Authgear has no timestamp (no stale cases), only FusionAuth has a
//! JWT (alg none / confusion / kid).

use bytes::Bytes;
use generators::{Scheme, SignatureCase};
use reports::CheckResult;

use super::{per_type, CheckId, Context, ResultBuilder};
use crate::clock::now_unix;

/// Which check a signature case belongs to.
pub(super) fn check_of(label: &str) -> CheckId {
    match label {
        "missing" => CheckId::RejectsMissingSignature,
        "stale" | "future" | "expired" | "far-future" | "just-inside-past"
        | "just-inside-future" | "replayed" => CheckId::RejectsStaleSignature,
        "alg-none" | "alg-confusion" | "wrong-kid" => CheckId::RejectsJwtAlgNone,
        _ => CheckId::RejectsBadSignature,
    }
}

/// Why a check has no cases for a scheme.
fn no_cases_reason(id: CheckId, scheme: &Scheme) -> String {
    let name = scheme.noun();
    match id {
        CheckId::RejectsStaleSignature if scheme.has_timestamp() => format!(
            "{name} sign a timestamp but the sender documents no window a receiver must enforce"
        ),
        CheckId::RejectsStaleSignature => format!("{name} carry no timestamp to be stale"),
        CheckId::RejectsJwtAlgNone => format!("{name} are not JWTs"),
        _ => format!("{name} have no case for this check"),
    }
}

/// Runs one signature check for every event type.
pub async fn run(ctx: &Context, id: CheckId) -> Vec<CheckResult> {
    let cases: Vec<SignatureCase> = generators::signature_cases(&ctx.profile().scheme)
        .into_iter()
        .filter(|c| check_of(c.label) == id)
        .collect();
    let cases = &cases;
    per_type(ctx, |ty| async move {
        let mut v = ResultBuilder::new(id, &ty.name);
        if cases.is_empty() {
            v.skip(no_cases_reason(id, &ctx.profile().scheme));
            return v.finish();
        }
        for case in cases {
            let event = ctx.valid(ty);
            let body = ctx.batched(serde_json::to_vec(&event).expect("JSON values serialize"));
            let msg_id = ctx.fresh_message_id();
            let delivery = generators::apply_case(
                case,
                &ctx.signer,
                &ctx.plan.secret,
                &body,
                &msg_id,
                now_unix(),
            );
            let probe = ctx
                .send(ty, case.label, delivery.headers, Bytes::from(delivery.body))
                .await;
            v.judge(
                ctx,
                &probe,
                format!("signature case `{}` ({})", case.label, case.description),
            );
        }
        v.finish()
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_map_to_their_checks() {
        assert_eq!(check_of("missing"), CheckId::RejectsMissingSignature);
        assert_eq!(check_of("alg-none"), CheckId::RejectsJwtAlgNone);
        assert_eq!(check_of("wrong-kid"), CheckId::RejectsJwtAlgNone);
        assert_eq!(check_of("tampered-body"), CheckId::RejectsBadSignature);
        assert_eq!(check_of("future"), CheckId::RejectsStaleSignature);
    }
}
