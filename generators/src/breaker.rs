//! Parser breakers: bodies that break JSON parsers and text decoders at the
//! byte level, built from a valid event so that, once signed, they pass
//! signature verification and reach the receiver's parser.
//!
//! The cases follow the taxonomy of JSONTestSuite (nst/JSONTestSuite, and
//! Nicolas Seriot's "Parsing JSON is a Minefield"): its `n_` cases, which
//! RFC 8259 grammar rejects (trailing commas, comments, single quotes,
//! unescaped control characters, `NaN`/`Infinity`, leading zeros, bad
//! escapes, unterminated input, trailing garbage), and its `i_` cases, where
//! RFC 8259 leaves the outcome to the implementation (numbers beyond
//! i64/f64, lone surrogate escapes, invalid UTF-8, a byte order mark,
//! UTF-16 text, extreme nesting, duplicate keys, NUL in strings). Every
//! body is generated here; none is copied from the suite.
//!
//! Nothing a provider sends looks like this, so a receiver may reject any
//! of them, and may accept the implementation-defined ones; what it must
//! not do is answer 5xx or drop the connection.

use serde_json::Value;

use crate::error::{did_you_mean, Error};

/// What RFC 8259 says about a breaker's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Not JSON text (JSONTestSuite `n_`): a parser must reject it.
    MustReject,
    /// The grammar or the RFC leaves the outcome to the implementation
    /// (JSONTestSuite `i_`, and valid-but-hostile `y_` forms): accepting
    /// and rejecting are both conformant.
    ImplementationDefined,
}

impl Class {
    /// `n_` or `i_`, as JSONTestSuite prefixes its file names.
    pub fn prefix(self) -> &'static str {
        match self {
            Class::MustReject => "n_",
            Class::ImplementationDefined => "i_",
        }
    }
}

/// One parser breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Breaker {
    /// Stable label (`trailing-comma`).
    pub label: &'static str,
    /// Must-reject or implementation-defined.
    pub class: Class,
    /// What it does to the bytes, and the JSONTestSuite case it follows.
    pub description: &'static str,
}

/// A broken body, ready to be signed and sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// The breaker's label.
    pub label: &'static str,
    /// The body bytes (not necessarily UTF-8).
    pub body: Vec<u8>,
    /// The `Content-Type` to send.
    pub content_type: &'static str,
}

/// Nesting depth of `deep-nesting-10000`.
pub const EXTREME_NESTING: usize = 10_000;

/// The member name breakers add, so that a parser that accepts the broken
/// member sees an unknown field (which receivers tolerate) and nothing else.
pub const BREAKER_FIELD: &str = "x_hookstorm_breaker";

const fn n(label: &'static str, description: &'static str) -> Breaker {
    Breaker {
        label,
        class: Class::MustReject,
        description,
    }
}

const fn i(label: &'static str, description: &'static str) -> Breaker {
    Breaker {
        label,
        class: Class::ImplementationDefined,
        description,
    }
}

const BREAKERS: &[Breaker] = &[
    n("trailing-comma", "a comma before the closing brace of the body (n_object_trailing_comma)"),
    n("trailing-comma-array", "an array with a comma before its closing bracket (n_array_extra_comma)"),
    n("block-comment", "a /* comment */ after the opening brace (n_structure_object_with_comment)"),
    n("line-comment", "a // comment line after the opening brace (n_object_trailing_comment)"),
    n("single-quotes", "a member whose name and value are in single quotes (n_object_single_quote)"),
    n("unescaped-control", "a string with raw U+0001, U+001F and tab bytes (n_string_unescaped_ctrl_char, n_string_unescaped_tab)"),
    n("raw-nul", "a string with a raw NUL byte (n_string_unescaped_ctrl_char)"),
    n("nan", "a bare NaN value (n_number_NaN)"),
    n("infinity", "a bare -Infinity value (n_number_minus_infinity)"),
    n("leading-zero", "the number 012 (n_number_with_leading_zero)"),
    n("bad-escape", "the escape \\x41 in a string (n_string_escape_x)"),
    n("unterminated-string", "a string still open at the end of the body (n_string_unterminated)"),
    n("unterminated-object", "the body without its closing brace (n_structure_unclosed_object)"),
    n("trailing-garbage", "bytes after the closing brace of the body (n_structure_trailing_#)"),
    i("huge-exponent", "the number 1e400, beyond f64 (i_number_huge_exp)"),
    i("big-integer", "a 30-digit integer, beyond i64 and u64 (i_number_too_big_pos_int)"),
    i("negative-zero", "the integer -0 (y_number_negative_zero: valid, but no i64 holds it apart from 0)"),
    i("lone-surrogate", "the escape \\ud800 with no low surrogate after it (i_string_1st_surrogate_but_2nd_missing)"),
    i("inverted-surrogates", "a low surrogate escape before a high one (i_string_inverted_surrogates_U+1D11E)"),
    i("overlong-utf8", "the overlong two-byte form C0 AF of '/' in a string (i_string_overlong_sequence_2_bytes)"),
    i("truncated-utf8", "a three-byte UTF-8 sequence cut after two bytes, E2 82 (i_string_truncated-utf-8)"),
    i("lone-continuation", "a UTF-8 continuation byte 80 with no lead byte (i_string_lone_utf8_continuation_byte)"),
    i("byte-ff", "the byte FF, never valid in UTF-8 (i_string_invalid_utf-8)"),
    i("utf8-bom", "a UTF-8 byte order mark EF BB BF before the body (i_structure_UTF-8_BOM_empty_object; RFC 8259 §8.1)"),
    i("utf16le-bom", "the body in UTF-16LE with its byte order mark (i_string_UTF-16LE_with_BOM)"),
    i("utf16be", "the body in UTF-16BE without a byte order mark (i_string_utf16BE_no_BOM)"),
    i("deep-nesting-10000", "arrays nested 10,000 deep in one member (i_structure_500_nested_arrays, deeper)"),
    i("duplicate-key", "the body's first member written twice (y_object_duplicated_key; RFC 8259 §4: names SHOULD be unique)"),
    i("escaped-nul", "a string holding \\u0000 (y_string_null_escape: valid JSON, but not storable in every text column)"),
];

/// Every breaker, must-reject first.
pub fn breakers() -> &'static [Breaker] {
    BREAKERS
}

/// A breaker by label; unknown labels get a "did you mean".
pub fn find_breaker(label: &str) -> Result<&'static Breaker, Error> {
    BREAKERS
        .iter()
        .find(|b| b.label == label)
        .ok_or_else(|| Error::UnknownName {
            what: "parser breaker",
            name: label.to_string(),
            suggestion: did_you_mean(label, BREAKERS.iter().map(|b| b.label)),
        })
}

impl Breaker {
    /// The bytes of `event` broken this breaker's way.
    pub fn apply(&self, event: &Value) -> Broken {
        // Serializing a Value cannot fail (its map keys are strings).
        let valid = serde_json::to_vec(event).unwrap_or_default();
        let body = match self.label {
            "trailing-comma" => before_last_brace(&valid, b","),
            "trailing-comma-array" => with_member(&valid, b"[1,2,]"),
            "block-comment" => after_first_brace(&valid, b"/* hookstorm */"),
            "line-comment" => after_first_brace(&valid, b"// hookstorm\n"),
            "single-quotes" => after_first_brace(&valid, b"'x_hookstorm_breaker':'single',"),
            "unescaped-control" => with_member(&valid, b"\"a\x01b\x1fc\td\""),
            "raw-nul" => with_member(&valid, b"\"a\x00b\""),
            "nan" => with_member(&valid, b"NaN"),
            "infinity" => with_member(&valid, b"-Infinity"),
            "leading-zero" => with_member(&valid, b"012"),
            "bad-escape" => with_member(&valid, b"\"\\x41\""),
            "unterminated-string" => {
                let mut body = before_last_brace(&valid, b"");
                body.truncate(body.len().saturating_sub(1));
                body.extend_from_slice(b",\"x_hookstorm_breaker\":\"never closed");
                body
            }
            "unterminated-object" => {
                let mut body = valid.clone();
                if body.last() == Some(&b'}') {
                    body.pop();
                }
                body
            }
            "trailing-garbage" => [valid.as_slice(), b" garbage"].concat(),
            "huge-exponent" => with_member(&valid, b"1e400"),
            "big-integer" => with_member(&valid, b"123456789012345678901234567890"),
            "negative-zero" => with_member(&valid, b"-0"),
            "lone-surrogate" => with_member(&valid, b"\"\\ud800\""),
            "inverted-surrogates" => with_member(&valid, b"\"\\udd1e\\ud834\""),
            "overlong-utf8" => with_member(&valid, b"\"a\xc0\xafb\""),
            "truncated-utf8" => with_member(&valid, b"\"a\xe2\x82\""),
            "lone-continuation" => with_member(&valid, b"\"a\x80b\""),
            "byte-ff" => with_member(&valid, b"\"a\xffb\""),
            "utf8-bom" => [b"\xef\xbb\xbf".as_slice(), &valid].concat(),
            "utf16le-bom" => utf16(&valid, true),
            "utf16be" => utf16(&valid, false),
            "deep-nesting-10000" => {
                let mut value = vec![b'['; EXTREME_NESTING];
                value.extend(std::iter::repeat_n(b']', EXTREME_NESTING));
                with_member(&valid, &value)
            }
            "duplicate-key" => duplicate_first_member(event, &valid),
            "escaped-nul" => with_member(&valid, b"\"a\\u0000b\""),
            _ => valid,
        };
        Broken {
            label: self.label,
            body,
            content_type: "application/json",
        }
    }
}

/// `valid` with `"x_hookstorm_breaker":<value>` as its first member; a
/// body that is not an object is wrapped in one.
fn with_member(valid: &[u8], value: &[u8]) -> Vec<u8> {
    let member = [b"\"", BREAKER_FIELD.as_bytes(), b"\":", value].concat();
    match valid {
        [b'{', b'}'] => [b"{".as_slice(), &member, b"}"].concat(),
        [b'{', ..] => after_first_brace(valid, &[member.as_slice(), b","].concat()),
        _ => [b"{".as_slice(), &member, b",\"event\":", valid, b"}"].concat(),
    }
}

/// `insert` right after the body's opening brace.
fn after_first_brace(valid: &[u8], insert: &[u8]) -> Vec<u8> {
    match valid.split_first() {
        Some((b'{', rest)) => [b"{".as_slice(), insert, rest].concat(),
        _ => [insert, valid].concat(),
    }
}

/// `insert` right before the body's closing brace.
fn before_last_brace(valid: &[u8], insert: &[u8]) -> Vec<u8> {
    match valid.split_last() {
        Some((b'}', rest)) => [rest, insert, b"}"].concat(),
        _ => [valid, insert].concat(),
    }
}

/// `valid` re-encoded as UTF-16 (little-endian with a BOM, or big-endian
/// without one). `valid` is serde_json output, hence UTF-8.
fn utf16(valid: &[u8], little_endian_bom: bool) -> Vec<u8> {
    let text = String::from_utf8_lossy(valid);
    let mut out = Vec::with_capacity(valid.len() * 2 + 2);
    if little_endian_bom {
        out.extend_from_slice(&[0xff, 0xfe]);
    }
    for unit in text.encode_utf16() {
        if little_endian_bom {
            out.extend_from_slice(&unit.to_le_bytes());
        } else {
            out.extend_from_slice(&unit.to_be_bytes());
        }
    }
    out
}

/// The body with its first member written twice, same name and value.
fn duplicate_first_member(event: &Value, valid: &[u8]) -> Vec<u8> {
    let Some((name, value)) = event.as_object().and_then(|m| m.iter().next()) else {
        return with_member(valid, b"1");
    };
    let member =
        serde_json::to_vec(&serde_json::json!({ name.as_str(): value })).unwrap_or_default();
    // `{"k":v}` without its braces, then a comma: `"k":v,`.
    let inner = &member[1..member.len().saturating_sub(1)];
    after_first_brace(valid, &[inner, b","].concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({"type": "user.created", "timestamp": "2024-01-01T00:00:00Z", "data": {"n": 1}})
    }

    fn broken(label: &str) -> Vec<u8> {
        find_breaker(label).unwrap().apply(&event()).body
    }

    #[test]
    fn labels_are_unique_and_typos_suggest() {
        let mut labels: Vec<_> = breakers().iter().map(|b| b.label).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), breakers().len());
        let e = find_breaker("trailing-coma").unwrap_err().to_string();
        assert!(e.contains("did you mean `trailing-comma`"), "{e}");
    }

    #[test]
    fn must_reject_breakers_are_not_json() {
        for b in breakers().iter().filter(|b| b.class == Class::MustReject) {
            let body = b.apply(&event()).body;
            assert!(
                serde_json::from_slice::<Value>(&body).is_err(),
                "{} parses: {}",
                b.label,
                String::from_utf8_lossy(&body)
            );
        }
    }

    #[test]
    fn every_breaker_changes_the_body() {
        let valid = serde_json::to_vec(&event()).unwrap();
        for b in breakers() {
            assert_ne!(b.apply(&event()).body, valid, "{}", b.label);
        }
    }

    #[test]
    fn valid_but_hostile_forms_are_json_carrying_the_event() {
        // Where the bytes are JSON, the event's own members are untouched.
        for label in [
            "negative-zero",
            "duplicate-key",
            "escaped-nul",
            "big-integer",
        ] {
            let v: Value = serde_json::from_slice(&broken(label))
                .or_else(|_| {
                    // serde_json refuses nothing here but 30-digit
                    // integers without arbitrary precision: read as f64.
                    serde_json::from_str::<Value>(
                        &String::from_utf8_lossy(&broken(label))
                            .replace("123456789012345678901234567890", "1.2e29"),
                    )
                })
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_eq!(v["type"], "user.created", "{label}");
            assert_eq!(v["data"]["n"], 1, "{label}");
        }
        assert!(String::from_utf8(broken("escaped-nul"))
            .unwrap()
            .contains("\\u0000"));
        let dup = String::from_utf8(broken("duplicate-key")).unwrap();
        assert_eq!(dup.matches("\"type\":\"user.created\"").count(), 2, "{dup}");
    }

    #[test]
    fn byte_level_forms_are_what_they_say() {
        for (label, bytes) in [
            ("overlong-utf8", &b"\xc0\xaf"[..]),
            ("truncated-utf8", b"\xe2\x82\""),
            ("lone-continuation", b"a\x80b"),
            ("byte-ff", b"\xff"),
            ("raw-nul", b"a\x00b"),
        ] {
            let body = broken(label);
            assert!(body.windows(bytes.len()).any(|w| w == bytes), "{label}");
            if label != "raw-nul" {
                assert!(std::str::from_utf8(&body).is_err(), "{label} is UTF-8");
            }
        }
        assert!(broken("utf8-bom").starts_with(b"\xef\xbb\xbf{"));
        let le = broken("utf16le-bom");
        assert!(le.starts_with(&[0xff, 0xfe, b'{', 0]));
        let be = broken("utf16be");
        assert!(be.starts_with(&[0, b'{', 0, b'"']));
        let units: Vec<u16> = be
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        let text = String::from_utf16(&units).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), event());
        let deep = broken("deep-nesting-10000");
        assert_eq!(deep.iter().filter(|&&b| b == b'[').count(), EXTREME_NESTING);
        assert!(broken("unterminated-string").ends_with(b"\"never closed"));
        let valid = serde_json::to_vec(&event()).unwrap();
        assert_eq!(broken("unterminated-object"), valid[..valid.len() - 1]);
    }

    #[test]
    fn non_object_and_empty_bodies_still_get_the_member() {
        let b = find_breaker("nan").unwrap();
        assert_eq!(b.apply(&json!({})).body, b"{\"x_hookstorm_breaker\":NaN}");
        assert_eq!(
            b.apply(&json!([1])).body,
            b"{\"x_hookstorm_breaker\":NaN,\"event\":[1]}"
        );
        let dup = find_breaker("duplicate-key")
            .unwrap()
            .apply(&json!({}))
            .body;
        assert_eq!(dup, b"{\"x_hookstorm_breaker\":1}");
    }
}
