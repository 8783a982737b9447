//! One module per subcommand; each exposes clap `Args` and `run(args) -> Result<Verdict>`.

pub mod demo;
pub mod events;
