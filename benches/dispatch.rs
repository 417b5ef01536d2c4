//! Deliveries per second to a local sink: the Dispatcher against a bare
//! reqwest loop with the same concurrency and body.
//!
//! Both send to the same in-process receiver on 127.0.0.1, which answers
//! `204` at once. Both run as tasks on the same two-thread tokio runtime as
//! the receiver, so neither gets a thread the other lacks. The bare loop
//! sends a pre-serialized body with `buffer_unordered`; the dispatcher's
//! figure also includes serializing and queueing each envelope, claiming
//! it under a lease, signing it, and recording the attempt.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt as _;
use titan_webhooks::queue::{DeliveryAttempt, MemoryStore, Subscription, SubscriptionRegistry};
use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
use titan_webhooks::transport::{DeliveryObserver, Dispatcher};
use titan_webhooks::{Envelope, Scheme, TitanEvent, UrlGuard};

/// Deliveries per measured round.
const ROUND: usize = 2_000;
/// Requests in flight at once, for both.
const CONCURRENCY: usize = 32;

async fn start_sink() -> std::net::SocketAddr {
    let app = axum::Router::new().fallback(|| async { axum::http::StatusCode::NO_CONTENT });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn envelope() -> Envelope<serde_json::Value> {
    Envelope::new(
        TitanEvent::MessageReceived,
        "default",
        serde_json::json!({"from": "15551234567", "text": "Hello from the benchmark", "id": 42}),
    )
}

/// Counts successful attempts and wakes the benchmark once a round is done,
/// so the measurement is the dispatcher's, not a per-delivery channel's.
#[derive(Default)]
struct Counter {
    delivered: std::sync::atomic::AtomicUsize,
    failed: std::sync::atomic::AtomicUsize,
    round_done: tokio::sync::Notify,
}

struct Counting(Arc<Counter>);

impl DeliveryObserver for Counting {
    fn on_attempt(&self, attempt: &DeliveryAttempt) {
        use std::sync::atomic::Ordering::SeqCst;
        if !attempt.succeeded() {
            self.0.failed.fetch_add(1, SeqCst);
        }
        if self.0.delivered.fetch_add(1, SeqCst) + 1 == ROUND {
            self.0.round_done.notify_one();
        }
    }
}

fn dispatch(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let addr = runtime.block_on(start_sink());
    let url = format!("http://{addr}/hook");
    let body = serde_json::to_vec(&envelope()).unwrap();

    let client = reqwest::Client::builder().no_proxy().build().unwrap();

    let guard = UrlGuard::new()
        .allow_loopback_for_testing()
        .allow_http_for_testing();
    let registry = Arc::new(SubscriptionRegistry::new());
    let (webhook, secret) = WebhookRules::new(guard.clone())
        .create(1.into(), CreateWebhook::new(url.clone()))
        .unwrap()
        .into_parts();
    registry.upsert(Subscription::new(webhook, Scheme::titan(), secret));
    let counter = Arc::new(Counter::default());
    let dispatcher = runtime.block_on(async {
        Dispatcher::builder(MemoryStore::new(), registry)
            .guard(guard)
            .observer(Counting(Arc::clone(&counter)))
            .concurrency(CONCURRENCY)
            .endpoint_concurrency(CONCURRENCY)
            .build()
            .unwrap()
    });
    let _running = runtime.block_on(async { dispatcher.start() });

    let mut group = c.benchmark_group("dispatch");
    group.throughput(Throughput::Elements(ROUND as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));

    group.bench_function("bare_reqwest", |b| {
        b.iter_custom(|rounds| {
            let (client, url, body) = (client.clone(), url.clone(), body.clone());
            runtime.block_on(async move {
                tokio::spawn(async move {
                    let start = Instant::now();
                    for _ in 0..rounds {
                        futures_util::stream::iter(0..ROUND)
                            .map(|_| {
                                client
                                    .post(&url)
                                    .header("content-type", "application/json")
                                    .body(body.clone())
                                    .send()
                            })
                            .buffer_unordered(CONCURRENCY)
                            .for_each(|response| async move {
                                assert!(response.unwrap().status().is_success());
                            })
                            .await;
                    }
                    start.elapsed()
                })
                .await
                .unwrap()
            })
        });
    });

    group.bench_function("dispatcher", |b| {
        b.iter_custom(|rounds| {
            let envelopes: Vec<_> = (0..ROUND * rounds as usize).map(|_| envelope()).collect();
            let (dispatcher, counter) = (dispatcher.clone(), Arc::clone(&counter));
            runtime.block_on(async move {
                tokio::spawn(async move {
                    let start = Instant::now();
                    for round in envelopes.chunks(ROUND) {
                        counter
                            .delivered
                            .store(0, std::sync::atomic::Ordering::SeqCst);
                        let done = counter.round_done.notified();
                        for envelope in round {
                            dispatcher.dispatch(envelope).await.unwrap();
                        }
                        done.await;
                    }
                    let elapsed = start.elapsed();
                    assert_eq!(counter.failed.load(std::sync::atomic::Ordering::SeqCst), 0);
                    elapsed
                })
                .await
                .unwrap()
            })
        });
    });
    group.finish();
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
