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
use super::held::HeldClaims;
use super::resolver::GuardedResolver;
use crate::UrlGuard;
use crate::queue::{DeliveryStore, SubscriptionRegistry, SubscriptionSource};
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

const USER_AGENT: &str = concat!("titan-webhooks/", env!("CARGO_PKG_VERSION"));

/// Configures a [`Dispatcher`]; see [`Dispatcher::builder`].
#[must_use]
pub struct DispatcherBuilder<S, W = SubscriptionRegistry> {
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

impl<S: DeliveryStore, W: SubscriptionSource> DispatcherBuilder<S, W> {
    /// The defaults; see [`Dispatcher::builder`].
    pub(super) fn new(store: S, subscriptions: Arc<W>) -> Self {
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

    /// Jitter for every subscription's schedule, in place of any jitter a
    /// schedule of its own carries. Defaults to none.
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
        self.metrics_interval = interval.max(super::metrics::MIN_METRICS_INTERVAL);
        self
    }

    /// Builds the dispatcher and its HTTP client.
    ///
    /// # Errors
    ///
    /// [`DispatchError::Client`] if the HTTP client cannot be built, for
    /// example when the system's TLS roots cannot be loaded.
    pub fn build(self) -> Result<Dispatcher<S, W>, DispatchError> {
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
                owner: crate::clock::random_id("dispatcher_"),
                wake: Notify::new(),
                #[cfg(feature = "metrics")]
                metrics_interval: self.metrics_interval,
            }),
        })
    }
}
