//! A load run: the traffic (what is sent, where, signed how), the plan
//! (arrival model, schedule, connections, thresholds) and running it.
//!
//! `hookstorm load` builds a [`LoadPlan`] from its flags, scenario `load`
//! steps from the step, the demo directly; all three run it with [`run`].
//! [`Traffic`] is also what a capacity search drives (`crate::capacity`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use generators::{EventType, Profile, Provider, Signer};
use reports::{LoadSection, LoadStats, Report, RunInfo, Threshold, ThresholdResult};

use crate::client::{Client, ClientOptions};
use crate::emitter::{self, Emission, Measurements, Run, Shard};
use crate::pool::Pool;
use crate::progress::{self, Progress};
use crate::schedule::{Arrival, Schedule};
use crate::shutdown::Shutdown;
use crate::target::Target;
use crate::verdict::usage;

/// Connections an open-model load run keeps open.
pub const DEFAULT_CONNECTIONS: usize = 64;
/// Responses with a longer body fail as `body_too_large`.
pub const MAX_RESPONSE_BODY: u64 = crate::client::MAX_RESPONSE_BYTES as u64;
/// The per-request timeout is the provider's deadline, at most this.
const MAX_DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connecting may take the request timeout, at most this.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The threshold a run without thresholds is judged by: a run in which no
/// request was delivered (a wrong secret, a wrong path) fails, even when
/// nobody asked for a limit.
pub const NOTHING_DELIVERED_FAILS: &str = "error_rate<100%";
/// Descriptors a run keeps for itself besides its connections (stdio, the
/// runtime's, report files).
const SPARE_DESCRIPTORS: u64 = 64;

/// What a load run sends and where, built before any clock starts: the
/// provider, the client, the signer and the event pool.
#[derive(Debug)]
pub struct Traffic {
    /// Whose events and delivery profile (a deadline override included).
    pub provider: Provider,
    /// Where to send.
    pub target: Target,
    /// hyper client (HTTPS / HTTP/2).
    pub client: Client,
    /// Whether the lean HTTP/1.1 path applies.
    pub fast_path: bool,
    /// The signer (`None` for verbatim events).
    pub signer: Option<Signer>,
    /// The event pool.
    pub pool: Arc<Pool>,
    /// Poll instead of sleeping (see `Emission::busy_poll`).
    pub busy_poll: bool,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Response body limit in bytes.
    pub max_body: u64,
    /// The seed.
    pub seed: u64,
}

impl Traffic {
    /// Signed traffic of `pool` from `provider` to `target` (trusted as
    /// `tls` says), with the provider's deadline as timeout and the default
    /// response limit: how scenario steps and the demo build theirs.
    pub fn signed(
        provider: Provider,
        target: Target,
        tls: ClientOptions,
        pool: Pool,
        signer: Signer,
        seed: u64,
    ) -> Result<Traffic> {
        let timeout = default_timeout(provider.profile());
        let fast_path = !target.https && !tls.http2;
        Ok(Traffic {
            client: client(tls, timeout, MAX_RESPONSE_BODY)?,
            provider,
            target,
            fast_path,
            signer: Some(signer),
            pool: Arc::new(pool),
            busy_poll: false,
            timeout,
            max_body: MAX_RESPONSE_BODY,
            seed,
        })
    }

    /// The emission of this traffic with `schedule` over `connections`.
    pub fn emission(&self, schedule: Schedule, connections: usize, shard: Shard) -> Emission {
        Emission {
            target: self.target.clone(),
            client: self.client.clone(),
            fast_path: self.fast_path,
            profile: self.provider.profile().clone(),
            signer: self.signer.clone(),
            pool: self.pool.clone(),
            busy_poll: self.busy_poll,
            schedule,
            connections,
            timeout: self.timeout,
            max_body: self.max_body,
            shard,
            seed: self.seed,
        }
    }

    /// The report skeleton of a `command` run of this traffic.
    pub fn report(&self, command: &str, shard: Shard) -> Report {
        Report::new(RunInfo {
            command: command.to_string(),
            provider: self.provider.name().to_string(),
            provider_file: self.provider.file().map(String::from),
            target: self.target.url(),
            seed: self.seed,
            shard: (shard.count > 1).then(|| shard.one_based()),
            scenario: None,
            interrupted: None,
        })
    }
}

/// The per-request timeout when none is given: the provider's deadline,
/// at most 10 s.
pub fn default_timeout(profile: &Profile) -> Duration {
    Duration::from_millis(profile.deadline_ms).min(MAX_DEFAULT_TIMEOUT)
}

/// The client of a run: `tls` (CA, verification, HTTP/2) with connect
/// bounded by `timeout` and responses by `max_body`.
pub fn client(tls: ClientOptions, timeout: Duration, max_body: u64) -> Result<Client> {
    Client::new(ClientOptions {
        connect_timeout: timeout.min(MAX_CONNECT_TIMEOUT),
        max_response_bytes: usize::try_from(max_body).unwrap_or(usize::MAX),
        ..tls
    })
}

/// The event types of `mix` with their weights (every type of the
/// provider equally when it is empty); an unknown type is a usage error.
pub fn weighted_types<'p>(
    provider: &'p Provider,
    mix: &[(String, f64)],
) -> Result<Vec<(&'p EventType, f64)>> {
    if mix.is_empty() {
        return Ok(provider.types().into_iter().map(|t| (t, 1.0)).collect());
    }
    mix.iter()
        .map(|(name, w)| {
            provider
                .event_type(name)
                .map(|t| (t, *w))
                .map_err(|e| usage(e.to_string()))
        })
        .collect()
}

/// A load run, validated: the traffic, when requests are due, over how
/// many connections, and what must hold afterwards.
#[derive(Debug)]
pub struct LoadPlan {
    /// What is sent and where.
    pub traffic: Traffic,
    /// The arrival model (for the report's description).
    pub arrival: Arrival,
    /// When each request of this (part of the) run is due.
    pub schedule: Schedule,
    /// Connections for the open model.
    pub connections: usize,
    /// Which part of a sharded run this is.
    pub shard: Shard,
    /// Threshold expressions judged on the run's statistics (syntax
    /// already checked).
    pub thresholds: Vec<String>,
}

impl LoadPlan {
    /// The emission of this run.
    pub fn emission(&self) -> Emission {
        self.traffic
            .emission(self.schedule.clone(), self.connections, self.shard)
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
    let mut thresholds = judge(&plan.thresholds, &run.stats, profile)?;
    if plan.thresholds.is_empty() {
        // Shown only when it fails: a passing run without thresholds
        // reports none.
        let implicit = judge(&[NOTHING_DELIVERED_FAILS.to_string()], &run.stats, profile)?;
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
        &plan.pool.type_names,
        emitter::stripes(),
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
    if matches!(arrival, Arrival::Closed { concurrency: 0 }) {
        return Err(usage(
            "--concurrency must be at least 1: it is the number of senders (e.g. --concurrency 8)",
        ));
    }
    if duration.is_some_and(|d| d.is_zero()) {
        return Err(usage(
            "--duration must be above 0: a run of 0s sends nothing (e.g. --duration 30s)",
        ));
    }
    let arrival = match arrival {
        // A closed model's share is its senders, not a rate.
        Arrival::Closed { concurrency } => Arrival::Closed {
            concurrency: split(*concurrency as u64, shard).max(1) as usize,
        },
        other => other.clone(),
    };
    let requests = requests.map(|n| split(n, shard));
    let share = if matches!(arrival, Arrival::Closed { .. }) {
        1.0
    } else {
        shard.share()
    };
    Schedule::new(&arrival, duration, requests, share).map_err(|e| usage(e.to_string()))
}

/// Splits `n` over the shards: shard k gets its fair part, the remainder
/// going to the first shards, so the parts add up to `n` exactly.
fn split(n: u64, shard: Shard) -> u64 {
    let count = u64::from(shard.count);
    n / count + u64::from(u64::from(shard.index) < n % count)
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
    let needed = connections as u64 + SPARE_DESCRIPTORS;
    let Some((soft, hard)) = crate::rlimit::open_files() else {
        return Ok(());
    };
    if needed <= soft {
        return Ok(());
    }
    if needed <= hard && crate::rlimit::raise_open_files(needed) {
        return Ok(());
    }
    Err(usage(format!(
        "{flag} {connections} needs about {needed} file descriptors, but this process may open \
         only {soft} (RLIMIT_NOFILE; hard limit {hard}): use fewer, or raise the limit \
         (`ulimit -n {needed}` in the shell, `LimitNOFILE=` for a systemd unit, \
         `--ulimit nofile={needed}` for docker run)"
    )))
}

/// Checks the syntax of threshold expressions before a run, not after a
/// long one.
pub fn check_thresholds(exprs: &[String]) -> Result<()> {
    for expr in exprs {
        reports::threshold::parse(expr).map_err(|e| usage(e.to_string()))?;
    }
    Ok(())
}

/// Judges threshold expressions on `stats` with the provider's success rule.
pub fn judge(
    exprs: &[String],
    stats: &LoadStats,
    profile: &Profile,
) -> Result<Vec<ThresholdResult>> {
    exprs
        .iter()
        .map(|e| {
            let t: Threshold =
                reports::threshold::parse(e).map_err(|err| usage(err.to_string()))?;
            Ok(t.evaluate_with(stats, |s| profile.success.is_success(s)))
        })
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
            assert!(err.contains("--concurrency must be at least 1"), "{err}");
        }
        let open = Arrival::Open { rate: 10.0 };
        let err = schedule(&open, Some(Duration::ZERO), None, Shard::WHOLE)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--duration must be above 0"), "{err}");
        let closed = Arrival::Closed { concurrency: 2 };
        assert!(schedule(&closed, Some(Duration::ZERO), None, Shard::WHOLE).is_err());
        assert!(schedule(&closed, None, Some(0), Shard::WHOLE).is_err());
    }

    #[test]
    fn descriptors_beyond_the_hard_limit_are_refused_with_the_limit() {
        let Some((_, hard)) = crate::rlimit::open_files() else {
            return;
        };
        if hard >= u64::MAX / 2 {
            return;
        }
        let err = ensure_descriptors(hard as usize + 1, "--connections")
            .unwrap_err()
            .to_string();
        assert!(err.contains("RLIMIT_NOFILE"), "{err}");
        assert!(err.contains(&format!("hard limit {hard}")), "{err}");
        assert!(err.contains("ulimit -n"), "{err}");
        ensure_descriptors(1, "--connections").unwrap();
    }

    #[test]
    fn split_adds_up() {
        for n in [0u64, 1, 7, 100, 1001] {
            let total: u64 = (0..3).map(|k| split(n, Shard { index: k, count: 3 })).sum();
            assert_eq!(total, n);
        }
    }
}
