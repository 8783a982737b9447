//! The hookstorm harness: CLI, emitter, checks, scenario runner and reference receiver.
//!
//! The binary's `main` only calls [`cli::main`]; everything else is a
//! library so the end-to-end tests can drive commands and receivers
//! in-process.

pub mod cli;
pub mod client;
pub mod check;
pub mod cmd;
pub mod duration;
pub mod ledger;
pub mod provider_file;
pub mod scenario;
pub mod receiver;
pub mod verdict;
pub mod wire;
pub mod pacer;
pub mod pool;
pub mod emitter;
pub mod progress;
pub mod shutdown;

pub use verdict::{usage, UsageError, Verdict};
