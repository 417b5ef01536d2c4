//! The SQLite delivery store.

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::time::{Duration, SystemTime};

use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteSynchronous,
};

use super::codec::{self, AttemptColumns, backend, micros};
use super::file_lock;
use super::shared::{RowsAffected, Shared, SqlStore};
use super::webhooks::{SqlWebhooks, WebhookSql};
use crate::queue::{
    ClaimRequest, ClaimedDelivery, DeliveryAdmin, DeliveryAttempt, DeliveryKey, DeliveryQuery,
    DeliveryRecord, DeliveryState, DeliveryStore, EnvelopeRecord, FinishedState, HeldClaim,
    LocalNames, OpenDelivery, Prepared, QueueMetrics, StoreError, WorkerLock, WorkerName,
};
use crate::retry::NextStep;
use crate::subscription::WebhookId;
use crate::webhooks::{HealthUpdate, RowChange, RowFilter, WebhookBackend, WebhookRow};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "deliveries",
        include_str!("migrations/sqlite/0001_deliveries.sql"),
    ),
    (
        2,
        "webhooks",
        include_str!("migrations/sqlite/0002_webhooks.sql"),
    ),
];

/// How long a statement waits for another connection's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A durable delivery store in one SQLite file, for a sender on one
/// machine. Pending deliveries and scheduled retries survive a crash or a
/// restart: the next dispatcher on the same file picks them up.
///
/// [`SqliteStore::open`] uses WAL mode and `synchronous = FULL`: once
/// `enqueue` or a completion returns, it survives a crash of the process
/// and of the machine. `synchronous = NORMAL` (see
/// [`SqliteStore::connect_options`]) is faster and survives a crash of the
/// process, but a power loss may undo the last transactions, so a delivery
/// may be sent again or an enqueue may be lost.
///
/// [`SqliteStore::open`] keeps one connection, as SQLite allows one writer
/// at a time (a pool you pass to [`SqliteStore::from_pool`] keeps its own
/// size). Claims take the write lock with `BEGIN IMMEDIATE` and one
/// `UPDATE … RETURNING`.
///
/// A worker name ([`DeliveryStore::try_lock_worker`]) is held with an
/// exclusive lock on a file beside the database,
/// `<database>-worker-<hash of the name>.lock`, which the operating system
/// releases when the process exits or dies, so a restarted worker takes
/// its name back at once. The files stay, empty, one per name; the
/// directory must be writable, as WAL mode needs anyway. Every process
/// must open the database by the same path (SQLite's own, as
/// `PRAGMA database_list` gives it), on a local file system whose locks
/// work between processes, as SQLite's own locking needs. A database in
/// memory holds its names in the store, shared by its clones.
///
/// ```
/// use std::sync::Arc;
/// use titan_webhooks::store::SqliteStore;
/// use titan_webhooks::queue::SubscriptionRegistry;
/// use titan_webhooks::transport::Dispatcher;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("webhooks.db");
/// let store = SqliteStore::open(&path).await?;
/// let dispatcher = Dispatcher::builder(store, Arc::new(SubscriptionRegistry::new())).build()?;
/// # let _ = dispatcher;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Worker names, for a database in memory.
    names: LocalNames,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// The options [`SqliteStore::open`] uses for the file at `path`:
    /// created if missing, WAL mode, `synchronous = FULL`, foreign keys on,
    /// and a 5 second busy timeout. Change them and pass them to
    /// [`SqliteStore::open_with`].
    ///
    /// ```
    /// use sqlx::sqlite::SqliteSynchronous;
    /// use titan_webhooks::store::SqliteStore;
    ///
    /// let faster = SqliteStore::connect_options("webhooks.db").synchronous(SqliteSynchronous::Normal);
    /// # let _ = faster;
    /// ```
    #[must_use]
    pub fn connect_options(path: impl AsRef<Path>) -> SqliteConnectOptions {
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
    }

    /// Opens (creating it if needed) the store in the SQLite file at
    /// `path`, with [`SqliteStore::connect_options`], and brings its tables
    /// up to date.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the file cannot be opened or migrated.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(Self::connect_options(path)).await
    }

    /// Opens the store with your own options, and brings its tables up to
    /// date.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the database cannot be opened or migrated.
    pub async fn open_with(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(backend)?;
        Self::from_pool(pool).await
    }

    /// A store on a pool you configured, for example your application's,
    /// so that [`SqliteStore::enqueue_in_tx`] shares its transactions.
    /// Brings the store's tables up to date; they are all named
    /// `titan_webhooks_*`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the tables cannot be migrated.
    pub async fn from_pool(pool: SqlitePool) -> Result<Self, StoreError> {
        codec::migrate(MIGRATIONS, &pool).await?;
        Ok(Self {
            pool,
            names: LocalNames::default(),
        })
    }

    /// The pool the store uses.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let dir = tempfile::tempdir()?;
    /// let store = titan_webhooks::store::SqliteStore::open(dir.path().join("webhooks.db")).await?;
    /// let mut tx = store.pool().begin().await?;
    /// # tx.commit().await?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The webhooks kept in the same file as the queue, for a
    /// [`WebhookStore`](crate::webhooks::WebhookStore). Their tables were
    /// created when the store opened.
    ///
    /// ```
    /// use titan_webhooks::store::SqliteStore;
    /// use titan_webhooks::webhooks::{Keyring, SealingKey, WebhookStore};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let dir = tempfile::tempdir()?;
    /// let queue = SqliteStore::open(dir.path().join("webhooks.db")).await?;
    /// let webhooks = WebhookStore::builder(queue.webhooks(), Keyring::new(SealingKey::generate(1)?))
    ///     .open()
    ///     .await?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn webhooks(&self) -> SqliteWebhooks {
        SqliteWebhooks {
            pool: self.pool.clone(),
        }
    }

    /// Queues `prepared` inside your transaction on `connection`: the
    /// deliveries exist if and only if the transaction commits. Returns
    /// the webhooks that were not queued already. Call
    /// [`Dispatcher::wake`](crate::transport::Dispatcher::wake) after the
    /// commit for an immediate attempt; otherwise the next poll finds them.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use titan_webhooks::store::SqliteStore;
    /// use titan_webhooks::queue::SubscriptionRegistry;
    /// use titan_webhooks::transport::Dispatcher;
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let dir = tempfile::tempdir()?;
    /// let store = SqliteStore::open(dir.path().join("app.db")).await?;
    /// let dispatcher = Dispatcher::builder(store.clone(), Arc::new(SubscriptionRegistry::new())).build()?;
    ///
    /// let mut tx = store.pool().begin().await?;
    /// // ... your own writes on `tx` ...
    /// let prepared = dispatcher.prepare(&Envelope::new(TitanEvent::MessageReceived, "default", ())).await?;
    /// store.enqueue_in_tx(&mut tx, &prepared).await?;
    /// tx.commit().await?;
    /// dispatcher.wake();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if a statement fails; roll the transaction
    /// back then.
    pub async fn enqueue_in_tx(
        &self,
        connection: &mut SqliteConnection,
        prepared: &Prepared,
    ) -> Result<Vec<WebhookId>, StoreError> {
        insert(connection, &prepared.record, &prepared.webhooks).await
    }

    /// Begins a transaction that takes the write lock at once, so it never
    /// fails half-way on a lock another connection holds.
    async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)
    }
}

impl SqlStore for SqliteStore {
    type Db = Sqlite;

    // Foreign keys may be off on a pool you configured, so a purge deletes
    // attempts itself; SQLite writers take turns, so nothing reopens a
    // delivery between the two deletes.
    const DELETES_CASCADE: bool = false;

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Other processes on the same file poll; there is no one to tell.
    async fn announce(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        // The driver's own method: inherent methods take precedence.
        self.rows_affected()
    }
}

/// Held claims as one JSON array, `[[envelope id, webhook column, token],
/// ...]`, for `json_each`.
fn held_claims_json(held: &[HeldClaim]) -> String {
    serde_json::Value::from(
        held.iter()
            .map(|claim| {
                serde_json::json!([
                    claim.key.envelope_id,
                    codec::webhook_column(&claim.key.webhook_id),
                    claim.token
                ])
            })
            .collect::<Vec<_>>(),
    )
    .to_string()
}

fn webhook_columns_json(ids: &[WebhookId]) -> String {
    serde_json::Value::from(ids.iter().map(codec::webhook_column).collect::<Vec<_>>()).to_string()
}

async fn insert(
    connection: &mut SqliteConnection,
    envelope: &EnvelopeRecord,
    webhooks: &[WebhookId],
) -> Result<Vec<WebhookId>, StoreError> {
    if webhooks.is_empty() {
        return Ok(Vec::new());
    }
    let now = micros(SystemTime::now())?;
    sqlx::query(
        "INSERT INTO titan_webhooks_envelopes (id, event, session, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&envelope.id)
    .bind(&envelope.event)
    .bind(&envelope.session)
    .bind(&envelope.body[..])
    .bind(now)
    .execute(&mut *connection)
    .await
    .map_err(backend)?;
    let queued = sqlx::query(
        "INSERT INTO titan_webhooks_deliveries
             (envelope_id, webhook_id, state, next_attempt_at, created_at, updated_at)
         SELECT ?1, value, 'pending', ?2, ?2, ?2 FROM json_each(?3) WHERE true
         ON CONFLICT (envelope_id, webhook_id) DO NOTHING
         RETURNING envelope_id, webhook_id",
    )
    .bind(&envelope.id)
    .bind(now)
    .bind(webhook_columns_json(webhooks))
    .fetch_all(&mut *connection)
    .await
    .map_err(backend)?;
    queued
        .iter()
        .map(|row| codec::key(row).map(|key| key.webhook_id))
        .collect()
}

/// Stores many envelopes and queues their deliveries, in two statements
/// whatever the batch's size, as each is a round trip to sqlx's SQLite
/// thread. Returns per item the webhooks it newly queued, in the order of
/// `batch`; the caller's transaction makes it all or nothing.
async fn insert_many(
    connection: &mut SqliteConnection,
    batch: &[Prepared],
) -> Result<Vec<Vec<WebhookId>>, StoreError> {
    let wanted: Vec<&Prepared> = batch
        .iter()
        .filter(|item| !item.webhooks.is_empty())
        .collect();
    if wanted.is_empty() {
        return Ok(vec![Vec::new(); batch.len()]);
    }
    let now = micros(SystemTime::now())?;
    // `DO NOTHING` keeps an envelope's first copy, in the batch or stored.
    sqlx::QueryBuilder::<Sqlite>::new(
        "INSERT INTO titan_webhooks_envelopes (id, event, session, body, created_at) ",
    )
    .push_values(&wanted, |mut row, item| {
        row.push_bind(&item.record.id)
            .push_bind(&item.record.event)
            .push_bind(&item.record.session)
            .push_bind(&item.record.body[..])
            .push_bind(now);
    })
    .push(" ON CONFLICT (id) DO NOTHING")
    .build()
    .execute(&mut *connection)
    .await
    .map_err(backend)?;
    let pairs = serde_json::Value::from(
        wanted
            .iter()
            .flat_map(|item| {
                item.webhooks.iter().map(|webhook| {
                    serde_json::json!([item.record.id, codec::webhook_column(webhook)])
                })
            })
            .collect::<Vec<_>>(),
    )
    .to_string();
    let rows = sqlx::query(
        "INSERT INTO titan_webhooks_deliveries
             (envelope_id, webhook_id, state, next_attempt_at, created_at, updated_at)
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), 'pending', ?1, ?1, ?1
         FROM json_each(?2) WHERE true ORDER BY key
         ON CONFLICT (envelope_id, webhook_id) DO NOTHING
         RETURNING envelope_id, webhook_id",
    )
    .bind(now)
    .bind(pairs)
    .fetch_all(&mut *connection)
    .await
    .map_err(backend)?;
    codec::newly_queued(batch, &rows)
}

impl DeliveryStore for SqliteStore {
    async fn enqueue(
        &self,
        envelope: &EnvelopeRecord,
        webhooks: &[WebhookId],
    ) -> Result<Vec<WebhookId>, StoreError> {
        let mut tx = self.write().await?;
        let queued = insert(&mut tx, envelope, webhooks).await?;
        tx.commit().await.map_err(backend)?;
        Ok(queued)
    }

    /// One `BEGIN IMMEDIATE` transaction for the whole batch: an error
    /// drops the transaction, which rolls back whatever it had written.
    async fn enqueue_many(&self, batch: &[Prepared]) -> Result<Vec<Vec<WebhookId>>, StoreError> {
        if batch.iter().all(|item| item.webhooks.is_empty()) {
            return Ok(vec![Vec::new(); batch.len()]);
        }
        let mut tx = self.write().await?;
        let queued = insert_many(&mut tx, batch).await?;
        tx.commit().await.map_err(backend)?;
        Ok(queued)
    }

    async fn claim(&self, request: ClaimRequest<'_>) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let until = request.lease_until()?;
        let mut tx = self.write().await?;
        let rows = sqlx::query(
            "UPDATE titan_webhooks_deliveries
             SET state = 'in_flight', lease_owner = ?1, lease_until = ?2,
                 lease_token = lease_token + 1, updated_at = ?3
             WHERE id IN (
                 SELECT id FROM (
                     SELECT id, next_attempt_at, ROW_NUMBER() OVER (
                         PARTITION BY webhook_id ORDER BY next_attempt_at, id) AS nth
                     FROM (
                         SELECT id, webhook_id, next_attempt_at FROM titan_webhooks_deliveries
                         WHERE state IN ('pending', 'retry') AND next_attempt_at <= ?3
                           AND webhook_id NOT IN (SELECT value FROM json_each(?4))
                         ORDER BY next_attempt_at, id
                         LIMIT ?6))
                 WHERE nth <= ?7
                 ORDER BY next_attempt_at, id
                 LIMIT ?5)
             RETURNING envelope_id, webhook_id, attempts, lease_token, created_at,
                 (SELECT body FROM titan_webhooks_envelopes AS envelope
                  WHERE envelope.id = titan_webhooks_deliveries.envelope_id) AS body",
        )
        .bind(request.owner)
        .bind(micros(until)?)
        .bind(micros(request.now)?)
        .bind(webhook_columns_json(request.skip))
        .bind(codec::limit(request.limit))
        .bind(codec::limit(codec::candidates(request.limit)))
        .bind(codec::limit(request.per_webhook))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        rows.iter()
            .map(|row| codec::claimed(row, request.owner, until))
            .collect()
    }

    async fn renew_leases(
        &self,
        owner: &str,
        held: &[HeldClaim],
        until: SystemTime,
    ) -> Result<u64, StoreError> {
        if held.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE titan_webhooks_deliveries SET lease_until = ?2
             WHERE state = 'in_flight' AND lease_owner = ?1 AND id IN (
                 SELECT delivery.id FROM json_each(?3) AS claim
                 JOIN titan_webhooks_deliveries AS delivery
                   ON delivery.envelope_id = json_extract(claim.value, '$[0]')
                  AND delivery.webhook_id = json_extract(claim.value, '$[1]')
                  AND delivery.lease_token = json_extract(claim.value, '$[2]'))",
        )
        .bind(owner)
        .bind(micros(until)?)
        .bind(held_claims_json(held))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn complete(
        &self,
        delivery: &ClaimedDelivery,
        attempt: &DeliveryAttempt,
    ) -> Result<u64, StoreError> {
        let columns = AttemptColumns::new(attempt)?;
        let retry_at = match attempt.next {
            NextStep::RetryAt(at) => Some(micros(at)?),
            NextStep::Succeeded | NextStep::GaveUp | NextStep::Disabled => None,
        };
        let mut tx = self.write().await?;
        let delivery_id = release(
            &mut tx,
            delivery,
            DeliveryState::from(attempt.next),
            1,
            retry_at,
        )
        .await?;
        let insert = sqlx::query(
            "INSERT INTO titan_webhooks_attempts
                 (delivery_id, attempt, started_at, latency_us, status, failure,
                  response_body, response_truncated, location, remote_ip, next,
                  next_attempt_at, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             RETURNING id",
        )
        .bind(delivery_id);
        let logged = codec::bind_attempt(insert, &columns)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let sequence = codec::unsigned(&logged, "id")?;
        tx.commit().await.map_err(backend)?;
        Ok(sequence)
    }

    async fn cancel(&self, delivery: &ClaimedDelivery) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        release(&mut tx, delivery, DeliveryState::Cancelled, 0, None).await?;
        tx.commit().await.map_err(backend)
    }

    async fn release_leases(&self, owner: &str) -> Result<Vec<DeliveryKey>, StoreError> {
        Shared(self).release_leases(owner).await
    }

    async fn recover_expired(&self, now: SystemTime) -> Result<u64, StoreError> {
        Shared(self).recover_expired(now).await
    }

    async fn queue_metrics(&self, now: SystemTime) -> Result<Option<QueueMetrics>, StoreError> {
        DeliveryAdmin::metrics(self, now).await.map(Some)
    }

    async fn next_due(&self) -> Result<Option<SystemTime>, StoreError> {
        Shared(self).next_due().await
    }

    async fn open_deliveries(&self) -> Result<Vec<OpenDelivery>, StoreError> {
        Shared(self).open_deliveries().await
    }

    /// A lock file beside the database; see [`SqliteStore`].
    async fn try_lock_worker(&self, name: &WorkerName) -> Result<Option<WorkerLock>, StoreError> {
        // Empty for a database in memory or a temporary one.
        let file: Option<String> =
            sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?
                .flatten();
        match file.filter(|file| !file.is_empty()) {
            Some(database) => file_lock::try_lock(Path::new(&database), name),
            None => Ok(self.names.try_lock(name)),
        }
    }
}

impl DeliveryAdmin for SqliteStore {
    async fn list_deliveries(
        &self,
        query: &DeliveryQuery,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        Shared(self).list_deliveries(query).await
    }

    async fn list_attempts(
        &self,
        query: &DeliveryQuery,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        Shared(self).list_attempts(query).await
    }

    async fn redeliver(&self, key: &DeliveryKey, now: SystemTime) -> Result<bool, StoreError> {
        Shared(self).redeliver(key, now).await
    }

    async fn redeliver_exhausted(
        &self,
        finished: Range<SystemTime>,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        Shared(self).redeliver_exhausted(finished, now).await
    }

    async fn redeliver_webhook(
        &self,
        webhook: &WebhookId,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        Shared(self).redeliver_webhook(webhook, now).await
    }

    async fn cancel_webhook(
        &self,
        webhook: &WebhookId,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        Shared(self).cancel_webhook(webhook, now).await
    }

    async fn purge_finished(
        &self,
        states: &[FinishedState],
        finished_before: SystemTime,
    ) -> Result<u64, StoreError> {
        Shared(self).purge_finished(states, finished_before).await
    }

    async fn metrics(&self, now: SystemTime) -> Result<QueueMetrics, StoreError> {
        Shared(self).metrics(now).await
    }
}

/// Releases the claim on `delivery`, moving it to `state` with `attempts`
/// more attempts and, for a retry, the new due time; returns the row's id.
async fn release(
    tx: &mut sqlx::SqliteConnection,
    delivery: &ClaimedDelivery,
    state: DeliveryState,
    attempts: i64,
    retry_at: Option<i64>,
) -> Result<i64, StoreError> {
    let token = codec::lease_token(delivery)?;
    let held: Option<i64> = sqlx::query_scalar(
        "UPDATE titan_webhooks_deliveries
         SET state = ?1, attempts = attempts + ?2,
             next_attempt_at = COALESCE(?3, next_attempt_at),
             lease_owner = NULL, lease_until = NULL, updated_at = ?4
         WHERE envelope_id = ?5 AND webhook_id = ?6 AND lease_token = ?7
           AND state = 'in_flight'
         RETURNING id",
    )
    .bind(state.as_str())
    .bind(attempts)
    .bind(retry_at)
    .bind(micros(SystemTime::now())?)
    .bind(&delivery.key.envelope_id)
    .bind(codec::webhook_column(&delivery.key.webhook_id))
    .bind(token)
    .fetch_optional(&mut *tx)
    .await
    .map_err(backend)?;
    held.ok_or(StoreError::LeaseLost)
}

/// Webhooks in a SQLite file, for a
/// [`WebhookStore`](crate::webhooks::WebhookStore): usually the file of a
/// [`SqliteStore`], from [`SqliteStore::webhooks`], so a webhook and its
/// deliveries live in one database.
///
/// The table `titan_webhooks_webhooks` keeps a webhook's fields in plain
/// columns and its signing keys and custom headers only sealed, in
/// `secret_sealed`, `previous_secret_sealed` and `headers_sealed`. Every
/// write takes the next value of one revision counter in its transaction,
/// so processes on the same file learn of each other's changes from
/// [`WebhookBackend::changes_since`]; a deleted webhook stays as a
/// tombstone with its sealed columns wiped. There is no notification
/// between processes: their caches compare the revision.
///
/// ```
/// use titan_webhooks::store::SqliteStore;
/// use titan_webhooks::subscription::CreateWebhook;
/// use titan_webhooks::webhooks::{Flavour, Keyring, Owner, SealingKey, WebhookStore};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let dir = tempfile::tempdir()?;
/// let queue = SqliteStore::open(dir.path().join("webhooks.db")).await?;
/// let store = WebhookStore::builder(queue.webhooks(), Keyring::new(SealingKey::generate(1)?))
///     .open()
///     .await?;
/// let owner = Owner::new("acct_1")?;
/// let created = store.create(&owner, &Flavour::titan(), CreateWebhook::new("https://example.com/hook")).await?;
/// assert!(store.get(&owner, created.webhook().id()).await?.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct SqliteWebhooks {
    pool: SqlitePool,
}

impl fmt::Debug for SqliteWebhooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteWebhooks")
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl SqliteWebhooks {
    /// Webhooks on a pool you configured, without a queue. Brings the
    /// tables up to date, the queue's included, as
    /// [`SqliteStore::from_pool`] does; they are all named
    /// `titan_webhooks_*`.
    ///
    /// ```
    /// use titan_webhooks::store::{SqliteStore, SqliteWebhooks};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let dir = tempfile::tempdir()?;
    /// let options = SqliteStore::connect_options(dir.path().join("app.db"));
    /// let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
    /// let webhooks = SqliteWebhooks::from_pool(pool).await?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the tables cannot be migrated.
    pub async fn from_pool(pool: SqlitePool) -> Result<Self, StoreError> {
        codec::migrate(MIGRATIONS, &pool).await?;
        Ok(Self { pool })
    }

    /// The pool the webhooks are kept through.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let dir = tempfile::tempdir()?;
    /// let queue = titan_webhooks::store::SqliteStore::open(dir.path().join("webhooks.db")).await?;
    /// let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM titan_webhooks_webhooks")
    ///     .fetch_one(queue.webhooks().pool())
    ///     .await?;
    /// assert_eq!(count, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

impl WebhookSql for SqliteWebhooks {
    type Db = Sqlite;

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Sqlite>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)
    }

    /// Other processes on the same file compare the revision; there is no
    /// one to tell.
    async fn announce_change(
        &self,
        _connection: &mut SqliteConnection,
        _revision: i64,
    ) -> Result<(), StoreError> {
        Ok(())
    }
}

impl WebhookBackend for SqliteWebhooks {
    async fn insert(&self, row: WebhookRow) -> Result<WebhookRow, StoreError> {
        SqlWebhooks(self).insert(row).await
    }

    async fn fetch(&self, id: u64) -> Result<Option<WebhookRow>, StoreError> {
        SqlWebhooks(self).fetch(id).await
    }

    async fn list(
        &self,
        owner: &str,
        filter: &RowFilter<'_>,
    ) -> Result<Vec<WebhookRow>, StoreError> {
        SqlWebhooks(self).list(owner, filter).await
    }

    async fn replace(&self, row: &WebhookRow) -> Result<Option<WebhookRow>, StoreError> {
        SqlWebhooks(self).replace(row).await
    }

    async fn delete(&self, owner: &str, id: u64) -> Result<bool, StoreError> {
        SqlWebhooks(self).delete(owner, id).await
    }

    async fn update_health(
        &self,
        id: u64,
        update: HealthUpdate,
    ) -> Result<Option<WebhookRow>, StoreError> {
        SqlWebhooks(self).update_health(id, update).await
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        SqlWebhooks(self).revision().await
    }

    async fn changes_since(&self, revision: u64) -> Result<Vec<RowChange>, StoreError> {
        SqlWebhooks(self).changes_since(revision).await
    }

    async fn purge_expired_secrets(&self, now: SystemTime) -> Result<u64, StoreError> {
        SqlWebhooks(self).purge_expired_secrets(now).await
    }

    async fn key_checks(&self) -> Result<Vec<(u32, Vec<u8>)>, StoreError> {
        SqlWebhooks(self).key_checks().await
    }

    async fn add_key_check(&self, key_id: u32, sealed: Vec<u8>) -> Result<(), StoreError> {
        SqlWebhooks(self).add_key_check(key_id, &sealed).await
    }
}
