//! The conformance checks: their catalog, the [`CheckPlan`] a run follows,
//! the context the checks share, and [`run`], which sends every probe and
//! turns exchanges into `reports::CheckResult`s.
//!
//! Each check lives in its own file and only decides *what to send* and
//! classifies *what it saw* ([`Seen`]); the level every answer gets is in
//! one table ([`levels::TABLE`]). Sending (at most `concurrency` deliveries
//! in flight for the whole run), timing, bounding the run (request
//! timeouts, an unresponsive receiver, `--max-time`, `--max-failures`),
//! recording every exchange (for `no_server_error` and `within_deadline`)
//! and turning observations into grouped findings all happen here, once.

mod acceptance;
mod blocking;
mod catalog;
mod context;
mod deadline;
mod duplicate;
mod handshake;
pub mod levels;
mod loss;
mod ordering;
mod parser;
mod plan;
mod result;
mod signature;
mod terminal;

#[cfg(test)]
pub(crate) use catalog::parses;
pub use catalog::{select, CheckId, UnknownCheck, NOTHING_SELECTED};
pub use context::{key_value, redact, Context, Probe};
pub use levels::Seen;
pub use plan::{
    CheckPlan, DEFAULT_BURST, DEFAULT_CONCURRENCY, DEFAULT_MAX_TIME, DEFAULT_SETTLE,
    DEFAULT_UNRESPONSIVE_AFTER,
};
pub use result::ResultBuilder;
pub use terminal::{catalog_table, render_outcome};

use futures_util::future::join_all;
use generators::EventType;
use reports::{CheckResult, Report, RunInfo};

use crate::client::Client;
use crate::reachable::ensure_reachable;
use crate::shutdown::Shutdown;

/// Runs `plan`: makes sure the target answers at all, runs the selected
/// checks and returns the report (nothing is printed but the start line,
/// unless the plan is quiet).
pub async fn run(plan: &CheckPlan) -> anyhow::Result<Report> {
    run_until(plan, &Shutdown::manual()).await
}

/// [`run`] until `shutdown` is requested: the check running then stops at
/// once (its probes in flight are dropped) and the report holds the checks
/// that finished, with `no_server_error` judged on what they sent.
pub async fn run_until(plan: &CheckPlan, shutdown: &Shutdown) -> anyhow::Result<Report> {
    let signer = plan
        .target
        .signer(plan.provider.scheme(), &plan.secret, None)?;
    let client = Client::new(plan.client.clone())?;
    let mut report = Report::new(RunInfo {
        command: "check".into(),
        provider: plan.provider.name().to_string(),
        provider_file: plan.provider.file().map(String::from),
        target: plan.target.url(),
        seed: plan.seed,
        shard: None,
        scenario: None,
        interrupted: None,
    });
    tokio::select! {
        reachable = ensure_reachable(&client, &plan.target) => reachable?,
        _ = shutdown.requested() => return Ok(report),
    }
    if !plan.quiet {
        eprintln!(
            "hookstorm check: provider {}, target {}, {} event types, {} checks, seed {}",
            plan.provider.name(),
            plan.target,
            plan.types.len(),
            plan.checks.len(),
            plan.seed
        );
    }
    let ctx = Context::new(plan.clone(), signer, client);
    report.checks = run_selected(&ctx, &plan.checks, shutdown).await;
    report.strict = plan.strict;
    report.stopped = ctx.stopped();
    let observed = std::mem::take(&mut *ctx.observed.lock().expect("observed lock"));
    report.findings = reports::finding::group(observed);
    for f in &mut report.findings {
        f.expires = f.expires.take().map(|e| e.replace("{finding}", &f.id));
    }
    report.link_findings();
    Ok(report)
}

/// Runs the selected checks against the context's target, in catalog order,
/// and returns one result per check × event type (provider-wide checks
/// report under `*`); stops before the next check, or within the one
/// running, when `shutdown` is requested.
async fn run_selected(
    ctx: &Context,
    selected: &[CheckId],
    shutdown: &Shutdown,
) -> Vec<CheckResult> {
    let mut results = Vec::new();
    for id in selected {
        tokio::select! {
            mut batch = run_one(ctx, *id) => results.append(&mut batch),
            _ = shutdown.requested() => break,
        }
    }
    if selected.contains(&CheckId::NoServerError) {
        if ctx.journal.lock().expect("journal lock").is_empty() && !shutdown.is_requested() {
            // Nothing else ran: probe with valid and invalid forms first.
            tokio::select! {
                _ = async {
                    let _ = acceptance::accepts_valid(ctx).await;
                    let _ = acceptance::rejects_invalid(ctx).await;
                } => {}
                _ = shutdown.requested() => {}
            }
        }
        results.extend(acceptance::no_server_error(ctx));
    }
    results
}

/// Runs one check (`no_server_error` is judged by [`run_selected`], last).
async fn run_one(ctx: &Context, id: CheckId) -> Vec<CheckResult> {
    match id {
        CheckId::AcceptsValid => acceptance::accepts_valid(ctx).await,
        CheckId::ToleratesUnknownFields => {
            acceptance::still_valid(ctx, id, &["unknown-field-top", "unknown-field-deep"]).await
        }
        CheckId::ToleratesOptionalAbsent => {
            acceptance::still_valid(ctx, id, &["optional-absent", "optional-null"]).await
        }
        CheckId::RejectsInvalid => acceptance::rejects_invalid(ctx).await,
        CheckId::SurvivesParserBreakers => parser::run(ctx).await,
        // Judged last, over everything the other checks sent.
        CheckId::NoServerError => Vec::new(),
        CheckId::RejectsMissingSignature
        | CheckId::RejectsBadSignature
        | CheckId::RejectsStaleSignature
        | CheckId::RejectsJwtAlgNone => signature::run(ctx, id).await,
        CheckId::WithinDeadline => deadline::run(ctx).await,
        CheckId::DuplicateIdempotent => duplicate::run(ctx).await,
        CheckId::Ordering => ordering::run(ctx).await,
        CheckId::BlockingResponseSchema => blocking::run(ctx).await,
        CheckId::NoLoss => loss::run(ctx).await,
        CheckId::Handshake => handshake::run(ctx).await,
    }
}

/// Runs `f` for every event type, preserving type order. All types run at
/// once; the context's permits keep `concurrency` deliveries in flight.
async fn per_type<'a, F, Fut>(ctx: &'a Context, f: F) -> Vec<CheckResult>
where
    F: Fn(&'a EventType) -> Fut,
    Fut: std::future::Future<Output = CheckResult> + 'a,
{
    join_all(ctx.plan.types.iter().map(f)).await
}
