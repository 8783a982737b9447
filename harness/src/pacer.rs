//! The one schedule model and the central pacer.
//!
//! Every load flag becomes an [`Arrival`] (open constant rate, ramping
//! stages, or closed with N concurrent senders), which becomes one
//! [`Schedule`]: a pure function from a request's index to its intended
//! send time. Request indexes ("tickets") become claimable as they fall
//! due; connections claim them from [`Tickets`] with an atomic counter.
//!
//! Two things release tickets. A connection that finishes a request
//! releases whatever is due by now before claiming the next one
//! ([`Tickets::catch_up`]), so under load tickets go out within
//! microseconds of their time without any wake-up. When connections are
//! idle, the [`Pacer`] releases them: it runs on its own OS thread and naps
//! with `park_timeout` until the next arrival (at least 0.2 ms, so at
//! high rates it wakes every ~0.2 ms and releases a batch), then wakes one
//! waiting connection. While no connection is idle it rests for 2 ms
//! instead, and the first connection to go idle wakes it. With
//! `--busy-poll` the thread only ends the run and [`spin`], a task that
//! keeps the runtime from ever sleeping, releases the tickets instead.
//! (tokio's timer ticks at 1 ms and would bunch requests; spinning burns
//! a core, so it is opt-in.) Either way a ticket's latency counts from its
//! intended time, not its release.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// The pacer's shortest nap. At high rates it releases what fell due in
/// batches rather than waking for every ticket (each wake-up costs two
/// context switches, ~10 µs of CPU in a VM); with Linux's default 50 µs
/// timer slack, a ticket no connection released itself goes out at most
/// ~0.25 ms after its time. (50 µs naps: same latency, more CPU.)
const MIN_NAP: Duration = Duration::from_micros(200);
/// The pacer's longest nap: how late it notices a close without an unpark.
const MAX_NAP: Duration = Duration::from_millis(20);
/// The pacer's nap while every connection is busy: they release due
/// tickets themselves as they finish requests (see [`Tickets::catch_up`]),
/// and the first to go idle wakes the pacer. At 80,000 req/s this spares
/// ~4,500 pacer wake-ups (and context switches) per second on a core that
/// has no CPU to spare.
const REST_NAP: Duration = Duration::from_millis(2);

/// One ramping stage: the rate moves linearly to `target` over `duration`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: Duration,
    /// Arrival rate (requests/s) reached at the end of the stage.
    pub target: f64,
}

/// How requests arrive: the load model the user chose.
#[derive(Clone, Debug, PartialEq)]
pub enum Arrival {
    /// Open model at a constant rate (requests/s), independent of answers.
    Open {
        /// Requests per second.
        rate: f64,
    },
    /// Open model whose rate ramps through stages, starting at `start`.
    Ramp {
        /// Rate at time 0.
        start: f64,
        /// The stages, in order.
        stages: Vec<Stage>,
    },
    /// Closed model: N senders, each sending its next request when the
    /// previous one is answered.
    Closed {
        /// Number of concurrent senders.
        concurrency: usize,
    },
}

/// Why flags do not make a schedule.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScheduleError {
    /// A rate that is not a positive finite number.
    #[error("rate must be a finite number >= 0, got {0}")]
    BadRate(f64),
    /// Nothing bounds the run.
    #[error("give --duration or --requests (or stages) so the run ends")]
    Unbounded,
    /// A closed model without senders.
    #[error("concurrency must be at least 1")]
    NoConcurrency,
    /// The open model never sends anything.
    #[error("the schedule sends no request (all rates are 0)")]
    Empty,
}

/// A piece of the arrival-rate curve where the rate changes linearly.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Segment {
    /// Start time, seconds.
    t0: f64,
    /// Length, seconds.
    len: f64,
    /// Rate at the start and at the end.
    r0: f64,
    r1: f64,
    /// Arrivals before this segment (the integral of the rate up to `t0`).
    n0: f64,
}

impl Segment {
    /// Arrivals from `t0` to `t0 + tau` (the integral of the rate).
    fn count(&self, tau: f64) -> f64 {
        let a = if self.len > 0.0 {
            (self.r1 - self.r0) / (2.0 * self.len)
        } else {
            0.0
        };
        self.r0 * tau + a * tau * tau
    }

    /// The `tau` at which the integral reaches `c` (inverse of `count`).
    fn time_of(&self, c: f64) -> f64 {
        let a = if self.len > 0.0 {
            (self.r1 - self.r0) / (2.0 * self.len)
        } else {
            0.0
        };
        let b = self.r0;
        // Stable root of a·τ² + b·τ − c = 0 (no cancellation when a → 0).
        let disc = (b * b + 4.0 * a * c).max(0.0);
        let denom = b + disc.sqrt();
        if denom <= 0.0 {
            0.0
        } else {
            (2.0 * c / denom).min(self.len)
        }
    }
}

/// When each request is meant to be sent, and when the run ends.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// Paced (open model) segments; empty for the closed model.
    segments: Vec<Segment>,
    /// Closed model: number of senders.
    concurrency: Option<usize>,
    /// When the run stops sending.
    end: Duration,
    /// How many requests the run sends at most.
    total: u64,
}

impl Schedule {
    /// Builds the schedule of `arrival`, bounded by `duration` and/or
    /// `requests`, scaled by `share` (a shard's fraction of the rate).
    pub fn new(
        arrival: &Arrival,
        duration: Option<Duration>,
        requests: Option<u64>,
        share: f64,
    ) -> Result<Schedule, ScheduleError> {
        let check = |r: f64| {
            if r.is_finite() && r >= 0.0 {
                Ok(r * share)
            } else {
                Err(ScheduleError::BadRate(r))
            }
        };
        let mut segments = Vec::new();
        let mut concurrency = None;
        match arrival {
            Arrival::Open { rate } => {
                let rate = check(*rate)?;
                let len = match (duration, requests) {
                    (Some(d), _) => d.as_secs_f64(),
                    // With only a count, the run lasts as long as the count takes.
                    (None, Some(n)) if rate > 0.0 => n as f64 / rate,
                    _ => return Err(ScheduleError::Unbounded),
                };
                segments.push(Segment {
                    t0: 0.0,
                    len,
                    r0: rate,
                    r1: rate,
                    n0: 0.0,
                });
            }
            Arrival::Ramp { start, stages } => {
                let mut r0 = check(*start)?;
                let (mut t0, mut n0) = (0.0, 0.0);
                for stage in stages {
                    let r1 = check(stage.target)?;
                    let seg = Segment {
                        t0,
                        len: stage.duration.as_secs_f64(),
                        r0,
                        r1,
                        n0,
                    };
                    n0 += seg.count(seg.len);
                    t0 += seg.len;
                    r0 = r1;
                    segments.push(seg);
                }
                if segments.is_empty() {
                    return Err(ScheduleError::Unbounded);
                }
            }
            Arrival::Closed { concurrency: n } => {
                if *n == 0 {
                    return Err(ScheduleError::NoConcurrency);
                }
                concurrency = Some(*n);
            }
        }
        let (end, total) = if segments.is_empty() {
            match (duration, requests) {
                (None, None) => return Err(ScheduleError::Unbounded),
                (d, n) => (d.unwrap_or(Duration::MAX), n.unwrap_or(u64::MAX)),
            }
        } else {
            let last = segments[segments.len() - 1];
            let mut end = last.t0 + last.len;
            if let Some(d) = duration {
                end = end.min(d.as_secs_f64());
            }
            let schedule = Schedule {
                segments: segments.clone(),
                concurrency: None,
                end: Duration::ZERO,
                total: u64::MAX,
            };
            // Arrivals strictly before the end: index i is sent at the time
            // the integral of the rate reaches i.
            let arrivals = schedule.integral(end).ceil() as u64;
            let total = requests.map_or(arrivals, |n| n.min(arrivals));
            (Duration::from_secs_f64(end), total)
        };
        if total == 0 {
            return Err(ScheduleError::Empty);
        }
        Ok(Schedule {
            segments,
            concurrency,
            end,
            total,
        })
    }

    /// Closed model: the number of senders; `None` for the open model.
    pub fn concurrency(&self) -> Option<usize> {
        self.concurrency
    }

    /// When the run stops sending (from its start).
    pub fn end(&self) -> Duration {
        self.end
    }

    /// How many requests the run sends at most (`u64::MAX`: unbounded count).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The mean rate the schedule asks for, requests/s (`None`: closed model).
    pub fn target_rate(&self) -> Option<f64> {
        if self.segments.is_empty() || self.end.is_zero() {
            return None;
        }
        Some(self.total as f64 / self.end.as_secs_f64())
    }

    fn integral(&self, t: f64) -> f64 {
        let i = self
            .segments
            .partition_point(|s| s.t0 <= t)
            .saturating_sub(1);
        match self.segments.get(i) {
            Some(s) => s.n0 + s.count((t - s.t0).clamp(0.0, s.len)),
            None => 0.0,
        }
    }

    /// How many requests are due by `elapsed` (capped at the total).
    pub fn due_by(&self, elapsed: Duration) -> u64 {
        if self.segments.is_empty() {
            return self.total;
        }
        let t = elapsed.min(self.end).as_secs_f64();
        // Index i is due when the integral reaches i, so i = 0 is due at once.
        // The epsilon absorbs rounding so a request is due at its own time.
        let due = (self.integral(t) + 1e-7).floor() as u64 + 1;
        due.min(self.total)
    }

    /// The intended send time of request `index`, from the run's start
    /// (zero for the closed model, whose requests have no schedule).
    pub fn intended(&self, index: u64) -> Duration {
        if self.segments.is_empty() {
            return Duration::ZERO;
        }
        let c = index as f64;
        // The last segment whose first arrival is at or before `c`; zero-rate
        // segments add no arrivals and are skipped by the partition.
        let i = self
            .segments
            .partition_point(|s| s.n0 <= c)
            .saturating_sub(1);
        let mut seg = self.segments[i];
        // Several segments may start at the same count (zero rates); take
        // the first that still has arrivals left.
        let mut j = i;
        while seg.n0 + seg.count(seg.len) < c && j + 1 < self.segments.len() {
            j += 1;
            seg = self.segments[j];
        }
        // Rounded up to the nanosecond so the request is due at its own time.
        let secs = (seg.t0 + seg.time_of(c - seg.n0)).max(0.0);
        Duration::from_nanos((secs * 1e9).ceil() as u64)
    }
}

/// The shared ticket counters between the pacer and the connections.
#[derive(Debug)]
pub struct Tickets {
    total: u64,
    released: AtomicU64,
    claimed: AtomicU64,
    closed: AtomicBool,
    notify: Notify,
    /// Connections waiting for a ticket.
    idle: AtomicUsize,
    /// The pacer is in a [`REST_NAP`]: a connection going idle unparks it.
    resting: AtomicBool,
    /// The thread running [`pace`], once it runs.
    pacer: OnceLock<std::thread::Thread>,
}

impl Tickets {
    /// Counters for a run of `total` tickets, with nothing released yet.
    pub fn new(total: u64) -> Tickets {
        Tickets {
            total,
            released: AtomicU64::new(0),
            claimed: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            notify: Notify::new(),
            idle: AtomicUsize::new(0),
            resting: AtomicBool::new(false),
            pacer: OnceLock::new(),
        }
    }

    /// Starts a [`REST_NAP`] unless a connection is idle (or no pacer
    /// thread is known): `true` if the pacer may rest. Pairs with
    /// [`Idle::enter`]: both store, then load the other's flag, all
    /// sequentially consistent, so a connection going idle either is seen
    /// here or sees `resting` and unparks the pacer.
    fn rest(&self) -> bool {
        if self.pacer.get().is_none() {
            return false;
        }
        self.resting.store(true, Ordering::SeqCst);
        if self.idle.load(Ordering::SeqCst) > 0 {
            self.resting.store(false, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// Makes tickets `0..n` claimable (never moves backwards).
    pub fn release_to(&self, n: u64) {
        let before = self.released.fetch_max(n, Ordering::AcqRel);
        if n > before {
            // One wake-up is enough: a woken connection that finds more
            // tickets wakes the next one (see `next`).
            self.notify.notify_one();
        }
    }

    /// Makes tickets `0..n` claimable without waking anyone: for a
    /// connection about to claim one itself (it wakes another connection
    /// if more are left, see `next`).
    pub fn catch_up(&self, n: u64) {
        self.released.fetch_max(n, Ordering::AcqRel);
    }

    /// Stops the run: nothing more can be claimed, waiting connections
    /// return `None`; released but unclaimed tickets stay unsent.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    /// Whether `close` was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Tickets released so far.
    pub fn released(&self) -> u64 {
        self.released.load(Ordering::Acquire)
    }

    /// Tickets claimed so far.
    pub fn claimed(&self) -> u64 {
        self.claimed.load(Ordering::Acquire)
    }

    /// Claims the next released ticket without waiting.
    pub fn try_claim(&self) -> Option<u64> {
        if self.is_closed() {
            return None;
        }
        let mut c = self.claimed.load(Ordering::Acquire);
        loop {
            if c >= self.released.load(Ordering::Acquire) {
                return None;
            }
            match self
                .claimed
                .compare_exchange_weak(c, c + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some(c),
                Err(now) => c = now,
            }
        }
    }

    /// Waits for and claims the next ticket; `None` once closed or drained.
    pub async fn next(&self) -> Option<u64> {
        loop {
            // Fast path: a ticket is ready, no waiter registration needed.
            if let Some(t) = self.claim_and_pass_on() {
                return Some(t);
            }
            if self.is_done() {
                return None;
            }
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Counted idle (and the pacer woken from a rest) before the
            // re-check, so the pacer never rests while this one waits.
            let _idle = Idle::enter(self);
            // Re-check after registering, so a release in between is not lost.
            if let Some(t) = self.claim_and_pass_on() {
                return Some(t);
            }
            if self.is_done() {
                return None;
            }
            notified.await;
        }
    }

    /// Claims a ticket and, if more are ready, wakes another connection
    /// (releases wake only one; each claimer passes the wake-up on).
    fn claim_and_pass_on(&self) -> Option<u64> {
        let t = self.try_claim()?;
        if self.claimed() < self.released() {
            self.notify.notify_one();
        }
        Some(t)
    }

    /// Closed, or every ticket of the run claimed; the next waiter is woken
    /// so it sees the end too.
    fn is_done(&self) -> bool {
        let done = self.is_closed() || self.claimed() >= self.total;
        if done {
            self.notify.notify_one();
        }
        done
    }
}

/// A connection counted as waiting for a ticket, for as long as it lives.
struct Idle<'a>(&'a Tickets);

impl<'a> Idle<'a> {
    fn enter(tickets: &'a Tickets) -> Idle<'a> {
        tickets.idle.fetch_add(1, Ordering::SeqCst);
        if tickets.resting.load(Ordering::SeqCst) {
            if let Some(pacer) = tickets.pacer.get() {
                pacer.unpark();
            }
        }
        Idle(tickets)
    }
}

impl Drop for Idle<'_> {
    fn drop(&mut self) {
        self.0.idle.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Releases the tickets of `schedule` as they fall due, from `start`, until
/// the schedule ends or every ticket is out, then closes `tickets` after
/// `grace` (so due tickets can still be claimed by idle connections).
/// The closed model needs no pacing: everything is released at once.
/// With `release` false an open model's tickets are left to [`spin`], and
/// this only closes them at the end.
///
/// This blocks the calling thread (it naps with `park_timeout`, so an
/// `unpark` wakes it at once): run it on its own thread, as [`Pacer`] does.
/// It returns early once `tickets` is closed by someone else.
pub fn pace(
    schedule: &Schedule,
    start: std::time::Instant,
    tickets: &Tickets,
    grace: Duration,
    release: bool,
) {
    // Closes the tickets however this ends, so connections never wait on a
    // pacer that is gone.
    struct CloseOnExit<'a>(&'a Tickets);
    impl Drop for CloseOnExit<'_> {
        fn drop(&mut self) {
            self.0.close();
        }
    }
    let _close = CloseOnExit(tickets);
    let _ = tickets.pacer.set(std::thread::current());
    let until = if schedule.concurrency().is_some() {
        tickets.release_to(schedule.total());
        start.checked_add(schedule.end())
    } else {
        // Without `release`, `spin` releases the tickets inside the runtime.
        if release && !release_as_due(schedule, start, tickets) {
            return;
        }
        start
            .checked_add(schedule.end())
            .and_then(|t| t.checked_add(grace))
    };
    // Wait for the end (`None`: never, until closed), in naps short enough
    // to notice a close even without an unpark.
    while !tickets.is_closed() {
        let now = std::time::Instant::now();
        let left = match until {
            Some(t) if t <= now => break,
            Some(t) => t - now,
            None => MAX_NAP,
        };
        std::thread::park_timeout(left.min(MAX_NAP));
    }
}

/// The open model's release loop of [`pace`]: releases tickets as they
/// fall due, napping in between, until every ticket is out or the schedule
/// ends (`true`), or `tickets` is closed by someone else (`false`).
fn release_as_due(schedule: &Schedule, start: std::time::Instant, tickets: &Tickets) -> bool {
    loop {
        if tickets.is_closed() {
            return false;
        }
        let now = std::time::Instant::now();
        let elapsed = now.saturating_duration_since(start);
        let due = schedule.due_by(elapsed);
        tickets.release_to(due);
        if due >= schedule.total() || elapsed >= schedule.end() {
            return true;
        }
        let next = schedule.intended(due);
        if next >= schedule.end() {
            return true;
        }
        // At high rates the next ticket is always close: nap at least
        // MIN_NAP and release what fell due meanwhile in one batch
        // (connections that finish a request claim due tickets
        // themselves in between, see `Tickets::catch_up`).
        let wait = next.saturating_sub(elapsed).clamp(MIN_NAP, MAX_NAP);
        if wait < REST_NAP && tickets.rest() {
            std::thread::park_timeout(REST_NAP);
            tickets.resting.store(false, Ordering::SeqCst);
        } else {
            std::thread::park_timeout(wait);
        }
    }
}

/// Keeps the runtime polling instead of sleeping, and releases the
/// tickets of `schedule` as they fall due from inside it: between every
/// other task it reads the clock and yields, so the runtime never parks
/// (each turn polls the sockets with a zero timeout). Tickets then go out
/// within microseconds of their time and no request waits for a wake-up
/// (a context switch, on a VM an IPI), at the price of one busy core.
/// The closed model has nothing to release; it only spins. Ends once
/// `tickets` closes (the [`Pacer`] thread, started with `release` off,
/// closes them at the schedule's end).
pub async fn spin(schedule: Schedule, start: Instant, tickets: Arc<Tickets>) {
    let mut released = schedule.concurrency().is_some();
    while !tickets.is_closed() {
        if !released {
            let elapsed = start.elapsed();
            let due = schedule.due_by(elapsed);
            tickets.release_to(due);
            released = due >= schedule.total() || elapsed >= schedule.end();
        }
        tokio::task::yield_now().await;
    }
}

/// The pacer running on its own OS thread, so that it can nap with
/// microsecond precision (tokio's timer ticks at 1 ms) without spinning
/// on the runtime's threads.
///
/// Dropping it (or [`Pacer::stop`]) closes the tickets and waits for the
/// thread to end; [`Pacer::join`] waits for the schedule to end instead.
#[derive(Debug)]
pub struct Pacer {
    tickets: Arc<Tickets>,
    thread: Option<JoinHandle<()>>,
}

impl Pacer {
    /// Starts pacing `schedule` from `start` into `tickets` (see [`pace`]);
    /// with `release` false the thread only ends the run (and releases a
    /// closed model's tickets at once), and [`spin`] releases an open
    /// model's.
    pub fn spawn(
        schedule: Schedule,
        start: Instant,
        tickets: Arc<Tickets>,
        grace: Duration,
        release: bool,
    ) -> std::io::Result<Pacer> {
        let start = start.into_std();
        let shared = tickets.clone();
        let thread = std::thread::Builder::new()
            .name("hookstorm-pacer".into())
            .spawn(move || pace(&schedule, start, &shared, grace, release))?;
        Ok(Pacer {
            tickets,
            thread: Some(thread),
        })
    }

    /// Waits (blocking) until the pacer ends on its own: the schedule's end
    /// plus the grace, or a close of the tickets.
    pub fn join(mut self) {
        if let Some(thread) = self.thread.take() {
            // A panic in the pacer already closed the tickets.
            let _ = thread.join();
        }
    }

    /// Closes the tickets and ends the pacer thread (the same as dropping).
    pub fn stop(self) {}
}

impl Drop for Pacer {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.tickets.close();
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn a_connection_going_idle_ends_the_pacers_rest() {
        let tickets = Arc::new(Tickets::new(10));
        // No pacer thread known: never rest (nobody could wake it).
        assert!(!tickets.rest());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let pacer = {
            let tickets = tickets.clone();
            std::thread::spawn(move || {
                let _ = tickets.pacer.set(std::thread::current());
                assert!(tickets.rest(), "nobody idle: the pacer may rest");
                ready_tx.send(()).unwrap();
                let began = std::time::Instant::now();
                // A rest far longer than the test's bound below.
                std::thread::park_timeout(Duration::from_secs(60));
                began.elapsed()
            })
        };
        ready_rx.recv().unwrap();
        let idle = Idle::enter(&tickets);
        // Liveness, not speed: woken by the idle connection, not the timeout.
        let rested = pacer.join().unwrap();
        assert!(rested < Duration::from_secs(30), "{rested:?}");
        // While a connection is idle the pacer does not rest.
        tickets.resting.store(false, Ordering::SeqCst);
        assert!(!tickets.rest());
        drop(idle);
        assert!(tickets.rest());
    }

    #[test]
    fn constant_rate_spacing_and_count() {
        let s = Schedule::new(&Arrival::Open { rate: 10.0 }, Some(secs(2.0)), None, 1.0).unwrap();
        assert_eq!(s.total(), 20);
        assert_eq!(s.intended(0), Duration::ZERO);
        assert!((s.intended(5).as_secs_f64() - 0.5).abs() < 1e-9);
        assert_eq!(s.due_by(Duration::ZERO), 1);
        assert_eq!(s.due_by(secs(0.55)), 6);
        assert_eq!(s.due_by(secs(10.0)), 20);
        assert_eq!(s.target_rate(), Some(10.0));
    }

    #[test]
    fn requests_cap_and_count_only_runs() {
        let s = Schedule::new(
            &Arrival::Open { rate: 100.0 },
            Some(secs(10.0)),
            Some(50),
            1.0,
        )
        .unwrap();
        assert_eq!(s.total(), 50);
        let s = Schedule::new(&Arrival::Open { rate: 100.0 }, None, Some(50), 1.0).unwrap();
        assert_eq!(s.total(), 50);
        assert_eq!(s.end(), secs(0.5));
        assert_eq!(
            Schedule::new(&Arrival::Open { rate: 1.0 }, None, None, 1.0),
            Err(ScheduleError::Unbounded)
        );
        assert!(matches!(
            Schedule::new(
                &Arrival::Open { rate: f64::NAN },
                Some(secs(1.0)),
                None,
                1.0
            ),
            Err(ScheduleError::BadRate(_))
        ));
    }

    #[test]
    fn ramp_integrates_the_rate() {
        // 0 → 100/s over 2 s (100 requests), then 100/s for 1 s (100 more),
        // then a pause, then 50/s for 1 s.
        let arrival = Arrival::Ramp {
            start: 0.0,
            stages: vec![
                Stage {
                    duration: secs(2.0),
                    target: 100.0,
                },
                Stage {
                    duration: secs(1.0),
                    target: 100.0,
                },
                Stage {
                    duration: secs(1.0),
                    target: 0.0,
                },
                Stage {
                    duration: secs(1.0),
                    target: 0.0,
                },
                Stage {
                    duration: secs(1.0),
                    target: 100.0,
                },
            ],
        };
        let s = Schedule::new(&arrival, None, None, 1.0).unwrap();
        assert_eq!(s.end(), secs(6.0));
        assert_eq!(s.total(), 100 + 100 + 50 + 50);
        // In the ramp, count(t) = 25 t², so request 25 is at 1 s.
        assert!((s.intended(25).as_secs_f64() - 1.0).abs() < 1e-9);
        assert!((s.intended(150).as_secs_f64() - 2.5).abs() < 1e-9);
        // Nothing is scheduled in the pause at 0/s (3.7 s .. 5 s).
        let t = s.intended(249).as_secs_f64();
        assert!((3.8..4.0).contains(&t), "{t}");
        let t = s.intended(250).as_secs_f64();
        assert!((5.0..5.2).contains(&t), "{t}");
        // Intended times never go backwards.
        let mut last = Duration::ZERO;
        for i in 0..s.total() {
            let t = s.intended(i);
            assert!(t >= last, "{i}: {t:?} < {last:?}");
            assert!(s.due_by(t) > i, "{i} not due at its own time");
            last = t;
        }
    }

    #[test]
    fn shard_share_scales_the_rate() {
        let s = Schedule::new(
            &Arrival::Open { rate: 300.0 },
            Some(secs(1.0)),
            None,
            1.0 / 3.0,
        )
        .unwrap();
        assert_eq!(s.total(), 100);
    }

    #[test]
    fn closed_model_has_no_pacing() {
        let s = Schedule::new(&Arrival::Closed { concurrency: 4 }, None, Some(10), 1.0).unwrap();
        assert_eq!(s.concurrency(), Some(4));
        assert_eq!(s.total(), 10);
        assert_eq!(s.due_by(Duration::ZERO), 10);
        assert_eq!(s.intended(7), Duration::ZERO);
        assert_eq!(
            Schedule::new(&Arrival::Closed { concurrency: 0 }, None, Some(1), 1.0),
            Err(ScheduleError::NoConcurrency)
        );
    }

    /// Four connections claiming tickets until none are left (with
    /// `catch_up`, half of them also release due tickets themselves, as
    /// senders do); every ticket claimed, sorted. A ticket is never handed
    /// out before its time.
    async fn claim_all(
        s: &Schedule,
        start: Instant,
        tickets: &Arc<Tickets>,
        catch_up: bool,
    ) -> Vec<u64> {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let tickets = tickets.clone();
                let s = s.clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    loop {
                        if catch_up && w % 2 == 0 {
                            tickets.catch_up(s.due_by(start.elapsed()));
                        }
                        let Some(t) = tickets.next().await else { break };
                        assert!(Instant::now() >= start + s.intended(t));
                        got.push(t);
                    }
                    got
                })
            })
            .collect();
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await.unwrap());
        }
        all.sort_unstable();
        all
    }

    /// 400 tickets at 2,000/s from now, and a pacer thread (with a 20 ms
    /// grace) that releases them, or with `release` false only closes them.
    fn paced_400(release: bool) -> (Schedule, Instant, Arc<Tickets>, Pacer) {
        let s =
            Schedule::new(&Arrival::Open { rate: 2_000.0 }, Some(secs(0.2)), None, 1.0).unwrap();
        let tickets = Arc::new(Tickets::new(s.total()));
        let start = Instant::now();
        let pacer = Pacer::spawn(
            s.clone(),
            start,
            tickets.clone(),
            Duration::from_millis(20),
            release,
        )
        .expect("pacer thread");
        (s, start, tickets, pacer)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pacer_releases_every_ticket_once_then_closes() {
        let (s, start, tickets, pacer) = paced_400(true);
        let all = claim_all(&s, start, &tickets, true).await;
        tokio::task::spawn_blocking(move || pacer.join())
            .await
            .unwrap();
        assert!(tickets.is_closed());
        assert_eq!(all, (0..400).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn spin_releases_every_ticket_on_time_and_the_pacer_closes() {
        // The pacer thread only closes; the spinning task releases.
        let (s, start, tickets, pacer) = paced_400(false);
        let spinner = tokio::spawn(spin(s.clone(), start, tickets.clone()));
        let all = claim_all(&s, start, &tickets, false).await;
        assert_eq!(all, (0..400).collect::<Vec<_>>());
        // The spinner ends once the pacer closes the tickets after the grace.
        spinner.await.unwrap();
        assert!(tickets.is_closed());
        drop(pacer);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_pacer_closes_the_tickets() {
        // A long, slow schedule and a closed model without an end: dropping
        // the pacer ends its thread and wakes waiting connections.
        for arrival in [
            Arrival::Open { rate: 0.5 },
            Arrival::Closed { concurrency: 1 },
        ] {
            let s = Schedule::new(&arrival, None, Some(1_000), 1.0).unwrap();
            let tickets = Arc::new(Tickets::new(s.total()));
            let pacer = Pacer::spawn(
                s,
                Instant::now(),
                tickets.clone(),
                Duration::from_secs(60),
                true,
            )
            .expect("pacer thread");
            let waiter = {
                let tickets = tickets.clone();
                tokio::spawn(async move { while tickets.next().await.is_some() {} })
            };
            tokio::time::sleep(Duration::from_millis(20)).await;
            pacer.stop();
            assert!(tickets.is_closed());
            tokio::time::timeout(Duration::from_secs(10), waiter)
                .await
                .expect("waiting connection ends")
                .unwrap();
        }
    }
}
