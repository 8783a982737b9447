//! One table over the registry: every built-in provider, code-defined or
//! shipped as a provider file (`harness::provider::all()`), passes every
//! check that applies against its reference receiver, and the signature
//! faults are caught by the checks that exist for them. A provider added to
//! the registry is in this table at once; what only some groups have (a
//! handshake, a batch format, a type header) is tested with its group.

use harness::check;
use harness::receiver::Fault;
use reports::Level;

use crate::util::reference;

/// The reasons a check may be skipped against a correct receiver: each
/// names a feature the provider documents not having.
const INAPPLICABLE: [&str; 6] = [
    "no timestamp",
    "no window",
    "not JWTs",
    "no endpoint challenge",
    "no blocking hooks",
    "no ordering key",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_builtin_provider_passes_on_its_reference_receiver_and_catches_signature_faults() {
    let providers = harness::provider::all();
    assert!(
        providers.len() >= 16,
        "the registry lost providers: {}",
        providers.len()
    );
    println!(
        "\n{:18} {:>6} {:>6} {:>7}",
        "provider", "passed", "failed", "skipped"
    );
    for provider in providers {
        let name = provider.name().to_string();
        let running = reference::start(&provider, &[]).await;
        let report = check::run(&reference::plan(&provider, &running, 7))
            .await
            .expect("check runs");
        running.shutdown().await;
        let (pass, fail, skip) = report.check_counts();
        println!("{name:18} {pass:>6} {fail:>6} {skip:>7}");
        let bad = reference::failures(&report);
        assert!(
            bad.is_empty(),
            "{name}: the correct receiver failed: {bad:#?}"
        );
        // Every check ran (skips are only the documented inapplicable ones).
        for c in report.checks.iter().filter(|c| c.level == Level::Skipped) {
            let reason = c.reason.as_deref().unwrap_or_default();
            assert!(
                INAPPLICABLE.iter().any(|r| reason.contains(r)),
                "{name}: unexpected skip of {} [{}]: {reason}",
                c.id,
                c.event_type
            );
        }
        let windowed = provider.scheme().has_timestamp_window();
        let mut passing = vec![
            "accepts_valid",
            "rejects_missing_signature",
            "rejects_bad_signature",
            "duplicate_idempotent",
        ];
        if windowed {
            passing.push("rejects_stale_signature");
        }
        for id in passing {
            let got = reference::levels(&report, id);
            assert!(
                !got.is_empty() && got.iter().all(|l| *l == Level::Pass),
                "{name} {id}: {got:?}"
            );
        }

        let mut faults = vec![(Fault::SkipSignature, "rejects_missing_signature")];
        if windowed {
            faults.push((Fault::AcceptStale, "rejects_stale_signature"));
        }
        for (fault, id) in faults {
            let faulty = reference::start(&provider, &[fault]).await;
            let plan = reference::plan(&provider, &faulty, 7)
                .select(&[id.parse().unwrap()], &[])
                .unwrap();
            let report = check::run(&plan).await.expect("check runs");
            faulty.shutdown().await;
            let got = reference::levels(&report, id);
            assert!(got.contains(&Level::Fail), "{name} {fault:?}: {got:?}");
        }
    }
}

/// The first-column names (`` | `name` | ``) of the README table that
/// follows `heading`.
fn readme_table(heading: &str) -> Vec<String> {
    let readme =
        std::fs::read_to_string(crate::util::repository::root().join("README.md")).unwrap();
    let at = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has no `{heading}`"));
    readme[at..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            l.strip_prefix("| `")?
                .split_once('`')
                .map(|(n, _)| n.to_string())
        })
        .collect()
}

/// README's provider table lists exactly the registry, in its order: a
/// sender file added to the binary is added to the table too.
#[test]
fn the_readme_provider_table_is_the_registry() {
    let listed = readme_table("### Built-in providers");
    let names: Vec<String> = harness::provider::names()
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(listed, names);
}

/// README's check catalog lists exactly the checks, in catalog order.
#[test]
fn the_readme_check_catalog_is_the_catalog() {
    let listed = readme_table("## The check catalog");
    let ids: Vec<String> = harness::check::CheckId::ALL.map(|c| c.to_string()).to_vec();
    assert_eq!(listed, ids);
}

/// No file points users at an address that does not exist: hookstorm has
/// no published repository, image or crate under its own name.
#[test]
fn no_file_names_an_invented_address() {
    fn walk(dir: &std::path::Path, found: &mut Vec<String>, read: &mut usize) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | ".git" | "node_modules") {
                    walk(&path, found, read);
                }
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            *read += 1;
            // Split so this file does not name them itself.
            for invented in [
                concat!("github.com/", "hookstorm"),
                concat!("ghcr.io/", "hookstorm"),
            ] {
                if text.contains(invented) {
                    found.push(format!("{} names {invented}", path.display()));
                }
            }
        }
    }
    let (mut found, mut read) = (Vec::new(), 0);
    walk(&crate::util::repository::root(), &mut found, &mut read);
    assert!(read > 100, "the repository was not read ({read} files)");
    assert!(found.is_empty(), "{found:#?}");
}
