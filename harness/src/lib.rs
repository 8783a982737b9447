//! The hookstorm harness: CLI, emitter, checks, scenario runner and reference receiver.
//!
//! The binary's `main` only calls [`cli::main`]; everything else is a
//! library so the end-to-end tests can drive commands and receivers
//! in-process.

pub mod cli;
pub mod cmd;
pub mod verdict;

pub use verdict::{usage, UsageError, Verdict};
