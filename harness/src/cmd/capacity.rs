//! `hookstorm capacity`: flags → [`CapacityPlan`] → `capacity::search` →
//! the summary and the report directory; passes when some rate met the SLO.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use reports::Threshold;

use crate::capacity::{self, Bounds, CapacityPlan};
use crate::cmd::flags::TrafficArgs;
use crate::duration::parse_duration;
use crate::shard::Shard;
use crate::verdict::{usage, Verdict};

/// Arguments of `hookstorm capacity`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// What to send and where.
    #[command(flatten)]
    pub traffic: TrafficArgs,
    /// What each step must meet, e.g. 'p99<250ms', 'error_rate<0.1%' (repeatable).
    #[arg(long = "slo", value_name = "EXPR", required = true, value_parser = reports::threshold::parse)]
    pub slo: Vec<Threshold>,
    /// First rate tried (requests/s).
    #[arg(long, default_value_t = 100.0, value_name = "R")]
    pub start_rate: f64,
    /// Never try more than this (requests/s).
    #[arg(long, default_value_t = 100_000.0, value_name = "R")]
    pub max_rate: f64,
    /// Length of each step.
    #[arg(long, value_parser = parse_duration, default_value = "10s", value_name = "DURATION")]
    pub step_duration: Duration,
    /// Bound on the whole search.
    #[arg(long, value_parser = parse_duration, default_value = "5m", value_name = "DURATION")]
    pub max_time: Duration,
}

/// The plan the flags describe (the SLO's syntax was checked when the
/// flags were parsed; the bounds are checked before the traffic is built).
pub fn plan(args: &Args) -> Result<CapacityPlan> {
    if !(args.start_rate.is_finite() && args.start_rate > 0.0) || args.max_rate < args.start_rate {
        return Err(usage("--start-rate must be above 0 and at most --max-rate"));
    }
    if args.step_duration.is_zero() || args.max_time < args.step_duration {
        return Err(usage(
            "--step-duration must be above 0 and at most --max-time",
        ));
    }
    let traffic = args.traffic.traffic()?;
    let connections = args
        .traffic
        .connections(capacity::DEFAULT_CAPACITY_CONNECTIONS, None)?;
    Ok(CapacityPlan {
        traffic: Arc::new(traffic),
        bounds: Bounds {
            start_rate: args.start_rate,
            max_rate: args.max_rate,
            step_duration: args.step_duration,
            connections,
            shard: Shard::WHOLE,
            max_time: args.max_time,
            max_steps: usize::MAX,
        },
        slo: args.slo.clone(),
    })
}

/// Runs `hookstorm capacity`: a signal ends the search after the step
/// running (which is not judged), and the partial report is printed,
/// written and marked interrupted.
pub fn run(args: Args) -> Result<Verdict> {
    let plan = plan(&args)?;
    let quiet = args.traffic.quiet;
    let start_line = || {
        let slo: Vec<&str> = plan.slo.iter().map(|t| t.expr.as_str()).collect();
        format!(
            "hookstorm capacity: {} · steps of {:?} from {}/s · SLO {} · seed {}",
            plan.traffic.target.url(),
            args.step_duration,
            args.start_rate,
            slo.join(", "),
            plan.traffic.seed
        )
    };
    let plan = &plan;
    args.traffic
        .send_and_report(&plan.traffic, start_line, |shutdown| async move {
            let found = capacity::search(plan, quiet, &shutdown).await?;
            let mut report = plan.traffic.report("capacity", Shard::WHOLE);
            let verdict = Verdict::from_ok(found.section.best_rate.is_some());
            report.capacity = Some(found.section);
            report.load = found.best;
            Ok((report, verdict))
        })
}
