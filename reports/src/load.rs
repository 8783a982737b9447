//! `LoadStats`: the `Recorder` a load run fills — overall latency and
//! service-time HDR histograms, per-event-type histograms and counts, raw
//! status counts, transport error counts, a per-second timeline, the
//! requests the emitter could not send on time, and the generator's own
//! hiccups (how late its timer woke: stalls of the load machine itself) —
//! plus its exact merge and its JSON form (histograms as base64
//! HdrHistogram V2 deflate).
//!
//! Recording touches only preallocated memory: statuses index a fixed table,
//! error kinds a fixed array, and the timeline a `Vec` indexed by second
//! (which grows, and allocates a histogram, once per new second, never per
//! sample; `reserve_timeline` moves even that before the clock starts).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::histogram::{self, HistogramError, SIGFIG, TIMELINE_SIGFIG};
use crate::record::{ErrorKind, Outcome, Recorder, Sample};

/// Status codes are counted in a table indexed by code; HTTP codes have three
/// digits, so anything above is clamped into the last slot instead of
/// growing the table from untrusted input.
const STATUS_SLOTS: usize = 1_000;

/// The longest response excerpt kept per failing status code, bytes.
pub const EXCERPT_BYTES: usize = 120;

/// The timeline stops growing after a week of seconds: a sample claiming a
/// later `at_ms` (a clock bug, hostile input) lands in the last second rather
/// than allocating without bound.
pub const MAX_TIMELINE_SECONDS: usize = 7 * 24 * 3_600;

/// Why two `LoadStats` could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A histogram addition failed (different bounds or precision).
    #[error("cannot add the {what} histograms: {detail}")]
    Histogram {
        /// Which histogram.
        what: String,
        /// What the histogram library reported.
        detail: String,
    },
    /// The merged run would have more event types than a `Sample` can index.
    #[error("merged run has {count} event types; at most {max} are supported", max = u16::MAX as usize + 1)]
    TooManyTypes {
        /// How many types the merge would need.
        count: usize,
    },
}

/// Counts and latency of one event type.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeStats {
    /// Requests sent for this type.
    pub requests: u64,
    /// Requests that ended in a transport error or a status >= 400.
    pub failures: u64,
    /// Latency (from the intended send time) of this type, in microseconds.
    pub latency: Histogram<u64>,
}

impl TypeStats {
    fn new() -> TypeStats {
        TypeStats {
            requests: 0,
            failures: 0,
            latency: histogram::latency_histogram(),
        }
    }
}

/// One second of the run, by intended send time.
#[derive(Clone, Debug, Default)]
pub struct Second {
    /// Requests intended in this second.
    pub requests: u64,
    /// Of those, transport errors or statuses >= 400.
    pub failures: u64,
    /// Their latency (2 significant digits); `None` until the first sample.
    pub latency: Option<Histogram<u64>>,
}

impl Second {
    fn is_empty(&self) -> bool {
        self.requests == 0 && self.latency.as_ref().is_none_or(Histogram::is_empty)
    }
}

/// A reserved histogram that received nothing equals one never allocated:
/// reservation is a speed concern, not a measurement.
impl PartialEq for Second {
    fn eq(&self, other: &Second) -> bool {
        self.requests == other.requests
            && self.failures == other.failures
            && match (&self.latency, &other.latency) {
                (Some(a), Some(b)) => a == b,
                (Some(h), None) | (None, Some(h)) => h.is_empty(),
                (None, None) => true,
            }
    }
}

/// Aggregated measurements of a load run; see the module docs.
///
/// Equality compares measurements: seconds reserved but never used do not
/// make two stats differ.
#[derive(Clone, Debug)]
pub struct LoadStats {
    /// Event type names; `Sample::type_index` indexes this list.
    pub type_names: Vec<String>,
    latency: Histogram<u64>,
    service: Histogram<u64>,
    types: Vec<TypeStats>,
    status: Vec<u64>,
    error_kinds: [u64; ErrorKind::ALL.len()],
    timeline: Vec<Second>,
    /// Requests sent, but later than their intended time (already among
    /// the recorded requests).
    late: u64,
    /// Requests due that were never sent (not among the recorded requests).
    unsent: u64,
    /// How late the generator's timer naps woke, µs (see [`LoadStats::hiccups`]).
    hiccups: Histogram<u64>,
    /// The start of the first response body seen per failing status code:
    /// what a 401 or a 500 said (one per code, so bounded by the codes).
    excerpts: BTreeMap<u16, String>,
    window_us: Option<u64>,
    started_unix_ms: Option<u64>,
    ended_unix_ms: Option<u64>,
    target_rate: Option<f64>,
    /// Events sent, when requests carry several (a batching provider's
    /// batches); `None`: one event per request.
    events: Option<u64>,
}

impl LoadStats {
    /// Empty statistics for a run over these event types.
    pub fn new(type_names: Vec<String>) -> LoadStats {
        let types = type_names.iter().map(|_| TypeStats::new()).collect();
        LoadStats {
            type_names,
            latency: histogram::latency_histogram(),
            service: histogram::latency_histogram(),
            types,
            status: vec![0; STATUS_SLOTS],
            error_kinds: [0; ErrorKind::ALL.len()],
            timeline: Vec::new(),
            late: 0,
            unsent: 0,
            hiccups: histogram::latency_histogram(),
            excerpts: BTreeMap::new(),
            window_us: None,
            started_unix_ms: None,
            ended_unix_ms: None,
            target_rate: None,
            events: None,
        }
    }

    /// Preallocates the timeline for a run of `duration`, so that recording
    /// never allocates while the clock runs.
    pub fn reserve_timeline(&mut self, duration: Duration) {
        let seconds = (duration.as_secs() as usize + 1).min(MAX_TIMELINE_SECONDS);
        if self.timeline.len() < seconds {
            self.timeline.resize_with(seconds, Second::default);
        }
        for second in &mut self.timeline {
            if second.latency.is_none() {
                second.latency = Some(histogram::timeline_histogram());
            }
        }
    }

    /// Adds `other` into `self` exactly: histograms add bucket by bucket,
    /// counts add, types are matched by name (new names are appended), the
    /// timeline adds second by second. Shards run side by side, so the merged
    /// window is the longest one, the target rates add, and the wall-clock
    /// span covers both.
    pub fn merge(&mut self, other: &LoadStats) -> Result<(), MergeError> {
        self.add_counts(other)?;
        self.add_timeline(other, 0)?;
        self.window_us = max_opt(self.window_us, other.window_us);
        self.target_rate = match (self.target_rate, other.target_rate) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        Ok(())
    }

    /// Everything [`merge`](Self::merge) adds but the timeline, the window
    /// and the target rate (which side-by-side and successive runs combine
    /// differently).
    fn add_counts(&mut self, other: &LoadStats) -> Result<(), MergeError> {
        // Counted before the requests add up: a side without batches sent
        // one event per request.
        let events = (self.events.is_some() || other.events.is_some())
            .then(|| self.events() + other.events());
        let mut mapping = Vec::with_capacity(other.type_names.len());
        for name in &other.type_names {
            let index = match self.type_names.iter().position(|n| n == name) {
                Some(i) => i,
                None => {
                    self.type_names.push(name.clone());
                    self.type_names.len() - 1
                }
            };
            mapping.push(index);
        }
        if self.type_names.len() > u16::MAX as usize + 1 {
            return Err(MergeError::TooManyTypes {
                count: self.type_names.len(),
            });
        }
        while self.types.len() < self.type_names.len() {
            self.types.push(TypeStats::new());
        }
        add(&mut self.latency, &other.latency, "latency")?;
        add(&mut self.service, &other.service, "service")?;
        for (from, &to) in other.types.iter().zip(&mapping) {
            let into = &mut self.types[to];
            into.requests += from.requests;
            into.failures += from.failures;
            add(&mut into.latency, &from.latency, "per-type latency")?;
        }
        for (into, from) in self.status.iter_mut().zip(&other.status) {
            *into += from;
        }
        for (into, from) in self.error_kinds.iter_mut().zip(&other.error_kinds) {
            *into += from;
        }
        self.late += other.late;
        self.unsent += other.unsent;
        self.add_hiccups(&other.hiccups)?;
        for (code, text) in &other.excerpts {
            self.excerpts.entry(*code).or_insert_with(|| text.clone());
        }
        self.started_unix_ms = match (self.started_unix_ms, other.started_unix_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.ended_unix_ms = max_opt(self.ended_unix_ms, other.ended_unix_ms);
        self.events = events;
        Ok(())
    }

    /// Adds `other`, a run that started after this one (the next load step
    /// of a scenario): counts and histograms add as in [`merge`](Self::merge),
    /// but `other`'s timeline is placed at its own start (the seconds
    /// between the two starts, or after this timeline when either start is
    /// unknown), the sending windows add, and the target rate is cleared
    /// (the runs may have had different ones).
    pub fn append(&mut self, other: &LoadStats) -> Result<(), MergeError> {
        let offset = match (self.started_unix_ms, other.started_unix_ms) {
            (Some(a), Some(b)) if b >= a => ((b - a) / 1_000) as usize,
            _ => self.timeline().len(),
        };
        self.add_counts(other)?;
        self.add_timeline(other, offset)?;
        self.window_us = match (self.window_us, other.window_us) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.target_rate = None;
        Ok(())
    }

    /// Adds `other`'s timeline into this one, `offset` seconds later
    /// (capped, like recording, at [`MAX_TIMELINE_SECONDS`]).
    fn add_timeline(&mut self, other: &LoadStats, offset: usize) -> Result<(), MergeError> {
        for (i, from) in other.timeline.iter().enumerate() {
            let index = (offset + i).min(MAX_TIMELINE_SECONDS - 1);
            if index >= self.timeline.len() {
                self.timeline.resize_with(index + 1, Second::default);
            }
            let into = &mut self.timeline[index];
            into.requests += from.requests;
            into.failures += from.failures;
            if let Some(h) = &from.latency {
                match &mut into.latency {
                    Some(mine) => add(mine, h, "timeline latency")?,
                    None => into.latency = Some(h.clone()),
                }
            }
        }
        Ok(())
    }

    /// Counts `n` requests that were sent, but later than intended (each is
    /// also recorded as a sample).
    pub fn count_late(&mut self, n: u64) {
        self.late += n;
    }

    /// Counts `n` requests that were due but never sent (no sample).
    pub fn count_unsent(&mut self, n: u64) {
        self.unsent += n;
    }

    /// Records that the run's requests carried `n` events in all (a
    /// batching provider); without it, each request is one event.
    pub fn set_events(&mut self, n: u64) {
        self.events = Some(n);
    }

    /// Events sent: the requests, unless they carried batches.
    pub fn events(&self) -> u64 {
        self.events.unwrap_or_else(|| self.requests())
    }

    /// Whether the requests carried batches of events.
    pub fn batched(&self) -> bool {
        self.events.is_some()
    }

    /// Events per second sent, over the window of
    /// [`achieved_rate`](Self::achieved_rate): equal to it unless the
    /// requests carried batches.
    pub fn events_rate(&self) -> f64 {
        match self.requests() {
            0 => 0.0,
            n => self.achieved_rate() * self.events() as f64 / n as f64,
        }
    }

    /// Sets the measured duration of the run, used for the achieved rate.
    pub fn set_window(&mut self, duration: Duration) {
        self.window_us = Some(duration.as_micros().min(u64::MAX as u128) as u64);
    }

    /// Records the wall-clock start of the run.
    pub fn set_started(&mut self, at: SystemTime) {
        self.started_unix_ms = Some(unix_ms(at));
    }

    /// Records the wall-clock end of the run.
    pub fn set_ended(&mut self, at: SystemTime) {
        self.ended_unix_ms = Some(unix_ms(at));
    }

    /// Sets the arrival rate the run asked for (requests per second).
    pub fn set_target_rate(&mut self, rate: Option<f64>) {
        self.target_rate = rate;
    }

    /// Requests sent (every recorded sample).
    pub fn requests(&self) -> u64 {
        self.latency.len()
    }

    /// Requests that ended in a transport error (no HTTP status).
    pub fn errors(&self) -> u64 {
        self.error_kinds.iter().sum()
    }

    /// Share of requests that did not succeed: transport errors plus
    /// statuses >= 400, over all requests (0 when nothing was sent).
    pub fn error_rate(&self) -> f64 {
        self.error_rate_with(|status| status < 400)
    }

    /// Share of requests that did not succeed, where `success` decides which
    /// statuses count as success (Standard Webhooks: 2xx only; Infrahub:
    /// < 400). Transport errors always count as failures.
    pub fn error_rate_with(&self, success: impl Fn(u16) -> bool) -> f64 {
        let total = self.requests();
        if total == 0 {
            return 0.0;
        }
        self.failed_with(success) as f64 / total as f64
    }

    /// Requests that did not succeed: transport errors plus the statuses
    /// `success` rejects.
    pub fn failed_with(&self, success: impl Fn(u16) -> bool) -> u64 {
        let bad_status: u64 = self
            .statuses()
            .filter(|(code, _)| !success(*code))
            .map(|(_, n)| n)
            .sum();
        self.errors() + bad_status
    }

    /// Requests answered with a status `success` accepts: every sent
    /// request is either delivered or failed.
    pub fn delivered_with(&self, success: impl Fn(u16) -> bool) -> u64 {
        self.statuses()
            .filter(|(code, _)| success(*code))
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests per second actually sent: requests over the measured window,
    /// or over the timeline's span when no window was set.
    pub fn achieved_rate(&self) -> f64 {
        let seconds = match self.window_us {
            Some(us) if us > 0 => us as f64 / 1_000_000.0,
            _ => self.timeline().len() as f64,
        };
        if seconds <= 0.0 {
            0.0
        } else {
            self.requests() as f64 / seconds
        }
    }

    /// Latency from the intended send time (coordinated-omission free), µs.
    pub fn latency(&self) -> &Histogram<u64> {
        &self.latency
    }

    /// Service time from the actual send, µs.
    pub fn service(&self) -> &Histogram<u64> {
        &self.service
    }

    /// Requests the emitter could not send on time: sent late, or never.
    pub fn missed(&self) -> u64 {
        self.late + self.unsent
    }

    /// Requests due that were never sent.
    pub fn unsent(&self) -> u64 {
        self.unsent
    }

    /// The generator's hiccups, µs: how much later than asked a thread of
    /// the load generator woke from its naps during the run (jHiccup's
    /// measure). They are stalls of the load machine itself (a descheduled
    /// VM, CPU contention, swapping), and every request due during one is
    /// delayed by it too: a latency tail no longer than the longest hiccup
    /// may be the generator's, not the receiver's. Empty when not measured.
    pub fn hiccups(&self) -> &Histogram<u64> {
        &self.hiccups
    }

    /// Whether a response excerpt is kept for `status` (asked before
    /// [`note_excerpt`](Self::note_excerpt), so the hot path copies no body
    /// once a code has one).
    pub fn has_excerpt(&self, status: u16) -> bool {
        self.excerpts.contains_key(&status)
    }

    /// Keeps the start of `body` as the excerpt of `status`, unless one is
    /// kept already.
    pub fn note_excerpt(&mut self, status: u16, body: &[u8]) {
        self.excerpts
            .entry(status)
            .or_insert_with(|| crate::report::excerpt(body, EXCERPT_BYTES));
    }

    /// The kept excerpt of `status`'s responses.
    pub fn excerpt(&self, status: u16) -> Option<&str> {
        self.excerpts.get(&status).map(String::as_str)
    }

    /// Adds measured hiccups (µs, in a histogram of the same bounds).
    pub fn add_hiccups(&mut self, hiccups: &Histogram<u64>) -> Result<(), MergeError> {
        add(&mut self.hiccups, hiccups, "hiccups")
    }

    /// Missed requests over all intended requests. Those intended are the
    /// ones sent plus the ones never sent; a late request is already among
    /// those sent, so it counts once (in `missed`), not again in the
    /// denominator.
    pub fn missed_rate(&self) -> f64 {
        let intended = self.requests() + self.unsent;
        if intended == 0 {
            0.0
        } else {
            (self.missed() as f64 / intended as f64).min(1.0)
        }
    }

    /// The measured window, when set.
    pub fn window(&self) -> Option<Duration> {
        self.window_us.map(Duration::from_micros)
    }

    /// Wall-clock start, milliseconds since the UNIX epoch.
    pub fn started_unix_ms(&self) -> Option<u64> {
        self.started_unix_ms
    }

    /// Wall-clock end, milliseconds since the UNIX epoch.
    pub fn ended_unix_ms(&self) -> Option<u64> {
        self.ended_unix_ms
    }

    /// The requested arrival rate, when the run had one.
    pub fn target_rate(&self) -> Option<f64> {
        self.target_rate
    }

    /// Per-type statistics with their names, in type order.
    pub fn types(&self) -> impl Iterator<Item = (&str, &TypeStats)> {
        self.type_names
            .iter()
            .map(String::as_str)
            .zip(self.types.iter())
    }

    /// `(status, count)` for every status seen, ascending.
    pub fn statuses(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.status
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(code, n)| (code as u16, *n))
    }

    /// `(kind, count)` for every transport error kind seen, in report order.
    pub fn error_kinds(&self) -> impl Iterator<Item = (ErrorKind, u64)> + '_ {
        ErrorKind::ALL
            .iter()
            .zip(self.error_kinds.iter())
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| (*k, *n))
    }

    /// The per-second timeline, index = second since the start, up to the
    /// last second that saw a request (reserved seconds after it are hidden).
    pub fn timeline(&self) -> &[Second] {
        let used = self
            .timeline
            .iter()
            .rposition(|s| !s.is_empty())
            .map_or(0, |i| i + 1);
        &self.timeline[..used]
    }
}

impl PartialEq for LoadStats {
    fn eq(&self, other: &LoadStats) -> bool {
        self.type_names == other.type_names
            && self.latency == other.latency
            && self.service == other.service
            && self.types == other.types
            && self.status == other.status
            && self.error_kinds == other.error_kinds
            && self.timeline() == other.timeline()
            && self.late == other.late
            && self.unsent == other.unsent
            && self.hiccups == other.hiccups
            && self.excerpts == other.excerpts
            && self.window_us == other.window_us
            && self.started_unix_ms == other.started_unix_ms
            && self.ended_unix_ms == other.ended_unix_ms
            && self.target_rate == other.target_rate
            && self.events == other.events
    }
}

impl Recorder for LoadStats {
    fn record(&mut self, sample: &Sample) {
        self.latency.saturating_record(sample.latency_us);
        self.service.saturating_record(sample.service_us);
        let failed = match sample.outcome {
            Outcome::Status(code) => {
                self.status[(code as usize).min(STATUS_SLOTS - 1)] += 1;
                code >= 400
            }
            Outcome::Error(kind) => {
                self.error_kinds[kind as usize] += 1;
                true
            }
        };
        if let Some(t) = self.types.get_mut(sample.type_index as usize) {
            t.requests += 1;
            t.failures += u64::from(failed);
            t.latency.saturating_record(sample.latency_us);
        }
        let index = ((sample.at_ms / 1_000) as usize).min(MAX_TIMELINE_SECONDS - 1);
        if index >= self.timeline.len() {
            self.timeline.resize_with(index + 1, Second::default);
        }
        let second = &mut self.timeline[index];
        second.requests += 1;
        second.failures += u64::from(failed);
        second
            .latency
            .get_or_insert_with(histogram::timeline_histogram)
            .saturating_record(sample.latency_us);
    }
}

fn add(into: &mut Histogram<u64>, from: &Histogram<u64>, what: &str) -> Result<(), MergeError> {
    into.add(from).map_err(|e| MergeError::Histogram {
        what: what.to_string(),
        detail: format!("{e:?}"),
    })
}

fn max_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis().min(u64::MAX as u128) as u64)
        .unwrap_or(0)
}

/// The JSON form: counts in the clear for `jq` users, histograms encoded.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    type_names: Vec<String>,
    requests: u64,
    errors: u64,
    missed: u64,
    /// Of `missed`, the requests never sent. Absent in reports of versions
    /// that did not tell them apart: all of `missed` is then read as
    /// unsent (their reading).
    #[serde(default)]
    unsent: Option<u64>,
    #[serde(default)]
    window_us: Option<u64>,
    #[serde(default)]
    started_unix_ms: Option<u64>,
    #[serde(default)]
    ended_unix_ms: Option<u64>,
    #[serde(default)]
    target_rate: Option<f64>,
    latency: String,
    service: String,
    types: Vec<TypeWire>,
    status: BTreeMap<String, u64>,
    error_kinds: BTreeMap<ErrorKind, u64>,
    timeline: Vec<SecondWire>,
    /// Absent in reports of versions that did not measure hiccups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hiccups: Option<String>,
    /// Per failing status code, the start of the first body seen.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    excerpts: BTreeMap<String, String>,
    /// Events sent, present only when requests carried batches of them
    /// (absent: one event per request, as `requests`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    events: Option<u64>,
    /// Events per second sent, beside `events` (derived: read back from
    /// `events` and the window, not from here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    events_per_second: Option<f64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeWire {
    name: String,
    requests: u64,
    failures: u64,
    latency: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecondWire {
    second: u64,
    requests: u64,
    failures: u64,
    latency: String,
}

impl Wire {
    fn from_stats(stats: &LoadStats) -> Result<Wire, HistogramError> {
        let mut types = Vec::with_capacity(stats.types.len());
        for (name, t) in stats.types() {
            types.push(TypeWire {
                name: name.to_string(),
                requests: t.requests,
                failures: t.failures,
                latency: histogram::encode(&t.latency)?,
            });
        }
        let mut timeline = Vec::new();
        for (i, s) in stats.timeline().iter().enumerate() {
            // Empty seconds (reserved but unused, or gaps) are implied by the
            // indices of the ones written.
            if let (Some(h), false) = (&s.latency, s.is_empty()) {
                timeline.push(SecondWire {
                    second: i as u64,
                    requests: s.requests,
                    failures: s.failures,
                    latency: histogram::encode(h)?,
                });
            }
        }
        Ok(Wire {
            type_names: stats.type_names.clone(),
            requests: stats.requests(),
            errors: stats.errors(),
            missed: stats.missed(),
            unsent: Some(stats.unsent),
            window_us: stats.window_us,
            started_unix_ms: stats.started_unix_ms,
            ended_unix_ms: stats.ended_unix_ms,
            target_rate: stats.target_rate,
            latency: histogram::encode(&stats.latency)?,
            service: histogram::encode(&stats.service)?,
            types,
            status: stats
                .statuses()
                .map(|(code, n)| (code.to_string(), n))
                .collect(),
            error_kinds: stats.error_kinds().collect(),
            timeline,
            hiccups: if stats.hiccups.is_empty() {
                None
            } else {
                Some(histogram::encode(&stats.hiccups)?)
            },
            excerpts: stats
                .excerpts
                .iter()
                .map(|(code, text)| (code.to_string(), text.clone()))
                .collect(),
            events: stats.events,
            events_per_second: stats.batched().then(|| stats.events_rate()),
        })
    }

    fn into_stats(self) -> Result<LoadStats, String> {
        let mut stats = LoadStats::new(self.type_names);
        stats.latency =
            histogram::decode(&self.latency, SIGFIG).map_err(|e| format!("latency: {e}"))?;
        stats.service =
            histogram::decode(&self.service, SIGFIG).map_err(|e| format!("service: {e}"))?;
        if stats.latency.len() != self.requests {
            return Err(format!(
                "requests is {} but the latency histogram holds {} values",
                self.requests,
                stats.latency.len()
            ));
        }
        for t in self.types {
            let Some(i) = stats.type_names.iter().position(|n| *n == t.name) else {
                return Err(format!(
                    "types names {:?}, which is not in type_names",
                    t.name
                ));
            };
            stats.types[i] = TypeStats {
                requests: t.requests,
                failures: t.failures,
                latency: histogram::decode(&t.latency, SIGFIG)
                    .map_err(|e| format!("type {}: {e}", t.name))?,
            };
        }
        for (code, n) in self.status {
            let slot: usize = code
                .parse()
                .ok()
                .filter(|c| *c < STATUS_SLOTS)
                .ok_or_else(|| format!("status {code:?} is not an HTTP status code"))?;
            stats.status[slot] = n;
        }
        for (kind, n) in self.error_kinds {
            stats.error_kinds[kind as usize] = n;
        }
        if stats.errors() != self.errors {
            return Err(format!(
                "errors is {} but error_kinds add up to {}",
                self.errors,
                stats.errors()
            ));
        }
        for s in self.timeline {
            let index = usize::try_from(s.second)
                .ok()
                .filter(|i| *i < MAX_TIMELINE_SECONDS)
                .ok_or_else(|| format!("timeline second {} is out of range", s.second))?;
            if index >= stats.timeline.len() {
                stats.timeline.resize_with(index + 1, Second::default);
            }
            stats.timeline[index] = Second {
                requests: s.requests,
                failures: s.failures,
                latency: Some(
                    histogram::decode(&s.latency, TIMELINE_SIGFIG)
                        .map_err(|e| format!("timeline second {}: {e}", s.second))?,
                ),
            };
        }
        let unsent = self.unsent.unwrap_or(self.missed);
        if unsent > self.missed {
            return Err(format!(
                "unsent is {unsent} but missed (late + unsent) is only {}",
                self.missed
            ));
        }
        let late = self.missed - unsent;
        if late > self.requests {
            return Err(format!(
                "{late} requests were sent late but only {} were sent",
                self.requests
            ));
        }
        stats.late = late;
        stats.unsent = unsent;
        stats.events = self.events;
        if let Some(h) = &self.hiccups {
            stats.hiccups = histogram::decode(h, SIGFIG).map_err(|e| format!("hiccups: {e}"))?;
        }
        for (code, text) in self.excerpts {
            let code: u16 = code
                .parse()
                .ok()
                .filter(|c| usize::from(*c) < STATUS_SLOTS)
                .ok_or_else(|| format!("excerpt of {code:?}, which is not an HTTP status code"))?;
            stats.excerpts.insert(code, text);
        }
        stats.window_us = self.window_us;
        stats.started_unix_ms = self.started_unix_ms;
        stats.ended_unix_ms = self.ended_unix_ms;
        stats.target_rate = self.target_rate;
        Ok(stats)
    }
}

impl Serialize for LoadStats {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire::from_stats(self)
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for LoadStats {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<LoadStats, D::Error> {
        Wire::deserialize(deserializer)?
            .into_stats()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn events_are_requests_unless_requests_carried_batches() {
        let mut plain = LoadStats::new(vec!["a".into()]);
        for i in 0..10 {
            plain.record(&Sample {
                type_index: 0,
                latency_us: 100,
                service_us: 90,
                outcome: Outcome::Status(200),
                at_ms: i * 100,
            });
        }
        plain.set_window(Duration::from_secs(2));
        assert!(!plain.batched());
        assert_eq!(plain.events(), 10);
        assert_eq!(plain.events_rate(), plain.achieved_rate());
        let json = serde_json::to_value(&plain).unwrap();
        assert!(json.get("events").is_none(), "unchanged without batches");

        let mut batched = plain.clone();
        batched.set_events(200);
        assert_eq!(batched.events_rate(), 100.0);
        let json = serde_json::to_value(&batched).unwrap();
        assert_eq!(json["events"], 200);
        assert_eq!(json["events_per_second"], 100.0);
        let back: LoadStats = serde_json::from_value(json).unwrap();
        assert_eq!(back, batched);

        // Merged with a run that did not batch: its requests were events.
        let mut merged = batched.clone();
        merged.merge(&plain).unwrap();
        assert_eq!(merged.events(), 210);
        let mut both_plain = plain.clone();
        both_plain.merge(&plain).unwrap();
        assert!(!both_plain.batched());
    }

    use super::*;
    use proptest::prelude::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("type.{i}")).collect()
    }

    fn sample(type_index: u16, latency_us: u64, outcome: Outcome, at_ms: u64) -> Sample {
        Sample {
            type_index,
            latency_us,
            service_us: latency_us / 2,
            outcome,
            at_ms,
        }
    }

    fn outcome_strategy() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            prop::sample::select(vec![200u16, 201, 204, 302, 400, 401, 404, 500, 503])
                .prop_map(Outcome::Status),
            prop::sample::select(ErrorKind::ALL.to_vec()).prop_map(Outcome::Error),
        ]
    }

    fn sample_strategy() -> impl Strategy<Value = Sample> {
        (
            0u16..4,
            0u64..70_000_000,
            0u64..70_000_000,
            outcome_strategy(),
            0u64..10_000,
        )
            .prop_map(
                |(type_index, latency_us, service_us, outcome, at_ms)| Sample {
                    type_index,
                    latency_us,
                    service_us,
                    outcome,
                    at_ms,
                },
            )
    }

    /// Every bucket of every histogram, compared explicitly (not only via
    /// `PartialEq`), so a merge bug shows which bucket differs.
    fn assert_buckets_equal(a: &Histogram<u64>, b: &Histogram<u64>, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: count");
        let av: Vec<_> = a
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        let bv: Vec<_> = b
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        assert_eq!(av, bv, "{what}: buckets");
    }

    #[test]
    fn append_places_the_later_run_at_its_own_start() {
        let started = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let run = |start_offset_s: u64, seconds: u64| {
            let mut stats = LoadStats::new(names(1));
            for s in 0..seconds {
                stats.record(&sample(0, 100 + s, Outcome::Status(200), s * 1_000));
            }
            stats.set_started(started + Duration::from_secs(start_offset_s));
            stats.set_window(Duration::from_secs(seconds));
            stats.set_target_rate(Some(1.0));
            stats
        };
        // Two seconds of load, then (after a 3 s wait) two more.
        let mut first = run(0, 2);
        first.append(&run(5, 2)).unwrap();
        let per_second: Vec<u64> = first.timeline().iter().map(|s| s.requests).collect();
        assert_eq!(per_second, vec![1, 1, 0, 0, 0, 1, 1]);
        assert_eq!(first.requests(), 4);
        assert_eq!(first.window(), Some(Duration::from_secs(4)));
        assert_eq!(first.target_rate(), None);
        // Without start times the later run follows the earlier timeline.
        let mut a = LoadStats::new(names(1));
        a.record(&sample(0, 1, Outcome::Status(200), 0));
        let mut b = LoadStats::new(names(1));
        b.record(&sample(0, 1, Outcome::Status(200), 0));
        a.append(&b).unwrap();
        let per_second: Vec<u64> = a.timeline().iter().map(|s| s.requests).collect();
        assert_eq!(per_second, vec![1, 1]);
        // `merge` (side-by-side shards) still overlays.
        let mut c = run(0, 2);
        c.merge(&run(0, 2)).unwrap();
        let per_second: Vec<u64> = c.timeline().iter().map(|s| s.requests).collect();
        assert_eq!(per_second, vec![2, 2]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn merged_shards_equal_one_recorder_of_all_samples(
            samples in prop::collection::vec(sample_strategy(), 0..300),
            shards in 1usize..5,
        ) {
            let mut whole = LoadStats::new(names(4));
            for s in &samples {
                whole.record(s);
            }
            let mut parts: Vec<LoadStats> = (0..shards).map(|_| LoadStats::new(names(4))).collect();
            for (i, s) in samples.iter().enumerate() {
                parts[i % shards].record(s);
            }
            let mut merged = LoadStats::new(names(4));
            for p in &parts {
                merged.merge(p).unwrap();
            }
            prop_assert_eq!(merged.requests(), whole.requests());
            prop_assert_eq!(merged.errors(), whole.errors());
            prop_assert_eq!(merged.error_rate(), whole.error_rate());
            assert_buckets_equal(merged.latency(), whole.latency(), "latency");
            assert_buckets_equal(merged.service(), whole.service(), "service");
            for ((_, a), (_, b)) in merged.types().zip(whole.types()) {
                prop_assert_eq!(a.requests, b.requests);
                prop_assert_eq!(a.failures, b.failures);
                assert_buckets_equal(&a.latency, &b.latency, "per type");
            }
            prop_assert_eq!(merged.statuses().collect::<Vec<_>>(), whole.statuses().collect::<Vec<_>>());
            prop_assert_eq!(merged.error_kinds().collect::<Vec<_>>(), whole.error_kinds().collect::<Vec<_>>());
            prop_assert_eq!(merged.timeline().len(), whole.timeline().len());
            for (a, b) in merged.timeline().iter().zip(whole.timeline()) {
                prop_assert_eq!(a.requests, b.requests);
                prop_assert_eq!(a.failures, b.failures);
                match (&a.latency, &b.latency) {
                    (Some(x), Some(y)) => assert_buckets_equal(x, y, "timeline"),
                    (None, None) => {}
                    _ => prop_assert!(false, "timeline histogram present in one only"),
                }
            }
            prop_assert!(merged == whole);
        }

        /// The accounting identities: every request sent was delivered,
        /// failed or cancelled (with any success rule), every share is within
        /// [0, 100 %], and the same holds for the merge of shards, whose
        /// counts are the sums of the shards'.
        #[test]
        fn accounting_identities_hold_for_runs_and_their_merge(
            samples in prop::collection::vec(sample_strategy(), 0..300),
            late in prop::collection::vec(0u64..50, 1..5),
            unsent in prop::collection::vec(0u64..1_000, 1..5),
        ) {
            let shards = late.len().min(unsent.len());
            let mut parts: Vec<LoadStats> = (0..shards).map(|_| LoadStats::new(names(4))).collect();
            for (i, s) in samples.iter().enumerate() {
                parts[i % shards].record(s);
            }
            for (i, part) in parts.iter_mut().enumerate() {
                // A late request is a sent one: never more late than sent.
                part.count_late(late[i].min(part.requests()));
                part.count_unsent(unsent[i]);
            }
            let mut merged = LoadStats::new(names(4));
            for p in &parts {
                merged.merge(p).unwrap();
            }
            let two_xx = |s: u16| (200..300).contains(&s);
            let below_400 = |s: u16| s < 400;
            for stats in parts.iter().chain([&merged]) {
                // Requests still in flight when a run was stopped are
                // failures of their own kind: sent = delivered + failed +
                // cancelled, with `failed` here the failures that were not
                // cancelled.
                let cancelled = stats
                    .error_kinds()
                    .find(|(k, _)| *k == ErrorKind::Cancelled)
                    .map_or(0, |(_, n)| n);
                for success in [&two_xx as &dyn Fn(u16) -> bool, &below_400] {
                    let failed = stats.failed_with(success);
                    prop_assert!(cancelled <= failed);
                    prop_assert_eq!(
                        stats.requests(),
                        stats.delivered_with(success) + (failed - cancelled) + cancelled
                    );
                    let rate = stats.error_rate_with(success);
                    prop_assert!((0.0..=1.0).contains(&rate), "error rate {}", rate);
                }
                let per_type: u64 = stats.types().map(|(_, t)| t.requests).sum();
                prop_assert_eq!(per_type, stats.requests());
                let per_second: u64 = stats.timeline().iter().map(|s| s.requests).sum();
                prop_assert_eq!(per_second, stats.requests());
                let statuses: u64 = stats.statuses().map(|(_, n)| n).sum();
                prop_assert_eq!(statuses + stats.errors(), stats.requests());
                prop_assert!((0.0..=1.0).contains(&stats.missed_rate()), "missed {}", stats.missed_rate());
                prop_assert!(stats.missed() <= stats.requests() + stats.unsent());
            }
            prop_assert_eq!(merged.requests(), samples.len() as u64);
            prop_assert_eq!(merged.missed(), parts.iter().map(LoadStats::missed).sum::<u64>());
            prop_assert_eq!(merged.unsent(), parts.iter().map(LoadStats::unsent).sum::<u64>());
            prop_assert_eq!(
                merged.delivered_with(below_400),
                parts.iter().map(|p| p.delivered_with(below_400)).sum::<u64>()
            );
        }

        #[test]
        fn json_round_trip_is_exact(samples in prop::collection::vec(sample_strategy(), 0..200)) {
            let mut stats = LoadStats::new(names(4));
            for s in &samples {
                stats.record(s);
            }
            stats.count_late(samples.len().min(2) as u64);
            stats.count_unsent(3);
            stats.set_window(Duration::from_millis(10_500));
            stats.set_target_rate(Some(123.5));
            stats.set_started(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
            let mut hiccups = histogram::latency_histogram();
            for s in &samples {
                hiccups.saturating_record(s.latency_us / 7);
            }
            stats.add_hiccups(&hiccups).unwrap();
            let json = serde_json::to_string(&stats).unwrap();
            let back: LoadStats = serde_json::from_str(&json).unwrap();
            prop_assert!(back == stats);
            prop_assert_eq!(back.hiccups().len(), samples.len() as u64);
        }
    }

    #[test]
    fn one_excerpt_per_code_survives_merge_and_json() {
        let mut a = LoadStats::new(names(1));
        assert!(!a.has_excerpt(401));
        a.note_excerpt(401, br#"{"error":"bad signature"}"#);
        a.note_excerpt(401, b"a later 401 body");
        assert_eq!(a.excerpt(401), Some(r#"{"error":"bad signature"}"#));
        let mut b = LoadStats::new(names(1));
        b.note_excerpt(401, b"other shard");
        b.note_excerpt(500, &[b'x'; 1_000]);
        a.merge(&b).unwrap();
        assert_eq!(a.excerpt(401), Some(r#"{"error":"bad signature"}"#));
        let long = a.excerpt(500).unwrap();
        assert!(
            long.starts_with(&"x".repeat(EXCERPT_BYTES)) && long.len() < 200,
            "{long}"
        );
        let back: LoadStats = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert!(back == a);
        assert_eq!(back.excerpt(500), a.excerpt(500));
    }

    #[test]
    fn a_late_request_counts_once_in_missed() {
        // 200 intended: 95 sent (94 of them late), 105 never sent. 199 of
        // 200 were missed, which is 99.5 %, not 199 / (95 + 199) = 67.7 %.
        let mut stats = LoadStats::new(names(1));
        for i in 0..95 {
            stats.record(&sample(0, 1_000, Outcome::Status(200), i));
        }
        stats.count_late(94);
        stats.count_unsent(105);
        assert_eq!(stats.missed(), 199);
        assert_eq!(stats.missed_rate(), 199.0 / 200.0);
        // Every request sent late and none unsent: all of them missed.
        let mut all_late = LoadStats::new(names(1));
        all_late.record(&sample(0, 1_000, Outcome::Status(200), 0));
        all_late.count_late(1);
        assert_eq!(all_late.missed_rate(), 1.0);
        // The split survives JSON; a report written before it existed reads
        // its `missed` as unsent, as it was then computed.
        let back: LoadStats =
            serde_json::from_str(&serde_json::to_string(&stats).unwrap()).unwrap();
        assert!(back == stats);
        let mut old = serde_json::to_value(&stats).unwrap();
        old.as_object_mut().unwrap().remove("unsent");
        let old: LoadStats = serde_json::from_value(old).unwrap();
        assert_eq!(old.unsent(), 199);
        let mut bad = serde_json::to_value(&stats).unwrap();
        bad["unsent"] = 500.into();
        assert!(serde_json::from_value::<LoadStats>(bad).is_err());
    }

    #[test]
    fn hiccups_merge_and_an_older_report_without_them_still_reads() {
        let hiccups = |values: &[u64]| {
            let mut h = histogram::latency_histogram();
            for v in values {
                h.record(*v).unwrap();
            }
            h
        };
        let mut a = LoadStats::new(names(1));
        a.add_hiccups(&hiccups(&[40, 2_000])).unwrap();
        let mut b = LoadStats::new(names(1));
        b.add_hiccups(&hiccups(&[60, 25_000])).unwrap();
        a.merge(&b).unwrap();
        assert_eq!(a.hiccups().len(), 4);
        assert_eq!(a.hiccups().max(), a.hiccups().highest_equivalent(25_000));
        // Unmeasured hiccups are left out of the JSON, and a report written
        // before hiccups were measured reads as "none measured".
        let none = LoadStats::new(names(1));
        let json = serde_json::to_value(&none).unwrap();
        assert!(json.get("hiccups").is_none(), "{json}");
        let back: LoadStats = serde_json::from_value(json).unwrap();
        assert!(back.hiccups().is_empty());
        assert!(back == none);
        // Stats that differ only in their hiccups are not equal.
        assert!(
            a != {
                let mut c = a.clone();
                c.add_hiccups(&hiccups(&[1])).unwrap();
                c
            }
        );
    }

    #[test]
    fn counts_statuses_errors_and_rates() {
        let mut stats = LoadStats::new(names(2));
        stats.record(&sample(0, 1_000, Outcome::Status(200), 0));
        stats.record(&sample(0, 2_000, Outcome::Status(302), 10));
        stats.record(&sample(1, 3_000, Outcome::Status(500), 1_500));
        stats.record(&sample(1, 4_000, Outcome::Error(ErrorKind::Timeout), 1_600));
        assert_eq!(stats.requests(), 4);
        assert_eq!(stats.errors(), 1);
        assert_eq!(stats.error_rate(), 0.5);
        // Standard Webhooks counts 3xx as failure too.
        assert_eq!(stats.error_rate_with(|s| (200..300).contains(&s)), 0.75);
        assert_eq!(
            stats.statuses().collect::<Vec<_>>(),
            vec![(200, 1), (302, 1), (500, 1)]
        );
        assert_eq!(
            stats.error_kinds().collect::<Vec<_>>(),
            vec![(ErrorKind::Timeout, 1)]
        );
        let per_type: Vec<_> = stats
            .types()
            .map(|(n, t)| (n, t.requests, t.failures))
            .collect();
        assert_eq!(per_type, vec![("type.0", 2, 0), ("type.1", 2, 2)]);
        assert_eq!(stats.timeline().len(), 2);
        assert_eq!(stats.timeline()[1].requests, 2);
        assert_eq!(stats.timeline()[1].failures, 2);
        // No window yet: the rate is over the timeline's two seconds.
        assert_eq!(stats.achieved_rate(), 2.0);
        stats.set_window(Duration::from_millis(500));
        assert_eq!(stats.achieved_rate(), 8.0);
        stats.count_unsent(4);
        assert_eq!(stats.missed_rate(), 0.5);
    }

    #[test]
    fn hostile_samples_do_not_panic_or_allocate_without_bound() {
        let mut stats = LoadStats::new(names(1));
        stats.record(&sample(9, u64::MAX, Outcome::Status(u16::MAX), u64::MAX));
        assert_eq!(stats.requests(), 1);
        assert_eq!(stats.timeline().len(), MAX_TIMELINE_SECONDS);
        assert_eq!(stats.types().next().unwrap().1.requests, 0);
        assert_eq!(
            stats.latency().max(),
            stats.latency().highest_equivalent(60_000_000)
        );
        let empty = LoadStats::new(vec![]);
        assert_eq!(empty.error_rate(), 0.0);
        assert_eq!(empty.achieved_rate(), 0.0);
    }

    #[test]
    fn merge_matches_types_by_name() {
        let mut a = LoadStats::new(vec!["x".into(), "y".into()]);
        a.record(&sample(1, 10, Outcome::Status(200), 0));
        let mut b = LoadStats::new(vec!["z".into(), "y".into()]);
        b.record(&sample(0, 20, Outcome::Status(200), 0));
        b.record(&sample(1, 30, Outcome::Status(200), 0));
        a.merge(&b).unwrap();
        let per: Vec<_> = a
            .types()
            .map(|(n, t)| (n.to_string(), t.requests))
            .collect();
        assert_eq!(per, vec![("x".into(), 0), ("y".into(), 2), ("z".into(), 1)]);
    }

    #[test]
    fn reserve_timeline_preallocates_histograms() {
        let mut stats = LoadStats::new(names(1));
        stats.reserve_timeline(Duration::from_secs(3));
        assert!(stats.timeline.len() == 4);
        assert!(stats.timeline.iter().all(|s| s.latency.is_some()));
        assert!(stats.timeline().is_empty());
        stats.record(&sample(0, 5, Outcome::Status(200), 2_500));
        assert_eq!(stats.timeline()[2].requests, 1);
        assert_eq!(stats.timeline().len(), 3, "reserved tail is hidden");
        // Reserved-but-empty seconds are not written, and come back as gaps
        // that compare equal.
        let back: LoadStats =
            serde_json::from_str(&serde_json::to_string(&stats).unwrap()).unwrap();
        assert_eq!(back.timeline().len(), 3);
        assert_eq!(back.timeline()[2].requests, 1);
        assert!(back.timeline()[0].latency.is_none());
        assert!(back == stats);
    }

    #[test]
    fn deserialize_rejects_inconsistent_json() {
        let stats = LoadStats::new(names(1));
        let mut v = serde_json::to_value(&stats).unwrap();
        v["requests"] = 5.into();
        let err = serde_json::from_value::<LoadStats>(v)
            .unwrap_err()
            .to_string();
        assert!(err.contains("requests is 5"), "{err}");
        let mut v = serde_json::to_value(&stats).unwrap();
        v["status"] = serde_json::json!({"abc": 1});
        assert!(serde_json::from_value::<LoadStats>(v).is_err());
    }
}
