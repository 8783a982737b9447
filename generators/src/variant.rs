//! Adversarial event variants: each is labelled with the one thing
//! it changes. *Still valid* variants must pass the type's schema (the
//! receiver must accept them); *invalid* ones fail JSON parsing, schema
//! validation, the content type or the size limit (the receiver must reject
//! them with a 4xx). Hostile-signature variants live with the signers.
//!
//! Variants are driven by the type's compiled schema, so they also work for
//! custom providers. Where a schema leaves no room for a still-valid change
//! (say, no nullable optional field), the variant changes nothing there:
//! it never produces an invalid body under a still-valid label.

use serde_json::{Map, Value};

use crate::catalog::{Catalog, EventType};
use crate::error::{did_you_mean, Error};
use crate::strategy::compile::{shape_matches, CompiledType, Hint, Node};
use crate::strategy::generate::{fit_length, Ctx, Mode};
use crate::strategy::Generator;
use proptest::prelude::RngExt;

/// The body size limit receivers are expected to enforce; `oversized-body` exceeds it by 1 KiB.
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Length of free-text strings without a `maxLength` in `max-length`.
pub const LONG_STRING_CHARS: usize = 4096;
/// Elements per array in `large-array` (fewer if the body would pass half of [`MAX_BODY_BYTES`]).
pub const LARGE_ARRAY_LEN: usize = 1000;
/// Nesting levels added in `deep-nesting`: with the envelope this stays
/// below serde_json's default recursion limit of 128, so it is legal JSON
/// every common parser reads.
pub const DEEP_NESTING_LEVELS: usize = 64;

/// Whether a variant must still be accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Valid against the schema: the receiver must accept it.
    StillValid,
    /// Invalid (parse, schema, content type or size): the receiver must reject it with a 4xx.
    Invalid,
}

/// One adversarial variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variant {
    /// Stable label (`unknown-field-deep`).
    pub label: &'static str,
    /// Still valid or invalid.
    pub family: Family,
    /// The one thing it changes.
    pub description: &'static str,
}

/// An adversarial body.
#[derive(Clone, Debug, PartialEq)]
pub struct Mutated {
    /// The variant's label.
    pub label: &'static str,
    /// The body bytes to send.
    pub body: Vec<u8>,
    /// The `Content-Type` to send.
    pub content_type: String,
    /// The body as JSON (`None` when the body is not JSON).
    pub value: Option<Value>,
}

const VARIANTS: &[Variant] = &[
    Variant { label: "unknown-field-top", family: Family::StillValid, description: "adds one unknown field at the top level of the body" },
    Variant { label: "unknown-field-deep", family: Family::StillValid, description: "adds an unknown field to every nested object that allows additional properties" },
    Variant { label: "optional-absent", family: Family::StillValid, description: "leaves out every optional field at every depth (required fields only)" },
    Variant { label: "optional-null", family: Family::StillValid, description: "sets every optional field the schema allows to be null to null, and free-form map entries to null" },
    Variant { label: "unicode-extreme", family: Family::StillValid, description: "fills every free-text string with RTL text, combining marks, emoji, ZWJ sequences and NUL-free control characters" },
    Variant { label: "max-length", family: Family::StillValid, description: "makes every free-text string as long as its maxLength (4096 characters where none is set)" },
    Variant { label: "i64-edges", family: Family::StillValid, description: "puts seq at i64::MAX and timestamps at the i64 edge their schema allows" },
    Variant { label: "deep-nesting", family: Family::StillValid, description: "nests objects 64 levels deep inside every free-form object (custom_attributes, info.data, metadata)" },
    Variant { label: "large-array", family: Family::StillValid, description: "grows every array up to 1000 elements (or its maxItems), keeping the body under 512 KiB" },
    Variant { label: "malformed-json", family: Family::Invalid, description: "removes the first name separator ':' so the body is not JSON" },
    Variant { label: "truncated-body", family: Family::Invalid, description: "cuts a valid body at half its length" },
    Variant { label: "wrong-type", family: Family::Invalid, description: "gives one required field a value of another JSON type" },
    Variant { label: "missing-required", family: Family::Invalid, description: "removes one required field" },
    Variant { label: "wrong-event-type", family: Family::Invalid, description: "sends another type's event under this type's name" },
    Variant { label: "empty-body", family: Family::Invalid, description: "sends a zero-byte body" },
    Variant { label: "wrong-content-type", family: Family::Invalid, description: "sends a valid body as text/plain" },
    Variant { label: "oversized-body", family: Family::Invalid, description: "pads a valid body with an unknown field to MAX_BODY_BYTES + 1 KiB" },
];

/// Every variant, still-valid first.
pub fn variants() -> &'static [Variant] {
    VARIANTS
}

/// A variant by label; unknown labels get a "did you mean".
pub fn find_variant(label: &str) -> Result<&'static Variant, Error> {
    VARIANTS
        .iter()
        .find(|v| v.label == label)
        .ok_or_else(|| Error::UnknownName {
            what: "variant",
            name: label.to_string(),
            suggestion: did_you_mean(label, VARIANTS.iter().map(|v| v.label)),
        })
}

const JSON: &str = "application/json";

/// Strings a receiver must survive: right-to-left scripts and overrides,
/// stacked combining marks, emoji with ZWJ and skin tones, astral-plane
/// letters, BOM and zero-width characters, and C0/C1 controls except NUL.
const UNICODE_EXTREME: &str = "\u{202E}مرحبا بالعالم שלום\u{202C} Z\u{0351}\u{034B}\u{0363}a\u{0364}\u{0300}\u{0301}l\u{0336}g\u{0489}o \u{1F469}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}\u{1F3F3}\u{FE0F}\u{200D}\u{1F308}\u{1F44D}\u{1F3FD} \u{1D573}\u{1D594}\u{1D594}\u{1D590} \u{FEFF}\u{200B}\u{2060} \u{1}\u{7}\u{8}\u{1B}[31m\u{7F}\u{85}\u{9F} 日本語 한국어 \u{FFFD}";

fn json_body(label: &'static str, value: Value) -> Mutated {
    let body = serde_json::to_vec(&value).unwrap_or_default();
    Mutated {
        label,
        body,
        content_type: JSON.to_string(),
        value: Some(value),
    }
}

/// Visits every (value, node) pair, parents before children.
fn walk_mut(v: &mut Value, node: &Node, depth: usize, f: &mut dyn FnMut(&mut Value, &Node, usize)) {
    f(v, node, depth);
    match (node, v) {
        (Node::Object(o), Value::Object(m)) => {
            for p in &o.props {
                if let Some(child) = m.get_mut(&p.name) {
                    walk_mut(child, &p.node, depth + 1, f);
                }
            }
        }
        (Node::Array(a), Value::Array(items)) => {
            for item in items {
                walk_mut(item, &a.items, depth + 1, f);
            }
        }
        (Node::Union(branches, _), v) => {
            if let Some(b) = branches.iter().find(|b| shape_matches(b, v)) {
                walk_mut(v, b, depth, f);
            }
        }
        _ => {}
    }
}

/// Paths of required fields reachable through required parents, with their nodes.
fn required_paths<'n>(
    node: &'n Node,
    path: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, &'n Node)>,
) {
    if let Node::Object(o) = node {
        for p in o.props.iter().filter(|p| p.required) {
            path.push(p.name.clone());
            out.push((path.clone(), &p.node));
            required_paths(&p.node, path, out);
            path.pop();
        }
    }
}

fn get_mut<'v>(v: &'v mut Value, path: &[String]) -> Option<&'v mut Value> {
    path.iter().try_fold(v, |cur, k| cur.get_mut(k.as_str()))
}

/// A value of another JSON type than `node` accepts, or None for nodes
/// whose type is not a single plain type.
fn wrong_type_value(node: &Node) -> Option<Value> {
    Some(match node {
        Node::Str(_) => Value::from(12345),
        Node::Int(_) | Node::Num(_) => Value::from("12345"),
        Node::Bool => Value::from("true"),
        Node::Object(_) => Value::Array(vec![]),
        Node::Array(_) => Value::Object(Map::new()),
        _ => return None,
    })
}

fn nested(levels: usize) -> Value {
    let mut v = Value::from("bottom");
    for i in (0..levels).rev() {
        let mut m = Map::new();
        m.insert(format!("level_{i}"), v);
        v = Value::Object(m);
    }
    v
}

impl Generator {
    /// An adversarial body of `ty` for `variant`.
    pub fn mutate(&mut self, ty: &EventType, variant: &Variant) -> Mutated {
        let label = variant.label;
        match label {
            "unknown-field-top" => {
                let (plan, mut v) = self.generate_mode(ty, Mode::Random);
                if let (Node::Object(o), Value::Object(m)) = (&plan.root, &mut v) {
                    if o.additional {
                        m.insert("x_hookstorm_unknown".into(), serde_json::json!({"added_in": "v999", "note": "a field from the future"}));
                    }
                }
                json_body(label, v)
            }
            "unknown-field-deep" => {
                let (plan, mut v) = self.generate_mode(ty, Mode::Full);
                walk_mut(&mut v, &plan.root, 0, &mut |v, node, depth| {
                    if let (Node::Object(o), Value::Object(m)) = (node, v) {
                        if o.additional && depth > 0 {
                            m.insert(
                                format!("x_hookstorm_unknown_{depth}"),
                                serde_json::json!({"nested": [1, "two", null]}),
                            );
                        }
                    }
                });
                json_body(label, v)
            }
            "optional-absent" => {
                let (_, v) = self.generate_mode(ty, Mode::Minimal);
                json_body(label, v)
            }
            "optional-null" => {
                let (plan, mut v) = self.generate_mode(ty, Mode::Full);
                walk_mut(&mut v, &plan.root, 0, &mut |v, node, _| {
                    if let (Node::Object(o), Value::Object(m)) = (node, v) {
                        for p in o
                            .props
                            .iter()
                            .filter(|p| !p.required && p.node.accepts_null())
                        {
                            if let Some(slot) = m.get_mut(&p.name) {
                                *slot = Value::Null;
                            }
                        }
                        if o.free_form {
                            for (k, slot) in m.iter_mut() {
                                if !o.props.iter().any(|p| &p.name == k) {
                                    *slot = Value::Null;
                                }
                            }
                        }
                    }
                });
                json_body(label, v)
            }
            "unicode-extreme" => {
                let (plan, mut v) = self.generate_mode(ty, Mode::Full);
                walk_mut(&mut v, &plan.root, 0, &mut |v, node, _| {
                    if let (Node::Str(s), Value::String(x)) = (node, v) {
                        if s.is_free_text() && s.regex.is_none() {
                            let mut text = UNICODE_EXTREME.to_string();
                            fit_length(&mut text, s.min, s.max);
                            *x = text;
                        }
                    }
                });
                json_body(label, v)
            }
            "max-length" => {
                let (plan, mut v) = self.generate_mode(ty, Mode::Full);
                walk_mut(&mut v, &plan.root, 0, &mut |v, node, _| {
                    if let (Node::Str(s), Value::String(x)) = (node, v) {
                        if s.is_free_text() && s.regex.is_none() {
                            let n = s.max.unwrap_or(LONG_STRING_CHARS).max(s.min);
                            *x = "ẞ".repeat(n / 2) + &"m".repeat(n - n / 2);
                        }
                    }
                });
                json_body(label, v)
            }
            "i64-edges" => {
                let (plan, mut v) = self.generate_mode(ty, Mode::Full);
                walk_mut(&mut v, &plan.root, 0, &mut |v, node, _| {
                    if let Node::Int(i) = node {
                        if !v.is_number() {
                            return;
                        }
                        let edge = if i.hint == Hint::Seq && i.i64_max {
                            Some(i64::MAX)
                        } else if i.hint.is_seq_or_time() && i.i64_min {
                            Some(i64::MIN)
                        } else if (i.hint.is_seq_or_time() || i.hint == Hint::Text) && i.i64_max {
                            Some(i64::MAX)
                        } else {
                            None
                        };
                        if let Some(e) = edge {
                            *v = Value::from(e);
                        }
                    }
                });
                json_body(label, v)
            }
            "deep-nesting" => {
                let (plan, mut v) = self.generate_mode(ty, Mode::Full);
                walk_mut(&mut v, &plan.root, 0, &mut |v, node, _| {
                    if let (Node::Object(o), Value::Object(m)) = (node, v) {
                        if o.free_form {
                            m.insert("x_hookstorm_nested".into(), nested(DEEP_NESTING_LEVELS));
                        }
                    }
                });
                json_body(label, v)
            }
            "large-array" => self.large_array(ty),
            "malformed-json" => {
                let (_, v) = self.generate_mode(ty, Mode::Random);
                let mut body = serde_json::to_vec(&v).unwrap_or_default();
                match body.windows(2).position(|w| w == b"\":") {
                    Some(i) => {
                        body.remove(i + 1);
                    }
                    None => body.extend_from_slice(b"{"),
                }
                Mutated {
                    label,
                    body,
                    content_type: JSON.into(),
                    value: None,
                }
            }
            "truncated-body" => {
                let (_, v) = self.generate_mode(ty, Mode::Random);
                let mut body = serde_json::to_vec(&v).unwrap_or_default();
                body.truncate(body.len() / 2);
                Mutated {
                    label,
                    body,
                    content_type: JSON.into(),
                    value: None,
                }
            }
            "wrong-type" => {
                let (plan, mut v) = self.generate_mode(ty, Mode::Random);
                let mut paths = Vec::new();
                required_paths(&plan.root, &mut Vec::new(), &mut paths);
                let candidates: Vec<(Vec<String>, Value)> = paths
                    .into_iter()
                    .filter_map(|(p, n)| wrong_type_value(n).map(|w| (p, w)))
                    .collect();
                if !candidates.is_empty() {
                    let i = self.runner.rng().random_range(0..candidates.len());
                    let (path, wrong) = candidates[i].clone();
                    if let Some(slot) = get_mut(&mut v, &path) {
                        *slot = wrong;
                    }
                } else {
                    // No typed required field: the root itself gets the wrong type.
                    v = Value::from(12345);
                }
                json_body(label, v)
            }
            "missing-required" => {
                let (plan, mut v) = self.generate_mode(ty, Mode::Random);
                let mut paths = Vec::new();
                required_paths(&plan.root, &mut Vec::new(), &mut paths);
                if !paths.is_empty() {
                    let i = self.runner.rng().random_range(0..paths.len());
                    let path = paths[i].0.clone();
                    if let Some((last, parent)) = path.split_last() {
                        if let Some(Value::Object(m)) = get_mut(&mut v, parent) {
                            m.shift_remove(last);
                        }
                    }
                }
                json_body(label, v)
            }
            "wrong-event-type" => self.wrong_event_type(ty),
            "empty-body" => Mutated {
                label,
                body: Vec::new(),
                content_type: JSON.into(),
                value: None,
            },
            "wrong-content-type" => {
                let (_, v) = self.generate_mode(ty, Mode::Random);
                let mut m = json_body(label, v);
                m.content_type = "text/plain; charset=utf-8".into();
                m
            }
            "oversized-body" => {
                let (_, mut v) = self.generate_mode(ty, Mode::Random);
                let target = MAX_BODY_BYTES + 1024;
                if let Value::Object(m) = &mut v {
                    m.insert("x_hookstorm_padding".into(), Value::from(""));
                    let base = serde_json::to_vec(&*m).map(|b| b.len()).unwrap_or(0);
                    m.insert(
                        "x_hookstorm_padding".into(),
                        Value::from("a".repeat(target.saturating_sub(base))),
                    );
                    json_body(label, v)
                } else {
                    // A non-object root: trailing whitespace keeps it JSON.
                    let mut body = serde_json::to_vec(&v).unwrap_or_default();
                    body.resize(target.max(body.len()), b' ');
                    Mutated {
                        label,
                        body,
                        content_type: JSON.into(),
                        value: Some(v),
                    }
                }
            }
            _ => {
                let (_, v) = self.generate_mode(ty, Mode::Random);
                json_body(label, v)
            }
        }
    }

    fn large_array(&mut self, ty: &EventType) -> Mutated {
        let mut len = LARGE_ARRAY_LEN;
        loop {
            let (plan, mut v) = self.generate_mode(ty, Mode::Full);
            let counters = self.counters.clone();
            let mut counters = counters.lock().unwrap_or_else(|p| p.into_inner());
            let mut ctx = Ctx::new(&mut self.runner, &mut counters, None, Mode::Minimal);
            grow_arrays(&mut v, &plan, &mut ctx, len);
            drop(ctx);
            let body = serde_json::to_vec(&v).unwrap_or_default();
            if body.len() <= MAX_BODY_BYTES / 2 || len <= 1 {
                return Mutated {
                    label: "large-array",
                    body,
                    content_type: JSON.into(),
                    value: Some(v),
                };
            }
            len /= 2;
        }
    }

    fn wrong_event_type(&mut self, ty: &EventType) -> Mutated {
        let catalog = Catalog::builtin();
        let plan = self.compiled(ty);
        // Same-provider donors first: the realistic mistake is a sibling
        // type's payload; types with identical payload shapes validate and
        // are skipped, and a foreign provider's event always fails.
        let mut donors: Vec<&EventType> = catalog
            .types()
            .iter()
            .filter(|d| d.provider == ty.provider && d.name != ty.name)
            .collect();
        let start = if donors.is_empty() {
            0
        } else {
            self.runner.rng().random_range(0..donors.len())
        };
        donors.rotate_left(start);
        donors.extend(catalog.types().iter().filter(|d| d.provider != ty.provider));
        let mut last = Value::Null;
        for donor in donors {
            let (_, mut v) = self.generate_mode(donor, Mode::Random);
            if let Some(path) = &plan.type_path {
                set_path(&mut v, path, Value::from(ty.name.clone()));
            }
            if catalog.validate(ty, &v).is_err() {
                return json_body("wrong-event-type", v);
            }
            last = v;
        }
        json_body("wrong-event-type", last)
    }
}

fn set_path(v: &mut Value, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = v;
    for k in parents {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let Value::Object(m) = cur else { return };
        cur = m
            .entry(k.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !cur.is_object() {
        *cur = Value::Object(Map::new());
    }
    if let Value::Object(m) = cur {
        m.insert(last.clone(), value);
    }
}

/// Fills every array reached through `plan` to `len` elements (or its maxItems).
fn grow_arrays(v: &mut Value, plan: &CompiledType, ctx: &mut Ctx<'_>, len: usize) {
    fn go(v: &mut Value, node: &Node, ctx: &mut Ctx<'_>, len: usize) {
        match (node, v) {
            (Node::Object(o), Value::Object(m)) => {
                for p in &o.props {
                    if !p.required && matches!(p.node, Node::Array(_)) && !m.contains_key(&p.name) {
                        m.insert(p.name.clone(), Value::Array(Vec::new()));
                    }
                    if let Some(child) = m.get_mut(&p.name) {
                        go(child, &p.node, ctx, len);
                    }
                }
            }
            (Node::Array(a), Value::Array(items)) => {
                let target = a.max.map_or(len, |m| m.min(len)).max(items.len());
                while items.len() < target {
                    items.push(ctx.gen(&a.items));
                }
            }
            _ => {}
        }
    }
    go(v, &plan.root, ctx, len);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_and_typos_suggest() {
        let mut labels: Vec<_> = variants().iter().map(|v| v.label).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), variants().len());
        let e = find_variant("unknown-feild-top").unwrap_err().to_string();
        assert!(e.contains("did you mean `unknown-field-top`"), "{e}");
    }

    #[test]
    fn nested_has_the_stated_depth() {
        let mut v = &nested(DEEP_NESTING_LEVELS);
        let mut depth = 0;
        while let Value::Object(m) = v {
            v = m.values().next().unwrap();
            depth += 1;
        }
        assert_eq!(depth, DEEP_NESTING_LEVELS);
    }
}
