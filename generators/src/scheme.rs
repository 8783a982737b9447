//! A declared signing scheme ([`SigningScheme`]): everything a sender's
//! signature is made of, as data — the algorithm and the key's form, the
//! signed content as a template, the encoding, where the message id and the
//! timestamp travel, the signature header and its value template, the list
//! separator used during key rotation, and static headers.
//!
//! The built-in schemes are values of this type ([`SigningScheme::authgear`],
//! [`SigningScheme::standard_webhooks`], [`SigningScheme::infrahub`],
//! [`SigningScheme::bearer`]), defined with their sources in
//! `crate::builtin`; `crate::sign` and `crate::verify` interpret any of
//! them, and `crate::hostile` derives the adversarial cases from the
//! declaration.
//!
//! [`Scheme`] is what a profile holds: a declared scheme, or FusionAuth's
//! signature JWT (`crate::jwt`), which is not expressible as one.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::text::{push_base64, push_hex};

/// How far a Standard Webhooks timestamp may be from the receiver's clock,
/// in seconds, either way (the Standard Webhooks reference library's value).
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 300;

/// The algorithm that turns the signed content into a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    /// HMAC-SHA1 (legacy GitHub `X-Hub-Signature`, Intercom).
    HmacSha1,
    /// HMAC-SHA256.
    HmacSha256,
    /// HMAC-SHA512.
    HmacSha512,
    /// Ed25519 (RFC 8032) over the signed content; the key is the 32-byte seed.
    Ed25519,
    /// ECDSA over P-256 with SHA-256, the signature DER-encoded (as SendGrid
    /// sends it); the key is the 32-byte private scalar.
    EcdsaP256,
    /// No cryptography: the secret itself travels as the "signature" (a
    /// bearer token, Okta's or Auth0 Log Streams' `Authorization` value).
    Token,
}

impl Algorithm {
    /// Every algorithm, as written in provider files.
    pub const ALL: [Algorithm; 6] = [
        Algorithm::HmacSha1,
        Algorithm::HmacSha256,
        Algorithm::HmacSha512,
        Algorithm::Ed25519,
        Algorithm::EcdsaP256,
        Algorithm::Token,
    ];

    /// The name used in provider files.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha1 => "hmac-sha1",
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::HmacSha512 => "hmac-sha512",
            Algorithm::Ed25519 => "ed25519",
            Algorithm::EcdsaP256 => "ecdsa-p256",
            Algorithm::Token => "token",
        }
    }

    /// Parses a provider-file name.
    pub fn parse(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether the signature is an HMAC tag.
    pub fn is_hmac(self) -> bool {
        matches!(
            self,
            Algorithm::HmacSha1 | Algorithm::HmacSha256 | Algorithm::HmacSha512
        )
    }
}

/// How the key bytes are written in the configured secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyForm {
    /// The secret string's UTF-8 bytes are the key (Authgear, Infrahub,
    /// Stripe: its whole `whsec_…` string).
    Raw,
    /// The secret is hex.
    Hex,
    /// The secret is padded standard base64 (Standard Webhooks after `whsec_`).
    Base64,
}

impl KeyForm {
    /// Every form, as written in provider files.
    pub const ALL: [KeyForm; 3] = [KeyForm::Raw, KeyForm::Hex, KeyForm::Base64];

    /// The name used in provider files.
    pub fn name(self) -> &'static str {
        match self {
            KeyForm::Raw => "raw",
            KeyForm::Hex => "hex",
            KeyForm::Base64 => "base64",
        }
    }
}

/// How the key is derived from the configured secret.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeySpec {
    /// How the key bytes are written.
    pub form: KeyForm,
    /// A prefix stripped from the secret before decoding, when present
    /// (`whsec_`); it also selects this key among a scheme's versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Asymmetric keys only: a secret with this prefix is the *public* key
    /// (`whpk_`), which verifies but cannot sign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_prefix: Option<String>,
}

impl KeySpec {
    /// A key written as `form`, with no prefix.
    pub fn plain(form: KeyForm) -> KeySpec {
        KeySpec {
            form,
            prefix: None,
            public_prefix: None,
        }
    }
}

/// How signature bytes are written into the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// Lowercase hex.
    Hex,
    /// Padded standard base64 (RFC 4648 §4).
    Base64,
    /// Unpadded URL-safe base64 (RFC 4648 §5, as in JWS).
    Base64url,
}

impl Encoding {
    /// Every encoding, as written in provider files.
    pub const ALL: [Encoding; 3] = [Encoding::Hex, Encoding::Base64, Encoding::Base64url];

    /// The name used in provider files.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Hex => "hex",
            Encoding::Base64 => "base64",
            Encoding::Base64url => "base64url",
        }
    }

    /// Appends `bytes` in this encoding.
    pub(crate) fn encode_into(self, bytes: &[u8], out: &mut Vec<u8>) {
        match self {
            Encoding::Hex => push_hex(bytes, out),
            Encoding::Base64 => push_base64(&STANDARD, bytes, out),
            Encoding::Base64url => push_base64(&URL_SAFE_NO_PAD, bytes, out),
        }
    }

    /// Decodes a presented signature; hex must be lowercase, as every sender
    /// writes it and as receivers written from the docs compare the string.
    pub(crate) fn decode(self, text: &str) -> Option<Vec<u8>> {
        match self {
            Encoding::Hex => {
                if text.bytes().any(|b| b.is_ascii_uppercase()) {
                    return None;
                }
                hex::decode(text).ok()
            }
            Encoding::Base64 => STANDARD.decode(text).ok(),
            Encoding::Base64url => URL_SAFE_NO_PAD.decode(text).ok(),
        }
    }
}

/// One piece of a [`SignatureTemplate`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    /// Literal text.
    Lit(String),
    /// `{id}`: the message id.
    Id,
    /// `{ts}`: the timestamp in UNIX seconds.
    Ts,
    /// `{ts_ms}`: the timestamp in UNIX milliseconds.
    TsMs,
    /// `{body}`: the raw body.
    Body,
    /// `{method}`: the request method (`POST`).
    Method,
    /// `{url}`: the request URL as sent.
    Url,
    /// `{sig}`: the encoded signature (value templates only).
    Sig,
}

impl Part {
    fn placeholder(self: &Part) -> Option<&'static str> {
        Some(match self {
            Part::Lit(_) => return None,
            Part::Id => "{id}",
            Part::Ts => "{ts}",
            Part::TsMs => "{ts_ms}",
            Part::Body => "{body}",
            Part::Method => "{method}",
            Part::Url => "{url}",
            Part::Sig => "{sig}",
        })
    }
}

/// A signature scheme's template: the signed content (`{id}.{ts}.{body}`)
/// or the header value (`t={ts},v1={sig}`), a string with placeholders
/// parsed once; written in files as the string itself. (The body with
/// slots the emitter patches is the other template,
/// [`crate::template::Template`].)
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SignatureTemplate {
    parts: Vec<Part>,
}

impl SignatureTemplate {
    /// Parses `text`; `{name}` must be one of `{id}`, `{ts}`, `{ts_ms}`,
    /// `{body}`, `{method}`, `{url}`, `{sig}`, and `{{`/`}}` are literal braces.
    pub fn parse(text: &str) -> Result<SignatureTemplate, SchemeError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if let Some(after) = rest.strip_prefix("{{") {
                lit.push('{');
                rest = after;
            } else if let Some(after) = rest.strip_prefix("}}") {
                lit.push('}');
                rest = after;
            } else if c == '{' {
                let end = rest
                    .find('}')
                    .ok_or_else(|| SchemeError::SignatureTemplate {
                        template: text.to_string(),
                        detail: "a `{` is never closed (write `{{` for a literal brace)".into(),
                    })?;
                let part = match &rest[1..end] {
                    "id" => Part::Id,
                    "ts" => Part::Ts,
                    "ts_ms" => Part::TsMs,
                    "body" => Part::Body,
                    "method" => Part::Method,
                    "url" => Part::Url,
                    "sig" => Part::Sig,
                    other => {
                        return Err(SchemeError::SignatureTemplate {
                            template: text.to_string(),
                            detail: format!(
                                "unknown placeholder `{{{other}}}` (known: {{id}} {{ts}} {{ts_ms}} {{body}} {{method}} {{url}} {{sig}})"
                            ),
                        })
                    }
                };
                if !lit.is_empty() {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                }
                parts.push(part);
                rest = &rest[end + 1..];
            } else {
                lit.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(SignatureTemplate { parts })
    }

    /// Its pieces, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Whether `part` occurs in it.
    pub fn uses(&self, part: &Part) -> bool {
        self.parts.contains(part)
    }

    /// Splits a value template at each `separator` inside its literal text:
    /// `t={ts},v1={sig}` by `,` is `t={ts}` and `v1={sig}`.
    pub fn split(&self, separator: Option<&str>) -> Vec<SignatureTemplate> {
        let Some(sep) = separator.filter(|s| !s.is_empty()) else {
            return vec![self.clone()];
        };
        let mut items = vec![SignatureTemplate { parts: Vec::new() }];
        for part in &self.parts {
            match part {
                Part::Lit(text) => {
                    let mut pieces = text.split(sep);
                    if let Some(first) = pieces.next() {
                        push_lit(items.last_mut().expect("never empty"), first);
                    }
                    for piece in pieces {
                        let mut item = SignatureTemplate { parts: Vec::new() };
                        push_lit(&mut item, piece);
                        items.push(item);
                    }
                }
                other => items
                    .last_mut()
                    .expect("never empty")
                    .parts
                    .push(other.clone()),
            }
        }
        items.retain(|t| !t.parts.is_empty());
        items
    }

    /// Matches `text` against this template: literal text case-insensitively
    /// (RFC 7235 auth scheme names are), each placeholder capturing up to the
    /// next literal. Returns the captures in placeholder order, or `None`.
    pub fn captures<'a>(&self, text: &'a str) -> Option<Vec<(Part, &'a str)>> {
        let mut out = Vec::new();
        let mut rest = text;
        let mut parts = self.parts.iter().peekable();
        while let Some(part) = parts.next() {
            match part {
                Part::Lit(lit) => {
                    let head = rest.get(..lit.len())?;
                    if !head.eq_ignore_ascii_case(lit) {
                        return None;
                    }
                    rest = &rest[lit.len()..];
                }
                placeholder => {
                    let end = match parts.peek() {
                        Some(Part::Lit(next)) => find_ignore_case(rest, next)?,
                        // Two placeholders in a row cannot be told apart;
                        // `check` refuses such value templates.
                        Some(_) => return None,
                        None => rest.len(),
                    };
                    out.push((placeholder.clone(), &rest[..end]));
                    rest = &rest[end..];
                }
            }
        }
        rest.is_empty().then_some(out)
    }
}

fn push_lit(t: &mut SignatureTemplate, text: &str) {
    if text.is_empty() {
        return;
    }
    match t.parts.last_mut() {
        Some(Part::Lit(prev)) => prev.push_str(text),
        _ => t.parts.push(Part::Lit(text.to_string())),
    }
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    (0..=haystack.len().checked_sub(needle.len())?).find(|&i| {
        haystack
            .get(i..i + needle.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(needle))
    })
}

impl fmt::Display for SignatureTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Lit(text) => f.write_str(&text.replace('{', "{{").replace('}', "}}"))?,
                other => f.write_str(other.placeholder().unwrap_or_default())?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for SignatureTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

impl TryFrom<String> for SignatureTemplate {
    type Error = SchemeError;
    fn try_from(text: String) -> Result<SignatureTemplate, SchemeError> {
        SignatureTemplate::parse(&text)
    }
}

impl From<SignatureTemplate> for String {
    fn from(t: SignatureTemplate) -> String {
        t.to_string()
    }
}

/// One way a scheme signs: algorithm, key, encoding and how the signature
/// is written in the header (`v1,{sig}`). A scheme has one, or several
/// chosen by the secret's prefix (Standard Webhooks: `v1` HMAC for `whsec_`
/// secrets, `v1a` ed25519 for `whsk_`/`whpk_` keys).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Version {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// How the key is derived from the secret.
    pub key: KeySpec,
    /// How signature bytes are written (ignored by [`Algorithm::Token`]).
    pub encoding: Encoding,
    /// The header value with `{sig}` for the signature; may carry `{ts}`
    /// (`t={ts},v1={sig}`). With a separator, the item holding `{sig}` is
    /// repeated once per signature during rotation.
    pub value: SignatureTemplate,
}

/// Where the timestamp travels and how old it may be.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimestampSpec {
    /// The header carrying it; `None` when it travels inside the signature
    /// value (`t={ts},...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Its unit on the wire.
    pub unit: TimeUnit,
    /// How old (and, with `future`, how far ahead) it may be, in seconds;
    /// `None`: the timestamp is signed but the sender documents no window
    /// (Discord), so a receiver need not bound it and no case tests one.
    pub tolerance_secs: Option<i64>,
    /// Whether a timestamp further ahead than the tolerance is refused too
    /// (Standard Webhooks: yes; Paddle's SDK: no).
    pub future: bool,
}

/// A timestamp's unit on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeUnit {
    /// UNIX seconds.
    Seconds,
    /// UNIX milliseconds.
    Millis,
}

/// A declared signing scheme; see the module documentation.
///
/// A profile has two encodings: the code-defined providers' constructors
/// (`crate::builtin`) and the provider file a user writes (read by the
/// harness). The serde form here is neither: it is the compact JSON in
/// which this crate's tests declare schemes, and the one thing a profile
/// still derives serde for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SigningScheme {
    /// The ways it signs, the default first; a secret starting with another
    /// version's key prefix selects that version.
    pub versions: Vec<Version>,
    /// The signed content (`{id}.{ts}.{body}`); unused by [`Algorithm::Token`].
    pub signed: SignatureTemplate,
    /// The header carrying the message id, if the scheme has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_header: Option<String>,
    /// How the message id is written (in its header and `{id}`).
    #[serde(default, skip_serializing_if = "MessageIdForm::is_message")]
    pub id_form: MessageIdForm,
    /// Where the timestamp travels, if the scheme has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<TimestampSpec>,
    /// The header carrying the signature.
    pub header: String,
    /// What separates several signatures in the header during key rotation
    /// (`" "`, `","`, `";"`); `None`: one signature only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    /// Headers sent unchanged with every delivery.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub static_headers: Vec<(String, String)>,
    /// Whether the sender may put entries of other signature versions
    /// beside its own during rotation (Stripe's `v0`, Standard Webhooks'
    /// `v1a` next to `v1`), which receivers must skip; `false` for a sender
    /// that documents one version only (Paddle's `h1`, whose Python SDK
    /// refuses any other key), so no receiver is failed for refusing them.
    #[serde(default = "other_versions_sent", skip_serializing_if = "Clone::clone")]
    pub other_versions: bool,
}

fn other_versions_sent() -> bool {
    true
}

/// How a scheme writes its message ids (in `{id}` and the id header). (How
/// a body's id slot is written is [`crate::template::IdForm`].)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageIdForm {
    /// `msg_<32 hex>`, as hookstorm makes them (Standard Webhooks, Svix).
    #[default]
    Message,
    /// The same 128 bits as a GUID, `8-4-4-4-12` lowercase hex (GitHub's
    /// `X-GitHub-Delivery`, Shopify's `X-Shopify-Webhook-Id`, PagerDuty's
    /// `X-Webhook-Id`), for receivers that store or parse it as a UUID.
    Uuid,
}

impl MessageIdForm {
    fn is_message(&self) -> bool {
        *self == MessageIdForm::Message
    }

    /// `msg_id` in this form, written into `buf` when it changes: a
    /// `msg_<32 hex>` id becomes a GUID of the same digits, so one message
    /// id is one GUID (re-sends keep it); any other id is kept as it is.
    pub fn write<'a>(self, msg_id: &'a str, buf: &'a mut [u8; 36]) -> &'a str {
        let hex = match (self, msg_id.strip_prefix("msg_")) {
            (MessageIdForm::Uuid, Some(hex))
                if hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                hex.as_bytes()
            }
            _ => return msg_id,
        };
        let mut at = 0;
        for (i, &b) in hex.iter().enumerate() {
            if matches!(i, 8 | 12 | 16 | 20) {
                buf[at] = b'-';
                at += 1;
            }
            buf[at] = b.to_ascii_lowercase();
            at += 1;
        }
        // Only ASCII was written.
        std::str::from_utf8(&buf[..]).unwrap_or(msg_id)
    }
}

/// Something a declared scheme may not say.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SchemeError {
    /// A template that does not parse.
    #[error("template `{template}`: {detail}")]
    SignatureTemplate {
        /// The template text.
        template: String,
        /// What is wrong.
        detail: String,
    },
    /// A declaration that parses but cannot work.
    #[error("{0}")]
    Invalid(String),
}

fn invalid(detail: impl Into<String>) -> SchemeError {
    SchemeError::Invalid(detail.into())
}

/// A header name is an RFC 9110 token.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl SigningScheme {
    /// The default version (the first).
    pub fn default_version(&self) -> &Version {
        &self.versions[0]
    }

    /// The version a secret selects: the one whose key prefix (or public
    /// key prefix) starts it, else the default.
    pub fn version_for(&self, secret: &str) -> &Version {
        self.versions
            .iter()
            .find(|v| {
                [&v.key.prefix, &v.key.public_prefix]
                    .into_iter()
                    .flatten()
                    .any(|p| secret.starts_with(p.as_str()))
            })
            .unwrap_or_else(|| self.default_version())
    }

    /// Whether the delivery carries a message id.
    pub fn uses_message_id(&self) -> bool {
        self.id_header.is_some()
            || self.signed.uses(&Part::Id)
            || self.versions.iter().any(|v| v.value.uses(&Part::Id))
    }

    /// Whether the signature covers the body (a token does not).
    pub fn covers_body(&self) -> bool {
        self.signed.uses(&Part::Body)
            && self
                .versions
                .iter()
                .all(|v| v.algorithm != Algorithm::Token)
    }

    /// Whether several signatures can travel at once (key rotation).
    pub fn rotates(&self) -> bool {
        self.separator.as_deref().is_some_and(|s| !s.is_empty())
    }

    /// The value template's items (split at the separator).
    pub fn items(&self, version: &Version) -> Vec<SignatureTemplate> {
        version.value.split(self.separator.as_deref())
    }

    /// A short noun for messages: "HMAC-SHA256 signatures in `x-sig`".
    pub fn noun(&self) -> String {
        let v = self.default_version();
        match v.algorithm {
            Algorithm::Token => format!("tokens in `{}`", self.header),
            alg => format!("{} signatures in `{}`", alg.name(), self.header),
        }
    }

    /// Checks that the declaration can work: at least one version, header
    /// names that are tokens, each value template holding `{sig}` once (in
    /// one item, next to no other placeholder), timestamps declared where
    /// templates use them and carried somewhere, and key forms that fit the
    /// algorithm.
    pub fn check(&self) -> Result<(), SchemeError> {
        if self.versions.is_empty() {
            return Err(invalid("a scheme needs at least one version"));
        }
        for (what, name) in [
            Some(("signature header", &self.header)),
            self.id_header.as_ref().map(|h| ("id header", h)),
            self.timestamp
                .as_ref()
                .and_then(|t| t.header.as_ref())
                .map(|h| ("timestamp header", h)),
        ]
        .into_iter()
        .flatten()
        {
            if !is_header_name(name) {
                return Err(invalid(format!("{what} `{name}` is not a header name")));
            }
        }
        for (name, value) in &self.static_headers {
            if !is_header_name(name) {
                return Err(invalid(format!(
                    "static header `{name}` is not a header name"
                )));
            }
            if value.bytes().any(|b| b.is_ascii_control()) {
                return Err(invalid(format!(
                    "static header `{name}` has a control character in its value"
                )));
            }
        }
        if self.signed.uses(&Part::Sig) {
            return Err(invalid("the signed content cannot contain `{sig}`"));
        }
        let uses_ts = |t: &SignatureTemplate| t.uses(&Part::Ts) || t.uses(&Part::TsMs);
        if self.timestamp.is_none()
            && (uses_ts(&self.signed) || self.versions.iter().any(|v| uses_ts(&v.value)))
        {
            return Err(invalid(
                "a template uses `{ts}` but the scheme declares no `timestamp`",
            ));
        }
        if let Some(ts) = &self.timestamp {
            if ts.tolerance_secs.is_some_and(|t| t < 0) {
                return Err(invalid("the timestamp tolerance cannot be negative"));
            }
            if ts.header.is_none() && !self.versions.iter().all(|v| uses_ts(&v.value)) {
                return Err(invalid(
                    "the timestamp has no header, so the signature value must carry it (`t={ts},v1={sig}`)",
                ));
            }
        }
        if self.id_header.is_none() && self.signed.uses(&Part::Id) {
            return Err(invalid(
                "the signed content uses `{id}` but the scheme declares no id header",
            ));
        }
        for v in &self.versions {
            self.check_version(v)?;
        }
        Ok(())
    }

    fn check_version(&self, v: &Version) -> Result<(), SchemeError> {
        let value = v.value.to_string();
        let sigs = v.value.parts().iter().filter(|p| **p == Part::Sig).count();
        if sigs != 1 {
            return Err(invalid(format!(
                "the value template `{value}` must contain `{{sig}}` exactly once"
            )));
        }
        for part in v.value.parts() {
            if matches!(part, Part::Body | Part::Method | Part::Url) {
                return Err(invalid(format!(
                    "the value template `{value}` may only use {{sig}}, {{ts}}, {{ts_ms}} and {{id}}"
                )));
            }
        }
        for item in self.items(v) {
            let placeholders: Vec<_> = item
                .parts()
                .iter()
                .filter(|p| !matches!(p, Part::Lit(_)))
                .collect();
            if placeholders.len() > 1 {
                return Err(invalid(format!(
                    "`{item}` in the value template `{value}` holds two placeholders a receiver cannot tell apart; put the separator between them"
                )));
            }
        }
        if v.algorithm == Algorithm::Token {
            if v.key.form != KeyForm::Raw || v.key.prefix.is_some() {
                return Err(invalid(
                    "a token is the secret itself: its key form is `raw`",
                ));
            }
        } else if v.algorithm.is_hmac() && v.key.public_prefix.is_some() {
            return Err(invalid("an HMAC key has no public half (`public_prefix`)"));
        }
        Ok(())
    }
}

/// JWT algorithms the FusionAuth signer supports with a shared secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtAlg {
    /// HMAC-SHA256.
    HS256,
    /// HMAC-SHA384.
    HS384,
    /// HMAC-SHA512.
    HS512,
}

impl JwtAlg {
    /// The name written in the JWT `alg` header (`HS256`).
    pub fn name(self) -> &'static str {
        match self {
            JwtAlg::HS256 => "HS256",
            JwtAlg::HS384 => "HS384",
            JwtAlg::HS512 => "HS512",
        }
    }
}

/// A signature scheme: a declared [`SigningScheme`] (every built-in but
/// FusionAuth's is one), or FusionAuth's signature JWT.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// A template known to parse (the built-ins' literals).
pub(crate) fn template(text: &str) -> SignatureTemplate {
    SignatureTemplate::parse(text).unwrap_or_else(|_| SignatureTemplate {
        parts: vec![Part::Lit(text.to_string())],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_id_form_writes_the_message_ids_bits_as_a_guid() {
        let mut buf = [0u8; 36];
        assert_eq!(
            MessageIdForm::Uuid.write("msg_217B4EBCb84f4736b1ee222182aed371", &mut buf),
            "217b4ebc-b84f-4736-b1ee-222182aed371"
        );
        // Ids not made by hookstorm, and the message form, stay as given.
        for id in ["msg_1", "evt_217b4ebcb84f4736b1ee222182aed371", ""] {
            assert_eq!(MessageIdForm::Uuid.write(id, &mut buf), id);
        }
        let id = "msg_217b4ebcb84f4736b1ee222182aed371";
        assert_eq!(MessageIdForm::Message.write(id, &mut buf), id);
    }

    #[test]
    fn templates_parse_print_and_refuse_unknown_placeholders() {
        let t = SignatureTemplate::parse("{id}.{ts}.{body}").unwrap();
        assert_eq!(
            t.parts(),
            &[
                Part::Id,
                Part::Lit(".".into()),
                Part::Ts,
                Part::Lit(".".into()),
                Part::Body
            ]
        );
        assert_eq!(t.to_string(), "{id}.{ts}.{body}");
        assert_eq!(
            SignatureTemplate::parse("a{{b}}").unwrap().to_string(),
            "a{{b}}"
        );
        let err = SignatureTemplate::parse("{nope}").unwrap_err().to_string();
        assert!(err.contains("unknown placeholder `{nope}`"), "{err}");
        assert!(SignatureTemplate::parse("{ts").is_err());
    }

    #[test]
    fn value_templates_split_and_match() {
        let stripe = SignatureTemplate::parse("t={ts},v1={sig}").unwrap();
        let items = stripe.split(Some(","));
        assert_eq!(
            items.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["t={ts}", "v1={sig}"]
        );
        assert_eq!(items[1].captures("v1=abc"), Some(vec![(Part::Sig, "abc")]));
        assert_eq!(items[1].captures("v0=abc"), None);
        let bearer = SignatureTemplate::parse("Bearer {sig}").unwrap();
        assert_eq!(
            bearer.captures("bearer tok"),
            Some(vec![(Part::Sig, "tok")])
        );
        assert_eq!(bearer.captures("Basic tok"), None);
    }

    #[test]
    fn declarations_that_cannot_work_are_refused() {
        let mut s = SigningScheme::authgear("x-sig");
        s.signed = SignatureTemplate::parse("{ts}.{body}").unwrap();
        assert!(s
            .check()
            .unwrap_err()
            .to_string()
            .contains("no `timestamp`"));
        let mut s = SigningScheme::authgear("x sig");
        assert!(s.check().is_err());
        s.header = "x-sig".into();
        s.versions[0].value = SignatureTemplate::parse("{sig}{sig}").unwrap();
        assert!(s.check().is_err());
        s.versions[0].value = SignatureTemplate::parse("{sig}").unwrap();
        s.timestamp = Some(TimestampSpec {
            header: None,
            unit: TimeUnit::Seconds,
            tolerance_secs: Some(300),
            future: true,
        });
        assert!(s.check().unwrap_err().to_string().contains("must carry it"));
        s.versions[0].value = SignatureTemplate::parse("{ts}{sig}").unwrap();
        assert!(s
            .check()
            .unwrap_err()
            .to_string()
            .contains("cannot tell apart"));
        s.versions[0].value = SignatureTemplate::parse("t={ts},v1={sig}").unwrap();
        s.separator = Some(",".into());
        assert_eq!(s.check(), Ok(()));
    }
}
