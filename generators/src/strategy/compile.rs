//! The schema compiler: turns a JSON Schema, once per event type, into the
//! [`Node`] tree that generation, shrinking and the variants walk, with the
//! `x-gen` hints that pick realistic values. It never fails: constructs it
//! cannot generate (an unresolvable `$ref`, `false`) become "anything".

use std::collections::HashSet;
use std::fmt;

use proptest::strategy::{SBoxedStrategy, Strategy};
use serde_json::{Map, Value};

/// Which realistic picker fills a leaf (the schema's `x-gen` or `format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hint {
    /// No hint: a free-text word.
    Text,
    Uuid,
    UuidUpper,
    EventId,
    EventIdUpper,
    EventIdAlnum,
    Email,
    Phone,
    Username,
    GivenName,
    FamilyName,
    FullName,
    Locale,
    Ip,
    Ipv4,
    Ipv6,
    UserAgent,
    City,
    Region,
    Country,
    Country3,
    CountryName,
    Zipcode,
    DisplayString,
    Latitude,
    Longitude,
    Url,
    Issuer,
    Hostname,
    AppId,
    AppName,
    Device,
    Sentence,
    Word,
    Digits,
    Hex16,
    Hex24,
    Hex32,
    Alnum32,
    Auth0ConId,
    Auth0OrgId,
    Auth0UserId,
    Branch,
    Zoneinfo,
    Scope,
    Null,
    Seq,
    UnixS,
    UnixSPast,
    UnixSFuture,
    UnixMs,
    UnixMsPast,
    UnixMsRecent,
    Iso6Past,
    Iso6Recent,
    Iso6Future,
    Iso6Now,
    Iso3Past,
    Iso3Recent,
    Iso3Future,
    Iso3Now,
}

impl Hint {
    fn parse(s: &str) -> Hint {
        match s {
            "uuid" => Hint::Uuid,
            "uuid-upper" => Hint::UuidUpper,
            "event-id" => Hint::EventId,
            "event-id-upper" => Hint::EventIdUpper,
            "event-id-alnum" => Hint::EventIdAlnum,
            "email" => Hint::Email,
            "phone" => Hint::Phone,
            "username" => Hint::Username,
            "given-name" => Hint::GivenName,
            "family-name" => Hint::FamilyName,
            "full-name" => Hint::FullName,
            "locale" => Hint::Locale,
            "ip" => Hint::Ip,
            "ipv4" => Hint::Ipv4,
            "ipv6" => Hint::Ipv6,
            "user-agent" => Hint::UserAgent,
            "city" => Hint::City,
            "region" => Hint::Region,
            "country" => Hint::Country,
            "country3" => Hint::Country3,
            "country-name" => Hint::CountryName,
            "zipcode" => Hint::Zipcode,
            "display-string" => Hint::DisplayString,
            "latitude" => Hint::Latitude,
            "longitude" => Hint::Longitude,
            "url" | "uri" => Hint::Url,
            "issuer" => Hint::Issuer,
            "hostname" => Hint::Hostname,
            "app-id" => Hint::AppId,
            "app-name" => Hint::AppName,
            "device" => Hint::Device,
            "sentence" => Hint::Sentence,
            "word" => Hint::Word,
            "digits" => Hint::Digits,
            "hex16" => Hint::Hex16,
            "hex24" => Hint::Hex24,
            "hex32" => Hint::Hex32,
            "alnum32" => Hint::Alnum32,
            "auth0-con-id" => Hint::Auth0ConId,
            "auth0-org-id" => Hint::Auth0OrgId,
            "auth0-user-id" => Hint::Auth0UserId,
            "branch" => Hint::Branch,
            "zoneinfo" => Hint::Zoneinfo,
            "scope" => Hint::Scope,
            "null" => Hint::Null,
            "seq" => Hint::Seq,
            "unix-s" => Hint::UnixS,
            "unix-s-past" => Hint::UnixSPast,
            "unix-s-future" => Hint::UnixSFuture,
            "unix-ms" => Hint::UnixMs,
            "unix-ms-past" => Hint::UnixMsPast,
            "unix-ms-recent" => Hint::UnixMsRecent,
            "iso6-past" => Hint::Iso6Past,
            "iso6-recent" => Hint::Iso6Recent,
            "iso6-future" => Hint::Iso6Future,
            "iso6-now" | "date-time" => Hint::Iso6Now,
            "iso3-past" => Hint::Iso3Past,
            "iso3-recent" => Hint::Iso3Recent,
            "iso3-future" => Hint::Iso3Future,
            "iso3-now" => Hint::Iso3Now,
            _ => Hint::Text,
        }
    }

    /// Free text a human typed or a provider composed: the leaves that
    /// unicode and length variants may rewrite without breaking a format.
    pub(crate) fn is_text(self) -> bool {
        matches!(
            self,
            Hint::Text
                | Hint::GivenName
                | Hint::FamilyName
                | Hint::FullName
                | Hint::City
                | Hint::Region
                | Hint::CountryName
                | Hint::DisplayString
                | Hint::AppName
                | Hint::Device
                | Hint::Sentence
                | Hint::Word
        )
    }

    /// Sequence numbers and event timestamps: what the i64-edges variant moves.
    pub(crate) fn is_seq_or_time(self) -> bool {
        matches!(self, Hint::Seq | Hint::UnixS | Hint::UnixMs)
    }
}

/// A compiled schema node: what the generator and the variants walk.
#[derive(Debug)]
pub(crate) enum Node {
    Object(ObjectNode),
    Array(ArrayNode),
    Str(StrNode),
    Int(IntNode),
    Num(NumNode),
    Bool,
    Null,
    Const(Value),
    Enum(Vec<Value>, Option<usize>),
    /// Anything (`{}` or `true`).
    Any,
    /// One of several shapes (`type: [..]`, `anyOf`, `oneOf`).
    /// The second field: probability of null when null is a branch (`x-null`, default 0.1).
    Union(Vec<Node>, f64),
}

#[derive(Debug)]
pub(crate) struct ObjectNode {
    pub props: Vec<Prop>,
    /// Unknown properties are allowed.
    pub additional: bool,
    /// A free-form map (`x-free-form`, or no declared properties).
    pub free_form: bool,
}

#[derive(Debug)]
pub(crate) struct Prop {
    pub name: String,
    pub node: Node,
    pub required: bool,
    /// Probability of generating this property when optional.
    pub presence: f64,
}

#[derive(Debug)]
pub(crate) struct ArrayNode {
    pub items: Box<Node>,
    pub min: usize,
    pub max: Option<usize>,
}

pub(crate) struct StrNode {
    pub hint: Hint,
    pub subject: bool,
    pub min: usize,
    pub max: Option<usize>,
    /// A `pattern` without a hint: generated by proptest's regex strategy
    /// (slow, so only for custom schemas).
    pub regex: Option<SBoxedStrategy<String>>,
    /// Has a `pattern` or `format`: its content is structured.
    pub constrained: bool,
}

impl fmt::Debug for StrNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StrNode")
            .field("hint", &self.hint)
            .field("subject", &self.subject)
            .finish()
    }
}

impl StrNode {
    /// Whether variants may replace the content with arbitrary text.
    pub(crate) fn is_free_text(&self) -> bool {
        !self.constrained && !self.subject && self.hint.is_text()
    }
}

#[derive(Debug)]
pub(crate) struct IntNode {
    pub hint: Hint,
    pub min: i64,
    pub max: i64,
    /// The schema reaches i64::MIN / i64::MAX (or says `format: int64`).
    pub i64_min: bool,
    pub i64_max: bool,
}

#[derive(Debug)]
pub(crate) struct NumNode {
    pub hint: Hint,
    pub min: f64,
    pub max: f64,
}

impl Node {
    /// Whether `null` is a valid instance.
    pub(crate) fn accepts_null(&self) -> bool {
        match self {
            Node::Null | Node::Any => true,
            Node::Union(b, _) => b.iter().any(Node::accepts_null),
            Node::Enum(v, _) => v.iter().any(Value::is_null),
            Node::Const(v) => v.is_null(),
            _ => false,
        }
    }
}

/// A compiled event type: the root node and where the type name lives.
#[derive(Debug)]
pub(crate) struct CompiledType {
    pub root: Node,
    /// Path of the property whose schema is `const: <type name>`.
    pub type_path: Option<Vec<String>>,
}

const MAX_REF_DEPTH: usize = 32;

impl CompiledType {
    /// Compiles a schema; never fails: constructs it cannot generate
    /// (unresolvable `$ref`, `false`) become "anything".
    pub(crate) fn compile(schema: &Value, type_name: &str) -> CompiledType {
        let root = compile_node(schema, schema, 0);
        let mut path = Vec::new();
        let type_path = find_const(&root, type_name, &mut path).then_some(path);
        CompiledType { root, type_path }
    }
}

fn find_const(node: &Node, name: &str, path: &mut Vec<String>) -> bool {
    if let Node::Object(o) = node {
        for p in &o.props {
            path.push(p.name.clone());
            if matches!(&p.node, Node::Const(Value::String(s)) if s == name)
                || find_const(&p.node, name, path)
            {
                return true;
            }
            path.pop();
        }
    }
    false
}

fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}

fn compile_node(s: &Value, root: &Value, depth: usize) -> Node {
    let Some(obj) = s.as_object() else {
        return match s {
            Value::Bool(false) => Node::Null,
            _ => Node::Any,
        };
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        return match resolve(root, r) {
            Some(target) if depth < MAX_REF_DEPTH => compile_node(target, root, depth + 1),
            _ => Node::Any,
        };
    }
    if let Some(c) = obj.get("const") {
        return Node::Const(c.clone());
    }
    let hint_str = obj.get("x-gen").and_then(Value::as_str);
    let null_p = obj
        .get("x-null")
        .and_then(Value::as_f64)
        .unwrap_or(0.1)
        .clamp(0.0, 1.0);
    if let Some(values) = obj.get("enum").and_then(Value::as_array) {
        let fixed = hint_str.and_then(|h| values.iter().position(|v| v.as_str() == Some(h)));
        return Node::Enum(values.clone(), fixed);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(branches) = obj.get(key).and_then(Value::as_array) {
            return Node::Union(
                branches
                    .iter()
                    .map(|b| compile_node(b, root, depth + 1))
                    .collect(),
                null_p,
            );
        }
    }
    if let Some(first) = obj
        .get("allOf")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return compile_node(first, root, depth + 1);
    }
    let types: Vec<&str> = match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ if obj.contains_key("properties") || obj.contains_key("required") => vec!["object"],
        _ if obj.contains_key("items") => vec!["array"],
        _ => vec![],
    };
    let hint = hint_str
        .or_else(|| obj.get("format").and_then(Value::as_str))
        .map(Hint::parse)
        .unwrap_or(Hint::Text);
    if hint == Hint::Null && types.contains(&"null") {
        // `x-gen: null`: the provider sends null here (Authgear's
        // context.user_id of an event without a user).
        return Node::Null;
    }
    let mut nodes: Vec<Node> = types
        .iter()
        .map(|t| compile_typed(t, obj, hint, root, depth))
        .collect();
    match nodes.len() {
        0 => Node::Any,
        1 => nodes.pop().unwrap_or(Node::Any),
        _ => Node::Union(nodes, null_p),
    }
}

fn compile_typed(
    t: &str,
    obj: &Map<String, Value>,
    hint: Hint,
    root: &Value,
    depth: usize,
) -> Node {
    let usize_of = |k: &str| obj.get(k).and_then(Value::as_u64).map(|n| n as usize);
    match t {
        "object" => {
            let required: HashSet<&str> = obj
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let props: Vec<Prop> = obj
                .get("properties")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| Prop {
                            name: k.clone(),
                            node: compile_node(v, root, depth + 1),
                            required: required.contains(k.as_str()),
                            presence: v
                                .get("x-presence")
                                .and_then(Value::as_f64)
                                .unwrap_or(0.75)
                                .clamp(0.0, 1.0),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let additional = !matches!(obj.get("additionalProperties"), Some(Value::Bool(false)))
                && !matches!(obj.get("unevaluatedProperties"), Some(Value::Bool(false)));
            let free_form = additional
                && (props.is_empty() || obj.get("x-free-form") == Some(&Value::Bool(true)));
            Node::Object(ObjectNode {
                props,
                additional,
                free_form,
            })
        }
        "array" => Node::Array(ArrayNode {
            items: Box::new(
                obj.get("items")
                    .map(|i| compile_node(i, root, depth + 1))
                    .unwrap_or(Node::Any),
            ),
            min: usize_of("minItems").unwrap_or(0),
            max: usize_of("maxItems"),
        }),
        "string" => {
            let pattern = obj.get("pattern").and_then(Value::as_str);
            let regex = match (pattern, hint) {
                (Some(p), Hint::Text) => proptest::string::string_regex(strip_anchors(p))
                    .ok()
                    .map(Strategy::sboxed),
                _ => None,
            };
            Node::Str(StrNode {
                hint: if hint == Hint::Null { Hint::Text } else { hint },
                subject: obj.get("x-subject") == Some(&Value::Bool(true)),
                min: usize_of("minLength").unwrap_or(0),
                max: usize_of("maxLength"),
                regex,
                constrained: pattern.is_some() || obj.contains_key("format"),
            })
        }
        "integer" => {
            let min = obj
                .get("minimum")
                .and_then(Value::as_i64)
                .unwrap_or(i64::MIN);
            let max = obj
                .get("maximum")
                .and_then(Value::as_i64)
                .unwrap_or(i64::MAX);
            let int64 = obj.get("format").and_then(Value::as_str) == Some("int64");
            Node::Int(IntNode {
                hint,
                min,
                max,
                i64_min: min == i64::MIN && (int64 || obj.contains_key("minimum")),
                i64_max: max == i64::MAX && (int64 || obj.contains_key("maximum")),
            })
        }
        "number" => Node::Num(NumNode {
            hint,
            min: obj.get("minimum").and_then(Value::as_f64).unwrap_or(-1e6),
            max: obj.get("maximum").and_then(Value::as_f64).unwrap_or(1e6),
        }),
        "boolean" => Node::Bool,
        "null" => Node::Null,
        _ => Node::Any,
    }
}

/// proptest's regex generator rejects anchors; a string matching the
/// whole unanchored pattern matches the anchored one too.
fn strip_anchors(p: &str) -> &str {
    let p = p.strip_prefix('^').unwrap_or(p);
    match p.strip_suffix('$') {
        Some(inner) if !inner.ends_with('\\') => inner,
        _ => p,
    }
}

/// Whether `v` has the JSON kind `node` describes (to pick a union branch).
pub(crate) fn shape_matches(node: &Node, v: &Value) -> bool {
    matches!(
        (node, v),
        (Node::Object(_), Value::Object(_))
            | (Node::Array(_), Value::Array(_))
            | (Node::Str(_), Value::String(_))
            | (Node::Int(_), Value::Number(_))
            | (Node::Num(_), Value::Number(_))
            | (Node::Bool, Value::Bool(_))
    )
}

/// The string leaf marked `x-subject` (the user or account an event is about).
pub(crate) fn find_subject(node: &Node) -> Option<&StrNode> {
    match node {
        Node::Str(s) if s.subject => Some(s),
        Node::Object(o) => o.props.iter().find_map(|p| find_subject(&p.node)),
        Node::Array(a) => find_subject(&a.items),
        Node::Union(b, _) => b.iter().find_map(find_subject),
        _ => None,
    }
}
