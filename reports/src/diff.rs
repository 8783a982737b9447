//! Comparing two runs (`report diff BASE NEW`): latency percentiles, error
//! rate and throughput side by side, with regressions flagged beyond a
//! tolerance, and checks that passed in the base but fail in the new run.

use std::fmt::Write;

use crate::histogram::format_us;
use crate::report::{Level, Report, ReportError};
use crate::stats::LoadStats;
use crate::threshold::format_share;

/// Smallest rise of the error rate, in absolute terms (0.1 percentage
/// point), that counts as a regression. A relative tolerance alone would
/// flag 0 → 0.0001 (one failure in 10,000) as an infinite rise; the rise
/// must exceed both `base × tolerance` and this floor.
pub const ERROR_RATE_FLOOR: f64 = 0.001;

/// What a row measures, which decides its direction and formatting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    /// Latency in µs; a rise is a regression.
    Latency,
    /// A share in [0, 1]; a rise is a regression.
    ErrorRate,
    /// Requests per second; a drop is a regression.
    Throughput,
    /// Shown for context, never a regression.
    Info,
}

/// One compared metric.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffRow {
    /// Metric name (`p99 latency`, `error rate`, ...).
    pub metric: String,
    /// What the row measures.
    pub kind: MetricKind,
    /// Value in the base run (µs, fraction or req/s).
    pub base: f64,
    /// Value in the new run.
    pub new: f64,
    /// Relative change in percent; `None` when the base is 0 and the new
    /// value is not.
    pub change_pct: Option<f64>,
    /// Whether the change is a regression beyond the tolerance.
    pub regression: bool,
}

/// The comparison of two runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Diff {
    /// The tolerance used, as a fraction (0.1 = 10 %).
    pub tolerance: f64,
    /// Compared metrics (empty when either run had no load section).
    pub rows: Vec<DiffRow>,
    /// `id (event type)` of checks that passed in the base and fail now.
    pub newly_failing_checks: Vec<String>,
    /// Sections the base has and the new run lacks (`load`, `checks`,
    /// `capacity`): what was measured before and no longer is, a
    /// regression.
    pub missing_sections: Vec<&'static str>,
}

/// Compares `new` against `base`. `tolerance` is a fraction: 0.1 lets p50
/// and p99 rise and throughput drop by up to 10 % (and the error rate rise
/// by 10 % of itself, or [`ERROR_RATE_FLOOR`], whichever is larger).
///
/// Reports of different commands or providers measure different things:
/// they are refused rather than compared.
pub fn diff(base: &Report, new: &Report, tolerance: f64) -> Result<Diff, ReportError> {
    for (field, b, n) in [
        ("command", &base.run.command, &new.run.command),
        ("provider", &base.run.provider, &new.run.provider),
    ] {
        if b != n {
            return Err(ReportError::Incomparable {
                field,
                base: b.clone(),
                new: n.clone(),
            });
        }
    }
    Ok(compare(base, new, tolerance))
}

fn compare(base: &Report, new: &Report, tolerance: f64) -> Diff {
    let tolerance = if tolerance.is_finite() {
        tolerance.max(0.0)
    } else {
        0.0
    };
    let rows = match (&base.load, &new.load) {
        (Some(b), Some(n)) => load_rows(&b.stats, &n.stats, tolerance),
        _ => Vec::new(),
    };
    let newly_failing_checks = new
        .checks
        .iter()
        .filter(|c| c.level.gates(new.strict))
        .filter(|c| {
            base.checks
                .iter()
                .any(|b| b.id == c.id && b.event_type == c.event_type && b.level == Level::Pass)
        })
        .map(|c| format!("{} ({})", c.id, c.event_type))
        .collect();
    let missing_sections = [
        ("load", base.load.is_some(), new.load.is_some()),
        ("checks", !base.checks.is_empty(), !new.checks.is_empty()),
        ("capacity", base.capacity.is_some(), new.capacity.is_some()),
    ]
    .into_iter()
    .filter(|(_, in_base, in_new)| *in_base && !*in_new)
    .map(|(name, _, _)| name)
    .collect();
    Diff {
        tolerance,
        rows,
        newly_failing_checks,
        missing_sections,
    }
}

fn load_rows(base: &LoadStats, new: &LoadStats, tolerance: f64) -> Vec<DiffRow> {
    let q = |s: &LoadStats, q: f64| s.latency().value_at_quantile(q) as f64;
    let mut rows = Vec::new();
    let mut push = |metric: &str, kind: MetricKind, b: f64, n: f64| {
        let regression = match kind {
            MetricKind::Latency => n > b * (1.0 + tolerance),
            MetricKind::ErrorRate => n - b > (b * tolerance).max(ERROR_RATE_FLOOR),
            MetricKind::Throughput => n < b * (1.0 - tolerance),
            MetricKind::Info => false,
        };
        let change_pct = if b == 0.0 {
            (n == 0.0).then_some(0.0)
        } else {
            Some((n - b) / b * 100.0)
        };
        rows.push(DiffRow {
            metric: metric.to_string(),
            kind,
            base: b,
            new: n,
            change_pct,
            regression,
        });
    };
    push(
        "p50 latency",
        MetricKind::Latency,
        q(base, 0.5),
        q(new, 0.5),
    );
    push("p90 latency", MetricKind::Info, q(base, 0.9), q(new, 0.9));
    push(
        "p99 latency",
        MetricKind::Latency,
        q(base, 0.99),
        q(new, 0.99),
    );
    push(
        "p99.9 latency",
        MetricKind::Info,
        q(base, 0.999),
        q(new, 0.999),
    );
    push(
        "max latency",
        MetricKind::Info,
        base.latency().max() as f64,
        new.latency().max() as f64,
    );
    push(
        "error rate",
        MetricKind::ErrorRate,
        base.error_rate(),
        new.error_rate(),
    );
    push(
        "throughput",
        MetricKind::Throughput,
        base.achieved_rate(),
        new.achieved_rate(),
    );
    push(
        "requests",
        MetricKind::Info,
        base.requests() as f64,
        new.requests() as f64,
    );
    rows
}

impl Diff {
    /// True when any metric regressed or any check newly fails.
    pub fn is_regression(&self) -> bool {
        self.rows.iter().any(|r| r.regression)
            || !self.newly_failing_checks.is_empty()
            || !self.missing_sections.is_empty()
    }

    /// An aligned text table of the rows, the newly failing checks and the
    /// conclusion.
    pub fn render_table(&self) -> String {
        let show = |kind: MetricKind, metric: &str, v: f64| match kind {
            MetricKind::Latency => format_us(v as u64),
            MetricKind::ErrorRate => format_share(v),
            MetricKind::Throughput => format!("{v:.1}/s"),
            MetricKind::Info if metric.ends_with("latency") => format_us(v as u64),
            MetricKind::Info => format!("{v:.0}"),
        };
        let cells: Vec<[String; 5]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.metric.clone(),
                    show(r.kind, &r.metric, r.base),
                    show(r.kind, &r.metric, r.new),
                    r.change_pct.map_or("new".into(), |c| format!("{c:+.1}%")),
                    if r.regression {
                        "REGRESSION".into()
                    } else {
                        String::new()
                    },
                ]
            })
            .collect();
        let header = ["METRIC", "BASE", "NEW", "CHANGE", ""].map(String::from);
        let widths: Vec<usize> = (0..5)
            .map(|i| {
                cells
                    .iter()
                    .chain([&header])
                    .map(|c| c[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        if !self.rows.is_empty() {
            for row in [&header].into_iter().chain(&cells) {
                let line = format!(
                    "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}  {}",
                    row[0],
                    row[1],
                    row[2],
                    row[3],
                    row[4],
                    w0 = widths[0],
                    w1 = widths[1],
                    w2 = widths[2],
                    w3 = widths[3]
                );
                out.push_str(line.trim_end());
                out.push('\n');
            }
        } else {
            out.push_str("no load section in both reports: load metrics not compared\n");
        }
        for section in &self.missing_sections {
            let _ = writeln!(
                out,
                "missing: the base has a {section} section and the new report has none"
            );
        }
        for c in &self.newly_failing_checks {
            let _ = writeln!(out, "newly failing: {c}");
        }
        let _ = writeln!(
            out,
            "{} (tolerance {:.1}%, error rate floor {})",
            if self.is_regression() {
                "REGRESSION"
            } else {
                "no regression"
            },
            self.tolerance * 100.0,
            format_share(ERROR_RATE_FLOOR)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use crate::record::{ErrorKind, Outcome, Recorder, Sample};

    #[test]
    fn identical_reports_do_not_regress() {
        let report = fixture::report();
        let d = diff(&report, &report.clone(), 0.1).unwrap();
        assert!(!d.is_regression(), "{}", d.render_table());
        assert!(d.rows.iter().all(|r| r.change_pct == Some(0.0)));
        assert!(d
            .render_table()
            .ends_with("no regression (tolerance 10.0%, error rate floor 0.10%)\n"));
    }

    #[test]
    fn detects_injected_latency_regression() {
        let base = fixture::report();
        let mut new = base.clone();
        new.load.as_mut().unwrap().stats = fixture::stats(2); // twice as slow
        let d = diff(&base, &new, 0.1).unwrap();
        assert!(d.is_regression());
        let flagged: Vec<&str> = d
            .rows
            .iter()
            .filter(|r| r.regression)
            .map(|r| r.metric.as_str())
            .collect();
        assert_eq!(flagged, ["p50 latency", "p99 latency"]);
        let p50 = &d.rows[0];
        assert!((p50.change_pct.unwrap() - 100.0).abs() < 1.0, "{p50:?}");
        // Within a 150% tolerance a doubling is accepted.
        assert!(!diff(&base, &new, 1.5).unwrap().is_regression());
        let table = d.render_table();
        assert!(
            table
                .lines()
                .any(|l| l.starts_with("p99 latency") && l.ends_with("REGRESSION")),
            "{table}"
        );
        assert!(table.ends_with("REGRESSION (tolerance 10.0%, error rate floor 0.10%)\n"));
    }

    #[test]
    fn throughput_drop_and_newly_failing_check() {
        let base = fixture::report();
        let mut new = base.clone();
        new.load
            .as_mut()
            .unwrap()
            .stats
            .set_window(std::time::Duration::from_secs(6));
        new.checks[1].level = Level::Fail;
        let d = diff(&base, &new, 0.1).unwrap();
        let tp = d.rows.iter().find(|r| r.metric == "throughput").unwrap();
        assert!(tp.regression && tp.new < tp.base);
        assert_eq!(d.newly_failing_checks, ["accepts_valid (user.deleted)"]);
        // A check failing in both runs is not "newly" failing.
        assert!(!d
            .newly_failing_checks
            .iter()
            .any(|c| c.starts_with("rejects_bad_signature")));
    }

    #[test]
    fn refuses_other_runs_and_a_lost_section_is_a_regression() {
        let base = fixture::report();
        for (field, change) in [
            (
                "provider",
                (|r: &mut Report| r.run.provider = "fusionauth".into()) as fn(&mut Report),
            ),
            ("command", |r: &mut Report| r.run.command = "check".into()),
        ] {
            let mut other = base.clone();
            change(&mut other);
            let err = diff(&base, &other, 0.1).unwrap_err().to_string();
            assert!(err.contains(&format!("the {field} differs")), "{err}");
        }
        // The new run has no load section: what was measured is gone.
        let mut no_load = base.clone();
        no_load.load = None;
        let d = diff(&base, &no_load, 0.1).unwrap();
        assert_eq!(d.missing_sections, ["load"]);
        assert!(d.is_regression());
        assert!(d
            .render_table()
            .contains("missing: the base has a load section and the new report has none"));
        let mut no_checks = base.clone();
        no_checks.checks.clear();
        assert_eq!(
            diff(&base, &no_checks, 0.1).unwrap().missing_sections,
            ["checks"]
        );
        // A section only the new run has is not a regression.
        assert!(!diff(&no_load, &base, 0.1).unwrap().is_regression());
    }

    fn with_errors(errors: u64, total: u64) -> Report {
        let mut stats = LoadStats::new(vec!["t".into()]);
        for i in 0..total {
            stats.record(&Sample {
                type_index: 0,
                latency_us: 1_000,
                service_us: 900,
                outcome: if i < errors {
                    Outcome::Error(ErrorKind::Reset)
                } else {
                    Outcome::Status(200)
                },
                at_ms: i,
            });
        }
        stats.set_window(std::time::Duration::from_secs(10));
        let mut report = fixture::report();
        report.load.as_mut().unwrap().stats = stats;
        report
    }

    #[test]
    fn error_rate_uses_an_absolute_floor() {
        let clean = with_errors(0, 10_000);
        // 0 → 0.01%: infinite relative rise, but under the floor.
        let d = diff(&clean, &with_errors(1, 10_000), 0.1).unwrap();
        let row = d.rows.iter().find(|r| r.metric == "error rate").unwrap();
        assert_eq!(row.change_pct, None);
        assert!(!row.regression && !d.is_regression());
        assert!(d.render_table().contains("new"));
        // 0 → 0.5%: above the floor.
        assert!(diff(&clean, &with_errors(50, 10_000), 0.1)
            .unwrap()
            .is_regression());
        // 10% → 10.5% is within 10% of itself.
        assert!(!diff(
            &with_errors(1_000, 10_000),
            &with_errors(1_050, 10_000),
            0.1
        )
        .unwrap()
        .is_regression());
        assert!(diff(
            &with_errors(1_000, 10_000),
            &with_errors(1_200, 10_000),
            0.1
        )
        .unwrap()
        .is_regression());
    }
}
