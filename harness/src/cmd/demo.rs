//! `hookstorm demo`: the whole product on an embedded default.

use crate::verdict::Verdict;

/// Arguments of `hookstorm demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the report directory.
    #[arg(long, default_value = "hookstorm-report")]
    pub out: std::path::PathBuf,
}

/// Runs the demo.
pub fn run(_args: Args) -> anyhow::Result<Verdict> {
    println!("hookstorm demo: coming soon (reference receiver + checks + load)");
    Ok(Verdict::Pass)
}
