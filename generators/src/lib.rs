//! Event catalog, JSON Schemas, property-based generators, envelopes and signing.
//!
//! Everything hookstorm knows about what providers send lives here, as data
//! and pure functions: no network and no async runtime.
#![deny(missing_docs)]

pub mod error;
pub mod provider;

pub use error::{did_you_mean, Error};
pub use provider::{JwtAlg, KeyForm, Profile, ProviderId, Redelivery, Scheme, SuccessRule, TimeFormat};
