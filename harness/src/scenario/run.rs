//! Executing a scenario: steps in order against one target, aggregated
//! into one `reports::Report`.
//!
//! - `check` steps run the conformance suite (`check::run`); their
//!   results are appended to the report's checks. In a sharded run only
//!   shard 1 runs them, so the merged report holds each check once.
//! - `load` steps run a `load::LoadPlan` (the same schedule and run as
//!   `hookstorm load`); each step's thresholds are judged on that step's own
//!   statistics, and the steps' statistics are merged into the report's
//!   single load section (histograms and counts add exactly; the rate is
//!   the total over the summed sending time).
//! - `capacity` steps run the `hookstorm capacity` search
//!   (`capacity::search`); the last one is
//!   the report's capacity section, and its thresholds are judged on the
//!   best passing rate's statistics.
//! - `wait` steps sleep. Scenario-level thresholds are judged on the merged
//!   load of all load steps.
//!
//! The provider (a provider file's catalog included) is resolved once per
//! run and shared by every step.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use generators::{Provider, Secret};
use reports::{CapacitySection, LoadSection, LoadStats, Report, RunInfo, ThresholdResult};

use super::{CapacityStep, CheckStep, LoadStep, Scenario, StepKind};
use crate::capacity::{self, Bounds, CapacityPlan};
use crate::check::{self, CheckPlan};
use crate::client::Client;
use crate::clock::random_seed;
use crate::load::{self, LoadPlan};
use crate::reachable::ensure_reachable;
use crate::shard::Shard;
use crate::shutdown::Shutdown;
use crate::target::Target;
use crate::traffic::{PoolSource, SigningKey, Traffic, TrafficSpec};
use crate::verdict::usage;

/// A capacity search tries at most this many rates.
const MAX_CAPACITY_STEPS: usize = 24;

/// How a scenario is run.
#[derive(Clone, Debug)]
pub struct RunSettings {
    /// Which part of a sharded run this is.
    pub shard: Shard,
    /// Only the final summary.
    pub quiet: bool,
    /// The scenario file, as recorded in the report.
    pub file: String,
}

/// What a scenario run produced.
#[derive(Debug)]
pub struct ScenarioRun {
    /// The aggregated report (thresholds evaluated).
    pub report: Report,
    /// False when a capacity step found no rate meeting its SLO.
    pub capacity_met: bool,
    /// Whether `shutdown` ended the run early.
    pub interrupted: bool,
}

/// Runs every step of `scenario` in order; a `shutdown` request ends the
/// current step early (a check step within its running check, a load step
/// after the emitter's grace) and skips the rest: the report covers what
/// ran.
pub async fn execute(
    scenario: &Scenario,
    secret: Secret,
    settings: &RunSettings,
    shutdown: &Shutdown,
) -> anyhow::Result<ScenarioRun> {
    preflight(scenario, settings.shard).with_context(|| settings.file.clone())?;
    // Resolved when the scenario was read: every step shares it.
    let provider = scenario.provider.clone();
    let target = scenario.target.clone();
    target.check_credentials_fit(provider.scheme())?;
    let seed = scenario.seed.unwrap_or_else(random_seed);
    let client = Client::new(scenario.tls.client_options())?;
    tokio::select! {
        reachable = ensure_reachable(&client, &target) => reachable?,
        // Nothing ran: the steps below are all skipped.
        _ = shutdown.requested() => {}
    }
    if !settings.quiet {
        eprintln!(
            "hookstorm run: {} · provider {} · target {target} · {} steps · seed {seed}{}",
            scenario.name,
            provider.name(),
            scenario.steps.len(),
            if settings.shard.count > 1 {
                format!(
                    " · shard {}/{}",
                    settings.shard.index + 1,
                    settings.shard.count
                )
            } else {
                String::new()
            }
        );
    }
    let mut report = Report::new(RunInfo {
        command: "run".into(),
        provider: provider.name().to_string(),
        provider_file: provider.file().map(String::from),
        target: target.url(),
        seed,
        shard: (settings.shard.count > 1).then(|| settings.shard.one_based()),
        scenario: Some(settings.file.clone()),
        interrupted: None,
    });
    report.strict = scenario.strict;
    let ctx = StepContext {
        scenario,
        provider,
        target,
        secret,
        settings,
        shutdown,
    };
    let mut merged: Option<LoadSection> = None;
    let mut capacity_load: Option<LoadSection> = None;
    let mut capacity_met = true;
    let mut interrupted = false;
    let total = scenario.steps.len();
    for (i, step) in scenario.steps.iter().enumerate() {
        if shutdown.is_requested() {
            interrupted = true;
            break;
        }
        if !settings.quiet {
            eprintln!(
                "▶ step {}/{total}: {} ({})",
                i + 1,
                step.name,
                step.kind.word()
            );
        }
        match &step.kind {
            StepKind::Check(check) => {
                if settings.shard.index > 0 {
                    if !settings.quiet {
                        eprintln!("  skipped: check steps run in shard 1 only");
                    }
                    continue;
                }
                // Each step its own seed (as load steps have): two check
                // steps with one seed would send the same event ids, which
                // a correct receiver rightly dedupes as redeliveries.
                let checked = ctx
                    .check(check, seed.wrapping_add(i as u64))
                    .await
                    .with_context(|| format!("step {}: {}", i + 1, step.name))?;
                report.append_checks(checked, None);
                if shutdown.is_requested() {
                    interrupted = true;
                    break;
                }
            }
            StepKind::Load(load_step) => {
                let seed = seed.wrapping_add(i as u64);
                let (section, results, stopped) = ctx
                    .load(load_step, seed)
                    .await
                    .with_context(|| format!("step {}: {}", i + 1, step.name))?;
                if !settings.quiet {
                    print_thresholds(&results);
                }
                report.thresholds.extend(results);
                merge_into(&mut merged, section)?;
                if stopped {
                    interrupted = true;
                    break;
                }
            }
            StepKind::Capacity(cap) => {
                let (section, best, results, stopped) = ctx
                    .capacity(cap, seed.wrapping_add(i as u64))
                    .await
                    .with_context(|| format!("step {}: {}", i + 1, step.name))?;
                capacity_met &= section.best_rate.is_some();
                if !settings.quiet {
                    match section.best_rate {
                        Some(rate) => eprintln!("  best rate meeting the SLO: {rate:.1}/s"),
                        None => eprintln!("  no rate met the SLO"),
                    }
                    print_thresholds(&results);
                }
                report.thresholds.extend(results);
                report.capacity = Some(section);
                capacity_load = best.or(capacity_load);
                if stopped {
                    interrupted = true;
                    break;
                }
            }
            StepKind::Wait(d) => {
                tokio::select! {
                    _ = tokio::time::sleep(*d) => {}
                    _ = shutdown.requested() => { interrupted = true; break; }
                }
            }
        }
    }
    let profile = ctx.provider.profile();
    // `preflight` made sure there is a load step to judge them on (an
    // interrupted run may not have reached it).
    if let Some(load) = &merged {
        for t in &scenario.thresholds {
            report
                .thresholds
                .push(t.evaluate_with(&load.stats, |s| profile.success.is_success(s)));
        }
    }
    report.load = merged.or(capacity_load);
    Ok(ScenarioRun {
        report,
        capacity_met,
        interrupted,
    })
}

/// Everything about a scenario that can be known wrong before anything is
/// sent, beyond what reading it checks (the target, for one): scenario
/// thresholds with no load step to judge them on, each check step's selection, each
/// load step's schedule and thresholds, and the connections each step
/// needs. `run` calls it before its first request and `validate` calls it
/// too, so a file `validate` accepts does not fail halfway through a run.
pub fn preflight(scenario: &Scenario, shard: Shard) -> anyhow::Result<()> {
    let has_load = scenario
        .steps
        .iter()
        .any(|s| matches!(s.kind, StepKind::Load(_)));
    if !scenario.thresholds.is_empty() && !has_load {
        // Judging a latency bound on no requests would pass vacuously.
        return Err(usage(
            "scenario-level thresholds need at least one load step: add a `load` step, or \
             move the thresholds into a step",
        ));
    }
    for (i, step) in scenario.steps.iter().enumerate() {
        let at = || format!("step {}: {}", i + 1, step.name);
        match &step.kind {
            // Check ids and their selection were parsed with the file.
            StepKind::Check(_) => {}
            StepKind::Load(load_step) => {
                load::schedule(
                    &load_step.arrival,
                    load_step.duration,
                    load_step.requests,
                    shard,
                )
                .with_context(at)?;
                let (senders, key) = match load_step.arrival {
                    crate::schedule::Arrival::Closed { concurrency } => {
                        (concurrency, "concurrency")
                    }
                    _ => (load_step.connections, "connections"),
                };
                load::ensure_descriptors(senders, key).with_context(at)?;
            }
            StepKind::Capacity(cap) => {
                load::ensure_descriptors(cap.connections, "connections").with_context(at)?;
            }
            StepKind::Wait(_) => {}
        }
    }
    Ok(())
}

fn print_thresholds(results: &[ThresholdResult]) {
    for r in results {
        eprintln!(
            "  {} {} (measured {})",
            if r.passed { "✓" } else { "✗" },
            r.expr,
            r.actual
        );
    }
}

/// Adds a step's load section to the run's: exact histogram and count
/// addition. The steps ran one after another, so the sending windows add
/// and the step's timeline goes where it ran, after the earlier ones.
fn merge_into(merged: &mut Option<LoadSection>, section: LoadSection) -> anyhow::Result<()> {
    match merged {
        None => *merged = Some(section),
        Some(into) => {
            into.stats
                .append(&section.stats)
                .context("cannot merge load statistics")?;
            into.model = format!("{}; then {}", into.model, section.model);
            into.requested_rate = None;
            into.duration_ms += section.duration_ms;
        }
    }
    Ok(())
}

/// What every step of one run shares: the provider, resolved once.
struct StepContext<'a> {
    scenario: &'a Scenario,
    provider: Provider,
    target: Target,
    secret: Secret,
    settings: &'a RunSettings,
    shutdown: &'a Shutdown,
}

impl StepContext<'_> {
    async fn check(&self, step: &CheckStep, seed: u64) -> anyhow::Result<Report> {
        let s = self.scenario;
        let mut plan = CheckPlan::new(
            self.provider.clone(),
            self.target.clone(),
            self.secret.clone(),
        )
        .select(&step.checks, &step.exclude)?
        .only_types(&step.types)?;
        plan.client = s.tls.client_options();
        plan.ledger = s.ledger.clone();
        plan.ordering = s.ordering;
        plan.deadline = s.deadline;
        plan.strict = s.strict;
        plan.concurrency = step.concurrency.unwrap_or(check::DEFAULT_CONCURRENCY);
        plan.burst = step.burst.unwrap_or(check::DEFAULT_BURST);
        plan.seed = seed;
        plan.quiet = self.settings.quiet;
        let report = check::run_until(&plan, self.shutdown).await?;
        if !self.settings.quiet {
            let (pass, fail, other) = report.check_counts();
            eprintln!(
                "  {pass} passed, {fail} failed, {other} other, {} findings",
                report.findings.len()
            );
        }
        Ok(report)
    }

    /// The provider as load steps send it: the scenario's deadline, when
    /// it sets one, replaces the provider's.
    fn load_provider(&self) -> Provider {
        match self.scenario.deadline {
            Some(d) => {
                let mut profile = self.provider.profile().clone();
                profile.deadline_ms = d.as_millis() as u64;
                self.provider.with_profile(profile)
            }
            None => self.provider.clone(),
        }
    }

    /// Everything a load run needs but its schedule: client, signer and the
    /// event pool of the step's mix (with its adversarial share), built
    /// before the clock.
    fn traffic(
        &self,
        mix: &[(String, f64)],
        adversarial: f64,
        seed: u64,
    ) -> anyhow::Result<Arc<Traffic>> {
        let key = SigningKey {
            secret: self.secret.clone(),
            source: format!("${}", self.scenario.secret_env),
        };
        let mut spec = TrafficSpec::signed(self.load_provider(), self.target.clone(), key, seed);
        spec.tls = self.scenario.tls.client_options();
        spec.pool = if adversarial > 0.0 {
            PoolSource::Adversarial {
                mix: mix.to_vec(),
                share: adversarial,
            }
        } else {
            PoolSource::generated(mix.to_vec())
        };
        Ok(Arc::new(Traffic::build(spec)?))
    }

    /// The step's plan: the schedule splits rates, senders and counts
    /// across shards as `hookstorm load --shard` does.
    fn load_plan(&self, step: &LoadStep, seed: u64) -> anyhow::Result<LoadPlan> {
        let arrival = step.arrival.clone();
        let shard = self.settings.shard;
        let schedule = load::schedule(&arrival, step.duration, step.requests, shard)?;
        Ok(LoadPlan {
            traffic: self.traffic(&step.mix, step.adversarial, seed)?,
            arrival,
            schedule,
            connections: step.connections,
            shard,
            thresholds: step.thresholds.clone(),
        })
    }

    async fn load(
        &self,
        step: &LoadStep,
        seed: u64,
    ) -> anyhow::Result<(LoadSection, Vec<ThresholdResult>, bool)> {
        let plan = self.load_plan(step, seed)?;
        let outcome = load::run(&plan, self.settings.quiet, self.shutdown).await?;
        Ok((outcome.section, outcome.thresholds, outcome.interrupted))
    }

    async fn capacity(
        &self,
        step: &CapacityStep,
        seed: u64,
    ) -> anyhow::Result<(
        CapacitySection,
        Option<LoadSection>,
        Vec<ThresholdResult>,
        bool,
    )> {
        let plan = CapacityPlan {
            traffic: self.traffic(&step.mix, 0.0, seed)?,
            bounds: Bounds {
                start_rate: step.start_rate,
                max_rate: step.max_rate,
                step_duration: step.step_duration,
                connections: step.connections,
                shard: self.settings.shard,
                max_time: Duration::MAX,
                max_steps: MAX_CAPACITY_STEPS,
            },
            slo: step.slo.clone(),
        };
        let found = capacity::search(&plan, self.settings.quiet, self.shutdown).await?;
        let best = found.best;
        let profile = plan.traffic.provider.profile();
        let results = match &best {
            Some(b) => load::judge(&step.thresholds, &b.stats, profile),
            None => load::judge(&step.thresholds, &LoadStats::new(Vec::new()), profile),
        };
        Ok((found.section, best, results, found.interrupted))
    }
}
