//! The built-in providers ([`ProviderId`]) and their facts as data: each
//! one's delivery profile ([`Profile::builtin`]), the declared signing
//! schemes they use ([`SigningScheme::authgear`], ...). This sits above
//! the vocabulary (`scheme`, `profile`) and below the aggregate
//! (`crate::provider`). Commands find these and the senders shipped as
//! files through one registry, `harness::provider`.
//!
//! The profile facts come from each provider's own docs and code:
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
//!
//! What the built-in signing schemes put on the wire, and where the facts
//! come from:
//! - Authgear: `x-authgear-body-signature` = lowercase hex HMAC-SHA256(secret,
//!   raw body), no timestamp (authgear/authgear-server
//!   `pkg/util/crypto/hmac_sha256.go`, authgear/docs
//!   `customization/events-hooks/webhooks.md`).
//! - Standard Webhooks v1 (`webhook-id`, `webhook-timestamp`,
//!   `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{body}")>`,
//!   space-separated during rotation, ±300 s) and `v1a` (ed25519 over the same
//!   string, `whsk_`/`whpk_` keys), as the standard-webhooks reference
//!   libraries do; Infrahub uses the same headers with the secret's raw UTF-8
//!   bytes as the key (opsmill/infrahub `backend/infrahub/webhook/models.py`).
//! - Bearer: `Authorization: Bearer <secret>` (RFC 6750 §2.1).

use std::fmt;

use crate::error::{did_you_mean, Error};
use crate::profile::{Profile, Redelivery, SuccessRule, TimeFormat};
use crate::scheme::{
    template, Algorithm, Encoding, JwtAlg, KeyForm, KeySpec, MessageIdForm, Scheme, SigningScheme,
    TimeUnit, TimestampSpec, Version, TIMESTAMP_TOLERANCE_SECS,
};

/// A built-in provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

impl Profile {
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
}

impl SigningScheme {
    /// Authgear's: lowercase hex HMAC-SHA256 of the body in `header`.
    pub fn authgear(header: &str) -> SigningScheme {
        SigningScheme {
            versions: vec![Version {
                algorithm: Algorithm::HmacSha256,
                key: KeySpec::plain(KeyForm::Raw),
                encoding: Encoding::Hex,
                value: template("{sig}"),
            }],
            signed: template("{body}"),
            id_header: None,
            id_form: MessageIdForm::Message,
            timestamp: None,
            header: header.to_string(),
            separator: None,
            static_headers: Vec::new(),
            other_versions: true,
        }
    }

    /// Standard Webhooks: `v1` (HMAC-SHA256, key = base64 after an optional
    /// `whsec_`) by default, `v1a` (ed25519) for `whsk_` seeds and `whpk_`
    /// public keys.
    pub fn standard_webhooks() -> SigningScheme {
        SigningScheme {
            versions: vec![
                Version {
                    algorithm: Algorithm::HmacSha256,
                    key: KeySpec {
                        form: KeyForm::Base64,
                        prefix: Some("whsec_".into()),
                        public_prefix: None,
                    },
                    encoding: Encoding::Base64,
                    value: template("v1,{sig}"),
                },
                Version {
                    algorithm: Algorithm::Ed25519,
                    key: KeySpec {
                        form: KeyForm::Base64,
                        prefix: Some("whsk_".into()),
                        public_prefix: Some("whpk_".into()),
                    },
                    encoding: Encoding::Base64,
                    value: template("v1a,{sig}"),
                },
            ],
            ..SigningScheme::standard_webhooks_raw()
        }
    }

    /// Infrahub: Standard Webhooks' headers and content, HMAC-SHA256 keyed
    /// with the secret's raw UTF-8 bytes (`shared_key.encode()`).
    pub fn infrahub() -> SigningScheme {
        SigningScheme::standard_webhooks_raw()
    }

    fn standard_webhooks_raw() -> SigningScheme {
        SigningScheme {
            versions: vec![Version {
                algorithm: Algorithm::HmacSha256,
                key: KeySpec::plain(KeyForm::Raw),
                encoding: Encoding::Base64,
                value: template("v1,{sig}"),
            }],
            signed: template("{id}.{ts}.{body}"),
            id_header: Some("webhook-id".into()),
            id_form: MessageIdForm::Message,
            timestamp: Some(TimestampSpec {
                header: Some("webhook-timestamp".into()),
                unit: TimeUnit::Seconds,
                tolerance_secs: Some(TIMESTAMP_TOLERANCE_SECS),
                future: true,
            }),
            header: "webhook-signature".into(),
            separator: Some(" ".into()),
            static_headers: Vec::new(),
            other_versions: true,
        }
    }

    /// A static bearer token: `Authorization: Bearer <secret>`.
    pub fn bearer() -> SigningScheme {
        SigningScheme {
            versions: vec![Version {
                algorithm: Algorithm::Token,
                key: KeySpec::plain(KeyForm::Raw),
                encoding: Encoding::Hex,
                value: template("Bearer {sig}"),
            }],
            signed: template(""),
            id_header: None,
            id_form: MessageIdForm::Message,
            timestamp: None,
            header: "Authorization".into(),
            separator: None,
            static_headers: Vec::new(),
            other_versions: true,
        }
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
    fn infrahub_success_is_below_400() {
        let p = ProviderId::Infrahub.profile();
        assert!(p.success.is_success(302));
        assert!(!p.success.is_success(400));
        assert!(!ProviderId::StandardWebhooks
            .profile()
            .success
            .is_success(302));
    }

    #[test]
    fn builtins_are_valid_and_versions_follow_the_secret() {
        for s in [
            SigningScheme::authgear("x-authgear-body-signature"),
            SigningScheme::standard_webhooks(),
            SigningScheme::infrahub(),
            SigningScheme::bearer(),
        ] {
            assert_eq!(s.check(), Ok(()), "{s:?}");
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<SigningScheme>(&json).unwrap(), s);
        }
        let sw = SigningScheme::standard_webhooks();
        assert_eq!(sw.version_for("whsec_x").algorithm, Algorithm::HmacSha256);
        assert_eq!(sw.version_for("whsk_x").algorithm, Algorithm::Ed25519);
        assert_eq!(sw.version_for("whpk_x").algorithm, Algorithm::Ed25519);
        assert_eq!(sw.version_for("plain").algorithm, Algorithm::HmacSha256);
    }
}
