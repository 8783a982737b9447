//! What several test modules need: loopback servers that misbehave in one
//! precise way, an HTTPS server, the child processes the tests start and the
//! repository's files, the reference receiver with a check plan against it
//! (the wall clock is `harness::clock`).

pub mod faulty_servers;
pub mod process;
pub mod reference;
pub mod repository;
pub mod tls_server;
