//! A load run: the plan (traffic, arrival model, schedule, connections,
//! thresholds) and running it.
//!
//! `hookstorm load` builds a [`LoadPlan`] from its flags, scenario `load`
//! steps from the step, the demo directly; all three run it with [`run`].
//! What is sent is a [`Traffic`], built by `crate::traffic`; a capacity
//! search drives the same traffic (`crate::capacity`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use generators::Profile;
use reports::threshold::{Metric, Op};
use reports::{LoadSection, LoadStats, Threshold, ThresholdResult};

use crate::emitter::{self, Emission, Run};
use crate::measure::{stripes, Measurements};
use crate::progress::{self, Progress};
use crate::schedule::{Arrival, Schedule};
use crate::shard::Shard;
use crate::shutdown::Shutdown;
use crate::traffic::Traffic;
use crate::verdict::usage;

/// Connections an open-model load run keeps open unless told otherwise
/// (a capacity search's steps keep `capacity::DEFAULT_CAPACITY_CONNECTIONS`).
pub const DEFAULT_LOAD_CONNECTIONS: usize = 64;
/// Descriptors a run keeps for itself besides its connections (stdio, the
/// runtime's, report files).
const SPARE_DESCRIPTORS: u64 = 64;

/// The threshold a run without thresholds is judged by, `error_rate<100%`:
/// a run in which no request was delivered (a wrong secret, a wrong path)
/// fails, even when nobody asked for a limit.
pub fn nothing_delivered_fails() -> Threshold {
    Threshold {
        expr: "error_rate<100%".into(),
        metric: Metric::ErrorRate,
        op: Op::Lt,
        bound: 1.0,
    }
}

/// A load run, validated: the traffic, when requests are due, over how
/// many connections, and what must hold afterwards.
#[derive(Debug)]
pub struct LoadPlan {
    /// What is sent and where.
    pub traffic: Arc<Traffic>,
    /// The arrival model (for the report's description).
    pub arrival: Arrival,
    /// When each request of this (part of the) run is due.
    pub schedule: Schedule,
    /// Connections for the open model.
    pub connections: usize,
    /// Which part of a sharded run this is.
    pub shard: Shard,
    /// Thresholds judged on the run's statistics (parsed where they were
    /// written: the flag, the scenario file).
    pub thresholds: Vec<Threshold>,
}

impl LoadPlan {
    /// The emission of this run.
    pub fn emission(&self) -> Emission {
        Emission {
            traffic: self.traffic.clone(),
            schedule: self.schedule.clone(),
            connections: self.connections,
            shard: self.shard,
        }
    }

    /// A one-line description of the model, for the report.
    pub fn model(&self) -> String {
        describe(&self.arrival, &self.schedule)
    }
}

/// What a load run measured and how its thresholds fared.
#[derive(Debug)]
pub struct LoadOutcome {
    /// The measurements, the model and the sending time.
    pub section: LoadSection,
    /// Each threshold, judged with the provider's success rule.
    pub thresholds: Vec<ThresholdResult>,
    /// Whether `shutdown` ended the run early.
    pub interrupted: bool,
}

/// Runs `plan` (with a progress line unless `quiet`) until its schedule
/// ends or `shutdown` is requested, and judges its thresholds.
pub async fn run(plan: &LoadPlan, quiet: bool, shutdown: &Shutdown) -> Result<LoadOutcome> {
    let run = run_schedule(plan.emission(), quiet, shutdown).await?;
    let profile = plan.traffic.provider.profile();
    let mut thresholds = judge(&plan.thresholds, &run.stats, profile);
    if plan.thresholds.is_empty() {
        // Shown only when it fails: a passing run without thresholds
        // reports none.
        let implicit = judge(&[nothing_delivered_fails()], &run.stats, profile);
        thresholds.extend(implicit.into_iter().filter(|t| !t.passed));
    }
    if plan.thresholds.is_empty() && !thresholds.is_empty() {
        eprintln!(
            "no request was delivered: all {} failed (see status and errors below); \
             a load run without --threshold fails when nothing is delivered",
            run.stats.requests()
        );
    }
    Ok(LoadOutcome {
        section: LoadSection {
            stats: run.stats,
            model: plan.model(),
            requested_rate: plan.schedule.target_rate(),
            duration_ms: run.elapsed.as_millis() as u64,
        },
        thresholds,
        interrupted: run.interrupted,
    })
}

/// Runs one emission until it ends or `shutdown` is requested, with a
/// progress line unless `quiet`.
pub async fn run_schedule(plan: Emission, quiet: bool, shutdown: &Shutdown) -> Result<Run> {
    let plan = Arc::new(plan);
    let end = plan.schedule.end();
    let live = Arc::new(Measurements::new(
        &plan.traffic.pool.type_names,
        stripes(),
        Some(end),
    ));
    let progress = progress::wanted(quiet).then(|| Progress::start(live.clone(), Some(end)));
    let run = emitter::run_observed(plan, live, shutdown.requested()).await;
    if let Some(p) = progress {
        p.finish();
    }
    run
}

/// The schedule of part `shard` of a run of `arrival` bounded by
/// `duration` and/or `requests`: rates, senders and counts split so the
/// parts add up to the whole.
pub fn schedule(
    arrival: &Arrival,
    duration: Option<Duration>,
    requests: Option<u64>,
    shard: Shard,
) -> Result<Schedule> {
    // Checked before the shard's split, which gives every shard at least
    // one sender: a run asked for with none would otherwise send.
    // Worded without flag names: the edges (`--concurrency`, a scenario's
    // `concurrency:`) refuse these in their own words first.
    if matches!(arrival, Arrival::Closed { concurrency: 0 }) {
        return Err(usage(
            "a closed model needs at least 1 sender: it sends nothing without one",
        ));
    }
    if duration.is_some_and(|d| d.is_zero()) {
        return Err(usage(
            "a run of 0s sends nothing: the duration must be above 0",
        ));
    }
    let arrival = match arrival {
        // A closed model's share is its senders, not a rate.
        Arrival::Closed { concurrency } => Arrival::Closed {
            concurrency: shard.split(*concurrency as u64).max(1) as usize,
        },
        other => other.clone(),
    };
    let requests = requests.map(|n| shard.split(n));
    let share = if matches!(arrival, Arrival::Closed { .. }) {
        1.0
    } else {
        shard.share()
    };
    Schedule::new(&arrival, duration, requests, share).map_err(|e| usage(e.to_string()))
}

/// A one-line description of the model, for the report.
pub fn describe(arrival: &Arrival, schedule: &Schedule) -> String {
    let bound = if schedule.end() < Duration::from_secs(86_400 * 365) {
        format!("for {:.1}s", schedule.end().as_secs_f64())
    } else {
        format!("{} requests", schedule.total())
    };
    match arrival {
        Arrival::Open { rate } => format!("open {rate}/s {bound}"),
        Arrival::Ramp { start, stages } => {
            let rates: Vec<String> = std::iter::once(*start)
                .chain(stages.iter().map(|s| s.target))
                .map(|r| format!("{r}"))
                .collect();
            format!("ramp {}/s {bound}", rates.join("→"))
        }
        Arrival::Closed { concurrency } => format!("closed {concurrency} senders {bound}"),
    }
}

/// Refuses a run that needs more file descriptors than this process may
/// open (`RLIMIT_NOFILE`): raises the soft limit up to the hard one when
/// that is enough, and otherwise says what the limit is and how to raise
/// it, instead of failing connects halfway through the run.
pub fn ensure_descriptors(connections: usize, flag: &str) -> Result<()> {
    descriptors_within(
        connections,
        flag,
        crate::rlimit::open_files(),
        crate::rlimit::raise_open_files,
    )
}

/// [`ensure_descriptors`] against the limits `(soft, hard)` (`None`:
/// unknown, nothing refused), `raise` lifting the soft one.
fn descriptors_within(
    connections: usize,
    flag: &str,
    limits: Option<(u64, u64)>,
    raise: impl FnOnce(u64) -> bool,
) -> Result<()> {
    let needed = connections as u64 + SPARE_DESCRIPTORS;
    let Some((soft, hard)) = limits else {
        return Ok(());
    };
    if needed <= soft {
        return Ok(());
    }
    if needed <= hard && raise(needed) {
        return Ok(());
    }
    Err(usage(format!(
        "{flag} {connections} needs about {needed} file descriptors, but this process may open \
         only {soft} (RLIMIT_NOFILE; hard limit {hard}): use fewer, or raise the limit \
         (`ulimit -n {needed}` in the shell, `LimitNOFILE=` for a systemd unit, \
         `--ulimit nofile={needed}` for docker run)"
    )))
}

/// Judges `thresholds` on `stats` with the provider's success rule.
pub fn judge(
    thresholds: &[Threshold],
    stats: &LoadStats,
    profile: &Profile,
) -> Vec<ThresholdResult> {
    thresholds
        .iter()
        .map(|t| t.evaluate_with(stats, |s| profile.success.is_success(s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_senders_or_a_zero_duration_are_refused_before_the_split() {
        let closed = Arrival::Closed { concurrency: 0 };
        for shard in [Shard::WHOLE, Shard { index: 1, count: 3 }] {
            let err = schedule(&closed, Some(Duration::from_secs(1)), None, shard)
                .unwrap_err()
                .to_string();
            assert!(err.contains("needs at least 1 sender"), "{err}");
            assert!(!err.contains("--"), "a flag named in the work layer: {err}");
        }
        let open = Arrival::Open { rate: 10.0 };
        let err = schedule(&open, Some(Duration::ZERO), None, Shard::WHOLE)
            .unwrap_err()
            .to_string();
        assert!(err.contains("the duration must be above 0"), "{err}");
        assert!(!err.contains("--"), "a flag named in the work layer: {err}");
        let closed = Arrival::Closed { concurrency: 2 };
        assert!(schedule(&closed, Some(Duration::ZERO), None, Shard::WHOLE).is_err());
        assert!(schedule(&closed, None, Some(0), Shard::WHOLE).is_err());
    }

    /// Limits fixed here, not the process's (often unlimited in
    /// containers), so every branch is judged wherever the test runs.
    #[test]
    fn descriptors_beyond_the_hard_limit_are_refused_with_the_limit() {
        let limits = Some((1024, 4096));
        let never = |_| panic!("not raised: within the soft limit");
        descriptors_within(900, "--connections", limits, never).unwrap();
        let mut asked = None;
        descriptors_within(2000, "--connections", limits, |n| {
            asked = Some(n);
            true
        })
        .unwrap();
        assert_eq!(
            asked,
            Some(2000 + SPARE_DESCRIPTORS),
            "the soft limit is raised"
        );
        let err = descriptors_within(5000, "--connections", limits, |_| true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("RLIMIT_NOFILE"), "{err}");
        assert!(err.contains("hard limit 4096"), "{err}");
        assert!(
            err.contains(&format!("ulimit -n {}", 5000 + SPARE_DESCRIPTORS)),
            "{err}"
        );
        let refused = descriptors_within(2000, "concurrency", limits, |_| false).unwrap_err();
        assert!(
            refused.to_string().starts_with("concurrency 2000 needs"),
            "{refused}"
        );
        descriptors_within(1_000_000, "--connections", None, never).unwrap();
        // The process's own limit: one connection always fits.
        ensure_descriptors(1, "--connections").unwrap();
    }

    #[test]
    fn nothing_delivered_fails_is_the_threshold_it_reads_as() {
        let parsed = reports::threshold::parse("error_rate<100%").unwrap();
        assert_eq!(nothing_delivered_fails(), parsed);
    }

    /// Thresholds are parsed once, where they are written: the plan holds
    /// `Threshold` values and judging never reads their text again. A
    /// threshold whose text does not parse is judged by its fields.
    #[test]
    fn judging_does_not_parse_the_threshold_text_again() {
        let unparsable = Threshold {
            expr: "not a threshold".into(),
            ..nothing_delivered_fails()
        };
        assert!(reports::threshold::parse(&unparsable.expr).is_err());
        let profile = generators::ProviderId::Authgear.profile();
        let results = judge(&[unparsable], &LoadStats::new(Vec::new()), &profile);
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].expr, "not a threshold");
    }
}
