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

use crate::report::{CheckResult, Level, Report, ReportError};

/// Writes every output of `report` into `dir` (created if missing) and
/// returns the paths written: `report.json`, `junit.xml`, `summary.md`,
/// `index.html`, and `latency.hgrm` when the report has a load section.
pub fn write_dir(report: &Report, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut outputs = vec![
        ("report.json", json::render(report)?),
        ("junit.xml", junit::render(report)?),
        ("summary.md", markdown::render(report)),
    ];
    if let Some(load) = &report.load {
        outputs.push(("latency.hgrm", hgrm::render(load.stats.latency())));
    }
    outputs.push(("index.html", html::render(report)?));
    let mut written = Vec::with_capacity(outputs.len());
    // Bodies too large or too binary to inline, each written once.
    for f in &report.findings {
        let (Some(bytes), Some(file)) = (&f.repro, &f.request.body_file) else {
            continue;
        };
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ReportError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, bytes).map_err(|source| ReportError::Io {
            path: path.clone(),
            source,
        })?;
    }
    for (name, text) in outputs {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| ReportError::Io {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// One line of the checks table: one check id, all its event types.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckRow {
    /// Check id.
    pub id: String,
    /// The event type when there is one, else `(n types)`.
    pub types: String,
    /// The most severe level among its results.
    pub level: Level,
    /// Whether that level gates the run (FAIL, ERROR; NON-STRICT under
    /// `--strict`).
    pub failed: bool,
    /// How many results had each level that is not PASS, most severe
    /// first: `3 FAIL, 1 INFO` (empty when all passed).
    pub tally: String,
    /// Cases sent, summed over the types.
    pub cases: u64,
    /// Short reason of the most severe result.
    pub reason: String,
}

/// Longest reason shown in aggregated tables; the full text is in the
/// report and in the findings.
const SHORT_REASON: usize = 72;

/// The checks table: one row per check id, in order of first appearance,
/// however many event types fail.
pub fn check_rows(report: &Report) -> Vec<CheckRow> {
    let mut ids: Vec<&str> = Vec::new();
    for c in &report.checks {
        if !ids.contains(&c.id.as_str()) {
            ids.push(&c.id);
        }
    }
    ids.into_iter()
        .map(|id| {
            let results: Vec<&CheckResult> = report.checks.iter().filter(|c| c.id == id).collect();
            let worst = results
                .iter()
                .max_by_key(|c| c.level)
                .expect("an id comes from a result");
            let tally = Level::BY_SEVERITY
                .iter()
                .filter(|l| **l != Level::Pass)
                .filter_map(|l| {
                    let n = results.iter().filter(|c| c.level == *l).count();
                    (n > 0).then(|| format!("{n} {l}"))
                })
                .collect::<Vec<_>>()
                .join(", ");
            CheckRow {
                id: id.to_string(),
                types: match results.as_slice() {
                    [one] => one.event_type.clone(),
                    many => format!("({} types)", many.len()),
                },
                level: worst.level,
                failed: worst.level.gates(report.strict),
                tally,
                cases: results.iter().map(|c| u64::from(c.cases)).sum(),
                reason: short(worst.reason.as_deref().unwrap_or("")),
            }
        })
        .collect()
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

/// `PASS` or `FAIL` for the whole report.
pub fn verdict_word(report: &Report) -> &'static str {
    if report.passed() {
        "PASS"
    } else {
        "FAIL"
    }
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

    pub fn check(id: &str, event_type: &str, level: Level) -> CheckResult {
        CheckResult {
            id: id.into(),
            event_type: event_type.into(),
            rule: "signature must be verified".into(),
            description: format!("{id} holds"),
            level,
            reason: match level {
                Level::Pass => None,
                Level::Skipped => Some("no ledger: pass --ledger-url".into()),
                _ => Some("accepted a tampered body with 200".into()),
            },
            findings: Vec::new(),
            cases: 10,
            duration_ms: 42,
        }
    }

    /// The finding a non-passing fixture result stands for.
    pub fn finding(c: &CheckResult) -> Finding {
        let body = br#"{"id":"evt_1","type":"user.created","payload":{"name":"O'Brien"}}"#;
        let headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            (
                "x-authgear-body-signature".to_string(),
                "deadbeef".to_string(),
            ),
        ];
        Finding {
            id: String::new(),
            check: c.id.clone(),
            variant: "tampered_body".into(),
            level: c.level,
            status_class: "2xx".into(),
            event_types: vec![c.event_type.clone()],
            probes: 1,
            message: "expected 401/403, got 200 <ok> & \"accepted\"".into(),
            request: RequestSummary {
                method: "POST".into(),
                url: "http://127.0.0.1:8080/hooks".into(),
                headers,
                body_excerpt: excerpt(body, 64),
                event_type: c.event_type.clone(),
                body: None,
                body_file: None,
                body_len: body.len(),
            },
            response_status: Some(200),
            response_excerpt: "{\"ok\":true}".into(),
            error: None,
            curl: String::new(),
            expires: None,
            repro: Some(body.to_vec()),
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
        });
        report.checks = vec![
            check("accepts_valid", "user.created", Level::Pass),
            check("accepts_valid", "user.deleted", Level::Pass),
            check("accepts_valid", "user.disabled", Level::Pass),
            check("rejects_bad_signature", "user.created", Level::Fail),
            check("rejects_bad_signature", "user.deleted", Level::Pass),
            check("duplicate_idempotent", "user.created", Level::Skipped),
            check("duplicate_idempotent", "user.deleted", Level::Skipped),
        ];
        report.findings = crate::finding::group(
            report
                .checks
                .iter()
                .filter(|c| c.level.is_finding())
                .map(finding)
                .collect(),
        );
        report.link_findings();
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
            .map(|r| {
                (
                    r.id.as_str(),
                    r.types.as_str(),
                    r.level,
                    r.tally.as_str(),
                    r.cases,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("accepts_valid", "(3 types)", Level::Pass, "", 30),
                (
                    "rejects_bad_signature",
                    "(2 types)",
                    Level::Fail,
                    "1 FAIL",
                    20
                ),
                (
                    "duplicate_idempotent",
                    "(2 types)",
                    Level::Skipped,
                    "2 SKIPPED",
                    20
                ),
            ]
        );
        assert!(rows[1].failed && !rows[2].failed);
        assert_eq!(rows[1].reason, "accepted a tampered body with 200");
        assert_eq!(rows[2].reason, "no ledger: pass --ledger-url");
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
        // The fixture's one finding is small text: inlined, no repro/ file.
        assert_eq!(report.findings[0].request.body_file, None);
        assert!(!out.join("repro").exists());
    }
}
