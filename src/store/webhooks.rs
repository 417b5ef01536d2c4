//! The statements of the SQL webhook backends,
//! [`SqliteWebhooks`](super::SqliteWebhooks) and
//! [`PostgresWebhooks`](super::PostgresWebhooks): written once here,
//! generic over the database, as the queue's are in `shared.rs`. A backend
//! supplies its pool, how it begins a write and how it announces a change
//! through [`WebhookSql`].
//!
//! Every write runs in one transaction that first takes the next value of
//! the revision counter. The counter's row stays locked until the commit,
//! so revisions commit in the order they were taken, and a process that
//! read revision `r` finds every later change with `revision > r`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::query::Query;
use sqlx::{Database, Encode, Executor, IntoArguments, Pool, Transaction, Type};

use super::codec::{self, Columns, backend};
use super::shared::RowsAffected;
use crate::queue::StoreError;
use crate::retry::RetryPolicy;
use crate::webhooks::{
    Disabled, DisabledReason, Health, HealthUpdate, RowChange, RowFilter, WebhookRow,
};

/// A webhook row's columns, as every statement that returns rows reads them.
macro_rules! columns {
    () => {
        "id, owner, catalog, scheme, url, events, session, enabled, retries, label,
         created_at, failing_since, exhausted_in_a_row, disabled_reason, disabled_at,
         headers_sealed, secret_sealed, previous_secret_sealed, previous_secret_expires_at,
         revision"
    };
}

/// The columns an insert or a replace writes, bound as `$1` to `$17` by
/// [`bind_values`], then the revision as `$18` and the owner as `$19`.
const INSERT: &str = concat!(
    "INSERT INTO titan_webhooks_webhooks
         (catalog, scheme, url, events, session, enabled, retries, label, created_at,
          failing_since, exhausted_in_a_row, disabled_reason, disabled_at,
          headers_sealed, secret_sealed, previous_secret_sealed, previous_secret_expires_at,
          revision, owner)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
             $18, $19)
     RETURNING ",
    columns!()
);

/// Compare and swap: the row is replaced only while it is the owner's,
/// not deleted, and still at the revision the writer read (`$21`).
const REPLACE: &str = concat!(
    "UPDATE titan_webhooks_webhooks
     SET catalog = $1, scheme = $2, url = $3, events = $4, session = $5, enabled = $6,
         retries = $7, label = $8, created_at = $9, failing_since = $10,
         exhausted_in_a_row = $11, disabled_reason = $12, disabled_at = $13,
         headers_sealed = $14, secret_sealed = $15, previous_secret_sealed = $16,
         previous_secret_expires_at = $17, revision = $18
     WHERE owner = $19 AND id = $20 AND revision = $21 AND NOT deleted
     RETURNING ",
    columns!()
);

/// The health updates, one statement each, as `apply_health` in
/// `webhooks/memory.rs` defines them. `$1` is the revision, `$2` the id.
/// Every `SET` expression reads the row as it was before the statement.
const RECOVERED: &str = concat!(
    "UPDATE titan_webhooks_webhooks
     SET failing_since = NULL, exhausted_in_a_row = 0, revision = $1
     WHERE id = $2 AND NOT deleted
     RETURNING ",
    columns!()
);

const FAILING: &str = concat!(
    "UPDATE titan_webhooks_webhooks
     SET failing_since = COALESCE(failing_since, $3), revision = $1
     WHERE id = $2 AND NOT deleted
     RETURNING ",
    columns!()
);

/// The count saturates at `u32::MAX`, as the memory backend's does.
const EXHAUSTED: &str = concat!(
    "UPDATE titan_webhooks_webhooks
     SET failing_since = COALESCE(failing_since, $3),
         exhausted_in_a_row = CASE WHEN exhausted_in_a_row < 4294967295
                                   THEN exhausted_in_a_row + 1
                                   ELSE exhausted_in_a_row END,
         revision = $1
     WHERE id = $2 AND NOT deleted
     RETURNING ",
    columns!()
);

/// Only an enabled webhook takes the reason: one already disabled keeps
/// the reason it was disabled for.
const DISABLE: &str = concat!(
    "UPDATE titan_webhooks_webhooks
     SET enabled = FALSE,
         disabled_reason = CASE WHEN enabled THEN $3 ELSE disabled_reason END,
         disabled_at = CASE WHEN enabled THEN $4 ELSE disabled_at END,
         revision = $1
     WHERE id = $2 AND NOT deleted
     RETURNING ",
    columns!()
);

const FETCH: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM titan_webhooks_webhooks WHERE id = $1 AND NOT deleted"
);

/// Newest first, from the `(owner, id)` index; a `NULL` filter matches all.
const LIST: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM titan_webhooks_webhooks
     WHERE owner = $1 AND id < $2 AND NOT deleted
       AND (CAST($3 AS BOOLEAN) IS NULL OR enabled = $3)
       AND (CAST($4 AS TEXT) IS NULL OR catalog = $4)
     ORDER BY id DESC
     LIMIT $5"
);

/// What differs between the SQL webhook backends, as far as the shared
/// statements are concerned.
pub(super) trait WebhookSql {
    /// The database the backend runs on.
    type Db: Database;

    fn pool(&self) -> &Pool<Self::Db>;

    /// Begins a transaction for a write. SQLite takes its write lock at
    /// once, so a write never fails half-way on another connection's lock.
    async fn begin_write(&self) -> Result<Transaction<'static, Self::Db>, StoreError>;

    /// Tells other processes, when `connection`'s transaction commits, that
    /// webhooks changed, up to `revision`.
    async fn announce_change(
        &self,
        connection: &mut <Self::Db as Database>::Connection,
        revision: i64,
    ) -> Result<(), StoreError>;
}

/// The shared statements, run on a backend: `SqlWebhooks(backend).fetch(id)`.
pub(super) struct SqlWebhooks<'s, S>(pub(super) &'s S);

// What the statements need of the database, which SQLite and Postgres both
// have: rows read by column name and a count of changed rows, transactions
// that run statements, and the parameter types they bind.
impl<S, DB> SqlWebhooks<'_, S>
where
    S: WebhookSql<Db = DB>,
    DB: Database<Row: Columns, QueryResult: RowsAffected>,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> Option<i64>: Encode<'t, DB> + Type<DB>,
    for<'t> bool: Encode<'t, DB> + Type<DB>,
    for<'t> Option<bool>: Encode<'t, DB> + Type<DB>,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    for<'t> Option<&'t str>: Encode<'t, DB> + Type<DB>,
    for<'t> &'t [u8]: Encode<'t, DB> + Type<DB>,
    for<'t> Option<&'t [u8]>: Encode<'t, DB> + Type<DB>,
{
    /// Begins a write and takes the next revision, locking the counter
    /// until the write commits or rolls back.
    async fn begin(&self) -> Result<(Transaction<'static, DB>, i64), StoreError> {
        let mut tx = self.0.begin_write().await?;
        let counter = sqlx::query(
            "UPDATE titan_webhooks_webhook_revision SET value = value + 1 WHERE id = 1
             RETURNING value",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let revision = counter.int("value")?;
        Ok((tx, revision))
    }

    async fn commit(
        &self,
        mut tx: Transaction<'static, DB>,
        revision: i64,
    ) -> Result<(), StoreError> {
        self.0.announce_change(&mut tx, revision).await?;
        tx.commit().await.map_err(backend)
    }

    /// Gives the revision back: nothing changed, and a revision that
    /// stands for no change would only make other processes look.
    async fn roll_back(tx: Transaction<'static, DB>) -> Result<(), StoreError> {
        tx.rollback().await.map_err(backend)
    }

    pub(super) async fn insert(&self, row: WebhookRow) -> Result<WebhookRow, StoreError> {
        let values = Encoded::new(&row)?;
        let (mut tx, revision) = self.begin().await?;
        let stored = bind_values(sqlx::query(INSERT), &values)
            .bind(revision)
            .bind(row.owner.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let stored = decode(&stored)?;
        self.commit(tx, revision).await?;
        Ok(stored)
    }

    pub(super) async fn fetch(&self, id: u64) -> Result<Option<WebhookRow>, StoreError> {
        // Ids are stored as i64, so a larger one names no webhook.
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        let row = sqlx::query(FETCH)
            .bind(id)
            .fetch_optional(self.0.pool())
            .await
            .map_err(backend)?;
        row.as_ref().map(decode).transpose()
    }

    pub(super) async fn list(
        &self,
        owner: &str,
        filter: &RowFilter<'_>,
    ) -> Result<Vec<WebhookRow>, StoreError> {
        let rows = sqlx::query(LIST)
            .bind(owner)
            .bind(codec::before_id(filter.before))
            .bind(filter.enabled)
            .bind(filter.catalog)
            .bind(codec::limit(filter.limit))
            .fetch_all(self.0.pool())
            .await
            .map_err(backend)?;
        rows.iter().map(decode).collect()
    }

    pub(super) async fn replace(&self, row: &WebhookRow) -> Result<Option<WebhookRow>, StoreError> {
        let (Ok(id), Ok(expected)) = (i64::try_from(row.id), i64::try_from(row.revision)) else {
            return Ok(None);
        };
        let values = Encoded::new(row)?;
        let (mut tx, revision) = self.begin().await?;
        let saved = bind_values(sqlx::query(REPLACE), &values)
            .bind(revision)
            .bind(row.owner.as_str())
            .bind(id)
            .bind(expected)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        self.finish(tx, revision, saved).await
    }

    pub(super) async fn delete(&self, owner: &str, id: u64) -> Result<bool, StoreError> {
        let Ok(id) = i64::try_from(id) else {
            return Ok(false);
        };
        let wiped: &[u8] = &[];
        let (mut tx, revision) = self.begin().await?;
        let done = sqlx::query(
            "UPDATE titan_webhooks_webhooks
             SET deleted = TRUE, headers_sealed = $1, secret_sealed = $1,
                 previous_secret_sealed = NULL, previous_secret_expires_at = NULL,
                 revision = $2
             WHERE owner = $3 AND id = $4 AND NOT deleted",
        )
        .bind(wiped)
        .bind(revision)
        .bind(owner)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            Self::roll_back(tx).await?;
            return Ok(false);
        }
        self.commit(tx, revision).await?;
        Ok(true)
    }

    pub(super) async fn update_health(
        &self,
        id: u64,
        update: HealthUpdate,
    ) -> Result<Option<WebhookRow>, StoreError> {
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        let (mut tx, revision) = self.begin().await?;
        let statement = match update {
            HealthUpdate::Recovered => sqlx::query(RECOVERED).bind(revision).bind(id),
            HealthUpdate::Failing { since } => sqlx::query(FAILING)
                .bind(revision)
                .bind(id)
                .bind(codec::micros(since)?),
            HealthUpdate::Exhausted { at } => sqlx::query(EXHAUSTED)
                .bind(revision)
                .bind(id)
                .bind(codec::micros(at)?),
            HealthUpdate::Disable(disabled) => sqlx::query(DISABLE)
                .bind(revision)
                .bind(id)
                .bind(disabled.reason.as_str())
                .bind(codec::micros(disabled.at)?),
        };
        let updated = statement.fetch_optional(&mut *tx).await.map_err(backend)?;
        self.finish(tx, revision, updated).await
    }

    /// Commits a write that returned `row`, or rolls back one that matched
    /// nothing.
    async fn finish(
        &self,
        tx: Transaction<'static, DB>,
        revision: i64,
        row: Option<DB::Row>,
    ) -> Result<Option<WebhookRow>, StoreError> {
        let Some(row) = row else {
            Self::roll_back(tx).await?;
            return Ok(None);
        };
        let row = decode(&row)?;
        self.commit(tx, revision).await?;
        Ok(Some(row))
    }

    pub(super) async fn revision(&self) -> Result<u64, StoreError> {
        let counter = sqlx::query("SELECT value FROM titan_webhooks_webhook_revision WHERE id = 1")
            .fetch_one(self.0.pool())
            .await
            .map_err(backend)?;
        u64::try_from(counter.int("value")?).map_err(|_| StoreError::Backend {
            message: "the webhook revision counter is damaged: it is negative".into(),
        })
    }

    pub(super) async fn changes_since(&self, revision: u64) -> Result<Vec<RowChange>, StoreError> {
        // Revisions are stored as i64, so none is later than a larger one.
        let Ok(revision) = i64::try_from(revision) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT id, owner, revision FROM titan_webhooks_webhooks
             WHERE revision > $1 ORDER BY revision, id",
        )
        .bind(revision)
        .fetch_all(self.0.pool())
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let id = row.int("id")?;
                Ok(RowChange {
                    id: stored_unsigned(row, id, "id")?,
                    owner: row.text("owner")?,
                    revision: stored_unsigned(row, id, "revision")?,
                })
            })
            .collect()
    }

    pub(super) async fn purge_expired_secrets(&self, now: SystemTime) -> Result<u64, StoreError> {
        let now = codec::micros(now)?;
        let (mut tx, revision) = self.begin().await?;
        let done = sqlx::query(
            "UPDATE titan_webhooks_webhooks
             SET previous_secret_sealed = NULL, previous_secret_expires_at = NULL, revision = $1
             WHERE previous_secret_expires_at <= $2 AND NOT deleted",
        )
        .bind(revision)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let purged = done.rows_affected();
        if purged == 0 {
            Self::roll_back(tx).await?;
        } else {
            self.commit(tx, revision).await?;
        }
        Ok(purged)
    }

    pub(super) async fn key_checks(&self) -> Result<Vec<(u32, Vec<u8>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT key_id, sealed FROM titan_webhooks_webhook_key_checks ORDER BY key_id",
        )
        .fetch_all(self.0.pool())
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let key_id = row.int("key_id")?;
                let key_id = u32::try_from(key_id).map_err(|_| StoreError::Backend {
                    message: format!(
                        "a stored key check is damaged: key id {key_id} is out of range"
                    ),
                })?;
                Ok((key_id, row.blob("sealed")?))
            })
            .collect()
    }

    pub(super) async fn add_key_check(&self, key_id: u32, sealed: &[u8]) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO titan_webhooks_webhook_key_checks (key_id, sealed) VALUES ($1, $2)
             ON CONFLICT (key_id) DO NOTHING",
        )
        .bind(i64::from(key_id))
        .bind(sealed)
        .execute(self.0.pool())
        .await
        .map_err(backend)?;
        Ok(())
    }
}

/// A row's values as stored: times in microseconds, lists and retry
/// objects as JSON text.
struct Encoded<'r> {
    catalog: &'r str,
    scheme: &'r str,
    url: &'r str,
    events: String,
    session: Option<&'r str>,
    enabled: bool,
    retries: Option<String>,
    label: Option<&'r str>,
    created_at: i64,
    failing_since: Option<i64>,
    exhausted_in_a_row: i64,
    disabled_reason: Option<&'static str>,
    disabled_at: Option<i64>,
    headers_sealed: &'r [u8],
    secret_sealed: &'r [u8],
    previous_secret_sealed: Option<&'r [u8]>,
    previous_secret_expires_at: Option<i64>,
}

impl<'r> Encoded<'r> {
    fn new(row: &'r WebhookRow) -> Result<Self, StoreError> {
        let json = |what: &str, err: serde_json::Error| StoreError::Backend {
            message: format!("a webhook's {what} could not be written as JSON: {err}"),
        };
        let health = &row.health;
        Ok(Self {
            catalog: &row.catalog,
            scheme: &row.scheme,
            url: &row.url,
            events: serde_json::to_string(&row.events).map_err(|err| json("events", err))?,
            session: row.session.as_deref(),
            enabled: row.enabled,
            retries: row
                .retries
                .map(|retries| serde_json::to_string(&retries))
                .transpose()
                .map_err(|err| json("retries", err))?,
            label: row.label.as_deref(),
            created_at: codec::micros(row.created_at)?,
            failing_since: health.failing_since.map(codec::micros).transpose()?,
            exhausted_in_a_row: i64::from(health.exhausted_in_a_row),
            disabled_reason: health.disabled.map(|disabled| disabled.reason.as_str()),
            disabled_at: health
                .disabled
                .map(|disabled| codec::micros(disabled.at))
                .transpose()?,
            headers_sealed: &row.headers,
            secret_sealed: &row.secret,
            previous_secret_sealed: row.previous_secret.as_deref(),
            previous_secret_expires_at: row.previous_expires_at.map(codec::micros).transpose()?,
        })
    }
}

/// Binds `$1` to `$17` of [`INSERT`] and [`REPLACE`].
fn bind_values<'q, DB>(
    query: Query<'q, DB, DB::Arguments>,
    values: &Encoded<'_>,
) -> Query<'q, DB, DB::Arguments>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> Option<i64>: Encode<'t, DB> + Type<DB>,
    for<'t> bool: Encode<'t, DB> + Type<DB>,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    for<'t> Option<&'t str>: Encode<'t, DB> + Type<DB>,
    for<'t> &'t [u8]: Encode<'t, DB> + Type<DB>,
    for<'t> Option<&'t [u8]>: Encode<'t, DB> + Type<DB>,
{
    query
        .bind(values.catalog)
        .bind(values.scheme)
        .bind(values.url)
        .bind(values.events.as_str())
        .bind(values.session)
        .bind(values.enabled)
        .bind(values.retries.as_deref())
        .bind(values.label)
        .bind(values.created_at)
        .bind(values.failing_since)
        .bind(values.exhausted_in_a_row)
        .bind(values.disabled_reason)
        .bind(values.disabled_at)
        .bind(values.headers_sealed)
        .bind(values.secret_sealed)
        .bind(values.previous_secret_sealed)
        .bind(values.previous_secret_expires_at)
}

/// Why stored webhook `id` does not read back: a column and what is wrong
/// with it, never its value, which may be sealed bytes.
fn damaged(id: i64, column: &str, why: &str) -> StoreError {
    StoreError::Backend {
        message: format!("stored webhook {id} is damaged: `{column}` {why}"),
    }
}

fn stored_unsigned<T: TryFrom<i64>>(
    row: &impl Columns,
    id: i64,
    column: &str,
) -> Result<T, StoreError> {
    T::try_from(row.int(column)?).map_err(|_| damaged(id, column, "is out of range"))
}

fn stored_time(id: i64, column: &str, micros: i64) -> Result<SystemTime, StoreError> {
    u64::try_from(micros)
        .ok()
        .and_then(|micros| UNIX_EPOCH.checked_add(Duration::from_micros(micros)))
        .ok_or_else(|| damaged(id, column, "is not a time"))
}

fn stored_time_or_null(
    row: &impl Columns,
    id: i64,
    column: &str,
) -> Result<Option<SystemTime>, StoreError> {
    row.int_or_null(column)?
        .map(|micros| stored_time(id, column, micros))
        .transpose()
}

/// A webhook row from the columns of [`columns!`].
fn decode(row: &impl Columns) -> Result<WebhookRow, StoreError> {
    let id = row.int("id")?;
    let events = serde_json::from_str(&row.text("events")?)
        .map_err(|_| damaged(id, "events", "is not a JSON list of event types"))?;
    let retries = row
        .text_or_null("retries")?
        .map(|json| serde_json::from_str::<RetryPolicy>(&json))
        .transpose()
        .map_err(|err| damaged(id, "retries", &format!("is not a retry object: {err}")))?;
    let disabled = match (
        row.text_or_null("disabled_reason")?,
        row.int_or_null("disabled_at")?,
    ) {
        (None, None) => None,
        (Some(reason), Some(at)) => Some(Disabled {
            reason: DisabledReason::parse(&reason).ok_or_else(|| {
                damaged(
                    id,
                    "disabled_reason",
                    "is not a reason a webhook is disabled for",
                )
            })?,
            at: stored_time(id, "disabled_at", at)?,
        }),
        _ => {
            return Err(damaged(
                id,
                "disabled_reason",
                "and `disabled_at` are not both set or both empty",
            ));
        }
    };
    Ok(WebhookRow {
        id: stored_unsigned(row, id, "id")?,
        owner: row.text("owner")?,
        catalog: row.text("catalog")?,
        scheme: row.text("scheme")?,
        url: row.text("url")?,
        events,
        session: row.text_or_null("session")?,
        enabled: row.flag("enabled")?,
        retries,
        label: row.text_or_null("label")?,
        created_at: stored_time(id, "created_at", row.int("created_at")?)?,
        headers: row.blob("headers_sealed")?,
        secret: row.blob("secret_sealed")?,
        previous_secret: row.blob_or_null("previous_secret_sealed")?,
        previous_expires_at: stored_time_or_null(row, id, "previous_secret_expires_at")?,
        health: Health {
            failing_since: stored_time_or_null(row, id, "failing_since")?,
            exhausted_in_a_row: stored_unsigned(row, id, "exhausted_in_a_row")?,
            disabled,
        },
        revision: stored_unsigned(row, id, "revision")?,
    })
}
