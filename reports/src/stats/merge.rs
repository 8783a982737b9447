//! The exact merge of [`LoadStats`]: side by side (the shards of one run,
//! [`LoadStats::merge`]) or one after another (the load steps of a
//! scenario, [`LoadStats::append`]). Histograms add bucket by bucket, so a
//! merged percentile is the one a single recorder would have measured.

use hdrhistogram::Histogram;

use super::{LoadStats, Second, TypeStats, MAX_TIMELINE_SECONDS};

/// Why two [`LoadStats`] could not be merged.
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

impl LoadStats {
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

    /// Adds measured hiccups (µs, in a histogram of the same bounds).
    pub fn add_hiccups(&mut self, hiccups: &Histogram<u64>) -> Result<(), MergeError> {
        add(&mut self.hiccups, hiccups, "hiccups")
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use proptest::prelude::*;

    use super::super::tests::{assert_buckets_equal, names, sample, sample_strategy};
    use crate::histogram;
    use crate::record::{ErrorKind, Outcome, Recorder};
    use crate::LoadStats;

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
}
