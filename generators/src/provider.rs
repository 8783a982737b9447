//! Provider profiles: how each provider delivers (envelope, signature
//! scheme, success rule, deadlines, redelivery, dedupe/ordering/subject keys).
//!
//! A profile is data so that a user's custom provider file (TOML/YAML) can
//! build one the same way the built-ins are built. The built-in facts come
//! from each provider's own docs and code:
//! - Authgear: authgear/docs `customization/events-hooks/webhooks.md` and
//!   authgear/authgear-server `pkg/lib/hook/` (blocking hooks 5 s each and
//!   10 s in total, non-blocking events 60 s; events may be delivered more
//!   than once).
//! - FusionAuth: fusionauth-site `extend/events-and-webhooks/` (the
//!   `X-FusionAuth-Signature-JWT` header; connect and read timeouts are the
//!   user's webhook settings; up to 3 more sends of the same body).
//! - Infrahub: opsmill/infrahub `backend/infrahub/webhook/models.py`
//!   (Standard Webhooks headers, success below 400, retries with a new
//!   `webhook-id`).
//! - Auth0: auth0.com/docs Actions (a post-login Action runs within the
//!   login flow's 20 s; its call's timeout is the Action author's).
//! - Standard Webhooks: the specification
//!   (standard-webhooks/standard-webhooks `spec/standard-webhooks.md`: 2xx
//!   only, a 15–30 s timeout recommended, the same `webhook-id` on every
//!   retry).
//!
//! Where a fact is the user's setting, the value here is the harness default.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

use crate::batch::Batch;
use crate::catalog::{Catalog, EventType};
use crate::challenge::Challenge;
use crate::error::{did_you_mean, Error};
use crate::scheme::SigningScheme;

/// A built-in provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderId {
    /// Authgear webhooks and blocking hooks.
    Authgear,
    /// FusionAuth webhooks.
    Fusionauth,
    /// Infrahub webhooks (Standard-Webhooks-like headers, raw UTF-8 key).
    Infrahub,
    /// An Auth0 Action forwarding its post-login `event` to an external endpoint.
    Auth0,
    /// Standard Webhooks: the specification's `{type, timestamp, data}`
    /// payloads (of Authgear's non-blocking events) with v1 headers.
    StandardWebhooks,
}

impl ProviderId {
    /// Every built-in provider, in display order.
    pub const ALL: [ProviderId; 5] = [
        ProviderId::Authgear,
        ProviderId::Fusionauth,
        ProviderId::Infrahub,
        ProviderId::Auth0,
        ProviderId::StandardWebhooks,
    ];

    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            ProviderId::Authgear => "authgear",
            ProviderId::Fusionauth => "fusionauth",
            ProviderId::Infrahub => "infrahub",
            ProviderId::Auth0 => "auth0",
            ProviderId::StandardWebhooks => "standard-webhooks",
        }
    }

    /// Parses a provider name; unknown names get a "did you mean" error.
    pub fn parse(name: &str) -> Result<ProviderId, Error> {
        ProviderId::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| Error::UnknownName {
                what: "provider",
                name: name.to_string(),
                suggestion: did_you_mean(name, ProviderId::ALL.iter().map(|p| p.name())),
            })
    }

    /// The built-in delivery profile of this provider.
    pub fn profile(self) -> Profile {
        Profile::builtin(self)
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// JWT algorithms the FusionAuth signer supports with a shared secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JwtAlg {
    /// HMAC-SHA256.
    HS256,
    /// HMAC-SHA384.
    HS384,
    /// HMAC-SHA512.
    HS512,
}

/// A signature scheme: a declared [`SigningScheme`] (every built-in but
/// FusionAuth's is one), or FusionAuth's signature JWT.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Scheme {
    /// A declared scheme: algorithm, key, signed content, encoding, headers.
    Signed(SigningScheme),
    /// FusionAuth: a JWS in `X-FusionAuth-Signature-JWT` whose claim
    /// `request_body_sha256` is padded std base64 of SHA-256(body).
    FusionauthJwt {
        /// Header carrying the JWT.
        header: String,
        /// HMAC algorithm.
        alg: JwtAlg,
        /// `kid` put in the JWT header.
        kid: String,
    },
}

impl Scheme {
    /// Authgear's body signature in `header`.
    pub fn authgear(header: &str) -> Scheme {
        Scheme::Signed(SigningScheme::authgear(header))
    }

    /// Standard Webhooks (`v1` HMAC with `whsec_` keys, `v1a` ed25519).
    pub fn standard_webhooks() -> Scheme {
        Scheme::Signed(SigningScheme::standard_webhooks())
    }

    /// Infrahub's Standard Webhooks with a raw UTF-8 key.
    pub fn infrahub() -> Scheme {
        Scheme::Signed(SigningScheme::infrahub())
    }

    /// A static bearer token in `Authorization`.
    pub fn bearer() -> Scheme {
        Scheme::Signed(SigningScheme::bearer())
    }

    /// The declared scheme, unless this is FusionAuth's JWT.
    pub fn declared(&self) -> Option<&SigningScheme> {
        match self {
            Scheme::Signed(s) => Some(s),
            Scheme::FusionauthJwt { .. } => None,
        }
    }

    /// The header carrying the signature proper.
    pub fn signature_header(&self) -> &str {
        match self {
            Scheme::Signed(s) => &s.header,
            Scheme::FusionauthJwt { header, .. } => header,
        }
    }

    /// Whether deliveries carry a signed timestamp.
    pub fn has_timestamp(&self) -> bool {
        self.declared().is_some_and(|s| s.timestamp.is_some())
    }

    /// Whether that timestamp has a window a receiver must enforce (so a
    /// stale one can be refused); Discord signs one without.
    pub fn has_timestamp_window(&self) -> bool {
        self.declared()
            .and_then(|s| s.timestamp.as_ref())
            .is_some_and(|t| t.tolerance_secs.is_some())
    }

    /// A short noun for messages ("FusionAuth signature JWTs",
    /// "hmac-sha256 signatures in `x-sig`").
    pub fn noun(&self) -> String {
        match self {
            Scheme::Signed(s) => s.noun(),
            Scheme::FusionauthJwt { .. } => "FusionAuth signature JWTs".into(),
        }
    }
}

/// What counts as a successful answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuccessRule {
    /// 200–299.
    TwoXx,
    /// Anything below 400 (Infrahub).
    Below400,
}

impl SuccessRule {
    /// Whether `status` counts as delivered.
    pub fn is_success(self, status: u16) -> bool {
        match self {
            SuccessRule::TwoXx => (200..300).contains(&status),
            SuccessRule::Below400 => status < 400,
        }
    }
}

/// The redelivery a provider performs, so duplicate checks are realistic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redelivery {
    /// How many more times the same event may be sent.
    pub max_resends: u32,
    /// Whether each re-send carries a fresh message id header
    /// (Infrahub: new `webhook-id`, same body `id`).
    pub fresh_message_id: bool,
}

/// Where a key lives in a delivery: a JSON pointer into the body
/// (`/event/id`) or a header (`header:webhook-id`).
pub type KeyPath = String;

/// The value at `key` in a delivery: `header:NAME` is that header's value
/// (`header` looks it up, in any case), anything else a JSON pointer into
/// `body`.
pub fn key_value(
    key: &str,
    body: &serde_json::Value,
    header: impl Fn(&str) -> Option<String>,
) -> Option<serde_json::Value> {
    match key.strip_prefix("header:") {
        Some(name) => header(name).map(serde_json::Value::String),
        None => body.pointer(key).cloned(),
    }
}

/// How a provider delivers events: everything the checks and the emitter
/// need besides the event bodies themselves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Provider name.
    pub name: String,
    /// The signature scheme.
    pub scheme: Scheme,
    /// What counts as success.
    pub success: SuccessRule,
    /// Response deadline for a non-blocking delivery, in milliseconds.
    pub deadline_ms: u64,
    /// Per-hook deadline of blocking hooks, in milliseconds (Authgear: 5 s).
    pub blocking_deadline_ms: Option<u64>,
    /// Total budget of all blocking hooks of one operation (Authgear: 10 s).
    pub blocking_total_ms: Option<u64>,
    /// Redelivery behaviour.
    pub redelivery: Redelivery,
    /// Where the dedupe key lives.
    pub dedupe_key: KeyPath,
    /// Where the ordering key lives (`None`: the provider promises no order
    /// and has no sequence to judge by).
    pub ordering_key: Option<KeyPath>,
    /// Where the subject (the user/account the event is about) lives.
    pub subject_key: Option<KeyPath>,
    /// Where the body names its event type (`None`: the provider has one type).
    pub type_key: Option<KeyPath>,
    /// Where the event's own timestamp lives and in which form; the emitter
    /// patches it to "now" on every send.
    pub timestamp_key: Option<(KeyPath, TimeFormat)>,
    /// How the sender verifies the endpoint before (and while) it
    /// delivers (`None`: it does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<Challenge>,
    /// Several events per request (Auth0 Log Streams); `None`: one event
    /// is one request body. With a batch, the key paths point into each
    /// event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Batch>,
    /// One subject's events in the order they happen (Authgear's
    /// `user.created` .. `user.deleted`): the `ordering` check delivers
    /// them shuffled. Empty: the provider's first type, four times.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycle: Vec<String>,
}

/// How a timestamp is written in a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeFormat {
    /// Signed 64-bit UNIX seconds (Authgear `context.timestamp`).
    UnixSeconds,
    /// Epoch milliseconds (FusionAuth `createInstant`).
    UnixMillis,
    /// RFC 3339 / ISO-8601 UTC string (Infrahub `occured_at`).
    Rfc3339,
}

impl Profile {
    /// The header naming the event type, when the type key is one (GitHub
    /// `X-GitHub-Event`, Shopify `X-Shopify-Topic`): every delivery then
    /// carries its type's name there, and its body need not name it.
    pub fn type_header(&self) -> Option<&str> {
        self.type_key.as_deref()?.strip_prefix("header:")
    }

    /// The event type a delivery names at the type key (`None` when it
    /// names none, or the profile has no type key).
    pub fn type_name(
        &self,
        body: &serde_json::Value,
        header: impl Fn(&str) -> Option<String>,
    ) -> Option<String> {
        match key_value(self.type_key.as_deref()?, body, header)? {
            serde_json::Value::String(name) => Some(name),
            _ => None,
        }
    }

    /// How many events one request of this provider carries (1 unless it
    /// batches).
    pub fn events_per_request(&self) -> u32 {
        self.batch.map_or(1, |b| b.per_request())
    }

    /// The built-in profile of `id` (sources in the module doc).
    pub fn builtin(id: ProviderId) -> Profile {
        match id {
            ProviderId::Authgear => Profile {
                name: id.name().into(),
                scheme: Scheme::authgear("x-authgear-body-signature"),
                success: SuccessRule::TwoXx,
                deadline_ms: 60_000,
                blocking_deadline_ms: Some(5_000),
                blocking_total_ms: Some(10_000),
                // Authgear: "events may be delivered more than once".
                redelivery: Redelivery {
                    max_resends: 3,
                    fresh_message_id: false,
                },
                dedupe_key: "/id".into(),
                ordering_key: Some("/seq".into()),
                subject_key: Some("/context/user_id".into()),
                type_key: Some("/type".into()),
                timestamp_key: Some(("/context/timestamp".into(), TimeFormat::UnixSeconds)),
                challenge: None,
                batch: None,
                lifecycle: [
                    "user.created",
                    "user.profile.updated",
                    "user.disabled",
                    "user.deleted",
                ]
                .map(String::from)
                .to_vec(),
            },
            ProviderId::Fusionauth => Profile {
                name: id.name().into(),
                scheme: Scheme::FusionauthJwt {
                    header: "X-FusionAuth-Signature-JWT".into(),
                    alg: JwtAlg::HS256,
                    kid: "hookstorm-hmac".into(),
                },
                success: SuccessRule::TwoXx,
                // Connect 1000 ms + read 2000 ms: the harness defaults for
                // FusionAuth's user-set webhook timeouts.
                deadline_ms: 2_000,
                blocking_deadline_ms: None,
                blocking_total_ms: None,
                redelivery: Redelivery {
                    max_resends: 3,
                    fresh_message_id: false,
                },
                dedupe_key: "/event/id".into(),
                ordering_key: Some("/event/createInstant".into()),
                subject_key: Some("/event/user/id".into()),
                type_key: Some("/event/type".into()),
                timestamp_key: Some(("/event/createInstant".into(), TimeFormat::UnixMillis)),
                challenge: None,
                batch: None,
                lifecycle: ["user.login.success"; 4].map(String::from).to_vec(),
            },
            ProviderId::Infrahub => Profile {
                name: id.name().into(),
                scheme: Scheme::infrahub(),
                success: SuccessRule::Below400,
                deadline_ms: 10_000,
                blocking_deadline_ms: None,
                blocking_total_ms: None,
                redelivery: Redelivery {
                    max_resends: 3,
                    fresh_message_id: true,
                },
                dedupe_key: "/id".into(),
                ordering_key: Some("/occured_at".into()),
                subject_key: Some("/account_id".into()),
                type_key: Some("/event".into()),
                timestamp_key: Some(("/occured_at".into(), TimeFormat::Rfc3339)),
                challenge: None,
                batch: None,
                lifecycle: [
                    "infrahub.account.logged_in",
                    "infrahub.account.logged_out",
                    "infrahub.account.logged_in",
                    "infrahub.account.logged_out",
                ]
                .map(String::from)
                .to_vec(),
            },
            ProviderId::Auth0 => Profile {
                name: id.name().into(),
                scheme: Scheme::bearer(),
                success: SuccessRule::TwoXx,
                deadline_ms: 5_000,
                blocking_deadline_ms: None,
                blocking_total_ms: None,
                redelivery: Redelivery {
                    max_resends: 1,
                    fresh_message_id: false,
                },
                dedupe_key: "/transaction/id".into(),
                ordering_key: None,
                subject_key: Some("/user/user_id".into()),
                type_key: None,
                timestamp_key: None,
                challenge: None,
                batch: None,
                lifecycle: Vec::new(),
            },
            ProviderId::StandardWebhooks => Profile {
                name: id.name().into(),
                scheme: Scheme::standard_webhooks(),
                success: SuccessRule::TwoXx,
                deadline_ms: 15_000,
                blocking_deadline_ms: None,
                blocking_total_ms: None,
                redelivery: Redelivery {
                    max_resends: 3,
                    fresh_message_id: false,
                },
                // The spec: `webhook-id` stays the same on every retry (the
                // idempotency key); the payload's `timestamp` is when the
                // event occurred, the only order it carries.
                dedupe_key: "header:webhook-id".into(),
                ordering_key: Some("/timestamp".into()),
                subject_key: Some("/data/user/id".into()),
                type_key: Some("/type".into()),
                timestamp_key: Some(("/timestamp".into(), TimeFormat::Rfc3339)),
                challenge: None,
                batch: None,
                lifecycle: [
                    "user.created",
                    "user.profile.updated",
                    "user.disabled",
                    "user.deleted",
                ]
                .map(String::from)
                .to_vec(),
            },
        }
    }
}

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
    fn names_round_trip_and_typos_suggest() {
        for p in ProviderId::ALL {
            assert_eq!(ProviderId::parse(p.name()).unwrap(), p);
        }
        let err = ProviderId::parse("authgaer").unwrap_err().to_string();
        assert!(err.contains("did you mean `authgear`"), "{err}");
    }

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

    #[test]
    fn infrahub_success_is_below_400() {
        let p = ProviderId::Infrahub.profile();
        assert!(p.success.is_success(302));
        assert!(!p.success.is_success(400));
        assert!(!ProviderId::StandardWebhooks
            .profile()
            .success
            .is_success(302));
    }
}
