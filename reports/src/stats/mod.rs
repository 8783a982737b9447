//! `LoadStats`: the `Recorder` a load run fills — overall latency and
//! service-time HDR histograms, per-event-type histograms and counts, raw
//! status counts, transport error counts, a per-second timeline, the
//! requests the emitter could not send on time, and the generator's own
//! hiccups (how late its timer woke: stalls of the load machine itself).
//! Its exact merge is in `merge.rs`, its JSON form (histograms as base64
//! HdrHistogram V2 deflate) in `json.rs`.
//!
//! Recording touches only preallocated memory: statuses index a fixed table,
//! error kinds a fixed array, and the timeline a `Vec` indexed by second
//! (which grows, and allocates a histogram, once per new second, never per
//! sample; `reserve_timeline` moves even that before the clock starts).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;

use crate::histogram;
use crate::record::{ErrorKind, Outcome, Recorder, Sample};

mod json;
mod merge;

pub use merge::MergeError;

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
            .or_insert_with(|| crate::request::excerpt(body, EXCERPT_BYTES));
    }

    /// The kept excerpt of `status`'s responses.
    pub fn excerpt(&self, status: u16) -> Option<&str> {
        self.excerpts.get(&status).map(String::as_str)
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

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis().min(u64::MAX as u128) as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(super) fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("type.{i}")).collect()
    }

    pub(super) fn sample(type_index: u16, latency_us: u64, outcome: Outcome, at_ms: u64) -> Sample {
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

    pub(super) fn sample_strategy() -> impl Strategy<Value = Sample> {
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
    pub(super) fn assert_buckets_equal(a: &Histogram<u64>, b: &Histogram<u64>, what: &str) {
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
}
