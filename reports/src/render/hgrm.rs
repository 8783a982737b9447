//! `latency.hgrm`: the HdrHistogram percentile distribution text, as Java's
//! `outputPercentileDistribution` and wrk2 print it (values in
//! milliseconds, 5 ticks per half distance), readable by the HdrHistogram
//! plotter and `hdr-plot`.

use std::fmt::Write;

use hdrhistogram::Histogram;

/// Recorded values are microseconds; the file shows milliseconds.
const SCALE: f64 = 1_000.0;
/// Percentile ticks per half distance to 100%, as wrk2 uses.
const TICKS_PER_HALF: u32 = 5;

/// The percentile distribution of `histogram` (µs) in `.hgrm` text.
pub fn render(histogram: &Histogram<u64>) -> String {
    let digits = usize::from(histogram.sigfig());
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored on purpose.
    let _ = write!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let mut total = 0u64;
    for v in histogram.iter_quantiles(TICKS_PER_HALF) {
        total += v.count_since_last_iteration();
        let value = v.value_iterated_to() as f64 / SCALE;
        let q = v.quantile_iterated_to();
        if q < 1.0 {
            let _ = writeln!(
                out,
                "{value:>12.digits$} {q:>2.12} {total:>10} {:>14.2}",
                1.0 / (1.0 - q)
            );
        } else {
            let _ = writeln!(out, "{value:>12.digits$} {q:>2.12} {total:>10}");
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:>12.digits$}, StdDeviation   = {:>12.digits$}]",
        histogram.mean() / SCALE,
        histogram.stdev() / SCALE
    );
    let _ = writeln!(
        out,
        "#[Max     = {:>12.digits$}, Total count    = {:>12}]",
        histogram.max() as f64 / SCALE,
        histogram.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:>12}, SubBuckets     = {:>12}]",
        histogram.buckets(),
        sub_buckets(histogram.sigfig())
    );
    out
}

/// HdrHistogram's sub-bucket count: the power of two covering
/// 2 × 10^sigfig values at unit resolution (2048 for 3 digits).
fn sub_buckets(sigfig: u8) -> u64 {
    let single_unit = 2 * 10u64.pow(u32::from(sigfig));
    single_unit.next_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::histogram::latency_histogram;

    #[test]
    fn prints_the_hdrhistogram_layout() {
        let mut h = latency_histogram();
        for v in 1..=10_000u64 {
            h.saturating_record(v * 100); // 0.1 ms .. 1000 ms
        }
        let text = render(&h);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "       Value     Percentile TotalCount 1/(1-Percentile)"
        );
        assert_eq!(lines[1], "");
        // First row: the smallest value, percentile 0, one value, 1.00.
        assert_eq!(
            lines[2],
            "       0.100 0.000000000000          1           1.00"
        );
        // Every data row: value, 12-decimal quantile, count, and inverse
        // (absent on the final 100% row).
        let rows: Vec<Vec<&str>> = lines[2..]
            .iter()
            .take_while(|l| !l.starts_with('#'))
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert!(rows.len() > 50, "{}", rows.len());
        let last = rows.last().unwrap();
        // Values are bucket tops (highest equivalent value), in ms.
        let top = format!("{:.3}", h.highest_equivalent(1_000_000) as f64 / 1_000.0);
        assert_eq!(last, &vec![top.as_str(), "1.000000000000", "10000"]);
        let mut previous = 0.0;
        for r in &rows[..rows.len() - 1] {
            assert_eq!(r.len(), 4, "{r:?}");
            let q: f64 = r[1].parse().unwrap();
            assert!(q >= previous);
            previous = q;
            assert_eq!(r[1].split('.').nth(1).unwrap().len(), 12);
        }
        let median = rows.iter().find(|r| r[1] == "0.500000000000").unwrap();
        assert_eq!(
            median[0],
            format!("{:.3}", h.highest_equivalent(500_000) as f64 / 1_000.0)
        );
        // TotalCount is cumulative up to the bucket top.
        assert_eq!(median[2], (h.highest_equivalent(500_000) / 100).to_string());
        assert_eq!(median[3], "2.00");
        let footer: Vec<&str> = lines
            .iter()
            .filter(|l| l.starts_with("#["))
            .copied()
            .collect();
        assert_eq!(footer.len(), 3);
        assert!(
            footer[0].starts_with("#[Mean    =      500.0"),
            "{}",
            footer[0]
        );
        assert!(
            footer[0].contains(", StdDeviation   =      288.6"),
            "{}",
            footer[0]
        );
        assert_eq!(
            footer[1],
            format!("#[Max     = {top:>12}, Total count    =        10000]")
        );
        assert_eq!(
            footer[2],
            format!(
                "#[Buckets = {:>12}, SubBuckets     =         2048]",
                h.buckets()
            )
        );
    }

    #[test]
    fn empty_histogram_prints_header_and_footer_only() {
        let text = render(&latency_histogram());
        assert!(text.contains("Total count    =            0"), "{text}");
    }
}
