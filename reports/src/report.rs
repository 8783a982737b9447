//! The versioned `report.json` model: one run's checks, load statistics,
//! capacity search and threshold results, with its (de)serialization, the
//! error type of the crate's file and format operations, and the pieces a
//! failure carries (body excerpts, header redaction, a `curl` reproduction).

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use crate::finding::Finding;
pub use crate::level::Level;
use crate::load::{LoadStats, MergeError};
use crate::threshold::{ThresholdError, ThresholdResult};

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

/// What was sent, with secrets redacted: everything a replay needs besides
/// the secret (method, URL, headers as sent, the body or its `repro/` file,
/// the event type and variant; the provider is the run's).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSummary {
    /// HTTP method.
    pub method: String,
    /// Request URL.
    pub url: String,
    /// Headers as sent, with secrets already redacted.
    pub headers: Vec<(String, String)>,
    /// The start of the body.
    pub body_excerpt: String,
    /// The event type the request carried.
    #[serde(default)]
    pub event_type: String,
    /// The whole body, when it is text of at most [`INLINE_BODY_MAX`](crate::INLINE_BODY_MAX) bytes.
    #[serde(default)]
    pub body: Option<String>,
    /// Otherwise the file holding the exact bytes, relative to the report
    /// directory (`repro/F3.body`).
    #[serde(default)]
    pub body_file: Option<String>,
    /// Length of the body in bytes.
    #[serde(default)]
    pub body_len: usize,
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

/// Version-1 reports: results were pass / fail / skip and carried their
/// failures inline. Read only, to upgrade.
mod v1 {
    use serde::Deserialize;

    use super::{CapacitySection, Level, LoadSection, RequestSummary, RunInfo};
    use crate::finding::Finding;
    use crate::threshold::ThresholdResult;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Report {
        tool: String,
        created_at: String,
        run: RunInfo,
        checks: Vec<CheckResult>,
        load: Option<LoadSection>,
        capacity: Option<CapacitySection>,
        thresholds: Vec<ThresholdResult>,
        #[allow(dead_code)]
        version: u32,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct CheckResult {
        id: String,
        event_type: String,
        rule: String,
        description: String,
        outcome: Outcome,
        reason: Option<String>,
        failures: Vec<Failure>,
        cases: u32,
        duration_ms: u64,
    }

    #[derive(Clone, Copy, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Outcome {
        Pass,
        Fail,
        Skip,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Failure {
        variant: String,
        message: String,
        request: RequestSummary,
        response_status: Option<u16>,
        response_excerpt: String,
        error: Option<String>,
        curl: String,
    }

    impl Report {
        /// The same run in the current layout: each failure becomes a FAIL
        /// finding (grouped like new ones), its `curl` line kept as written.
        pub(super) fn upgrade(self) -> super::Report {
            let mut findings = Vec::new();
            let checks = self
                .checks
                .into_iter()
                .map(|c| {
                    let level = match c.outcome {
                        Outcome::Pass => Level::Pass,
                        Outcome::Fail => Level::Fail,
                        Outcome::Skip => Level::Skipped,
                    };
                    for f in c.failures {
                        let mut request = f.request;
                        request.event_type = c.event_type.clone();
                        findings.push(Finding {
                            id: String::new(),
                            check: c.id.clone(),
                            variant: f.variant,
                            level,
                            status_class: crate::finding::status_class(
                                f.response_status,
                                f.error.as_deref(),
                            ),
                            event_types: vec![c.event_type.clone()],
                            probes: 1,
                            message: f.message,
                            request,
                            response_status: f.response_status,
                            response_excerpt: f.response_excerpt,
                            error: f.error,
                            curl: f.curl,
                            expires: None,
                            repro: None,
                        });
                    }
                    super::CheckResult {
                        id: c.id,
                        event_type: c.event_type,
                        rule: c.rule,
                        description: c.description,
                        level,
                        reason: c.reason,
                        findings: Vec::new(),
                        cases: c.cases,
                        duration_ms: c.duration_ms,
                    }
                })
                .collect();
            let mut report = super::Report {
                version: super::REPORT_VERSION,
                tool: self.tool,
                created_at: self.created_at,
                run: self.run,
                checks,
                findings: crate::finding::group(findings),
                strict: false,
                stopped: None,
                partial: None,
                load: self.load,
                capacity: self.capacity,
                thresholds: self.thresholds,
            };
            report.link_findings();
            report
        }
    }
}

/// The start of `bytes` as text (invalid UTF-8 replaced), at most `max`
/// bytes of it, ending in `…(N more bytes)` when cut. Never splits a
/// multi-byte character.
pub fn excerpt(bytes: &[u8], max: usize) -> String {
    if bytes.len() <= max {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut cut = max;
    if let Err(e) = std::str::from_utf8(&bytes[..cut]) {
        // An incomplete sequence at the very end: cut before it. Invalid
        // bytes elsewhere are left for the lossy conversion to replace.
        if e.error_len().is_none() {
            cut = e.valid_up_to();
        }
    }
    format!(
        "{}…({} more bytes)",
        String::from_utf8_lossy(&bytes[..cut]),
        bytes.len() - cut
    )
}

/// Replaces the values of the named headers (case-insensitive) with
/// `<redacted>`, keeping an auth scheme word (`Bearer <redacted>`).
///
/// The caller decides what is secret: an `Authorization` bearer token *is*
/// the shared secret, so it is always redacted; an HMAC signature is derived
/// from the secret and the body and reveals nothing, so it is kept and the
/// `curl` line reproduces a signature failure exactly.
pub fn redact_headers(
    headers: &[(String, String)],
    secret_header_names: &[&str],
) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            if secret_header_names
                .iter()
                .any(|s| s.eq_ignore_ascii_case(name))
            {
                let redacted = match value.split_once(' ') {
                    Some((scheme, _))
                        if ["bearer", "basic", "token"]
                            .iter()
                            .any(|s| s.eq_ignore_ascii_case(scheme)) =>
                    {
                        format!("{scheme} <redacted>")
                    }
                    _ => "<redacted>".to_string(),
                };
                (name.clone(), redacted)
            } else {
                (name.clone(), value.clone())
            }
        })
        .collect()
}

/// A copy-pasteable POSIX shell `curl` command sending this request.
///
/// Text bodies are passed with `--data-binary 'quoted'`; bodies with control
/// characters or invalid UTF-8 are piped through `printf` with octal
/// escapes, so the exact bytes (even NUL) reach the receiver.
pub fn curl_command(method: &str, url: &str, headers: &[(String, String)], body: &[u8]) -> String {
    let mut args = vec!["curl".to_string(), "-sS".into(), "-i".into()];
    args.push("-X".into());
    args.push(shell_quote(method));
    for (name, value) in headers {
        args.push("-H".into());
        args.push(shell_quote(&format!("{name}: {value}")));
    }
    let text = std::str::from_utf8(body)
        .ok()
        .filter(|t| !t.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
    let mut prefix = String::new();
    if body.is_empty() && method == "GET" {
        // A GET (Okta's verification challenge) has no body at all.
    } else if body.is_empty() {
        // An explicit empty body, so curl sends Content-Length: 0.
        args.push("--data-binary".into());
        args.push("''".into());
    } else if let Some(text) = text {
        args.push("--data-binary".into());
        args.push(shell_quote(text));
    } else {
        prefix = format!("printf {} | ", shell_quote(&printf_escape(body)));
        args.push("--data-binary".into());
        args.push("@-".into());
    }
    args.push(shell_quote(url));
    format!("{prefix}{}", args.join(" "))
}

/// Quotes `s` for a POSIX shell: bare when it is only safe characters,
/// otherwise in single quotes with each `'` written as `'\''`.
fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A `printf` format string producing exactly `bytes`.
fn printf_escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        match b {
            b'%' => out.push_str("%%"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out
}

/// Formats a time as RFC 3339 in UTC with second precision
/// (`2026-11-23T16:26:33Z`); times before 1970 print as the epoch.
pub fn rfc3339(at: SystemTime) -> String {
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm), in unsigned arithmetic
    // since days >= 0.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Duration;

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
    }

    #[test]
    fn excerpt_cuts_on_char_boundaries_and_counts_the_rest() {
        assert_eq!(excerpt(b"hello", 10), "hello");
        assert_eq!(excerpt(b"hello world", 5), "hello…(6 more bytes)");
        // "é" is two bytes: a cut after its first byte backs off before it.
        assert_eq!(excerpt("abé".as_bytes(), 3), "ab…(2 more bytes)");
        assert_eq!(excerpt(&[0xff, b'a'], 10), "\u{fffd}a");
    }

    #[test]
    fn redacts_only_named_headers_case_insensitively() {
        let headers = vec![
            ("Authorization".to_string(), "Bearer s3cret".to_string()),
            ("x-authgear-body-signature".to_string(), "abcd".to_string()),
            ("X-Api-Key".to_string(), "k3y".to_string()),
        ];
        let out = redact_headers(&headers, &["authorization", "x-api-key"]);
        assert_eq!(out[0].1, "Bearer <redacted>");
        assert_eq!(out[1].1, "abcd", "signatures are kept so curl reproduces");
        assert_eq!(out[2].1, "<redacted>");
        assert!(!format!("{out:?}").contains("s3cret"));
    }

    /// Runs the generated command line through `sh`, with `curl` replaced by
    /// a function printing its arguments and stdin, to prove the quoting
    /// delivers the exact bytes.
    fn run_in_shell(cmd: &str) -> Vec<u8> {
        let script = format!(
            "curl() {{ for a in \"$@\"; do printf '[%s]' \"$a\"; done; \
             case \"$*\" in *@-*) printf '<'; cat; printf '>';; esac; }}\n{cmd}\n"
        );
        let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    #[test]
    fn curl_quoting_survives_single_quotes_and_binary() {
        let headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        let body = br#"{"name":"O'Brien \"$HOME\" `id` \\n"}"#;
        let cmd = curl_command(
            "POST",
            "http://127.0.0.1:8080/hooks?a=1&b=2",
            &headers,
            body,
        );
        let out = run_in_shell(&cmd);
        let expected = format!(
            "[-sS][-i][-X][POST][-H][Content-Type: application/json][--data-binary][{}][http://127.0.0.1:8080/hooks?a=1&b=2]",
            String::from_utf8_lossy(body)
        );
        assert_eq!(String::from_utf8_lossy(&out), expected);

        let binary = [b'{', 0, 0xff, b'%', b'\\', b'\'', b'\n', b'}'];
        let cmd = curl_command("POST", "http://127.0.0.1/", &[], &binary);
        assert!(cmd.starts_with("printf "), "{cmd}");
        let out = run_in_shell(&cmd);
        let mut expected = b"[-sS][-i][-X][POST][--data-binary][@-][http://127.0.0.1/]<".to_vec();
        expected.extend_from_slice(&binary);
        expected.push(b'>');
        assert_eq!(out, expected);

        // A GET goes without a body (curl would add a form content type).
        let cmd = curl_command("GET", "http://127.0.0.1/", &[], b"");
        assert_eq!(cmd, "curl -sS -i -X GET http://127.0.0.1/");
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

    /// A report written by hookstorm before verdict levels (version 1):
    /// results pass/fail/skip, failures inline with their curl lines, one
    /// of them 20 KB.
    const V1: &str = include_str!("../tests/fixtures/report-v1.json");

    #[test]
    fn version_1_reports_still_read_render_merge_and_diff() {
        let old = Report::from_json(V1).unwrap();
        assert_eq!(old.version, REPORT_VERSION);
        let levels: Vec<Level> = old.checks.iter().map(|c| c.level).collect();
        assert_eq!(
            levels,
            [
                Level::Pass,
                Level::Fail,
                Level::Fail,
                Level::Fail,
                Level::Skipped
            ]
        );
        // The two oversized-body failures are one finding over two types.
        assert_eq!(old.findings.len(), 2, "{:#?}", old.findings);
        let oversized = old
            .findings
            .iter()
            .find(|f| f.variant == "oversized-body")
            .unwrap();
        assert_eq!(oversized.event_types, ["user.created", "user.deleted"]);
        assert!(
            oversized.curl.len() < 1024,
            "no 20 KB curl line re-rendered"
        );
        let tampered = old.finding("f2").or(old.finding("f1")).unwrap();
        assert!(tampered.curl.starts_with("curl ") || tampered.variant == "oversized-body");
        assert_eq!(old.checks[1].findings, std::slice::from_ref(&oversized.id));
        assert!(!old.passed());

        let dir = tempfile::tempdir().unwrap();
        crate::write_dir(&old, dir.path()).unwrap();
        let again = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
        assert_eq!(Report::from_json(&again).unwrap(), old);
        // Two shards of one run, as `report merge` wants them.
        let mut first = old.clone();
        first.run.shard = Some((1, 2));
        let mut second = old.clone();
        second.run.shard = Some((2, 2));
        let merged = crate::merge(&[first, second]).unwrap();
        assert_eq!(merged.findings.len(), 2);
        assert_eq!(merged.checks[1].cases, 6);
        let d = crate::diff(&old, &merged, 0.1).unwrap();
        assert!(d.newly_failing_checks.is_empty());
    }
}
