//! Body templates: an event body serialized once, with slots for the values
//! the emitter changes on every send (id, sequence number, timestamp).
//!
//! The load emitter pre-generates a pool of events before its clock starts;
//! rendering a template only copies literal byte runs and formats three
//! numbers, so each request is a unique event at a cost of tens of
//! nanoseconds instead of a fresh serialization.
//!
//! With [`MemberOrder::SlotsLast`] the members that hold a slot move to the
//! end of their objects. JSON gives member order no meaning (RFC 8259 §4),
//! so the event is the same to any receiver, but the bytes before the
//! first slot ([`Template::constant_prefix`]) become most of the body, and
//! a signer that hashes the body can absorb them once per pooled event
//! instead of once per request (`Signer::absorb_prefix`).

use std::ops::Range;

use serde_json::Value;
use thiserror::Error;

use crate::profile::{Profile, TimeFormat};
use crate::text::json_kind;
// The writers moved to `crate::text`; re-exported so `template::push_i64`
// and friends keep resolving for the harness.
pub use crate::text::{fmt_i64, push_i64, write_rfc3339, write_uuid};

/// Why a body cannot be made into a template.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TemplateError {
    /// A key path of the profile points at nothing in this body.
    #[error("the body has no value at `{path}` ({what} key)")]
    MissingKey {
        /// The JSON pointer.
        path: String,
        /// Which key (id, seq, timestamp).
        what: &'static str,
    },
    /// The value at a key path has a type the slot cannot reproduce.
    #[error("the {what} key `{path}` holds {found}, expected {expected}")]
    WrongType {
        /// The JSON pointer.
        path: String,
        /// Which key (id, seq, timestamp).
        what: &'static str,
        /// What the body holds there.
        found: &'static str,
        /// What the slot needs.
        expected: &'static str,
    },
}

/// How a fresh id is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdForm {
    /// A lowercase hyphenated UUID string (version 4 and variant bits set).
    Uuid,
    /// A JSON integer (the low 63 bits of the id).
    Integer,
}

/// What a slot is filled with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The event id (the profile's dedupe key, when it lives in the body).
    Id(IdForm),
    /// The sequence number (the profile's ordering key, when it is an integer).
    Seq,
    /// The event's own timestamp, in the provider's form.
    Timestamp(TimeFormat),
}

/// Where the members holding a slot go when a body becomes a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberOrder {
    /// Every member stays where the body has it (byte order as received).
    Keep,
    /// Members holding a slot move after their siblings (stable), in every
    /// object on the way to a slot: the constant prefix grows to nearly
    /// the whole body. Array elements never move (their order is data).
    SlotsLast,
}

/// The values one send writes into a template's slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Patch {
    /// Unique id of this send (formatted per [`IdForm`]).
    pub id: u128,
    /// Sequence number of this send.
    pub seq: i64,
    /// Wall-clock time of this send, microseconds since the UNIX epoch.
    pub now_us: i64,
}

/// One run of a template: literal bytes, then optionally a slot.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Part {
    literal: Range<usize>,
    slot: Option<Slot>,
}

/// A serialized body with slots; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    bytes: Vec<u8>,
    parts: Vec<Part>,
}

/// Where the slots of a body are, as JSON pointers (header keys such as
/// `header:webhook-id` are not body slots and are ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlotKeys {
    /// Pointer of the id.
    pub id: Option<String>,
    /// Pointer of the sequence number.
    pub seq: Option<String>,
    /// Pointer and form of the timestamp.
    pub timestamp: Option<(String, TimeFormat)>,
}

impl SlotKeys {
    /// The slot keys a provider profile declares: the dedupe key as id, the
    /// ordering key as seq unless it is the timestamp, and the timestamp key.
    pub fn of_profile(profile: &Profile) -> SlotKeys {
        let body_key = |k: &str| k.starts_with('/').then(|| k.to_string());
        let timestamp = profile
            .timestamp_key
            .as_ref()
            .and_then(|(k, f)| body_key(k).map(|k| (k, *f)));
        let seq = profile
            .ordering_key
            .as_deref()
            .and_then(body_key)
            .filter(|k| timestamp.as_ref().map(|(t, _)| t != k).unwrap_or(true));
        SlotKeys {
            id: body_key(&profile.dedupe_key),
            seq,
            timestamp,
        }
    }
}

/// Marker text put in place of a slot before serializing: `stem` (see
/// [`sentinel_stem`]) and the slot's index, checked to occur exactly once.
fn sentinel(stem: &str, index: usize) -> String {
    format!("{stem}{index}__")
}

/// A marker stem that occurs nowhere in `body`'s JSON text, so no string
/// of the body (a captured event that happens to hold marker-like text, or
/// an adversarial one) can be mistaken for a slot: the first of
/// `__hookstorm_slot_<n>_` absent from the text.
fn sentinel_stem(body: &Value) -> String {
    // Serializing a Value cannot fail (its map keys are strings).
    let text = serde_json::to_string(body).unwrap_or_default();
    (0u64..)
        .map(|n| format!("__hookstorm_slot_{n}_"))
        .find(|stem| !text.contains(stem.as_str()))
        .unwrap_or_default()
}

impl Template {
    /// A template that renders `bytes` unchanged (`--verbatim`).
    pub fn verbatim(bytes: Vec<u8>) -> Template {
        let len = bytes.len();
        Template {
            bytes,
            parts: vec![Part {
                literal: 0..len,
                slot: None,
            }],
        }
    }

    /// Builds the template of `body` with slots at `keys`, members placed
    /// per `order`. A key whose path is absent from this body is skipped
    /// when `lenient` (events read from a file may lack optional fields),
    /// else it is an error.
    pub fn new(
        body: &Value,
        keys: &SlotKeys,
        lenient: bool,
        order: MemberOrder,
    ) -> Result<Template, TemplateError> {
        let stem = sentinel_stem(body);
        let mut marked = body.clone();
        let mut slots: Vec<Slot> = Vec::new();
        let mut requested: Vec<(&str, &'static str)> = Vec::new();
        if let Some(p) = &keys.id {
            requested.push((p, "id"));
        }
        if let Some(p) = &keys.seq {
            requested.push((p, "seq"));
        }
        if let Some((p, _)) = &keys.timestamp {
            requested.push((p, "timestamp"));
        }
        for (path, what) in requested {
            let Some(value) = marked.pointer_mut(path) else {
                if lenient {
                    continue;
                }
                return Err(TemplateError::MissingKey {
                    path: path.to_string(),
                    what,
                });
            };
            let wrong = |expected: &'static str, v: &Value| TemplateError::WrongType {
                path: path.to_string(),
                what,
                found: json_kind(v),
                expected,
            };
            let slot = match what {
                "id" => match value {
                    Value::String(_) => Slot::Id(IdForm::Uuid),
                    Value::Number(n) if n.is_i64() || n.is_u64() => Slot::Id(IdForm::Integer),
                    v => return Err(wrong("a string or an integer", v)),
                },
                "seq" => match value {
                    Value::Number(n) if n.is_i64() || n.is_u64() => Slot::Seq,
                    v => return Err(wrong("an integer", v)),
                },
                _ => {
                    let Some((_, form)) = keys.timestamp else {
                        continue;
                    };
                    match (form, &*value) {
                        (TimeFormat::Rfc3339, Value::String(_)) => Slot::Timestamp(form),
                        (TimeFormat::Rfc3339, v) => return Err(wrong("a string", v)),
                        (_, Value::Number(_)) => Slot::Timestamp(form),
                        (_, v) => return Err(wrong("a number", v)),
                    }
                }
            };
            *value = Value::String(sentinel(&stem, slots.len()));
            slots.push(slot);
        }
        if order == MemberOrder::SlotsLast && !slots.is_empty() {
            move_slots_last(&mut marked, &stem);
        }
        // Serializing a Value cannot fail (its map keys are strings).
        let text = serde_json::to_vec(&marked).unwrap_or_default();
        let mut found: Vec<(usize, usize, Slot)> = Vec::with_capacity(slots.len());
        for (i, slot) in slots.iter().enumerate() {
            let needle = format!("\"{}\"", sentinel(&stem, i));
            let mut hits = find_all(&text, needle.as_bytes());
            // Exactly one hit: the stem occurs nowhere else in the body.
            if hits.len() == 1 {
                let at = hits.remove(0);
                found.push((at, at + needle.len(), *slot));
            }
        }
        found.sort_by_key(|f| f.0);
        let mut parts = Vec::with_capacity(found.len() + 1);
        let mut bytes = Vec::with_capacity(text.len());
        let mut cursor = 0;
        for (start, end, slot) in found {
            let lit_start = bytes.len();
            bytes.extend_from_slice(&text[cursor..start]);
            parts.push(Part {
                literal: lit_start..bytes.len(),
                slot: Some(slot),
            });
            cursor = end;
        }
        let lit_start = bytes.len();
        bytes.extend_from_slice(&text[cursor..]);
        parts.push(Part {
            literal: lit_start..bytes.len(),
            slot: None,
        });
        Ok(Template { bytes, parts })
    }

    /// The template of `body` with the slots `profile` declares, member
    /// order kept.
    pub fn of_profile(body: &Value, profile: &Profile) -> Result<Template, TemplateError> {
        Template::new(
            body,
            &SlotKeys::of_profile(profile),
            false,
            MemberOrder::Keep,
        )
    }

    /// The bytes every rendering starts with: the literal before the first
    /// slot (the whole body when there is none).
    pub fn constant_prefix(&self) -> &[u8] {
        let first = self.parts.first().map_or(0..0, |p| p.literal.clone());
        &self.bytes[first]
    }

    /// The slots of this template, in body order.
    pub fn slots(&self) -> impl Iterator<Item = Slot> + '_ {
        self.parts.iter().filter_map(|p| p.slot)
    }

    /// Bytes of the literal parts (a rendered body is a little longer).
    pub fn literal_len(&self) -> usize {
        self.bytes.len()
    }

    /// Appends the body with `patch` written into its slots to `out`.
    pub fn render_into(&self, patch: &Patch, out: &mut Vec<u8>) {
        for part in &self.parts {
            out.extend_from_slice(&self.bytes[part.literal.clone()]);
            match part.slot {
                None => {}
                Some(Slot::Id(IdForm::Uuid)) => {
                    out.push(b'"');
                    write_uuid(patch.id, out);
                    out.push(b'"');
                }
                Some(Slot::Id(IdForm::Integer)) => {
                    // Shifted right once, so it is below 2^63 and fits i64.
                    push_i64(out, ((patch.id as u64) >> 1) as i64);
                }
                Some(Slot::Seq) => push_i64(out, patch.seq),
                Some(Slot::Timestamp(TimeFormat::UnixSeconds)) => {
                    push_i64(out, patch.now_us.div_euclid(1_000_000));
                }
                Some(Slot::Timestamp(TimeFormat::UnixMillis)) => {
                    push_i64(out, patch.now_us.div_euclid(1_000));
                }
                Some(Slot::Timestamp(TimeFormat::Rfc3339)) => {
                    out.push(b'"');
                    write_rfc3339(patch.now_us, out);
                    out.push(b'"');
                }
            }
        }
    }

    /// The body with `patch` applied, as a new vector.
    pub fn render(&self, patch: &Patch) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes.len() + 64);
        self.render_into(patch, &mut out);
        out
    }
}

/// Moves, in every object, the members whose subtree holds a slot marker
/// after the others: first those that are objects or arrays (their own
/// constant members then still come before any slot), then the slots
/// themselves; stable within each group. Returns whether `value` holds a
/// slot. A slot's marker is a string starting with `stem`.
fn move_slots_last(value: &mut Value, stem: &str) -> bool {
    match value {
        Value::String(s) => s.starts_with(stem),
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |held, item| move_slots_last(item, stem) | held),
        Value::Object(map) => {
            // 0: no slot inside, 1: a container holding one, 2: a slot.
            let mut members: Vec<(u8, String, Value)> = std::mem::take(map)
                .into_iter()
                .map(|(k, mut v)| {
                    let rank = match (move_slots_last(&mut v, stem), v.is_string()) {
                        (false, _) => 0,
                        (true, false) => 1,
                        (true, true) => 2,
                    };
                    (rank, k, v)
                })
                .collect();
            members.sort_by_key(|(rank, _, _)| *rank);
            let held = members.last().is_some_and(|(rank, _, _)| *rank > 0);
            map.extend(members.into_iter().map(|(_, k, v)| (k, v)));
            held
        }
        _ => false,
    }
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return Vec::new();
    }
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::ProviderId;
    use serde_json::json;

    fn authgear_body() -> Value {
        json!({
            "id": "0E1E9537-DF4F-4AF6-8B48-3DB4574D4F24",
            "seq": 435,
            "type": "user.created",
            "payload": {"note": "__not_a_slot__", "n": [1, 2]},
            "context": {"timestamp": 1670570552, "user_id": "u1"}
        })
    }

    #[test]
    fn renders_patched_values_and_keeps_the_rest() {
        let t = Template::of_profile(&authgear_body(), &ProviderId::Authgear.profile()).unwrap();
        assert_eq!(
            t.slots().collect::<Vec<_>>(),
            vec![
                Slot::Id(IdForm::Uuid),
                Slot::Seq,
                Slot::Timestamp(TimeFormat::UnixSeconds)
            ]
        );
        let patch = Patch {
            id: 0x0123_4567_89ab_cdef_0123_4567_89ab_cdef,
            seq: 9_000_000_000,
            now_us: 1_700_000_000_123_456,
        };
        let body: Value = serde_json::from_slice(&t.render(&patch)).unwrap();
        assert_eq!(body["id"], "01234567-89ab-4def-8123-456789abcdef");
        assert_eq!(body["seq"], 9_000_000_000i64);
        assert_eq!(body["context"]["timestamp"], 1_700_000_000);
        let mut expected = authgear_body();
        expected["id"] = body["id"].clone();
        expected["seq"] = body["seq"].clone();
        expected["context"]["timestamp"] = body["context"]["timestamp"].clone();
        assert_eq!(body, expected);
    }

    #[test]
    fn marker_text_in_the_body_is_kept_and_does_not_steal_a_slot() {
        // Strings equal to what the markers were (and would be) for slot 0:
        // the template picks a stem absent from the body, so every slot is
        // still found and these strings are sent as they are.
        let mut body = authgear_body();
        body["payload"]["note"] = Value::from("__hookstorm_slot_0__");
        body["payload"]["echo"] = Value::from("__hookstorm_slot_0_0__");
        body["payload"]["old"] = Value::from("__hookstorm_slot_0_5f3a9c__");
        let keys = SlotKeys::of_profile(&ProviderId::Authgear.profile());
        for order in [MemberOrder::Keep, MemberOrder::SlotsLast] {
            let t = Template::new(&body, &keys, false, order).unwrap();
            assert_eq!(t.slots().count(), 3, "{order:?}");
            let patch = Patch {
                id: 42,
                seq: 7,
                now_us: 1_700_000_000_000_000,
            };
            let out: Value = serde_json::from_slice(&t.render(&patch)).unwrap();
            assert_eq!(out["seq"], 7);
            assert_eq!(out["context"]["timestamp"], 1_700_000_000);
            let mut expected = body.clone();
            expected["id"] = out["id"].clone();
            expected["seq"] = out["seq"].clone();
            expected["context"]["timestamp"] = out["context"]["timestamp"].clone();
            assert_eq!(out, expected, "{order:?}");
        }
    }

    #[test]
    fn slots_last_moves_only_slot_members_and_keeps_the_event() {
        let keys = SlotKeys::of_profile(&ProviderId::Authgear.profile());
        let body = authgear_body();
        let kept = Template::new(&body, &keys, false, MemberOrder::Keep).unwrap();
        let moved = Template::new(&body, &keys, false, MemberOrder::SlotsLast).unwrap();
        let patch = Patch {
            id: 42,
            seq: 7,
            now_us: 1_700_000_000_000_000,
        };
        let (a, b) = (kept.render(&patch), moved.render(&patch));
        assert_ne!(a, b, "the member order differs");
        let (va, vb): (Value, Value) = (
            serde_json::from_slice(&a).unwrap(),
            serde_json::from_slice(&b).unwrap(),
        );
        assert_eq!(va, vb, "the same event either way");
        // Top level: type and payload first, then context (it holds the
        // timestamp deeper down), then the slots id and seq in their
        // original relative order.
        let keys_of = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys_of(&vb), ["type", "payload", "context", "id", "seq"]);
        assert_eq!(keys_of(&vb["context"]), ["user_id", "timestamp"]);
        assert_eq!(keys_of(&vb["payload"]), ["note", "n"]);
        // Everything up to the timestamp's value is constant.
        let prefix = moved.constant_prefix();
        assert!(b.starts_with(prefix));
        assert!(String::from_utf8_lossy(prefix).ends_with(r#""timestamp":"#));
        assert!(kept.constant_prefix().len() < 10, "id is first when kept");
    }

    #[test]
    fn slots_last_leaves_array_order_alone() {
        let keys = SlotKeys {
            id: Some("/list/1/id".into()),
            ..SlotKeys::default()
        };
        let body = json!({"list": [{"id": "a", "x": 1}, {"id": "b", "y": 2}], "z": 3});
        let t = Template::new(&body, &keys, false, MemberOrder::SlotsLast).unwrap();
        let out: Value = serde_json::from_slice(&t.render(&Patch {
            id: 1,
            seq: 1,
            now_us: 0,
        }))
        .unwrap();
        assert_eq!(out["list"][0], json!({"id": "a", "x": 1}));
        assert_eq!(out["list"][1]["y"], 2);
        let top: Vec<_> = out.as_object().unwrap().keys().cloned().collect();
        assert_eq!(top, ["z", "list"]);
        let second: Vec<_> = out["list"][1]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(second, ["y", "id"]);
    }

    #[test]
    fn distinct_patches_give_distinct_bodies() {
        let t = Template::of_profile(&authgear_body(), &ProviderId::Authgear.profile()).unwrap();
        let a = t.render(&Patch {
            id: 1,
            seq: 1,
            now_us: 0,
        });
        let b = t.render(&Patch {
            id: 2,
            seq: 1,
            now_us: 0,
        });
        assert_ne!(a, b);
    }

    #[test]
    fn fusionauth_timestamp_is_millis_and_not_a_seq() {
        let body = json!({"event": {"id": "x", "createInstant": 1, "type": "user.login.success"}});
        let t = Template::of_profile(&body, &ProviderId::Fusionauth.profile()).unwrap();
        assert_eq!(t.slots().count(), 2);
        let out: Value = serde_json::from_slice(&t.render(&Patch {
            id: 7,
            seq: 3,
            now_us: 1_500_000_000_999_999,
        }))
        .unwrap();
        assert_eq!(out["event"]["createInstant"], 1_500_000_000_999i64);
    }

    #[test]
    fn infrahub_timestamp_is_rfc3339() {
        let body = json!({"id": "a", "occured_at": "2020-01-01T00:00:00Z", "event": "x"});
        let t = Template::of_profile(&body, &ProviderId::Infrahub.profile()).unwrap();
        let out: Value = serde_json::from_slice(&t.render(&Patch {
            id: 7,
            seq: 3,
            now_us: 951_782_400_000_001, // 2000-02-29T00:00:00.000001Z
        }))
        .unwrap();
        assert_eq!(out["occured_at"], "2000-02-29T00:00:00.000001Z");
    }

    #[test]
    fn missing_and_mistyped_keys_are_errors_unless_lenient() {
        let profile = ProviderId::Authgear.profile();
        let body = json!({"id": "a", "seq": "not a number", "context": {"timestamp": 1}});
        assert!(matches!(
            Template::of_profile(&body, &profile),
            Err(TemplateError::WrongType { what: "seq", .. })
        ));
        let body = json!({"id": "a"});
        assert!(matches!(
            Template::of_profile(&body, &profile),
            Err(TemplateError::MissingKey { .. })
        ));
        let t = Template::new(
            &body,
            &SlotKeys::of_profile(&profile),
            true,
            MemberOrder::Keep,
        )
        .unwrap();
        assert_eq!(t.slots().collect::<Vec<_>>(), vec![Slot::Id(IdForm::Uuid)]);
    }

    #[test]
    fn header_keys_are_not_body_slots() {
        let keys = SlotKeys::of_profile(&ProviderId::StandardWebhooks.profile());
        assert_eq!(keys.id, None);
        // Its only order is the payload timestamp, patched as the timestamp.
        assert_eq!(keys.seq, None);
        assert_eq!(
            keys.timestamp,
            Some(("/timestamp".to_string(), TimeFormat::Rfc3339))
        );
    }

    #[test]
    fn verbatim_renders_the_bytes() {
        let t = Template::verbatim(b"{\"a\":1}".to_vec());
        assert_eq!(
            t.render(&Patch {
                id: 1,
                seq: 2,
                now_us: 3
            }),
            b"{\"a\":1}"
        );
    }
}
