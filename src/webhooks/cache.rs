//! [`StoredSubscriptions`]: the dispatcher's view of a webhook store, kept
//! in step with every process that writes to it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use super::backend::{RowFilter, WebhookBackend};
use super::model::Owner;
use super::store::{WebhookStore, WebhookStoreError, row_id};
use super::{Disabled, Health, HealthPolicy, HealthSignal, HealthUpdate};
use crate::Deliverable;
use crate::queue::{EnvelopeRecord, Lookup, Prepared, Route, StoreError, SubscriptionSource};
use crate::subscription::{Webhook, WebhookId};

/// How stale a process's view of webhooks changed by other processes may
/// be, at most: one second. Changes made through the same
/// [`WebhookStore`] are seen at once, and Postgres's `NOTIFY` usually tells
/// other processes within milliseconds.
pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(1);

/// A page size for loading an owner's webhooks.
const ROUTE_PAGE: usize = 1000;
/// How often a process removes previous secrets whose grace has ended,
/// even from webhooks that receive nothing.
const PURGE_EVERY_MS: u64 = 60_000;

/// Reads a [`WebhookStore`] for a [`Dispatcher`](crate::transport::Dispatcher),
/// through a cache every sender process keeps in step:
///
/// - a change made through the same store is seen at once;
/// - a change made by another process is seen within
///   [`DEFAULT_MAX_STALENESS`] (set with [`StoredSubscriptions::max_staleness`]):
///   the cache compares the store's revision counter, and on Postgres a
///   `NOTIFY` wakes it sooner.
///
/// A webhook this process has not seen is read from the store, never
/// assumed deleted: a delivery is cancelled only when the store says its
/// webhook is deleted or disabled. It is also where the dispatcher's
/// health reports are judged by the [`HealthPolicy`] and recorded.
///
/// ```
/// use titan_webhooks::webhooks::{HealthPolicy, Keyring, MemoryWebhooks, SealingKey, WebhookStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?)).open().await?;
/// let subscriptions = store.subscriptions(HealthPolicy::default())
///     .max_staleness(std::time::Duration::from_millis(200));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct StoredSubscriptions<B> {
    store: WebhookStore<B>,
    state: Arc<CacheState>,
    policy: HealthPolicy,
    max_staleness: Duration,
}

impl<B> std::fmt::Debug for StoredSubscriptions<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSubscriptions")
            .field("policy", &self.policy)
            .field("max_staleness", &self.max_staleness)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
struct Entry {
    lookup: Lookup,
    health: Health,
    previous_expires_at: Option<SystemTime>,
}

/// The cached answers, shared with the store so its writes invalidate
/// them.
pub(super) struct CacheState {
    entries: RwLock<HashMap<u64, Entry>>,
    routes: RwLock<HashMap<String, Arc<[Webhook]>>>,
    /// Moves on every invalidation, so an answer read from the store
    /// before a change is not cached after it.
    epoch: AtomicU64,
    /// The store revision every change up to which has been applied.
    revision: AtomicU64,
    synced: AtomicBool,
    notifications: AtomicU64,
    started: Instant,
    /// Milliseconds after `started` when the revision is next compared.
    next_check_ms: AtomicU64,
    /// Milliseconds after `started` when expired secrets are next purged.
    next_purge_ms: AtomicU64,
}

impl CacheState {
    pub(super) fn invalidate(&self, owner: &str, id: u64) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        write(&self.entries).remove(&id);
        write(&self.routes).remove(owner);
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

impl<B: WebhookBackend> StoredSubscriptions<B> {
    pub(super) fn new(store: WebhookStore<B>, policy: HealthPolicy) -> Self {
        Self {
            store,
            state: Arc::new(CacheState {
                entries: RwLock::new(HashMap::new()),
                routes: RwLock::new(HashMap::new()),
                epoch: AtomicU64::new(0),
                revision: AtomicU64::new(0),
                synced: AtomicBool::new(false),
                notifications: AtomicU64::new(0),
                started: Instant::now(),
                next_check_ms: AtomicU64::new(0),
                next_purge_ms: AtomicU64::new(0),
            }),
            policy,
            max_staleness: DEFAULT_MAX_STALENESS,
        }
    }

    pub(super) fn state(&self) -> &Arc<CacheState> {
        &self.state
    }

    /// Compares the store's revision at most this often. Defaults to
    /// [`DEFAULT_MAX_STALENESS`]; zero compares on every lookup.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::{HealthPolicy, Keyring, MemoryWebhooks, SealingKey, WebhookStore};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let store = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?)).open().await?;
    /// let fresh = store.subscriptions(HealthPolicy::default()).max_staleness(std::time::Duration::ZERO);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn max_staleness(mut self, max: Duration) -> Self {
        self.max_staleness = max;
        self
    }

    /// Serializes `envelope` once and names the owner's webhooks that want
    /// it, ready to queue in your own transaction with a durable store's
    /// `enqueue_in_tx` (the transactional outbox), with no dispatcher.
    ///
    /// ```
    /// use titan_webhooks::subscription::CreateWebhook;
    /// use titan_webhooks::webhooks::{Flavour, HealthPolicy, Keyring, MemoryWebhooks, Owner, SealingKey, WebhookStore};
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?)).open().await?;
    /// let owner = Owner::new("acct_1")?;
    /// store.create(&owner, &Flavour::titan(), CreateWebhook::new("https://example.com/")).await?;
    /// let subscriptions = store.subscriptions(HealthPolicy::default());
    /// let prepared = subscriptions.prepare(&owner, &Envelope::new(TitanEvent::ChatRead, "s", ())).await?;
    /// assert_eq!(prepared.webhooks.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`WebhookStoreError::Envelope`] for an envelope that cannot be sent,
    /// and [`WebhookStoreError::Store`] when the store cannot be read.
    pub async fn prepare<D: Deliverable + ?Sized>(
        &self,
        owner: &Owner,
        envelope: &D,
    ) -> Result<Prepared, WebhookStoreError> {
        let record = EnvelopeRecord::from_envelope(envelope)?;
        let webhooks = self
            .route(owner, &Route::of_record(envelope, &record))
            .await?;
        Ok(Prepared { record, webhooks })
    }

    /// Applies changes other processes made, when the staleness bound or a
    /// notification says to look.
    async fn catch_up(&self) -> Result<(), StoreError> {
        let state = &self.state;
        let backend = &self.store.inner.backend;
        let notified = backend.notifications();
        let now_ms = state.elapsed_ms();
        if state.synced.load(Ordering::Acquire)
            && notified == state.notifications.load(Ordering::Acquire)
            && now_ms < state.next_check_ms.load(Ordering::Acquire)
        {
            return Ok(());
        }
        let staleness = u64::try_from(self.max_staleness.as_millis()).unwrap_or(u64::MAX);
        state
            .next_check_ms
            .store(now_ms.saturating_add(staleness), Ordering::Release);
        state.notifications.store(notified, Ordering::Release);
        let caught_up = self.read_changes().await;
        if caught_up.is_err() {
            // Look again on the next lookup rather than a window later.
            state.next_check_ms.store(0, Ordering::Release);
        }
        caught_up?;
        if now_ms >= state.next_purge_ms.load(Ordering::Acquire) {
            state
                .next_purge_ms
                .store(now_ms.saturating_add(PURGE_EVERY_MS), Ordering::Release);
            // Not fatal to the lookup: the next window tries again.
            let _ = self.store.purge_expired_secrets().await;
        }
        Ok(())
    }

    /// Invalidates what other processes changed since the last look.
    async fn read_changes(&self) -> Result<(), StoreError> {
        let state = &self.state;
        let backend = &self.store.inner.backend;
        let latest = backend.revision().await?;
        if !state.synced.swap(true, Ordering::AcqRel) {
            // Nothing is cached yet, so there is nothing to invalidate.
            state.revision.fetch_max(latest, Ordering::AcqRel);
            return Ok(());
        }
        let known = state.revision.load(Ordering::Acquire);
        if latest <= known {
            return Ok(());
        }
        for change in backend.changes_since(known).await? {
            state.invalidate(&change.owner, change.id);
            state.revision.fetch_max(change.revision, Ordering::AcqRel);
        }
        Ok(())
    }

    async fn entry(&self, id: u64) -> Result<Option<Entry>, StoreError> {
        self.catch_up().await?;
        let cached = read(&self.state.entries).get(&id).cloned();
        if let Some(entry) = cached {
            let expired = entry
                .previous_expires_at
                .is_some_and(|until| until <= self.store.now());
            if !expired {
                return Ok(Some(entry));
            }
            // The grace period ended: sign with the new secret alone.
            write(&self.state.entries).remove(&id);
        }
        let epoch = self.state.epoch.load(Ordering::Acquire);
        let Some(row) = self.store.inner.backend.fetch(id).await? else {
            return Ok(None);
        };
        let now = self.store.now();
        if row.previous_secret.is_some() && row.previous_expires_at.is_none_or(|until| until <= now)
        {
            // And take the old secret out of the store.
            self.store
                .purge_expired_secrets()
                .await
                .map_err(into_store_error)?;
        }
        let (stored, subscription) = self.store.to_subscription(row).map_err(into_store_error)?;
        let entry = Entry {
            lookup: if stored.webhook.enabled() {
                Lookup::Active(Arc::new(subscription))
            } else {
                Lookup::Disabled
            },
            health: stored.health,
            previous_expires_at: stored.previous_secret_expires_at,
        };
        let mut entries = write(&self.state.entries);
        if self.state.epoch.load(Ordering::Acquire) == epoch {
            entries.insert(id, entry.clone());
        }
        Ok(Some(entry))
    }

    async fn owner_webhooks(&self, owner: &Owner) -> Result<Arc<[Webhook]>, StoreError> {
        self.catch_up().await?;
        if let Some(webhooks) = read(&self.state.routes).get(owner.as_str()) {
            return Ok(Arc::clone(webhooks));
        }
        let epoch = self.state.epoch.load(Ordering::Acquire);
        let mut webhooks = Vec::new();
        let mut before = None;
        loop {
            let filter = RowFilter {
                before,
                enabled: Some(true),
                catalog: None,
                limit: ROUTE_PAGE,
            };
            let rows = self
                .store
                .inner
                .backend
                .list(owner.as_str(), &filter)
                .await?;
            let full = rows.len() == ROUTE_PAGE;
            before = rows.last().map(|row| row.id);
            for row in rows {
                webhooks.push(self.store.to_stored(row).map_err(into_store_error)?.webhook);
            }
            if !full {
                break;
            }
        }
        let webhooks: Arc<[Webhook]> = webhooks.into();
        let mut routes = write(&self.state.routes);
        if self.state.epoch.load(Ordering::Acquire) == epoch {
            routes.insert(owner.as_str().to_owned(), Arc::clone(&webhooks));
        }
        Ok(webhooks)
    }
}

impl<B: WebhookBackend> SubscriptionSource for StoredSubscriptions<B> {
    type Scope = Owner;

    async fn lookup(&self, id: &WebhookId) -> Result<Lookup, StoreError> {
        let Some(id) = row_id(id) else {
            return Ok(Lookup::Removed);
        };
        Ok(self
            .entry(id)
            .await?
            .map_or(Lookup::Removed, |entry| entry.lookup))
    }

    async fn route(&self, owner: &Owner, route: &Route<'_>) -> Result<Vec<WebhookId>, StoreError> {
        Ok(self
            .owner_webhooks(owner)
            .await?
            .iter()
            .filter(|webhook| webhook.wants_route(route))
            .map(|webhook| webhook.id().clone())
            .collect())
    }

    async fn report(
        &self,
        id: &WebhookId,
        signal: HealthSignal,
    ) -> Result<Option<Disabled>, StoreError> {
        let Some(id) = row_id(id) else {
            return Ok(None);
        };
        let Some(entry) = self.entry(id).await? else {
            return Ok(None);
        };
        let updates = self.policy.judge(&entry.health, signal, self.store.now());
        if updates.is_empty() {
            return Ok(None);
        }
        let row = self
            .store
            .apply_health(id, &updates)
            .await
            .map_err(into_store_error)?;
        let asked = updates.iter().find_map(|update| match update {
            HealthUpdate::Disable(disabled) => Some(*disabled),
            _ => None,
        });
        // Report a disable only if the store now holds one for this reason:
        // a time read back from a database may have lost precision.
        Ok(asked.and_then(|asked| {
            row.and_then(|row| row.health.disabled)
                .filter(|stored| stored.reason == asked.reason)
        }))
    }
}

fn into_store_error(err: WebhookStoreError) -> StoreError {
    match err {
        WebhookStoreError::Store(err) => err,
        other => StoreError::Backend {
            message: other.to_string(),
        },
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // Writers replace whole entries, so a poisoned lock is still usable.
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}
