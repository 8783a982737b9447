//! The emitter's per-request CPU work, in ns/request: patching a pooled
//! body (fresh id/seq/timestamp), signing it (each provider's scheme; in
//! full, and resumed after the pooled event's constant prefix as the
//! emitter does),
//! building the HTTP/1.1 request bytes, and recording the sample into the
//! HDR histograms — everything but the socket write and read.

use std::hint::black_box;
use std::io::Write as _;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use generators::template::{MemberOrder, Patch, Template};
use generators::{Catalog, ProviderId, Secret, Signer};
use reports::{LoadStats, Outcome, Recorder, Sample};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A generated body of the provider's first catalog type, as a template.
fn template(provider: ProviderId) -> Template {
    let catalog = Catalog::builtin();
    let ty = catalog.of_provider_name(provider.name())[0];
    let mut generator = generators::Generator::new(7, 1_700_000_000_000);
    let body = generator.valid(ty);
    Template::new(
        &body,
        &harness::pool::slot_keys(&generators::Provider::builtin(provider)),
        true,
        MemberOrder::SlotsLast,
    )
    .expect("template")
}

fn hot_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("hot_path");
    group.throughput(Throughput::Elements(1));
    for provider in [
        ProviderId::Authgear,
        ProviderId::StandardWebhooks,
        ProviderId::Fusionauth,
    ] {
        let t = template(provider);
        let signer =
            Signer::new(&provider.profile().scheme, &Secret::new(SECRET.into())).expect("signer");
        let mut stats = LoadStats::new(vec!["a".into(), "b".into()]);
        stats.reserve_timeline(std::time::Duration::from_secs(10));
        let mut body = Vec::with_capacity(4096);
        let mut request = Vec::with_capacity(8192);
        let head =
            b"POST /hooks HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: hookstorm/0.1.0\r\n";
        let mut n: u64 = 0;
        let body_len = t
            .render(&Patch {
                id: 1,
                seq: 1,
                now_us: 1,
            })
            .len();
        group.bench_function(format!("patch/{provider} ({body_len} B)"), |b| {
            b.iter(|| {
                n += 1;
                body.clear();
                t.render_into(
                    &Patch {
                        id: u128::from(n),
                        seq: n as i64,
                        now_us: 1_700_000_000_000_000 + n as i64,
                    },
                    &mut body,
                );
                black_box(&body);
            })
        });
        group.bench_function(format!("sign/{provider}"), |b| {
            b.iter(|| {
                request.clear();
                signer.sign_into(
                    black_box(&body),
                    "msg_0123456789abcdef0123456789abcdef",
                    1_700_000_000,
                    &mut request,
                );
                black_box(&request);
            })
        });
        // As the emitter does: the state after the constant prefix, once.
        let prefix = signer.absorb_prefix(t.constant_prefix());
        group.bench_function(
            format!(
                "sign-resumed/{provider} ({} B constant prefix)",
                prefix.as_ref().map_or(0, |p| p.len())
            ),
            |b| {
                b.iter(|| {
                    request.clear();
                    signer.sign_resumed_into(
                        prefix.as_ref(),
                        black_box(&body),
                        "msg_0123456789abcdef0123456789abcdef",
                        1_700_000_000,
                        &mut request,
                    );
                    black_box(&request);
                })
            },
        );
        group.bench_function(format!("patch+sign+build+record/{provider}"), |b| {
            b.iter(|| {
                n += 1;
                body.clear();
                t.render_into(
                    &Patch {
                        id: u128::from(n),
                        seq: n as i64,
                        now_us: 1_700_000_000_000_000 + n as i64,
                    },
                    &mut body,
                );
                request.clear();
                request.extend_from_slice(head);
                request.extend_from_slice(b"Content-Type: application/json\r\n");
                signer.sign_resumed_into(
                    prefix.as_ref(),
                    &body,
                    "msg_0123456789abcdef0123456789abcdef",
                    1_700_000_000,
                    &mut request,
                );
                let _ = write!(request, "Content-Length: {}\r\n\r\n", body.len());
                request.extend_from_slice(&body);
                black_box(&request);
                stats.record(&Sample {
                    type_index: (n & 1) as u16,
                    latency_us: 200 + (n % 5000),
                    service_us: 150 + (n % 3000),
                    outcome: Outcome::Status(204),
                    at_ms: (n / 100) % 10_000,
                });
            })
        });
    }
    let mut stats = LoadStats::new(vec!["a".into()]);
    let mut n = 0u64;
    group.bench_function("record", |b| {
        b.iter(|| {
            n += 1;
            stats.record(black_box(&Sample {
                type_index: 0,
                latency_us: 200 + (n % 5000),
                service_us: 150 + (n % 3000),
                outcome: Outcome::Status(204),
                at_ms: (n / 100) % 10_000,
            }));
        })
    });
    group.finish();
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
