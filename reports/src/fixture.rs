//! A realistic report for the unit tests of the renderers, merge and diff:
//! checks that pass, fail and skip, a load section with several types,
//! statuses and errors over a few seconds, thresholds, and a capacity
//! search. Its own module (test builds only) so that the modules it serves
//! need not import one another for it.

use std::time::Duration;

use crate::record::{ErrorKind, Outcome, Recorder, Sample};
use crate::report::*;
use crate::request::{excerpt, RequestSummary};
use crate::stats::LoadStats;
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
        let latency_us = (200 + (i * 7919) % 5_000 + if i % 100 == 0 { 40_000 } else { 0 }) * scale;
        stats.record(&Sample {
            type_index: (i % 2) as u16,
            latency_us,
            service_us: latency_us * 3 / 4,
            outcome,
            at_ms: i,
        });
    }
    stats.count_unsent(5);
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
        provider_file: None,
        provider: "authgear".into(),
        target: "http://127.0.0.1:8080/hooks".into(),
        seed: 42,
        shard: None,
        scenario: Some("scenarios/signup-burst.yaml".into()),
        interrupted: None,
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
