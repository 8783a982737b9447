//! How a declared provider delivers: `redelivery` (resends and whether
//! they carry a fresh id), `keys` (where each event's dedupe, ordering,
//! subject, type and timestamp live), `batch` (several events per request)
//! and `challenge` (the sender's endpoint handshake).

use generators::declared::check_key_path;
use generators::{Batch, BatchFormat, Challenge, Redelivery, TimeFormat};

use crate::document::{Fields, Node, Walker};

/// Keys of `redelivery`.
pub const REDELIVERY_KEYS: &[&str] = &["max_resends", "fresh_message_id"];
/// Keys of `keys`.
pub const KEY_KEYS: &[&str] = &["dedupe", "ordering", "subject", "type", "timestamp"];
/// Keys of `batch`: `format` (how one request holds its events: `array`,
/// a JSON array; `lines`, JSON Lines; `object`, one event per request)
/// and `max_events` (how many events one request carries). With `batch`,
/// every key path points into each event, so none may be a header.
pub const BATCH_KEYS: &[&str] = &["format", "max_events"];
/// Keys of `keys.timestamp`.
pub const TIMESTAMP_KEYS: &[&str] = &["path", "format"];
/// Keys of `challenge`.
pub const CHALLENGE_KEYS: &[&str] = &["kind"];

pub(super) fn read_redelivery(node: &Node, w: &mut Walker) -> Option<Redelivery> {
    let f = w.map(node, "`redelivery`", REDELIVERY_KEYS)?;
    let max_resends = match f.get("max_resends") {
        None => Some(0),
        Some(n) => w.count(n, "max_resends", "3").and_then(|v| {
            let v = u32::try_from(v).ok();
            if v.is_none() {
                w.error(
                    n,
                    "`max_resends` is too large",
                    Some("providers resend a handful of times, e.g. 3".into()),
                );
            }
            v
        }),
    };
    let fresh = match f.get("fresh_message_id") {
        None => Some(false),
        Some(n) => w.boolean(n, "fresh_message_id"),
    };
    Some(Redelivery {
        max_resends: max_resends?,
        fresh_message_id: fresh?,
    })
}

/// The key paths of `keys`, each a JSON pointer or `header:NAME`.
pub(super) struct Keys {
    pub(super) dedupe: String,
    pub(super) ordering: Option<String>,
    pub(super) subject: Option<String>,
    pub(super) type_key: Option<String>,
    /// The path and how the timestamp at it is written.
    pub(super) timestamp: Option<(String, TimeFormat)>,
}

/// A JSON pointer (`/event/id`) or a header (`header:webhook-id`); only
/// a pointer when the provider batches (`batched`): a request's headers
/// cannot tell its events apart.
fn key_path(w: &mut Walker, node: &Node, key: &str, batched: bool) -> Option<String> {
    let path = w.string(node, key, "/id")?;
    if batched && path.starts_with("header:") {
        w.error(
            node,
            format!("`{key}` cannot be a header: with `batch`, key paths point into each event"),
            Some("write a JSON pointer into one event, e.g. `/log_id`".into()),
        );
        return None;
    }
    match check_key_path(key, &path) {
        Ok(()) => Some(path),
        Err(e) => {
            w.error(
                node,
                e.to_string(),
                Some(
                    "write e.g. `/data/id` (JSON pointer, starts with /) or `header:webhook-id`"
                        .into(),
                ),
            );
            None
        }
    }
}

pub(super) fn read_keys(node: &Node, w: &mut Walker, batched: bool) -> Option<Keys> {
    let f = w.map(node, "`keys`", KEY_KEYS)?;
    let before = w.problems.len();
    let dedupe = f
        .require(w, "dedupe", "dedupe: /id")
        .and_then(|n| key_path(w, n, "dedupe", batched));
    let ordering = f
        .get("ordering")
        .and_then(|n| key_path(w, n, "ordering", batched));
    let subject = f
        .get("subject")
        .and_then(|n| key_path(w, n, "subject", batched));
    let type_key = f.get("type").and_then(|n| key_path(w, n, "type", batched));
    let timestamp = f
        .get("timestamp")
        .and_then(|n| read_timestamp(n, w, batched));
    if w.problems.len() > before {
        return None;
    }
    Some(Keys {
        dedupe: dedupe?,
        ordering,
        subject,
        type_key,
        timestamp,
    })
}

fn read_timestamp(node: &Node, w: &mut Walker, batched: bool) -> Option<(String, TimeFormat)> {
    let f: Fields<'_> = w.map(node, "`keys.timestamp`", TIMESTAMP_KEYS)?;
    let path = f
        .require(w, "path", "path: /created_at")
        .and_then(|n| key_path(w, n, "path", batched));
    let format = f
        .require(w, "format", "format: unix-seconds")
        .and_then(|n| w.choice(n, "format", &["unix-seconds", "unix-millis", "rfc3339"]))
        .map(|s| match s {
            "unix-seconds" => TimeFormat::UnixSeconds,
            "unix-millis" => TimeFormat::UnixMillis,
            _ => TimeFormat::Rfc3339,
        });
    Some((path?, format?))
}

/// `challenge: {kind: zoom-url-validation}`.
pub(super) fn read_challenge(node: &Node, w: &mut Walker) -> Option<Challenge> {
    let f = w.map(node, "`challenge`", CHALLENGE_KEYS)?;
    let kinds: Vec<&str> = Challenge::ALL.iter().map(|c| c.name()).collect();
    f.require(w, "kind", "kind: slack-url-verification")
        .and_then(|n| w.choice(n, "kind", &kinds))
        .and_then(Challenge::parse)
}

/// `batch: {format: array | lines | object, max_events: N}`.
pub(super) fn read_batch(node: &Node, w: &mut Walker) -> Option<Batch> {
    let f = w.map(node, "`batch`", BATCH_KEYS)?;
    let names: Vec<&str> = BatchFormat::ALL.iter().map(|b| b.name()).collect();
    let format = f
        .require(w, "format", "format: array")
        .and_then(|n| w.choice(n, "format", &names))
        .and_then(|name| BatchFormat::ALL.into_iter().find(|b| b.name() == name));
    let max_events = match f.get("max_events") {
        // One event per request says nothing more for `object`.
        None if format == Some(BatchFormat::Object) => Some(1),
        None => {
            f.require(w, "max_events", "max_events: 100");
            None
        }
        Some(n) => w.count(n, "max_events", "100").and_then(|v| {
            let fits = u32::try_from(v).ok().filter(|v| (1..=10_000).contains(v));
            if fits.is_none() {
                w.error(
                    n,
                    format!("`max_events` must be between 1 and 10000, found {v}"),
                    Some("the events one request carries, e.g. 100".into()),
                );
            }
            fits
        }),
    };
    let (format, max_events) = (format?, max_events?);
    if format == BatchFormat::Object && max_events != 1 {
        w.error(
            f.get("max_events").unwrap_or(node),
            format!("the `object` format carries one event per request, not {max_events}"),
            Some("use `format: array` or `format: lines` for several events per request".into()),
        );
        return None;
    }
    Some(Batch { format, max_events })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::provider_file::parse;
    use crate::provider_file::tests::{error_of, DECLARED, GOOD};

    #[test]
    fn a_challenge_is_read_and_its_mistakes_are_positioned() {
        let with = |challenge: &str| {
            GOOD.replace(
                "success: below-400\n",
                &format!("success: below-400\n{challenge}\n"),
            )
        };
        assert_eq!(
            parse(GOOD, "p.yaml", Path::new("."))
                .unwrap()
                .profile()
                .challenge,
            None
        );
        for c in Challenge::ALL {
            let text = with(&format!("challenge: {{kind: {}}}", c.name()));
            let p = parse(&text, "p.yaml", Path::new(".")).unwrap();
            assert_eq!(p.profile().challenge, Some(c));
        }
        let plain = error_of(&with("challenge: {kind: slack-url-verify}"), "p.yaml");
        assert!(
            plain.contains("p.yaml:6:19: error: unknown kind `slack-url-verify`"),
            "{plain}"
        );
        assert!(
            plain.contains("did you mean `slack-url-verification`"),
            "{plain}"
        );
        let plain = error_of(&with("challenge: {knd: discord-ping}"), "p.yaml");
        assert!(plain.contains("p.yaml:6:"), "{plain}");
        assert!(plain.contains("kind"), "{plain}");
    }

    #[test]
    fn a_batch_is_read_and_its_mistakes_are_positioned() {
        let batched = DECLARED.replace(
            "keys: {dedupe: /id}",
            "batch: {format: lines, max_events: 50}\nkeys: {dedupe: /id}",
        );
        let p = parse(&batched, "p.yaml", Path::new(".")).unwrap();
        assert_eq!(
            p.profile().batch,
            Some(Batch {
                format: BatchFormat::Lines,
                max_events: 50
            })
        );
        assert_eq!(p.profile().events_per_request(), 50);
        let object = DECLARED.replace(
            "keys: {dedupe: /id}",
            "batch: {format: object}\nkeys: {dedupe: /id}",
        );
        let p = parse(&object, "p.yaml", Path::new(".")).unwrap();
        assert_eq!(p.profile().events_per_request(), 1);
        assert_eq!(
            parse(DECLARED, "p.yaml", Path::new("."))
                .unwrap()
                .profile()
                .batch,
            None
        );

        let wrong = DECLARED.replace(
            "keys: {dedupe: /id}",
            "batch: {format: json-array, max_events: 0}\nkeys: {dedupe: header:x-id}",
        );
        let plain = error_of(&wrong, "p.yaml");
        assert!(
            plain.contains("p.yaml:14:17: error: unknown format `json-array`"),
            "{plain}"
        );
        assert!(
            plain.contains("p.yaml:14:41: error: `max_events` must be between 1 and 10000"),
            "{plain}"
        );
        assert!(
            plain.contains("p.yaml:15:16: error: `dedupe` cannot be a header"),
            "{plain}"
        );
        let several_objects = DECLARED.replace(
            "keys: {dedupe: /id}",
            "batch: {format: object, max_events: 5}\nkeys: {dedupe: /id}",
        );
        let plain = error_of(&several_objects, "p.yaml");
        assert!(
            plain
                .contains("p.yaml:14:37: error: the `object` format carries one event per request"),
            "{plain}"
        );
        let no_max = DECLARED.replace(
            "keys: {dedupe: /id}",
            "batch: {format: array}\nkeys: {dedupe: /id}",
        );
        let plain = error_of(&no_max, "p.yaml");
        assert!(plain.contains("max_events"), "{plain}");
    }
}
