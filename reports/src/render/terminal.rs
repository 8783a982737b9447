//! Terminal text: the short k6/oha-like summary printed after a run, and the
//! aligned checks table. The harness prints these; it never formats.

use std::fmt::Write;

use crate::histogram::{format_us, Percentiles};
use crate::render::{check_rows, interrupted_banner, verdict_word};
use crate::report::{LoadSection, Report};
use crate::stats::LoadStats;
use crate::threshold::format_share;

/// Width of the label column of the summary.
const LABEL: usize = 12;
/// A generator hiccup this long (µs) gets a line saying what it means: as
/// late as the emitter's "missed" threshold.
const STALL_US: u64 = 10_000;

/// The run summary: run line, load figures (requests, rate, missed, latency
/// and service percentiles, status classes, error kinds, per-type table when
/// there are several types), capacity steps, thresholds with ✓/✗, check
/// counts and the verdict.
pub fn terminal_summary(report: &Report) -> String {
    let mut out = String::new();
    let run = &report.run;
    let _ = write!(
        out,
        "{} · {} · {} → {} · seed {}",
        report.tool, run.command, run.provider, run.target, run.seed
    );
    if let Some((k, n)) = run.shard {
        let _ = write!(out, " · shard {k}/{n}");
    }
    if let Some(partial) = &report.partial {
        let _ = write!(out, " · PARTIAL merge of {partial}");
    }
    out.push('\n');
    if let Some(banner) = interrupted_banner(report) {
        let _ = writeln!(out, "{:<LABEL$}{banner}", "INTERRUPTED");
    }
    if let Some(load) = &report.load {
        load_summary(&mut out, load);
    }
    if let Some(cap) = &report.capacity {
        let _ = writeln!(out, "{:<LABEL$}SLO {}", "capacity", cap.slo.join(", "));
        for s in &cap.steps {
            let _ = writeln!(
                out,
                "{:<LABEL$}{} {:>9.1}/s → {:>9.1}/s  p50 {:>8}  p99 {:>8}  errors {:>7}",
                "",
                if s.passed { "✓" } else { "✗" },
                s.rate,
                s.achieved,
                format_us(s.p50_us),
                format_us(s.p99_us),
                format_share(s.error_rate)
            );
        }
        let best = cap
            .best_rate
            .map_or("none met the SLO".to_string(), |r| format!("{r:.1}/s"));
        let _ = writeln!(out, "{:<LABEL$}best {best}", "");
    }
    if !report.thresholds.is_empty() {
        let width = report
            .thresholds
            .iter()
            .map(|t| t.expr.chars().count())
            .max()
            .unwrap_or(0);
        for (i, t) in report.thresholds.iter().enumerate() {
            let label = if i == 0 { "thresholds" } else { "" };
            let _ = writeln!(
                out,
                "{label:<LABEL$}{} {:<width$}  {}",
                if t.passed { "✓" } else { "✗" },
                t.expr,
                t.actual
            );
        }
    }
    if !report.checks.is_empty() {
        let (pass, fail, skip) = report.check_counts();
        let _ = writeln!(
            out,
            "{:<LABEL$}{pass} passed, {fail} failed, {skip} other",
            "checks"
        );
    }
    let _ = writeln!(out, "{:<LABEL$}{}", "verdict", verdict_word(report));
    out
}

fn load_summary(out: &mut String, load: &LoadSection) {
    let stats = &load.stats;
    let _ = write!(
        out,
        "{:<LABEL$}{} in {:.1}s ({})",
        "requests",
        stats.requests(),
        load.duration_ms as f64 / 1_000.0,
        load.model
    );
    out.push('\n');
    let _ = write!(out, "{:<LABEL$}{:.1}/s", "rate", stats.achieved_rate());
    if let Some(target) = load.requested_rate.or(stats.target_rate()) {
        let _ = write!(out, " of {target:.1}/s requested");
    }
    out.push('\n');
    if stats.batched() {
        // Requests carried batches: the events they delivered, beside.
        let _ = writeln!(
            out,
            "{:<LABEL$}{} at {:.1}/s ({:.1} per request)",
            "events",
            stats.events(),
            stats.events_rate(),
            stats.events() as f64 / stats.requests().max(1) as f64
        );
    }
    let _ = writeln!(
        out,
        "{:<LABEL$}{} ({})",
        "missed",
        stats.missed(),
        format_share(stats.missed_rate())
    );
    percentile_line(out, "latency", &Percentiles::of(stats.latency()));
    percentile_line(out, "service", &Percentiles::of(stats.service()));
    if !stats.hiccups().is_empty() {
        let p = Percentiles::of(stats.hiccups());
        percentile_line(out, "hiccups", &p);
        if p.max >= STALL_US {
            let _ = writeln!(
                out,
                "{:<LABEL$}(the load machine itself stalled for up to {}: latency up to that \
                 long may be the generator's, not the receiver's)",
                "",
                format_us(p.max)
            );
        }
    }
    let _ = writeln!(out, "{:<LABEL$}{}", "status", status_codes(stats));
    for (code, text) in top_excerpts(stats) {
        let _ = writeln!(out, "{:<LABEL$}{code}: {text}", "");
    }
    let kinds: Vec<String> = stats
        .error_kinds()
        .map(|(k, n)| format!("{} {n}", k.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "{:<LABEL$}{}  (error rate {})",
        "errors",
        if kinds.is_empty() {
            "none".to_string()
        } else {
            kinds.join("  ")
        },
        format_share(stats.error_rate())
    );
    let used: Vec<_> = stats.types().filter(|(_, t)| t.requests > 0).collect();
    if used.len() > 1 {
        let width = used
            .iter()
            .map(|(n, _)| n.chars().count())
            .max()
            .unwrap_or(0);
        let _ = writeln!(out, "{:<LABEL$}", "by type");
        for (name, t) in used {
            let p = Percentiles::of(&t.latency);
            let failed = t.failures as f64 / t.requests as f64;
            let _ = writeln!(
                out,
                "  {name:<width$}  {:>9}  {:>7} failed  p50 {:>8}  p99 {:>8}  max {:>8}",
                t.requests,
                format_share(failed),
                format_us(p.p50),
                format_us(p.p99),
                format_us(p.max)
            );
        }
    }
}

fn percentile_line(out: &mut String, label: &str, p: &Percentiles) {
    let _ = writeln!(
        out,
        "{label:<LABEL$}p50 {:>8}  p90 {:>8}  p99 {:>8}  p99.9 {:>8}  max {:>8}",
        format_us(p.p50),
        format_us(p.p90),
        format_us(p.p99),
        format_us(p.p999),
        format_us(p.max)
    );
}

/// Status codes shown by [`status_codes`]; the rest are summed.
const TOP_CODES: usize = 6;

/// Counts per status code, the most frequent first (ties: lower code
/// first), `200 990  401 6  404 4`, at most six codes then
/// `other N`; or `none`. Per code, not per class: a 401 (wrong secret) and
/// a 404 (wrong path) need different fixes.
pub fn status_codes(stats: &LoadStats) -> String {
    let mut codes: Vec<(u16, u64)> = stats.statuses().collect();
    codes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut parts: Vec<String> = codes
        .iter()
        .take(TOP_CODES)
        .map(|(code, n)| format!("{code} {n}"))
        .collect();
    let other: u64 = codes.iter().skip(TOP_CODES).map(|(_, n)| n).sum();
    if other > 0 {
        parts.push(format!(
            "other {other} ({} more codes)",
            codes.len() - TOP_CODES
        ));
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join("  ")
    }
}

/// The kept response excerpts of the most frequent status codes (those
/// [`status_codes`] shows), on one line each.
pub fn top_excerpts(stats: &LoadStats) -> Vec<(u16, String)> {
    let mut codes: Vec<(u16, u64)> = stats.statuses().collect();
    codes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    codes
        .iter()
        .take(TOP_CODES)
        .filter_map(|(code, _)| {
            let text = stats.excerpt(*code)?;
            let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            Some((
                *code,
                if line.is_empty() {
                    "(empty body)".into()
                } else {
                    line
                },
            ))
        })
        .collect()
}

/// The aligned checks table: one row per check id, its event types
/// collapsed, however many fail.
pub fn checks_table(report: &Report) -> String {
    let rows = check_rows(report);
    let header = [
        "CHECK",
        "EVENT TYPES",
        "LEVEL",
        "NOT PASSED",
        "CASES",
        "REASON",
    ];
    let width = |f: &dyn Fn(&crate::render::CheckRow) -> usize, h: &str| {
        rows.iter().map(f).chain([h.len()]).max().unwrap_or(0)
    };
    let w_id = width(&|r| r.id.chars().count(), header[0]);
    let w_ty = width(&|r| r.types.chars().count(), header[1]);
    let w_tally = width(&|r| r.tally.chars().count(), header[3]);
    let mut out = String::new();
    let line = |cells: [&str; 6]| {
        let [id, ty, level, tally, cases, reason] = cells;
        format!("{id:<w_id$}  {ty:<w_ty$}  {level:<10}  {tally:<w_tally$}  {cases:>5}  {reason}")
            .trim_end()
            .to_string()
    };
    out.push_str(&line(header));
    out.push('\n');
    for r in &rows {
        out.push_str(&line([
            &r.id,
            &r.types,
            r.level.as_str(),
            &r.tally,
            &r.cases.to_string(),
            &r.reason,
        ]));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn summary_shows_load_thresholds_and_verdict() {
        let report = fixture::report();
        let text = terminal_summary(&report);
        let stats = &report.load.as_ref().unwrap().stats;
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("hookstorm ")
                && lines[0].contains("authgear → http://127.0.0.1:8080/hooks · seed 42")
        );
        let line = |label: &str| {
            *lines
                .iter()
                .find(|l| l.starts_with(label))
                .unwrap_or_else(|| panic!("{label} in\n{text}"))
        };
        assert_eq!(line("requests"), "requests    3000 in 3.0s (open 1000/s)");
        assert_eq!(line("rate"), "rate        1000.0/s of 1000.0/s requested");
        assert_eq!(line("missed"), "missed      5 (0.17%)");
        let p = Percentiles::of(stats.latency());
        assert!(line("latency").contains(&format!("p99 {:>8}", format_us(p.p99))));
        assert!(line("service").starts_with("service     p50 "));
        assert!(
            line("hiccups").starts_with("hiccups     p50     40µs "),
            "{text}"
        );
        assert!(
            text.contains("stalled for up to 12.0ms"),
            "a 12 ms hiccup is explained: {text}"
        );
        assert_eq!(line("status"), "status      200 2982  401 6  500 6");
        assert_eq!(line("errors"), "errors      timeout 6  (error rate 0.60%)");
        assert!(text.contains("  user.created  "), "{text}");
        assert!(text.contains("✓ p99<250ms"), "{text}");
        assert!(text.contains("✗ error_rate<0.1%  0.60%"), "{text}");
        assert!(text.contains("✓     500.0/s"), "{text}");
        assert_eq!(line("checks"), "checks      4 passed, 1 failed, 2 other");
        assert_eq!(*lines.last().unwrap(), "verdict     FAIL");
        // Every latency-column line starts its values at the same column.
        for label in [
            "requests", "rate", "missed", "latency", "service", "hiccups", "status", "errors",
            "checks",
        ] {
            assert_eq!(
                line(label).char_indices().nth(LABEL).map(|(_, c)| c != ' '),
                Some(true),
                "{label}"
            );
        }
    }

    #[test]
    fn unmeasured_hiccups_print_nothing_and_small_ones_no_warning() {
        let mut report = fixture::report();
        let mut summary = |stats: &LoadStats| {
            report.load.as_mut().unwrap().stats = stats.clone();
            terminal_summary(&report)
        };
        let mut stats = LoadStats::new(vec!["user.created".into()]);
        let none = summary(&stats);
        assert!(!none.contains("hiccups"), "{none}");
        let mut small = crate::histogram::latency_histogram();
        small.record_n(35, 100).unwrap();
        small.record(900).unwrap();
        stats.add_hiccups(&small).unwrap();
        let some = summary(&stats);
        assert!(some.contains("hiccups     p50     35µs"), "{some}");
        assert!(!some.contains("stalled"), "{some}");
    }

    #[test]
    fn status_codes_tell_401_from_404_and_sum_the_rare_ones() {
        use crate::record::Recorder;
        let mut stats = LoadStats::new(vec!["t".into()]);
        assert_eq!(status_codes(&stats), "none");
        let codes = [
            (401u16, 5u64),
            (404, 5),
            (200, 1),
            (500, 2),
            (502, 1),
            (503, 1),
            (301, 1),
            (418, 1),
        ];
        for (code, n) in codes {
            for _ in 0..n {
                stats.record(&crate::record::Sample {
                    type_index: 0,
                    latency_us: 1,
                    service_us: 1,
                    outcome: crate::record::Outcome::Status(code),
                    at_ms: 0,
                });
            }
        }
        assert_eq!(
            status_codes(&stats),
            "401 5  404 5  500 2  200 1  301 1  418 1  other 2 (2 more codes)"
        );
        stats.note_excerpt(401, b"{\"error\":\n  \"bad signature\"}");
        stats.note_excerpt(404, b"");
        stats.note_excerpt(503, b"not among the top codes");
        assert_eq!(
            top_excerpts(&stats),
            vec![
                (401, r#"{"error": "bad signature"}"#.to_string()),
                (404, "(empty body)".to_string())
            ]
        );
    }

    #[test]
    fn checks_table_is_aligned() {
        let table = checks_table(&fixture::report());
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "one row per check: {table}");
        let col = lines[0].find("EVENT TYPES").unwrap();
        let level_col = lines[0].find("LEVEL").unwrap();
        for l in &lines[1..] {
            assert_ne!(l.as_bytes()[col], b' ', "{l}");
            assert_eq!(&l[col - 2..col], "  ", "{l}");
            assert!(
                ["PASS", "FAIL", "SKIPPED"]
                    .iter()
                    .any(|w| l[level_col..].starts_with(w)),
                "{l}"
            );
        }
        assert!(
            lines[2].starts_with("rejects_bad_signature  (2 types)"),
            "{table}"
        );
        assert!(lines[2].ends_with("accepted a tampered body with 200"));
        assert!(lines[2].contains("1 FAIL"));
        assert!(lines[1].contains("(3 types)"));
    }
}
