//! Executing a scenario: steps in order against one target, aggregated
//! into one `reports::Report`.
//!
//! - `check` steps run the conformance suite (`cmd::check::execute`); their
//!   results are appended to the report's checks. In a sharded run only
//!   shard 1 runs them, so the merged report holds each check once.
//! - `load` steps run the emitter (the same pool, schedule and plan as
//!   `hookstorm load`); each step's thresholds are judged on that step's own
//!   statistics, and the steps' statistics are merged into the report's
//!   single load section (histograms and counts add exactly; the rate is
//!   the total over the summed sending time).
//! - `capacity` steps run the `hookstorm capacity` search; the last one is
//!   the report's capacity section, and its thresholds are judged on the
//!   best passing rate's statistics.
//! - `wait` steps sleep. Scenario-level thresholds are judged on the merged
//!   load of all load steps.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use generators::template::MemberOrder;
use generators::variant::{variants, Family};
use generators::{EventType, Generator, ProviderId, Secret, Signer};
use reports::{CapacitySection, LoadSection, LoadStats, Report, RunInfo, ThresholdResult};
use tokio::sync::watch;

use super::{Arrival, CapacityStep, CheckStep, Ledger, LoadStep, Scenario, StepKind};
use crate::client::{Client, ClientOptions, Target};
use crate::cmd::capacity;
use crate::cmd::check::ProviderArgs;
use crate::cmd::check::ResolvedProvider;
use crate::cmd::load::{self, Base, Common, TlsArgs};
use crate::emitter::Shard;
use crate::pool::{Pool, DEFAULT_POOL_SIZE};
use crate::schedule::Stage as PacerStage;
use crate::verdict::usage;

/// Largest response body a load step reads.
const MAX_BODY: u64 = 1 << 20;
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

/// What a run produced.
#[derive(Debug)]
pub struct Outcome {
    /// The aggregated report (thresholds evaluated).
    pub report: Report,
    /// False when a capacity step found no rate meeting its SLO.
    pub capacity_met: bool,
    /// Whether Ctrl-C (or the stop signal) ended the run early.
    pub interrupted: bool,
}

/// Runs every step of `scenario` in order; `stop` turning true ends the
/// current load step early and skips the rest (the report covers what ran).
pub async fn execute(
    scenario: &Scenario,
    secret: Secret,
    settings: &RunSettings,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Outcome> {
    // Resolved when the scenario was read; every step shares it.
    let provider = ResolvedProvider::from_provider(&scenario.provider);
    let target = Target::parse(&scenario.target)?;
    let seed = scenario.seed.unwrap_or_else(crate::cmd::check::random_seed);
    let client = Client::new(scenario.tls.client_options())?;
    ensure_reachable(&client, &target).await?;
    if !settings.quiet {
        eprintln!(
            "hookstorm run: {} · provider {} · target {target} · {} steps · seed {seed}{}",
            scenario.name,
            provider.name,
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
        provider: provider.name.clone(),
        target: target.url(),
        seed,
        shard: (settings.shard.count > 1).then(|| settings.shard.one_based()),
        scenario: Some(settings.file.clone()),
    });
    let ctx = StepContext {
        scenario,
        provider,
        secret,
        settings,
    };
    let mut merged: Option<LoadSection> = None;
    let mut capacity_load: Option<LoadSection> = None;
    let mut capacity_met = true;
    let mut interrupted = false;
    let total = scenario.steps.len();
    for (i, step) in scenario.steps.iter().enumerate() {
        if *stop.borrow() {
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
                report.checks.extend(checked.checks);
            }
            StepKind::Load(load_step) => {
                let seed = seed.wrapping_add(i as u64);
                let (section, results, stopped) = ctx
                    .load(load_step, seed, stop.clone())
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
                let (section, best, results) = ctx
                    .capacity(cap, seed.wrapping_add(i as u64), stop.clone())
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
            }
            StepKind::Wait(d) => {
                let mut stop = stop.clone();
                tokio::select! {
                    _ = tokio::time::sleep(*d) => {}
                    _ = stop.wait_for(|s| *s) => { interrupted = true; break; }
                }
            }
        }
    }
    let profile = scenario.provider.profile();
    if let Some(load) = &merged {
        for t in &scenario.thresholds {
            report
                .thresholds
                .push(t.evaluate_with(&load.stats, |s| profile.success.is_success(s)));
        }
    } else if !scenario.thresholds.is_empty() {
        // Judging a latency bound on no requests would pass vacuously.
        return Err(usage(format!(
            "{}: scenario-level thresholds need at least one load step",
            settings.file
        )));
    }
    report.load = merged.or(capacity_load);
    Ok(Outcome {
        report,
        capacity_met,
        interrupted,
    })
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

/// Fails fast, with exit code 2, when nothing listens at the target or its
/// TLS certificate is not trusted.
async fn ensure_reachable(client: &Client, target: &Target) -> anyhow::Result<()> {
    match client.connect(target).await {
        Err(e) if e.kind == reports::ErrorKind::Connect => Err(usage(format!(
            "target {target} is unreachable ({e}); is the receiver running? nothing was sent"
        ))),
        Err(e) if e.kind == reports::ErrorKind::Tls => Err(usage(format!(
            "target {target} is unreachable: the TLS handshake failed ({e}); trust its CA with \
             `tls: {{ca_cert: ca.pem}}` in the scenario or --ca-cert FILE, or skip verification \
             with --insecure (test targets only); nothing was sent"
        ))),
        _ => Ok(()),
    }
}

struct StepContext<'a> {
    scenario: &'a Scenario,
    provider: ResolvedProvider,
    secret: Secret,
    settings: &'a RunSettings,
}

impl StepContext<'_> {
    async fn check(&self, step: &CheckStep, seed: u64) -> anyhow::Result<Report> {
        let s = self.scenario;
        let (ledger_url, ledger_cmd) = match &s.ledger {
            Some(Ledger::Url(u)) => (Some(u.clone()), None),
            Some(Ledger::Cmd(c)) => (None, Some(c.clone())),
            None => (None, None),
        };
        let args = crate::cmd::check::Args {
            list: false,
            provider: self.provider.builtin.map(|p| p.name().to_string()),
            provider_file: None,
            target: Some(s.target.clone()),
            secret_env: s.secret_env.clone(),
            checks: step.checks.clone(),
            exclude: step.exclude.clone(),
            types: step.types.clone(),
            ledger_url,
            ledger_cmd,
            ordering: s.ordering,
            deadline: s.deadline,
            concurrency: step.concurrency.unwrap_or(8),
            burst: step.burst.unwrap_or(200),
            settle: Duration::from_millis(400),
            seed: Some(seed),
            out: None,
            tls: self.tls_args(),
            quiet: self.settings.quiet,
        };
        let provider = || Ok(self.provider.clone());
        let report = crate::cmd::check::execute_with(&args, provider, self.secret.clone()).await?;
        if !self.settings.quiet {
            let (pass, fail, skip) = report.check_counts();
            eprintln!("  {pass} passed, {fail} failed, {skip} skipped");
        }
        Ok(report)
    }

    /// The `hookstorm load` flags equivalent to a step (for the schedule,
    /// which splits rates, senders and counts across shards the same way).
    fn load_args(&self, step: &LoadStep, seed: u64) -> load::Args {
        let (rate, stages, concurrency) = match &step.arrival {
            Arrival::Rate(r) => (Some(*r), Vec::new(), None),
            Arrival::Stages(stages) => (
                Some(0.0),
                stages
                    .iter()
                    .map(|s| PacerStage {
                        duration: s.duration,
                        target: s.rate,
                    })
                    .collect(),
                None,
            ),
            Arrival::Concurrency(c) => (None, Vec::new(), Some(*c)),
        };
        load::Args {
            common: self.common(step.connections, seed),
            rate,
            stages,
            concurrency,
            duration: step.duration,
            requests: step.requests,
            thresholds: step.thresholds.iter().map(|t| t.expr.clone()).collect(),
            shard: Some(self.settings.shard),
        }
    }

    /// The scenario's TLS settings as `--ca-cert`/`--insecure` flags.
    fn tls_args(&self) -> TlsArgs {
        TlsArgs {
            ca_cert: self.scenario.tls.ca_cert.clone(),
            insecure: self.scenario.tls.insecure,
        }
    }

    fn common(&self, connections: Option<usize>, seed: u64) -> Common {
        Common {
            provider: ProviderArgs {
                name: self.provider.builtin.map(|p| p.name().to_string()),
                // Unread: the step's base comes from the resolved provider.
                file: None,
            },
            target: self.scenario.target.clone(),
            secret_env: self.scenario.secret_env.clone(),
            types: Vec::new(),
            mix: None,
            events: None,
            verbatim: false,
            keep_order: false,
            busy_poll: false,
            connections,
            http2: false,
            tls: self.tls_args(),
            timeout: self.scenario.deadline,
            max_body: MAX_BODY,
            seed: Some(seed),
            pool_size: DEFAULT_POOL_SIZE,
            threads: None,
            out: None,
            quiet: self.settings.quiet,
        }
    }

    /// Everything a load run needs: client, signer and the event pool of
    /// the step's mix (with its adversarial share), built before the clock.
    fn base(&self, mix: &[(String, f64)], adversarial: f64, seed: u64) -> anyhow::Result<Base> {
        let mut profile = self.provider.profile.clone();
        if let Some(d) = self.scenario.deadline {
            profile.deadline_ms = d.as_millis() as u64;
        }
        let target = Target::parse(&self.scenario.target)?;
        let timeout = Duration::from_millis(profile.deadline_ms).min(Duration::from_secs(10));
        let client = Client::new(ClientOptions {
            connect_timeout: timeout.min(Duration::from_secs(5)),
            max_response_bytes: MAX_BODY as usize,
            ..self.scenario.tls.client_options()
        })?;
        let catalog = self.provider.catalog;
        let catalog_name = self.provider.catalog_name.as_str();
        let weighted: Vec<(&EventType, f64)> = if mix.is_empty() {
            catalog
                .of_provider_name(catalog_name)
                .into_iter()
                .map(|t| (t, 1.0))
                .collect()
        } else {
            mix.iter()
                .map(|(name, w)| {
                    catalog
                        .get(catalog_name, name)
                        .map(|t| (t, *w))
                        .map_err(|e| usage(e.to_string()))
                })
                .collect::<anyhow::Result<_>>()?
        };
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let pool = if adversarial > 0.0 {
            adversarial_pool(
                self.provider.builtin,
                &profile,
                &weighted,
                adversarial,
                seed,
                now_ms,
            )?
        } else {
            Pool::generate(
                self.provider.builtin,
                &profile,
                &weighted,
                seed,
                now_ms,
                DEFAULT_POOL_SIZE,
                MemberOrder::SlotsLast,
            )?
        };
        let signer = Signer::new(&profile.scheme, &self.secret)
            .map_err(|e| usage(format!("{e} (from ${})", self.scenario.secret_env)))?;
        Ok(Base {
            provider: self.provider.builtin,
            name: self.provider.name.clone(),
            profile,
            fast_path: !target.https,
            target,
            client,
            signer: Some(signer),
            pool: Arc::new(pool),
            busy_poll: false,
            timeout,
            seed,
        })
    }

    async fn load(
        &self,
        step: &LoadStep,
        seed: u64,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<(LoadSection, Vec<ThresholdResult>, bool)> {
        let args = self.load_args(step, seed);
        let arrival = args.arrival()?;
        let schedule = args.schedule(self.settings.shard)?;
        let base = self.base(&step.mix, step.adversarial, seed)?;
        let model = load::describe(&arrival, &schedule);
        let requested_rate = schedule.target_rate();
        let plan = base.plan(
            schedule,
            step.connections.unwrap_or(64),
            MAX_BODY,
            self.settings.shard,
        );
        let run = load::run_plan(plan, self.settings.quiet, stopped(stop)).await?;
        let results = load::thresholds(&args.thresholds, &run.stats, &base.profile)?;
        let section = LoadSection {
            stats: run.stats,
            model,
            requested_rate,
            duration_ms: run.elapsed.as_millis() as u64,
        };
        Ok((section, results, run.interrupted))
    }

    async fn capacity(
        &self,
        step: &CapacityStep,
        seed: u64,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<(CapacitySection, Option<LoadSection>, Vec<ThresholdResult>)> {
        let base = self.base(&step.mix, 0.0, seed)?;
        let slo: Vec<String> = step.slo.iter().map(|t| t.expr.clone()).collect();
        let bounds = capacity::Bounds {
            start_rate: step.start_rate,
            max_rate: step.max_rate,
            step_duration: step.step_duration,
            connections: step.connections.unwrap_or(256),
            max_body: MAX_BODY,
            shard: self.settings.shard,
            max_time: Duration::MAX,
            max_steps: MAX_CAPACITY_STEPS,
        };
        let found = capacity::search(&base, &bounds, &slo, self.settings.quiet, stop).await?;
        let best = found.best;
        let exprs: Vec<String> = step.thresholds.iter().map(|t| t.expr.clone()).collect();
        let results = match &best {
            Some(b) => load::thresholds(&exprs, &b.stats, &base.profile)?,
            None => load::thresholds(&exprs, &LoadStats::new(Vec::new()), &base.profile)?,
        };
        Ok((found.section, best, results))
    }
}

/// Resolves when `stop` turns true (never, if its sender is dropped first).
async fn stopped(mut stop: watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// A pool where `share` of each type's events are still-valid adversarial
/// variants (unknown fields, absent optionals, extreme unicode, maximal
/// lengths, i64 edges, deep nesting, large arrays): the receiver must
/// accept them, so they count toward the error rate like valid events.
/// Types are interleaved in proportion to their weights.
fn adversarial_pool(
    provider: Option<ProviderId>,
    profile: &generators::Profile,
    mix: &[(&EventType, f64)],
    share: f64,
    seed: u64,
    now_ms: i64,
) -> anyhow::Result<Pool> {
    let still_valid: Vec<_> = variants()
        .iter()
        .filter(|v| v.family == Family::StillValid)
        .collect();
    let total: f64 = mix.iter().map(|(_, w)| w).sum();
    let size = DEFAULT_POOL_SIZE.max(mix.len());
    let mut generator = Generator::new(seed, now_ms);
    let mut per_type: Vec<Vec<String>> = Vec::new();
    let mut variant_at = 0usize;
    for (ty, weight) in mix {
        let count = ((size as f64 * weight / total).round() as usize).max(1);
        let adversarial = (count as f64 * share).round() as usize;
        let mut lines = Vec::with_capacity(count);
        for i in 0..count {
            // Spread the adversarial events evenly through the type's run.
            let is_adversarial =
                adversarial > 0 && i * adversarial / count != (i + 1) * adversarial / count;
            let value = if is_adversarial {
                let variant = still_valid[variant_at % still_valid.len()];
                variant_at += 1;
                generator
                    .mutate(ty, variant)
                    .value
                    .unwrap_or_else(|| generator.valid(ty))
            } else {
                generator.valid(ty)
            };
            lines.push(serde_json::to_string(&value)?);
        }
        per_type.push(lines);
    }
    let longest = per_type.iter().map(Vec::len).max().unwrap_or(0);
    let mut text = String::new();
    for i in 0..longest {
        for lines in &per_type {
            if let Some(line) = lines.get(i) {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    Pool::from_jsonl(&text, provider, profile, false, MemberOrder::SlotsLast)
}
