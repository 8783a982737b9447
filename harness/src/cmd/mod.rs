//! One module per subcommand; each exposes clap `Args` and `run(args) ->
//! Result<Verdict>`: flags → a plan → the code that does the work (outside
//! `cmd`) → output. Flag groups several commands share live in [`flags`],
//! the one `cmd` module the others import.

pub mod capacity;
pub mod check;
pub mod demo;
pub mod events;
pub mod flags;
pub mod load;
pub mod receiver;
pub mod replay;
pub mod report;
pub mod run;
pub mod scenario;
pub mod validate;
