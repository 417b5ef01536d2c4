//! The dispatcher: claims deliveries, attempts them, records the outcome.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use http::StatusCode;
use reqwest::dns::Resolve;
use serde::Serialize;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinHandle;
use tracing::Instrument as _;

use super::DeliveryObserver;
use super::attempt::{Exchange, exchange};
use super::held::HeldClaims;
use super::resolver::GuardedResolver;
use crate::queue::{
    AttemptOutcome, CancelReason, ClaimRequest, ClaimedDelivery, Completion, DeliveryAttempt,
    DeliveryKey, DeliveryStore, FailureKind, HeldClaim, NextStep, OpenDelivery, Prepared,
    StoreError, Subscription, SubscriptionRegistry,
};
use crate::retry::{AttemptResult, Decision, Jitter, Outcome, RetryRules, RetrySchedule};
use crate::subscription::WebhookId;
use crate::{Envelope, EnvelopeError, UrlGuard};

/// How long to wait for a connection, unless configured otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an attempt may take in all, from connecting to reading the
/// response, unless configured otherwise. Standard Webhooks recommends 15
/// to 30 seconds.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The most attempts in flight at once, unless configured otherwise.
pub const DEFAULT_CONCURRENCY: usize = 64;
/// The most attempts in flight to one webhook, unless configured otherwise.
pub const DEFAULT_ENDPOINT_CONCURRENCY: usize = 4;

/// Added to the timeouts to make a lease, so a slow attempt is never
/// claimed twice at once, unless configured otherwise.
pub const DEFAULT_LEASE_MARGIN: Duration = Duration::from_secs(30);
/// The longest the claim loop sleeps without looking at the store.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// The driver's wait when a configured pause overflows the clock.
const LONGEST_NAP: Duration = Duration::from_secs(24 * 60 * 60);
/// How often lapsed leases are returned to the queue.
const RECOVERY_INTERVAL: Duration = Duration::from_secs(5);
/// How long to wait before claiming again after the store failed, and
/// the first wait before recording an attempt again.
const STORE_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between tries to record an attempt.
const MAX_STORE_BACKOFF: Duration = Duration::from_secs(5);

const USER_AGENT: &str = concat!("titan-webhooks/", env!("CARGO_PKG_VERSION"));

/// What [`Dispatcher::dispatch`] queued.
///
/// ```
/// use titan_webhooks::transport::Dispatched;
///
/// let dispatched = Dispatched { envelope_id: "evt_1".into(), webhooks: vec![1.into()] };
/// assert_eq!(dispatched.webhooks.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatched {
    /// The envelope's id, the same on every attempt to every webhook.
    pub envelope_id: String,
    /// The webhooks a delivery was queued for. Webhooks that do not want
    /// the envelope, and ones it was queued for already, are not listed.
    pub webhooks: Vec<WebhookId>,
}

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

/// Configures a [`Dispatcher`]; see [`Dispatcher::builder`].
#[must_use]
pub struct DispatcherBuilder<S> {
    store: S,
    subscriptions: Arc<SubscriptionRegistry>,
    guard: UrlGuard,
    observer: Arc<dyn DeliveryObserver>,
    connect_timeout: Duration,
    request_timeout: Duration,
    concurrency: usize,
    endpoint_concurrency: usize,
    default_schedule: RetrySchedule,
    jitter: Jitter,
    throttle_floor: Option<Duration>,
    max_retry_after: Option<Duration>,
    never_retry: Vec<StatusCode>,
    proxy: Option<reqwest::Proxy>,
    lookup: Option<Arc<dyn Resolve>>,
    poll_interval: Duration,
    lease_margin: Duration,
}

impl<S: DeliveryStore> DispatcherBuilder<S> {
    /// The SSRF guard applied to every URL and every resolved address.
    /// Defaults to [`UrlGuard::new`], which allows public HTTPS targets
    /// only.
    pub fn guard(mut self, guard: UrlGuard) -> Self {
        self.guard = guard;
        self
    }

    /// Receives every attempt, disable request and cancellation. Defaults
    /// to none.
    pub fn observer(mut self, observer: impl DeliveryObserver) -> Self {
        self.observer = Arc::new(observer);
        self
    }

    /// How long to wait for a connection. Defaults to
    /// [`DEFAULT_CONNECT_TIMEOUT`], 10 seconds.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long an attempt may take in all. Defaults to
    /// [`DEFAULT_REQUEST_TIMEOUT`], 30 seconds.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The most attempts in flight at once. Defaults to
    /// [`DEFAULT_CONCURRENCY`], 64; at least 1.
    pub fn concurrency(mut self, limit: usize) -> Self {
        self.concurrency = limit.max(1);
        self
    }

    /// The most attempts in flight to one webhook, so a slow receiver
    /// cannot take every slot. Defaults to [`DEFAULT_ENDPOINT_CONCURRENCY`],
    /// 4; at least 1.
    pub fn endpoint_concurrency(mut self, limit: usize) -> Self {
        self.endpoint_concurrency = limit.max(1);
        self
    }

    /// The schedule for webhooks whose `retries` is unset. Defaults to
    /// [`RetrySchedule::default`].
    pub fn default_schedule(mut self, schedule: RetrySchedule) -> Self {
        self.default_schedule = schedule;
        self
    }

    /// Jitter added to every schedule. Defaults to none.
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The least delay after a `429` or a timeout. Defaults to
    /// [`THROTTLE_FLOOR`](crate::retry::THROTTLE_FLOOR).
    pub fn throttle_floor(mut self, floor: Duration) -> Self {
        self.throttle_floor = Some(floor);
        self
    }

    /// The longest `Retry-After` honoured. Defaults to
    /// [`MAX_RETRY_AFTER`](crate::retry::MAX_RETRY_AFTER).
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = Some(max);
        self
    }

    /// Statuses given up on at once. Defaults to none, as in the seeds.
    pub fn never_retry(mut self, statuses: impl IntoIterator<Item = StatusCode>) -> Self {
        self.never_retry = statuses.into_iter().collect();
        self
    }

    /// Sends through this proxy. Without it, proxies configured in the
    /// environment are ignored.
    ///
    /// Through a proxy, the connect-time guard sees only the proxy's
    /// address, which must pass it like any other; the target's name is
    /// resolved by the proxy, so each attempt's URL is still checked, but
    /// the addresses it resolves to are the proxy's to police. Use an
    /// egress proxy that refuses internal addresses itself.
    pub fn proxy(mut self, proxy: reqwest::Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// Resolves names with `lookup` instead of the system resolver. The
    /// guard still checks every address it returns.
    pub fn dns_lookup(mut self, lookup: Arc<dyn Resolve>) -> Self {
        self.lookup = Some(lookup);
        self
    }

    /// The longest the dispatcher waits before looking for due work when
    /// nothing wakes it. Defaults to one second.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How much longer than the connect and request timeouts together a
    /// claim lasts. Defaults to [`DEFAULT_LEASE_MARGIN`], 30 seconds.
    ///
    /// Leases are renewed while attempts run, so the margin only matters
    /// when a dispatcher dies, or cannot record an attempt's outcome while
    /// the first lease holds: the delivery waits this long, plus the
    /// timeouts, before it is claimed again. Keep it above the longest
    /// pause a dispatcher may suffer, so a live one never loses its claims,
    /// and, with several machines, above how far their clocks may drift
    /// apart.
    pub fn lease_margin(mut self, margin: Duration) -> Self {
        self.lease_margin = margin;
        self
    }

    /// Builds the dispatcher and its HTTP client.
    ///
    /// # Errors
    ///
    /// [`DispatchError::Client`] if the HTTP client cannot be built, for
    /// example when the system's TLS roots cannot be loaded.
    pub fn build(self) -> Result<Dispatcher<S>, DispatchError> {
        let guard = Arc::new(self.guard);
        let mut client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver::new(
                Arc::clone(&guard),
                self.lookup,
            )));
        client = match self.proxy {
            Some(proxy) => client.proxy(proxy),
            None => client.no_proxy(),
        };
        let client = client.build().map_err(|err| DispatchError::Client {
            reason: err.to_string(),
        })?;
        let lease = self
            .connect_timeout
            .saturating_add(self.request_timeout)
            .saturating_add(self.lease_margin);
        Ok(Dispatcher {
            inner: Arc::new(Inner {
                store: self.store,
                subscriptions: self.subscriptions,
                client,
                guard,
                observer: self.observer,
                lease,
                poll_interval: self.poll_interval,
                concurrency: self.concurrency,
                endpoint_concurrency: self.endpoint_concurrency,
                endpoints: Mutex::new(HashMap::new()),
                held: Mutex::new(HeldClaims::default()),
                default_schedule: self.default_schedule,
                jitter: self.jitter,
                throttle_floor: self.throttle_floor,
                max_retry_after: self.max_retry_after,
                never_retry: self.never_retry,
                owner: crate::clock::random_id("dispatcher_"),
                wake: Notify::new(),
            }),
        })
    }
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
pub struct Dispatcher<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for Dispatcher<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S> fmt::Debug for Dispatcher<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("owner", &self.inner.owner)
            .field("guard", &self.inner.guard)
            .field("concurrency", &self.inner.concurrency)
            .field("endpoint_concurrency", &self.inner.endpoint_concurrency)
            .field("lease", &self.inner.lease)
            .finish_non_exhaustive()
    }
}

struct Inner<S> {
    store: S,
    subscriptions: Arc<SubscriptionRegistry>,
    client: reqwest::Client,
    guard: Arc<UrlGuard>,
    observer: Arc<dyn DeliveryObserver>,
    lease: Duration,
    poll_interval: Duration,
    concurrency: usize,
    endpoint_concurrency: usize,
    endpoints: Mutex<HashMap<WebhookId, Arc<Semaphore>>>,
    /// The claims whose attempts are running; only these are renewed.
    held: Mutex<HeldClaims>,
    default_schedule: RetrySchedule,
    jitter: Jitter,
    throttle_floor: Option<Duration>,
    max_retry_after: Option<Duration>,
    never_retry: Vec<StatusCode>,
    owner: String,
    wake: Notify,
}

impl<S: DeliveryStore> Dispatcher<S> {
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
    pub fn builder(store: S, subscriptions: Arc<SubscriptionRegistry>) -> DispatcherBuilder<S> {
        DispatcherBuilder {
            store,
            subscriptions,
            guard: UrlGuard::new(),
            observer: Arc::new(()),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            concurrency: DEFAULT_CONCURRENCY,
            endpoint_concurrency: DEFAULT_ENDPOINT_CONCURRENCY,
            default_schedule: RetrySchedule::default(),
            jitter: Jitter::None,
            throttle_floor: None,
            max_retry_after: None,
            never_retry: Vec::new(),
            proxy: None,
            lookup: None,
            poll_interval: DEFAULT_POLL_INTERVAL,
            lease_margin: DEFAULT_LEASE_MARGIN,
        }
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

    /// Serializes `envelope` once and finds the subscriptions that want it:
    /// enabled, and passing their event and session filter. Queue the
    /// result with [`Dispatcher::dispatch`]'s store, or inside your own
    /// database transaction with a durable store's `enqueue_in_tx` (the
    /// transactional outbox).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use titan_webhooks::queue::{MemoryStore, SubscriptionRegistry};
    /// use titan_webhooks::transport::Dispatcher;
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// let dispatcher = Dispatcher::builder(MemoryStore::new(), Arc::new(SubscriptionRegistry::new())).build()?;
    /// let prepared = dispatcher.prepare(&Envelope::new(TitanEvent::ChatRead, "s", ()))?;
    /// assert!(prepared.webhooks.is_empty(), "no subscriptions yet");
    /// # Ok::<(), titan_webhooks::transport::DispatchError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`DispatchError::Envelope`] for an
    /// envelope that cannot be sent.
    pub fn prepare<P: Serialize>(&self, envelope: &Envelope<P>) -> Result<Prepared, DispatchError> {
        Ok(self.inner.subscriptions.prepare(envelope)?)
    }

    /// Queues `envelope` for every subscription that wants it: enabled, and
    /// passing its event and session filter. Dispatching the same envelope
    /// again queues nothing new.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use titan_webhooks::queue::{MemoryStore, SubscriptionRegistry};
    /// use titan_webhooks::transport::Dispatcher;
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let dispatcher = Dispatcher::builder(MemoryStore::new(), Arc::new(SubscriptionRegistry::new())).build()?;
    /// let dispatched = dispatcher.dispatch(&Envelope::new(TitanEvent::ChatRead, "s", ())).await?;
    /// assert!(dispatched.webhooks.is_empty(), "no subscriptions yet");
    /// # Ok::<(), titan_webhooks::transport::DispatchError>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`DispatchError::Envelope`] for an
    /// envelope that cannot be sent, and [`DispatchError::Store`] when the
    /// store fails; nothing is queued then.
    pub async fn dispatch<P: Serialize>(
        &self,
        envelope: &Envelope<P>,
    ) -> Result<Dispatched, DispatchError> {
        let Prepared { record, webhooks } = self.prepare(envelope)?;
        let webhooks = if webhooks.is_empty() {
            webhooks
        } else {
            self.inner.store.enqueue(&record, &webhooks).await?
        };
        for _ in webhooks.iter().take(self.inner.concurrency) {
            self.inner.wake.notify_one();
        }
        Ok(Dispatched {
            envelope_id: record.id,
            webhooks,
        })
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
    pub fn start(&self) -> Running<S> {
        let (stop, stopped) = watch::channel(None);
        let inner = Arc::clone(&self.inner);
        let driver = tokio::spawn(Arc::clone(&inner).drive(stopped.clone()));
        let maintenance = tokio::spawn(inner.maintain(stopped));
        Running {
            stop,
            driver,
            maintenance,
            inner: Arc::clone(&self.inner),
        }
    }
}

/// A started dispatcher; see [`Dispatcher::start`].
#[must_use = "call shutdown to stop gracefully"]
pub struct Running<S> {
    /// The deadline for attempts in flight, once a shutdown begins.
    stop: watch::Sender<Option<tokio::time::Instant>>,
    driver: JoinHandle<usize>,
    maintenance: JoinHandle<()>,
    inner: Arc<Inner<S>>,
}

impl<S> fmt::Debug for Running<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Running")
            .field("owner", &self.inner.owner)
            .finish_non_exhaustive()
    }
}

impl<S: DeliveryStore> Running<S> {
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
        let open = self.inner.store.open_deliveries().await?;
        Ok(ShutdownReport {
            finished,
            interrupted,
            open,
        })
    }
}

impl<S: DeliveryStore> Inner<S> {
    /// Drives up to `concurrency` attempts at once, as futures in one task,
    /// claiming more as each finishes and sleeping only when nothing is due
    /// or every slot is taken. Returns how many attempts finished after a
    /// shutdown began.
    async fn drive(
        self: Arc<Self>,
        mut stopped: watch::Receiver<Option<tokio::time::Instant>>,
    ) -> usize {
        let mut attempts = FuturesUnordered::new();
        // One timer, moved rather than remade each turn: pushing a deadline
        // later needs no lock on the runtime's timer wheel.
        let mut nap = std::pin::pin!(tokio::time::sleep(Duration::ZERO));
        loop {
            let stopping = *stopped.borrow();
            if let Some(deadline) = stopping {
                return drain(&mut attempts, deadline).await;
            }
            // Registered before looking, so a dispatch in between is not missed.
            let woken = self.wake.notified();
            let queued_elsewhere = self.store.work_queued();
            let mut store_failed = false;
            let free = self.concurrency.saturating_sub(attempts.len());
            if free > 0 {
                match alongside(&mut attempts, self.claim(free)).await {
                    Ok(claimed) => {
                        attempts.extend(claimed.into_iter().map(|delivery| self.deliver(delivery)))
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "could not claim deliveries");
                        store_failed = true;
                    }
                }
            }
            let room = attempts.len() < self.concurrency;
            // With every slot taken, only a finished attempt can start the
            // next turn, so the store is not asked when work is due.
            if room {
                let pause = if store_failed {
                    STORE_BACKOFF
                } else {
                    alongside(&mut attempts, self.pause()).await
                };
                let now = tokio::time::Instant::now();
                if let Some(until) = now
                    .checked_add(pause)
                    .or_else(|| now.checked_add(LONGEST_NAP))
                {
                    nap.as_mut().reset(until);
                }
            }
            tokio::select! {
                Some(()) = attempts.next(), if !attempts.is_empty() => {}
                () = woken, if room && !store_failed => {}
                () = queued_elsewhere, if room && !store_failed => {}
                () = nap.as_mut(), if room => {}
                _ = stopped.changed() => {}
            }
        }
    }

    /// Claims up to `limit` due deliveries, skipping webhooks whose
    /// endpoints have every slot taken.
    async fn claim(&self, limit: usize) -> Result<Vec<ClaimedDelivery>, crate::queue::StoreError> {
        let skip = self.busy_endpoints();
        let request = ClaimRequest {
            owner: &self.owner,
            now: SystemTime::now(),
            lease: self.lease,
            limit,
            skip: &skip,
            per_webhook: self.endpoint_concurrency,
        };
        self.store.claim(request).await
    }

    /// Renews the leases of attempts in flight, so a slow one is never
    /// claimed twice, and returns lapsed leases to the queue.
    async fn maintain(self: Arc<Self>, mut stopped: watch::Receiver<Option<tokio::time::Instant>>) {
        let every = self
            .lease
            .checked_div(3)
            .unwrap_or(self.lease)
            .clamp(Duration::from_millis(100), RECOVERY_INTERVAL);
        loop {
            tokio::select! {
                _ = stopped.changed() => return,
                () = tokio::time::sleep(every) => {}
            }
            let held = self.held_claims();
            if let Some(until) = SystemTime::now().checked_add(self.lease) {
                match self.store.renew_leases(&self.owner, &held, until).await {
                    Ok(renewed) if renewed < held.len() as u64 => {
                        tracing::warn!(
                            held = held.len(),
                            renewed,
                            "some leases lapsed while their attempts ran"
                        );
                    }
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = %err, "could not renew leases"),
                }
            }
            if let Err(err) = self.store.recover_expired(SystemTime::now()).await {
                tracing::warn!(error = %err, "could not recover lapsed leases");
            }
        }
    }

    /// How long the driver waits while it has room for more attempts: until
    /// the next delivery is due, at most the poll interval. Work that is due
    /// but was skipped because its endpoint was busy is claimed as soon as
    /// an attempt finishes and frees a slot.
    async fn pause(&self) -> Duration {
        let now = SystemTime::now();
        match self.store.next_due().await {
            Ok(Some(due)) => due
                .duration_since(now)
                .ok()
                .filter(|wait| !wait.is_zero())
                .map_or(self.poll_interval, |wait| wait.min(self.poll_interval)),
            Ok(None) | Err(_) => self.poll_interval,
        }
    }

    fn busy_endpoints(&self) -> Vec<WebhookId> {
        self.lock_endpoints()
            .iter()
            .filter(|(_, semaphore)| semaphore.available_permits() == 0)
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn endpoint(&self, id: &WebhookId) -> Arc<Semaphore> {
        let mut endpoints = self.lock_endpoints();
        // Looked up before inserting, so the common case clones no id.
        if let Some(semaphore) = endpoints.get(id) {
            return Arc::clone(semaphore);
        }
        Arc::clone(
            endpoints
                .entry(id.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(self.endpoint_concurrency))),
        )
    }

    fn held_claims(&self) -> Vec<HeldClaim> {
        self.lock_held().all()
    }

    /// One claimed delivery, from the endpoint's slot to the store.
    async fn deliver(&self, delivery: ClaimedDelivery) {
        let _held = Holding::new(self, &delivery);
        let span = tracing::info_span!(
            "webhook_attempt",
            delivery = %delivery.key.envelope_id,
            webhook = %delivery.key.webhook_id,
            attempt = delivery.next_attempt(),
        );
        async {
            let endpoint = self.endpoint(&delivery.key.webhook_id);
            // Boxed, since waiting is rare and its state would otherwise
            // sit in every attempt's future.
            let _slot: Option<OwnedSemaphorePermit> =
                match Arc::clone(&endpoint).try_acquire_owned() {
                    Ok(permit) => Some(permit),
                    Err(_) => Box::pin(endpoint.acquire_owned()).await.ok(),
                };
            self.attempt(&delivery).await;
        }
        .instrument(span)
        .await;
    }

    async fn attempt(&self, delivery: &ClaimedDelivery) {
        // Two phases, so the request's state and the store's never share
        // one future: the task holding it stays small enough for the
        // allocator's fast path.
        let Some((record, completion)) = self.send(delivery).await else {
            return;
        };
        self.record(delivery, Some(&record), completion).await;
        self.observer.on_attempt(&record);
        if record.next == NextStep::Disabled {
            self.observer.on_disable(&delivery.key.webhook_id);
        }
    }

    /// Sends one attempt and judges it, or cancels a delivery whose webhook
    /// is gone or disabled.
    async fn send(&self, delivery: &ClaimedDelivery) -> Option<(DeliveryAttempt, Completion)> {
        let Some(subscription) = self.subscriptions.get(&delivery.key.webhook_id) else {
            self.cancel(delivery, CancelReason::WebhookRemoved).await;
            return None;
        };
        if !subscription.webhook().enabled() {
            self.cancel(delivery, CancelReason::WebhookDisabled).await;
            return None;
        }

        // Boxed: its state is the largest, and only this phase needs it.
        let wire = Box::pin(exchange(&self.client, &self.guard, &subscription, delivery)).await;
        let (next, completion) = self.judge(&subscription, delivery, &wire);
        match wire.outcome {
            AttemptOutcome::Status(status) => {
                tracing::info!(status, latency_ms = wire.latency.as_millis(), next = ?next, "attempted");
            }
            AttemptOutcome::Failed(kind) => {
                tracing::warn!(failure = %kind, latency_ms = wire.latency.as_millis(), next = ?next, "attempt failed");
            }
        }
        let record = DeliveryAttempt {
            key: delivery.key.clone(),
            attempt: delivery.next_attempt(),
            started_at: wire.started_at,
            latency: wire.latency,
            outcome: wire.outcome,
            response_body: wire.response_body,
            response_truncated: wire.response_truncated,
            location: wire.location,
            remote_ip: wire.remote_ip,
            next,
            detail: wire.detail,
        };
        Some((record, completion))
    }

    /// The retry rules' verdict on an exchange.
    fn judge(
        &self,
        subscription: &Subscription,
        delivery: &ClaimedDelivery,
        wire: &Exchange,
    ) -> (NextStep, Completion) {
        let result = match wire.outcome {
            AttemptOutcome::Status(status) => AttemptResult::Status {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                retry_after: wire.retry_after,
            },
            // Asking again will not change the guard's answer.
            AttemptOutcome::Failed(FailureKind::RefusedByGuard) => {
                return (NextStep::GaveUp, Completion::Exhausted);
            }
            AttemptOutcome::Failed(FailureKind::Timeout) => AttemptResult::Timeout,
            AttemptOutcome::Failed(_) => AttemptResult::ConnectionFailed,
        };
        match self
            .rules(subscription)
            .classify(&Outcome::new(delivery.next_attempt(), result))
        {
            Decision::Success => (NextStep::Succeeded, Completion::Succeeded),
            Decision::Retry(delay) => match SystemTime::now()
                .checked_add(delay)
                .filter(|at| crate::queue::is_storable(*at))
            {
                Some(at) => (NextStep::RetryAt(at), Completion::Retry { at }),
                None => (NextStep::GaveUp, Completion::Exhausted),
            },
            Decision::Disable => (NextStep::Disabled, Completion::Exhausted),
            Decision::GiveUp => (NextStep::GaveUp, Completion::Exhausted),
        }
    }

    fn rules(&self, subscription: &Subscription) -> RetryRules {
        let schedule = match (subscription.schedule(), subscription.webhook().retries()) {
            (Some(schedule), _) => schedule.clone(),
            (None, Some(policy)) => RetrySchedule::from(*policy),
            (None, None) => self.default_schedule.clone(),
        };
        let mut rules = RetryRules::new(schedule.with_jitter(self.jitter))
            .with_never_retry(self.never_retry.iter().copied());
        if let Some(floor) = self.throttle_floor {
            rules = rules.with_throttle_floor(floor);
        }
        if let Some(max) = self.max_retry_after {
            rules = rules.with_max_retry_after(max);
        }
        rules
    }

    async fn cancel(&self, delivery: &ClaimedDelivery, reason: CancelReason) {
        tracing::info!(%reason, "delivery cancelled");
        self.record(delivery, None, Completion::Cancelled).await;
        self.observer.on_cancel(&delivery.key, reason);
    }

    /// Records an outcome, trying again while the store fails and the
    /// claim's first lease would still hold. Past that, the claim is no
    /// longer renewed, so it lapses and the delivery is attempted again:
    /// at least once, never silently lost.
    async fn record(
        &self,
        delivery: &ClaimedDelivery,
        attempt: Option<&DeliveryAttempt>,
        next: Completion,
    ) {
        let mut backoff = STORE_BACKOFF;
        loop {
            let err = match self.store.complete(delivery, attempt, next).await {
                Ok(()) => return,
                Err(err @ crate::queue::StoreError::LeaseLost) => err,
                Err(err) => {
                    let retry_at = SystemTime::now().checked_add(backoff);
                    if retry_at.is_some_and(|at| !delivery.lease.is_expired_at(at)) {
                        tracing::warn!(error = %err, "could not record the outcome; trying again");
                        Box::pin(tokio::time::sleep(backoff)).await;
                        backoff = backoff.saturating_mul(2).min(MAX_STORE_BACKOFF);
                        continue;
                    }
                    err
                }
            };
            tracing::warn!(error = %err, "could not record the outcome; the delivery will be attempted again");
            return;
        }
    }

    /// Hands back the claims of attempts a shutdown stopped. A claim
    /// completed before the stop holds no lease, so it is not reported.
    async fn hand_back(&self) -> Vec<DeliveryKey> {
        match self.store.release_leases(&self.owner).await {
            Ok(keys) => keys,
            Err(err) => {
                // The leases still lapse, and the deliveries come back then.
                tracing::warn!(error = %err, "could not hand back interrupted deliveries");
                Vec::new()
            }
        }
    }

    fn lock_endpoints(&self) -> std::sync::MutexGuard<'_, HashMap<WebhookId, Arc<Semaphore>>> {
        self.endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<S> Inner<S> {
    fn lock_held(&self) -> std::sync::MutexGuard<'_, HeldClaims> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Marks a claim as held while its attempt runs, however that ends.
struct Holding<'a, S> {
    inner: &'a Inner<S>,
    slot: usize,
}

impl<'a, S> Holding<'a, S> {
    fn new(inner: &'a Inner<S>, delivery: &ClaimedDelivery) -> Self {
        let slot = inner.lock_held().hold(delivery);
        Self { inner, slot }
    }
}

impl<S> Drop for Holding<'_, S> {
    fn drop(&mut self) {
        self.inner.lock_held().release(self.slot);
    }
}

/// Awaits `work` while the attempts in flight keep running. An attempt may
/// hold one of the store's connections while it records its outcome; if
/// the driver stopped polling it to wait for a connection itself, neither
/// would ever finish.
async fn alongside<F, W>(attempts: &mut FuturesUnordered<F>, work: W) -> W::Output
where
    F: std::future::Future<Output = ()>,
    W: std::future::Future,
{
    let mut work = std::pin::pin!(work);
    loop {
        tokio::select! {
            biased;
            output = &mut work => return output,
            Some(()) = attempts.next(), if !attempts.is_empty() => {}
        }
    }
}

/// Polls the attempts in flight until they finish or `deadline` passes;
/// the rest are dropped, which stops them. Returns how many finished.
async fn drain<F: std::future::Future<Output = ()>>(
    attempts: &mut FuturesUnordered<F>,
    deadline: tokio::time::Instant,
) -> usize {
    let mut finished = 0usize;
    let _ = tokio::time::timeout_at(deadline, async {
        while attempts.next().await.is_some() {
            finished = finished.saturating_add(1);
        }
    })
    .await;
    finished
}

/// An envelope could not be dispatched.
///
/// ```
/// use titan_webhooks::transport::DispatchError;
///
/// use titan_webhooks::EnvelopeError;
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
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built: {reason}")]
    Client {
        /// The client's message.
        reason: String,
    },
}
