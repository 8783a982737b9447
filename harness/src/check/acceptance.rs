//! Acceptance checks: valid and still-valid forms must succeed
//! (`accepts_valid`, `tolerates_unknown_fields`, `tolerates_optional_absent`),
//! invalid forms should be rejected with 4xx (`rejects_invalid`: accepting
//! them is left open unless the ledger shows them processed), and nothing
//! may produce a 5xx or a dropped connection (`no_server_error`). Levels
//! come from `levels::TABLE`.

use generators::{EventType, Family, Mutated};
use proptest::strategy::ValueTree;
use reports::CheckResult;

use crate::header_case::HeaderCase;

use super::{join_all, per_type, CheckId, Context, Probe, ResultBuilder, Seen};

/// Still-valid variants that `accepts_valid` sends besides the plain valid form.
const EDGE_FORMS: &[&str] = &[
    "unicode-extreme",
    "max-length",
    "i64-edges",
    "deep-nesting",
    "large-array",
];

/// How many shrink steps a failing valid event gets (each is one request).
const SHRINK_STEPS: usize = 48;

/// `accepts_valid`: a few valid events per type plus the still-valid edge
/// forms; a failing valid event is shrunk to its smallest failing form.
pub async fn accepts_valid(ctx: &Context) -> Vec<CheckResult> {
    per_type(ctx, |ty| async move {
        let mut v = ResultBuilder::new(CheckId::AcceptsValid, &ty.name);
        for _ in 0..2 {
            let mut tree = ctx.generator.lock().expect("generator lock").tree(ty);
            let event = tree.current();
            let probe = send_value(ctx, ty, "valid", &event).await;
            if ctx.is_success(&probe) || probe.timed_out() || probe.not_sent {
                // A timeout is inconclusive here: nothing to shrink.
                v.judge(ctx, &probe, format!("valid {} event", ty.name));
                continue;
            }
            let original = probe.body.len();
            let (probe, steps) = shrink(ctx, ty, &mut tree, probe).await;
            v.judge(
                ctx,
                &probe,
                format!(
                    "valid {} event (shrunk from {original} to {} bytes in {steps} steps)",
                    ty.name,
                    probe.body.len()
                ),
            );
            break;
        }
        expect_accepted(ctx, ty, EDGE_FORMS, &mut v).await;
        expect_any_header_case(ctx, ty, &mut v).await;
        v.finish()
    })
    .await
}

/// The same valid delivery with its header names in Title-Case and in
/// UPPER CASE: names are case-insensitive (RFC 9110 §5.1) and senders'
/// stacks differ. HTTP/2 names are always lowercase, so not sent there.
async fn expect_any_header_case(ctx: &Context, ty: &EventType, v: &mut ResultBuilder) {
    if ctx.plan.client.http2 {
        return;
    }
    for case in [HeaderCase::Title, HeaderCase::Upper] {
        let event = ctx
            .generator
            .lock()
            .expect("generator lock")
            .tree(ty)
            .current();
        let (headers, body) = ctx.sign_event(&event);
        let variant = format!("valid, header names {}", case.label());
        let probe = ctx.send_cased(ty, &variant, headers, body, case).await;
        v.judge(ctx, &probe, format!("valid {} event, {variant}", ty.name));
    }
}

/// A still-valid family check: every listed variant must be accepted.
pub async fn still_valid(
    ctx: &Context,
    id: CheckId,
    labels: &'static [&'static str],
) -> Vec<CheckResult> {
    per_type(ctx, |ty| async move {
        let mut v = ResultBuilder::new(id, &ty.name);
        expect_accepted(ctx, ty, labels, &mut v).await;
        v.finish()
    })
    .await
}

/// Sends each still-valid variant in `labels`; each must be accepted.
async fn expect_accepted(ctx: &Context, ty: &EventType, labels: &[&str], v: &mut ResultBuilder) {
    for label in labels {
        let Some(probe) = send_variant(ctx, ty, label).await else {
            continue;
        };
        v.judge(ctx, &probe, format!("still-valid form `{label}`"));
    }
}

/// `rejects_invalid`: every invalid variant should get a 4xx. Accepting one
/// is INFO, unless the ledger shows it processed (NON-STRICT): the ledger
/// is read once, after every type was sent.
pub async fn rejects_invalid(ctx: &Context) -> Vec<CheckResult> {
    let sent = join_all(ctx.plan.types.iter().map(|ty| async move {
        let mut probes = Vec::new();
        for variant in generators::variants() {
            if variant.family != Family::Invalid {
                continue;
            }
            if let Some(probe) = send_variant(ctx, ty, variant.label).await {
                probes.push((variant, probe));
            }
        }
        probes
    }))
    .await;
    let accepted = sent.iter().flatten().any(|(_, p)| ctx.is_success(p));
    let processed: std::collections::HashSet<String> = match (&ctx.plan.ledger, accepted) {
        (Some(_), true) => ctx
            .read_ledger()
            .await
            .map(|l| l.into_iter().map(|e| e.id).collect())
            .unwrap_or_default(),
        _ => Default::default(),
    };
    ctx.plan
        .types
        .iter()
        .zip(sent)
        .map(|(ty, probes)| {
            let mut v = ResultBuilder::new(CheckId::RejectsInvalid, &ty.name);
            for (variant, probe) in probes {
                let what = format!("invalid form `{}` ({})", variant.label, variant.description);
                let was_processed = ctx.is_success(&probe)
                    && ctx.events_in(&probe.body).iter().any(|event| {
                        ctx.dedupe_value(event, &probe.headers)
                            .is_some_and(|key| processed.contains(&key))
                    });
                if was_processed {
                    v.judge_seen(ctx, &probe, Seen::Processed, what);
                } else {
                    v.judge(ctx, &probe, what);
                }
            }
            v.finish()
        })
        .collect()
}

/// `no_server_error`: judged over every probe the run sent for each type.
pub fn no_server_error(ctx: &Context) -> Vec<CheckResult> {
    ctx.plan
        .types
        .iter()
        .map(|ty| {
            let mut v = ResultBuilder::new(CheckId::NoServerError, &ty.name);
            // Parser breakers have their own check and verdict.
            let probes: Vec<_> = ctx
                .journal_of(&ty.name)
                .into_iter()
                .filter(|p| !p.variant.starts_with("breaker: "))
                .collect();
            for probe in &probes {
                v.judge(ctx, probe, format!("`{}`", probe.variant));
            }
            // A receiver that never answers has not shown that it does not
            // fail: no answer at all leaves the check unjudged, not passed.
            if !probes.is_empty() && probes.iter().all(|p| p.status().is_none()) {
                v.unjudged(format!(
                    "none of the {} probes got an answer ({}): a receiver that never answers \
                     cannot be judged free of server errors",
                    probes.len(),
                    probes[0].outcome_text()
                ));
            }
            v.finish()
        })
        .collect()
}

/// Signs and sends a JSON event.
pub(super) async fn send_value(
    ctx: &Context,
    ty: &EventType,
    variant: &str,
    event: &serde_json::Value,
) -> Probe {
    let (headers, body) = ctx.sign_event(event);
    ctx.send(ty, variant, headers, body).await
}

/// Builds, signs and sends an adversarial variant; `None` when the variant
/// does not apply to this type.
pub(super) async fn send_variant(ctx: &Context, ty: &EventType, label: &str) -> Option<Probe> {
    let variant = generators::find_variant(label).ok()?;
    let mutated: Mutated = ctx
        .generator
        .lock()
        .expect("generator lock")
        .mutate(ty, variant);
    // A batching provider's probe is a batch of the one mutated event.
    let (mut headers, body) = ctx.sign(ctx.batched(mutated.body));
    // Signed over the mutated bytes, so only the property under test differs.
    for (k, v) in headers.iter_mut() {
        if k.eq_ignore_ascii_case("content-type") {
            *v = mutated.content_type.clone();
        }
    }
    Some(ctx.send(ty, label, headers, body).await)
}

/// Shrinks a failing valid event with proptest's value tree: simplify while
/// the receiver still fails, complicate back when it starts passing. Every
/// candidate gets a fresh id so it is not deduplicated away. Returns the
/// probe of the smallest failing form (its body is in the failure report)
/// and the number of requests shrinking took.
async fn shrink(
    ctx: &Context,
    ty: &EventType,
    tree: &mut generators::EventTree,
    first: Probe,
) -> (Probe, usize) {
    let mut best = first;
    if !tree.simplify() {
        return (best, 0);
    }
    let mut steps = 0;
    while steps < SHRINK_STEPS {
        steps += 1;
        let mut candidate = tree.current();
        ctx.reidentify(&mut candidate);
        let probe = send_value(ctx, ty, "valid (shrunk)", &candidate).await;
        let more = if ctx.is_success(&probe) {
            tree.complicate()
        } else {
            best = probe;
            tree.simplify()
        };
        if !more {
            break;
        }
    }
    (best, steps)
}
