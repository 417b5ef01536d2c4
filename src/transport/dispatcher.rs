//! The [`Dispatcher`] handle: queueing envelopes, starting, and stopping.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinHandle;

use super::DeliveryObserver;
use super::builder::DispatcherBuilder;
use super::dispatched::Dispatched;
use super::group_commit::{Committed, Interrupted, MAX_GROUP_COMMIT, Writer};
use super::held::HeldClaims;
use super::identity::Identity;
use crate::queue::{
    DeliveryKey, DeliveryStore, EnvelopeRecord, OpenDelivery, Prepared, Route, StoreError,
    SubscriptionRegistry, SubscriptionSource, WorkerName,
};
use crate::retry::RetryRules;
use crate::subscription::WebhookId;
use crate::{Deliverable, EnvelopeError, UrlGuard};

/// What a graceful shutdown leaves behind.
///
/// ```
/// use titan_webhooks::transport::ShutdownReport;
///
/// let report = ShutdownReport { finished: 3, interrupted: Vec::new(), open: Vec::new() };
/// assert_eq!(report.finished, 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Attempts that were in flight and finished within the grace period.
    pub finished: usize,
    /// Attempts still running when the grace period ended. They were
    /// stopped and handed back to the store, due at once; a receiver may
    /// have seen them, so they may arrive twice.
    pub interrupted: Vec<DeliveryKey>,
    /// Every delivery the store still has open, interrupted ones included.
    pub open: Vec<OpenDelivery>,
}

/// Delivers envelopes to every subscription that wants them, retrying each
/// on its own schedule, safely.
///
/// - Each envelope is serialized once; its bytes are shared by every
///   delivery and attempt. Each attempt is signed with the envelope's id
///   (the same on every retry) and a fresh timestamp.
/// - Requests are `POST`s with `Content-Type: application/json`, the
///   webhook's custom headers and a `User-Agent` naming this crate. Redirects
///   are never followed, proxies from the environment are ignored, TLS
///   certificates are verified, and at most 64 KiB of a response is read.
/// - The SSRF guard checks every URL before each attempt and every address
///   a name resolves to when connecting.
/// - Concurrency is bounded in all and per webhook. Work comes from a
///   [`DeliveryStore`] under leases; every attempt is recorded there and
///   handed to the observer.
/// - Concurrent dispatches share one store commit (group commit; see
///   [`MAX_GROUP_COMMIT`]), and each returns only once its own envelope
///   is committed at the store's durability.
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use titan_webhooks::queue::{MemoryStore, SubscriptionRegistry};
/// use titan_webhooks::transport::Dispatcher;
/// use titan_webhooks::{Envelope, TitanEvent};
///
/// # async fn run() -> Result<(), titan_webhooks::transport::DispatchError> {
/// let subscriptions = Arc::new(SubscriptionRegistry::new());
/// let dispatcher = Dispatcher::builder(MemoryStore::new(), Arc::clone(&subscriptions)).build()?;
/// let running = dispatcher.start();
///
/// let envelope = Envelope::new(TitanEvent::MessageReceived, "default", serde_json::json!({"text": "hi"}));
/// dispatcher.dispatch(&envelope).await?;
///
/// let report = running.shutdown(Duration::from_secs(10)).await?;
/// println!("{} deliveries still open", report.open.len());
/// # Ok(())
/// # }
/// ```
pub struct Dispatcher<S, W = SubscriptionRegistry> {
    pub(super) inner: Arc<Inner<S, W>>,
}

impl<S, W> Clone for Dispatcher<S, W> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S, W> fmt::Debug for Dispatcher<S, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("owner", &self.inner.owner)
            .field(
                "worker_name",
                &self.inner.identity.as_ref().map(Identity::name),
            )
            .field("guard", &self.inner.guard)
            .field("concurrency", &self.inner.concurrency)
            .field("endpoint_concurrency", &self.inner.endpoint_concurrency)
            .field("lease", &self.inner.lease)
            .finish_non_exhaustive()
    }
}

pub(super) struct Inner<S, W = SubscriptionRegistry> {
    pub(super) store: S,
    pub(super) subscriptions: Arc<W>,
    pub(super) client: reqwest::Client,
    pub(super) guard: Arc<UrlGuard>,
    pub(super) observer: Arc<dyn DeliveryObserver>,
    pub(super) lease: Duration,
    pub(super) poll_interval: Duration,
    pub(super) concurrency: usize,
    pub(super) endpoint_concurrency: usize,
    pub(super) endpoints: Mutex<HashMap<WebhookId, Arc<Semaphore>>>,
    /// The claims whose attempts are running; only these are renewed.
    pub(super) held: Mutex<HeldClaims>,
    /// Built once: every subscription's schedule is judged by them.
    pub(super) rules: RetryRules,
    /// Who claims: a random id, or the lease owner of the worker name.
    pub(super) owner: String,
    /// A named dispatcher's hold on its name.
    pub(super) identity: Option<Identity>,
    pub(super) wake: Notify,
    /// Commits concurrent dispatches together.
    pub(super) writer: Writer,
    /// How often the gauges are sampled from the store.
    #[cfg(feature = "metrics")]
    pub(super) metrics_interval: Duration,
}

impl<S: DeliveryStore, W: SubscriptionSource> Dispatcher<S, W> {
    /// Starts configuring a dispatcher that takes work from `store` and
    /// delivers to `subscriptions`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use titan_webhooks::queue::{MemoryStore, SubscriptionRegistry};
    /// use titan_webhooks::transport::Dispatcher;
    ///
    /// let dispatcher = Dispatcher::builder(MemoryStore::new(), Arc::new(SubscriptionRegistry::new()))
    ///     .concurrency(16)
    ///     .build()?;
    /// assert!(format!("{dispatcher:?}").contains("concurrency: 16"));
    /// # Ok::<(), titan_webhooks::transport::DispatchError>(())
    /// ```
    pub fn builder(store: S, subscriptions: Arc<W>) -> DispatcherBuilder<S, W> {
        DispatcherBuilder::new(store, subscriptions)
    }

    /// The store deliveries are queued in.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use titan_webhooks::queue::{MemoryStore, SubscriptionRegistry};
    /// use titan_webhooks::transport::Dispatcher;
    ///
    /// let dispatcher = Dispatcher::builder(MemoryStore::new(), Arc::new(SubscriptionRegistry::new())).build()?;
    /// assert!(dispatcher.store().attempts().is_empty());
    /// # Ok::<(), titan_webhooks::transport::DispatchError>(())
    /// ```
    #[must_use]
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The stable name the dispatcher holds, if it was given one with
    /// [`DispatcherBuilder::worker_name`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use titan_webhooks::queue::{MemoryStore, SubscriptionRegistry};
    /// use titan_webhooks::transport::Dispatcher;
    ///
    /// let dispatcher = Dispatcher::builder(MemoryStore::new(), Arc::new(SubscriptionRegistry::new())).build()?;
    /// assert_eq!(dispatcher.worker_name(), None, "a random owner");
    /// # Ok::<(), titan_webhooks::transport::DispatchError>(())
    /// ```
    #[must_use]
    pub fn worker_name(&self) -> Option<&WorkerName> {
        self.inner.identity.as_ref().map(Identity::name)
    }

    /// Serializes `envelope` once and names the webhooks in `scope` that
    /// want it, ready to queue inside your own database transaction with a
    /// durable store's `enqueue_in_tx` (the transactional outbox). With a
    /// [`SubscriptionRegistry`], whose scope is `()`, use
    /// [`Dispatcher::prepare`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use titan_webhooks::queue::MemoryStore;
    /// use titan_webhooks::subscription::CreateWebhook;
    /// use titan_webhooks::transport::Dispatcher;
    /// use titan_webhooks::webhooks::{Flavour, HealthPolicy, Keyring, MemoryWebhooks, Owner, SealingKey, WebhookStore};
    /// use titan_webhooks::{EventiumEnvelope, EventiumEvent};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let webhooks = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?)).open().await?;
    /// let customer = Owner::new("acct_1")?;
    /// webhooks.create(&customer, &Flavour::eventium(), CreateWebhook::new("https://example.com/hook")).await?;
    /// let subscriptions = Arc::new(webhooks.subscriptions(HealthPolicy::default()));
    /// let dispatcher = Dispatcher::builder(MemoryStore::new(), subscriptions).build()?;
    ///
    /// let test = EventiumEnvelope::new(EventiumEvent::WebhookTest, serde_json::json!({}));
    /// assert_eq!(dispatcher.prepare_for(&customer, &test).await?.webhooks.len(), 1);
    /// let stranger = Owner::new("acct_2")?;
    /// assert!(dispatcher.prepare_for(&stranger, &test).await?.webhooks.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`DispatchError::Envelope`] for an envelope that cannot be sent, and
    /// [`DispatchError::Store`] when the webhook store cannot be read.
    pub async fn prepare_for<D: Deliverable + ?Sized>(
        &self,
        scope: &W::Scope,
        envelope: &D,
    ) -> Result<Prepared, DispatchError> {
        let record = EnvelopeRecord::from_envelope(envelope)?;
        let route = Route::of_record(envelope, &record);
        let webhooks = self.inner.subscriptions.route(scope, &route).await?;
        Ok(Prepared { record, webhooks })
    }

    /// Queues `envelope` for every webhook in `scope` (the owner, with a
    /// webhook store) that wants it: enabled, of the envelope's catalog,
    /// and passing its event and session filter. Dispatching the same
    /// envelope again queues nothing new: the result tells a new envelope
    /// ([`DispatchOutcome::Queued`](super::DispatchOutcome::Queued)) from a
    /// duplicate ([`AlreadyQueued`](super::DispatchOutcome::AlreadyQueued))
    /// and from one no webhook wants
    /// ([`NoWebhook`](super::DispatchOutcome::NoWebhook)). With a
    /// [`SubscriptionRegistry`], use [`Dispatcher::dispatch`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use titan_webhooks::queue::MemoryStore;
    /// use titan_webhooks::subscription::CreateWebhook;
    /// use titan_webhooks::transport::{DispatchOutcome, Dispatcher};
    /// use titan_webhooks::webhooks::{Flavour, HealthPolicy, Keyring, MemoryWebhooks, Owner, SealingKey, WebhookStore};
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let webhooks = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?)).open().await?;
    /// let customer = Owner::new("acct_1")?;
    /// webhooks.create(&customer, &Flavour::titan(), CreateWebhook::new("https://example.com/hook")).await?;
    /// let subscriptions = Arc::new(webhooks.subscriptions(HealthPolicy::default()));
    /// let dispatcher = Dispatcher::builder(MemoryStore::new(), subscriptions).build()?;
    ///
    /// let envelope = Envelope::new(TitanEvent::MessageReceived, "default", serde_json::json!({"text": "hi"}));
    /// let dispatched = dispatcher.dispatch_for(&customer, &envelope).await?;
    /// assert_eq!(dispatched.outcome(), DispatchOutcome::Queued, "`start` delivers it");
    /// assert_eq!(dispatched.queued().len(), 1);
    ///
    /// let again = dispatcher.dispatch_for(&customer, &envelope).await?;
    /// assert_eq!(again.outcome(), DispatchOutcome::AlreadyQueued, "nothing new");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`DispatchError::Envelope`] for an envelope that cannot be sent, and
    /// [`DispatchError::Store`] when a store fails; nothing is queued then.
    pub async fn dispatch_for<D: Deliverable + ?Sized>(
        &self,
        scope: &W::Scope,
        envelope: &D,
    ) -> Result<Dispatched, DispatchError> {
        let prepared = self.prepare_for(scope, envelope).await?;
        if prepared.webhooks.is_empty() {
            return Ok(Dispatched::sort_out(
                prepared.record.id,
                prepared.webhooks,
                Vec::new(),
            ));
        }
        let mut committed = self.commit(vec![prepared]).await?;
        let Some((prepared, queued)) = committed.pop() else {
            // The writer answers every item it was given.
            return Err(DispatchError::Interrupted);
        };
        self.wake_for(queued.len());
        Ok(Dispatched::sort_out(
            prepared.record.id,
            prepared.webhooks,
            queued,
        ))
    }

    /// Queues each of `envelopes` for every webhook in `scope` that wants
    /// it, as [`Dispatcher::dispatch_for`] would, and returns one
    /// [`Dispatched`] per envelope, in order. Up to [`MAX_GROUP_COMMIT`]
    /// envelopes are committed in one store transaction (together with any
    /// other dispatches waiting), so this is much faster than dispatching
    /// them one by one. An envelope given twice is queued once; the second
    /// copy is [`AlreadyQueued`](super::DispatchOutcome::AlreadyQueued).
    /// With a [`SubscriptionRegistry`], use [`Dispatcher::dispatch_many`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use titan_webhooks::queue::MemoryStore;
    /// use titan_webhooks::subscription::CreateWebhook;
    /// use titan_webhooks::transport::{DispatchOutcome, Dispatcher};
    /// use titan_webhooks::webhooks::{Flavour, HealthPolicy, Keyring, MemoryWebhooks, Owner, SealingKey, WebhookStore};
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let webhooks = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?)).open().await?;
    /// let customer = Owner::new("acct_1")?;
    /// webhooks.create(&customer, &Flavour::titan(), CreateWebhook::new("https://example.com/hook")).await?;
    /// let subscriptions = Arc::new(webhooks.subscriptions(HealthPolicy::default()));
    /// let dispatcher = Dispatcher::builder(MemoryStore::new(), subscriptions).build()?;
    ///
    /// let envelopes: Vec<_> = (0..3)
    ///     .map(|n| Envelope::new(TitanEvent::MessageReceived, "default", serde_json::json!({"n": n})))
    ///     .collect();
    /// let dispatched = dispatcher.dispatch_many_for(&customer, &envelopes).await?;
    /// assert_eq!(dispatched.len(), 3);
    /// assert!(dispatched.iter().all(|one| one.outcome() == DispatchOutcome::Queued));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`DispatchError::Envelope`] for an envelope that cannot be sent, and
    /// [`DispatchError::Store`] when the webhook store cannot be read:
    /// nothing is queued then. [`DispatchError::Store`] when the delivery
    /// store fails to commit, and [`DispatchError::Interrupted`]: with up
    /// to [`MAX_GROUP_COMMIT`] envelopes nothing is queued then; with more,
    /// the transactions before the failed one may have committed. Either
    /// way, dispatching the same envelopes again is safe: what was queued
    /// is not queued twice.
    pub async fn dispatch_many_for<'e, D: Deliverable + ?Sized + 'e>(
        &self,
        scope: &W::Scope,
        envelopes: impl IntoIterator<Item = &'e D>,
    ) -> Result<Vec<Dispatched>, DispatchError> {
        let mut prepared = Vec::new();
        for envelope in envelopes {
            prepared.push(self.prepare_for(scope, envelope).await?);
        }
        let mut dispatched = Vec::with_capacity(prepared.len());
        let mut rest = prepared.into_iter().peekable();
        while rest.peek().is_some() {
            let chunk: Vec<Prepared> = rest.by_ref().take(MAX_GROUP_COMMIT).collect();
            let mut queued_now = 0_usize;
            for (prepared, queued) in self.commit(chunk).await? {
                queued_now = queued_now.saturating_add(queued.len());
                dispatched.push(Dispatched::sort_out(
                    prepared.record.id,
                    prepared.webhooks,
                    queued,
                ));
            }
            // Woken per commit, so a later chunk's failure leaves nothing
            // committed waiting for the next poll.
            self.wake_for(queued_now);
        }
        Ok(dispatched)
    }

    /// Commits `items` through the writer.
    async fn commit(&self, items: Vec<Prepared>) -> Result<Vec<Committed>, DispatchError> {
        match self.inner.commit(items).await {
            Ok(result) => Ok(result?),
            Err(Interrupted) => Err(DispatchError::Interrupted),
        }
    }

    /// Wakes enough of the dispatcher for `queued` new deliveries.
    fn wake_for(&self, queued: usize) {
        for _ in 0..queued.min(self.inner.concurrency) {
            self.inner.wake.notify_one();
        }
    }

    /// Tells the dispatcher to look for due work now rather than at its
    /// next poll: after a redelivery, or after a transaction that queued
    /// deliveries with `enqueue_in_tx` committed.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use titan_webhooks::queue::{MemoryStore, SubscriptionRegistry};
    /// use titan_webhooks::transport::Dispatcher;
    ///
    /// let dispatcher = Dispatcher::builder(MemoryStore::new(), Arc::new(SubscriptionRegistry::new())).build()?;
    /// dispatcher.wake(); // harmless when nothing is due
    /// # Ok::<(), titan_webhooks::transport::DispatchError>(())
    /// ```
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Starts delivering on the current tokio runtime, until
    /// [`Running::shutdown`].
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    #[must_use = "dropping the handle leaves the dispatcher running with no way to stop it gracefully"]
    pub fn start(&self) -> Running<S, W> {
        let (stop, stopped) = watch::channel(None);
        let inner = Arc::clone(&self.inner);
        let driver = tokio::spawn(Arc::clone(&inner).drive(stopped.clone()));
        #[cfg(feature = "metrics")]
        let gauges = tokio::spawn(Arc::clone(&inner).sample_queue_every(stopped.clone()));
        let maintenance = tokio::spawn(inner.maintain(stopped));
        Running {
            stop,
            driver,
            maintenance,
            #[cfg(feature = "metrics")]
            gauges,
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S: DeliveryStore, W: SubscriptionSource<Scope = ()>> Dispatcher<S, W> {
    /// [`Dispatcher::prepare_for`] for a source without owners, such as a
    /// [`SubscriptionRegistry`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use titan_webhooks::queue::{MemoryStore, SubscriptionRegistry};
    /// use titan_webhooks::transport::Dispatcher;
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let dispatcher = Dispatcher::builder(MemoryStore::new(), Arc::new(SubscriptionRegistry::new())).build()?;
    /// let prepared = dispatcher.prepare(&Envelope::new(TitanEvent::ChatRead, "s", ())).await?;
    /// assert!(prepared.webhooks.is_empty(), "no subscriptions yet");
    /// # Ok::<(), titan_webhooks::transport::DispatchError>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::prepare_for`].
    pub async fn prepare<D: Deliverable + ?Sized>(
        &self,
        envelope: &D,
    ) -> Result<Prepared, DispatchError> {
        self.prepare_for(&(), envelope).await
    }

    /// [`Dispatcher::dispatch_for`] for a source without owners, such as a
    /// [`SubscriptionRegistry`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use titan_webhooks::queue::{MemoryStore, SubscriptionRegistry};
    /// use titan_webhooks::transport::{DispatchOutcome, Dispatcher};
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let dispatcher = Dispatcher::builder(MemoryStore::new(), Arc::new(SubscriptionRegistry::new())).build()?;
    /// let dispatched = dispatcher.dispatch(&Envelope::new(TitanEvent::ChatRead, "s", ())).await?;
    /// assert_eq!(dispatched.outcome(), DispatchOutcome::NoWebhook, "no subscriptions yet");
    /// # Ok::<(), titan_webhooks::transport::DispatchError>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::dispatch_for`].
    pub async fn dispatch<D: Deliverable + ?Sized>(
        &self,
        envelope: &D,
    ) -> Result<Dispatched, DispatchError> {
        self.dispatch_for(&(), envelope).await
    }

    /// [`Dispatcher::dispatch_many_for`] for a source without owners, such
    /// as a [`SubscriptionRegistry`]: many envelopes, committed together.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use titan_webhooks::queue::{MemoryStore, Subscription, SubscriptionRegistry};
    /// use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// use titan_webhooks::transport::{DispatchOutcome, Dispatcher};
    /// use titan_webhooks::{Envelope, Scheme, TitanEvent, UrlGuard};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let subscriptions = Arc::new(SubscriptionRegistry::new());
    /// let (webhook, secret) = WebhookRules::new(UrlGuard::new())
    ///     .create(1.into(), CreateWebhook::new("https://example.com/"))?
    ///     .into_parts();
    /// subscriptions.upsert(Subscription::new(webhook, Scheme::titan(), secret));
    /// let dispatcher = Dispatcher::builder(MemoryStore::new(), subscriptions).build()?;
    ///
    /// let first = Envelope::new(TitanEvent::ChatRead, "s", ());
    /// let second = Envelope::new(TitanEvent::ChatRead, "s", ());
    /// let dispatched = dispatcher.dispatch_many([&first, &second, &first]).await?;
    /// let outcomes: Vec<_> = dispatched.iter().map(|one| one.outcome()).collect();
    /// assert_eq!(outcomes, [DispatchOutcome::Queued, DispatchOutcome::Queued, DispatchOutcome::AlreadyQueued]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Dispatcher::dispatch_many_for`].
    pub async fn dispatch_many<'e, D: Deliverable + ?Sized + 'e>(
        &self,
        envelopes: impl IntoIterator<Item = &'e D>,
    ) -> Result<Vec<Dispatched>, DispatchError> {
        self.dispatch_many_for(&(), envelopes).await
    }
}

/// A started dispatcher; see [`Dispatcher::start`].
#[must_use = "call shutdown to stop gracefully"]
pub struct Running<S, W = SubscriptionRegistry> {
    /// The deadline for attempts in flight, once a shutdown begins.
    stop: watch::Sender<Option<tokio::time::Instant>>,
    driver: JoinHandle<usize>,
    maintenance: JoinHandle<()>,
    #[cfg(feature = "metrics")]
    gauges: JoinHandle<()>,
    inner: Arc<Inner<S, W>>,
}

impl<S, W> fmt::Debug for Running<S, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Running")
            .field("owner", &self.inner.owner)
            .finish_non_exhaustive()
    }
}

impl<S: DeliveryStore, W: SubscriptionSource> Running<S, W> {
    /// Stops claiming work, waits up to `grace` for attempts in flight, then
    /// stops the rest and hands their deliveries back to the store. Nothing
    /// is dropped: the report lists what was interrupted and what is still
    /// open.
    ///
    /// # Errors
    ///
    /// [`DispatchError::Store`] if the store cannot list open deliveries.
    pub async fn shutdown(self, grace: Duration) -> Result<ShutdownReport, DispatchError> {
        let deadline = tokio::time::Instant::now().checked_add(grace);
        let _ = self
            .stop
            .send(Some(deadline.unwrap_or_else(tokio::time::Instant::now)));
        let finished = self.driver.await.unwrap_or_default();
        self.maintenance.abort();
        let interrupted = self.inner.hand_back().await;
        #[cfg(feature = "metrics")]
        {
            self.gauges.abort();
            // The last word: what this dispatcher leaves in the store.
            self.inner.sample_queue().await;
        }
        let open = self.inner.store.open_deliveries().await?;
        Ok(ShutdownReport {
            finished,
            interrupted,
            open,
        })
    }
}

impl<S, W> Inner<S, W> {
    pub(super) fn lock_held(&self) -> std::sync::MutexGuard<'_, HeldClaims> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An envelope could not be dispatched.
///
/// ```
/// use titan_webhooks::EnvelopeError;
/// use titan_webhooks::transport::DispatchError;
///
/// let err = DispatchError::from(EnvelopeError::InvalidId);
/// assert_eq!(err.to_string(), "an envelope id must be 1 to 256 visible ASCII characters without `.`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DispatchError {
    /// The envelope cannot be sent: its id cannot be signed by every
    /// scheme, or its payload does not serialize.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The delivery store failed; nothing was queued.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The task that commits dispatches stopped before it answered,
    /// because its tokio runtime shut down or the store panicked. The
    /// envelope may or may not be queued; dispatching it again is safe, as
    /// what was queued is not queued twice.
    ///
    /// ```
    /// use titan_webhooks::transport::DispatchError;
    ///
    /// assert!(DispatchError::Interrupted.to_string().contains("may or may not"));
    /// ```
    #[error(
        "the dispatch was interrupted before its commit was confirmed; it may or may not be queued"
    )]
    Interrupted,
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built: {reason}")]
    Client {
        /// The client's message.
        reason: String,
    },
    /// Another live worker holds the worker name this dispatcher was to
    /// run under; see
    /// [`DispatcherBuilder::worker_name`](super::DispatcherBuilder::worker_name).
    /// Two live workers never share a name: give each host or pod its own,
    /// or stop the other first.
    ///
    /// ```
    /// use titan_webhooks::queue::WorkerName;
    /// use titan_webhooks::transport::DispatchError;
    ///
    /// let err = DispatchError::WorkerNameInUse { name: WorkerName::new("sender-1")? };
    /// assert_eq!(err.to_string(), "the worker name `sender-1` is held by another live worker");
    /// # Ok::<(), titan_webhooks::queue::WorkerNameError>(())
    /// ```
    #[error("the worker name `{name}` is held by another live worker")]
    WorkerNameInUse {
        /// The name.
        name: WorkerName,
    },
}
