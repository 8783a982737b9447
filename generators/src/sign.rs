//! Signing deliveries: the [`Signer`] the load emitter builds once per
//! (scheme, secret, target URL) and calls once per request, for every
//! [`Scheme`].
//!
//! A declared [`SigningScheme`] (Authgear, Standard Webhooks, Infrahub and
//! bearer tokens are built-in ones; see `crate::builtin`) is interpreted
//! here: its key is derived once (`crate::key`), its signed-content
//! template is fed piece by piece into the keyed state (`crate::content`),
//! and its value template is written around the encoded signature.
//! FusionAuth's JWT is written by `crate::jwt`.
//!
//! The hot path is prefix resumption: a pooled body whose slots come last
//! starts with constant bytes, so [`Signer::absorb_prefix`] hashes them
//! once and [`Signer::sign_resumed_into`] hashes only the rest.
//!
//! The secret and the verifier live in their own modules; they are
//! re-exported here so `generators::sign::{Secret, verify, ...}` keep
//! resolving.

use std::fmt;

use ed25519_dalek::Signer as _;
use sha2::{Digest, Sha256};

use crate::content::{content, feed, Values};
use crate::error::Error;
use crate::jwt;
use crate::key::{build_key, invalid, Declared, Key, Mac, Material};
use crate::scheme::{Part, Scheme, SigningScheme, TimeUnit, Version};
use crate::text::fmt_i64;

pub use crate::content::DELIVERY_METHOD;
pub use crate::error::VerifyError;
pub use crate::key::public_key;
pub use crate::scheme::TIMESTAMP_TOLERANCE_SECS;
pub use crate::secret::Secret;
pub use crate::verify::{verify, RequestLine, Verified, Verifier};

/// Writes the encoded signature of one delivery into `out`.
fn write_signature(
    k: &Declared,
    fields: &Values<'_>,
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
            v.encoding.encode_into(&tag[..n], out);
        }
        Material::Ed25519 { signing, .. } => {
            if let Some(signing) = signing {
                let sig = signing.sign(&content(&k.scheme.signed, fields));
                v.encoding.encode_into(&sig.to_bytes(), out);
            }
        }
        Material::Ecdsa { signing, .. } => {
            if let Some(signing) = signing {
                let sig: p256::ecdsa::Signature = signing.sign(&content(&k.scheme.signed, fields));
                v.encoding.encode_into(sig.to_der().as_bytes(), out);
            }
        }
        Material::Token { value, .. } => out.extend_from_slice(value.as_bytes()),
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
                let fields = Values {
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
                start_line(out, header);
                jwt::write_token(prefix, prefixed, &digest, out);
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
        let fields = Values {
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

/// What a [`BodyPrefix`] holds, by scheme.
#[derive(Clone)]
enum PrefixState {
    /// A body-first HMAC scheme (Authgear): the keyed state after the
    /// prefix. Boxed (an HMAC-SHA512 state is 400 bytes); cloned out of the
    /// box onto the stack per signature.
    Hmac(Box<Mac>),
    /// FusionAuth: SHA-256 of the body so far (the JWT claim's input).
    Sha256(Sha256),
}

/// Starts the header line `name: `.
fn start_line(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use ed25519_dalek::SigningKey;

    use crate::scheme::{Algorithm, Encoding, JwtAlg, KeyForm, SignatureTemplate};

    #[test]
    fn signer_debug_never_prints_the_secret() {
        let s = Secret::new("hunter2".into());
        let signer = Signer::new(&Scheme::bearer(), &s).unwrap();
        assert!(!format!("{signer:?}").contains("hunter2"));
    }

    #[test]
    fn uses_message_id_exactly_when_the_headers_carry_it() {
        for p in crate::builtin::ProviderId::ALL {
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
                value: SignatureTemplate::parse("{sig}").unwrap(),
            }],
            signed: SignatureTemplate::parse("{ts}{body}").unwrap(),
            id_header: None,
            id_form: crate::scheme::MessageIdForm::Message,
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
}
