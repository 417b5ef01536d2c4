//! Configuring a [`Dispatcher`]: timeouts, concurrency, retry rules, the
//! SSRF guard and the HTTP client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::StatusCode;
use reqwest::dns::Resolve;
use tokio::sync::Notify;

use super::DeliveryObserver;
use super::dispatcher::{DispatchError, Dispatcher, Inner};
use super::group_commit::Writer;
use super::held::HeldClaims;
use super::identity::Identity;
use super::resolver::GuardedResolver;
use crate::UrlGuard;
use crate::queue::{
    DeliveryStore, SubscriptionRegistry, SubscriptionSource, WorkerLock, WorkerName,
};
use crate::retry::{Jitter, RetryRules, RetrySchedule};

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
/// How often a named dispatcher's build tries again for a held name.
const NAME_RETRY: Duration = Duration::from_millis(100);

const USER_AGENT: &str = concat!("titan-webhooks/", env!("CARGO_PKG_VERSION"));

/// Configures a [`Dispatcher`]; see [`Dispatcher::builder`].
///
/// `N` says whether the dispatcher gets a stable name: [`Unnamed`] (the
/// default), built with the plain [`build`](DispatcherBuilder::build), or
/// [`Named`] after [`worker_name`](DispatcherBuilder::worker_name), whose
/// [`build`](DispatcherBuilder#method.build-1) is `async` because it takes
/// the name's lock in the store first.
#[must_use]
pub struct DispatcherBuilder<S, W = SubscriptionRegistry, N = Unnamed> {
    config: Config<S, W>,
    identity: N,
}

/// Everything but the name.
struct Config<S, W> {
    store: S,
    subscriptions: Arc<W>,
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
    #[cfg(feature = "metrics")]
    metrics_interval: Duration,
}

/// A [`DispatcherBuilder`] without a stable name: the dispatcher claims
/// under a random owner, new on every start, so deliveries a dead one held
/// wait for their leases to lapse. The default.
///
/// ```
/// use std::sync::Arc;
/// use titan_webhooks::queue::{MemoryStore, SubscriptionRegistry};
/// use titan_webhooks::transport::{Dispatcher, DispatcherBuilder, Unnamed};
///
/// let builder: DispatcherBuilder<MemoryStore, SubscriptionRegistry, Unnamed> =
///     Dispatcher::builder(MemoryStore::new(), Arc::new(SubscriptionRegistry::new()));
/// assert!(builder.build()?.worker_name().is_none());
/// # Ok::<(), titan_webhooks::transport::DispatchError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Unnamed;

/// A [`DispatcherBuilder`] with a stable [`WorkerName`], from
/// [`DispatcherBuilder::worker_name`].
///
/// ```
/// use std::sync::Arc;
/// use titan_webhooks::queue::{MemoryStore, SubscriptionRegistry, WorkerName};
/// use titan_webhooks::transport::{Dispatcher, DispatcherBuilder, Named};
///
/// let builder: DispatcherBuilder<MemoryStore, SubscriptionRegistry, Named> =
///     Dispatcher::builder(MemoryStore::new(), Arc::new(SubscriptionRegistry::new()))
///         .worker_name(WorkerName::new("sender-1")?);
/// assert_eq!(builder.name().as_str(), "sender-1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Named {
    name: WorkerName,
    wait: Duration,
}

impl<S: DeliveryStore, W: SubscriptionSource> DispatcherBuilder<S, W> {
    /// The defaults; see [`Dispatcher::builder`].
    pub(super) fn new(store: S, subscriptions: Arc<W>) -> Self {
        Self {
            config: Config::new(store, subscriptions),
            identity: Unnamed,
        }
    }

    /// Gives the dispatcher a stable name that the application picks, per
    /// host or per pod, the same after a restart. Without one, a
    /// dispatcher claims under a random owner, and what a dead one held
    /// waits for its leases to lapse: the connect and request timeouts
    /// plus the margin, about 70 seconds with the defaults.
    ///
    /// A named dispatcher's [`build`](DispatcherBuilder#method.build-1)
    /// takes the name's lock in the store
    /// ([`DeliveryStore::try_lock_worker`]) and keeps it while the
    /// dispatcher, or any clone of it, lives. Holding the lock proves the
    /// name's previous holder is gone, so `build` gives back every claim
    /// it held, due at once, and the new dispatcher claims as
    /// [`WorkerName::lease_owner`]. A second live worker under the same
    /// name is refused with [`DispatchError::WorkerNameInUse`].
    ///
    /// The dispatcher checks its lock now and then (every third of a
    /// lease, at most every 5 seconds). If the store lost it, for example
    /// because the lock's database connection dropped, it stops claiming
    /// until it has taken the lock again.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use titan_webhooks::queue::{MemoryStore, SubscriptionRegistry, WorkerName};
    /// use titan_webhooks::transport::Dispatcher;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let name = WorkerName::new(std::env::var("POD_NAME").unwrap_or_else(|_| "sender-1".into()))?;
    /// let dispatcher = Dispatcher::builder(MemoryStore::new(), Arc::new(SubscriptionRegistry::new()))
    ///     .worker_name(name.clone())
    ///     .build()
    ///     .await?;
    /// assert_eq!(dispatcher.worker_name(), Some(&name));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn worker_name(self, name: WorkerName) -> DispatcherBuilder<S, W, Named> {
        DispatcherBuilder {
            config: self.config,
            identity: Named {
                name,
                wait: Duration::ZERO,
            },
        }
    }

    /// Builds the dispatcher and its HTTP client. It claims under a random
    /// owner; see [`worker_name`](DispatcherBuilder::worker_name) for a
    /// stable one.
    ///
    /// # Errors
    ///
    /// [`DispatchError::Client`] if the HTTP client cannot be built, for
    /// example when the system's TLS roots cannot be loaded.
    pub fn build(self) -> Result<Dispatcher<S, W>, DispatchError> {
        self.config
            .assemble(crate::clock::random_id("dispatcher_"), None)
    }
}

impl<S: DeliveryStore, W: SubscriptionSource> DispatcherBuilder<S, W, Named> {
    /// The name the dispatcher will hold.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use titan_webhooks::queue::{MemoryStore, SubscriptionRegistry, WorkerName};
    /// use titan_webhooks::transport::Dispatcher;
    ///
    /// let builder = Dispatcher::builder(MemoryStore::new(), Arc::new(SubscriptionRegistry::new()))
    ///     .worker_name(WorkerName::new("sender-1")?);
    /// assert_eq!(builder.name().to_string(), "sender-1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn name(&self) -> &WorkerName {
        &self.identity.name
    }

    /// How long [`build`](DispatcherBuilder#method.build-1) keeps trying
    /// to take a name that is held before it refuses. Defaults to zero:
    /// refused at once. A supervisor that restarts a crashed worker within
    /// moments may give the store time to notice the old process is gone
    /// (a Postgres server frees a dead process's lock as soon as it sees
    /// its connection close).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use titan_webhooks::queue::{MemoryStore, SubscriptionRegistry, WorkerName};
    /// use titan_webhooks::transport::Dispatcher;
    ///
    /// let builder = Dispatcher::builder(MemoryStore::new(), Arc::new(SubscriptionRegistry::new()))
    ///     .worker_name(WorkerName::new("sender-1")?)
    ///     .wait_for_name(Duration::from_secs(5));
    /// # let _ = builder;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_for_name(mut self, wait: Duration) -> Self {
        self.identity.wait = wait;
        self
    }

    /// Takes the name's lock in the store, gives back every claim the
    /// name's previous holder left, due at once, and builds the dispatcher
    /// and its HTTP client. The lock is held until the dispatcher and every
    /// clone of it are dropped.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use titan_webhooks::queue::{MemoryStore, SubscriptionRegistry, WorkerName};
    /// use titan_webhooks::transport::{DispatchError, Dispatcher};
    /// use titan_webhooks::store::SqliteStore;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let dir = tempfile::tempdir()?;
    /// let store = SqliteStore::open(dir.path().join("webhooks.db")).await?;
    /// let subscriptions = Arc::new(SubscriptionRegistry::new());
    /// let name = WorkerName::new("sender-1")?;
    /// let first = Dispatcher::builder(store.clone(), Arc::clone(&subscriptions))
    ///     .worker_name(name.clone())
    ///     .build()
    ///     .await?;
    ///
    /// let second = Dispatcher::builder(store, subscriptions).worker_name(name).build().await;
    /// assert!(matches!(second, Err(DispatchError::WorkerNameInUse { .. })));
    /// # drop(first);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`DispatchError::WorkerNameInUse`] when another live worker holds
    /// the name (after [`wait_for_name`](DispatcherBuilder::wait_for_name)),
    /// [`DispatchError::Store`] when the store cannot lock names
    /// ([`StoreError::WorkerNamesUnsupported`](crate::queue::StoreError::WorkerNamesUnsupported))
    /// or fails, and [`DispatchError::Client`] if the HTTP client cannot be
    /// built.
    pub async fn build(self) -> Result<Dispatcher<S, W>, DispatchError> {
        let Named { name, wait } = self.identity;
        let lock = lock_name(&self.config.store, &name, wait).await?;
        let owner = name.lease_owner();
        // Holding the lock proves the name's previous holder is gone.
        let released = self.config.store.release_leases(&owner).await?;
        if !released.is_empty() {
            tracing::info!(
                worker = %name,
                deliveries = released.len(),
                "took back the deliveries a previous worker under this name held"
            );
        }
        self.config.assemble(owner, Some(Identity::new(lock)))
    }
}

/// Takes `name`'s lock, trying again for up to `wait`.
async fn lock_name<S: DeliveryStore>(
    store: &S,
    name: &WorkerName,
    wait: Duration,
) -> Result<WorkerLock, DispatchError> {
    // No deadline when `wait` overflows the clock: it is waited for.
    let give_up = tokio::time::Instant::now().checked_add(wait);
    loop {
        if let Some(lock) = store.try_lock_worker(name).await? {
            return Ok(lock);
        }
        let now = tokio::time::Instant::now();
        let nap = match give_up {
            Some(give_up) if now >= give_up => {
                return Err(DispatchError::WorkerNameInUse { name: name.clone() });
            }
            Some(give_up) => NAME_RETRY.min(give_up.saturating_duration_since(now)),
            None => NAME_RETRY,
        };
        tokio::time::sleep(nap).await;
    }
}

impl<S: DeliveryStore, W: SubscriptionSource> Config<S, W> {
    fn new(store: S, subscriptions: Arc<W>) -> Self {
        Self {
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
            #[cfg(feature = "metrics")]
            metrics_interval: super::metrics::DEFAULT_METRICS_INTERVAL,
        }
    }
}

impl<S: DeliveryStore, W: SubscriptionSource, N> DispatcherBuilder<S, W, N> {
    /// The SSRF guard applied to every URL and every resolved address.
    /// Defaults to [`UrlGuard::new`], which allows public HTTPS targets
    /// only.
    pub fn guard(mut self, guard: UrlGuard) -> Self {
        self.config.guard = guard;
        self
    }

    /// Receives every attempt, disable request and cancellation. Defaults
    /// to none.
    pub fn observer(mut self, observer: impl DeliveryObserver) -> Self {
        self.config.observer = Arc::new(observer);
        self
    }

    /// How long to wait for a connection. Defaults to
    /// [`DEFAULT_CONNECT_TIMEOUT`], 10 seconds.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// How long an attempt may take in all. Defaults to
    /// [`DEFAULT_REQUEST_TIMEOUT`], 30 seconds.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// The most attempts in flight at once. Defaults to
    /// [`DEFAULT_CONCURRENCY`], 64; at least 1.
    pub fn concurrency(mut self, limit: usize) -> Self {
        self.config.concurrency = limit.max(1);
        self
    }

    /// The most attempts in flight to one webhook, so a slow receiver
    /// cannot take every slot. Defaults to [`DEFAULT_ENDPOINT_CONCURRENCY`],
    /// 4; at least 1.
    pub fn endpoint_concurrency(mut self, limit: usize) -> Self {
        self.config.endpoint_concurrency = limit.max(1);
        self
    }

    /// The schedule for webhooks whose `retries` is unset. Defaults to
    /// [`RetrySchedule::default`].
    pub fn default_schedule(mut self, schedule: RetrySchedule) -> Self {
        self.config.default_schedule = schedule;
        self
    }

    /// Jitter for every subscription's schedule, in place of any jitter a
    /// schedule of its own carries. Defaults to none.
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.config.jitter = jitter;
        self
    }

    /// The least delay after a `429` or a timeout. Defaults to
    /// [`THROTTLE_FLOOR`](crate::retry::THROTTLE_FLOOR).
    pub fn throttle_floor(mut self, floor: Duration) -> Self {
        self.config.throttle_floor = Some(floor);
        self
    }

    /// The longest `Retry-After` honoured. Defaults to
    /// [`MAX_RETRY_AFTER`](crate::retry::MAX_RETRY_AFTER).
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.config.max_retry_after = Some(max);
        self
    }

    /// Statuses given up on at once. Defaults to none, as in the seeds.
    pub fn never_retry(mut self, statuses: impl IntoIterator<Item = StatusCode>) -> Self {
        self.config.never_retry = statuses.into_iter().collect();
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
        self.config.proxy = Some(proxy);
        self
    }

    /// Resolves names with `lookup` instead of the system resolver. The
    /// guard still checks every address it returns.
    pub fn dns_lookup(mut self, lookup: Arc<dyn Resolve>) -> Self {
        self.config.lookup = Some(lookup);
        self
    }

    /// The longest the dispatcher waits before looking for due work when
    /// nothing wakes it. Defaults to one second.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.config.poll_interval = interval;
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
        self.config.lease_margin = margin;
        self
    }

    /// How often the dispatcher samples the queue's gauges from the store
    /// ([`QUEUE_DEPTH`](super::metrics::QUEUE_DEPTH) and
    /// [`OLDEST_DUE_AGE`](super::metrics::OLDEST_DUE_AGE)); each sample is
    /// one [`DeliveryStore::queue_metrics`] call, which may scan the
    /// queue. Defaults to
    /// [`DEFAULT_METRICS_INTERVAL`](super::metrics::DEFAULT_METRICS_INTERVAL),
    /// 15 seconds; at least 10 milliseconds. Feature `metrics`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use titan_webhooks::queue::{MemoryStore, SubscriptionRegistry};
    /// use titan_webhooks::transport::Dispatcher;
    ///
    /// let dispatcher = Dispatcher::builder(MemoryStore::new(), Arc::new(SubscriptionRegistry::new()))
    ///     .metrics_interval(Duration::from_secs(60))
    ///     .build()?;
    /// # Ok::<(), titan_webhooks::transport::DispatchError>(())
    /// ```
    #[cfg(feature = "metrics")]
    pub fn metrics_interval(mut self, interval: Duration) -> Self {
        self.config.metrics_interval = interval.max(super::metrics::MIN_METRICS_INTERVAL);
        self
    }
}

impl<S: DeliveryStore, W: SubscriptionSource> Config<S, W> {
    /// Builds the dispatcher and its HTTP client, claiming as `owner`.
    fn assemble(
        self,
        owner: String,
        identity: Option<Identity>,
    ) -> Result<Dispatcher<S, W>, DispatchError> {
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
        let mut rules = RetryRules::new(self.default_schedule.with_jitter(self.jitter))
            .with_never_retry(self.never_retry);
        if let Some(floor) = self.throttle_floor {
            rules = rules.with_throttle_floor(floor);
        }
        if let Some(max) = self.max_retry_after {
            rules = rules.with_max_retry_after(max);
        }
        #[cfg(feature = "metrics")]
        super::metrics::describe();
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
                rules,
                owner,
                identity,
                wake: Notify::new(),
                writer: Writer::default(),
                #[cfg(feature = "metrics")]
                metrics_interval: self.metrics_interval,
            }),
        })
    }
}
