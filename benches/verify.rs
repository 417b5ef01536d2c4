//! Verify cost against a bare HMAC-SHA256 of the same body.
//!
//! The baseline is what a hand-rolled receiver does per request: key
//! set-up, HMAC over the body, and a constant-time compare with the tag it
//! was sent. Each scheme's verify also looks up and parses its headers;
//! `standard_webhooks_raw` takes the three header values as strings, which
//! shows what the `HeaderMap` lookups cost.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{KeyInit as _, Mac as _};
use titan_webhooks::{RawHeaders, Scheme, Secret, Signer, Verifier};

const SIZES: [(usize, &str); 4] = [
    (64, "64B"),
    (1024, "1KiB"),
    (64 * 1024, "64KiB"),
    (1024 * 1024, "1MiB"),
];
const KEY: &str = "your-secret-signing-key";
const NOW: u64 = 1_700_000_000;

fn bare_hmac(key: &[u8], body: &[u8], tag: &[u8]) -> bool {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(body);
    mac.verify_slice(tag).is_ok()
}

fn verify(c: &mut Criterion) {
    let schemes = [
        ("titan", Scheme::titan(), Secret::from_utf8(KEY).unwrap()),
        (
            "eventium",
            Scheme::eventium(),
            Secret::from_utf8(KEY).unwrap(),
        ),
        (
            "standard_webhooks",
            Scheme::standard_webhooks(),
            Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
        ),
    ];
    for (size, label) in SIZES {
        let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let mut group = c.benchmark_group(format!("verify/{label}"));
        group.throughput(Throughput::Bytes(size as u64));

        let mut bare_tag = hmac::Hmac::<sha2::Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
        bare_tag.update(&body);
        let bare_tag = bare_tag.finalize().into_bytes();
        group.bench_function(BenchmarkId::new("bare_hmac_sha256", label), |b| {
            b.iter(|| {
                assert!(bare_hmac(
                    black_box(KEY.as_bytes()),
                    black_box(&body),
                    &bare_tag
                ))
            });
        });

        for (name, scheme, secret) in &schemes {
            let headers = Signer::new(scheme.clone(), secret.clone_secret())
                .sign_at("msg_p5jXN8AQM9LWM0D4loKWxJek", NOW, &body)
                .unwrap();
            let verifier = Verifier::new(scheme.clone(), secret.clone_secret());
            group.bench_function(BenchmarkId::new(*name, label), |b| {
                b.iter(|| {
                    verifier
                        .verify_at(black_box(&headers), black_box(&body), NOW)
                        .unwrap()
                });
            });
            if scheme.id_header().is_some() {
                let value = |name: &str| headers[name].to_str().unwrap().to_owned();
                let (signature, timestamp, id) = (
                    value("webhook-signature"),
                    value("webhook-timestamp"),
                    value("webhook-id"),
                );
                group.bench_function(BenchmarkId::new(format!("{name}_raw"), label), |b| {
                    b.iter(|| {
                        let raw = RawHeaders::new(&signature).timestamp(&timestamp).id(&id);
                        verifier
                            .verify_raw_at(black_box(raw), black_box(&body), NOW)
                            .unwrap()
                    });
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, verify);
criterion_main!(benches);
