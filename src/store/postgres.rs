//! The Postgres delivery store.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use sqlx::Connection as _;
use sqlx::postgres::{PgConnection, PgListener, PgPool, PgPoolOptions, Postgres};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::codec::{self, AttemptColumns, backend, micros};
use super::shared::{RowsAffected, Shared, SqlStore};
use super::webhooks::{SqlWebhooks, WebhookSql};
use crate::queue::{
    CheckFuture, ClaimRequest, ClaimedDelivery, DeliveryAdmin, DeliveryAttempt, DeliveryKey,
    DeliveryQuery, DeliveryRecord, DeliveryState, DeliveryStore, EnvelopeRecord, FinishedState,
    HeldClaim, HeldName, OpenDelivery, Prepared, QueueMetrics, StoreError, WorkerLock, WorkerName,
};
use crate::retry::NextStep;
use crate::subscription::WebhookId;
use crate::webhooks::{HealthUpdate, RowChange, RowFilter, WebhookBackend, WebhookRow};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "deliveries",
        include_str!("migrations/postgres/0001_deliveries.sql"),
    ),
    (
        2,
        "webhooks",
        include_str!("migrations/postgres/0002_webhooks.sql"),
    ),
];

/// The channel on which the store announces queued work with `NOTIFY`, so
/// idle dispatchers in other processes claim it at once.
pub const NOTIFY_CHANNEL: &str = "titan_webhooks_deliveries";

/// The channel on which [`PostgresWebhooks`] announces every change to a
/// webhook with `NOTIFY`, when its transaction commits, so that other
/// processes' caches look at once. The payload is the change's revision.
pub const WEBHOOK_CHANGES_CHANNEL: &str = "titan_webhooks_webhook_changes";

/// How many connections [`PostgresStore::connect`] opens at most, one of
/// them held by the `LISTEN` task.
const DEFAULT_POOL_SIZE: u32 = 10;
/// How long the listener waits before listening again after it failed.
const LISTEN_RETRY: Duration = Duration::from_secs(1);

/// Takes a worker name's session advisory lock, keyed by Postgres's own
/// stable 64-bit hash of the name.
const LOCK_WORKER: &str =
    "SELECT pg_try_advisory_lock(hashtextextended('titan_webhooks.worker:' || $1, 0))";
/// Releases it.
const UNLOCK_WORKER: &str =
    "SELECT pg_advisory_unlock(hashtextextended('titan_webhooks.worker:' || $1, 0))";
/// Makes the server notice a worker whose machine vanished without
/// closing its lock connection, and free its name, in about 25 seconds
/// rather than the system's default of hours: the first keepalive probe
/// after 10 idle seconds, then every 5, 3 unanswered. A dead process's
/// connection is closed by its operating system and freed at once.
const LOCK_KEEPALIVES: &str =
    "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3";

/// A durable delivery store in Postgres, shared by sender processes on
/// many machines.
///
/// - Dispatchers claim due deliveries with `FOR UPDATE SKIP LOCKED`, so
///   two never claim the same delivery while its lease holds, and renew
///   their leases while attempts run.
/// - Leases are times from the clock of the machine that claims, compared
///   with the clock of the machine that sweeps lapsed leases. Keep the
///   machines' clocks in step (NTP) to well within the lease margin,
///   [`DEFAULT_LEASE_MARGIN`](crate::transport::DEFAULT_LEASE_MARGIN) by
///   default; a sweeper whose clock runs ahead by more could hand out a
///   delivery whose attempt is still running.
/// - Enqueueing sends a `NOTIFY` on [`NOTIFY_CHANNEL`] in the same
///   transaction; every store listens and wakes its idle dispatchers when
///   the transaction commits. The dispatcher's poll is the backstop for a
///   notification lost while the listener reconnects.
/// - The attempt and the delivery's next state are written in one
///   statement that also releases the lease.
/// - A worker name ([`DeliveryStore::try_lock_worker`]) is held with a
///   session advisory lock, `pg_try_advisory_lock` on
///   `hashtextextended('titan_webhooks.worker:' || name, 0)` (Postgres 11
///   or later), on a connection the lock keeps outside the pool. The
///   server frees it when that connection closes: at once when the process
///   dies, and about 25 seconds after its machine vanished (the lock's
///   connection sets TCP keepalives). Session locks need a direct
///   connection or a pooler in session mode, not transaction mode. Use
///   other keys for advisory locks of your own, though a clash could only
///   refuse a name.
///
/// Create it inside a tokio runtime: it starts a task that listens for
/// notifications until the last clone of the store, and of the
/// [`PostgresWebhooks`] it hands out, is dropped.
///
/// ```no_run
/// use std::sync::Arc;
/// use titan_webhooks::store::PostgresStore;
/// use titan_webhooks::queue::SubscriptionRegistry;
/// use titan_webhooks::transport::Dispatcher;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = PostgresStore::connect("postgres://webhooks@db.internal/app").await?;
/// let dispatcher = Dispatcher::builder(store, Arc::new(SubscriptionRegistry::new())).build()?;
/// # let _ = dispatcher;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    queued: Arc<Notify>,
    webhook_changes: Arc<AtomicU64>,
    listener: Arc<Listening>,
}

/// Stops the listening task with the last clone of the store or of the
/// webhooks that share it.
struct Listening(JoinHandle<()>);

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pool's options hold the password, so they are not shown.
        f.debug_struct("PostgresStore")
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` with a pool of up to 10
    /// connections, and brings the store's tables up to date.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the database cannot be reached or
    /// migrated. The message never quotes the URL.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(DEFAULT_POOL_SIZE)
            .connect(url)
            .await
            .map_err(backend)?;
        Self::from_pool(pool).await
    }

    /// A store on a pool you configured, for example your application's,
    /// so that [`PostgresStore::enqueue_in_tx`] shares its transactions.
    /// Brings the store's tables up to date, all named `titan_webhooks_*`;
    /// concurrent migrations from several processes are serialized by an
    /// advisory lock. One connection of the pool is kept for `LISTEN`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the tables cannot be migrated or the
    /// listener cannot connect.
    pub async fn from_pool(pool: PgPool) -> Result<Self, StoreError> {
        codec::migrate(MIGRATIONS, &pool).await?;
        let woken = Woken::default();
        let listener = Listening::start(
            &pool,
            &[NOTIFY_CHANNEL, WEBHOOK_CHANGES_CHANNEL],
            woken.clone(),
        )
        .await?;
        Ok(Self {
            pool,
            queued: woken.queued,
            webhook_changes: woken.webhook_changes,
            listener: Arc::new(listener),
        })
    }

    /// The webhooks kept in the same database as the queue, for a
    /// [`WebhookStore`](crate::webhooks::WebhookStore). Their tables were
    /// created when the store opened, and they share its listener, so
    /// they hold no connection of their own.
    ///
    /// ```no_run
    /// use titan_webhooks::store::PostgresStore;
    /// use titan_webhooks::webhooks::{Keyring, SealingKey, WebhookStore};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = PostgresStore::connect("postgres://webhooks@db.internal/app").await?;
    /// let key = SealingKey::from_env("TITAN_WEBHOOKS_SEALING_KEY")?;
    /// let webhooks = WebhookStore::builder(queue.webhooks(), Keyring::new(key)).open().await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn webhooks(&self) -> PostgresWebhooks {
        PostgresWebhooks {
            pool: self.pool.clone(),
            changes: Arc::clone(&self.webhook_changes),
            _listener: Arc::clone(&self.listener),
        }
    }

    /// The pool the store uses.
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Queues `prepared` inside your transaction on `connection`: the
    /// deliveries exist if and only if the transaction commits, and idle
    /// dispatchers are notified when it does. Returns the webhooks that
    /// were not queued already.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # use titan_webhooks::store::PostgresStore;
    /// # use titan_webhooks::queue::SubscriptionRegistry;
    /// # use titan_webhooks::transport::Dispatcher;
    /// # use titan_webhooks::{Envelope, TitanEvent};
    /// # async fn run(store: PostgresStore, dispatcher: Dispatcher<PostgresStore>) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut tx = store.pool().begin().await?;
    /// sqlx::query("UPDATE orders SET paid = true WHERE id = $1").bind(7_i64).execute(&mut *tx).await?;
    /// let prepared = dispatcher.prepare(&Envelope::new(TitanEvent::MessageReceived, "default", ())).await?;
    /// store.enqueue_in_tx(&mut tx, &prepared).await?;
    /// tx.commit().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the statement fails; roll the
    /// transaction back then.
    pub async fn enqueue_in_tx(
        &self,
        connection: &mut PgConnection,
        prepared: &Prepared,
    ) -> Result<Vec<WebhookId>, StoreError> {
        insert(connection, &prepared.record, &prepared.webhooks).await
    }
}

impl SqlStore for PostgresStore {
    type Db = Postgres;

    // Postgres always enforces the attempts' `ON DELETE CASCADE`.
    const DELETES_CASCADE: bool = true;

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn announce(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(NOTIFY_CHANNEL)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        // The driver's own method: inherent methods take precedence.
        self.rows_affected()
    }
}

/// What the listening task tells the rest of the process.
#[derive(Clone, Default)]
struct Woken {
    /// Wakes idle dispatchers: deliveries were queued.
    queued: Arc<Notify>,
    /// Counts changes to webhooks, for their caches to compare.
    webhook_changes: Arc<AtomicU64>,
}

impl Woken {
    /// After the listener lost its connection: notifications sent meanwhile
    /// are lost, so everyone looks.
    fn everyone(&self) {
        self.queued.notify_waiters();
        self.webhook_changes.fetch_add(1, Ordering::AcqRel);
    }
}

impl Listening {
    /// Listens on `channels` with a connection of `pool`, in a task that
    /// ends when the returned value is dropped.
    async fn start(pool: &PgPool, channels: &[&str], woken: Woken) -> Result<Self, StoreError> {
        let mut listener = PgListener::connect_with(pool).await.map_err(backend)?;
        listener
            .listen_all(channels.iter().copied())
            .await
            .map_err(backend)?;
        Ok(Self(tokio::spawn(listen(listener, woken))))
    }
}

/// Wakes idle dispatchers on every notification of queued work, counts
/// every change to a webhook, and does both after the listener
/// reconnected.
async fn listen(mut listener: PgListener, woken: Woken) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) if notification.channel() == WEBHOOK_CHANGES_CHANNEL => {
                woken.webhook_changes.fetch_add(1, Ordering::AcqRel);
            }
            Ok(Some(_)) => woken.queued.notify_waiters(),
            Ok(None) => woken.everyone(),
            Err(sqlx::Error::PoolClosed) => return,
            Err(err) => {
                tracing::warn!(error = %backend(err), "listening for notifications failed");
                tokio::time::sleep(LISTEN_RETRY).await;
                woken.everyone();
            }
        }
    }
}

/// Stores the envelope once, queues a delivery per new webhook and
/// notifies, in one statement.
async fn insert(
    connection: &mut PgConnection,
    envelope: &EnvelopeRecord,
    webhooks: &[WebhookId],
) -> Result<Vec<WebhookId>, StoreError> {
    if webhooks.is_empty() {
        return Ok(Vec::new());
    }
    let webhooks: Vec<String> = webhooks.iter().map(codec::webhook_column).collect();
    // The no-op update locks an existing envelope row: a purge deleting
    // it at the same time waits for this transaction, then fails on the
    // foreign key instead of deleting the envelope under new deliveries.
    let rows = sqlx::query(
        "WITH envelope AS (
             INSERT INTO titan_webhooks_envelopes (id, event, session, body, created_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET event = titan_webhooks_envelopes.event
             RETURNING id
         ), queued AS (
             INSERT INTO titan_webhooks_deliveries
                 (envelope_id, webhook_id, state, next_attempt_at, created_at, updated_at)
             SELECT envelope.id, webhook, 'pending', $5, $5, $5
             FROM envelope, UNNEST($6::TEXT[]) AS webhook
             ON CONFLICT (envelope_id, webhook_id) DO NOTHING
             RETURNING envelope_id, webhook_id
         )
         SELECT queued.envelope_id, queued.webhook_id
         FROM queued, LATERAL (SELECT pg_notify($7, '')) AS notified",
    )
    .bind(&envelope.id)
    .bind(&envelope.event)
    .bind(&envelope.session)
    .bind(&envelope.body[..])
    .bind(micros(SystemTime::now())?)
    .bind(&webhooks)
    .bind(NOTIFY_CHANNEL)
    .fetch_all(&mut *connection)
    .await
    .map_err(backend)?;
    rows.iter()
        .map(|row| codec::key(row).map(|key| key.webhook_id))
        .collect()
}

/// Stores many envelopes and queues their deliveries in one statement,
/// so in one transaction: all or nothing. Returns per item the webhooks it
/// newly queued, in the order of `batch`.
async fn insert_many(
    connection: &mut PgConnection,
    batch: &[Prepared],
) -> Result<Vec<Vec<WebhookId>>, StoreError> {
    let mut ids = Vec::with_capacity(batch.len());
    let mut events = Vec::with_capacity(batch.len());
    let mut sessions = Vec::with_capacity(batch.len());
    let mut bodies = Vec::with_capacity(batch.len());
    let mut pair_envelopes = Vec::new();
    let mut pair_webhooks = Vec::new();
    for item in batch.iter().filter(|item| !item.webhooks.is_empty()) {
        ids.push(item.record.id.as_str());
        events.push(item.record.event.as_str());
        sessions.push(item.record.session.as_str());
        bodies.push(&item.record.body[..]);
        for webhook in &item.webhooks {
            pair_envelopes.push(item.record.id.as_str());
            pair_webhooks.push(codec::webhook_column(webhook));
        }
    }
    if pair_webhooks.is_empty() {
        return Ok(vec![Vec::new(); batch.len()]);
    }
    // As in `insert`: the no-op update locks an existing envelope against
    // a concurrent purge. `DISTINCT ON` keeps an envelope's first copy, as
    // one `ON CONFLICT DO UPDATE` may not touch a row twice; deliveries
    // are inserted in the batch's order.
    let rows = sqlx::query(
        "WITH input AS (
             SELECT DISTINCT ON (id) id, event, session, body
             FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::BYTEA[]) WITH ORDINALITY
                 AS i (id, event, session, body, n)
             ORDER BY id, n
         ), envelope AS (
             INSERT INTO titan_webhooks_envelopes (id, event, session, body, created_at)
             SELECT id, event, session, body, $5 FROM input
             ON CONFLICT (id) DO UPDATE SET event = titan_webhooks_envelopes.event
             RETURNING id
         ), queued AS (
             INSERT INTO titan_webhooks_deliveries
                 (envelope_id, webhook_id, state, next_attempt_at, created_at, updated_at)
             SELECT pair.envelope_id, pair.webhook_id, 'pending', $5, $5, $5
             FROM UNNEST($6::TEXT[], $7::TEXT[]) WITH ORDINALITY AS pair (envelope_id, webhook_id, n)
             JOIN envelope ON envelope.id = pair.envelope_id
             ORDER BY pair.n
             ON CONFLICT (envelope_id, webhook_id) DO NOTHING
             RETURNING envelope_id, webhook_id
         )
         SELECT queued.envelope_id, queued.webhook_id
         FROM queued, LATERAL (SELECT pg_notify($8, '')) AS notified",
    )
    .bind(&ids)
    .bind(&events)
    .bind(&sessions)
    .bind(&bodies)
    .bind(micros(SystemTime::now())?)
    .bind(&pair_envelopes)
    .bind(&pair_webhooks)
    .bind(NOTIFY_CHANNEL)
    .fetch_all(&mut *connection)
    .await
    .map_err(backend)?;
    codec::newly_queued(batch, &rows)
}

impl DeliveryStore for PostgresStore {
    async fn enqueue(
        &self,
        envelope: &EnvelopeRecord,
        webhooks: &[WebhookId],
    ) -> Result<Vec<WebhookId>, StoreError> {
        let mut connection = self.pool.acquire().await.map_err(backend)?;
        insert(&mut connection, envelope, webhooks).await
    }

    /// One statement, so one transaction and one commit for the batch.
    async fn enqueue_many(&self, batch: &[Prepared]) -> Result<Vec<Vec<WebhookId>>, StoreError> {
        let mut connection = self.pool.acquire().await.map_err(backend)?;
        insert_many(&mut connection, batch).await
    }

    async fn claim(&self, request: ClaimRequest<'_>) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let until = request.lease_until()?;
        let skip: Vec<String> = request.skip.iter().map(codec::webhook_column).collect();
        let rows = sqlx::query(
            "WITH candidates AS (
                 SELECT id, webhook_id, next_attempt_at FROM titan_webhooks_deliveries
                 WHERE state IN ('pending', 'retry') AND next_attempt_at <= $3
                   AND NOT (webhook_id = ANY($4))
                 ORDER BY next_attempt_at, id
                 LIMIT $6
                 FOR UPDATE SKIP LOCKED
             ), picked AS (
                 SELECT id FROM (
                     SELECT id, next_attempt_at, ROW_NUMBER() OVER (
                         PARTITION BY webhook_id ORDER BY next_attempt_at, id) AS nth
                     FROM candidates) AS ranked
                 WHERE nth <= $7
                 ORDER BY next_attempt_at, id
                 LIMIT $5
             )
             UPDATE titan_webhooks_deliveries AS d
             SET state = 'in_flight', lease_owner = $1, lease_until = $2,
                 lease_token = d.lease_token + 1, updated_at = $3
             FROM picked, titan_webhooks_envelopes AS e
             WHERE d.id = picked.id AND e.id = d.envelope_id
             RETURNING d.envelope_id, d.webhook_id, d.attempts, d.lease_token, d.created_at, e.body",
        )
        .bind(request.owner)
        .bind(micros(until)?)
        .bind(micros(request.now)?)
        .bind(&skip)
        .bind(codec::limit(request.limit))
        .bind(codec::limit(codec::candidates(request.limit)))
        .bind(codec::limit(request.per_webhook))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
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
        let envelopes: Vec<&str> = held
            .iter()
            .map(|claim| claim.key.envelope_id.as_str())
            .collect();
        let webhooks: Vec<String> = held
            .iter()
            .map(|claim| codec::webhook_column(&claim.key.webhook_id))
            .collect();
        // A token beyond i64 was never handed out, so it matches nothing.
        let tokens: Vec<i64> = held
            .iter()
            .map(|claim| i64::try_from(claim.token).unwrap_or(-1))
            .collect();
        let done = sqlx::query(
            "UPDATE titan_webhooks_deliveries AS d SET lease_until = $2
             FROM unnest($3::text[], $4::text[], $5::bigint[]) AS claim(envelope_id, webhook_id, token)
             WHERE d.envelope_id = claim.envelope_id AND d.webhook_id = claim.webhook_id
               AND d.lease_token = claim.token AND d.state = 'in_flight' AND d.lease_owner = $1",
        )
        .bind(owner)
        .bind(micros(until)?)
        .bind(&envelopes)
        .bind(&webhooks)
        .bind(&tokens)
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
        let retry_at = match attempt.next {
            NextStep::RetryAt(at) => Some(micros(at)?),
            NextStep::Succeeded | NextStep::GaveUp | NextStep::Disabled => None,
        };
        let token = codec::lease_token(delivery)?;
        let columns = AttemptColumns::new(attempt)?;
        let released = sqlx::query(
            "WITH released AS (
                 UPDATE titan_webhooks_deliveries
                 SET state = $1, attempts = attempts + 1,
                     next_attempt_at = COALESCE($2, next_attempt_at),
                     lease_owner = NULL, lease_until = NULL, updated_at = $3
                 WHERE envelope_id = $4 AND webhook_id = $5 AND lease_token = $6
                   AND state = 'in_flight'
                 RETURNING id
             )
             INSERT INTO titan_webhooks_attempts
                 (delivery_id, attempt, started_at, latency_us, status, failure,
                  response_body, response_truncated, location, remote_ip, next,
                  next_attempt_at, detail)
             SELECT released.id, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18
             FROM released
             RETURNING id",
        )
        .bind(DeliveryState::from(attempt.next).as_str())
        .bind(retry_at)
        .bind(micros(SystemTime::now())?)
        .bind(&delivery.key.envelope_id)
        .bind(codec::webhook_column(&delivery.key.webhook_id))
        .bind(token);
        let logged = codec::bind_attempt(released, &columns)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .ok_or(StoreError::LeaseLost)?;
        codec::unsigned(&logged, "id")
    }

    async fn cancel(&self, delivery: &ClaimedDelivery) -> Result<(), StoreError> {
        let token = codec::lease_token(delivery)?;
        let done = sqlx::query(
            "UPDATE titan_webhooks_deliveries
             SET state = 'cancelled', lease_owner = NULL, lease_until = NULL, updated_at = $1
             WHERE envelope_id = $2 AND webhook_id = $3 AND lease_token = $4
               AND state = 'in_flight'",
        )
        .bind(micros(SystemTime::now())?)
        .bind(&delivery.key.envelope_id)
        .bind(codec::webhook_column(&delivery.key.webhook_id))
        .bind(token)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::LeaseLost);
        }
        Ok(())
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

    fn work_queued(&self) -> impl Future<Output = ()> + Send + '_ {
        self.queued.notified()
    }

    /// A session advisory lock on a connection of its own; see
    /// [`PostgresStore`].
    async fn try_lock_worker(&self, name: &WorkerName) -> Result<Option<WorkerLock>, StoreError> {
        let mut connection = self.pool.acquire().await.map_err(backend)?.detach();
        sqlx::raw_sql(LOCK_KEEPALIVES)
            .execute(&mut connection)
            .await
            .map_err(backend)?;
        let locked: bool = sqlx::query_scalar(LOCK_WORKER)
            .bind(name.as_str())
            .fetch_one(&mut connection)
            .await
            .map_err(backend)?;
        if !locked {
            // The name is another session's; this one holds nothing.
            let _ = connection.close().await;
            return Ok(None);
        }
        Ok(Some(WorkerLock::checked(
            name.clone(),
            LockConnection {
                connection,
                name: name.clone(),
            },
        )))
    }
}

/// The connection whose session holds a worker name's advisory lock.
/// Dropping it closes the connection, and the server frees the lock.
struct LockConnection {
    connection: PgConnection,
    name: WorkerName,
}

impl HeldName for LockConnection {
    /// A session lock lasts as long as its session: an answer on the same
    /// connection proves it is held.
    fn check(&mut self) -> CheckFuture<'_> {
        Box::pin(async move { self.connection.ping().await.map_err(backend) })
    }

    /// Unlocks, so the name is free when this returns, then closes the
    /// session; closing alone frees it only once the server has noticed.
    fn release(self: Box<Self>) -> CheckFuture<'static> {
        Box::pin(async move {
            let Self {
                mut connection,
                name,
            } = *self;
            sqlx::query(UNLOCK_WORKER)
                .bind(name.as_str())
                .execute(&mut connection)
                .await
                .map_err(backend)?;
            connection.close().await.map_err(backend)
        })
    }
}

impl DeliveryAdmin for PostgresStore {
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

/// Webhooks in Postgres, for a
/// [`WebhookStore`](crate::webhooks::WebhookStore) shared by sender
/// processes on many machines: usually in the database of a
/// [`PostgresStore`], from [`PostgresStore::webhooks`], so a webhook and
/// its deliveries live in one database.
///
/// - The table `titan_webhooks_webhooks` keeps a webhook's fields in plain
///   columns and its signing keys and custom headers only sealed, in
///   `secret_sealed`, `previous_secret_sealed` and `headers_sealed`.
/// - Every write runs in one transaction that first takes the next value of
///   a revision counter, whose row lock makes revisions commit in order:
///   a process that read revision `r` learns every later change from
///   [`WebhookBackend::changes_since`]. A deleted webhook stays as a
///   tombstone with its sealed columns wiped.
/// - Every write also sends a `NOTIFY` on [`WEBHOOK_CHANGES_CHANNEL`] when
///   it commits. A listening task counts them in
///   [`WebhookBackend::notifications`], and counts once more after it
///   reconnects, so caches in other processes look at once instead of at
///   their next poll. The task ends with the last clone.
///
/// Create it inside a tokio runtime.
///
/// ```no_run
/// use titan_webhooks::store::PostgresStore;
/// use titan_webhooks::subscription::CreateWebhook;
/// use titan_webhooks::webhooks::{Flavour, Keyring, Owner, SealingKey, WebhookStore};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let queue = PostgresStore::connect("postgres://webhooks@db.internal/app").await?;
/// let key = SealingKey::from_env("TITAN_WEBHOOKS_SEALING_KEY")?;
/// let store = WebhookStore::builder(queue.webhooks(), Keyring::new(key)).open().await?;
/// let owner = Owner::new("acct_1")?;
/// let created = store.create(&owner, &Flavour::titan(), CreateWebhook::new("https://example.com/hook")).await?;
/// println!("shown once: {}", created.hmac_key().expose());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresWebhooks {
    pool: PgPool,
    changes: Arc<AtomicU64>,
    _listener: Arc<Listening>,
}

impl fmt::Debug for PostgresWebhooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pool's options hold the password, so they are not shown.
        f.debug_struct("PostgresWebhooks")
            .field("connections", &self.pool.size())
            .field("notifications", &self.changes.load(Ordering::Acquire))
            .finish_non_exhaustive()
    }
}

impl PostgresWebhooks {
    /// Webhooks on a pool you configured, without a queue. Brings the
    /// tables up to date, the queue's included, as
    /// [`PostgresStore::from_pool`] does, and keeps one connection of the
    /// pool for `LISTEN`.
    ///
    /// ```no_run
    /// use titan_webhooks::store::PostgresWebhooks;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sqlx::postgres::PgPoolOptions::new()
    ///     .max_connections(5)
    ///     .connect("postgres://webhooks@db.internal/app")
    ///     .await?;
    /// let webhooks = PostgresWebhooks::from_pool(pool).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the tables cannot be migrated or the
    /// listener cannot connect.
    pub async fn from_pool(pool: PgPool) -> Result<Self, StoreError> {
        codec::migrate(MIGRATIONS, &pool).await?;
        let woken = Woken::default();
        let listener = Listening::start(&pool, &[WEBHOOK_CHANGES_CHANNEL], woken.clone()).await?;
        Ok(Self {
            pool,
            changes: woken.webhook_changes,
            _listener: Arc::new(listener),
        })
    }

    /// The pool the webhooks are kept through.
    ///
    /// ```no_run
    /// # async fn run(queue: titan_webhooks::store::PostgresStore) -> Result<(), sqlx::Error> {
    /// let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM titan_webhooks_webhooks WHERE NOT deleted")
    ///     .fetch_one(queue.webhooks().pool())
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl WebhookSql for PostgresWebhooks {
    type Db = Postgres;

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(backend)
    }

    async fn announce_change(
        &self,
        connection: &mut PgConnection,
        revision: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(WEBHOOK_CHANGES_CHANNEL)
            .bind(revision.to_string())
            .execute(connection)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

impl WebhookBackend for PostgresWebhooks {
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

    fn notifications(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }
}
