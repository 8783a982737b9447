//! Every built-in sender shipped as a provider file (`providers/*.yaml`,
//! embedded in the binary): its signed records are accepted by its
//! reference receiver and the command line knows it by name (that it passes
//! every check is the registry table's, in `registry`).

use generators::Provider;
use harness::demo::demo_secret;
use harness::provider::SENDER_FILES;
use harness::target::Target;

use crate::util::process::{hookstorm, transcript};
use crate::util::reference;

fn senders() -> Vec<Provider> {
    SENDER_FILES
        .iter()
        .map(|(name, _)| harness::provider::named(name).expect("built-in sender resolves"))
        .collect()
}

/// What `events gen --signed` writes for each sender is a request its
/// reference receiver takes: signed as the sender signs, typed where the
/// sender names the type (a header for GitHub), batched where it batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_records_of_every_sender_are_accepted_by_its_reference_receiver() {
    for provider in senders() {
        let name = provider.name().to_string();
        let secret = demo_secret(provider.scheme());
        let out = hookstorm(["events", "gen", "--provider", &name, "--all", "--signed"])
            .args(["--count", "12", "--seed", "9"])
            .secret(secret.expose())
            .output();
        assert!(out.status.success(), "{name}: {}", transcript(&out));
        let running = reference::start(&provider, &[]).await;
        let target = Target::parse(&running.url()).unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        for line in text.lines() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            let headers: Vec<(String, String)> = record["headers"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            let body = record["body"].as_str().unwrap().to_string();
            let answer = harness::client::send_one(
                &target,
                &Default::default(),
                "POST",
                &headers,
                body.into(),
                std::time::Duration::from_secs(5),
            )
            .await
            .expect("the receiver answers");
            assert!(
                (200..300).contains(&answer.status),
                "{name}: {} {:?} for {line}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            );
        }
        running.shutdown().await;
    }
}

/// `--provider NAME` works for each sender on the command line, and
/// `events provider NAME` prints the file it ships as, which reads back as
/// the same provider through `--provider-file`.
#[test]
fn senders_are_known_by_name_and_print_as_their_files() {
    let list = hookstorm(["events", "list", "--format", "json"]).output();
    assert!(list.status.success(), "{}", transcript(&list));
    let rows: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in SENDER_FILES {
        assert!(
            rows.as_array()
                .unwrap()
                .iter()
                .any(|r| r["provider"] == *name),
            "`events list` lists no {name} type"
        );
        let out = hookstorm(["events", "provider", name]).output();
        assert!(out.status.success(), "{}", transcript(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout), *text);
        let path = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&path, &out.stdout).unwrap();
        let secret = demo_secret(harness::provider::named(name).unwrap().scheme());
        let mut outputs = Vec::new();
        for provider_args in [
            vec!["--provider".to_string(), name.to_string()],
            vec!["--provider-file".to_string(), path.display().to_string()],
        ] {
            let out = hookstorm([
                "events",
                "gen",
                "--all",
                "--signed",
                "--seed",
                "3",
                "--now",
                "1700000000000",
            ])
            .args(&provider_args)
            .secret(secret.expose())
            .output();
            assert!(out.status.success(), "{name}: {}", transcript(&out));
            assert!(!out.stdout.is_empty(), "{name}: no events");
            outputs.push(out.stdout);
        }
        assert!(
            outputs[0] == outputs[1],
            "{name}: the copied file signs differently"
        );
    }
    let out = hookstorm(["events", "provider", "authgear"]).output();
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("built into the code"));
}
