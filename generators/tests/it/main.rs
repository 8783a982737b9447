//! Integration tests of the generators crate, linked as one binary: the
//! catalog and its schemas, and signing against the providers' published
//! vectors. Throughput is measured by the criterion benches in `benches/`.

mod catalog;
mod sign;
