//! The first pass over a scenario or provider file: YAML parsed by
//! `serde-saphyr` into a tree where every node and every mapping key keeps
//! its line, column and byte span.
//!
//! Typed deserialization stops at the first mistake and loses positions
//! inside untagged enums; walking this tree instead lets the second pass
//! (`parse.rs`, `provider_file.rs`) report *every* mistake at its exact place.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// Where a node came from: the file (line/column/byte span) or a `--set` override.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A place in the file.
    File {
        /// 1-based line.
        line: usize,
        /// 1-based column (characters).
        column: usize,
        /// Byte offset of the node's first character.
        offset: usize,
        /// Byte length of the node's text (0 when unknown).
        len: usize,
    },
    /// A `--set key=value` override on the command line.
    Set(String),
}

/// A YAML value with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it is written.
    pub origin: Origin,
}

/// A YAML value whose children are [`Node`]s.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string (plain or quoted scalar).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, keys in file order (keys are nodes so they keep positions).
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// The kind of value in words, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// A node without a file position (built from a `--set` override).
    pub fn from_set(value: Value, setting: &str) -> Node {
        Node {
            value,
            origin: Origin::Set(setting.to_string()),
        }
    }

    /// The string, if this node is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar as text (strings, numbers, booleans), for values like
    /// `5%` or `10s` that YAML may type as numbers.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The entries, if this node is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value under `key`, if this node is a mapping holding it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }
}

/// Parses YAML text into a positioned tree; an empty document is `Null`.
pub fn parse(text: &str) -> Result<Node, serde_saphyr::Error> {
    serde_saphyr::from_str::<Node>(text)
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        let loc = spanned.referenced;
        let span = loc.span();
        Ok(Node {
            value: spanned.value,
            origin: Origin::File {
                line: loc.line() as usize,
                column: loc.column() as usize,
                offset: span.byte_offset().unwrap_or(0) as usize,
                len: span.byte_len().unwrap_or(0) as usize,
            },
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        // Beyond i64 no field of ours makes sense; keep it as a number.
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
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
        let text = "target: http://x\nsteps:\n  - load:\n      rate: 10 sec\n";
        let root = parse(text).unwrap();
        let entries = root.as_map().unwrap();
        assert_eq!(pos(&entries[0].0), (1, 1));
        assert_eq!(pos(&entries[0].1), (1, 9));
        let steps = root.get("steps").unwrap();
        let Value::Seq(items) = &steps.value else {
            panic!("not a list")
        };
        let load = items[0].get("load").unwrap();
        let (key, value) = &load.as_map().unwrap()[0];
        assert_eq!(pos(key), (4, 7));
        assert_eq!(pos(value), (4, 13));
        assert_eq!(value.as_str(), Some("10 sec"));
        let Origin::File { offset, len, .. } = value.origin else {
            panic!()
        };
        assert_eq!(&text[offset..offset + len], "10 sec");
    }

    #[test]
    fn scalars_are_typed() {
        let root = parse("a: 5\nb: 2.5\nc: true\nd: ~\ne: 5%\n").unwrap();
        assert_eq!(root.get("a").unwrap().value, Value::Int(5));
        assert_eq!(root.get("b").unwrap().value, Value::Float(2.5));
        assert_eq!(root.get("c").unwrap().value, Value::Bool(true));
        assert_eq!(root.get("d").unwrap().value, Value::Null);
        assert_eq!(root.get("e").unwrap().as_str(), Some("5%"));
    }

    #[test]
    fn syntax_errors_carry_a_location() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.location().is_some(), "{err}");
    }
}
