//! TOML documents (custom provider files may be TOML) read into the same
//! positioned tree as YAML, so one checker serves both formats: the `toml`
//! crate's spans are byte ranges, turned here into line and column.

use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::yaml::{Node, Origin, Value};

/// A TOML syntax error: message and byte range.
#[derive(Debug)]
pub struct TomlError {
    /// What the parser said (first line).
    pub message: String,
    /// Where, when known.
    pub span: Option<Range<usize>>,
}

/// Parses TOML text into a positioned tree.
pub fn parse(text: &str) -> Result<Node, TomlError> {
    let spanned: toml::Spanned<Raw> = toml::from_str(text).map_err(|e| TomlError {
        message: e
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_string(),
        span: e.span(),
    })?;
    Ok(convert(spanned, text))
}

/// `(line, column)`, 1-based, of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[start..offset].chars().count() + 1)
}

/// The TOML value before positions are resolved.
enum Raw {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<toml::Spanned<Raw>>),
    Map(Vec<(toml::Spanned<String>, toml::Spanned<Raw>)>),
}

fn origin(span: Range<usize>, text: &str) -> Origin {
    let (line, column) = line_column(text, span.start);
    Origin::File {
        line,
        column,
        offset: span.start,
        len: span.end.saturating_sub(span.start),
    }
}

fn convert(spanned: toml::Spanned<Raw>, text: &str) -> Node {
    let origin = origin(spanned.span(), text);
    let value = match spanned.into_inner() {
        Raw::Bool(b) => Value::Bool(b),
        Raw::Int(i) => Value::Int(i),
        Raw::Float(f) => Value::Float(f),
        Raw::Str(s) => Value::Str(s),
        Raw::Seq(items) => Value::Seq(items.into_iter().map(|i| convert(i, text)).collect()),
        Raw::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key = Node {
                        origin: self::origin(k.span(), text),
                        value: Value::Str(k.into_inner()),
                    };
                    (key, convert(v, text))
                })
                .collect(),
        ),
    };
    Node { value, origin }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Raw, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any TOML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        Ok(i64::try_from(v).map_or(Raw::Float(v as f64), Raw::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<toml::Spanned<String>>()? {
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Raw::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(node: &Node) -> (usize, usize) {
        match node.origin {
            Origin::File { line, column, .. } => (line, column),
            Origin::Set(_) => (0, 0),
        }
    }

    #[test]
    fn keys_and_values_keep_line_and_column() {
        let text = "name = \"acme\"\n\n[signature]\nscheme = \"bearer\"\n";
        let root = parse(text).unwrap();
        let (key, value) = &root.as_map().unwrap()[0];
        assert_eq!((pos(key), pos(value)), ((1, 1), (1, 8)));
        let sig = root.get("signature").unwrap();
        let (key, value) = &sig.as_map().unwrap()[0];
        assert_eq!(pos(key), (4, 1));
        assert_eq!(value.as_str(), Some("bearer"));
        assert_eq!(pos(value), (4, 10));
    }

    #[test]
    fn syntax_errors_have_a_span() {
        let err = parse("name = \n").unwrap_err();
        assert!(err.span.is_some(), "{}", err.message);
    }
}
