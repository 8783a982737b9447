//! The [`ResultBuilder`]: one check's result on one event type, judged
//! probe by probe by the levels table, and the wording of its messages.

use std::time::Instant;

use reports::{CheckResult, Level};

use super::{levels, CheckId, Context, Probe, Seen};

/// Builds the result of one check on one event type: judges each probe by
/// the level table, records what did not simply pass as findings, and
/// finishes into a `CheckResult` whose level is the most severe it saw.
///
/// ```ignore
/// let mut v = ResultBuilder::new(CheckId::RejectsInvalid, &ty.name);
/// let probe = ctx.send(ty, "malformed-json", headers, body).await;
/// v.judge(ctx, &probe, "invalid form `malformed-json`");
/// // or, for what only the ledger shows:
/// v.judge_seen(ctx, &probe, Seen::ProcessedTwice, "event processed 2 times");
/// v.finish()
/// ```
pub struct ResultBuilder {
    id: CheckId,
    event_type: String,
    cases: u32,
    worst: Option<(Level, String)>,
    skip: Option<String>,
    started: Instant,
}

impl ResultBuilder {
    /// Starts a result for `id` on `event_type`.
    pub fn new(id: CheckId, event_type: &str) -> ResultBuilder {
        ResultBuilder {
            id,
            event_type: event_type.to_string(),
            cases: 0,
            worst: None,
            skip: None,
            started: Instant::now(),
        }
    }

    /// Judges `probe`'s answer by the table; `what` names the probe in the
    /// message (`invalid form \`empty-body\``). Returns the level.
    pub fn judge(&mut self, ctx: &Context, probe: &Probe, what: impl AsRef<str>) -> Level {
        let seen = ctx.seen(probe);
        self.judge_seen(ctx, probe, seen, what)
    }

    /// Judges what the check itself saw for `probe` (a ledger reading, a
    /// response body) by the table.
    pub fn judge_seen(
        &mut self,
        ctx: &Context,
        probe: &Probe,
        seen: Seen,
        what: impl AsRef<str>,
    ) -> Level {
        let (level, why) = levels::judge(self.id, &probe.variant, seen);
        self.cases += 1;
        if probe.not_sent {
            // Nothing happened to reproduce: the result says why, the
            // report's `stopped` says what stopped the run.
            let reason = ctx.stopped().unwrap_or_else(|| "the run stopped".into());
            self.note(level, format!("{}: not sent ({reason})", what.as_ref()));
        } else if level.is_finding() {
            // `what` and the outcome may quote the answer, which may echo
            // the request's credentials.
            let message = ctx.scrub(
                probe,
                &format!("{}: {} — {why}", what.as_ref(), outcome_of(probe, seen)),
            );
            ctx.observe(self.id, probe, seen, level, message.clone());
            self.note(level, message);
        } else if level == Level::Pass {
            self.note(level, String::new());
        }
        level
    }

    /// Records a case that held without a probe of its own.
    pub fn pass(&mut self) {
        self.cases += 1;
        self.note(Level::Pass, String::new());
    }

    fn note(&mut self, level: Level, message: String) {
        if self.worst.as_ref().is_none_or(|(w, _)| level > *w) {
            self.worst = Some((level, message));
        }
    }

    /// The ledger was configured but could not be read: the effect checks
    /// cannot judge, and a gate must not pass on that, so the result is an
    /// ERROR (a skip would pass the run). The one place this is decided.
    pub fn ledger_unreadable(&mut self, ctx: &Context, err: &anyhow::Error) {
        let source = match &ctx.plan.ledger {
            Some(crate::ledger::LedgerSource::Url(url)) => url.url(),
            // A command may hold credentials: it is not repeated here.
            _ => "--ledger-cmd".into(),
        };
        // The URL and the error may carry the ledger's credentials.
        self.unjudged(crate::secret::blank_userinfo(&format!(
            "the configured ledger could not be read ({source}): {err:#}"
        )));
    }

    /// Records that the check could not be judged (an ERROR: the harness
    /// got nothing to judge by), with why.
    pub fn unjudged(&mut self, why: String) {
        self.cases += 1;
        self.note(Level::Error, why);
    }

    /// Marks the result skipped, unless something worse than a pass was
    /// recorded.
    pub fn skip(&mut self, reason: impl Into<String>) {
        self.skip = Some(reason.into());
    }

    /// Whether anything at or above NON-STRICT was recorded (the check may
    /// not go on to judge effects of deliveries that were not acknowledged).
    pub fn has_failed(&self) -> bool {
        self.worst
            .as_ref()
            .is_some_and(|(l, _)| *l >= Level::NonStrict)
    }

    /// The finished result.
    pub fn finish(self) -> CheckResult {
        let (level, reason) = match (self.worst, self.skip) {
            (Some((level, message)), _) if level > Level::Pass => (level, Some(message)),
            (_, Some(reason)) => (Level::Skipped, Some(reason)),
            (Some((Level::Pass, _)), None) => (Level::Pass, None),
            _ => (
                Level::Skipped,
                Some("nothing to check for this type".into()),
            ),
        };
        CheckResult {
            id: self.id.to_string(),
            event_type: self.event_type,
            rule: self.id.rule().to_string(),
            description: self.id.description().to_string(),
            level,
            reason,
            findings: Vec::new(),
            cases: self.cases,
            duration_ms: self.started.elapsed().as_millis() as u64,
        }
    }
}

/// The outcome as a message says it: what the ledger showed, or the answer.
fn outcome_of(probe: &Probe, seen: Seen) -> String {
    match seen {
        Seen::Processed => format!(
            "{}, and the ledger shows it processed",
            probe.outcome_text()
        ),
        Seen::ProcessedTwice => "the ledger shows it processed more than once".into(),
        Seen::OutOfOrder => "the ledger breaks the declared order".into(),
        Seen::Lost => "acknowledged, but missing from the ledger".into(),
        Seen::InvalidAnswer => format!(
            "{} with a body the response schema refuses",
            probe.outcome_text()
        ),
        Seen::WrongAnswer => format!(
            "{} without the answer the sender checks for",
            probe.outcome_text()
        ),
        Seen::Late => format!(
            "{} (deadline {} ms)",
            probe.outcome_text(),
            probe.deadline.as_millis()
        ),
        _ => probe.outcome_text(),
    }
}
