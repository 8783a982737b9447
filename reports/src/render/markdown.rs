//! `summary.md` for CI job summaries (GitHub `$GITHUB_STEP_SUMMARY`, GitLab
//! notes): verdict line, checks table (one row per check), findings by
//! severity with their `curl` reproduction, load percentiles, capacity steps
//! and thresholds. Bounded whatever fails: GitHub takes 1 MiB per step.

use std::fmt::Write;

use crate::histogram::{format_us, Percentiles};
use crate::render::{
    check_rows, interrupted_banner,
    terminal::{status_codes, top_excerpts},
    verdict_word,
};
use crate::report::Report;
use crate::threshold::format_share;

/// The report as GitHub-flavoured Markdown.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let icon = match (report.run.interrupted.is_some(), report.passed()) {
        (true, _) => "⚠️",
        (false, true) => "✅",
        (false, false) => "❌",
    };
    let run = &report.run;
    let _ = writeln!(
        out,
        "## {icon} hookstorm {}: {}\n",
        run.command,
        verdict_word(report)
    );
    if let Some(banner) = interrupted_banner(report) {
        let _ = writeln!(out, "> **{banner}**\n");
    }
    let _ = write!(
        out,
        "`{}` · provider `{}` · target `{}` · seed `{}`",
        report.tool,
        code(&run.provider),
        code(&run.target),
        run.seed
    );
    if let Some(s) = &run.scenario {
        let _ = write!(out, " · scenario `{}`", code(s));
    }
    out.push_str("\n\n");

    if let Some(why) = &report.stopped {
        let _ = writeln!(out, "**Run stopped early:** {}\n", text(why));
    }
    if report.unjudged() {
        out.push_str(
            "**The receiver could not be judged completely:** ERROR results got no answer \
             (timeouts, refused connections, probes not sent); see the ERROR findings.\n\n",
        );
    }
    if !report.checks.is_empty() {
        let (pass, gating, other) = report.check_counts();
        let _ = writeln!(
            out,
            "### Checks: {pass} passed, {gating} gating, {other} other{}\n",
            if report.strict { " (--strict)" } else { "" }
        );
        out.push_str("| Check | Event types | Level | Not passed | Cases | Reason |\n|---|---|---|---|---:|---|\n");
        for r in check_rows(report) {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} {} | {} | {} | {} |",
                r.id,
                cell(&r.types),
                level_icon(r.level, report.strict),
                r.level,
                cell(&r.tally),
                r.cases,
                cell(&r.reason)
            );
        }
        out.push('\n');
        findings(&mut out, report);
    }

    if let Some(load) = &report.load {
        let stats = &load.stats;
        let _ = writeln!(
            out,
            "### Load: {} requests, {:.1}/s achieved ({}), {} missed, error rate {}\n",
            stats.requests(),
            stats.achieved_rate(),
            text(&load.model),
            stats.missed(),
            format_share(stats.error_rate())
        );
        if stats.batched() {
            let _ = writeln!(
                out,
                "{} events in those requests, {:.1}/s.\n",
                stats.events(),
                stats.events_rate()
            );
        }
        out.push_str(
            "| | p50 | p90 | p99 | p99.9 | max | mean |\n|---|---:|---:|---:|---:|---:|---:|\n",
        );
        for (label, h) in super::percentile_rows(stats) {
            let p = Percentiles::of(h);
            let _ = writeln!(
                out,
                "| {label} | {} | {} | {} | {} | {} | {} |",
                format_us(p.p50),
                format_us(p.p90),
                format_us(p.p99),
                format_us(p.p999),
                format_us(p.max),
                format_us(p.mean.round() as u64)
            );
        }
        let _ = writeln!(out, "\nStatus: {}\n", status_codes(stats));
        let excerpts = top_excerpts(stats);
        for (code, text) in &excerpts {
            let _ = writeln!(out, "- `{code}` answered: `{}`", text.replace('`', "'"));
        }
        if !excerpts.is_empty() {
            out.push('\n');
        }
        let used: Vec<_> = stats.types().filter(|(_, t)| t.requests > 0).collect();
        if used.len() > 1 {
            out.push_str("| Event type | Requests | Failed | p50 | p99 | max |\n|---|---:|---:|---:|---:|---:|\n");
            for (name, t) in used {
                let p = Percentiles::of(&t.latency);
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} | {} | {} |",
                    code(name),
                    t.requests,
                    format_share(t.failures as f64 / t.requests as f64),
                    format_us(p.p50),
                    format_us(p.p99),
                    format_us(p.max)
                );
            }
            out.push('\n');
        }
    }

    if let Some(cap) = &report.capacity {
        let best = cap
            .best_rate
            .map_or("none".to_string(), |r| format!("{r:.1}/s"));
        let _ = writeln!(
            out,
            "### Capacity: best {best} (SLO `{}`)\n",
            code(&cap.slo.join(", "))
        );
        out.push_str(
            "| Rate | Achieved | p50 | p99 | Error rate | SLO |\n|---:|---:|---:|---:|---:|---|\n",
        );
        for s in &cap.steps {
            let _ = writeln!(
                out,
                "| {:.1}/s | {:.1}/s | {} | {} | {} | {} |",
                s.rate,
                s.achieved,
                format_us(s.p50_us),
                format_us(s.p99_us),
                format_share(s.error_rate),
                if s.passed { "✅" } else { "❌" }
            );
        }
        out.push('\n');
    }

    if !report.thresholds.is_empty() {
        out.push_str("### Thresholds\n\n| | Threshold | Actual |\n|---|---|---:|\n");
        for t in &report.thresholds {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} |",
                if t.passed { "✅" } else { "❌" },
                code(&t.expr),
                cell(&t.actual)
            );
        }
        out.push('\n');
    }
    out
}

/// Findings shown with their reproduction; the rest get one line each.
const DETAILED_FINDINGS: usize = 30;
/// Findings listed at all; the rest are counted (all are in report.json).
const LISTED_FINDINGS: usize = 200;

/// The findings, most severe first, each with its `curl` line.
fn findings(out: &mut String, report: &Report) {
    if report.findings.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Findings ({})\n", report.findings.len());
    for f in report.findings.iter().take(DETAILED_FINDINGS) {
        let status = f
            .response_status
            .map_or_else(|| f.error.clone().unwrap_or_default(), |s| s.to_string());
        let _ = writeln!(
            out,
            "#### {} {} {} · `{}` · `{}`\n",
            f.id,
            level_icon(f.level, report.strict),
            f.level,
            code(&f.check),
            code(&f.variant)
        );
        let _ = writeln!(
            out,
            "{} (response: {}) — {} probe(s), event types: {}\n",
            text(&f.message),
            text(&status),
            f.probes,
            text(&types_list(&f.event_types))
        );
        let _ = writeln!(
            out,
            "{}sh\n{}\n{}\n",
            fence(&f.curl),
            f.curl,
            fence(&f.curl)
        );
        if let Some(expires) = &f.expires {
            let _ = writeln!(out, "_{}_\n", text(expires));
        }
    }
    for f in report
        .findings
        .iter()
        .skip(DETAILED_FINDINGS)
        .take(LISTED_FINDINGS)
    {
        let _ = writeln!(
            out,
            "- {} {} `{}` · `{}` ({}): {}",
            f.id,
            f.level,
            code(&f.check),
            code(&f.variant),
            text(&f.types_phrase()),
            text(&f.message)
        );
    }
    let rest = report
        .findings
        .len()
        .saturating_sub(DETAILED_FINDINGS + LISTED_FINDINGS);
    if rest > 0 {
        let _ = writeln!(out, "- … {rest} more in report.json");
    }
    out.push('\n');
}

/// At most 12 event types, then how many more.
fn types_list(types: &[String]) -> String {
    if types.len() <= 12 {
        types.join(", ")
    } else {
        format!("{} and {} more", types[..12].join(", "), types.len() - 12)
    }
}

/// The icon of a level, as the verdict line uses them.
fn level_icon(level: crate::level::Level, strict: bool) -> &'static str {
    use crate::level::Level;
    match level {
        Level::Pass => "✅",
        Level::Skipped => "⏭️",
        Level::Info => "ℹ️",
        l if l.gates(strict) => "❌",
        _ => "⚠️",
    }
}

/// Escapes text for a table cell: pipes would end the cell, newlines the row.
fn cell(s: &str) -> String {
    text(s).replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Escapes inline text so receiver-controlled strings cannot inject HTML or
/// Markdown structure into the job summary.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '*' | '_' | '`' | '[' | ']' | '#' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// Text inside single backticks: a backtick would end the span, so it is
/// replaced by a look-alike; pipes are escaped for tables.
fn code(s: &str) -> String {
    s.replace('`', "ˋ")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// A code fence longer than any backtick run inside `body`.
fn fence(body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat((longest + 1).max(3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn summary_has_verdict_tables_and_curl() {
        let report = fixture::report();
        let md = render(&report);
        assert!(md.starts_with("## ❌ hookstorm run: FAIL\n"), "{md}");
        assert!(
            md.contains("### Checks: 4 passed, 1 gating, 2 other"),
            "{md}"
        );
        assert!(md.contains("| `rejects_bad_signature` | (2 types) | ❌ FAIL | 1 FAIL | 20 | accepted a tampered body with 200 |"), "{md}");
        assert!(
            md.contains("| `accepts_valid` | (3 types) | ✅ PASS |  | 30 |  |"),
            "{md}"
        );
        assert!(
            md.contains("#### F1 ❌ FAIL · `rejects_bad_signature` · `tampered_body`"),
            "{md}"
        );
        let curl = &report.findings[0].curl;
        assert!(md.contains(&format!("```sh\n{curl}\n```")), "{md}");
        // Receiver-controlled text is escaped, not rendered as HTML.
        assert!(md.contains("got 200 &lt;ok&gt; &amp;"), "{md}");
        assert!(md.contains("| latency | "));
        assert!(md.contains("| generator hiccups | 40µs | "), "{md}");
        assert!(md.contains("### Load: 3000 requests, 1000.0/s achieved"));
        assert!(md.contains("| `user.deleted` | 1500 |"));
        assert!(md.contains("### Capacity: best 500.0/s"));
        assert!(md.contains("| ❌ | `error_rate<0.1%` | 0.60% |"), "{md}");
    }

    #[test]
    fn escaping_helpers() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(text("<script>*x*"), "&lt;script&gt;\\*x\\*");
        assert_eq!(fence("no ticks"), "```");
        assert_eq!(fence("a ```` b"), "`````");
    }

    #[test]
    fn passing_report_says_pass() {
        let mut report = fixture::report();
        report.checks.retain(|c| !c.level.gates(true));
        report.thresholds.retain(|t| t.passed);
        assert!(render(&report).starts_with("## ✅ hookstorm run: PASS"));
    }
}
