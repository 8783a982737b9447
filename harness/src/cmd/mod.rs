//! One module per subcommand; each exposes clap `Args` and `run(args) -> Result<Verdict>`.

pub mod check;
pub mod demo;
pub mod events;
pub mod receiver;
pub mod load;
pub mod capacity;
pub mod validate;
pub mod scenario;
pub mod run;
pub mod report;
