//! FusionAuth's signature JWT, a scheme of its own rather than a declared
//! [`crate::SigningScheme`]:
//! - `X-FusionAuth-Signature-JWT`, a JWS whose header is
//!   `{"alg":..,"typ":"JWT","kid":..}` (fusionauth-jwt `JWTEncoder` +
//!   `domain/Header.java` field order) and whose only claim is
//!   `request_body_sha256` = padded std base64 of SHA-256(raw body); no `iat`
//!   or `exp` (FusionAuth's `WebhookEventSender.jwtSignature` adds that one
//!   claim; the docs page `extend/events-and-webhooks/signing.mdx` shows the
//!   same one-claim payload). The HMAC key is the secret's UTF-8 bytes.
//!
//! Hand-written rather than through a JWT library: signing resumes from a
//! keyed state that has already absorbed the constant header, and the body
//! hash from a pooled body's constant prefix (see `crate::sign`).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::VerifyError;
use crate::key::Mac;
use crate::scheme::JwtAlg;
use crate::text::push_base64;

/// Writes the token for a body whose SHA-256 is `digest`: `prefix` (the
/// encoded header and its dot), the encoded claim, a dot and the encoded
/// HMAC of both under `prefixed` (the keyed state that has absorbed
/// `prefix`).
pub(crate) fn write_token(prefix: &str, prefixed: &Mac, digest: &[u8], out: &mut Vec<u8>) {
    let claims = body_hash_claims(digest);
    out.extend_from_slice(prefix.as_bytes());
    let payload_at = out.len();
    push_base64(&URL_SAFE_NO_PAD, &claims, out);
    let mut mac = Mac::clone(prefixed);
    mac.update(&out[payload_at..]);
    out.push(b'.');
    let mut tag = [0u8; 64];
    let n = mac.finalize_into(&mut tag);
    push_base64(&URL_SAFE_NO_PAD, &tag[..n], out);
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

/// A JWS part decoded to the JSON object it must be.
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

/// Checks `token` against `body`: the configured algorithm and key id
/// only, then the HMAC under `keyed`, then the body hash claim.
pub(crate) fn verify_token(
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
    if claimed != alg.name() {
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
