//! hookstorm judged by the senders' own verification libraries, from PyPI:
//! `standardwebhooks` (Standard Webhooks `v1`, and Infrahub's raw-key
//! variant of it), `svix`, `stripe`, `slack_sdk`, Paddle's
//! `paddle-python-sdk`, and PyNaCl for Standard Webhooks' `v1a` Ed25519
//! signatures and for Discord's (given the public key `events key`
//! prints, as Discord's docs verify); from npm: Octokit's
//! `@octokit/webhooks-methods` (GitHub) and `@shopify/shopify-api`
//! (Shopify); and PagerDuty's verifier as its docs publish it (PagerDuty
//! ships no library that verifies). `events gen --signed` output verifies with
//! them, every hostile signature case gets the verdict the library gives,
//! and `hookstorm check` passes on receivers written with them (and
//! catches one that skips them).
//!
//! The libraries live in a Python venv (pinned in
//! `harness/tests/py_libraries/requirements.txt`) at `$HOOKSTORM_PYENV`,
//! default `target/pyenv`, and a local npm prefix (pinned in
//! `harness/tests/js_libraries/package-lock.json`) at `$HOOKSTORM_NPM`,
//! default `target/npm`. The tests are `#[ignore]`d so a plain
//! `cargo test --workspace` needs no network; `.ci/run` creates the venv
//! and runs them by name. Without the venv they fail, saying how to make it.

use harness::check::CheckId;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use generators::Expect;
use harness::check::levels::{judge, Seen};

use crate::util::process::{self, hookstorm, transcript, KillOnDrop};
use crate::util::repository;

/// The venv's Python, or a failure that says how to create the venv.
fn pyenv_python() -> PathBuf {
    let dir = std::env::var_os("HOOKSTORM_PYENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repository::root().join("target/pyenv"));
    let python = dir.join("bin/python");
    assert!(
        python.is_file(),
        "no Python venv with the senders' libraries at {} (HOOKSTORM_PYENV); create it with\n  \
         python3 -m venv target/pyenv && target/pyenv/bin/pip install -r harness/tests/py_libraries/requirements.txt\n\
         (from the repository root; `bash .ci/run` does this)",
        dir.display()
    );
    python
}

fn script(name: &str) -> PathBuf {
    repository::root()
        .join("harness/tests/py_libraries")
        .join(name)
}

/// One sender as hookstorm names it (`--provider NAME`), a secret of its
/// form, and the library (`senders.py`) that verifies its deliveries.
struct Sender {
    label: &'static str,
    provider: &'static str,
    secret: &'static str,
    library: &'static str,
    /// The library holds the public key (`hookstorm events key`), as the
    /// sender's receivers do (Discord), not the secret hookstorm signs with.
    public_key: bool,
}

impl Sender {
    /// What the library is configured with: the secret, or the public key
    /// `hookstorm events key` prints for it.
    fn library_key(&self) -> String {
        if !self.public_key {
            return self.secret.to_string();
        }
        let out = hookstorm(["events", "key"])
            .args(self.provider_args())
            .secret(self.secret)
            .output();
        assert!(out.status.success(), "{}: {}", self.label, transcript(&out));
        process::stdout(&out).trim().to_string()
    }

    fn provider_args(&self) -> Vec<String> {
        vec!["--provider".into(), self.provider.into()]
    }

    fn provider(&self) -> generators::Provider {
        harness::provider::named(self.provider).expect("the provider resolves")
    }
}

const SENDERS: [Sender; 11] = [
    Sender {
        label: "standard-webhooks v1",
        provider: "standard-webhooks",
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        library: "standardwebhooks",
        public_key: false,
    },
    Sender {
        label: "standard-webhooks v1a (ed25519)",
        provider: "standard-webhooks",
        secret: "whsk_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",
        library: "pynacl-v1a",
        public_key: false,
    },
    Sender {
        label: "infrahub",
        provider: "infrahub",
        secret: "infrahub-shared-key-for-tests",
        library: "standardwebhooks-raw",
        public_key: false,
    },
    Sender {
        label: "svix",
        provider: "svix",
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        library: "svix",
        public_key: false,
    },
    Sender {
        label: "stripe",
        provider: "stripe",
        secret: "whsec_stripe_signing_secret_for_tests",
        library: "stripe",
        public_key: false,
    },
    Sender {
        label: "slack",
        provider: "slack",
        // docs.slack.dev's example signing secret.
        secret: "8f742231b10e8888abcd99yyyzzz85a5",
        library: "slack_sdk",
        public_key: false,
    },
    Sender {
        label: "paddle",
        provider: "paddle",
        secret: "pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3qd3uFSi9YCD3OLYAShQI90XTI5vEI",
        library: "paddle",
        public_key: false,
    },
    Sender {
        label: "discord (ed25519, the library holds the public key)",
        provider: "discord",
        // RFC 8032 §7.1 TEST 1's private seed.
        secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        library: "pynacl-discord",
        public_key: true,
    },
    Sender {
        label: "github",
        provider: "github",
        secret: "It's a Secret to Everybody",
        library: "octokit",
        public_key: false,
    },
    Sender {
        label: "shopify",
        provider: "shopify",
        secret: "shpss_hookstorm_client_secret_for_tests",
        library: "shopify-api",
        public_key: false,
    },
    Sender {
        label: "pagerduty",
        provider: "pagerduty",
        secret: "pd-webhook-signing-secret-for-tests",
        library: "pagerduty-docs",
        public_key: false,
    },
];

/// The senders' npm libraries (`harness/tests/js_libraries/`), run by
/// `verify.mjs` with Node.js.
const NPM_LIBRARIES: &[&str] = &["octokit", "shopify-api"];

/// The local npm prefix holding the JavaScript libraries, or a failure
/// that says how to install them.
fn npm_prefix() -> PathBuf {
    let dir = std::env::var_os("HOOKSTORM_NPM")
        .map(PathBuf::from)
        .unwrap_or_else(|| repository::root().join("target/npm"));
    assert!(
        dir.join("node_modules").is_dir(),
        "no npm prefix with the senders' JavaScript libraries at {} (HOOKSTORM_NPM); install it with\n  \
         mkdir -p target/npm && cp harness/tests/js_libraries/package*.json target/npm && npm ci --prefix target/npm\n\
         (from the repository root; `bash .ci/run` does this)",
        dir.display()
    );
    dir
}

/// The verifier of `sender`'s library: `verify.py` in the venv, or
/// `verify.mjs` under Node.js for an npm library.
fn verifier_command(sender: &Sender) -> Command {
    if NPM_LIBRARIES.contains(&sender.library) {
        let mut cmd = Command::new("node");
        cmd.arg("--experimental-import-meta-resolve")
            .arg(
                repository::root()
                    .join("harness/tests/js_libraries")
                    .join("verify.mjs"),
            )
            .env("HOOKSTORM_NPM", npm_prefix());
        cmd
    } else {
        let mut cmd = Command::new(pyenv_python());
        cmd.arg(script("verify.py"));
        cmd
    }
}

/// `hookstorm events gen --signed` records for `sender`, with `extra`
/// arguments (`--variant`, `--count`, ...).
fn gen_signed(sender: &Sender, extra: &[&str]) -> Vec<String> {
    let out = hookstorm(["events", "gen"])
        .args(sender.provider_args())
        .args(["--all", "--signed", "--seed", "5"])
        .args(extra)
        .secret(sender.secret)
        .output();
    assert!(
        out.status.success(),
        "{}: {}",
        sender.label,
        transcript(&out)
    );
    let text = String::from_utf8(out.stdout).expect("JSONL is UTF-8");
    text.lines().map(str::to_string).collect()
}

/// `verify.py` with a sender's library, started once and fed batch by
/// batch.
struct Verifier {
    child: KillOnDrop,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
    label: &'static str,
}

impl Verifier {
    /// Starts the verifier and waits for its imports, so that records
    /// signed after this are judged within milliseconds: the timestamp
    /// edge cases sit only 5 s inside or outside the tolerance.
    fn start(sender: &Sender) -> Verifier {
        let mut child = verifier_command(sender)
            .arg(sender.library)
            .env("HOOK_SECRET", sender.library_key())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the verifier (the venv's python, or node) runs");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut ready = String::new();
        stdout.read_line(&mut ready).unwrap();
        assert_eq!(
            ready.trim(),
            "ready",
            "{}: verify.py did not start",
            sender.label
        );
        Verifier {
            child: KillOnDrop(child),
            stdin,
            stdout,
            label: sender.label,
        }
    }

    /// The library's verdict on each record, in order: `Ok(())` accepted,
    /// `Err(why)` rejected.
    fn judge(&mut self, records: &[String]) -> Vec<Result<(), String>> {
        for r in records {
            writeln!(self.stdin, "{r}").unwrap();
        }
        self.stdin.flush().unwrap();
        records
            .iter()
            .map(|_| {
                let mut line = String::new();
                let n = self.stdout.read_line(&mut line).unwrap();
                assert!(n > 0, "{}: verify.py ended early", self.label);
                let v: serde_json::Value = serde_json::from_str(&line).unwrap();
                match v["verdict"].as_str() {
                    Some("accepted") => Ok(()),
                    _ => Err(v["error"].as_str().unwrap_or("").to_string()),
                }
            })
            .collect()
    }

    fn finish(self) {
        let Verifier {
            mut child, stdin, ..
        } = self;
        drop(stdin);
        let status = child.exit_within(Duration::from_secs(60), "verify.py ends");
        assert!(status.success(), "{}: verify.py exit {status}", self.label);
    }
}

#[test]
#[ignore = "needs the senders' libraries (Python venv, npm prefix): bash .ci/run, or see README"]
fn signed_events_verify_with_the_senders_own_libraries() {
    for sender in &SENDERS {
        let mut verifier = Verifier::start(sender);
        let verdicts = verifier.judge(&gen_signed(sender, &["--count", "12"]));
        verifier.finish();
        assert_eq!(verdicts.len(), 12, "{}", sender.label);
        let refused: Vec<_> = verdicts.iter().filter_map(|v| v.as_ref().err()).collect();
        assert!(refused.is_empty(), "{}: {refused:#?}", sender.label);
    }
}

/// Every signature case hookstorm derives for a scheme gets, from the
/// sender's library, the verdict hookstorm expects of a correct receiver:
/// tampered, wrong key, truncated, stale, mixed-up key ... refused; key
/// rotation and timestamps just inside the tolerance accepted.
#[test]
#[ignore = "needs the senders' libraries (Python venv, npm prefix): bash .ci/run, or see README"]
fn hostile_signature_cases_get_the_verdict_of_the_senders_own_libraries() {
    let mut disagreements = Vec::new();
    for sender in &SENDERS {
        let cases = generators::signature_cases(sender.provider().scheme());
        // Every scheme gets at least the body and key cases; timestamps
        // and rotation add theirs where the scheme has them.
        for label in [
            "valid",
            "missing",
            "tampered-body",
            "wrong-secret",
            "truncated",
            "reserialized-body",
        ] {
            assert!(
                cases.iter().any(|c| c.label == label),
                "{}: no `{label}` in {cases:?}",
                sender.label
            );
        }
        let mut verifier = Verifier::start(sender);
        let mut judged = Vec::new();
        for case in &cases {
            let records = gen_signed(sender, &["--count", "2", "--variant", case.label]);
            assert_eq!(records.len(), 2, "{} {}", sender.label, case.label);
            let verdicts = verifier.judge(&records);
            judged.extend(verdicts.into_iter().map(|v| (case, v)));
        }
        verifier.finish();
        for (case, verdict) in &judged {
            let agrees = match case.expect {
                Expect::Accept => verdict.is_ok(),
                Expect::Reject => verdict.is_err() || tolerated(case),
            };
            if !agrees {
                disagreements.push(format!(
                    "{} `{}`: hookstorm expects {:?}, the library says {verdict:?}",
                    sender.label, case.label, case.expect
                ));
            }
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

/// A case a library may accept although hookstorm's own receiver refuses
/// it, because `check` rates accepting it INFO, not FAIL: the right
/// signature in uppercase hex, which a library that decodes the hex
/// (PyNaCl's `bytes.fromhex`, as Discord's docs verify) takes, since
/// RFC 4648 base16 is case-insensitive and such a signature is no forgery.
fn tolerated(case: &generators::SignatureCase) -> bool {
    case.label == "uppercase-hex"
        && judge(CheckId::RejectsBadSignature, case.label, Seen::Accepted).0 == reports::Level::Info
}

/// A receiver written with a sender's library (`py_libraries/receiver.py`),
/// started with the venv's Python; its base URL.
fn library_receiver(library: &str, secret: &str, faults: &[&str]) -> (KillOnDrop, String) {
    let mut cmd = Command::new(pyenv_python());
    cmd.arg(script("receiver.py")).arg(library);
    process::start_receiver_script(cmd, faults, secret)
}

/// `hookstorm check` of `sender` against `base`, with `extra` arguments;
/// the output and the report's (check id, level) pairs.
async fn check(
    sender: &Sender,
    base: &str,
    extra: &[&str],
) -> (std::process::Output, Vec<(String, String)>) {
    let out_dir = tempfile::tempdir().unwrap();
    let out = hookstorm(["check"])
        .args(sender.provider_args())
        .args(["--target", &format!("{base}/hooks")])
        .args(["--ledger-url", &format!("{base}/ledger")])
        .args(["--seed", "3", "--out"])
        .args([out_dir.path()])
        .args(extra)
        .secret(sender.secret)
        .within(Duration::from_secs(300))
        .run()
        .await;
    let report: serde_json::Value = std::fs::read(out_dir.path().join("report.json"))
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or_else(|e| {
            panic!(
                "{}: no report.json ({e}): {}",
                sender.label,
                transcript(&out)
            )
        });
    let levels = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["level"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (out, levels)
}

/// A receiver written with a sender's library, and what `check` must say
/// of it.
struct LibraryReceiver {
    sender: &'static Sender,
    /// Extra `check` arguments (what the receiver does not promise).
    extra: &'static [&'static str],
    /// Checks at PASS besides acceptance, dedupe and loss.
    pass: &'static [&'static str],
    /// Checks that FAIL once the receiver skips the library.
    caught: &'static [&'static str],
}

const SIGNATURE_CHECKS: &[&str] = &[
    "rejects_missing_signature",
    "rejects_bad_signature",
    "rejects_stale_signature",
];

/// `hookstorm check` passes (no FAIL, exit 0) on receivers that verify with
/// `standardwebhooks`, `svix`, `stripe`, `slack_sdk`, `paddle-python-sdk`
/// and PyNaCl (Discord, holding the public key), their signature checks
/// and endpoint challenges at PASS; and the same receiver with its
/// verification skipped fails them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the senders' libraries in a Python venv: bash .ci/run, or see README"]
async fn check_passes_on_receivers_using_the_senders_libraries_and_catches_one_that_skips_them() {
    // None of these receivers promises an order.
    let receivers = [
        // Standard Webhooks has no blocking hooks (the built-in provider
        // lends Authgear's types their blocking flag).
        LibraryReceiver {
            sender: &SENDERS[0],
            extra: &[
                "--ordering",
                "none",
                "--exclude",
                "blocking_response_schema",
            ],
            pass: SIGNATURE_CHECKS,
            caught: SIGNATURE_CHECKS,
        },
        LibraryReceiver {
            sender: &SENDERS[3],
            extra: &["--ordering", "none"],
            pass: SIGNATURE_CHECKS,
            caught: SIGNATURE_CHECKS,
        },
        LibraryReceiver {
            sender: &SENDERS[4],
            extra: &["--ordering", "none"],
            pass: SIGNATURE_CHECKS,
            caught: SIGNATURE_CHECKS,
        },
        // Slack: signed url_verification echoed. A forged one answered is
        // only INFO (the echo reveals nothing), so skipping verification
        // is caught by the signature checks alone.
        LibraryReceiver {
            sender: &SENDERS[5],
            extra: &["--ordering", "none"],
            pass: &[
                "handshake",
                "rejects_missing_signature",
                "rejects_bad_signature",
                "rejects_stale_signature",
            ],
            caught: SIGNATURE_CHECKS,
        },
        LibraryReceiver {
            sender: &SENDERS[6],
            extra: &["--ordering", "none"],
            pass: SIGNATURE_CHECKS,
            caught: SIGNATURE_CHECKS,
        },
        // Discord: PING answered 204, forged PINGs 401. Its docs check no
        // timestamp window (no stale check), and PyNaCl's `bytes.fromhex`
        // takes uppercase hex (INFO in rejects_bad_signature).
        LibraryReceiver {
            sender: &SENDERS[7],
            extra: &["--ordering", "none"],
            pass: &["handshake", "rejects_missing_signature"],
            caught: &[
                "handshake",
                "rejects_missing_signature",
                "rejects_bad_signature",
            ],
        },
    ];
    for receiver in receivers {
        let sender = receiver.sender;
        let key = sender.library_key();
        let (_child, base) = library_receiver(sender.library, &key, &[]);
        let (out, levels) = check(sender, &base, receiver.extra).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            sender.label,
            transcript(&out)
        );
        let failed: Vec<_> = levels
            .iter()
            .filter(|(_, l)| l == "FAIL" || l == "ERROR")
            .collect();
        assert!(failed.is_empty(), "{}: {failed:?}", sender.label);
        let always = ["accepts_valid", "duplicate_idempotent", "no_loss"];
        for id in always.iter().chain(receiver.pass) {
            let of_id: Vec<_> = levels.iter().filter(|(i, _)| i == id).collect();
            assert!(
                !of_id.is_empty() && of_id.iter().all(|(_, l)| l == "PASS"),
                "{} {id}: {of_id:?}",
                sender.label
            );
        }

        let (_child, base) = library_receiver(sender.library, &key, &["skip-verify"]);
        let caught = receiver.caught.join(",");
        let (out, levels) = check(sender, &base, &["--checks", &caught]).await;
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}: {}",
            sender.label,
            transcript(&out)
        );
        for id in receiver.caught {
            assert!(
                levels.iter().any(|(i, l)| i == id && l == "FAIL"),
                "{} skip-verify {id}: {levels:?}",
                sender.label
            );
        }
    }
}

/// `standardwebhooks` (and so `svix`) raises `binascii.Error`, not its
/// `WebhookVerificationError`, on a signature that is not base64
/// (hookstorm's `truncated` case). A receiver that catches only the
/// library's error, as its docs' examples do, answers that forgery with a
/// 500: still a rejection, so `check` reports it NON-STRICT (exit 0),
/// failing only under `--strict`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the senders' libraries in a Python venv: bash .ci/run, or see README"]
async fn a_receiver_catching_only_the_libraries_error_is_non_strict_on_a_truncated_signature() {
    let sender = &SENDERS[3];
    assert_eq!(sender.library, "svix");
    let (_child, base) =
        library_receiver(sender.library, sender.secret, &["catch-only-library-error"]);
    let only = ["--checks", "rejects_bad_signature"];
    let (out, levels) = check(sender, &base, &only).await;
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    assert!(
        !levels.is_empty() && levels.iter().all(|(_, l)| l == "NON-STRICT"),
        "{levels:?}"
    );
    let text = crate::util::process::stdout(&out);
    assert!(text.contains("truncated") && text.contains("500"), "{text}");

    let (out, _) = check(sender, &base, &[&only[..], &["--strict"]].concat()).await;
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
}
