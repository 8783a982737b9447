//! The JSON form of [`LoadStats`] in `report.json`: counts in the clear for
//! `jq` users, histograms as base64 HdrHistogram V2 deflate. Reading checks
//! that the counts and the histograms agree, so a hand-edited report fails
//! with a message instead of rendering nonsense.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{LoadStats, Second, TypeStats, MAX_TIMELINE_SECONDS, STATUS_SLOTS};
use crate::histogram::{self, HistogramError, SIGFIG, TIMELINE_SIGFIG};
use crate::record::ErrorKind;

/// [`LoadStats`] as `report.json` holds it (see the module docs).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsJson {
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
    types: Vec<TypeJson>,
    status: BTreeMap<String, u64>,
    error_kinds: BTreeMap<ErrorKind, u64>,
    timeline: Vec<SecondJson>,
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
struct TypeJson {
    name: String,
    requests: u64,
    failures: u64,
    latency: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecondJson {
    second: u64,
    requests: u64,
    failures: u64,
    latency: String,
}

impl StatsJson {
    fn from_stats(stats: &LoadStats) -> Result<StatsJson, HistogramError> {
        let mut types = Vec::with_capacity(stats.types.len());
        for (name, t) in stats.types() {
            types.push(TypeJson {
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
                timeline.push(SecondJson {
                    second: i as u64,
                    requests: s.requests,
                    failures: s.failures,
                    latency: histogram::encode(h)?,
                });
            }
        }
        Ok(StatsJson {
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
        StatsJson::from_stats(self)
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for LoadStats {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<LoadStats, D::Error> {
        StatsJson::deserialize(deserializer)?
            .into_stats()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use proptest::prelude::*;

    use super::super::tests::{names, sample_strategy};
    use super::super::EXCERPT_BYTES;
    use crate::histogram;
    use crate::record::Recorder;
    use crate::LoadStats;

    proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

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
    }    }

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
