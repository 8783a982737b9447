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
mod deadline;
mod duplicate;
mod handshake;
pub mod levels;
mod loss;
mod ordering;
mod parser;
mod plan;
mod signature;
mod terminal;

#[cfg(test)]
pub(crate) use catalog::parses;
pub use catalog::{select, CheckId, UnknownCheck, NOTHING_SELECTED};
pub use levels::Seen;
pub use plan::{
    CheckPlan, DEFAULT_BURST, DEFAULT_CONCURRENCY, DEFAULT_MAX_TIME, DEFAULT_SETTLE,
    DEFAULT_UNRESPONSIVE_AFTER,
};
pub use terminal::{catalog_table, render_outcome};

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::join_all;
use generators::{EventType, Generator, Profile, Signer};
use reports::{CheckResult, Finding, Level, Report, RequestSummary, RunInfo};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::client::{Client, Response, SendError};
use crate::clock::{now_unix, now_unix_ms};
use crate::header_case::HeaderCase;
use crate::ledger::LedgerEntry;
use crate::reachable::ensure_reachable;
use crate::shutdown::Shutdown;
use crate::verdict::usage;

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
    /// `concurrency` permits: every delivery of the run holds one while in
    /// flight, so `--concurrency N` means N in flight, whichever checks.
    permits: Semaphore,
    /// Every exchange sent, per event type, for `no_server_error` and
    /// `within_deadline`.
    journal: Mutex<BTreeMap<String, Vec<Probe>>>,
    /// Every probe that did not simply pass, before grouping.
    observed: Mutex<Vec<Finding>>,
    /// Timeouts in a row (any answer resets it).
    consecutive_timeouts: AtomicU32,
    /// FAIL observations so far, for `--max-failures`.
    fails: AtomicUsize,
    /// Why the run stopped sending, once it did.
    stop: Mutex<Option<String>>,
    /// When `--max-time` runs out.
    ends_at: Instant,
    /// Counter behind `fresh_bits`.
    counter: AtomicU64,
}

/// One request the checks sent and what came back.
#[derive(Clone, Debug)]
pub struct Probe {
    /// The event type it carried.
    pub event_type: String,
    /// Which variant/case this was (shown in findings).
    pub variant: String,
    /// The request method (`POST`; `GET` for Okta's challenge).
    pub method: &'static str,
    /// Request headers as sent.
    pub headers: Vec<(String, String)>,
    /// Request body as sent.
    pub body: Bytes,
    /// The answer, or why there was none.
    pub answer: Result<Response, Arc<SendError>>,
    /// Wall time of the exchange, from the moment it was sent (not from
    /// when it started waiting for a free slot).
    pub elapsed: Duration,
    /// The deadline this probe is judged against.
    pub deadline: Duration,
    /// How long it was allowed to wait for an answer.
    pub timeout: Duration,
    /// Not sent at all: the run had stopped (the reason is in the report).
    pub not_sent: bool,
}

impl Probe {
    /// The status, if any.
    pub fn status(&self) -> Option<u16> {
        self.answer.as_ref().ok().map(|a| a.status)
    }

    /// Whether it timed out.
    pub fn timed_out(&self) -> bool {
        matches!(&self.answer, Err(e) if e.kind == reports::ErrorKind::Timeout)
    }

    /// A short description of the outcome for messages.
    pub fn outcome_text(&self) -> String {
        if self.not_sent {
            return "not sent".into();
        }
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
            permits: Semaphore::new(plan.concurrency),
            ends_at: Instant::now() + plan.max_time,
            plan,
            signer,
            client,
            journal: Mutex::new(BTreeMap::new()),
            observed: Mutex::new(Vec::new()),
            consecutive_timeouts: AtomicU32::new(0),
            fails: AtomicUsize::new(0),
            stop: Mutex::new(None),
            counter: AtomicU64::new(0),
        }
    }

    /// Why the run stopped sending, if it did.
    pub fn stopped(&self) -> Option<String> {
        self.stop.lock().expect("stop lock").clone()
    }

    /// Stops sending (the first reason wins).
    fn stop_with(&self, reason: String) {
        let mut stop = self.stop.lock().expect("stop lock");
        if stop.is_none() {
            if !self.plan.quiet {
                eprintln!("hookstorm check: stopping: {reason}");
            }
            *stop = Some(reason);
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

    /// How long a probe of `ty` waits for an answer: `--request-timeout`,
    /// by default the deadline itself (waiting longer only to call the
    /// answer late would make a slow receiver cost minutes).
    pub fn timeout_for(&self, ty: &EventType) -> Duration {
        self.plan
            .request_timeout
            .unwrap_or_else(|| self.deadline_for(ty))
    }

    /// A fresh valid event of `ty`.
    pub fn valid(&self, ty: &EventType) -> Value {
        self.generator.lock().expect("generator lock").valid(ty)
    }

    /// One event's bytes as the provider delivers them: the bytes
    /// themselves, or a batch of one for a provider that batches (an empty
    /// body stays empty).
    pub fn batched(&self, event: Vec<u8>) -> Vec<u8> {
        match &self.profile().batch {
            Some(batch) => batch.wrap_one(&event),
            None => event,
        }
    }

    /// Signs one event as the provider delivers it (see [`batched`](Self::batched)).
    pub fn sign_event(&self, event: &Value) -> (Vec<(String, String)>, Bytes) {
        self.sign(self.batched(serde_json::to_vec(event).expect("JSON values serialize")))
    }

    /// Signs several events as one request of a batching provider.
    pub fn sign_batch(&self, events: &[&Value]) -> (Vec<(String, String)>, Bytes) {
        match &self.profile().batch {
            Some(batch) => self.sign(batch.body(events)),
            None => self.sign(serde_json::to_vec(events[0]).expect("JSON values serialize")),
        }
    }

    /// The events a request body carries (none when it is not readable).
    pub fn events_in(&self, body: &[u8]) -> Vec<Value> {
        match &self.profile().batch {
            Some(batch) => batch.split(body).unwrap_or_default(),
            None => serde_json::from_slice(body)
                .map(|e| vec![e])
                .unwrap_or_default(),
        }
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
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
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
        self.send_cased(ty, variant, headers, body, HeaderCase::AsGiven)
            .await
    }

    /// As [`send`](Self::send), with the header names written in `case`
    /// on the wire (HTTP/1.1).
    pub async fn send_cased(
        &self,
        ty: &EventType,
        variant: &str,
        headers: Vec<(String, String)>,
        body: Bytes,
        case: HeaderCase,
    ) -> Probe {
        let client = self.client.with_header_case(case);
        let headers = self
            .typed(ty, headers)
            .into_iter()
            .map(|(name, value)| (case.apply(&name), value))
            .collect();
        let probe = self
            .exchange(
                &client,
                self.unsent(ty, variant, "POST", headers, body, self.timeout_for(ty)),
            )
            .await;
        if !probe.not_sent {
            self.note_answer(&probe);
            self.journal
                .lock()
                .expect("journal lock")
                .entry(ty.name.clone())
                .or_default()
                .push(probe.clone());
        }
        probe
    }

    /// Sends a probe the sender deliberately stops waiting for after
    /// `give_up` (a provider that timed out and will redeliver): its own
    /// timeout is expected, so it is neither journaled nor counted.
    pub async fn send_abandoned(
        &self,
        ty: &EventType,
        variant: &str,
        headers: Vec<(String, String)>,
        body: Bytes,
        give_up: Duration,
    ) -> Probe {
        let headers = self.typed(ty, headers);
        self.exchange(
            &self.client,
            self.unsent(ty, variant, "POST", headers, body, give_up),
        )
        .await
    }

    /// `headers` naming `ty` where the provider's deliveries name their
    /// type (GitHub's `X-GitHub-Event` header); a body naming it needs
    /// nothing added.
    fn typed(&self, ty: &EventType, mut headers: Vec<(String, String)>) -> Vec<(String, String)> {
        generators::name_type(self.profile(), &ty.name, &mut headers);
        headers
    }

    /// Sends a request that is not a delivery of `ty` (a sender's endpoint
    /// challenge, `method` `GET` or `POST`): bounded and counted like a
    /// delivery, but not journaled, so the delivery checks do not judge it.
    pub async fn send_request(
        &self,
        ty: &EventType,
        variant: &str,
        method: &'static str,
        headers: Vec<(String, String)>,
        body: Bytes,
    ) -> Probe {
        let probe = self
            .exchange(
                &self.client,
                self.unsent(ty, variant, method, headers, body, self.timeout_for(ty)),
            )
            .await;
        if !probe.not_sent {
            self.note_answer(&probe);
        }
        probe
    }

    /// A probe of `ty` not sent yet, judged against `ty`'s deadline.
    fn unsent(
        &self,
        ty: &EventType,
        variant: &str,
        method: &'static str,
        headers: Vec<(String, String)>,
        body: Bytes,
        timeout: Duration,
    ) -> Probe {
        Probe {
            event_type: ty.name.clone(),
            variant: variant.to_string(),
            method,
            headers,
            body,
            answer: Err(Arc::new(SendError {
                kind: reports::ErrorKind::Other,
                detail: "not sent".into(),
            })),
            elapsed: Duration::ZERO,
            deadline: self.deadline_for(ty),
            timeout,
            not_sent: true,
        }
    }

    /// One exchange under a permit; the clock starts once the permit is
    /// held, so the probe is judged on the time it actually waited.
    async fn exchange(&self, client: &Client, mut probe: Probe) -> Probe {
        let timeout = probe.timeout;
        if self.stopped().is_some() {
            return probe;
        }
        let Ok(_permit) = self.permits.acquire().await else {
            return probe;
        };
        let left = self.ends_at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            self.stop_with(format!(
                "--max-time {} s reached",
                self.plan.max_time.as_secs()
            ));
        }
        if self.stopped().is_some() {
            return probe;
        }
        let timeout = timeout.min(left);
        let started = Instant::now();
        probe.answer = client
            .send(
                &self.plan.target,
                probe.method,
                &probe.headers,
                probe.body.clone(),
                timeout,
            )
            .await
            .map_err(Arc::new);
        probe.elapsed = started.elapsed();
        probe.timeout = timeout;
        probe.not_sent = false;
        probe
    }

    /// Counts timeouts in a row: after `--unresponsive-after` of them the
    /// receiver is declared unresponsive and nothing more is sent.
    fn note_answer(&self, probe: &Probe) {
        if !probe.timed_out() {
            self.consecutive_timeouts.store(0, Ordering::Relaxed);
            return;
        }
        if Instant::now() >= self.ends_at {
            self.stop_with(format!(
                "--max-time {} s reached",
                self.plan.max_time.as_secs()
            ));
            return;
        }
        let n = self.consecutive_timeouts.fetch_add(1, Ordering::Relaxed) + 1;
        let limit = self.plan.unresponsive_after;
        if limit > 0 && n >= limit {
            self.stop_with(format!(
                "receiver unresponsive: {n} requests in a row got no answer within {} ms; \
                 the remaining probes were not sent",
                probe.timeout.as_millis()
            ));
        }
    }

    /// Sends a valid, signed event of `ty` and returns the probe and event.
    pub async fn send_valid(&self, ty: &EventType, variant: &str) -> (Probe, Value) {
        let event = self.valid(ty);
        let (headers, body) = self.sign_event(&event);
        (self.send(ty, variant, headers, body).await, event)
    }

    /// Whether the status counts as delivered for this provider.
    pub fn is_success(&self, probe: &Probe) -> bool {
        probe
            .status()
            .is_some_and(|s| self.profile().success.is_success(s))
    }

    /// What the table sees in a probe's answer (lateness is
    /// `within_deadline`'s to see).
    pub fn seen(&self, probe: &Probe) -> Seen {
        Seen::of(probe, |s| self.profile().success.is_success(s))
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

    /// Records a probe that did not simply pass as a (not yet grouped)
    /// finding: redacted request, answer, and the body for its
    /// reproduction; counts FAILs for `--max-failures`.
    fn observe(&self, check: CheckId, probe: &Probe, seen: Seen, level: Level, message: String) {
        let (status, excerpt, error) = match &probe.answer {
            Ok(a) => (Some(a.status), self.echo_excerpt(probe, &a.body), None),
            Err(e) => (None, String::new(), Some(e.to_string())),
        };
        let finding = Finding {
            id: String::new(),
            check: check.to_string(),
            variant: probe.variant.clone(),
            level,
            status_class: seen.class(status),
            event_types: vec![probe.event_type.clone()],
            probes: 1,
            message,
            request: RequestSummary {
                method: probe.method.into(),
                url: self.plan.target.url(),
                headers: redact(&probe.headers),
                body_excerpt: reports::excerpt(&probe.body, 300),
                event_type: probe.event_type.clone(),
                body: None,
                body_file: None,
                body_len: probe.body.len(),
            },
            response_status: status,
            response_excerpt: excerpt,
            error,
            curl: String::new(),
            expires: expiry(&self.profile().scheme, &self.plan.secret, &probe.headers),
            repro: Some(probe.body.to_vec()),
        };
        self.observed.lock().expect("observed lock").push(finding);
        if level == Level::Fail {
            let n = self.fails.fetch_add(1, Ordering::Relaxed) + 1;
            if self.plan.max_failures.is_some_and(|max| n >= max) {
                self.stop_with(format!("--max-failures {n} reached"));
            }
        }
    }

    /// The start of a response body, without any secret the request
    /// carried: a receiver that echoes its request must not put the token
    /// into the report.
    fn echo_excerpt(&self, probe: &Probe, body: &[u8]) -> String {
        let secrets = crate::secret::authorization_tokens(&probe.headers)
            .chain([self.plan.secret.expose()])
            .chain(self.plan.target.credentials.as_ref().map(|c| c.token()));
        let body = crate::secret::scrub(&String::from_utf8_lossy(body), secrets);
        reports::excerpt(body.as_bytes(), 300)
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
    generators::key_value(key, event, generators::header_lookup(headers))
}

/// When a timestamped signature stops being accepted (the scheme's
/// tolerance after the timestamp it carries, in a header like Standard
/// Webhooks' `webhook-timestamp` or in the value like Stripe's `t=`), and
/// what to use then.
fn expiry(
    scheme: &generators::Scheme,
    secret: &generators::Secret,
    headers: &[(String, String)],
) -> Option<String> {
    let tolerance = scheme.declared()?.timestamp.as_ref()?.tolerance_secs?;
    let lookup = generators::header_lookup(headers);
    let ts = generators::Verifier::new(scheme, secret)
        .ok()?
        .claimed_timestamp(&lookup)?;
    let at = std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(ts + tolerance).ok()?);
    Some(format!(
        "signed at timestamp {ts}: receivers reject this curl line as stale after {}; \
         `hookstorm replay REPORT_DIR {{finding}}` re-sends it with a fresh id, timestamp and signature",
        reports::report::rfc3339(at)
    ))
}

/// Replaces bearer tokens (which *are* the secret) with `<redacted>`. HMAC
/// signatures stay: they are derived from the secret, do not reveal it, and
/// keep the `curl` line reproducing the exact request.
pub fn redact(headers: &[(String, String)]) -> Vec<(String, String)> {
    reports::redact_headers(headers, &["authorization"])
}

/// Builds the result of one check on one event type: judges each probe by
/// the level table, records what did not simply pass as findings, and
/// finishes into a `CheckResult` whose level is the most severe it saw.
///
/// ```ignore
/// let mut v = ResultBuilder::new(CheckId::RejectsInvalid, &ty.name);
/// let probe = ctx.send(ty, "malformed-json", headers, body).await;
/// v.judge(ctx, &probe, "invalid form `malformed-json`");
/// // or, for what only the ledger shows:
/// v.judge_seen(ctx, &probe, Seen::ProcessedTwice, "event processed 2 times");
/// v.finish()
/// ```
pub struct ResultBuilder {
    id: CheckId,
    event_type: String,
    cases: u32,
    worst: Option<(Level, String)>,
    skip: Option<String>,
    started: Instant,
}

impl ResultBuilder {
    /// Starts a result for `id` on `event_type`.
    pub fn new(id: CheckId, event_type: &str) -> ResultBuilder {
        ResultBuilder {
            id,
            event_type: event_type.to_string(),
            cases: 0,
            worst: None,
            skip: None,
            started: Instant::now(),
        }
    }

    /// Judges `probe`'s answer by the table; `what` names the probe in the
    /// message (`invalid form \`empty-body\``). Returns the level.
    pub fn judge(&mut self, ctx: &Context, probe: &Probe, what: impl AsRef<str>) -> Level {
        let seen = ctx.seen(probe);
        self.judge_seen(ctx, probe, seen, what)
    }

    /// Judges what the check itself saw for `probe` (a ledger reading, a
    /// response body) by the table.
    pub fn judge_seen(
        &mut self,
        ctx: &Context,
        probe: &Probe,
        seen: Seen,
        what: impl AsRef<str>,
    ) -> Level {
        let (level, why) = levels::judge(self.id, &probe.variant, seen);
        self.cases += 1;
        if probe.not_sent {
            // Nothing happened to reproduce: the result says why, the
            // report's `stopped` says what stopped the run.
            let reason = ctx.stopped().unwrap_or_else(|| "the run stopped".into());
            self.note(level, format!("{}: not sent ({reason})", what.as_ref()));
        } else if level.is_finding() {
            let message = format!("{}: {} — {why}", what.as_ref(), outcome_of(probe, seen));
            ctx.observe(self.id, probe, seen, level, message.clone());
            self.note(level, message);
        } else if level == Level::Pass {
            self.note(level, String::new());
        }
        level
    }

    /// Records a case that held without a probe of its own.
    pub fn pass(&mut self) {
        self.cases += 1;
        self.note(Level::Pass, String::new());
    }

    fn note(&mut self, level: Level, message: String) {
        if self.worst.as_ref().is_none_or(|(w, _)| level > *w) {
            self.worst = Some((level, message));
        }
    }

    /// The ledger was configured but could not be read: the effect checks
    /// cannot judge, and a gate must not pass on that, so the result is an
    /// ERROR (a skip would pass the run). The one place this is decided.
    pub fn ledger_unreadable(&mut self, ctx: &Context, err: &anyhow::Error) {
        let source = match &ctx.plan.ledger {
            Some(crate::ledger::LedgerSource::Url(url)) => url.url(),
            // A command may hold credentials: it is not repeated here.
            _ => "--ledger-cmd".into(),
        };
        // The URL and the error may carry the ledger's credentials.
        self.unjudged(crate::secret::blank_userinfo(&format!(
            "the configured ledger could not be read ({source}): {err:#}"
        )));
    }

    /// Records that the check could not be judged (an ERROR: the harness
    /// got nothing to judge by), with why.
    pub fn unjudged(&mut self, why: String) {
        self.cases += 1;
        self.note(Level::Error, why);
    }

    /// Marks the result skipped, unless something worse than a pass was
    /// recorded.
    pub fn skip(&mut self, reason: impl Into<String>) {
        self.skip = Some(reason.into());
    }

    /// Whether anything at or above NON-STRICT was recorded (the check may
    /// not go on to judge effects of deliveries that were not acknowledged).
    pub fn has_failed(&self) -> bool {
        self.worst
            .as_ref()
            .is_some_and(|(l, _)| *l >= Level::NonStrict)
    }

    /// The finished result.
    pub fn finish(self) -> CheckResult {
        let (level, reason) = match (self.worst, self.skip) {
            (Some((level, message)), _) if level > Level::Pass => (level, Some(message)),
            (_, Some(reason)) => (Level::Skipped, Some(reason)),
            (Some((Level::Pass, _)), None) => (Level::Pass, None),
            _ => (
                Level::Skipped,
                Some("nothing to check for this type".into()),
            ),
        };
        CheckResult {
            id: self.id.to_string(),
            event_type: self.event_type,
            rule: self.id.rule().to_string(),
            description: self.id.description().to_string(),
            level,
            reason,
            findings: Vec::new(),
            cases: self.cases,
            duration_ms: self.started.elapsed().as_millis() as u64,
        }
    }
}

/// The outcome as a message says it: what the ledger showed, or the answer.
fn outcome_of(probe: &Probe, seen: Seen) -> String {
    match seen {
        Seen::Processed => format!(
            "{}, and the ledger shows it processed",
            probe.outcome_text()
        ),
        Seen::ProcessedTwice => "the ledger shows it processed more than once".into(),
        Seen::OutOfOrder => "the ledger breaks the declared order".into(),
        Seen::Lost => "acknowledged, but missing from the ledger".into(),
        Seen::InvalidAnswer => format!(
            "{} with a body the response schema refuses",
            probe.outcome_text()
        ),
        Seen::WrongAnswer => format!(
            "{} without the answer the sender checks for",
            probe.outcome_text()
        ),
        Seen::Late => format!(
            "{} (deadline {} ms)",
            probe.outcome_text(),
            probe.deadline.as_millis()
        ),
        _ => probe.outcome_text(),
    }
}

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
    let signer = Signer::new(plan.provider.scheme(), &plan.secret)
        .map_err(|e| usage(format!("{e}")))?
        .at_url(&plan.target.url());
    plan.target.check_credentials_fit(plan.provider.scheme())?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_values_are_redacted_whole_unless_they_name_a_scheme() {
        let headers = |v: &str| vec![("Authorization".to_string(), v.to_string())];
        assert_eq!(redact(&headers("Bearer s3cret"))[0].1, "Bearer <redacted>");
        // Okta sends the configured value verbatim: all of it is the secret.
        assert_eq!(redact(&headers("s3cret"))[0].1, "<redacted>");
        let other = vec![("x-sig".to_string(), "abc".to_string())];
        assert_eq!(redact(&other), other);
    }

    #[test]
    fn timestamped_repros_say_when_they_expire_and_point_to_replay() {
        let headers = vec![
            ("webhook-id".to_string(), "msg_1".to_string()),
            ("webhook-timestamp".to_string(), "1795451193".to_string()),
        ];
        let scheme = generators::Scheme::standard_webhooks();
        let secret =
            generators::Secret::new("whsec_aG9va3N0b3JtLWRlbW8tc2VjcmV0LTMyLWJ5dGVzISE=".into());
        let note = expiry(&scheme, &secret, &headers).unwrap();
        assert!(
            note.contains("2026-11-23T16:31:33Z"),
            "300 s after signing: {note}"
        );
        assert!(
            note.contains("hookstorm replay REPORT_DIR {finding}"),
            "{note}"
        );
        assert_eq!(
            expiry(&scheme, &secret, &headers[..1]),
            None,
            "no timestamp, no expiry"
        );
        // Authgear's scheme carries no timestamp at all.
        let authgear = generators::ProviderId::Authgear.profile().scheme;
        assert_eq!(expiry(&authgear, &secret, &headers), None);
    }
}
