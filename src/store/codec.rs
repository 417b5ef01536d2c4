//! How deliveries and attempts map to columns, the same for every SQL store.

use std::borrow::Cow;
use std::collections::HashSet;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use sqlx::migrate::{Migrate, Migration, MigrationType, Migrator};
use sqlx::query::Query;
use sqlx::{ColumnIndex, Database, Decode, Encode, Row, Type};

use crate::queue::{
    ClaimedDelivery, DeliveryAttempt, DeliveryKey, DeliveryRecord, DeliveryState, Lease,
    OpenDelivery, Prepared, StoreError,
};
use crate::retry::{AttemptOutcome, FailureKind, NextStep};
use crate::subscription::WebhookId;

/// Where the applied schema versions are kept, apart from an application's
/// own migrations table when the store shares its database.
const MIGRATIONS_TABLE: &str = "titan_webhooks_migrations";

/// Brings the store's tables up to date with `migrations`, given as
/// `(version, description, sql)`, oldest first.
pub(crate) async fn migrate<'a, A>(
    migrations: &[(i64, &'static str, &'static str)],
    pool: A,
) -> Result<(), StoreError>
where
    A: sqlx::Acquire<'a>,
    <A::Connection as std::ops::Deref>::Target: Migrate,
{
    let mut migrator = Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sqlx::SqlSafeStr::into_sql_str(sql),
                    false,
                )
            })
            .collect(),
    );
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator.run(pool).await.map_err(|err| StoreError::Backend {
        message: format!("the store's tables could not be migrated: {err}"),
    })
}

/// A backend failure, described without the connection's options.
pub(crate) fn backend(err: sqlx::Error) -> StoreError {
    StoreError::Backend {
        message: match err {
            // Its text may quote the URL, password included.
            sqlx::Error::Configuration(_) => "invalid connection options".to_owned(),
            other => other.to_string(),
        },
    }
}

fn corrupt(column: &str, why: impl std::fmt::Display) -> StoreError {
    StoreError::Backend {
        message: format!("a stored delivery is corrupt: `{column}` {why}"),
    }
}

/// Microseconds since the Unix epoch, as times are stored.
pub(crate) fn micros(time: SystemTime) -> Result<i64, StoreError> {
    time.duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|since| i64::try_from(since.as_micros()).ok())
        .ok_or(StoreError::TimeOutOfRange)
}

/// Microseconds as stored, for a duration.
pub(crate) fn duration_micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

pub(crate) fn time_at(column: &str, micros: i64) -> Result<SystemTime, StoreError> {
    u64::try_from(micros)
        .ok()
        .and_then(|micros| UNIX_EPOCH.checked_add(Duration::from_micros(micros)))
        .ok_or_else(|| corrupt(column, "is not a time"))
}

/// A webhook id as stored: its JSON, so `42` and `"42"` stay apart.
pub(crate) fn webhook_column(id: &WebhookId) -> String {
    match id {
        WebhookId::Number(number) => number.to_string(),
        WebhookId::Text(text) => serde_json::Value::from(text.as_str()).to_string(),
    }
}

/// Reads columns by name; implemented for the rows of every database the
/// stores support, so the row mapping is written once.
pub(crate) trait Columns {
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn int_or_null(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn text_or_null(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn blob(&self, column: &str) -> Result<Vec<u8>, StoreError>;
    fn blob_or_null(&self, column: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn flag(&self, column: &str) -> Result<bool, StoreError>;
}

impl<R> Columns for R
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.try_get(column).map_err(backend)
    }

    fn int_or_null(&self, column: &str) -> Result<Option<i64>, StoreError> {
        self.try_get(column).map_err(backend)
    }

    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.try_get(column).map_err(backend)
    }

    fn text_or_null(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.try_get(column).map_err(backend)
    }

    fn blob(&self, column: &str) -> Result<Vec<u8>, StoreError> {
        self.try_get(column).map_err(backend)
    }

    fn blob_or_null(&self, column: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.try_get(column).map_err(backend)
    }

    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        self.try_get(column).map_err(backend)
    }
}

pub(crate) fn unsigned<T: TryFrom<i64>>(row: &impl Columns, column: &str) -> Result<T, StoreError> {
    T::try_from(row.int(column)?).map_err(|_| corrupt(column, "is out of range"))
}

/// A claim's lease token as stored. Tokens come from the store as `i64`, so
/// one that does not fit was never handed out: the lease is not held.
pub(crate) fn lease_token(delivery: &ClaimedDelivery) -> Result<i64, StoreError> {
    i64::try_from(delivery.lease.token).map_err(|_| StoreError::LeaseLost)
}

fn time(row: &impl Columns, column: &str) -> Result<SystemTime, StoreError> {
    time_at(column, row.int(column)?)
}

fn time_or_null(row: &impl Columns, column: &str) -> Result<Option<SystemTime>, StoreError> {
    row.int_or_null(column)?
        .map(|micros| time_at(column, micros))
        .transpose()
}

fn state(row: &impl Columns, column: &str) -> Result<DeliveryState, StoreError> {
    let name = row.text(column)?;
    DeliveryState::parse(&name).ok_or_else(|| corrupt(column, "is not a delivery state"))
}

/// The delivery key from the `envelope_id` and `webhook_id` columns.
pub(crate) fn key(row: &impl Columns) -> Result<DeliveryKey, StoreError> {
    let webhook = row.text("webhook_id")?;
    let webhook_id =
        serde_json::from_str(&webhook).map_err(|_| corrupt("webhook_id", "is not a webhook id"))?;
    Ok(DeliveryKey::new(row.text("envelope_id")?, webhook_id))
}

/// Each item's webhooks that a batch insert newly queued, in the batch's
/// order, from the `envelope_id` and `webhook_id` of the rows its
/// `RETURNING` gave back.
pub(crate) fn newly_queued(
    batch: &[Prepared],
    rows: &[impl Columns],
) -> Result<Vec<Vec<WebhookId>>, StoreError> {
    let mut new: HashSet<DeliveryKey> = rows.iter().map(key).collect::<Result<_, _>>()?;
    Ok(batch
        .iter()
        .map(|item| {
            item.webhooks
                .iter()
                .filter(|webhook| {
                    new.remove(&DeliveryKey::new(
                        item.record.id.as_str(),
                        (*webhook).clone(),
                    ))
                })
                .cloned()
                .collect()
        })
        .collect())
}

/// A claimed row: `envelope_id`, `webhook_id`, `attempts`, `lease_token`,
/// `created_at` and the envelope's `body`.
pub(crate) fn claimed(
    row: &impl Columns,
    owner: &str,
    until: SystemTime,
) -> Result<ClaimedDelivery, StoreError> {
    Ok(ClaimedDelivery {
        key: key(row)?,
        attempts: unsigned(row, "attempts")?,
        body: Bytes::from(row.blob("body")?),
        queued_at: time(row, "created_at")?,
        lease: Lease {
            owner: owner.to_owned(),
            token: unsigned(row, "lease_token")?,
            until,
        },
    })
}

/// An open row: the key, `state`, `attempts` and `next_attempt_at`.
pub(crate) fn open_delivery(row: &impl Columns) -> Result<OpenDelivery, StoreError> {
    let state = state(row, "state")?;
    Ok(OpenDelivery {
        key: key(row)?,
        state,
        attempts: unsigned(row, "attempts")?,
        next_attempt_at: if state == DeliveryState::InFlight {
            None
        } else {
            Some(time(row, "next_attempt_at")?)
        },
    })
}

/// A listed delivery, joined with its envelope's `event` and `session`.
pub(crate) fn delivery_record(row: &impl Columns) -> Result<DeliveryRecord, StoreError> {
    let state = state(row, "state")?;
    Ok(DeliveryRecord {
        sequence: unsigned(row, "id")?,
        key: key(row)?,
        event: row.text("event")?,
        session: row.text("session")?,
        state,
        attempts: unsigned(row, "attempts")?,
        next_attempt_at: if matches!(state, DeliveryState::Pending | DeliveryState::Retry) {
            Some(time(row, "next_attempt_at")?)
        } else {
            None
        },
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// An attempt's columns, in the order the stores' inserts bind them.
pub(crate) struct AttemptColumns<'a> {
    pub(crate) attempt: i64,
    pub(crate) started_at: i64,
    pub(crate) latency_us: i64,
    pub(crate) status: Option<i64>,
    pub(crate) failure: Option<&'static str>,
    pub(crate) response_body: &'a [u8],
    pub(crate) response_truncated: bool,
    pub(crate) location: Option<&'a str>,
    pub(crate) remote_ip: Option<String>,
    pub(crate) next: &'static str,
    pub(crate) next_attempt_at: Option<i64>,
    pub(crate) detail: Option<&'a str>,
}

impl<'a> AttemptColumns<'a> {
    pub(crate) fn new(attempt: &'a DeliveryAttempt) -> Result<Self, StoreError> {
        let (status, failure) = match attempt.outcome {
            AttemptOutcome::Status(status) => (Some(i64::from(status)), None),
            AttemptOutcome::Failed(kind) => (None, Some(kind.as_str())),
        };
        let (next, next_attempt_at) = match attempt.next {
            NextStep::Succeeded => ("succeeded", None),
            NextStep::RetryAt(at) => ("retry", Some(micros(at)?)),
            NextStep::GaveUp => ("gave_up", None),
            NextStep::Disabled => ("disabled", None),
        };
        Ok(Self {
            attempt: i64::from(attempt.attempt),
            started_at: micros(attempt.started_at)?,
            latency_us: duration_micros(attempt.latency),
            status,
            failure,
            response_body: &attempt.response_body,
            response_truncated: attempt.response_truncated,
            location: attempt.location.as_deref(),
            remote_ip: attempt.remote_ip.map(|ip| ip.to_string()),
            next,
            next_attempt_at,
            detail: attempt.detail.as_deref(),
        })
    }
}

/// Binds an attempt's columns, in the order of the stores' inserts, after
/// the parameters `query` already has.
pub(crate) fn bind_attempt<'q, DB>(
    query: Query<'q, DB, DB::Arguments>,
    attempt: &AttemptColumns<'_>,
) -> Query<'q, DB, DB::Arguments>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> Option<i64>: Encode<'t, DB> + Type<DB>,
    for<'s> Option<&'s str>: Encode<'s, DB> + Type<DB>,
    for<'s> &'s [u8]: Encode<'s, DB> + Type<DB>,
    for<'t> bool: Encode<'t, DB> + Type<DB>,
    for<'s> &'s str: Encode<'s, DB> + Type<DB>,
{
    query
        .bind(attempt.attempt)
        .bind(attempt.started_at)
        .bind(attempt.latency_us)
        .bind(attempt.status)
        .bind(attempt.failure)
        .bind(attempt.response_body)
        .bind(attempt.response_truncated)
        .bind(attempt.location)
        .bind(attempt.remote_ip.as_deref())
        .bind(attempt.next)
        .bind(attempt.next_attempt_at)
        .bind(attempt.detail)
}

fn failure_kind(name: &str) -> Option<FailureKind> {
    FailureKind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == name)
}

/// A listed attempt, joined with its delivery's key.
pub(crate) fn attempt_record(row: &impl Columns) -> Result<DeliveryAttempt, StoreError> {
    let outcome = match (row.int_or_null("status")?, row.text_or_null("failure")?) {
        (Some(status), _) => AttemptOutcome::Status(
            u16::try_from(status).map_err(|_| corrupt("status", "is not a status"))?,
        ),
        (None, Some(name)) => AttemptOutcome::Failed(
            failure_kind(&name).ok_or_else(|| corrupt("failure", "is not a failure kind"))?,
        ),
        (None, None) => return Err(corrupt("status", "and `failure` are both empty")),
    };
    let next = match row.text("next")?.as_str() {
        "succeeded" => NextStep::Succeeded,
        "retry" => NextStep::RetryAt(
            time_or_null(row, "next_attempt_at")?
                .ok_or_else(|| corrupt("next_attempt_at", "is missing for a retry"))?,
        ),
        "gave_up" => NextStep::GaveUp,
        "disabled" => NextStep::Disabled,
        _ => return Err(corrupt("next", "is not a next step")),
    };
    let remote_ip = row
        .text_or_null("remote_ip")?
        .map(|ip| {
            ip.parse::<IpAddr>()
                .map_err(|_| corrupt("remote_ip", "is not an address"))
        })
        .transpose()?;
    Ok(DeliveryAttempt {
        sequence: Some(unsigned(row, "id")?),
        key: key(row)?,
        attempt: unsigned(row, "attempt")?,
        started_at: time(row, "started_at")?,
        latency: Duration::from_micros(unsigned(row, "latency_us")?),
        outcome,
        response_body: row.blob("response_body")?,
        response_truncated: row.flag("response_truncated")?,
        location: row.text_or_null("location")?,
        remote_ip,
        next,
        detail: row.text_or_null("detail")?,
    })
}

/// The age of the oldest due delivery, from the earliest due time.
pub(crate) fn due_age(now: SystemTime, earliest_due: Option<i64>) -> Option<Duration> {
    let due = time_at("next_attempt_at", earliest_due?).ok()?;
    now.duration_since(due).ok()
}

/// A stored count.
pub(crate) fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A cursor as stored: ids are positive, so "no cursor" is the largest id.
pub(crate) fn before_id(before: Option<u64>) -> i64 {
    before.map_or(i64::MAX, |before| i64::try_from(before).unwrap_or(i64::MAX))
}

/// A limit as stored.
/// How many due deliveries a claim of `limit` looks at, in order, to find
/// `limit` within the per-webhook cap. Bounded, so a large backlog for one
/// webhook costs a claim no more than this; the next claim skips that
/// webhook once its endpoint is busy, and reaches the others.
pub(crate) fn candidates(limit: usize) -> usize {
    limit.saturating_mul(4)
}

pub(crate) fn limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
