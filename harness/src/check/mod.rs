//! The conformance checks: their catalog, the [`CheckPlan`] a run follows,
//! the context the checks share, and [`run`], which sends every probe and
//! turns exchanges into `reports::CheckResult`s.
//!
//! Each check lives in its own file and only decides *what to send* and
//! *what must hold*; sending, timing, recording every exchange (for
//! `no_server_error`) and building failures with a `curl` reproduction all
//! happen here, once.

mod acceptance;
mod blocking;
mod deadline;
mod duplicate;
mod loss;
mod ordering;
mod parser;
mod plan;
mod signature;
mod terminal;

pub use plan::{CheckPlan, DEFAULT_BURST, DEFAULT_CONCURRENCY, DEFAULT_SETTLE};
pub use terminal::{catalog_table, render_outcome};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use generators::{EventType, Generator, Profile, Signer};
use reports::{CheckOutcome, CheckResult, Failure, Report, RequestSummary, RunInfo};
use serde_json::Value;

use crate::client::{Client, Response, SendError};
use crate::clock::{now_unix, now_unix_ms};
use crate::ledger::LedgerEntry;
use crate::reachable::ensure_reachable;
use crate::verdict::usage;

/// One entry of the check catalog.
#[derive(Clone, Copy, Debug)]
pub struct CheckInfo {
    /// Stable id, used in `--checks`, reports and JUnit.
    pub id: &'static str,
    /// What must hold.
    pub description: &'static str,
    /// The provider rule the check enforces.
    pub rule: &'static str,
}

/// Every check, in the order they run and are reported.
pub const CATALOG: &[CheckInfo] = &[
    CheckInfo {
        id: "accepts_valid",
        description: "every event type, valid form and still-valid edge forms -> success status within the deadline",
        rule: "providers deliver every documented type and retry on non-success (Standard Webhooks spec, FusionAuth webhook docs)",
    },
    CheckInfo {
        id: "tolerates_unknown_fields",
        description: "unknown fields at any depth -> still accepted",
        rule: "providers add fields without notice (Authgear: receivers must tolerate unknown fields)",
    },
    CheckInfo {
        id: "tolerates_optional_absent",
        description: "optional fields absent or null -> still accepted",
        rule: "documented optional fields (e.g. Authgear context.user_id, ip_address) may be absent",
    },
    CheckInfo {
        id: "rejects_invalid",
        description: "malformed, truncated, mistyped, incomplete, empty, wrong-content-type or oversized bodies -> 4xx",
        rule: "a receiver must not accept (2xx) or crash (5xx) on input it cannot process",
    },
    CheckInfo {
        id: "survives_parser_breakers",
        description: "correctly signed bodies that break JSON parsers and text decoders (JSONTestSuite n_/i_ cases, invalid UTF-8, BOM, UTF-16, 10,000-deep nesting) -> 4xx, or accepted where RFC 8259 leaves it open; never 5xx or a dropped connection",
        rule: "RFC 8259 (§8.1 UTF-8, §9 parsers may set limits): input no provider sends must be turned away, not crash the receiver or invite retries",
    },
    CheckInfo {
        id: "no_server_error",
        description: "no 5xx and no dropped connection for any valid or adversarial input",
        rule: "a 5xx makes the provider retry forever (Infrahub, Standard Webhooks) or fail the user's operation (blocking hooks)",
    },
    CheckInfo {
        id: "rejects_missing_signature",
        description: "a delivery without its signature -> 401/403 (or 400)",
        rule: "each provider signs every delivery (Authgear pkg/lib/hook/http.go, FusionAuth signing docs, Standard Webhooks spec): unsigned input is forged",
    },
    CheckInfo {
        id: "rejects_bad_signature",
        description: "tampered body, wrong secret, truncated or mis-encoded signature -> rejected; rotation (several signatures, one valid) -> accepted",
        rule: "signature over the raw body (Authgear hex HMAC, FusionAuth request_body_sha256, Standard Webhooks v1)",
    },
    CheckInfo {
        id: "rejects_stale_signature",
        description: "timestamps outside ±300 s -> rejected; just inside -> accepted",
        rule: "Standard Webhooks reference library: 5-minute tolerance against replay",
    },
    CheckInfo {
        id: "rejects_jwt_alg_none",
        description: "JWT signatures with alg none, another algorithm or an unknown kid -> rejected",
        rule: "FusionAuth signs with the configured key and kid; RFC 8725 §3.1 (algorithm verification)",
    },
    CheckInfo {
        id: "within_deadline",
        description: "every answer inside the provider's deadline, also under concurrency",
        rule: "documented deadlines: Authgear blocking 5 s (10 s total) / 60 s, FusionAuth read timeout, Infrahub 10 s, Auth0 Action timeout",
    },
    CheckInfo {
        id: "duplicate_idempotent",
        description: "the same event delivered twice (in sequence, concurrently, after the sender gave up waiting) -> success both times, effect once",
        rule: "providers redeliver (FusionAuth up to 3 more sends; Infrahub new webhook-id, same body id); dedupe by the provider's key",
    },
    CheckInfo {
        id: "ordering",
        description: "one subject's events delivered out of order -> the effect follows the declared policy",
        rule: "no provider guarantees delivery order (Authgear: order unspecified); seq/timestamps are the order",
    },
    CheckInfo {
        id: "blocking_response_schema",
        description: "blocking hooks answer a body valid against the response schema; mutations only where allowed",
        rule: "Authgear blocking hooks: an invalid body fails the user's operation",
    },
    CheckInfo {
        id: "no_loss",
        description: "under a burst, every acknowledged event is processed exactly once",
        rule: "an acknowledged delivery is never redelivered: losing it loses the event",
    },
];

/// Looks up a check by id.
pub fn info(id: &str) -> Option<&'static CheckInfo> {
    CATALOG.iter().find(|c| c.id == id)
}

/// Resolves `--checks` / `--exclude` into the ids to run (catalog order).
pub fn select(only: &[String], exclude: &[String]) -> anyhow::Result<Vec<&'static str>> {
    for id in only.iter().chain(exclude) {
        if info(id).is_none() {
            let hint = generators::did_you_mean(id, CATALOG.iter().map(|c| c.id))
                .map(|s| format!(", did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(crate::usage(format!(
                "unknown check `{id}`{hint} (see `hookstorm check --list`)"
            )));
        }
    }
    Ok(CATALOG
        .iter()
        .map(|c| c.id)
        .filter(|id| only.is_empty() || only.iter().any(|o| o == id))
        .filter(|id| !exclude.iter().any(|e| e == id))
        .collect())
}

/// Everything the checks share during one run, built from a [`CheckPlan`].
pub struct Context {
    /// What to run: provider, types, target, ledger, policies, seed.
    pub plan: CheckPlan,
    /// Signs deliveries with the provider's scheme.
    pub signer: Signer,
    /// The HTTP client.
    pub client: Client,
    /// The event generator (seeded).
    pub generator: Mutex<Generator>,
    /// Every exchange sent, per event type, for `no_server_error`.
    journal: Mutex<BTreeMap<String, Vec<Probe>>>,
    /// Set once the target stopped answering: later probes do not wait the
    /// full deadline again.
    stalled: std::sync::atomic::AtomicU32,
    /// Counter behind `fresh_bits`.
    counter: std::sync::atomic::AtomicU64,
}

/// One request the checks sent and what came back.
#[derive(Clone, Debug)]
pub struct Probe {
    /// Which variant/case this was (shown in failures).
    pub variant: String,
    /// Request headers as sent.
    pub headers: Vec<(String, String)>,
    /// Request body as sent.
    pub body: Bytes,
    /// The answer, or why there was none.
    pub answer: Result<Response, Arc<SendError>>,
    /// Wall time of the exchange.
    pub elapsed: Duration,
}

impl Probe {
    /// The status, if any.
    pub fn status(&self) -> Option<u16> {
        self.answer.as_ref().ok().map(|a| a.status)
    }

    /// Whether the answer is a client error (the "reject" expectation).
    pub fn is_rejection(&self) -> bool {
        matches!(self.status(), Some(400..=499))
    }

    /// Whether the receiver failed server-side: 5xx or no answer at all.
    pub fn is_server_failure(&self) -> bool {
        match &self.answer {
            Ok(a) => a.status >= 500,
            Err(_) => true,
        }
    }

    /// A short description of the outcome for messages.
    pub fn outcome_text(&self) -> String {
        match &self.answer {
            Ok(a) => format!("HTTP {} after {} ms", a.status, self.elapsed.as_millis()),
            Err(e) => format!("{e} after {} ms", self.elapsed.as_millis()),
        }
    }
}

impl Context {
    /// The context of `plan`'s run, signing with `signer` and sending
    /// with `client`; the journal starts empty.
    fn new(mut plan: CheckPlan, signer: Signer, client: Client) -> Context {
        // The probes run `concurrency` deliveries at once: zero would send none.
        plan.concurrency = plan.concurrency.max(1);
        Context {
            generator: Mutex::new(Generator::new(plan.seed, now_unix_ms())),
            plan,
            signer,
            client,
            journal: Mutex::new(BTreeMap::new()),
            stalled: std::sync::atomic::AtomicU32::new(0),
            counter: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The provider's delivery profile.
    pub fn profile(&self) -> &Profile {
        self.plan.provider.profile()
    }

    /// The deadline that applies to `ty` (blocking hooks have their own).
    pub fn deadline_for(&self, ty: &EventType) -> Duration {
        if let Some(d) = self.plan.deadline {
            return d;
        }
        let ms = if ty.blocking {
            self.profile()
                .blocking_deadline_ms
                .unwrap_or(self.profile().deadline_ms)
        } else {
            self.profile().deadline_ms
        };
        Duration::from_millis(ms)
    }

    /// How long a probe waits before giving up: the deadline plus a margin,
    /// shortened once the target has stopped answering so a hung receiver
    /// costs one deadline per check, not one per probe.
    fn wait_for(&self, ty: &EventType) -> Duration {
        let deadline = self.deadline_for(ty);
        if self.stalled.load(std::sync::atomic::Ordering::Relaxed) >= 3 {
            deadline.min(Duration::from_secs(1))
        } else {
            deadline + deadline.min(Duration::from_secs(1))
        }
    }

    /// A fresh valid event of `ty`.
    pub fn valid(&self, ty: &EventType) -> Value {
        self.generator.lock().expect("generator lock").valid(ty)
    }

    /// Signs `body` the provider's way, with a fresh message id.
    pub fn sign(&self, body: Vec<u8>) -> (Vec<(String, String)>, Bytes) {
        let msg_id = self.fresh_message_id();
        self.sign_with_id(body, &msg_id)
    }

    /// Signs `body` under the given message id (duplicates reuse it).
    pub fn sign_with_id(&self, body: Vec<u8>, msg_id: &str) -> (Vec<(String, String)>, Bytes) {
        let delivery = generators::envelope(self.profile(), &self.signer, body, msg_id, now_unix());
        (delivery.headers, Bytes::from(delivery.body))
    }

    /// A new `msg_<hex>` id, unique in the run and reproducible from the seed.
    pub fn fresh_message_id(&self) -> String {
        generators::message_id(self.fresh_bits())
    }

    /// 128 fresh bits: splitmix64 over (seed, counter), so ids are unique in
    /// a run and the same for the same seed.
    pub fn fresh_bits(&self) -> u128 {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        generators::seeded_bits(self.plan.seed, n)
    }

    /// A fresh UUID (v4 layout) for re-identifying an event.
    pub fn fresh_uuid(&self) -> String {
        uuid::Builder::from_random_bytes(self.fresh_bits().to_be_bytes())
            .into_uuid()
            .to_string()
    }

    /// Gives `event` a fresh dedupe id (when the key lives in the body), so
    /// that re-sending a shrunk or modified event is not a duplicate.
    pub fn reidentify(&self, event: &mut Value) {
        if let Some(slot) = event.pointer_mut(&self.profile().dedupe_key) {
            if slot.is_string() {
                *slot = Value::String(self.fresh_uuid());
            }
        }
    }

    /// Sends one probe for `ty` and journals it.
    pub async fn send(
        &self,
        ty: &EventType,
        variant: &str,
        headers: Vec<(String, String)>,
        body: Bytes,
    ) -> Probe {
        self.send_with_timeout(ty, variant, headers, body, self.wait_for(ty))
            .await
    }

    /// Sends one probe with an explicit timeout and journals it.
    pub async fn send_with_timeout(
        &self,
        ty: &EventType,
        variant: &str,
        headers: Vec<(String, String)>,
        body: Bytes,
        timeout: Duration,
    ) -> Probe {
        let started = Instant::now();
        let answer = self
            .client
            .send(&self.plan.target, "POST", &headers, body.clone(), timeout)
            .await
            .map_err(Arc::new);
        if matches!(&answer, Err(e) if e.kind == reports::ErrorKind::Timeout) {
            self.stalled
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let probe = Probe {
            variant: variant.to_string(),
            headers,
            body,
            answer,
            elapsed: started.elapsed(),
        };
        self.journal
            .lock()
            .expect("journal lock")
            .entry(ty.name.clone())
            .or_default()
            .push(probe.clone());
        probe
    }

    /// Sends a valid, signed event of `ty` and returns the probe and event.
    pub async fn send_valid(&self, ty: &EventType, variant: &str) -> (Probe, Value) {
        let event = self.valid(ty);
        let (headers, body) = self.sign(serde_json::to_vec(&event).expect("JSON values serialize"));
        (self.send(ty, variant, headers, body).await, event)
    }

    /// Whether the status counts as delivered for this provider.
    pub fn is_success(&self, probe: &Probe) -> bool {
        probe
            .status()
            .is_some_and(|s| self.profile().success.is_success(s))
    }

    /// Reads the receiver's ledger, after letting it settle.
    pub async fn read_ledger(&self) -> anyhow::Result<Vec<LedgerEntry>> {
        tokio::time::sleep(self.plan.settle).await;
        match &self.plan.ledger {
            Some(source) => source.read(self.client.options()).await,
            None => anyhow::bail!("no ledger configured"),
        }
    }

    /// The dedupe key value of a delivery (body pointer or header).
    pub fn dedupe_value(&self, event: &Value, headers: &[(String, String)]) -> Option<String> {
        key_value(&self.profile().dedupe_key, event, headers).map(|v| match v {
            Value::String(s) => s,
            other => other.to_string(),
        })
    }

    /// Builds a failure record with a redacted request and a `curl` line.
    pub fn failure(&self, probe: &Probe, message: impl Into<String>) -> Failure {
        let headers = redact(&probe.headers);
        let (status, excerpt, error) = match &probe.answer {
            Ok(a) => (Some(a.status), reports::excerpt(&a.body, 300), None),
            Err(e) => (None, String::new(), Some(e.to_string())),
        };
        Failure {
            variant: probe.variant.clone(),
            message: message.into(),
            request: RequestSummary {
                method: "POST".into(),
                url: self.plan.target.url(),
                headers: headers.clone(),
                body_excerpt: reports::excerpt(&probe.body, 300),
            },
            response_status: status,
            response_excerpt: excerpt,
            error,
            curl: reports::curl_command("POST", &self.plan.target.url(), &headers, &probe.body),
        }
    }

    /// The probes journaled so far for `type_name`.
    fn journal_of(&self, type_name: &str) -> Vec<Probe> {
        self.journal
            .lock()
            .expect("journal lock")
            .get(type_name)
            .cloned()
            .unwrap_or_default()
    }
}

/// Reads a key (`/json/pointer` or `header:name`) from a delivery.
pub fn key_value(key: &str, event: &Value, headers: &[(String, String)]) -> Option<Value> {
    if let Some(name) = key.strip_prefix("header:") {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| Value::String(v.clone()))
    } else {
        event.pointer(key).cloned()
    }
}

/// Replaces bearer tokens (which *are* the secret) with `<redacted>`. HMAC
/// signatures stay: they are derived from the secret, do not reveal it, and
/// keep the `curl` line reproducing the exact request.
pub fn redact(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            if k.eq_ignore_ascii_case("authorization") {
                let scheme = v.split_whitespace().next().unwrap_or("");
                (k.clone(), format!("{scheme} <redacted>").trim().to_string())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

/// Builds the result of one check on one event type: counts the cases
/// that held, keeps the failures, and finishes into a `CheckResult`.
pub struct ResultBuilder {
    id: &'static str,
    event_type: String,
    cases: u32,
    failures: Vec<Failure>,
    skip: Option<String>,
    started: Instant,
}

impl ResultBuilder {
    /// Starts a result for `id` on `event_type`.
    pub fn new(id: &'static str, event_type: &str) -> ResultBuilder {
        ResultBuilder {
            id,
            event_type: event_type.to_string(),
            cases: 0,
            failures: Vec::new(),
            skip: None,
            started: Instant::now(),
        }
    }

    /// Records a case that held.
    pub fn pass(&mut self) {
        self.cases += 1;
    }

    /// Records a case that did not hold.
    pub fn fail(&mut self, failure: Failure) {
        self.cases += 1;
        self.failures.push(failure);
    }

    /// Records `ok` as a pass, or the failure built by `failure`.
    pub fn expect(&mut self, ok: bool, failure: impl FnOnce() -> Failure) {
        if ok {
            self.pass()
        } else {
            self.fail(failure())
        }
    }

    /// Marks the result skipped (unless something already failed).
    pub fn skip(&mut self, reason: impl Into<String>) {
        self.skip = Some(reason.into());
    }

    /// Whether a failure has been recorded.
    pub fn has_failed(&self) -> bool {
        !self.failures.is_empty()
    }

    /// The finished result.
    pub fn finish(self) -> CheckResult {
        let info = info(self.id).expect("check ids come from the catalog");
        let (outcome, reason) = if !self.failures.is_empty() {
            let reason = self.failures[0].message.clone();
            (CheckOutcome::Fail, Some(reason))
        } else if let Some(reason) = self.skip {
            (CheckOutcome::Skip, Some(reason))
        } else if self.cases == 0 {
            (
                CheckOutcome::Skip,
                Some("nothing to check for this type".into()),
            )
        } else {
            (CheckOutcome::Pass, None)
        };
        CheckResult {
            id: self.id.to_string(),
            event_type: self.event_type,
            rule: info.rule.to_string(),
            description: info.description.to_string(),
            outcome,
            reason,
            failures: self.failures,
            cases: self.cases,
            duration_ms: self.started.elapsed().as_millis() as u64,
        }
    }
}

/// Runs `plan`: makes sure the target answers at all, runs the selected
/// checks and returns the report (nothing is printed but the start line,
/// unless the plan is quiet).
pub async fn run(plan: &CheckPlan) -> anyhow::Result<Report> {
    let signer =
        Signer::new(plan.provider.scheme(), &plan.secret).map_err(|e| usage(format!("{e}")))?;
    let client = Client::new(plan.client.clone())?;
    ensure_reachable(&client, &plan.target).await?;
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
    let mut report = Report::new(RunInfo {
        command: "check".into(),
        provider: plan.provider.name().to_string(),
        target: plan.target.url(),
        seed: plan.seed,
        shard: None,
        scenario: None,
    });
    report.checks = run_selected(&ctx, &plan.checks).await;
    Ok(report)
}

/// Runs the selected checks against the context's target, in catalog order,
/// and returns one result per check × event type (provider-wide checks
/// report under `*`).
async fn run_selected(ctx: &Context, selected: &[&'static str]) -> Vec<CheckResult> {
    let mut results = Vec::new();
    for id in selected {
        let mut batch = match *id {
            "accepts_valid" => acceptance::accepts_valid(ctx).await,
            "tolerates_unknown_fields" => {
                acceptance::still_valid(ctx, id, &["unknown-field-top", "unknown-field-deep"]).await
            }
            "tolerates_optional_absent" => {
                acceptance::still_valid(ctx, id, &["optional-absent", "optional-null"]).await
            }
            "rejects_invalid" => acceptance::rejects_invalid(ctx).await,
            "survives_parser_breakers" => parser::run(ctx).await,
            // Judged last, over everything the other checks sent.
            "no_server_error" => Vec::new(),
            "rejects_missing_signature"
            | "rejects_bad_signature"
            | "rejects_stale_signature"
            | "rejects_jwt_alg_none" => signature::run(ctx, id).await,
            "within_deadline" => deadline::run(ctx).await,
            "duplicate_idempotent" => duplicate::run(ctx).await,
            "ordering" => ordering::run(ctx).await,
            "blocking_response_schema" => blocking::run(ctx).await,
            "no_loss" => loss::run(ctx).await,
            other => unreachable!("check `{other}` is in the catalog but not dispatched"),
        };
        results.append(&mut batch);
    }
    if selected.contains(&"no_server_error") {
        if ctx.journal.lock().expect("journal lock").is_empty() {
            // Nothing else ran: probe with valid and invalid forms first.
            let _ = acceptance::accepts_valid(ctx).await;
            let _ = acceptance::rejects_invalid(ctx).await;
        }
        results.extend(acceptance::no_server_error(ctx));
    }
    results
}

/// Runs `f` for every event type, `ctx.plan.concurrency` types at a time,
/// preserving type order.
async fn per_type<'a, F, Fut>(ctx: &'a Context, f: F) -> Vec<CheckResult>
where
    F: Fn(&'a EventType) -> Fut,
    Fut: std::future::Future<Output = CheckResult> + 'a,
{
    let mut out = Vec::with_capacity(ctx.plan.types.len());
    for chunk in ctx.plan.types.chunks(ctx.plan.concurrency.max(1)) {
        out.extend(join_all(chunk.iter().map(&f).collect()).await);
    }
    out
}

/// Awaits all futures concurrently, returning outputs in input order.
async fn join_all<T, Fut: std::future::Future<Output = T>>(futures: Vec<Fut>) -> Vec<T> {
    let mut pinned: Vec<std::pin::Pin<Box<Fut>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<T>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, fut) in pinned.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => outputs[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("all ready")).collect()
}
