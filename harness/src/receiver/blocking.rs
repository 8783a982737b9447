//! Answers to Authgear blocking hooks: allow with a mutation each hook type
//! may make, or deny when the user's email is at `blocked.example`, always
//! in the shape the blocking-response schema allows (Authgear docs,
//! "Blocking Events": `is_allowed`, `mutations`, nothing else).

use serde_json::{json, Map, Value};

/// The email domain whose users the reference receiver denies.
pub(crate) const BLOCKED_DOMAIN: &str = "blocked.example";

/// The extra key the `bad-blocking-response` fault adds: the response
/// schema allows no keys beyond the documented ones.
pub(crate) const EXTRA_KEY: &str = "hookstorm_extra";

/// The answer to a blocking hook of `type_name` carrying `event`.
pub(crate) fn answer(type_name: &str, event: &Value, malformed: bool) -> Value {
    let mut answer = if mentions_blocked_email(event.get("payload").unwrap_or(event)) {
        json!({
            "is_allowed": false,
            "title": "Signup blocked",
            "reason": format!("Email domain {BLOCKED_DOMAIN} is not allowed"),
        })
    } else {
        allow(type_name, event)
    };
    if malformed {
        if let Value::Object(obj) = &mut answer {
            obj.insert(EXTRA_KEY.into(), Value::Bool(true));
        }
    }
    answer
}

fn allow(type_name: &str, event: &Value) -> Value {
    match type_name {
        "user.pre_create" | "user.profile.pre_update" => json!({
            "is_allowed": true,
            "mutations": {"user": {"custom_attributes": {"hookstorm_checked": true}}},
        }),
        "oidc.jwt.pre_create" => {
            // Authgear replaces the token's payload with the one returned,
            // so return the original claims plus ours, never fewer.
            let mut payload = event
                .pointer("/payload/jwt/payload")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_else(Map::new);
            payload.insert("https://hookstorm.dev/checked".into(), Value::Bool(true));
            json!({"is_allowed": true, "mutations": {"jwt": {"payload": payload}}})
        }
        _ => json!({"is_allowed": true}),
    }
}

/// Whether any string in `value` is an email address at [`BLOCKED_DOMAIN`].
fn mentions_blocked_email(value: &Value) -> bool {
    // Iterative walk: event bodies may nest deeply (free-form attributes),
    // and recursion depth must not depend on input.
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => {
                if let Some((_, domain)) = s.rsplit_once('@') {
                    if domain.eq_ignore_ascii_case(BLOCKED_DOMAIN) {
                        return true;
                    }
                }
            }
            Value::Array(items) => stack.extend(items),
            Value::Object(obj) => stack.extend(obj.values()),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_create_allows_with_a_custom_attribute_mutation() {
        let event =
            json!({"payload": {"user": {"standard_attributes": {"email": "a@example.com"}}}});
        let a = answer("user.pre_create", &event, false);
        assert_eq!(a["is_allowed"], true);
        assert_eq!(
            a["mutations"]["user"]["custom_attributes"]["hookstorm_checked"],
            true
        );
    }

    #[test]
    fn blocked_domain_is_denied_with_title_and_reason() {
        let event =
            json!({"payload": {"user": {"standard_attributes": {"email": "x@Blocked.Example"}}}});
        let a = answer("user.pre_create", &event, false);
        assert_eq!(a["is_allowed"], false);
        assert!(a["reason"].as_str().unwrap().contains(BLOCKED_DOMAIN));
        assert!(a.get("mutations").is_none());
    }

    #[test]
    fn jwt_mutation_keeps_the_original_claims() {
        let event =
            json!({"payload": {"jwt": {"payload": {"iss": "i", "aud": ["a"], "sub": "s"}}}});
        let a = answer("oidc.jwt.pre_create", &event, false);
        let p = &a["mutations"]["jwt"]["payload"];
        assert_eq!(p["sub"], "s");
        assert_eq!(p["https://hookstorm.dev/checked"], true);
    }

    #[test]
    fn malformed_adds_exactly_one_extra_key() {
        let event = json!({"payload": {}});
        let good = answer("user.pre_schedule_deletion", &event, false);
        let bad = answer("user.pre_schedule_deletion", &event, true);
        assert_eq!(good, json!({"is_allowed": true}));
        assert_eq!(bad, json!({"is_allowed": true, EXTRA_KEY: true}));
    }
}
