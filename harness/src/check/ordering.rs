//! `ordering`: one subject's events delivered out of order; the receiver's
//! processing (its ledger) must follow the declared policy.
//!
//! - `strict`: every event processed, in ordering-key order;
//! - `last-write-wins`: what is processed for the subject has increasing
//!   ordering keys and includes the newest event (older ones may be dropped);
//! - `none`: nothing promised, so nothing to judge (skipped);
//! - `arrival`: the receiver processes each delivery before acknowledging
//!   it. The sequence is sent one event at a time, each after the previous
//!   was acknowledged (as a sender that waits for each answer delivers);
//!   the ledger must show the subject's events in that acknowledgement
//!   order, every one of them. No ordering key is needed to judge it.

use bytes::Bytes;
use generators::EventType;
use reports::CheckResult;
use serde_json::Value;

use super::{CheckId, Context, Probe, ResultBuilder, Seen};
use crate::clock::now_unix;
use crate::ledger::OrderingPolicy;

/// Delivery orders for the sequences (indices into the sequence), all
/// different from the natural order.
const SHUFFLES: &[&[usize]] = &[&[3, 2, 1, 0], &[2, 0, 3, 1], &[1, 3, 0, 2]];

/// The event types of one subject's life, in order (the profile's
/// `lifecycle`); without one, the first type of the run, four times.
fn sequence(ctx: &Context) -> Vec<&str> {
    let lifecycle = &ctx.profile().lifecycle;
    if !lifecycle.is_empty() {
        return lifecycle.iter().map(String::as_str).collect();
    }
    ctx.plan
        .types
        .first()
        .map(|t| vec![t.name.as_str(); 4])
        .unwrap_or_default()
}

/// An event with the headers and body it is delivered with.
type Signed = (Value, Vec<(String, String)>, Bytes);

/// One shuffled sequence as it was sent.
struct Run {
    /// Each event's dedupe key, in the natural order.
    keys: Vec<Option<String>>,
    /// The natural positions in delivery (and acknowledgement) order.
    delivered: &'static [usize],
    /// The probes, in delivery order.
    probes: Vec<Probe>,
}

/// Runs the shuffled sequences and judges the ledger.
pub async fn run(ctx: &Context) -> Vec<CheckResult> {
    let names = sequence(ctx);
    let label = if names.is_empty() {
        "*".to_string()
    } else {
        names.join(" → ")
    };
    let mut v = ResultBuilder::new(CheckId::Ordering, &label);
    let key = ctx.profile().ordering_key.clone();
    if key.is_none() && ctx.plan.ordering != OrderingPolicy::Arrival {
        v.skip(format!(
            "{} deliveries carry no ordering key",
            ctx.plan.provider.name()
        ));
        return vec![v.finish()];
    }
    if ctx.plan.ordering == OrderingPolicy::None {
        v.skip("declared ordering policy is `none`: no order to judge");
        return vec![v.finish()];
    }
    let types: Vec<&EventType> = match names
        .iter()
        .map(|n| ctx.plan.types.iter().find(|t| &t.name == n))
        .collect::<Option<Vec<_>>>()
    {
        Some(t) if !t.is_empty() => t,
        _ => {
            v.skip("the sequence's event types are not all selected");
            return vec![v.finish()];
        }
    };

    // Send every sequence shuffled, remembering each event's place.
    let mut runs: Vec<Run> = Vec::new();
    for shuffle in SHUFFLES {
        let subject = ctx.fresh_uuid();
        let base = now_unix() - 60;
        let mut generated: Vec<Value> = types
            .iter()
            .map(|ty| {
                ctx.generator
                    .lock()
                    .expect("generator lock")
                    .valid_for_subject(ty, &subject)
            })
            .collect();
        // Every key counts up from the first event's, whatever the
        // generator chose for each.
        let start = key
            .as_deref()
            .and_then(|k| generated[0].pointer(k).cloned());
        for (i, event) in generated.iter_mut().enumerate() {
            if let Some(key) = key.as_deref() {
                set_order(event, key, i as i64, base, start.as_ref());
            }
            // The subject key may be nullable in the schema (Infrahub's
            // top-level account_id): pin it, or there is no order to judge.
            if let Some(slot) = ctx
                .profile()
                .subject_key
                .as_deref()
                .and_then(|k| event.pointer_mut(k))
            {
                *slot = Value::String(subject.clone());
            }
        }
        let events: Vec<Signed> = generated
            .into_iter()
            .map(|event| {
                let (headers, body) = ctx.sign_event(&event);
                (event, headers, body)
            })
            .collect();
        let keys: Vec<Option<String>> = events
            .iter()
            .map(|(e, h, _)| ctx.dedupe_value(e, h))
            .collect();
        let mut probes = Vec::new();
        for &i in *shuffle {
            let (_, headers, body) = &events[i];
            let probe = ctx
                .send(
                    types[i],
                    &format!(
                        "ordering: event {} of {} sent at position {}",
                        i + 1,
                        events.len(),
                        probes.len() + 1
                    ),
                    headers.clone(),
                    body.clone(),
                )
                .await;
            v.judge(ctx, &probe, "an out-of-order delivery");
            probes.push(probe);
        }
        runs.push(Run {
            keys,
            delivered: shuffle,
            probes,
        });
    }
    if v.has_failed() {
        return vec![v.finish()];
    }
    if ctx.plan.ledger.is_none() {
        v.skip("ordering is judged from the ledger: pass --ledger-url or --ledger-cmd");
        return vec![v.finish()];
    }
    let ledger = match ctx.read_ledger().await {
        Ok(l) => l,
        Err(e) => {
            v.ledger_unreadable(ctx, &e);
            return vec![v.finish()];
        }
    };
    for Run {
        keys,
        delivered,
        probes,
    } in &runs
    {
        // Positions (in the natural order) of this subject's processed events.
        let processed: Vec<usize> = ledger
            .iter()
            .filter_map(|entry| {
                keys.iter()
                    .position(|k| k.as_deref() == Some(entry.id.as_str()))
            })
            .collect();
        let increasing = processed.windows(2).all(|w| w[0] < w[1]);
        let newest = keys.len() - 1;
        let ok = judge(ctx.plan.ordering, &processed, delivered, newest, increasing);
        let last = probes.last().expect("every sequence sends events");
        if ok {
            v.pass();
        } else {
            v.judge_seen(
                ctx,
                last,
                Seen::OutOfOrder,
                format!(
                    "policy `{}`: delivered in order {:?}, the ledger shows processing order {:?} (1 = oldest)",
                    ctx.plan.ordering.name(),
                    probes_order(probes),
                    processed.iter().map(|p| p + 1).collect::<Vec<_>>()
                ),
            );
        }
    }
    vec![v.finish()]
}

/// Whether a subject's processing order (`processed`: positions in the
/// natural order, as the ledger lists them) keeps `policy`, given the order
/// the events were delivered and acknowledged in (`delivered`).
fn judge(
    policy: OrderingPolicy,
    processed: &[usize],
    delivered: &[usize],
    newest: usize,
    increasing: bool,
) -> bool {
    match policy {
        OrderingPolicy::Strict => processed.iter().copied().eq(0..=newest),
        OrderingPolicy::LastWriteWins => increasing && processed.last() == Some(&newest),
        OrderingPolicy::None => true,
        OrderingPolicy::Arrival => processed == delivered,
    }
}

/// The natural positions in delivery order, read back from probe labels.
fn probes_order(probes: &[Probe]) -> Vec<usize> {
    probes
        .iter()
        .filter_map(|p| {
            p.variant
                .strip_prefix("ordering: event ")
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .collect()
}

/// Sets the ordering key of the `i`-th event so the sequence is strictly
/// increasing whatever the generator chose: integers count up from `start`
/// (the first event's value), timestamps advance one second per event.
fn set_order(event: &mut Value, key: &str, i: i64, base_unix: i64, start: Option<&Value>) {
    let Some(slot) = event.pointer_mut(key) else {
        return;
    };
    let next = match &*slot {
        Value::String(_) => Value::String(rfc3339(base_unix + i)),
        Value::Number(n) => {
            let first = start.and_then(Value::as_i64).or_else(|| n.as_i64());
            let start = first.unwrap_or(0).clamp(0, i64::MAX / 2);
            // Millisecond keys (FusionAuth createInstant) step by a second too.
            let step = if start > 100_000_000_000 { 1000 } else { 1 };
            Value::from(start + i * step)
        }
        _ => return,
    };
    *slot = next;
}

/// Formats UNIX seconds as `YYYY-MM-DDTHH:MM:SS.000000Z` (UTC), the way
/// Infrahub writes `occured_at`.
pub fn rfc3339(unix: i64) -> String {
    generators::fake::rfc3339_micros(unix.saturating_mul(1_000_000), 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(1_670_570_552), "2022-12-09T07:22:32.000000Z");
        assert_eq!(rfc3339(951_825_600), "2000-02-29T12:00:00.000000Z");
    }

    #[test]
    fn shuffles_are_real_shuffles() {
        for s in SHUFFLES {
            assert_ne!(*s, &[0, 1, 2, 3]);
            let mut sorted = s.to_vec();
            sorted.sort();
            assert_eq!(sorted, vec![0, 1, 2, 3]);
        }
    }

    #[test]
    fn arrival_wants_every_event_in_acknowledgement_order() {
        let delivered = [2, 0, 3, 1];
        let judge_arrival =
            |processed: &[usize]| judge(OrderingPolicy::Arrival, processed, &delivered, 3, false);
        assert!(judge_arrival(&[2, 0, 3, 1]));
        // Sorted by ordering key after acknowledging: not the ack order.
        assert!(!judge_arrival(&[0, 1, 2, 3]));
        // One dropped: an acknowledged event was never processed.
        assert!(!judge_arrival(&[2, 0, 3]));
        // The other policies judge the same ledger differently.
        assert!(judge(
            OrderingPolicy::Strict,
            &[0, 1, 2, 3],
            &delivered,
            3,
            true
        ));
        assert!(!judge(
            OrderingPolicy::Strict,
            &[2, 0, 3, 1],
            &delivered,
            3,
            false
        ));
        assert!(judge(
            OrderingPolicy::LastWriteWins,
            &[2, 3],
            &delivered,
            3,
            true
        ));
        assert!(judge(OrderingPolicy::None, &[1], &delivered, 3, true));
    }

    #[test]
    fn order_keys_increase() {
        let mut a = serde_json::json!({"seq": 10});
        set_order(&mut a, "/seq", 2, 0, None);
        assert_eq!(a["seq"], 12);
        // Later events count from the first event's value, not their own.
        let first = serde_json::json!(1_700_000_000_000i64);
        let mut b = serde_json::json!({"t": 1_500_000_000_000i64});
        set_order(&mut b, "/t", 1, 0, Some(&first));
        assert_eq!(b["t"], 1_700_000_001_000i64);
    }
}
