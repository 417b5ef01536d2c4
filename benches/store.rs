//! Enqueue and claim throughput of the durable stores, each against a bare
//! baseline on the same database, with the same settings, in the same run.
//!
//! - `enqueue`: one envelope for one webhook. The store writes the envelope
//!   and the delivery in a transaction; the bare baseline inserts one row
//!   into a plain table.
//! - `claim_complete`: a batch of 32 due deliveries claimed under a lease,
//!   then each completed with its attempt record. The bare baseline marks
//!   32 rows of a plain table claimed with one `UPDATE … RETURNING`, then
//!   marks each done.
//! - `enqueue_32_producers`: 32 tasks dispatching one envelope each, over
//!   and over, through a `Dispatcher` that is not started, so concurrent
//!   dispatches share commits (group commit). The baseline is the same on
//!   a `MemoryStore`, which commits nothing to disk. `store, 1 producer`
//!   is a lone producer through the same dispatcher, to compare with
//!   `enqueue`'s `store`.
//!
//! SQLite runs on a temporary file with `synchronous = FULL` (the store's
//! default) and `NORMAL`. Postgres runs when `TITAN_WEBHOOKS_PG_URL` names a
//! server (`scripts/postgres.sh`; set `TITAN_WEBHOOKS_PG_DURABLE=1` before
//! starting it for production durability settings); the bench creates and
//! uses a database named `titan_webhooks_bench` there.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use sqlx::sqlite::SqliteSynchronous;
use titan_webhooks::queue::{
    ClaimRequest, DeliveryAttempt, DeliveryStore, EnvelopeRecord, MemoryStore, Subscription,
    SubscriptionRegistry,
};
use titan_webhooks::retry::{AttemptOutcome, NextStep};
use titan_webhooks::store::{PostgresStore, SqliteStore};
use titan_webhooks::subscription::{CreateWebhook, WebhookId, WebhookRules};
use titan_webhooks::transport::Dispatcher;
use titan_webhooks::{Envelope, Scheme, TitanEvent, UrlGuard};

const BATCH: usize = 32;
const PRODUCERS: u64 = 32;
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

fn envelope() -> Envelope<serde_json::Value> {
    let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    Envelope::new(
        TitanEvent::MessageReceived,
        "default",
        serde_json::json!({"from": "15551234567", "text": "Hello from the benchmark", "n": n}),
    )
    .with_id(format!("evt_bench_{n}"))
    .unwrap()
}

fn record() -> EnvelopeRecord {
    EnvelopeRecord::from_envelope(&envelope()).unwrap()
}

/// A registry with one webhook that wants everything.
fn one_webhook() -> Arc<SubscriptionRegistry> {
    let registry = Arc::new(SubscriptionRegistry::new());
    let (webhook, secret) = WebhookRules::new(UrlGuard::new())
        .create(1.into(), CreateWebhook::new("https://example.com/hook"))
        .unwrap()
        .into_parts();
    registry.upsert(Subscription::new(webhook, Scheme::titan(), secret));
    registry
}

/// `iters` envelopes dispatched by `count` concurrent tasks through a
/// dispatcher that is not started; the time is scaled to `iters` when the
/// producers' equal shares round it up.
fn producers<S: DeliveryStore>(
    runtime: &tokio::runtime::Runtime,
    dispatcher: &Dispatcher<S>,
    iters: u64,
    count: u64,
) -> Duration {
    runtime.block_on(async {
        let each = iters.div_ceil(count).max(1);
        let start = Instant::now();
        let tasks: Vec<_> = (0..count)
            .map(|_| {
                let dispatcher = dispatcher.clone();
                tokio::spawn(async move {
                    for _ in 0..each {
                        dispatcher.dispatch(&envelope()).await.unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        start
            .elapsed()
            .mul_f64(iters as f64 / (each * count) as f64)
    })
}

fn attempt_for(key: &titan_webhooks::queue::DeliveryKey) -> DeliveryAttempt {
    DeliveryAttempt {
        sequence: None,
        key: key.clone(),
        attempt: 1,
        started_at: SystemTime::now(),
        latency: Duration::from_millis(3),
        outcome: AttemptOutcome::Status(204),
        response_body: Vec::new(),
        response_truncated: false,
        location: None,
        remote_ip: Some("127.0.0.1".parse().unwrap()),
        next: NextStep::Succeeded,
        detail: None,
    }
}

/// The bare baseline's statements, in each database's dialect.
struct Bare {
    create: &'static str,
    insert: &'static str,
    claim: &'static str,
    done: &'static str,
}

const BARE_SQLITE: Bare = Bare {
    create: "CREATE TABLE IF NOT EXISTS bare_queue (
        id INTEGER PRIMARY KEY, envelope_id TEXT NOT NULL UNIQUE, body BLOB NOT NULL,
        state INTEGER NOT NULL DEFAULT 0)",
    insert: "INSERT INTO bare_queue (envelope_id, body) VALUES ($1, $2)",
    claim: "UPDATE bare_queue SET state = 1 WHERE id IN (
        SELECT id FROM bare_queue WHERE state = 0 ORDER BY id LIMIT $1) RETURNING id",
    done: "UPDATE bare_queue SET state = 2 WHERE id = $1",
};

const BARE_POSTGRES: Bare = Bare {
    create: "CREATE TABLE IF NOT EXISTS bare_queue (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, envelope_id TEXT NOT NULL UNIQUE,
        body BYTEA NOT NULL, state BIGINT NOT NULL DEFAULT 0)",
    insert: "INSERT INTO bare_queue (envelope_id, body) VALUES ($1, $2)",
    claim: "UPDATE bare_queue SET state = 1 WHERE id IN (
        SELECT id FROM bare_queue WHERE state = 0 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING id",
    done: "UPDATE bare_queue SET state = 2 WHERE id = $1",
};

/// Runs the four measurements for one database: the bare baseline and the
/// store, for enqueue and for claim + complete.
macro_rules! measure {
    ($c:expr, $runtime:expr, $label:expr, $store:expr, $bare:expr) => {{
        let runtime: &tokio::runtime::Runtime = $runtime;
        let store = $store;
        let bare: &Bare = $bare;
        runtime.block_on(async {
            sqlx::query(bare.create)
                .execute(store.pool())
                .await
                .unwrap();
        });

        let mut group = $c.benchmark_group(format!("enqueue/{}", $label));
        configure(&mut group, 1);
        group.bench_function("bare insert", |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let record = record();
                        sqlx::query(bare.insert)
                            .bind(&record.id)
                            .bind(&record.body[..])
                            .execute(store.pool())
                            .await
                            .unwrap();
                    }
                    start.elapsed()
                })
            })
        });
        group.bench_function("store", |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        store
                            .enqueue(&record(), &[WebhookId::from(1)])
                            .await
                            .unwrap();
                    }
                    start.elapsed()
                })
            })
        });
        group.finish();

        let mut group = $c.benchmark_group(format!("enqueue_32_producers/{}", $label));
        configure(&mut group, 1);
        group.bench_function("memory store", |b| {
            b.iter_custom(|iters| {
                // A fresh store each time, so memory stays bounded.
                let dispatcher = Dispatcher::builder(MemoryStore::new(), one_webhook())
                    .build()
                    .unwrap();
                producers(runtime, &dispatcher, iters, PRODUCERS)
            })
        });
        let dispatcher = Dispatcher::builder(store.clone(), one_webhook())
            .build()
            .unwrap();
        group.bench_function("store", |b| {
            b.iter_custom(|iters| producers(runtime, &dispatcher, iters, PRODUCERS))
        });
        // A lone producer, to compare with `enqueue/…/store` (one
        // `DeliveryStore::enqueue` at a time, without the dispatcher).
        group.bench_function("store, 1 producer", |b| {
            b.iter_custom(|iters| producers(runtime, &dispatcher, iters, 1))
        });
        group.finish();

        let mut group = $c.benchmark_group(format!("claim_complete/{}", $label));
        configure(&mut group, BATCH);
        group.bench_function("bare", |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    for _ in 0..iters * BATCH as u64 {
                        let record = record();
                        sqlx::query(bare.insert)
                            .bind(&record.id)
                            .bind(&record.body[..])
                            .execute(store.pool())
                            .await
                            .unwrap();
                    }
                    let start = Instant::now();
                    for _ in 0..iters {
                        let claimed: Vec<i64> = sqlx::query_scalar(bare.claim)
                            .bind(BATCH as i64)
                            .fetch_all(store.pool())
                            .await
                            .unwrap();
                        assert_eq!(claimed.len(), BATCH);
                        for id in claimed {
                            sqlx::query(bare.done)
                                .bind(id)
                                .execute(store.pool())
                                .await
                                .unwrap();
                        }
                    }
                    start.elapsed()
                })
            })
        });
        let webhooks: Vec<WebhookId> = (0..BATCH as u64).map(WebhookId::from).collect();
        group.bench_function("store", |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    for _ in 0..iters {
                        store.enqueue(&record(), &webhooks).await.unwrap();
                    }
                    let start = Instant::now();
                    for _ in 0..iters {
                        let claimed = store
                            .claim(ClaimRequest {
                                owner: "bench",
                                now: SystemTime::now(),
                                lease: Duration::from_secs(60),
                                limit: BATCH,
                                skip: &[],
                                per_webhook: BATCH,
                            })
                            .await
                            .unwrap();
                        assert_eq!(claimed.len(), BATCH);
                        for delivery in &claimed {
                            let attempt = attempt_for(&delivery.key);
                            store.complete(delivery, &attempt).await.unwrap();
                        }
                    }
                    start.elapsed()
                })
            })
        });
        group.finish();
    }};
}

fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, elements: usize) {
    group
        .throughput(Throughput::Elements(elements as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
}

fn sqlite(c: &mut Criterion, runtime: &tokio::runtime::Runtime) {
    for (label, synchronous) in [
        ("sqlite FULL", SqliteSynchronous::Full),
        ("sqlite NORMAL", SqliteSynchronous::Normal),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let options =
            SqliteStore::connect_options(dir.path().join("bench.db")).synchronous(synchronous);
        let store = runtime.block_on(SqliteStore::open_with(options)).unwrap();
        measure!(c, runtime, label, &store, &BARE_SQLITE);
    }
}

fn postgres(c: &mut Criterion, runtime: &tokio::runtime::Runtime) {
    let Ok(server) = std::env::var("TITAN_WEBHOOKS_PG_URL") else {
        eprintln!("postgres: skipped; set TITAN_WEBHOOKS_PG_URL (see scripts/postgres.sh)");
        return;
    };
    let store = runtime.block_on(async {
        use sqlx::Connection as _;
        let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
        sqlx::query("DROP DATABASE IF EXISTS titan_webhooks_bench WITH (FORCE)")
            .execute(&mut admin)
            .await
            .unwrap();
        sqlx::query("CREATE DATABASE titan_webhooks_bench")
            .execute(&mut admin)
            .await
            .unwrap();
        let mut url = url::Url::parse(&server).unwrap();
        url.set_path("/titan_webhooks_bench");
        PostgresStore::connect(url.as_str()).await.unwrap()
    });
    measure!(c, runtime, "postgres", &store, &BARE_POSTGRES);
}

fn stores(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    sqlite(c, &runtime);
    postgres(c, &runtime);
}

criterion_group!(benches, stores);
criterion_main!(benches);
