//! `hookstorm validate FILE...`: checks scenario files and custom provider
//! files without sending anything, printing every mistake with file, line,
//! column and a hint; exit 2 when there is any.

use std::path::{Path, PathBuf};

use crate::cmd::flags::{print_diagnostic, TlsArgs};
use crate::document::parse_yaml;
use crate::provider_file;
use crate::scenario::run::preflight;
use crate::scenario::{self, Diagnostic, Options, Scenario, StepKind, Tls};
use crate::shard::Shard;
use crate::verdict::{usage, Verdict};

/// Arguments of `hookstorm validate`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    mut_arg("ca_cert", |a| a.help("Extra PEM CA certificate to trust for an https target (replaces the scenario's `tls.ca_cert`)")),
    mut_arg("insecure", |a| a.help("Do not verify the target's TLS certificate (overrides the scenario's `tls.insecure`)"))
)]
pub struct Args {
    /// Scenario files (or custom provider files) to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Override a value before checking, e.g. `target=http://127.0.0.1:9000/hooks`
    /// or `steps.2.load.rate=50` (steps count from 1). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// `--ca-cert`/`--insecure` (they override the scenario's `tls:`).
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// What a validated file turned out to be.
#[derive(Debug)]
pub enum Checked {
    /// A scenario.
    Scenario(Box<Scenario>),
    /// A custom provider file: its name and type count.
    Provider {
        /// Provider name.
        name: String,
        /// Number of event types.
        types: usize,
    },
}

/// Runs `hookstorm validate`.
pub fn run(args: Args) -> anyhow::Result<Verdict> {
    args.tls.check()?;
    let tls = args.tls.scenario();
    let mut failed = 0;
    for file in &args.files {
        match check_file(file, &args.sets, &tls) {
            // What `run` checks before sending, `validate` checks too.
            Ok(Checked::Scenario(s)) => match preflight(&s, Shard::WHOLE) {
                Ok(()) => println!("ok: {} ({})", file.display(), describe(&s)),
                Err(e) => {
                    failed += 1;
                    eprintln!("error: {}: {e:#}", file.display());
                }
            },
            Ok(Checked::Provider { name, types }) => println!(
                "ok: {} (custom provider {name}, {types} event type{})",
                file.display(),
                if types == 1 { "" } else { "s" }
            ),
            Err(diag) => {
                failed += 1;
                print_diagnostic(&diag);
            }
        }
    }
    if failed > 0 {
        return Err(usage(format!(
            "{failed} of {} file{} invalid; nothing was sent",
            args.files.len(),
            if args.files.len() == 1 { "" } else { "s" }
        )));
    }
    Ok(Verdict::Pass)
}

/// Checks one file: a provider file when it is TOML or its top level
/// declares `types` and a `signature` but no `steps`, a scenario otherwise
/// (with `tls`, the command line's `--ca-cert`/`--insecure`, over its own).
pub fn check_file(path: &Path, sets: &[String], tls: &Tls) -> Result<Checked, Diagnostic> {
    if is_provider_file(path) {
        let p = provider_file::read(path)?;
        return Ok(Checked::Provider {
            name: p.name().to_string(),
            types: p.types().len(),
        });
    }
    let options = Options {
        sets: sets.to_vec(),
        ..Options::process()
    };
    scenario::parse_file_with(path, &options, tls).map(|s| Checked::Scenario(Box::new(s)))
}

fn is_provider_file(path: &Path) -> bool {
    // Scenarios are YAML only; a TOML file can only be a provider file.
    if path.extension().is_some_and(|e| e == "toml") {
        return true;
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let Ok(root) = parse_yaml(&text) else {
        return false;
    };
    root.get("steps").is_none() && root.get("types").is_some() && root.get("signature").is_some()
}

/// `provider authgear, 3 steps: check, load, wait`.
pub fn describe(s: &Scenario) -> String {
    let kinds: Vec<&str> = s.steps.iter().map(|st| st.kind.word()).collect();
    let loads = s
        .steps
        .iter()
        .filter(|st| matches!(st.kind, StepKind::Load(_)))
        .count();
    format!(
        "provider {}, {} step{}: {}{}",
        s.provider.name(),
        s.steps.len(),
        if s.steps.len() == 1 { "" } else { "s" },
        kinds.join(", "),
        if loads > 1 {
            " (load steps are merged into one load section)"
        } else {
            ""
        }
    )
}
