//! The command line: clap derive definitions, one subcommand per file in
//! `cmd/`, and the dispatch from parsed arguments to `cmd::*::run`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

use crate::cmd;
use crate::verdict::{exit_code, Verdict};

/// Load-testing and conformance harness for webhook receivers and hook endpoints.
///
/// Generates valid and adversarial events of every documented type for
/// every built-in sender (`hookstorm events list` names them) or one you
/// declare in a provider file, drives them at a receiver, and checks
/// signatures, duplicates, ordering, deadlines and schema conformance.
///
/// Exit codes: 0 passed, 1 a check or threshold failed, 2 usage error or
/// unreachable target, 130/143 stopped by SIGINT/SIGTERM (the partial
/// report, marked interrupted, is written first).
#[derive(Debug, Parser)]
#[command(
    name = "hookstorm",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything on a built-in receiver: checks for every provider, a short load, a report.
    Demo(cmd::demo::Args),
    /// Run the conformance checks against a receiver (exit 1 on any failure).
    Check(cmd::check::Args),
    /// List, describe and generate catalog events.
    #[command(subcommand)]
    Events(cmd::events::EventsCommand),
    /// Run the reference receiver (correct, with injected faults, or a 204 sink) until Ctrl-C or SIGTERM.
    Receiver(cmd::receiver::Args),
    /// Drive signed, unique events at a receiver (open, ramping or closed model) and measure latency.
    Load(cmd::load::Args),
    /// Find the highest arrival rate a receiver sustains within an SLO.
    Capacity(cmd::capacity::Args),
    /// Check scenario or custom provider files: every mistake with line, column and a hint (exit 2).
    Validate(cmd::validate::Args),
    /// Run a scenario file: checks, load phases, capacity searches and thresholds, one report.
    Run(cmd::run::Args),
    /// Re-send a report's finding with a fresh id, timestamp and signature, and print the answer.
    Replay(cmd::replay::Args),
    /// Re-render, compare (exit 1 on regression) or merge report.json files.
    #[command(subcommand)]
    Report(cmd::report::ReportCommand),
    /// Scenario file tools (`hookstorm scenario schema` prints the JSON Schema).
    #[command(subcommand)]
    Scenario(cmd::scenario::ScenarioCommand),
}

/// Parses the process arguments, runs the command, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout with exit 0, usage errors with 2.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    exit_code(run(cli.command))
}

/// Runs one parsed command.
pub fn run(command: Command) -> anyhow::Result<Verdict> {
    match command {
        Command::Demo(args) => cmd::demo::run(args),
        Command::Check(args) => cmd::check::run(args),
        Command::Events(args) => cmd::events::run(args),
        Command::Receiver(args) => cmd::receiver::run(args),
        Command::Load(args) => cmd::load::run(args),
        Command::Capacity(args) => cmd::capacity::run(args),
        Command::Validate(args) => cmd::validate::run(args),
        Command::Run(args) => cmd::run::run(args),
        Command::Replay(args) => cmd::replay::run(args),
        Command::Report(command) => cmd::report::run(command),
        Command::Scenario(command) => cmd::scenario::run(command),
    }
}
