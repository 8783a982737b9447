//! Schema-driven property-based generation: a JSON Schema is compiled once
//! into a `Node` tree, which a proptest [`Strategy`] ([`EventStrategy`])
//! walks with the runner's seeded RNG to produce events; [`EventTree`] is
//! its [`ValueTree`], shrinking an event towards its smallest still-valid
//! form, and [`shrink`] drives it against a failing check.
//!
//! Any schema works (custom providers get generation from their schema
//! alone); realism comes from the `x-gen` hints of the built-in schemas and
//! from a per-event persona, so the email in `standard_attributes` is the
//! email of the login-ID identity and the IP of the context is the IP of
//! the session. [`Generator`] owns the runner and the per-run counters:
//! ids are unique per run and `seq` strictly increases.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use proptest::prelude::{Rng, RngExt};
use proptest::strategy::{NewTree, SBoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Number, Value};

use crate::catalog::EventType;
use crate::fake;

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
pub(crate) struct Plan {
    pub root: Node,
    /// Path of the property whose schema is `const: <type name>`.
    pub type_path: Option<Vec<String>>,
}

const MAX_REF_DEPTH: usize = 32;

impl Plan {
    /// Compiles a schema; never fails: constructs it cannot generate
    /// (unresolvable `$ref`, `false`) become "anything".
    pub(crate) fn compile(schema: &Value, type_name: &str) -> Plan {
        let root = compile_node(schema, schema, 0);
        let mut path = Vec::new();
        let type_path = find_const(&root, type_name, &mut path).then_some(path);
        Plan { root, type_path }
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

/// How optional properties are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Each optional property with its `x-presence` probability.
    Random,
    /// Every optional property, every nullable as a value, arrays non-empty.
    Full,
    /// Only required properties, arrays at their minimum length.
    Minimal,
}

/// Per-run state shared by every strategy of one [`Generator`].
#[derive(Debug)]
pub(crate) struct Counters {
    pub seq: i64,
    pub next_id: u64,
    pub id_key: u64,
    pub now_ms: i64,
}

const MASK62: u64 = (1 << 62) - 1;

/// A bijection on 62-bit integers: distinct counters give distinct ids
/// that still look random.
fn permute62(x: u64) -> u64 {
    let mut x = x & MASK62;
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) & MASK62;
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9) & MASK62;
    x ^= x >> 29;
    x
}

impl Counters {
    fn unique62(&mut self) -> u64 {
        let n = self.next_id;
        self.next_id += 1;
        permute62(n ^ self.id_key)
    }
}

/// Values drawn once per event so related fields agree.
#[derive(Default)]
struct Persona {
    given: Option<&'static str>,
    family: Option<&'static str>,
    email: Option<String>,
    phone: Option<String>,
    username: Option<String>,
    ip: Option<String>,
    user_agent: Option<&'static str>,
    place: Option<(
        &'static str,
        &'static str,
        &'static str,
        f64,
        f64,
        &'static str,
    )>,
}

/// One event's generation state.
pub(crate) struct Ctx<'a> {
    pub runner: &'a mut TestRunner,
    pub counters: &'a mut Counters,
    pub subject: Option<String>,
    pub mode: Mode,
    persona: Persona,
    event_ms: i64,
}

const DAY_MS: i64 = 86_400_000;
const FREE_FORM_KEYS: &[&str] = &[
    "plan",
    "tier",
    "referrer",
    "newsletter",
    "score",
    "signup_source",
    "beta",
    "team",
];
const DEVICES: &[&str] = &[
    "iPhone 15 Pro",
    "Pixel 8",
    "Chrome 124.0.0",
    "Firefox 126.0",
    "Safari 17.5",
    "Galaxy S24",
];
const ZONES: &[&str] = &[
    "America/Denver",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Tokyo",
    "Asia/Hong_Kong",
    "Australia/Sydney",
];

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        runner: &'a mut TestRunner,
        counters: &'a mut Counters,
        subject: Option<String>,
        mode: Mode,
    ) -> Ctx<'a> {
        let now = counters.now_ms;
        let event_ms = now - runner.rng().random_range(0..1_500i64);
        Ctx {
            runner,
            counters,
            subject,
            mode,
            persona: Persona::default(),
            event_ms,
        }
    }

    fn rng(&mut self) -> &mut TestRng {
        self.runner.rng()
    }

    /// Generates one value of `node`.
    pub(crate) fn gen(&mut self, node: &Node) -> Value {
        match node {
            Node::Object(o) => self.gen_object(o),
            Node::Array(a) => {
                let n = match self.mode {
                    Mode::Minimal => a.min,
                    Mode::Full => a.min.max(2),
                    // Real arrays (roles, identities, languages) are short:
                    // mostly 0-2 elements beyond the minimum, sometimes 3.
                    Mode::Random => {
                        a.min + [0, 0, 1, 1, 1, 2, 2, 3][self.rng().random_range(0..8usize)]
                    }
                };
                let n = a.max.map_or(n, |m| n.min(m));
                Value::Array((0..n).map(|_| self.gen(&a.items)).collect())
            }
            Node::Str(s) => Value::String(self.gen_str(s)),
            Node::Int(i) => Value::Number(self.gen_int(i).into()),
            Node::Num(n) => self.gen_num(n),
            Node::Bool => Value::Bool(self.rng().random_bool(0.5)),
            Node::Null => Value::Null,
            Node::Const(v) => v.clone(),
            Node::Enum(values, fixed) => match fixed {
                Some(i) => values[*i].clone(),
                None if values.is_empty() => Value::Null,
                None => {
                    let i = self.rng().random_range(0..values.len());
                    values[i].clone()
                }
            },
            Node::Any => Value::String(fake::word(self.rng()).to_string()),
            Node::Union(branches, null_p) => {
                let non_null: Vec<&Node> = branches
                    .iter()
                    .filter(|b| !matches!(b, Node::Null))
                    .collect();
                let wants_null = branches.len() != non_null.len()
                    && self.mode == Mode::Random
                    && self.rng().random_bool(*null_p);
                if non_null.is_empty() || wants_null {
                    Value::Null
                } else {
                    let i = self.rng().random_range(0..non_null.len());
                    self.gen(non_null[i])
                }
            }
        }
    }

    fn include(&mut self, p: &Prop) -> bool {
        p.required
            || match self.mode {
                Mode::Full => true,
                Mode::Minimal => false,
                Mode::Random => p.presence >= 1.0 || self.rng().random_bool(p.presence),
            }
    }

    fn gen_object(&mut self, o: &ObjectNode) -> Value {
        // Decide which properties appear first, so the map is allocated at
        // its final size: a map sized for every declared property is often
        // a >1 KiB request, and those make glibc consolidate its fast bins.
        let mut chosen: u128 = 0;
        let mut count = 0;
        for (i, p) in o.props.iter().enumerate().take(128) {
            if self.include(p) {
                chosen |= 1 << i;
                count += 1;
            }
        }
        let mut m = Map::with_capacity(count + usize::from(o.free_form) * 2);
        for (i, p) in o.props.iter().enumerate() {
            let include = if i < 128 {
                chosen & (1 << i) != 0
            } else {
                self.include(p)
            };
            if include {
                let v = self.gen(&p.node);
                m.insert(p.name.clone(), v);
            }
        }
        if o.free_form && self.mode != Mode::Minimal {
            let n = if self.mode == Mode::Full {
                2
            } else {
                self.rng().random_range(0..=2usize)
            };
            for _ in 0..n {
                let key = fake::pick(self.rng(), FREE_FORM_KEYS);
                if m.contains_key(key) {
                    continue;
                }
                let v = match self.rng().random_range(0..3u8) {
                    0 => Value::String(fake::word(self.rng()).to_string()),
                    1 => Value::Number(self.rng().random_range(0..1000i64).into()),
                    _ => Value::Bool(self.rng().random_bool(0.5)),
                };
                m.insert(key.to_string(), v);
            }
        }
        Value::Object(m)
    }

    pub(crate) fn gen_str(&mut self, s: &StrNode) -> String {
        if s.subject {
            if let Some(subject) = &self.subject {
                return subject.clone();
            }
        }
        let mut out = match &s.regex {
            Some(strategy) => match strategy.new_tree(self.runner) {
                Ok(tree) => tree.current(),
                Err(_) => String::new(),
            },
            None => self.gen_hinted(s.hint),
        };
        if s.hint.is_text() && s.regex.is_none() {
            fit_length(&mut out, s.min, s.max);
        }
        if s.subject {
            self.subject = Some(out.clone());
        }
        out
    }

    fn unique_uuid(&mut self, upper: bool) -> String {
        let low = self.counters.unique62();
        let mut b = [0u8; 16];
        self.rng().fill_bytes(&mut b[..8]);
        b[8..].copy_from_slice(&low.to_be_bytes());
        fake::uuid_from_bytes(b, upper)
    }

    fn alnum(&mut self, n: usize) -> String {
        fake::alnum(self.rng(), n)
    }

    fn place(
        &mut self,
    ) -> (
        &'static str,
        &'static str,
        &'static str,
        f64,
        f64,
        &'static str,
    ) {
        if self.persona.place.is_none() {
            self.persona.place = Some(fake::place(self.rng()));
        }
        self.persona
            .place
            .unwrap_or(("Denver", "CO", "US", 39.7392, -104.9903, "80202"))
    }

    fn given(&mut self) -> &'static str {
        match self.persona.given {
            Some(g) => g,
            None => {
                let g = fake::given_name(self.rng());
                self.persona.given = Some(g);
                g
            }
        }
    }

    fn family(&mut self) -> &'static str {
        match self.persona.family {
            Some(f) => f,
            None => {
                let f = fake::family_name(self.rng());
                self.persona.family = Some(f);
                f
            }
        }
    }

    fn micros(&mut self, hint: Hint) -> i64 {
        let now = self.counters.now_ms;
        let ms = match hint {
            Hint::Iso6Past | Hint::Iso3Past => {
                now - self.rng().random_range(DAY_MS..3 * 365 * DAY_MS)
            }
            Hint::Iso6Recent | Hint::Iso3Recent => now - self.rng().random_range(0..DAY_MS),
            Hint::Iso6Future | Hint::Iso3Future => {
                now + self.rng().random_range(DAY_MS..30 * DAY_MS)
            }
            _ => self.event_ms,
        };
        ms * 1000 + self.rng().random_range(0..1000i64)
    }

    fn gen_hinted(&mut self, hint: Hint) -> String {
        match hint {
            Hint::Uuid => fake::uuid(self.rng(), false),
            Hint::UuidUpper => fake::uuid(self.rng(), true),
            Hint::EventId => self.unique_uuid(false),
            Hint::EventIdUpper => self.unique_uuid(true),
            Hint::EventIdAlnum => {
                let low = self.counters.unique62();
                format!("{}{low:016x}", self.alnum(8))
            }
            Hint::Email => {
                if self.persona.email.is_none() {
                    self.persona.email = Some(fake::email(self.rng()));
                }
                self.persona.email.clone().unwrap_or_default()
            }
            Hint::Phone => {
                if self.persona.phone.is_none() {
                    self.persona.phone = Some(fake::phone(self.rng()));
                }
                self.persona.phone.clone().unwrap_or_default()
            }
            Hint::Username => {
                if self.persona.username.is_none() {
                    self.persona.username = Some(fake::username(self.rng()));
                }
                self.persona.username.clone().unwrap_or_default()
            }
            Hint::GivenName => self.given().to_string(),
            Hint::FamilyName => self.family().to_string(),
            Hint::FullName => concat(&[self.given(), " ", self.family()]),
            Hint::Locale => fake::locale(self.rng()).to_string(),
            Hint::Ip => {
                if self.persona.ip.is_none() {
                    self.persona.ip = Some(fake::ip(self.rng()));
                }
                self.persona.ip.clone().unwrap_or_default()
            }
            Hint::Ipv4 => fake::ipv4(self.rng()),
            Hint::Ipv6 => fake::ipv6(self.rng()),
            Hint::UserAgent => {
                let ua = match self.persona.user_agent {
                    Some(ua) => ua,
                    None => fake::user_agent(self.rng()),
                };
                self.persona.user_agent = Some(ua);
                ua.to_string()
            }
            Hint::City => self.place().0.to_string(),
            Hint::Region => self.place().1.to_string(),
            Hint::Country => self.place().2.to_string(),
            Hint::Country3 => match self.place().2 {
                "US" => "USA",
                "GB" => "GBR",
                "DE" => "DEU",
                "BR" => "BRA",
                "JP" => "JPN",
                "HK" => "HKG",
                "NG" => "NGA",
                "AU" => "AUS",
                "CA" => "CAN",
                _ => "IND",
            }
            .to_string(),
            Hint::CountryName => match self.place().2 {
                "US" => "United States",
                "GB" => "United Kingdom",
                "DE" => "Germany",
                "BR" => "Brazil",
                "JP" => "Japan",
                "HK" => "Hong Kong",
                "NG" => "Nigeria",
                "AU" => "Australia",
                "CA" => "Canada",
                _ => "India",
            }
            .to_string(),
            Hint::Zipcode => self.place().5.to_string(),
            Hint::DisplayString => {
                let p = self.place();
                concat(&[p.0, ", ", p.1, ", ", p.2])
            }
            Hint::Latitude | Hint::Longitude => String::new(),
            Hint::Url => {
                let (a, b) = (fake::word(self.rng()), fake::word(self.rng()));
                concat(&["https://", a, ".example.com/", b])
            }
            Hint::Issuer => concat(&["https://", fake::word(self.rng()), ".authgear.cloud"]),
            Hint::Hostname => concat(&[fake::word(self.rng()), ".example.com"]),
            Hint::AppId => format!(
                "{}-{}",
                fake::word(self.rng()),
                self.rng().random_range(1..1000u32)
            ),
            Hint::AppName => {
                let w = fake::word(self.rng());
                let mut c = w.chars();
                let first = c.next().map(|f| f.to_ascii_uppercase()).unwrap_or('A');
                format!("{first}{} App", c.as_str())
            }
            Hint::Device => fake::pick(self.rng(), DEVICES).to_string(),
            Hint::Sentence => {
                let n = self.rng().random_range(3..8usize);
                let words: Vec<&str> = (0..n).map(|_| fake::word(self.rng())).collect();
                words.join(" ")
            }
            Hint::Word | Hint::Text => fake::word(self.rng()).to_string(),
            Hint::Digits => (0..21)
                .map(|_| char::from(b'0' + self.rng().random_range(0..10u8)))
                .collect(),
            Hint::Hex16 => fake::hex(self.rng(), 16),
            Hint::Hex24 => fake::hex(self.rng(), 24),
            Hint::Hex32 => fake::hex(self.rng(), 32),
            Hint::Alnum32 => self.alnum(32),
            Hint::Auth0ConId => concat(&["con_", &self.alnum(16)]),
            Hint::Auth0OrgId => concat(&["org_", &self.alnum(16)]),
            Hint::Auth0UserId => concat(&["auth0|", &fake::hex(self.rng(), 24)]),
            Hint::Branch => {
                if self.rng().random_bool(0.7) {
                    "main".to_string()
                } else {
                    format!("feature-{}", fake::word(self.rng()))
                }
            }
            Hint::Zoneinfo => fake::pick(self.rng(), ZONES).to_string(),
            Hint::Scope => "openid profile email offline_access".to_string(),
            Hint::Null => String::new(),
            Hint::Iso6Past | Hint::Iso6Recent | Hint::Iso6Future | Hint::Iso6Now => {
                let us = self.micros(hint);
                fake::rfc3339_micros(us, 6)
            }
            Hint::Iso3Past | Hint::Iso3Recent | Hint::Iso3Future | Hint::Iso3Now => {
                let us = self.micros(hint);
                fake::rfc3339_micros(us, 3)
            }
            Hint::Seq
            | Hint::UnixS
            | Hint::UnixSPast
            | Hint::UnixSFuture
            | Hint::UnixMs
            | Hint::UnixMsPast
            | Hint::UnixMsRecent => self.time_int(hint).to_string(),
        }
    }

    fn time_int(&mut self, hint: Hint) -> i64 {
        let now = self.counters.now_ms;
        match hint {
            Hint::Seq => {
                self.counters.seq += 1;
                self.counters.seq
            }
            Hint::UnixS => self.event_ms.div_euclid(1000),
            Hint::UnixSPast => {
                (now - self.rng().random_range(DAY_MS..3 * 365 * DAY_MS)).div_euclid(1000)
            }
            Hint::UnixSFuture => (now + self.rng().random_range(60_000..DAY_MS)).div_euclid(1000),
            Hint::UnixMs => self.event_ms,
            Hint::UnixMsPast => now - self.rng().random_range(DAY_MS..3 * 365 * DAY_MS),
            Hint::UnixMsRecent => now - self.rng().random_range(0..DAY_MS),
            _ => 0,
        }
    }

    pub(crate) fn gen_int(&mut self, i: &IntNode) -> i64 {
        let v = match i.hint {
            Hint::Seq
            | Hint::UnixS
            | Hint::UnixSPast
            | Hint::UnixSFuture
            | Hint::UnixMs
            | Hint::UnixMsPast
            | Hint::UnixMsRecent => self.time_int(i.hint),
            _ => {
                let lo = if i.min <= 0 && i.max >= 0 { 0 } else { i.min };
                let hi = lo.saturating_add(1000).min(i.max);
                self.rng().random_range(lo..=hi)
            }
        };
        v.clamp(i.min, i.max)
    }

    fn gen_num(&mut self, n: &NumNode) -> Value {
        let v = match n.hint {
            Hint::Latitude => self.place().3,
            Hint::Longitude => self.place().4,
            _ => {
                let hi = n.max.min(n.min + 1000.0);
                if hi > n.min {
                    let x = self.rng().random_range(n.min..hi);
                    (x * 10_000.0).round() / 10_000.0
                } else {
                    n.min
                }
            }
        }
        .clamp(n.min, n.max);
        Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

/// Joins string pieces with one allocation (cheaper than `format!` on the hot path).
fn concat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    parts.iter().for_each(|p| s.push_str(p));
    s
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

/// Pads or cuts `s` to `min..=max` characters.
pub(crate) fn fit_length(s: &mut String, min: usize, max: Option<usize>) {
    let count = s.chars().count();
    if count < min {
        s.extend(std::iter::repeat_n('x', min - count));
    }
    if let Some(max) = max {
        if count > max {
            *s = s.chars().take(max).collect();
        }
    }
}

/// A path step inside a JSON value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Seg {
    Key(String),
    Idx(usize),
}

#[derive(Clone, Debug)]
enum EditOp {
    Remove,
    Truncate(usize),
    Replace(Value),
}

#[derive(Clone, Debug)]
struct Edit {
    path: Vec<Seg>,
    op: EditOp,
}

impl Edit {
    fn key(&self) -> String {
        let op = match &self.op {
            EditOp::Remove => "rm".to_string(),
            EditOp::Truncate(n) => format!("trunc{n}"),
            EditOp::Replace(v) => format!("set{v}"),
        };
        format!("{:?}/{op}", self.path)
    }

    fn apply(&self, root: &Value) -> Option<Value> {
        let mut out = root.clone();
        let (last, parents) = self.path.split_last()?;
        let mut cur = &mut out;
        for seg in parents {
            cur = match seg {
                Seg::Key(k) => cur.get_mut(k.as_str())?,
                Seg::Idx(i) => cur.get_mut(*i)?,
            };
        }
        match (&self.op, last) {
            (EditOp::Remove, Seg::Key(k)) => {
                cur.as_object_mut()?.shift_remove(k.as_str())?;
            }
            (EditOp::Truncate(n), seg) => {
                let target = match seg {
                    Seg::Key(k) => cur.get_mut(k.as_str())?,
                    Seg::Idx(i) => cur.get_mut(*i)?,
                };
                target.as_array_mut()?.truncate(*n);
            }
            (EditOp::Replace(v), seg) => {
                let target = match seg {
                    Seg::Key(k) => cur.get_mut(k.as_str())?,
                    Seg::Idx(i) => cur.get_mut(*i)?,
                };
                *target = v.clone();
            }
            _ => return None,
        }
        (out != *root).then_some(out)
    }
}

#[derive(Default)]
struct EditLists {
    remove: Vec<Edit>,
    truncate: Vec<Edit>,
    replace: Vec<Edit>,
}

fn collect_edits(v: &Value, node: &Node, path: &mut Vec<Seg>, out: &mut EditLists) {
    match (node, v) {
        (Node::Object(o), Value::Object(m)) => {
            for (k, child) in m {
                path.push(Seg::Key(k.clone()));
                match o.props.iter().find(|p| &p.name == k) {
                    Some(p) => {
                        if !p.required {
                            out.remove.push(Edit {
                                path: path.clone(),
                                op: EditOp::Remove,
                            });
                        }
                        collect_edits(child, &p.node, path, out);
                    }
                    None => out.remove.push(Edit {
                        path: path.clone(),
                        op: EditOp::Remove,
                    }),
                }
                path.pop();
            }
        }
        (Node::Array(a), Value::Array(items)) => {
            if items.len() > a.min && !path.is_empty() {
                out.truncate.push(Edit {
                    path: path.clone(),
                    op: EditOp::Truncate(a.min),
                });
                if items.len() / 2 > a.min {
                    out.truncate.push(Edit {
                        path: path.clone(),
                        op: EditOp::Truncate(items.len() / 2),
                    });
                }
            }
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Idx(i));
                collect_edits(item, &a.items, path, out);
                path.pop();
            }
        }
        (Node::Str(s), Value::String(x)) if s.is_free_text() && s.regex.is_none() => {
            let simplest = "a".repeat(s.min);
            if *x != simplest && !path.is_empty() {
                out.replace.push(Edit {
                    path: path.clone(),
                    op: EditOp::Replace(Value::String(simplest)),
                });
            }
        }
        (Node::Int(i), Value::Number(n)) if i.hint == Hint::Text => {
            let simplest = 0i64.clamp(i.min, i.max);
            if n.as_i64() != Some(simplest) && !path.is_empty() {
                out.replace.push(Edit {
                    path: path.clone(),
                    op: EditOp::Replace(simplest.into()),
                });
            }
        }
        (Node::Bool, Value::Bool(true)) if !path.is_empty() => {
            out.replace.push(Edit {
                path: path.clone(),
                op: EditOp::Replace(Value::Bool(false)),
            });
        }
        (Node::Union(branches, _), v) => {
            if !v.is_null() && node.accepts_null() && !path.is_empty() {
                out.replace.push(Edit {
                    path: path.clone(),
                    op: EditOp::Replace(Value::Null),
                });
            }
            if let Some(b) = branches.iter().find(|b| shape_matches(b, v)) {
                collect_edits(v, b, path, out);
            }
        }
        _ => {}
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

/// A generated event that shrinks: each `simplify` removes an optional
/// property, shortens an array to a legal length, or simplifies a free-text
/// or plain leaf, so every form it passes through stays schema-valid.
pub struct EventTree {
    plan: Arc<Plan>,
    current: Value,
    prev: Option<Value>,
    last_key: Option<String>,
    rejected: HashSet<String>,
    edits: Option<VecDeque<Edit>>,
}

impl fmt::Debug for EventTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventTree")
            .field("current", &self.current)
            .finish()
    }
}

impl EventTree {
    pub(crate) fn new(plan: Arc<Plan>, value: Value) -> EventTree {
        EventTree {
            plan,
            current: value,
            prev: None,
            last_key: None,
            rejected: HashSet::new(),
            edits: None,
        }
    }

    /// The current form, borrowed.
    pub fn value(&self) -> &Value {
        &self.current
    }

    fn advance(&mut self) -> bool {
        if self.edits.is_none() {
            let mut lists = EditLists::default();
            collect_edits(&self.current, &self.plan.root, &mut Vec::new(), &mut lists);
            let mut all = VecDeque::with_capacity(
                lists.remove.len() + lists.truncate.len() + lists.replace.len(),
            );
            all.extend(lists.remove);
            all.extend(lists.truncate);
            all.extend(lists.replace);
            self.edits = Some(all);
        }
        while let Some(edit) = self.edits.as_mut().and_then(VecDeque::pop_front) {
            let key = edit.key();
            if self.rejected.contains(&key) {
                continue;
            }
            if let Some(next) = edit.apply(&self.current) {
                self.prev = Some(std::mem::replace(&mut self.current, next));
                self.last_key = Some(key);
                return true;
            }
        }
        false
    }
}

impl ValueTree for EventTree {
    type Value = Value;

    fn current(&self) -> Value {
        self.current.clone()
    }

    fn simplify(&mut self) -> bool {
        if self.prev.take().is_some() {
            // The last simplification was kept (the check still failed):
            // recompute the possible edits on the smaller value.
            self.edits = None;
        }
        self.advance()
    }

    fn complicate(&mut self) -> bool {
        match self.prev.take() {
            None => false,
            Some(prev) => {
                self.current = prev;
                if let Some(key) = self.last_key.take() {
                    self.rejected.insert(key);
                }
                self.advance()
            }
        }
    }
}

/// Shrinks `tree` to the smallest form for which `still_fails` holds, in at
/// most `max_steps` checks; the tree's starting value is assumed failing.
pub fn shrink(
    tree: &mut EventTree,
    mut still_fails: impl FnMut(&Value) -> bool,
    max_steps: usize,
) -> Value {
    let mut best = tree.current.clone();
    let mut steps = 0;
    if !tree.simplify() {
        return best;
    }
    while steps < max_steps {
        steps += 1;
        if still_fails(&tree.current) {
            best = tree.current.clone();
            if !tree.simplify() {
                break;
            }
        } else if !tree.complicate() {
            break;
        }
    }
    best
}

/// A proptest strategy producing valid events of one type, sharing its
/// generator's id and `seq` counters.
#[derive(Clone)]
pub struct EventStrategy {
    plan: Arc<Plan>,
    counters: Arc<Mutex<Counters>>,
    subject: Option<String>,
    mode: Mode,
}

impl fmt::Debug for EventStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStrategy")
            .field("subject", &self.subject)
            .field("mode", &self.mode)
            .finish()
    }
}

impl EventStrategy {
    pub(crate) fn generate(&self, runner: &mut TestRunner) -> Value {
        let mut counters = self
            .counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut ctx = Ctx::new(runner, &mut counters, self.subject.clone(), self.mode);
        ctx.gen(&self.plan.root)
    }
}

impl Strategy for EventStrategy {
    type Tree = EventTree;
    type Value = Value;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        Ok(EventTree::new(self.plan.clone(), self.generate(runner)))
    }
}

struct CachedPlan {
    provider: String,
    name: String,
    plan: Arc<Plan>,
}

/// Produces events for any [`EventType`]: valid ones, shrinkable ones and
/// adversarial variants. All randomness comes from the seed.
pub struct Generator {
    pub(crate) runner: TestRunner,
    pub(crate) counters: Arc<Mutex<Counters>>,
    plans: HashMap<usize, CachedPlan>,
}

impl fmt::Debug for Generator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generator")
            .field("counters", &self.counters)
            .finish()
    }
}

/// splitmix64: expands the user's 64-bit seed into RNG seed bytes.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Generator {
    /// A generator whose every value derives from `seed`, with timestamps near `now_unix_ms`.
    pub fn new(seed: u64, now_unix_ms: i64) -> Generator {
        let mut state = seed;
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        let id_key = splitmix64(&mut state);
        let seq = (splitmix64(&mut state) % 1_000_000) as i64 + 1;
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
        let runner = TestRunner::new_with_rng(Config::default(), rng);
        Generator {
            runner,
            counters: Arc::new(Mutex::new(Counters {
                seq,
                next_id: 0,
                id_key,
                now_ms: now_unix_ms,
            })),
            plans: HashMap::new(),
        }
    }

    /// Moves the generator's clock (timestamps are drawn near this instant).
    pub fn set_now(&mut self, now_unix_ms: i64) {
        self.counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .now_ms = now_unix_ms;
    }

    pub(crate) fn plan(&mut self, ty: &EventType) -> Arc<Plan> {
        // Keyed by the schema's address: built-in types are 'static, so
        // the lookup costs no hashing of the schema on the hot path.
        let key = &ty.schema as *const Value as usize;
        if let Some(c) = self.plans.get(&key) {
            if c.provider == ty.provider && c.name == ty.name {
                return c.plan.clone();
            }
        }
        let plan = Arc::new(Plan::compile(&ty.schema, &ty.name));
        self.plans.insert(
            key,
            CachedPlan {
                provider: ty.provider.clone(),
                name: ty.name.clone(),
                plan: plan.clone(),
            },
        );
        plan
    }

    pub(crate) fn strategy_with(
        &mut self,
        ty: &EventType,
        subject: Option<String>,
        mode: Mode,
    ) -> EventStrategy {
        EventStrategy {
            plan: self.plan(ty),
            counters: self.counters.clone(),
            subject,
            mode,
        }
    }

    /// The proptest strategy of valid `ty` events (shares this generator's counters).
    pub fn strategy(&mut self, ty: &EventType) -> EventStrategy {
        self.strategy_with(ty, None, Mode::Random)
    }

    /// A valid event: unique id, next `seq`, realistic values.
    pub fn valid(&mut self, ty: &EventType) -> Value {
        let s = self.strategy_with(ty, None, Mode::Random);
        s.generate(&mut self.runner)
    }

    /// A valid event about `subject` (see [`Generator::subject`] for one in the right format).
    pub fn valid_for_subject(&mut self, ty: &EventType, subject: &str) -> Value {
        let s = self.strategy_with(ty, Some(subject.to_string()), Mode::Random);
        s.generate(&mut self.runner)
    }

    /// A fresh subject (user/account id) in the format `ty` uses.
    pub fn subject(&mut self, ty: &EventType) -> String {
        let plan = self.plan(ty);
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let mut ctx = Ctx::new(&mut self.runner, &mut counters, None, Mode::Random);
        find_subject(&plan.root)
            .map(|s| ctx.gen_str(s))
            .unwrap_or_else(|| fake::uuid(ctx.rng(), false))
    }

    /// A valid event as a shrinkable proptest value tree.
    pub fn tree(&mut self, ty: &EventType) -> EventTree {
        let s = self.strategy_with(ty, None, Mode::Random);
        let v = s.generate(&mut self.runner);
        EventTree::new(s.plan, v)
    }

    /// Generates with the given mode (variants start from full or minimal events).
    pub(crate) fn generate_mode(&mut self, ty: &EventType, mode: Mode) -> (Arc<Plan>, Value) {
        let s = self.strategy_with(ty, None, mode);
        let v = s.generate(&mut self.runner);
        (s.plan, v)
    }
}

fn find_subject(node: &Node) -> Option<&StrNode> {
    match node {
        Node::Str(s) if s.subject => Some(s),
        Node::Object(o) => o.props.iter().find_map(|p| find_subject(&p.node)),
        Node::Array(a) => find_subject(&a.items),
        Node::Union(b, _) => b.iter().find_map(find_subject),
        _ => None,
    }
}

// The harness moves generators into tasks and threads: checked at compile time.
const _: fn() = || {
    fn check<T: Send + Sync>() {}
    check::<Generator>();
    check::<EventStrategy>();
    check::<EventTree>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ty(schema: Value) -> EventType {
        EventType {
            provider: "custom".into(),
            name: "thing.happened".into(),
            blocking: false,
            description: String::new(),
            schema,
        }
    }

    #[test]
    fn permute62_is_injective_on_a_sample() {
        let set: HashSet<u64> = (0..100_000u64).map(permute62).collect();
        assert_eq!(set.len(), 100_000);
        assert!(set.iter().all(|x| *x <= MASK62));
    }

    #[test]
    fn custom_schema_with_pattern_generates_matching_strings() {
        let t = ty(json!({
            "type": "object",
            "required": ["code", "kind"],
            "properties": {"code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"}, "kind": {"const": "thing.happened"}}
        }));
        let mut g = Generator::new(1, 1_700_000_000_000);
        let v = jsonschema::validator_for(&t.schema).unwrap();
        for _ in 0..50 {
            let e = g.valid(&t);
            assert!(v.is_valid(&e), "{e}");
        }
        assert_eq!(g.plan(&t).type_path, Some(vec!["kind".to_string()]));
    }

    #[test]
    fn shrink_finds_the_smallest_event_that_still_fails() {
        let t = ty(json!({
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": {"type": "string", "x-gen": "uuid"},
                "name": {"type": "string", "x-presence": 1.0},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "extra": {"type": "object", "x-presence": 1.0, "properties": {"flag": {"type": "boolean", "x-presence": 1.0}}}
            }
        }));
        let mut g = Generator::new(3, 0);
        let mut tree = g.tree(&t);
        // The "bug": the receiver fails whenever `extra` is present.
        let smallest = shrink(&mut tree, |v| v.get("extra").is_some(), 1000);
        assert!(smallest.get("extra").is_some());
        assert!(smallest.get("name").is_none(), "{smallest}");
        assert!(smallest.get("tags").is_none(), "{smallest}");
        assert_eq!(
            smallest["extra"].as_object().map(|m| m.len()),
            Some(0),
            "{smallest}"
        );
        assert!(smallest.get("id").is_some());
    }
}
