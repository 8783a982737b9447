//! `junit.xml` for CI test tabs: one testsuite per check id, one testcase
//! per check × event type, and a `thresholds` testsuite with one testcase
//! per threshold.
//!
//! Levels map as CI tabs read them: FAIL → `<failure>`, ERROR → `<error>`,
//! NON-STRICT → `<failure>` under `--strict` and `<skipped>` otherwise,
//! INFO and SKIPPED → `<skipped>` with the message; every testcase carries
//! its level as a `level` property. A finding's text (and `curl` line) is
//! written in the first testcase it covers; the others name it. An
//! interrupted run adds an `interrupted` testsuite whose one testcase is an
//! error, so a CI test tab never shows a partial run as green.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report as JUnitReport, TestCase, TestCaseStatus, TestSuite};

use crate::report::{CheckResult, Level, Report, ReportError};

/// The report as JUnit XML.
pub fn render(report: &Report) -> Result<String, ReportError> {
    let mut junit = JUnitReport::new("hookstorm");
    let mut ids: Vec<&str> = Vec::new();
    let mut written: Vec<&str> = Vec::new();
    for c in &report.checks {
        if !ids.contains(&c.id.as_str()) {
            ids.push(&c.id);
        }
    }
    for id in ids {
        let mut suite = TestSuite::new(id);
        for c in report.checks.iter().filter(|c| c.id == id) {
            suite.add_test_case(test_case(report, c, &mut written));
        }
        junit.add_test_suite(suite);
    }
    if !report.thresholds.is_empty() {
        let mut suite = TestSuite::new("thresholds");
        for t in &report.thresholds {
            let status = if t.passed {
                TestCaseStatus::success()
            } else {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!("{} not met: actual {}", t.expr, t.actual));
                s.set_type("threshold");
                s
            };
            let mut case = TestCase::new(t.expr.as_str(), status);
            case.set_classname("thresholds");
            case.add_property(("actual", t.actual.as_str()));
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    if let Some(banner) = crate::render::interrupted_banner(report) {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_message(banner);
        status.set_type("interrupted");
        let mut case = TestCase::new("run", status);
        case.set_classname("interrupted");
        let mut suite = TestSuite::new("interrupted");
        suite.add_test_case(case);
        junit.add_test_suite(suite);
    }
    junit.to_string().map_err(|e| ReportError::Render {
        what: "junit.xml",
        detail: e.to_string(),
    })
}

fn test_case<'r>(report: &'r Report, c: &CheckResult, written: &mut Vec<&'r str>) -> TestCase {
    let message = c.reason.as_deref().unwrap_or(c.level.as_str());
    let kind = match c.level {
        Level::Pass => None,
        Level::Fail => Some(NonSuccessKind::Failure),
        Level::NonStrict if report.strict => Some(NonSuccessKind::Failure),
        Level::Error => Some(NonSuccessKind::Error),
        Level::NonStrict | Level::Info | Level::Skipped => None,
    };
    let status = match kind {
        Some(kind) => {
            let mut s = TestCaseStatus::non_success(kind);
            s.set_message(message);
            s.set_type(c.id.as_str());
            s.set_description(finding_text(report, c, written));
            s
        }
        None if c.level == Level::Pass => TestCaseStatus::success(),
        None => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(format!("{}: {message}", c.level));
            s
        }
    };
    let mut case = TestCase::new(c.event_type.as_str(), status);
    case.set_classname(c.id.as_str());
    case.set_time(Duration::from_millis(c.duration_ms));
    case.add_property(("level", c.level.as_str()));
    case.add_property(("rule", c.rule.as_str()));
    case.add_property(("cases", c.cases.to_string().as_str()));
    if !c.findings.is_empty() {
        case.add_property(("findings", c.findings.join(",").as_str()));
    }
    case
}

/// The body of a `<failure>` / `<error>`: each finding of the result with
/// its response and `curl` line, the first time it is shown; a reference
/// to it afterwards (a finding spans many event types).
fn finding_text<'r>(report: &'r Report, c: &CheckResult, written: &mut Vec<&'r str>) -> String {
    let mut text = format!("{}\nrule: {}\n", c.description, c.rule);
    for f in c.findings.iter().filter_map(|id| report.finding(id)) {
        if written.contains(&f.id.as_str()) {
            text.push_str(&format!(
                "\n{} {}: see the first testcase of {}\n",
                f.id, f.level, f.id
            ));
            continue;
        }
        written.push(&f.id);
        text.push_str(&format!(
            "\n{} {} [{}] {} (event types: {})\n",
            f.id,
            f.level,
            f.variant,
            f.message,
            f.event_types.join(", ")
        ));
        match (f.response_status, &f.error) {
            (Some(status), _) => {
                text.push_str(&format!("response: {status} {}\n", f.response_excerpt))
            }
            (None, Some(error)) => text.push_str(&format!("error: {error}\n")),
            (None, None) => {}
        }
        text.push_str(&format!("reproduce:\n  {}\n", f.curl));
        if let Some(expires) = &f.expires {
            text.push_str(&format!("  ({expires})\n"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn well_formed_with_expected_testcases() {
        let report = fixture::report();
        let xml = render(&report).unwrap();
        // Well-formed: quick-junit's own parser reads it back.
        let parsed = JUnitReport::deserialize_from_str(&xml).unwrap();
        let suites: Vec<(&str, usize)> = parsed
            .test_suites
            .iter()
            .map(|s| (s.name.as_str(), s.test_cases.len()))
            .collect();
        assert_eq!(
            suites,
            vec![
                ("accepts_valid", 3),
                ("rejects_bad_signature", 2),
                ("duplicate_idempotent", 2),
                ("thresholds", 2),
            ]
        );
        assert_eq!(parsed.tests, report.checks.len() + report.thresholds.len());
        let failed_thresholds = report.thresholds.iter().filter(|t| !t.passed).count();
        assert_eq!(parsed.failures, 1 + failed_thresholds);
        let failing = &parsed.test_suites[1].test_cases[0];
        assert_eq!(failing.name.as_str(), "user.created");
        match &failing.status {
            TestCaseStatus::NonSuccess {
                message,
                description,
                ..
            } => {
                assert_eq!(
                    message.as_ref().unwrap().as_str(),
                    "accepted a tampered body with 200"
                );
                let body = description.as_ref().unwrap().as_str();
                assert!(body.contains("curl -sS -i -X POST"), "{body}");
                assert!(body.contains("O'\\''Brien"), "curl quoting kept: {body}");
            }
            other => panic!("expected a failure, got {other:?}"),
        }
        assert!(matches!(
            parsed.test_suites[2].test_cases[0].status,
            TestCaseStatus::Skipped { .. }
        ));
        // Characters that need escaping in XML are escaped.
        assert!(
            xml.contains("&lt;ok&gt; &amp; &quot;accepted&quot;")
                || xml.contains("&lt;ok&gt; &amp; \"accepted\"")
        );
    }

    #[test]
    fn an_interrupted_run_is_an_error_testcase() {
        let mut report = fixture::report();
        let parsed = JUnitReport::deserialize_from_str(&render(&report).unwrap()).unwrap();
        assert_eq!(parsed.errors, 0);
        report.run.interrupted = Some("SIGTERM".into());
        let xml = render(&report).unwrap();
        let parsed = JUnitReport::deserialize_from_str(&xml).unwrap();
        assert_eq!(parsed.errors, 1, "{xml}");
        let suite = parsed.test_suites.last().unwrap();
        assert_eq!(suite.name.as_str(), "interrupted");
        match &suite.test_cases[0].status {
            TestCaseStatus::NonSuccess { message, .. } => {
                let message = message.as_ref().unwrap().as_str();
                assert!(message.contains("interrupted by SIGTERM"), "{message}");
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn levels_map_to_junit_statuses_and_a_property() {
        let mut report = fixture::report();
        report.checks[0].level = Level::Error;
        report.checks[1].level = Level::NonStrict;
        report.checks[2].level = Level::Info;
        let status = |report: &Report, i: usize| {
            let parsed = JUnitReport::deserialize_from_str(&render(report).unwrap()).unwrap();
            let case = parsed.test_suites[0].test_cases[i].clone();
            let level = case
                .properties
                .iter()
                .find(|p| p.name.as_str() == "level")
                .map(|p| p.value.to_string());
            (case.status, level)
        };
        let (error, level) = status(&report, 0);
        assert!(
            matches!(
                error,
                TestCaseStatus::NonSuccess {
                    kind: NonSuccessKind::Error,
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(level.as_deref(), Some("ERROR"));
        let (lenient, level) = status(&report, 1);
        assert!(
            matches!(lenient, TestCaseStatus::Skipped { .. }),
            "{lenient:?}"
        );
        assert_eq!(level.as_deref(), Some("NON-STRICT"));
        let (info, _) = status(&report, 2);
        match info {
            TestCaseStatus::Skipped { message, .. } => {
                assert!(message.unwrap().as_str().starts_with("INFO: "))
            }
            other => panic!("INFO is skipped: {other:?}"),
        }
        report.strict = true;
        let (strict, _) = status(&report, 1);
        assert!(
            matches!(
                strict,
                TestCaseStatus::NonSuccess {
                    kind: NonSuccessKind::Failure,
                    ..
                }
            ),
            "{strict:?}"
        );
    }

    #[test]
    fn empty_report_is_still_valid_junit() {
        let mut report = fixture::report();
        report.checks.clear();
        report.thresholds.clear();
        let xml = render(&report).unwrap();
        let parsed = JUnitReport::deserialize_from_str(&xml).unwrap();
        assert_eq!(parsed.tests, 0);
    }
}
