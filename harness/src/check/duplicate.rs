//! `duplicate_idempotent`: the same event delivered twice — in sequence,
//! concurrently, and re-sent after the sender gave up waiting — must be
//! acknowledged both times and processed once.
//!
//! Re-sends follow the provider's own redelivery: Standard Webhooks keeps
//! the `webhook-id`, Infrahub sends the same body `id` under a fresh
//! `webhook-id`, the others re-send the identical request.

use std::time::Duration;

use reports::CheckResult;
use serde_json::Value;

use super::{per_type, Context, Probe, ResultBuilder, Seen};

/// How long the "impatient" first send waits before giving up.
const GIVE_UP_AFTER: Duration = Duration::from_millis(5);

/// One duplicated event: its dedupe value and the acknowledged sends.
struct Duplicated {
    how: &'static str,
    key: Option<String>,
    probes: Vec<Probe>,
}

/// Runs the three duplicate shapes for every type.
pub async fn run(ctx: &Context) -> Vec<CheckResult> {
    per_type(ctx, |ty| async move {
        let mut v = ResultBuilder::new("duplicate_idempotent", &ty.name);
        let mut cases = Vec::new();

        // 1. In sequence.
        let (event, a_headers, body) = signed(ctx, ty);
        let first = ctx.send(ty, "duplicate: first", a_headers.clone(), body.clone()).await;
        let second_headers = redelivery_headers(ctx, &body, &a_headers);
        let second = ctx.send(ty, "duplicate: in sequence", second_headers, body).await;
        cases.push(Duplicated {
            how: "in sequence",
            key: ctx.dedupe_value(&event, &a_headers),
            probes: vec![first, second],
        });

        // 2. Concurrently.
        let (event, headers, body) = signed(ctx, ty);
        let again = redelivery_headers(ctx, &body, &headers);
        let (p1, p2) = tokio::join!(
            ctx.send(ty, "duplicate: concurrent", headers.clone(), body.clone()),
            ctx.send(ty, "duplicate: concurrent", again, body)
        );
        cases.push(Duplicated {
            how: "concurrently",
            key: ctx.dedupe_value(&event, &headers),
            probes: vec![p1, p2],
        });

        // 3. After the sender gave up waiting on the first send.
        let (event, headers, body) = signed(ctx, ty);
        let _abandoned = ctx
            .send_abandoned(ty, "duplicate: abandoned", headers.clone(), body.clone(), GIVE_UP_AFTER)
            .await;
        let again = redelivery_headers(ctx, &body, &headers);
        let resent = ctx.send(ty, "duplicate: re-sent after give-up", again, body).await;
        cases.push(Duplicated {
            how: "after the sender gave up",
            key: ctx.dedupe_value(&event, &headers),
            probes: vec![resent],
        });

        for case in &cases {
            for probe in &case.probes {
                v.judge(ctx, probe, format!("a duplicate delivered {}", case.how));
            }
        }
        if v.has_failed() {
            return v.finish();
        }
        if ctx.plan.ledger.is_none() {
            v.skip("effect-once part needs --ledger-url or --ledger-cmd (acknowledgements passed)");
            return v.finish();
        }
        let ledger = match ctx.read_ledger().await {
            Ok(l) => l,
            Err(e) => {
                v.ledger_unreadable(ctx, &e);
                return v.finish();
            }
        };
        for case in &cases {
            let Some(key) = &case.key else { continue };
            let count = ledger.iter().filter(|e| &e.id == key).count();
            let probe = case.probes.last().expect("each case sent at least once");
            if count == 1 {
                v.pass();
            } else {
                v.judge_seen(
                    ctx,
                    probe,
                    Seen::ProcessedTwice,
                    format!(
                        "event `{key}` delivered twice {} was processed {count} times (ledger), expected once",
                        case.how
                    ),
                );
            }
        }
        v.finish()
    })
    .await
}

/// A fresh valid event of `ty`, signed.
fn signed(
    ctx: &Context,
    ty: &generators::EventType,
) -> (Value, Vec<(String, String)>, bytes::Bytes) {
    let event = ctx.valid(ty);
    let (headers, body) = ctx.sign(serde_json::to_vec(&event).expect("JSON values serialize"));
    (event, headers, body)
}

/// The headers of a redelivery: a fresh message id where the provider
/// mints one per attempt (Infrahub), the same headers otherwise.
fn redelivery_headers(
    ctx: &Context,
    body: &bytes::Bytes,
    original: &[(String, String)],
) -> Vec<(String, String)> {
    if ctx.profile().redelivery.fresh_message_id {
        ctx.sign(body.to_vec()).0
    } else {
        original.to_vec()
    }
}
