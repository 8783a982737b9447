//! Cost of recording one sample into `LoadStats` (the emitter's hot path:
//! the brief budget is about 100 ns, with no allocation per sample), and of
//! merging two shards' statistics.

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use reports::{ErrorKind, LoadStats, Outcome, Recorder, Sample};

/// A spread of realistic samples: 48 types, mostly 2xx, some errors, over
/// 60 seconds, latencies from 100 µs to ~1 s.
fn samples() -> Vec<Sample> {
    (0..4_096u64)
        .map(|i| Sample {
            type_index: (i % 48) as u16,
            latency_us: 100 + (i * 7_919) % 1_000_000,
            service_us: 80 + (i * 104_729) % 900_000,
            outcome: match i % 100 {
                0 => Outcome::Error(ErrorKind::Timeout),
                1 => Outcome::Status(503),
                _ => Outcome::Status(200),
            },
            at_ms: (i * 14) % 60_000,
        })
        .collect()
}

fn record(c: &mut Criterion) {
    let names: Vec<String> = (0..48).map(|i| format!("type.{i}")).collect();
    let samples = samples();
    let mut group = c.benchmark_group("load_stats");
    group.throughput(Throughput::Elements(samples.len() as u64));
    let mut stats = LoadStats::new(names.clone());
    stats.reserve_timeline(Duration::from_secs(60));
    group.bench_function("record 4096 samples", |b| {
        b.iter(|| {
            for s in &samples {
                stats.record(black_box(s));
            }
        })
    });
    let mut a = LoadStats::new(names.clone());
    let mut other = LoadStats::new(names);
    for s in &samples {
        a.record(s);
        other.record(s);
    }
    group.throughput(Throughput::Elements(1));
    group.bench_function("clone + merge two 60 s shards (48 types)", |b| {
        b.iter(|| {
            let mut into = a.clone();
            into.merge(black_box(&other)).unwrap();
            into
        })
    });
    group.finish();
}

criterion_group!(benches, record);
criterion_main!(benches);
