//! Durable delivery stores: [`SqliteStore`] (feature `sqlite`), embedded in
//! the process, and [`PostgresStore`] (feature `postgres`), shared by many
//! sender processes; and the webhooks beside them, [`SqliteWebhooks`] and
//! [`PostgresWebhooks`], backends of a
//! [`WebhookStore`](crate::webhooks::WebhookStore).
//!
//! Both keep the same tables, created by embedded migrations when the store
//! opens (the applied versions are kept in `titan_webhooks_migrations`):
//!
//! - `titan_webhooks_envelopes`: an envelope's bytes, once for all its
//!   deliveries;
//! - `titan_webhooks_deliveries`: one row per (envelope, webhook), with its
//!   state, attempt count, next attempt time and lease. An envelope is
//!   queued at most once per webhook, so enqueueing is idempotent;
//! - `titan_webhooks_attempts`: every attempt as the observer saw it,
//!   append-only.
//! - `titan_webhooks_webhooks`: one row per webhook, its fields in plain
//!   columns and its signing keys and custom headers only sealed
//!   (`secret_sealed`, `previous_secret_sealed`, `headers_sealed`); a
//!   deleted webhook stays as a tombstone with those wiped;
//! - `titan_webhooks_webhook_revision`: one row counting changes to
//!   webhooks, which every webhook write takes the next value of, so other
//!   processes find what changed since they last looked;
//! - `titan_webhooks_webhook_key_checks`: a known value sealed under each
//!   sealing key that has written, so a wrong key is refused at once.
//!
//! A delivery is claimed under a lease that outlasts the request timeout,
//! renewed while its attempt runs; the attempt and the delivery's next
//! state are written in the transaction that releases it; a lease whose
//! dispatcher died lapses and the delivery is claimed again. Delivery is
//! at least once: a dispatcher killed after the receiver answered and before
//! the attempt was recorded leaves a delivery that is sent again, with the
//! same envelope id, which receivers use to drop the duplicate.
//!
//! For receivers, [`SqliteIdempotencyStore`] and
//! [`PostgresIdempotencyStore`] keep which deliveries were handled in a
//! table of their own, `titan_webhooks_receipts`.
//!
//! Both stores also offer the transactional outbox, `enqueue_in_tx`: the
//! deliveries are queued inside your own transaction, so an event is queued
//! if and only if your change commits.

mod codec;
#[cfg(feature = "sqlite")]
mod file_lock;
mod idempotency;
#[cfg(feature = "postgres")]
mod postgres;
mod shared;
#[cfg(feature = "sqlite")]
mod sqlite;
mod webhooks;

#[cfg(feature = "postgres")]
pub use idempotency::PostgresIdempotencyStore;
#[cfg(feature = "sqlite")]
pub use idempotency::SqliteIdempotencyStore;
#[cfg(feature = "postgres")]
pub use postgres::{NOTIFY_CHANNEL, PostgresStore, PostgresWebhooks, WEBHOOK_CHANGES_CHANNEL};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteStore, SqliteWebhooks};
