//! YAML and TOML text read into the positioned tree through one serde
//! visitor for both formats; only how a position is captured differs
//! (`serde-saphyr` gives line and column, `toml` a byte range). A syntax
//! error becomes a one-problem [`Diagnostic`] at its place.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::diagnostic::{Diagnostic, Problem};
use super::tree::{Node, Origin, Value};

/// Parses YAML text into a positioned tree; an empty document is `Null`.
pub fn parse_yaml(text: &str) -> Result<Node, serde_saphyr::Error> {
    serde_saphyr::from_str::<YamlNode>(text).map(|n| n.0)
}

/// A TOML syntax error: message and byte range.
#[derive(Debug)]
pub struct TomlError {
    /// What the parser said (first line).
    pub message: String,
    /// Where, when known.
    pub span: Option<Range<usize>>,
}

/// Parses TOML text into a positioned tree.
pub fn parse_toml(text: &str) -> Result<Node, TomlError> {
    let root: TomlNode = toml::from_str(text).map_err(|e| TomlError {
        message: e
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_string(),
        span: e.span(),
    })?;
    Ok(root.into_node(text))
}

/// YAML text as a tree; syntax errors and an empty file (told what it
/// should start with by `empty_hint`) become a diagnostic.
pub fn load_yaml(text: &str, file: &str, empty_hint: &str) -> Result<Node, Diagnostic> {
    let root = parse_yaml(text).map_err(|e| yaml_syntax(&e, text, file))?;
    if root.value == Value::Null {
        return Err(Diagnostic::whole_file(
            file,
            "the file is empty",
            Some(empty_hint.into()),
        ));
    }
    Ok(root)
}

/// TOML text as a tree; syntax errors become a diagnostic.
pub fn load_toml(text: &str, file: &str) -> Result<Node, Diagnostic> {
    parse_toml(text).map_err(|e| {
        let span = e.span.unwrap_or(0..0);
        let (line, column) = line_column(text, span.start);
        Diagnostic {
            file: file.to_string(),
            source: text.to_string(),
            problems: vec![Problem {
                message: format!("invalid TOML: {}", e.message),
                hint: Some("check the quoting, `key = value` and the [table] headers here".into()),
                origin: Origin::File {
                    line,
                    column,
                    offset: span.start,
                    len: span.end.saturating_sub(span.start),
                },
            }],
        }
    })
}

/// A YAML syntax error as a one-problem diagnostic.
fn yaml_syntax(err: &serde_saphyr::Error, text: &str, file: &str) -> Diagnostic {
    let inner = err.without_snippet();
    let message = inner.to_string();
    let message = message.lines().next().unwrap_or("invalid YAML").to_string();
    let located = inner
        .location()
        .or_else(|| err.location())
        .filter(|loc| loc.line() > 0)
        .map(|loc| (loc.line() as usize, loc.column() as usize))
        // Some parser errors only name the place in their text.
        .or_else(|| line_column_in(&message));
    let origin = match located {
        Some((line, column)) => Origin::File {
            line,
            column,
            offset: byte_offset(text, line, column),
            len: 0,
        },
        None => Origin::File {
            line: 1,
            column: 1,
            offset: 0,
            len: 0,
        },
    };
    Diagnostic {
        file: file.to_string(),
        source: text.to_string(),
        problems: vec![Problem {
            message: format!("invalid YAML: {message}"),
            hint: Some(
                "check the indentation, the `key: value` spacing and the quoting here".into(),
            ),
            origin,
        }],
    }
}

/// `(line, column)` from a message saying `... at line 6, column 21`.
fn line_column_in(message: &str) -> Option<(usize, usize)> {
    let rest = &message[message.rfind("line ")? + 5..];
    let (line, rest) = rest.split_once(", column ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

/// The byte offset of a 1-based line and character column in `text`.
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let in_line = text[start.min(text.len())..]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    (start + in_line).min(text.len())
}

/// `(line, column)`, 1-based, of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[start..offset].chars().count() + 1)
}

/// A value as the parser hands it over, its children still in the
/// format's own positioned wrapper `N`.
enum Parsed<N> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<N>),
    Map(Vec<(N, N)>),
}

impl<N> Parsed<N> {
    /// The value, each child turned into a [`Node`] by `node`.
    fn into_value(self, mut node: impl FnMut(N) -> Node) -> Value {
        match self {
            Parsed::Null => Value::Null,
            Parsed::Bool(b) => Value::Bool(b),
            Parsed::Int(i) => Value::Int(i),
            Parsed::Float(f) => Value::Float(f),
            Parsed::Str(s) => Value::Str(s),
            Parsed::Seq(items) => Value::Seq(items.into_iter().map(node).collect()),
            Parsed::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (node(k), node(v)))
                    .collect(),
            ),
        }
    }
}

/// A YAML node: `serde-saphyr` reports line, column and byte span.
struct YamlNode(Node);

impl<'de> Deserialize<'de> for YamlNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<YamlNode, D::Error> {
        let spanned = serde_saphyr::Spanned::<Parsed<YamlNode>>::deserialize(deserializer)?;
        let loc = spanned.referenced;
        let span = loc.span();
        Ok(YamlNode(Node {
            value: spanned.value.into_value(|n| n.0),
            origin: Origin::File {
                line: loc.line() as usize,
                column: loc.column() as usize,
                offset: span.byte_offset().unwrap_or(0) as usize,
                len: span.byte_len().unwrap_or(0) as usize,
            },
        }))
    }
}

/// A TOML node: `toml` reports a byte range, turned into line and column
/// once the whole text is parsed.
struct TomlNode(toml::Spanned<Parsed<TomlNode>>);

impl TomlNode {
    fn into_node(self, text: &str) -> Node {
        let span = self.0.span();
        let (line, column) = line_column(text, span.start);
        Node {
            value: self.0.into_inner().into_value(|n| n.into_node(text)),
            origin: Origin::File {
                line,
                column,
                offset: span.start,
                len: span.end.saturating_sub(span.start),
            },
        }
    }
}

impl<'de> Deserialize<'de> for TomlNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TomlNode, D::Error> {
        toml::Spanned::deserialize(deserializer).map(TomlNode)
    }
}

impl<'de, N: Deserialize<'de>> Deserialize<'de> for Parsed<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Parsed<N>, D::Error> {
        deserializer.deserialize_any(ParsedVisitor(PhantomData))
    }
}

/// The one visitor of both formats.
struct ParsedVisitor<N>(PhantomData<N>);

impl<'de, N: Deserialize<'de>> Visitor<'de> for ParsedVisitor<N> {
    type Value = Parsed<N>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML or TOML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Parsed<N>, E> {
        Ok(Parsed::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Parsed<N>, E> {
        Ok(Parsed::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Parsed<N>, D::Error> {
        Parsed::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Parsed<N>, E> {
        Ok(Parsed::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Parsed<N>, E> {
        Ok(Parsed::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Parsed<N>, E> {
        // Beyond i64 no field of ours makes sense; keep it as a number.
        Ok(i64::try_from(v).map_or(Parsed::Float(v as f64), Parsed::Int))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Parsed<N>, E> {
        Ok(i64::try_from(v).map_or(Parsed::Float(v as f64), Parsed::Int))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Parsed<N>, E> {
        Ok(i64::try_from(v).map_or(Parsed::Float(v as f64), Parsed::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Parsed<N>, E> {
        Ok(Parsed::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Parsed<N>, E> {
        Ok(Parsed::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Parsed<N>, E> {
        Ok(Parsed::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Parsed<N>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<N>()? {
            items.push(item);
        }
        Ok(Parsed::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed<N>, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<N>()? {
            let value = map.next_value::<N>()?;
            entries.push((key, value));
        }
        Ok(Parsed::Map(entries))
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
    fn yaml_keys_and_values_keep_line_and_column() {
        let text = "target: http://x\nsteps:\n  - load:\n      rate: 10 sec\n";
        let root = parse_yaml(text).unwrap();
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
    fn yaml_scalars_are_typed() {
        let root = parse_yaml("a: 5\nb: 2.5\nc: true\nd: ~\ne: 5%\n").unwrap();
        assert_eq!(root.get("a").unwrap().value, Value::Int(5));
        assert_eq!(root.get("b").unwrap().value, Value::Float(2.5));
        assert_eq!(root.get("c").unwrap().value, Value::Bool(true));
        assert_eq!(root.get("d").unwrap().value, Value::Null);
        assert_eq!(root.get("e").unwrap().as_str(), Some("5%"));
    }

    #[test]
    fn yaml_syntax_errors_carry_a_location() {
        let err = parse_yaml("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.location().is_some(), "{err}");
    }

    #[test]
    fn toml_keys_and_values_keep_line_and_column() {
        let text = "name = \"acme\"\n\n[signature]\nscheme = \"bearer\"\n";
        let root = parse_toml(text).unwrap();
        let (key, value) = &root.as_map().unwrap()[0];
        assert_eq!((pos(key), pos(value)), ((1, 1), (1, 8)));
        let sig = root.get("signature").unwrap();
        let (key, value) = &sig.as_map().unwrap()[0];
        assert_eq!(pos(key), (4, 1));
        assert_eq!(value.as_str(), Some("bearer"));
        assert_eq!(pos(value), (4, 10));
    }

    #[test]
    fn toml_syntax_errors_have_a_span() {
        let err = parse_toml("name = \n").unwrap_err();
        assert!(err.span.is_some(), "{}", err.message);
    }

    #[test]
    fn both_formats_read_into_the_same_tree() {
        let yaml = parse_yaml("a: 5\nb: [x, 2.5, true]\nc: {d: e}\n").unwrap();
        let toml = parse_toml("a = 5\nb = [\"x\", 2.5, true]\nc = { d = \"e\" }\n").unwrap();
        assert_eq!(yaml.to_json(), toml.to_json());
    }
}
