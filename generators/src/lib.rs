//! Event catalog, JSON Schemas, property-based generators, envelopes and signing.
//!
//! Everything hookstorm knows about what providers send lives here, as data
//! and pure functions: no network and no async runtime.
#![deny(missing_docs)]

pub mod batch;
pub mod breaker;
pub mod builtin;
pub mod catalog;
pub mod challenge;
mod content;
pub mod declared;
pub mod envelope;
pub mod error;
pub mod fake;
pub mod header;
pub mod hostile;
mod jwt;
mod key;
pub mod profile;
pub mod provider;
pub mod schema;
pub mod scheme;
pub mod secret;
pub mod seed;
pub mod sign;
pub mod strategy;
pub mod template;
pub mod text;
pub mod variant;
pub mod verify;

pub use batch::{Batch, BatchError, BatchFormat};
pub use breaker::{breakers, find_breaker, Breaker, Broken, Class};
pub use builtin::ProviderId;
pub use catalog::{blocking_response_schema, validate_blocking_response, Catalog, EventType};
pub use challenge::{Challenge, ChallengeAnswer, ChallengeRequest};
pub use declared::{DeclaredEnvelope, DeclaredError, DeclaredTypes};
pub use envelope::{envelope, message_id, name_type, Delivery};
pub use error::{did_you_mean, Error, VerifyError};
pub use header::{header_in, header_lookup};
pub use hostile::{apply_case, signature_cases, Expect, SignatureCase};
pub use key::public_key;
pub use profile::{key_value, Profile, Redelivery, SuccessRule, TimeFormat};
pub use provider::Provider;
pub use scheme::{
    Algorithm, Encoding, JwtAlg, KeyForm, KeySpec, MessageIdForm, Scheme, SchemeError,
    SignatureTemplate, SigningScheme, TimeUnit, TimestampSpec, Version,
};
// The names these two had before the body template's `Template` and
// `IdForm` made them ambiguous; kept so the harness compiles unchanged.
pub use scheme::{MessageIdForm as IdForm, SignatureTemplate as Template};
pub use secret::Secret;
pub use seed::{seeded_bits, splitmix64, SplitMix64};
pub use sign::{BodyPrefix, Signer, TIMESTAMP_TOLERANCE_SECS};
pub use strategy::{shrink, EventStrategy, EventTree, Generator};
pub use text::{message_id_into, push_hex};
pub use variant::{find_variant, variants, Family, Mutated, Variant, MAX_BODY_BYTES};
pub use verify::{verify, RequestLine, Verified, Verifier};
