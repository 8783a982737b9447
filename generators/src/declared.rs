//! Providers declared outside the built-ins (a provider file): what such a
//! declaration may say, how its type schemas are wrapped in a shared
//! envelope, and the [`Provider`] it becomes.
//!
//! Reading the declaration (YAML/TOML, positions, hints) is the harness's
//! job; this module holds the rules, so a declaration built any other way
//! is checked the same. Its errors carry no position: the reader reports
//! each at the node it came from.

use serde_json::{Map, Value as Json};
use thiserror::Error;

use crate::builtin::ProviderId;
use crate::catalog::{Catalog, EventType};
use crate::profile::Profile;
use crate::provider::Provider;
use crate::scheme::Scheme;
use crate::scheme::SchemeError;

/// Something a declared provider may not say.
#[derive(Debug, Error)]
pub enum DeclaredError {
    /// The name of a built-in provider.
    #[error("`{0}` is a built-in provider")]
    BuiltinName(String),
    /// A name that cannot be typed on a command line or in a report path.
    #[error("provider name `{0}` must be letters, digits, `-` or `_`")]
    InvalidName(String),
    /// A key path that is neither a JSON pointer nor a header.
    #[error("`{key}` must be a JSON pointer into the body or a header, found `{path}`")]
    InvalidKeyPath {
        /// Which key (`dedupe`, `ordering`, ...).
        key: String,
        /// What was given.
        path: String,
    },
    /// An envelope schema that is not an object schema.
    #[error("the envelope schema must describe an object (`type: object`)")]
    EnvelopeNotObject,
    /// No event types.
    #[error("`types` is empty")]
    NoTypes,
    /// Two event types with one name.
    #[error("event type `{0}` is declared twice")]
    DuplicateType(String),
    /// A declared signing scheme that cannot work.
    #[error("signature: {0}")]
    Signature(#[from] SchemeError),
    /// A type schema (after wrapping) that does not compile.
    #[error("{0}")]
    Schema(#[from] crate::Error),
}

/// Checks a declared provider's name: not a built-in one, and only
/// letters, digits, `-` and `_`.
pub fn check_name(name: &str) -> Result<(), DeclaredError> {
    if ProviderId::parse(name).is_ok() {
        return Err(DeclaredError::BuiltinName(name.to_string()));
    }
    let typeable = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !typeable {
        return Err(DeclaredError::InvalidName(name.to_string()));
    }
    Ok(())
}

/// Checks where a key lives: a JSON pointer into the body (`/event/id`,
/// RFC 6901) or a header (`header:webhook-id`, a header token).
pub fn check_key_path(key: &str, path: &str) -> Result<(), DeclaredError> {
    let header_ok = path.strip_prefix("header:").is_some_and(|h| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if path.starts_with('/') || header_ok {
        Ok(())
    } else {
        Err(DeclaredError::InvalidKeyPath {
            key: key.to_string(),
            path: path.to_string(),
        })
    }
}

/// The shared outer body of every delivery: a schema, the property that
/// holds each type's payload, and the property naming the type.
#[derive(Clone, Debug, PartialEq)]
pub struct DeclaredEnvelope {
    schema: Json,
    payload: String,
    type_field: Option<String>,
}

impl DeclaredEnvelope {
    /// An envelope whose `schema` must describe an object.
    pub fn new(
        schema: Json,
        payload: String,
        type_field: Option<String>,
    ) -> Result<DeclaredEnvelope, DeclaredError> {
        if let Json::Object(obj) = &schema {
            if obj.get("type").and_then(Json::as_str) != Some("object") {
                return Err(DeclaredError::EnvelopeNotObject);
            }
        }
        Ok(DeclaredEnvelope {
            schema,
            payload,
            type_field,
        })
    }

    /// The type's schema placed in the envelope: `properties[payload]` is
    /// the type's schema and `properties[type_field]` is pinned to the type
    /// name.
    pub fn wrap(&self, type_name: &str, schema: Json) -> Json {
        let mut outer = self.schema.clone();
        let props = outer.as_object_mut().map(|o| {
            o.entry("properties")
                .or_insert_with(|| Json::Object(Map::new()))
        });
        if let Some(Json::Object(props)) = props {
            // $schema/$id belong on the outer document only.
            let inner = match schema {
                Json::Object(mut o) => {
                    o.remove("$schema");
                    o.remove("$id");
                    Json::Object(o)
                }
                other => other,
            };
            props.insert(self.payload.clone(), inner);
            if let Some(field) = &self.type_field {
                props.insert(
                    field.clone(),
                    serde_json::json!({"type": "string", "const": type_name}),
                );
            }
        }
        outer
    }
}

/// The event types of a declared provider, added one by one so each
/// mistake can be reported where that type is declared.
#[derive(Clone, Debug)]
pub struct DeclaredTypes {
    provider: String,
    envelope: Option<DeclaredEnvelope>,
    types: Vec<EventType>,
}

impl DeclaredTypes {
    /// No types yet, for `provider`, wrapped in `envelope` when there is one.
    pub fn new(provider: &str, envelope: Option<DeclaredEnvelope>) -> DeclaredTypes {
        DeclaredTypes {
            provider: provider.to_string(),
            envelope,
            types: Vec::new(),
        }
    }

    /// Checks that no type named `name` was added yet.
    pub fn check_new(&self, name: &str) -> Result<(), DeclaredError> {
        if self.types.iter().any(|t| t.name == name) {
            return Err(DeclaredError::DuplicateType(name.to_string()));
        }
        Ok(())
    }

    /// Adds a type; its schema is wrapped in the envelope and compiled
    /// alone, so a broken schema is blamed on this type.
    pub fn add(
        &mut self,
        name: String,
        description: String,
        blocking: bool,
        schema: Json,
    ) -> Result<(), DeclaredError> {
        self.check_new(&name)?;
        let schema = match &self.envelope {
            Some(envelope) => envelope.wrap(&name, schema),
            None => schema,
        };
        let ty = EventType {
            provider: self.provider.clone(),
            name,
            blocking,
            description,
            schema,
        };
        Catalog::from_types(vec![ty.clone()])?;
        self.types.push(ty);
        Ok(())
    }

    /// The types added so far.
    pub fn types(&self) -> &[EventType] {
        &self.types
    }

    /// The provider `profile` describes, sending these types.
    pub fn into_provider(self, profile: Profile) -> Result<Provider, DeclaredError> {
        check_name(&profile.name)?;
        if let Scheme::Signed(scheme) = &profile.scheme {
            scheme.check()?;
        }
        for (key, path) in [
            ("dedupe", Some(&profile.dedupe_key)),
            ("ordering", profile.ordering_key.as_ref()),
            ("subject", profile.subject_key.as_ref()),
            ("type", profile.type_key.as_ref()),
            ("path", profile.timestamp_key.as_ref().map(|(p, _)| p)),
        ] {
            if let Some(path) = path {
                check_key_path(key, path)?;
            }
        }
        if self.types.is_empty() {
            return Err(DeclaredError::NoTypes);
        }
        let types = self
            .types
            .into_iter()
            .map(|t| EventType {
                provider: profile.name.clone(),
                ..t
            })
            .collect();
        Ok(Provider::declared(profile, Catalog::from_types(types)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn acme_profile() -> Profile {
        let mut profile = ProviderId::Authgear.profile();
        profile.name = "acme".into();
        profile
    }

    #[test]
    fn names_must_be_new_and_typeable() {
        assert!(check_name("acme_billing-2").is_ok());
        assert_eq!(
            check_name("authgear").unwrap_err().to_string(),
            "`authgear` is a built-in provider"
        );
        assert_eq!(
            check_name("acme billing").unwrap_err().to_string(),
            "provider name `acme billing` must be letters, digits, `-` or `_`"
        );
        assert!(check_name("").is_err());
    }

    #[test]
    fn key_paths_are_pointers_or_headers() {
        assert!(check_key_path("dedupe", "/data/id").is_ok());
        assert!(check_key_path("dedupe", "header:webhook-id").is_ok());
        assert!(check_key_path("dedupe", "header:").is_err());
        assert!(check_key_path("dedupe", "header:a b").is_err());
        assert_eq!(
            check_key_path("dedupe", "id").unwrap_err().to_string(),
            "`dedupe` must be a JSON pointer into the body or a header, found `id`"
        );
    }

    #[test]
    fn the_envelope_wraps_each_type_and_pins_its_name() {
        assert!(matches!(
            DeclaredEnvelope::new(json!({"type": "array"}), "data".into(), None),
            Err(DeclaredError::EnvelopeNotObject)
        ));
        let envelope = DeclaredEnvelope::new(
            json!({"type": "object", "required": ["data"]}),
            "data".into(),
            Some("type".into()),
        )
        .unwrap();
        let wrapped = envelope.wrap(
            "invoice.paid",
            json!({"$schema": "x", "$id": "y", "type": "object"}),
        );
        assert_eq!(wrapped["properties"]["type"]["const"], "invoice.paid");
        assert_eq!(wrapped["properties"]["data"], json!({"type": "object"}));
        assert_eq!(wrapped["required"][0], "data");
    }

    #[test]
    fn types_become_one_provider_and_mistakes_are_refused() {
        let mut types = DeclaredTypes::new("acme", None);
        types
            .add(
                "thing.happened".into(),
                String::new(),
                false,
                json!({"type": "object"}),
            )
            .unwrap();
        assert!(matches!(
            types.check_new("thing.happened"),
            Err(DeclaredError::DuplicateType(_))
        ));
        assert!(matches!(
            types.add("broken".into(), String::new(), false, json!({"type": 5})),
            Err(DeclaredError::Schema(_))
        ));
        assert_eq!(types.types().len(), 1);
        let provider = types.clone().into_provider(acme_profile()).unwrap();
        assert_eq!(provider.name(), "acme");
        assert_eq!(provider.file(), None);
        assert!(provider.event_type("thing.happened").is_ok());

        let mut bad_key = acme_profile();
        bad_key.dedupe_key = "id".into();
        assert!(matches!(
            types.clone().into_provider(bad_key),
            Err(DeclaredError::InvalidKeyPath { .. })
        ));
        assert!(matches!(
            DeclaredTypes::new("acme", None).into_provider(acme_profile()),
            Err(DeclaredError::NoTypes)
        ));
        let mut builtin = acme_profile();
        builtin.name = "auth0".into();
        assert!(matches!(
            types.into_provider(builtin),
            Err(DeclaredError::BuiltinName(_))
        ));
    }
}
