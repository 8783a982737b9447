//! Key derivation: everything a (scheme, secret) pair is turned into once,
//! before the first signature or verification.
//!
//! [`Key`] is that precomputed value. A declared scheme's [`Material`] is
//! the derived key of the version the secret selected (a keyed HMAC state,
//! an Ed25519 or P-256 key pair or public key, or a bearer token); the
//! [`Mac`] widths are the keyed HMAC states, cloned per use so the key
//! schedule is computed once. [`public_key`] prints the verifying half as a
//! sender publishes it.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::{SigningKey, VerifyingKey};
use hmac::{Hmac, Mac as _};
use sha2::{Sha256, Sha384, Sha512};

use crate::error::Error;
use crate::scheme::{
    Algorithm, JwtAlg, KeyForm, Scheme, SignatureTemplate, SigningScheme, Version,
};
use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// A keyed HMAC state of one of the supported widths; cloned per use so the
/// key schedule is computed once.
#[derive(Clone)]
pub(crate) enum Mac {
    Sha1(Hmac<sha1::Sha1>),
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
    Sha512(Hmac<Sha512>),
}

/// Which HMAC.
#[derive(Clone, Copy)]
pub(crate) enum MacKind {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Mac {
    pub(crate) fn new(kind: MacKind, key: &[u8]) -> Mac {
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

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Mac::Sha1(m) => m.update(data),
            Mac::Sha256(m) => m.update(data),
            Mac::Sha384(m) => m.update(data),
            Mac::Sha512(m) => m.update(data),
        }
    }

    /// Writes the tag into `out` and returns its length (20 to 64).
    pub(crate) fn finalize_into(self, out: &mut [u8; 64]) -> usize {
        match self {
            Mac::Sha1(m) => copy_tag(&m.finalize().into_bytes(), out),
            Mac::Sha256(m) => copy_tag(&m.finalize().into_bytes(), out),
            Mac::Sha384(m) => copy_tag(&m.finalize().into_bytes(), out),
            Mac::Sha512(m) => copy_tag(&m.finalize().into_bytes(), out),
        }
    }

    /// Constant-time comparison of the tag with `tag`.
    pub(crate) fn verify(self, tag: &[u8]) -> bool {
        match self {
            Mac::Sha1(m) => m.verify_slice(tag).is_ok(),
            Mac::Sha256(m) => m.verify_slice(tag).is_ok(),
            Mac::Sha384(m) => m.verify_slice(tag).is_ok(),
            Mac::Sha512(m) => m.verify_slice(tag).is_ok(),
        }
    }
}

pub(crate) fn jwt_mac_kind(alg: JwtAlg) -> MacKind {
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

pub(crate) fn hmac_sha256(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| HmacSha256::new(&Default::default()))
}

/// The key material of one version of a declared scheme: the key alone,
/// derived from the secret by the version's algorithm and key form. It is
/// one part of a [`Key`], which also holds what the scheme needs around it.
#[derive(Clone)]
pub(crate) enum Material {
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
    pub(crate) fn can_sign(&self) -> bool {
        match self {
            Material::Ed25519 { signing, .. } => signing.is_some(),
            Material::Ecdsa { signing, .. } => signing.is_some(),
            Material::Hmac(_) | Material::Token { .. } => true,
        }
    }
}

/// A declared scheme with its key derived: the scheme, the version the
/// secret selected and that version's [`Material`], plus the value
/// templates split into items once.
#[derive(Clone)]
pub(crate) struct Declared {
    pub(crate) scheme: SigningScheme,
    /// Index of the version the secret selected.
    pub(crate) version: usize,
    pub(crate) material: Material,
    /// Each version's value template split into items (parsing headers).
    pub(crate) items: Vec<Vec<SignatureTemplate>>,
    /// Whether deliveries carry the message id (asked once per request by
    /// the load emitter, so computed once here).
    pub(crate) uses_message_id: bool,
    /// Whether the scheme has a timestamp: only then is it formatted per
    /// signature.
    pub(crate) timed: bool,
}

impl Declared {
    pub(crate) fn version(&self) -> &Version {
        &self.scheme.versions[self.version]
    }
}

/// Everything precomputed from (scheme, secret), shared by the signer and
/// the verifier: a declared scheme's key ([`Declared`], whose [`Material`]
/// is the key proper) or FusionAuth's JWT key and header prefix.
#[derive(Clone)]
pub(crate) enum Key {
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
pub(crate) const TOKEN_COMPARE_KEY: &[u8] = b"hookstorm bearer comparison";

pub(crate) fn invalid(detail: impl Into<String>) -> Error {
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

pub(crate) fn build_key(scheme: &Scheme, secret: &Secret) -> Result<Key, Error> {
    let s = secret.expose();
    // An empty key "signs" with no secret at all; refuse it rather than
    // produce signatures any receiver could forge.
    if s.is_empty() {
        return Err(invalid("the secret is empty"));
    }
    Ok(match scheme {
        Scheme::Signed(declared) => Key::Declared(Box::new(declared_key(declared, s)?)),
        Scheme::FusionauthJwt { header, alg, kid } => {
            let json = serde_json::json!({"alg": alg.name(), "typ": "JWT", "kid": kid});
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
