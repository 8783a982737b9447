//! The `signature` section of a provider file: a built-in scheme by name
//! with its parameters (`scheme: standard-webhooks`, `key_form: ...`), or a
//! declared one (algorithm, key, signed content, encoding, header, id,
//! timestamp, static headers), checked as a whole by
//! [`SigningScheme::check`] so a scheme that cannot work is refused where
//! it is written.

use generators::{
    Algorithm, Encoding, IdForm, JwtAlg, KeyForm, KeySpec, Scheme, SigningScheme, Template,
    TimeUnit, TimestampSpec, Version,
};

use crate::document::{Fields, Node, Walker};

/// Keys of `signature`: `scheme` (a built-in one) with its parameters, or a
/// declared scheme.
pub const SIGNATURE_KEYS: &[&str] = &[
    "scheme",
    "header",
    "alg",
    "kid",
    "key_form",
    "algorithm",
    "key",
    "signed",
    "encoding",
    "value",
    "separator",
    "id",
    "timestamp",
    "static_headers",
    "other_versions",
];
/// Keys of a declared scheme (`signature` without `scheme`).
pub const DECLARED_SIGNATURE_KEYS: &[&str] = &[
    "algorithm",
    "key",
    "signed",
    "encoding",
    "header",
    "value",
    "separator",
    "id",
    "timestamp",
    "static_headers",
    "other_versions",
];
/// Keys of `signature.key` written as a mapping.
pub const KEY_SPEC_KEYS: &[&str] = &["form", "prefix", "public_prefix"];
/// Keys of `signature.id` written as a mapping.
pub const ID_KEYS: &[&str] = &["header", "form"];
/// Keys of `signature.timestamp`.
pub const SIGNED_TIMESTAMP_KEYS: &[&str] = &["header", "unit", "tolerance", "future"];
/// Signature schemes, as written in files.
pub const SCHEMES: &[&str] = &[
    "authgear-body",
    "fusionauth-jwt",
    "standard-webhooks",
    "bearer",
];

pub(super) fn read_signature(node: &Node, w: &mut Walker) -> Option<Scheme> {
    let f = w.map(node, "`signature`", SIGNATURE_KEYS)?;
    if !f.has("scheme") && f.has("algorithm") {
        return read_declared_scheme(&f, w).map(Scheme::Signed);
    }
    let scheme = f
        .require(
            w,
            "scheme",
            "scheme: standard-webhooks (or a declared scheme: algorithm: hmac-sha256, ...)",
        )
        .and_then(|n| w.choice(n, "scheme", SCHEMES))?;
    // Parameters that belong to another scheme are mistakes, not ignored.
    let allowed: &[&str] = match scheme {
        "authgear-body" => &["scheme", "header"],
        "fusionauth-jwt" => &["scheme", "header", "alg", "kid"],
        "standard-webhooks" => &["scheme", "key_form"],
        _ => &["scheme"],
    };
    for key in SIGNATURE_KEYS {
        if let (Some(n), false) = (f.get(key), allowed.contains(key)) {
            let key_node = f.key(key).unwrap_or(n);
            w.error(
                key_node,
                format!("`{key}` does not apply to the {scheme} scheme"),
                Some(format!("{scheme} takes: {}", allowed.join(", "))),
            );
        }
    }
    let header = |w: &mut Walker, default: &str| -> Option<String> {
        match f.get("header") {
            None => Some(default.to_string()),
            Some(n) => w.string(n, "header", default),
        }
    };
    match scheme {
        "authgear-body" => Some(Scheme::authgear(&header(w, "x-authgear-body-signature")?)),
        "fusionauth-jwt" => {
            let header = header(w, "X-FusionAuth-Signature-JWT");
            let alg = match f.get("alg") {
                None => Some(JwtAlg::HS256),
                Some(n) => w
                    .choice(n, "alg", &["HS256", "HS384", "HS512"])
                    .map(|a| match a {
                        "HS384" => JwtAlg::HS384,
                        "HS512" => JwtAlg::HS512,
                        _ => JwtAlg::HS256,
                    }),
            };
            let kid = match f.get("kid") {
                None => Some("hookstorm-hmac".to_string()),
                Some(n) => w.string(n, "kid", "my-key"),
            };
            Some(Scheme::FusionauthJwt {
                header: header?,
                alg: alg?,
                kid: kid?,
            })
        }
        "standard-webhooks" => {
            let raw = match f.get("key_form") {
                None => Some(false),
                Some(n) => w
                    .choice(n, "key_form", &["base64-whsec", "raw-utf8"])
                    .map(|k| k == "raw-utf8"),
            };
            Some(if raw? {
                Scheme::infrahub()
            } else {
                Scheme::standard_webhooks()
            })
        }
        _ => Some(Scheme::bearer()),
    }
}

/// A declared scheme: `signature` with `algorithm` and no `scheme`.
fn read_declared_scheme(f: &Fields<'_>, w: &mut Walker) -> Option<SigningScheme> {
    let before = w.problems.len();
    for key in SIGNATURE_KEYS {
        if let (Some(n), false) = (f.get(key), DECLARED_SIGNATURE_KEYS.contains(key)) {
            w.error(
                f.key(key).unwrap_or(n),
                format!("`{key}` belongs to a built-in `scheme`, not a declared one"),
                Some(format!(
                    "a declared scheme takes: {}",
                    DECLARED_SIGNATURE_KEYS.join(", ")
                )),
            );
        }
    }
    let algorithm_names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
    let algorithm = f
        .get("algorithm")
        .and_then(|n| w.choice(n, "algorithm", &algorithm_names))
        .and_then(Algorithm::parse);
    let key = match f.get("key") {
        None => Some(KeySpec::plain(KeyForm::Raw)),
        Some(n) => read_key_spec(n, w),
    };
    let encoding_names: Vec<&str> = Encoding::ALL.iter().map(|e| e.name()).collect();
    let encoding = match f.get("encoding") {
        None => Some(Encoding::Hex),
        Some(n) => w
            .choice(n, "encoding", &encoding_names)
            .and_then(|name| Encoding::ALL.into_iter().find(|e| e.name() == name)),
    };
    let signed = template_at(f, w, "signed", "{body}");
    let value = template_at(f, w, "value", "{sig}");
    let header = f
        .require(w, "header", "header: x-acme-signature")
        .and_then(|n| w.string(n, "header", "x-acme-signature"));
    let separator = f
        .get("separator")
        .and_then(|n| w.string(n, "separator", "\",\""));
    let id = match f.get("id") {
        None => Some((None, IdForm::Message)),
        Some(n) => read_id(n, w).map(|(h, form)| (Some(h), form)),
    };
    let timestamp = f.get("timestamp").and_then(|n| read_signed_timestamp(n, w));
    let static_headers = match f.get("static_headers") {
        None => Some(Vec::new()),
        Some(n) => read_static_headers(n, w),
    };
    // `ignored`: the sender may send entries of other versions during
    // rotation, which receivers must skip; `never-sent`: it documents one.
    let other_versions = match f.get("other_versions") {
        None => Some(true),
        Some(n) => w
            .choice(n, "other_versions", &["ignored", "never-sent"])
            .map(|v| v == "ignored"),
    };
    if w.problems.len() > before {
        return None;
    }
    let scheme = SigningScheme {
        versions: vec![Version {
            algorithm: algorithm?,
            key: key?,
            encoding: encoding?,
            value: value?,
        }],
        signed: signed?,
        id_header: id.as_ref().and_then(|(h, _)| h.clone()),
        id_form: id.map(|(_, form)| form).unwrap_or_default(),
        timestamp,
        header: header?,
        separator,
        static_headers: static_headers?,
        other_versions: other_versions?,
    };
    match scheme.check() {
        Ok(()) => Some(scheme),
        Err(e) => {
            w.error(
                f.node,
                e.to_string(),
                Some("scenarios/custom-provider.yaml documents every key".into()),
            );
            None
        }
    }
}

/// A template at `key` of `f` (`default` when absent), reported where written.
fn template_at(f: &Fields<'_>, w: &mut Walker, key: &str, default: &str) -> Option<Template> {
    let Some(n) = f.get(key) else {
        return Template::parse(default).ok();
    };
    let text = w.string(n, key, default)?;
    match Template::parse(&text) {
        Ok(t) => Some(t),
        Err(e) => {
            w.error(
                n,
                e.to_string(),
                Some(
                    "placeholders: {id} {ts} {ts_ms} {body} {method} {url}, and {sig} in `value`"
                        .into(),
                ),
            );
            None
        }
    }
}

/// `key: raw | hex | base64`, or `{form, prefix, public_prefix}`.
fn read_key_spec(node: &Node, w: &mut Walker) -> Option<KeySpec> {
    let forms: Vec<&str> = KeyForm::ALL.iter().map(|k| k.name()).collect();
    let form_of = |name: &str| KeyForm::ALL.into_iter().find(|k| k.name() == name);
    if node.as_map().is_none() {
        return w
            .choice(node, "key", &forms)
            .and_then(form_of)
            .map(KeySpec::plain);
    }
    let f = w.map(node, "`signature.key`", KEY_SPEC_KEYS)?;
    let form = f
        .require(w, "form", "form: base64")
        .and_then(|n| w.choice(n, "form", &forms))
        .and_then(form_of);
    let prefix = f
        .get("prefix")
        .and_then(|n| w.string(n, "prefix", "whsec_"));
    let public_prefix = f
        .get("public_prefix")
        .and_then(|n| w.string(n, "public_prefix", "whpk_"));
    Some(KeySpec {
        form: form?,
        prefix,
        public_prefix,
    })
}

/// `id: NAME`, or `id: {header: NAME, form: uuid}` for a sender whose ids
/// are GUIDs.
fn read_id(node: &Node, w: &mut Walker) -> Option<(String, IdForm)> {
    if node.as_map().is_none() {
        return w
            .string(node, "id", "x-acme-id")
            .map(|h| (h, IdForm::Message));
    }
    let f = w.map(node, "`signature.id`", ID_KEYS)?;
    let header = f
        .require(w, "header", "header: x-acme-id")
        .and_then(|n| w.string(n, "header", "x-acme-id"));
    let form = match f.get("form") {
        None => Some(IdForm::Message),
        Some(n) => w.choice(n, "form", &["message", "uuid"]).map(|v| match v {
            "uuid" => IdForm::Uuid,
            _ => IdForm::Message,
        }),
    };
    Some((header?, form?))
}

/// `timestamp: {header, unit, tolerance, future}`.
fn read_signed_timestamp(node: &Node, w: &mut Walker) -> Option<TimestampSpec> {
    let f = w.map(node, "`signature.timestamp`", SIGNED_TIMESTAMP_KEYS)?;
    let header = f
        .get("header")
        .and_then(|n| w.string(n, "header", "x-acme-timestamp"));
    let unit = match f.get("unit") {
        None => Some(TimeUnit::Seconds),
        Some(n) => w
            .choice(n, "unit", &["seconds", "millis"])
            .map(|u| match u {
                "millis" => TimeUnit::Millis,
                _ => TimeUnit::Seconds,
            }),
    };
    // `tolerance: none`: the timestamp is signed, but the sender documents
    // no window a receiver must enforce (Discord).
    let tolerance = match f.get("tolerance") {
        None => Some(Some(generators::TIMESTAMP_TOLERANCE_SECS)),
        Some(n) if n.scalar_text().as_deref() == Some("none") => Some(None),
        Some(n) => w
            .duration(n, "tolerance")
            .map(|d| Some(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))),
    };
    let future = match f.get("future") {
        None => Some(true),
        Some(n) => w.boolean(n, "future"),
    };
    Some(TimestampSpec {
        header,
        unit: unit?,
        tolerance_secs: tolerance?,
        future: future?,
    })
}

/// `static_headers: {name: value, ...}`.
fn read_static_headers(node: &Node, w: &mut Walker) -> Option<Vec<(String, String)>> {
    let Some(entries) = node.as_map() else {
        w.error(
            node,
            format!(
                "`static_headers` must be a mapping of header names to values, found {}",
                node.value.kind()
            ),
            Some("write e.g. `static_headers: {x-acme-version: \"2\"}`".into()),
        );
        return None;
    };
    let mut out = Vec::new();
    for (key, value) in entries {
        let name = w.string(key, "static_headers", "x-acme-version")?;
        let value = value
            .scalar_text()
            .or_else(|| w.string(value, &name, "\"2\""))?;
        out.push((name, value));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::provider_file::parse;
    use crate::provider_file::tests::{error_of, DECLARED};

    #[test]
    fn a_declared_scheme_is_read_with_every_part() {
        let p = parse(DECLARED, "p.yaml", Path::new(".")).unwrap();
        let Scheme::Signed(s) = p.scheme() else {
            panic!("{:?}", p.scheme());
        };
        let v = s.default_version();
        assert_eq!(v.algorithm, Algorithm::HmacSha512);
        assert_eq!(v.key.form, KeyForm::Base64);
        assert_eq!(v.key.prefix.as_deref(), Some("whsec_"));
        assert_eq!(v.encoding, Encoding::Base64url);
        assert_eq!(v.value.to_string(), "t={ts},sig={sig}");
        assert_eq!(s.signed.to_string(), "{ts}.{method}.{body}");
        assert_eq!(s.separator.as_deref(), Some(","));
        let ts = s.timestamp.as_ref().unwrap();
        assert_eq!(ts.header, None);
        assert_eq!(ts.unit, TimeUnit::Millis);
        assert_eq!(ts.tolerance_secs, Some(60));
        assert!(!ts.future);
        assert_eq!(s.static_headers, [("x-acme-version".into(), "2".into())]);
        assert_eq!(s.id_header.as_deref(), Some("x-acme-delivery"));
        assert_eq!(s.id_form, IdForm::Uuid);
    }

    #[test]
    fn declared_scheme_mistakes_are_positioned() {
        let text = DECLARED
            .replace("hmac-sha512", "hmac-sha384")
            .replace("{ts}.{method}", "{tz}.{method}");
        let plain = error_of(&text, "p.yaml");
        assert!(
            plain.contains("p.yaml:3:14: error: unknown algorithm `hmac-sha384`"),
            "{plain}"
        );
        assert!(plain.contains("p.yaml:5:11: error: template"), "{plain}");
        assert!(plain.contains("unknown placeholder `{tz}`"), "{plain}");
        // A scheme that cannot work is refused as a whole, with why.
        let no_ts = DECLARED.replace(
            "  timestamp: {unit: millis, tolerance: 60s, future: false}\n",
            "",
        );
        let plain = error_of(&no_ts, "p.yaml");
        assert!(plain.contains("declares no `timestamp`"), "{plain}");
        // Built-in parameters do not mix with a declaration.
        let mixed = DECLARED.replace(
            "  encoding: base64url\n",
            "  encoding: base64url\n  kid: k1\n",
        );
        let plain = error_of(&mixed, "p.yaml");
        assert!(
            plain.contains("`kid` belongs to a built-in `scheme`"),
            "{plain}"
        );
    }
}
