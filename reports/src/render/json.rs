//! `report.json`: the report as pretty-printed JSON, the input of
//! `report render`, `report merge` and `report diff`.

use crate::report::{Report, ReportError};

/// The report as pretty JSON with a trailing newline.
pub fn render(report: &Report) -> Result<String, ReportError> {
    let mut text = report.to_json()?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn round_trips_a_full_report_exactly() {
        let report = fixture::report();
        let text = render(&report).unwrap();
        let back = Report::from_json(&text).unwrap();
        assert_eq!(back, report);
        // Histograms included: every bucket of the latency histogram.
        let (a, b) = (
            report.load.as_ref().unwrap().stats.latency(),
            back.load.as_ref().unwrap().stats.latency(),
        );
        assert!(a.iter_recorded().eq(b.iter_recorded()));
        assert_eq!(render(&back).unwrap(), text, "serialization is stable");
    }

    /// `reports/schema/report.schema.json` accepts real serialized reports
    /// (full and minimal) and rejects broken ones.
    #[test]
    fn serialized_reports_match_the_schema() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../schema/report.schema.json")).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let full = fixture::report();
        let mut minimal = full.clone();
        minimal.load = None;
        minimal.capacity = None;
        minimal.checks.clear();
        minimal.thresholds.clear();
        minimal.run.shard = Some((2, 4));
        for report in [&full, &minimal] {
            let value: serde_json::Value = serde_json::from_str(&render(report).unwrap()).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{errors:#?}");
        }
        let mut broken: serde_json::Value = serde_json::from_str(&render(&full).unwrap()).unwrap();
        broken["checks"][0]["level"] = "passed".into();
        assert!(!validator.is_valid(&broken));
        let mut broken: serde_json::Value = serde_json::from_str(&render(&full).unwrap()).unwrap();
        broken["load"]["stats"]["latency"] = "not base64!".into();
        assert!(!validator.is_valid(&broken));
    }
}
