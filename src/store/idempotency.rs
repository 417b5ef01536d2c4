//! Idempotency stores for receivers on SQL: [`SqliteIdempotencyStore`] for
//! processes on one machine, [`PostgresIdempotencyStore`] for every process
//! behind a load balancer.
//!
//! One table, `titan_webhooks_receipts`, holds a row per delivery key: its
//! state (reserved or completed), the token of the reservation, when it
//! expires, and the answer kept for duplicates. `begin` is one atomic
//! `INSERT … ON CONFLICT DO UPDATE … WHERE expired`, so of two processes
//! receiving the same delivery at the same moment exactly one reserves it.
//! Expired rows are deleted a few at a time as new deliveries arrive, so the
//! table stays as large as the keys alive within the TTL.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::{HeaderValue, StatusCode};

use crate::receiver::{
    Begin, IdempotencyError, IdempotencyFuture, IdempotencyStore, ReplayKey, ReservationToken,
    StoredAnswer,
};

/// Every how many `begin` calls expired rows are purged.
const PURGE_EVERY: u64 = 64;
/// How many expired rows one purge deletes at most: more than `PURGE_EVERY`,
/// so the purge outpaces the inserts.
const PURGE_BATCH: i64 = 256;
/// How often `begin` looks again when the row it lost to vanished (released
/// or expired) before it could read it.
const BEGIN_ATTEMPTS: usize = 3;

const STATE_RESERVED: i16 = 0;
const STATE_COMPLETED: i16 = 1;

/// A row read back after losing the race to reserve.
type ReceiptRow = (i16, i64, i64, Option<i32>, Option<Vec<u8>>, Option<Vec<u8>>);

fn new_token() -> Result<i64, IdempotencyError> {
    let mut bytes = [0_u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|_| IdempotencyError::new("the system's random source failed"))?;
    Ok(i64::from_le_bytes(bytes))
}

fn token_value(token: i64) -> ReservationToken {
    ReservationToken::new(u64::from_le_bytes(token.to_le_bytes()))
}

fn token_column(token: ReservationToken) -> i64 {
    i64::from_le_bytes(token.get().to_le_bytes())
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn database_error(err: &sqlx::Error) -> IdempotencyError {
    // sqlx's messages name the database's failure, never the bound values.
    IdempotencyError::new(format!("database error: {err}"))
}

/// What a row that `begin` could not take says about the key; `None` when
/// it has lapsed meanwhile and `begin` should try again.
fn interpret(row: ReceiptRow, now_ms: i64) -> Option<Begin> {
    let (state, _token, expires_at, status, content_type, body) = row;
    if expires_at <= now_ms {
        return None;
    }
    if state == STATE_RESERVED {
        let left = u64::try_from(expires_at.saturating_sub(now_ms)).unwrap_or(0);
        return Some(Begin::InProgress {
            retry_after: Duration::from_millis(left),
        });
    }
    let answer = status
        .and_then(|status| u16::try_from(status).ok())
        .and_then(|status| StatusCode::from_u16(status).ok())
        .and_then(|status| {
            let content_type = content_type.and_then(|bytes| HeaderValue::from_bytes(&bytes).ok());
            StoredAnswer::new(status, content_type, body.unwrap_or_default())
        });
    Some(Begin::Completed(answer))
}

fn answer_columns(
    answer: Option<&StoredAnswer>,
) -> (Option<i32>, Option<Vec<u8>>, Option<Vec<u8>>) {
    answer.map_or((None, None, None), |answer| {
        (
            Some(i32::from(answer.status().as_u16())),
            answer.content_type().map(|value| value.as_bytes().to_vec()),
            Some(answer.body().to_vec()),
        )
    })
}

#[cfg(feature = "sqlite")]
pub use sqlite::SqliteIdempotencyStore;

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use sqlx::SqlitePool;
    use sqlx::sqlite::SqliteConnectOptions;

    use super::{
        AtomicU64, BEGIN_ATTEMPTS, Begin, IdempotencyError, IdempotencyFuture, IdempotencyStore,
        Ordering, PURGE_BATCH, PURGE_EVERY, ReceiptRow, ReplayKey, ReservationToken,
        STATE_COMPLETED, STATE_RESERVED, StoredAnswer, answer_columns, database_error, interpret,
        millis, new_token, token_column, token_value,
    };
    use crate::store::SqliteStore;

    const CREATE: &str = "CREATE TABLE IF NOT EXISTS titan_webhooks_receipts (
            key TEXT PRIMARY KEY NOT NULL,
            token INTEGER NOT NULL,
            state INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            status INTEGER,
            content_type BLOB,
            body BLOB
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS titan_webhooks_receipts_expiry
            ON titan_webhooks_receipts (expires_at);";

    /// An [`IdempotencyStore`] in a SQLite file, shared by the processes on
    /// one machine and kept across restarts. It keeps its table,
    /// `titan_webhooks_receipts`, beside a [`SqliteStore`]'s if given the
    /// same file.
    ///
    /// ```
    /// use titan_webhooks::receiver::{IdempotencyLayer, Receiver};
    /// use titan_webhooks::store::SqliteIdempotencyStore;
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("receipts.db");
    /// let store = SqliteIdempotencyStore::open(&path).await?;
    /// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?))
    ///     .with_idempotency(store);
    /// assert!(receiver.idempotency().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[derive(Debug, Clone)]
    pub struct SqliteIdempotencyStore {
        pool: SqlitePool,
        begins: Arc<AtomicU64>,
    }

    impl SqliteIdempotencyStore {
        /// Opens (or creates) the database at `path` with the same settings
        /// as [`SqliteStore::open`]: WAL and `synchronous = FULL`, so a
        /// completed delivery survives a power loss.
        ///
        /// # Errors
        ///
        /// [`IdempotencyError`] when the file cannot be opened or the table
        /// created.
        pub async fn open(path: impl AsRef<Path>) -> Result<Self, IdempotencyError> {
            Self::open_with(SqliteStore::connect_options(path)).await
        }

        /// Opens the database with your own options.
        ///
        /// # Errors
        ///
        /// As [`SqliteIdempotencyStore::open`].
        pub async fn open_with(options: SqliteConnectOptions) -> Result<Self, IdempotencyError> {
            let pool = SqlitePool::connect_with(options)
                .await
                .map_err(|err| database_error(&err))?;
            Self::from_pool(pool).await
        }

        /// Uses an existing pool, creating the table if it is missing.
        ///
        /// # Errors
        ///
        /// As [`SqliteIdempotencyStore::open`].
        pub async fn from_pool(pool: SqlitePool) -> Result<Self, IdempotencyError> {
            sqlx::raw_sql(CREATE)
                .execute(&pool)
                .await
                .map_err(|err| database_error(&err))?;
            Ok(Self {
                pool,
                begins: Arc::default(),
            })
        }

        /// Deletes every expired row now, and returns how many there were.
        /// Receiving also deletes them, a few at a time.
        ///
        /// # Errors
        ///
        /// [`IdempotencyError`] from the database.
        pub async fn purge_expired(&self) -> Result<u64, IdempotencyError> {
            sqlx::query("DELETE FROM titan_webhooks_receipts WHERE expires_at <= ?1")
                .bind(now_ms())
                .execute(&self.pool)
                .await
                .map(|done| done.rows_affected())
                .map_err(|err| database_error(&err))
        }

        /// How many rows the table holds, expired ones not yet purged
        /// included.
        ///
        /// # Errors
        ///
        /// [`IdempotencyError`] from the database.
        pub async fn row_count(&self) -> Result<u64, IdempotencyError> {
            let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM titan_webhooks_receipts")
                .fetch_one(&self.pool)
                .await
                .map_err(|err| database_error(&err))?;
            Ok(u64::try_from(count).unwrap_or(0))
        }

        async fn begin_key(&self, key: &str, lease: Duration) -> Result<Begin, IdempotencyError> {
            if self
                .begins
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(PURGE_EVERY)
            {
                sqlx::query(
                    "DELETE FROM titan_webhooks_receipts WHERE key IN (
                        SELECT key FROM titan_webhooks_receipts WHERE expires_at <= ?1 LIMIT ?2)",
                )
                .bind(now_ms())
                .bind(PURGE_BATCH)
                .execute(&self.pool)
                .await
                .map_err(|err| database_error(&err))?;
            }
            for _ in 0..BEGIN_ATTEMPTS {
                let now = now_ms();
                let token = new_token()?;
                let taken: Option<(i64,)> = sqlx::query_as(
                    "INSERT INTO titan_webhooks_receipts (key, token, state, expires_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (key) DO UPDATE SET token = excluded.token,
                         state = excluded.state, expires_at = excluded.expires_at,
                         status = NULL, content_type = NULL, body = NULL
                     WHERE titan_webhooks_receipts.expires_at <= ?5
                     RETURNING token",
                )
                .bind(key)
                .bind(token)
                .bind(STATE_RESERVED)
                .bind(now.saturating_add(millis(lease)))
                .bind(now)
                .fetch_optional(&self.pool)
                .await
                .map_err(|err| database_error(&err))?;
                if let Some((token,)) = taken {
                    return Ok(Begin::Reserved(token_value(token)));
                }
                let row: Option<ReceiptRow> = sqlx::query_as(
                    "SELECT state, token, expires_at, status, content_type, body
                     FROM titan_webhooks_receipts WHERE key = ?1",
                )
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(|err| database_error(&err))?;
                if let Some(begun) = row.and_then(|row| interpret(row, now_ms())) {
                    return Ok(begun);
                }
            }
            Err(IdempotencyError::new(
                "the delivery's key kept changing hands; try again",
            ))
        }
    }

    fn now_ms() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, millis)
    }

    impl IdempotencyStore for SqliteIdempotencyStore {
        fn begin<'a>(
            &'a self,
            key: &'a ReplayKey,
            lease: Duration,
        ) -> IdempotencyFuture<'a, Begin> {
            Box::pin(self.begin_key(key.as_str(), lease))
        }

        fn complete<'a>(
            &'a self,
            key: &'a ReplayKey,
            token: ReservationToken,
            ttl: Duration,
            answer: Option<&'a StoredAnswer>,
        ) -> IdempotencyFuture<'a, ()> {
            let (status, content_type, body) = answer_columns(answer);
            Box::pin(async move {
                // Completed even if the reservation lapsed: the handler ran.
                sqlx::query(
                    "INSERT INTO titan_webhooks_receipts
                         (key, token, state, expires_at, status, content_type, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (key) DO UPDATE SET token = excluded.token,
                         state = excluded.state, expires_at = excluded.expires_at,
                         status = excluded.status, content_type = excluded.content_type,
                         body = excluded.body",
                )
                .bind(key.as_str())
                .bind(token_column(token))
                .bind(STATE_COMPLETED)
                .bind(now_ms().saturating_add(millis(ttl)))
                .bind(status)
                .bind(content_type)
                .bind(body)
                .execute(&self.pool)
                .await
                .map(drop)
                .map_err(|err| database_error(&err))
            })
        }

        fn release<'a>(
            &'a self,
            key: &'a ReplayKey,
            token: ReservationToken,
        ) -> IdempotencyFuture<'a, ()> {
            Box::pin(async move {
                sqlx::query(
                    "DELETE FROM titan_webhooks_receipts
                     WHERE key = ?1 AND token = ?2 AND state = ?3",
                )
                .bind(key.as_str())
                .bind(token_column(token))
                .bind(STATE_RESERVED)
                .execute(&self.pool)
                .await
                .map(drop)
                .map_err(|err| database_error(&err))
            })
        }
    }
}

#[cfg(feature = "postgres")]
pub use postgres::PostgresIdempotencyStore;

#[cfg(feature = "postgres")]
mod postgres {
    use std::sync::Arc;
    use std::time::Duration;

    use sqlx::PgPool;
    use sqlx::postgres::PgPoolOptions;

    use super::{
        AtomicU64, BEGIN_ATTEMPTS, Begin, IdempotencyError, IdempotencyFuture, IdempotencyStore,
        Ordering, PURGE_BATCH, PURGE_EVERY, ReceiptRow, ReplayKey, ReservationToken,
        STATE_COMPLETED, STATE_RESERVED, StoredAnswer, answer_columns, database_error, interpret,
        millis, new_token, token_column, token_value,
    };

    /// The database's clock in milliseconds: every process behind the load
    /// balancer reads the same one.
    macro_rules! now_ms {
        () => {
            "(extract(epoch from clock_timestamp()) * 1000)::bigint"
        };
    }

    /// A row read back with the database's clock.
    type TimedRow = (
        i16,
        i64,
        i64,
        Option<i32>,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        i64,
    );

    /// A transaction-level advisory lock key, so processes starting
    /// together create the table once.
    const CREATE_LOCK: i64 = 0x7469_7461_6e72_6370; // "titanrcp"

    const CREATE: &str = "CREATE TABLE IF NOT EXISTS titan_webhooks_receipts (
            key TEXT PRIMARY KEY,
            token BIGINT NOT NULL,
            state SMALLINT NOT NULL,
            expires_at BIGINT NOT NULL,
            status INTEGER,
            content_type BYTEA,
            body BYTEA
        )";
    const CREATE_INDEX: &str = "CREATE INDEX IF NOT EXISTS titan_webhooks_receipts_expiry
            ON titan_webhooks_receipts (expires_at)";

    /// An [`IdempotencyStore`] on Postgres, shared by every receiving
    /// process behind a load balancer: of two processes receiving the same
    /// delivery at the same moment, one runs the handler and the other
    /// answers `409` until it is done, then `200`. Times come from the
    /// database's clock.
    ///
    /// ```no_run
    /// use titan_webhooks::receiver::Receiver;
    /// use titan_webhooks::store::PostgresIdempotencyStore;
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = PostgresIdempotencyStore::connect("postgres://webhooks@db.internal/app").await?;
    /// let receiver = Receiver::new(Verifier::new(Scheme::eventium(), Secret::from_utf8("k")?))
    ///     .with_idempotency(store);
    /// # Ok(())
    /// # }
    /// ```
    #[derive(Debug, Clone)]
    pub struct PostgresIdempotencyStore {
        pool: PgPool,
        begins: Arc<AtomicU64>,
    }

    impl PostgresIdempotencyStore {
        /// Connects to `url` with a pool of up to 10 connections and
        /// creates the table if it is missing.
        ///
        /// # Errors
        ///
        /// [`IdempotencyError`] when the database cannot be reached or the
        /// table created.
        pub async fn connect(url: &str) -> Result<Self, IdempotencyError> {
            let pool = PgPoolOptions::new()
                .max_connections(10)
                .connect(url)
                .await
                .map_err(|err| database_error(&err))?;
            Self::from_pool(pool).await
        }

        /// Uses an existing pool, creating the table if it is missing.
        ///
        /// # Errors
        ///
        /// As [`PostgresIdempotencyStore::connect`].
        pub async fn from_pool(pool: PgPool) -> Result<Self, IdempotencyError> {
            let mut tx = pool.begin().await.map_err(|err| database_error(&err))?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(CREATE_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(|err| database_error(&err))?;
            for statement in [CREATE, CREATE_INDEX] {
                sqlx::query(statement)
                    .execute(&mut *tx)
                    .await
                    .map_err(|err| database_error(&err))?;
            }
            tx.commit().await.map_err(|err| database_error(&err))?;
            Ok(Self {
                pool,
                begins: Arc::default(),
            })
        }

        /// Deletes every expired row now, and returns how many there were.
        /// Receiving also deletes them, a few at a time.
        ///
        /// # Errors
        ///
        /// [`IdempotencyError`] from the database.
        pub async fn purge_expired(&self) -> Result<u64, IdempotencyError> {
            sqlx::query(concat!(
                "DELETE FROM titan_webhooks_receipts WHERE expires_at <= ",
                now_ms!(),
                ""
            ))
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(|err| database_error(&err))
        }

        /// How many rows the table holds, expired ones not yet purged
        /// included.
        ///
        /// # Errors
        ///
        /// [`IdempotencyError`] from the database.
        pub async fn row_count(&self) -> Result<u64, IdempotencyError> {
            let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM titan_webhooks_receipts")
                .fetch_one(&self.pool)
                .await
                .map_err(|err| database_error(&err))?;
            Ok(u64::try_from(count).unwrap_or(0))
        }

        async fn begin_key(&self, key: &str, lease: Duration) -> Result<Begin, IdempotencyError> {
            if self
                .begins
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(PURGE_EVERY)
            {
                sqlx::query(concat!(
                    "DELETE FROM titan_webhooks_receipts WHERE key IN (
                        SELECT key FROM titan_webhooks_receipts WHERE expires_at <= ",
                    now_ms!(),
                    "
                        LIMIT $1 FOR UPDATE SKIP LOCKED)"
                ))
                .bind(PURGE_BATCH)
                .execute(&self.pool)
                .await
                .map_err(|err| database_error(&err))?;
            }
            for _ in 0..BEGIN_ATTEMPTS {
                let token = new_token()?;
                // The conflicting row is locked while the WHERE is checked,
                // so two processes cannot both take it.
                let taken: Option<(i64,)> = sqlx::query_as(concat!(
                    "INSERT INTO titan_webhooks_receipts AS r (key, token, state, expires_at)
                     VALUES ($1, $2, $3, ",
                    now_ms!(),
                    " + $4)
                     ON CONFLICT (key) DO UPDATE SET token = excluded.token,
                         state = excluded.state, expires_at = excluded.expires_at,
                         status = NULL, content_type = NULL, body = NULL
                     WHERE r.expires_at <= ",
                    now_ms!(),
                    "
                     RETURNING token"
                ))
                .bind(key)
                .bind(token)
                .bind(STATE_RESERVED)
                .bind(millis(lease))
                .fetch_optional(&self.pool)
                .await
                .map_err(|err| database_error(&err))?;
                if let Some((token,)) = taken {
                    return Ok(Begin::Reserved(token_value(token)));
                }
                let row: Option<TimedRow> = sqlx::query_as(concat!(
                    "SELECT state, token, expires_at, status, content_type, body, ",
                    now_ms!(),
                    "
                         FROM titan_webhooks_receipts WHERE key = $1"
                ))
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(|err| database_error(&err))?;
                let begun = row.and_then(|(state, token, expires, status, ct, body, now)| {
                    let row: ReceiptRow = (state, token, expires, status, ct, body);
                    interpret(row, now)
                });
                if let Some(begun) = begun {
                    return Ok(begun);
                }
            }
            Err(IdempotencyError::new(
                "the delivery's key kept changing hands; try again",
            ))
        }
    }

    impl IdempotencyStore for PostgresIdempotencyStore {
        fn begin<'a>(
            &'a self,
            key: &'a ReplayKey,
            lease: Duration,
        ) -> IdempotencyFuture<'a, Begin> {
            Box::pin(self.begin_key(key.as_str(), lease))
        }

        fn complete<'a>(
            &'a self,
            key: &'a ReplayKey,
            token: ReservationToken,
            ttl: Duration,
            answer: Option<&'a StoredAnswer>,
        ) -> IdempotencyFuture<'a, ()> {
            let (status, content_type, body) = answer_columns(answer);
            Box::pin(async move {
                // Completed even if the reservation lapsed: the handler ran.
                sqlx::query(concat!(
                    "INSERT INTO titan_webhooks_receipts
                         (key, token, state, expires_at, status, content_type, body)
                     VALUES ($1, $2, $3, ",
                    now_ms!(),
                    " + $4, $5, $6, $7)
                     ON CONFLICT (key) DO UPDATE SET token = excluded.token,
                         state = excluded.state, expires_at = excluded.expires_at,
                         status = excluded.status, content_type = excluded.content_type,
                         body = excluded.body"
                ))
                .bind(key.as_str())
                .bind(token_column(token))
                .bind(STATE_COMPLETED)
                .bind(millis(ttl))
                .bind(status)
                .bind(content_type)
                .bind(body)
                .execute(&self.pool)
                .await
                .map(drop)
                .map_err(|err| database_error(&err))
            })
        }

        fn release<'a>(
            &'a self,
            key: &'a ReplayKey,
            token: ReservationToken,
        ) -> IdempotencyFuture<'a, ()> {
            Box::pin(async move {
                sqlx::query(
                    "DELETE FROM titan_webhooks_receipts
                     WHERE key = $1 AND token = $2 AND state = $3",
                )
                .bind(key.as_str())
                .bind(token_column(token))
                .bind(STATE_RESERVED)
                .execute(&self.pool)
                .await
                .map(drop)
                .map_err(|err| database_error(&err))
            })
        }
    }
}
