//! What only the SQLite webhook backend does: keep secrets out of its file
//! in plaintext, report a damaged row as an error, survive reopening the
//! file, and share the file with another pool.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::SqlitePool;
use sqlx::{AssertSqlSafe, Column, Row};
use support::webhooks::{LABEL, assert_only_sealed, contains, create_webhook, store_sentinels};
use titan_webhooks::queue::{Lookup, StoreError, SubscriptionSource};
use titan_webhooks::store::{SqliteStore, SqliteWebhooks};
use titan_webhooks::subscription::{CreateWebhook, CustomHeader, UpdateWebhook, WebhookId};
use titan_webhooks::webhooks::{
    Flavour, HealthPolicy, Keyring, Owner, SealingError, SealingKey, WebhookBackend, WebhookQuery,
    WebhookStore, WebhookStoreError,
};
use titan_webhooks::{Scheme, Verifier};

const KEY: [u8; 32] = [3; 32];

async fn open(backend: SqliteWebhooks) -> WebhookStore<SqliteWebhooks> {
    WebhookStore::builder(backend, Keyring::new(SealingKey::from_bytes(1, KEY)))
        .open()
        .await
        .unwrap()
}

fn owner() -> Owner {
    Owner::new("acct_1").unwrap()
}

/// Every value of every column of every row of every table, as its bytes
/// (SQLite gives text and numbers as their text), with where it was.
async fn every_cell(pool: &SqlitePool) -> Vec<(String, String, Vec<u8>)> {
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(pool)
            .await
            .unwrap();
    let mut cells = Vec::new();
    for table in tables {
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT * FROM \"{table}\"")))
            .fetch_all(pool)
            .await
            .unwrap();
        for row in &rows {
            for column in row.columns() {
                let value: Option<Vec<u8>> = row.try_get_unchecked(column.ordinal()).unwrap();
                if let Some(value) = value {
                    cells.push((table.clone(), column.name().to_owned(), value));
                }
            }
        }
    }
    cells
}

fn file_bytes(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        if let Ok(content) = std::fs::read(&file) {
            bytes.extend(content);
        }
    }
    bytes
}

#[tokio::test]
async fn keys_and_header_values_are_stored_only_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("webhooks.db");
    let queue = SqliteStore::open(&path).await.unwrap();
    let store = open(queue.webhooks()).await;
    let secrets = store_sentinels(&store, &owner()).await;
    assert_only_sealed(&every_cell(queue.pool()).await, &secrets);

    // Only the sealed columns hold bytes, and they say so.
    let blobs: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM pragma_table_info('titan_webhooks_webhooks') WHERE type = 'BLOB' ORDER BY cid",
    )
    .fetch_all(queue.pool())
    .await
    .unwrap();
    assert_eq!(
        blobs,
        ["headers_sealed", "secret_sealed", "previous_secret_sealed"]
    );

    // Nor in the file, its journal or free pages.
    queue.pool().close().await;
    let bytes = file_bytes(&path);
    assert!(
        contains(&bytes, LABEL.as_bytes()),
        "the file scan reads the file"
    );
    for (what, secret) in &secrets {
        assert!(!contains(&bytes, secret), "{what} is in the database file");
    }
}

#[tokio::test]
async fn a_damaged_row_is_an_error_naming_its_column_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let queue = SqliteStore::open(dir.path().join("webhooks.db"))
        .await
        .unwrap();
    let store = open(queue.webhooks()).await;
    let damages = [
        ("events = 'not json'", "`events`"),
        ("events = '{\"a\": 1}'", "`events`"),
        (
            "retries = '{\"attempts\": 3, \"delaySeconds\": 5, \"policy\": \"fibonacci\"}'",
            "`retries` is not a retry object",
        ),
        (
            "disabled_reason = 'bored', disabled_at = 0",
            "`disabled_reason` is not a reason",
        ),
        ("created_at = -1", "`created_at` is not a time"),
        ("failing_since = -5", "`failing_since` is not a time"),
        (
            "exhausted_in_a_row = -1",
            "`exhausted_in_a_row` is out of range",
        ),
        (
            "exhausted_in_a_row = 4294967296",
            "`exhausted_in_a_row` is out of range",
        ),
        ("enabled = 'yes'", ""),
    ];
    for (n, (damage, reason)) in damages.into_iter().enumerate() {
        let acct = Owner::new(format!("acct_{n}")).unwrap();
        let id = create_webhook(&store, &acct, &Flavour::titan(), "https://example.com/").await;
        let WebhookId::Number(number) = id else {
            panic!("{id}")
        };
        let damaged = sqlx::query(AssertSqlSafe(format!(
            "UPDATE titan_webhooks_webhooks SET {damage} WHERE id = {number}"
        )))
        .execute(queue.pool())
        .await;
        if reason.is_empty() {
            // STRICT tables refuse some damage outright.
            assert!(damaged.is_err(), "{damage} was accepted");
            continue;
        }
        damaged.unwrap();
        let err = queue.webhooks().fetch(number).await.unwrap_err();
        let StoreError::Backend { message } = &err else {
            panic!("{damage}: {err:?}")
        };
        assert!(
            message.contains(&format!("stored webhook {number} is damaged"))
                && message.contains(reason),
            "{damage}: {message}"
        );
        assert_eq!(
            store.get(&acct, &id).await.unwrap_err(),
            WebhookStoreError::Store(err.clone())
        );
        assert!(
            store.list(&acct, &WebhookQuery::default()).await.is_err(),
            "{damage}"
        );
        assert!(
            queue
                .webhooks()
                .changes_since(0)
                .await
                .unwrap()
                .iter()
                .any(|change| change.id == number),
            "the change itself still reads"
        );
    }

    // Sealed bytes that do not open are a sealing error.
    let acct = Owner::new("acct_sealed").unwrap();
    let id = create_webhook(&store, &acct, &Flavour::titan(), "https://example.com/").await;
    sqlx::query("UPDATE titan_webhooks_webhooks SET headers_sealed = X'01', secret_sealed = X'' WHERE owner = 'acct_sealed'")
        .execute(queue.pool())
        .await
        .unwrap();
    assert_eq!(
        store.get(&acct, &id).await.unwrap_err(),
        WebhookStoreError::Sealing(SealingError::Corrupt)
    );
    let lookup = store
        .subscriptions(HealthPolicy::default())
        .lookup(&id)
        .await;
    assert!(lookup.is_err(), "a secret that does not open is an error");

    sqlx::query("UPDATE titan_webhooks_webhook_revision SET value = -1")
        .execute(queue.pool())
        .await
        .unwrap();
    assert!(matches!(
        queue.webhooks().revision().await,
        Err(StoreError::Backend { message }) if message.contains("revision counter")
    ));
}

#[tokio::test]
async fn webhooks_and_their_revision_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("webhooks.db");
    let acct = owner();
    let (id, rotated_key, stored, revision, deleted) = {
        let queue = SqliteStore::open(&path).await.unwrap();
        let store = open(queue.webhooks()).await;
        let mut request = CreateWebhook::new("https://example.com/kept");
        request.headers = Some(vec![CustomHeader::new("X-Kept", "yes")]);
        let id = store
            .create(&acct, &Flavour::eventium(), request)
            .await
            .unwrap()
            .webhook()
            .id()
            .clone();
        let rotated = store
            .rotate_secret(&acct, &id, Duration::from_secs(3600))
            .await
            .unwrap();
        let deleted =
            create_webhook(&store, &acct, &Flavour::titan(), "https://example.com/gone").await;
        assert!(store.delete(&acct, &deleted).await.unwrap());
        let stored = store.get(&acct, &id).await.unwrap().unwrap();
        let revision = queue.webhooks().revision().await.unwrap();
        queue.pool().close().await;
        (
            id,
            rotated.hmac_key().expose().to_owned(),
            stored,
            revision,
            deleted,
        )
    };

    let queue = SqliteStore::open(&path).await.unwrap();
    let wrong = WebhookStore::builder(
        queue.webhooks(),
        Keyring::new(SealingKey::from_bytes(1, [4; 32])),
    )
    .open()
    .await
    .unwrap_err();
    assert_eq!(
        wrong,
        WebhookStoreError::Sealing(SealingError::WrongKey { key_id: 1 })
    );
    let store = open(queue.webhooks()).await;
    assert_eq!(store.get(&acct, &id).await.unwrap().unwrap(), stored);
    assert!(store.get(&acct, &deleted).await.unwrap().is_none());
    assert_eq!(queue.webhooks().revision().await.unwrap(), revision);
    let WebhookId::Number(gone) = deleted else {
        panic!()
    };
    assert!(
        queue
            .webhooks()
            .changes_since(0)
            .await
            .unwrap()
            .iter()
            .any(|change| change.id == gone),
        "the tombstone is kept"
    );
    let Lookup::Active(subscription) = store
        .subscriptions(HealthPolicy::default())
        .lookup(&id)
        .await
        .unwrap()
    else {
        panic!("not active")
    };
    let headers = subscription.signer().sign(b"{}");
    let secret = Scheme::eventium()
        .secret_encoding()
        .parse(&rotated_key)
        .unwrap();
    Verifier::new(Scheme::eventium(), secret)
        .verify(&headers, b"{}")
        .expect("the rotated key still signs after the reopen");
}

#[tokio::test]
async fn two_pools_on_one_file_see_each_others_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("webhooks.db");
    // Two stores with a connection each stand for two processes.
    let (first, second) = (
        SqliteStore::open(&path).await.unwrap(),
        SqliteStore::open(&path).await.unwrap(),
    );
    let (a, b) = (open(first.webhooks()).await, open(second.webhooks()).await);
    let acct = owner();

    let start = second.webhooks().revision().await.unwrap();
    let id = create_webhook(&a, &acct, &Flavour::titan(), "https://example.com/").await;
    let after_create = second.webhooks().revision().await.unwrap();
    assert!(after_create > start);
    let changes = second.webhooks().changes_since(start).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(WebhookId::Number(changes[0].id), id);
    assert!(b.get(&acct, &id).await.unwrap().is_some());

    let mut change = UpdateWebhook::default();
    change.label = Some(Some("from b".into()));
    b.update(&acct, &id, change).await.unwrap();
    assert_eq!(
        a.get(&acct, &id).await.unwrap().unwrap().webhook.label(),
        Some("from b")
    );
    assert!(first.webhooks().revision().await.unwrap() > after_create);

    // Writers on both pools at once: every write takes its own revision.
    let before = first.webhooks().revision().await.unwrap();
    let writers: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .flat_map(|store| {
            (0..10).map(move |n| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .create(
                            &owner(),
                            &Flavour::titan(),
                            CreateWebhook::new(format!("https://example.com/{n}")),
                        )
                        .await
                        .unwrap()
                })
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let changes = first.webhooks().changes_since(before).await.unwrap();
    let revisions: HashSet<u64> = changes.iter().map(|change| change.revision).collect();
    assert_eq!((changes.len(), revisions.len()), (20, 20));
    assert_eq!(
        revisions.iter().max().copied(),
        Some(second.webhooks().revision().await.unwrap())
    );
}
