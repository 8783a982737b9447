//! `hookstorm demo`: flags → [`DemoPlan`] → `demo::run` → the summary and
//! the report directory.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::check;
use crate::clock::random_seed;
use crate::cmd::flags::{prepare_out, runtime, Interruptible};
use crate::demo::{self, DemoPlan};
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
    #[arg(long, default_value_t = 2000.0, value_parser = positive_rate)]
    pub load_rate: f64,
    /// Only this built-in provider's checks (repeatable) [default: every built-in provider].
    #[arg(long = "provider", short = 'p', value_name = "NAME")]
    pub providers: Vec<String>,
}

/// `--load-rate`: a rate above 0, refused before any check runs.
fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        Ok(_) => Err("must be a rate above 0 requests per second (e.g. 500)".into()),
        Err(_) => Err(format!("`{text}` is not a number (e.g. 500)")),
    }
}

/// Runs the demo; on SIGINT/SIGTERM the phase running stops and the
/// partial report is printed and written, marked interrupted.
pub fn run(args: Args) -> anyhow::Result<Verdict> {
    let started = Instant::now();
    let providers = if args.providers.is_empty() {
        crate::provider::all()
    } else {
        args.providers
            .iter()
            .map(|name| crate::provider::named(name))
            .collect::<anyhow::Result<_>>()?
    };
    let plan = DemoPlan {
        seed: args.seed.unwrap_or_else(random_seed),
        load_rate: args.load_rate,
        load_duration: args.load_duration,
        providers,
    };
    prepare_out(Some(&args.out))?;
    let work = Interruptible::new(runtime()?)?;
    let shutdown = work.shutdown().clone();
    println!(
        "hookstorm demo — reference receiver on 127.0.0.1, seed {}\n",
        plan.seed
    );
    let mut report = work.run(demo::run(&plan, &shutdown))?;
    let signal = shutdown.mark(&mut report);
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
    Ok(Verdict::from_ok(report.passed()).unless_interrupted(signal))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    /// A rate that would send nothing is refused while the flags are
    /// read, before the demo's checks take their seconds.
    #[test]
    fn a_load_rate_that_sends_nothing_is_refused_while_parsing() {
        let parse = |words: &[&str]| crate::cli::Cli::try_parse_from(words).map(|_| ());
        for rate in ["0", "-5", "nan", "inf", "x"] {
            let err = parse(&["hookstorm", "demo", "--load-rate", rate]).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{rate}: {err}");
        }
        parse(&["hookstorm", "demo", "--load-rate", "0.5"]).unwrap();
    }
}
