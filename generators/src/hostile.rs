//! Hostile signatures: for each scheme, the deliveries a correct receiver
//! must refuse (missing, tampered, wrong key, stale, `alg: none`, ...) and
//! the near misses it must still accept (timestamps just inside the
//! tolerance, key rotation with one valid signature among several).
//!
//! [`signature_cases`] lists the cases that make sense for a scheme, each
//! with a stable label shown in reports; [`apply_case`] builds the delivery.
//! For a declared scheme the cases derive from the declaration: body cases
//! where the signature covers the body, timestamp cases (at its own
//! tolerance) where it carries a timestamp, rotation where its header lists
//! several signatures, uppercase where it is hex, a key mix-up where the key
//! is base64 after a prefix (or raw under Standard Webhooks' content, which
//! a Standard Webhooks library would decode).

use std::borrow::Cow;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::content::{write_item, Values, DELIVERY_METHOD};
use crate::envelope::{signed, Delivery};
use crate::scheme::{
    Algorithm, Encoding, JwtAlg, KeyForm, KeySpec, Part, Scheme, SignatureTemplate, SigningScheme,
    Version, TIMESTAMP_TOLERANCE_SECS,
};
use crate::secret::Secret;
use crate::sign::Signer;
use crate::text::fmt_i64;

/// What a correct receiver does with a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expect {
    /// Answers with success.
    Accept,
    /// Refuses (401/403, or 400).
    Reject,
}

/// One hostile (or near-miss) signature case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignatureCase {
    /// Stable id shown in reports.
    pub label: &'static str,
    /// What a correct receiver does.
    pub expect: Expect,
    /// The single thing this case changes, in words.
    pub description: Cow<'static, str>,
    /// How far from now the case signs, in seconds (timestamp cases).
    #[serde(skip)]
    pub offset_secs: i64,
}

/// How far outside the tolerance the `stale`/`future` cases sign.
pub const OUTSIDE_TOLERANCE_SECS: i64 = TIMESTAMP_TOLERANCE_SECS + EDGE_MARGIN_SECS;
/// How far off the `expired` / `far-future` cases sign: an hour, far
/// outside any window a receiver could mean to enforce.
pub const FAR_OFF_SECS: i64 = 3_600;
/// How far inside the tolerance the `just-inside-*` cases sign.
pub const INSIDE_TOLERANCE_SECS: i64 = TIMESTAMP_TOLERANCE_SECS - EDGE_MARGIN_SECS;

/// How far from the ±300 s edge the edge cases sit. One second was flaky: the
/// receiver's clock ticks between signing and verifying (and a loaded CI
/// machine delays a probe by more than that), turning `future` (+301 s)
/// into an accepted +300 s. Five seconds is still "just" outside/inside.
pub const EDGE_MARGIN_SECS: i64 = 5;

const fn case(label: &'static str, expect: Expect, description: &'static str) -> SignatureCase {
    SignatureCase {
        label,
        expect,
        description: Cow::Borrowed(description),
        offset_secs: 0,
    }
}

/// A timestamp case `offset` seconds from now under `tolerance`; the
/// Standard Webhooks tolerance keeps its fixed wording.
fn timed(base: SignatureCase, offset: i64, tolerance: i64) -> SignatureCase {
    let description = if tolerance == TIMESTAMP_TOLERANCE_SECS || offset.abs() == FAR_OFF_SECS {
        base.description
    } else {
        let (when, inside) = match base.label {
            "stale" => ("in the past", "tolerance"),
            "future" => ("in the future", "tolerance"),
            "just-inside-past" => ("in the past", "inside the"),
            _ => ("in the future", "inside the"),
        };
        Cow::Owned(format!(
            "correctly signed with a timestamp {} s {when} ({inside} {tolerance} s{})",
            offset.unsigned_abs(),
            if inside == "tolerance" {
                ""
            } else {
                " tolerance"
            }
        ))
    };
    SignatureCase {
        description,
        offset_secs: offset,
        ..base
    }
}

const VALID: SignatureCase = case(
    "valid",
    Expect::Accept,
    "correctly signed, unchanged (baseline: a receiver that refuses everything fails here)",
);
const MISSING: SignatureCase = case("missing", Expect::Reject, "no signature header");
const TAMPERED_BODY: SignatureCase = case(
    "tampered-body",
    Expect::Reject,
    "one character of the body changed after signing (still valid JSON)",
);
const WRONG_SECRET: SignatureCase = case(
    "wrong-secret",
    Expect::Reject,
    "signed with a different secret",
);
const TRUNCATED: SignatureCase = case(
    "truncated",
    Expect::Reject,
    "the signature value cut to half its length",
);
const RESERIALIZED_BODY: SignatureCase = case(
    "reserialized-body",
    Expect::Reject,
    "the same JSON re-serialised (other whitespace and key order) under the original bytes' signature",
);
const UPPERCASE_HEX: SignatureCase = case(
    "uppercase-hex",
    Expect::Reject,
    "the correct signature written in uppercase hex: senders (Authgear, GitHub, Stripe) only send lowercase and their docs compare the string",
);
const STALE: SignatureCase = case(
    "stale",
    Expect::Reject,
    "correctly signed with a timestamp 305 s in the past (tolerance 300 s)",
);
const FUTURE: SignatureCase = case(
    "future",
    Expect::Reject,
    "correctly signed with a timestamp 305 s in the future (tolerance 300 s)",
);
const EXPIRED: SignatureCase = case(
    "expired",
    Expect::Reject,
    "correctly signed with a timestamp an hour in the past (a captured delivery replayed)",
);
const FAR_FUTURE: SignatureCase = case(
    "far-future",
    Expect::Reject,
    "correctly signed with a timestamp an hour in the future",
);
const JUST_INSIDE_PAST: SignatureCase = case(
    "just-inside-past",
    Expect::Accept,
    "correctly signed with a timestamp 295 s in the past (inside the 300 s tolerance)",
);
const JUST_INSIDE_FUTURE: SignatureCase = case(
    "just-inside-future",
    Expect::Accept,
    "correctly signed with a timestamp 295 s in the future (inside the 300 s tolerance)",
);
const MULTIPLE_ONE_VALID: SignatureCase = case(
    "multiple-one-valid",
    Expect::Accept,
    "several space-separated signatures (key rotation), only one of them valid",
);
const WHSEC_RAW_KEY: SignatureCase = case(
    "whsec-raw-key",
    Expect::Reject,
    "keyed with the secret string's raw bytes instead of the base64-decoded part after its prefix (whsec_)",
);
const WHSEC_DECODED_KEY: SignatureCase = case(
    "whsec-decoded-key",
    Expect::Reject,
    "keyed with the base64-decoded secret (as a Standard Webhooks library does) where the scheme keys with its raw UTF-8 bytes (Infrahub)",
);
const ALG_NONE: SignatureCase = case(
    "alg-none",
    Expect::Reject,
    "JWT with alg `none` and an empty signature, correct body hash",
);
const ALG_CONFUSION: SignatureCase = case(
    "alg-confusion",
    Expect::Reject,
    "JWT claiming RS256 but HMAC-signed with the shared secret (algorithm confusion)",
);
const WRONG_KID: SignatureCase = case(
    "wrong-kid",
    Expect::Reject,
    "JWT correctly signed but naming a key id the receiver does not have",
);
const HASH_HEX: SignatureCase = case(
    "hash-hex",
    Expect::Reject,
    "JWT correctly signed but request_body_sha256 in hex instead of padded base64",
);
const WRONG_SCHEME: SignatureCase = case(
    "wrong-scheme",
    Expect::Reject,
    "the right token under `Basic` instead of `Bearer`",
);

/// The cases that make sense for `scheme`, `valid` first.
pub fn signature_cases(scheme: &Scheme) -> Vec<SignatureCase> {
    let body_covering = [
        VALID,
        MISSING,
        TAMPERED_BODY,
        WRONG_SECRET,
        TRUNCATED,
        RESERIALIZED_BODY,
    ];
    let declared = match scheme {
        Scheme::FusionauthJwt { .. } => {
            return [
                &body_covering[..],
                &[ALG_NONE, ALG_CONFUSION, WRONG_KID, HASH_HEX],
            ]
            .concat()
        }
        Scheme::Signed(declared) => declared,
    };
    let version = declared.default_version();
    let mut cases = vec![VALID, MISSING];
    if declared.covers_body() {
        cases.push(TAMPERED_BODY);
    }
    cases.push(WRONG_SECRET);
    if is_bearer(declared) {
        cases.push(WRONG_SCHEME);
    }
    cases.push(TRUNCATED);
    if declared.covers_body() {
        cases.push(RESERIALIZED_BODY);
    }
    if version.algorithm != Algorithm::Token && version.encoding == Encoding::Hex {
        cases.push(UPPERCASE_HEX);
    }
    // A timestamp signed without a documented window (Discord) has no
    // edge to test: a receiver may accept any age.
    let window = declared
        .timestamp
        .as_ref()
        .and_then(|ts| ts.tolerance_secs.map(|tol| (ts, tol)));
    if let Some((ts, tol)) = window {
        let outside = tol + EDGE_MARGIN_SECS;
        let inside = (tol - EDGE_MARGIN_SECS).max(0);
        cases.push(timed(STALE, -outside, tol));
        if ts.future {
            cases.push(timed(FUTURE, outside, tol));
        }
        // An hour off is outside any window a receiver could mean to
        // enforce, whatever the declared tolerance.
        cases.push(timed(EXPIRED, -FAR_OFF_SECS, tol));
        if ts.future {
            cases.push(timed(FAR_FUTURE, FAR_OFF_SECS, tol));
        }
        cases.push(timed(JUST_INSIDE_PAST, -inside, tol));
        if ts.future {
            cases.push(timed(JUST_INSIDE_FUTURE, inside, tol));
        }
    }
    if declared.rotates() && version.algorithm != Algorithm::Token {
        cases.push(MULTIPLE_ONE_VALID);
    }
    if mixed_up_key(declared).is_some() {
        cases.push(if version.key.form == KeyForm::Raw {
            WHSEC_DECODED_KEY
        } else {
            WHSEC_RAW_KEY
        });
    }
    cases
}

/// A token under an `Authorization: Bearer` value: a receiver may accept
/// it under another auth scheme.
fn is_bearer(scheme: &SigningScheme) -> bool {
    let v = scheme.default_version();
    v.algorithm == Algorithm::Token
        && v.value
            .to_string()
            .to_ascii_lowercase()
            .starts_with("bearer ")
}

/// The scheme with its key derived the plausible wrong way, if there is
/// one: raw bytes where the key is base64 after a prefix; base64-decoded
/// (after `whsec_`) where a raw key signs Standard Webhooks' content.
fn mixed_up_key(scheme: &SigningScheme) -> Option<SigningScheme> {
    let v = scheme.default_version();
    if !v.algorithm.is_hmac() {
        return None;
    }
    let key = match (&v.key.form, &v.key.prefix) {
        (KeyForm::Base64, Some(_)) => KeySpec::plain(KeyForm::Raw),
        (KeyForm::Raw, None) if scheme.signed.to_string() == "{id}.{ts}.{body}" => KeySpec {
            form: KeyForm::Base64,
            prefix: Some(WHSEC_PREFIX.into()),
            public_prefix: None,
        },
        _ => return None,
    };
    let mut version = v.clone();
    version.key = key;
    Some(SigningScheme {
        versions: vec![version],
        ..scheme.clone()
    })
}

/// Prefix of a Standard Webhooks symmetric secret.
const WHSEC_PREFIX: &str = "whsec_";

/// Builds the delivery of `case` for `body`, as a receiver whose clock reads
/// `now_unix` should see it. An unknown label yields an unsigned delivery
/// (the `missing` case), never a validly signed one.
pub fn apply_case(
    case: &SignatureCase,
    signer: &Signer,
    secret: &Secret,
    body: &[u8],
    msg_id: &str,
    now_unix: i64,
) -> Delivery {
    let scheme = signer.scheme();
    let sign_at = |ts: i64| signed(signer, body.to_vec(), msg_id, ts);
    let with_signer = |other: Option<Signer>| match other {
        Some(s) => signed(&s, body.to_vec(), msg_id, now_unix),
        None => without_signature(sign_at(now_unix), scheme),
    };
    // The signature header rebuilt around other signature texts.
    let rebuilt = |sigs: &dyn Fn(String) -> (Vec<String>, Vec<String>)| {
        let mut d = sign_at(now_unix);
        if let Some((declared, version, sig)) = signer.declared_signature(body, msg_id, now_unix) {
            let (sigs, extra) = sigs(sig);
            let value = render_value(declared, version, msg_id, now_unix, &sigs, &extra);
            set_header(&mut d, &declared.header, value);
        }
        d
    };
    match case.label {
        "valid" => sign_at(now_unix),
        "tampered-body" => Delivery {
            body: tamper(body),
            ..sign_at(now_unix)
        },
        "reserialized-body" => Delivery {
            body: reserialize(body),
            ..sign_at(now_unix)
        },
        "wrong-secret" => with_signer(wrong_signer(scheme, secret)),
        "truncated" => match scheme {
            Scheme::FusionauthJwt { .. } => {
                let mut d = sign_at(now_unix);
                let name = scheme.signature_header();
                if let Some(v) = d.header(name).map(truncate_jwt) {
                    set_header(&mut d, name, v);
                }
                d
            }
            Scheme::Signed(_) => rebuilt(&|sig| (vec![halve(&sig)], vec![])),
        },
        "stale" | "future" | "expired" | "far-future" | "just-inside-past"
        | "just-inside-future" => sign_at(now_unix.saturating_add(case.offset_secs)),
        "uppercase-hex" => rebuilt(&|sig| (vec![sig.to_ascii_uppercase()], vec![])),
        "multiple-one-valid" => {
            let wrong = wrong_signer(scheme, secret)
                .and_then(|s| s.declared_signature(body, msg_id, now_unix).map(|d| d.2));
            rebuilt(&|valid| {
                let Some(wrong) = wrong.clone() else {
                    return (vec![valid], vec![]);
                };
                // Wrong first, valid in the middle, and an entry of an
                // unknown version last: a receiver that only checks the
                // first (or last) entry fails.
                let unknown = scheme
                    .declared()
                    .filter(|s| s.other_versions)
                    .and_then(unknown_version_item);
                (vec![wrong, valid], unknown.into_iter().collect())
            })
        }
        "whsec-raw-key" | "whsec-decoded-key" => with_signer(
            scheme
                .declared()
                .and_then(mixed_up_key)
                .and_then(|s| Signer::new(&Scheme::Signed(s), &mixed_up_secret(case, secret)).ok()),
        ),
        "alg-none" | "alg-confusion" | "wrong-kid" | "hash-hex" => {
            let mut d = sign_at(now_unix);
            if let Some(token) = forged_jwt(case.label, scheme, secret, body) {
                set_header(&mut d, scheme.signature_header(), token);
            }
            d
        }
        "wrong-scheme" => {
            let mut d = sign_at(now_unix);
            set_header(
                &mut d,
                scheme.signature_header(),
                format!("Basic {}", secret.expose()),
            );
            d
        }
        _ => without_signature(sign_at(now_unix), scheme),
    }
}

/// The signature item of a version no receiver knows (`v1,` → `v9,`, with
/// 32 zero bytes as its signature), or `None` when the item's framing has
/// no digit to change.
fn unknown_version_item(scheme: &SigningScheme) -> Option<String> {
    let version = scheme.default_version();
    let item: SignatureTemplate = scheme
        .items(version)
        .into_iter()
        .find(|t| t.uses(&crate::scheme::Part::Sig))?;
    let text = item.to_string();
    if !text.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let framing: String = text
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    let zeros = [0u8; 32];
    let sig = match version.encoding {
        Encoding::Hex => hex::encode(zeros),
        Encoding::Base64 => STANDARD.encode(zeros),
        Encoding::Base64url => URL_SAFE_NO_PAD.encode(zeros),
    };
    Some(framing.replace("{sig}", &sig))
}

fn without_signature(mut d: Delivery, scheme: &Scheme) -> Delivery {
    let name = scheme.signature_header();
    d.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    d
}

fn set_header(d: &mut Delivery, name: &str, value: String) {
    if let Some(slot) = d
        .headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        slot.1 = value;
    }
}

/// A secret of the same form as `secret` (same prefix and key form of the
/// version it selects) but different from it.
fn wrong_secret(scheme: &Scheme, secret: &Secret) -> Secret {
    let s = secret.expose();
    let candidates: [String; 2] = match scheme.declared().map(|d| d.version_for(s)) {
        Some(v) if v.algorithm != Algorithm::Token && v.key.form != KeyForm::Raw => {
            // A prefix the secret carries stays; a public key's prefix
            // becomes the private one (a wrong key must be able to sign).
            let prefix = v.key.prefix.clone().unwrap_or_default();
            let asymmetric = matches!(v.algorithm, Algorithm::Ed25519 | Algorithm::EcdsaP256);
            let bytes: [Vec<u8>; 2] = if asymmetric {
                [vec![0x5a; 32], vec![0xa5; 32]]
            } else {
                [
                    b"hookstorm wrong secret, 24B".to_vec(),
                    b"hookstorm other secret, 24B".to_vec(),
                ]
            };
            bytes.map(|b| match v.key.form {
                KeyForm::Hex => format!("{prefix}{}", hex::encode(b)),
                _ => format!("{prefix}{}", STANDARD.encode(b)),
            })
        }
        _ => [
            "hookstorm-wrong-secret".to_string(),
            "hookstorm-other-secret".to_string(),
        ],
    };
    let [first, second] = candidates;
    Secret::new(if first == s { second } else { first })
}

fn wrong_signer(scheme: &Scheme, secret: &Secret) -> Option<Signer> {
    Signer::new(scheme, &wrong_secret(scheme, secret)).ok()
}

/// The secret as [`mixed_up_key`]'s scheme reads it: the same string for
/// `whsec-raw-key`; for `whsec-decoded-key`, `whsec_` + the base64 a
/// decoding receiver would salvage from the raw secret.
fn mixed_up_secret(case: &SignatureCase, secret: &Secret) -> Secret {
    let s = secret.expose();
    if case.label == "whsec-raw-key" {
        return Secret::new(s.to_string());
    }
    // The raw secret need not be base64; a receiver that decodes it
    // anyway gets whatever its decoder salvages. Keep the base64
    // characters (whole quanta) and decode those.
    let b64 = s.strip_prefix(WHSEC_PREFIX).unwrap_or(s);
    let mut key = STANDARD.decode(b64).unwrap_or_else(|_| {
        let kept: String = b64
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/')
            .collect();
        let whole = kept.len() - kept.len() % 4;
        STANDARD.decode(&kept[..whole]).unwrap_or_default()
    });
    // Never end up with the real key (or an empty one).
    if key.is_empty() || key == s.as_bytes() {
        key.push(0);
    }
    Secret::new(format!("{WHSEC_PREFIX}{}", STANDARD.encode(key)))
}

/// A FusionAuth token that is wrong in exactly the way `label` says.
fn forged_jwt(label: &str, scheme: &Scheme, secret: &Secret, body: &[u8]) -> Option<String> {
    let Scheme::FusionauthJwt { alg, kid, .. } = scheme else {
        return None;
    };
    let digest = Sha256::digest(body);
    let hash = if label == "hash-hex" {
        hex::encode(digest)
    } else {
        STANDARD.encode(digest)
    };
    let (alg_name, kid) = match label {
        "alg-none" => ("none", kid.clone()),
        "alg-confusion" => ("RS256", kid.clone()),
        "wrong-kid" => (alg.name(), format!("{kid}-unknown")),
        _ => (alg.name(), kid.clone()),
    };
    let head = serde_json::json!({"alg": alg_name, "typ": "JWT", "kid": kid});
    let claims = serde_json::json!({ "request_body_sha256": hash });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(head.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = match label {
        "alg-none" => String::new(),
        // Confusion: claims RS256, but the shared HMAC secret signed it, as
        // a verifier that feeds the HMAC secret to whatever `alg` names
        // would accept.
        "alg-confusion" => {
            URL_SAFE_NO_PAD.encode(hmac_tag(JwtAlg::HS256, secret, signing_input.as_bytes()))
        }
        // Correctly signed with the configured key and algorithm: only the
        // named field (`kid` or the hash's encoding) is wrong.
        _ => URL_SAFE_NO_PAD.encode(hmac_tag(*alg, secret, signing_input.as_bytes())),
    };
    Some(format!("{signing_input}.{signature}"))
}

fn hmac_tag(alg: JwtAlg, secret: &Secret, input: &[u8]) -> Vec<u8> {
    let key = secret.expose().as_bytes();
    // HMAC takes keys of any length: these `ok()`s never see an error.
    let tag = match alg {
        JwtAlg::HS256 => Hmac::<Sha256>::new_from_slice(key)
            .ok()
            .map(|m| m.chain_update(input).finalize().into_bytes().to_vec()),
        JwtAlg::HS384 => Hmac::<Sha384>::new_from_slice(key)
            .ok()
            .map(|m| m.chain_update(input).finalize().into_bytes().to_vec()),
        JwtAlg::HS512 => Hmac::<Sha512>::new_from_slice(key)
            .ok()
            .map(|m| m.chain_update(input).finalize().into_bytes().to_vec()),
    };
    tag.unwrap_or_default()
}

/// Half of a signature text, always at least one character shorter.
fn halve(sig: &str) -> String {
    let chars = sig.chars().count();
    sig.chars()
        .take((chars / 2).min(chars.saturating_sub(1)))
        .collect()
}

/// A JWT with its signature part halved, header and payload intact.
fn truncate_jwt(value: &str) -> String {
    let keep = value.rfind('.').map_or(0, |i| i + 1);
    let (framing, sig) = value.split_at(keep);
    format!("{framing}{}", halve(sig))
}

/// Changes one ASCII letter or digit inside a JSON string (the last one), so
/// the body stays valid JSON of the same shape and only the signature can
/// tell. Bodies with no such character get a trailing space.
fn tamper(body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    let mut target = None;
    let mut in_string = false;
    let mut i = 0;
    while i < out.len() {
        let b = out[i];
        if in_string {
            match b {
                // Skip escapes whole: changing `\u00e9`'s hex could make it invalid.
                b'\\' => {
                    i += if out.get(i + 1) == Some(&b'u') { 6 } else { 2 };
                    continue;
                }
                b'"' => in_string = false,
                b if b.is_ascii_alphanumeric() => target = Some(i),
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        }
        i += 1;
    }
    match target {
        Some(i) => {
            out[i] = match out[i] {
                b'9' => b'0',
                b'z' => b'a',
                b'Z' => b'A',
                c => c + 1,
            }
        }
        None => out.push(b' '),
    }
    out
}

/// The same JSON value written differently: pretty-printed, with every
/// object's keys in reverse order. Non-JSON bodies get a trailing newline.
fn reserialize(body: &[u8]) -> Vec<u8> {
    fn reverse_keys(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.into_iter().collect();
                entries.reverse();
                serde_json::Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k, reverse_keys(v)))
                        .collect(),
                )
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(reverse_keys).collect())
            }
            other => other,
        }
    }
    let mut out = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_vec_pretty(&reverse_keys(v)).ok())
        .unwrap_or_else(|| body.to_vec());
    if out == body {
        out.push(b'\n');
    }
    out
}

/// The signature header value of a declared scheme carrying `sigs` (the
/// item holding `{sig}` once per signature, joined by the separator) and
/// then `extra` items verbatim, for the rotation and truncation cases.
fn render_value(
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
    let fields = Values {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tamper_changes_exactly_one_byte_and_keeps_json_valid() {
        for body in [
            &br#"{"a":"xyz","n":19}"#[..],
            br#"{"e":"caf\u00e9","z":"Z9"}"#,
            br#"{"k":"\"quoted\""}"#,
        ] {
            let t = tamper(body);
            assert_eq!(t.len(), body.len());
            assert_eq!(t.iter().zip(body).filter(|(a, b)| a != b).count(), 1);
            let a: serde_json::Value = serde_json::from_slice(body).unwrap();
            let b: serde_json::Value = serde_json::from_slice(&t).unwrap();
            assert_ne!(a, b);
        }
        assert_eq!(tamper(b"{}"), b"{} ");
        assert_eq!(tamper(b""), b" ");
    }

    #[test]
    fn reserialize_keeps_the_value_and_changes_the_bytes() {
        let body = br#"{"a":1,"b":{"c":[{"d":2,"e":3}]}}"#;
        let r = reserialize(body);
        assert_ne!(r, body);
        let a: serde_json::Value = serde_json::from_slice(body).unwrap();
        let b: serde_json::Value = serde_json::from_slice(&r).unwrap();
        assert_eq!(a, b);
        assert!(String::from_utf8(r).unwrap().starts_with("{\n  \"b\""));
        assert_eq!(reserialize(b"{}"), b"{}\n");
        assert_eq!(reserialize(b"not json"), b"not json\n");
    }

    #[test]
    fn truncation_halves_the_signature_and_keeps_the_jwt_framing() {
        assert_eq!(halve("abcd"), "ab");
        assert_eq!(halve("a"), "");
        assert_eq!(truncate_jwt("h.p.abcd"), "h.p.ab");
    }

    #[test]
    fn wrong_secret_always_differs() {
        for scheme in [Scheme::bearer(), Scheme::standard_webhooks()] {
            let first = wrong_secret(&scheme, &Secret::new("x".into()));
            let again = wrong_secret(&scheme, &first);
            assert_ne!(first.expose(), again.expose());
        }
    }

    #[test]
    fn labels_are_unique_per_scheme_and_bearer_has_no_body_cases() {
        for scheme in crate::builtin::ProviderId::ALL.map(|p| p.profile().scheme) {
            let cases = signature_cases(&scheme);
            let labels: std::collections::HashSet<_> = cases.iter().map(|c| c.label).collect();
            assert_eq!(labels.len(), cases.len());
            assert_eq!(cases[0].label, "valid");
        }
        assert!(!signature_cases(&Scheme::bearer())
            .iter()
            .any(|c| c.label == "tampered-body"));
    }
}
