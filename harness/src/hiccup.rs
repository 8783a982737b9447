//! The hiccup meter: how late the load generator's own timer wakes.
//!
//! A thread naps for a fixed interval, again and again, and records by how
//! much each nap overslept (Gil Tene's jHiccup, for a load generator). On a
//! quiet machine that is tens of microseconds. When the machine itself
//! stalls (a descheduled VM, CPU contention, swapping, a noisy neighbour)
//! every nap that overlaps the stall wakes late by it, and so does every
//! request due meanwhile: the emitter sends it late and its latency,
//! counted from the intended time, carries the stall. The report shows the
//! two side by side, so a latency tail no longer than the longest hiccup
//! reads as "the load machine stalled", not "the receiver was slow".
//!
//! The thread inherits the process's CPU affinity, so under `taskset` it
//! measures the cores the emitter runs on. It naps [`INTERVAL`] at a time:
//! 200 wake-ups per second, too few to cost the emitter measurable CPU,
//! and any stall longer than a nap is caught by the nap it overlaps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// How long each nap of the meter asks for.
pub const INTERVAL: Duration = Duration::from_millis(5);

/// A running hiccup meter; [`Meter::stop`] ends it and returns what it saw.
#[derive(Debug)]
pub struct Meter {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Histogram<u64>>>,
}

impl Meter {
    /// Starts measuring on a thread of its own, napping `interval` at a time.
    pub fn start(interval: Duration) -> std::io::Result<Meter> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("hookstorm-hiccup".into())
            .spawn(move || measure(interval, &flag, std::thread::park_timeout))?;
        Ok(Meter {
            stop,
            thread: Some(thread),
        })
    }

    /// Ends the meter (at once: its nap is cut short and not counted) and
    /// returns the oversleep of every completed nap, in µs.
    pub fn stop(mut self) -> Histogram<u64> {
        self.end()
            .unwrap_or_else(reports::histogram::latency_histogram)
    }

    fn end(&mut self) -> Option<Histogram<u64>> {
        let thread = self.thread.take()?;
        self.stop.store(true, Ordering::Release);
        thread.thread().unpark();
        // A panic in the meter loses only the hiccups.
        thread.join().ok()
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.end();
    }
}

/// Naps with `nap(interval)` until `stop` is set, recording how much later
/// than `interval` each nap returned (µs). A nap that returns early (a
/// spurious or deliberate wake-up) records 0; the one cut short by the stop
/// is not recorded.
fn measure(interval: Duration, stop: &AtomicBool, mut nap: impl FnMut(Duration)) -> Histogram<u64> {
    let mut hiccups = reports::histogram::latency_histogram();
    while !stop.load(Ordering::Acquire) {
        let began = Instant::now();
        nap(interval);
        if stop.load(Ordering::Acquire) {
            break;
        }
        let late = began.elapsed().saturating_sub(interval);
        hiccups.saturating_record(late.as_micros().min(u128::from(u64::MAX)) as u64);
    }
    hiccups
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs [`measure`] with a fake `nap` (given the nap's number, from 1,
    /// and the interval), stopping it during nap number `last`.
    fn fake_naps(
        interval: Duration,
        last: usize,
        mut nap: impl FnMut(usize, Duration),
    ) -> Histogram<u64> {
        let stop = AtomicBool::new(false);
        let mut naps = 0;
        measure(interval, &stop, |interval| {
            naps += 1;
            nap(naps, interval);
            if naps == last {
                stop.store(true, Ordering::Release);
            }
        })
    }

    #[test]
    fn a_stall_during_a_nap_is_recorded_as_its_length() {
        let hiccups = fake_naps(Duration::from_millis(1), 10, |n, interval| {
            // The third nap overlaps a 60 ms stall of the machine.
            let stall = if n == 3 {
                Duration::from_millis(60)
            } else {
                Duration::ZERO
            };
            std::thread::sleep(interval + stall);
        });
        // The tenth nap was cut by the stop: nine are counted.
        assert_eq!(hiccups.len(), 9);
        // The stall shows at its length (or a little more: the sleep itself
        // may overshoot), the ordinary naps well below it.
        assert!(hiccups.max() >= 60_000, "max {}", hiccups.max());
        assert!(
            hiccups.value_at_quantile(0.5) < 30_000,
            "p50 {}",
            hiccups.value_at_quantile(0.5)
        );
    }

    #[test]
    fn a_nap_returning_early_counts_zero() {
        let hiccups = fake_naps(Duration::from_secs(3600), 4, |_, _| {});
        assert_eq!(hiccups.len(), 3);
        assert_eq!(hiccups.max(), 0);
    }

    #[test]
    fn the_meter_measures_real_naps_and_stops_at_once() {
        let meter = Meter::start(Duration::from_millis(1)).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let began = Instant::now();
        // A meter napping an hour would still stop at once: the stop unparks it.
        let hiccups = meter.stop();
        assert!(began.elapsed() < Duration::from_secs(30));
        assert!(hiccups.len() >= 5, "{} naps in 100 ms", hiccups.len());
        let long = Meter::start(Duration::from_secs(3600)).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let began = Instant::now();
        assert_eq!(long.stop().len(), 0, "the cut nap is not counted");
        assert!(began.elapsed() < Duration::from_secs(30));
    }
}
