//! What only the SQLite store does: survive a reopen of its file, version
//! its schema, and queue inside the application's own transaction.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use std::time::{Duration, SystemTime};

use titan_webhooks::queue::StoreError;
use titan_webhooks::queue::{
    ClaimRequest, ClaimedDelivery, DeliveryAdmin, DeliveryAttempt, DeliveryQuery, DeliveryState,
    DeliveryStore, EnvelopeRecord, Subscription, SubscriptionRegistry,
};
use titan_webhooks::retry::{AttemptOutcome, NextStep};
use titan_webhooks::store::SqliteStore;
use titan_webhooks::subscription::{CreateWebhook, WebhookId, WebhookRules};
use titan_webhooks::{Envelope, Scheme, TitanEvent, UrlGuard};

fn record(session: &str) -> EnvelopeRecord {
    EnvelopeRecord::from_envelope(&Envelope::new(TitanEvent::ChatRead, session, ())).unwrap()
}

/// Records a failed attempt on `claimed` and schedules its retry.
async fn fail_once(store: &SqliteStore, claimed: &ClaimedDelivery, retry_at: SystemTime) {
    let attempt = DeliveryAttempt {
        sequence: None,
        key: claimed.key.clone(),
        attempt: claimed.next_attempt(),
        started_at: SystemTime::now(),
        latency: Duration::from_millis(3),
        outcome: AttemptOutcome::Status(503),
        response_body: Vec::new(),
        response_truncated: false,
        location: None,
        remote_ip: None,
        next: NextStep::RetryAt(retry_at),
        detail: None,
    };
    store.complete(claimed, &attempt).await.unwrap();
}

fn claim_all(now: SystemTime) -> ClaimRequest<'static> {
    ClaimRequest {
        owner: "w",
        now,
        lease: Duration::from_secs(60),
        limit: 100,
        skip: &[],
        per_webhook: usize::MAX,
    }
}

#[tokio::test]
async fn open_deliveries_and_attempts_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deliveries.db");
    let retry_at = SystemTime::now() + Duration::from_secs(3600);
    let (waiting, retrying) = {
        let store = SqliteStore::open(&path).await.unwrap();
        let (first, second) = (record("a"), record("b"));
        store.enqueue(&first, &[1.into()]).await.unwrap();
        let claimed = store.claim(claim_all(SystemTime::now())).await.unwrap();
        fail_once(&store, &claimed[0], retry_at).await;
        store.enqueue(&second, &[1.into()]).await.unwrap();
        store.pool().close().await;
        (second.id, first.id)
    };

    let store = SqliteStore::open(&path).await.unwrap();
    let open = store.open_deliveries().await.unwrap();
    let states: Vec<(&str, DeliveryState)> = open
        .iter()
        .map(|delivery| (delivery.key.envelope_id.as_str(), delivery.state))
        .collect();
    assert!(states.contains(&(waiting.as_str(), DeliveryState::Pending)));
    assert!(states.contains(&(retrying.as_str(), DeliveryState::Retry)));
    assert_eq!(states.len(), 2);
    let claimed = store.claim(claim_all(SystemTime::now())).await.unwrap();
    assert_eq!(claimed.len(), 1, "the retry is not due yet");
    assert_eq!(claimed[0].key.envelope_id, waiting);
    assert_eq!(
        store.claim(claim_all(retry_at)).await.unwrap()[0].attempts,
        1,
        "the attempt count survived"
    );
    let attempts = store
        .list_attempts(&DeliveryQuery::for_envelope(retrying))
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, AttemptOutcome::Status(503));
}

#[tokio::test]
async fn the_schema_is_versioned_in_wal_mode_and_migrating_again_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deliveries.db");
    drop(SqliteStore::open(&path).await.unwrap());
    let store = SqliteStore::open(&path).await.unwrap();

    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM titan_webhooks_migrations ORDER BY version")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(versions, [1, 2]);
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(synchronous, 2, "FULL");
}

#[tokio::test]
async fn attempts_cannot_be_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("deliveries.db"))
        .await
        .unwrap();
    store.enqueue(&record("a"), &[1.into()]).await.unwrap();
    let claimed = store.claim(claim_all(SystemTime::now())).await.unwrap();
    fail_once(&store, &claimed[0], SystemTime::now()).await;
    let refused = sqlx::query("UPDATE titan_webhooks_attempts SET status = 200")
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("append-only"), "{refused}");
}

#[tokio::test]
async fn the_outbox_queues_if_and_only_if_the_transaction_commits() {
    // A producer that only queues: a registry and a store, no Dispatcher
    // and no HTTP client (this file builds with the `sqlite` feature alone).
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("app.db")).await.unwrap();
    sqlx::query("CREATE TABLE orders (id INTEGER PRIMARY KEY, paid INTEGER NOT NULL)")
        .execute(store.pool())
        .await
        .unwrap();
    let subscriptions = SubscriptionRegistry::new();
    let rules = WebhookRules::new(UrlGuard::new());
    for id in [1, 2] {
        let created = rules.create(id.into(), CreateWebhook::new("https://example.com/hook"));
        let (webhook, secret) = created.unwrap().into_parts();
        subscriptions.upsert(Subscription::new(webhook, Scheme::titan(), secret));
    }
    let prepared = |session: &str| {
        let prepared = subscriptions
            .prepare(&Envelope::new(TitanEvent::ChatRead, session, ()))
            .unwrap();
        let mut wanted = prepared.webhooks.clone();
        wanted.sort();
        assert_eq!(wanted, [WebhookId::from(1), WebhookId::from(2)]);
        prepared
    };

    let rolled_back = prepared("rolled-back");
    let mut tx = store.pool().begin().await.unwrap();
    sqlx::query("INSERT INTO orders (id, paid) VALUES (1, 1)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let queued = store.enqueue_in_tx(&mut tx, &rolled_back).await.unwrap();
    assert_eq!(queued.len(), 2);
    tx.rollback().await.unwrap();
    assert!(store.open_deliveries().await.unwrap().is_empty());

    let committed = prepared("committed");
    let mut tx = store.pool().begin().await.unwrap();
    sqlx::query("INSERT INTO orders (id, paid) VALUES (2, 1)")
        .execute(&mut *tx)
        .await
        .unwrap();
    store.enqueue_in_tx(&mut tx, &committed).await.unwrap();
    tx.commit().await.unwrap();
    let listed = store
        .list_deliveries(&DeliveryQuery::for_envelope(committed.record.id.clone()))
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].session, "committed");
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(orders, 1);

    let mut tx = store.pool().begin().await.unwrap();
    assert!(
        store
            .enqueue_in_tx(&mut tx, &committed)
            .await
            .unwrap()
            .is_empty(),
        "idempotent inside a transaction too"
    );
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = SqliteStore::open(dir.path().join("missing-dir").join("deliveries.db"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend { .. }), "{err:?}");
    assert!(err.to_string().starts_with("the store failed"), "{err}");
}
