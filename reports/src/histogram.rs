//! The HDR histogram configuration every hookstorm latency histogram shares
//! (1 µs – 60 s, 3 significant digits), the base64 V2-deflate encoding used
//! to carry histograms inside `report.json`, and the percentile summary the
//! renderers print.
//!
//! One configuration for all histograms is what makes shard merges exact:
//! `Histogram::add` of two identically-bounded histograms adds bucket counts.

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

/// Lowest value tracked, in microseconds.
pub const LOWEST_US: u64 = 1;
/// Highest value tracked, in microseconds (60 s); larger values saturate.
pub const HIGHEST_US: u64 = 60_000_000;
/// Significant decimal digits of the overall and per-type histograms.
pub const SIGFIG: u8 = 3;
/// Significant digits of the per-second timeline histograms: 2 digits (1 %
/// precision) keep one second's histogram near 20 KB instead of 140 KB, so a
/// long run's timeline stays small while merges stay exact.
pub const TIMELINE_SIGFIG: u8 = 2;

/// Why a histogram could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum HistogramError {
    /// The text is not valid base64.
    #[error("histogram is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The bytes are not an HdrHistogram V2 (deflate) serialization.
    #[error("histogram bytes are not an HdrHistogram V2 serialization: {detail}")]
    Decode {
        /// What the decoder reported.
        detail: String,
    },
    /// The histogram could not be serialized.
    #[error("histogram could not be serialized: {detail}")]
    Encode {
        /// What the encoder reported.
        detail: String,
    },
    /// The decoded histogram does not have hookstorm's bounds, so it could
    /// not be merged exactly with others.
    #[error(
        "histogram has bounds {low}..{high} µs with {sigfig} digits; hookstorm uses {LOWEST_US}..{HIGHEST_US} µs"
    )]
    Bounds {
        /// Lowest discernible value found.
        low: u64,
        /// Highest trackable value found.
        high: u64,
        /// Significant digits found.
        sigfig: u8,
    },
}

/// A new empty latency histogram (1 µs – 60 s, 3 significant digits).
pub fn latency_histogram() -> Histogram<u64> {
    bounded(SIGFIG)
}

/// A new empty per-second timeline histogram (1 µs – 60 s, 2 digits).
pub fn timeline_histogram() -> Histogram<u64> {
    bounded(TIMELINE_SIGFIG)
}

fn bounded(sigfig: u8) -> Histogram<u64> {
    // The bounds are constants known to be valid (low >= 1, high >= 2 * low,
    // sigfig <= 5): creation cannot fail, whatever the input.
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, sigfig).expect("constant bounds are valid")
}

/// Encodes a histogram as base64 of its HdrHistogram V2 deflate serialization
/// (the format Java's `HistogramLogWriter` and `hdr-plot` read).
pub fn encode(histogram: &Histogram<u64>) -> Result<String, HistogramError> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(histogram, &mut bytes)
        .map_err(|e| HistogramError::Encode {
            detail: format!("{e:?}"),
        })?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Decodes a histogram written by [`encode`], checking it has the expected
/// number of significant digits and hookstorm's bounds.
pub fn decode(text: &str, sigfig: u8) -> Result<Histogram<u64>, HistogramError> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(text)?;
    let histogram: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| HistogramError::Decode {
            detail: format!("{e:?}"),
        })?;
    if histogram.low() != LOWEST_US
        || histogram.high() != HIGHEST_US
        || histogram.sigfig() != sigfig
    {
        return Err(HistogramError::Bounds {
            low: histogram.low(),
            high: histogram.high(),
            sigfig: histogram.sigfig(),
        });
    }
    Ok(histogram)
}

/// The usual percentiles of one histogram, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Percentiles {
    /// Number of recorded values.
    pub count: u64,
    /// Smallest recorded value.
    pub min: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest recorded value.
    pub max: u64,
}

impl Percentiles {
    /// Reads the percentiles of `histogram` (all zero when it is empty).
    pub fn of(histogram: &Histogram<u64>) -> Percentiles {
        if histogram.is_empty() {
            return Percentiles {
                count: 0,
                min: 0,
                mean: 0.0,
                p50: 0,
                p90: 0,
                p99: 0,
                p999: 0,
                max: 0,
            };
        }
        Percentiles {
            count: histogram.len(),
            min: histogram.min(),
            mean: histogram.mean(),
            p50: histogram.value_at_quantile(0.50),
            p90: histogram.value_at_quantile(0.90),
            p99: histogram.value_at_quantile(0.99),
            p999: histogram.value_at_quantile(0.999),
            max: histogram.max(),
        }
    }
}

/// Formats microseconds for people: `850µs`, `12.3ms`, `1.52s`, `2m05s`.
pub fn format_us(us: u64) -> String {
    if us < 1_000 {
        format!("{us}µs")
    } else if us < 1_000_000 {
        let ms = us as f64 / 1_000.0;
        if ms < 10.0 {
            format!("{ms:.2}ms")
        } else if ms < 100.0 {
            format!("{ms:.1}ms")
        } else {
            format!("{ms:.0}ms")
        }
    } else if us < 60_000_000 {
        format!("{:.2}s", us as f64 / 1_000_000.0)
    } else {
        let s = us / 1_000_000;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trips_every_bucket() {
        let mut h = latency_histogram();
        for v in [0, 1, 7, 999, 1_000, 12_345, 59_999_999, 60_000_000] {
            h.saturating_record(v);
        }
        h.saturating_record(u64::MAX); // saturates at the top instead of failing
        let text = encode(&h).unwrap();
        let back = decode(&text, SIGFIG).unwrap();
        assert_eq!(h, back);
        assert_eq!(back.len(), 9);
        assert_eq!(back.max(), h.max());
    }

    #[test]
    fn decode_rejects_garbage_and_foreign_bounds() {
        assert!(matches!(
            decode("not base64!!", SIGFIG),
            Err(HistogramError::Base64(_))
        ));
        assert!(matches!(
            decode("AAAA", SIGFIG),
            Err(HistogramError::Decode { .. })
        ));
        let other = Histogram::<u64>::new_with_bounds(1, 1_000, 2).unwrap();
        let text = encode(&other).unwrap();
        assert!(matches!(
            decode(&text, SIGFIG),
            Err(HistogramError::Bounds { high: 1_000, .. })
        ));
        // A timeline histogram is not accepted where a 3-digit one is expected.
        let text = encode(&timeline_histogram()).unwrap();
        assert!(decode(&text, SIGFIG).is_err());
        assert!(decode(&text, TIMELINE_SIGFIG).is_ok());
    }

    #[test]
    fn percentiles_of_known_distribution() {
        let mut h = latency_histogram();
        for v in 1..=1_000u64 {
            h.saturating_record(v);
        }
        let p = Percentiles::of(&h);
        assert_eq!(p.count, 1_000);
        assert_eq!(p.p50, 500);
        assert_eq!(p.p90, 900);
        assert_eq!(p.p99, 990);
        assert_eq!(p.max, 1_000);
        assert_eq!(Percentiles::of(&latency_histogram()).p99, 0);
    }

    #[test]
    fn format_us_picks_a_readable_unit() {
        assert_eq!(format_us(850), "850µs");
        assert_eq!(format_us(1_234), "1.23ms");
        assert_eq!(format_us(12_345), "12.3ms");
        assert_eq!(format_us(250_000), "250ms");
        assert_eq!(format_us(1_520_000), "1.52s");
        assert_eq!(format_us(125_000_000), "2m05s");
    }
}
