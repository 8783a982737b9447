//! Integration tests of the generators crate, linked as one binary: the
//! catalog and its schemas, signing against the providers' published vectors,
//! and generation throughput.

mod catalog;
mod sign;
mod throughput;
