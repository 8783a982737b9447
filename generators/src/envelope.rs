//! One ready-to-send delivery ([`Delivery`]: headers + raw body), how a
//! profile wraps a body into one ([`envelope`]), and the `msg_<hex>` message
//! ids the Standard-Webhooks-style schemes carry ([`message_id`]).
//!
//! A delivery serialises as `{"headers":{name:value,...},"body":"<utf-8>"}`,
//! one per line in the files `events gen` writes and `load --events` reads.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::header::{header_in, header_lookup};
use crate::profile::Profile;
use crate::sign::Signer;

/// The content type every built-in provider sends.
pub const CONTENT_TYPE_JSON: &str = "application/json";

/// A request as it goes on the wire: headers in sending order and the raw
/// body the signature covers.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Delivery {
    /// Header name/value pairs, in sending order.
    pub headers: Vec<(String, String)>,
    /// The raw body bytes.
    pub body: Vec<u8>,
}

impl Delivery {
    /// The first header called `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.headers, name)
    }

    /// An owned, case-insensitive header lookup, in the shape
    /// [`crate::sign::verify`] takes.
    pub fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        header_lookup(&self.headers)
    }
}

/// Wraps `body` as `profile` delivers it: `content-type: application/json`
/// followed by the headers that sign it.
pub fn envelope(
    profile: &Profile,
    signer: &Signer,
    body: Vec<u8>,
    msg_id: &str,
    timestamp: i64,
) -> Delivery {
    // The signer was built from the profile's scheme; a mismatch would sign
    // with one provider's rules and deliver as another's.
    debug_assert_eq!(&profile.scheme, signer.scheme());
    signed(signer, body, msg_id, timestamp)
}

/// `content-type` plus the signature headers of `body`.
pub(crate) fn signed(signer: &Signer, body: Vec<u8>, msg_id: &str, timestamp: i64) -> Delivery {
    let mut headers = Vec::with_capacity(4);
    headers.push(("content-type".to_string(), CONTENT_TYPE_JSON.to_string()));
    headers.extend(signer.sign(&body, msg_id, timestamp));
    Delivery { headers, body }
}

/// Names `type_name` in the profile's type header (GitHub
/// `X-GitHub-Event: push`) when its type key is a header and `headers`
/// do not name a type yet; a profile whose body names the type is left
/// alone.
pub fn name_type(profile: &Profile, type_name: &str, headers: &mut Vec<(String, String)>) {
    if let Some(name) = profile.type_header() {
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            headers.push((name.to_string(), type_name.to_string()));
        }
    }
}

/// A Standard-Webhooks-style message id, `msg_<32 lowercase hex>`, as
/// Infrahub writes `msg_{uuid.hex}`.
pub fn message_id(bits: u128) -> String {
    let mut buf = [0u8; 36];
    crate::text::message_id_into(bits, &mut buf).to_string()
}

impl Serialize for Delivery {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Headers<'a>(&'a [(String, String)]);
        impl Serialize for Headers<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for (name, value) in self.0 {
                    map.serialize_entry(name, value)?;
                }
                map.end()
            }
        }
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("headers", &Headers(&self.headers))?;
        // Bodies are JSON text; a body that is not UTF-8 (an adversarial
        // one) is written lossily rather than refused.
        map.serialize_entry("body", &String::from_utf8_lossy(&self.body))?;
        map.end()
    }
}

/// Header pairs read from a JSON object, keeping the file's order.
struct HeaderPairs(Vec<(String, String)>);

impl<'de> Deserialize<'de> for HeaderPairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = HeaderPairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of header names to string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeaderPairs, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some((name, value)) = map.next_entry::<String, String>()? {
                    pairs.push((name, value));
                }
                Ok(HeaderPairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

impl<'de> Deserialize<'de> for Delivery {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            headers: HeaderPairs,
            body: String,
        }
        let wire = Wire::deserialize(deserializer).map_err(de::Error::custom)?;
        Ok(Delivery {
            headers: wire.headers.0,
            body: wire.body.into_bytes(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::ProviderId;
    use crate::secret::Secret;
    use crate::verify::verify;

    #[test]
    fn message_ids_are_msg_and_32_hex() {
        assert_eq!(message_id(0), "msg_00000000000000000000000000000000");
        assert_eq!(
            message_id(0x217b4ebc_b84f_4736_b1ee_222182aed371),
            "msg_217b4ebcb84f4736b1ee222182aed371"
        );
        assert_eq!(message_id(u128::MAX).len(), 36);
    }

    #[test]
    fn envelope_is_json_typed_signed_and_verifies_for_every_provider() {
        let body = br#"{"id":"e","seq":1}"#.to_vec();
        for id in ProviderId::ALL {
            let profile = id.profile();
            let secret = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into());
            let signer = Signer::new(&profile.scheme, &secret).unwrap();
            let d = envelope(&profile, &signer, body.clone(), &message_id(9), 1_000);
            assert_eq!(d.header("Content-Type"), Some("application/json"), "{id}");
            assert!(d.headers.len() >= 2, "{id}");
            assert!(
                verify(&profile.scheme, &secret, &d.lookup(), &d.body, 1_000).is_ok(),
                "{id}"
            );
        }
    }

    #[test]
    fn serde_round_trips_in_the_documented_shape() {
        let d = Delivery {
            headers: vec![
                ("webhook-id".into(), "msg_1".into()),
                ("content-type".into(), "application/json".into()),
            ],
            body: "{\"name\":\"Zoë 🚀\"}".as_bytes().to_vec(),
        };
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(
            json,
            r#"{"headers":{"webhook-id":"msg_1","content-type":"application/json"},"body":"{\"name\":\"Zoë 🚀\"}"}"#
        );
        assert_eq!(serde_json::from_str::<Delivery>(&json).unwrap(), d);
    }

    #[test]
    fn bad_delivery_lines_are_errors_not_panics() {
        for bad in [
            r#"{"headers":[],"body":""}"#,
            r#"{"headers":{"a":1},"body":""}"#,
            r#"{"headers":{}}"#,
            r#"{"headers":{},"body":"","extra":1}"#,
            "not json",
        ] {
            assert!(serde_json::from_str::<Delivery>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn non_utf8_bodies_serialise_lossily() {
        let d = Delivery {
            headers: vec![],
            body: vec![b'{', 0xff, b'}'],
        };
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, "{\"headers\":{},\"body\":\"{\u{fffd}}\"}");
    }
}
