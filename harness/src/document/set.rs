//! `--set key=value` overrides: a dotted path into the tree (list items
//! counted from 1, as they are printed) and a value read as YAML, every
//! node of which points at the override instead of the file. A node points
//! at the override as it may be shown (`secret=<redacted>`, a URL without
//! its password), since diagnostics print where a value came from.

use generators::did_you_mean;

use crate::secret::redact_setting;

use super::read::parse_yaml;
use super::tree::{Node, Origin, Value};
use super::walk::Walker;

/// Applies one `--set path=value` override to the tree; a path that does
/// not fit the tree is a problem at the override.
pub fn apply_set(root: &mut Node, setting: &str, w: &mut Walker) {
    let shown = redact_setting(setting);
    let set_node = Node::from_set(Value::Null, &shown);
    let Some((path, raw)) = setting.split_once('=') else {
        w.error(
            &set_node,
            "an override must be `key=value`",
            Some(
                "e.g. --set target=http://127.0.0.1:8080/hooks or --set steps.2.load.rate=50"
                    .into(),
            ),
        );
        return;
    };
    // The value is read as YAML so `seed=7` is a number, `rate=50` too and
    // `checks=[accepts_valid]` a list; its nodes point at the override.
    let value = match parse_yaml(raw) {
        Ok(mut node) => {
            reorigin(&mut node, &shown);
            node.value
        }
        Err(_) => Value::Str(raw.to_string()),
    };
    let value = if raw.is_empty() {
        Value::Str(String::new())
    } else {
        value
    };
    let mut current = root;
    let segments: Vec<&str> = path.trim().split('.').collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let next = match &mut current.value {
            Value::Map(entries) => {
                let found = entries
                    .iter()
                    .position(|(k, _)| k.as_str() == Some(segment));
                match (found, last) {
                    (Some(at), _) => &mut entries[at].1,
                    (None, true) => {
                        entries.push((
                            Node::from_set(Value::Str(segment.to_string()), &shown),
                            Node::from_set(Value::Null, &shown),
                        ));
                        let at = entries.len() - 1;
                        &mut entries[at].1
                    }
                    (None, false) => {
                        let keys: Vec<&str> =
                            entries.iter().filter_map(|(k, _)| k.as_str()).collect();
                        let hint = did_you_mean(segment, keys.iter().copied())
                            .map(|s| format!("did you mean `{s}`?"));
                        w.error(&set_node, format!("`{segment}` is not in the file"), hint);
                        return;
                    }
                }
            }
            Value::Seq(items) => {
                // Item numbers count from 1, as they are printed.
                match segment.parse::<usize>() {
                    Ok(n) if n >= 1 && n <= items.len() => &mut items[n - 1],
                    _ => {
                        w.error(
                            &set_node,
                            format!("`{segment}` is not an item number (1..={})", items.len()),
                            Some(
                                "list items are numbered from 1, e.g. steps.2.load.rate=50".into(),
                            ),
                        );
                        return;
                    }
                }
            }
            _ => {
                w.error(
                    &set_node,
                    format!("cannot set `{segment}` inside a plain value"),
                    None,
                );
                return;
            }
        };
        current = next;
    }
    *current = Node::from_set(value, &shown);
}

/// Marks `node` and everything under it as coming from `--set setting`.
fn reorigin(node: &mut Node, setting: &str) {
    node.origin = Origin::Set(setting.to_string());
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| reorigin(n, setting)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            reorigin(k, setting);
            reorigin(v, setting);
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_add_and_point_at_themselves() {
        let mut root = parse_yaml("a: 1\nitems:\n  - {b: 2}\n").unwrap();
        let mut w = Walker::default();
        apply_set(&mut root, "a=[x, y]", &mut w);
        apply_set(&mut root, "items.1.c=3", &mut w);
        assert!(w.problems.is_empty(), "{:?}", w.problems);
        let a = root.get("a").unwrap();
        assert_eq!(a.origin, Origin::Set("a=[x, y]".into()));
        let Value::Seq(items) = &a.value else {
            panic!("not a list")
        };
        assert_eq!(items[1].origin, Origin::Set("a=[x, y]".into()));
        assert_eq!(
            root.to_json()["items"][0],
            serde_json::json!({"b": 2, "c": 3})
        );
        apply_set(&mut root, "items.0.b=1", &mut w);
        apply_set(&mut root, "nope.b=1", &mut w);
        apply_set(&mut root, "a.1.z=1", &mut w);
        let messages: Vec<&str> = w.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "`0` is not an item number (1..=1)",
                "`nope` is not in the file",
                "cannot set `z` inside a plain value"
            ]
        );
    }

    #[test]
    fn overrides_point_at_themselves_without_their_secrets() {
        let mut root = parse_yaml("secret: ${HOOK_SECRET}\ntarget: http://h/\n").unwrap();
        let mut w = Walker::default();
        apply_set(&mut root, "secret=hunter2", &mut w);
        apply_set(&mut root, "target=http://u:pw@h/x", &mut w);
        assert!(w.problems.is_empty(), "{:?}", w.problems);
        // The value is the one given; only where it came from is redacted.
        assert_eq!(root.get("secret").unwrap().as_str(), Some("hunter2"));
        assert_eq!(
            root.get("secret").unwrap().origin,
            Origin::Set("secret=<redacted>".into())
        );
        assert_eq!(
            root.get("target").unwrap().as_str(),
            Some("http://u:pw@h/x")
        );
        assert_eq!(
            root.get("target").unwrap().origin,
            Origin::Set("target=http://<redacted>@h/x".into())
        );
    }
}
