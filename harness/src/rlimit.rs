//! The process's limit on open file descriptors (`RLIMIT_NOFILE`, POSIX
//! `getrlimit`/`setrlimit`, through the `rlimit` crate, as oha does):
//! every connection a run opens takes one.

/// `(soft, hard)` limit on open descriptors, `u64::MAX` for unlimited;
/// `None` where it cannot be read (then nothing is refused on its account).
#[cfg(unix)]
pub fn open_files() -> Option<(u64, u64)> {
    let (soft, hard) = rlimit::Resource::NOFILE.get().ok()?;
    Some((unlimited_as_max(soft), unlimited_as_max(hard)))
}

/// Raises the soft limit to `wanted` (at most the hard limit); whether it
/// now holds `wanted` descriptors.
#[cfg(unix)]
pub fn raise_open_files(wanted: u64) -> bool {
    let Ok((_, hard)) = rlimit::Resource::NOFILE.get() else {
        return false;
    };
    if wanted > unlimited_as_max(hard) {
        return false;
    }
    rlimit::Resource::NOFILE.set(wanted, hard).is_ok()
}

#[cfg(unix)]
fn unlimited_as_max(value: u64) -> u64 {
    if value == rlimit::INFINITY {
        u64::MAX
    } else {
        value
    }
}

/// Not a POSIX system: the limit is unknown.
#[cfg(not(unix))]
pub fn open_files() -> Option<(u64, u64)> {
    None
}

/// Not a POSIX system: nothing to raise.
#[cfg(not(unix))]
pub fn raise_open_files(_wanted: u64) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_limit_reads_and_the_soft_one_is_within_the_hard_one() {
        let (soft, hard) = open_files().expect("getrlimit works on unix");
        assert!(soft > 0 && soft <= hard, "{soft} {hard}");
        // Asking for what is already allowed succeeds and changes nothing.
        assert!(raise_open_files(soft));
        assert_eq!(open_files(), Some((soft, hard)));
        if hard != u64::MAX {
            assert!(!raise_open_files(hard + 1));
        }
    }
}
