//! [`WebhookStore`]: the seeds' rules, sealing, rotation and health over
//! any [`WebhookBackend`].

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use url::Url;
use zeroize::Zeroizing;

use super::backend::{RowFilter, WebhookBackend, WebhookRow};
use super::cache::{CacheState, StoredSubscriptions};
use super::model::{Flavour, Owner, RotatedSecret, StoredWebhook, WebhookPage, WebhookQuery};
use super::sealing::{Keyring, SealingError};
use super::{Disabled, DisabledReason, Health, HealthUpdate};
use crate::clock::{Clock, SystemClock};
use crate::queue::{StoreError, Subscription};
use crate::subscription::{
    CreateWebhook, CreatedWebhook, CustomHeader, UpdateWebhook, UpdatedWebhook, ValidationError,
    Webhook, WebhookId, WebhookRules,
};
use crate::{Catalog, Scheme, Secret, SignatureFormat, Timestamp, UrlGuard};

/// The value sealed to check that a keyring's key is the store's.
const KEY_CHECK: &[u8] = b"titan-webhooks key check";
const KEY_CHECK_CONTEXT: &[u8] = b"key-check";
/// How often an update is tried again when another writer got there first.
const UPDATE_TRIES: usize = 3;

/// Durable webhooks: create, read, list, update, delete and rotate, for
/// one owner at a time, on any [`WebhookBackend`].
///
/// Every write applies the seeds' rules ([`WebhookRules`]: the SSRF guard,
/// at most 10 custom headers, the retry object, `events` as `*`, empty or
/// omitted meaning all), so nothing invalid is stored. Keys and custom
/// header values are sealed under the [`Keyring`]. Cloning is cheap and
/// shares the store.
///
/// ```
/// use titan_webhooks::subscription::{CreateWebhook, UpdateWebhook};
/// use titan_webhooks::webhooks::{Flavour, Keyring, MemoryWebhooks, Owner, SealingKey, WebhookStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?))
///     .open()
///     .await?;
/// let owner = Owner::new("acct_1")?;
/// let created = store.create(&owner, &Flavour::titan(), CreateWebhook::new("https://example.com/hook")).await?;
/// let id = created.webhook().id().clone();
///
/// let mut disable = UpdateWebhook::default();
/// disable.enabled = Some(false);
/// store.update(&owner, &id, disable).await?;
/// assert!(!store.get(&owner, &id).await?.unwrap().webhook.enabled());
///
/// // Another owner sees nothing.
/// assert!(store.get(&Owner::new("acct_2")?, &id).await?.is_none());
/// assert!(store.delete(&owner, &id).await?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct WebhookStore<B> {
    pub(super) inner: Arc<Shared<B>>,
}

impl<B> Clone for WebhookStore<B> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<B> std::fmt::Debug for WebhookStore<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookStore")
            .field("keyring", &self.inner.keyring)
            .field("guard", &self.inner.guard)
            .finish_non_exhaustive()
    }
}

pub(super) struct Shared<B> {
    pub(super) backend: B,
    keyring: Keyring,
    guard: UrlGuard,
    pub(super) clock: Arc<dyn Clock>,
    schemes: Vec<Scheme>,
    catalogs: Vec<Catalog>,
    caches: Mutex<Vec<Weak<CacheState>>>,
}

/// Configures and opens a [`WebhookStore`].
#[must_use]
#[derive(Debug)]
pub struct WebhookStoreBuilder<B> {
    backend: B,
    keyring: Keyring,
    guard: UrlGuard,
    clock: Arc<dyn Clock>,
    schemes: Vec<Scheme>,
    catalogs: Vec<Catalog>,
}

impl<B: WebhookBackend> WebhookStoreBuilder<B> {
    /// Checks webhook URLs with `guard` on create and update. Defaults to
    /// [`UrlGuard::new`]; use the dispatcher's guard, which also checks
    /// at connect time.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::{Keyring, MemoryWebhooks, SealingKey, WebhookStore};
    /// let builder = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?))
    ///     .guard(titan_webhooks::UrlGuard::new().allow_loopback_for_testing());
    /// # Ok::<(), titan_webhooks::webhooks::SealingError>(())
    /// ```
    pub fn guard(mut self, guard: UrlGuard) -> Self {
        self.guard = guard;
        self
    }

    /// Reads time from `clock`: rotation grace periods and health. Defaults
    /// to [`SystemClock`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use titan_webhooks::clock::ManualClock;
    /// # use titan_webhooks::webhooks::{Keyring, MemoryWebhooks, SealingKey, WebhookStore};
    /// let clock = Arc::new(ManualClock::new(std::time::SystemTime::now()));
    /// let builder = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?))
    ///     .clock(clock);
    /// # Ok::<(), titan_webhooks::webhooks::SealingError>(())
    /// ```
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Registers a scheme that is not a [preset](Scheme::preset), so
    /// webhooks of a [`Flavour`] using it can be stored and read back.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::{Keyring, MemoryWebhooks, SealingKey, WebhookStore};
    /// let acme = titan_webhooks::Scheme::builder("acme", "X-Acme-Signature").build()?;
    /// let builder = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?))
    ///     .scheme(acme);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scheme(mut self, scheme: Scheme) -> Self {
        self.schemes.push(scheme);
        self
    }

    /// Registers an application's own catalog, so the event types of
    /// webhooks read back are still checked against it on update. Stored
    /// catalogs neither built in nor registered are read as
    /// [open](Catalog::open) ones.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::{Keyring, MemoryWebhooks, SealingKey, WebhookStore};
    /// let builder = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?))
    ///     .catalog(titan_webhooks::Catalog::of::<titan_webhooks::EventiumEvent>("eventium-mirror"));
    /// # Ok::<(), titan_webhooks::webhooks::SealingError>(())
    /// ```
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalogs.push(catalog);
        self
    }

    /// Opens the store, checking that the keyring opens what it sealed.
    ///
    /// ```
    /// use titan_webhooks::webhooks::{Keyring, MemoryWebhooks, SealingKey, WebhookStore};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let backend = MemoryWebhooks::new();
    /// WebhookStore::builder(backend.clone(), Keyring::new(SealingKey::from_bytes(1, [1; 32]))).open().await?;
    /// let wrong = WebhookStore::builder(backend, Keyring::new(SealingKey::from_bytes(1, [2; 32]))).open().await;
    /// assert!(wrong.unwrap_err().to_string().contains("not the key"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`WebhookStoreError::Sealing`] when a key in the keyring does not
    /// open the store's check value (a wrong key), or when the store was
    /// sealed only under keys the keyring lacks; [`WebhookStoreError::Store`]
    /// when the backend fails.
    pub async fn open(self) -> Result<WebhookStore<B>, WebhookStoreError> {
        let checks = self.backend.key_checks().await?;
        let mut opened = false;
        for (key_id, sealed) in &checks {
            if self.keyring.has_key(*key_id) {
                self.keyring.open(sealed, KEY_CHECK_CONTEXT)?;
                opened = true;
            }
        }
        if let (false, Some((key_id, _))) = (opened, checks.first()) {
            return Err(SealingError::MissingKey { key_id: *key_id }.into());
        }
        let current = self.keyring.current_id();
        if !checks.iter().any(|(key_id, _)| *key_id == current) {
            let sealed = self.keyring.seal(KEY_CHECK, KEY_CHECK_CONTEXT)?;
            self.backend.add_key_check(current, sealed).await?;
        }
        Ok(WebhookStore {
            inner: Arc::new(Shared {
                backend: self.backend,
                keyring: self.keyring,
                guard: self.guard,
                clock: self.clock,
                schemes: self.schemes,
                catalogs: self.catalogs,
                caches: Mutex::new(Vec::new()),
            }),
        })
    }
}

impl<B: WebhookBackend> WebhookStore<B> {
    /// Starts configuring a store over `backend`, sealing with `keyring`.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::{Keyring, MemoryWebhooks, SealingKey, WebhookStore};
    /// let builder = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?));
    /// # Ok::<(), titan_webhooks::webhooks::SealingError>(())
    /// ```
    pub fn builder(backend: B, keyring: Keyring) -> WebhookStoreBuilder<B> {
        WebhookStoreBuilder {
            backend,
            keyring,
            guard: UrlGuard::new(),
            clock: Arc::new(SystemClock),
            schemes: Vec::new(),
            catalogs: Vec::new(),
        }
    }

    /// Creates a webhook of `flavour` for `owner`. The response shows the
    /// key, given or generated, once; it is stored only sealed.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, CustomHeader};
    /// # use titan_webhooks::webhooks::{Flavour, Keyring, MemoryWebhooks, Owner, SealingKey, WebhookStore};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let store = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?)).open().await?;
    /// let owner = Owner::new("acct_1")?;
    /// let mut request = CreateWebhook::new("https://example.com/hook");
    /// request.headers = Some(vec![CustomHeader::new("X-Token", "t"); 11]);
    /// let refused = store.create(&owner, &Flavour::titan(), request).await;
    /// assert!(refused.unwrap_err().to_string().contains("at most 10"));
    /// assert!(store.list(&owner, &Default::default()).await?.webhooks.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`WebhookStoreError::Invalid`] for a request the seeds' rules
    /// refuse, [`WebhookStoreError::UnknownScheme`] for a scheme neither a
    /// preset nor registered, and the backend's and sealing's errors.
    pub async fn create(
        &self,
        owner: &Owner,
        flavour: &Flavour,
        request: CreateWebhook,
    ) -> Result<CreatedWebhook, WebhookStoreError> {
        let scheme = self.scheme_named(flavour.scheme().name())?;
        let rules = self.rules(scheme, flavour.catalog().clone());
        let created = rules.create(WebhookId::Number(0), request)?;
        let webhook = created.webhook();
        let row = WebhookRow {
            id: 0,
            owner: owner.as_str().to_owned(),
            catalog: webhook.catalog().name().to_owned(),
            scheme: flavour.scheme().name().to_owned(),
            url: webhook.url().as_str().to_owned(),
            events: event_names(webhook),
            session: webhook.filter().session().map(str::to_owned),
            enabled: webhook.enabled(),
            retries: webhook.retries().copied(),
            label: webhook.label().map(str::to_owned),
            created_at: system_time(webhook.created_at()),
            headers: self.seal_headers(owner, webhook.headers())?,
            secret: self.seal_secret(owner, created.secret())?,
            previous_secret: None,
            previous_expires_at: None,
            health: Health {
                disabled: (!webhook.enabled()).then(|| Disabled {
                    reason: DisabledReason::Manual,
                    at: self.inner.clock.now(),
                }),
                ..Health::default()
            },
            revision: 0,
        };
        let stored = self.inner.backend.insert(row).await?;
        self.changed(&stored.owner, stored.id);
        Ok(created.with_id(WebhookId::Number(stored.id)))
    }

    /// The owner's webhook `id`, or `None` if there is none: another
    /// owner's webhook is `None` too.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::{Keyring, MemoryWebhooks, Owner, SealingKey, WebhookStore};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let store = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?)).open().await?;
    /// assert!(store.get(&Owner::new("o")?, &"x".repeat(100 * 1024).into()).await?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// The backend's errors, and [`WebhookStoreError::Sealing`] or
    /// [`WebhookStoreError::Corrupt`] for a row that does not read back.
    pub async fn get(
        &self,
        owner: &Owner,
        id: &WebhookId,
    ) -> Result<Option<StoredWebhook>, WebhookStoreError> {
        match self.owned_row(owner, id).await? {
            Some(row) => self.to_stored(row).map(Some),
            None => Ok(None),
        }
    }

    /// A page of the owner's webhooks, newest first.
    ///
    /// ```
    /// # use titan_webhooks::subscription::CreateWebhook;
    /// # use titan_webhooks::webhooks::{Flavour, Keyring, MemoryWebhooks, Owner, SealingKey, WebhookQuery, WebhookStore};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let store = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?)).open().await?;
    /// let owner = Owner::new("o")?;
    /// for n in 0..3 {
    ///     store.create(&owner, &Flavour::titan(), CreateWebhook::new(format!("https://example.com/{n}"))).await?;
    /// }
    /// let first = store.list(&owner, &WebhookQuery::default().limit(2)).await?;
    /// assert_eq!(first.webhooks[0].webhook.url().path(), "/2");
    /// let rest = store.list(&owner, &WebhookQuery::default().after(first.next.unwrap())).await?;
    /// assert_eq!((rest.webhooks.len(), rest.next), (1, None));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// As [`WebhookStore::get`].
    pub async fn list(
        &self,
        owner: &Owner,
        query: &WebhookQuery,
    ) -> Result<WebhookPage, WebhookStoreError> {
        let limit = query.limit_or_default();
        let filter = RowFilter {
            before: query.before,
            enabled: query.enabled,
            catalog: query.catalog.as_ref().map(Catalog::name),
            limit: limit.saturating_add(1),
        };
        let mut rows = self.inner.backend.list(owner.as_str(), &filter).await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more {
            rows.last().map(|row| row.id)
        } else {
            None
        };
        let webhooks = rows
            .into_iter()
            .map(|row| self.to_stored(row))
            .collect::<Result<_, _>>()?;
        Ok(WebhookPage { webhooks, next })
    }

    /// Updates the owner's webhook with PUT semantics as seed 001 gives
    /// them: only the fields given change, `headers` replaces the list as
    /// a whole, and a new `hmacKey` takes effect at once. Enabling a
    /// disabled webhook clears its health record.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, UpdateWebhook};
    /// # use titan_webhooks::webhooks::{Flavour, Keyring, MemoryWebhooks, Owner, SealingKey, WebhookStore};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let store = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?)).open().await?;
    /// # let owner = Owner::new("o")?;
    /// let id = store.create(&owner, &Flavour::titan(), CreateWebhook::new("https://example.com/a")).await?.webhook().id().clone();
    /// let mut change = UpdateWebhook::default();
    /// change.url = Some("https://example.com/b".into());
    /// let updated = store.update(&owner, &id, change).await?;
    /// assert_eq!(updated.webhook().url().path(), "/b");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`WebhookStoreError::NotFound`] when the owner has no such webhook,
    /// [`WebhookStoreError::Invalid`] for a change the rules refuse,
    /// [`WebhookStoreError::Conflict`] when other writers kept changing it,
    /// and the backend's and sealing's errors.
    pub async fn update(
        &self,
        owner: &Owner,
        id: &WebhookId,
        update: UpdateWebhook,
    ) -> Result<UpdatedWebhook, WebhookStoreError> {
        for _ in 0..UPDATE_TRIES {
            let row = self
                .owned_row(owner, id)
                .await?
                .ok_or(WebhookStoreError::NotFound)?;
            let current = self.to_stored(row.clone())?;
            let rules = self.rules(
                self.scheme_named(&row.scheme)?,
                current.webhook.catalog().clone(),
            );
            let updated = rules.update(&current.webhook, update.clone())?;
            let webhook = updated.webhook();
            let mut next = WebhookRow {
                url: webhook.url().as_str().to_owned(),
                events: event_names(webhook),
                session: webhook.filter().session().map(str::to_owned),
                enabled: webhook.enabled(),
                retries: webhook.retries().copied(),
                label: webhook.label().map(str::to_owned),
                headers: self.seal_headers(owner, webhook.headers())?,
                ..row.clone()
            };
            if let Some(secret) = updated.new_secret() {
                next.secret = self.seal_secret(owner, secret)?;
                next.previous_secret = None;
                next.previous_expires_at = None;
            }
            match (row.enabled, next.enabled) {
                (true, false) => {
                    next.health.disabled = Some(Disabled {
                        reason: DisabledReason::Manual,
                        at: self.inner.clock.now(),
                    });
                }
                (false, true) => next.health = Health::default(),
                _ => {}
            }
            if let Some(saved) = self.inner.backend.replace(&next).await? {
                self.changed(&saved.owner, saved.id);
                let saved = self.to_stored(saved)?;
                return Ok(updated.with_webhook(saved.webhook));
            }
        }
        Err(WebhookStoreError::Conflict)
    }

    /// Deletes the owner's webhook; `false` if there was none. An attempt
    /// already under way finishes, as seed 001 says; deliveries still
    /// queued are cancelled when they come due.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::{Keyring, MemoryWebhooks, Owner, SealingKey, WebhookStore};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let store = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?)).open().await?;
    /// assert!(!store.delete(&Owner::new("o")?, &42.into()).await?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// The backend's errors.
    pub async fn delete(&self, owner: &Owner, id: &WebhookId) -> Result<bool, WebhookStoreError> {
        let Some(number) = row_id(id) else {
            return Ok(false);
        };
        let deleted = self.inner.backend.delete(owner.as_str(), number).await?;
        if deleted {
            self.changed(owner.as_str(), number);
        }
        Ok(deleted)
    }

    /// Gives the owner's webhook a new secret, returned once. Until `grace`
    /// has passed, deliveries carry signatures with both the new and the
    /// old secret where the scheme's header can carry several (Eventium and
    /// Stripe `t=…,v1=new,v1=old`, Standard Webhooks `v1,new v1,old`), so
    /// receivers can switch at their own pace. Titan's and GitHub's header
    /// carries one digest, so for them the new secret takes effect at once,
    /// as seed 001 says of a new `hmacKey`. After the grace period the old
    /// secret is removed from the store.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use titan_webhooks::subscription::CreateWebhook;
    /// # use titan_webhooks::webhooks::{Flavour, Keyring, MemoryWebhooks, Owner, SealingKey, WebhookStore};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let store = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?)).open().await?;
    /// # let owner = Owner::new("o")?;
    /// let id = store.create(&owner, &Flavour::eventium(), CreateWebhook::new("https://example.com/")).await?.webhook().id().clone();
    /// let rotated = store.rotate_secret(&owner, &id, Duration::from_secs(3600)).await?;
    /// assert!(rotated.previous_expires_at.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`WebhookStoreError::NotFound`], [`WebhookStoreError::GraceTooLong`]
    /// when the grace period's end is past what the platform's time holds,
    /// [`WebhookStoreError::Conflict`], and the backend's and sealing's
    /// errors.
    pub async fn rotate_secret(
        &self,
        owner: &Owner,
        id: &WebhookId,
        grace: Duration,
    ) -> Result<RotatedSecret, WebhookStoreError> {
        for _ in 0..UPDATE_TRIES {
            let row = self
                .owned_row(owner, id)
                .await?
                .ok_or(WebhookStoreError::NotFound)?;
            let scheme = self.scheme_named(&row.scheme)?;
            // A header with one digest never carries the old signature, so
            // its key is not kept at all.
            let one_digest = matches!(scheme.format(), SignatureFormat::Prefixed { .. });
            let (hmac_key, secret) = self
                .rules(scheme, self.catalog_named(&row.catalog))
                .generate_key()?;
            let expires_at = if grace.is_zero() || one_digest {
                None
            } else {
                Some(
                    self.inner
                        .clock
                        .now()
                        .checked_add(grace)
                        .ok_or(WebhookStoreError::GraceTooLong)?,
                )
            };
            let next = WebhookRow {
                secret: self.seal_secret(owner, &secret)?,
                previous_secret: expires_at.map(|_| row.secret.clone()),
                previous_expires_at: expires_at,
                ..row.clone()
            };
            if let Some(saved) = self.inner.backend.replace(&next).await? {
                self.changed(&saved.owner, saved.id);
                return Ok(RotatedSecret::new(id.clone(), hmac_key, expires_at));
            }
        }
        Err(WebhookStoreError::Conflict)
    }

    /// Removes previous secrets whose grace period has ended; returns how
    /// many. Deliveries already stop using them at the end of the grace
    /// period; this takes them out of the store too, and the dispatcher's
    /// cache calls it when it meets one.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::{Keyring, MemoryWebhooks, SealingKey, WebhookStore};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let store = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?)).open().await?;
    /// assert_eq!(store.purge_expired_secrets().await?, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// The backend's errors.
    pub async fn purge_expired_secrets(&self) -> Result<u64, WebhookStoreError> {
        let now = self.inner.clock.now();
        Ok(self.inner.backend.purge_expired_secrets(now).await?)
    }

    /// The cache a [`Dispatcher`](crate::transport::Dispatcher) reads this
    /// store through, judging health with `policy`.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::{HealthPolicy, Keyring, MemoryWebhooks, SealingKey, WebhookStore};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let store = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?)).open().await?;
    /// let subscriptions = store.subscriptions(HealthPolicy::default());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn subscriptions(&self, policy: super::HealthPolicy) -> StoredSubscriptions<B> {
        let cache = StoredSubscriptions::new(self.clone(), policy);
        self.lock_caches().push(Arc::downgrade(cache.state()));
        cache
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.inner.clock.now()
    }

    /// Tells this process's caches that webhook `id` of `owner` changed,
    /// so a change made here is seen here at once.
    pub(super) fn changed(&self, owner: &str, id: u64) {
        self.lock_caches().retain(|cache| match cache.upgrade() {
            Some(cache) => {
                cache.invalidate(owner, id);
                true
            }
            None => false,
        });
    }

    fn lock_caches(&self) -> std::sync::MutexGuard<'_, Vec<Weak<CacheState>>> {
        self.inner
            .caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    async fn owned_row(
        &self,
        owner: &Owner,
        id: &WebhookId,
    ) -> Result<Option<WebhookRow>, WebhookStoreError> {
        let Some(number) = row_id(id) else {
            return Ok(None);
        };
        let row = self.inner.backend.fetch(number).await?;
        Ok(row.filter(|row| row.owner == owner.as_str()))
    }

    fn rules(&self, scheme: Scheme, catalog: Catalog) -> WebhookRules {
        WebhookRules::with_scheme(self.inner.guard.clone(), scheme).with_catalog(catalog)
    }

    fn catalog_named(&self, name: &str) -> Catalog {
        self.inner
            .catalogs
            .iter()
            .find(|catalog| catalog.name() == name)
            .cloned()
            .unwrap_or_else(|| Catalog::from_stored(name))
    }

    fn scheme_named(&self, name: &str) -> Result<Scheme, WebhookStoreError> {
        self.inner
            .schemes
            .iter()
            .find(|scheme| scheme.name() == name)
            .cloned()
            .or_else(|| Scheme::preset(name))
            .ok_or_else(|| WebhookStoreError::UnknownScheme {
                name: name.chars().take(64).collect(),
            })
    }

    fn seal_secret(&self, owner: &Owner, secret: &Secret) -> Result<Vec<u8>, WebhookStoreError> {
        Ok(self
            .inner
            .keyring
            .seal(secret.expose_bytes(), &context(owner.as_str(), "secret"))?)
    }

    fn seal_headers(
        &self,
        owner: &Owner,
        headers: &[CustomHeader],
    ) -> Result<Vec<u8>, WebhookStoreError> {
        let json = Zeroizing::new(serde_json::to_vec(headers).map_err(|err| {
            WebhookStoreError::Corrupt {
                reason: err.to_string(),
            }
        })?);
        Ok(self
            .inner
            .keyring
            .seal(&json, &context(owner.as_str(), "headers"))?)
    }

    fn open_secret(&self, owner: &str, sealed: &[u8]) -> Result<Secret, WebhookStoreError> {
        let bytes = self.inner.keyring.open(sealed, &context(owner, "secret"))?;
        Secret::from_bytes(bytes.as_slice()).map_err(|err| WebhookStoreError::Corrupt {
            reason: err.to_string(),
        })
    }

    /// The row as the owner sees it: no secrets.
    pub(super) fn to_stored(&self, row: WebhookRow) -> Result<StoredWebhook, WebhookStoreError> {
        let corrupt = |reason: String| WebhookStoreError::Corrupt { reason };
        let headers_json = self
            .inner
            .keyring
            .open(&row.headers, &context(&row.owner, "headers"))?;
        let headers: Vec<CustomHeader> =
            serde_json::from_slice(&headers_json).map_err(|err| corrupt(err.to_string()))?;
        let url = Url::parse(&row.url).map_err(|err| corrupt(err.to_string()))?;
        let seconds = row
            .created_at
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|since| i64::try_from(since.as_secs()).ok())
            .ok_or_else(|| corrupt("created_at is out of range".into()))?;
        let created_at =
            Timestamp::from_unix_seconds(seconds).map_err(|err| corrupt(err.to_string()))?;
        let webhook = Webhook::restore(
            WebhookId::Number(row.id),
            url,
            self.catalog_named(&row.catalog),
            row.events,
            row.session,
            row.enabled,
            headers,
            row.retries,
            row.label,
            created_at,
        )
        .map_err(|err| corrupt(err.to_string()))?;
        let now = self.inner.clock.now();
        Ok(StoredWebhook {
            webhook,
            owner: Owner::new(row.owner).map_err(|err| corrupt(err.to_string()))?,
            scheme: row.scheme,
            health: row.health,
            previous_secret_expires_at: row
                .previous_expires_at
                .filter(|until| *until > now && row.previous_secret.is_some()),
        })
    }

    /// The row as the dispatcher signs with it.
    pub(super) fn to_subscription(
        &self,
        row: WebhookRow,
    ) -> Result<(StoredWebhook, Subscription), WebhookStoreError> {
        let scheme = self.scheme_named(&row.scheme)?;
        let secret = self.open_secret(&row.owner, &row.secret)?;
        let previous = match (&row.previous_secret, row.previous_expires_at) {
            (Some(sealed), Some(until)) if until > self.inner.clock.now() => {
                Some((self.open_secret(&row.owner, sealed)?, until))
            }
            _ => None,
        };
        let stored = self.to_stored(row)?;
        let mut subscription = Subscription::new(stored.webhook.clone(), scheme, secret);
        if let Some((previous, until)) = previous {
            subscription = subscription.with_previous_secret(previous, until);
        }
        Ok((stored, subscription))
    }

    pub(super) async fn apply_health(
        &self,
        id: u64,
        updates: &[HealthUpdate],
    ) -> Result<Option<WebhookRow>, WebhookStoreError> {
        let mut last = None;
        for update in updates {
            last = self.inner.backend.update_health(id, *update).await?;
            if last.is_none() {
                break;
            }
        }
        if let Some(row) = &last {
            self.changed(&row.owner, row.id);
        }
        Ok(last)
    }
}

/// The row id a webhook id names: Titan's integer ids, also when they
/// arrive as text from a URL path.
pub(super) fn row_id(id: &WebhookId) -> Option<u64> {
    match id {
        WebhookId::Number(number) => Some(*number),
        WebhookId::Text(text) => text.parse().ok(),
    }
}

fn event_names(webhook: &Webhook) -> Vec<String> {
    webhook.filter().events().to_vec()
}

fn system_time(timestamp: &Timestamp) -> SystemTime {
    let seconds = u64::try_from(timestamp.unix_seconds()).unwrap_or_default();
    UNIX_EPOCH
        .checked_add(Duration::from_secs(seconds))
        .unwrap_or(UNIX_EPOCH)
}

/// What a sealed value is bound to: its owner and its field.
fn context(owner: &str, field: &str) -> Vec<u8> {
    let mut context = Vec::with_capacity(owner.len().saturating_add(field.len()).saturating_add(1));
    context.extend_from_slice(owner.as_bytes());
    context.push(0);
    context.extend_from_slice(field.as_bytes());
    context
}

/// Why a webhook store operation failed. Messages never carry a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookStoreError {
    /// The request breaks the seeds' rules; nothing was stored.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The owner has no webhook with this id.
    #[error("no such webhook")]
    NotFound,
    /// Other writers kept changing the webhook; try again.
    #[error("the webhook changed while it was being updated; try again")]
    Conflict,
    /// The grace period ends later than the platform's time can hold.
    #[error("the grace period is too long")]
    GraceTooLong,
    /// The webhook's scheme is neither a preset nor registered.
    #[error("the scheme `{name}` is not a preset; register it with WebhookStoreBuilder::scheme")]
    UnknownScheme {
        /// The scheme's name.
        name: String,
    },
    /// A secret could not be sealed or opened: a wrong or missing key.
    #[error(transparent)]
    Sealing(#[from] SealingError),
    /// The envelope cannot be sent.
    #[error(transparent)]
    Envelope(#[from] crate::EnvelopeError),
    /// A stored webhook does not read back.
    #[error("a stored webhook is damaged: {reason}")]
    Corrupt {
        /// What is wrong.
        reason: String,
    },
    /// The backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
