//! Version-1 reports: results were pass / fail / skip and carried their
//! failures inline. Read only, to upgrade into the current layout.

use serde::Deserialize;

use super::{CapacitySection, Level, LoadSection, RunInfo};
use crate::finding::Finding;
use crate::request::RequestSummary;
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

#[cfg(test)]
mod tests {
    use crate::{Level, Report, REPORT_VERSION};

    /// A report written by hookstorm before verdict levels (version 1):
    /// results pass/fail/skip, failures inline with their curl lines, one
    /// of them 20 KB. (`render`'s tests render, merge and diff it too.)
    const V1: &str = include_str!("../../tests/fixtures/report-v1.json");

    #[test]
    fn version_1_reports_still_read() {
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
    }
}
