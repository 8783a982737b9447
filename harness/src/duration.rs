//! Human durations on the command line and in scenario files: `250us`,
//! `500ms`, `5s`, `1.5s`, `2m`, `1h` (a number and a unit, no space).

use std::time::Duration;

/// Parses a duration like `500ms` or `1.5s`; the error says what is accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let hint = "write a number and a unit, e.g. 250ms, 5s, 1.5m (units: us, ms, s, m, h)";
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration `{text}`: {hint}"))?;
    let scale = match unit {
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "" => return Err(format!("duration `{text}` has no unit: {hint}")),
        _ => {
            return Err(format!(
                "unknown unit `{unit}` in duration `{text}`: {hint}"
            ))
        }
    };
    let secs = value * scale;
    if !secs.is_finite() || secs > 1e9 {
        return Err(format!("duration `{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("250us").unwrap(), Duration::from_micros(250));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("10 sec").unwrap_err().contains("unit"));
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(parse_duration("fast").is_err());
    }
}
