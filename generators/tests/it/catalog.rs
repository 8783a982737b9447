//! Catalog, schema and generator properties over all 87 built-in types:
//! generated events validate, variants keep or break validity as labelled,
//! output is deterministic, ids are unique and `seq` increases, the
//! providers' published examples validate and look like generated events.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;

use generators::{
    find_variant, shrink, validate_blocking_response, variants, Catalog, EventType, Family,
    Generator, Provider, ProviderId, MAX_BODY_BYTES,
};
use serde_json::{json, Value};

const NOW_MS: i64 = 1_763_900_000_000;

/// The providers' published event list and examples, copied into the
/// repository (see `tests/fixtures/README.md` for their sources).
fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read_json(path: &PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn catalog_has_exactly_the_48_pairs_of_event_types_txt() {
    let text = std::fs::read_to_string(fixtures().join("event-types.txt")).unwrap();
    let expected: BTreeSet<(String, String)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (p, t) = l.trim().split_once(' ').unwrap();
            (p.to_string(), t.to_string())
        })
        .collect();
    assert_eq!(expected.len(), 48);
    // Standard Webhooks' types are the spec's payload shape of Authgear's
    // events, not a list any provider publishes.
    let documented = || {
        Catalog::builtin()
            .types()
            .iter()
            .filter(|t| t.provider != "standard-webhooks")
    };
    let actual: BTreeSet<(String, String)> = documented()
        .map(|t| (t.provider.clone(), t.name.clone()))
        .collect();
    assert_eq!(actual, expected);
    assert_eq!(documented().count(), 48, "no duplicates");
    assert_eq!(Catalog::builtin().types().len(), 48 + 39);
    let blocking: BTreeSet<&str> = Catalog::builtin()
        .types()
        .iter()
        .filter(|t| t.blocking)
        .map(|t| t.name.as_str())
        .collect();
    let want: BTreeSet<&str> = [
        "user.pre_create",
        "user.profile.pre_update",
        "user.pre_schedule_deletion",
        "user.pre_schedule_anonymization",
        "oidc.jwt.pre_create",
    ]
    .into();
    assert_eq!(blocking, want);
    // Standard Webhooks: Authgear's 39 non-blocking events, no blocking hooks.
    let sw = Catalog::builtin().of_provider_name(ProviderId::StandardWebhooks.name());
    assert_eq!(sw.len(), 39);
    assert!(sw.iter().all(|t| !t.blocking));
    for t in Catalog::builtin().types() {
        assert!(!t.description.is_empty(), "{} {}", t.provider, t.name);
        assert_eq!(
            t.schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
    }
}

#[test]
fn every_type_generates_256_valid_events() {
    let catalog = Catalog::builtin();
    let mut g = Generator::new(42, NOW_MS);
    for ty in catalog.types() {
        for i in 0..256 {
            let e = g.valid(ty);
            if let Err(errors) = catalog.validate(ty, &e) {
                panic!(
                    "{} {} event #{i} invalid: {errors:?}\n{e:#}",
                    ty.provider, ty.name
                );
            }
        }
    }
}

#[test]
fn still_valid_variants_validate_for_every_type() {
    let catalog = Catalog::builtin();
    let mut g = Generator::new(7, NOW_MS);
    for v in variants().iter().filter(|v| v.family == Family::StillValid) {
        for ty in catalog.types() {
            for _ in 0..3 {
                let m = g.mutate(ty, v);
                assert_eq!(m.label, v.label);
                assert_eq!(m.content_type, "application/json");
                let parsed: Value = serde_json::from_slice(&m.body).unwrap_or_else(|e| {
                    panic!(
                        "{} on {} {}: body not JSON: {e}",
                        v.label, ty.provider, ty.name
                    )
                });
                assert_eq!(
                    Some(&parsed),
                    m.value.as_ref(),
                    "{}: value and body disagree",
                    v.label
                );
                if let Err(errors) = catalog.validate(ty, &parsed) {
                    panic!(
                        "{} on {} {} does not validate: {errors:?}",
                        v.label, ty.provider, ty.name
                    );
                }
                assert!(
                    m.body.len() <= MAX_BODY_BYTES,
                    "{} on {}: {} bytes",
                    v.label,
                    ty.name,
                    m.body.len()
                );
            }
        }
    }
}

/// Whether the still-valid variants change what they say they change.
#[test]
fn still_valid_variants_make_their_change() {
    let catalog = Catalog::builtin();
    let ty = catalog.get("authgear", "user.created").unwrap();
    let mut g = Generator::new(11, NOW_MS);
    let body =
        |label: &str, g: &mut Generator| g.mutate(ty, find_variant(label).unwrap()).value.unwrap();

    assert!(body("unknown-field-top", &mut g)
        .get("x_hookstorm_unknown")
        .is_some());
    let deep = body("unknown-field-deep", &mut g);
    assert!(deep["payload"]["user"]
        .as_object()
        .unwrap()
        .keys()
        .any(|k| k.starts_with("x_hookstorm_unknown_")));
    let absent = body("optional-absent", &mut g);
    let user = absent["payload"]["user"].as_object().unwrap();
    assert!(
        !user.contains_key("standard_attributes") && !user.contains_key("last_login_at"),
        "{absent}"
    );
    assert!(absent["context"].get("ip_address").is_none());
    let null = body("optional-null", &mut g);
    assert_eq!(null["context"]["geo_location_code"], Value::Null);
    assert_eq!(null["context"]["user_id"], Value::Null);
    let uni = body("unicode-extreme", &mut g);
    let name = uni["payload"]["user"]["standard_attributes"]["name"]
        .as_str()
        .unwrap();
    assert!(
        name.contains('\u{202E}') && name.contains('\u{1F469}') && !name.contains('\0'),
        "{name}"
    );
    let long = body("max-length", &mut g);
    assert_eq!(
        long["payload"]["user"]["standard_attributes"]["name"]
            .as_str()
            .unwrap()
            .chars()
            .count(),
        4096
    );
    let edges = body("i64-edges", &mut g);
    assert_eq!(edges["seq"], json!(i64::MAX));
    assert_eq!(edges["context"]["timestamp"], json!(i64::MIN));
    let nested = body("deep-nesting", &mut g);
    let mut depth = 0;
    let mut cur = &nested["payload"]["user"]["custom_attributes"]["x_hookstorm_nested"];
    while let Some(next) = cur.as_object().and_then(|m| m.values().next()) {
        cur = next;
        depth += 1;
    }
    assert_eq!(depth, 64);
    let large = body("large-array", &mut g);
    assert!(
        large["context"]["preferred_languages"]
            .as_array()
            .unwrap()
            .len()
            >= 500,
        "{}",
        large["context"]
    );

    let fa = catalog.get("fusionauth", "user.login.success").unwrap();
    let nested = g
        .mutate(fa, find_variant("deep-nesting").unwrap())
        .value
        .unwrap();
    assert!(nested["event"]["info"]["data"]
        .get("x_hookstorm_nested")
        .is_some());
}

#[test]
fn invalid_variants_fail_for_their_labelled_reason() {
    let catalog = Catalog::builtin();
    let mut g = Generator::new(9, NOW_MS);
    for ty in catalog.types() {
        for v in variants().iter().filter(|v| v.family == Family::Invalid) {
            let m = g.mutate(ty, v);
            let what = format!("{} on {} {}", v.label, ty.provider, ty.name);
            let parsed = serde_json::from_slice::<Value>(&m.body);
            match v.label {
                "malformed-json" | "truncated-body" | "empty-body" => {
                    assert!(parsed.is_err(), "{what}: body parses");
                    assert!(m.value.is_none(), "{what}");
                }
                "wrong-type" | "missing-required" => {
                    let keyword = if v.label == "wrong-type" {
                        "[type]"
                    } else {
                        "[required]"
                    };
                    let errors = catalog.validate(ty, &parsed.unwrap()).expect_err(&what);
                    assert!(
                        errors.iter().any(|e| e.contains(keyword)),
                        "{what}: {errors:?}"
                    );
                }
                "wrong-event-type" => {
                    let value = parsed.unwrap();
                    assert!(catalog.validate(ty, &value).is_err(), "{what}: validates");
                    let provider = ProviderId::parse(&ty.provider).unwrap();
                    if provider != ProviderId::Auth0 {
                        let provider = Provider::builtin(provider);
                        assert_eq!(
                            provider.type_of(&value, |_| None).map(|t| &t.name),
                            Some(&ty.name),
                            "{what}"
                        );
                    }
                }
                "wrong-content-type" => {
                    assert!(m.content_type.starts_with("text/plain"), "{what}");
                    assert!(
                        catalog.validate(ty, &parsed.unwrap()).is_ok(),
                        "{what}: only the content type is wrong"
                    );
                }
                "oversized-body" => {
                    assert_eq!(m.body.len(), MAX_BODY_BYTES + 1024, "{what}");
                    assert!(parsed.is_ok(), "{what}: only the size is wrong");
                }
                other => panic!("untested invalid variant {other}"),
            }
        }
    }
}

#[test]
fn same_seed_same_output_and_different_seed_different_output() {
    let catalog = Catalog::builtin();
    let run = |seed: u64| {
        let mut g = Generator::new(seed, NOW_MS);
        let mut out = Vec::new();
        for ty in catalog.types() {
            out.push(serde_json::to_vec(&g.valid(ty)).unwrap());
            out.push(
                serde_json::to_vec(
                    &g.valid_for_subject(ty, "338deafa-400b-4589-a922-2c92d670b757"),
                )
                .unwrap(),
            );
            out.push(g.mutate(ty, find_variant("wrong-type").unwrap()).body);
        }
        out
    };
    let a = run(1234);
    assert_eq!(a, run(1234));
    let b = run(1235);
    assert_ne!(a, b);
    assert!(a.iter().zip(&b).filter(|(x, y)| x == y).count() < a.len() / 10);
}

#[test]
fn ids_are_unique_and_seq_strictly_increases() {
    let catalog = Catalog::builtin();
    let mut g = Generator::new(5, NOW_MS);
    let mut ids = HashSet::new();
    let mut last_seq = i64::MIN;
    let authgear = catalog.of_provider_name(ProviderId::Authgear.name());
    for i in 0..20_000 {
        let e = g.valid(authgear[i % authgear.len()]);
        assert!(
            ids.insert(e["id"].as_str().unwrap().to_string()),
            "duplicate id at {i}"
        );
        let seq = e["seq"].as_i64().unwrap();
        assert!(seq > last_seq, "seq {seq} after {last_seq}");
        last_seq = seq;
    }
    for (provider, name, pointer) in [
        ("fusionauth", "user.login.success", "/event/id"),
        ("infrahub", "infrahub.account.logged_in", "/id"),
        ("auth0", "post-login", "/transaction/id"),
    ] {
        let ty = catalog.get(provider, name).unwrap();
        let mut ids = HashSet::new();
        for _ in 0..5_000 {
            let e = g.valid(ty);
            assert!(
                ids.insert(e.pointer(pointer).unwrap().as_str().unwrap().to_string()),
                "{provider}"
            );
        }
    }
}

#[test]
fn timestamps_are_near_now_in_each_providers_unit() {
    let catalog = Catalog::builtin();
    let mut g = Generator::new(8, NOW_MS);
    for _ in 0..100 {
        let ag = g.valid(catalog.get("authgear", "user.created").unwrap());
        let ts = ag["context"]["timestamp"].as_i64().unwrap();
        assert!((NOW_MS / 1000 - 3..=NOW_MS / 1000).contains(&ts), "{ts}");
        let fa = g.valid(catalog.get("fusionauth", "user.login.success").unwrap());
        let ci = fa["event"]["createInstant"].as_i64().unwrap();
        assert!((NOW_MS - 2_000..=NOW_MS).contains(&ci), "{ci}");
        let ih = g.valid(
            catalog
                .get("infrahub", "infrahub.account.logged_in")
                .unwrap(),
        );
        assert!(
            ih["occured_at"]
                .as_str()
                .unwrap()
                .starts_with("2025-11-23T"),
            "{}",
            ih["occured_at"]
        );
    }
}

#[test]
fn subject_lands_in_every_subject_field() {
    let catalog = Catalog::builtin();
    let mut g = Generator::new(3, NOW_MS);
    for provider in [
        ProviderId::Authgear,
        ProviderId::Fusionauth,
        ProviderId::Infrahub,
        ProviderId::Auth0,
    ] {
        let pointer = provider.profile().subject_key.unwrap();
        for ty in catalog.of_provider_name(provider.name()) {
            if ty.name == "authentication.identity.login_id.failed"
                || ty.name == "bot_protection.verification.failed"
            {
                continue; // no user yet: Authgear sends no subject
            }
            let subject = g.subject(ty);
            let e = g.valid_for_subject(ty, &subject);
            assert_eq!(
                e.pointer(&pointer).and_then(Value::as_str),
                Some(subject.as_str()),
                "{} {}",
                ty.provider,
                ty.name
            );
            assert!(
                catalog.validate(ty, &e).is_ok(),
                "{} {}",
                ty.provider,
                ty.name
            );
            match provider {
                ProviderId::Authgear => {
                    assert_eq!(e["payload"]["user"]["id"], e["context"]["user_id"])
                }
                ProviderId::Infrahub => assert_eq!(e["data"]["account_id"], e["account_id"]),
                _ => {}
            }
        }
    }
}

fn example_events() -> Vec<(String, Value)> {
    let dir = fixtures().join("examples");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".json") && !name.contains("blocking-response") {
            out.push((name, read_json(&path)));
        }
    }
    assert!(out.len() >= 2, "examples missing in {}", dir.display());
    out
}

fn example_type(file: &str) -> &'static EventType {
    let (provider, rest) = file.split_once('.').unwrap();
    let name = rest.trim_end_matches(".json");
    Catalog::builtin().get(provider, name).unwrap()
}

#[test]
fn provider_examples_validate() {
    for (file, value) in example_events() {
        let ty = example_type(&file);
        if let Err(errors) = Catalog::builtin().validate(ty, &value) {
            panic!("{file}: {errors:?}");
        }
    }
    for file in ["allowed", "denied", "jwt"] {
        let v =
            read_json(&fixtures().join(format!("examples/authgear.blocking-response.{file}.json")));
        assert!(validate_blocking_response(&v).is_ok(), "{file}");
    }
    let allowed = read_json(&fixtures().join("examples/authgear.blocking-response.allowed.json"));
    let mut extra = allowed.clone();
    extra["surprise"] = json!(1);
    assert!(validate_blocking_response(&extra).is_err());
    let mut not_bool = allowed.clone();
    not_bool["is_allowed"] = json!("yes");
    assert!(validate_blocking_response(&not_bool).is_err());
    let mut other_field = allowed;
    other_field["mutations"]["user"]["is_disabled"] = json!(true);
    assert!(validate_blocking_response(&other_field).is_err());
}

/// Value shape classes: what a receiver parses differently.
fn shape(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) => match n.as_i64() {
            Some(i) if i >= 100_000_000_000 => "epoch-ms",
            Some(i) if i >= 1_000_000_000 => "epoch-s",
            Some(_) => "int",
            None => "float",
        },
        Value::String(s) => {
            let b = s.as_bytes();
            if b.len() == 36 && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-') {
                "uuid"
            } else if b.len() >= 20 && b[4] == b'-' && b[10] == b'T' && s.ends_with('Z') {
                "iso8601"
            } else {
                "string"
            }
        }
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn leaves(v: &Value, path: String, out: &mut BTreeMap<String, BTreeSet<&'static str>>) {
    out.entry(path.clone()).or_default().insert(shape(v));
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, c)| leaves(c, format!("{path}/{k}"), out)),
        Value::Array(a) => a.iter().for_each(|c| leaves(c, format!("{path}/[]"), out)),
        _ => {}
    }
}

#[test]
fn generated_events_look_like_the_provider_examples() {
    let mut g = Generator::new(21, NOW_MS);
    for (file, example) in example_events() {
        let ty = example_type(&file);
        let mut want = BTreeMap::new();
        leaves(&example, String::new(), &mut want);
        let mut got = BTreeMap::new();
        for _ in 0..128 {
            leaves(&g.valid(ty), String::new(), &mut got);
        }
        for (path, shapes) in &want {
            let seen = got
                .get(path)
                .unwrap_or_else(|| panic!("{file}: {path} never generated"));
            for s in shapes.iter().filter(|s| **s != "null") {
                assert!(
                    seen.contains(s),
                    "{file}: {path} is {s} in the example, generated {seen:?}"
                );
                // A field is one kind of thing: ids stay UUIDs, instants keep their unit.
                if matches!(*s, "uuid" | "iso8601" | "epoch-ms" | "epoch-s") {
                    assert!(
                        seen.iter().all(|x| x == s || *x == "null"),
                        "{file}: {path} {s} vs {seen:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn shrinking_keeps_events_valid_and_reaches_a_small_failing_form() {
    let catalog = Catalog::builtin();
    let ty = catalog.get("authgear", "user.profile.updated").unwrap();
    let mut g = Generator::new(17, NOW_MS);
    // A receiver "bug": it fails on any user carrying standard attributes.
    let fails = |v: &Value| v["payload"]["user"].get("standard_attributes").is_some();
    let mut tree = loop {
        let t = g.tree(ty);
        if fails(t.value()) {
            break t;
        }
    };
    let before = serde_json::to_vec(tree.value()).unwrap().len();
    let mut checked = 0;
    let smallest = shrink(
        &mut tree,
        |v| {
            checked += 1;
            assert!(
                catalog.validate(ty, v).is_ok(),
                "shrinking produced an invalid event: {v}"
            );
            fails(v)
        },
        2_000,
    );
    assert!(fails(&smallest));
    assert!(catalog.validate(ty, &smallest).is_ok());
    let after = serde_json::to_vec(&smallest).unwrap().len();
    assert!(after < before, "{after} >= {before}");
    assert!(
        smallest["context"].get("ip_address").is_none(),
        "{smallest:#}"
    );
    assert!(
        smallest["payload"]["user"].get("last_login_at").is_none(),
        "{smallest:#}"
    );
    assert!(checked > 0);
}

#[test]
fn unknown_names_suggest_the_closest() {
    let c = Catalog::builtin();
    let e = c
        .get("infrahub", "infrahub.account.loged_in")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("did you mean `infrahub.account.logged_in`"),
        "{e}"
    );
    let e = c.get("auht0", "post-login").unwrap_err().to_string();
    assert!(e.contains("did you mean `auth0`"), "{e}");
    let e = find_variant("truncated").unwrap_err().to_string();
    assert!(e.contains("did you mean `truncated-body`"), "{e}");
}

#[test]
fn custom_types_generate_from_their_schema_alone() {
    let ty = EventType {
        provider: "acme".into(),
        name: "order.paid".into(),
        blocking: false,
        description: "An order was paid.".into(),
        schema: json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "required": ["id", "kind", "amount", "customer"],
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "kind": {"const": "order.paid"},
                "amount": {"type": "integer", "minimum": 1, "maximum": 100000},
                "currency": {"enum": ["EUR", "USD"]},
                "customer": {"$ref": "#/$defs/customer"},
                "sku": {"type": "string", "pattern": "^SKU-[0-9]{6}$"}
            },
            "$defs": {"customer": {"type": "object", "required": ["email"], "properties": {"email": {"type": "string", "format": "email"}}}}
        }),
    };
    let catalog = Catalog::from_types(vec![ty.clone()]).unwrap();
    let mut g = Generator::new(2, NOW_MS);
    for _ in 0..200 {
        let e = g.valid(&ty);
        assert!(catalog.validate(&ty, &e).is_ok(), "{e}");
        assert!(e["customer"]["email"].as_str().unwrap().contains('@'));
    }
    for v in variants().iter().filter(|v| v.family == Family::StillValid) {
        let m = g.mutate(&ty, v);
        assert!(
            catalog.validate(&ty, m.value.as_ref().unwrap()).is_ok(),
            "{}",
            v.label
        );
    }
    let m = g.mutate(&ty, find_variant("missing-required").unwrap());
    assert!(catalog.validate(&ty, m.value.as_ref().unwrap()).is_err());
}
