//! `hookstorm load`: flags → [`LoadPlan`] → `load::run` → the summary,
//! the thresholds' verdict and the report directory.
//!
//! The traffic flags shared with `capacity` are `flags::TrafficArgs`.

use std::time::Duration;

use anyhow::{Context, Result};

use crate::cmd::flags::{prepare_out, write_report, Interruptible, TrafficArgs};
use crate::duration::parse_duration;
use crate::emitter::Shard;
use crate::load::{self, LoadPlan};
use crate::reachable::ensure_reachable;
use crate::schedule::{Arrival, Stage};
use crate::verdict::{usage, Verdict};

/// Arguments of `hookstorm load`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// What to send and where.
    #[command(flatten)]
    pub traffic: TrafficArgs,
    /// Open model: requests per second (with --stage: the starting rate).
    #[arg(long, value_name = "R", conflicts_with = "concurrency")]
    pub rate: Option<f64>,
    /// Ramping open model, k6 style: move linearly to RATE over DURATION (repeatable).
    #[arg(long = "stage", value_name = "DURATION:RATE", value_parser = parse_stage, conflicts_with = "concurrency")]
    pub stages: Vec<Stage>,
    /// Closed model: N senders, each sending when its previous request is answered.
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// How long to send.
    #[arg(long, short = 'd', value_parser = parse_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// How many requests to send (with --duration: whichever ends first).
    #[arg(long, short = 'n', value_name = "N")]
    pub requests: Option<u64>,
    /// Fail (exit 1) unless this holds, e.g. 'p99<250ms', 'error_rate<0.1%' (repeatable).
    #[arg(long = "threshold", value_name = "EXPR")]
    pub thresholds: Vec<String>,
    /// Run part K of N (K from 1): 1/N of the rate, disjoint ids; merge with `report merge`.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
}

/// Parses `DURATION:RATE` (`30s:500`).
pub fn parse_stage(text: &str) -> Result<Stage, String> {
    let (d, r) = text
        .split_once(':')
        .ok_or_else(|| format!("invalid stage `{text}`: write DURATION:RATE, e.g. 30s:500"))?;
    let duration = parse_duration(d)?;
    let target: f64 = r
        .trim()
        .parse()
        .ok()
        .filter(|r: &f64| r.is_finite() && *r >= 0.0)
        .ok_or_else(|| format!("invalid stage `{text}`: the rate `{r}` is not a number >= 0"))?;
    Ok(Stage { duration, target })
}

impl Args {
    /// The arrival model the flags ask for.
    pub fn arrival(&self) -> Result<Arrival> {
        match (self.rate, self.stages.is_empty(), self.concurrency) {
            (_, _, Some(n)) => Ok(Arrival::Closed { concurrency: n }),
            (rate, false, None) => Ok(Arrival::Ramp {
                start: rate.unwrap_or(0.0),
                stages: self.stages.clone(),
            }),
            (Some(rate), true, None) => Ok(Arrival::Open { rate }),
            (None, true, None) => Err(usage(
                "choose a load model: --rate R (open), --stage DURATION:RATE (ramping) or --concurrency N (closed)",
            )),
        }
    }
}

/// The plan the flags describe: the arrival model and schedule first (a
/// missing model is the first mistake reported), then the thresholds'
/// syntax, then the traffic (provider, target, secret, pool).
pub fn plan(args: &Args) -> Result<LoadPlan> {
    let shard = args.shard.unwrap_or(Shard::WHOLE);
    let arrival = args.arrival()?;
    let schedule = load::schedule(&arrival, args.duration, args.requests, shard)?;
    load::check_thresholds(&args.thresholds)?;
    let traffic = args.traffic.traffic()?;
    let connections = match args.traffic.connections {
        Some(0) => return Err(usage("--connections must be at least 1")),
        Some(c) => c,
        None => load::DEFAULT_CONNECTIONS,
    };
    match args.concurrency {
        Some(senders) => load::ensure_descriptors(senders, "--concurrency")?,
        None => load::ensure_descriptors(connections, "--connections")?,
    }
    Ok(LoadPlan {
        traffic,
        arrival,
        schedule,
        connections,
        shard,
        thresholds: args.thresholds.clone(),
    })
}

/// Runs `hookstorm load`: a signal stops the sending, and the partial
/// report is printed, written and marked interrupted.
pub fn run(args: Args) -> Result<Verdict> {
    let plan = plan(&args)?;
    // Before the target hears from us: a bad --out costs nothing.
    prepare_out(args.traffic.out.as_ref())?;
    let quiet = args.traffic.quiet;
    let work = Interruptible::new(args.traffic.runtime()?)?;
    let shutdown = work.shutdown().clone();
    if !quiet {
        eprintln!(
            "hookstorm load: {} → {} · {} senders · seed {}",
            plan.model(),
            plan.traffic.target.url(),
            plan.emission().senders(),
            plan.traffic.seed
        );
    }
    let outcome = work.run(async {
        ensure_reachable(&plan.traffic.client, &plan.traffic.target).await?;
        load::run(&plan, quiet, &shutdown)
            .await
            .context("load run failed")
    })?;
    let mut report = plan.traffic.report("load", plan.shard);
    report.thresholds = outcome.thresholds;
    let verdict = Verdict::from_ok(report.thresholds.iter().all(|t| t.passed));
    report.load = Some(outcome.section);
    let signal = shutdown.mark(&mut report);
    print!("{}", reports::terminal_summary(&report));
    write_report(&report, args.traffic.out.as_ref(), quiet)?;
    Ok(verdict.unless_interrupted(signal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_parse() {
        assert_eq!(
            parse_stage("30s:500"),
            Ok(Stage {
                duration: Duration::from_secs(30),
                target: 500.0
            })
        );
        assert!(parse_stage("30s").is_err());
        assert!(parse_stage("30s:-1").is_err());
        assert!(parse_stage("xx:1").is_err());
    }
}
