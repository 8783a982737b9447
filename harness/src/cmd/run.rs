//! `hookstorm run FILE`: validates a scenario (every mistake reported with
//! line and column, exit 2, before anything is sent), runs its steps,
//! prints the summary, writes the report directory, and exits 0 (passed),
//! 1 (a check, threshold or capacity SLO failed) or 2; on SIGINT/SIGTERM
//! the steps stop, and the partial report is written and exits 130/143.

use std::path::PathBuf;

use crate::cmd::flags::{
    prepare_out, print_diagnostic, runtime, write_report, Interruptible, TlsArgs,
};
use crate::scenario::run::{execute, RunSettings};
use crate::scenario::{self, Options};
use crate::shard::Shard;
use crate::verdict::{usage, Verdict};

/// Arguments of `hookstorm run`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    mut_arg("ca_cert", |a| a.help("Extra PEM CA certificate to trust for an https target (replaces the file's `tls.ca_cert`)")),
    mut_arg("insecure", |a| a.help("Do not verify the target's TLS certificate (overrides the file's `tls.insecure`)"))
)]
pub struct Args {
    /// The scenario file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The report directory: its files are [`reports::render::OUTPUTS`].
    #[arg(long, value_name = "DIR", help = format!("Write {} here", reports::render::output_names()))]
    pub out: Option<PathBuf>,
    /// Override a value of the file, e.g. `target=http://127.0.0.1:9000/hooks`
    /// or `steps.2.load.rate=50` (steps count from 1). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// `--ca-cert`/`--insecure` (they override the file's `tls:`).
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Multiply every step duration (load, stages, waits, capacity steps), e.g. 0.1 for a smoke run.
    #[arg(long, default_value_t = 1.0, value_name = "F")]
    pub scale: f64,
    /// Run part K of N of every load step (K from 1); merge with `report merge`.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Only the final summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Runs `hookstorm run`.
pub fn run(args: Args) -> anyhow::Result<Verdict> {
    if !(args.scale.is_finite() && args.scale > 0.0) {
        return Err(usage(format!(
            "--scale must be a number above 0, got {}",
            args.scale
        )));
    }
    args.tls.check()?;
    let options = Options {
        sets: args.sets.clone(),
        ..Options::process()
    };
    let mut plan = match scenario::parse_file_with(&args.file, &options, &args.tls.scenario()) {
        Ok(plan) => plan,
        Err(diag) => {
            print_diagnostic(&diag);
            return Err(usage(format!(
                "{} is invalid; nothing was sent",
                args.file.display()
            )));
        }
    };
    plan.scale(args.scale);
    let secret = crate::secret::from_env(&plan.secret_env)?;
    let settings = RunSettings {
        shard: args.shard.unwrap_or(Shard::WHOLE),
        quiet: args.quiet,
        file: args.file.display().to_string(),
    };
    // Before the target hears from us: a bad --out costs nothing.
    prepare_out(args.out.as_ref())?;
    let work = Interruptible::new(runtime()?)?;
    let shutdown = work.shutdown().clone();
    let mut scenario_run = work.run(execute(&plan, secret, &settings, &shutdown))?;
    let report = &mut scenario_run.report;
    let signal = shutdown.mark(report);
    print!("{}", reports::terminal_summary(report));
    write_report(report, args.out.as_ref(), args.quiet)?;
    Ok(Verdict::from_ok(report.passed() && scenario_run.capacity_met).unless_interrupted(signal))
}
