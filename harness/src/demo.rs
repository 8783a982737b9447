//! The demo sequence: the whole product against the reference receiver,
//! no set-up. For each built-in provider a receiver starts in-process on a
//! free loopback port and the conformance suite runs against it with its
//! ledger; then a short load runs against a fresh Authgear receiver.
//! Everything stays on 127.0.0.1 and is bounded in time.

use std::time::{Duration, Instant};

use base64::Engine;
use std::sync::Arc;

use generators::{Algorithm, KeyForm, Provider, ProviderId, Scheme, Secret};
use reports::{Report, RunInfo, Threshold};

use crate::check::{self, CheckPlan};
use crate::ledger::{LedgerSource, OrderingPolicy};
use crate::load::{self, LoadPlan};
use crate::receiver::{self, ReceiverConfig};
use crate::schedule::{Arrival, Schedule};
use crate::shard::Shard;
use crate::shutdown::Shutdown;
use crate::target::Target;
use crate::traffic::{SigningKey, Traffic, TrafficSpec};

/// Connections of the demo's load phase.
pub const LOAD_CONNECTIONS: usize = 16;
/// The thresholds a team would start from.
const LOAD_THRESHOLDS: [&str; 2] = ["p99<250ms", "error_rate<0.1%"];

/// The 32 bytes every demo key is made of.
const DEMO_KEY: &[u8; 32] = b"hookstorm-demo-secret-32-bytes!!";

/// The demo's secret for a provider signing with `scheme`, written the
/// way its key form wants it: `whsec_<base64>` for Standard Webhooks and
/// Svix, hex for a hex key (Discord's Ed25519 seed), 32 raw bytes for a
/// raw asymmetric key, otherwise any string.
pub fn demo_secret(scheme: &Scheme) -> Secret {
    let Some(version) = scheme.declared().map(|s| s.default_version()) else {
        return Secret::new("hookstorm-demo-secret".into());
    };
    let prefix = version.key.prefix.clone().unwrap_or_default();
    let asymmetric = matches!(version.algorithm, Algorithm::Ed25519 | Algorithm::EcdsaP256);
    let key = match version.key.form {
        KeyForm::Base64 => base64::engine::general_purpose::STANDARD.encode(DEMO_KEY),
        KeyForm::Hex => hex::encode(DEMO_KEY),
        KeyForm::Raw if asymmetric => String::from_utf8_lossy(DEMO_KEY).into_owned(),
        KeyForm::Raw => "hookstorm-demo-secret".into(),
    };
    Secret::new(format!("{prefix}{key}"))
}

/// What the demo runs: its seed and the load phase's rate and length.
#[derive(Clone, Debug)]
pub struct DemoPlan {
    /// Seed of every generator.
    pub seed: u64,
    /// Arrival rate of the load phase (requests per second).
    pub load_rate: f64,
    /// Length of the load phase.
    pub load_duration: Duration,
    /// The providers whose checks run, one line each (every built-in one
    /// unless `--provider` chose).
    pub providers: Vec<Provider>,
}

/// The checks for every provider (one line each on stdout), then the load
/// phase; returns the combined report. A `shutdown` request stops the
/// phase running and skips the rest.
pub async fn run(plan: &DemoPlan, shutdown: &Shutdown) -> anyhow::Result<Report> {
    let mut report = Report::new(RunInfo {
        command: "demo".into(),
        provider_file: None,
        provider: if plan.providers.len() == crate::provider::names().len() {
            "all".into()
        } else {
            let names: Vec<&str> = plan.providers.iter().map(|p| p.name()).collect();
            names.join(",")
        },
        target: "built-in reference receiver (127.0.0.1)".into(),
        seed: plan.seed,
        shard: None,
        scenario: None,
        interrupted: None,
    });
    for provider in &plan.providers {
        if shutdown.is_requested() {
            return Ok(report);
        }
        let t0 = Instant::now();
        let secret = demo_secret(provider.scheme());
        let mut config = ReceiverConfig::for_provider(provider.clone(), secret.clone());
        config.ordering = OrderingPolicy::LastWriteWins;
        let running = receiver::start(config).await?;
        let mut check_plan =
            CheckPlan::new(provider.clone(), Target::parse(&running.url())?, secret);
        check_plan.ledger = Some(LedgerSource::Url(Target::parse(&running.ledger_url())?));
        check_plan.seed = plan.seed;
        let result = check::run_until(&check_plan, shutdown).await;
        running.shutdown().await;
        let part = result?;
        let (pass, fail, other) = part.check_counts();
        println!(
            "  {:18} {pass:4} passed {fail:3} failed {other:3} other   ({:.1} s)",
            provider.name(),
            t0.elapsed().as_secs_f64()
        );
        report.append_checks(part, Some(provider.name()));
    }
    println!();
    if !shutdown.is_requested() {
        load_phase(plan, &mut report, shutdown).await?;
    }
    Ok(report)
}

/// A short open-model load of every Authgear type against a fresh
/// reference receiver, judged by [`LOAD_THRESHOLDS`].
async fn load_phase(
    plan: &DemoPlan,
    report: &mut Report,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    let id = ProviderId::Authgear;
    let secret = demo_secret(&id.profile().scheme);
    let mut config = ReceiverConfig::new(id, secret.clone());
    config.ordering = OrderingPolicy::LastWriteWins;
    let running = receiver::start(config).await?;
    println!(
        "  load: {} req/s for {:.0} s, every authgear type, signed, {LOAD_CONNECTIONS} connections",
        plan.load_rate,
        plan.load_duration.as_secs_f64()
    );
    let load_plan = load_plan(plan, Provider::builtin(id), &running.url(), &secret);
    let outcome = match load_plan {
        Ok(load_plan) => load::run(&load_plan, true, shutdown).await,
        Err(e) => Err(e),
    };
    running.shutdown().await;
    let outcome = outcome?;
    report.thresholds = outcome.thresholds;
    report.load = Some(outcome.section);
    Ok(())
}

/// The load phase's plan: `provider`'s traffic, signed with `secret`,
/// against the receiver at `url`.
fn load_plan(
    plan: &DemoPlan,
    provider: Provider,
    url: &str,
    secret: &Secret,
) -> anyhow::Result<LoadPlan> {
    let arrival = Arrival::Open {
        rate: plan.load_rate,
    };
    let schedule: Schedule =
        load::schedule(&arrival, Some(plan.load_duration), None, Shard::WHOLE)?;
    let key = SigningKey {
        secret: secret.clone(),
        source: "the demo secret".into(),
    };
    let spec = TrafficSpec::signed(provider, Target::parse(url)?, key, plan.seed);
    Ok(LoadPlan {
        traffic: Arc::new(Traffic::build(spec)?),
        arrival,
        schedule,
        connections: LOAD_CONNECTIONS,
        shard: Shard::WHOLE,
        thresholds: load_thresholds(),
    })
}

/// The thresholds a team would start from: `p99<250ms`, `error_rate<0.1%`.
fn load_thresholds() -> Vec<Threshold> {
    LOAD_THRESHOLDS
        .iter()
        .map(|t| reports::threshold::parse(t).expect("the demo's thresholds parse"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sender signing `{url}`: a signer that does not know the target's
    /// URL fails every request.
    const URL_SIGNING: &str = "\
name: acme-url
signature:
  algorithm: hmac-sha256
  signed: \"{url}.{body}\"
  encoding: hex
  header: x-acme-signature
  value: \"{sig}\"
deadline: 3s
keys: {dedupe: /id}
types:
  - name: invoice.paid
    schema: {type: object}
";

    /// The demo's load phase signs what the receiver verifies, also for a
    /// provider whose signature covers the URL (the demo built its signer
    /// without the target's URL once).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_demo_load_signs_the_targets_url() {
        let provider = crate::provider_file::parse_builtin(URL_SIGNING, "acme-url.yaml")
            .expect("the provider file reads");
        let secret = demo_secret(provider.scheme());
        let running = receiver::start(ReceiverConfig::for_provider(
            provider.clone(),
            secret.clone(),
        ))
        .await
        .expect("receiver starts");
        let demo = DemoPlan {
            seed: 7,
            load_rate: 40.0,
            load_duration: Duration::from_millis(500),
            providers: vec![provider.clone()],
        };
        let plan = load_plan(&demo, provider, &running.url(), &secret).expect("plan");
        let outcome = load::run(&plan, true, &Shutdown::manual())
            .await
            .expect("run");
        running.shutdown().await;
        let stats = &outcome.section.stats;
        assert!(stats.requests() > 0, "nothing was sent");
        let failed: Vec<_> = stats.statuses().filter(|(s, _)| *s >= 300).collect();
        assert!(failed.is_empty(), "the receiver refused: {failed:?}");
        assert_eq!(stats.error_kinds().count(), 0);
    }
}
