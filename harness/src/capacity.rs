//! A capacity search: the highest open-model arrival rate a receiver
//! sustains while meeting an SLO.
//!
//! The search runs fixed-length steps: it doubles the rate from the start
//! rate until a step fails (or the maximum rate is reached), then bisects
//! between the last passing and the first failing rate until they are
//! within 10 % of each other. A step passes when every SLO holds and the
//! emitter kept the rate (at most 1 % of requests, or 10, missed). The
//! whole search stops within its time bound.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use reports::histogram::format_us;
use reports::threshold::format_share;
use reports::{CapacitySection, CapacityStep, LoadSection, Threshold};
use tokio::time::Instant;

use crate::emitter::Emission;
use crate::load;
use crate::schedule::{Arrival, Schedule};
use crate::shard::Shard;
use crate::shutdown::Shutdown;
use crate::traffic::Traffic;
use crate::verdict::usage;

/// Connections each step of a capacity search keeps open unless told
/// otherwise (more than a load run's `load::DEFAULT_LOAD_CONNECTIONS`: a
/// search drives the receiver to its limit).
pub const DEFAULT_CAPACITY_CONNECTIONS: usize = 256;
/// Share of a step's requests that may be missed (not sent on time) for
/// the step to count as sustained.
const MAX_MISSED: f64 = 0.01;

/// Whether a capacity step kept its rate: at most 1 % of its requests, or
/// `MISSED_FLOOR` (10) of them, were not sent on time. `capacity` and scenario
/// capacity steps judge by this one rule.
pub fn sustained(stats: &reports::LoadStats) -> bool {
    stats.missed_rate() <= MAX_MISSED || stats.missed() <= MISSED_FLOOR
}

/// Late requests a step may have whatever its size: one scheduler hiccup
/// on a busy machine makes a few requests >10 ms late, which is 1.5 % of a
/// short 200-request step but says nothing about the rate being sustained.
const MISSED_FLOOR: u64 = 10;
/// The bisection stops when the failing rate is within this factor of the
/// passing one.
const PRECISION: f64 = 1.1;
/// Pause between steps so one step's backlog does not load the next.
const SETTLE: Duration = Duration::from_millis(250);

/// The rate search, separate from running steps so it can be tested alone.
#[derive(Clone, Debug, PartialEq)]
pub struct Search {
    /// Highest rate that passed.
    pub pass: Option<f64>,
    /// Lowest rate that failed.
    pub fail: Option<f64>,
    max_rate: f64,
}

impl Search {
    /// A search starting below `max_rate`.
    pub fn new(max_rate: f64) -> Search {
        Search {
            pass: None,
            fail: None,
            max_rate,
        }
    }

    /// Records a step's result.
    pub fn record(&mut self, rate: f64, passed: bool) {
        if passed {
            self.pass = Some(self.pass.map_or(rate, |p| p.max(rate)));
        } else {
            self.fail = Some(self.fail.map_or(rate, |f| f.min(rate)));
        }
    }

    /// The next rate to try after `last`, or `None` when the search is done.
    pub fn next(&self, last: f64) -> Option<f64> {
        match (self.pass, self.fail) {
            // Still climbing: double, capped at the maximum.
            (_, None) => {
                if last >= self.max_rate {
                    None
                } else {
                    Some((last * 2.0).min(self.max_rate))
                }
            }
            // Even the first rate failed: nothing below it is searched
            // (the user picks a lower --start-rate).
            (None, Some(_)) => None,
            (Some(p), Some(f)) => {
                if f <= p * PRECISION {
                    None
                } else {
                    Some((p + f) / 2.0)
                }
            }
        }
    }
}

/// The rates, step length and cost limits of one capacity search.
#[derive(Clone, Debug)]
pub struct Bounds {
    /// The first rate tried, per second.
    pub start_rate: f64,
    /// No rate above this is tried.
    pub max_rate: f64,
    /// How long each step runs.
    pub step_duration: Duration,
    /// Connections each step opens.
    pub connections: usize,
    /// Which part of a sharded run this is (each step takes its share).
    pub shard: Shard,
    /// No step starts that would end after this much time in the search.
    pub max_time: Duration,
    /// At most this many steps.
    pub max_steps: usize,
}

/// What a capacity search found.
#[derive(Debug)]
pub struct Found {
    /// Every step, the SLO and the best rate.
    pub section: CapacitySection,
    /// The measurements of the step at the best rate.
    pub best: Option<LoadSection>,
    /// Whether `shutdown` ended the search early (the step it cut short is
    /// not judged: a partial step says nothing about its rate).
    pub interrupted: bool,
}

/// A capacity search, validated: the traffic, the bounds and the SLO.
#[derive(Debug)]
pub struct CapacityPlan {
    /// What each step sends and where.
    pub traffic: Arc<Traffic>,
    /// The rates, step length and cost limits.
    pub bounds: Bounds,
    /// Thresholds every step must meet (parsed where they were written).
    pub slo: Vec<Threshold>,
}

/// Runs the step-then-bisect search of `plan`: the one loop behind
/// `hookstorm capacity` and scenario `capacity` steps. Ends early, keeping
/// the steps it finished, when `shutdown` is requested.
pub async fn search(plan: &CapacityPlan, quiet: bool, shutdown: &Shutdown) -> Result<Found> {
    let (base, bounds, slo) = (&plan.traffic, &plan.bounds, &plan.slo[..]);
    let began = Instant::now();
    let mut search = Search::new(bounds.max_rate);
    let mut steps = Vec::new();
    let mut best: Option<LoadSection> = None;
    let mut rate = bounds.start_rate;
    let mut interrupted = false;
    for _ in 0..bounds.max_steps {
        if shutdown.is_requested() {
            interrupted = true;
            break;
        }
        if began.elapsed() + bounds.step_duration > bounds.max_time {
            break;
        }
        let schedule = Schedule::new(
            &Arrival::Open { rate },
            Some(bounds.step_duration),
            None,
            bounds.shard.share(),
        )
        .map_err(|e| usage(e.to_string()))?;
        let step_plan = Emission {
            traffic: base.clone(),
            schedule,
            connections: bounds.connections,
            shard: bounds.shard,
        };
        let run = load::run_schedule(step_plan, quiet, shutdown).await?;
        if run.interrupted {
            interrupted = true;
            break;
        }
        let stats = run.stats;
        let profile = base.provider.profile();
        let results = load::judge(slo, &stats, profile);
        let kept = sustained(&stats);
        let passed = kept && results.iter().all(|r| r.passed);
        let step = CapacityStep {
            rate,
            achieved: stats.achieved_rate(),
            p50_us: stats.latency().value_at_quantile(0.5),
            p99_us: stats.latency().value_at_quantile(0.99),
            error_rate: stats.error_rate_with(|s| profile.success.is_success(s)),
            passed,
        };
        if !quiet {
            eprintln!(
                "  {} {:>10.1}/s → {:>10.1}/s  p50 {:>8}  p99 {:>8}  errors {:>7}  missed {:>6}{}",
                if passed { "✓" } else { "✗" },
                step.rate,
                step.achieved,
                format_us(step.p50_us),
                format_us(step.p99_us),
                format_share(step.error_rate),
                stats.missed(),
                if kept { "" } else { "  (rate not kept)" }
            );
        }
        steps.push(step);
        search.record(rate, passed);
        if passed && search.pass == Some(rate) {
            best = Some(LoadSection {
                model: format!(
                    "open {rate}/s for {:.1}s",
                    bounds.step_duration.as_secs_f64()
                ),
                requested_rate: Some(rate),
                duration_ms: run.elapsed.as_millis() as u64,
                stats,
            });
        }
        match search.next(rate) {
            Some(next) => rate = next,
            None => break,
        }
        // Let the previous step's connections close and the receiver drain
        // before the next rate is measured.
        tokio::select! {
            () = tokio::time::sleep(SETTLE) => {}
            _ = shutdown.requested() => {}
        }
    }
    Ok(Found {
        section: CapacitySection {
            slo: slo.iter().map(|t| t.expr.clone()).collect(),
            steps,
            best_rate: search.pass,
        },
        best,
        interrupted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives the search against a receiver that holds up to `limit`.
    fn search_with(limit: f64, start: f64, max: f64) -> (Option<f64>, Vec<f64>) {
        let mut s = Search::new(max);
        let mut rate = start;
        let mut tried = vec![];
        for _ in 0..100 {
            tried.push(rate);
            s.record(rate, rate <= limit);
            match s.next(rate) {
                Some(r) => rate = r,
                None => break,
            }
        }
        (s.pass, tried)
    }

    #[test]
    fn doubles_then_bisects_to_within_ten_percent() {
        let (best, tried) = search_with(3_000.0, 100.0, 100_000.0);
        let best = best.unwrap();
        assert!(
            best <= 3_000.0 && best * PRECISION >= 3_000.0 / PRECISION,
            "{best} {tried:?}"
        );
        assert_eq!(&tried[..6], &[100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0]);
        assert!(tried.len() < 15, "{tried:?}");
    }

    #[test]
    fn stops_at_max_rate_and_when_nothing_passes() {
        let (best, tried) = search_with(1e9, 100.0, 500.0);
        assert_eq!(best, Some(500.0));
        assert_eq!(tried, vec![100.0, 200.0, 400.0, 500.0]);
        let (best, tried) = search_with(10.0, 100.0, 500.0);
        assert_eq!(best, None);
        assert_eq!(tried, vec![100.0]);
    }
}
