//! Valid-event generation throughput for the three hot types the load
//! phase pools most (events are generated before the clock starts, so this
//! bounds how fast a pool fills). Run with
//! `cargo bench -p hookstorm-generators --bench generate`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use generators::{Catalog, Generator};

fn generate(c: &mut Criterion) {
    let catalog = Catalog::builtin();
    let mut group = c.benchmark_group("valid");
    group.throughput(Throughput::Elements(1));
    for (provider, name) in [
        ("authgear", "user.created"),
        ("fusionauth", "user.login.success"),
        ("auth0", "post-login"),
    ] {
        let ty = catalog.get(provider, name).expect("built-in type");
        let mut g = Generator::new(1, 1_763_900_000_000);
        group.bench_function(format!("{provider} {name}"), |b| b.iter(|| g.valid(ty)));
    }
    group.finish();
}

criterion_group!(benches, generate);
criterion_main!(benches);
