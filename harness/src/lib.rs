//! The hookstorm harness: CLI, emitter, checks, scenario runner and reference receiver.
//!
//! The binary's `main` only calls [`cli::main`]; everything else is a
//! library so the end-to-end tests can drive commands and receivers
//! in-process.

pub mod capacity;
pub mod check;
pub mod cli;
pub mod client;
pub mod clock;
pub mod cmd;
pub mod demo;
pub mod document;
pub mod duration;
pub mod emitter;
pub mod framing;
pub mod header_case;
pub mod hiccup;
pub mod ledger;
pub mod load;
pub mod measure;
pub mod pacer;
pub mod pool;
pub mod progress;
pub mod provider;
pub mod provider_file;
pub mod reachable;
pub mod receiver;
pub mod replay;
pub mod rlimit;
pub mod scenario;
pub mod schedule;
pub mod secret;
pub mod shard;
pub mod shutdown;
pub mod target;
pub mod tls;
pub mod traffic;
pub mod verdict;
pub mod wire;

#[cfg(test)]
mod layering;

pub use verdict::{usage, UsageError, Verdict};
