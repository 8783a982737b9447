//! The central pacer: releases a [`Schedule`]'s requests as they fall due.
//!
//! Request indexes ("tickets") become claimable at their intended time;
//! connections claim them from [`Tickets`] with an atomic counter.
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

use crate::schedule::Schedule;

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
    use crate::schedule::Arrival;
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
