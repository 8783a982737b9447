//! `no_loss`: a burst of concurrent deliveries; every acknowledged event
//! must appear in the ledger exactly once. A batching provider's
//! deliveries are full batches, judged event by event.

use reports::CheckResult;

use super::{join_all, CheckId, Context, ResultBuilder, Seen};

/// Sends the burst across all selected types and judges the ledger.
pub async fn run(ctx: &Context) -> Vec<CheckResult> {
    let mut v = ResultBuilder::new(CheckId::NoLoss, "*");
    if ctx.plan.ledger.is_none() {
        v.skip("no_loss is judged from the ledger: pass --ledger-url or --ledger-cmd");
        return vec![v.finish()];
    }
    let types: Vec<_> = ctx.plan.types.iter().filter(|t| !t.blocking).collect();
    let types = if types.is_empty() {
        ctx.plan.types.iter().collect()
    } else {
        types
    };
    let width = (ctx.plan.concurrency * 4).max(1);
    let per_request = ctx.profile().events_per_request() as usize;
    let mut acknowledged = Vec::new();
    let mut sent = 0;
    while sent < ctx.plan.burst {
        let n = width.min(ctx.plan.burst - sent);
        let wave: Vec<_> = (sent..sent + n)
            .map(|i| {
                let ty = types[i % types.len()];
                async move {
                    let events: Vec<_> = (0..per_request).map(|_| ctx.valid(ty)).collect();
                    let (headers, body) = match ctx.profile().batch {
                        Some(_) => ctx.sign_batch(&events.iter().collect::<Vec<_>>()),
                        None => ctx.sign_event(&events[0]),
                    };
                    let keys: Vec<_> = events
                        .iter()
                        .map(|event| ctx.dedupe_value(event, &headers))
                        .collect();
                    (ctx.send(ty, "burst", headers, body).await, keys)
                }
            })
            .collect();
        for (probe, keys) in join_all(wave).await {
            if ctx.is_success(&probe) {
                acknowledged.extend(keys.into_iter().map(|key| (probe.clone(), key)));
            }
        }
        sent += n;
    }
    let ledger = match ctx.read_ledger().await {
        Ok(l) => l,
        Err(e) => {
            v.ledger_unreadable(ctx, &e);
            return vec![v.finish()];
        }
    };
    let mut counts = std::collections::HashMap::new();
    for entry in &ledger {
        *counts.entry(entry.id.as_str()).or_insert(0usize) += 1;
    }
    let mut missing = 0;
    let mut doubled = 0;
    let mut first_bad = None;
    for (probe, key) in &acknowledged {
        let Some(key) = key else { continue };
        match counts.get(key.as_str()).copied().unwrap_or(0) {
            1 => {}
            0 => {
                missing += 1;
                first_bad.get_or_insert(probe);
            }
            _ => {
                doubled += 1;
                first_bad.get_or_insert(probe);
            }
        }
    }
    match first_bad {
        None if !acknowledged.is_empty() => {
            for _ in &acknowledged {
                v.pass();
            }
        }
        None => v.skip(format!(
            "none of the {} burst deliveries was acknowledged",
            ctx.plan.burst
        )),
        Some(probe) => {
            v.judge_seen(
                ctx,
                probe,
                Seen::Lost,
                format!(
                    "of {} acknowledged events in a burst of {}{} ({} in flight), {missing} never reached the ledger and {doubled} were processed more than once",
                    acknowledged.len(),
                    ctx.plan.burst,
                    if per_request > 1 {
                        format!(" batches of {per_request}")
                    } else {
                        String::new()
                    },
                    ctx.plan.concurrency.max(1)
                ),
            );
        }
    }
    vec![v.finish()]
}
