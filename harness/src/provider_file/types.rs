//! The event types of a provider file: the optional shared `envelope` and
//! each entry of `types`, with their JSON Schemas written inline or read
//! from a file relative to the provider file.

use std::path::{Path, PathBuf};

use generators::{DeclaredEnvelope, DeclaredError, DeclaredTypes};
use serde_json::Value as Json;

use crate::document::{parse_yaml, Node, Value, Walker};

/// Keys of `envelope`.
pub const ENVELOPE_KEYS: &[&str] = &["schema", "payload", "type_field"];
/// Keys of one entry of `types`.
pub const TYPE_KEYS: &[&str] = &["name", "description", "blocking", "schema"];

pub(super) fn read_envelope(node: &Node, w: &mut Walker, base: &Path) -> Option<DeclaredEnvelope> {
    let f = w.map(node, "`envelope`", ENVELOPE_KEYS)?;
    let schema = f
        .require(w, "schema", "schema: schemas/envelope.json")
        .and_then(|n| read_schema(n, w, base));
    let payload = f
        .require(w, "payload", "payload: data")
        .and_then(|n| w.string(n, "payload", "data"));
    let type_field = f
        .get("type_field")
        .and_then(|n| w.string(n, "type_field", "type"));
    // The schema is judged even when `payload` is missing, so both are told.
    let envelope = DeclaredEnvelope::new(schema?, payload.clone().unwrap_or_default(), type_field);
    match envelope {
        Ok(envelope) => payload.map(|_| envelope),
        Err(e) => {
            w.error(
                f.get("schema").unwrap_or(node),
                e.to_string(),
                Some("the envelope is the JSON object every delivery's body is".into()),
            );
            None
        }
    }
}

/// A schema written inline (a mapping) or as a path to a JSON/YAML file.
fn read_schema(node: &Node, w: &mut Walker, base: &Path) -> Option<Json> {
    match &node.value {
        Value::Map(_) => Some(node.to_json()),
        Value::Str(rel) => {
            let path: PathBuf = base.join(rel);
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    w.error(
                        node,
                        format!("cannot read schema `{rel}`: {e}"),
                        Some(format!(
                            "paths are relative to the provider file's directory ({})",
                            base.display()
                        )),
                    );
                    return None;
                }
            };
            let parsed = if rel.ends_with(".yaml") || rel.ends_with(".yml") {
                parse_yaml(&text)
                    .map(|n| n.to_json())
                    .map_err(|e| e.to_string())
            } else {
                serde_json::from_str::<Json>(&text).map_err(|e| e.to_string())
            };
            match parsed {
                Ok(Json::Object(obj)) => Some(Json::Object(obj)),
                Ok(_) => {
                    w.error(node, format!("schema `{rel}` is not a JSON object"), None);
                    None
                }
                Err(e) => {
                    w.error(node, format!("schema `{rel}` is not valid: {e}"), None);
                    None
                }
            }
        }
        other => {
            w.error(
                node,
                format!("`schema` must be a mapping or a file path, found {}", other.kind()),
                Some("write `schema: schemas/order.created.json` or an inline `schema: {type: object, ...}`".into()),
            );
            None
        }
    }
}

pub(super) fn read_types(
    node: &Node,
    w: &mut Walker,
    base: &Path,
    provider: &str,
    envelope: Option<DeclaredEnvelope>,
) -> DeclaredTypes {
    let mut types = DeclaredTypes::new(provider, envelope);
    let Value::Seq(items) = &node.value else {
        w.error(
            node,
            format!("`types` must be a list, found {}", node.value.kind()),
            Some("write each type as a list item: `- name: order.created`".into()),
        );
        return types;
    };
    if items.is_empty() {
        w.error(
            node,
            DeclaredError::NoTypes.to_string(),
            Some("declare at least one event type".into()),
        );
    }
    for item in items {
        let Some(f) = w.map(item, "an event type", TYPE_KEYS) else {
            continue;
        };
        let name = f.require(w, "name", "name: order.created").and_then(|n| {
            let name = w.string(n, "name", "order.created")?;
            if let Err(e) = types.check_new(&name) {
                w.error(n, e.to_string(), Some("keep one".into()));
                return None;
            }
            Some(name)
        });
        let description = f
            .get("description")
            .and_then(|n| w.string(n, "description", "..."))
            .unwrap_or_default();
        let blocking = f
            .get("blocking")
            .and_then(|n| w.boolean(n, "blocking"))
            .unwrap_or(false);
        let schema_node = f.require(w, "schema", "schema: schemas/order.created.json");
        let schema = schema_node.and_then(|n| read_schema(n, w, base));
        let (Some(name), Some(schema), Some(schema_node)) = (name, schema, schema_node) else {
            continue;
        };
        // Each schema is compiled alone so a broken one is reported at its place.
        if let Err(e) = types.add(name, description, blocking, schema) {
            w.error(
                schema_node,
                e.to_string(),
                Some("schemas are JSON Schema draft 2020-12".into()),
            );
        }
    }
    types
}

#[cfg(test)]
mod tests {
    use crate::provider_file::parse;
    use crate::provider_file::tests::{error_of, DECLARED};

    #[test]
    fn a_schema_path_is_read_next_to_the_file_and_its_mistakes_are_positioned() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("paid.yaml"),
            "type: object\nrequired: [amount]\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("list.json"), "[1, 2]").unwrap();
        let by_path = DECLARED.replace("schema: {type: object}", "schema: paid.yaml");
        let p = parse(&by_path, "p.yaml", dir.path()).unwrap();
        assert_eq!(p.types()[0].schema["required"][0], "amount");

        let missing = DECLARED.replace("schema: {type: object}", "schema: gone.json");
        let plain = error_of(&missing, "p.yaml");
        assert!(
            plain.contains("p.yaml:17:13: error: cannot read schema `gone.json`"),
            "{plain}"
        );
        let not_object = DECLARED.replace("schema: {type: object}", "schema: list.json");
        let plain = parse(&not_object, "p.yaml", dir.path())
            .unwrap_err()
            .render_plain();
        assert!(
            plain.contains("p.yaml:17:13: error: schema `list.json` is not a JSON object"),
            "{plain}"
        );
    }
}
