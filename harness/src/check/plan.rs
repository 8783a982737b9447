//! A conformance run's settings, validated, with every default written
//! once: `hookstorm check` builds a [`CheckPlan`] from its flags, a
//! scenario from its `check` step, the demo and the tests directly.

use std::time::Duration;

use generators::{EventType, Provider, Secret};

use crate::client::ClientOptions;
use crate::ledger::{LedgerSource, OrderingPolicy};
use crate::target::Target;
use crate::verdict::usage;

/// Concurrent deliveries in the deadline and duplicate probes.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Events in the `no_loss` burst.
pub const DEFAULT_BURST: usize = 200;
/// How long the receiver may settle before its ledger is read.
pub const DEFAULT_SETTLE: Duration = Duration::from_millis(400);
/// Timeouts in a row after which the receiver is declared unresponsive.
pub const DEFAULT_UNRESPONSIVE_AFTER: u32 = 5;
/// The longest a whole conformance run may take.
pub const DEFAULT_MAX_TIME: Duration = Duration::from_secs(600);

/// Everything a conformance run needs.
#[derive(Clone, Debug)]
pub struct CheckPlan {
    /// Whose events, signatures and delivery semantics to use.
    pub provider: Provider,
    /// Where deliveries go.
    pub target: Target,
    /// The shared secret deliveries are signed with.
    pub secret: Secret,
    /// How to trust an https target (and an https ledger URL).
    pub client: ClientOptions,
    /// The checks to run, in catalog order.
    pub checks: Vec<super::CheckId>,
    /// The event types to exercise.
    pub types: Vec<EventType>,
    /// Where the receiver's processing ledger comes from, if anywhere.
    pub ledger: Option<LedgerSource>,
    /// The ordering policy the receiver promises.
    pub ordering: OrderingPolicy,
    /// Override of the provider's response deadline.
    pub deadline: Option<Duration>,
    /// Deliveries in flight at once, for the whole run (0 runs as 1).
    pub concurrency: usize,
    /// How long one request may wait for an answer (default: the deadline
    /// of its event type).
    pub request_timeout: Option<Duration>,
    /// Timeouts in a row after which nothing more is sent (0: never).
    pub unresponsive_after: u32,
    /// The longest the whole run may take; probes not sent by then are
    /// ERRORs.
    pub max_time: Duration,
    /// Stop after this many FAIL probes.
    pub max_failures: Option<usize>,
    /// NON-STRICT findings gate the run too.
    pub strict: bool,
    /// Events in the `no_loss` burst.
    pub burst: usize,
    /// How long to wait for the receiver to settle before reading the ledger.
    pub settle: Duration,
    /// The run's seed (printed, and in the report).
    pub seed: u64,
    /// No start line on stderr.
    pub quiet: bool,
}

impl CheckPlan {
    /// Every check on every type of `provider` against `target`, every
    /// other setting at its default (a fresh seed, quiet).
    pub fn new(provider: Provider, target: Target, secret: Secret) -> CheckPlan {
        let types = provider.types().into_iter().cloned().collect();
        CheckPlan {
            provider,
            target,
            secret,
            client: ClientOptions::default(),
            checks: super::CheckId::ALL.to_vec(),
            types,
            ledger: None,
            ordering: OrderingPolicy::LastWriteWins,
            deadline: None,
            concurrency: DEFAULT_CONCURRENCY,
            request_timeout: None,
            unresponsive_after: DEFAULT_UNRESPONSIVE_AFTER,
            max_time: DEFAULT_MAX_TIME,
            max_failures: None,
            strict: false,
            burst: DEFAULT_BURST,
            settle: DEFAULT_SETTLE,
            seed: crate::clock::random_seed(),
            quiet: true,
        }
    }

    /// Only the checks `only` names (all when empty), minus `exclude`;
    /// a selection that leaves nothing is a usage error.
    pub fn select(
        mut self,
        only: &[super::CheckId],
        exclude: &[super::CheckId],
    ) -> anyhow::Result<CheckPlan> {
        self.checks = super::select(only, exclude).ok_or_else(|| usage(super::NOTHING_SELECTED))?;
        Ok(self)
    }

    /// Only the event types `names` names (all of the provider's when
    /// empty); an unknown name is a usage error with a "did you mean".
    pub fn only_types(mut self, names: &[String]) -> anyhow::Result<CheckPlan> {
        if !names.is_empty() {
            self.types = names
                .iter()
                .map(|name| {
                    self.provider
                        .event_type(name)
                        .cloned()
                        .map_err(|e| usage(e.to_string()))
                })
                .collect::<anyhow::Result<_>>()?;
        }
        Ok(self)
    }
}
