//! Event catalog, JSON Schemas, property-based generators, envelopes and signing.
//!
//! Everything hookstorm knows about what providers send lives here, as data
//! and pure functions: no network and no async runtime.
#![deny(missing_docs)]

pub mod batch;
pub mod breaker;
pub mod catalog;
pub mod challenge;
pub mod declared;
pub mod envelope;
pub mod error;
pub mod fake;
pub mod hostile;
pub mod provider;
pub mod schema;
pub mod scheme;
pub mod seed;
pub mod sign;
pub mod strategy;
pub mod template;
pub mod variant;

pub use batch::{Batch, BatchError, BatchFormat};
pub use breaker::{breakers, find_breaker, Breaker, Broken, Class};
pub use catalog::{blocking_response_schema, validate_blocking_response, Catalog, EventType};
pub use challenge::{Challenge, ChallengeAnswer, ChallengeRequest};
pub use declared::{DeclaredEnvelope, DeclaredError, DeclaredTypes};
pub use envelope::{envelope, header_in, header_lookup, message_id, name_type, Delivery};
pub use error::{did_you_mean, Error};
pub use hostile::{apply_case, signature_cases, Expect, SignatureCase};
pub use provider::{
    key_value, JwtAlg, Profile, Provider, ProviderId, Redelivery, Scheme, SuccessRule, TimeFormat,
};
pub use scheme::{
    Algorithm, Encoding, IdForm, KeyForm, KeySpec, SchemeError, SigningScheme, Template, TimeUnit,
    TimestampSpec, Version,
};
pub use seed::{seeded_bits, splitmix64, SplitMix64};
pub use sign::{
    public_key, verify, BodyPrefix, RequestLine, Secret, Signer, Verified, Verifier, VerifyError,
    TIMESTAMP_TOLERANCE_SECS,
};
pub use strategy::{shrink, EventStrategy, EventTree, Generator};
pub use variant::{find_variant, variants, Family, Mutated, Variant, MAX_BODY_BYTES};
