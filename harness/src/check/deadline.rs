//! `within_deadline`: every answer inside the provider's deadline, for the
//! probes the other checks sent and for a burst of concurrent deliveries.
//!
//! Each probe is judged against the deadline it actually waited for: its
//! clock starts when it is sent, not while it waits for one of the run's
//! `concurrency` slots.

use reports::CheckResult;

use super::{join_all, per_type, CheckId, Context, ResultBuilder, Seen};

/// Runs the concurrent burst per type, then judges every journaled probe.
pub async fn run(ctx: &Context) -> Vec<CheckResult> {
    per_type(ctx, |ty| async move {
        let mut v = ResultBuilder::new(CheckId::WithinDeadline, &ty.name);
        let burst: Vec<_> = (0..ctx.plan.concurrency.max(1))
            .map(|_| ctx.send_valid(ty, "concurrent valid"))
            .collect();
        join_all(burst).await;
        let in_flight = ctx.plan.concurrency.max(1);
        for probe in ctx.journal_of(&ty.name) {
            let what = format!(
                "`{}` (at most {in_flight} deliveries in flight)",
                probe.variant
            );
            if probe.timed_out() && probe.timeout < probe.deadline {
                // Cut short by --max-time: it did not wait the deadline.
                v.judge_seen(ctx, &probe, Seen::NoAnswer, what);
            } else if !probe.timed_out() && probe.elapsed > probe.deadline {
                v.judge_seen(ctx, &probe, Seen::Late, what);
            } else {
                v.judge(ctx, &probe, what);
            }
        }
        v.finish()
    })
    .await
}
