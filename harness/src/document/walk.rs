//! Typed reading of a positioned tree: each accessor checks one value's
//! shape and records a [`Problem`] at that value's position instead of
//! stopping, so one `validate` run lists every mistake; [`finish`] turns
//! what was collected into the result.

use std::time::Duration;

use generators::did_you_mean;

use super::diagnostic::{Diagnostic, Problem};
use super::tree::{Node, Origin, Value};
use crate::duration::parse_duration;

/// Collects problems while a file is read.
#[derive(Debug, Default)]
pub struct Walker {
    /// Every problem found so far.
    pub problems: Vec<Problem>,
}

/// The checked keys of one mapping.
#[derive(Debug)]
pub struct Fields<'n> {
    /// The mapping node itself (missing keys are reported at it).
    pub node: &'n Node,
    /// What the mapping is, in words (`a load step`).
    pub what: &'static str,
    entries: &'n [(Node, Node)],
}

impl<'n> Fields<'n> {
    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The value under `key`, or a "missing" problem at the mapping.
    pub fn require(&self, w: &mut Walker, key: &str, example: &str) -> Option<&'n Node> {
        let found = self.get(key);
        if found.is_none() {
            w.error(
                self.node,
                format!("{} is missing `{key}`", self.what),
                Some(format!("add `{example}`")),
            );
        }
        found
    }

    /// The key node of `key` (for messages about the key itself).
    pub fn key(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, _)| k)
    }

    /// Whether `key` is present.
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

/// `s` unless `n == 1`.
fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

impl Walker {
    /// Records a problem at `node`.
    pub fn error(&mut self, node: &Node, message: impl Into<String>, hint: Option<String>) {
        self.problems.push(Problem::at(node, message, hint));
    }

    /// Checks that `node` is a mapping with only `allowed` keys (each at
    /// most once); unknown keys get a "did you mean".
    pub fn map<'n>(
        &mut self,
        node: &'n Node,
        what: &'static str,
        allowed: &[&str],
    ) -> Option<Fields<'n>> {
        let Some(entries) = node.as_map() else {
            self.error(
                node,
                format!(
                    "{what} must be a mapping of keys, found {}",
                    node.value.kind()
                ),
                Some(format!("keys allowed here: {}", allowed.join(", "))),
            );
            return None;
        };
        let mut seen: Vec<&str> = Vec::new();
        for (key, _) in entries {
            let Some(name) = key.as_str() else {
                self.error(
                    key,
                    format!("keys must be strings, found {}", key.value.kind()),
                    None,
                );
                continue;
            };
            if !allowed.contains(&name) {
                let hint = match did_you_mean(name, allowed.iter().copied()) {
                    Some(s) => format!(
                        "did you mean `{s}`? keys allowed here: {}",
                        allowed.join(", ")
                    ),
                    None => format!("keys allowed here: {}", allowed.join(", ")),
                };
                self.error(key, format!("unknown key `{name}` in {what}"), Some(hint));
            } else if seen.contains(&name) {
                self.error(
                    key,
                    format!("`{name}` is given twice in {what}"),
                    Some("keep one".into()),
                );
            }
            seen.push(name);
        }
        Some(Fields {
            node,
            what,
            entries,
        })
    }

    /// A string.
    pub fn string(&mut self, node: &Node, key: &str, example: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            other => {
                self.error(
                    node,
                    format!("`{key}` must be a string, found {}", other.kind()),
                    Some(format!("write e.g. `{key}: {example}`")),
                );
                None
            }
        }
    }

    /// A list of strings (a single string is taken as a one-item list).
    pub fn strings(
        &mut self,
        node: &Node,
        key: &str,
        example: &str,
    ) -> Option<Vec<(String, Node)>> {
        match &node.value {
            Value::Str(s) => Some(vec![(s.clone(), node.clone())]),
            Value::Seq(items) => {
                let mut out = Vec::new();
                for item in items {
                    if let Some(s) = self.string(item, key, example) {
                        out.push((s, item.clone()));
                    }
                }
                Some(out)
            }
            other => {
                self.error(
                    node,
                    format!("`{key}` must be a list of strings, found {}", other.kind()),
                    Some(format!("write e.g. `{key}: [{example}]`")),
                );
                None
            }
        }
    }

    /// A number (integer or float).
    pub fn number(&mut self, node: &Node, key: &str, example: &str) -> Option<f64> {
        match &node.value {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) if f.is_finite() => Some(*f),
            other => {
                self.error(
                    node,
                    format!("`{key}` must be a number, found {}", describe(other)),
                    Some(format!("write e.g. `{key}: {example}`")),
                );
                None
            }
        }
    }

    /// A number greater than zero.
    pub fn positive(&mut self, node: &Node, key: &str, example: &str) -> Option<f64> {
        let n = self.number(node, key, example)?;
        if n <= 0.0 {
            self.error(
                node,
                format!("`{key}` must be greater than 0, found {n}"),
                Some(format!("write e.g. `{key}: {example}`")),
            );
            return None;
        }
        Some(n)
    }

    /// A non-negative integer.
    pub fn count(&mut self, node: &Node, key: &str, example: &str) -> Option<u64> {
        match &node.value {
            Value::Int(i) if *i >= 0 => Some(*i as u64),
            Value::Int(i) => {
                self.error(
                    node,
                    format!("`{key}` must not be negative, found {i}"),
                    Some(format!("write e.g. `{key}: {example}`")),
                );
                None
            }
            other => {
                self.error(
                    node,
                    format!("`{key}` must be a whole number, found {}", describe(other)),
                    Some(format!("write e.g. `{key}: {example}`")),
                );
                None
            }
        }
    }

    /// An integer of at least 1.
    pub fn at_least_one(&mut self, node: &Node, key: &str, example: &str) -> Option<u64> {
        let n = self.count(node, key, example)?;
        if n == 0 {
            self.error(
                node,
                format!("`{key}` must be at least 1, found 0"),
                Some(format!("write e.g. `{key}: {example}`")),
            );
            return None;
        }
        Some(n)
    }

    /// A boolean.
    pub fn boolean(&mut self, node: &Node, key: &str) -> Option<bool> {
        match &node.value {
            Value::Bool(b) => Some(*b),
            other => {
                self.error(
                    node,
                    format!("`{key}` must be true or false, found {}", describe(other)),
                    Some(format!("write `{key}: true` or `{key}: false`")),
                );
                None
            }
        }
    }

    /// A duration like `500ms` or `10s` (greater than zero).
    pub fn duration(&mut self, node: &Node, key: &str) -> Option<Duration> {
        let hint = Some(
            "write a number and a unit with no space, e.g. 500ms, 10s, 1.5m (units: us, ms, s, m, h)"
                .to_string(),
        );
        let Some(text) = node.as_str() else {
            let extra = match node.value {
                Value::Int(n) => format!(" (a bare number has no unit: write `{n}s`?)"),
                _ => String::new(),
            };
            self.error(
                node,
                format!(
                    "`{key}` must be a duration, found {}{extra}",
                    node.value.kind()
                ),
                hint,
            );
            return None;
        };
        match parse_duration(text) {
            Ok(d) if d.is_zero() => {
                self.error(node, format!("`{key}` must be longer than 0"), hint);
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                // parse_duration's message already carries the accepted
                // form after a colon; keep the first clause as the message.
                let message = e.split(": ").next().unwrap_or(&e).to_string();
                self.error(node, format!("`{key}`: {message}"), hint);
                None
            }
        }
    }

    /// A share: `5%` or a fraction `0.05`, within `[0, 1]`.
    pub fn share(&mut self, node: &Node, key: &str) -> Option<f64> {
        let hint = Some(format!(
            "write a percentage or a fraction, e.g. `{key}: 5%` or `{key}: 0.05`"
        ));
        let value = match &node.value {
            Value::Str(s) => match s.trim().strip_suffix('%') {
                Some(p) => p.trim().parse::<f64>().ok().map(|p| p / 100.0),
                None => None,
            },
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        };
        match value {
            Some(v) if (0.0..=1.0).contains(&v) => Some(v),
            Some(_) => {
                self.error(node, format!("`{key}` must be between 0% and 100%"), hint);
                None
            }
            None => {
                self.error(
                    node,
                    format!("`{key}` must be a share, found {}", describe(&node.value)),
                    hint,
                );
                None
            }
        }
    }

    /// Thresholds (`p99<250ms`, ...), each parsed by `reports::threshold`.
    pub fn thresholds(&mut self, node: &Node, key: &str) -> Vec<reports::Threshold> {
        let Some(items) = self.strings(node, key, "p99<250ms, error_rate<0.1%") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (text, item) in items {
            match reports::threshold::parse(&text) {
                Ok(t) => out.push(t),
                Err(e) => self.error(
                    &item,
                    format!("invalid threshold `{text}`: {}", e.problem),
                    Some(
                        "write METRIC OP VALUE: p50/p90/p99/p99.9/min/mean/max (prefix `service.` for \
                         service time) with a duration, error_rate or missed with a percentage, rps \
                         with a number; e.g. p99<250ms, error_rate<0.1%, rps>1000"
                            .into(),
                    ),
                ),
            }
        }
        out
    }

    /// One of `choices`, with a "did you mean".
    pub fn choice<'c>(&mut self, node: &Node, key: &str, choices: &[&'c str]) -> Option<&'c str> {
        let text = self.string(node, key, choices.first().copied().unwrap_or(""))?;
        if let Some(c) = choices.iter().find(|c| **c == text) {
            return Some(c);
        }
        let hint = match did_you_mean(&text, choices.iter().copied()) {
            Some(s) => format!("did you mean `{s}`? one of: {}", choices.join(", ")),
            None => format!("one of: {}", choices.join(", ")),
        };
        self.error(node, format!("unknown {key} `{text}`"), Some(hint));
        None
    }

    /// Reports that at most one of `keys` may be present in `fields`.
    pub fn at_most_one(&mut self, fields: &Fields<'_>, keys: &[&str]) -> usize {
        let present: Vec<&str> = keys.iter().copied().filter(|k| fields.has(k)).collect();
        if present.len() > 1 {
            let second = fields.key(present[1]).unwrap_or(fields.node);
            self.error(
                second,
                format!(
                    "{} sets both `{}` and `{}`",
                    fields.what, present[0], present[1]
                ),
                Some(format!("keep only one of: {}", keys.join(", "))),
            );
        }
        present.len()
    }

    /// How many problems were found (for "N mistake(s)" lines).
    pub fn summary(&self) -> String {
        let n = self.problems.len();
        format!("{n} mistake{}", plural(n))
    }
}

/// Turns collected problems into the result: sorted by position, with
/// secrets blanked out of the source so snippets never print them: the
/// `secret_spans` (offset and length: an inline secret, a ledger command)
/// and every URL's userinfo.
pub fn finish(
    w: Walker,
    text: &str,
    file: &str,
    secret_spans: &[(usize, usize)],
) -> Result<(), Diagnostic> {
    if w.problems.is_empty() {
        return Ok(());
    }
    let mut problems = w.problems;
    problems.sort_by_key(|p| match p.origin {
        Origin::Set(_) => (0, 0),
        Origin::File { line, column, .. } => (line, column),
    });
    let mut source = crate::secret::blank_userinfo(text);
    for &(offset, len) in secret_spans {
        source = redact(&source, offset, len);
    }
    Err(Diagnostic {
        file: file.to_string(),
        source,
        problems,
    })
}

/// `text` with bytes `offset..offset+len` replaced by `*` (same byte length,
/// so every other span stays valid).
fn redact(text: &str, offset: usize, len: usize) -> String {
    let end = (offset + len).min(text.len());
    if offset >= end || !text.is_char_boundary(offset) || !text.is_char_boundary(end) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..offset]);
    out.push_str(&"*".repeat(end - offset));
    out.push_str(&text[end..]);
    out
}

/// A value in words, with its text for scalars (`a string "fast"`).
fn describe(value: &Value) -> String {
    match value {
        Value::Str(s) => format!("the string `{s}`"),
        Value::Int(i) => format!("the integer {i}"),
        Value::Float(f) => format!("the number {f}"),
        Value::Bool(b) => format!("`{b}`"),
        other => other.kind().to_string(),
    }
}
