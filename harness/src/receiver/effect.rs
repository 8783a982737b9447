//! What processing an accepted event does: claim its dedupe key once
//! (atomically, so concurrent duplicates are processed once), then apply the
//! ordering policy per subject and append it to the ledger.

use serde_json::Value;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::ledger::{order_cmp, Ledger, LedgerEntry, OrderingPolicy};

/// One accepted event, reduced to what its effect depends on.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Event {
    /// Dedupe key value.
    pub id: String,
    /// Ordering key value, or null.
    pub seq: Value,
    /// Subject key value, if the event has one.
    pub subject: Option<String>,
}

/// The most events `strict` holds for one subject before processing them
/// without waiting for a pause, which bounds its memory.
pub(crate) const MAX_HELD_PER_SUBJECT: usize = 1024;

/// The events `strict` holds for one subject until its settle window ends.
#[derive(Debug, Default)]
struct Held {
    events: Vec<Event>,
    /// Bumped on every arrival: a flush timer only fires if no later
    /// arrival re-armed the window.
    generation: u64,
}

/// The receiver's processing state, shared by every connection.
#[derive(Debug)]
pub(crate) struct Effects {
    /// What was processed, in order.
    pub ledger: Ledger,
    policy: OrderingPolicy,
    settle: Duration,
    seen: Mutex<HashSet<String>>,
    last_applied: Mutex<HashMap<String, Value>>,
    held: Mutex<HashMap<String, Held>>,
    pending: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here panics while holding a lock, and if something did the
    // maps would still be consistent: keep serving rather than cascade.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Effects {
    /// Empty state applying `policy`, holding `strict` events for `settle`.
    pub fn new(policy: OrderingPolicy, settle: Duration) -> Effects {
        Effects {
            ledger: Ledger::new(),
            policy,
            settle,
            seen: Mutex::new(HashSet::new()),
            last_applied: Mutex::new(HashMap::new()),
            held: Mutex::new(HashMap::new()),
            pending: AtomicUsize::new(0),
        }
    }

    /// Claims `id`: true the first time, false for every duplicate. The
    /// check and the insert happen under one lock, so of N concurrent
    /// deliveries of one event exactly one wins.
    pub fn claim(&self, id: &str) -> bool {
        let mut seen = lock(&self.seen);
        if seen.contains(id) {
            false
        } else {
            seen.insert(id.to_string())
        }
    }

    /// Processes `event` under the configured policy, or in arrival order
    /// when `ignore_policy` (the `out-of-order` fault).
    ///
    /// Every policy but `strict` processes before returning, so before the
    /// delivery is acknowledged: that is what `arrival` promises.
    pub fn apply(self: &Arc<Self>, event: Event, ignore_policy: bool) {
        let policy = if ignore_policy {
            OrderingPolicy::None
        } else {
            self.policy
        };
        let (subject, ordered) = match &event.subject {
            Some(s) if !event.seq.is_null() => (s.clone(), true),
            _ => (String::new(), false),
        };
        if !ordered {
            // Without a subject or an ordering value there is no order to
            // keep: every policy processes on arrival.
            self.ledger.push(entry(event));
            return;
        }
        match policy {
            OrderingPolicy::None | OrderingPolicy::Arrival => self.ledger.push(entry(event)),
            OrderingPolicy::LastWriteWins => {
                let mut last = lock(&self.last_applied);
                let stale = last.get(&subject).is_some_and(|prev| {
                    matches!(
                        order_cmp(&event.seq, prev),
                        Some(Ordering::Less | Ordering::Equal)
                    )
                });
                if !stale {
                    last.insert(subject, event.seq.clone());
                    // Pushed under the same lock so the ledger's order is
                    // the order in which writes won.
                    self.ledger.push(entry(event));
                }
            }
            OrderingPolicy::Strict => self.hold(subject, event),
        }
    }

    /// Processes `event` later, after its delivery was acknowledged: each
    /// subject's events are held for the settle window and then processed
    /// sorted by ordering key (the `reorder-after-ack` fault: a receiver
    /// that queues its work and lets a worker pick it up in its own order).
    pub fn apply_after_ack(self: &Arc<Self>, event: Event) {
        match event.subject.clone() {
            Some(subject) if !event.seq.is_null() => self.hold(subject, event),
            _ => self.ledger.push(entry(event)),
        }
    }

    fn hold(self: &Arc<Self>, subject: String, event: Event) {
        let generation = {
            let mut held = lock(&self.held);
            let slot = held.entry(subject.clone()).or_default();
            slot.events.push(event);
            slot.generation += 1;
            self.pending.fetch_add(1, AtomicOrdering::SeqCst);
            if slot.events.len() >= MAX_HELD_PER_SUBJECT {
                // A subject that never pauses would otherwise be held (and
                // grow) forever: process what it has now.
                if let Some(slot) = held.remove(&subject) {
                    self.release(slot.events);
                }
                return;
            }
            slot.generation
        };
        let me = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(me.settle).await;
            me.flush(&subject, generation);
        });
    }

    fn flush(&self, subject: &str, generation: u64) {
        let mut held = lock(&self.held);
        if held.get(subject).map(|h| h.generation) != Some(generation) {
            // A later arrival re-armed the window; its timer flushes.
            return;
        }
        if let Some(slot) = held.remove(subject) {
            self.release(slot.events);
        }
    }

    /// Processes one subject's held events in ordering-key order (called
    /// with the `held` lock taken, so batches never interleave).
    fn release(&self, mut events: Vec<Event>) {
        // Stable sort: events whose values cannot be compared keep their
        // arrival order.
        events.sort_by(|a, b| order_cmp(&a.seq, &b.seq).unwrap_or(Ordering::Equal));
        let n = events.len();
        self.ledger.extend(events.into_iter().map(entry));
        self.pending.fetch_sub(n, AtomicOrdering::SeqCst);
    }

    /// Waits until no event is held by `strict` (or `max` elapses), so a
    /// ledger read reflects every acknowledged event.
    pub async fn settled(&self, max: Duration) {
        let start = Instant::now();
        while self.pending.load(AtomicOrdering::SeqCst) > 0 && start.elapsed() < max {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The longest a ledger read should wait for `strict` to settle.
    pub fn settle_bound(&self) -> Duration {
        // A subject keeps re-arming its window while events keep arriving;
        // give up after a few windows rather than block the reader forever.
        self.settle * 4 + Duration::from_millis(500)
    }
}

impl Effects {
    /// Records `event` again on arrival, bypassing dedupe and ordering (the
    /// `double-process` fault's duplicate).
    pub fn reprocess(&self, event: Event) {
        self.ledger.push(entry(event));
    }
}

/// How many deliveries the `lose-under-load` fault's work queue holds.
pub(crate) const BACKLOG_CAPACITY: f64 = 8.0;
/// How fast that queue drains, in deliveries per second.
pub(crate) const BACKLOG_DRAIN_PER_SEC: f64 = 200.0;

/// The `lose-under-load` fault's bounded work queue, as a leaky bucket: a
/// receiver that acknowledges first and queues the work, dropping what does
/// not fit. Traffic slower than the drain rate never loses anything; a burst
/// of more than [`BACKLOG_CAPACITY`] deliveries at once always does.
#[derive(Debug)]
pub(crate) struct Backlog {
    state: Mutex<(f64, Instant)>,
}

impl Backlog {
    /// An empty queue.
    pub fn new() -> Backlog {
        Backlog {
            state: Mutex::new((0.0, Instant::now())),
        }
    }

    /// Whether one more delivery fits (and then it takes a slot).
    pub fn admit(&self) -> bool {
        let mut state = lock(&self.state);
        let (level, last) = &mut *state;
        let now = Instant::now();
        let drained = now.duration_since(*last).as_secs_f64() * BACKLOG_DRAIN_PER_SEC;
        *level = (*level - drained).max(0.0);
        *last = now;
        if *level + 1.0 > BACKLOG_CAPACITY {
            false
        } else {
            *level += 1.0;
            true
        }
    }
}

fn entry(event: Event) -> LedgerEntry {
    LedgerEntry {
        id: event.id,
        seq: event.seq,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(id: &str, seq: Value, subject: &str) -> Event {
        Event {
            id: id.into(),
            seq,
            subject: Some(subject.into()),
        }
    }

    fn ids(effects: &Effects) -> Vec<String> {
        effects
            .ledger
            .snapshot()
            .into_iter()
            .map(|e| e.id)
            .collect()
    }

    #[test]
    fn claim_is_once_per_id_even_across_threads() {
        let effects = Arc::new(Effects::new(OrderingPolicy::None, DEFAULT));
        let wins: usize = (0..16)
            .map(|_| {
                let e = Arc::clone(&effects);
                std::thread::spawn(move || e.claim("same") as usize)
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .sum();
        assert_eq!(wins, 1);
        assert!(effects.claim("other"));
    }

    const DEFAULT: Duration = Duration::from_millis(50);

    #[test]
    fn backlog_drops_a_burst_beyond_its_capacity_and_recovers() {
        let backlog = Backlog::new();
        let admitted = (0..20).filter(|_| backlog.admit()).count();
        // A few may drain while the loop runs, never many.
        assert!((8..12).contains(&admitted), "{admitted}");
        std::thread::sleep(Duration::from_millis(60));
        assert!(backlog.admit(), "drained after 60 ms at 200/s");
    }

    #[tokio::test]
    async fn last_write_wins_drops_older_per_subject() {
        let effects = Arc::new(Effects::new(OrderingPolicy::LastWriteWins, DEFAULT));
        effects.apply(ev("b", json!(2), "u1"), false);
        effects.apply(ev("a", json!(1), "u1"), false);
        effects.apply(ev("c", json!(1), "u2"), false);
        effects.apply(ev("d", json!(3), "u1"), false);
        assert_eq!(ids(&effects), ["b", "c", "d"]);
    }

    #[tokio::test]
    async fn strict_sorts_a_subject_after_its_window() {
        let effects = Arc::new(Effects::new(OrderingPolicy::Strict, DEFAULT));
        effects.apply(ev("t3", json!("2024-01-03T00:00:00Z"), "u"), false);
        effects.apply(ev("t1", json!("2024-01-01T00:00:00Z"), "u"), false);
        effects.apply(ev("t2", json!("2024-01-02T00:00:00Z"), "u"), false);
        assert!(ids(&effects).is_empty(), "held during the window");
        effects.settled(Duration::from_secs(2)).await;
        assert_eq!(ids(&effects), ["t1", "t2", "t3"]);
    }

    #[tokio::test]
    async fn strict_releases_a_subject_that_never_pauses() {
        let effects = Arc::new(Effects::new(
            OrderingPolicy::Strict,
            Duration::from_secs(60),
        ));
        for i in (0..MAX_HELD_PER_SUBJECT).rev() {
            effects.apply(ev(&i.to_string(), json!(i), "busy"), false);
        }
        let ledger = effects.ledger.snapshot();
        assert_eq!(ledger.len(), MAX_HELD_PER_SUBJECT);
        assert_eq!(ledger[0].id, "0");
        assert_eq!(effects.pending.load(AtomicOrdering::SeqCst), 0);
    }

    #[tokio::test]
    async fn arrival_processes_before_returning_in_arrival_order() {
        let effects = Arc::new(Effects::new(OrderingPolicy::Arrival, DEFAULT));
        effects.apply(ev("b", json!(2), "u"), false);
        assert_eq!(ids(&effects), ["b"], "processed before the answer");
        effects.apply(ev("a", json!(1), "u"), false);
        assert_eq!(ids(&effects), ["b", "a"]);
    }

    #[tokio::test]
    async fn processing_after_the_ack_reorders_by_ordering_key() {
        let effects = Arc::new(Effects::new(OrderingPolicy::Arrival, DEFAULT));
        effects.apply_after_ack(ev("b", json!(2), "u"));
        effects.apply_after_ack(ev("a", json!(1), "u"));
        assert!(ids(&effects).is_empty(), "acknowledged, not yet processed");
        effects.settled(Duration::from_secs(2)).await;
        assert_eq!(ids(&effects), ["a", "b"], "not the arrival order");
    }

    #[tokio::test]
    async fn ignoring_the_policy_processes_on_arrival() {
        let effects = Arc::new(Effects::new(OrderingPolicy::Strict, DEFAULT));
        effects.apply(ev("b", json!(2), "u"), true);
        effects.apply(ev("a", json!(1), "u"), true);
        assert_eq!(ids(&effects), ["b", "a"]);
    }

    #[tokio::test]
    async fn events_without_subject_or_seq_are_processed_on_arrival() {
        let effects = Arc::new(Effects::new(OrderingPolicy::Strict, DEFAULT));
        effects.apply(ev("a", Value::Null, "u"), false);
        effects.apply(
            Event {
                id: "b".into(),
                seq: json!(1),
                subject: None,
            },
            false,
        );
        assert_eq!(ids(&effects), ["a", "b"]);
    }
}
