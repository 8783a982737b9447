//! How a check run reads on a terminal: the `--list` catalog, and a
//! report's failures (each with its `curl` reproduction), table and verdict.

use reports::{CheckOutcome, Report};

/// The `--list` table: id, what it enforces, the provider rule.
pub fn catalog_table() -> String {
    let width = super::CATALOG.iter().map(|c| c.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    for c in super::CATALOG {
        out.push_str(&format!(
            "{:width$}  {}\n{:width$}  rule: {}\n",
            c.id, c.description, "", c.rule
        ));
    }
    out
}

/// The terminal rendering of a check report: failures first, each with its
/// reproduction, then the aligned table and the verdict line.
pub fn render_outcome(report: &Report, quiet: bool) -> String {
    let mut out = String::new();
    if !quiet {
        for result in report
            .checks
            .iter()
            .filter(|r| r.outcome == CheckOutcome::Fail)
        {
            for failure in &result.failures {
                out.push_str(&format!(
                    "\nFAIL {} [{}] variant `{}`\n  {}\n",
                    result.id, result.event_type, failure.variant, failure.message
                ));
                match (failure.response_status, &failure.error) {
                    (Some(status), _) => out.push_str(&format!(
                        "  response: {status} {}\n",
                        failure.response_excerpt.replace('\n', " ")
                    )),
                    (None, Some(err)) => out.push_str(&format!("  response: none ({err})\n")),
                    (None, None) => {}
                }
                out.push_str(&format!("  reproduce: {}\n", failure.curl));
            }
        }
        out.push('\n');
    }
    out.push_str(&reports::render::terminal::checks_table(report));
    let (pass, fail, skip) = report.check_counts();
    // A partial run is never PASSED, whatever finished before the signal.
    let verdict = match (&report.run.interrupted, fail) {
        (Some(_), _) => "INTERRUPTED",
        (None, 0) => "PASSED",
        (None, _) => "FAILED",
    };
    out.push_str(&format!(
        "\n{verdict} — {pass} passed, {fail} failed, {skip} skipped (seed {})\n",
        report.run.seed
    ));
    if let Some(banner) = reports::render::interrupted_banner(report) {
        out.push_str(&format!("{banner}\n"));
    }
    out
}
