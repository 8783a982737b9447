//! What several test modules need: loopback servers that misbehave in one
//! precise way, an HTTPS server, the child processes the tests start and the
//! repository's files (the wall clock is `harness::clock`).

pub mod faulty_servers;
pub mod process;
pub mod repository;
pub mod tls_server;
