//! `hookstorm check`: flags → [`CheckPlan`] → `check::run` → the table by
//! check, the findings by severity with their `curl` reproduction, and the
//! report directory. Exit 1 when a result gates (FAIL, ERROR, NON-STRICT
//! under `--strict`) or the run stopped early; 2 for usage mistakes and a
//! target unreachable at the start.

use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use crate::check::{self, CheckId, CheckPlan};
use crate::cmd::flags::{prepare_out, runtime, write_report, Interruptible, TlsArgs};
use crate::duration::parse_duration;
use crate::ledger::{LedgerSource, OrderingPolicy};
use crate::secret::DEFAULT_SECRET_ENV;
use crate::target::{Target, TargetParser};
use crate::verdict::{usage, Verdict};

/// `--settle`'s default as the flag spells it: the plan's, in milliseconds.
static DEFAULT_SETTLE_FLAG: LazyLock<String> =
    LazyLock::new(|| format!("{}ms", check::DEFAULT_SETTLE.as_millis()));

/// Arguments of `hookstorm check`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Print every check with its id, what it enforces and the provider rule, then exit.
    #[arg(long)]
    pub list: bool,
    #[arg(help = crate::provider::flag_help("Built-in provider whose events, signatures and delivery semantics to use"), long, short = 'p', required_unless_present_any = ["list", "provider_file"], conflicts_with = "provider_file")]
    pub provider: Option<String>,
    /// A provider that is not built in, declared in a YAML or TOML file.
    #[arg(long, value_name = "FILE")]
    pub provider_file: Option<PathBuf>,
    /// The receiver's URL, e.g. http://127.0.0.1:8080/hooks.
    #[arg(long, short = 't', required_unless_present = "list", value_parser = TargetParser)]
    pub target: Option<Target>,
    /// Environment variable holding the shared secret (bearer token for auth0).
    #[arg(long, default_value = DEFAULT_SECRET_ENV, value_name = "VAR")]
    pub secret_env: String,
    /// Run only these checks (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "ID,...", value_parser = parse_check)]
    pub checks: Vec<CheckId>,
    /// Skip these checks (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "ID,...", value_parser = parse_check)]
    pub exclude: Vec<CheckId>,
    /// Only these event types (repeatable; default: every type of the provider).
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// URL answering GET with the receiver's processing ledger (JSON array of {"id","seq"}).
    #[arg(long, value_name = "URL", conflicts_with = "ledger_cmd", value_parser = TargetParser)]
    pub ledger_url: Option<Target>,
    /// Shell command printing the receiver's processing ledger on stdout.
    #[arg(long, value_name = "CMD")]
    pub ledger_cmd: Option<String>,
    /// The ordering policy the receiver promises.
    #[arg(long, value_enum, default_value = "last-write-wins")]
    pub ordering: OrderingPolicy,
    /// Override the provider's response deadline (e.g. 2s, 500ms).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub deadline: Option<Duration>,
    /// Deliveries in flight at once, for the whole run.
    #[arg(long, default_value_t = check::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// NON-STRICT findings (SHOULDs: 5xx instead of 4xx, schema-invalid events processed) fail the run too.
    #[arg(long)]
    pub strict: bool,
    /// How long one request waits for an answer (default: the provider's deadline); a timeout is an ERROR of that probe.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub request_timeout: Option<Duration>,
    /// After this many timeouts in a row the receiver is declared unresponsive and nothing more is sent (0: never).
    #[arg(long, default_value_t = check::DEFAULT_UNRESPONSIVE_AFTER, value_name = "N")]
    pub unresponsive_after: u32,
    /// The longest the whole run may take; probes not sent by then are ERRORs.
    #[arg(long, value_parser = parse_duration, default_value = "10m", value_name = "DURATION")]
    pub max_time: Duration,
    /// End the run once this many probes FAILed.
    #[arg(long, value_name = "N")]
    pub max_failures: Option<usize>,
    /// Events in the no_loss burst.
    #[arg(long, default_value_t = check::DEFAULT_BURST)]
    pub burst: usize,
    /// Wait this long for the receiver to settle before reading the ledger.
    #[arg(long, value_parser = parse_duration, default_value = DEFAULT_SETTLE_FLAG.as_str(), value_name = "DURATION")]
    pub settle: Duration,
    /// Seed of the event generator (printed; reuse it to reproduce a run).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The report directory: its files are [`reports::render::OUTPUTS`].
    #[arg(long, value_name = "DIR", help = format!("Write {} here", reports::render::output_names()))]
    pub out: Option<PathBuf>,
    /// How to trust an https target (and an https ledger URL).
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Print only the final table.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `--checks`/`--exclude` ids, parsed once here at the edge.
fn parse_check(id: &str) -> Result<CheckId, String> {
    CheckId::parse(id).map_err(|e| format!("{e} (see `hookstorm check --list`)"))
}

/// The plan the flags describe: the secret first, then the target, the
/// checks, the provider and the types, each mistake a usage error.
pub fn plan(args: &Args) -> anyhow::Result<CheckPlan> {
    let secret = crate::secret::from_env(&args.secret_env)?;
    let target = args
        .target
        .clone()
        .ok_or_else(|| usage("--target URL is required (the receiver's URL)"))?;
    let checks =
        check::select(&args.checks, &args.exclude).ok_or_else(|| usage(check::NOTHING_SELECTED))?;
    refuse_zero(args)?;
    let provider =
        crate::provider::resolve(args.provider.as_deref(), args.provider_file.as_deref())?;
    let mut plan = CheckPlan::new(provider, target, secret).only_types(&args.types)?;
    plan.checks = checks;
    plan.client = args.tls.client_options();
    plan.ledger = LedgerSource::from_flags(args.ledger_url.as_ref(), args.ledger_cmd.as_deref());
    plan.ordering = args.ordering;
    plan.deadline = args.deadline;
    plan.concurrency = args.concurrency;
    plan.strict = args.strict;
    plan.request_timeout = args.request_timeout;
    plan.unresponsive_after = args.unresponsive_after;
    plan.max_time = args.max_time;
    plan.max_failures = args.max_failures;
    plan.burst = args.burst;
    plan.settle = args.settle;
    if let Some(seed) = args.seed {
        plan.seed = seed;
    }
    plan.quiet = args.quiet;
    Ok(plan)
}

/// Zero senders, events or time would run the checks on nothing and pass.
fn refuse_zero(args: &Args) -> anyhow::Result<()> {
    if args.concurrency == 0 {
        return Err(usage(
            "--concurrency must be at least 1: it is how many deliveries the deadline and \
             duplicate probes send at once (e.g. --concurrency 8)",
        ));
    }
    if args.burst == 0 {
        return Err(usage(
            "--burst must be at least 1: it is how many events no_loss sends (e.g. --burst 100)",
        ));
    }
    if args.deadline.is_some_and(|d| d.is_zero()) {
        return Err(usage(
            "--deadline must be above 0: it is how long the receiver may take to answer \
             (e.g. --deadline 2s)",
        ));
    }
    if args.request_timeout.is_some_and(|d| d.is_zero()) {
        return Err(usage(
            "--request-timeout must be above 0: it is how long one request waits for its \
             answer (e.g. --request-timeout 5s)",
        ));
    }
    if args
        .ledger_cmd
        .as_deref()
        .is_some_and(|c| c.trim().is_empty())
    {
        return Err(usage(
            "--ledger-cmd is empty: give the command that prints the receiver's ledger \
             (e.g. --ledger-cmd './print-ledger.sh')",
        ));
    }
    Ok(())
}

/// Runs `hookstorm check`.
pub fn run(args: Args) -> anyhow::Result<Verdict> {
    if args.list {
        print!("{}", check::catalog_table());
        return Ok(Verdict::Pass);
    }
    let plan = plan(&args)?;
    // Before the target hears from us: a bad --out costs nothing.
    prepare_out(args.out.as_ref())?;
    let work = Interruptible::new(runtime()?)?;
    let shutdown = work.shutdown().clone();
    let mut report = work.run(check::run_until(&plan, &shutdown))?;
    // A signal stops the running check at once: the checks that finished
    // are printed and written, marked interrupted.
    let signal = shutdown.mark(&mut report);
    print!("{}", check::render_outcome(&report, args.quiet));
    write_report(&report, args.out.as_ref(), args.quiet)?;
    Ok(Verdict::from_ok(report.passed()).unless_interrupted(signal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn zero_or_empty_selections_are_usage_errors_with_a_hint() {
        std::env::set_var("HOOKSTORM_ZERO_TEST_SECRET", "s3cret-zero");
        let base = [
            "check",
            "-p",
            "authgear",
            "-t",
            "http://127.0.0.1:1/hooks",
            "--secret-env",
            "HOOKSTORM_ZERO_TEST_SECRET",
        ];
        let err = |extra: &[&str]| {
            let mut words = base.to_vec();
            words.extend(extra);
            let args = Cli::parse_from(words).args;
            let err = plan(&args).expect_err("refused");
            assert!(
                err.downcast_ref::<crate::verdict::UsageError>().is_some(),
                "{err:#}"
            );
            err.to_string()
        };
        assert!(err(&["--concurrency", "0"]).contains("--concurrency must be at least 1"));
        assert!(err(&["--burst", "0"]).contains("--burst must be at least 1"));
        assert!(err(&["--deadline", "0s"]).contains("--deadline must be above 0"));
        assert!(err(&["--request-timeout", "0s"]).contains("--request-timeout must be above 0"));
        assert!(err(&["--ledger-cmd", " "]).contains("--ledger-cmd is empty"));
        let all = check::CheckId::ALL.map(|c| c.as_str()).join(",");
        assert!(err(&["--exclude", &all]).contains("no check is left to run"));
        assert!(err(&["--checks", "no_loss", "--exclude", "no_loss"])
            .contains("hookstorm check --list"));
        let mut words = base.to_vec();
        words.extend(["--concurrency", "1", "--burst", "1", "--deadline", "1ms"]);
        plan(&Cli::parse_from(words).args).unwrap();
    }

    #[test]
    fn flag_defaults_are_the_plan_defaults() {
        let cli = Cli::parse_from(["check", "-p", "authgear", "-t", "http://127.0.0.1:1/hooks"]);
        assert_eq!(cli.args.settle, check::DEFAULT_SETTLE);
        assert_eq!(cli.args.settle, Duration::from_millis(400));
        assert_eq!(cli.args.concurrency, check::DEFAULT_CONCURRENCY);
        assert_eq!(cli.args.burst, check::DEFAULT_BURST);
        assert_eq!(cli.args.max_time, check::DEFAULT_MAX_TIME);
        assert_eq!(
            cli.args.unresponsive_after,
            check::DEFAULT_UNRESPONSIVE_AFTER
        );
        assert!(!cli.args.strict);
        let help = <Cli as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        assert!(help.contains("[default: 400ms]"), "{help}");
    }
}
