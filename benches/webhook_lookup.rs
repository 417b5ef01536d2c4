//! What the dispatcher pays per delivery to find its webhook: a
//! `WebhookStore` read through `StoredSubscriptions`, against the
//! in-process `SubscriptionRegistry` (the bare baseline), in the same run.
//!
//! Both hold 1,000 webhooks and look one up by id, as the dispatcher does
//! before every attempt; `stored_cache_and_health_report` adds the health
//! report the dispatcher makes after every attempt. The store's cache answers from memory; it reads
//! the store's revision once per staleness window (one second by default),
//! which the memory backend answers at once.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::FutureExt as _;
use titan_webhooks::queue::{Lookup, Subscription, SubscriptionRegistry, SubscriptionSource};
use titan_webhooks::subscription::{CreateWebhook, WebhookId, WebhookRules};
use titan_webhooks::webhooks::{
    Flavour, HealthPolicy, HealthSignal, Keyring, MemoryWebhooks, Owner, SealingKey, WebhookStore,
};
use titan_webhooks::{Scheme, UrlGuard};

const WEBHOOKS: u64 = 1_000;

fn ready<T>(future: impl std::future::Future<Output = T>) -> T {
    future
        .now_or_never()
        .expect("the memory backend answers at once")
}

fn lookup(c: &mut Criterion) {
    let rules = WebhookRules::new(UrlGuard::new());
    let registry = SubscriptionRegistry::new();
    for id in 1..=WEBHOOKS {
        let (webhook, secret) = rules
            .create(id.into(), CreateWebhook::new("https://example.com/hook"))
            .unwrap()
            .into_parts();
        registry.upsert(Subscription::new(webhook, Scheme::titan(), secret));
    }

    let store = ready(
        WebhookStore::builder(
            MemoryWebhooks::new(),
            Keyring::new(SealingKey::from_bytes(1, [7; 32])),
        )
        .open(),
    )
    .unwrap();
    let owner = Owner::new("bench").unwrap();
    let mut ids = Vec::new();
    for _ in 0..WEBHOOKS {
        let created = ready(store.create(
            &owner,
            &Flavour::titan(),
            CreateWebhook::new("https://example.com/hook"),
        ))
        .unwrap();
        ids.push(created.webhook().id().clone());
    }
    let cached = store.subscriptions(HealthPolicy::default());
    let target: WebhookId = ids[ids.len() / 2].clone();
    assert!(matches!(
        ready(cached.lookup(&target)),
        Ok(Lookup::Active(_))
    ));
    let registry_target = WebhookId::from(WEBHOOKS / 2);

    let mut group = c.benchmark_group("webhook_lookup");
    group.bench_function("registry", |b| {
        b.iter(|| {
            let found = ready(registry.lookup(black_box(&registry_target))).unwrap();
            black_box(matches!(found, Lookup::Active(_)))
        })
    });
    group.bench_function("stored_cache", |b| {
        b.iter(|| {
            let found = ready(cached.lookup(black_box(&target))).unwrap();
            black_box(matches!(found, Lookup::Active(_)))
        })
    });
    // Per delivery the dispatcher also reports the outcome; a healthy
    // endpoint's report is judged from the cache and writes nothing.
    group.bench_function("stored_cache_and_health_report", |b| {
        b.iter(|| {
            let found = ready(cached.lookup(black_box(&target))).unwrap();
            let disabled = ready(cached.report(&target, HealthSignal::Delivered)).unwrap();
            black_box((matches!(found, Lookup::Active(_)), disabled.is_none()))
        })
    });
    group.finish();
}

criterion_group!(benches, lookup);
criterion_main!(benches);
