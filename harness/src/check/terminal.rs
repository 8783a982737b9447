//! How a check run reads on a terminal: the `--list` catalog, and a
//! report's table by check, its findings by severity and the verdict.

use reports::{Level, Report};

/// The `--list` table: id, what it enforces, the provider rule.
pub fn catalog_table() -> String {
    let ids = super::CheckId::ALL;
    let width = ids.iter().map(|c| c.as_str().len()).max().unwrap_or(0);
    let mut out = String::new();
    for c in ids {
        out.push_str(&format!(
            "{:width$}  {}\n{:width$}  rule: {}\n",
            c.as_str(),
            c.description(),
            "",
            c.rule()
        ));
    }
    out
}

/// Findings shown on a terminal, each on at most 3 lines; the table and
/// these stay within about 50 lines however much fails.
const SHOWN_FINDINGS: usize = 8;
/// The longest `curl` line printed whole (longer ones are in the report).
const CURL_SHOWN: usize = 1200;

/// The terminal rendering of a check report: the table by check, the most
/// severe findings (one reproduction each), how many more are in the
/// report, and the verdict line. Bounded: about 50 lines whatever fails.
pub fn render_outcome(report: &Report, quiet: bool) -> String {
    let mut out = String::new();
    out.push_str(&reports::render::terminal::checks_table(report));
    if !quiet && !report.findings.is_empty() {
        out.push('\n');
        for f in report.findings.iter().take(SHOWN_FINDINGS) {
            out.push_str(&format!(
                "{} {} {} [{}] `{}`: {}\n",
                f.id,
                f.level,
                f.check,
                f.types_phrase(),
                f.variant,
                one_line(&f.message, 160)
            ));
            if f.curl.len() <= CURL_SHOWN && !f.curl.contains('\n') {
                out.push_str(&format!("  reproduce: {}\n", f.curl));
            } else {
                out.push_str(&format!(
                    "  reproduce: a {}-byte curl command, in summary.md and report.json ({})\n",
                    f.curl.len(),
                    f.id
                ));
            }
            if let Some(expires) = &f.expires {
                out.push_str(&format!("  ({})\n", one_line(expires, 200)));
            }
        }
        let more = report.findings.len().saturating_sub(SHOWN_FINDINGS);
        if more > 0 {
            out.push_str(&format!(
                "{more} more finding(s) in the report (--out DIR: summary.md, report.json)\n"
            ));
        }
    }
    if let Some(why) = &report.stopped {
        out.push_str(&format!("\nstopped early: {why}\n"));
    }
    let count = |l: Level| report.checks.iter().filter(|c| c.level == l).count();
    // A partial run is never PASSED, whatever finished before the signal.
    let verdict = if report.run.interrupted.is_some() {
        "INTERRUPTED"
    } else if report.passed() {
        "PASSED"
    } else if report.unjudged() && !report.checks.iter().any(|c| c.level == Level::Fail) {
        "NOT JUDGED (the receiver could not be judged)"
    } else {
        "FAILED"
    };
    out.push_str(&format!(
        "\n{verdict} — {} passed, {} FAIL, {} ERROR, {} NON-STRICT{}, {} INFO, {} skipped (seed {})\n",
        count(Level::Pass),
        count(Level::Fail),
        count(Level::Error),
        count(Level::NonStrict),
        if report.strict { " (gating: --strict)" } else { " (not gating without --strict)" },
        count(Level::Info),
        count(Level::Skipped),
        report.run.seed
    ));
    if let Some(banner) = reports::render::interrupted_banner(report) {
        out.push_str(&format!("{banner}\n"));
    }
    if report.unjudged() {
        out.push_str("some checks could not be judged: see the ERROR findings\n");
    }
    out
}

/// `text` on one line, cut to `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let flat = text.replace(['\n', '\r'], " ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}… (full text in the report)")
    }
}
