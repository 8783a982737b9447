//! Renderers: every output a report becomes (`report.json`, `junit.xml`,
//! `summary.md`, `latency.hgrm`, `index.html`, terminal text), the one
//! function writing a report directory, and the per-check aggregation the
//! text renderers share.

pub mod hgrm;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;

use std::path::{Path, PathBuf};

use crate::report::{CheckOutcome, CheckResult, Report, ReportError};

/// Every file a report directory may hold, in the order they are written.
/// A run removes those it does not produce, so the directory holds one run.
pub const OUTPUTS: [&str; 5] = [
    "report.json",
    "junit.xml",
    "summary.md",
    "latency.hgrm",
    "index.html",
];

/// Makes sure `dir` can take a report, before a run sends anything: creates
/// it (parents too), refuses a path that is not a directory, and proves it
/// writable by creating and removing a file in it (permission bits alone
/// do not say: root, read-only mounts, ACLs).
pub fn prepare_dir(dir: &Path) -> Result<(), ReportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Io { path, source }
    };
    if dir.exists() && !dir.is_dir() {
        return Err(ReportError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "exists and is not a directory",
            ),
        });
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let probe = dir.join(format!(".hookstorm-write-test.{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(io(dir))?;
    std::fs::remove_file(&probe).map_err(io(&probe))
}

/// Writes every output of `report` into `dir` (created if missing) and
/// returns the paths written: `report.json`, `junit.xml`, `summary.md`,
/// `index.html`, and `latency.hgrm` when the report has a load section.
///
/// Never tears a file: everything is rendered first, each file is written
/// under a temporary name and renamed over the old one (a kill mid-write
/// leaves the previous file whole). Outputs of an earlier run this one
/// does not produce (a `latency.hgrm` beside a report without load) are
/// removed, and so are temporary files a killed run left.
pub fn write_dir(report: &Report, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let mut outputs = vec![
        ("report.json", json::render(report)?),
        ("junit.xml", junit::render(report)?),
        ("summary.md", markdown::render(report)),
    ];
    if let Some(load) = &report.load {
        outputs.push(("latency.hgrm", hgrm::render(load.stats.latency())));
    }
    outputs.push(("index.html", html::render(report)?));
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    remove_stale_temporaries(dir);
    let mut staged = Vec::with_capacity(outputs.len());
    for (name, text) in &outputs {
        let temporary = dir.join(temporary_name(name));
        if let Err(source) = write_synced(&temporary, text.as_bytes()) {
            let _ = std::fs::remove_file(&temporary);
            for (t, _) in &staged {
                let _ = std::fs::remove_file(t);
            }
            return Err(ReportError::Io {
                path: dir.join(name),
                source,
            });
        }
        staged.push((temporary, dir.join(name)));
    }
    let mut written = Vec::with_capacity(staged.len());
    for (temporary, path) in staged {
        std::fs::rename(&temporary, &path).map_err(|source| ReportError::Io {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    for name in OUTPUTS {
        if !outputs.iter().any(|(n, _)| *n == name) {
            let stale = dir.join(name);
            match std::fs::remove_file(&stale) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(ReportError::Io {
                        path: stale,
                        source: e,
                    })
                }
                _ => {}
            }
        }
    }
    Ok(written)
}

/// `.NAME.PID.tmp`: hidden, and per process so two runs writing one
/// directory do not share a temporary file.
fn temporary_name(name: &str) -> String {
    format!(".{name}.{}.tmp", std::process::id())
}

/// Whether `file` is a temporary of one of [`OUTPUTS`] (any process's).
fn is_temporary(file: &str) -> bool {
    OUTPUTS.iter().any(|name| {
        file.strip_prefix('.')
            .and_then(|f| f.strip_prefix(name))
            .and_then(|f| f.strip_prefix('.'))
            .and_then(|f| f.strip_suffix(".tmp"))
            .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Removes temporaries a killed run left behind (best effort: they are
/// hidden, and the next run's names differ anyway).
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_str().is_some_and(is_temporary) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Writes `bytes` to a new `path` and flushes it to disk, so the rename
/// that follows never exposes a file the kernel has not stored.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// One line of the aggregated checks table: a check id with its event types
/// collapsed, or one failing event type of it.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckRow {
    /// Check id.
    pub id: String,
    /// The event type, or `(n types)` / `(n other types)` when collapsed.
    pub types: String,
    /// `pass`, `FAIL`, `skip`, or `pass` with skips noted in the reason.
    pub result: &'static str,
    /// Whether this row is a failure.
    pub failed: bool,
    /// Cases sent, summed over the collapsed types.
    pub cases: u64,
    /// Short reason (failure reason, skip reason).
    pub reason: String,
}

/// Longest reason shown in aggregated tables; the full text is in the
/// report and in the failure details.
const SHORT_REASON: usize = 72;

/// Aggregates check results per check id, in order of first appearance:
/// every failing event type gets its own row, the rest collapse into one.
pub fn check_rows(report: &Report) -> Vec<CheckRow> {
    let mut ids: Vec<&str> = Vec::new();
    for c in &report.checks {
        if !ids.contains(&c.id.as_str()) {
            ids.push(&c.id);
        }
    }
    let mut rows = Vec::new();
    for id in ids {
        let (failing, others): (Vec<&CheckResult>, Vec<&CheckResult>) = report
            .checks
            .iter()
            .filter(|c| c.id == id)
            .partition(|c| c.outcome == CheckOutcome::Fail);
        for c in &failing {
            rows.push(CheckRow {
                id: id.to_string(),
                types: c.event_type.clone(),
                result: "FAIL",
                failed: true,
                cases: u64::from(c.cases),
                reason: short(
                    c.reason
                        .as_deref()
                        .unwrap_or_else(|| c.failures.first().map_or("", |f| f.message.as_str())),
                ),
            });
        }
        if others.is_empty() {
            continue;
        }
        let types = match (others.len(), failing.is_empty()) {
            (1, _) => others[0].event_type.clone(),
            (n, true) => format!("({n} types)"),
            (n, false) => format!("({n} other types)"),
        };
        let skipped: Vec<_> = others
            .iter()
            .filter(|c| c.outcome == CheckOutcome::Skip)
            .collect();
        let (result, reason) = if skipped.is_empty() {
            ("pass", String::new())
        } else {
            let why = skipped[0].reason.as_deref().unwrap_or("");
            if skipped.len() == others.len() {
                ("skip", short(why))
            } else {
                ("pass", short(&format!("{} skipped: {why}", skipped.len())))
            }
        };
        rows.push(CheckRow {
            id: id.to_string(),
            types,
            result,
            failed: false,
            cases: others.iter().map(|c| u64::from(c.cases)).sum(),
            reason,
        });
    }
    rows
}

fn short(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() <= SHORT_REASON {
        line.to_string()
    } else {
        let cut: String = line.chars().take(SHORT_REASON - 1).collect();
        format!("{cut}…")
    }
}

/// `PASS` or `FAIL` for the whole report, or `INTERRUPTED` when a signal
/// ended the run early (a partial run neither passes nor fails as a whole).
pub fn verdict_word(report: &Report) -> &'static str {
    if report.run.interrupted.is_some() {
        "INTERRUPTED"
    } else if report.passed() {
        "PASS"
    } else {
        "FAIL"
    }
}

/// The line every output of an interrupted run carries, saying the
/// results are partial; `None` for a run that went to its end.
pub fn interrupted_banner(report: &Report) -> Option<String> {
    report.run.interrupted.as_ref().map(|signal| {
        format!(
            "interrupted by {signal}: partial results, covering only what ran before the signal"
        )
    })
}

/// The histograms the percentile tables show, labelled: latency, service
/// time, and the generator's hiccups when they were measured.
fn percentile_rows(
    stats: &crate::load::LoadStats,
) -> Vec<(&'static str, &hdrhistogram::Histogram<u64>)> {
    let mut rows = vec![("latency", stats.latency()), ("service", stats.service())];
    if !stats.hiccups().is_empty() {
        rows.push(("generator hiccups", stats.hiccups()));
    }
    rows
}

#[cfg(test)]
pub(crate) mod fixture {
    //! A realistic report used by the renderer tests: checks that pass, fail
    //! and skip, a load section with several types, statuses and errors
    //! over a few seconds, thresholds, and a capacity search.

    use std::time::Duration;

    use crate::load::LoadStats;
    use crate::record::{ErrorKind, Outcome, Recorder, Sample};
    use crate::report::*;
    use crate::threshold::parse;

    pub fn check(id: &str, event_type: &str, outcome: CheckOutcome) -> CheckResult {
        let body = br#"{"id":"evt_1","type":"user.created","payload":{"name":"O'Brien"}}"#;
        let headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            (
                "x-authgear-body-signature".to_string(),
                "deadbeef".to_string(),
            ),
        ];
        let failures = if outcome == CheckOutcome::Fail {
            vec![Failure {
                variant: "tampered_body".into(),
                message: "expected 401/403, got 200 <ok> & \"accepted\"".into(),
                request: RequestSummary {
                    method: "POST".into(),
                    url: "http://127.0.0.1:8080/hooks".into(),
                    headers: headers.clone(),
                    body_excerpt: excerpt(body, 64),
                },
                response_status: Some(200),
                response_excerpt: "{\"ok\":true}".into(),
                error: None,
                curl: curl_command("POST", "http://127.0.0.1:8080/hooks", &headers, body),
            }]
        } else {
            Vec::new()
        };
        CheckResult {
            id: id.into(),
            event_type: event_type.into(),
            rule: "signature must be verified".into(),
            description: format!("{id} holds"),
            outcome,
            reason: match outcome {
                CheckOutcome::Pass => None,
                CheckOutcome::Fail => Some("accepted a tampered body with 200".into()),
                CheckOutcome::Skip => Some("no ledger: pass --ledger-url".into()),
            },
            failures,
            cases: 10,
            duration_ms: 42,
        }
    }

    pub fn stats(scale: u64) -> LoadStats {
        let names = vec!["user.created".to_string(), "user.deleted".to_string()];
        let mut stats = LoadStats::new(names);
        for i in 0..3_000u64 {
            let outcome = match i % 500 {
                7 => Outcome::Status(500),
                9 => Outcome::Error(ErrorKind::Timeout),
                11 => Outcome::Status(401),
                _ => Outcome::Status(200),
            };
            let latency_us =
                (200 + (i * 7919) % 5_000 + if i % 100 == 0 { 40_000 } else { 0 }) * scale;
            stats.record(&Sample {
                type_index: (i % 2) as u16,
                latency_us,
                service_us: latency_us * 3 / 4,
                outcome,
                at_ms: i,
            });
        }
        stats.count_missed(5);
        // 600 naps of the generator's hiccup meter, one of which woke 12 ms late.
        let mut hiccups = crate::histogram::latency_histogram();
        hiccups.record_n(40, 599).unwrap();
        hiccups.record(12_000).unwrap();
        stats.add_hiccups(&hiccups).unwrap();
        stats.set_window(Duration::from_secs(3));
        stats.set_target_rate(Some(1_000.0));
        stats
    }

    pub fn report() -> Report {
        let mut report = Report::new(RunInfo {
            command: "run".into(),
            provider: "authgear".into(),
            target: "http://127.0.0.1:8080/hooks".into(),
            seed: 42,
            shard: None,
            scenario: Some("scenarios/signup-burst.yaml".into()),
            interrupted: None,
        });
        report.checks = vec![
            check("accepts_valid", "user.created", CheckOutcome::Pass),
            check("accepts_valid", "user.deleted", CheckOutcome::Pass),
            check("accepts_valid", "user.disabled", CheckOutcome::Pass),
            check("rejects_bad_signature", "user.created", CheckOutcome::Fail),
            check("rejects_bad_signature", "user.deleted", CheckOutcome::Pass),
            check("duplicate_idempotent", "user.created", CheckOutcome::Skip),
            check("duplicate_idempotent", "user.deleted", CheckOutcome::Skip),
        ];
        let stats = stats(1);
        report.thresholds = ["p99<250ms", "error_rate<0.1%"]
            .iter()
            .map(|t| parse(t).unwrap().evaluate(&stats))
            .collect();
        report.load = Some(LoadSection {
            stats,
            model: "open 1000/s".into(),
            requested_rate: Some(1_000.0),
            duration_ms: 3_000,
        });
        report.capacity = Some(CapacitySection {
            slo: vec!["p99<250ms".into()],
            steps: vec![
                CapacityStep {
                    rate: 500.0,
                    achieved: 499.5,
                    p50_us: 900,
                    p99_us: 4_000,
                    error_rate: 0.0,
                    passed: true,
                },
                CapacityStep {
                    rate: 1_000.0,
                    achieved: 990.0,
                    p50_us: 1_500,
                    p99_us: 400_000,
                    error_rate: 0.002,
                    passed: false,
                },
            ],
            best_rate: Some(500.0),
        });
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_rows_collapse_passes_and_list_failures() {
        let rows = check_rows(&fixture::report());
        let summary: Vec<_> = rows
            .iter()
            .map(|r| (r.id.as_str(), r.types.as_str(), r.result, r.cases))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("accepts_valid", "(3 types)", "pass", 30),
                ("rejects_bad_signature", "user.created", "FAIL", 10),
                ("rejects_bad_signature", "user.deleted", "pass", 10),
                ("duplicate_idempotent", "(2 types)", "skip", 20),
            ]
        );
        assert_eq!(rows[1].reason, "accepted a tampered body with 200");
        assert_eq!(rows[3].reason, "no ledger: pass --ledger-url");
    }

    #[test]
    fn write_dir_writes_every_output() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nested/run");
        let report = fixture::report();
        let written = write_dir(&report, &out).unwrap();
        let names: Vec<_> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "report.json",
                "junit.xml",
                "summary.md",
                "latency.hgrm",
                "index.html"
            ]
        );
        for p in &written {
            assert!(std::fs::metadata(p).unwrap().len() > 100, "{}", p.display());
        }
        let back = Report::from_json(&std::fs::read_to_string(&written[0]).unwrap()).unwrap();
        assert_eq!(back, report);
    }

    /// The directory holds one run: a report without load replaces the
    /// whole set, and the earlier run's `latency.hgrm` goes; temporaries a
    /// killed run left go too, and nothing else in the directory is touched.
    #[test]
    fn write_dir_replaces_the_previous_run_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        write_dir(&fixture::report(), dir.path()).unwrap();
        assert!(dir.path().join("latency.hgrm").exists());
        std::fs::write(dir.path().join(".report.json.999999.tmp"), "{torn").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        std::fs::write(dir.path().join(".report.json.tmp.bak"), "mine too").unwrap();

        let mut without_load = fixture::report();
        without_load.load = None;
        without_load.run.seed = 7;
        let written = write_dir(&without_load, dir.path()).unwrap();
        assert_eq!(written.len(), 4);
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ".report.json.tmp.bak",
                "index.html",
                "junit.xml",
                "notes.txt",
                "report.json",
                "summary.md"
            ]
        );
        let back =
            Report::from_json(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
                .unwrap();
        assert_eq!(back.run.seed, 7);
    }

    #[test]
    fn prepare_dir_creates_and_refuses_what_cannot_hold_a_report() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        prepare_dir(&nested).unwrap();
        assert!(nested.is_dir());
        assert_eq!(
            std::fs::read_dir(&nested).unwrap().count(),
            0,
            "no probe left"
        );

        let file = dir.path().join("report.txt");
        std::fs::write(&file, "x").unwrap();
        let err = prepare_dir(&file).unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");
        assert!(prepare_dir(&file.join("under")).is_err());
        assert_eq!(
            std::fs::read(&file).unwrap(),
            b"x",
            "the file is left alone"
        );
    }

    /// A partial run never reads as a pass: every output names the signal
    /// and the verdict is INTERRUPTED, even when everything that ran held.
    #[test]
    fn an_interrupted_report_says_so_in_every_output() {
        let mut report = fixture::report();
        report.checks.retain(|c| c.outcome != CheckOutcome::Fail);
        report.thresholds.retain(|t| t.passed);
        report.capacity = None;
        assert!(report.passed());
        assert_eq!(verdict_word(&report), "PASS");
        report.run.interrupted = Some("SIGINT".into());
        assert!(!report.passed());
        assert_eq!(verdict_word(&report), "INTERRUPTED");
        let banner = "interrupted by SIGINT";

        let text = terminal::terminal_summary(&report);
        assert!(text.contains(banner), "{text}");
        assert!(text.ends_with("verdict     INTERRUPTED\n"), "{text}");
        let md = markdown::render(&report);
        assert!(md.starts_with("## ⚠️ hookstorm run: INTERRUPTED\n"), "{md}");
        assert!(md.contains(banner), "{md}");
        let html = html::render(&report).unwrap();
        assert!(
            html.contains("INTERRUPTED") && !html.contains(">PASS<"),
            "{html}"
        );
        assert!(junit::render(&report).unwrap().contains(banner));
        let json = json::render(&report).unwrap();
        assert_eq!(
            Report::from_json(&json).unwrap().run.interrupted.as_deref(),
            Some("SIGINT")
        );
        for text in [&text, &md] {
            assert!(!text.contains("PASS"), "{text}");
        }
    }

    #[test]
    fn only_hookstorm_temporaries_count_as_temporaries() {
        assert!(is_temporary(".report.json.123.tmp"));
        assert!(is_temporary(".latency.hgrm.9.tmp"));
        assert!(!is_temporary("report.json"));
        assert!(!is_temporary(".report.json.tmp"));
        assert!(!is_temporary(".report.json.12a.tmp"));
        assert!(!is_temporary(".notes.txt.1.tmp"));
    }
}
