//! The wall clock, read in one place: UNIX time for signatures and event
//! timestamps, and a seed for runs that were given none.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The wall clock now (a load run's start and end times, and the helpers
/// below).
pub fn now() -> SystemTime {
    SystemTime::now()
}

/// Time since the UNIX epoch (zero if the clock is before 1970).
fn since_epoch() -> Duration {
    now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Current UNIX time in milliseconds (0 if the clock is before 1970).
pub fn now_unix_ms() -> i64 {
    since_epoch().as_millis() as i64
}

/// Current UNIX time in seconds.
pub fn now_unix() -> i64 {
    now_unix_ms() / 1000
}

/// A seed from the clock and the process id, for runs without `--seed`
/// (printed by every command, so the run can be reproduced).
pub fn random_seed() -> u64 {
    let nanos = since_epoch().as_nanos() as u64;
    nanos ^ (std::process::id() as u64).rotate_left(32)
}
