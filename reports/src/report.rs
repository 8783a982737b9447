//! The versioned `report.json` model: one run's checks, load statistics,
//! capacity search and threshold results, with its (de)serialization, the
//! error type of the crate's file and format operations, and the pieces a
//! failure carries (body excerpts, header redaction, a `curl` reproduction).

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::load::{LoadStats, MergeError};
use crate::threshold::{ThresholdError, ThresholdResult};

/// Version of the `report.json` layout; bumped on any incompatible change.
pub const REPORT_VERSION: u32 = 1;

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
    /// Load statistics, when the run had a load phase.
    pub load: Option<LoadSection>,
    /// Capacity search, when the run searched one.
    pub capacity: Option<CapacitySection>,
    /// Threshold results.
    pub thresholds: Vec<ThresholdResult>,
}

/// What was run against what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInfo {
    /// The subcommand (`check`, `load`, `capacity`, `run`, `demo`).
    pub command: String,
    /// Provider profile name.
    pub provider: String,
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
    /// Pass, fail or skip.
    pub outcome: CheckOutcome,
    /// Why it failed or was skipped, in one line.
    pub reason: Option<String>,
    /// The failing requests (smallest first).
    pub failures: Vec<Failure>,
    /// How many cases were sent.
    pub cases: u32,
    /// How long the check took.
    pub duration_ms: u64,
}

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckOutcome {
    /// Everything held.
    Pass,
    /// Something did not hold.
    Fail,
    /// Could not be checked (the reason says why).
    Skip,
}

impl CheckOutcome {
    /// `pass`, `fail` or `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckOutcome::Pass => "pass",
            CheckOutcome::Fail => "fail",
            CheckOutcome::Skip => "skip",
        }
    }
}

/// One failing request of a check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    /// The variant sent (`valid`, `unknown_field`, `tampered_body`, ...).
    pub variant: String,
    /// What did not hold.
    pub message: String,
    /// What was sent.
    pub request: RequestSummary,
    /// The status received, if any.
    pub response_status: Option<u16>,
    /// The start of the response body.
    pub response_excerpt: String,
    /// The transport error, if the request got no status.
    pub error: Option<String>,
    /// A `curl` command line reproducing the request.
    pub curl: String,
}

/// What was sent, with secrets redacted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSummary {
    /// HTTP method.
    pub method: String,
    /// Request URL.
    pub url: String,
    /// Headers, with secrets already redacted.
    pub headers: Vec<(String, String)>,
    /// The start of the body.
    pub body_excerpt: String,
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
            load: None,
            capacity: None,
            thresholds: Vec::new(),
        }
    }

    /// Pretty-printed JSON, as written to `report.json`.
    pub fn to_json(&self) -> Result<String, ReportError> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// Reads a report, refusing other layout versions with a clear message
    /// before looking at anything else.
    pub fn from_json(text: &str) -> Result<Report, ReportError> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        match value.get("version").and_then(serde_json::Value::as_u64) {
            None => return Err(ReportError::MissingVersion),
            Some(v) if v != u64::from(REPORT_VERSION) => {
                return Err(ReportError::Version {
                    found: v,
                    expected: REPORT_VERSION,
                })
            }
            Some(_) => {}
        }
        Ok(serde_json::from_value(value)?)
    }

    /// True when no check failed, every threshold held and the run was not
    /// interrupted (a partial run proves nothing about the rest).
    pub fn passed(&self) -> bool {
        self.run.interrupted.is_none()
            && self.checks.iter().all(|c| c.outcome != CheckOutcome::Fail)
            && self.thresholds.iter().all(|t| t.passed)
    }

    /// How many check results have each outcome: `(pass, fail, skip)`.
    pub fn check_counts(&self) -> (usize, usize, usize) {
        self.checks
            .iter()
            .fold((0, 0, 0), |(p, f, s), c| match c.outcome {
                CheckOutcome::Pass => (p + 1, f, s),
                CheckOutcome::Fail => (p, f + 1, s),
                CheckOutcome::Skip => (p, f, s + 1),
            })
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
    if body.is_empty() {
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
    }

    #[test]
    fn from_json_names_the_version_problem() {
        let report = Report::new(RunInfo {
            command: "check".into(),
            provider: "authgear".into(),
            target: "http://127.0.0.1:1/".into(),
            seed: 7,
            shard: Some((1, 2)),
            scenario: None,
            interrupted: None,
        });
        let json = report.to_json().unwrap();
        assert_eq!(Report::from_json(&json).unwrap(), report);
        let future = json.replace("\"version\": 1", "\"version\": 99");
        let err = Report::from_json(&future).unwrap_err().to_string();
        assert!(
            err.contains("version 99") && err.contains("reads version 1"),
            "{err}"
        );
        assert!(matches!(
            Report::from_json("{\"tool\": \"x\"}"),
            Err(ReportError::MissingVersion)
        ));
        assert!(matches!(Report::from_json("[1"), Err(ReportError::Json(_))));
    }
}
