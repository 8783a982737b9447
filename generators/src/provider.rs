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
    profile: Profile,
    /// The profile as declared, before any override: the body id a
    /// header-keyed override still patches comes from here.
    declared: Arc<Profile>,
    catalog: Arc<Catalog>,
    catalog_name: String,
    /// The file it was declared in, as given (`None`: built in).
    file: Option<String>,
}

impl Provider {
    /// The code-defined provider `id`, with its profile and the built-in
    /// catalog. Commands resolve names through the harness's one registry
    /// (`harness::provider::lookup`), which covers these and the senders
    /// shipped as files alike.
    pub fn builtin(id: ProviderId) -> Provider {
        let profile = id.profile();
        Provider {
            declared: Arc::new(profile.clone()),
            profile,
            catalog: Catalog::builtin_shared().clone(),
            catalog_name: id.name().to_string(),
            file: None,
        }
    }

    /// A provider declared as data: `profile.name` names it and its types
    /// are filed under that name in `catalog`.
    pub fn declared(profile: Profile, catalog: Catalog) -> Provider {
        Provider {
            catalog_name: profile.name.clone(),
            declared: Arc::new(profile.clone()),
            profile,
            catalog: Arc::new(catalog),
            file: None,
        }
    }

    /// The same provider, recorded as declared in `file` (a user's
    /// provider file, as given on the command line or in a scenario).
    pub fn in_file(mut self, file: impl Into<String>) -> Provider {
        self.file = Some(file.into());
        self
    }

    /// The provider file it was read from; `None` for a built-in provider.
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// The profile as declared, before any [`Provider::with_profile`]
    /// override.
    pub fn declared_profile(&self) -> &Profile {
        &self.declared
    }

    /// Which of its types a delivery claims to be: the type its type key
    /// names (in the body or a header), or its only type when it has one.
    pub fn type_of(
        &self,
        body: &serde_json::Value,
        header: impl Fn(&str) -> Option<String>,
    ) -> Option<&EventType> {
        if self.profile.type_key.is_some() {
            let name = self.profile.type_name(body, header)?;
            return self.event_type(&name).ok();
        }
        match self.types().as_slice() {
            [only] => Some(*only),
            _ => None,
        }
    }

    /// The name shown in output and reports.
    pub fn name(&self) -> &str {
        &self.profile.name
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
            .field("file", &self.file)
            .field("catalog_name", &self.catalog_name)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_and_declared_providers_are_one_type() {
        let sw = Provider::builtin(ProviderId::StandardWebhooks);
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
        assert_eq!(acme.file(), None);
        assert_eq!(acme.types().len(), 1);
        let copy = acme.clone();
        assert!(Arc::ptr_eq(copy.shared_catalog(), acme.shared_catalog()));
        assert!(acme
            .event_type("thing.hapened")
            .unwrap_err()
            .to_string()
            .contains("did you mean"));
    }

    #[test]
    fn type_of_reads_each_providers_type_key_or_its_only_type() {
        let none = |_: &str| None;
        let name = |id: ProviderId, body: serde_json::Value| {
            Provider::builtin(id)
                .type_of(&body, none)
                .map(|t| t.name.clone())
        };
        let ag = serde_json::json!({"type": "user.deleted"});
        assert_eq!(
            name(ProviderId::Authgear, ag.clone()).as_deref(),
            Some("user.deleted")
        );
        assert_eq!(
            name(ProviderId::StandardWebhooks, ag).as_deref(),
            Some("user.deleted")
        );
        let fa = serde_json::json!({"event": {"type": "user.login.success"}});
        assert_eq!(
            name(ProviderId::Fusionauth, fa).as_deref(),
            Some("user.login.success")
        );
        let ih = serde_json::json!({"event": "infrahub.account.logged_out"});
        assert_eq!(
            name(ProviderId::Infrahub, ih).as_deref(),
            Some("infrahub.account.logged_out")
        );
        assert_eq!(
            name(ProviderId::Auth0, serde_json::json!({})).as_deref(),
            Some("post-login")
        );
        assert_eq!(
            name(ProviderId::Authgear, serde_json::json!({"type": "nope"})),
            None
        );
    }

    #[test]
    fn every_lifecycle_names_the_providers_own_types() {
        for id in ProviderId::ALL {
            let provider = Provider::builtin(id);
            for name in &provider.profile().lifecycle {
                assert!(provider.event_type(name).is_ok(), "{id}: {name}");
            }
        }
    }
}
