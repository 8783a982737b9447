//! `hookstorm load`: flags → [`LoadPlan`] → `load::run` → the summary,
//! the thresholds' verdict and the report directory.
//!
//! The traffic flags shared with `capacity` are `flags::TrafficArgs`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use reports::Threshold;

use crate::cmd::flags::TrafficArgs;
use crate::duration::parse_duration;
use crate::load::{self, LoadPlan};
use crate::schedule::{Arrival, Stage};
use crate::shard::Shard;
use crate::verdict::{usage, Verdict};

/// Arguments of `hookstorm load`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// What to send and where.
    #[command(flatten)]
    pub traffic: TrafficArgs,
    /// Open model: requests per second. With --stage: the rate the ramp
    /// starts from (k6's startRate; without --rate the ramp starts from 0).
    #[arg(long, value_name = "R", conflicts_with = "concurrency")]
    pub rate: Option<f64>,
    /// Ramping open model, k6 style: move linearly to RATE over DURATION
    /// (repeatable), starting from --rate, or from 0 without it.
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
    #[arg(long = "threshold", value_name = "EXPR", value_parser = reports::threshold::parse)]
    pub thresholds: Vec<Threshold>,
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
    /// The arrival model the flags ask for (by the rule `Arrival::of`
    /// states for flags and scenario steps alike).
    pub fn arrival(&self) -> Result<Arrival> {
        if self.concurrency == Some(0) {
            return Err(usage(
                "--concurrency must be at least 1: it is the number of senders (e.g. --concurrency 8)",
            ));
        }
        Arrival::of(self.rate, self.stages.clone(), self.concurrency).ok_or_else(|| {
            usage(
                "choose a load model: --rate R (open), --stage DURATION:RATE (ramping) or --concurrency N (closed)",
            )
        })
    }
}

/// The plan the flags describe: the arrival model and schedule first (a
/// missing model is the first mistake reported), then the traffic
/// (provider, target, secret, pool). Threshold syntax was checked when
/// the flags were parsed.
pub fn plan(args: &Args) -> Result<LoadPlan> {
    let shard = args.shard.unwrap_or(Shard::WHOLE);
    let arrival = args.arrival()?;
    if args.duration.is_some_and(|d| d.is_zero()) {
        return Err(usage(
            "--duration must be above 0: a run of 0s sends nothing (e.g. --duration 30s)",
        ));
    }
    if args.duration.is_none() && args.requests.is_none() && args.stages.is_empty() {
        return Err(usage(
            "give --duration or --requests (or --stage) so the run ends",
        ));
    }
    let schedule = load::schedule(&arrival, args.duration, args.requests, shard)?;
    let traffic = args.traffic.traffic()?;
    let connections = args
        .traffic
        .connections(load::DEFAULT_LOAD_CONNECTIONS, args.concurrency)?;
    Ok(LoadPlan {
        traffic: Arc::new(traffic),
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
    let quiet = args.traffic.quiet;
    let start_line = || {
        format!(
            "hookstorm load: {} → {} · {} senders · seed {}",
            plan.model(),
            plan.traffic.target.url(),
            plan.emission().senders(),
            plan.traffic.seed
        )
    };
    let plan = &plan;
    args.traffic
        .send_and_report(&plan.traffic, start_line, |shutdown| async move {
            let outcome = load::run(plan, quiet, &shutdown)
                .await
                .context("load run failed")?;
            let mut report = plan.traffic.report("load", plan.shard);
            report.thresholds = outcome.thresholds;
            let verdict = Verdict::from_ok(report.thresholds.iter().all(|t| t.passed));
            report.load = Some(outcome.section);
            Ok((report, verdict))
        })
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn arrival(flags: &str) -> Result<Arrival> {
        let words = [
            "hookstorm",
            "load",
            "-p",
            "authgear",
            "-t",
            "http://127.0.0.1:1/",
        ]
        .into_iter()
        .chain(flags.split(' '));
        match crate::cli::Cli::try_parse_from(words)
            .expect("the flags parse")
            .command
        {
            crate::cli::Command::Load(args) => args.arrival(),
            other => panic!("not load: {other:?}"),
        }
    }

    /// `--threads 0` would run nothing: refused while the flags are read.
    #[test]
    fn zero_threads_are_refused_while_parsing() {
        let parse = |threads: &str| {
            let words = [
                "hookstorm",
                "load",
                "-p",
                "authgear",
                "-t",
                "http://127.0.0.1:1/",
            ];
            crate::cli::Cli::try_parse_from(words.into_iter().chain(["--threads", threads]))
        };
        let err = parse("0").unwrap_err();
        assert!(err.to_string().contains("must be at least 1"), "{err}");
        assert!(parse("2").is_ok());
    }

    /// `--stage` ramps from `--rate` when it is given, from 0 otherwise:
    /// the rule scenario `stages` follow too (`Arrival::of`).
    #[test]
    fn stages_ramp_from_the_rate_flag_else_from_zero() {
        let stage = Stage {
            duration: Duration::from_secs(2),
            target: 100.0,
        };
        assert_eq!(
            arrival("--rate 40 --stage 2s:100").unwrap(),
            Arrival::Ramp {
                start: 40.0,
                stages: vec![stage]
            }
        );
        assert_eq!(
            arrival("--stage 2s:100").unwrap(),
            Arrival::Ramp {
                start: 0.0,
                stages: vec![stage]
            }
        );
        let err = arrival("--concurrency 0 -n 5").unwrap_err().to_string();
        assert!(err.contains("--concurrency must be at least 1"), "{err}");
    }

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
