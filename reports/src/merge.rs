//! Merging the reports of the shards of one run (`report merge`): load
//! statistics add exactly, check results are concatenated with duplicates
//! combined, thresholds are re-evaluated on the merged statistics, and the
//! shard marker is cleared.

use crate::report::{CheckResult, LoadSection, Report, ReportError};
use crate::stats::LoadStats;
use crate::threshold;

/// Merges shard reports into one report of the whole run.
///
/// The reports must agree on command, provider and target. Check results
/// with the same id and event type are combined (the most severe level
/// wins; cases and durations add up); findings are grouped again over all
/// shards and renumbered, and a run is strict when any shard was. Load sections merge
/// exactly (see `LoadStats::merge`); their requested rates add, since each
/// shard drives its share of the rate, and the duration is the longest.
/// Thresholds are evaluated again on the merged statistics, because a p99 of
/// the whole is not any function of the shards' p99s. The first report's
/// capacity section, if any, is kept. The seed is the first report's.
///
/// Every report must be a shard (`--shard K/N`) of the same N, each at most
/// once (a shard given twice would count its requests twice), and every
/// shard of 1..=N must be there: see [`merge_partial`] to merge some.
pub fn merge(reports: &[Report]) -> Result<Report, ReportError> {
    merge_with(reports, false)
}

/// [`merge`] of only some shards of a run (still each at most once): the
/// result's `partial` names the shards it holds, so nobody reads its counts
/// as the whole run's.
pub fn merge_partial(reports: &[Report]) -> Result<Report, ReportError> {
    merge_with(reports, true)
}

fn merge_with(reports: &[Report], allow_partial: bool) -> Result<Report, ReportError> {
    let (first, rest) = reports.split_first().ok_or(ReportError::NothingToMerge)?;
    for other in rest {
        same("command", &first.run.command, &other.run.command)?;
        same("provider", &first.run.provider, &other.run.provider)?;
        same("target", &first.run.target, &other.run.target)?;
    }
    let partial = shard_set(reports, allow_partial)?;
    let mut merged = first.clone();
    merged.run.shard = None;
    merged.partial = partial;
    // One interrupted shard makes the whole partial.
    merged.run.interrupted = reports.iter().find_map(|r| r.run.interrupted.clone());
    merged.checks = Vec::new();
    for report in reports {
        for check in &report.checks {
            add_check(&mut merged.checks, check);
        }
    }
    merged.findings = crate::finding::group(
        reports
            .iter()
            .flat_map(|r| r.findings.iter().cloned())
            .collect(),
    );
    merged.link_findings();
    merged.strict = reports.iter().any(|r| r.strict);
    merged.stopped = reports.iter().find_map(|r| r.stopped.clone());
    merged.load = None;
    for report in reports {
        let Some(load) = &report.load else { continue };
        match &mut merged.load {
            None => merged.load = Some(load.clone()),
            Some(into) => {
                into.stats.merge(&load.stats)?;
                into.requested_rate = match (into.requested_rate, load.requested_rate) {
                    (Some(a), Some(b)) => Some(a + b),
                    (a, b) => a.or(b),
                };
                into.duration_ms = into.duration_ms.max(load.duration_ms);
            }
        }
    }
    if merged.capacity.is_none() {
        merged.capacity = rest.iter().find_map(|r| r.capacity.clone());
    }
    let mut exprs: Vec<&str> = Vec::new();
    for report in reports {
        for t in &report.thresholds {
            if !exprs.contains(&t.expr.as_str()) {
                exprs.push(&t.expr);
            }
        }
    }
    let empty = LoadStats::new(Vec::new());
    let stats = merged
        .load
        .as_ref()
        .map_or(&empty, |l: &LoadSection| &l.stats);
    merged.thresholds = exprs
        .into_iter()
        .map(|e| threshold::parse(e).map(|t| t.evaluate(stats)))
        .collect::<Result<_, _>>()?;
    Ok(merged)
}

/// Checks the reports are distinct shards of one N, and all of them unless
/// `allow_partial`; the partial mark when some are missing.
fn shard_set(reports: &[Report], allow_partial: bool) -> Result<Option<String>, ReportError> {
    let mut n = None;
    let mut seen: Vec<Option<usize>> = Vec::new();
    for (i, report) in reports.iter().enumerate() {
        let Some((k, count)) = report.run.shard else {
            return Err(ReportError::NotAShard { index: i + 1 });
        };
        let n = *n.get_or_insert(count);
        if count != n {
            return Err(ReportError::ShardCounts {
                first: n,
                other: count,
            });
        }
        if k == 0 || k > n {
            return Err(ReportError::NotAShard { index: i + 1 });
        }
        seen.resize(n as usize, None);
        if let Some(first) = seen[k as usize - 1] {
            return Err(ReportError::DuplicateShard {
                k,
                n,
                first: first + 1,
                second: i + 1,
            });
        }
        seen[k as usize - 1] = Some(i);
    }
    let n = n.unwrap_or(0);
    let list = |present: bool| {
        seen.iter()
            .enumerate()
            .filter(|(_, s)| s.is_some() == present)
            .map(|(k, _)| (k + 1).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let missing = list(false);
    if missing.is_empty() {
        Ok(None)
    } else if allow_partial {
        Ok(Some(format!("shards {} of {n}", list(true))))
    } else {
        Err(ReportError::IncompleteShards { missing, n })
    }
}

fn same(field: &'static str, first: &str, other: &str) -> Result<(), ReportError> {
    if first == other {
        Ok(())
    } else {
        Err(ReportError::Mismatch {
            field,
            first: first.to_string(),
            other: other.to_string(),
        })
    }
}

fn add_check(checks: &mut Vec<CheckResult>, check: &CheckResult) {
    let Some(into) = checks
        .iter_mut()
        .find(|c| c.id == check.id && c.event_type == check.event_type)
    else {
        checks.push(check.clone());
        return;
    };
    if check.level > into.level {
        into.level = check.level;
        into.reason = check.reason.clone();
    }
    into.cases = into.cases.saturating_add(check.cases);
    into.duration_ms = into.duration_ms.saturating_add(check.duration_ms);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use crate::report::Level;

    #[test]
    fn shards_merge_to_the_whole() {
        let mut a = fixture::report();
        let mut b = fixture::report();
        a.run.shard = Some((1, 2));
        b.run.shard = Some((2, 2));
        b.load.as_mut().unwrap().stats = fixture::stats(3);
        // Shard 2 saw the signature check pass for user.created.
        b.checks[3].level = Level::Pass;
        b.findings.clear();
        b.link_findings();
        b.checks
            .push(fixture::check("ordering", "user.created", Level::Pass));
        let merged = merge(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(merged.run.shard, None);
        let mut whole = a.load.as_ref().unwrap().stats.clone();
        whole.merge(&b.load.as_ref().unwrap().stats).unwrap();
        let load = merged.load.as_ref().unwrap();
        assert!(load.stats == whole);
        assert_eq!(load.stats.requests(), 6_000);
        assert_eq!(load.requested_rate, Some(2_000.0));
        assert_eq!(merged.checks.len(), a.checks.len() + 1);
        let sig = &merged.checks[3];
        assert_eq!(
            (sig.level, sig.cases, sig.findings.as_slice()),
            (Level::Fail, 20, &["F1".to_string()][..])
        );
        // Thresholds re-evaluated on the merged stats, not copied.
        let p99 = merged
            .thresholds
            .iter()
            .find(|t| t.expr == "p99<250ms")
            .unwrap();
        let expected = threshold::parse("p99<250ms").unwrap().evaluate(&whole);
        assert_eq!(p99, &expected);
        assert_ne!(p99.actual, a.thresholds[0].actual, "shard 2 is 3x slower");
    }

    fn shard(k: u32, n: u32) -> Report {
        let mut r = fixture::report();
        r.run.shard = Some((k, n));
        r
    }

    #[test]
    fn refuses_a_shard_twice_and_an_incomplete_set_unless_partial() {
        let err = merge(&[shard(1, 2), shard(1, 2)]).unwrap_err().to_string();
        assert!(
            err.contains("shard 1/2 is given twice (reports 1 and 2)"),
            "{err}"
        );
        // Twice is refused even when partial merges are allowed.
        assert!(merge_partial(&[shard(1, 3), shard(1, 3)]).is_err());
        let err = merge(&[shard(1, 4), shard(3, 4)]).unwrap_err().to_string();
        assert!(err.contains("shards 2, 4 of 4 are missing"), "{err}");
        assert!(err.contains("--allow-partial"), "{err}");
        let partial = merge_partial(&[shard(1, 4), shard(3, 4)]).unwrap();
        assert_eq!(partial.partial.as_deref(), Some("shards 1, 3 of 4"));
        // The mark survives report.json.
        let back = Report::from_json(&partial.to_json().unwrap()).unwrap();
        assert_eq!(back.partial, partial.partial);
        let whole = merge(&[shard(2, 2), shard(1, 2)]).unwrap();
        assert_eq!(whole.partial, None);
        assert!(!whole.to_json().unwrap().contains("\"partial\""));
        let err = merge(&[shard(1, 2), shard(2, 3)]).unwrap_err().to_string();
        assert!(err.contains("shard counts differ"), "{err}");
        let err = merge(&[shard(1, 2), fixture::report()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("report 2 is not a shard"), "{err}");
        assert!(merge(&[shard(3, 2)]).is_err());
    }

    #[test]
    fn refuses_mismatched_or_empty_input() {
        assert!(matches!(merge(&[]), Err(ReportError::NothingToMerge)));
        let a = shard(1, 2);
        let mut b = shard(2, 2);
        b.run.provider = "fusionauth".into();
        let err = merge(&[a, b]).unwrap_err().to_string();
        assert!(err.contains("provider differs"), "{err}");
    }
}
