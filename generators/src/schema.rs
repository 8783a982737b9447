//! The JSON Schemas (draft 2020-12) of the built-in event types, built in
//! code from shared pieces (envelope, context, user, identity, session), and
//! the Authgear blocking-hook response schema (`schemas/authgear/blocking-response.json`).
//!
//! Provider objects never set `additionalProperties: false`: providers add
//! fields at any time (Authgear now sends `context.tracking_id` and
//! `context.audit_context`, which the event context in authgear/docs
//! `customization/events-hooks/README.md` does not list) and receivers must
//! tolerate them. Ids use a case-insensitive 8-4-4-4-12 hex `pattern`
//! instead of `format: uuid`, both because the `jsonschema` crate does not
//! assert formats by default and because real ids are not always RFC 4122
//! (FusionAuth's example tenant id has version nibble 6 and variant nibble c).
//!
//! Besides standard keywords the schemas carry generator hints that the
//! validator ignores: `x-gen` (which realistic picker fills a leaf),
//! `x-subject` (the leaf holds the event's subject), `x-presence` (how often
//! an optional property is generated), `x-null` (how often a nullable leaf
//! is null) and `x-free-form` (a free-form object where deep nesting is legal). Custom providers may use them too.

use serde_json::{json, Value};

/// Case-insensitive 8-4-4-4-12 hex, no RFC version/variant check.
pub const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/// RFC 3339 date-time with optional fraction and a `Z` or numeric offset.
pub const RFC3339_PATTERN: &str =
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$";
const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

/// One built-in event type before compilation: provider, name, blocking flag,
/// one-line description and schema.
pub struct BuiltinType {
    /// Provider name.
    pub provider: &'static str,
    /// Event type name.
    pub name: &'static str,
    /// Whether the provider waits for the receiver's answer to proceed.
    pub blocking: bool,
    /// One-line description.
    pub description: &'static str,
    /// The schema.
    pub schema: Value,
}

/// The Authgear blocking-hook response schema, as stored in `schemas/authgear/blocking-response.json`.
pub const BLOCKING_RESPONSE_JSON: &str = include_str!("../schemas/authgear/blocking-response.json");

fn uuid(hint: &str) -> Value {
    json!({"type": "string", "pattern": UUID_PATTERN, "x-gen": hint})
}

fn time(hint: &str) -> Value {
    json!({"type": "string", "pattern": RFC3339_PATTERN, "x-gen": hint})
}

fn text(hint: &str) -> Value {
    json!({"type": "string", "x-gen": hint})
}

fn strings(hint: &str) -> Value {
    json!({"type": "array", "items": {"type": "string", "x-gen": hint}})
}

fn i64_int(hint: &str) -> Value {
    json!({"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX, "x-gen": hint})
}

fn with_presence(mut schema: Value, presence: f64) -> Value {
    schema["x-presence"] = json!(presence);
    schema
}

fn free_form() -> Value {
    json!({"type": "object", "x-free-form": true})
}

// ---------------------------------------------------------------- Authgear

/// Authgear's user object (`model.User`): the docs' fields plus `roles`,
/// `groups`, `disable_reason`, `delete_at`, `anonymize_at` which current
/// servers send when set.
fn authgear_user() -> Value {
    json!({
        "type": "object",
        "required": ["id", "created_at", "updated_at", "is_anonymous", "is_verified", "is_disabled", "is_deactivated", "can_reauthenticate"],
        "properties": {
            "id": {"type": "string", "pattern": UUID_PATTERN, "x-gen": "uuid", "x-subject": true},
            "created_at": time("iso6-past"),
            "updated_at": time("iso6-recent"),
            "last_login_at": time("iso6-recent"),
            "is_anonymous": {"type": "boolean"},
            "is_verified": {"type": "boolean"},
            "is_disabled": {"type": "boolean"},
            "disable_reason": {"type": "string", "x-gen": "sentence", "x-presence": 0.05},
            "is_deactivated": {"type": "boolean"},
            "delete_at": with_presence(time("iso6-future"), 0.05),
            "anonymize_at": with_presence(time("iso6-future"), 0.05),
            "can_reauthenticate": {"type": "boolean"},
            "standard_attributes": {
                "type": "object",
                "x-presence": 0.95,
                "properties": {
                    "sub": {"type": "string", "pattern": UUID_PATTERN, "x-gen": "uuid", "x-subject": true},
                    "email": text("email"),
                    "email_verified": {"type": "boolean"},
                    "phone_number": {"type": "string", "x-gen": "phone", "x-presence": 0.4},
                    "phone_number_verified": {"type": "boolean", "x-presence": 0.4},
                    "preferred_username": {"type": "string", "x-gen": "username", "x-presence": 0.4},
                    "given_name": {"type": "string", "x-gen": "given-name", "x-presence": 0.4},
                    "family_name": {"type": "string", "x-gen": "family-name", "x-presence": 0.4},
                    "name": {"type": "string", "x-gen": "full-name", "x-presence": 0.4},
                    "nickname": {"type": "string", "x-gen": "given-name", "x-presence": 0.4},
                    "picture": {"type": "string", "x-gen": "url", "x-presence": 0.4},
                    "locale": {"type": "string", "x-gen": "locale", "x-presence": 0.4},
                    "zoneinfo": {"type": "string", "x-gen": "zoneinfo", "x-presence": 0.4},
                    "updated_at": {"type": "integer", "x-gen": "unix-s-past"}
                }
            },
            "custom_attributes": free_form(),
            "roles": strings("word"),
            "groups": strings("word")
        }
    })
}

fn authgear_identity(kind: &str) -> Value {
    let (ty, claims) = match kind {
        "phone" => (
            "login_id",
            json!({
                "phone_number": text("phone"),
                "https://authgear.com/claims/login_id/key": {"const": "phone"},
                "https://authgear.com/claims/login_id/original_value": text("phone"),
                "https://authgear.com/claims/login_id/type": {"const": "phone"},
                "https://authgear.com/claims/login_id/value": text("phone")
            }),
        ),
        "username" => (
            "login_id",
            json!({
                "preferred_username": text("username"),
                "https://authgear.com/claims/login_id/key": {"const": "username"},
                "https://authgear.com/claims/login_id/original_value": text("username"),
                "https://authgear.com/claims/login_id/type": {"const": "username"},
                "https://authgear.com/claims/login_id/value": text("username")
            }),
        ),
        "oauth" => (
            "oauth",
            json!({
                "email": text("email"),
                "https://authgear.com/claims/oauth/provider_alias": {"enum": ["google", "apple", "github", "azureadv2"]},
                "https://authgear.com/claims/oauth/provider_type": {"enum": ["google", "apple", "github", "azureadv2"]},
                "https://authgear.com/claims/oauth/subject_id": text("digits")
            }),
        ),
        "biometric" => (
            "biometric",
            json!({
                "https://authgear.com/claims/biometric/key_id": uuid("uuid"),
                "https://authgear.com/claims/biometric/formatted_device_model": text("device")
            }),
        ),
        _ => (
            "login_id",
            json!({
                "email": text("email"),
                "https://authgear.com/claims/login_id/key": {"const": "email"},
                "https://authgear.com/claims/login_id/original_value": text("email"),
                "https://authgear.com/claims/login_id/type": {"const": "email"},
                "https://authgear.com/claims/login_id/value": text("email")
            }),
        ),
    };
    json!({
        "type": "object",
        "required": ["id", "created_at", "updated_at", "type", "claims"],
        "properties": {
            "id": uuid("uuid"),
            "created_at": time("iso6-past"),
            "updated_at": time("iso6-recent"),
            "type": {"enum": ["login_id", "oauth", "anonymous", "biometric", "passkey", "siwe", "ldap"], "x-gen": ty},
            "claims": {"type": "object", "x-presence": 1.0, "properties": claims}
        }
    })
}

fn authgear_session() -> Value {
    json!({
        "type": "object",
        "required": ["id", "created_at", "updated_at", "type"],
        "properties": {
            "id": uuid("uuid"),
            "created_at": time("iso6-past"),
            "updated_at": time("iso6-recent"),
            "type": {"enum": ["idp", "offline_grant"]},
            "amr": {"type": "array", "items": {"enum": ["pwd", "otp", "sms", "mfa", "x_biometric", "x_passkey"]}},
            "lastAccessedAt": time("iso6-recent"),
            "createdByIP": text("ip"),
            "lastAccessedByIP": text("ip"),
            "lastAccessedByIPCountryCode": text("country"),
            "lastAccessedByIPEnglishCountryName": text("country-name"),
            "displayName": text("device"),
            "applicationName": text("app-name")
        }
    })
}

/// The event context (authgear-server `pkg/api/event/context.go`).
/// `user_id` is a `*string` without `omitempty` there, so it arrives as
/// `null` when there is no user and as `""` for `login_id.failed`: both
/// are allowed besides the documented "may be absent".
fn authgear_context(has_user: bool, oauth: bool) -> Value {
    let user_id = if has_user {
        json!({"type": ["string", "null"], "pattern": format!("^$|{}", &UUID_PATTERN[1..]), "x-gen": "uuid", "x-subject": true, "x-presence": 1.0, "x-null": 0.0})
    } else {
        json!({"type": ["string", "null"], "pattern": format!("^$|{}", &UUID_PATTERN[1..]), "x-gen": "null"})
    };
    let mut ctx = json!({
        "type": "object",
        "required": ["timestamp", "triggered_by", "preferred_languages"],
        "properties": {
            "timestamp": i64_int("unix-s"),
            "user_id": user_id,
            "triggered_by": {"enum": ["user", "admin_api", "system", "portal", "site_admin"]},
            "preferred_languages": strings("locale"),
            "language": {"type": "string", "x-gen": "locale", "x-presence": 1.0},
            "ip_address": text("ip"),
            "user_agent": text("user-agent"),
            "app_id": text("app-id"),
            "client_id": text("hex16"),
            "tracking_id": text("hex32"),
            "geo_location_code": {"type": ["string", "null"], "x-gen": "country", "x-presence": 0.9},
            "audit_context": {
                "type": ["object", "null"],
                "x-free-form": true,
                "x-presence": 0.9,
                "properties": {"http_url": text("url")}
            }
        }
    });
    if oauth {
        ctx["properties"]["oauth"] = json!({
            "type": "object",
            "properties": {"state": text("hex16"), "x_state": text("hex16")}
        });
    }
    ctx
}

fn authgear_event(name: &str, payload_props: Value, required: &[&str], has_user: bool) -> Value {
    json!({
        "$schema": DRAFT,
        "$id": format!("https://hookstorm.dev/schemas/authgear/{name}.json"),
        "title": format!("Authgear {name}"),
        "type": "object",
        "required": ["id", "seq", "type", "payload", "context"],
        "properties": {
            "id": uuid("event-id-upper"),
            "seq": i64_int("seq"),
            "type": {"const": name},
            "payload": {"type": "object", "required": required, "properties": payload_props},
            "context": authgear_context(has_user, name == "user.pre_create")
        }
    })
}

fn authgear_types() -> Vec<BuiltinType> {
    let user_only = || json!({"user": authgear_user()});
    let mut out = Vec::new();
    let mut add = |name: &'static str,
                   blocking: bool,
                   description: &'static str,
                   payload: Value,
                   required: &[&str]| {
        let has_user = required.contains(&"user");
        out.push(BuiltinType {
            provider: "authgear",
            name,
            blocking,
            description,
            schema: authgear_event(name, payload, required, has_user),
        });
    };
    let user_identities = || json!({"user": authgear_user(), "identities": {"type": "array", "minItems": 1, "maxItems": 3, "items": authgear_identity("email")}});
    add("user.pre_create", true, "Right before a user is created (signup, anonymous signup, Admin API, Portal); may mutate the user.", user_identities(), &["user", "identities"]);
    add(
        "user.profile.pre_update",
        true,
        "Right before the user profile is updated; may mutate the user.",
        user_only(),
        &["user"],
    );
    add(
        "user.pre_schedule_deletion",
        true,
        "Right before an account deletion is scheduled.",
        user_only(),
        &["user"],
    );
    add(
        "user.pre_schedule_anonymization",
        true,
        "Right before an account anonymization is scheduled.",
        user_only(),
        &["user"],
    );
    add(
        "oidc.jwt.pre_create",
        true,
        "Right before an access token is issued; may add claims to the JWT payload.",
        json!({
            "user": authgear_user(),
            "jwt": {
                "type": "object",
                "required": ["payload"],
                "properties": {
                    "payload": {
                        "type": "object",
                        "required": ["iss", "aud", "sub"],
                        "properties": {
                            "iss": text("issuer"),
                            "aud": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string", "x-gen": "hex16"}},
                            "sub": {"type": "string", "pattern": UUID_PATTERN, "x-gen": "uuid", "x-subject": true},
                            "iat": {"type": "integer", "x-gen": "unix-s"},
                            "exp": {"type": "integer", "x-gen": "unix-s-future"},
                            "auth_time": {"type": "integer", "x-gen": "unix-s"},
                            "client_id": text("hex16"),
                            "jti": uuid("uuid"),
                            "sid": text("hex32"),
                            "scope": {"type": "string", "x-gen": "scope"}
                        }
                    }
                }
            }
        }),
        &["user", "jwt"],
    );
    add(
        "user.created",
        false,
        "After a user is created (signup, anonymous signup, Admin API, Portal).",
        user_identities(),
        &["user", "identities"],
    );
    add(
        "user.profile.updated",
        false,
        "After the user profile is updated.",
        user_only(),
        &["user"],
    );
    add(
        "user.authenticated",
        false,
        "After the user logged in.",
        json!({"user": authgear_user(), "session": authgear_session()}),
        &["user", "session"],
    );
    add(
        "user.signed_out",
        false,
        "After the user signed out of a session.",
        json!({"user": authgear_user(), "session": authgear_session()}),
        &["user", "session"],
    );
    add(
        "user.session.terminated",
        false,
        "After sessions were terminated (one, all, or all but the current one).",
        json!({
            "user": authgear_user(),
            "sessions": {"type": "array", "maxItems": 4, "items": authgear_session()},
            "termination_type": {"enum": ["individual", "all", "all_except_current"]}
        }),
        &["user", "sessions", "termination_type"],
    );
    add(
        "user.anonymous.promoted",
        false,
        "After an anonymous user was promoted to a normal user.",
        json!({"anonymous_user": authgear_user(), "user": authgear_user(), "identities": {"type": "array", "minItems": 1, "maxItems": 3, "items": authgear_identity("email")}}),
        &["anonymous_user", "user", "identities"],
    );
    for (name, description) in [
        ("user.disabled", "After the user was disabled."),
        ("user.reenabled", "After the user was re-enabled."),
        (
            "user.deletion_scheduled",
            "After an account deletion was scheduled.",
        ),
        (
            "user.deletion_unscheduled",
            "After an account deletion was unscheduled.",
        ),
        ("user.deleted", "After the user was deleted."),
        (
            "user.anonymization_scheduled",
            "After an account anonymization was scheduled.",
        ),
        (
            "user.anonymization_unscheduled",
            "After an account anonymization was unscheduled.",
        ),
        ("user.anonymized", "After the user was anonymized."),
    ] {
        add(name, false, description, user_only(), &["user"]);
    }
    add(
        "authentication.identity.login_id.failed",
        false,
        "A login with an unknown login ID failed (no user yet).",
        json!({"login_id": {"type": "string", "x-gen": "email"}}),
        &["login_id"],
    );
    for (name, description) in [
        (
            "authentication.identity.anonymous.failed",
            "An anonymous-user authentication failed.",
        ),
        (
            "authentication.identity.biometric.failed",
            "A biometric authentication failed.",
        ),
        (
            "authentication.primary.password.failed",
            "A primary password authentication failed.",
        ),
        (
            "authentication.primary.oob_otp_email.failed",
            "A primary email OTP authentication failed.",
        ),
        (
            "authentication.primary.oob_otp_sms.failed",
            "A primary SMS OTP authentication failed.",
        ),
        (
            "authentication.secondary.password.failed",
            "A secondary (additional) password authentication failed.",
        ),
        (
            "authentication.secondary.totp.failed",
            "A TOTP authentication failed.",
        ),
        (
            "authentication.secondary.oob_otp_email.failed",
            "A secondary email OTP authentication failed.",
        ),
        (
            "authentication.secondary.oob_otp_sms.failed",
            "A secondary SMS OTP authentication failed.",
        ),
        (
            "authentication.secondary.recovery_code.failed",
            "A recovery code authentication failed.",
        ),
    ] {
        add(name, false, description, user_only(), &["user"]);
    }
    // authgear-server pkg/api/event/nonblocking/bot_protection_verification_failed.go:
    // {token, provider_type}, no user.
    add(
        "bot_protection.verification.failed",
        false,
        "A bot-protection (CAPTCHA) verification failed.",
        json!({"token": text("hex32"), "provider_type": {"enum": ["cloudflare", "recaptchav2"]}}),
        &["token", "provider_type"],
    );
    for kind in ["email", "phone", "username"] {
        let (added, removed, updated): (&'static str, &'static str, &'static str) = match kind {
            "email" => (
                "identity.email.added",
                "identity.email.removed",
                "identity.email.updated",
            ),
            "phone" => (
                "identity.phone.added",
                "identity.phone.removed",
                "identity.phone.updated",
            ),
            _ => (
                "identity.username.added",
                "identity.username.removed",
                "identity.username.updated",
            ),
        };
        add(
            added,
            false,
            added_desc(kind),
            json!({"user": authgear_user(), "identity": authgear_identity(kind)}),
            &["user", "identity"],
        );
        add(
            removed,
            false,
            removed_desc(kind),
            json!({"user": authgear_user(), "identity": authgear_identity(kind)}),
            &["user", "identity"],
        );
        add(
            updated,
            false,
            updated_desc(kind),
            json!({"user": authgear_user(), "old_identity": authgear_identity(kind), "new_identity": authgear_identity(kind)}),
            &["user", "old_identity", "new_identity"],
        );
    }
    add(
        "identity.oauth.connected",
        false,
        "A social/OAuth identity was connected to the user.",
        json!({"user": authgear_user(), "identity": authgear_identity("oauth")}),
        &["user", "identity"],
    );
    add(
        "identity.oauth.disconnected",
        false,
        "A social/OAuth identity was disconnected from the user.",
        json!({"user": authgear_user(), "identity": authgear_identity("oauth")}),
        &["user", "identity"],
    );
    add(
        "identity.biometric.enabled",
        false,
        "Biometric login was enabled on a device.",
        json!({"user": authgear_user(), "identity": authgear_identity("biometric")}),
        &["user", "identity"],
    );
    add(
        "identity.biometric.disabled",
        false,
        "Biometric login was disabled on a device.",
        json!({"user": authgear_user(), "identity": authgear_identity("biometric")}),
        &["user", "identity"],
    );
    out
}

fn added_desc(kind: &str) -> &'static str {
    match kind {
        "email" => "An email login ID was added to an existing user.",
        "phone" => "A phone login ID was added to an existing user.",
        _ => "A username login ID was added to an existing user.",
    }
}

fn removed_desc(kind: &str) -> &'static str {
    match kind {
        "email" => "An email login ID was removed from a user.",
        "phone" => "A phone login ID was removed from a user.",
        _ => "A username login ID was removed from a user.",
    }
}

fn updated_desc(kind: &str) -> &'static str {
    match kind {
        "email" => "An email login ID was changed (old_identity, new_identity).",
        "phone" => "A phone login ID was changed (old_identity, new_identity).",
        _ => "A username login ID was changed (old_identity, new_identity).",
    }
}

// -------------------------------------------------------------- FusionAuth

fn fusionauth_login_success() -> Value {
    let info = json!({
        "type": "object",
        "x-presence": 0.95,
        "properties": {
            "ipAddress": text("ip"),
            "location": {
                "type": "object",
                "properties": {
                    "city": text("city"),
                    "country": text("country"),
                    "displayString": text("display-string"),
                    "latitude": {"type": "number", "minimum": -90, "maximum": 90, "x-gen": "latitude"},
                    "longitude": {"type": "number", "minimum": -180, "maximum": 180, "x-gen": "longitude"},
                    "region": text("region"),
                    "zipcode": text("zipcode")
                }
            },
            "userAgent": text("user-agent"),
            "deviceName": text("device"),
            "deviceDescription": text("sentence"),
            "deviceType": {"enum": ["BROWSER", "DESKTOP", "LAPTOP", "MOBILE", "OTHER", "SERVER", "TABLET", "TV", "UNKNOWN"]},
            "data": free_form()
        }
    });
    let user = json!({
        "type": "object",
        "required": ["id"],
        "properties": {
            "active": {"type": "boolean"},
            "connectorId": uuid("uuid"),
            "email": text("email"),
            "firstName": text("given-name"),
            "lastName": text("family-name"),
            "fullName": text("full-name"),
            "username": text("username"),
            "id": {"type": "string", "pattern": UUID_PATTERN, "x-gen": "uuid", "x-subject": true},
            "insertInstant": {"type": "integer", "x-gen": "unix-ms-past"},
            "lastLoginInstant": {"type": "integer", "x-gen": "unix-ms"},
            "lastUpdateInstant": {"type": "integer", "x-gen": "unix-ms-recent"},
            "passwordChangeRequired": {"type": "boolean"},
            "passwordLastUpdateInstant": {"type": "integer", "x-gen": "unix-ms-past"},
            "preferredLanguages": strings("locale"),
            "registrations": {
                "type": "array",
                "maxItems": 3,
                "items": {
                    "type": "object",
                    "required": ["applicationId", "id"],
                    "properties": {
                        "applicationId": uuid("uuid"),
                        "id": uuid("uuid"),
                        "insertInstant": {"type": "integer", "x-gen": "unix-ms-past"},
                        "lastLoginInstant": {"type": "integer", "x-gen": "unix-ms-recent"},
                        "roles": strings("word"),
                        "usernameStatus": {"enum": ["ACTIVE", "PENDING", "REJECTED"]},
                        "verified": {"type": "boolean"}
                    }
                }
            },
            "tenantId": uuid("uuid"),
            "twoFactorEnabled": {"type": "boolean"},
            "usernameStatus": {"enum": ["ACTIVE", "PENDING", "REJECTED"]},
            "verified": {"type": "boolean"},
            "data": free_form()
        }
    });
    json!({
        "$schema": DRAFT,
        "$id": "https://hookstorm.dev/schemas/fusionauth/user.login.success.json",
        "title": "FusionAuth user.login.success",
        "type": "object",
        "required": ["event"],
        "properties": {
            "event": {
                "type": "object",
                "required": ["id", "type", "createInstant", "tenantId", "user"],
                "properties": {
                    "applicationId": uuid("uuid"),
                    "authenticationType": {"type": "string", "enum": ["PASSWORD", "PING", "JWT_SSO", "ONE_TIME_PASSWORD", "PASSWORDLESS", "REFRESH_TOKEN", "REGISTRATION", "FEDERATED_JWT", "GOOGLE", "APPLE", "FACEBOOK", "OPENID_CONNECT", "SAMLv2", "WEB_AUTHN"], "x-presence": 1.0},
                    "connectorId": uuid("uuid"),
                    "createInstant": {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX, "x-gen": "unix-ms"},
                    "id": uuid("event-id"),
                    "identityProviderId": uuid("uuid"),
                    "identityProviderName": text("app-name"),
                    "info": info,
                    // Deprecated in favour of info.ipAddress, still sent by some versions.
                    "ipAddress": text("ip"),
                    "tenantId": uuid("uuid"),
                    "type": {"const": "user.login.success"},
                    "user": user
                }
            }
        }
    })
}

// ---------------------------------------------------------------- Infrahub

/// Infrahub account events: `infrahub/events/account_action.py` (fields) and
/// `infrahub/events/models.py` `EventMeta` (meta), delivered by the webhook
/// as `{data, id, branch, account_id, occured_at, event}`.
fn infrahub_account(name: &str, logged_in: bool) -> Value {
    let mut data_props = json!({
        "meta": {
            "type": "object",
            "required": ["id"],
            "properties": {
                "branch": {"type": ["string", "null"], "x-gen": "branch"},
                "request_id": {"type": "string", "x-gen": "hex32"},
                "account_id": {"type": ["string", "null"], "pattern": UUID_PATTERN, "x-gen": "uuid", "x-subject": true},
                "initiator_id": {"type": ["string", "null"], "x-gen": "hex32"},
                "context": free_form(),
                "level": {"type": "integer", "minimum": 0, "maximum": 8},
                "has_children": {"type": "boolean"},
                "id": uuid("uuid"),
                "parent": {"type": ["string", "null"], "pattern": UUID_PATTERN, "x-gen": "uuid"},
                "ancestors": {"type": "array", "maxItems": 2, "items": {"type": "object", "properties": {"id": uuid("uuid"), "kind": text("word")}}}
            }
        },
        "kind": {"const": "CoreAccount"},
        "account_id": {"type": "string", "pattern": UUID_PATTERN, "x-gen": "uuid", "x-subject": true},
        "account_name": text("username"),
        "account_type": {"enum": ["USER", "SCRIPT"]},
        "session_id": {"type": ["string", "null"], "x-gen": "uuid"},
        "client_ip": {"type": ["string", "null"], "x-gen": "ip"},
        "user_agent": {"type": ["string", "null"], "x-gen": "user-agent"},
        "timestamp": time("iso6-now")
    });
    let mut required = vec![
        "meta",
        "account_id",
        "account_name",
        "account_type",
        "timestamp",
    ];
    if logged_in {
        data_props["auth_method"] =
            json!({"enum": ["password", "api_token", "oauth2", "oidc", "refresh_token"]});
        data_props["groups"] = strings("word");
        data_props["roles"] = strings("word");
        data_props["identity_source"] = json!({"enum": ["local", "ldap", "oauth2", "oidc", null]});
        required.push("auth_method");
    } else {
        data_props["logout_type"] = json!({"enum": ["user_initiated", "session_expired", "admin_revoked", "token_revoked"]});
        required.push("logout_type");
    }
    json!({
        "$schema": DRAFT,
        "$id": format!("https://hookstorm.dev/schemas/infrahub/{name}.json"),
        "title": format!("Infrahub {name}"),
        "type": "object",
        "required": ["data", "id", "branch", "account_id", "occured_at", "event"],
        "properties": {
            "data": {"type": "object", "required": required, "properties": data_props},
            "id": uuid("event-id"),
            "branch": {"type": ["string", "null"], "x-gen": "branch"},
            "account_id": {"type": ["string", "null"], "pattern": UUID_PATTERN, "x-gen": "uuid", "x-subject": true},
            // Sic: Infrahub spells it `occured_at`.
            "occured_at": time("iso6-now"),
            "event": {"const": name}
        }
    })
}

// ------------------------------------------------------------------- Auth0

/// The Auth0 Actions post-login `event` object (Auth0 docs "Actions
/// Triggers: post-login - Event Object"); `secrets` is never forwarded.
fn auth0_post_login() -> Value {
    let md = free_form;
    let authentication_schema = json!({
        "type": "object",
        "required": ["methods"],
        "properties": {
            "methods": {"type": "array", "minItems": 1, "maxItems": 2, "items": {
                "type": "object", "required": ["name", "timestamp"],
                "properties": {"name": {"enum": ["pwd", "federated", "passkey", "sms", "email", "mfa"]}, "timestamp": time("iso3-now")}
            }},
            "riskAssessment": {"type": "object", "properties": {"confidence": {"enum": ["low", "medium", "high", "neutral"]}, "version": {"const": "1"}}}
        }
    });
    let request_schema = json!({
        "type": "object",
        "required": ["ip", "method"],
        "properties": {
            "ip": text("ip"),
            "hostname": text("hostname"),
            "method": {"enum": ["GET", "POST"]},
            "language": text("locale"),
            "user_agent": text("user-agent"),
            "query": md(),
            "body": md(),
            "geoip": {
                "type": "object",
                "properties": {
                    "cityName": text("city"),
                    "continentCode": {"enum": ["AF", "AS", "EU", "NA", "OC", "SA"]},
                    "countryCode": text("country"),
                    "countryCode3": {"type": "string", "minLength": 3, "maxLength": 3, "x-gen": "country3"},
                    "countryName": text("country-name"),
                    "latitude": {"type": "number", "minimum": -90, "maximum": 90, "x-gen": "latitude"},
                    "longitude": {"type": "number", "minimum": -180, "maximum": 180, "x-gen": "longitude"},
                    "subdivisionCode": text("region"),
                    "subdivisionName": text("region"),
                    "timeZone": text("zoneinfo")
                }
            }
        }
    });
    let transaction_schema = json!({
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": text("event-id-alnum"),
            "acr_values": strings("word"),
            "locale": text("locale"),
            "protocol": {"enum": ["oidc-basic-profile", "oidc-implicit-profile", "oauth2-refresh-token", "samlp"]},
            "redirect_uri": text("url"),
            "requested_scopes": {"type": "array", "items": {"enum": ["openid", "profile", "email", "offline_access"]}},
            "state": text("alnum32"),
            "ui_locales": strings("locale"),
            "response_mode": {"enum": ["query", "fragment", "form_post", "web_message"]},
            "response_type": {"type": "array", "items": {"enum": ["code", "token", "id_token"]}}
        }
    });
    let user_schema = json!({
        "type": "object",
        "required": ["user_id", "created_at", "updated_at", "identities", "app_metadata", "user_metadata"],
        "properties": {
            "user_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]+\\|.+$", "x-gen": "auth0-user-id", "x-subject": true},
            "email": text("email"),
            "email_verified": {"type": "boolean"},
            "username": text("username"),
            "phone_number": text("phone"),
            "phone_verified": {"type": "boolean"},
            "name": text("full-name"),
            "given_name": text("given-name"),
            "family_name": text("family-name"),
            "nickname": text("given-name"),
            "picture": text("url"),
            "created_at": time("iso3-past"),
            "updated_at": time("iso3-recent"),
            "last_password_reset": time("iso3-past"),
            "multifactor": strings("word"),
            "identities": {"type": "array", "minItems": 1, "maxItems": 2, "items": {
                "type": "object",
                "required": ["connection", "provider", "user_id", "isSocial"],
                "properties": {
                    "connection": text("word"),
                    "provider": {"enum": ["auth0", "google-oauth2", "github", "email"]},
                    "user_id": text("hex24"),
                    "isSocial": {"type": "boolean"}
                }
            }},
            "app_metadata": md(),
            "user_metadata": md()
        }
    });
    let session_schema = json!({
        "type": "object",
        "properties": {
            "id": text("alnum32"),
            "created_at": time("iso3-past"),
            "authenticated_at": time("iso3-now"),
            "last_interacted_at": time("iso3-now"),
            "device": {"type": "object", "properties": {"last_ip": text("ip"), "last_user_agent": text("user-agent")}}
        }
    });
    let client_schema = json!({
        "type": "object",
        "required": ["client_id", "name"],
        "properties": {"client_id": text("alnum32"), "name": text("app-name"), "metadata": md()}
    });
    let connection_schema = json!({
        "type": "object",
        "required": ["id", "name", "strategy"],
        "properties": {
            "id": text("auth0-con-id"),
            "name": {"enum": ["Username-Password-Authentication", "google-oauth2", "github", "passwordless-email"]},
            "strategy": {"enum": ["auth0", "google-oauth2", "github", "email", "samlp", "oidc"]},
            "metadata": md()
        }
    });
    let organization_schema = json!({
        "type": "object",
        "required": ["id", "name"],
        "properties": {"id": text("auth0-org-id"), "name": text("word"), "display_name": text("app-name"), "metadata": md()}
    });
    json!({
        "$schema": DRAFT,
        "$id": "https://hookstorm.dev/schemas/auth0/post-login.json",
        "title": "Auth0 post-login event",
        "type": "object",
        // transaction is optional in Auth0 but required here: Auth0 sends
        // no delivery id, so `transaction.id` is the forwarded event's
        // dedupe key (the auth0 profile in provider.rs).
        "required": ["client", "connection", "request", "stats", "tenant", "user", "transaction"],
        "properties": {
            "authentication": with_presence(authentication_schema, 0.9),
            "authorization": {"x-presence": 0.9, "type": "object", "required": ["roles"], "properties": {"roles": strings("word")}},
            "client": client_schema,
            "connection": connection_schema,
            "custom_domain": {"x-presence": 0.1, "type": "object", "properties": {"domain": text("hostname"), "domain_metadata": md()}},
            "organization": with_presence(organization_schema, 0.3),
            "prompt": {"x-presence": 0.1, "type": "object", "properties": {"name": text("word")}},
            "refresh_token": {"x-presence": 0.2, "type": "object", "properties": {"id": text("alnum32"), "created_at": time("iso3-past"), "expires_at": time("iso3-future")}},
            "request": request_schema,
            "resource_server": {"x-presence": 0.5, "type": "object", "required": ["identifier"], "properties": {"identifier": text("url")}},
            "security_context": {"x-presence": 0.5, "type": "object", "properties": {"ja3": text("hex32"), "ja4": text("hex32")}},
            "session": with_presence(session_schema, 0.9),
            "session_transfer_token": {"x-presence": 0.05, "type": "object", "properties": {"client_id": text("alnum32"), "scope": strings("word")}},
            "stats": {"type": "object", "required": ["logins_count"], "properties": {"logins_count": {"type": "integer", "minimum": 0, "maximum": 100000}}},
            "tenant": {"type": "object", "required": ["id"], "properties": {"id": text("word")}},
            "transaction": transaction_schema,
            "user": user_schema
        }
    })
}

/// Every built-in event type: the 48 documented types of the built-in
/// providers, then the 39 Standard Webhooks payloads built from Authgear's
/// non-blocking ones.
pub fn builtin_types() -> Vec<BuiltinType> {
    let mut out = vec![BuiltinType {
        provider: "auth0",
        name: "post-login",
        blocking: false,
        description:
            "The Actions post-login event object, forwarded by an Action to an external endpoint.",
        schema: auth0_post_login(),
    }];
    out.push(BuiltinType {
        provider: "fusionauth",
        name: "user.login.success",
        blocking: false,
        description: "A user completed a login (transactional: the login waits for the webhook).",
        schema: fusionauth_login_success(),
    });
    out.push(BuiltinType {
        provider: "infrahub",
        name: "infrahub.account.logged_in",
        blocking: false,
        description: "An account logged in to Infrahub.",
        schema: infrahub_account("infrahub.account.logged_in", true),
    });
    out.push(BuiltinType {
        provider: "infrahub",
        name: "infrahub.account.logged_out",
        blocking: false,
        description: "An account logged out of Infrahub (or its session ended).",
        schema: infrahub_account("infrahub.account.logged_out", false),
    });
    let authgear = authgear_types();
    let standard_webhooks = standard_webhooks_types(&authgear);
    out.extend(authgear);
    out.extend(standard_webhooks);
    out
}

// ------------------------------------------------------- Standard Webhooks

/// Standard Webhooks payloads: the specification's recommended structure
/// (standard-webhooks/standard-webhooks `spec/standard-webhooks.md`,
/// "Payload structure": `type`, `timestamp` of when the event occurred,
/// `data`), carrying Authgear's non-blocking events: the type name is
/// Authgear's, `data` is its payload. The specification has no blocking
/// hooks, so Authgear's blocking types are not among them.
fn standard_webhooks_types(authgear: &[BuiltinType]) -> Vec<BuiltinType> {
    authgear
        .iter()
        .filter(|t| !t.blocking)
        .map(|t| BuiltinType {
            provider: "standard-webhooks",
            name: t.name,
            blocking: false,
            description: t.description,
            schema: json!({
                "$schema": DRAFT,
                "$id": format!("https://hookstorm.dev/schemas/standard-webhooks/{}.json", t.name),
                "title": format!("Standard Webhooks {}", t.name),
                "type": "object",
                "required": ["type", "timestamp", "data"],
                "properties": {
                    "type": {"const": t.name},
                    "timestamp": time("iso6-now"),
                    "data": t.schema["properties"]["payload"].clone()
                }
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authgear_has_5_blocking_and_39_non_blocking() {
        let types = builtin_types();
        let ag: Vec<_> = types.iter().filter(|t| t.provider == "authgear").collect();
        assert_eq!(ag.iter().filter(|t| t.blocking).count(), 5);
        assert_eq!(ag.iter().filter(|t| !t.blocking).count(), 39);
    }

    #[test]
    fn standard_webhooks_types_are_the_specs_shape_of_authgears_non_blocking_ones() {
        let types = builtin_types();
        let sw: Vec<_> = types
            .iter()
            .filter(|t| t.provider == "standard-webhooks")
            .collect();
        assert_eq!(sw.len(), 39);
        for t in sw {
            assert!(!t.blocking, "{}", t.name);
            assert_eq!(t.schema["required"], json!(["type", "timestamp", "data"]));
            assert_eq!(t.schema["properties"]["type"]["const"], t.name);
            assert_eq!(
                t.schema["properties"]["timestamp"]["pattern"],
                RFC3339_PATTERN
            );
            assert_eq!(t.schema["properties"]["data"]["type"], "object");
        }
    }

    #[test]
    fn blocking_response_file_is_json() {
        let v: Value = serde_json::from_str(BLOCKING_RESPONSE_JSON).unwrap();
        assert_eq!(v["$schema"], DRAFT);
    }
}
