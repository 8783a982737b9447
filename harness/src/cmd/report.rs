//! `hookstorm report render|diff|merge`: re-render a report directory from
//! `report.json`, compare two runs and fail on a regression, and merge the
//! reports of the shards of one run (exactly: histograms add).

use std::path::{Path, PathBuf};

use reports::Report;

use crate::verdict::{usage, Verdict};

/// `hookstorm report` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ReportCommand {
    /// Re-render a report directory ([`reports::render::OUTPUTS`]) from its
    /// report.json.
    #[command(about = format!("Write {} from a report.json", reports::render::output_names()))]
    Render {
        /// The report to render.
        #[arg(value_name = "REPORT.json")]
        report: PathBuf,
        /// Where to write [default: the report's directory].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Compare NEW against BASE; exit 1 when latency, error rate or
    /// throughput regressed beyond the tolerance, or a check newly fails.
    Diff {
        /// The baseline run.
        #[arg(value_name = "BASE.json")]
        base: PathBuf,
        /// The run to judge.
        #[arg(value_name = "NEW.json")]
        new: PathBuf,
        /// Allowed change before a regression, e.g. 10% or 0.1.
        #[arg(long, default_value = "10%", value_parser = parse_tolerance, value_name = "SHARE")]
        tolerance: f64,
    },
    /// Merge the reports of the shards of one run into one report directory.
    Merge {
        /// The shards' report.json files.
        #[arg(required = true, value_name = "REPORT.json")]
        reports: Vec<PathBuf>,
        /// Where to write the merged report directory.
        #[arg(long, required = true, value_name = "DIR")]
        out: PathBuf,
        /// Merge even when some shards are missing (the result is marked partial).
        #[arg(long)]
        allow_partial: bool,
    },
}

/// Parses `10%` or `0.1` into a fraction.
pub fn parse_tolerance(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let value = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| {
        format!("invalid tolerance `{text}`: write a percentage like 10% or a fraction like 0.1")
    })?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("invalid tolerance `{text}`: it must be 0 or more"));
    }
    Ok(value)
}

/// Reads a report.json, with the path in every error.
pub fn read_report(path: &Path) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
    Report::from_json(&text).map_err(|e| usage(format!("{}: {e}", path.display())))
}

fn write(report: &Report, dir: &Path) -> anyhow::Result<()> {
    let written = reports::render::write_dir(report, dir)
        .map_err(|e| usage(format!("cannot write the report to {}: {e}", dir.display())))?;
    println!("report: {} ({} files)", dir.display(), written.len());
    Ok(())
}

/// Runs a `hookstorm report` subcommand.
pub fn run(command: ReportCommand) -> anyhow::Result<Verdict> {
    match command {
        ReportCommand::Render { report, out } => {
            let parsed = read_report(&report)?;
            let dir =
                out.unwrap_or_else(|| report.parent().map(Path::to_path_buf).unwrap_or_default());
            write(&parsed, &dir)?;
            Ok(Verdict::Pass)
        }
        ReportCommand::Diff {
            base,
            new,
            tolerance,
        } => {
            let base_report = read_report(&base)?;
            let new_report = read_report(&new)?;
            let diff = reports::diff(&base_report, &new_report, tolerance)
                .map_err(|e| usage(e.to_string()))?;
            println!("{} → {}", base.display(), new.display());
            print!("{}", diff.render_table());
            Ok(Verdict::from_ok(!diff.is_regression()))
        }
        ReportCommand::Merge {
            reports: paths,
            out,
            allow_partial,
        } => {
            let parts = paths
                .iter()
                .map(|p| read_report(p))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let merged = if allow_partial {
                reports::merge_partial(&parts)
            } else {
                reports::merge(&parts)
            }
            .map_err(|e| usage(e.to_string()))?;
            if let Some(partial) = &merged.partial {
                eprintln!("partial merge: {partial}; the counts are not the whole run's");
            }
            print!("{}", reports::terminal_summary(&merged));
            write(&merged, &out)?;
            Ok(Verdict::from_ok(merged.passed()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_accepts_percent_and_fraction() {
        assert_eq!(parse_tolerance("10%"), Ok(0.1));
        assert_eq!(parse_tolerance("0.25"), Ok(0.25));
        assert!(parse_tolerance("-1%").is_err());
        assert!(parse_tolerance("ten").is_err());
    }
}
