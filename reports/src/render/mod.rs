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

/// One file of a report directory: its name and how a report becomes it.
pub struct Output {
    /// The file name inside the report directory (`junit.xml`).
    pub name: &'static str,
    /// Which reports have it, when not all do (`with a load phase`); a
    /// report without it has the file removed from its directory.
    pub only: Option<&'static str>,
    /// The file's text, or `None` when this report does not have it.
    render: fn(&Report) -> Result<Option<String>, ReportError>,
}

/// Every file a report directory may hold, in the order they are written:
/// [`write_dir`] writes these and help texts list them. A run removes those
/// it does not produce, so the directory holds one run.
pub const OUTPUTS: &[Output] = &[
    Output {
        name: "report.json",
        only: None,
        render: |report| json::render(report).map(Some),
    },
    Output {
        name: "junit.xml",
        only: None,
        render: |report| junit::render(report).map(Some),
    },
    Output {
        name: "summary.md",
        only: None,
        render: |report| Ok(Some(markdown::render(report))),
    },
    Output {
        name: "latency.hgrm",
        only: Some("with a load phase"),
        render: |report| {
            Ok(report
                .load
                .as_ref()
                .map(|load| hgrm::render(load.stats.latency())))
        },
    },
    Output {
        name: "index.html",
        only: None,
        render: |report| html::render(report).map(Some),
    },
];

/// [`OUTPUTS`] in words, for help texts: `report.json, junit.xml, …,
/// latency.hgrm (with a load phase) and index.html`.
pub fn output_names() -> String {
    let names: Vec<String> = OUTPUTS
        .iter()
        .map(|o| match o.only {
            Some(only) => format!("{} ({only})", o.name),
            None => o.name.to_string(),
        })
        .collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Whether `name` is one of the [`OUTPUTS`].
fn is_output(name: &str) -> bool {
    OUTPUTS.iter().any(|o| o.name == name)
}

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
/// returns the paths written: those of [`OUTPUTS`] the report has, in that
/// order (`latency.hgrm` only with a load section); bodies too large or too
/// binary to inline go to `repro/F<n>.body`.
///
/// Never tears a file: everything is rendered first, each file is written
/// under a temporary name and renamed over the old one (a kill mid-write
/// leaves the previous file whole). Outputs of an earlier run this one
/// does not produce (a `latency.hgrm` beside a report without load, its
/// `repro/` bodies) are removed, and so are temporary files a killed run
/// left; nothing else in the directory is touched.
pub fn write_dir(report: &Report, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let mut outputs = Vec::with_capacity(OUTPUTS.len());
    for output in OUTPUTS {
        if let Some(text) = (output.render)(report)? {
            outputs.push((output.name, text));
        }
    }
    // Bodies too large or too binary to inline, each written once.
    let bodies: Vec<(PathBuf, &[u8])> = report
        .findings
        .iter()
        .filter_map(|f| match (&f.repro, &f.request.body_file) {
            (Some(bytes), Some(file)) => Some((dir.join(file), bytes.as_slice())),
            _ => None,
        })
        .collect();
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Io { path, source }
    };
    let repro_dir = dir.join(REPRO_DIR);
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    if !bodies.is_empty() {
        std::fs::create_dir_all(&repro_dir).map_err(io(&repro_dir))?;
    }
    remove_stale_temporaries(dir);
    remove_stale_temporaries(&repro_dir);

    let files = outputs
        .iter()
        .map(|(name, text)| (dir.join(name), text.as_bytes()))
        .chain(bodies.iter().map(|(path, bytes)| (path.clone(), *bytes)));
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    for (path, bytes) in files {
        let temporary = temporary_of(&path);
        if let Err(source) = write_synced(&temporary, bytes) {
            let _ = std::fs::remove_file(&temporary);
            for (t, _) in &staged {
                let _ = std::fs::remove_file(t);
            }
            return Err(ReportError::Io { path, source });
        }
        staged.push((temporary, path));
    }
    for (temporary, path) in &staged {
        std::fs::rename(temporary, path).map_err(io(path))?;
    }

    for output in OUTPUTS {
        if !outputs.iter().any(|(n, _)| *n == output.name) {
            remove_if_present(&dir.join(output.name))?;
        }
    }
    if let Ok(entries) = std::fs::read_dir(&repro_dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let stale = entry.file_name().to_str().is_some_and(is_repro_body)
                && !bodies.iter().any(|(p, _)| *p == path);
            if stale {
                remove_if_present(&path)?;
            }
        }
        // Only when empty: a `repro/` holding files of the user's stays.
        let _ = std::fs::remove_dir(&repro_dir);
    }
    Ok(staged
        .into_iter()
        .map(|(_, path)| path)
        .filter(|path| !path.starts_with(&repro_dir))
        .collect())
}

/// Where bodies too large or too binary for the report go (`repro/F<n>.body`).
const REPRO_DIR: &str = "repro";

/// Whether `file` is a body a report writes into [`REPRO_DIR`]: `F<n>.body`.
fn is_repro_body(file: &str) -> bool {
    file.strip_prefix('F')
        .and_then(|f| f.strip_suffix(".body"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Removes `path`; one already gone is fine.
fn remove_if_present(path: &Path) -> Result<(), ReportError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ReportError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// `.NAME.PID.tmp` beside `path`: hidden, and per process so two runs
/// writing one directory do not share a temporary file.
fn temporary_of(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Whether `file` is a temporary of an output or a repro body (any
/// process's).
fn is_temporary(file: &str) -> bool {
    let Some((name, pid)) = file
        .strip_prefix('.')
        .and_then(|f| f.strip_suffix(".tmp"))
        .and_then(|f| f.rsplit_once('.'))
    else {
        return false;
    };
    !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && (is_output(name) || is_repro_body(name))
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
    stats: &crate::stats::LoadStats,
) -> Vec<(&'static str, &hdrhistogram::Histogram<u64>)> {
    let mut rows = vec![("latency", stats.latency()), ("service", stats.service())];
    if !stats.hiccups().is_empty() {
        rows.push(("generator hiccups", stats.hiccups()));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

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
        // A report with load has every output, in the list's order.
        assert_eq!(names, OUTPUTS.iter().map(|o| o.name).collect::<Vec<_>>());
        for p in &written {
            assert!(std::fs::metadata(p).unwrap().len() > 100, "{}", p.display());
        }
        let back = Report::from_json(&std::fs::read_to_string(&written[0]).unwrap()).unwrap();
        assert_eq!(back, report);
        // The fixture's one finding is small text: inlined, no repro/ file.
        assert_eq!(report.findings[0].request.body_file, None);
        assert!(!out.join("repro").exists());
    }

    #[test]
    fn help_texts_read_the_outputs_in_words() {
        assert_eq!(
            output_names(),
            "report.json, junit.xml, summary.md, latency.hgrm (with a load phase) and index.html"
        );
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

    /// A `repro/` body belongs to its run: written whole, and removed when
    /// the next run into the directory does not produce it (the directory
    /// goes too, unless something of the user's is in it).
    #[test]
    fn repro_bodies_are_replaced_with_their_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut with_body = fixture::report();
        let finding = &mut with_body.findings[0];
        finding.repro = Some(b"\x00binary body".to_vec());
        finding.request.body_file = Some(format!("repro/{}.body", finding.id));
        let body = dir.path().join(format!("repro/{}.body", finding.id));
        let written = write_dir(&with_body, dir.path()).unwrap();
        assert_eq!(written.len(), 5, "the body is not a listed output");
        assert_eq!(std::fs::read(&body).unwrap(), b"\x00binary body");

        write_dir(&fixture::report(), dir.path()).unwrap();
        assert!(!body.exists());
        assert!(!dir.path().join("repro").exists());

        write_dir(&with_body, dir.path()).unwrap();
        std::fs::write(dir.path().join("repro/mine.txt"), "mine").unwrap();
        write_dir(&fixture::report(), dir.path()).unwrap();
        assert!(!body.exists());
        assert!(dir.path().join("repro/mine.txt").exists());
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
        let strict = report.strict;
        report.checks.retain(|c| !c.level.gates(strict));
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
            html.contains(">INTERRUPTED</span>") && !html.contains("verdict pass"),
            "{html}"
        );
        assert!(junit::render(&report).unwrap().contains(banner));
        let json = json::render(&report).unwrap();
        assert_eq!(
            Report::from_json(&json).unwrap().run.interrupted.as_deref(),
            Some("SIGINT")
        );
    }

    #[test]
    fn only_hookstorm_temporaries_count_as_temporaries() {
        assert!(is_temporary(".report.json.123.tmp"));
        assert!(is_temporary(".latency.hgrm.9.tmp"));
        assert!(!is_temporary("report.json"));
        assert!(!is_temporary(".report.json.tmp"));
        assert!(!is_temporary(".report.json.12a.tmp"));
        assert!(!is_temporary(".notes.txt.1.tmp"));
        assert!(is_temporary(".F3.body.77.tmp"));
        assert!(!is_temporary(".Fx.body.77.tmp"));
        assert!(is_repro_body("F12.body") && !is_repro_body("F.body") && !is_repro_body("notes"));
    }

    /// The version-1 report `report/v1.rs` upgrades (read there, and
    /// rendered, merged and diffed here, above all three).
    const V1: &str = include_str!("../../tests/fixtures/report-v1.json");

    #[test]
    fn a_version_1_report_still_renders_merges_and_diffs() {
        let old = Report::from_json(V1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_dir(&old, dir.path()).unwrap();
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
