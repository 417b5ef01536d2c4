//! What only the Postgres store does: share one queue between processes
//! without handing a delivery to two of them, wake idle ones with
//! `NOTIFY`, migrate once when they start together, and queue inside the
//! application's own transaction. Runs on a real server; see
//! `tests/support/postgres.rs`.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

mod support;

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use support::postgres::TestDatabase;
use titan_webhooks::queue::{
    ClaimRequest, DeliveryAdmin, DeliveryKey, DeliveryQuery, DeliveryStore, EnvelopeRecord,
    Prepared, SubscriptionRegistry,
};
use titan_webhooks::retry::{AttemptOutcome, NextStep};
use titan_webhooks::store::PostgresStore;
use titan_webhooks::subscription::WebhookId;
use titan_webhooks::{Envelope, TitanEvent};

fn record(i: usize) -> EnvelopeRecord {
    EnvelopeRecord::from_envelope(
        &Envelope::new(TitanEvent::ChatRead, "s", i)
            .with_id(format!("evt_pg_{i:04}"))
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_sharing_the_queue_never_claim_the_same_delivery() {
    const DELIVERIES: usize = 400;
    let database = TestDatabase::create().await;
    // Two stores with their own pools stand for two processes.
    let stores = [
        PostgresStore::connect(database.url()).await.unwrap(),
        PostgresStore::connect(database.url()).await.unwrap(),
    ];
    for i in 0..DELIVERIES / 2 {
        stores[0]
            .enqueue(&record(i), &[1.into(), 2.into()])
            .await
            .unwrap();
    }

    let claimers: Vec<_> = (0..8)
        .map(|worker| {
            let store = stores[worker % 2].clone();
            tokio::spawn(async move {
                let owner = format!("worker-{worker}");
                let mut mine = Vec::new();
                loop {
                    let claimed = store
                        .claim(ClaimRequest {
                            owner: &owner,
                            now: SystemTime::now(),
                            lease: Duration::from_secs(60),
                            limit: 7,
                            skip: &[],
                            per_webhook: usize::MAX,
                        })
                        .await
                        .unwrap();
                    if claimed.is_empty() {
                        return mine;
                    }
                    for delivery in claimed {
                        store
                            .complete(
                                &delivery,
                                &support::attempt_of(
                                    &delivery,
                                    AttemptOutcome::Status(204),
                                    NextStep::Succeeded,
                                ),
                            )
                            .await
                            .unwrap();
                        mine.push(delivery.key);
                    }
                }
            })
        })
        .collect();
    let mut all: Vec<DeliveryKey> = Vec::new();
    let mut workers_that_claimed = 0;
    for claimer in claimers {
        let mine = claimer.await.unwrap();
        workers_that_claimed += usize::from(!mine.is_empty());
        all.extend(mine);
    }
    let distinct: HashSet<&DeliveryKey> = all.iter().collect();
    assert_eq!(
        all.len(),
        DELIVERIES,
        "every delivery claimed once, none twice"
    );
    assert_eq!(distinct.len(), DELIVERIES);
    assert!(workers_that_claimed > 1, "the work was shared");
    let metrics = stores[1].metrics(SystemTime::now()).await.unwrap();
    assert_eq!((metrics.succeeded, metrics.open()), (DELIVERIES as u64, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_queued_by_another_process_wakes_an_idle_one() {
    let database = TestDatabase::create().await;
    let producer = PostgresStore::connect(database.url()).await.unwrap();
    let idle = PostgresStore::connect(database.url()).await.unwrap();

    let quiet = tokio::time::timeout(Duration::from_millis(300), idle.work_queued()).await;
    assert!(quiet.is_err(), "nothing was queued, so nothing wakes it");

    let woken = idle.work_queued();
    producer.enqueue(&record(1), &[1.into()]).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), woken)
        .await
        .expect("the NOTIFY of the enqueue wakes the other store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_starting_together_migrate_once() {
    let database = TestDatabase::create().await;
    let starting: Vec<_> = (0..4)
        .map(|_| {
            let url = database.url().to_owned();
            tokio::spawn(async move { PostgresStore::connect(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for store in starting {
        stores.push(store.await.unwrap().unwrap());
    }
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM titan_webhooks_migrations ORDER BY version")
            .fetch_all(stores[0].pool())
            .await
            .unwrap();
    assert_eq!(versions, [1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_cannot_be_rewritten() {
    let database = TestDatabase::create().await;
    let store = PostgresStore::connect(database.url()).await.unwrap();
    let refused = sqlx::raw_sql(
        "INSERT INTO titan_webhooks_envelopes VALUES ('evt_1', 'e', 's', '\\x00', 0);
         INSERT INTO titan_webhooks_deliveries (envelope_id, webhook_id, state, next_attempt_at, created_at, updated_at)
             VALUES ('evt_1', '1', 'retry', 0, 0, 0);
         INSERT INTO titan_webhooks_attempts (delivery_id, attempt, started_at, latency_us, status,
             response_body, response_truncated, next, next_attempt_at)
             SELECT id, 1, 0, 0, 503, '', false, 'retry', 0 FROM titan_webhooks_deliveries;
         UPDATE titan_webhooks_attempts SET status = 200;",
    )
    .execute(store.pool())
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("append-only"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_queues_if_and_only_if_the_transaction_commits() {
    let database = TestDatabase::create().await;
    let store = PostgresStore::connect(database.url()).await.unwrap();
    let listener = PostgresStore::connect(database.url()).await.unwrap();
    sqlx::query("CREATE TABLE orders (id BIGINT PRIMARY KEY)")
        .execute(store.pool())
        .await
        .unwrap();
    // A producer that only queues needs no Dispatcher.
    let subscriptions = SubscriptionRegistry::new();
    let prepared = |session: &str| Prepared {
        webhooks: vec![WebhookId::from(1), WebhookId::from("wh_2")],
        ..subscriptions
            .prepare(&Envelope::new(TitanEvent::ChatRead, session, ()))
            .unwrap()
    };

    let rolled_back = prepared("rolled-back");
    let mut tx = store.pool().begin().await.unwrap();
    sqlx::query("INSERT INTO orders (id) VALUES (1)")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(
        store
            .enqueue_in_tx(&mut tx, &rolled_back)
            .await
            .unwrap()
            .len(),
        2
    );
    tx.rollback().await.unwrap();
    assert!(store.open_deliveries().await.unwrap().is_empty());

    let committed = prepared("committed");
    let mut tx = store.pool().begin().await.unwrap();
    sqlx::query("INSERT INTO orders (id) VALUES (2)")
        .execute(&mut *tx)
        .await
        .unwrap();
    store.enqueue_in_tx(&mut tx, &committed).await.unwrap();
    let woken = listener.work_queued();
    tx.commit().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), woken)
        .await
        .expect("the commit notifies");

    let listed = store
        .list_deliveries(&DeliveryQuery::for_envelope(committed.record.id.clone()))
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    let orders: Vec<i64> = sqlx::query_scalar("SELECT id FROM orders")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(orders, [2]);
}

#[tokio::test]
async fn a_bad_url_is_an_error_that_does_not_quote_it() {
    let err = PostgresStore::connect("postgres://user:hunter2@127.0.0.1:1/db?sslmode=nonsense")
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("the store failed"), "{text}");
}
