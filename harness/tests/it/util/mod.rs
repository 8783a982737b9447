//! What several test modules need: loopback servers that misbehave in one
//! precise way, an HTTPS server, the child processes the tests start, the
//! repository's files and the wall clock.

pub mod clock;
pub mod faulty_servers;
pub mod process;
pub mod repository;
pub mod tls_server;
