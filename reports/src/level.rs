//! Verdict levels, after Autobahn|Testsuite (OK / NON-STRICT / INFORMATIONAL
//! / FAILED) and h2spec (`--strict` also gates the SHOULDs): one name per
//! level, used alike in `report.json`, JUnit, summary.md, HTML and the
//! terminal.

use serde::{Deserialize, Serialize};

/// How one probe, one check result or one finding was judged.
///
/// Declared from least to most severe, so `Ord` ranks them: a result's
/// level is the most severe level among its probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    /// Not applicable (no case for this provider, no ledger, ...).
    #[serde(rename = "SKIPPED")]
    Skipped,
    /// Held.
    #[serde(rename = "PASS")]
    Pass,
    /// Left open by the providers: recorded, never gates.
    #[serde(rename = "INFO")]
    Info,
    /// A SHOULD was not met: gates only under `--strict`.
    #[serde(rename = "NON-STRICT")]
    NonStrict,
    /// The harness got no answer it could judge (refused, timed out, not
    /// sent because the run stopped): the check is unjudged, which gates.
    #[serde(rename = "ERROR")]
    Error,
    /// A MUST was broken: always gates.
    #[serde(rename = "FAIL")]
    Fail,
}

impl Level {
    /// Every level, most severe first (the order findings are listed in).
    pub const BY_SEVERITY: [Level; 6] = [
        Level::Fail,
        Level::Error,
        Level::NonStrict,
        Level::Info,
        Level::Pass,
        Level::Skipped,
    ];

    /// The level's one name: `FAIL`, `NON-STRICT`, `INFO`, `SKIPPED`,
    /// `ERROR`, `PASS`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Skipped => "SKIPPED",
            Level::Pass => "PASS",
            Level::Info => "INFO",
            Level::NonStrict => "NON-STRICT",
            Level::Error => "ERROR",
            Level::Fail => "FAIL",
        }
    }

    /// Whether this level fails the run: FAIL and ERROR always,
    /// NON-STRICT only under `--strict`.
    pub fn gates(self, strict: bool) -> bool {
        match self {
            Level::Fail | Level::Error => true,
            Level::NonStrict => strict,
            Level::Info | Level::Pass | Level::Skipped => false,
        }
    }

    /// Whether a probe at this level is worth a finding (everything that
    /// did not simply hold or not apply).
    pub fn is_finding(self) -> bool {
        !matches!(self, Level::Pass | Level::Skipped)
    }

    /// What the level means, in one line (README, `--list`, HTML legend).
    pub fn meaning(self) -> &'static str {
        match self {
            Level::Fail => "a MUST broken; gates",
            Level::Error => "no answer to judge (refused, timed out, not sent); gates",
            Level::NonStrict => "a SHOULD not met; gates only with --strict",
            Level::Info => "left open by the providers; recorded, never gates",
            Level::Pass => "held",
            Level::Skipped => "not applicable",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_name_everywhere_and_severity_order() {
        for level in Level::BY_SEVERITY {
            let json = serde_json::to_string(&level).unwrap();
            assert_eq!(json, format!("\"{}\"", level.as_str()));
            assert_eq!(serde_json::from_str::<Level>(&json).unwrap(), level);
        }
        let mut sorted = Level::BY_SEVERITY;
        sorted.sort();
        sorted.reverse();
        assert_eq!(sorted, Level::BY_SEVERITY);
    }

    #[test]
    fn gating() {
        assert!(Level::Fail.gates(false) && Level::Error.gates(false));
        assert!(!Level::NonStrict.gates(false) && Level::NonStrict.gates(true));
        for l in [Level::Info, Level::Pass, Level::Skipped] {
            assert!(!l.gates(true), "{l}");
        }
    }
}
