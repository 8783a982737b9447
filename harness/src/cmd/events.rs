//! `hookstorm events`: list, describe and generate catalog events.

use crate::verdict::Verdict;

/// `hookstorm events` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum EventsCommand {
    /// List every event type of the catalog.
    List,
}

/// Runs an `events` subcommand.
pub fn run(_cmd: EventsCommand) -> anyhow::Result<Verdict> {
    Ok(Verdict::Pass)
}
