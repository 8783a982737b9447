//! The [`Context`] the checks share during one run: the RNG, signing and
//! batching, the in-flight permits, the stop rules, the journal of every
//! exchange and the findings; a [`Probe`] is one exchange.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use generators::{EventType, Generator, Profile, Signer};
use reports::{Finding, Level, RequestSummary};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::client::{Client, Response, SendError};
use crate::clock::{now_unix, now_unix_ms};
use crate::header_case::HeaderCase;
use crate::ledger::LedgerEntry;

use super::{CheckId, CheckPlan, Seen};

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
    pub(super) journal: Mutex<BTreeMap<String, Vec<Probe>>>,
    /// Every probe that did not simply pass, before grouping.
    pub(super) observed: Mutex<Vec<Finding>>,
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
    pub(super) fn new(mut plan: CheckPlan, signer: Signer, client: Client) -> Context {
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
    pub(super) fn observe(
        &self,
        check: CheckId,
        probe: &Probe,
        seen: Seen,
        level: Level,
        message: String,
    ) {
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
        let body = self.scrub(probe, &String::from_utf8_lossy(body));
        reports::excerpt(body.as_bytes(), 300)
    }

    /// `text` taken from (or quoting) the receiver's answer to `probe`,
    /// with every secret the request carried redacted: the shared secret,
    /// its Authorization tokens and the target's Basic credentials. The
    /// one redaction every answer text goes through before it is stored
    /// or printed (excerpts, messages, reasons).
    pub(super) fn scrub(&self, probe: &Probe, text: &str) -> String {
        let secrets = crate::secret::authorization_tokens(&probe.headers)
            .chain([self.plan.secret.expose()])
            .chain(self.plan.target.credentials.as_ref().map(|c| c.token()));
        crate::secret::scrub(text, secrets)
    }

    /// The probes journaled so far for `type_name`.
    pub(super) fn journal_of(&self, type_name: &str) -> Vec<Probe> {
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
