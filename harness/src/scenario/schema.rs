//! The published JSON Schema (draft 2020-12) of scenario files, printed by
//! `hookstorm scenario schema` for editor completion
//! (`# yaml-language-server: $schema=scenario.schema.json`).
//!
//! The key lists come from the scenario readers, and a test checks that every
//! shipped scenario validates against this schema, so the two cannot
//! drift apart silently.

use serde_json::{json, Value};

use super::parse::ORDERING;

const DURATION_PATTERN: &str = r"^[0-9]+(\.[0-9]+)?(us|µs|ms|s|m|h)$";
const THRESHOLD_PATTERN: &str = r"^\s*(service\.)?[a-z_0-9.]+\s*(<=|>=|<|>)\s*\S+\s*$";

fn duration() -> Value {
    json!({"type": "string", "pattern": DURATION_PATTERN, "description": "a number and a unit, no space: 500ms, 10s, 1.5m"})
}

fn thresholds() -> Value {
    json!({
        "type": "array",
        "items": {"type": "string", "pattern": THRESHOLD_PATTERN},
        "description": "METRIC OP VALUE, e.g. p99<250ms, error_rate<0.1%, rps>1000"
    })
}

fn mix() -> Value {
    json!({
        "type": "object",
        "description": "event type -> relative weight",
        "additionalProperties": {"type": "number", "exclusiveMinimum": 0}
    })
}

fn string_list() -> Value {
    json!({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})
}

fn check_step() -> Value {
    let ids = crate::check::CheckId::ALL.map(|c| c.as_str());
    let id_list = json!({"oneOf": [
        {"type": "string", "enum": ids},
        {"type": "array", "items": {"type": "string", "enum": ids}}
    ]});
    json!({
        "oneOf": [
            {"type": "null"},
            {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "checks": id_list,
                    "exclude": id_list,
                    "types": string_list(),
                    "concurrency": {"type": "integer", "minimum": 1},
                    "burst": {"type": "integer", "minimum": 1}
                }
            }
        ]
    })
}

fn load_step() -> Value {
    let stage = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["duration", "rate"],
        "properties": {"duration": duration(), "rate": {"type": "number", "minimum": 0}}
    });
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "rate": {"type": "number", "exclusiveMinimum": 0, "description": "open model: arrivals per second; with `stages`, the rate the ramp starts from"},
            "stages": {"type": "array", "minItems": 1, "items": stage, "description": "open model, ramping: each stage moves linearly to its rate, starting from `rate` if given, else from 0"},
            "concurrency": {"type": "integer", "minimum": 1, "description": "closed model: concurrent senders"},
            "duration": duration(),
            "requests": {"type": "integer", "minimum": 1},
            "connections": {"type": "integer", "minimum": 1},
            "mix": mix(),
            "adversarial": {"oneOf": [
                {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?%$"},
                {"type": "number", "minimum": 0, "maximum": 1}
            ]},
            "thresholds": thresholds()
        },
        // `rate` and `stages` together are a ramp from that rate; the
        // closed model excludes both.
        "oneOf": [
            {"anyOf": [{"required": ["rate"]}, {"required": ["stages"]}], "not": {"required": ["concurrency"]}},
            {"required": ["concurrency"], "not": {"anyOf": [{"required": ["rate"]}, {"required": ["stages"]}]}}
        ]
    })
}

fn capacity_step() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["slo", "max_rate"],
        "properties": {
            "slo": thresholds(),
            "start_rate": {"type": "number", "exclusiveMinimum": 0},
            "max_rate": {"type": "number", "exclusiveMinimum": 0},
            "step_duration": duration(),
            "connections": {"type": "integer", "minimum": 1},
            "mix": mix(),
            "thresholds": thresholds()
        }
    })
}

fn step() -> Value {
    let wait = json!({"oneOf": [
        duration(),
        {"type": "object", "additionalProperties": false, "required": ["duration"], "properties": {"duration": duration()}}
    ]});
    let one = |kind: &str| json!({"required": [kind]});
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "name": {"type": "string"},
            "check": check_step(),
            "load": load_step(),
            "capacity": capacity_step(),
            "wait": wait
        },
        "oneOf": [one("check"), one("load"), one("capacity"), one("wait")]
    })
}

/// The scenario file format as a JSON Schema document.
pub fn scenario_schema() -> Value {
    let providers: Vec<&str> = crate::provider::names();
    let ledger = json!({"oneOf": [
        {"type": "string", "pattern": "^https?://"},
        {"type": "object", "additionalProperties": false, "properties": {
            "url": {"type": "string", "pattern": "^https?://"},
            "cmd": {"type": "string"}
        }, "oneOf": [{"required": ["url"]}, {"required": ["cmd"]}]}
    ]});
    let tls = json!({
        "type": "object",
        "additionalProperties": false,
        "description": "how to trust an https target (and ledger URL); --ca-cert and --insecure override it",
        "properties": {
            "ca_cert": {"type": "string", "description": "a PEM CA certificate to trust, relative to this file"},
            "insecure": {"type": "boolean", "description": "do not verify the target's certificate (test targets only); default false"}
        }
    });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://hookstorm.dev/schemas/scenario.schema.json",
        "title": "hookstorm scenario",
        "description": "A QA scenario: target, provider, secret from the environment, and steps (check, load, capacity, wait) with thresholds.",
        "type": "object",
        "additionalProperties": false,
        "required": ["target", "steps"],
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "target": {"type": "string", "pattern": "^https?://"},
            "tls": tls,
            "provider": {"type": "string", "enum": providers},
            "provider_file": {"type": "string", "description": "a custom provider file, relative to this file"},
            "secret": {"type": "string", "pattern": r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$", "description": "an environment variable reference, never the secret itself"},
            "ledger": ledger,
            "ordering": {"type": "string", "enum": ORDERING},
            "deadline": duration(),
            "strict": {"type": "boolean", "description": "NON-STRICT findings of check steps fail the run too, as check --strict"},
            "seed": {"type": "integer", "minimum": 0},
            "thresholds": thresholds(),
            "steps": {"type": "array", "minItems": 1, "items": step()}
        },
        "oneOf": [{"required": ["provider"]}, {"required": ["provider_file"]}]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_compiles_and_accepts_and_rejects() {
        let schema = scenario_schema();
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
            .unwrap();
        let good = json!({
            "target": "http://127.0.0.1:8080/hooks", "provider": "authgear", "secret": "${HOOK_SECRET}",
            "steps": [{"check": {"checks": ["accepts_valid"]}}, {"load": {"rate": 10, "duration": "1s"}}, {"wait": "1s"}]
        });
        assert!(validator.is_valid(&good));
        let mut with_tls = good.clone();
        with_tls["tls"] = json!({"ca_cert": "certs/ca.pem", "insecure": false});
        assert!(validator.is_valid(&with_tls));
        with_tls["tls"] = json!({"ca_crt": "certs/ca.pem"});
        assert!(!validator.is_valid(&with_tls));
        let mut bad = good.clone();
        bad["steps"][1]["load"]["duration"] = json!("10 sec");
        assert!(!validator.is_valid(&bad));
        let mut bad = good.clone();
        bad["secret"] = json!("hunter2");
        assert!(!validator.is_valid(&bad));
        let mut bad = good.clone();
        bad["steps"][0]["check"]["checks"] = json!(["accepts_valdi"]);
        assert!(!validator.is_valid(&bad));
        // A ramp may start from `rate`; the closed model takes neither.
        let stages = json!([{"duration": "1s", "rate": 20}]);
        let mut ramp = good.clone();
        ramp["steps"][1]["load"] = json!({"rate": 10, "stages": stages});
        assert!(validator.is_valid(&ramp));
        for model in [
            json!({"rate": 10, "concurrency": 2, "duration": "1s"}),
            json!({"stages": stages, "concurrency": 2}),
            json!({"duration": "1s"}),
        ] {
            let mut bad = good.clone();
            bad["steps"][1]["load"] = model;
            assert!(!validator.is_valid(&bad), "{bad}");
        }
    }
}
