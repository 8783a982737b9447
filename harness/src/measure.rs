//! What a run measures while it goes: [`Measurements`] (per-thread striped
//! latency recorders and the completed, failed and late counts, which a
//! progress display reads live) and each sender's `InFlight` slot (the
//! request it has out, so a run cut short counts it as cancelled).
//!
//! Apart from the send loop so that the progress display reads the
//! measurements without depending on the emitter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use reports::{ErrorKind, LoadStats, Outcome, Sample};

/// Per-second timeline histograms are preallocated up to this run length.
const RESERVE_TIMELINE: Duration = Duration::from_secs(120);

/// What the emitter has measured so far: per-thread latency recorders and
/// the completed, failed and late counts, shared with the progress display
/// while the run goes on.
#[derive(Debug)]
pub struct Measurements {
    /// One recorder per runtime thread, so senders rarely contend.
    stripes: Vec<Mutex<LoadStats>>,
    completed: AtomicU64,
    failed: AtomicU64,
    late: AtomicU64,
}

impl Measurements {
    /// Empty measurements for `type_names`, striped `stripes` ways, their
    /// timelines preallocated for `reserve` (at most 120 s).
    pub fn new(type_names: &[String], stripes: usize, reserve: Option<Duration>) -> Measurements {
        let stripes = (0..stripes.max(1))
            .map(|_| {
                let mut stats = LoadStats::new(type_names.to_vec());
                if let Some(d) = reserve {
                    stats.reserve_timeline(d.min(RESERVE_TIMELINE));
                }
                Mutex::new(stats)
            })
            .collect();
        Measurements {
            stripes,
            completed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            late: AtomicU64::new(0),
        }
    }

    /// The recorder of stripe `i` (modulo the stripe count).
    pub(crate) fn stripe(&self, i: usize) -> MutexGuard<'_, LoadStats> {
        // A poisoned stripe only means a sender panicked mid-record; the
        // counts are still the best we have.
        self.stripes[i % self.stripes.len()]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one finished request (answered or failed; `failed` says
    /// which).
    pub(crate) fn count_completed(&self, failed: bool) {
        self.completed.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one request sent later than the emitter's lateness bound.
    pub(crate) fn count_late(&self) {
        self.late.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests answered or failed so far.
    pub fn completed(&self) -> u64 {
        self.completed.load(Ordering::Relaxed)
    }

    /// Of those, failures (transport errors and unsuccessful statuses).
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Requests sent later than the emitter's lateness bound (10 ms after
    /// their intended time) so far.
    pub fn late(&self) -> u64 {
        self.late.load(Ordering::Relaxed)
    }

    /// The 99th percentile latency so far, µs (the worst stripe's: exact
    /// merging is left to the end of the run).
    pub fn p99_us(&self) -> u64 {
        (0..self.stripes.len())
            .map(|i| self.stripe(i).latency().value_at_quantile(0.99))
            .max()
            .unwrap_or(0)
    }

    /// Takes the measurements out, merged into one (the stripes are left
    /// empty; a progress display may still hold this `Measurements`).
    pub(crate) fn take_stats(&self) -> Result<LoadStats> {
        let mut total: Option<LoadStats> = None;
        for i in 0..self.stripes.len() {
            let stats = std::mem::replace(&mut *self.stripe(i), LoadStats::new(Vec::new()));
            match &mut total {
                None => total = Some(stats),
                Some(t) => t.merge(&stats).context("merging per-thread measurements")?,
            }
        }
        total.ok_or_else(|| anyhow!("no recorder"))
    }
}

/// The number of recorder stripes: one per runtime worker thread (at most
/// 8), which is also a run's default runtime thread count.
pub fn stripes() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8)
}

/// What one sender has in flight, so that a run cut short can count it as
/// cancelled: set before each send, cleared once its sample is recorded.
/// One cache line per sender, so senders never contend for it.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct InFlight {
    /// The intended send time, µs after the start, plus one (0: idle).
    intended_us: AtomicU64,
    /// The actual send time, µs after the start.
    sent_us: AtomicU64,
    /// The event type's index.
    type_index: AtomicU64,
}

impl InFlight {
    /// Marks a request of type `type_index` as out, due at `intended` and
    /// sent at `sent` (both after the run's start).
    pub(crate) fn begin(&self, intended: Duration, sent: Duration, type_index: u16) {
        self.sent_us.store(micros(sent), Ordering::Relaxed);
        self.type_index
            .store(u64::from(type_index), Ordering::Relaxed);
        self.intended_us
            .store(micros(intended).saturating_add(1), Ordering::Release);
    }

    /// Marks the request as recorded: nothing is in flight.
    pub(crate) fn end(&self) {
        self.intended_us.store(0, Ordering::Relaxed);
    }

    /// The sample of the request in flight, if any, cancelled at `now`
    /// (µs after the start): its latency and service time count up to the
    /// cancellation, a lower bound of what they would have been.
    pub(crate) fn cancelled(&self, now_us: u64) -> Option<Sample> {
        let intended = self.intended_us.load(Ordering::Acquire).checked_sub(1)?;
        let sent = self.sent_us.load(Ordering::Relaxed);
        Some(Sample {
            type_index: u16::try_from(self.type_index.load(Ordering::Relaxed)).unwrap_or(0),
            latency_us: now_us.saturating_sub(intended),
            service_us: now_us.saturating_sub(sent),
            outcome: Outcome::Error(ErrorKind::Cancelled),
            at_ms: intended / 1_000,
        })
    }
}

/// `d` in whole microseconds, saturating.
pub(crate) fn micros(d: Duration) -> u64 {
    d.as_micros().min(u128::from(u64::MAX)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_in_flight_is_cancelled_with_its_latency_so_far() {
        let slot = InFlight::default();
        assert_eq!(slot.cancelled(5_000), None);
        slot.begin(Duration::from_millis(2), Duration::from_millis(3), 7);
        assert_eq!(
            slot.cancelled(10_000),
            Some(Sample {
                type_index: 7,
                latency_us: 8_000,
                service_us: 7_000,
                outcome: Outcome::Error(ErrorKind::Cancelled),
                at_ms: 2,
            })
        );
        slot.end();
        assert_eq!(slot.cancelled(10_000), None);
        // Due at the very start is still in flight.
        slot.begin(Duration::ZERO, Duration::ZERO, 0);
        assert!(slot.cancelled(1).is_some());
    }
}
