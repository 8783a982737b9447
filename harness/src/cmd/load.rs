//! `hookstorm load`: drives signed, unique events at a receiver under an
//! open (constant or ramping rate) or closed (N senders) model, prints the
//! summary, evaluates thresholds and writes the report directory.
//!
//! The flags shared with `capacity` live in [`Common`]; [`Common::base`]
//! turns them into everything a run needs except its schedule, once.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use generators::template::MemberOrder;
use generators::{Catalog, EventType, Profile, ProviderId, Signer};
use reports::{LoadSection, Report, RunInfo, Threshold};

use crate::client::{Client, ClientOptions, Target};
use crate::cmd::check::{random_seed, secret_from_env, ProviderArgs};
use crate::duration::parse_duration;
use crate::emitter::{self, Emission, Measurements, Run, Shard};
use crate::pool::{self, Pool, DEFAULT_POOL_SIZE};
use crate::progress::{self, Progress};
use crate::schedule::{Arrival, Schedule, Stage};
use crate::shutdown;
use crate::verdict::{usage, Verdict};

/// Flags `load` and `capacity` share: what to send, where, and how.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// The provider (`--provider` or `--provider-file`).
    #[command(flatten)]
    pub provider: ProviderArgs,
    /// The receiver's URL (http:// or https://).
    #[arg(long, short = 't')]
    pub target: String,
    /// Environment variable holding the shared secret (bearer token for auth0).
    #[arg(long, default_value = "HOOK_SECRET", value_name = "VAR")]
    pub secret_env: String,
    /// Send only these event types (repeatable; default: every type of the provider, equally).
    #[arg(long = "type", value_name = "TYPE", conflicts_with_all = ["mix", "events"])]
    pub types: Vec<String>,
    /// Weighted event mix: a file of `type: weight` lines.
    #[arg(long, value_name = "FILE", conflicts_with = "events")]
    pub mix: Option<PathBuf>,
    /// Send these events (JSONL: `events gen --signed` records or bare bodies);
    /// ids, seq, timestamps and signatures are still refreshed unless --verbatim.
    #[arg(long, value_name = "FILE.jsonl")]
    pub events: Option<PathBuf>,
    /// With --events: send each record byte for byte, headers included.
    #[arg(long, requires = "events")]
    pub verbatim: bool,
    /// Keep each event's JSON member order. By default the members holding
    /// the per-request id/seq/timestamp move to the end of their objects
    /// (same event, RFC 8259 §4), so signing rehashes a few bytes per
    /// request instead of the whole body.
    #[arg(long)]
    pub keep_order: bool,
    /// Connections for the open model (each carries one request at a time).
    #[arg(long, short = 'c', value_name = "N")]
    pub connections: Option<usize>,
    /// Speak HTTP/2 (prior knowledge on http://, ALPN on https://).
    #[arg(long)]
    pub http2: bool,
    /// How to trust an https target.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Per-request timeout, connect included [default: the provider's deadline, at most 10s].
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
    /// Responses with a longer body fail as body_too_large.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_body: u64,
    /// Seed of the event generator (printed; reuse it to reproduce the pool).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Events generated into the pool before the clock starts.
    #[arg(long, default_value_t = DEFAULT_POOL_SIZE, value_name = "N")]
    pub pool_size: usize,
    /// Poll instead of sleeping: the runtime never parks and releases due
    /// requests itself, so none waits for a wake-up (lower latency while
    /// the core has time to spare; near its capacity the polling takes time
    /// from sending). One core stays 100 % busy: meant for a generator
    /// pinned to its own core (with --threads 1).
    #[arg(long)]
    pub busy_poll: bool,
    /// Runtime worker threads [default: the CPUs this process may use].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Write report.json, latency.hgrm, summary.md and index.html here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No progress display and no start line; only the final summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `--ca-cert FILE` and `--insecure`, shared by every command that connects
/// to a target (`load`, `capacity`, `check`) and by `run`/`validate`, where
/// they override a scenario's `tls:` values.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// Extra PEM CA certificate to trust for an https target.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Do not verify the target's TLS certificate.
    #[arg(long)]
    pub insecure: bool,
}

impl TlsArgs {
    /// Fails (usage error, exit 2) when `--ca-cert` is not a readable PEM
    /// CA certificate, before anything connects.
    pub fn check(&self) -> Result<()> {
        if let Some(path) = &self.ca_cert {
            crate::client::read_ca_certs(path)
                .map_err(|e| usage(format!("--ca-cert {}: {e}", path.display())))?;
        }
        Ok(())
    }

    /// The flags as a scenario's TLS settings (they replace the file's).
    pub fn scenario(&self) -> crate::scenario::Tls {
        crate::scenario::Tls {
            ca_cert: self.ca_cert.clone(),
            insecure: self.insecure,
        }
    }
}

/// Arguments of `hookstorm load`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// What to send and where.
    #[command(flatten)]
    pub common: Common,
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

/// Everything a run needs except its schedule, built once from [`Common`].
#[derive(Debug)]
pub struct Base {
    /// The built-in provider (`None` for a provider file's).
    pub provider: Option<ProviderId>,
    /// The provider's name, for reports.
    pub name: String,
    /// Its delivery profile.
    pub profile: Profile,
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
    /// The seed.
    pub seed: u64,
}

impl Common {
    /// Where pooled events put the members that change per request.
    fn order(&self) -> MemberOrder {
        if self.keep_order {
            MemberOrder::Keep
        } else {
            MemberOrder::SlotsLast
        }
    }

    /// Validates the flags and builds the pool (before any clock starts).
    pub fn base(&self) -> Result<Base> {
        let resolved = self.provider.resolve()?;
        let provider = resolved.builtin;
        let profile = resolved.profile.clone();
        let target = Target::parse(&self.target).map_err(|e| usage(format!("{e:#}")))?;
        let timeout = self.timeout.unwrap_or_else(|| {
            Duration::from_millis(profile.deadline_ms).min(Duration::from_secs(10))
        });
        if timeout.is_zero() {
            return Err(usage("--timeout must be above 0"));
        }
        let options = ClientOptions {
            ca_cert: self.tls.ca_cert.clone(),
            insecure: self.tls.insecure,
            http2: self.http2,
            connect_timeout: timeout.min(Duration::from_secs(5)),
            max_response_bytes: usize::try_from(self.max_body).unwrap_or(usize::MAX),
        };
        let client = Client::new(options)?;
        let seed = self.seed.unwrap_or_else(random_seed);
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let pool = if let Some(path) = &self.events {
            let text = std::fs::read_to_string(path)
                .map_err(|e| usage(format!("cannot read --events {}: {e}", path.display())))?;
            Pool::from_jsonl(&text, provider, &profile, self.verbatim, self.order())?
        } else {
            let catalog = resolved.catalog;
            let provider_name = resolved.catalog_name.as_str();
            let mix: Vec<(&EventType, f64)> = if let Some(path) = &self.mix {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| usage(format!("cannot read --mix {}: {e}", path.display())))?;
                pool::parse_mix(&text)?
                    .into_iter()
                    .filter(|(_, w)| *w > 0.0)
                    .map(|(name, w)| lookup(catalog, provider_name, &name).map(|t| (t, w)))
                    .collect::<Result<_>>()?
            } else if !self.types.is_empty() {
                self.types
                    .iter()
                    .map(|name| lookup(catalog, provider_name, name).map(|t| (t, 1.0)))
                    .collect::<Result<_>>()?
            } else {
                catalog
                    .of_provider_name(provider_name)
                    .into_iter()
                    .map(|t| (t, 1.0))
                    .collect()
            };
            if self.pool_size == 0 {
                return Err(usage("--pool-size must be at least 1"));
            }
            Pool::generate(
                provider,
                &profile,
                &mix,
                seed,
                now_ms,
                self.pool_size,
                self.order(),
            )?
        };
        let signer = if self.verbatim {
            None
        } else {
            let secret = secret_from_env(&self.secret_env)?;
            Some(
                Signer::new(&profile.scheme, &secret)
                    .map_err(|e| usage(format!("{e} (from ${})", self.secret_env)))?,
            )
        };
        Ok(Base {
            provider,
            name: resolved.name,
            profile,
            fast_path: !target.https && !self.http2,
            target,
            client,
            signer,
            pool: Arc::new(pool),
            busy_poll: self.busy_poll,
            timeout,
            seed,
        })
    }

    /// The runtime a run uses: one thread → current-thread scheduler
    /// (no work-stealing overhead when pinned to a core).
    pub fn runtime(&self) -> Result<tokio::runtime::Runtime> {
        let threads = self.threads.unwrap_or_else(emitter::stripes).max(1);
        let mut builder = if threads == 1 {
            tokio::runtime::Builder::new_current_thread()
        } else {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(threads);
            b
        };
        builder
            .enable_all()
            .build()
            .map_err(|e| usage(format!("cannot start the async runtime: {e}")))
    }
}

impl Base {
    /// A plan of this base with `schedule` over `connections`.
    pub fn plan(
        &self,
        schedule: Schedule,
        connections: usize,
        max_body: u64,
        shard: Shard,
    ) -> Emission {
        Emission {
            target: self.target.clone(),
            client: self.client.clone(),
            fast_path: self.fast_path,
            profile: self.profile.clone(),
            signer: self.signer.clone(),
            pool: self.pool.clone(),
            busy_poll: self.busy_poll,
            schedule,
            connections,
            timeout: self.timeout,
            max_body,
            shard,
            seed: self.seed,
        }
    }

    /// The report skeleton of a run of this base.
    pub fn report(&self, command: &str, shard: Shard) -> Report {
        Report::new(RunInfo {
            command: command.to_string(),
            provider: self.name.clone(),
            target: self.target.url(),
            seed: self.seed,
            shard: (shard.count > 1).then(|| shard.one_based()),
            scenario: None,
        })
    }
}

fn lookup<'a>(catalog: &'a Catalog, provider: &str, name: &str) -> Result<&'a EventType> {
    catalog
        .get(provider, name)
        .map_err(|e| usage(e.to_string()))
}

/// Splits `n` over the shards: shard k gets its fair part, the remainder
/// going to the first shards, so the parts add up to `n` exactly.
fn split(n: u64, shard: Shard) -> u64 {
    let count = u64::from(shard.count);
    n / count + u64::from(u64::from(shard.index) < n % count)
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

    /// The schedule of this (part of the) run.
    pub fn schedule(&self, shard: Shard) -> Result<Schedule> {
        let arrival = match self.arrival()? {
            // A closed model's share is its senders, not a rate.
            Arrival::Closed { concurrency } => Arrival::Closed {
                concurrency: split(concurrency as u64, shard).max(1) as usize,
            },
            other => other,
        };
        let requests = self.requests.map(|n| split(n, shard));
        let share = if matches!(arrival, Arrival::Closed { .. }) {
            1.0
        } else {
            shard.share()
        };
        Schedule::new(&arrival, self.duration, requests, share).map_err(|e| usage(e.to_string()))
    }
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

/// Runs one schedule of `plan` with Ctrl-C and (when wanted) a progress line.
pub async fn run_plan(
    plan: Emission,
    quiet: bool,
    shutdown: impl std::future::Future,
) -> Result<Run> {
    let plan = Arc::new(plan);
    let end = plan.schedule.end();
    let live = Arc::new(Measurements::new(
        &plan.pool.type_names,
        emitter::stripes(),
        Some(end),
    ));
    let progress = progress::wanted(quiet).then(|| Progress::start(live.clone(), Some(end)));
    let run = emitter::run_observed(plan, live, shutdown).await;
    if let Some(p) = progress {
        p.finish();
    }
    run
}

/// Evaluates `--threshold` expressions with the provider's success rule.
pub fn thresholds(
    exprs: &[String],
    stats: &reports::LoadStats,
    profile: &Profile,
) -> Result<Vec<reports::ThresholdResult>> {
    exprs
        .iter()
        .map(|e| {
            let t: Threshold =
                reports::threshold::parse(e).map_err(|err| usage(err.to_string()))?;
            Ok(t.evaluate_with(stats, |s| profile.success.is_success(s)))
        })
        .collect()
}

/// Writes the report directory, when asked.
pub fn write_out(report: &Report, out: Option<&PathBuf>, quiet: bool) -> Result<()> {
    if let Some(dir) = out {
        let written = reports::render::write_dir(report, dir)
            .map_err(|e| usage(format!("cannot write the report to {}: {e}", dir.display())))?;
        if !quiet {
            println!("report: {} ({} files)", dir.display(), written.len());
        }
    }
    Ok(())
}

/// Runs `hookstorm load`.
pub fn run(args: Args) -> Result<Verdict> {
    let shard = args.shard.unwrap_or(Shard::WHOLE);
    let arrival = args.arrival()?;
    let schedule = args.schedule(shard)?;
    // Threshold syntax is checked before the run, not after a long one.
    for expr in &args.thresholds {
        reports::threshold::parse(expr).map_err(|e| usage(e.to_string()))?;
    }
    let base = args.common.base()?;
    let connections = match args.common.connections {
        Some(0) => return Err(usage("--connections must be at least 1")),
        Some(c) => c,
        None => 64,
    };
    let model = describe(&arrival, &schedule);
    let requested_rate = schedule.target_rate();
    let plan = base.plan(schedule, connections, args.common.max_body, shard);
    if !args.common.quiet {
        eprintln!(
            "hookstorm load: {model} → {} · {} senders · seed {}",
            base.target.url(),
            plan.senders(),
            base.seed
        );
    }
    let runtime = args.common.runtime()?;
    let run = runtime
        .block_on(run_plan(plan, args.common.quiet, shutdown::ctrl_c()))
        .context("load run failed")?;
    let mut report = base.report("load", shard);
    report.thresholds = thresholds(&args.thresholds, &run.stats, &base.profile)?;
    let verdict = Verdict::from_ok(report.thresholds.iter().all(|t| t.passed));
    report.load = Some(LoadSection {
        stats: run.stats,
        model,
        requested_rate,
        duration_ms: run.elapsed.as_millis() as u64,
    });
    if run.interrupted {
        eprintln!("interrupted: the results below cover what ran before Ctrl-C");
    }
    print!("{}", reports::terminal_summary(&report));
    write_out(&report, args.common.out.as_ref(), args.common.quiet)?;
    Ok(verdict)
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

    #[test]
    fn split_adds_up() {
        for n in [0u64, 1, 7, 100, 1001] {
            let total: u64 = (0..3).map(|k| split(n, Shard { index: k, count: 3 })).sum();
            assert_eq!(total, n);
        }
    }
}
