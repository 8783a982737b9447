//! The built-in senders whose signatures carry a timestamp: Slack
//! (`v0=` hex HMAC of `v0:{ts}:{body}`), Paddle (`ts=…;h1=…`, a 5 s
//! window) and Discord (Ed25519 over `{ts}{body}`, signed without a
//! window). Each signs exactly as its sender documents, only a window
//! makes a timestamp's age judged, the challenges are answered, and `events key` prints
//! the public key a Discord receiver is configured with.

use generators::{Provider, Secret, Signer};
use harness::check::{self};
use harness::demo::demo_secret;
use reports::Level;
use sha2::{Digest, Sha256};

use crate::util::process::{hookstorm, stderr, stdout, transcript};
use crate::util::reference;

const TIMED: [&str; 3] = ["slack", "paddle", "discord"];

fn provider(name: &str) -> Provider {
    harness::provider::named(name).expect("built-in sender resolves")
}

fn results<'a>(report: &'a reports::Report, id: &str) -> Vec<&'a reports::CheckResult> {
    report.checks.iter().filter(|c| c.id == id).collect()
}

/// What only the timed senders have, against their reference receivers
/// (that every check passes and the signature faults are caught is the
/// registry table's): Discord documents no window, so nothing judges its
/// timestamp's age and the report says why; Slack's url_verification and
/// Discord's Webhook Events PING are answered, Paddle has no challenge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_senders_judge_age_only_with_a_window_and_answer_their_challenges() {
    for name in TIMED {
        let provider = provider(name);
        let running = reference::start(&provider, &[]).await;
        let report = check::run(&reference::plan(&provider, &running, 16))
            .await
            .expect("check runs");
        running.shutdown().await;
        let windowed = name != "discord";
        assert_eq!(provider.scheme().has_timestamp_window(), windowed, "{name}");
        let stale = results(&report, "rejects_stale_signature");
        assert!(!stale.is_empty(), "{name}");
        for c in stale {
            if windowed {
                assert_eq!(c.level, Level::Pass, "{name}: {c:?}");
            } else {
                assert_eq!(c.level, Level::Skipped, "{name}: {c:?}");
                let reason = c.reason.as_deref().unwrap_or_default();
                assert!(reason.contains("no window"), "{name}: {reason}");
            }
        }
        let handshake = if name == "paddle" {
            Level::Skipped
        } else {
            Level::Pass
        };
        let got = results(&report, "handshake");
        assert!(
            got.len() == 1
                && got[0].level == handshake
                && (handshake == Level::Skipped || got[0].cases == 2),
            "{name} handshake: {got:?}"
        );
    }
}

/// HMAC-SHA256 (RFC 2104) written out over SHA-256, so the expected
/// signatures below do not come from the code under test.
fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    hex::encode(outer)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Each file's declared scheme puts on the wire what its sender's docs
/// say: Slack's own worked example byte for byte, Paddle's header shape
/// and HMAC, Discord's hex Ed25519 signature and timestamp header.
#[test]
fn each_file_signs_the_way_its_sender_documents() {
    // docs.slack.dev "Verifying requests from Slack", the worked example:
    // signing secret, timestamp, slash-command body and signature.
    let slack = provider("slack");
    let secret = Secret::new("8f742231b10e8888abcd99yyyzzz85a5".into());
    let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    let headers = Signer::new(slack.scheme(), &secret)
        .unwrap()
        .sign(body, "", 1_531_420_618);
    assert_eq!(
        header(&headers, "X-Slack-Signature"),
        Some("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")
    );
    assert_eq!(
        header(&headers, "X-Slack-Request-Timestamp"),
        Some("1531420618")
    );

    // Paddle: `ts={ts};h1=<hex HMAC-SHA256("{ts}:{body}")>`, keyed with
    // the secret key's bytes, and nothing else in the header.
    let paddle = provider("paddle");
    let key = "pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3qd3uFSi9YCD3OLYAShQI90XTI5vEI";
    let body = br#"{"event_id":"evt_01h8bzakzx3hm2fmen703n5q45","event_type":"customer.created"}"#;
    let headers = Signer::new(paddle.scheme(), &Secret::new(key.into()))
        .unwrap()
        .sign(body, "", 1_671_552_777);
    let signed = [&b"1671552777:"[..], body].concat();
    assert_eq!(
        header(&headers, "Paddle-Signature"),
        Some(
            format!(
                "ts=1671552777;h1={}",
                hmac_sha256_hex(key.as_bytes(), &signed)
            )
            .as_str()
        )
    );

    // Discord: a 64-byte Ed25519 signature in hex under
    // X-Signature-Ed25519, the timestamp in X-Signature-Timestamp.
    let discord = provider("discord");
    let secret = demo_secret(discord.scheme());
    let headers = Signer::new(discord.scheme(), &secret)
        .unwrap()
        .sign(b"{}", "", 1_700_000_000);
    assert_eq!(
        header(&headers, "X-Signature-Timestamp"),
        Some("1700000000")
    );
    let sig = header(&headers, "X-Signature-Ed25519").unwrap();
    assert!(
        sig.len() == 128
            && sig
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{sig}"
    );
    // Signed without a window: an hour later the reference receiver still
    // accepts it, and a moved timestamp still breaks it.
    let lookup = |name: &str| header(&headers, name).map(str::to_string);
    let later = generators::verify(discord.scheme(), &secret, &lookup, b"{}", 1_700_003_600);
    assert!(later.is_ok(), "{later:?}");
    let moved = |name: &str| {
        if name.eq_ignore_ascii_case("X-Signature-Timestamp") {
            Some("1700000001".to_string())
        } else {
            lookup(name)
        }
    };
    assert!(generators::verify(discord.scheme(), &secret, &moved, b"{}", 1_700_000_000).is_err());
}

fn events_key(provider: &str, secret: Option<&str>) -> std::process::Output {
    let run = hookstorm(["events", "key", "--provider", provider]);
    match secret {
        Some(secret) => run.secret(secret),
        None => run,
    }
    .output()
}

/// `events key` prints the public key for the private key in
/// `$HOOK_SECRET` as the sender publishes it (Discord: hex; Standard
/// Webhooks v1a: `whpk_` base64), and says a shared-secret scheme has none.
#[test]
fn events_key_prints_the_public_key_a_receiver_is_configured_with() {
    // RFC 8032 §7.1, TEST 1: secret key (the seed) and public key.
    let out = events_key(
        "discord",
        Some("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"),
    );
    assert!(out.status.success(), "{}", transcript(&out));
    assert_eq!(
        stdout(&out),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\n"
    );

    let whsk = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
    let out = events_key("standard-webhooks", Some(whsk));
    assert!(out.status.success(), "{}", transcript(&out));
    assert_eq!(
        stdout(&out),
        "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    );

    let out = events_key("slack", Some("8f742231b10e8888abcd99yyyzzz85a5"));
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    assert!(
        stderr(&out).contains("no public key"),
        "{}",
        transcript(&out)
    );

    let out = events_key("discord", None);
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    assert!(stderr(&out).contains("HOOK_SECRET"), "{}", transcript(&out));

    let out = events_key("discord", Some("not-hex"));
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    assert!(stderr(&out).contains("hex"), "{}", transcript(&out));
}
