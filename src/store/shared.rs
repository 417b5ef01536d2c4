//! The statements both SQL stores run unchanged: the lease upkeep and
//! queue reads of [`DeliveryStore`] and all of [`DeliveryAdmin`]. They use
//! `$n` parameters and `CAST`, which SQLite and Postgres both read, so each
//! is written once here, generic over the database. A store supplies its
//! pool and its way of announcing queued work through [`SqlStore`].
//!
//! [`DeliveryAdmin`]: crate::queue::DeliveryAdmin
//! [`DeliveryStore`]: crate::queue::DeliveryStore

use std::ops::Range;
use std::time::SystemTime;

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::codec::{self, Columns};
use crate::queue::{
    DeliveryAttempt, DeliveryKey, DeliveryQuery, DeliveryRecord, DeliveryState, FinishedState,
    OpenDelivery, QueueMetrics, StoreError,
};
use crate::subscription::WebhookId;

/// A listing's SQL: the filters that pick an index, then the shared ones.
macro_rules! listing {
    ($select:literal, $order:literal, $filter:literal) => {
        concat!(
            $select,
            " WHERE ",
            $filter,
            " AND (CAST($3 AS TEXT) IS NULL OR d.state = $3) AND ",
            $order,
            " < $4 ORDER BY ",
            $order,
            " DESC LIMIT $5"
        )
    };
}

macro_rules! deliveries_sql {
    ($filter:literal) => {
        listing!(
            "SELECT d.id, d.envelope_id, d.webhook_id, e.event, e.session, d.state, d.attempts,
                    d.next_attempt_at, d.created_at, d.updated_at
             FROM titan_webhooks_deliveries AS d
             JOIN titan_webhooks_envelopes AS e ON e.id = d.envelope_id",
            "d.id",
            $filter
        )
    };
}

macro_rules! attempts_sql {
    ($filter:literal) => {
        listing!(
            "SELECT a.id, d.envelope_id, d.webhook_id, a.attempt, a.started_at, a.latency_us,
                    a.status, a.failure, a.response_body, a.response_truncated, a.location,
                    a.remote_ip, a.next, a.next_attempt_at, a.detail
             FROM titan_webhooks_attempts AS a
             JOIN titan_webhooks_deliveries AS d ON d.id = a.delivery_id",
            "a.id",
            $filter
        )
    };
}

/// The listing for `query`, written so the filters it has can use an
/// index: by envelope, by webhook, or neither.
fn listing_sql(query: &DeliveryQuery, deliveries: bool) -> &'static str {
    match (
        query.envelope().is_some(),
        query.webhook().is_some(),
        deliveries,
    ) {
        (true, _, true) => deliveries_sql!(
            "d.envelope_id = $2 AND (CAST($1 AS TEXT) IS NULL OR d.webhook_id = $1)"
        ),
        (false, true, true) => deliveries_sql!("d.webhook_id = $1 AND CAST($2 AS TEXT) IS NULL"),
        (false, false, true) => {
            deliveries_sql!("CAST($1 AS TEXT) IS NULL AND CAST($2 AS TEXT) IS NULL")
        }
        (true, _, false) => {
            attempts_sql!("d.envelope_id = $2 AND (CAST($1 AS TEXT) IS NULL OR d.webhook_id = $1)")
        }
        (false, true, false) => attempts_sql!("d.webhook_id = $1 AND CAST($2 AS TEXT) IS NULL"),
        (false, false, false) => {
            attempts_sql!("CAST($1 AS TEXT) IS NULL AND CAST($2 AS TEXT) IS NULL")
        }
    }
}

/// What differs between the SQL stores, as far as the shared statements
/// are concerned.
pub(super) trait SqlStore {
    /// The database the store runs on.
    type Db: Database;

    /// Whether deleting a delivery is sure to delete its attempts in the
    /// same statement (`ON DELETE CASCADE`, with foreign keys enforced).
    /// Then a purge deletes only deliveries, and a delivery that a
    /// concurrent redelivery reopens keeps its attempts. Otherwise the
    /// attempts are deleted first, which is safe only where writers take
    /// turns, as on SQLite.
    const DELETES_CASCADE: bool;

    fn pool(&self) -> &Pool<Self::Db>;

    /// Tells other processes that deliveries were queued again, so their
    /// idle dispatchers claim them without waiting for their next poll.
    async fn announce(&self) -> Result<(), StoreError>;
}

/// The count of changed rows that each driver's query result has, which
/// sqlx does not put in a trait.
pub(super) trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

/// The shared statements, run on a store: `Shared(store).next_due()`.
pub(super) struct Shared<'s, S>(pub(super) &'s S);

// What the statements need of the database, which SQLite and Postgres
// both have: rows read by column name and a count of changed rows, pools
// and transactions that run statements, the parameter types they bind, and
// `MIN(next_attempt_at)` read by position, as its column name differs.
impl<S, DB> Shared<'_, S>
where
    S: SqlStore<Db = DB>,
    DB: Database<Row: Columns, QueryResult: RowsAffected>,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    for<'t> Option<&'t str>: Encode<'t, DB> + Type<DB>,
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> Option<String>: Encode<'t, DB> + Type<DB>,
    (Option<i64>,): for<'r> FromRow<'r, DB::Row>,
{
    pub(super) async fn release_leases(&self, owner: &str) -> Result<Vec<DeliveryKey>, StoreError> {
        let rows = sqlx::query(
            "UPDATE titan_webhooks_deliveries
                     SET state = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retry' END,
                         lease_owner = NULL, lease_until = NULL, updated_at = $2
                     WHERE state = 'in_flight' AND lease_owner = $1
                     RETURNING envelope_id, webhook_id",
        )
        .bind(owner)
        .bind(codec::micros(SystemTime::now())?)
        .fetch_all(self.0.pool())
        .await
        .map_err(codec::backend)?;
        if !rows.is_empty() {
            self.0.announce().await?;
        }
        rows.iter().map(codec::key).collect()
    }

    pub(super) async fn recover_expired(&self, now: SystemTime) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE titan_webhooks_deliveries
                     SET state = CASE WHEN attempts = 0 THEN 'pending' ELSE 'retry' END,
                         lease_owner = NULL, lease_until = NULL, updated_at = $1
                     WHERE state = 'in_flight' AND lease_until < $1",
        )
        .bind(codec::micros(now)?)
        .execute(self.0.pool())
        .await
        .map_err(codec::backend)?;
        self.announce_if_any(done.rows_affected()).await
    }

    /// Announces `requeued` deliveries, if there are any, and passes the
    /// count on.
    async fn announce_if_any(&self, requeued: u64) -> Result<u64, StoreError> {
        if requeued > 0 {
            self.0.announce().await?;
        }
        Ok(requeued)
    }

    pub(super) async fn next_due(&self) -> Result<Option<SystemTime>, StoreError> {
        let earliest: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM titan_webhooks_deliveries
                     WHERE state IN ('pending', 'retry')",
        )
        .fetch_one(self.0.pool())
        .await
        .map_err(codec::backend)?;
        earliest
            .map(|micros| codec::time_at("next_attempt_at", micros))
            .transpose()
    }

    pub(super) async fn open_deliveries(&self) -> Result<Vec<OpenDelivery>, StoreError> {
        let rows = sqlx::query(
            "SELECT envelope_id, webhook_id, state, attempts, next_attempt_at
                     FROM titan_webhooks_deliveries
                     WHERE state IN ('pending', 'in_flight', 'retry')",
        )
        .fetch_all(self.0.pool())
        .await
        .map_err(codec::backend)?;
        let mut open = rows
            .iter()
            .map(codec::open_delivery)
            .collect::<Result<Vec<_>, _>>()?;
        open.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(open)
    }

    pub(super) async fn list_deliveries(
        &self,
        query: &DeliveryQuery,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let rows = self.listing(query, true).await?;
        rows.iter().map(codec::delivery_record).collect()
    }

    pub(super) async fn list_attempts(
        &self,
        query: &DeliveryQuery,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let rows = self.listing(query, false).await?;
        rows.iter().map(codec::attempt_record).collect()
    }

    async fn listing(
        &self,
        query: &DeliveryQuery,
        deliveries: bool,
    ) -> Result<Vec<DB::Row>, StoreError> {
        sqlx::query(listing_sql(query, deliveries))
            .bind(query.webhook().map(codec::webhook_column))
            .bind(query.envelope())
            .bind(query.state().map(|state| state.as_str()))
            .bind(codec::before_id(query.before_sequence()))
            .bind(codec::limit(query.limit_or_default()))
            .fetch_all(self.0.pool())
            .await
            .map_err(codec::backend)
    }

    pub(super) async fn redeliver(
        &self,
        key: &DeliveryKey,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE titan_webhooks_deliveries
                     SET state = 'pending', attempts = 0, next_attempt_at = $3,
                         lease_token = lease_token + 1, updated_at = $3
                     WHERE envelope_id = $1 AND webhook_id = $2
                       AND state IN ('succeeded', 'exhausted', 'cancelled')",
        )
        .bind(&key.envelope_id)
        .bind(codec::webhook_column(&key.webhook_id))
        .bind(codec::micros(now)?)
        .execute(self.0.pool())
        .await
        .map_err(codec::backend)?;
        Ok(self.announce_if_any(done.rows_affected()).await? > 0)
    }

    pub(super) async fn redeliver_exhausted(
        &self,
        finished: Range<SystemTime>,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE titan_webhooks_deliveries
                     SET state = 'pending', attempts = 0, next_attempt_at = $3,
                         lease_token = lease_token + 1, updated_at = $3
                     WHERE state = 'exhausted' AND updated_at >= $1 AND updated_at < $2",
        )
        .bind(codec::micros(finished.start)?)
        .bind(codec::micros(finished.end)?)
        .bind(codec::micros(now)?)
        .execute(self.0.pool())
        .await
        .map_err(codec::backend)?;
        self.announce_if_any(done.rows_affected()).await
    }

    pub(super) async fn redeliver_webhook(
        &self,
        webhook: &WebhookId,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE titan_webhooks_deliveries
                     SET state = 'pending', attempts = 0, next_attempt_at = $2,
                         lease_token = lease_token + 1, updated_at = $2
                     WHERE webhook_id = $1 AND state IN ('exhausted', 'cancelled')",
        )
        .bind(codec::webhook_column(webhook))
        .bind(codec::micros(now)?)
        .execute(self.0.pool())
        .await
        .map_err(codec::backend)?;
        self.announce_if_any(done.rows_affected()).await
    }

    pub(super) async fn cancel_webhook(
        &self,
        webhook: &WebhookId,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE titan_webhooks_deliveries SET state = 'cancelled', updated_at = $2
                     WHERE webhook_id = $1 AND state IN ('pending', 'retry')",
        )
        .bind(codec::webhook_column(webhook))
        .bind(codec::micros(now)?)
        .execute(self.0.pool())
        .await
        .map_err(codec::backend)?;
        Ok(done.rows_affected())
    }

    pub(super) async fn purge_finished(
        &self,
        states: &[FinishedState],
        finished_before: SystemTime,
    ) -> Result<u64, StoreError> {
        // One parameter per finished state, NULL when not wanted: `IN`
        // never matches a NULL, so no list of values needs binding, and an
        // open state cannot be named.
        let wanted =
            FinishedState::ALL.map(|state| states.contains(&state).then(|| state.as_str()));
        let [first, second, third] = wanted;
        if wanted.iter().all(Option::is_none) {
            return Ok(0);
        }
        let before = codec::micros(finished_before)?;
        let mut tx = self.0.pool().begin().await.map_err(codec::backend)?;
        if !S::DELETES_CASCADE {
            sqlx::query(
                "DELETE FROM titan_webhooks_attempts WHERE delivery_id IN (
                             SELECT id FROM titan_webhooks_deliveries
                             WHERE state IN ($2, $3, $4) AND updated_at < $1)",
            )
            .bind(before)
            .bind(first)
            .bind(second)
            .bind(third)
            .execute(&mut *tx)
            .await
            .map_err(codec::backend)?;
        }
        let purged = sqlx::query(
            "DELETE FROM titan_webhooks_deliveries
                     WHERE state IN ($2, $3, $4) AND updated_at < $1",
        )
        .bind(before)
        .bind(first)
        .bind(second)
        .bind(third)
        .execute(&mut *tx)
        .await
        .map_err(codec::backend)?;
        sqlx::query(
            "DELETE FROM titan_webhooks_envelopes WHERE NOT EXISTS (
                         SELECT 1 FROM titan_webhooks_deliveries AS d
                         WHERE d.envelope_id = titan_webhooks_envelopes.id)",
        )
        .execute(&mut *tx)
        .await
        .map_err(codec::backend)?;
        tx.commit().await.map_err(codec::backend)?;
        Ok(purged.rows_affected())
    }

    pub(super) async fn metrics(&self, now: SystemTime) -> Result<QueueMetrics, StoreError> {
        let mut metrics = QueueMetrics::default();
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS count FROM titan_webhooks_deliveries GROUP BY state",
        )
        .fetch_all(self.0.pool())
        .await
        .map_err(codec::backend)?;
        for row in &rows {
            if let Some(state) = DeliveryState::parse(&row.text("state")?) {
                metrics.add(state, codec::count(row.int("count")?));
            }
        }
        let earliest: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM titan_webhooks_deliveries
                     WHERE state IN ('pending', 'retry') AND next_attempt_at <= $1",
        )
        .bind(codec::micros(now)?)
        .fetch_one(self.0.pool())
        .await
        .map_err(codec::backend)?;
        metrics.oldest_due_age = codec::due_age(now, earliest);
        Ok(metrics)
    }
}
