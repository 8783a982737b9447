//! Signing and verifying deliveries: the configured [`Secret`], the
//! [`Signer`] the load emitter calls once per request, and the [`Verifier`]
//! the reference receiver calls once per request, for every [`Scheme`].
//!
//! What each scheme puts on the wire, and where the facts come from:
//! - Authgear: `x-authgear-body-signature` = lowercase hex HMAC-SHA256(secret,
//!   raw body), no timestamp (authgear/authgear-server
//!   `pkg/util/crypto/hmac_sha256.go`, authgear/docs
//!   `customization/events-hooks/webhooks.md`).
//! - FusionAuth: `X-FusionAuth-Signature-JWT`, a JWS whose header is
//!   `{"alg":..,"typ":"JWT","kid":..}` (fusionauth-jwt `JWTEncoder` +
//!   `domain/Header.java` field order) and whose only claim is
//!   `request_body_sha256` = padded std base64 of SHA-256(raw body); no `iat`
//!   or `exp` (FusionAuth's `WebhookEventSender.jwtSignature` adds that one
//!   claim; the docs page `extend/events-and-webhooks/signing.mdx` shows the
//!   same one-claim payload). The HMAC key is the secret's UTF-8 bytes.
//! - Standard Webhooks v1 (`webhook-id`, `webhook-timestamp`,
//!   `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{body}")>`)
//!   and `v1a` (ed25519 over the same string, `whsk_`/`whpk_` keys), as the
//!   standard-webhooks reference libraries do; Infrahub uses the same headers
//!   with the secret's raw UTF-8 bytes as the key (opsmill/infrahub
//!   `backend/infrahub/webhook/models.py`).
//! - Bearer: `Authorization: Bearer <secret>`.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha384, Sha512};
use thiserror::Error;

use crate::error::Error;
use crate::provider::{JwtAlg, KeyForm, Scheme};
use crate::template::fmt_i64;

type HmacSha256 = Hmac<Sha256>;

/// How far a Standard Webhooks timestamp may be from the receiver's clock,
/// in seconds, either way (the Standard Webhooks reference library's value).
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 300;

/// Standard Webhooks message id header.
pub const WEBHOOK_ID: &str = "webhook-id";
/// Standard Webhooks timestamp header (UNIX seconds).
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// Standard Webhooks signature header (space-separated `version,signature` list).
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";
/// The header a bearer token travels in.
pub const AUTHORIZATION: &str = "Authorization";

/// Prefix of a Standard Webhooks symmetric secret.
pub const WHSEC_PREFIX: &str = "whsec_";
/// Prefix of a Standard Webhooks ed25519 secret key (a base64 32-byte seed).
pub const WHSK_PREFIX: &str = "whsk_";
/// Prefix of a Standard Webhooks ed25519 public key.
pub const WHPK_PREFIX: &str = "whpk_";

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

/// A keyed HMAC state for one of the JWT algorithms; cloned per use so the
/// key schedule is computed once.
#[derive(Clone)]
enum JwtMac {
    Hs256(Hmac<Sha256>),
    Hs384(Hmac<Sha384>),
    Hs512(Hmac<Sha512>),
}

impl JwtMac {
    fn new(alg: JwtAlg, key: &[u8]) -> JwtMac {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail;
        // the fallback keeps this free of `unwrap` all the same.
        match alg {
            JwtAlg::HS256 => JwtMac::Hs256(
                Hmac::new_from_slice(key).unwrap_or_else(|_| Hmac::new(&Default::default())),
            ),
            JwtAlg::HS384 => JwtMac::Hs384(
                Hmac::new_from_slice(key).unwrap_or_else(|_| Hmac::new(&Default::default())),
            ),
            JwtAlg::HS512 => JwtMac::Hs512(
                Hmac::new_from_slice(key).unwrap_or_else(|_| Hmac::new(&Default::default())),
            ),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            JwtMac::Hs256(m) => m.update(data),
            JwtMac::Hs384(m) => m.update(data),
            JwtMac::Hs512(m) => m.update(data),
        }
    }

    /// Writes the tag into `out` and returns its length (32, 48 or 64).
    fn finalize_into(self, out: &mut [u8; 64]) -> usize {
        match self {
            JwtMac::Hs256(m) => copy_tag(&m.finalize().into_bytes(), out),
            JwtMac::Hs384(m) => copy_tag(&m.finalize().into_bytes(), out),
            JwtMac::Hs512(m) => copy_tag(&m.finalize().into_bytes(), out),
        }
    }

    /// Constant-time comparison of the tag with `tag`.
    fn verify(self, tag: &[u8]) -> bool {
        match self {
            JwtMac::Hs256(m) => m.verify_slice(tag).is_ok(),
            JwtMac::Hs384(m) => m.verify_slice(tag).is_ok(),
            JwtMac::Hs512(m) => m.verify_slice(tag).is_ok(),
        }
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

/// The key material of a Standard-Webhooks-style scheme.
#[derive(Clone)]
enum StandardKey {
    /// `v1`: HMAC-SHA256 with the derived key.
    Hmac(HmacSha256),
    /// `v1a`: ed25519; the signing half is absent for a `whpk_` public key.
    Ed25519 {
        signing: Option<Box<SigningKey>>,
        verifying: VerifyingKey,
    },
}

/// Everything precomputed from (scheme, secret).
#[derive(Clone)]
enum Key {
    Authgear {
        header: String,
        mac: HmacSha256,
    },
    Fusionauth {
        header: String,
        alg: JwtAlg,
        kid: String,
        /// `base64url(header) + "."`, the start of every token we sign.
        prefix: String,
        /// Keyed state with `prefix` already absorbed (signing hot path).
        /// Boxed to keep `Key` small; cloned out of the box (onto the
        /// stack) per signature, so the box costs no allocation per call.
        prefixed: Box<JwtMac>,
        /// Keyed state with nothing absorbed (verifying someone's token).
        keyed: Box<JwtMac>,
    },
    Standard(StandardKey),
    Bearer {
        /// `Bearer <token>`.
        header_value: String,
        /// HMAC under [`BEARER_COMPARE_KEY`] of the expected token, so a
        /// presented token is compared in constant time via `verify_slice`.
        tag: [u8; 32],
    },
}

/// A fixed key used only to compare bearer tokens in constant time: both
/// tokens are MACed under it and the tags compared with `verify_slice`.
const BEARER_COMPARE_KEY: &[u8] = b"hookstorm bearer comparison";

fn invalid(detail: impl Into<String>) -> Error {
    Error::InvalidSecret {
        detail: detail.into(),
    }
}

fn decode_32(b64: &str, what: &str) -> Result<[u8; 32], Error> {
    let bytes = STANDARD
        .decode(b64)
        .map_err(|e| invalid(format!("{what} is not valid base64: {e}")))?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        invalid(format!(
            "{what} must decode to 32 bytes, got {}",
            bytes.len()
        ))
    })
}

fn standard_key(key_form: KeyForm, secret: &str) -> Result<StandardKey, Error> {
    match key_form {
        // Infrahub signs with `shared_key.encode()`: whatever the string is,
        // its bytes are the key, prefixes included.
        KeyForm::RawUtf8 => Ok(StandardKey::Hmac(hmac_sha256(secret.as_bytes()))),
        KeyForm::Base64Whsec => {
            if let Some(seed) = secret.strip_prefix(WHSK_PREFIX) {
                let signing = SigningKey::from_bytes(&decode_32(seed, "whsk_ secret key")?);
                let verifying = signing.verifying_key();
                Ok(StandardKey::Ed25519 {
                    signing: Some(Box::new(signing)),
                    verifying,
                })
            } else if let Some(public) = secret.strip_prefix(WHPK_PREFIX) {
                let verifying =
                    VerifyingKey::from_bytes(&decode_32(public, "whpk_ public key")?)
                        .map_err(|_| invalid("whpk_ public key is not a valid ed25519 point"))?;
                Ok(StandardKey::Ed25519 {
                    signing: None,
                    verifying,
                })
            } else {
                // The reference libraries strip an optional `whsec_` and
                // base64-decode the rest.
                let b64 = secret.strip_prefix(WHSEC_PREFIX).unwrap_or(secret);
                let key = STANDARD
                    .decode(b64)
                    .map_err(|e| invalid(format!("whsec_ secret is not valid base64: {e}")))?;
                if key.is_empty() {
                    return Err(invalid("whsec_ secret decodes to an empty key"));
                }
                Ok(StandardKey::Hmac(hmac_sha256(&key)))
            }
        }
    }
}

fn build_key(scheme: &Scheme, secret: &Secret) -> Result<Key, Error> {
    let s = secret.expose();
    // An empty key "signs" with no secret at all; refuse it rather than
    // produce signatures any receiver could forge.
    if s.is_empty() {
        return Err(invalid("the secret is empty"));
    }
    Ok(match scheme {
        Scheme::AuthgearBody { header } => Key::Authgear {
            header: header.clone(),
            mac: hmac_sha256(s.as_bytes()),
        },
        Scheme::FusionauthJwt { header, alg, kid } => {
            let json = serde_json::json!({"alg": jwt_alg_name(*alg), "typ": "JWT", "kid": kid});
            let prefix = format!("{}.", URL_SAFE_NO_PAD.encode(json.to_string()));
            let keyed = JwtMac::new(*alg, s.as_bytes());
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
        Scheme::StandardWebhooks { key_form } => Key::Standard(standard_key(*key_form, s)?),
        Scheme::Bearer => {
            // The token is written verbatim into a header line: a control
            // character would split or corrupt the request.
            if s.bytes().any(|b| b.is_ascii_control()) || s.trim() != s {
                return Err(invalid(
                    "a bearer token must not contain control characters or surrounding spaces",
                ));
            }
            Key::Bearer {
                header_value: format!("Bearer {s}"),
                tag: bearer_tag(s.as_bytes()),
            }
        }
    })
}

fn bearer_tag(token: &[u8]) -> [u8; 32] {
    hmac_sha256(BEARER_COMPARE_KEY)
        .chain_update(token)
        .finalize()
        .into_bytes()
        .into()
}

/// Signs deliveries for one (scheme, secret) pair. Everything that does not
/// depend on the body is computed once in [`Signer::new`]; each signature
/// clones a keyed HMAC state, so signing is one pass over the body.
#[derive(Clone)]
pub struct Signer {
    scheme: Scheme,
    key: Key,
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
    /// the scheme cannot use (bad base64 after `whsec_`, a `whpk_` public
    /// key, an empty secret, a bearer token with control characters).
    pub fn new(scheme: &Scheme, secret: &Secret) -> Result<Signer, Error> {
        let key = build_key(scheme, secret)?;
        if let Key::Standard(StandardKey::Ed25519 { signing: None, .. }) = key {
            return Err(invalid("a whpk_ public key can verify but not sign"));
        }
        Ok(Signer {
            scheme: scheme.clone(),
            key,
        })
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
        matches!(self.key, Key::Standard(_))
    }

    /// Same headers written as `Name: value\r\n` lines into `out` (hot path,
    /// no per-call allocation besides buffer growth, except `v1a` ed25519
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
    /// Webhooks signs `{id}.{ts}.{body}`) or nothing (bearer).
    pub fn absorb_prefix(&self, prefix: &[u8]) -> Option<BodyPrefix> {
        let state = match &self.key {
            Key::Authgear { mac, .. } => PrefixState::Hmac(mac.clone().chain_update(prefix)),
            Key::Fusionauth { .. } => PrefixState::Sha256(Sha256::new().chain_update(prefix)),
            Key::Standard(_) | Key::Bearer { .. } => return None,
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
            Key::Authgear { header, mac } => {
                let tag = match resume {
                    Some(BodyPrefix {
                        state: PrefixState::Hmac(absorbed),
                        len,
                    }) => absorbed.clone().chain_update(&body[*len..]),
                    _ => mac.clone().chain_update(body),
                }
                .finalize()
                .into_bytes();
                start_line(out, header);
                hex_lower_into(&tag, out);
                out.extend_from_slice(b"\r\n");
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
                let mut mac = JwtMac::clone(prefixed);
                mac.update(&out[payload_at..]);
                out.push(b'.');
                let mut tag = [0u8; 64];
                let n = mac.finalize_into(&mut tag);
                b64_into(&URL_SAFE_NO_PAD, &tag[..n], out);
                out.extend_from_slice(b"\r\n");
            }
            Key::Standard(key) => {
                let mut ts_buf = [0u8; 20];
                let ts = fmt_i64(timestamp, &mut ts_buf);
                start_line(out, WEBHOOK_ID);
                out.extend_from_slice(msg_id.as_bytes());
                out.extend_from_slice(b"\r\n");
                start_line(out, WEBHOOK_TIMESTAMP);
                out.extend_from_slice(ts);
                out.extend_from_slice(b"\r\n");
                start_line(out, WEBHOOK_SIGNATURE);
                match key {
                    StandardKey::Hmac(mac) => {
                        let tag = mac
                            .clone()
                            .chain_update(msg_id.as_bytes())
                            .chain_update(b".")
                            .chain_update(ts)
                            .chain_update(b".")
                            .chain_update(body)
                            .finalize()
                            .into_bytes();
                        out.extend_from_slice(b"v1,");
                        b64_into(&STANDARD, &tag, out);
                    }
                    StandardKey::Ed25519 { signing, .. } => {
                        if let Some(signing) = signing {
                            let sig = signing.sign(&signed_content(msg_id, ts, body));
                            out.extend_from_slice(b"v1a,");
                            b64_into(&STANDARD, &sig.to_bytes(), out);
                        }
                    }
                }
                out.extend_from_slice(b"\r\n");
            }
            Key::Bearer { header_value, .. } => {
                start_line(out, AUTHORIZATION);
                out.extend_from_slice(header_value.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
    }
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
    /// Authgear: the keyed HMAC's inner hash after the prefix.
    Hmac(HmacSha256),
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

/// `{id}.{ts}.{body}`, the string both Standard Webhooks versions sign.
fn signed_content(msg_id: &str, ts: &[u8], body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(msg_id.len() + ts.len() + body.len() + 2);
    m.extend_from_slice(msg_id.as_bytes());
    m.push(b'.');
    m.extend_from_slice(ts);
    m.push(b'.');
    m.extend_from_slice(body);
    m
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

impl Verifier {
    /// Derives the verifying key; unlike [`Signer::new`] this also accepts a
    /// Standard Webhooks `whpk_` public key.
    pub fn new(scheme: &Scheme, secret: &Secret) -> Result<Verifier, Error> {
        Ok(Verifier {
            key: build_key(scheme, secret)?,
        })
    }

    /// Checks the signature headers of one delivery against its raw `body`.
    /// `header` must look names up case-insensitively (HTTP header names are).
    pub fn verify(
        &self,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        now_unix: i64,
    ) -> Result<Verified, VerifyError> {
        match &self.key {
            Key::Authgear { header: name, mac } => {
                let sig = present(header, name)?;
                verify_authgear(mac, sig.trim(), body)?;
                Ok(Verified {
                    message_id: None,
                    timestamp: None,
                })
            }
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
            Key::Standard(key) => verify_standard(key, header, body, now_unix),
            Key::Bearer { tag, .. } => {
                let value = present(header, AUTHORIZATION)?;
                let (scheme, token) = value.trim().split_once(' ').ok_or(VerifyError::Malformed)?;
                // RFC 7235: the auth scheme name is case-insensitive.
                if !scheme.eq_ignore_ascii_case("bearer") {
                    return Err(VerifyError::Malformed);
                }
                hmac_sha256(BEARER_COMPARE_KEY)
                    .chain_update(token.trim().as_bytes())
                    .verify_slice(tag)
                    .map_err(|_| VerifyError::Mismatch)?;
                Ok(Verified {
                    message_id: None,
                    timestamp: None,
                })
            }
        }
    }
}

/// Authgear sends `hex.EncodeToString(..)`, always lowercase, and its docs
/// (authgear/docs `customization/events-hooks/webhooks.md`, every language
/// tab) compare the header *string* with the lowercase hex they compute:
/// `subtle.ConstantTimeCompare(sigInHeader, sig)`. A receiver written from
/// the docs therefore refuses uppercase hex, and so does this one; the
/// comparison itself is done in constant time on the decoded bytes, which is
/// equivalent once the string is known to be lowercase hex.
fn verify_authgear(mac: &HmacSha256, sig: &str, body: &[u8]) -> Result<(), VerifyError> {
    if sig.len() != 64 || !sig.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(VerifyError::Malformed);
    }
    if sig.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(VerifyError::Mismatch);
    }
    let tag = hex::decode(sig).map_err(|_| VerifyError::Malformed)?;
    mac.clone()
        .chain_update(body)
        .verify_slice(&tag)
        .map_err(|_| VerifyError::Mismatch)
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
    keyed: &JwtMac,
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

fn verify_standard(
    key: &StandardKey,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
    now_unix: i64,
) -> Result<Verified, VerifyError> {
    let id = present(header, WEBHOOK_ID)?;
    let ts_raw = present(header, WEBHOOK_TIMESTAMP)?;
    let sigs = present(header, WEBHOOK_SIGNATURE)?;
    let ts: i64 = ts_raw.trim().parse().map_err(|_| VerifyError::Malformed)?;
    // Timestamp before signature, in the reference library's order.
    if now_unix.saturating_sub(ts) > TIMESTAMP_TOLERANCE_SECS {
        return Err(VerifyError::Stale);
    }
    if ts > now_unix.saturating_add(TIMESTAMP_TOLERANCE_SECS) {
        return Err(VerifyError::Future);
    }
    let mut ts_buf = [0u8; 20];
    let ts_bytes = fmt_i64(ts, &mut ts_buf);
    let entries: Vec<(&str, &str)> = sigs
        .split(' ')
        .filter(|e| !e.is_empty())
        .filter_map(|e| e.split_once(','))
        .collect();
    if entries.is_empty() {
        return Err(VerifyError::Malformed);
    }
    // Several signatures (key rotation): any valid one is enough; versions
    // this key cannot check are skipped.
    let matched = match key {
        StandardKey::Hmac(mac) => {
            let keyed = mac
                .clone()
                .chain_update(id.as_bytes())
                .chain_update(b".")
                .chain_update(ts_bytes)
                .chain_update(b".")
                .chain_update(body);
            entries.iter().any(|(version, sig)| {
                *version == "v1"
                    && STANDARD
                        .decode(sig)
                        .is_ok_and(|tag| keyed.clone().verify_slice(&tag).is_ok())
            })
        }
        StandardKey::Ed25519 { verifying, .. } => {
            let content = signed_content(&id, ts_bytes, body);
            entries.iter().any(|(version, sig)| {
                *version == "v1a"
                    && STANDARD
                        .decode(sig)
                        .ok()
                        .and_then(|raw| Signature::from_slice(&raw).ok())
                        .is_some_and(|sig| verifying.verify_strict(&content, &sig).is_ok())
            })
        }
    };
    if !matched {
        return Err(VerifyError::Mismatch);
    }
    Ok(Verified {
        message_id: Some(id),
        timestamp: Some(ts),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(headers: &[(String, String)]) -> impl Fn(&str) -> Option<String> + '_ {
        move |name| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        }
    }

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
                Scheme::AuthgearBody {
                    header: "x-authgear-body-signature".into(),
                },
                Secret::new("s3cret".into()),
            ),
            (fusionauth(JwtAlg::HS256), Secret::new("s3cret".into())),
            (fusionauth(JwtAlg::HS384), Secret::new("s3cret".into())),
            (fusionauth(JwtAlg::HS512), Secret::new("s3cret".into())),
            (
                Scheme::StandardWebhooks {
                    key_form: KeyForm::Base64Whsec,
                },
                Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
            ),
            (
                Scheme::StandardWebhooks {
                    key_form: KeyForm::Base64Whsec,
                },
                Secret::new(format!("whsk_{}", STANDARD.encode([7u8; 32]))),
            ),
            (
                Scheme::StandardWebhooks {
                    key_form: KeyForm::RawUtf8,
                },
                Secret::new("whsec_not-base64!".into()),
            ),
            (Scheme::Bearer, Secret::new("tok-en".into())),
        ]
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s:?} {s}"), "[redacted] [redacted]");
        let signer = Signer::new(&Scheme::Bearer, &s).unwrap();
        assert!(!format!("{signer:?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn unusable_secrets_are_refused() {
        let sw = Scheme::StandardWebhooks {
            key_form: KeyForm::Base64Whsec,
        };
        for bad in ["whsec_not base64!", "whsec_", "", "whsk_AAAA", "whpk_!!"] {
            let err = Signer::new(&sw, &Secret::new(bad.into())).unwrap_err();
            assert!(matches!(err, Error::InvalidSecret { .. }), "{bad}");
        }
        let public = STANDARD.encode(SigningKey::from_bytes(&[3; 32]).verifying_key().as_bytes());
        let public = Secret::new(format!("whpk_{public}"));
        assert!(Signer::new(&sw, &public).is_err());
        assert!(Verifier::new(&sw, &public).is_ok());
        assert!(Signer::new(&Scheme::Bearer, &Secret::new("a\r\nX-Evil: 1".into())).is_err());
        // Infrahub takes any string as raw key bytes, base64 or not.
        let raw = Scheme::StandardWebhooks {
            key_form: KeyForm::RawUtf8,
        };
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
            let ok = verify(&scheme, &secret, &lookup(&headers), body, 1_700_000_010);
            assert!(ok.is_ok(), "{scheme:?}: {ok:?}");
            let bad = verify(&scheme, &secret, &lookup(&headers), b"{}", 1_700_000_010);
            // A bearer token does not cover the body; every other scheme does.
            assert_eq!(bad.is_err(), scheme != Scheme::Bearer, "{scheme:?}");
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
            assert!(verify(&scheme, &secret, &lookup(&upper), b"x", 5).is_ok());
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
        let v = verify(&scheme, &secret, &lookup(&headers), b"{}", 1300).unwrap();
        assert_eq!(v.message_id.as_deref(), Some("msg_x"));
        assert_eq!(v.timestamp, Some(1000));
        let at = |now| verify(&scheme, &secret, &lookup(&headers), b"{}", now);
        assert_eq!(at(1301), Err(VerifyError::Stale));
        assert_eq!(at(699), Err(VerifyError::Future));
        assert!(at(700).is_ok());
        let mut junk = headers.clone();
        junk[1].1 = "soon".into();
        assert_eq!(
            verify(&scheme, &secret, &lookup(&junk), b"{}", 1000),
            Err(VerifyError::Malformed)
        );
        junk = headers.clone();
        junk[2].1 = "nocomma".into();
        assert_eq!(
            verify(&scheme, &secret, &lookup(&junk), b"{}", 1000),
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
            verify(&scheme, &secret, &lookup(&h), b"x", i64::MAX),
            Err(VerifyError::Stale)
        );
        let h = signer.sign(b"x", "m", i64::MAX);
        assert_eq!(
            verify(&scheme, &secret, &lookup(&h), b"x", i64::MIN),
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
                &lookup(&h512),
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
        assert!(verify(&Scheme::Bearer, &secret, &lookup(&h("bearer tok")), b"", 0).is_ok());
        assert_eq!(
            verify(&Scheme::Bearer, &secret, &lookup(&h("Basic tok")), b"", 0),
            Err(VerifyError::Malformed)
        );
        assert_eq!(
            verify(&Scheme::Bearer, &secret, &lookup(&h("Bearer to")), b"", 0),
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
