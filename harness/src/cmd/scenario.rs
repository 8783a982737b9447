//! `hookstorm scenario schema`: prints the JSON Schema of scenario files,
//! for editor completion (`# yaml-language-server: $schema=...`).

use crate::scenario::schema::scenario_schema;
use crate::verdict::Verdict;

/// `hookstorm scenario` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ScenarioCommand {
    /// Print the JSON Schema (draft 2020-12) of scenario files.
    Schema,
}

/// Runs a `hookstorm scenario` subcommand.
pub fn run(command: ScenarioCommand) -> anyhow::Result<Verdict> {
    match command {
        ScenarioCommand::Schema => {
            let text = serde_json::to_string_pretty(&scenario_schema())?;
            println!("{text}");
            Ok(Verdict::Pass)
        }
    }
}
