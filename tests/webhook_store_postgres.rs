//! What only the Postgres webhook backend does: keep secrets out of the
//! database in plaintext, tell other processes of every change with
//! `NOTIFY`, stop listening with its last clone, and order revisions so a
//! reader following `changes_since` misses nothing while writers race.
//! Runs on a real server; see `tests/support/postgres.rs`.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgPool, PgPoolOptions};
use support::postgres::TestDatabase;
use support::webhooks::{assert_only_sealed, create_webhook, store_sentinels};
use titan_webhooks::queue::StoreError;
use titan_webhooks::store::{PostgresStore, PostgresWebhooks, WEBHOOK_CHANGES_CHANNEL};
use titan_webhooks::subscription::{CreateWebhook, UpdateWebhook, WebhookId};
use titan_webhooks::webhooks::{
    Flavour, Keyring, Owner, SealingKey, WebhookBackend, WebhookQuery, WebhookStore,
    WebhookStoreError,
};

const KEY: [u8; 32] = [5; 32];
/// How long a notification may take before a test fails.
const PATIENCE: Duration = Duration::from_secs(10);

async fn open(backend: PostgresWebhooks) -> WebhookStore<PostgresWebhooks> {
    WebhookStore::builder(backend, Keyring::new(SealingKey::from_bytes(1, KEY)))
        .open()
        .await
        .unwrap()
}

fn owner() -> Owner {
    Owner::new("acct_1").unwrap()
}

fn number(id: &WebhookId) -> u64 {
    match id {
        WebhookId::Number(number) => *number,
        WebhookId::Text(text) => panic!("{text}"),
    }
}

/// Waits until `done` holds, polling; fails the test after [`PATIENCE`].
async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every value of every column of every row of every table of the
/// database: `bytea` as its bytes, everything else as its text.
async fn every_cell(pool: &PgPool) -> Vec<(String, String, Vec<u8>)> {
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut cells = Vec::new();
    for (table, column, data_type) in columns {
        let values: Vec<Option<Vec<u8>>> = if data_type == "bytea" {
            sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT \"{column}\" FROM \"{table}\""
            )))
            .fetch_all(pool)
            .await
            .unwrap()
        } else {
            let texts: Vec<Option<String>> = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT CAST(\"{column}\" AS TEXT) FROM \"{table}\""
            )))
            .fetch_all(pool)
            .await
            .unwrap();
            texts
                .into_iter()
                .map(|text| text.map(String::into_bytes))
                .collect()
        };
        cells.extend(
            values
                .into_iter()
                .flatten()
                .map(|value| (table.clone(), column.clone(), value)),
        );
    }
    cells
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_header_values_are_stored_only_sealed() {
    let database = TestDatabase::create().await;
    let queue = PostgresStore::connect(database.url()).await.unwrap();
    let store = open(queue.webhooks()).await;
    let secrets = store_sentinels(&store, &owner()).await;
    assert_only_sealed(&every_cell(queue.pool()).await, &secrets);

    let byte_columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_name = 'titan_webhooks_webhooks' AND data_type = 'bytea'
         ORDER BY ordinal_position",
    )
    .fetch_all(queue.pool())
    .await
    .unwrap();
    assert_eq!(
        byte_columns,
        ["headers_sealed", "secret_sealed", "previous_secret_sealed"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_row_is_an_error_naming_its_column_not_a_panic() {
    let database = TestDatabase::create().await;
    let queue = PostgresStore::connect(database.url()).await.unwrap();
    let store = open(queue.webhooks()).await;
    for (n, (damage, reason)) in [
        ("events = 'not json'", "`events`"),
        (
            "disabled_reason = 'bored', disabled_at = 0",
            "`disabled_reason`",
        ),
        ("created_at = -1", "`created_at` is not a time"),
        (
            "exhausted_in_a_row = 4294967296",
            "`exhausted_in_a_row` is out of range",
        ),
        ("revision = -3", "`revision` is out of range"),
    ]
    .into_iter()
    .enumerate()
    {
        let acct = Owner::new(format!("acct_{n}")).unwrap();
        let id = create_webhook(&store, &acct, &Flavour::titan(), "https://example.com/").await;
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE titan_webhooks_webhooks SET {damage} WHERE id = {}",
            number(&id)
        )))
        .execute(queue.pool())
        .await
        .unwrap();
        let err = store
            .list(&acct, &WebhookQuery::default())
            .await
            .unwrap_err();
        let WebhookStoreError::Store(StoreError::Backend { message }) = &err else {
            panic!("{damage}: {err:?}")
        };
        assert!(
            message.contains("is damaged") && message.contains(reason),
            "{damage}: {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_sees_every_change_and_is_notified_of_it() {
    let database = TestDatabase::create().await;
    // Two stores with their own pools and listeners stand for two processes.
    let (first, second) = (
        PostgresStore::connect(database.url()).await.unwrap(),
        PostgresStore::connect(database.url()).await.unwrap(),
    );
    let (here, there) = (first.webhooks(), second.webhooks());
    let (a, b) = (open(here.clone()).await, open(there.clone()).await);
    let acct = owner();

    let start = there.revision().await.unwrap();
    let notified = there.notifications();
    let id = create_webhook(&a, &acct, &Flavour::titan(), "https://example.com/").await;
    eventually("the other process is notified of the create", async || {
        there.notifications() > notified
    })
    .await;
    let created = there.revision().await.unwrap();
    assert!(created > start);
    assert_eq!(created, here.revision().await.unwrap());
    let changes = there.changes_since(start).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(
        (
            changes[0].id,
            changes[0].owner.as_str(),
            changes[0].revision
        ),
        (number(&id), "acct_1", created)
    );
    assert!(b.get(&acct, &id).await.unwrap().is_some());

    let notified = there.notifications();
    let mut change = UpdateWebhook::default();
    change.label = Some(Some("changed by a".into()));
    a.update(&acct, &id, change).await.unwrap();
    eventually("the other process is notified of the update", async || {
        there.notifications() > notified
    })
    .await;
    assert_eq!(
        b.get(&acct, &id).await.unwrap().unwrap().webhook.label(),
        Some("changed by a")
    );
    let updated = there.revision().await.unwrap();

    // And the other way round.
    let notified = here.notifications();
    assert!(b.delete(&acct, &id).await.unwrap());
    eventually("this process is notified of the delete", async || {
        here.notifications() > notified
    })
    .await;
    let changes = here.changes_since(updated).await.unwrap();
    assert_eq!(changes.len(), 1, "the tombstone");
    assert_eq!(changes[0].id, number(&id));
    assert!(a.get(&acct, &id).await.unwrap().is_none());

    // Writes that change nothing notify no one: after them, only the real
    // write's notification arrives, and notifications arrive in the order
    // their transactions committed.
    let before = there.notifications();
    let kept = a
        .create(
            &acct,
            &Flavour::titan(),
            CreateWebhook::new("https://example.com/2"),
        )
        .await
        .unwrap();
    eventually(
        "the other process is notified of the second create",
        async || there.notifications() > before,
    )
    .await;
    let mut stale = here
        .fetch(number(kept.webhook().id()))
        .await
        .unwrap()
        .unwrap();
    let notified = there.notifications();
    assert_eq!(a.purge_expired_secrets().await.unwrap(), 0);
    assert!(!a.delete(&acct, &id).await.unwrap(), "deleted already");
    stale.revision = 0;
    assert!(here.replace(&stale).await.unwrap().is_none());
    a.create(
        &acct,
        &Flavour::titan(),
        CreateWebhook::new("https://example.com/3"),
    )
    .await
    .unwrap();
    eventually(
        "the other process is notified of the third create",
        async || there.notifications() > notified,
    )
    .await;
    assert_eq!(
        there.notifications(),
        notified + 1,
        "only the write that changed something notified"
    );
}

/// The sessions of this database listening for webhook changes.
async fn listeners(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN %' AND query LIKE '%' || $1 || '%'",
    )
    .bind(WEBHOOK_CHANGES_CHANNEL)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_stops_with_the_last_clone() {
    let database = TestDatabase::create().await;
    let writer = open(
        PostgresWebhooks::from_pool(PgPool::connect(database.url()).await.unwrap())
            .await
            .unwrap(),
    )
    .await;
    let pool = PgPoolOptions::new()
        .max_connections(3)
        .connect(database.url())
        .await
        .unwrap();
    assert_eq!(listeners(&pool).await, 1, "the writer's");

    // On its own pool.
    let alone = PostgresWebhooks::from_pool(pool.clone()).await.unwrap();
    assert_eq!(listeners(&pool).await, 2);
    let clone = alone.clone();
    drop(alone);
    let notified = clone.notifications();
    writer
        .create(
            &owner(),
            &Flavour::titan(),
            CreateWebhook::new("https://example.com/1"),
        )
        .await
        .unwrap();
    eventually("a clone still hears changes", async || {
        clone.notifications() > notified
    })
    .await;
    drop(clone);
    eventually("the listener stopped", async || listeners(&pool).await == 1).await;

    // Shared with a queue: it listens while either lives.
    let queue = PostgresStore::connect(database.url()).await.unwrap();
    let queue_pool = queue.pool().clone();
    assert_eq!(listeners(&pool).await, 2);
    let webhooks = queue.webhooks();
    drop(queue);
    let notified = webhooks.notifications();
    writer
        .create(
            &owner(),
            &Flavour::titan(),
            CreateWebhook::new("https://example.com/2"),
        )
        .await
        .unwrap();
    eventually(
        "the webhooks still hear changes without the queue",
        async || webhooks.notifications() > notified,
    )
    .await;
    drop(webhooks);
    eventually("the shared listener stopped", async || {
        listeners(&pool).await == 1
    })
    .await;
    drop(queue_pool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_following_changes_misses_none_while_writers_race() {
    const WRITERS: usize = 6;
    const WRITES: usize = 25;
    let database = TestDatabase::create().await;
    let stores = [
        open(
            PostgresStore::connect(database.url())
                .await
                .unwrap()
                .webhooks(),
        )
        .await,
        open(
            PostgresStore::connect(database.url())
                .await
                .unwrap()
                .webhooks(),
        )
        .await,
    ];
    let reader = PostgresStore::connect(database.url())
        .await
        .unwrap()
        .webhooks();
    let start = reader.revision().await.unwrap();
    let done = Arc::new(AtomicBool::new(false));

    // Follows the changes as a cache does: from the highest revision seen.
    let following = {
        let done = Arc::clone(&done);
        let reader = reader.clone();
        tokio::spawn(async move {
            let mut known = start;
            let mut seen = HashSet::new();
            let mut passes = 0;
            loop {
                let finished = done.load(Ordering::Acquire);
                for change in reader.changes_since(known).await.unwrap() {
                    assert!(change.revision > known);
                    seen.insert(change.id);
                    known = known.max(change.revision);
                }
                passes += 1;
                if finished {
                    return (seen, passes);
                }
            }
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let store = stores[writer % 2].clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in 0..WRITES {
                    let created = store
                        .create(
                            &owner(),
                            &Flavour::titan(),
                            CreateWebhook::new(format!("https://example.com/{writer}/{n}")),
                        )
                        .await
                        .unwrap();
                    ids.push(number(created.webhook().id()));
                }
                ids
            })
        })
        .collect();
    let mut written = HashSet::new();
    for writer in writers {
        written.extend(writer.await.unwrap());
    }
    done.store(true, Ordering::Release);
    let (seen, passes) = following.await.unwrap();
    assert_eq!(written.len(), WRITERS * WRITES);
    assert!(passes > 1, "the reader ran while the writers wrote");
    let missed: Vec<&u64> = written.difference(&seen).collect();
    assert!(missed.is_empty(), "the reader missed {missed:?}");
}
