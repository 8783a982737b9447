//! The event catalog: every event type hookstorm knows (provider, name,
//! blocking flag, description, JSON Schema) with its compiled validator,
//! plus the Authgear blocking-hook response schema.
//!
//! The 48 documented event types of the built-in providers (Authgear's
//! blocking and non-blocking events, FusionAuth's `user.login.success`,
//! Infrahub's account events, Auth0's post-login Action event; see
//! [`crate::schema`] for the docs each follows) and the 39 Standard Webhooks
//! payloads built from Authgear's non-blocking events are compiled once per
//! process; custom providers build their own catalog with
//! [`Catalog::from_types`].

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use jsonschema::{Draft, Validator};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{did_you_mean, Error};
use crate::schema;

/// One event type of one provider.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventType {
    /// Provider name (`authgear`, `fusionauth`, ... or a custom one).
    pub provider: String,
    /// Event type name as the provider writes it (`user.created`).
    pub name: String,
    /// Whether the provider waits for the receiver's answer before proceeding.
    pub blocking: bool,
    /// One-line description.
    pub description: String,
    /// JSON Schema (draft 2020-12) of the body on the wire.
    pub schema: Value,
}

/// Event types with their compiled validators.
pub struct Catalog {
    types: Vec<EventType>,
    validators: Vec<Validator>,
    index: HashMap<String, HashMap<String, usize>>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("types", &self.types.len())
            .finish()
    }
}

fn compile(schema: &Value) -> Result<Validator, String> {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .build(schema)
        .map_err(|e| e.to_string())
}

fn messages(validator: &Validator, value: &Value) -> Result<(), Vec<String>> {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| {
            let path = e.instance_path().to_string();
            let path = if path.is_empty() {
                "(root)".to_string()
            } else {
                path
            };
            format!("{path}: {e} [{}]", e.kind().keyword())
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

impl Catalog {
    /// The 87 built-in event types, compiled once per process.
    pub fn builtin() -> &'static Catalog {
        Catalog::builtin_shared()
    }

    /// The built-in catalog as a shared handle, for a [`crate::Provider`].
    pub fn builtin_shared() -> &'static Arc<Catalog> {
        static BUILTIN: OnceLock<Arc<Catalog>> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let types = schema::builtin_types()
                .into_iter()
                .map(|b| EventType {
                    provider: b.provider.to_string(),
                    name: b.name.to_string(),
                    blocking: b.blocking,
                    description: b.description.to_string(),
                    schema: b.schema,
                })
                .collect();
            // The built-in schemas are compiled by the tests; should one ever
            // fail, an empty catalog makes every lookup report the name as
            // unknown instead of aborting the process.
            Arc::new(Catalog::from_types(types).unwrap_or_else(|_| Catalog {
                types: Vec::new(),
                validators: Vec::new(),
                index: HashMap::new(),
            }))
        })
    }

    /// A catalog of custom types; each schema must compile.
    pub fn from_types(types: Vec<EventType>) -> Result<Catalog, Error> {
        let mut validators = Vec::with_capacity(types.len());
        let mut index: HashMap<String, HashMap<String, usize>> = HashMap::new();
        for (i, ty) in types.iter().enumerate() {
            let v = compile(&ty.schema).map_err(|detail| Error::InvalidSchema {
                event_type: format!("{} {}", ty.provider, ty.name),
                detail,
            })?;
            validators.push(v);
            index
                .entry(ty.provider.clone())
                .or_default()
                .insert(ty.name.clone(), i);
        }
        Ok(Catalog {
            types,
            validators,
            index,
        })
    }

    /// Every type, providers in catalog order.
    pub fn types(&self) -> &[EventType] {
        &self.types
    }

    /// The types of the provider named `provider` (empty when unknown).
    pub fn of_provider_name(&self, provider: &str) -> Vec<&EventType> {
        self.types
            .iter()
            .filter(|t| t.provider == provider)
            .collect()
    }

    /// One type by provider and name; unknown names get a "did you mean".
    pub fn get(&self, provider: &str, name: &str) -> Result<&EventType, Error> {
        let Some(names) = self.index.get(provider) else {
            return Err(Error::UnknownName {
                what: "provider",
                name: provider.to_string(),
                suggestion: did_you_mean(provider, self.index.keys().map(String::as_str)),
            });
        };
        names
            .get(name)
            .map(|&i| &self.types[i])
            .ok_or_else(|| Error::UnknownName {
                what: "event type",
                name: name.to_string(),
                suggestion: did_you_mean(name, names.keys().map(String::as_str)),
            })
    }

    fn position(&self, ty: &EventType) -> Option<usize> {
        let i = *self.index.get(&ty.provider)?.get(&ty.name)?;
        let known = &self.types[i];
        (std::ptr::eq(known, ty) || known.schema == ty.schema).then_some(i)
    }

    /// Validates `value` against `ty`'s schema; errors carry instance paths
    /// and the failing keyword in brackets (`/seq: ... [type]`).
    pub fn validate(&self, ty: &EventType, value: &Value) -> Result<(), Vec<String>> {
        match self.position(ty) {
            Some(i) => messages(&self.validators[i], value),
            // A type from elsewhere: compile its schema for this call.
            None => match compile(&ty.schema) {
                Ok(v) => messages(&v, value),
                Err(e) => Err(vec![format!("(schema): {e} [schema]")]),
            },
        }
    }
}

/// The Authgear blocking-hook response schema (`schemas/authgear/blocking-response.json`).
pub fn blocking_response_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    // The file is embedded and parsed by a unit test; `false` (reject
    // everything) is the safe reading should it ever not parse.
    SCHEMA.get_or_init(|| {
        serde_json::from_str(schema::BLOCKING_RESPONSE_JSON).unwrap_or(Value::Bool(false))
    })
}

/// Validates a blocking-hook response body against [`blocking_response_schema`].
pub fn validate_blocking_response(value: &Value) -> Result<(), Vec<String>> {
    static VALIDATOR: OnceLock<Result<Validator, String>> = OnceLock::new();
    match VALIDATOR.get_or_init(|| compile(blocking_response_schema())) {
        Ok(v) => messages(v, value),
        Err(e) => Err(vec![format!("(schema): {e} [schema]")]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn get_suggests_close_names() {
        let c = Catalog::builtin();
        let e = c.get("authgear", "user.craeted").unwrap_err().to_string();
        assert!(e.contains("did you mean `user.created`"), "{e}");
        let e = c
            .get("fusionath", "user.login.success")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean `fusionauth`"), "{e}");
        assert_eq!(
            c.get("standard-webhooks", "user.created").unwrap().provider,
            "standard-webhooks"
        );
    }

    #[test]
    fn from_types_rejects_a_broken_schema() {
        let bad = EventType {
            provider: "custom".into(),
            name: "x".into(),
            blocking: false,
            description: String::new(),
            schema: json!({"type": 12}),
        };
        assert!(matches!(
            Catalog::from_types(vec![bad]),
            Err(Error::InvalidSchema { .. })
        ));
    }

    #[test]
    fn blocking_response_rejects_extra_keys_and_foreign_mutations() {
        assert!(validate_blocking_response(&json!({"is_allowed": true})).is_ok());
        assert!(validate_blocking_response(&json!({"is_allowed": false, "reason": "no"})).is_ok());
        assert!(validate_blocking_response(&json!({"is_allowed": true, "extra": 1})).is_err());
        assert!(validate_blocking_response(&json!({"is_allowed": "true"})).is_err());
        assert!(
            validate_blocking_response(&json!({"is_allowed": false, "mutations": {}})).is_err()
        );
        let err = validate_blocking_response(
            &json!({"is_allowed": true, "mutations": {"user": {"is_disabled": true}}}),
        );
        assert!(err.is_err());
        assert!(validate_blocking_response(
            &json!({"is_allowed": true, "mutations": {"id_token": {"payload": {"a": 1}}}})
        )
        .is_ok());
    }
}
