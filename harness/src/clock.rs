//! The wall clock, read in one place: UNIX time for signatures and event
//! timestamps, and a seed for runs that were given none.

use std::time::{SystemTime, UNIX_EPOCH};

/// Current UNIX time in milliseconds (0 if the clock is before 1970).
pub fn now_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Current UNIX time in seconds.
pub fn now_unix() -> i64 {
    now_unix_ms() / 1000
}

/// A seed from the clock and the process id, for runs without `--seed`
/// (printed by every command, so the run can be reproduced).
pub fn random_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (std::process::id() as u64).rotate_left(32)
}
