//! The reference receiver as the conformance tests use it: started for a
//! provider with the demo secret of its scheme, a check plan against it
//! reading its ledger, and the questions the tests ask of the report.

use generators::Provider;
use harness::check::CheckPlan;
use harness::demo::demo_secret;
use harness::ledger::{LedgerSource, OrderingPolicy};
use harness::receiver::{self, Fault, ReceiverConfig, RunningReceiver};
use harness::target::Target;
use reports::{Level, Report};

/// A reference receiver for `provider` with `faults`, keyed with the demo
/// secret of its scheme, applying the ordering policy `check` assumes.
pub async fn start(provider: &Provider, faults: &[Fault]) -> RunningReceiver {
    let mut config = ReceiverConfig::for_provider(provider.clone(), demo_secret(provider.scheme()));
    config.faults = faults.to_vec();
    config.ordering = OrderingPolicy::LastWriteWins;
    receiver::start(config).await.expect("receiver starts")
}

/// A check plan against `running`, reading its ledger, with `seed`.
pub fn plan(provider: &Provider, running: &RunningReceiver, seed: u64) -> CheckPlan {
    plan_at(provider, &running.url(), &running.ledger_url(), seed)
}

/// A check plan against the receiver at `url` (any process keyed with the
/// demo secret), reading its ledger at `ledger_url`, with `seed`.
pub fn plan_at(provider: &Provider, url: &str, ledger_url: &str, seed: u64) -> CheckPlan {
    let target = Target::parse(url).unwrap();
    let mut plan = CheckPlan::new(provider.clone(), target, demo_secret(provider.scheme()));
    plan.ledger = Some(LedgerSource::Url(Target::parse(ledger_url).unwrap()));
    plan.seed = seed;
    plan
}

/// Every result at FAIL, ERROR or NON-STRICT: what a correct receiver
/// never gets, whether the run is strict or not.
pub fn failures(report: &Report) -> Vec<String> {
    report
        .checks
        .iter()
        .filter(|c| c.level.gates(true))
        .map(|c| {
            format!(
                "{} {} [{}]: {}",
                c.level,
                c.id,
                c.event_type,
                c.reason.clone().unwrap_or_default()
            )
        })
        .collect()
}

/// The levels of check `id`'s results, one per event type.
pub fn levels(report: &Report, id: &str) -> Vec<Level> {
    report
        .checks
        .iter()
        .filter(|c| c.id == id)
        .map(|c| c.level)
        .collect()
}
