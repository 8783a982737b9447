//! Latency histograms, the versioned `report.json` model, and the renderers
//! (JUnit, Markdown, HTML, hgrm), plus exact merge and regression diff.
//!
//! Producers push [`Sample`]s into a [`Recorder`] ([`LoadStats`] for load),
//! the harness assembles a [`Report`], and everything a person or CI reads
//! is rendered here:
//!
//! ```
//! use reports::{LoadSection, LoadStats, Outcome, Recorder, Report, RunInfo, Sample};
//!
//! let mut stats = LoadStats::new(vec!["user.created".into()]);
//! for i in 0..100u64 {
//!     stats.record(&Sample {
//!         type_index: 0,
//!         latency_us: 1_000 + i * 10,
//!         service_us: 900 + i * 10,
//!         outcome: Outcome::Status(if i == 0 { 500 } else { 200 }),
//!         at_ms: i * 10,
//!     });
//! }
//! stats.set_window(std::time::Duration::from_secs(1));
//! let p99 = reports::threshold::parse("p99<250ms").unwrap();
//! let mut report = Report::new(RunInfo {
//!     command: "load".into(),
//!     provider: "authgear".into(),
//!     provider_file: None,
//!     target: "http://127.0.0.1:8080/hooks".into(),
//!     seed: 1,
//!     shard: None,
//!     scenario: None,
//!     interrupted: None,
//! });
//! report.thresholds.push(p99.evaluate(&stats));
//! report.load = Some(LoadSection { stats, model: "open 100/s".into(), requested_rate: Some(100.0), duration_ms: 1_000 });
//! assert!(report.passed());
//! let summary = reports::terminal_summary(&report);
//! assert!(summary.contains("✓ p99<250ms"));
//! let dir = tempfile::tempdir().unwrap();
//! let written = reports::write_dir(&report, dir.path()).unwrap();
//! assert_eq!(written.len(), reports::render::OUTPUTS.len());
//! assert_eq!(Report::from_json(&std::fs::read_to_string(&written[0]).unwrap()).unwrap(), report);
//! ```
#![deny(missing_docs)]

pub mod diff;
pub mod finding;
#[cfg(test)]
mod fixture;
pub mod histogram;
pub mod level;
pub mod merge;
pub mod record;
pub mod render;
pub mod report;
pub mod request;
pub mod stats;
pub mod threshold;

pub use diff::{diff, Diff, DiffRow};
pub use finding::{Finding, INLINE_BODY_MAX};
pub use level::Level;
pub use merge::{merge, merge_partial};
pub use record::{ErrorKind, Outcome, Recorder, Sample};
pub use render::terminal::{checks_table, terminal_summary};
pub use render::{prepare_dir, write_dir};
pub use report::{
    CapacitySection, CapacityStep, CheckResult, LoadSection, Report, ReportError, RunInfo,
    REPORT_VERSION,
};
pub use request::{curl_command, excerpt, redact_headers, RequestSummary};
pub use stats::{LoadStats, MergeError};
pub use threshold::{Threshold, ThresholdError, ThresholdResult};
