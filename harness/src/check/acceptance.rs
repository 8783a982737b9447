//! Acceptance checks: valid and still-valid forms must succeed
//! (`accepts_valid`, `tolerates_unknown_fields`, `tolerates_optional_absent`),
//! invalid forms must be rejected with 4xx (`rejects_invalid`), and nothing
//! anywhere may produce a 5xx or a dropped connection (`no_server_error`).

use bytes::Bytes;
use generators::{EventType, Family, Mutated};
use proptest::strategy::ValueTree;
use reports::CheckResult;

use super::{per_type, Context, Probe, ResultBuilder};

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
        let mut v = ResultBuilder::new("accepts_valid", &ty.name);
        for _ in 0..2 {
            let mut tree = ctx.generator.lock().expect("generator lock").tree(ty);
            let event = tree.current();
            let probe = send_value(ctx, ty, "valid", &event).await;
            if ctx.is_success(&probe) {
                v.pass();
                continue;
            }
            let original = probe.body.len();
            let (probe, steps) = shrink(ctx, ty, &mut tree, probe).await;
            v.fail(ctx.failure(
                &probe,
                format!(
                    "valid {} event not accepted: {} (shrunk from {original} to {} bytes in {steps} steps)",
                    ty.name,
                    probe.outcome_text(),
                    probe.body.len()
                ),
            ));
            break;
        }
        expect_accepted(ctx, ty, EDGE_FORMS, &mut v).await;
        v.finish()
    })
    .await
}

/// A still-valid family check: every listed variant must be accepted.
pub async fn still_valid(
    ctx: &Context,
    id: &'static str,
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
        v.expect(ctx.is_success(&probe), || {
            ctx.failure(
                &probe,
                format!(
                    "still-valid form `{label}` not accepted: {}",
                    probe.outcome_text()
                ),
            )
        });
    }
}

/// `rejects_invalid`: every invalid variant must get a 4xx.
pub async fn rejects_invalid(ctx: &Context) -> Vec<CheckResult> {
    per_type(ctx, |ty| async move {
        let mut v = ResultBuilder::new("rejects_invalid", &ty.name);
        for variant in generators::variants() {
            if variant.family != Family::Invalid {
                continue;
            }
            let Some(probe) = send_variant(ctx, ty, variant.label).await else {
                continue;
            };
            v.expect(probe.is_rejection(), || {
                let why = if ctx.is_success(&probe) {
                    "was accepted"
                } else {
                    "was not answered with 4xx"
                };
                ctx.failure(
                    &probe,
                    format!(
                        "invalid form `{}` ({}) {why}: {}",
                        variant.label,
                        variant.description,
                        probe.outcome_text()
                    ),
                )
            });
        }
        v.finish()
    })
    .await
}

/// `no_server_error`: judged over every probe the run sent for each type.
pub fn no_server_error(ctx: &Context) -> Vec<CheckResult> {
    ctx.plan
        .types
        .iter()
        .map(|ty| {
            let mut v = ResultBuilder::new("no_server_error", &ty.name);
            let probes = ctx.journal_of(&ty.name);
            let mut failed = false;
            // Parser breakers have their own check and verdict.
            for probe in probes
                .iter()
                .filter(|p| !p.variant.starts_with("breaker: "))
            {
                // Timeouts belong to `within_deadline`; a 5xx or a dropped
                // connection belongs here.
                let timed_out =
                    matches!(&probe.answer, Err(e) if e.kind == reports::ErrorKind::Timeout);
                if probe.is_server_failure() && !timed_out && !failed {
                    failed = true;
                    v.fail(ctx.failure(
                        probe,
                        format!(
                            "`{}` caused a server failure: {}",
                            probe.variant,
                            probe.outcome_text()
                        ),
                    ));
                } else {
                    v.pass();
                }
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
    let (headers, body) = ctx.sign(serde_json::to_vec(event).expect("JSON values serialize"));
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
    let (mut headers, _) = ctx.sign(mutated.body.clone());
    // Signed over the mutated bytes, so only the property under test differs.
    for (k, v) in headers.iter_mut() {
        if k.eq_ignore_ascii_case("content-type") {
            *v = mutated.content_type.clone();
        }
    }
    Some(
        ctx.send(ty, label, headers, Bytes::from(mutated.body))
            .await,
    )
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
