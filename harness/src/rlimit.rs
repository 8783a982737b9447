//! The process's limit on open file descriptors (`RLIMIT_NOFILE`, POSIX
//! `getrlimit`/`setrlimit`): every connection a run opens takes one.

/// `(soft, hard)` limit on open descriptors; `None` where it cannot be read
/// (then nothing is refused on its account).
#[cfg(unix)]
pub fn open_files() -> Option<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given and nothing else.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (rc == 0).then(|| (as_u64(limit.rlim_cur), as_u64(limit.rlim_max)))
}

/// Raises the soft limit to `wanted` (at most the hard limit); whether it
/// now holds `wanted` descriptors.
#[cfg(unix)]
pub fn raise_open_files(wanted: u64) -> bool {
    let Some((_, hard)) = open_files() else {
        return false;
    };
    if wanted > hard {
        return false;
    }
    let limit = libc::rlimit {
        rlim_cur: wanted as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: setrlimit only reads the struct it is given.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    rc == 0
}

/// `rlim_t` is `u64` on Linux but not on every unix, hence the cast.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)]
fn as_u64(value: libc::rlim_t) -> u64 {
    if value == libc::RLIM_INFINITY {
        u64::MAX
    } else {
        value as u64
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
