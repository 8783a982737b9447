//! Over-strict readings of an event's JSON Schema, the wrong behaviour of
//! the `reject-unknown-fields` and `reject-optional-absent` faults: a walk
//! of the body alongside the schema that finds the first key the schema does
//! not declare, or the first optional property that senders always send in
//! practice (`x-presence: 1.0`) but that is absent.
//!
//! Why not every absent optional: valid events leave optional properties
//! out at random (each with its `x-presence` probability), so a receiver
//! rejecting any absent optional would fail on ordinary valid traffic too.
//! The fields a hand-written receiver wrongly assumes are the ones it has
//! always seen — Authgear's `context.user_id`, FusionAuth's
//! `authenticationType` — so the fault targets exactly those.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Schemas deeper than this (or `$ref` chains longer) are not followed, so
/// the walk is bounded whatever the body or schema holds.
const MAX_DEPTH: usize = 96;

/// What the walk looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pedantry {
    UnknownKey,
    OptionalAbsent,
}

/// The JSON pointer of the first object key that a schema declaring
/// `properties` does not list (free-form objects are not judged).
pub(crate) fn unknown_field(schema: &Value, event: &Value) -> Option<String> {
    walk(
        schema,
        &[schema],
        event,
        String::new(),
        Pedantry::UnknownKey,
        0,
    )
}

/// The JSON pointer of the first optional property (declared in
/// `properties`, not in `required`) marked `x-presence: 1.0` that is absent.
pub(crate) fn optional_absent(schema: &Value, event: &Value) -> Option<String> {
    walk(
        schema,
        &[schema],
        event,
        String::new(),
        Pedantry::OptionalAbsent,
        0,
    )
}

fn walk(
    root: &Value,
    schemas: &[&Value],
    value: &Value,
    path: String,
    mode: Pedantry,
    depth: usize,
) -> Option<String> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut nodes = Vec::new();
    for s in schemas {
        applicable(root, s, value, &mut nodes, depth);
    }
    match value {
        Value::Object(obj) => {
            let props: Vec<&Map<String, Value>> = nodes
                .iter()
                .filter_map(|n| n.get("properties").and_then(Value::as_object))
                .collect();
            if !props.is_empty() {
                let declared: BTreeSet<&str> = props
                    .iter()
                    .flat_map(|p| p.keys())
                    .map(String::as_str)
                    .collect();
                match mode {
                    Pedantry::UnknownKey => {
                        // A schema that types its extra keys (a map with a
                        // few named entries) declares them all, and an
                        // `x-free-form` object (claims) carries any key.
                        let open = nodes.iter().any(|n| {
                            n.get("additionalProperties").is_some_and(Value::is_object)
                                || n.get("patternProperties").is_some()
                                || n.get("x-free-form").and_then(Value::as_bool) == Some(true)
                        });
                        if !open {
                            if let Some(k) = obj.keys().find(|k| !declared.contains(k.as_str())) {
                                return Some(pointer(&path, k));
                            }
                        }
                    }
                    Pedantry::OptionalAbsent => {
                        let required: BTreeSet<&str> = nodes
                            .iter()
                            .filter_map(|n| n.get("required").and_then(Value::as_array))
                            .flatten()
                            .filter_map(Value::as_str)
                            .collect();
                        let always_sent = |k: &str| {
                            let marked = |n: &Value| {
                                n.get("x-presence")
                                    .and_then(Value::as_f64)
                                    .is_some_and(|x| x >= 1.0)
                            };
                            props
                                .iter()
                                .filter_map(|p| p.get(k))
                                .any(|sub| marked(sub) || marked(deref(root, sub)))
                        };
                        if let Some(k) = declared.iter().find(|k| {
                            !required.contains(*k) && !obj.contains_key(**k) && always_sent(k)
                        }) {
                            return Some(pointer(&path, k));
                        }
                    }
                }
            }
            for (k, v) in obj {
                let children: Vec<&Value> = nodes
                    .iter()
                    .filter_map(|n| {
                        n.get("properties")
                            .and_then(|p| p.get(k))
                            .or_else(|| n.get("additionalProperties").filter(|a| a.is_object()))
                    })
                    .collect();
                if !children.is_empty() {
                    if let Some(found) =
                        walk(root, &children, v, pointer(&path, k), mode, depth + 1)
                    {
                        return Some(found);
                    }
                }
            }
            None
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let children: Vec<&Value> = nodes
                    .iter()
                    .filter_map(|n| {
                        n.get("prefixItems")
                            .and_then(|p| p.get(i))
                            .or_else(|| n.get("items").filter(|s| s.is_object()))
                    })
                    .collect();
                if !children.is_empty() {
                    let at = pointer(&path, &i.to_string());
                    if let Some(found) = walk(root, &children, item, at, mode, depth + 1) {
                        return Some(found);
                    }
                }
            }
            None
        }
        _ => None,
    }
}

/// Collects the schema nodes that apply to `value`: the node, what its
/// `$ref` points to, every `allOf` branch, and the `anyOf`/`oneOf` branches
/// the value plausibly takes.
fn applicable<'a>(
    root: &'a Value,
    schema: &'a Value,
    value: &Value,
    out: &mut Vec<&'a Value>,
    depth: usize,
) {
    // A node already collected (a `$ref` cycle, a shared definition) adds
    // nothing the second time; skipping it keeps the walk linear.
    if depth > MAX_DEPTH || !schema.is_object() || out.iter().any(|n| std::ptr::eq(*n, schema)) {
        return;
    }
    out.push(schema);
    if let Some(target) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| resolve(root, r))
    {
        applicable(root, target, value, out, depth + 1);
    }
    for branch in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        applicable(root, branch, value, out, depth + 1);
    }
    for key in ["anyOf", "oneOf"] {
        for branch in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if fits(root, branch, value, depth + 1) {
                applicable(root, branch, value, out, depth + 1);
            }
        }
    }
}

/// A cheap guess whether `value` takes this `anyOf`/`oneOf` branch: its
/// type, required keys and `const` properties agree.
fn fits(root: &Value, schema: &Value, value: &Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let schema = deref(root, schema);
    if let Some(ty) = schema.get("type") {
        let names: Vec<&str> = match ty {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !names.is_empty() && !names.iter().any(|n| type_matches(n, value)) {
            return false;
        }
    }
    if let Some(c) = schema.get("const") {
        return c == value;
    }
    if let Value::Object(obj) = value {
        let required = schema.get("required").and_then(Value::as_array);
        if required
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|k| !obj.contains_key(k))
        {
            return false;
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, sub) in props {
                if let (Some(c), Some(v)) = (sub.get("const"), obj.get(k)) {
                    if c != v {
                        return false;
                    }
                }
            }
        }
    } else if schema.get("properties").is_some() || schema.get("required").is_some() {
        return schema.get("type").is_some();
    }
    true
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    }
}

/// `schema`, or what its local `$ref` points to.
fn deref<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| resolve(root, r))
        .unwrap_or(schema)
}

/// Resolves a local `$ref` (`#`, `#/$defs/x`); remote refs are not followed.
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let fragment = reference.strip_prefix('#')?;
    if fragment.is_empty() {
        Some(root)
    } else {
        root.pointer(fragment)
    }
}

/// `path` extended by one JSON Pointer token.
fn pointer(path: &str, token: &str) -> String {
    format!("{path}/{}", token.replace('~', "~0").replace('/', "~1"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "$defs": {
                "map": {"type": "object", "x-presence": 1.0},
                "user": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {
                        "id": {"type": "string"},
                        "name": {"type": ["string", "null"], "x-presence": 1.0},
                        "nick": {"type": "string", "x-presence": 0.5},
                        "custom_attributes": {"$ref": "#/$defs/map"}
                    }
                }
            },
            "type": "object",
            "required": ["id", "payload"],
            "properties": {
                "id": {"type": "string"},
                "payload": {
                    "type": "object",
                    "required": ["users"],
                    "properties": {
                        "users": {"type": "array", "items": {"$ref": "#/$defs/user"}}
                    }
                }
            }
        })
    }

    fn full() -> Value {
        json!({"id": "e", "payload": {"users": [{"id": "u", "name": "n", "custom_attributes": {"x": 1}}]}})
    }

    #[test]
    fn finds_unknown_keys_through_refs_and_arrays_but_not_in_free_form_objects() {
        let s = schema();
        assert_eq!(unknown_field(&s, &full()), None);
        let mut e = full();
        e["payload"]["users"][0]["custom_attributes"]["anything"] = json!(true);
        assert_eq!(unknown_field(&s, &e), None, "free-form object");
        let open = json!({"type": "object", "x-free-form": true, "properties": {"a": {}}});
        assert_eq!(unknown_field(&open, &json!({"a": 1, "b": 2})), None);
        e["payload"]["users"][0]["new/field"] = json!(1);
        assert_eq!(
            unknown_field(&s, &e).as_deref(),
            Some("/payload/users/0/new~1field")
        );
        let mut e = full();
        e["extra"] = json!(1);
        assert_eq!(unknown_field(&s, &e).as_deref(), Some("/extra"));
    }

    #[test]
    fn finds_absent_optional_properties_that_are_always_sent() {
        let s = schema();
        assert_eq!(
            optional_absent(&s, &full()),
            None,
            "`nick` is sent only sometimes"
        );
        let mut e = full();
        e["payload"]["users"][0]["name"] = Value::Null;
        assert_eq!(
            optional_absent(&s, &e),
            None,
            "null is a value the schema allows"
        );
        e["payload"]["users"][0]
            .as_object_mut()
            .unwrap()
            .remove("name");
        assert_eq!(
            optional_absent(&s, &e).as_deref(),
            Some("/payload/users/0/name")
        );
        let mut e = full();
        e["payload"]["users"][0]
            .as_object_mut()
            .unwrap()
            .remove("custom_attributes");
        assert_eq!(
            optional_absent(&s, &e).as_deref(),
            Some("/payload/users/0/custom_attributes")
        );
    }

    #[test]
    fn one_of_branches_are_chosen_by_their_const_discriminator() {
        let s = json!({
            "oneOf": [
                {"type": "object", "properties": {"kind": {"const": "a"}, "x": {}}},
                {"type": "object", "properties": {"kind": {"const": "b"}, "y": {}}}
            ]
        });
        assert_eq!(unknown_field(&s, &json!({"kind": "a", "x": 1})), None);
        assert_eq!(
            unknown_field(&s, &json!({"kind": "a", "y": 1})).as_deref(),
            Some("/y")
        );
    }

    #[test]
    fn self_referencing_schemas_terminate() {
        let s = json!({"$ref": "#", "properties": {"a": {"$ref": "#", "x-presence": 1.0}}});
        let nest = |n: usize| (0..n).fold(json!({}), |inner, _| json!({"a": inner}));
        assert_eq!(unknown_field(&s, &nest(500)), None);
        assert_eq!(optional_absent(&s, &nest(500)), None, "beyond MAX_DEPTH");
        assert_eq!(optional_absent(&s, &nest(3)).as_deref(), Some("/a/a/a/a"));
    }
}
