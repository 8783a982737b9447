//! QA scenario files: a reviewed YAML plan of checks, load phases,
//! capacity searches and waits against one receiver, with thresholds (the
//! README's "Scenario files" section).
//!
//! Reading one builds on [`crate::document`]: the positioned tree (with
//! `--set` overrides applied) is walked by [`parse`] (the top level) and
//! [`steps`] (each step) into a [`Scenario`], collecting *every* mistake
//! as a [`Diagnostic`] (file, line, column, hint) before anything is sent.
//! The provider is resolved then, once: a provider file is read by
//! [`crate::provider_file::read`] and its catalog shared by every step.
//! [`schema`] is the published JSON Schema of the same format, and [`run`]
//! executes the steps into one report.

pub mod parse;
pub mod run;
pub mod schema;
pub mod steps;

use std::path::PathBuf;
use std::time::Duration;

use generators::Provider;
use reports::Threshold;

use crate::check::CheckId;
use crate::ledger::{LedgerSource, OrderingPolicy};
use crate::schedule::Arrival;
use crate::target::Target;

pub use crate::document::{Diagnostic, Problem};
pub use parse::{parse_file, parse_file_with, parse_str, Options};

/// A validated scenario: everything a run needs except the secret's value.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Short name (defaults to the file stem).
    pub name: String,
    /// What the scenario is for.
    pub description: Option<String>,
    /// The receiver's URL (parsed when the file is read).
    pub target: Target,
    /// How to trust an https target (and an https ledger URL).
    pub tls: Tls,
    /// Whose events, signatures and delivery semantics to use (a provider
    /// file is read when the scenario is, never again per step).
    pub provider: Provider,
    /// The environment variable holding the secret (`${HOOK_SECRET}`).
    pub secret_env: String,
    /// Where the receiver's processing ledger comes from.
    pub ledger: Option<LedgerSource>,
    /// The ordering policy the receiver promises.
    pub ordering: OrderingPolicy,
    /// Override of the provider's response deadline.
    pub deadline: Option<Duration>,
    /// NON-STRICT findings of check steps fail the run too (`--strict`).
    pub strict: bool,
    /// Generator seed (random when absent, printed either way).
    pub seed: Option<u64>,
    /// Thresholds over the load of all load steps together.
    pub thresholds: Vec<Threshold>,
    /// The steps, run in order.
    pub steps: Vec<Step>,
}

/// TLS settings for an https target: the file's `tls:` mapping, or
/// `--ca-cert`/`--insecure` on the command line (which replace it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tls {
    /// Extra PEM CA certificate(s) to trust (a file's path is resolved
    /// against the scenario's directory).
    pub ca_cert: Option<PathBuf>,
    /// Do not verify the target's certificate.
    pub insecure: bool,
}

impl Tls {
    /// Client options that connect as these settings say.
    pub fn client_options(&self) -> crate::client::ClientOptions {
        crate::client::ClientOptions {
            ca_cert: self.ca_cert.clone(),
            insecure: self.insecure,
            ..crate::client::ClientOptions::default()
        }
    }
}

/// One step of a scenario.
#[derive(Clone, Debug)]
pub struct Step {
    /// Name shown in output and reports (defaults to `kind #index`).
    pub name: String,
    /// 1-based line of the step in the file (0 when unknown), for messages.
    pub line: usize,
    /// What the step does.
    pub kind: StepKind,
}

/// What a step does.
#[derive(Clone, Debug)]
pub enum StepKind {
    /// Run conformance checks.
    Check(CheckStep),
    /// Drive load.
    Load(LoadStep),
    /// Search the highest rate meeting an SLO.
    Capacity(CapacityStep),
    /// Pause (let the receiver drain or a dependency recover).
    Wait(Duration),
}

impl StepKind {
    /// `check`, `load`, `capacity` or `wait`.
    pub fn word(&self) -> &'static str {
        match self {
            StepKind::Check(_) => "check",
            StepKind::Load(_) => "load",
            StepKind::Capacity(_) => "capacity",
            StepKind::Wait(_) => "wait",
        }
    }
}

/// A selection of conformance checks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckStep {
    /// Only these checks (empty: all), parsed when the file is read.
    pub checks: Vec<CheckId>,
    /// Minus these checks; the reader refuses a selection that leaves none.
    pub exclude: Vec<CheckId>,
    /// Only these event types (empty: every type of the provider).
    pub types: Vec<String>,
    /// Concurrent deliveries in the deadline and duplicate probes.
    pub concurrency: Option<usize>,
    /// Events in the `no_loss` burst.
    pub burst: Option<usize>,
}

/// A load phase.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadStep {
    /// The arrival model (`rate`: open, `stages`: a ramp from `rate` if
    /// given, else from 0, `concurrency`: closed), by the rule
    /// `hookstorm load` follows too (`Arrival::of`).
    pub arrival: Arrival,
    /// How long to run (with an open or closed model; a ramp's stages
    /// carry their own).
    pub duration: Option<Duration>,
    /// Stop after this many requests.
    pub requests: Option<u64>,
    /// HTTP connections to keep open (the open model's; the file's value
    /// or `load::DEFAULT_LOAD_CONNECTIONS`).
    pub connections: usize,
    /// Weighted event mix, `(type, weight)`; empty: every type equally.
    pub mix: Vec<(String, f64)>,
    /// Share of adversarial (still-valid and invalid) events, in `[0, 1]`.
    pub adversarial: f64,
    /// Pass/fail thresholds over this step's load.
    pub thresholds: Vec<Threshold>,
}

/// A capacity search.
#[derive(Clone, Debug, PartialEq)]
pub struct CapacityStep {
    /// The SLO every tried rate must meet.
    pub slo: Vec<Threshold>,
    /// The first rate tried.
    pub start_rate: f64,
    /// The highest rate tried.
    pub max_rate: f64,
    /// How long each rate is held.
    pub step_duration: Duration,
    /// HTTP connections each tried rate keeps open (the file's value or
    /// `capacity::DEFAULT_CAPACITY_CONNECTIONS`).
    pub connections: usize,
    /// Weighted event mix; empty: every type equally.
    pub mix: Vec<(String, f64)>,
    /// Thresholds over the load at the best rate found.
    pub thresholds: Vec<Threshold>,
}

impl Scenario {
    /// Multiplies every step duration (load, stages, waits, capacity steps)
    /// by `factor`: `--scale 0.05` turns a 60 s plan into a 3 s smoke run.
    /// Deadlines are the receiver's contract and are never scaled.
    pub fn scale(&mut self, factor: f64) {
        let scale = |d: &mut Duration| {
            // At least 50 ms so a scaled step still sends something.
            *d = Duration::from_secs_f64((d.as_secs_f64() * factor).max(0.05));
        };
        for step in &mut self.steps {
            match &mut step.kind {
                StepKind::Check(_) => {}
                StepKind::Load(load) => {
                    if let Some(d) = &mut load.duration {
                        scale(d);
                    }
                    if let Arrival::Ramp { stages, .. } = &mut load.arrival {
                        for stage in stages {
                            scale(&mut stage.duration);
                        }
                    }
                }
                StepKind::Capacity(cap) => scale(&mut cap.step_duration),
                StepKind::Wait(d) => scale(d),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use generators::Secret;

    use super::run::{execute, RunSettings};
    use super::*;
    use crate::receiver::{self, ReceiverConfig};
    use crate::shard::Shard;

    const SECRET: &str = "read-once-secret";

    const PROVIDER: &str = "\
name: acme-once
signature: {scheme: authgear-body, header: x-acme-signature}
deadline: 3s
keys: {dedupe: /id, ordering: /seq, type: /type}
envelope:
  schema:
    type: object
    required: [id, seq, type, data]
    properties:
      id: {type: string, format: uuid}
      seq: {type: integer, minimum: 1}
      type: {type: string}
  payload: data
  type_field: type
types:
  - name: invoice.paid
    schema:
      type: object
      required: [amount]
      properties:
        amount: {type: integer, minimum: 1}
";

    /// A scenario in `dir` naming the provider file `acme-once.yaml` there.
    fn scenario_with_check_steps(dir: &Path, target: &str, steps: usize) -> Scenario {
        let mut text = format!(
            "target: {target}\nprovider_file: acme-once.yaml\nsecret: ${{HOOK_SECRET}}\nsteps:\n"
        );
        for _ in 0..steps {
            text.push_str("  - check: {checks: [accepts_valid], types: [invoice.paid]}\n");
        }
        let env = |name: &str| (name == "HOOK_SECRET").then(|| SECRET.to_string());
        let options = Options {
            sets: Vec::new(),
            env: &env,
        };
        parse_str(&text, "once.yaml", dir, None, &options).expect("the scenario validates")
    }

    /// A scenario reads its provider file when it is read, and its ten
    /// check steps share that provider: none reads the file again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_provider_file_is_read_once_for_many_check_steps() {
        let dir = tempfile::tempdir().unwrap();
        let provider_file = dir.path().join("acme-once.yaml");
        std::fs::write(&provider_file, PROVIDER).unwrap();
        let provider = crate::provider_file::read(&provider_file).unwrap();
        let config = ReceiverConfig::for_provider(provider, Secret::new(SECRET.into()));
        let running = receiver::start(config).await.expect("receiver starts");
        let before = crate::provider_file::reads::count(&provider_file);

        let scenario = scenario_with_check_steps(dir.path(), &running.url(), 10);
        assert_eq!(scenario.provider.name(), "acme-once");
        let settings = RunSettings {
            shard: Shard::WHOLE,
            quiet: true,
            file: dir.path().join("once.yaml").display().to_string(),
        };
        let shutdown = crate::shutdown::Shutdown::manual();
        let outcome = execute(&scenario, Secret::new(SECRET.into()), &settings, &shutdown)
            .await
            .expect("the scenario runs");
        running.shutdown().await;

        assert_eq!(outcome.report.run.provider, "acme-once");
        assert_eq!(outcome.report.checks.len(), 10, "one check per step");
        assert!(outcome.report.passed(), "{:?}", outcome.report.checks);
        assert_eq!(
            crate::provider_file::reads::count(&provider_file) - before,
            1,
            "the scenario read its provider file more than once"
        );
    }
}
