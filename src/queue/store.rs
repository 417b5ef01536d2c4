//! The work queue the dispatcher takes deliveries from.

use std::future::Future;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{DeliveryAttempt, Prepared, QueueMetrics, WorkerLock, WorkerName};
use crate::retry::NextStep;
use crate::subscription::WebhookId;
use crate::{Deliverable, EnvelopeError};

/// One delivery: an envelope to a webhook. The envelope id is unique per
/// webhook, so enqueueing the same envelope twice queues nothing new.
///
/// ```
/// use titan_webhooks::queue::DeliveryKey;
///
/// let key = DeliveryKey::new("evt_1", 42.into());
/// assert_eq!(key.to_string(), "evt_1 → 42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeliveryKey {
    /// The envelope's id, which receivers use as their idempotency key.
    pub envelope_id: String,
    /// The webhook it goes to.
    pub webhook_id: WebhookId,
}

impl DeliveryKey {
    /// The delivery of `envelope_id` to `webhook_id`.
    ///
    /// ```
    /// use titan_webhooks::queue::DeliveryKey;
    ///
    /// assert_eq!(DeliveryKey::new("evt_1", "wh_1".into()).envelope_id, "evt_1");
    /// ```
    pub fn new(envelope_id: impl Into<String>, webhook_id: WebhookId) -> Self {
        Self {
            envelope_id: envelope_id.into(),
            webhook_id,
        }
    }
}

impl std::fmt::Display for DeliveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} → {}", self.envelope_id, self.webhook_id)
    }
}

/// An envelope serialized once, shared by all its deliveries and attempts.
///
/// ```
/// use titan_webhooks::queue::EnvelopeRecord;
/// use titan_webhooks::{Envelope, TitanEvent};
///
/// let envelope = Envelope::new(TitanEvent::MessageReceived, "default", serde_json::json!({}));
/// let record = EnvelopeRecord::from_envelope(&envelope)?;
/// assert_eq!(record.id, envelope.id());
/// assert_eq!(record.event, "message.received");
/// # Ok::<(), titan_webhooks::EnvelopeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeRecord {
    /// The envelope's id.
    pub id: String,
    /// Its event type.
    pub event: String,
    /// The session it comes from.
    pub session: String,
    /// The exact bytes that are signed and sent.
    pub body: Bytes,
}

impl EnvelopeRecord {
    /// Serializes `envelope` once.
    ///
    /// ```
    /// use titan_webhooks::queue::EnvelopeRecord;
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// let envelope = Envelope::new(TitanEvent::ChatRead, "s", 1);
    /// let record = EnvelopeRecord::from_envelope(&envelope)?;
    /// let parsed: serde_json::Value = serde_json::from_slice(&record.body)?;
    /// assert_eq!(parsed["payload"], 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`EnvelopeError::InvalidId`] when the envelope's id cannot be signed
    /// by every scheme (an envelope read from JSON skips
    /// [`Envelope::with_id`](crate::Envelope::with_id)'s check), and
    /// [`EnvelopeError::Serialize`] when the payload does not serialize.
    pub fn from_envelope<D: Deliverable + ?Sized>(envelope: &D) -> Result<Self, EnvelopeError> {
        if !crate::header::is_valid_message_id(envelope.id().as_bytes()) {
            return Err(EnvelopeError::InvalidId);
        }
        let body = serde_json::to_vec(envelope).map_err(|err| EnvelopeError::Serialize {
            reason: err.to_string(),
        })?;
        Ok(Self {
            id: envelope.id().to_owned(),
            event: envelope.event_type().to_owned(),
            session: envelope.session().unwrap_or_default().to_owned(),
            body: Bytes::from(body),
        })
    }
}

/// Where a delivery is in its life.
///
/// ```
/// use titan_webhooks::queue::DeliveryState;
///
/// assert!(DeliveryState::Retry.is_open());
/// assert!(!DeliveryState::Exhausted.is_open());
/// assert_eq!(DeliveryState::InFlight.as_str(), "in_flight");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Queued, never attempted.
    Pending,
    /// Claimed by a dispatcher under a lease.
    InFlight,
    /// Failed at least once; waiting for its next attempt.
    Retry,
    /// Delivered.
    Succeeded,
    /// Given up: retries used up, a status never retried, the guard refused
    /// the target, or the endpoint answered `410 Gone`.
    Exhausted,
    /// Stopped without delivery: the webhook was disabled or removed.
    Cancelled,
}

impl DeliveryState {
    /// Whether the delivery may still be attempted.
    ///
    /// ```
    /// use titan_webhooks::queue::DeliveryState;
    ///
    /// assert!(DeliveryState::Pending.is_open());
    /// assert!(!DeliveryState::Succeeded.is_open());
    /// ```
    #[must_use]
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::InFlight | Self::Retry)
    }

    /// The state's name as stored.
    ///
    /// ```
    /// use titan_webhooks::queue::DeliveryState;
    ///
    /// assert_eq!(DeliveryState::Cancelled.as_str(), "cancelled");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InFlight => "in_flight",
            Self::Retry => "retry",
            Self::Succeeded => "succeeded",
            Self::Exhausted => "exhausted",
            Self::Cancelled => "cancelled",
        }
    }

    /// The state named `name`, as [`DeliveryState::as_str`] writes it.
    ///
    /// ```
    /// use titan_webhooks::queue::DeliveryState;
    ///
    /// assert_eq!(DeliveryState::parse("retry"), Some(DeliveryState::Retry));
    /// assert_eq!(DeliveryState::parse("lost"), None);
    /// ```
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::InFlight,
            Self::Retry,
            Self::Succeeded,
            Self::Exhausted,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|state| state.as_str() == name)
    }
}

/// A claim on a delivery. A completion carrying a token that no longer
/// matches, because the lease expired and another worker claimed the
/// delivery, is refused. Tokens are opaque to the dispatcher; a store may
/// encode where the row lives in them.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use titan_webhooks::queue::Lease;
///
/// let lease = Lease { owner: "worker-1".into(), token: 7, until: SystemTime::UNIX_EPOCH + Duration::from_secs(60) };
/// assert!(lease.is_expired_at(SystemTime::UNIX_EPOCH + Duration::from_secs(61)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The dispatcher that holds it.
    pub owner: String,
    /// Distinguishes this claim from earlier claims of the same delivery.
    pub token: u64,
    /// When it lapses unless renewed.
    pub until: SystemTime,
}

impl Lease {
    /// Whether the lease has lapsed at `now`.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use titan_webhooks::queue::Lease;
    ///
    /// let lease = Lease { owner: "w".into(), token: 1, until: SystemTime::UNIX_EPOCH };
    /// assert!(!lease.is_expired_at(SystemTime::UNIX_EPOCH));
    /// ```
    #[must_use]
    pub fn is_expired_at(&self, now: SystemTime) -> bool {
        now > self.until
    }
}

/// A claim whose attempt is still running, as
/// [`DeliveryStore::renew_leases`] extends it. Renewing only these, rather
/// than everything an owner holds, lets a claim the dispatcher gave up on
/// lapse and come back to the queue.
///
/// ```
/// use std::time::SystemTime;
/// use titan_webhooks::queue::{ClaimedDelivery, DeliveryKey, HeldClaim, Lease};
///
/// let claimed = ClaimedDelivery {
///     key: DeliveryKey::new("evt_1", 1.into()),
///     attempts: 0,
///     body: bytes::Bytes::new(),
///     queued_at: SystemTime::now(),
///     lease: Lease { owner: "w".into(), token: 7, until: SystemTime::now() },
/// };
/// assert_eq!(HeldClaim::from(&claimed).token, 7);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldClaim {
    /// Which delivery.
    pub key: DeliveryKey,
    /// The token of the claim, as [`Lease::token`].
    pub token: u64,
}

impl From<&ClaimedDelivery> for HeldClaim {
    fn from(claimed: &ClaimedDelivery) -> Self {
        Self {
            key: claimed.key.clone(),
            token: claimed.lease.token,
        }
    }
}

/// What a dispatcher asks a store for.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use titan_webhooks::queue::ClaimRequest;
///
/// let request = ClaimRequest { owner: "worker-1", now: SystemTime::now(), lease: Duration::from_secs(60), limit: 32, skip: &[], per_webhook: 4 };
/// assert_eq!(request.limit, 32);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ClaimRequest<'a> {
    /// Who claims.
    pub owner: &'a str,
    /// Deliveries due at or before this instant are claimed.
    pub now: SystemTime,
    /// How long the claim lasts unless renewed.
    pub lease: Duration,
    /// The most deliveries to claim.
    pub limit: usize,
    /// Webhooks not to claim for, because their endpoints are busy.
    pub skip: &'a [WebhookId],
    /// The most deliveries to claim for any one webhook, so a backlog for
    /// one slow endpoint cannot take every slot.
    pub per_webhook: usize,
}

impl ClaimRequest<'_> {
    /// When the claims this request makes lapse unless renewed.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use titan_webhooks::queue::ClaimRequest;
    ///
    /// let now = SystemTime::UNIX_EPOCH;
    /// let request = ClaimRequest { owner: "w", now, lease: Duration::from_secs(60), limit: 1, skip: &[], per_webhook: 1 };
    /// assert_eq!(request.lease_until()?, now + Duration::from_secs(60));
    /// # Ok::<(), titan_webhooks::queue::StoreError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::TimeOutOfRange`] if that time cannot be represented.
    pub fn lease_until(&self) -> Result<SystemTime, StoreError> {
        self.now
            .checked_add(self.lease)
            .ok_or(StoreError::TimeOutOfRange)
    }
}

/// A delivery claimed under a lease, with what is needed to attempt it.
///
/// ```
/// use std::time::SystemTime;
/// use titan_webhooks::queue::{ClaimedDelivery, DeliveryKey, Lease};
///
/// let claimed = ClaimedDelivery {
///     key: DeliveryKey::new("evt_1", 1.into()),
///     attempts: 2,
///     body: bytes::Bytes::from_static(b"{}"),
///     queued_at: SystemTime::now(),
///     lease: Lease { owner: "w".into(), token: 1, until: SystemTime::now() },
/// };
/// assert_eq!(claimed.next_attempt(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    /// Which delivery.
    pub key: DeliveryKey,
    /// How many attempts were made before this claim.
    pub attempts: u32,
    /// The envelope's bytes.
    pub body: Bytes,
    /// When the delivery was first queued; a redelivery keeps it. The
    /// dispatcher measures the time from enqueue to success from it.
    pub queued_at: SystemTime,
    /// The claim.
    pub lease: Lease,
}

impl ClaimedDelivery {
    /// The number of the attempt about to be made, 1 for the first.
    ///
    /// ```
    /// # use std::time::SystemTime;
    /// # use titan_webhooks::queue::{ClaimedDelivery, DeliveryKey, Lease};
    /// let claimed = ClaimedDelivery {
    ///     key: DeliveryKey::new("evt_1", 1.into()),
    ///     attempts: 0,
    ///     body: bytes::Bytes::new(),
    ///     queued_at: SystemTime::now(),
    ///     lease: Lease { owner: "w".into(), token: 1, until: SystemTime::now() },
    /// };
    /// assert_eq!(claimed.next_attempt(), 1);
    /// ```
    #[must_use]
    pub fn next_attempt(&self) -> u32 {
        self.attempts.saturating_add(1)
    }
}

/// The state an attempt leaves its delivery in: waiting to retry, or
/// finished.
///
/// ```
/// use std::time::SystemTime;
/// use titan_webhooks::queue::DeliveryState;
/// use titan_webhooks::retry::NextStep;
///
/// assert_eq!(DeliveryState::from(NextStep::RetryAt(SystemTime::now())), DeliveryState::Retry);
/// assert_eq!(DeliveryState::from(NextStep::Disabled), DeliveryState::Exhausted);
/// ```
impl From<NextStep> for DeliveryState {
    fn from(next: NextStep) -> Self {
        match next {
            NextStep::Succeeded => Self::Succeeded,
            NextStep::RetryAt(_) => Self::Retry,
            NextStep::GaveUp | NextStep::Disabled => Self::Exhausted,
        }
    }
}

/// A delivery that is not finished, as a shutdown or a listing reports it.
///
/// ```
/// use titan_webhooks::queue::{DeliveryKey, DeliveryState, OpenDelivery};
///
/// let open = OpenDelivery { key: DeliveryKey::new("evt_1", 1.into()), state: DeliveryState::Retry, attempts: 1, next_attempt_at: None };
/// assert!(open.state.is_open());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenDelivery {
    /// Which delivery.
    pub key: DeliveryKey,
    /// Pending, in flight or waiting to retry.
    pub state: DeliveryState,
    /// How many attempts were made.
    pub attempts: u32,
    /// When the next attempt is due, if scheduled.
    pub next_attempt_at: Option<SystemTime>,
}

/// The dispatcher's work queue. The in-memory [`MemoryStore`](super::MemoryStore)
/// ships here; durable stores implement the same contract:
///
/// - `enqueue` is idempotent per (envelope, webhook), and `enqueue_many`
///   is the same for many envelopes in one transaction: all or nothing;
/// - `claim` hands out due deliveries under a lease, never one whose lease
///   still holds;
/// - `complete` writes the attempt and the next state in one step, and
///   `cancel` the cancellation, each only if the caller still holds the
///   lease;
/// - `renew_leases` keeps the claims whose attempts still run alive, and
///   `release_leases` hands every claim back when the dispatcher stops;
/// - `recover_expired` returns deliveries with lapsed leases to the queue;
/// - `try_lock_worker`, if the store supports stable worker names, lets
///   one live worker at a time hold a name.
///
/// Time is passed in rather than read, so the contract can be tested.
pub trait DeliveryStore: Send + Sync + 'static {
    /// Queues `envelope` for each of `webhooks`, returning those that were
    /// not queued already.
    fn enqueue(
        &self,
        envelope: &EnvelopeRecord,
        webhooks: &[WebhookId],
    ) -> impl Future<Output = Result<Vec<WebhookId>, StoreError>> + Send;

    /// Queues many envelopes in one transaction: each of `batch` as
    /// [`enqueue`](Self::enqueue) would, returning per item, in order, the
    /// webhooks it newly queued. An envelope already stored, or earlier in
    /// the same batch, queues nothing new for the webhooks it was queued
    /// for; the first item naming a delivery is the one that reports it.
    ///
    /// It is all or nothing: when it returns an error, nothing from the
    /// batch is stored. When it returns, the batch is as durable as one
    /// `enqueue` (one commit, at the store's configured durability). The
    /// dispatcher commits concurrent dispatches together through it.
    ///
    /// ```
    /// use titan_webhooks::queue::{DeliveryStore, EnvelopeRecord, MemoryStore, Prepared};
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = MemoryStore::new();
    /// let record = EnvelopeRecord::from_envelope(&Envelope::new(TitanEvent::ChatRead, "s", ()))?;
    /// let other = EnvelopeRecord::from_envelope(&Envelope::new(TitanEvent::ChatRead, "s", ()))?;
    /// let batch = [
    ///     Prepared { record: record.clone(), webhooks: vec![1.into(), 2.into()] },
    ///     Prepared { record, webhooks: vec![2.into()] },
    ///     Prepared { record: other, webhooks: vec![1.into()] },
    /// ];
    /// let queued = store.enqueue_many(&batch).await?;
    /// assert_eq!(queued, vec![vec![1.into(), 2.into()], vec![], vec![1.into()]]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the batch cannot be stored; then none of it is.
    fn enqueue_many(
        &self,
        batch: &[Prepared],
    ) -> impl Future<Output = Result<Vec<Vec<WebhookId>>, StoreError>> + Send;

    /// Claims up to `request.limit` due deliveries.
    fn claim(
        &self,
        request: ClaimRequest<'_>,
    ) -> impl Future<Output = Result<Vec<ClaimedDelivery>, StoreError>> + Send;

    /// Extends to `until` each of `held` that `owner` still holds, and says
    /// how many. A claim that lapsed or was taken over is left alone.
    fn renew_leases(
        &self,
        owner: &str,
        held: &[HeldClaim],
        until: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Records `attempt` and releases its claim, in one step: the delivery
    /// moves to the state [`attempt.next`](DeliveryAttempt::next) leads to
    /// (see [`DeliveryState`]'s `From<NextStep>`), due again at the retry
    /// time if there is one. Returns the attempt's
    /// [`sequence`](DeliveryAttempt::sequence) in the log.
    ///
    /// A dispatcher gives up rather than schedule a retry later than
    /// `i64::MAX` microseconds after the Unix epoch (the year 294 247), the
    /// most a durable store's column holds.
    fn complete(
        &self,
        delivery: &ClaimedDelivery,
        attempt: &DeliveryAttempt,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Releases a claim without an attempt and cancels the delivery, whose
    /// webhook was disabled or removed.
    fn cancel(
        &self,
        delivery: &ClaimedDelivery,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives back every claim `owner` holds, without an attempt, due as
    /// they were before; returns which.
    fn release_leases(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<DeliveryKey>, StoreError>> + Send;

    /// Returns deliveries whose lease lapsed before `now` to the queue,
    /// and says how many.
    fn recover_expired(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// When the earliest open delivery is due, if any.
    fn next_due(&self) -> impl Future<Output = Result<Option<SystemTime>, StoreError>> + Send;

    /// Every delivery that is not finished.
    fn open_deliveries(&self)
    -> impl Future<Output = Result<Vec<OpenDelivery>, StoreError>> + Send;

    /// The queue's depth by state and the age of its oldest due delivery,
    /// as [`DeliveryAdmin::metrics`](super::DeliveryAdmin::metrics) gives
    /// them, for the dispatcher's gauges. The dispatcher asks now and then
    /// (see `DispatcherBuilder::metrics_interval`, feature `metrics`), so
    /// it may cost a scan of the queue.
    ///
    /// A store that cannot tell keeps this default, which returns `None`;
    /// the dispatcher then sets no gauges.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use titan_webhooks::queue::{DeliveryState, DeliveryStore, EnvelopeRecord, MemoryStore};
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = MemoryStore::new();
    /// let record = EnvelopeRecord::from_envelope(&Envelope::new(TitanEvent::ChatRead, "s", ()))?;
    /// store.enqueue(&record, &[1.into(), 2.into()]).await?;
    /// let metrics = store.queue_metrics(SystemTime::now()).await?.expect("the memory store tells");
    /// assert_eq!(metrics.depth(DeliveryState::Pending), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store cannot be read.
    fn queue_metrics(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<QueueMetrics>, StoreError>> + Send {
        let _ = now;
        std::future::ready(Ok(None))
    }

    /// Takes the exclusive lock on the worker name `name`, or returns `None`
    /// when another live worker holds it. The lock is released when the
    /// returned [`WorkerLock`] is dropped, and also when the process holding
    /// it dies, without waiting for a lease: that is how a restarted worker
    /// proves its predecessor is gone and takes back the claims the
    /// predecessor held under [`WorkerName::lease_owner`].
    ///
    /// - [`MemoryStore`](super::MemoryStore): names are held per store.
    /// - `SqliteStore` (feature `sqlite`): an exclusive lock on a file beside
    ///   the database, which the operating system drops with the process.
    /// - `PostgresStore` (feature `postgres`): a session advisory lock on a
    ///   connection of its own, which the server drops with the connection.
    ///
    /// A store that cannot tell keeps this default, which refuses with
    /// [`StoreError::WorkerNamesUnsupported`] rather than let two workers
    /// share a name unlocked.
    ///
    /// ```
    /// use titan_webhooks::queue::{DeliveryStore, MemoryStore, WorkerName};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = MemoryStore::new();
    /// let name = WorkerName::new("sender-1")?;
    /// let held = store.try_lock_worker(&name).await?;
    /// assert!(held.is_some());
    /// assert!(store.try_lock_worker(&name).await?.is_none(), "one live worker per name");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::WorkerNamesUnsupported`] from a store without worker
    /// names, and [`StoreError::Backend`] when the lock cannot be taken or
    /// asked for.
    fn try_lock_worker(
        &self,
        name: &WorkerName,
    ) -> impl Future<Output = Result<Option<WorkerLock>, StoreError>> + Send {
        let _ = name;
        std::future::ready(Err(StoreError::WorkerNamesUnsupported))
    }

    /// Resolves when work may have been queued by someone the dispatcher
    /// does not hear from directly, such as another process sharing the
    /// store. The dispatcher also polls, so a store that cannot tell keeps
    /// this default, which never resolves.
    fn work_queued(&self) -> impl Future<Output = ()> + Send + '_ {
        std::future::pending()
    }
}

/// A delivery store failed. Backend errors are carried as text, so no
/// database crate's type reaches this API.
///
/// ```
/// use titan_webhooks::queue::StoreError;
///
/// assert_eq!(StoreError::LeaseLost.to_string(), "the lease was lost: another worker holds the delivery");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The claim's lease lapsed and the delivery was claimed again, or it
    /// was already completed.
    #[error("the lease was lost: another worker holds the delivery")]
    LeaseLost,
    /// A time computed from a lease or a delay is out of range.
    #[error("a time is out of range")]
    TimeOutOfRange,
    /// The store cannot lock worker names, so it cannot run a dispatcher
    /// with a stable [`WorkerName`]; see
    /// [`DeliveryStore::try_lock_worker`].
    #[error("this delivery store does not support stable worker names")]
    WorkerNamesUnsupported,
    /// The storage backend failed.
    #[error("the store failed: {message}")]
    Backend {
        /// The backend's description of the failure.
        message: String,
    },
}
