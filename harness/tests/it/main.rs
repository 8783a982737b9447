//! Integration tests of the harness crate, linked as one binary (one link
//! instead of eight): the `hookstorm` binary as a user runs it, the checks
//! against faulty receivers, one table over every built-in provider
//! (`registry`), provider files, the load engine, the reference receiver
//! and its faults, scenarios, HTTPS, how every command ends on a signal, replays
//! of findings, target and ledger URLs as typed (`target`), the
//! body-signed senders shipped as provider files (`senders`), and the
//! senders' own verification libraries (`libraries`, ignored: they need a
//! Python venv and an npm prefix). Servers, child
//! processes and paths the modules share live in `util`.

mod batches;
mod builtins;
mod canary;
mod cli;
mod conform;
mod custom_provider;
mod handshake;
mod hostile;
mod libraries;
mod load;
mod receiver;
mod receiver_faults;
mod registry;
mod replay;
mod scenario;
mod scenario_tls;
mod senders;
mod signals;
mod target;
mod timed_senders;
mod tls;
mod util;
mod verdicts;
