//! `index.html`: one self-contained page (inline CSS, inline SVG charts drawn
//! with plotters, no script, no network) rendered from a minijinja template:
//! verdict, the checks table by check, the findings by severity with their
//! `curl` reproductions, every result in a collapsed table, the latency
//! percentile curve on HdrHistogram's log axis, latency and throughput over
//! time, per-type, status and error tables, capacity steps and thresholds.

use plotters::prelude::*;
use serde::Serialize;

use crate::histogram::{format_us, Percentiles};
use crate::render::{check_rows, verdict_word};
use crate::report::{Report, ReportError};
use crate::stats::LoadStats;
use crate::threshold::format_share;

const TEMPLATE: &str = include_str!("index.html.j2");
const WIDTH: u32 = 760;
const HEIGHT: u32 = 340;

/// The report as one self-contained HTML page.
pub fn render(report: &Report) -> Result<String, ReportError> {
    let mut env = minijinja::Environment::new();
    // The `.html` name turns on HTML auto-escaping for every `{{ }}`: check
    // messages and response excerpts come from the receiver under test.
    env.add_template("index.html", TEMPLATE)
        .map_err(|e| render_error(e.to_string()))?;
    let page = Page::new(report)?;
    env.get_template("index.html")
        .and_then(|t| t.render(minijinja::Value::from_serialize(&page)))
        .map_err(|e| render_error(format!("{e:#}")))
}

fn render_error(detail: String) -> ReportError {
    ReportError::Render {
        what: "index.html",
        detail,
    }
}

#[derive(Serialize)]
struct Page {
    title: String,
    passed: bool,
    verdict: &'static str,
    tool: String,
    created_at: String,
    command: String,
    provider: String,
    target: String,
    seed: u64,
    shard: Option<String>,
    scenario: Option<String>,
    counts: (usize, usize, usize),
    strict: bool,
    stopped: Option<String>,
    rows: Vec<Row>,
    checks: Vec<Check>,
    findings: Vec<FindingView>,
    load: Option<Load>,
    capacity: Option<Capacity>,
    thresholds: Vec<Threshold>,
}

#[derive(Serialize)]
struct Row {
    id: String,
    types: String,
    result: &'static str,
    tally: String,
    failed: bool,
    cases: u64,
    reason: String,
}

#[derive(Serialize)]
struct Check {
    id: String,
    event_type: String,
    outcome: &'static str,
    reason: String,
    cases: u32,
    duration_ms: u64,
    findings: String,
}

#[derive(Serialize)]
struct FindingView {
    id: String,
    level: &'static str,
    check: String,
    variant: String,
    types: String,
    probes: u32,
    message: String,
    response: String,
    response_excerpt: String,
    request_line: String,
    headers: Vec<(String, String)>,
    body_excerpt: String,
    curl: String,
    expires: Option<String>,
}

#[derive(Serialize)]
struct Load {
    model: String,
    requests: u64,
    achieved: String,
    requested: Option<String>,
    duration: String,
    missed: String,
    error_rate: String,
    percentiles: Vec<(String, [String; 7])>,
    percentile_svg: String,
    latency_svg: String,
    throughput_svg: String,
    types: Vec<[String; 7]>,
    statuses: Vec<(u16, u64, String)>,
    errors: Vec<(&'static str, u64, String)>,
}

#[derive(Serialize)]
struct Capacity {
    slo: String,
    best: String,
    steps: Vec<[String; 6]>,
    passed: Vec<bool>,
}

#[derive(Serialize)]
struct Threshold {
    expr: String,
    actual: String,
    passed: bool,
}

impl Page {
    fn new(report: &Report) -> Result<Page, ReportError> {
        let run = &report.run;
        let rows = check_rows(report)
            .into_iter()
            .map(|r| Row {
                id: r.id,
                types: r.types,
                result: r.level.as_str(),
                tally: r.tally,
                failed: r.failed,
                cases: r.cases,
                reason: r.reason,
            })
            .collect();
        let checks = report
            .checks
            .iter()
            .map(|c| Check {
                id: c.id.clone(),
                event_type: c.event_type.clone(),
                outcome: c.level.as_str(),
                reason: c.reason.clone().unwrap_or_default(),
                cases: c.cases,
                duration_ms: c.duration_ms,
                findings: c.findings.join(", "),
            })
            .collect();
        let findings = report
            .findings
            .iter()
            .map(|f| FindingView {
                id: f.id.clone(),
                level: f.level.as_str(),
                check: f.check.clone(),
                variant: f.variant.clone(),
                types: f.event_types.join(", "),
                probes: f.probes,
                message: f.message.clone(),
                response: match (f.response_status, &f.error) {
                    (Some(s), _) => s.to_string(),
                    (None, Some(e)) => e.clone(),
                    (None, None) => "no response".into(),
                },
                response_excerpt: f.response_excerpt.clone(),
                request_line: format!("{} {}", f.request.method, f.request.url),
                headers: f.request.headers.clone(),
                body_excerpt: f.request.body_excerpt.clone(),
                curl: f.curl.clone(),
                expires: f.expires.clone(),
            })
            .collect();
        let load = match &report.load {
            Some(l) => Some(Load::new(&l.stats, l)?),
            None => None,
        };
        let capacity = report.capacity.as_ref().map(|c| Capacity {
            slo: c.slo.join(", "),
            best: c
                .best_rate
                .map_or("none met the SLO".into(), |r| format!("{r:.1}/s")),
            steps: c
                .steps
                .iter()
                .map(|s| {
                    [
                        format!("{:.1}/s", s.rate),
                        format!("{:.1}/s", s.achieved),
                        format_us(s.p50_us),
                        format_us(s.p99_us),
                        format_share(s.error_rate),
                        if s.passed { "met" } else { "missed" }.to_string(),
                    ]
                })
                .collect(),
            passed: c.steps.iter().map(|s| s.passed).collect(),
        });
        Ok(Page {
            title: format!(
                "hookstorm {} · {} · {}",
                run.command,
                run.provider,
                verdict_word(report)
            ),
            passed: report.passed(),
            verdict: verdict_word(report),
            tool: report.tool.clone(),
            created_at: report.created_at.clone(),
            command: run.command.clone(),
            provider: run.provider.clone(),
            target: run.target.clone(),
            seed: run.seed,
            shard: run.shard.map(|(k, n)| format!("{k}/{n}")),
            scenario: run.scenario.clone(),
            counts: report.check_counts(),
            strict: report.strict,
            stopped: report.stopped.clone(),
            rows,
            checks,
            findings,
            load,
            capacity,
            thresholds: report
                .thresholds
                .iter()
                .map(|t| Threshold {
                    expr: t.expr.clone(),
                    actual: t.actual.clone(),
                    passed: t.passed,
                })
                .collect(),
        })
    }
}

impl Load {
    fn new(stats: &LoadStats, section: &crate::report::LoadSection) -> Result<Load, ReportError> {
        let total = stats.requests().max(1) as f64;
        let percentiles = super::percentile_rows(stats)
            .into_iter()
            .map(|(label, h)| {
                let p = Percentiles::of(h);
                (
                    label.to_string(),
                    [
                        p.min,
                        p.p50,
                        p.p90,
                        p.p99,
                        p.p999,
                        p.max,
                        p.mean.round() as u64,
                    ]
                    .map(format_us),
                )
            })
            .collect();
        let types = stats
            .types()
            .filter(|(_, t)| t.requests > 0)
            .map(|(name, t)| {
                let p = Percentiles::of(&t.latency);
                [
                    name.to_string(),
                    t.requests.to_string(),
                    format_share(t.failures as f64 / t.requests as f64),
                    format_us(p.p50),
                    format_us(p.p90),
                    format_us(p.p99),
                    format_us(p.max),
                ]
            })
            .collect();
        Ok(Load {
            model: section.model.clone(),
            requests: stats.requests(),
            achieved: format!("{:.1}/s", stats.achieved_rate()),
            requested: section.requested_rate.map(|r| format!("{r:.1}/s")),
            duration: format_us(section.duration_ms.saturating_mul(1_000)),
            missed: format!("{} ({})", stats.missed(), format_share(stats.missed_rate())),
            error_rate: format_share(stats.error_rate()),
            percentiles,
            percentile_svg: percentile_chart(stats)?,
            latency_svg: latency_chart(stats)?,
            throughput_svg: throughput_chart(stats)?,
            types,
            statuses: stats
                .statuses()
                .map(|(c, n)| (c, n, format_share(n as f64 / total)))
                .collect(),
            errors: stats
                .error_kinds()
                .map(|(k, n)| (k.as_str(), n, format_share(n as f64 / total)))
                .collect(),
        })
    }
}

fn chart_error(e: impl std::fmt::Debug) -> ReportError {
    render_error(format!("chart: {e:?}"))
}

/// The x position of quantile `q` on HdrHistogram's axis, log10(1/(1-q)):
/// 0 at 0 %, 1 at 90 %, 2 at 99 %, 3 at 99.9 %; `q = 1` sits at `max`.
fn log_axis(q: f64, max: f64) -> f64 {
    if q >= 1.0 {
        max
    } else {
        (1.0 / (1.0 - q)).log10().min(max)
    }
}

/// The label of a whole position on the log axis: `0%`, `90%`, `99.9%`.
fn log_axis_label(x: f64) -> String {
    let nines = x.round() as i32;
    if nines <= 0 {
        "0%".into()
    } else {
        let pct = 100.0 - 100.0 / 10f64.powi(nines);
        let decimals = (nines - 2).max(0) as usize;
        format!("{pct:.decimals$}%")
    }
}

const LATENCY: RGBColor = RGBColor(0x1f, 0x6f, 0xd1);
const SERVICE: RGBColor = RGBColor(0x9a, 0x6b, 0x00);
const FAILURES: RGBColor = RGBColor(0xc8, 0x1e, 0x1e);

/// Latency (and service time) by percentile, HdrHistogram style.
fn percentile_chart(stats: &LoadStats) -> Result<String, ReportError> {
    // The axis goes as far as the sample count resolves: 1000 samples
    // resolve 99.9 %, not 99.99 %.
    let x_max = (stats.requests().max(10) as f64)
        .log10()
        .ceil()
        .clamp(1.0, 7.0);
    let curve = |h: &hdrhistogram::Histogram<u64>| -> Vec<(f64, f64)> {
        h.iter_quantiles(5)
            .map(|v| {
                (
                    log_axis(v.quantile_iterated_to(), x_max),
                    v.value_iterated_to() as f64 / 1_000.0,
                )
            })
            .collect()
    };
    let latency = curve(stats.latency());
    let service = curve(stats.service());
    let y_max = latency
        .iter()
        .chain(&service)
        .map(|p| p.1)
        .fold(0.0, f64::max)
        .max(0.001)
        * 1.1;
    let lines = [
        ("latency (from intended send)", latency, LATENCY),
        ("service time", service, SERVICE),
    ];
    // Only whole positions are nines of the percentile axis.
    let nines = |x: &f64| {
        if (x - x.round()).abs() < 1e-6 {
            log_axis_label(*x)
        } else {
            String::new()
        }
    };
    let x = XAxis {
        desc: "percentile",
        max: x_max,
        labels: Some((x_max as usize + 1, &nines)),
    };
    chart(
        "Latency by percentile",
        x,
        ("ms", y_max),
        &lines,
        SeriesLabelPosition::UpperLeft,
    )
}

/// p50 and p99 latency per second of the run.
fn latency_chart(stats: &LoadStats) -> Result<String, ReportError> {
    let mut p50 = Vec::new();
    let mut p99 = Vec::new();
    for (i, s) in stats.timeline().iter().enumerate() {
        if let Some(h) = s.latency.as_ref().filter(|h| !h.is_empty()) {
            p50.push((i as f64, h.value_at_quantile(0.5) as f64 / 1_000.0));
            p99.push((i as f64, h.value_at_quantile(0.99) as f64 / 1_000.0));
        }
    }
    let y_max = p99.iter().map(|p| p.1).fold(0.0, f64::max).max(0.001) * 1.1;
    let lines = [("p50", p50, LATENCY), ("p99", p99, FAILURES)];
    time_chart(
        "Latency over time",
        "ms",
        y_max,
        stats.timeline().len(),
        &lines,
    )
}

/// Requests and failures per second of the run.
fn throughput_chart(stats: &LoadStats) -> Result<String, ReportError> {
    let timeline = stats.timeline();
    let sent: Vec<(f64, f64)> = timeline
        .iter()
        .enumerate()
        .map(|(i, s)| (i as f64, s.requests as f64))
        .collect();
    let failed: Vec<(f64, f64)> = timeline
        .iter()
        .enumerate()
        .map(|(i, s)| (i as f64, s.failures as f64))
        .collect();
    let y_max = sent.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0) * 1.1;
    let lines = [
        ("requests/s", sent, LATENCY),
        ("failed/s", failed, FAILURES),
    ];
    time_chart(
        "Throughput over time",
        "requests per second",
        y_max,
        timeline.len(),
        &lines,
    )
}

/// One named, coloured line of a chart: `(label, points, colour)`.
type Line<'a> = (&'a str, Vec<(f64, f64)>, RGBColor);

/// Writes the label of an axis position.
type AxisLabel<'a> = &'a dyn Fn(&f64) -> String;

/// The x axis of a chart: its description, its end (it starts at 0), and
/// how many labels it has written by what (plotters' own when `None`).
struct XAxis<'a> {
    desc: &'a str,
    max: f64,
    labels: Option<(usize, AxisLabel<'a>)>,
}

/// A chart of `lines` over the seconds of the run.
fn time_chart(
    caption: &str,
    y_desc: &str,
    y_max: f64,
    seconds: usize,
    lines: &[Line<'_>],
) -> Result<String, ReportError> {
    let x = XAxis {
        desc: "seconds since start",
        max: (seconds.max(2) - 1) as f64,
        labels: None,
    };
    chart(
        caption,
        x,
        (y_desc, y_max),
        lines,
        SeriesLabelPosition::UpperRight,
    )
}

/// One SVG line chart, every chart of the page in one style: `lines` over
/// `x` and `0..y_max` (`y` is its description and end), with a legend at
/// `legend`.
fn chart(
    caption: &str,
    x: XAxis<'_>,
    (y_desc, y_max): (&str, f64),
    lines: &[Line<'_>],
    legend: SeriesLabelPosition,
) -> Result<String, ReportError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 20))
            .margin(12)
            .margin_right(36)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..x.max, 0f64..y_max)
            .map_err(chart_error)?;
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(x.desc)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 14))
            .light_line_style(BLACK.mix(0.04))
            .y_desc(y_desc);
        if let Some((count, write)) = x.labels {
            mesh.x_labels(count).x_label_formatter(write);
        }
        mesh.draw().map_err(chart_error)?;
        for (label, points, color) in lines {
            let color = *color;
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(chart_error)?
                .label(*label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(legend)
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn log_axis_positions_and_labels() {
        assert_eq!(log_axis(0.0, 4.0), 0.0);
        assert!((log_axis(0.9, 4.0) - 1.0).abs() < 1e-9);
        assert!((log_axis(0.999, 4.0) - 3.0).abs() < 1e-9);
        assert_eq!(log_axis(1.0, 4.0), 4.0);
        assert_eq!(log_axis(0.999_999_9, 4.0), 4.0);
        let labels: Vec<String> = (0..5).map(|x| log_axis_label(x as f64)).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.99%"]);
    }

    #[test]
    fn page_is_self_contained_with_checks_and_charts() {
        let report = fixture::report();
        let html = render(&report).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<table class=\"checks\">"), "checks table");
        assert!(html.contains("<td>generator hiccups</td>"), "hiccups row");
        assert!(html.contains("rejects_bad_signature"));
        // The failure's curl line is shown, HTML-escaped.
        assert!(html.contains("curl -sS -i -X POST -H"));
        assert!(
            html.contains("O&#x27;\\&#x27;&#x27;Brien") || html.contains("O&#39;\\&#39;&#39;Brien"),
            "escaped curl"
        );
        // Receiver-controlled text cannot inject markup.
        assert!(html.contains("got 200 &lt;ok&gt; &amp;"));
        assert!(!html.contains("<ok>"));
        // Three inline charts, one with the percentile axis labels.
        assert_eq!(html.matches("<svg").count(), 3, "three inline SVG charts");
        for label in ["0%", "90%", "99%", "99.9%", "99.99%"] {
            assert!(
                html.contains(&format!("\n{label}\n</text>")),
                "log axis label {label}"
            );
        }
        assert!(html.contains("Latency over time") && html.contains("Throughput over time"));
        assert!(html.contains("user.deleted"), "per-type table");
        assert!(html.contains("timeout"), "error breakdown");
        assert!(html.contains("Capacity"));
        // Self-contained: nothing is loaded from anywhere.
        let lower = html.to_ascii_lowercase();
        for attr in ["src=", "href=", "url(", "@import", "<script", "<link"] {
            for (at, _) in lower.match_indices(attr) {
                let after = &lower[at + attr.len()..(at + attr.len() + 12).min(lower.len())];
                assert!(
                    !after.contains("http") && !after.contains("//"),
                    "external resource near {:?}",
                    &html[at.saturating_sub(40)..(at + 60).min(html.len())]
                );
            }
        }
        assert!(!lower.contains("<script"), "no script at all");
        assert!(
            !lower.contains(" src="),
            "no external or inline resource loads"
        );
    }

    #[test]
    fn renders_without_load_or_checks() {
        let mut report = fixture::report();
        report.load = None;
        report.capacity = None;
        report.checks.clear();
        let html = render(&report).unwrap();
        assert_eq!(html.matches("<svg").count(), 0);
        assert!(html.contains("FAIL") || html.contains("PASS"));
        let mut empty = fixture::report();
        empty.load.as_mut().unwrap().stats = LoadStats::new(vec![]);
        assert_eq!(render(&empty).unwrap().matches("<svg").count(), 3);
    }
}
