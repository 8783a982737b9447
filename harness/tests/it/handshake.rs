//! The `handshake` check, both ways, for every challenge kind: the
//! reference receiver answers the sender's endpoint challenge and passes;
//! the `ignore-challenge` fault (200 `{}` without the echo) is caught at
//! FAIL; `skip-signature` answering a badly signed challenge is a FAIL
//! where the sender relies on the signature (Discord, Zoom) and INFO where
//! the answer only echoes (Slack, Okta). Providers without a challenge skip
//! the check, sending nothing.
//!
//! Every built-in that declares a challenge is proven here: zoom, okta,
//! slack (`url_verification`) and discord (its Webhook Events PING, 204).
//! Discord's interactions PING, which no built-in declares, is proven with
//! a small provider file written here.

use generators::{Challenge, Provider};
use harness::check::CheckId;
use harness::check::{self, CheckPlan};
use harness::demo::demo_secret;
use harness::receiver::{self, Fault, ReceiverConfig};
use harness::target::Target;
use reports::{Level, Report};

/// A Discord interactions endpoint: Ed25519 over `{ts}{body}`, hex
/// (discord.com/developers/docs/interactions/receiving-and-responding).
const DISCORD_INTERACTIONS: &str = r#"
name: discord-interactions
signature:
  algorithm: ed25519
  key: hex
  signed: "{ts}{body}"
  encoding: hex
  header: X-Signature-Ed25519
  timestamp: {header: X-Signature-Timestamp, unit: seconds, tolerance: 300s}
challenge: {kind: discord-ping}
deadline: 3s
keys: {dedupe: /id}
types:
  - name: application_command
    schema:
      type: object
      required: [id, type, data]
      properties:
        id: {type: string, pattern: "^[0-9]{18}$"}
        type: {const: 2}
        data:
          type: object
          required: [name]
          properties:
            name: {type: string, pattern: "^[a-z]{3,16}$"}
"#;

/// The providers under test, with the level `skip-signature` gets: FAIL
/// where an answered forgery hurts, INFO where it only echoes.
fn providers(dir: &std::path::Path) -> Vec<(Provider, Level)> {
    let builtin = |name: &str| harness::provider::named(name).expect("built-in sender");
    let path = dir.join("discord-interactions.yaml");
    std::fs::write(&path, DISCORD_INTERACTIONS).unwrap();
    let interactions = harness::provider::from_file(&path).expect("the provider file reads");
    vec![
        (builtin("zoom"), Level::Fail),
        (builtin("okta"), Level::Info),
        (builtin("slack"), Level::Info),
        (builtin("discord"), Level::Fail),
        (interactions, Level::Fail),
    ]
}

/// Which built-ins declare which challenge: every kind is declared by a
/// built-in except the interactions PING proven above with a file.
#[test]
fn the_builtins_declare_their_senders_challenges() {
    for (name, kind) in [
        ("slack", Some(Challenge::SlackUrlVerification)),
        ("zoom", Some(Challenge::ZoomUrlValidation)),
        ("discord", Some(Challenge::DiscordWebhookPing)),
        ("okta", Some(Challenge::OktaVerification)),
        ("stripe", None),
        ("paddle", None),
    ] {
        let provider = harness::provider::named(name).unwrap();
        assert_eq!(provider.profile().challenge, kind, "{name}");
    }
}

/// Runs `handshake` alone against a reference receiver with `faults`.
async fn handshake(provider: &Provider, faults: &[Fault]) -> Report {
    let secret = demo_secret(provider.scheme());
    let mut config = ReceiverConfig::for_provider(provider.clone(), secret.clone());
    config.faults = faults.to_vec();
    let running = receiver::start(config).await.expect("receiver starts");
    let target = Target::parse(&running.url()).unwrap();
    let mut plan = CheckPlan::new(provider.clone(), target, secret)
        .select(&[CheckId::Handshake], &[])
        .unwrap();
    plan.seed = 16;
    let report = check::run(&plan).await.expect("check runs");
    running.shutdown().await;
    report
}

fn result(report: &Report) -> &reports::CheckResult {
    let results: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.id == "handshake")
        .collect();
    assert_eq!(results.len(), 1, "{:?}", report.checks);
    results[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_challenge_passes_on_the_reference_receiver_and_its_faults_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    println!(
        "\n{:22} {:8} {:18} {:16}",
        "provider", "correct", "ignore-challenge", "skip-signature"
    );
    for (provider, forged_level) in providers(dir.path()) {
        let name = provider.name().to_string();
        let challenge = provider.profile().challenge.expect("declares a challenge");

        let correct = handshake(&provider, &[]).await;
        let r = result(&correct);
        assert_eq!(r.level, Level::Pass, "{name}: {r:?}");
        assert_eq!(r.cases, 2, "{name}: the challenge and its forgery");
        assert!(correct.passed() && correct.findings.is_empty(), "{name}");

        let ignored = handshake(&provider, &[Fault::IgnoreChallenge]).await;
        let r = result(&ignored);
        assert_eq!(r.level, Level::Fail, "{name}: {r:?}");
        assert!(!ignored.passed());
        let f = ignored
            .findings
            .iter()
            .find(|f| f.variant == "challenge")
            .unwrap_or_else(|| panic!("{name}: no finding for the challenge"));
        assert_eq!(f.level, Level::Fail);
        assert_eq!(f.status_class, "answer body", "{name}: {f:?}");
        // Discord's Webhook Events PING asks for 204: the 200 is the fault.
        let expects = match challenge.status() {
            200 => "HTTP 200".to_string(),
            other => format!("expects HTTP {other}, got 200"),
        };
        assert!(
            f.message.contains(challenge.noun()) && f.message.contains(&expects),
            "{name}: {}",
            f.message
        );
        // The finding reproduces the challenge as the sender sent it.
        let method = if name == "okta" { "GET" } else { "POST" };
        assert!(
            f.curl.contains(&format!("-X {method}")),
            "{name}: {}",
            f.curl
        );
        if name == "okta" {
            // Okta's Authorization value is the secret itself.
            let token = demo_secret(provider.scheme());
            assert!(!f.curl.contains(token.expose()), "{}", f.curl);
        }

        let unverified = handshake(&provider, &[Fault::SkipSignature]).await;
        let r = result(&unverified);
        assert_eq!(r.level, forged_level, "{name}: {r:?}");
        let f = unverified
            .findings
            .iter()
            .find(|f| f.variant == format!("bad signature: {}", challenge.name()))
            .unwrap_or_else(|| panic!("{name}: no finding for the forgery"));
        assert_eq!(f.level, forged_level, "{name}: {f:?}");
        println!(
            "{name:22} {:8} {:18} {:16}",
            "PASS",
            Level::Fail.to_string(),
            forged_level.to_string()
        );
    }
}

/// A Zoom receiver that answers with an HMAC under another key (a secret
/// token mix-up) fails, and the message names the value Zoom expects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zoom_answer_keyed_with_another_secret_fails_naming_the_expected_token() {
    let zoom = harness::provider::named("zoom").unwrap();
    let other = generators::Secret::new("another-secret-token".into());
    let config = ReceiverConfig::for_provider(zoom.clone(), other);
    let running = receiver::start(config.with_fault(Fault::SkipSignature))
        .await
        .expect("receiver starts");
    let target = Target::parse(&running.url()).unwrap();
    let plan = CheckPlan::new(zoom.clone(), target, demo_secret(zoom.scheme()))
        .select(&[CheckId::Handshake], &[])
        .unwrap();
    let report = check::run(&plan).await.expect("check runs");
    running.shutdown().await;
    let f = report
        .findings
        .iter()
        .find(|f| f.variant == "challenge")
        .expect("the challenge failed");
    assert_eq!(f.level, Level::Fail);
    assert!(f.message.contains("`encryptedToken` is"), "{}", f.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_without_a_challenge_skip_the_check_and_send_nothing() {
    for name in ["authgear", "stripe"] {
        let provider = harness::provider::named(name).unwrap();
        assert_eq!(provider.profile().challenge, None);
        let report = handshake(&provider, &[Fault::IgnoreChallenge]).await;
        let r = result(&report);
        assert_eq!(r.level, Level::Skipped, "{name}: {r:?}");
        assert_eq!(r.cases, 0, "{name}: nothing sent");
        assert_eq!(
            r.reason.as_deref(),
            Some(format!("{name} declares no endpoint challenge").as_str())
        );
        assert!(report.findings.is_empty() && report.passed(), "{name}");
    }
}
