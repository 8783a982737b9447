//! The positioned tree every document is read into: each node and each
//! mapping key keeps where it was written (line, column, byte span) or
//! which `--set` override it came from.

use serde_json::{Map, Value as Json};

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

/// A value with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it is written.
    pub origin: Origin,
}

/// A YAML or TOML value whose children are [`Node`]s.
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

    /// The node as plain JSON (positions dropped).
    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::Str(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    let key = k.scalar_text().unwrap_or_default();
                    map.insert(key, v.to_json());
                }
                Json::Object(map)
            }
        }
    }
}
