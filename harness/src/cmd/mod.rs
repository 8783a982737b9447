//! One module per subcommand; each exposes clap `Args` and `run(args) -> Result<Verdict>`.

pub mod capacity;
pub mod check;
pub mod demo;
pub mod events;
pub mod load;
pub mod receiver;
pub mod report;
pub mod run;
pub mod scenario;
pub mod validate;
