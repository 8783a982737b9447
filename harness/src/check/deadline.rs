//! `within_deadline`: every answer inside the provider's deadline, for the
//! probes the other checks sent and for a burst of concurrent deliveries.

use reports::CheckResult;

use super::{join_all, per_type, Context, ResultBuilder};

/// Runs the concurrent burst per type, then judges every journaled probe.
pub async fn run(ctx: &Context) -> Vec<CheckResult> {
    per_type(ctx, |ty| async move {
        let mut v = ResultBuilder::new("within_deadline", &ty.name);
        let deadline = ctx.deadline_for(ty);
        let burst: Vec<_> = (0..ctx.plan.concurrency.max(1))
            .map(|_| ctx.send_valid(ty, "concurrent valid"))
            .collect();
        let probes = join_all(burst).await;
        let mut failed = false;
        for (probe, _) in &probes {
            let timed_out = probe.answer.is_err() || probe.elapsed > deadline;
            if timed_out && !failed {
                failed = true;
                v.fail(ctx.failure(
                    probe,
                    format!(
                        "no answer within the {} ms deadline with {} concurrent deliveries: {}",
                        deadline.as_millis(),
                        probes.len(),
                        probe.outcome_text()
                    ),
                ));
            } else {
                v.pass();
            }
        }
        if !failed {
            for probe in ctx.journal_of(&ty.name) {
                let late = probe.elapsed > deadline
                    || matches!(&probe.answer, Err(e) if e.kind == reports::ErrorKind::Timeout);
                if late {
                    v.fail(ctx.failure(
                        &probe,
                        format!(
                            "`{}` answered after the {} ms deadline: {}",
                            probe.variant,
                            deadline.as_millis(),
                            probe.outcome_text()
                        ),
                    ));
                    break;
                }
            }
        }
        v.finish()
    })
    .await
}
