//! Provider files: a YAML or TOML file declaring a provider hookstorm does
//! not ship — its event types with their JSON Schemas (inline or by path
//! relative to the file), an optional shared envelope, a signature scheme
//! (a built-in one by name with its parameters, or a declared one:
//! algorithm, key, signed content, encoding, headers), the success rule,
//! deadlines, redelivery, the dedupe/ordering/subject/type/timestamp key
//! paths, the sender's endpoint challenge (`challenge: {kind: ...}`, one
//! of [`Challenge::ALL`], judged by the `handshake` check) and `batch` for
//! a provider that delivers several events per request — read into the
//! same [`Provider`] the built-in providers are.
//!
//! This module reads; the rules of a declared provider (names, key paths,
//! the envelope, schemas) are `generators::declared`, and each of their
//! errors is reported at the node it came from. Mistakes are reported like
//! scenario mistakes: all of them, each with file, line, column and a hint
//! (`scenarios/custom-provider.yaml` is the commented example).

use std::path::{Path, PathBuf};
use std::time::Duration;

use generators::declared::{check_key_path, check_name};
use generators::{
    Algorithm, Batch, BatchFormat, Challenge, DeclaredEnvelope, DeclaredError, DeclaredTypes,
    Encoding, IdForm, JwtAlg, KeyForm, KeySpec, Profile, Provider, Redelivery, Scheme,
    SigningScheme, SuccessRule, Template, TimeFormat, TimeUnit, TimestampSpec, Version,
};
use serde_json::Value as Json;

use crate::document::{
    base_dir, finish, load_toml, load_yaml, parse_yaml, Diagnostic, Fields, Node, Value, Walker,
};

/// Keys at the top of a provider file.
pub const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "signature",
    "success",
    "deadline",
    "blocking_deadline",
    "blocking_total",
    "redelivery",
    "keys",
    "batch",
    "envelope",
    "types",
    "challenge",
    "lifecycle",
];
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
/// Keys of `redelivery`.
pub const REDELIVERY_KEYS: &[&str] = &["max_resends", "fresh_message_id"];
/// Keys of `keys`.
pub const KEY_KEYS: &[&str] = &["dedupe", "ordering", "subject", "type", "timestamp"];
/// Keys of `batch`: `format` (how one request holds its events: `array`,
/// a JSON array; `lines`, JSON Lines; `object`, one event per request)
/// and `max_events` (how many events one request carries). With `batch`,
/// every key path points into each event, so none may be a header.
pub const BATCH_KEYS: &[&str] = &["format", "max_events"];
/// Keys of `keys.timestamp`.
pub const TIMESTAMP_KEYS: &[&str] = &["path", "format"];
/// Keys of `envelope`.
pub const ENVELOPE_KEYS: &[&str] = &["schema", "payload", "type_field"];
/// Keys of `challenge`.
pub const CHALLENGE_KEYS: &[&str] = &["kind"];
/// Keys of one entry of `types`.
pub const TYPE_KEYS: &[&str] = &["name", "description", "blocking", "schema"];

/// Reads a provider file into the provider it declares (every mistake
/// in it as one diagnostic).
pub fn read(path: &Path) -> Result<Provider, Diagnostic> {
    #[cfg(test)]
    reads::record(path);
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::whole_file(
            &file,
            format!("cannot read the provider file: {e}"),
            Some("check the path (relative paths start at the scenario's directory)".into()),
        )
    })?;
    parse(&text, &file, &base_dir(path)).map(|p| p.in_file(file))
}

/// Reads a provider file shipped inside the binary (`file` names it in
/// messages). Its schemas must be inline: a path would resolve against a
/// directory that does not exist.
pub(crate) fn parse_builtin(text: &str, file: &str) -> Result<Provider, Diagnostic> {
    parse(text, file, Path::new("<built-in>"))
}

/// Which provider files were read, so a test can prove a run reads its
/// file once.
#[cfg(test)]
pub(crate) mod reads {
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    static READ: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

    pub(super) fn record(path: &Path) {
        READ.lock().unwrap().push(path.to_path_buf());
    }

    /// How many times `path` was read.
    pub(crate) fn count(path: &Path) -> usize {
        READ.lock().unwrap().iter().filter(|p| *p == path).count()
    }
}

/// Checks provider-file `text` (named `file` in messages; schema paths
/// resolve against `base`).
fn parse(text: &str, file: &str, base: &Path) -> Result<Provider, Diagnostic> {
    let root = if file.ends_with(".toml") {
        load_toml(text, file)?
    } else {
        load_yaml(
            text,
            file,
            "a scenario starts with `target:`, `provider:`, `secret:` and `steps:`",
        )?
    };
    let mut w = Walker::default();
    let provider = read_provider(&root, &mut w, base);
    finish(w, text, file, &[]).map(|()| provider.expect("complete when no problems"))
}

fn read_provider(root: &Node, w: &mut Walker, base: &Path) -> Option<Provider> {
    let top = w.map(root, "the provider file", TOP_KEYS)?;
    let name = top.require(w, "name", "name: acme").and_then(|n| {
        let name = w.string(n, "name", "acme")?;
        if let Err(e) = check_name(&name) {
            let hint = matches!(e, DeclaredError::BuiltinName(_)).then(|| {
                "pick another name; use `provider: NAME` for the built-in one".to_string()
            });
            w.error(n, e.to_string(), hint);
            return None;
        }
        Some(name)
    });
    let scheme = top
        .require(
            w,
            "signature",
            "signature: {scheme: standard-webhooks, key_form: base64-whsec}",
        )
        .and_then(|n| read_signature(n, w));
    let success = match top.get("success") {
        None => Some(SuccessRule::TwoXx),
        Some(n) => w.choice(n, "success", &["2xx", "below-400"]).map(|s| {
            if s == "2xx" {
                SuccessRule::TwoXx
            } else {
                SuccessRule::Below400
            }
        }),
    };
    let ms = |d: Duration| d.as_millis() as u64;
    let deadline = top
        .require(w, "deadline", "deadline: 5s")
        .and_then(|n| w.duration(n, "deadline"))
        .map(ms);
    let blocking_deadline = top
        .get("blocking_deadline")
        .and_then(|n| w.duration(n, "blocking_deadline"))
        .map(ms);
    let blocking_total = top
        .get("blocking_total")
        .and_then(|n| w.duration(n, "blocking_total"))
        .map(ms);
    let redelivery = match top.get("redelivery") {
        None => Some(Redelivery {
            max_resends: 0,
            fresh_message_id: false,
        }),
        Some(n) => read_redelivery(n, w),
    };
    let batch = top.get("batch").and_then(|n| read_batch(n, w));
    let keys = top
        .require(w, "keys", "keys: {dedupe: /id}")
        .and_then(|n| read_keys(n, w, top.has("batch")));
    let envelope = top.get("envelope").and_then(|n| read_envelope(n, w, base));
    let challenge = match top.get("challenge") {
        None => Some(None),
        Some(n) => read_challenge(n, w).map(Some),
    };
    let types = top
        .require(
            w,
            "types",
            "types: [{name: order.created, schema: schemas/order.created.json}]",
        )
        .map(|n| read_types(n, w, base, name.as_deref().unwrap_or("custom"), envelope))
        .unwrap_or_else(|| DeclaredTypes::new("custom", None));
    let lifecycle: Vec<(String, Node)> = top
        .get("lifecycle")
        .and_then(|n| {
            w.strings(
                n,
                "lifecycle",
                "[order.created, order.paid, order.cancelled]",
            )
        })
        .unwrap_or_default();
    let keys = keys?;
    let profile = Profile {
        name: name?,
        scheme: scheme?,
        success: success?,
        deadline_ms: deadline?,
        blocking_deadline_ms: blocking_deadline,
        blocking_total_ms: blocking_total,
        redelivery: redelivery?,
        dedupe_key: keys.dedupe,
        ordering_key: keys.ordering,
        subject_key: keys.subject,
        type_key: keys.type_key,
        timestamp_key: keys.timestamp,
        challenge: challenge?,
        batch,
        lifecycle: lifecycle.iter().map(|(name, _)| name.clone()).collect(),
    };
    // A mistake in a type leaves the declaration incomplete.
    if !w.problems.is_empty() {
        return None;
    }
    let provider = match types.into_provider(profile) {
        Ok(provider) => provider,
        Err(e) => {
            w.error(root, e.to_string(), None);
            return None;
        }
    };
    // The ordering check sends these types: each must be declared.
    for (name, node) in &lifecycle {
        if let Err(e) = provider.event_type(name) {
            let declared: Vec<&str> = provider.types().iter().map(|t| t.name.as_str()).collect();
            w.error(
                node,
                format!("`lifecycle`: {e}"),
                Some(format!("the declared types are: {}", declared.join(", "))),
            );
        }
    }
    w.problems.is_empty().then_some(provider)
}

fn read_signature(node: &Node, w: &mut Walker) -> Option<Scheme> {
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

fn read_redelivery(node: &Node, w: &mut Walker) -> Option<Redelivery> {
    let f = w.map(node, "`redelivery`", REDELIVERY_KEYS)?;
    let max_resends = match f.get("max_resends") {
        None => Some(0),
        Some(n) => w.count(n, "max_resends", "3").and_then(|v| {
            let v = u32::try_from(v).ok();
            if v.is_none() {
                w.error(
                    n,
                    "`max_resends` is too large",
                    Some("providers resend a handful of times, e.g. 3".into()),
                );
            }
            v
        }),
    };
    let fresh = match f.get("fresh_message_id") {
        None => Some(false),
        Some(n) => w.boolean(n, "fresh_message_id"),
    };
    Some(Redelivery {
        max_resends: max_resends?,
        fresh_message_id: fresh?,
    })
}

struct Keys {
    dedupe: String,
    ordering: Option<String>,
    subject: Option<String>,
    type_key: Option<String>,
    timestamp: Option<(String, TimeFormat)>,
}

/// A JSON pointer (`/event/id`) or a header (`header:webhook-id`); only
/// a pointer when the provider batches (`batched`): a request's headers
/// cannot tell its events apart.
fn key_path(w: &mut Walker, node: &Node, key: &str, batched: bool) -> Option<String> {
    let path = w.string(node, key, "/id")?;
    if batched && path.starts_with("header:") {
        w.error(
            node,
            format!("`{key}` cannot be a header: with `batch`, key paths point into each event"),
            Some("write a JSON pointer into one event, e.g. `/log_id`".into()),
        );
        return None;
    }
    match check_key_path(key, &path) {
        Ok(()) => Some(path),
        Err(e) => {
            w.error(
                node,
                e.to_string(),
                Some(
                    "write e.g. `/data/id` (JSON pointer, starts with /) or `header:webhook-id`"
                        .into(),
                ),
            );
            None
        }
    }
}

fn read_keys(node: &Node, w: &mut Walker, batched: bool) -> Option<Keys> {
    let f = w.map(node, "`keys`", KEY_KEYS)?;
    let before = w.problems.len();
    let dedupe = f
        .require(w, "dedupe", "dedupe: /id")
        .and_then(|n| key_path(w, n, "dedupe", batched));
    let ordering = f
        .get("ordering")
        .and_then(|n| key_path(w, n, "ordering", batched));
    let subject = f
        .get("subject")
        .and_then(|n| key_path(w, n, "subject", batched));
    let type_key = f.get("type").and_then(|n| key_path(w, n, "type", batched));
    let timestamp = f
        .get("timestamp")
        .and_then(|n| read_timestamp(n, w, batched));
    if w.problems.len() > before {
        return None;
    }
    Some(Keys {
        dedupe: dedupe?,
        ordering,
        subject,
        type_key,
        timestamp,
    })
}

fn read_timestamp(node: &Node, w: &mut Walker, batched: bool) -> Option<(String, TimeFormat)> {
    let f: Fields<'_> = w.map(node, "`keys.timestamp`", TIMESTAMP_KEYS)?;
    let path = f
        .require(w, "path", "path: /created_at")
        .and_then(|n| key_path(w, n, "path", batched));
    let format = f
        .require(w, "format", "format: unix-seconds")
        .and_then(|n| w.choice(n, "format", &["unix-seconds", "unix-millis", "rfc3339"]))
        .map(|s| match s {
            "unix-seconds" => TimeFormat::UnixSeconds,
            "unix-millis" => TimeFormat::UnixMillis,
            _ => TimeFormat::Rfc3339,
        });
    Some((path?, format?))
}

/// `challenge: {kind: zoom-url-validation}`.
fn read_challenge(node: &Node, w: &mut Walker) -> Option<Challenge> {
    let f = w.map(node, "`challenge`", CHALLENGE_KEYS)?;
    let kinds: Vec<&str> = Challenge::ALL.iter().map(|c| c.name()).collect();
    f.require(w, "kind", "kind: slack-url-verification")
        .and_then(|n| w.choice(n, "kind", &kinds))
        .and_then(Challenge::parse)
}

/// `batch: {format: array | lines | object, max_events: N}`.
fn read_batch(node: &Node, w: &mut Walker) -> Option<Batch> {
    let f = w.map(node, "`batch`", BATCH_KEYS)?;
    let names: Vec<&str> = BatchFormat::ALL.iter().map(|b| b.name()).collect();
    let format = f
        .require(w, "format", "format: array")
        .and_then(|n| w.choice(n, "format", &names))
        .and_then(|name| BatchFormat::ALL.into_iter().find(|b| b.name() == name));
    let max_events = match f.get("max_events") {
        // One event per request says nothing more for `object`.
        None if format == Some(BatchFormat::Object) => Some(1),
        None => {
            f.require(w, "max_events", "max_events: 100");
            None
        }
        Some(n) => w.count(n, "max_events", "100").and_then(|v| {
            let fits = u32::try_from(v).ok().filter(|v| (1..=10_000).contains(v));
            if fits.is_none() {
                w.error(
                    n,
                    format!("`max_events` must be between 1 and 10000, found {v}"),
                    Some("the events one request carries, e.g. 100".into()),
                );
            }
            fits
        }),
    };
    let (format, max_events) = (format?, max_events?);
    if format == BatchFormat::Object && max_events != 1 {
        w.error(
            f.get("max_events").unwrap_or(node),
            format!("the `object` format carries one event per request, not {max_events}"),
            Some("use `format: array` or `format: lines` for several events per request".into()),
        );
        return None;
    }
    Some(Batch { format, max_events })
}

fn read_envelope(node: &Node, w: &mut Walker, base: &Path) -> Option<DeclaredEnvelope> {
    let f = w.map(node, "`envelope`", ENVELOPE_KEYS)?;
    let schema = f
        .require(w, "schema", "schema: schemas/envelope.json")
        .and_then(|n| read_schema(n, w, base));
    let payload = f
        .require(w, "payload", "payload: data")
        .and_then(|n| w.string(n, "payload", "data"));
    let type_field = f
        .get("type_field")
        .and_then(|n| w.string(n, "type_field", "type"));
    // The schema is judged even when `payload` is missing, so both are told.
    let envelope = DeclaredEnvelope::new(schema?, payload.clone().unwrap_or_default(), type_field);
    match envelope {
        Ok(envelope) => payload.map(|_| envelope),
        Err(e) => {
            w.error(
                f.get("schema").unwrap_or(node),
                e.to_string(),
                Some("the envelope is the JSON object every delivery's body is".into()),
            );
            None
        }
    }
}

/// A schema written inline (a mapping) or as a path to a JSON/YAML file.
fn read_schema(node: &Node, w: &mut Walker, base: &Path) -> Option<Json> {
    match &node.value {
        Value::Map(_) => Some(node.to_json()),
        Value::Str(rel) => {
            let path: PathBuf = base.join(rel);
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    w.error(
                        node,
                        format!("cannot read schema `{rel}`: {e}"),
                        Some(format!(
                            "paths are relative to the provider file's directory ({})",
                            base.display()
                        )),
                    );
                    return None;
                }
            };
            let parsed = if rel.ends_with(".yaml") || rel.ends_with(".yml") {
                parse_yaml(&text)
                    .map(|n| n.to_json())
                    .map_err(|e| e.to_string())
            } else {
                serde_json::from_str::<Json>(&text).map_err(|e| e.to_string())
            };
            match parsed {
                Ok(Json::Object(obj)) => Some(Json::Object(obj)),
                Ok(_) => {
                    w.error(node, format!("schema `{rel}` is not a JSON object"), None);
                    None
                }
                Err(e) => {
                    w.error(node, format!("schema `{rel}` is not valid: {e}"), None);
                    None
                }
            }
        }
        other => {
            w.error(
                node,
                format!("`schema` must be a mapping or a file path, found {}", other.kind()),
                Some("write `schema: schemas/order.created.json` or an inline `schema: {type: object, ...}`".into()),
            );
            None
        }
    }
}

fn read_types(
    node: &Node,
    w: &mut Walker,
    base: &Path,
    provider: &str,
    envelope: Option<DeclaredEnvelope>,
) -> DeclaredTypes {
    let mut types = DeclaredTypes::new(provider, envelope);
    let Value::Seq(items) = &node.value else {
        w.error(
            node,
            format!("`types` must be a list, found {}", node.value.kind()),
            Some("write each type as a list item: `- name: order.created`".into()),
        );
        return types;
    };
    if items.is_empty() {
        w.error(
            node,
            DeclaredError::NoTypes.to_string(),
            Some("declare at least one event type".into()),
        );
    }
    for item in items {
        let Some(f) = w.map(item, "an event type", TYPE_KEYS) else {
            continue;
        };
        let name = f.require(w, "name", "name: order.created").and_then(|n| {
            let name = w.string(n, "name", "order.created")?;
            if let Err(e) = types.check_new(&name) {
                w.error(n, e.to_string(), Some("keep one".into()));
                return None;
            }
            Some(name)
        });
        let description = f
            .get("description")
            .and_then(|n| w.string(n, "description", "..."))
            .unwrap_or_default();
        let blocking = f
            .get("blocking")
            .and_then(|n| w.boolean(n, "blocking"))
            .unwrap_or(false);
        let schema_node = f.require(w, "schema", "schema: schemas/order.created.json");
        let schema = schema_node.and_then(|n| read_schema(n, w, base));
        let (Some(name), Some(schema), Some(schema_node)) = (name, schema, schema_node) else {
            continue;
        };
        // Each schema is compiled alone so a broken one is reported at its place.
        if let Err(e) = types.add(name, description, blocking, schema) {
            w.error(
                schema_node,
                e.to_string(),
                Some("schemas are JSON Schema draft 2020-12".into()),
            );
        }
    }
    types
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
name: acme
signature:
  scheme: standard-webhooks
  key_form: raw-utf8
success: below-400
deadline: 3s
redelivery: {max_resends: 2, fresh_message_id: true}
keys:
  dedupe: /id
  ordering: /seq
  subject: /data/customer
  type: /type
  timestamp: {path: /ts, format: unix-seconds}
envelope:
  schema:
    type: object
    required: [id, type, data]
    properties:
      id: {type: string}
      seq: {type: integer}
      ts: {type: integer}
  payload: data
  type_field: type
types:
  - name: invoice.paid
    description: An invoice was paid.
    schema:
      type: object
      required: [customer]
      properties:
        customer: {type: string}
";

    #[test]
    fn a_good_file_becomes_a_profile_and_types() {
        let p = parse(GOOD, "p.yaml", Path::new(".")).unwrap();
        assert_eq!(p.name(), "acme");
        assert_eq!(p.profile().scheme, Scheme::infrahub());
        assert_eq!(p.profile().success, SuccessRule::Below400);
        assert_eq!(p.profile().deadline_ms, 3000);
        assert_eq!(p.profile().redelivery.max_resends, 2);
        assert_eq!(
            p.profile().timestamp_key,
            Some(("/ts".into(), TimeFormat::UnixSeconds))
        );
        let schema = &p.types()[0].schema;
        assert_eq!(schema["properties"]["type"]["const"], "invoice.paid");
        assert_eq!(schema["properties"]["data"]["required"][0], "customer");
        let catalog = p.catalog();
        let ok = serde_json::json!({"id": "1", "type": "invoice.paid", "data": {"customer": "c"}});
        let wrong =
            serde_json::json!({"id": "1", "type": "invoice.sent", "data": {"customer": "c"}});
        assert!(catalog.validate(&catalog.types()[0], &ok).is_ok());
        assert!(catalog.validate(&catalog.types()[0], &wrong).is_err());
    }

    #[test]
    fn toml_files_read_the_same_and_are_positioned() {
        let text = r#"
name = "acme"
deadline = "3s"
success = "2xx"

[signature]
scheme = "fusionauth-jwt"
alg = "HS384"

[keys]
dedupe = "/id"

[[types]]
name = "invoice.paid"
schema = { type = "object", required = ["id"] }
"#;
        let p = parse(text, "p.toml", Path::new(".")).unwrap();
        assert_eq!(p.profile().deadline_ms, 3000);
        assert!(matches!(
            p.profile().scheme,
            Scheme::FusionauthJwt {
                alg: JwtAlg::HS384,
                ..
            }
        ));
        assert_eq!(p.types()[0].schema["required"][0], "id");
        let broken = text
            .replace("\"HS384\"", "\"HS385\"")
            .replace("deadline = \"3s\"", "deadline = \"3 s\"");
        let plain = parse(&broken, "p.toml", Path::new("."))
            .unwrap_err()
            .render_plain();
        assert!(plain.contains("p.toml:3:12: error: `deadline`"), "{plain}");
        assert!(
            plain.contains("p.toml:8:7: error: unknown alg `HS385`"),
            "{plain}"
        );
        let syntax = parse("name = \n", "p.toml", Path::new("."))
            .unwrap_err()
            .render_plain();
        assert!(syntax.starts_with("p.toml:1:"), "{syntax}");
        assert!(syntax.contains("invalid TOML"), "{syntax}");
    }

    const DECLARED: &str = "\
name: acme
signature:
  algorithm: hmac-sha512
  key: {form: base64, prefix: whsec_}
  signed: \"{ts}.{method}.{body}\"
  encoding: base64url
  header: x-acme-signature
  value: \"t={ts},sig={sig}\"
  separator: \",\"
  timestamp: {unit: millis, tolerance: 60s, future: false}
  static_headers: {x-acme-version: 2}
  id: {header: x-acme-delivery, form: uuid}
deadline: 3s
keys: {dedupe: /id}
types:
  - name: invoice.paid
    schema: {type: object}
";

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
        let plain = parse(&text, "p.yaml", Path::new("."))
            .unwrap_err()
            .render_plain();
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
        let plain = parse(&no_ts, "p.yaml", Path::new("."))
            .unwrap_err()
            .render_plain();
        assert!(plain.contains("declares no `timestamp`"), "{plain}");
        // Built-in parameters do not mix with a declaration.
        let mixed = DECLARED.replace(
            "  encoding: base64url\n",
            "  encoding: base64url\n  kid: k1\n",
        );
        let plain = parse(&mixed, "p.yaml", Path::new("."))
            .unwrap_err()
            .render_plain();
        assert!(
            plain.contains("`kid` belongs to a built-in `scheme`"),
            "{plain}"
        );
    }

    #[test]
    fn a_challenge_is_read_and_its_mistakes_are_positioned() {
        let with = |challenge: &str| {
            GOOD.replace(
                "success: below-400\n",
                &format!("success: below-400\n{challenge}\n"),
            )
        };
        assert_eq!(
            parse(GOOD, "p.yaml", Path::new("."))
                .unwrap()
                .profile()
                .challenge,
            None
        );
        for c in Challenge::ALL {
            let text = with(&format!("challenge: {{kind: {}}}", c.name()));
            let p = parse(&text, "p.yaml", Path::new(".")).unwrap();
            assert_eq!(p.profile().challenge, Some(c));
        }
        let plain = parse(
            &with("challenge: {kind: slack-url-verify}"),
            "p.yaml",
            Path::new("."),
        )
        .unwrap_err()
        .render_plain();
        assert!(
            plain.contains("p.yaml:6:19: error: unknown kind `slack-url-verify`"),
            "{plain}"
        );
        assert!(
            plain.contains("did you mean `slack-url-verification`"),
            "{plain}"
        );
        let plain = parse(
            &with("challenge: {knd: discord-ping}"),
            "p.yaml",
            Path::new("."),
        )
        .unwrap_err()
        .render_plain();
        assert!(plain.contains("p.yaml:6:"), "{plain}");
        assert!(plain.contains("kind"), "{plain}");
    }

    #[test]
    fn a_batch_is_read_and_its_mistakes_are_positioned() {
        let batched = DECLARED.replace(
            "keys: {dedupe: /id}",
            "batch: {format: lines, max_events: 50}\nkeys: {dedupe: /id}",
        );
        let p = parse(&batched, "p.yaml", Path::new(".")).unwrap();
        assert_eq!(
            p.profile().batch,
            Some(Batch {
                format: BatchFormat::Lines,
                max_events: 50
            })
        );
        assert_eq!(p.profile().events_per_request(), 50);
        let object = DECLARED.replace(
            "keys: {dedupe: /id}",
            "batch: {format: object}\nkeys: {dedupe: /id}",
        );
        let p = parse(&object, "p.yaml", Path::new(".")).unwrap();
        assert_eq!(p.profile().events_per_request(), 1);
        assert_eq!(
            parse(DECLARED, "p.yaml", Path::new("."))
                .unwrap()
                .profile()
                .batch,
            None
        );

        let wrong = DECLARED.replace(
            "keys: {dedupe: /id}",
            "batch: {format: json-array, max_events: 0}\nkeys: {dedupe: header:x-id}",
        );
        let plain = parse(&wrong, "p.yaml", Path::new("."))
            .unwrap_err()
            .render_plain();
        assert!(
            plain.contains("p.yaml:14:17: error: unknown format `json-array`"),
            "{plain}"
        );
        assert!(
            plain.contains("p.yaml:14:41: error: `max_events` must be between 1 and 10000"),
            "{plain}"
        );
        assert!(
            plain.contains("p.yaml:15:16: error: `dedupe` cannot be a header"),
            "{plain}"
        );
        let several_objects = DECLARED.replace(
            "keys: {dedupe: /id}",
            "batch: {format: object, max_events: 5}\nkeys: {dedupe: /id}",
        );
        let plain = parse(&several_objects, "p.yaml", Path::new("."))
            .unwrap_err()
            .render_plain();
        assert!(
            plain
                .contains("p.yaml:14:37: error: the `object` format carries one event per request"),
            "{plain}"
        );
        let no_max = DECLARED.replace(
            "keys: {dedupe: /id}",
            "batch: {format: array}\nkeys: {dedupe: /id}",
        );
        let plain = parse(&no_max, "p.yaml", Path::new("."))
            .unwrap_err()
            .render_plain();
        assert!(plain.contains("max_events"), "{plain}");
    }

    #[test]
    fn mistakes_are_positioned() {
        let text = GOOD
            .replace("key_form: raw-utf8", "key_form: raw-utf9\n  header: x-sig")
            .replace("dedupe: /id", "dedupe: id")
            .replace("name: acme", "name: authgear");
        let err = parse(&text, "p.yaml", Path::new(".")).unwrap_err();
        let plain = err.render_plain();
        assert!(
            plain.contains("p.yaml:1:7: error: `authgear` is a built-in provider"),
            "{plain}"
        );
        assert!(
            plain.contains("p.yaml:4:13: error: unknown key_form `raw-utf9`"),
            "{plain}"
        );
        assert!(plain.contains("did you mean `raw-utf8`"), "{plain}");
        assert!(
            plain.contains(
                "p.yaml:5:3: error: `header` does not apply to the standard-webhooks scheme"
            ),
            "{plain}"
        );
        assert!(
            plain.contains("p.yaml:10:11: error: `dedupe` must be a JSON pointer"),
            "{plain}"
        );
    }
}
