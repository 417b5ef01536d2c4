//! What a webhook store keeps, and the trait its backends implement.
//!
//! A backend only persists rows: validation, sealing, ids shown to owners
//! and health decisions live in [`WebhookStore`](super::WebhookStore), once
//! for every backend.

use std::future::Future;
use std::time::SystemTime;

use super::{Health, HealthUpdate};
use crate::queue::StoreError;
use crate::retry::RetryPolicy;

/// A webhook as a backend stores it. Its secrets and custom headers are
/// sealed; everything else is plain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRow {
    /// The id the backend assigned; ignored by [`WebhookBackend::insert`].
    pub id: u64,
    /// The owner (account or tenant) the webhook belongs to.
    pub owner: String,
    /// The name of the catalog its events come from.
    pub catalog: String,
    /// The name of the scheme it is signed with.
    pub scheme: String,
    /// Where deliveries go.
    pub url: String,
    /// The event types it subscribes to; empty means all.
    pub events: Vec<String>,
    /// The session it subscribes to; `None` means all.
    pub session: Option<String>,
    /// Whether deliveries are sent.
    pub enabled: bool,
    /// The seeds' retry object, if one was given.
    pub retries: Option<RetryPolicy>,
    /// The owner's label.
    pub label: Option<String>,
    /// When it was created.
    pub created_at: SystemTime,
    /// The custom headers as JSON, sealed.
    pub headers: Vec<u8>,
    /// The signing secret, sealed.
    pub secret: Vec<u8>,
    /// The secret it replaced, sealed, kept until `previous_expires_at`.
    pub previous_secret: Option<Vec<u8>>,
    /// When the previous secret stops signing.
    pub previous_expires_at: Option<SystemTime>,
    /// Its delivery health.
    pub health: Health,
    /// The store-wide revision of its last change; set by the backend.
    pub revision: u64,
}

/// Which of an owner's webhooks to list, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowFilter<'a> {
    /// Only webhooks older than this id.
    pub before: Option<u64>,
    /// Only enabled (`Some(true)`) or disabled (`Some(false)`) webhooks.
    pub enabled: Option<bool>,
    /// Only webhooks of this catalog.
    pub catalog: Option<&'a str>,
    /// At most this many.
    pub limit: usize,
}

/// A change a backend reports to the processes that cache its webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowChange {
    /// The webhook that changed.
    pub id: u64,
    /// Its owner.
    pub owner: String,
    /// The revision of the change.
    pub revision: u64,
}

/// Storage for webhooks: the memory, SQLite and Postgres stores implement
/// it, and [`WebhookStore`](super::WebhookStore) adds the rules.
///
/// Every write takes the next value of one store-wide revision counter, in
/// order of commit, so a process that read revision `r` learns every later
/// change from [`WebhookBackend::changes_since`]. A deleted webhook leaves
/// a tombstone (its secrets wiped) for the same reason.
pub trait WebhookBackend: Send + Sync + 'static {
    /// Stores a new webhook under the next id and revision; returns the row
    /// as stored.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the database fails or a stored row does
    /// not decode.
    fn insert(
        &self,
        row: WebhookRow,
    ) -> impl Future<Output = Result<WebhookRow, StoreError>> + Send;

    /// The webhook with this id, unless it is deleted.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the database fails or a stored row does
    /// not decode.
    fn fetch(&self, id: u64)
    -> impl Future<Output = Result<Option<WebhookRow>, StoreError>> + Send;

    /// The owner's webhooks matching `filter`, newest (highest id) first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the database fails or a stored row does
    /// not decode.
    fn list(
        &self,
        owner: &str,
        filter: &RowFilter<'_>,
    ) -> impl Future<Output = Result<Vec<WebhookRow>, StoreError>> + Send;

    /// Replaces the stored row with `row` if its revision is still
    /// `row.revision` and it belongs to `row.owner`; returns the row with
    /// its new revision, or `None` if it changed meanwhile or is gone.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the database fails or a stored row does
    /// not decode.
    fn replace(
        &self,
        row: &WebhookRow,
    ) -> impl Future<Output = Result<Option<WebhookRow>, StoreError>> + Send;

    /// Deletes the owner's webhook, leaving a tombstone; `false` if there
    /// is none.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the database fails or a stored row does
    /// not decode.
    fn delete(&self, owner: &str, id: u64)
    -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Applies one health change as a single atomic write; returns the row
    /// after it, or `None` if the webhook is gone.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the database fails or a stored row does
    /// not decode.
    fn update_health(
        &self,
        id: u64,
        update: HealthUpdate,
    ) -> impl Future<Output = Result<Option<WebhookRow>, StoreError>> + Send;

    /// The latest revision: cheap, for processes checking whether anything
    /// changed.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the database fails or a stored row does
    /// not decode.
    fn revision(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Webhooks changed or deleted after `revision`, oldest first.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the database fails or a stored row does
    /// not decode.
    fn changes_since(
        &self,
        revision: u64,
    ) -> impl Future<Output = Result<Vec<RowChange>, StoreError>> + Send;

    /// Forgets previous secrets whose grace ended at or before `now`;
    /// returns how many.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the database fails or a stored row does
    /// not decode.
    fn purge_expired_secrets(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The key checks stored so far: a known value sealed under each key id
    /// that has written to this store.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the database fails or a stored row does
    /// not decode.
    fn key_checks(&self) -> impl Future<Output = Result<Vec<(u32, Vec<u8>)>, StoreError>> + Send;

    /// Stores the key check for `key_id`, unless one exists.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the database fails or a stored row does
    /// not decode.
    fn add_key_check(
        &self,
        key_id: u32,
        sealed: Vec<u8>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Counts notifications of changes made by other processes, where the
    /// backend gets them (Postgres `LISTEN`). A cache refreshes when it
    /// moves. The default never moves; caches then poll
    /// [`WebhookBackend::revision`].
    fn notifications(&self) -> u64 {
        0
    }
}
