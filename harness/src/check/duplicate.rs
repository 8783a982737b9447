//! `duplicate_idempotent`: the same event delivered twice — in sequence,
//! concurrently, and re-sent after the sender gave up waiting — must be
//! acknowledged both times and processed once.
//!
//! Re-sends follow the provider's own redelivery: Standard Webhooks keeps
//! the `webhook-id`, Infrahub sends the same body `id` under a fresh
//! `webhook-id`, the others re-send the identical request. A batching
//! provider (Auth0 Log Streams: "at least once", up to three attempts per
//! log) also re-sends a batch that overlaps one already delivered: the
//! event in both must be processed once, by its own key.

use std::time::Duration;

use reports::CheckResult;
use serde_json::Value;

use super::{per_type, CheckId, Context, Probe, ResultBuilder, Seen};

/// How long the "impatient" first send waits before giving up.
const GIVE_UP_AFTER: Duration = Duration::from_millis(5);

/// One duplicated event: its dedupe value and the acknowledged sends.
struct Duplicated {
    how: &'static str,
    key: Option<String>,
    probes: Vec<Probe>,
}

/// The events of two overlapping batches, each to be processed once: the
/// one both carried, then the one only the first and only the second did.
struct Overlap {
    keys: [Option<String>; 3],
    probes: [Probe; 2],
}

/// Runs the three duplicate shapes for every type.
pub async fn run(ctx: &Context) -> Vec<CheckResult> {
    per_type(ctx, |ty| async move {
        let mut v = ResultBuilder::new(CheckId::DuplicateIdempotent, &ty.name);
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

        // 4. Overlapping batches, where the provider batches.
        let overlap = match ctx.profile().batch {
            Some(b) if b.per_request() >= 2 => Some(overlapping(ctx, ty).await),
            _ => None,
        };

        for case in &cases {
            for probe in &case.probes {
                v.judge(ctx, probe, format!("a duplicate delivered {}", case.how));
            }
        }
        for probe in overlap.iter().flat_map(|o| &o.probes) {
            v.judge(ctx, probe, "a batch overlapping one already delivered");
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
        if let Some(overlap) = &overlap {
            let hows = [
                "in two overlapping batches",
                "in the first batch only",
                "in the re-sent batch only",
            ];
            for (key, how) in overlap.keys.iter().zip(hows) {
                let Some(key) = key else { continue };
                let count = ledger.iter().filter(|e| &e.id == key).count();
                if count == 1 {
                    v.pass();
                } else {
                    v.judge_seen(
                        ctx,
                        &overlap.probes[1],
                        if count == 0 { Seen::Lost } else { Seen::ProcessedTwice },
                        format!(
                            "event `{key}` delivered {how} was processed {count} times (ledger), expected once"
                        ),
                    );
                }
            }
        }
        v.finish()
    })
    .await
}

/// Sends the batch `[a, b]`, then `[b, c]`: a re-send that carries `b`
/// again beside an event not delivered yet.
async fn overlapping(ctx: &Context, ty: &generators::EventType) -> Overlap {
    let events = [ctx.valid(ty), ctx.valid(ty), ctx.valid(ty)];
    let (first_headers, first) = ctx.sign_batch(&[&events[0], &events[1]]);
    let (again_headers, again) = ctx.sign_batch(&[&events[1], &events[2]]);
    let p1 = ctx
        .send(ty, "duplicate: batch", first_headers.clone(), first)
        .await;
    let p2 = ctx
        .send(ty, "duplicate: overlapping batch", again_headers, again)
        .await;
    let key = |e: &Value| ctx.dedupe_value(e, &first_headers);
    Overlap {
        keys: [key(&events[1]), key(&events[0]), key(&events[2])],
        probes: [p1, p2],
    }
}

/// A fresh valid event of `ty`, signed.
fn signed(
    ctx: &Context,
    ty: &generators::EventType,
) -> (Value, Vec<(String, String)>, bytes::Bytes) {
    let event = ctx.valid(ty);
    let (headers, body) = ctx.sign_event(&event);
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
