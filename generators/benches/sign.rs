//! `Signer::sign_into` on a 1.2 KB body, per built-in scheme, against the
//! floor every HMAC-SHA256 scheme sits on: one bare SHA-256 pass over the
//! body. The emitter signs once per request, so this bounds the load rate
//! one core can sign for. Run with
//! `cargo bench -p hookstorm-generators --bench sign`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use generators::{message_id, JwtAlg, ProviderId, Scheme, Secret, Signer};
use sha2::{Digest, Sha256};
use std::hint::black_box;

/// An Authgear-like event body of about 1.2 KB.
fn body() -> Vec<u8> {
    let mut b = br#"{"id":"0b7f4c1a","seq":1,"type":"user.created","payload":{"user":{"id":"u","standard_attributes":{"#.to_vec();
    while b.len() < 1190 {
        b.extend_from_slice(br#""k":"value","#);
    }
    b.extend_from_slice(br#""z":1}}}}"#);
    b
}

fn fusionauth(alg: JwtAlg) -> Scheme {
    Scheme::FusionauthJwt {
        header: "X-FusionAuth-Signature-JWT".into(),
        alg,
        kid: "hookstorm-hmac".into(),
    }
}

fn sign(c: &mut Criterion) {
    let body = body();
    let schemes = [
        (
            "authgear",
            ProviderId::Authgear.profile().scheme,
            "s3cret".to_string(),
        ),
        (
            "fusionauth-hs256",
            fusionauth(JwtAlg::HS256),
            "s3cret".to_string(),
        ),
        (
            "fusionauth-hs512",
            fusionauth(JwtAlg::HS512),
            "s3cret".to_string(),
        ),
        (
            "standard-webhooks-v1",
            Scheme::standard_webhooks(),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string(),
        ),
        (
            "standard-webhooks-v1a",
            Scheme::standard_webhooks(),
            format!("whsk_{}", STANDARD.encode([1u8; 32])),
        ),
        ("infrahub", Scheme::infrahub(), "shared".to_string()),
        ("bearer", Scheme::bearer(), "token".to_string()),
    ];
    let mut group = c.benchmark_group("sign_into");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("sha256 only (baseline)", |b| {
        b.iter(|| Sha256::digest(black_box(&body)))
    });
    for (name, scheme, secret) in schemes {
        let signer = Signer::new(&scheme, &Secret::new(secret)).expect("a usable secret");
        let id = message_id(1);
        let mut out = Vec::with_capacity(512);
        let mut ts = 1_700_000_000i64;
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                ts += 1;
                signer.sign_into(black_box(&body), &id, ts, &mut out);
                black_box(&out);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, sign);
criterion_main!(benches);
