//! The aggregate every command uses: a [`Provider`] is a delivery
//! [`Profile`] plus the [`Catalog`] its event types live in, whether it is
//! built in (`crate::builtin`) or declared in a file. It sits on top of the
//! vocabulary modules, which never import it.

use std::fmt;
use std::sync::Arc;

use crate::builtin::ProviderId;
use crate::catalog::{Catalog, EventType};
use crate::error::Error;
use crate::profile::Profile;
use crate::scheme::Scheme;

/// A provider as every command, the reference receiver, the scenario runner
/// and the checks use it: its name, how it delivers (signature scheme,
/// success rule, deadlines, redelivery, keys) and its event types.
///
/// Built-in providers and providers declared in a file are the same value;
/// the catalog sits behind an [`Arc`], so a file's catalog is built once
/// per run and cloning a `Provider` is cheap.
#[derive(Clone)]
pub struct Provider {
    builtin: Option<ProviderId>,
    profile: Profile,
    catalog: Arc<Catalog>,
    catalog_name: String,
}

impl Provider {
    /// The built-in provider `id`, with its built-in profile and catalog.
    pub fn builtin(id: ProviderId) -> Provider {
        Provider {
            builtin: Some(id),
            profile: id.profile(),
            catalog: Catalog::builtin_shared().clone(),
            catalog_name: id.catalog_provider().name().to_string(),
        }
    }

    /// Parses a built-in provider's name (unknown names get a "did you mean").
    pub fn named(name: &str) -> Result<Provider, Error> {
        ProviderId::parse(name).map(Provider::builtin)
    }

    /// A provider declared outside the built-ins: `profile.name` names it
    /// and its types are filed under that name in `catalog`.
    pub fn declared(profile: Profile, catalog: Catalog) -> Provider {
        Provider {
            builtin: None,
            catalog_name: profile.name.clone(),
            profile,
            catalog: Arc::new(catalog),
        }
    }

    /// The name shown in output and reports.
    pub fn name(&self) -> &str {
        &self.profile.name
    }

    /// The built-in provider, when it is one (declared providers have none).
    pub fn builtin_id(&self) -> Option<ProviderId> {
        self.builtin
    }

    /// How it delivers.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Its signature scheme.
    pub fn scheme(&self) -> &Scheme {
        &self.profile.scheme
    }

    /// The same provider with another delivery profile (a scenario's or a
    /// flag's override); the catalog is shared, not copied.
    pub fn with_profile(&self, profile: Profile) -> Provider {
        Provider {
            profile,
            ..self.clone()
        }
    }

    /// The catalog its types live in (for validation and lookups).
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The shared handle of its catalog.
    pub fn shared_catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The provider name its types are filed under in [`Provider::catalog`]
    /// (a built-in provider's own name; a declared provider's name).
    pub fn catalog_name(&self) -> &str {
        &self.catalog_name
    }

    /// Every event type it sends, in catalog order.
    pub fn types(&self) -> Vec<&EventType> {
        self.catalog.of_provider_name(&self.catalog_name)
    }

    /// One of its event types by name (unknown names get a "did you mean").
    pub fn event_type(&self, name: &str) -> Result<&EventType, Error> {
        self.catalog.get(&self.catalog_name, name)
    }
}

impl From<ProviderId> for Provider {
    fn from(id: ProviderId) -> Provider {
        Provider::builtin(id)
    }
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name())
            .field("builtin", &self.builtin)
            .field("catalog_name", &self.catalog_name)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_and_declared_providers_are_one_type() {
        let sw = Provider::named("standard-webhooks").unwrap();
        assert_eq!(sw.name(), "standard-webhooks");
        assert_eq!(sw.catalog_name(), "standard-webhooks");
        assert!(sw.types().iter().all(|t| !t.blocking));
        assert!(!sw.types().is_empty());
        assert!(sw.event_type("user.created").is_ok());
        assert!(
            sw.event_type("user.pre_create").is_err(),
            "no blocking hooks"
        );
        // The built-in catalog is shared, never copied.
        let ag = Provider::builtin(ProviderId::Authgear);
        assert!(Arc::ptr_eq(sw.shared_catalog(), ag.shared_catalog()));

        let mut profile = ProviderId::Authgear.profile();
        profile.name = "acme".into();
        let ty = EventType {
            provider: "acme".into(),
            name: "thing.happened".into(),
            blocking: false,
            description: String::new(),
            schema: serde_json::json!({"type": "object"}),
        };
        let acme = Provider::declared(profile, Catalog::from_types(vec![ty]).unwrap());
        assert_eq!(acme.builtin_id(), None);
        assert_eq!(acme.types().len(), 1);
        let copy = acme.clone();
        assert!(Arc::ptr_eq(copy.shared_catalog(), acme.shared_catalog()));
        assert!(acme
            .event_type("thing.hapened")
            .unwrap_err()
            .to_string()
            .contains("did you mean"));
    }
}
