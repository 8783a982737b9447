//! Provider files: a YAML or TOML file declaring a provider hookstorm does
//! not ship — its event types with their JSON Schemas (inline or by path
//! relative to the file), an optional shared envelope, a signature scheme
//! (a built-in one by name with its parameters, or a declared one:
//! algorithm, key, signed content, encoding, headers), the success rule,
//! deadlines, redelivery, the dedupe/ordering/subject/type/timestamp key
//! paths, the sender's endpoint challenge (`challenge: {kind: ...}`, one
//! of [`generators::Challenge::ALL`], judged by the `handshake` check) and `batch` for
//! a provider that delivers several events per request — read into the
//! same [`Provider`] the built-in providers are.
//!
//! This module reads; the rules of a declared provider (names, key paths,
//! the envelope, schemas) are `generators::declared`, and each of their
//! errors is reported at the node it came from. Mistakes are reported like
//! scenario mistakes: all of them, each with file, line, column and a hint
//! (`scenarios/custom-provider.yaml` is the commented example).
//!
//! The reading is split by section: `signature` for the scheme, `delivery`
//! for redelivery, key paths, batch and challenge, and `types` for the
//! envelope and event types; this module reads the file and assembles the
//! [`Provider`].

mod delivery;
mod signature;
mod types;

pub use delivery::{BATCH_KEYS, CHALLENGE_KEYS, KEY_KEYS, REDELIVERY_KEYS, TIMESTAMP_KEYS};
pub use signature::{
    DECLARED_SIGNATURE_KEYS, ID_KEYS, KEY_SPEC_KEYS, SCHEMES, SIGNATURE_KEYS, SIGNED_TIMESTAMP_KEYS,
};
pub use types::{ENVELOPE_KEYS, TYPE_KEYS};

use std::path::Path;
use std::time::Duration;

use generators::declared::check_name;
use generators::{DeclaredError, DeclaredTypes, Profile, Provider, Redelivery, SuccessRule};

use crate::document::{base_dir, finish, load_toml, load_yaml, Diagnostic, Node, Walker};

use delivery::{read_batch, read_challenge, read_keys, read_redelivery};
use signature::read_signature;
use types::{read_envelope, read_types};

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

#[cfg(test)]
mod tests {
    use super::*;
    use generators::{JwtAlg, Scheme, TimeFormat};

    pub(super) const GOOD: &str = "\
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

    pub(super) const DECLARED: &str = "\
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

    /// The rendered diagnostic for provider-file `text` named `file`
    /// (whose extension picks YAML or TOML), which must not read.
    pub(super) fn error_of(text: &str, file: &str) -> String {
        parse(text, file, Path::new("."))
            .unwrap_err()
            .render_plain()
    }

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
        let plain = error_of(&broken, "p.toml");
        assert!(plain.contains("p.toml:3:12: error: `deadline`"), "{plain}");
        assert!(
            plain.contains("p.toml:8:7: error: unknown alg `HS385`"),
            "{plain}"
        );
        let syntax = error_of("name = \n", "p.toml");
        assert!(syntax.starts_with("p.toml:1:"), "{syntax}");
        assert!(syntax.contains("invalid TOML"), "{syntax}");
    }

    #[test]
    fn mistakes_are_positioned() {
        let text = GOOD
            .replace("key_form: raw-utf8", "key_form: raw-utf9\n  header: x-sig")
            .replace("dedupe: /id", "dedupe: id")
            .replace("name: acme", "name: authgear");
        let plain = error_of(&text, "p.yaml");
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
