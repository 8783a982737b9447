//! `hookstorm demo`: the whole product on an embedded default, no set-up.
//!
//! Starts the reference receiver in-process on a free loopback port for
//! each built-in provider, runs the conformance suite against it with its
//! ledger, runs a short load, prints the summary and writes the report
//! directory. Everything stays on 127.0.0.1 and is bounded in time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use generators::{ProviderId, Secret};
use reports::{LoadSection, Report, RunInfo};

use crate::cmd::{check, load};
use crate::emitter::Shard;
use crate::ledger::OrderingPolicy;
use crate::receiver::{self, ReceiverConfig};
use crate::verdict::{usage, Verdict};

/// Arguments of `hookstorm demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the report directory.
    #[arg(long, default_value = "hookstorm-report")]
    pub out: PathBuf,
    /// Seed of the generators (printed; reuse it to reproduce the run).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Length of the load phase.
    #[arg(long, value_parser = crate::duration::parse_duration, default_value = "3s")]
    pub load_duration: Duration,
    /// Arrival rate of the load phase (requests per second).
    #[arg(long, default_value_t = 2000.0)]
    pub load_rate: f64,
}

/// The demo's secret for `provider`: Standard Webhooks needs the
/// `whsec_<base64>` form, the others take any string.
pub fn demo_secret(provider: ProviderId) -> Secret {
    match provider {
        // base64("hookstorm-demo-secret-32-bytes!!")
        ProviderId::StandardWebhooks => {
            Secret::new("whsec_aG9va3N0b3JtLWRlbW8tc2VjcmV0LTMyLWJ5dGVzISE=".into())
        }
        _ => Secret::new("hookstorm-demo-secret".into()),
    }
}

/// Runs the demo.
pub fn run(args: Args) -> anyhow::Result<Verdict> {
    let started = Instant::now();
    let seed = args.seed.unwrap_or_else(check::random_seed);
    println!("hookstorm demo — reference receiver on 127.0.0.1, seed {seed}\n");
    // The load phase reads its secret from the environment like `load`
    // does; set it before the runtime starts any thread.
    std::env::set_var(DEMO_SECRET_ENV, demo_secret(ProviderId::Authgear).expose());
    let runtime = check::runtime()?;
    let report = runtime.block_on(demo(&args, seed))?;
    print!("{}", check::render_outcome(&report, true));
    if report.load.is_some() {
        println!("\n{}", reports::render::terminal::terminal_summary(&report));
    }
    let written = reports::render::write_dir(&report, &args.out).map_err(|e| {
        usage(format!(
            "cannot write the report to {}: {e}",
            args.out.display()
        ))
    })?;
    println!(
        "\nreport: {}/ ({}) — open {}/index.html",
        args.out.display(),
        written
            .iter()
            .filter_map(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
            .collect::<Vec<_>>()
            .join(", "),
        args.out.display()
    );
    println!("demo finished in {:.1} s", started.elapsed().as_secs_f64());
    Ok(Verdict::from_ok(report.passed()))
}

/// The checks for every provider, then the load phase.
async fn demo(args: &Args, seed: u64) -> anyhow::Result<Report> {
    let mut report = Report::new(RunInfo {
        command: "demo".into(),
        provider: "all".into(),
        target: "built-in reference receiver (127.0.0.1)".into(),
        seed,
        shard: None,
        scenario: None,
    });
    for provider in ProviderId::ALL {
        let t0 = Instant::now();
        let secret = demo_secret(provider);
        let mut config = ReceiverConfig::new(provider, secret.clone());
        config.ordering = OrderingPolicy::LastWriteWins;
        let running = receiver::start(config).await?;
        let mut check_args = check::Args::new(provider.name(), &running.url());
        check_args.ledger_url = Some(running.ledger_url());
        check_args.seed = Some(seed);
        let result = check::execute(&check_args, secret).await;
        running.shutdown().await;
        let mut part = result?;
        let (pass, fail, skip) = part.check_counts();
        println!(
            "  {:18} {pass:4} passed {fail:3} failed {skip:3} skipped   ({:.1} s)",
            provider.name(),
            t0.elapsed().as_secs_f64()
        );
        for result in &mut part.checks {
            result.event_type = format!("{} {}", provider.name(), result.event_type);
        }
        report.checks.append(&mut part.checks);
    }
    println!();
    load_phase(args, seed, &mut report).await?;
    Ok(report)
}

/// The environment variable the demo's load phase takes its secret from.
const DEMO_SECRET_ENV: &str = "HOOKSTORM_DEMO_SECRET";

/// A short open-model load of every Authgear type against a fresh
/// reference receiver, with the thresholds a team would start from.
async fn load_phase(args: &Args, seed: u64, report: &mut Report) -> anyhow::Result<()> {
    let provider = ProviderId::Authgear;
    let mut config = ReceiverConfig::new(provider, demo_secret(provider));
    config.ordering = OrderingPolicy::LastWriteWins;
    let running = receiver::start(config).await?;
    let load_args = load::Args {
        common: load::Common {
            provider: crate::cmd::check::ProviderArgs::builtin(provider.name()),
            target: running.url(),
            secret_env: DEMO_SECRET_ENV.into(),
            types: Vec::new(),
            mix: None,
            events: None,
            verbatim: false,
            keep_order: false,
            busy_poll: false,
            connections: Some(16),
            http2: false,
            tls: load::TlsArgs::default(),
            timeout: None,
            max_body: 1 << 20,
            seed: Some(seed),
            pool_size: crate::pool::DEFAULT_POOL_SIZE,
            threads: None,
            out: None,
            quiet: true,
        },
        rate: Some(args.load_rate),
        stages: Vec::new(),
        concurrency: None,
        duration: Some(args.load_duration),
        requests: None,
        thresholds: vec!["p99<250ms".into(), "error_rate<0.1%".into()],
        shard: None,
    };
    println!(
        "  load: {} req/s for {:.0} s, every authgear type, signed, 16 connections",
        args.load_rate,
        args.load_duration.as_secs_f64()
    );
    let shard = Shard::WHOLE;
    let arrival = load_args.arrival()?;
    let schedule = load_args.schedule(shard)?;
    let model = load::describe(&arrival, &schedule);
    let requested_rate = schedule.target_rate();
    let base = load_args.common.base()?;
    let plan = base.plan(schedule, 16, load_args.common.max_body, shard);
    let run = load::run_plan(plan, true, std::future::pending::<()>()).await;
    running.shutdown().await;
    let run = run?;
    report.thresholds = load::thresholds(&load_args.thresholds, &run.stats, &base.profile)?;
    report.load = Some(LoadSection {
        stats: run.stats,
        model,
        requested_rate,
        duration_ms: run.elapsed.as_millis() as u64,
    });
    Ok(())
}
