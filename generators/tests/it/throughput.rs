//! Generation throughput per CPU core, measured in CPU time of this thread
//! (not wall time), so other processes sharing the machine do not skew it.
//! Ignored by default: run with
//! `cargo test -p hookstorm-generators --release --test it throughput:: -- --ignored --nocapture`.

use generators::{Catalog, Generator};
use std::time::Duration;

/// User + system CPU time of the calling thread, from /proc (Linux).
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are
    // the 12th and 13th of them, in clock ticks (USER_HZ = 100 on Linux).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

#[test]
#[ignore = "timing; run in release"]
fn valid_events_per_cpu_second() {
    let catalog = Catalog::builtin();
    for (provider, name) in [
        ("authgear", "user.created"),
        ("fusionauth", "user.login.success"),
        ("auth0", "post-login"),
    ] {
        let ty = catalog.get(provider, name).unwrap();
        let mut g = Generator::new(1, 1_763_900_000_000);
        let start = thread_cpu().expect("/proc/thread-self/stat");
        let mut n = 0u64;
        let mut bytes = 0usize;
        while thread_cpu().unwrap() - start < Duration::from_secs(3) {
            for _ in 0..1000 {
                let e = g.valid(ty);
                bytes += e.as_object().map_or(0, |m| m.len());
                n += 1;
            }
        }
        let cpu = (thread_cpu().unwrap() - start).as_secs_f64();
        println!(
            "{provider} {name}: {n} events in {cpu:.2} CPU s = {:.0} events/CPU-s ({bytes})",
            n as f64 / cpu
        );
        assert!(n > 0);
    }
}
