//! Verifying deliveries: the [`Verifier`] the reference receiver builds
//! once per (scheme, secret) and calls once per request, the parsing of a
//! signature header value item by item (key rotation sends several), and
//! the timestamp window. What is verified is filled in through
//! `crate::content`, as the signer fills it, so both agree by construction.

use std::fmt;

use ed25519_dalek::Signature;
use hmac::Mac as _;

use crate::content::{content, feed, Values, DELIVERY_METHOD};
use crate::error::{Error, VerifyError};
use crate::jwt;
use crate::key::{build_key, hmac_sha256, Declared, Key, Material, TOKEN_COMPARE_KEY};
use crate::scheme::{Part, Scheme, TimeUnit};
use crate::secret::Secret;
use crate::text::fmt_i64;

/// What a successful verification learned from the headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The message id header (Standard Webhooks `webhook-id`), if the scheme has one.
    pub message_id: Option<String>,
    /// The signed timestamp (UNIX seconds), if the scheme has one.
    pub timestamp: Option<i64>,
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
    /// Derives the verifying key; unlike [`Signer::new`](crate::Signer::new) this also accepts a
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
                jwt::verify_token(*alg, kid, keyed, token.trim(), body)?;
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
    let values = Values {
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
            feed(signed, &values, 0, |b| keyed.update(b));
            parsed.sigs.iter().any(|sig| {
                encoding
                    .decode(sig)
                    .is_some_and(|tag| keyed.clone().verify(&tag))
            })
        }
        Material::Ed25519 { verifying, .. } => {
            let content = content(signed, &values);
            parsed.sigs.iter().any(|sig| {
                encoding
                    .decode(sig)
                    .and_then(|raw| Signature::from_slice(&raw).ok())
                    .is_some_and(|sig| verifying.verify_strict(&content, &sig).is_ok())
            })
        }
        Material::Ecdsa { verifying, .. } => {
            use p256::ecdsa::signature::Verifier as _;
            let content = content(signed, &values);
            parsed.sigs.iter().any(|sig| {
                encoding
                    .decode(sig)
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
