//! Pass/fail thresholds on load statistics (`p99<250ms`, `error_rate<0.1%`,
//! `rps>1000`): the parser, with errors that show the accepted grammar, and
//! their evaluation against a `LoadStats`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::histogram::format_us;
use crate::stats::LoadStats;

/// The accepted grammar, shown in every parse error.
pub const GRAMMAR: &str = "METRIC OP VALUE, where
  METRIC is p50, p90, p99, p99.9 (any pN with 0 < N <= 100), min, mean or max
         (latency from the intended send; prefix `service.` for service time),
         error_rate, missed (share of intended requests not sent on time),
         or rps (achieved requests per second)
  OP     is <, <=, > or >=
  VALUE  is a duration with a unit (us, µs, ms, s, m) for latency metrics,
         a percentage (0.1%) or fraction (0.001) for error_rate and missed,
         a number for rps
  e.g. p99<250ms, p99.9<=2s, error_rate<0.1%, rps>1000";

/// Why a threshold expression is not valid.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("invalid threshold {expr:?}: {problem}\naccepted: {GRAMMAR}")]
pub struct ThresholdError {
    /// The expression as written.
    pub expr: String,
    /// What is wrong with it.
    pub problem: String,
}

/// The outcome of one threshold, as stored in the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdResult {
    /// The expression as written.
    pub expr: String,
    /// The measured value, formatted like the expression's value.
    pub actual: String,
    /// Whether the measured value satisfies the expression.
    pub passed: bool,
}

/// What a threshold measures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Metric {
    /// A latency quantile in [0, 1]; `service` selects service time.
    Quantile {
        /// The quantile (0.99 for p99).
        q: f64,
        /// Service time instead of latency.
        service: bool,
    },
    /// Smallest latency.
    Min {
        /// Service time instead of latency.
        service: bool,
    },
    /// Mean latency.
    Mean {
        /// Service time instead of latency.
        service: bool,
    },
    /// Largest latency.
    Max {
        /// Service time instead of latency.
        service: bool,
    },
    /// Share of requests that did not succeed.
    ErrorRate,
    /// Share of intended requests not sent on time.
    Missed,
    /// Achieved requests per second.
    Rps,
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    fn holds(self, actual: f64, bound: f64) -> bool {
        match self {
            Op::Lt => actual < bound,
            Op::Le => actual <= bound,
            Op::Gt => actual > bound,
            Op::Ge => actual >= bound,
        }
    }
}

/// A parsed threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    /// The expression as written (trimmed).
    pub expr: String,
    /// What it measures.
    pub metric: Metric,
    /// How it compares.
    pub op: Op,
    /// The bound: µs for latency metrics, a fraction for rates, req/s for rps.
    pub bound: f64,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

impl FromStr for Threshold {
    type Err = ThresholdError;
    fn from_str(s: &str) -> Result<Threshold, ThresholdError> {
        parse(s)
    }
}

/// Parses a threshold expression; see [`GRAMMAR`].
pub fn parse(s: &str) -> Result<Threshold, ThresholdError> {
    let expr = s.trim();
    let fail = |problem: String| ThresholdError {
        expr: expr.to_string(),
        problem,
    };
    let Some(op_at) = expr.find(['<', '>']) else {
        return Err(fail("no comparison operator (<, <=, >, >=)".into()));
    };
    let name = expr[..op_at].trim();
    let rest = &expr[op_at..];
    let (op, value) = if let Some(v) = rest.strip_prefix("<=") {
        (Op::Le, v)
    } else if let Some(v) = rest.strip_prefix(">=") {
        (Op::Ge, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Op::Lt, v)
    } else if let Some(v) = rest.strip_prefix('>') {
        (Op::Gt, v)
    } else {
        return Err(fail("no comparison operator".into()));
    };
    let value = value.trim();
    if value.is_empty() {
        return Err(fail("no value after the operator".into()));
    }
    if name.is_empty() {
        return Err(fail("no metric before the operator".into()));
    }
    let metric = parse_metric(name).map_err(&fail)?;
    let bound = match metric {
        Metric::ErrorRate | Metric::Missed => parse_share(value),
        Metric::Rps => parse_number(value.strip_suffix("/s").unwrap_or(value).trim()),
        _ => parse_duration_us(value),
    }
    .map_err(&fail)?;
    Ok(Threshold {
        expr: expr.to_string(),
        metric,
        op,
        bound,
    })
}

fn parse_metric(name: &str) -> Result<Metric, String> {
    let lower = name.to_ascii_lowercase();
    let (service, base) = match lower.strip_prefix("service.") {
        Some(rest) => (true, rest),
        None => (false, lower.as_str()),
    };
    let metric = match base {
        "min" => Metric::Min { service },
        "mean" | "avg" => Metric::Mean { service },
        "max" => Metric::Max { service },
        "error_rate" if !service => Metric::ErrorRate,
        "missed" if !service => Metric::Missed,
        "rps" if !service => Metric::Rps,
        _ => {
            let Some(n) = base.strip_prefix('p') else {
                return Err(format!("unknown metric {name:?}"));
            };
            let pct: f64 = n.parse().map_err(|_| {
                format!("unknown metric {name:?}: after `p` comes a percentile like 99 or 99.9")
            })?;
            if !(pct > 0.0 && pct <= 100.0) {
                return Err(format!("percentile {n} is not in (0, 100]"));
            }
            // Through integers, so `p99.9` gives the same double as the
            // literal 0.999 (99.9 / 100 is 0.9990000000000001, which moves
            // the quantile's rank by one on round sample counts).
            Metric::Quantile {
                q: (pct * 1e10).round() / 1e12,
                service,
            }
        }
    };
    Ok(metric)
}

fn parse_number(text: &str) -> Result<f64, String> {
    let n: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if !n.is_finite() || n < 0.0 {
        return Err(format!("{text:?} is not a finite non-negative number"));
    }
    Ok(n)
}

fn parse_share(text: &str) -> Result<f64, String> {
    if let Some(pct) = text.strip_suffix('%') {
        let n = parse_number(pct.trim())?;
        if n > 100.0 {
            return Err(format!("{text} is more than 100%"));
        }
        Ok(n / 100.0)
    } else {
        let n = parse_number(text)?;
        if n > 1.0 {
            return Err(format!(
                "{text} is more than 1; write a percentage with % (e.g. {text}%) or a fraction in [0, 1]"
            ));
        }
        Ok(n)
    }
}

/// Parses `250ms`, `1.5s`, `500us`, `500µs`, `2m` into microseconds.
fn parse_duration_us(text: &str) -> Result<f64, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("{text:?} has no unit; latency needs one of us, µs, ms, s, m"))?;
    let (number, unit) = text.split_at(split);
    let n = parse_number(number)?;
    let scale = match unit.trim() {
        "us" | "µs" | "μs" => 1.0,
        "ms" => 1_000.0,
        "s" => 1_000_000.0,
        "m" | "min" => 60_000_000.0,
        other => {
            return Err(format!(
                "unknown duration unit {other:?}; use us, µs, ms, s or m"
            ))
        }
    };
    Ok(n * scale)
}

impl Threshold {
    /// Evaluates against `stats`, counting statuses >= 400 as failures.
    pub fn evaluate(&self, stats: &LoadStats) -> ThresholdResult {
        self.evaluate_with(stats, |status| status < 400)
    }

    /// Evaluates against `stats` with the provider's success rule for
    /// `error_rate`. A run with no requests fails every threshold: a gate
    /// that measured nothing must not pass.
    pub fn evaluate_with(
        &self,
        stats: &LoadStats,
        success: impl Fn(u16) -> bool,
    ) -> ThresholdResult {
        if stats.requests() == 0 {
            return ThresholdResult {
                expr: self.expr.clone(),
                actual: "no requests".into(),
                passed: false,
            };
        }
        let pick = |service: bool| {
            if service {
                stats.service()
            } else {
                stats.latency()
            }
        };
        let (actual, shown) = match self.metric {
            Metric::Quantile { q, service } => {
                let v = pick(service).value_at_quantile(q);
                (v as f64, format_us(v))
            }
            Metric::Min { service } => {
                let v = pick(service).min();
                (v as f64, format_us(v))
            }
            Metric::Max { service } => {
                let v = pick(service).max();
                (v as f64, format_us(v))
            }
            Metric::Mean { service } => {
                let v = pick(service).mean();
                (v, format_us(v.round() as u64))
            }
            Metric::ErrorRate => {
                let v = stats.error_rate_with(success);
                (v, format_share(v))
            }
            Metric::Missed => {
                let v = stats.missed_rate();
                (v, format_share(v))
            }
            Metric::Rps => {
                let v = stats.achieved_rate();
                (v, format!("{v:.1}/s"))
            }
        };
        ThresholdResult {
            expr: self.expr.clone(),
            actual: shown,
            passed: self.op.holds(actual, self.bound),
        }
    }
}

/// Formats a share as a percentage with enough digits to tell 0 from tiny.
pub fn format_share(v: f64) -> String {
    let pct = v * 100.0;
    if pct == 0.0 || pct >= 10.0 {
        format!("{pct:.1}%")
    } else if pct >= 0.1 {
        format!("{pct:.2}%")
    } else {
        format!("{pct:.4}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ErrorKind, Outcome, Recorder, Sample};
    use std::time::Duration;

    #[test]
    fn parses_the_documented_forms() {
        let cases: [(&str, Metric, Op, f64); 12] = [
            (
                "p50<250ms",
                Metric::Quantile {
                    q: 0.5,
                    service: false,
                },
                Op::Lt,
                250_000.0,
            ),
            (
                "p99<=1s",
                Metric::Quantile {
                    q: 0.99,
                    service: false,
                },
                Op::Le,
                1_000_000.0,
            ),
            (
                "p99.9 < 2s",
                Metric::Quantile {
                    q: 0.999,
                    service: false,
                },
                Op::Lt,
                2_000_000.0,
            ),
            (
                "max<5s",
                Metric::Max { service: false },
                Op::Lt,
                5_000_000.0,
            ),
            (
                "mean<100ms",
                Metric::Mean { service: false },
                Op::Lt,
                100_000.0,
            ),
            (
                "service.p99<500us",
                Metric::Quantile {
                    q: 0.99,
                    service: true,
                },
                Op::Lt,
                500.0,
            ),
            (
                "p90<800µs",
                Metric::Quantile {
                    q: 0.9,
                    service: false,
                },
                Op::Lt,
                800.0,
            ),
            (
                "p100<=2m",
                Metric::Quantile {
                    q: 1.0,
                    service: false,
                },
                Op::Le,
                120_000_000.0,
            ),
            ("error_rate<0.1%", Metric::ErrorRate, Op::Lt, 0.001),
            ("error_rate<=0.001", Metric::ErrorRate, Op::Le, 0.001),
            ("rps>1000", Metric::Rps, Op::Gt, 1000.0),
            ("missed>=1%", Metric::Missed, Op::Ge, 0.01),
        ];
        for (text, metric, op, bound) in cases {
            let t = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(t.metric, metric, "{text}");
            assert_eq!(t.op, op, "{text}");
            assert!(
                (t.bound - bound).abs() < 1e-9,
                "{text}: {} != {bound}",
                t.bound
            );
        }
    }

    #[test]
    fn rejects_bad_input_with_a_reason_and_the_grammar() {
        let cases = [
            ("p99 250ms", "operator"),
            ("p99<", "no value"),
            ("<250ms", "no metric"),
            ("p99<250", "no unit"),
            ("p99<250hours", "unknown duration unit"),
            ("p0<1ms", "not in (0, 100]"),
            ("p101<1ms", "not in (0, 100]"),
            ("pxx<1ms", "percentile like"),
            ("latency<1ms", "unknown metric"),
            ("error_rate<5", "more than 1"),
            ("error_rate<200%", "more than 100%"),
            ("rps>fast", "not a number"),
            ("p99<-1ms", "not a number"),
            ("service.rps>1", "unknown metric"),
        ];
        for (text, needle) in cases {
            let err = parse(text).unwrap_err();
            let shown = err.to_string();
            assert!(shown.contains(needle), "{text}: {shown}");
            assert!(
                shown.contains("accepted: METRIC OP VALUE"),
                "{text}: {shown}"
            );
        }
    }

    fn stats_with(latencies_us: &[u64], statuses: &[u16]) -> LoadStats {
        let mut stats = LoadStats::new(vec!["t".into()]);
        for (i, (&us, &status)) in latencies_us.iter().zip(statuses).enumerate() {
            stats.record(&Sample {
                type_index: 0,
                latency_us: us,
                service_us: us / 2,
                outcome: if status == 0 {
                    Outcome::Error(ErrorKind::Reset)
                } else {
                    Outcome::Status(status)
                },
                at_ms: i as u64,
            });
        }
        stats.set_window(Duration::from_secs(1));
        stats
    }

    #[test]
    fn evaluates_against_load_stats() {
        // 100 requests: latencies 10, 20, ..., 1000 µs (exact in a 3-digit
        // histogram), one 500 and one reset.
        let latencies: Vec<u64> = (1..=100).map(|i| i * 10).collect();
        let mut statuses = vec![200u16; 100];
        statuses[10] = 500;
        statuses[20] = 0;
        let stats = stats_with(&latencies, &statuses);
        let eval = |s: &str| parse(s).unwrap().evaluate(&stats);
        assert!(eval("p50<=500us").passed);
        assert!(!eval("p50<500us").passed);
        assert!(eval("p99<1ms").passed && !eval("p99<990us").passed);
        assert!(eval("max<=1ms").passed && !eval("max<1ms").passed);
        assert!(eval("service.max<=500us").passed && !eval("service.max<500us").passed);
        assert!(!eval("mean<505us").passed && eval("mean<506us").passed);
        let r = eval("error_rate<1%");
        assert_eq!((r.actual.as_str(), r.passed), ("2.00%", false));
        assert!(eval("error_rate<=0.02").passed);
        assert!(eval("rps>=100").passed && !eval("rps>100").passed);
        assert_eq!(eval("rps>1").actual, "100.0/s");
        assert_eq!(eval("p50<1s").actual, "500µs");
        assert!(eval("missed<1%").passed);
        // Standard Webhooks' stricter success rule changes error_rate only.
        let strict = parse("error_rate<=0.02")
            .unwrap()
            .evaluate_with(&stats, |s| (200..300).contains(&s));
        assert!(strict.passed);
    }

    #[test]
    fn nothing_measured_fails_every_threshold() {
        let stats = LoadStats::new(vec![]);
        let r = parse("error_rate<1%").unwrap().evaluate(&stats);
        assert_eq!((r.actual.as_str(), r.passed), ("no requests", false));
    }
}
