//! The versioned `report.json` model: one run's checks, load statistics,
//! capacity search and threshold results, with its (de)serialization
//! (reports of layout version 1 are upgraded by `v1.rs`) and the error
//! type of the crate's file and format operations.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use crate::finding::Finding;
pub use crate::level::Level;
use crate::stats::{LoadStats, MergeError};
use crate::threshold::{ThresholdError, ThresholdResult};

mod v1;

/// Version of the `report.json` layout; bumped on any incompatible change.
pub const REPORT_VERSION: u32 = 2;

/// Why a report could not be read, written, merged or rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The text is not a valid report.
    #[error("report.json is not a valid report: {0}")]
    Json(#[from] serde_json::Error),
    /// The report has no `version` field.
    #[error("report.json has no \"version\" field; is it a hookstorm report?")]
    MissingVersion,
    /// The report was written by an incompatible hookstorm.
    #[error("report.json has version {found}, this hookstorm reads version {expected}: re-run, or use the hookstorm that wrote it")]
    Version {
        /// Version found in the file.
        found: u64,
        /// Version this build reads.
        expected: u32,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Load statistics could not be merged.
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// A stored threshold expression no longer parses.
    #[error(transparent)]
    Threshold(#[from] ThresholdError),
    /// Reports to merge disagree on something that must be equal.
    #[error("cannot merge reports: {field} differs ({first:?} vs {other:?})")]
    Mismatch {
        /// The field.
        field: &'static str,
        /// Its value in the first report.
        first: String,
        /// Its value in the disagreeing report.
        other: String,
    },
    /// `merge` was given no reports.
    #[error("cannot merge an empty list of reports")]
    NothingToMerge,
    /// `merge` was given a report that is not a shard of a run.
    #[error(
        "cannot merge reports: report {index} is not a shard (run each part with --shard K/N)"
    )]
    NotAShard {
        /// Its position among the reports, from 1.
        index: usize,
    },
    /// `merge` was given the same shard twice, which would count it twice.
    #[error("cannot merge reports: shard {k}/{n} is given twice (reports {first} and {second})")]
    DuplicateShard {
        /// The shard, from 1.
        k: u32,
        /// Of how many.
        n: u32,
        /// Position of its first report, from 1.
        first: usize,
        /// Position of the repeat, from 1.
        second: usize,
    },
    /// `merge` was given shards of runs split differently.
    #[error("cannot merge reports: shard counts differ ({first} vs {other}): the parts are of different runs")]
    ShardCounts {
        /// The first report's N.
        first: u32,
        /// The disagreeing report's N.
        other: u32,
    },
    /// `merge` was given some shards of a run but not all of them.
    #[error("cannot merge reports: shards {missing} of {n} are missing; merge every part, or pass --allow-partial to merge these (the result is marked partial)")]
    IncompleteShards {
        /// The missing shard numbers, `2, 4`.
        missing: String,
        /// Of how many.
        n: u32,
    },
    /// `diff` was given reports of different runs.
    #[error("cannot compare reports: the {field} differs (base {base:?}, new {new:?}); compare runs of the same command and provider")]
    Incomparable {
        /// The field.
        field: &'static str,
        /// Its value in the base report.
        base: String,
        /// Its value in the new report.
        new: String,
    },
    /// A renderer failed.
    #[error("cannot render {what}: {detail}")]
    Render {
        /// Which output.
        what: &'static str,
        /// What went wrong.
        detail: String,
    },
}

/// One run's results, as written to `report.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Layout version, [`REPORT_VERSION`].
    pub version: u32,
    /// The tool and version that wrote it, `hookstorm x.y.z`.
    pub tool: String,
    /// When the report was created (RFC 3339, UTC).
    pub created_at: String,
    /// What was run against what.
    pub run: RunInfo,
    /// Conformance check results, one per check × event type.
    pub checks: Vec<CheckResult>,
    /// What did not simply pass, grouped: one finding per check, variant,
    /// level and status class, listing its event types; most severe first.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Whether NON-STRICT findings gate this run (`--strict`).
    #[serde(default)]
    pub strict: bool,
    /// Why the run ended before every probe was sent (receiver
    /// unresponsive, `--max-time`, `--max-failures`), if it did.
    #[serde(default)]
    pub stopped: Option<String>,
    /// Load statistics, when the run had a load phase.
    pub load: Option<LoadSection>,
    /// Capacity search, when the run searched one.
    pub capacity: Option<CapacitySection>,
    /// Threshold results.
    pub thresholds: Vec<ThresholdResult>,
    /// Set on a merge of only some shards of a run (`report merge
    /// --allow-partial`): which ones, e.g. `shards 1, 3 of 4`. Its counts
    /// are not the whole run's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<String>,
}

/// What was run against what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInfo {
    /// The subcommand (`check`, `load`, `capacity`, `run`, `demo`).
    pub command: String,
    /// Provider profile name.
    pub provider: String,
    /// The provider file the run declared its provider in, as given;
    /// `None` for a built-in provider (and in reports written before the
    /// field existed). `replay` resolves a built-in provider by name and
    /// asks for the file otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_file: Option<String>,
    /// Target URL.
    pub target: String,
    /// Seed of the generators.
    pub seed: u64,
    /// `(k, n)` when this is shard k of n (1-based).
    pub shard: Option<(u32, u32)>,
    /// Scenario file, for `run`.
    pub scenario: Option<String>,
    /// The signal that ended the run early (`SIGINT`, `SIGTERM`): the
    /// results cover only what ran before it, and the run never passes.
    /// `None` when the run went to its end (and in reports written before
    /// the field existed).
    #[serde(default)]
    pub interrupted: Option<String>,
}

/// The result of one check for one event type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckResult {
    /// Stable check id (`accepts_valid`, ...).
    pub id: String,
    /// Event type checked.
    pub event_type: String,
    /// The provider rule the check enforces.
    pub rule: String,
    /// One-line description of the check.
    pub description: String,
    /// The most severe level among its probes; PASS when all held,
    /// SKIPPED when nothing applied.
    pub level: Level,
    /// Why it did not simply pass, in one line.
    pub reason: Option<String>,
    /// Ids of the report's findings this result contributes to (`F3`).
    #[serde(default)]
    pub findings: Vec<String>,
    /// How many cases were sent.
    pub cases: u32,
    /// How long the check took.
    pub duration_ms: u64,
}

/// The load phase of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSection {
    /// The measurements.
    pub stats: LoadStats,
    /// Arrival model in words (`open 500/s`, `closed 32 senders`, ...).
    pub model: String,
    /// Requested arrival rate, for open models.
    pub requested_rate: Option<f64>,
    /// Measured duration of the load phase.
    pub duration_ms: u64,
}

/// The capacity search of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacitySection {
    /// The SLO expressions each step had to meet.
    pub slo: Vec<String>,
    /// The steps tried, in order.
    pub steps: Vec<CapacityStep>,
    /// The highest rate that met the SLO, if any did.
    pub best_rate: Option<f64>,
}

/// One rate tried by the capacity search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityStep {
    /// Requested arrival rate (requests per second).
    pub rate: f64,
    /// Achieved rate.
    pub achieved: f64,
    /// Median latency, µs.
    pub p50_us: u64,
    /// 99th percentile latency, µs.
    pub p99_us: u64,
    /// Share of failed requests.
    pub error_rate: f64,
    /// Whether the step met the SLO.
    pub passed: bool,
}

impl Report {
    /// An empty report of the current version, created now.
    pub fn new(run: RunInfo) -> Report {
        Report {
            version: REPORT_VERSION,
            tool: format!("hookstorm {}", env!("CARGO_PKG_VERSION")),
            created_at: rfc3339(SystemTime::now()),
            run,
            checks: Vec::new(),
            findings: Vec::new(),
            strict: false,
            stopped: None,
            load: None,
            capacity: None,
            thresholds: Vec::new(),
            partial: None,
        }
    }

    /// Pretty-printed JSON, as written to `report.json`.
    pub fn to_json(&self) -> Result<String, ReportError> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// Reads a report, refusing unknown layout versions with a clear
    /// message before looking at anything else; version-1 reports (pass /
    /// fail / skip with one failure per row) are read into this layout.
    pub fn from_json(text: &str) -> Result<Report, ReportError> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        match value.get("version").and_then(serde_json::Value::as_u64) {
            None => Err(ReportError::MissingVersion),
            Some(1) => Ok(serde_json::from_value::<v1::Report>(value)?.upgrade()),
            Some(v) if v == u64::from(REPORT_VERSION) => Ok(serde_json::from_value(value)?),
            Some(v) => Err(ReportError::Version {
                found: v,
                expected: REPORT_VERSION,
            }),
        }
    }

    /// True when no check result gates (FAIL or ERROR, NON-STRICT under
    /// `strict`), every threshold held, and the run was neither stopped nor
    /// interrupted (a partial run proves nothing about the rest).
    pub fn passed(&self) -> bool {
        self.run.interrupted.is_none()
            && self.checks.iter().all(|c| !c.level.gates(self.strict))
            && self.thresholds.iter().all(|t| t.passed)
            && self.stopped.is_none()
    }

    /// How many check results have each level, most severe first
    /// (`Level::BY_SEVERITY` order).
    pub fn level_counts(&self) -> [(Level, usize); 6] {
        Level::BY_SEVERITY.map(|l| (l, self.checks.iter().filter(|c| c.level == l).count()))
    }

    /// How many check results passed, gate the run, and neither:
    /// `(pass, gating, other)`.
    pub fn check_counts(&self) -> (usize, usize, usize) {
        self.checks.iter().fold((0, 0, 0), |(p, f, s), c| {
            if c.level == Level::Pass {
                (p + 1, f, s)
            } else if c.level.gates(self.strict) {
                (p, f + 1, s)
            } else {
                (p, f, s + 1)
            }
        })
    }

    /// Whether checks were left unjudged: an ERROR result, or a stopped run.
    pub fn unjudged(&self) -> bool {
        self.stopped.is_some() || self.checks.iter().any(|c| c.level == Level::Error)
    }

    /// The finding with this id (`F3`, case-insensitive).
    pub fn finding(&self, id: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.id.eq_ignore_ascii_case(id))
    }

    /// Appends the check results and findings of another run (a scenario's
    /// check step, one provider of the demo): findings are grouped again
    /// and renumbered, `label` (when given) prefixes the part's event types,
    /// and a stopped part stops the whole.
    pub fn append_checks(&mut self, part: Report, label: Option<&str>) {
        let relabel = |t: String| match label {
            Some(l) => format!("{l} {t}"),
            None => t,
        };
        self.checks.extend(part.checks.into_iter().map(|mut c| {
            c.event_type = relabel(std::mem::take(&mut c.event_type));
            c
        }));
        let mut findings = std::mem::take(&mut self.findings);
        findings.extend(part.findings.into_iter().map(|mut f| {
            f.event_types = f.event_types.into_iter().map(relabel).collect();
            f
        }));
        self.findings = crate::finding::group(findings);
        self.stopped = self.stopped.take().or(part.stopped);
        self.link_findings();
    }

    /// Sets every check result's `findings` to the ids of the findings
    /// that list its check and event type.
    pub fn link_findings(&mut self) {
        for c in &mut self.checks {
            c.findings = self
                .findings
                .iter()
                .filter(|f| f.check == c.id && f.event_types.contains(&c.event_type))
                .map(|f| f.id.clone())
                .collect();
        }
    }
}

/// The last second [`humantime`] can write (9999-12-31T23:59:59Z).
const LAST_RFC3339_SECOND: Duration = Duration::from_secs(253_402_300_799);

/// Formats a time as RFC 3339 in UTC with second precision
/// (`2026-11-23T16:26:33Z`); times before 1970 print as the epoch, times
/// after year 9999 as its last second (humantime writes four-digit years).
pub fn rfc3339(at: SystemTime) -> String {
    let at = at.clamp(UNIX_EPOCH, UNIX_EPOCH + LAST_RFC3339_SECOND);
    humantime::format_rfc3339_seconds(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_451_193)),
            "2026-11-23T16:26:33Z"
        );
        // Sub-second parts are cut, not rounded, as before humantime.
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(1_795_451_193_999)),
            "2026-11-23T16:26:33Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH - Duration::from_secs(1)),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(u64::MAX / 4)),
            "9999-12-31T23:59:59Z"
        );
    }

    #[test]
    fn from_json_names_the_version_problem() {
        let report = Report::new(RunInfo {
            command: "check".into(),
            provider_file: None,
            provider: "authgear".into(),
            target: "http://127.0.0.1:1/".into(),
            seed: 7,
            shard: Some((1, 2)),
            scenario: None,
            interrupted: None,
        });
        let json = report.to_json().unwrap();
        assert_eq!(Report::from_json(&json).unwrap(), report);
        let future = json.replace("\"version\": 2", "\"version\": 99");
        let err = Report::from_json(&future).unwrap_err().to_string();
        assert!(
            err.contains("version 99") && err.contains("reads version 2"),
            "{err}"
        );
        assert!(matches!(
            Report::from_json("{\"tool\": \"x\"}"),
            Err(ReportError::MissingVersion)
        ));
        assert!(matches!(Report::from_json("[1"), Err(ReportError::Json(_))));
    }
}
