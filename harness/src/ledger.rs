//! The ledger contract: what a receiver says it processed, in processing
//! order, as a JSON array of `{"id": ..., "seq": ...}`.
//!
//! The reference receiver keeps one ([`Ledger`]); a user's receiver exposes
//! one through `--ledger-url URL` (fetched with [`fetch_ledger_with`], under
//! the command's `--ca-cert`/`--insecure`) or `--ledger-cmd CMD` (run with
//! [`run_ledger_cmd`]). The effect checks (`duplicate_idempotent`,
//! `ordering`, `no_loss`) judge receivers by it, and [`order_cmp`] is the
//! one comparison of ordering values they and the receiver share.
//!
//! Messages about a ledger never repeat the command (it often holds a
//! database password) nor a URL's credentials: they end up in reports.

use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Ordering;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::client::{send_one, ClientOptions};
use crate::secret::REDACTED;
use crate::target::Target;

/// How long a ledger fetch or ledger command may take before it is abandoned.
pub const LEDGER_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest ledger accepted, so a runaway receiver cannot exhaust memory.
pub const MAX_LEDGER_BYTES: usize = 256 * 1024 * 1024;

/// Where a receiver's processing ledger is read from: `--ledger-url`,
/// `--ledger-cmd`, or a scenario's `ledger:`. Its `Debug` shows neither the
/// command nor the URL's credentials.
#[derive(Clone, PartialEq, Eq)]
pub enum LedgerSource {
    /// `GET` this URL (parsed where it was given, so a bad one never
    /// reaches a run).
    Url(Target),
    /// Run this shell command and read its standard output.
    Cmd(String),
}

impl LedgerSource {
    /// The source the `--ledger-url`/`--ledger-cmd` pair names, if any (the
    /// URL wins; clap makes them exclusive).
    pub fn from_flags(url: Option<&Target>, cmd: Option<&str>) -> Option<LedgerSource> {
        match (url, cmd) {
            (Some(url), _) => Some(LedgerSource::Url(url.clone())),
            (None, Some(cmd)) => Some(LedgerSource::Cmd(cmd.to_string())),
            (None, None) => None,
        }
    }

    /// Reads the ledger, bounded in time and size; a URL is fetched with
    /// `options`, so `--ca-cert` and `--insecure` apply to it as to the
    /// target.
    pub async fn read(&self, options: &ClientOptions) -> anyhow::Result<Vec<LedgerEntry>> {
        match self {
            LedgerSource::Url(url) => fetch_ledger_from(url, options).await,
            LedgerSource::Cmd(cmd) => {
                let cmd = cmd.clone();
                tokio::task::spawn_blocking(move || run_ledger_cmd(&cmd)).await?
            }
        }
    }
}

impl std::fmt::Debug for LedgerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LedgerSource::Url(url) => {
                // `url()` has no userinfo; say there was one.
                let shown = match url.credentials {
                    Some(_) => url.url().replacen("://", &format!("://{REDACTED}@"), 1),
                    None => url.url(),
                };
                f.debug_tuple("Url").field(&shown).finish()
            }
            LedgerSource::Cmd(_) => f.debug_tuple("Cmd").field(&REDACTED).finish(),
        }
    }
}

/// One processed event: its dedupe key and its ordering value (`null` when
/// the provider has no ordering key or the event lacks one).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LedgerEntry {
    /// The dedupe key's value (event id).
    pub id: String,
    /// The ordering key's value (`seq`, `createInstant`, `occured_at`), or null.
    pub seq: Value,
}

/// What a receiver does with events of one subject that arrive out of order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OrderingPolicy {
    /// Hold each subject's events for a settle window, then process them in
    /// ordering-key order.
    Strict,
    /// Apply an event only if its ordering value is greater than the last
    /// applied one for its subject; older ones are acknowledged and dropped.
    /// (The command-line default of `check` and `receiver`.)
    LastWriteWins,
    /// Process in arrival order (the library default).
    #[default]
    None,
    /// Process each delivery before acknowledging it, so processing follows
    /// acknowledgement order: a sender that waits for each acknowledgement
    /// before sending the subject's next event gets its order kept.
    Arrival,
}

impl OrderingPolicy {
    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            OrderingPolicy::Strict => "strict",
            OrderingPolicy::LastWriteWins => "last-write-wins",
            OrderingPolicy::None => "none",
            OrderingPolicy::Arrival => "arrival",
        }
    }
}

/// Compares two ordering values: integers (and other numbers) numerically,
/// strings (RFC 3339 timestamps) lexicographically; `None` when they are not
/// comparable (mixed kinds, null, objects).
pub fn order_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            // i128 holds every i64 and u64 exactly, so `seq` at the i64
            // edges compares correctly; only non-integers go through f64.
            let int = |n: &serde_json::Number| {
                n.as_i64()
                    .map(i128::from)
                    .or_else(|| n.as_u64().map(i128::from))
            };
            match (int(x), int(y)) {
                (Some(x), Some(y)) => Some(x.cmp(&y)),
                _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
            }
        }
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// An append-only, thread-safe ledger: the reference receiver's record of
/// what it processed.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: Mutex<Vec<LedgerEntry>>,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// Appends one processed event.
    pub fn push(&self, entry: LedgerEntry) {
        self.lock().push(entry);
    }

    /// Appends several processed events in order, atomically (no other
    /// entry lands between them).
    pub fn extend(&self, entries: impl IntoIterator<Item = LedgerEntry>) {
        self.lock().extend(entries);
    }

    /// A copy of every entry so far, in processing order.
    pub fn snapshot(&self) -> Vec<LedgerEntry> {
        self.lock().clone()
    }

    /// The ledger as the JSON array the contract specifies.
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing a Vec of plain structs cannot fail; an empty array is
        // still a valid answer if it somehow did.
        serde_json::to_vec(&*self.lock()).unwrap_or_else(|_| b"[]".to_vec())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<LedgerEntry>> {
        // A poisoned lock only means another thread panicked mid-push; the
        // Vec itself is still consistent, so keep serving it.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Parses a ledger document: a JSON array of objects with `id` (string or
/// number) and `seq` (any JSON value, absent = null).
pub fn parse_ledger(bytes: &[u8]) -> anyhow::Result<Vec<LedgerEntry>> {
    let doc: Value = serde_json::from_slice(bytes).context("the ledger is not JSON")?;
    let Value::Array(items) = doc else {
        bail!("the ledger must be a JSON array of {{\"id\", \"seq\"}} objects");
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::Object(mut obj) = item else {
                bail!("ledger entry {i} is not an object");
            };
            let id = match obj.remove("id") {
                Some(Value::String(s)) => s,
                // Numeric ids are common in hand-written receivers; they
                // identify events just as well.
                Some(Value::Number(n)) => n.to_string(),
                Some(_) => bail!("ledger entry {i}: `id` must be a string or a number"),
                None => bail!("ledger entry {i} has no `id`"),
            };
            let seq = obj.remove("seq").unwrap_or(Value::Null);
            Ok(LedgerEntry { id, seq })
        })
        .collect()
}

/// Fetches a receiver's ledger with `GET url` (http or https, default
/// client options: web roots only). Commands with `--ca-cert`/`--insecure`
/// use [`fetch_ledger_with`].
pub async fn fetch_ledger(url: &str) -> anyhow::Result<Vec<LedgerEntry>> {
    fetch_ledger_with(url, &ClientOptions::default()).await
}

/// Fetches a receiver's ledger with `GET url`, connecting as `options` say
/// (CA certificate, `--insecure`); the size limit is [`MAX_LEDGER_BYTES`].
pub async fn fetch_ledger_with(
    url: &str,
    options: &ClientOptions,
) -> anyhow::Result<Vec<LedgerEntry>> {
    fetch_ledger_from(&Target::parse(url)?, options).await
}

/// Fetches a receiver's ledger from `target` ([`fetch_ledger_with`] for a
/// URL already parsed, as a [`LedgerSource`] holds it).
async fn fetch_ledger_from(
    target: &Target,
    options: &ClientOptions,
) -> anyhow::Result<Vec<LedgerEntry>> {
    let url = target.url();
    let options = ClientOptions {
        max_response_bytes: MAX_LEDGER_BYTES,
        ..options.clone()
    };
    let headers = [("accept".to_string(), "application/json".to_string())];
    let answer = send_one(
        target,
        &options,
        "GET",
        &headers,
        Bytes::new(),
        LEDGER_TIMEOUT,
    )
    .await
    .map_err(|e| anyhow!("GET {url} failed: {e}"))?;
    if !(200..300).contains(&answer.status) {
        bail!("GET {url} answered {}", answer.status);
    }
    parse_ledger(&answer.body).with_context(|| format!("invalid ledger from {url}"))
}

/// Runs `sh -c CMD` and parses its standard output as a ledger. The command
/// must exit 0 within [`LEDGER_TIMEOUT`]; otherwise it is killed and its
/// standard error is reported.
pub fn run_ledger_cmd(cmd: &str) -> anyhow::Result<Vec<LedgerEntry>> {
    run_ledger_cmd_within(cmd, LEDGER_TIMEOUT)
}

fn run_ledger_cmd_within(cmd: &str, timeout: Duration) -> anyhow::Result<Vec<LedgerEntry>> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run the ledger command")?;
    // Read both pipes on their own threads: a child writing a large ledger
    // would otherwise block on a full pipe while we wait for it to exit.
    let stdout = child
        .stdout
        .take()
        .map(|s| reader_thread(s, MAX_LEDGER_BYTES));
    let stderr = child.stderr.take().map(|s| reader_thread(s, 64 * 1024));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for the ledger command")? {
            break Some(status);
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let Some(status) = status else {
        // The readers are left detached: a grandchild of the shell may still
        // hold the pipes open, and joining would wait for it.
        bail!("the ledger command did not finish within {timeout:?}");
    };
    let out = stdout
        .map(|t| t.join().unwrap_or_default())
        .unwrap_or_default();
    let err = stderr
        .map(|t| t.join().unwrap_or_default())
        .unwrap_or_default();
    if !status.success() {
        let err = String::from_utf8_lossy(&err);
        bail!("the ledger command failed ({status}): {}", err.trim());
    }
    parse_ledger(&out).context("invalid ledger from the ledger command")
}

fn reader_thread(
    pipe: impl Read + Send + 'static,
    limit: usize,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.take(limit as u64).read_to_end(&mut buf);
        buf
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_numerically_strings_lexicographically() {
        assert_eq!(order_cmp(&json!(9), &json!(10)), Some(Ordering::Less));
        assert_eq!(
            order_cmp(&json!(i64::MAX), &json!(u64::MAX)),
            Some(Ordering::Less)
        );
        assert_eq!(order_cmp(&json!(i64::MIN), &json!(0)), Some(Ordering::Less));
        assert_eq!(order_cmp(&json!(1.5), &json!(1)), Some(Ordering::Greater));
        assert_eq!(
            order_cmp(
                &json!("2024-01-01T00:00:00.000000Z"),
                &json!("2024-01-01T00:00:01.000000Z")
            ),
            Some(Ordering::Less)
        );
        assert_eq!(order_cmp(&json!("9"), &json!(10)), None);
        assert_eq!(order_cmp(&Value::Null, &Value::Null), None);
    }

    #[test]
    fn parses_the_contract_and_rejects_other_shapes() {
        let entries =
            parse_ledger(br#"[{"id":"a","seq":1},{"id":7},{"id":"c","seq":"x","extra":1}]"#)
                .unwrap();
        assert_eq!(
            entries,
            vec![
                LedgerEntry {
                    id: "a".into(),
                    seq: json!(1)
                },
                LedgerEntry {
                    id: "7".into(),
                    seq: Value::Null
                },
                LedgerEntry {
                    id: "c".into(),
                    seq: json!("x")
                },
            ]
        );
        assert!(parse_ledger(b"{}").is_err());
        assert!(parse_ledger(b"[1]").is_err());
        assert!(parse_ledger(br#"[{"seq":1}]"#).is_err());
        assert!(parse_ledger(br#"[{"id":true}]"#).is_err());
        assert!(parse_ledger(b"not json").is_err());
    }

    #[test]
    fn ledger_serializes_in_push_order() {
        let ledger = Ledger::new();
        ledger.push(LedgerEntry {
            id: "b".into(),
            seq: json!(2),
        });
        ledger.extend([LedgerEntry {
            id: "a".into(),
            seq: json!(1),
        }]);
        let round = parse_ledger(&ledger.to_json()).unwrap();
        assert_eq!(round, ledger.snapshot());
        assert_eq!(round[0].id, "b");
    }

    #[test]
    fn ledger_cmd_reads_stdout_and_reports_failures() {
        let entries = run_ledger_cmd(r#"printf '[{"id":"x","seq":3}]'"#).unwrap();
        assert_eq!(
            entries,
            vec![LedgerEntry {
                id: "x".into(),
                seq: json!(3)
            }]
        );
        let err = run_ledger_cmd("PGPASSWORD=hunter2 sh -c 'echo boom >&2; exit 3'")
            .unwrap_err()
            .to_string();
        assert!(err.contains("boom"), "{err}");
        // The command is not repeated: it may hold a password.
        assert!(!err.contains("hunter2"), "{err}");
        let err = format!(
            "{:#}",
            run_ledger_cmd("PGPASSWORD=hunter2 echo nope").unwrap_err()
        );
        assert!(err.contains("invalid ledger"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let source = LedgerSource::Cmd("PGPASSWORD=hunter2 echo".into());
        assert!(!format!("{source:?}").contains("hunter2"));
        let err = run_ledger_cmd_within("sleep 5", Duration::from_millis(100))
            .unwrap_err()
            .to_string();
        assert!(err.contains("did not finish"), "{err}");
    }

    #[tokio::test]
    async fn fetch_reports_bad_urls_and_unreachable_receivers() {
        assert!(fetch_ledger("ftp://127.0.0.1:1/ledger").await.is_err());
        assert!(fetch_ledger("127.0.0.1:1/ledger").await.is_err());
        // Port 1 on loopback: nothing listens there.
        let err = fetch_ledger("http://127.0.0.1:1/ledger").await.unwrap_err();
        assert!(format!("{err:#}").contains("failed"), "{err:#}");
        let err = fetch_ledger("http://u:hunter2@127.0.0.1:1/ledger")
            .await
            .unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.contains("GET http://127.0.0.1:1/ledger failed"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        let source = LedgerSource::Url(Target::parse("http://u:hunter2@h/ledger").unwrap());
        assert_eq!(
            format!("{source:?}"),
            r#"Url("http://<redacted>@h/ledger")"#
        );
    }
}
