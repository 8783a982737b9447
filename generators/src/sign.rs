//! Signing and verifying deliveries: the configured [`Secret`], the
//! [`Signer`] the load emitter calls once per request, and the [`Verifier`]
//! the reference receiver calls once per request, for every [`Scheme`].
//!
//! A declared [`SigningScheme`] (Authgear, Standard Webhooks, Infrahub and
//! bearer tokens are built-in ones; see `crate::scheme` for their sources)
//! is interpreted here: its key is derived once, its signed-content
//! template is fed piece by piece into the keyed state, and its value
//! template is written around the encoded signature. FusionAuth's JWT is a
//! scheme of its own:
//! - `X-FusionAuth-Signature-JWT`, a JWS whose header is
//!   `{"alg":..,"typ":"JWT","kid":..}` (fusionauth-jwt `JWTEncoder` +
//!   `domain/Header.java` field order) and whose only claim is
//!   `request_body_sha256` = padded std base64 of SHA-256(raw body); no `iat`
//!   or `exp` (FusionAuth's `WebhookEventSender.jwtSignature` adds that one
//!   claim; the docs page `extend/events-and-webhooks/signing.mdx` shows the
//!   same one-claim payload). The HMAC key is the secret's UTF-8 bytes.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac as _};
use sha2::{Digest, Sha256, Sha384, Sha512};
use thiserror::Error;

use crate::error::Error;
use crate::provider::{JwtAlg, Scheme};
use crate::scheme::{
    Algorithm, Encoding, KeyForm, Part, SigningScheme, Template, TimeUnit, Version,
};
use crate::template::fmt_i64;

pub use crate::scheme::TIMESTAMP_TOLERANCE_SECS;

type HmacSha256 = Hmac<Sha256>;

/// The method every delivery is sent with, as `{method}` signs it.
pub const DELIVERY_METHOD: &str = "POST";

/// The configured secret: kept out of every `Debug`/`Display` so it never
/// reaches a log line or a report.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps the configured secret string.
    pub fn new(secret: String) -> Secret {
        Secret(secret)
    }

    /// The secret itself, for the code that derives keys from it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The name FusionAuth writes in the JWT `alg` header for `alg`.
pub fn jwt_alg_name(alg: JwtAlg) -> &'static str {
    match alg {
        JwtAlg::HS256 => "HS256",
        JwtAlg::HS384 => "HS384",
        JwtAlg::HS512 => "HS512",
    }
}

/// A keyed HMAC state of one of the supported widths; cloned per use so the
/// key schedule is computed once.
#[derive(Clone)]
enum Mac {
    Sha1(Hmac<sha1::Sha1>),
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
    Sha512(Hmac<Sha512>),
}

/// Which HMAC.
#[derive(Clone, Copy)]
enum MacKind {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Mac {
    fn new(kind: MacKind, key: &[u8]) -> Mac {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail;
        // the fallback keeps this free of `unwrap` all the same.
        match kind {
            MacKind::Sha1 => Mac::Sha1(
                Hmac::new_from_slice(key).unwrap_or_else(|_| Hmac::new(&Default::default())),
            ),
            MacKind::Sha256 => Mac::Sha256(
                Hmac::new_from_slice(key).unwrap_or_else(|_| Hmac::new(&Default::default())),
            ),
            MacKind::Sha384 => Mac::Sha384(
                Hmac::new_from_slice(key).unwrap_or_else(|_| Hmac::new(&Default::default())),
            ),
            MacKind::Sha512 => Mac::Sha512(
                Hmac::new_from_slice(key).unwrap_or_else(|_| Hmac::new(&Default::default())),
            ),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Mac::Sha1(m) => m.update(data),
            Mac::Sha256(m) => m.update(data),
            Mac::Sha384(m) => m.update(data),
            Mac::Sha512(m) => m.update(data),
        }
    }

    /// Writes the tag into `out` and returns its length (20 to 64).
    fn finalize_into(self, out: &mut [u8; 64]) -> usize {
        match self {
            Mac::Sha1(m) => copy_tag(&m.finalize().into_bytes(), out),
            Mac::Sha256(m) => copy_tag(&m.finalize().into_bytes(), out),
            Mac::Sha384(m) => copy_tag(&m.finalize().into_bytes(), out),
            Mac::Sha512(m) => copy_tag(&m.finalize().into_bytes(), out),
        }
    }

    /// Constant-time comparison of the tag with `tag`.
    fn verify(self, tag: &[u8]) -> bool {
        match self {
            Mac::Sha1(m) => m.verify_slice(tag).is_ok(),
            Mac::Sha256(m) => m.verify_slice(tag).is_ok(),
            Mac::Sha384(m) => m.verify_slice(tag).is_ok(),
            Mac::Sha512(m) => m.verify_slice(tag).is_ok(),
        }
    }
}

fn jwt_mac_kind(alg: JwtAlg) -> MacKind {
    match alg {
        JwtAlg::HS256 => MacKind::Sha256,
        JwtAlg::HS384 => MacKind::Sha384,
        JwtAlg::HS512 => MacKind::Sha512,
    }
}

fn copy_tag(tag: &[u8], out: &mut [u8; 64]) -> usize {
    let n = tag.len().min(out.len());
    out[..n].copy_from_slice(&tag[..n]);
    n
}

fn hmac_sha256(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| HmacSha256::new(&Default::default()))
}

/// The key material of one version of a declared scheme.
#[derive(Clone)]
enum Material {
    Hmac(Mac),
    /// The signing half is absent for a public key.
    Ed25519 {
        signing: Option<Box<SigningKey>>,
        verifying: VerifyingKey,
    },
    /// The signing half is absent for a public key.
    Ecdsa {
        signing: Option<Box<p256::ecdsa::SigningKey>>,
        verifying: Box<p256::ecdsa::VerifyingKey>,
    },
    Token {
        /// The token as sent.
        value: String,
        /// HMAC under [`TOKEN_COMPARE_KEY`] of the token, so a presented
        /// token is compared in constant time via `verify_slice`.
        tag: [u8; 32],
    },
}

impl Material {
    fn can_sign(&self) -> bool {
        match self {
            Material::Ed25519 { signing, .. } => signing.is_some(),
            Material::Ecdsa { signing, .. } => signing.is_some(),
            Material::Hmac(_) | Material::Token { .. } => true,
        }
    }
}

/// A declared scheme with its key derived.
#[derive(Clone)]
struct Declared {
    scheme: SigningScheme,
    /// Index of the version the secret selected.
    version: usize,
    material: Material,
    /// Each version's value template split into items (parsing headers).
    items: Vec<Vec<Template>>,
    /// Whether deliveries carry the message id (asked once per request by
    /// the load emitter, so computed once here).
    uses_message_id: bool,
    /// Whether the scheme has a timestamp: only then is it formatted per
    /// signature.
    timed: bool,
}

impl Declared {
    fn version(&self) -> &Version {
        &self.scheme.versions[self.version]
    }
}

/// Everything precomputed from (scheme, secret).
#[derive(Clone)]
enum Key {
    /// Boxed: it is much larger than the JWT key.
    Declared(Box<Declared>),
    Fusionauth {
        header: String,
        alg: JwtAlg,
        kid: String,
        /// `base64url(header) + "."`, the start of every token we sign.
        prefix: String,
        /// Keyed state with `prefix` already absorbed (signing hot path).
        /// Boxed to keep `Key` small; cloned out of the box (onto the
        /// stack) per signature, so the box costs no allocation per call.
        prefixed: Box<Mac>,
        /// Keyed state with nothing absorbed (verifying someone's token).
        keyed: Box<Mac>,
    },
}

/// A fixed key used only to compare tokens in constant time: both tokens
/// are MACed under it and the tags compared with `verify_slice`.
const TOKEN_COMPARE_KEY: &[u8] = b"hookstorm bearer comparison";

fn invalid(detail: impl Into<String>) -> Error {
    Error::InvalidSecret {
        detail: detail.into(),
    }
}

fn exact_32(bytes: &[u8], what: &str) -> Result<[u8; 32], Error> {
    <[u8; 32]>::try_from(bytes).map_err(|_| {
        invalid(format!(
            "{what} must decode to 32 bytes, got {}",
            bytes.len()
        ))
    })
}

/// The key bytes of `version` in `secret`, and whether they are a public key.
fn key_bytes(version: &Version, secret: &str) -> Result<(Vec<u8>, bool, String), Error> {
    let spec = &version.key;
    let public = spec
        .public_prefix
        .as_deref()
        .and_then(|p| secret.strip_prefix(p).map(|rest| (p, rest)));
    let (prefix, rest, is_public) = match public {
        Some((p, rest)) => (Some(p), rest, true),
        // The Standard Webhooks libraries strip an optional `whsec_`.
        None => match spec.prefix.as_deref() {
            Some(p) => match secret.strip_prefix(p) {
                Some(rest) => (Some(p), rest, false),
                None => (None, secret, false),
            },
            None => (None, secret, false),
        },
    };
    let what = match prefix {
        Some(p) => format!("the {p} secret"),
        None => "the secret".to_string(),
    };
    let bytes = match spec.form {
        KeyForm::Raw => rest.as_bytes().to_vec(),
        KeyForm::Hex => {
            hex::decode(rest).map_err(|e| invalid(format!("{what} is not valid hex: {e}")))?
        }
        KeyForm::Base64 => STANDARD
            .decode(rest)
            .map_err(|e| invalid(format!("{what} is not valid base64: {e}")))?,
    };
    if bytes.is_empty() {
        return Err(invalid(format!("{what} decodes to an empty key")));
    }
    Ok((bytes, is_public, what))
}

fn declared_key(scheme: &SigningScheme, secret: &str) -> Result<Declared, Error> {
    let selected = scheme.version_for(secret);
    let version = scheme
        .versions
        .iter()
        .position(|v| std::ptr::eq(v, selected))
        .unwrap_or(0);
    let v = &scheme.versions[version];
    let (bytes, is_public, what) = key_bytes(v, secret)?;
    let material = match v.algorithm {
        Algorithm::HmacSha1 => Material::Hmac(Mac::new(MacKind::Sha1, &bytes)),
        Algorithm::HmacSha256 => Material::Hmac(Mac::new(MacKind::Sha256, &bytes)),
        Algorithm::HmacSha512 => Material::Hmac(Mac::new(MacKind::Sha512, &bytes)),
        Algorithm::Ed25519 if is_public => Material::Ed25519 {
            signing: None,
            verifying: VerifyingKey::from_bytes(&exact_32(&bytes, &what)?)
                .map_err(|_| invalid(format!("{what} is not a valid ed25519 point")))?,
        },
        Algorithm::Ed25519 => {
            let signing = SigningKey::from_bytes(&exact_32(&bytes, &what)?);
            Material::Ed25519 {
                verifying: signing.verifying_key(),
                signing: Some(Box::new(signing)),
            }
        }
        Algorithm::EcdsaP256 if is_public => Material::Ecdsa {
            signing: None,
            verifying: Box::new(
                p256::ecdsa::VerifyingKey::from_sec1_bytes(&bytes)
                    .map_err(|_| invalid(format!("{what} is not a SEC1 P-256 public key")))?,
            ),
        },
        Algorithm::EcdsaP256 => {
            let signing = p256::ecdsa::SigningKey::from_slice(&exact_32(&bytes, &what)?)
                .map_err(|_| invalid(format!("{what} is not a P-256 private scalar")))?;
            Material::Ecdsa {
                verifying: Box::new(*signing.verifying_key()),
                signing: Some(Box::new(signing)),
            }
        }
        Algorithm::Token => {
            // The token is written verbatim into a header line: a control
            // character would split or corrupt the request.
            if secret.bytes().any(|b| b.is_ascii_control()) || secret.trim() != secret {
                return Err(invalid(
                    "a token must not contain control characters or surrounding spaces",
                ));
            }
            Material::Token {
                value: secret.to_string(),
                tag: token_tag(secret.as_bytes()),
            }
        }
    };
    let items = scheme.versions.iter().map(|v| scheme.items(v)).collect();
    Ok(Declared {
        scheme: scheme.clone(),
        version,
        material,
        items,
        uses_message_id: scheme.uses_message_id(),
        timed: scheme.timestamp.is_some(),
    })
}

fn build_key(scheme: &Scheme, secret: &Secret) -> Result<Key, Error> {
    let s = secret.expose();
    // An empty key "signs" with no secret at all; refuse it rather than
    // produce signatures any receiver could forge.
    if s.is_empty() {
        return Err(invalid("the secret is empty"));
    }
    Ok(match scheme {
        Scheme::Signed(declared) => Key::Declared(Box::new(declared_key(declared, s)?)),
        Scheme::FusionauthJwt { header, alg, kid } => {
            let json = serde_json::json!({"alg": jwt_alg_name(*alg), "typ": "JWT", "kid": kid});
            let prefix = format!("{}.", URL_SAFE_NO_PAD.encode(json.to_string()));
            let keyed = Mac::new(jwt_mac_kind(*alg), s.as_bytes());
            let mut prefixed = keyed.clone();
            prefixed.update(prefix.as_bytes());
            Key::Fusionauth {
                header: header.clone(),
                alg: *alg,
                kid: kid.clone(),
                prefix,
                prefixed: Box::new(prefixed),
                keyed: Box::new(keyed),
            }
        }
    })
}

fn token_tag(token: &[u8]) -> [u8; 32] {
    hmac_sha256(TOKEN_COMPARE_KEY)
        .chain_update(token)
        .finalize()
        .into_bytes()
        .into()
}

/// The values a template's placeholders stand for in one delivery.
struct Fields<'a> {
    id: &'a [u8],
    ts: &'a [u8],
    ts_ms: &'a [u8],
    body: &'a [u8],
    method: &'a [u8],
    url: &'a [u8],
}

impl Fields<'_> {
    /// The bytes `part` stands for (`{sig}` stands for nothing here).
    fn of<'p>(&'p self, part: &'p Part) -> &'p [u8] {
        match part {
            Part::Lit(text) => text.as_bytes(),
            Part::Id => self.id,
            Part::Ts => self.ts,
            Part::TsMs => self.ts_ms,
            Part::Body => self.body,
            Part::Method => self.method,
            Part::Url => self.url,
            Part::Sig => b"",
        }
    }
}

/// Feeds the signed content to `update`, skipping the first `skip` bytes of
/// the body when the template starts with it (a resumed prefix).
fn feed(template: &Template, fields: &Fields<'_>, skip: usize, mut update: impl FnMut(&[u8])) {
    for (i, part) in template.parts().iter().enumerate() {
        let bytes = fields.of(part);
        if i == 0 && *part == Part::Body {
            update(&bytes[skip.min(bytes.len())..]);
        } else {
            update(bytes);
        }
    }
}

/// The signed content in one piece (the asymmetric algorithms need it so).
fn content(template: &Template, fields: &Fields<'_>) -> Vec<u8> {
    let mut m = Vec::with_capacity(fields.body.len() + 64);
    feed(template, fields, 0, |b| m.extend_from_slice(b));
    m
}

fn encode_into(encoding: Encoding, bytes: &[u8], out: &mut Vec<u8>) {
    match encoding {
        Encoding::Hex => hex_lower_into(bytes, out),
        Encoding::Base64 => b64_into(&STANDARD, bytes, out),
        Encoding::Base64url => b64_into(&URL_SAFE_NO_PAD, bytes, out),
    }
}

/// Decodes a presented signature; hex must be lowercase, as every sender
/// writes it and as receivers written from the docs compare the string.
fn decode(encoding: Encoding, text: &str) -> Option<Vec<u8>> {
    match encoding {
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

/// Writes the encoded signature of one delivery into `out`.
fn write_signature(
    k: &Declared,
    fields: &Fields<'_>,
    resume: Option<&BodyPrefix>,
    out: &mut Vec<u8>,
) {
    let v = k.version();
    match &k.material {
        Material::Hmac(mac) => {
            let (mut state, skip) = match resume {
                Some(BodyPrefix {
                    state: PrefixState::Hmac(absorbed),
                    len,
                }) => (Mac::clone(absorbed), *len),
                _ => (mac.clone(), 0),
            };
            feed(&k.scheme.signed, fields, skip, |b| state.update(b));
            let mut tag = [0u8; 64];
            let n = state.finalize_into(&mut tag);
            encode_into(v.encoding, &tag[..n], out);
        }
        Material::Ed25519 { signing, .. } => {
            if let Some(signing) = signing {
                let sig = signing.sign(&content(&k.scheme.signed, fields));
                encode_into(v.encoding, &sig.to_bytes(), out);
            }
        }
        Material::Ecdsa { signing, .. } => {
            if let Some(signing) = signing {
                let sig: p256::ecdsa::Signature = signing.sign(&content(&k.scheme.signed, fields));
                encode_into(v.encoding, sig.to_der().as_bytes(), out);
            }
        }
        Material::Token { value, .. } => out.extend_from_slice(value.as_bytes()),
    }
}

/// Writes `item` (a value template or one of its items) with `sig` for
/// `{sig}`.
fn write_item(item: &Template, fields: &Fields<'_>, sig: &[u8], out: &mut Vec<u8>) {
    for part in item.parts() {
        match part {
            Part::Sig => out.extend_from_slice(sig),
            other => out.extend_from_slice(fields.of(other)),
        }
    }
}

/// Signs deliveries for one (scheme, secret) pair. Everything that does not
/// depend on the body is computed once in [`Signer::new`]; each signature
/// clones a keyed HMAC state, so signing is one pass over the body.
#[derive(Clone)]
pub struct Signer {
    scheme: Scheme,
    key: Key,
    /// The URL `{url}` signs (the target deliveries go to).
    url: String,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Derives the signing key of `scheme` from `secret`; fails on a secret
    /// the scheme cannot use (bad base64 after `whsec_`, a public key, an
    /// empty secret, a token with control characters).
    pub fn new(scheme: &Scheme, secret: &Secret) -> Result<Signer, Error> {
        let key = build_key(scheme, secret)?;
        if let Key::Declared(k) = &key {
            if !k.material.can_sign() {
                return Err(invalid("a public key can verify but not sign"));
            }
        }
        Ok(Signer {
            scheme: scheme.clone(),
            key,
            url: String::new(),
        })
    }

    /// The same signer for deliveries to `url`, which schemes signing
    /// `{url}` cover (others ignore it).
    pub fn at_url(mut self, url: &str) -> Signer {
        self.url = url.to_string();
        self
    }

    /// The scheme this signer signs for.
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The headers that sign `body` (msg_id/timestamp used by schemes that carry them).
    pub fn sign(&self, body: &[u8], msg_id: &str, timestamp: i64) -> Vec<(String, String)> {
        let mut raw = Vec::with_capacity(256);
        self.sign_into(body, msg_id, timestamp, &mut raw);
        // One implementation, two shapes: parse back the lines `sign_into`
        // wrote so both can never disagree.
        String::from_utf8_lossy(&raw)
            .split("\r\n")
            .filter_map(|line| line.split_once(": "))
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// Whether the signed headers carry the message id (Standard Webhooks'
    /// `webhook-id`); other schemes ignore `msg_id`, so a hot path need not
    /// format one for them.
    pub fn uses_message_id(&self) -> bool {
        match &self.key {
            Key::Declared(k) => k.uses_message_id,
            Key::Fusionauth { .. } => false,
        }
    }

    /// Same headers written as `Name: value\r\n` lines into `out` (hot path,
    /// no per-call allocation besides buffer growth, except asymmetric
    /// signing, which needs the signed string in one piece).
    ///
    /// `msg_id` is written verbatim and must be a valid header value.
    pub fn sign_into(&self, body: &[u8], msg_id: &str, timestamp: i64, out: &mut Vec<u8>) {
        self.sign_resumed_into(None, body, msg_id, timestamp, out);
    }

    /// The keyed state with `prefix` absorbed, for schemes whose hashed
    /// input starts with the body (Authgear's HMAC, FusionAuth's body
    /// hash): a body that starts with `prefix` is then signed by hashing
    /// only the rest ([`sign_resumed_into`](Self::sign_resumed_into)).
    /// `None` for schemes that hash something else first (Standard
    /// Webhooks signs `{id}.{ts}.{body}`), sign asymmetrically, or send a
    /// token.
    pub fn absorb_prefix(&self, prefix: &[u8]) -> Option<BodyPrefix> {
        let state = match &self.key {
            Key::Declared(k) => match (&k.material, k.scheme.signed.parts().first()) {
                (Material::Hmac(mac), Some(Part::Body)) => {
                    let mut absorbed = mac.clone();
                    absorbed.update(prefix);
                    PrefixState::Hmac(Box::new(absorbed))
                }
                _ => return None,
            },
            Key::Fusionauth { .. } => PrefixState::Sha256(Sha256::new().chain_update(prefix)),
        };
        Some(BodyPrefix {
            state,
            len: prefix.len(),
        })
    }

    /// As [`sign_into`](Self::sign_into), resuming from `prefix` (made by
    /// [`absorb_prefix`](Self::absorb_prefix) of this signer) when given:
    /// `body` must start with the bytes it absorbed. Same headers, less
    /// hashing: on a pooled event whose slots come last, a few blocks
    /// instead of the whole body.
    pub fn sign_resumed_into(
        &self,
        prefix: Option<&BodyPrefix>,
        body: &[u8],
        msg_id: &str,
        timestamp: i64,
        out: &mut Vec<u8>,
    ) {
        debug_assert!(!msg_id.bytes().any(|b| b == b'\r' || b == b'\n'));
        // A prefix longer than the body cannot be its start: hash it all.
        let resume = prefix.filter(|p| p.len <= body.len());
        match &self.key {
            Key::Declared(k) => {
                let mut ts_buf = [0u8; 20];
                let mut ms_buf = [0u8; 20];
                // `check` refuses templates using `{ts}` without a timestamp.
                let (ts, ts_ms): (&[u8], &[u8]) = if k.timed {
                    (
                        fmt_i64(timestamp, &mut ts_buf),
                        fmt_i64(timestamp.saturating_mul(1000), &mut ms_buf),
                    )
                } else {
                    (b"", b"")
                };
                let mut id_buf = [0u8; 36];
                let msg_id = k.scheme.id_form.write(msg_id, &mut id_buf);
                let fields = Fields {
                    id: msg_id.as_bytes(),
                    ts,
                    ts_ms,
                    body,
                    method: DELIVERY_METHOD.as_bytes(),
                    url: self.url.as_bytes(),
                };
                let scheme = &k.scheme;
                if let Some(name) = &scheme.id_header {
                    start_line(out, name);
                    out.extend_from_slice(fields.id);
                    out.extend_from_slice(b"\r\n");
                }
                if let Some(ts) = &scheme.timestamp {
                    if let Some(name) = &ts.header {
                        start_line(out, name);
                        out.extend_from_slice(match ts.unit {
                            TimeUnit::Seconds => fields.ts,
                            TimeUnit::Millis => fields.ts_ms,
                        });
                        out.extend_from_slice(b"\r\n");
                    }
                }
                start_line(out, &scheme.header);
                for part in k.version().value.parts() {
                    match part {
                        Part::Sig => write_signature(k, &fields, resume, out),
                        other => out.extend_from_slice(fields.of(other)),
                    }
                }
                out.extend_from_slice(b"\r\n");
                for (name, value) in &scheme.static_headers {
                    start_line(out, name);
                    out.extend_from_slice(value.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
            }
            Key::Fusionauth {
                header,
                prefix,
                prefixed,
                ..
            } => {
                let digest = match resume {
                    Some(BodyPrefix {
                        state: PrefixState::Sha256(absorbed),
                        len,
                    }) => absorbed.clone().chain_update(&body[*len..]).finalize(),
                    _ => Sha256::digest(body),
                };
                let claims = body_hash_claims(&digest);
                start_line(out, header);
                out.extend_from_slice(prefix.as_bytes());
                let payload_at = out.len();
                b64_into(&URL_SAFE_NO_PAD, &claims, out);
                let mut mac = Mac::clone(prefixed);
                mac.update(&out[payload_at..]);
                out.push(b'.');
                let mut tag = [0u8; 64];
                let n = mac.finalize_into(&mut tag);
                b64_into(&URL_SAFE_NO_PAD, &tag[..n], out);
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// A declared scheme's parts for the hostile cases: the scheme, the
    /// selected version, and its signature of `body` encoded alone.
    pub(crate) fn declared_signature(
        &self,
        body: &[u8],
        msg_id: &str,
        timestamp: i64,
    ) -> Option<(&SigningScheme, &Version, String)> {
        let Key::Declared(k) = &self.key else {
            return None;
        };
        let mut ts_buf = [0u8; 20];
        let mut ms_buf = [0u8; 20];
        let mut id_buf = [0u8; 36];
        let fields = Fields {
            id: k.scheme.id_form.write(msg_id, &mut id_buf).as_bytes(),
            ts: fmt_i64(timestamp, &mut ts_buf),
            ts_ms: fmt_i64(timestamp.saturating_mul(1000), &mut ms_buf),
            body,
            method: DELIVERY_METHOD.as_bytes(),
            url: self.url.as_bytes(),
        };
        let mut sig = Vec::new();
        write_signature(k, &fields, None, &mut sig);
        Some((
            &k.scheme,
            k.version(),
            String::from_utf8_lossy(&sig).into_owned(),
        ))
    }
}

/// The signature header value of a declared scheme carrying `sigs` (the
/// item holding `{sig}` once per signature, joined by the separator) and
/// then `extra` items verbatim, for the rotation and truncation cases.
pub(crate) fn render_value(
    scheme: &SigningScheme,
    version: &Version,
    msg_id: &str,
    timestamp: i64,
    sigs: &[String],
    extra: &[String],
) -> String {
    let mut ts_buf = [0u8; 20];
    let mut ms_buf = [0u8; 20];
    let mut id_buf = [0u8; 36];
    let fields = Fields {
        id: scheme.id_form.write(msg_id, &mut id_buf).as_bytes(),
        ts: fmt_i64(timestamp, &mut ts_buf),
        ts_ms: fmt_i64(timestamp.saturating_mul(1000), &mut ms_buf),
        body: b"",
        method: DELIVERY_METHOD.as_bytes(),
        url: b"",
    };
    let sep = scheme.separator.as_deref().unwrap_or("");
    let mut items: Vec<Vec<u8>> = Vec::new();
    for item in scheme.items(version) {
        if item.uses(&Part::Sig) {
            for sig in sigs {
                let mut out = Vec::new();
                write_item(&item, &fields, sig.as_bytes(), &mut out);
                items.push(out);
            }
        } else {
            let mut out = Vec::new();
            write_item(&item, &fields, b"", &mut out);
            items.push(out);
        }
    }
    items.extend(extra.iter().map(|e| e.as_bytes().to_vec()));
    String::from_utf8_lossy(&items.join(sep.as_bytes())).into_owned()
}

/// A signer's hash state after a constant body prefix; see
/// [`Signer::absorb_prefix`].
#[derive(Clone)]
pub struct BodyPrefix {
    state: PrefixState,
    len: usize,
}

impl BodyPrefix {
    /// Bytes absorbed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was absorbed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for BodyPrefix {
    // The state is keyed: show only how much it covers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyPrefix")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
enum PrefixState {
    /// A body-first HMAC scheme (Authgear): the keyed state after the
    /// prefix. Boxed (an HMAC-SHA512 state is 400 bytes); cloned out of the
    /// box onto the stack per signature.
    Hmac(Box<Mac>),
    /// FusionAuth: SHA-256 of the body so far (the JWT claim's input).
    Sha256(Sha256),
}

/// `{"request_body_sha256":"<44 base64 chars>"}`: FusionAuth's only claim,
/// built on the stack (24 + 44 + 2 bytes).
fn body_hash_claims(digest: &[u8]) -> [u8; 70] {
    const HEAD: &[u8] = br#"{"request_body_sha256":""#;
    let mut claims = [0u8; 70];
    claims[..HEAD.len()].copy_from_slice(HEAD);
    // 32 bytes always encode to exactly 44 padded characters.
    let _ = STANDARD.encode_slice(digest, &mut claims[HEAD.len()..HEAD.len() + 44]);
    claims[68] = b'"';
    claims[69] = b'}';
    claims
}

fn start_line(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
}

fn hex_lower_into(bytes: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0x0f)]);
    }
}

fn b64_into<E: Engine>(engine: &E, input: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    // Four output bytes per three input bytes, rounded up, is enough for
    // both padded and unpadded engines.
    out.resize(start + input.len().div_ceil(3) * 4, 0);
    let written = engine.encode_slice(input, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
}

/// What a successful verification learned from the headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The message id header (Standard Webhooks `webhook-id`), if the scheme has one.
    pub message_id: Option<String>,
    /// The signed timestamp (UNIX seconds), if the scheme has one.
    pub timestamp: Option<i64>,
}

/// Why a delivery's signature was refused. `Copy` so a receiver counts
/// these on its hot path without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
pub enum VerifyError {
    /// A header the scheme needs is absent or empty.
    #[error("signature header missing")]
    Missing,
    /// A header is present but cannot be parsed.
    #[error("signature header malformed")]
    Malformed,
    /// Well-formed, but no signature matches the body.
    #[error("signature does not match")]
    Mismatch,
    /// The signed timestamp is older than the tolerance.
    #[error("signature timestamp too old")]
    Stale,
    /// The signed timestamp is further ahead than the tolerance.
    #[error("signature timestamp too far in the future")]
    Future,
    /// The JWT names an algorithm other than the configured one (`none`, RS256, ...).
    #[error("JWT algorithm not allowed")]
    AlgorithmNotAllowed,
    /// The JWT names a key id the receiver does not have, or the receiver's
    /// own secret cannot be used by the scheme.
    #[error("unknown signing key")]
    UnknownKey,
}

impl VerifyError {
    /// Every variant, in declaration order.
    pub const ALL: [VerifyError; 7] = [
        VerifyError::Missing,
        VerifyError::Malformed,
        VerifyError::Mismatch,
        VerifyError::Stale,
        VerifyError::Future,
        VerifyError::AlgorithmNotAllowed,
        VerifyError::UnknownKey,
    ];

    /// A stable kebab-case id for reports and counters.
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyError::Missing => "missing",
            VerifyError::Malformed => "malformed",
            VerifyError::Mismatch => "mismatch",
            VerifyError::Stale => "stale",
            VerifyError::Future => "future",
            VerifyError::AlgorithmNotAllowed => "algorithm-not-allowed",
            VerifyError::UnknownKey => "unknown-key",
        }
    }
}

/// Verifies deliveries for one (scheme, secret) pair; build it once per
/// receiver so the key schedule is not recomputed per request.
#[derive(Clone)]
pub struct Verifier {
    key: Key,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier").finish_non_exhaustive()
    }
}

/// `header(name)` with `name` in any case, or `None` when empty.
fn present(header: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<String, VerifyError> {
    match header(name) {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(VerifyError::Missing),
    }
}

/// The request line a signature may cover (`{method}`, `{url}`).
#[derive(Clone, Copy, Debug)]
pub struct RequestLine<'a> {
    /// The method, e.g. `POST`.
    pub method: &'a str,
    /// The URL the sender addressed (scheme, authority, path and query).
    pub url: &'a str,
}

impl Verifier {
    /// Derives the verifying key; unlike [`Signer::new`] this also accepts a
    /// public key (Standard Webhooks `whpk_`).
    pub fn new(scheme: &Scheme, secret: &Secret) -> Result<Verifier, Error> {
        Ok(Verifier {
            key: build_key(scheme, secret)?,
        })
    }

    /// Checks the signature headers of one delivery against its raw `body`,
    /// as `POST` to an unknown URL. `header` must look names up
    /// case-insensitively (HTTP header names are).
    pub fn verify(
        &self,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        now_unix: i64,
    ) -> Result<Verified, VerifyError> {
        let line = RequestLine {
            method: DELIVERY_METHOD,
            url: "",
        };
        self.verify_request(line, header, body, now_unix)
    }

    /// As [`verify`](Self::verify), for a request to `line` (schemes that
    /// sign `{method}` or `{url}` need it).
    pub fn verify_request(
        &self,
        line: RequestLine<'_>,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        now_unix: i64,
    ) -> Result<Verified, VerifyError> {
        match &self.key {
            Key::Declared(k) => verify_declared(k, line, header, body, now_unix),
            Key::Fusionauth {
                header: name,
                alg,
                kid,
                keyed,
                ..
            } => {
                let token = present(header, name)?;
                verify_fusionauth(*alg, kid, keyed, token.trim(), body)?;
                Ok(Verified {
                    message_id: None,
                    timestamp: None,
                })
            }
        }
    }

    /// The timestamp (UNIX seconds) a delivery claims to be signed at, where
    /// the scheme carries one; `None` when it has none or it cannot be read.
    pub fn claimed_timestamp(&self, header: &dyn Fn(&str) -> Option<String>) -> Option<i64> {
        let Key::Declared(k) = &self.key else {
            return None;
        };
        let value = header(&k.scheme.header).unwrap_or_default();
        let parsed = parse_value(k, &value);
        read_timestamp(k, header, &parsed).ok().flatten()
    }
}

/// What a signature header value says, item by item.
struct ParsedValue<'a> {
    /// Signatures in items of the selected version.
    sigs: Vec<&'a str>,
    /// The timestamp carried in the value and whether it is in milliseconds.
    ts: Option<(&'a str, bool)>,
    /// Whether any item has the shape of one of the scheme's versions (an
    /// entry of a version this key cannot check is skipped, not malformed).
    shaped: bool,
}

fn parse_value<'a>(k: &Declared, value: &'a str) -> ParsedValue<'a> {
    let mut parsed = ParsedValue {
        sigs: Vec::new(),
        ts: None,
        shaped: false,
    };
    let value = value.trim();
    let items: Vec<&str> = match k.scheme.separator.as_deref().filter(|s| !s.is_empty()) {
        Some(sep) => value.split(sep).collect(),
        None => vec![value],
    };
    for item in items.into_iter().map(str::trim).filter(|i| !i.is_empty()) {
        let mine = k.items[k.version].iter().find_map(|t| t.captures(item));
        if let Some(caps) = mine {
            for (part, text) in caps {
                match part {
                    Part::Sig => {
                        parsed.shaped = true;
                        parsed.sigs.push(text.trim());
                    }
                    Part::Ts => parsed.ts = Some((text.trim(), false)),
                    Part::TsMs => parsed.ts = Some((text.trim(), true)),
                    _ => {}
                }
            }
        } else if k.items.iter().enumerate().any(|(i, items)| {
            i != k.version
                && items
                    .iter()
                    .any(|t| t.uses(&Part::Sig) && t.captures(item).is_some())
        }) {
            parsed.shaped = true;
        }
    }
    parsed
}

/// The signed timestamp in seconds (`None`: the scheme has none).
fn read_timestamp(
    k: &Declared,
    header: &dyn Fn(&str) -> Option<String>,
    parsed: &ParsedValue<'_>,
) -> Result<Option<i64>, VerifyError> {
    let Some(spec) = &k.scheme.timestamp else {
        return Ok(None);
    };
    let (raw, millis) = match &spec.header {
        Some(name) => (present(header, name)?, spec.unit == TimeUnit::Millis),
        None => {
            let (text, millis) = parsed.ts.ok_or(VerifyError::Malformed)?;
            (text.to_string(), millis)
        }
    };
    let n: i64 = raw.trim().parse().map_err(|_| VerifyError::Malformed)?;
    Ok(Some(if millis { n.div_euclid(1000) } else { n }))
}

fn verify_declared(
    k: &Declared,
    line: RequestLine<'_>,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
    now_unix: i64,
) -> Result<Verified, VerifyError> {
    let scheme = &k.scheme;
    // Every header first, then the timestamp, then the signatures: the
    // Standard Webhooks reference library's order.
    let id = match &scheme.id_header {
        Some(name) => Some(present(header, name)?),
        None => None,
    };
    if let Some(name) = scheme.timestamp.as_ref().and_then(|t| t.header.as_ref()) {
        present(header, name)?;
    }
    let value = present(header, &scheme.header)?;
    let parsed = parse_value(k, &value);
    let ts = read_timestamp(k, header, &parsed)?;
    let window = scheme.timestamp.as_ref().and_then(|spec| {
        spec.tolerance_secs
            .map(|tolerance| (tolerance, spec.future))
    });
    if let (Some(ts), Some((tolerance, future))) = (ts, window) {
        if now_unix.saturating_sub(ts) > tolerance {
            return Err(VerifyError::Stale);
        }
        if future && ts > now_unix.saturating_add(tolerance) {
            return Err(VerifyError::Future);
        }
    }
    if !parsed.shaped {
        return Err(VerifyError::Malformed);
    }
    let ts = ts.unwrap_or(0);
    let mut ts_buf = [0u8; 20];
    let mut ms_buf = [0u8; 20];
    let fields = Fields {
        id: id.as_deref().unwrap_or("").as_bytes(),
        ts: fmt_i64(ts, &mut ts_buf),
        ts_ms: fmt_i64(ts.saturating_mul(1000), &mut ms_buf),
        body,
        method: line.method.as_bytes(),
        url: line.url.as_bytes(),
    };
    let encoding = k.version().encoding;
    let signed = &scheme.signed;
    // Several signatures (key rotation): any valid one is enough.
    let matched = match &k.material {
        Material::Hmac(mac) => {
            let mut keyed = mac.clone();
            feed(signed, &fields, 0, |b| keyed.update(b));
            parsed
                .sigs
                .iter()
                .any(|sig| decode(encoding, sig).is_some_and(|tag| keyed.clone().verify(&tag)))
        }
        Material::Ed25519 { verifying, .. } => {
            let content = content(signed, &fields);
            parsed.sigs.iter().any(|sig| {
                decode(encoding, sig)
                    .and_then(|raw| Signature::from_slice(&raw).ok())
                    .is_some_and(|sig| verifying.verify_strict(&content, &sig).is_ok())
            })
        }
        Material::Ecdsa { verifying, .. } => {
            use p256::ecdsa::signature::Verifier as _;
            let content = content(signed, &fields);
            parsed.sigs.iter().any(|sig| {
                decode(encoding, sig)
                    .and_then(|raw| p256::ecdsa::Signature::from_der(&raw).ok())
                    .is_some_and(|sig| verifying.verify(&content, &sig).is_ok())
            })
        }
        Material::Token { tag, .. } => parsed.sigs.iter().any(|token| {
            hmac_sha256(TOKEN_COMPARE_KEY)
                .chain_update(token.as_bytes())
                .verify_slice(tag)
                .is_ok()
        }),
    };
    if !matched {
        return Err(VerifyError::Mismatch);
    }
    Ok(Verified {
        message_id: id,
        timestamp: scheme.timestamp.as_ref().map(|_| ts),
    })
}

fn b64url_json(part: &str) -> Result<serde_json::Value, VerifyError> {
    let raw = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| VerifyError::Malformed)?;
    let value: serde_json::Value =
        serde_json::from_slice(&raw).map_err(|_| VerifyError::Malformed)?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(VerifyError::Malformed)
    }
}

fn verify_fusionauth(
    alg: JwtAlg,
    kid: &str,
    keyed: &Mac,
    token: &str,
    body: &[u8],
) -> Result<(), VerifyError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed);
    };
    let head = b64url_json(h)?;
    let claimed = head
        .get("alg")
        .and_then(|a| a.as_str())
        .ok_or(VerifyError::Malformed)?;
    // Only the configured HMAC algorithm: `none`, an asymmetric algorithm
    // (confusion) or another HMAC width are all refused before any
    // signature check.
    if claimed != jwt_alg_name(alg) {
        return Err(VerifyError::AlgorithmNotAllowed);
    }
    if head.get("kid").and_then(|k| k.as_str()) != Some(kid) {
        return Err(VerifyError::UnknownKey);
    }
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| VerifyError::Malformed)?;
    let mut mac = keyed.clone();
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(p.as_bytes());
    if !mac.verify(&sig) {
        return Err(VerifyError::Mismatch);
    }
    let claims = b64url_json(p)?;
    let hash = claims
        .get("request_body_sha256")
        .and_then(|c| c.as_str())
        .ok_or(VerifyError::Malformed)?;
    // The claim is padded std base64; hex or unpadded forms are not what
    // FusionAuth sends and do not match.
    if hash != STANDARD.encode(Sha256::digest(body)) {
        return Err(VerifyError::Mismatch);
    }
    Ok(())
}

/// Checks one delivery's signature headers. Builds a [`Verifier`] per call;
/// a receiver that verifies many deliveries should keep one instead. A
/// secret the scheme cannot use verifies nothing: [`VerifyError::UnknownKey`].
pub fn verify(
    scheme: &Scheme,
    secret: &Secret,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
    now_unix: i64,
) -> Result<Verified, VerifyError> {
    Verifier::new(scheme, secret)
        .map_err(|_| VerifyError::UnknownKey)?
        .verify(header, body, now_unix)
}

/// The public key a receiver configures to verify what `secret` signs
/// under `scheme`, written as the sender publishes it: the version's public
/// prefix, then the key in the version's key form (Discord's hex,
/// Standard Webhooks' `whpk_` + base64; hex where the form is raw, since
/// key bytes are not text). An Ed25519 key is its 32 bytes (RFC 8032
/// §5.1.5), a P-256 key its uncompressed SEC1 point. `None` for an HMAC
/// or token scheme: its receiver holds the secret itself.
pub fn public_key(scheme: &Scheme, secret: &Secret) -> Result<Option<String>, Error> {
    let Key::Declared(k) = build_key(scheme, secret)? else {
        return Ok(None);
    };
    let bytes = match &k.material {
        Material::Ed25519 { verifying, .. } => verifying.as_bytes().to_vec(),
        Material::Ecdsa { verifying, .. } => verifying.to_encoded_point(false).as_bytes().to_vec(),
        Material::Hmac(_) | Material::Token { .. } => return Ok(None),
    };
    let spec = &k.version().key;
    let key = match spec.form {
        KeyForm::Base64 => STANDARD.encode(&bytes),
        KeyForm::Hex | KeyForm::Raw => hex::encode(&bytes),
    };
    Ok(Some(format!(
        "{}{key}",
        spec.public_prefix.as_deref().unwrap_or_default()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_message_id_exactly_when_the_headers_carry_it() {
        for p in crate::provider::ProviderId::ALL {
            let secret = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into());
            let signer = Signer::new(&p.profile().scheme, &secret).unwrap();
            let mut with = Vec::new();
            signer.sign_into(b"{}", "msg_marker", 1_700_000_000, &mut with);
            let mut without = Vec::new();
            signer.sign_into(b"{}", "", 1_700_000_000, &mut without);
            let carried = String::from_utf8_lossy(&with).contains("msg_marker");
            assert_eq!(signer.uses_message_id(), carried, "{p}");
            // A scheme that ignores the id signs the same bytes without it.
            if !carried {
                assert_eq!(with, without, "{p}");
            }
        }
    }

    fn fusionauth(alg: JwtAlg) -> Scheme {
        Scheme::FusionauthJwt {
            header: "X-FusionAuth-Signature-JWT".into(),
            alg,
            kid: "k1".into(),
        }
    }

    fn all_schemes() -> Vec<(Scheme, Secret)> {
        vec![
            (
                Scheme::authgear("x-authgear-body-signature"),
                Secret::new("s3cret".into()),
            ),
            (fusionauth(JwtAlg::HS256), Secret::new("s3cret".into())),
            (fusionauth(JwtAlg::HS384), Secret::new("s3cret".into())),
            (fusionauth(JwtAlg::HS512), Secret::new("s3cret".into())),
            (
                Scheme::standard_webhooks(),
                Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
            ),
            (
                Scheme::standard_webhooks(),
                Secret::new(format!("whsk_{}", STANDARD.encode([7u8; 32]))),
            ),
            (Scheme::infrahub(), Secret::new("whsec_not-base64!".into())),
            (Scheme::bearer(), Secret::new("tok-en".into())),
        ]
    }

    fn discord_like(tolerance_secs: Option<i64>) -> Scheme {
        Scheme::Signed(SigningScheme {
            versions: vec![Version {
                algorithm: Algorithm::Ed25519,
                key: crate::scheme::KeySpec::plain(KeyForm::Hex),
                encoding: Encoding::Hex,
                value: Template::parse("{sig}").unwrap(),
            }],
            signed: Template::parse("{ts}{body}").unwrap(),
            id_header: None,
            id_form: crate::scheme::IdForm::Message,
            timestamp: Some(crate::scheme::TimestampSpec {
                header: Some("X-Signature-Timestamp".into()),
                unit: TimeUnit::Seconds,
                tolerance_secs,
                future: true,
            }),
            header: "X-Signature-Ed25519".into(),
            separator: None,
            static_headers: Vec::new(),
            other_versions: true,
        })
    }

    #[test]
    fn public_keys_print_as_the_sender_publishes_them() {
        // RFC 8032 §7.1, TEST 1: the secret key (seed) and its public key.
        let seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
        let public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        let discord = discord_like(None);
        assert_eq!(
            public_key(&discord, &Secret::new(seed.into())).unwrap(),
            Some(public.to_string())
        );
        // Standard Webhooks v1a: `whpk_` + base64, and the verifier takes it.
        let sw = Scheme::standard_webhooks();
        let whsk = Secret::new(format!("whsk_{}", STANDARD.encode([7u8; 32])));
        let whpk = public_key(&sw, &whsk).unwrap().unwrap();
        assert!(whpk.starts_with("whpk_"), "{whpk}");
        let d = Signer::new(&sw, &whsk)
            .unwrap()
            .sign(b"{}", "msg_1", 1_700_000_000);
        let v = verify(
            &sw,
            &Secret::new(whpk),
            &crate::header_lookup(&d),
            b"{}",
            1_700_000_000,
        );
        assert!(v.is_ok(), "{v:?}");
        // Symmetric schemes have no public half.
        for (scheme, secret) in all_schemes() {
            if scheme
                .declared()
                .is_some_and(|d| d.version_for(secret.expose()).algorithm != Algorithm::Ed25519)
            {
                assert_eq!(public_key(&scheme, &secret).unwrap(), None);
            }
        }
        assert!(public_key(&discord, &Secret::new("not hex".into())).is_err());
    }

    #[test]
    fn a_timestamp_without_a_window_is_signed_but_never_stale() {
        let secret = Secret::new(hex::encode([5u8; 32]));
        let signed_at = 1_700_000_000;
        for (tolerance, hour_later) in [(None, true), (Some(300), false)] {
            let scheme = discord_like(tolerance);
            let d = Signer::new(&scheme, &secret)
                .unwrap()
                .sign(b"{}", "", signed_at);
            let later = verify(
                &scheme,
                &secret,
                &crate::header_lookup(&d),
                b"{}",
                signed_at + 3_600,
            );
            assert_eq!(later.is_ok(), hour_later, "{tolerance:?}: {later:?}");
            // The timestamp is signed either way: changing it breaks the signature.
            let mut moved = d.clone();
            for (name, value) in &mut moved {
                if name == "X-Signature-Timestamp" {
                    *value = (signed_at + 1).to_string();
                }
            }
            let got = verify(
                &scheme,
                &secret,
                &crate::header_lookup(&moved),
                b"{}",
                signed_at,
            );
            assert_eq!(got.unwrap_err(), VerifyError::Mismatch, "{tolerance:?}");
        }
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        let signer = Signer::new(&Scheme::bearer(), &s).unwrap();
        assert!(!format!("{signer:?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn unusable_secrets_are_refused() {
        let sw = Scheme::standard_webhooks();
        for bad in ["whsec_not base64!", "whsec_", "", "whsk_AAAA", "whpk_!!"] {
            let err = Signer::new(&sw, &Secret::new(bad.into())).unwrap_err();
            assert!(matches!(err, Error::InvalidSecret { .. }), "{bad}");
        }
        let public = STANDARD.encode(SigningKey::from_bytes(&[3; 32]).verifying_key().as_bytes());
        let public = Secret::new(format!("whpk_{public}"));
        assert!(Signer::new(&sw, &public).is_err());
        assert!(Verifier::new(&sw, &public).is_ok());
        assert!(Signer::new(&Scheme::bearer(), &Secret::new("a\r\nX-Evil: 1".into())).is_err());
        // Infrahub takes any string as raw key bytes, base64 or not.
        let raw = Scheme::infrahub();
        assert!(Signer::new(&raw, &Secret::new("whsec_not base64!".into())).is_ok());
    }

    #[test]
    fn sign_and_sign_into_agree_and_verify() {
        let body = br#"{"id":"e1","n":1}"#;
        for (scheme, secret) in all_schemes() {
            let signer = Signer::new(&scheme, &secret).unwrap();
            let headers = signer.sign(body, "msg_1", 1_700_000_000);
            let mut raw = Vec::new();
            signer.sign_into(body, "msg_1", 1_700_000_000, &mut raw);
            let rebuilt: String = headers
                .iter()
                .map(|(n, v)| format!("{n}: {v}\r\n"))
                .collect();
            assert_eq!(rebuilt.as_bytes(), raw.as_slice(), "{scheme:?}");
            let ok = verify(
                &scheme,
                &secret,
                &crate::header_lookup(&headers),
                body,
                1_700_000_010,
            );
            assert!(ok.is_ok(), "{scheme:?}: {ok:?}");
            let bad = verify(
                &scheme,
                &secret,
                &crate::header_lookup(&headers),
                b"{}",
                1_700_000_010,
            );
            // A bearer token does not cover the body; every other scheme does.
            assert_eq!(bad.is_err(), scheme != Scheme::bearer(), "{scheme:?}");
        }
    }

    #[test]
    fn header_lookup_is_case_insensitive_and_missing_is_missing() {
        for (scheme, secret) in all_schemes() {
            let signer = Signer::new(&scheme, &secret).unwrap();
            let upper: Vec<(String, String)> = signer
                .sign(b"x", "msg_1", 5)
                .into_iter()
                .map(|(n, v)| (n.to_uppercase(), v))
                .collect();
            assert!(verify(&scheme, &secret, &crate::header_lookup(&upper), b"x", 5).is_ok());
            assert_eq!(
                verify(&scheme, &secret, &|_| None, b"x", 5),
                Err(VerifyError::Missing)
            );
        }
    }

    #[test]
    fn standard_webhooks_reports_time_and_id() {
        let (scheme, secret) = all_schemes().swap_remove(4);
        let headers = Signer::new(&scheme, &secret)
            .unwrap()
            .sign(b"{}", "msg_x", 1000);
        let v = verify(
            &scheme,
            &secret,
            &crate::header_lookup(&headers),
            b"{}",
            1300,
        )
        .unwrap();
        assert_eq!(v.message_id.as_deref(), Some("msg_x"));
        assert_eq!(v.timestamp, Some(1000));
        let at = |now| {
            verify(
                &scheme,
                &secret,
                &crate::header_lookup(&headers),
                b"{}",
                now,
            )
        };
        assert_eq!(at(1301), Err(VerifyError::Stale));
        assert_eq!(at(699), Err(VerifyError::Future));
        assert!(at(700).is_ok());
        let mut junk = headers.clone();
        junk[1].1 = "soon".into();
        assert_eq!(
            verify(&scheme, &secret, &crate::header_lookup(&junk), b"{}", 1000),
            Err(VerifyError::Malformed)
        );
        junk = headers.clone();
        junk[2].1 = "nocomma".into();
        assert_eq!(
            verify(&scheme, &secret, &crate::header_lookup(&junk), b"{}", 1000),
            Err(VerifyError::Malformed)
        );
    }

    #[test]
    fn negative_and_extreme_timestamps_format_like_display() {
        for v in [0, 7, -7, 1_614_265_330, i64::MAX, i64::MIN] {
            let mut buf = [0u8; 20];
            assert_eq!(fmt_i64(v, &mut buf), v.to_string().as_bytes());
        }
        // Far-away timestamps must not overflow the tolerance arithmetic.
        let (scheme, secret) = all_schemes().swap_remove(4);
        let signer = Signer::new(&scheme, &secret).unwrap();
        let h = signer.sign(b"x", "m", i64::MIN);
        assert_eq!(
            verify(&scheme, &secret, &crate::header_lookup(&h), b"x", i64::MAX),
            Err(VerifyError::Stale)
        );
        let h = signer.sign(b"x", "m", i64::MAX);
        assert_eq!(
            verify(&scheme, &secret, &crate::header_lookup(&h), b"x", i64::MIN),
            Err(VerifyError::Future)
        );
    }

    #[test]
    fn fusionauth_refuses_other_hmac_widths() {
        let secret = Secret::new("s3cret".into());
        let h512 = Signer::new(&fusionauth(JwtAlg::HS512), &secret)
            .unwrap()
            .sign(b"{}", "", 0);
        assert_eq!(
            verify(
                &fusionauth(JwtAlg::HS256),
                &secret,
                &crate::header_lookup(&h512),
                b"{}",
                0
            ),
            Err(VerifyError::AlgorithmNotAllowed)
        );
    }

    #[test]
    fn bearer_scheme_name_is_case_insensitive_and_basic_is_malformed() {
        let secret = Secret::new("tok".into());
        let h = |v: &str| vec![("authorization".to_string(), v.to_string())];
        assert!(verify(
            &Scheme::bearer(),
            &secret,
            &crate::header_lookup(&h("bearer tok")),
            b"",
            0
        )
        .is_ok());
        assert_eq!(
            verify(
                &Scheme::bearer(),
                &secret,
                &crate::header_lookup(&h("Basic tok")),
                b"",
                0
            ),
            Err(VerifyError::Malformed)
        );
        assert_eq!(
            verify(
                &Scheme::bearer(),
                &secret,
                &crate::header_lookup(&h("Bearer to")),
                b"",
                0
            ),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn error_ids_are_distinct() {
        let ids: std::collections::HashSet<_> =
            VerifyError::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(ids.len(), VerifyError::ALL.len());
    }
}
