//! What operators do with a delivery store: list, redeliver, cancel,
//! purge and watch the queue.

use std::future::Future;
use std::ops::Range;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::{DeliveryAttempt, DeliveryKey, DeliveryState, StoreError};
use crate::subscription::WebhookId;

/// The most records one listing returns.
pub const MAX_LIST_LIMIT: usize = 1000;
/// How many records a listing returns unless told otherwise.
pub const DEFAULT_LIST_LIMIT: usize = 100;

/// Which deliveries, or which of their attempts, a listing returns: those
/// of a webhook, of an envelope, or of both (one delivery), newest first.
///
/// ```
/// use titan_webhooks::queue::{DeliveryQuery, DeliveryState};
///
/// let query = DeliveryQuery::for_webhook(42.into()).with_state(DeliveryState::Exhausted).limit(20);
/// assert_eq!(query.limit_or_default(), 20);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct DeliveryQuery {
    webhook: Option<WebhookId>,
    envelope: Option<String>,
    state: Option<DeliveryState>,
    before: Option<u64>,
    limit: Option<usize>,
}

impl DeliveryQuery {
    /// Every delivery, newest first.
    ///
    /// ```
    /// use titan_webhooks::queue::DeliveryQuery;
    ///
    /// assert_eq!(DeliveryQuery::all().webhook(), None);
    /// ```
    pub fn all() -> Self {
        Self::default()
    }

    /// The deliveries to one webhook.
    ///
    /// ```
    /// use titan_webhooks::queue::DeliveryQuery;
    ///
    /// assert_eq!(DeliveryQuery::for_webhook(7.into()).webhook(), Some(&7.into()));
    /// ```
    pub fn for_webhook(webhook: WebhookId) -> Self {
        Self {
            webhook: Some(webhook),
            ..Self::default()
        }
    }

    /// The deliveries of one envelope, to every webhook.
    ///
    /// ```
    /// use titan_webhooks::queue::DeliveryQuery;
    ///
    /// assert_eq!(DeliveryQuery::for_envelope("evt_1").envelope(), Some("evt_1"));
    /// ```
    pub fn for_envelope(envelope_id: impl Into<String>) -> Self {
        Self {
            envelope: Some(envelope_id.into()),
            ..Self::default()
        }
    }

    /// One delivery.
    ///
    /// ```
    /// use titan_webhooks::queue::{DeliveryKey, DeliveryQuery};
    ///
    /// let query = DeliveryQuery::for_delivery(&DeliveryKey::new("evt_1", 7.into()));
    /// assert_eq!((query.envelope(), query.webhook()), (Some("evt_1"), Some(&7.into())));
    /// ```
    pub fn for_delivery(key: &DeliveryKey) -> Self {
        Self {
            webhook: Some(key.webhook_id.clone()),
            envelope: Some(key.envelope_id.clone()),
            ..Self::default()
        }
    }

    /// Only deliveries in `state`. For attempts, the state of the delivery
    /// they belong to.
    ///
    /// ```
    /// use titan_webhooks::queue::{DeliveryQuery, DeliveryState};
    ///
    /// assert_eq!(DeliveryQuery::all().with_state(DeliveryState::Retry).state(), Some(DeliveryState::Retry));
    /// ```
    pub fn with_state(mut self, state: DeliveryState) -> Self {
        self.state = Some(state);
        self
    }

    /// Only records older than the one with this `sequence`: pass the last
    /// sequence of a page to get the next page.
    ///
    /// ```
    /// use titan_webhooks::queue::DeliveryQuery;
    ///
    /// assert_eq!(DeliveryQuery::all().before(10).before_sequence(), Some(10));
    /// ```
    pub fn before(mut self, sequence: u64) -> Self {
        self.before = Some(sequence);
        self
    }

    /// At most `limit` records, capped at [`MAX_LIST_LIMIT`]. Defaults to
    /// [`DEFAULT_LIST_LIMIT`].
    ///
    /// ```
    /// use titan_webhooks::queue::{DeliveryQuery, MAX_LIST_LIMIT};
    ///
    /// assert_eq!(DeliveryQuery::all().limit(1_000_000).limit_or_default(), MAX_LIST_LIMIT);
    /// ```
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The webhook filter.
    ///
    /// ```
    /// use titan_webhooks::queue::DeliveryQuery;
    ///
    /// assert!(DeliveryQuery::for_envelope("evt_1").webhook().is_none());
    /// ```
    #[must_use]
    pub fn webhook(&self) -> Option<&WebhookId> {
        self.webhook.as_ref()
    }

    /// The envelope filter.
    ///
    /// ```
    /// use titan_webhooks::queue::DeliveryQuery;
    ///
    /// assert!(DeliveryQuery::for_webhook(1.into()).envelope().is_none());
    /// ```
    #[must_use]
    pub fn envelope(&self) -> Option<&str> {
        self.envelope.as_deref()
    }

    /// The state filter.
    ///
    /// ```
    /// use titan_webhooks::queue::DeliveryQuery;
    ///
    /// assert!(DeliveryQuery::all().state().is_none());
    /// ```
    #[must_use]
    pub fn state(&self) -> Option<DeliveryState> {
        self.state
    }

    /// The cursor: only records with a smaller sequence.
    ///
    /// ```
    /// use titan_webhooks::queue::DeliveryQuery;
    ///
    /// assert!(DeliveryQuery::all().before_sequence().is_none());
    /// ```
    #[must_use]
    pub fn before_sequence(&self) -> Option<u64> {
        self.before
    }

    /// How many records to return: the limit asked for, capped at
    /// [`MAX_LIST_LIMIT`], or [`DEFAULT_LIST_LIMIT`].
    ///
    /// ```
    /// use titan_webhooks::queue::{DEFAULT_LIST_LIMIT, DeliveryQuery};
    ///
    /// assert_eq!(DeliveryQuery::all().limit_or_default(), DEFAULT_LIST_LIMIT);
    /// ```
    #[must_use]
    pub fn limit_or_default(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_LIST_LIMIT).min(MAX_LIST_LIMIT)
    }

    /// Whether a delivery passes the filters other than the cursor.
    pub(crate) fn matches(&self, key: &DeliveryKey, state: DeliveryState) -> bool {
        self.webhook.as_ref().is_none_or(|id| *id == key.webhook_id)
            && self
                .envelope
                .as_deref()
                .is_none_or(|id| id == key.envelope_id)
            && self.state.is_none_or(|wanted| wanted == state)
    }
}

/// A state a delivery finishes in: the states whose deliveries
/// [`DeliveryAdmin::purge_finished`] may delete. Open states have no
/// counterpart here, so a purge cannot name one.
///
/// ```
/// use titan_webhooks::queue::{DeliveryState, FinishedState};
///
/// assert_eq!(DeliveryState::from(FinishedState::Exhausted), DeliveryState::Exhausted);
/// assert_eq!(FinishedState::of(DeliveryState::Cancelled), Some(FinishedState::Cancelled));
/// assert_eq!(FinishedState::of(DeliveryState::Retry), None, "still open");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishedState {
    /// Delivered.
    Succeeded,
    /// Given up on: retries used up, a status never retried, the guard
    /// refused the target, or the endpoint answered `410 Gone`.
    Exhausted,
    /// Stopped without delivery: the webhook was disabled or removed.
    Cancelled,
}

impl FinishedState {
    /// Every finished state.
    ///
    /// ```
    /// use titan_webhooks::queue::FinishedState;
    ///
    /// assert_eq!(FinishedState::ALL.len(), 3);
    /// ```
    pub const ALL: [Self; 3] = [Self::Succeeded, Self::Exhausted, Self::Cancelled];

    /// The finished state `state` is, or `None` for an open one.
    ///
    /// ```
    /// use titan_webhooks::queue::{DeliveryState, FinishedState};
    ///
    /// assert_eq!(FinishedState::of(DeliveryState::Succeeded), Some(FinishedState::Succeeded));
    /// assert_eq!(FinishedState::of(DeliveryState::InFlight), None);
    /// ```
    #[must_use]
    pub fn of(state: DeliveryState) -> Option<Self> {
        match state {
            DeliveryState::Succeeded => Some(Self::Succeeded),
            DeliveryState::Exhausted => Some(Self::Exhausted),
            DeliveryState::Cancelled => Some(Self::Cancelled),
            DeliveryState::Pending | DeliveryState::InFlight | DeliveryState::Retry => None,
        }
    }

    /// The state's name as stored, as [`DeliveryState::as_str`] writes it.
    ///
    /// ```
    /// use titan_webhooks::queue::FinishedState;
    ///
    /// assert_eq!(FinishedState::Exhausted.as_str(), "exhausted");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        DeliveryState::from(self).as_str()
    }
}

impl From<FinishedState> for DeliveryState {
    fn from(state: FinishedState) -> Self {
        match state {
            FinishedState::Succeeded => Self::Succeeded,
            FinishedState::Exhausted => Self::Exhausted,
            FinishedState::Cancelled => Self::Cancelled,
        }
    }
}

/// A delivery as a listing shows it.
///
/// ```
/// use std::time::SystemTime;
/// use titan_webhooks::queue::{DeliveryKey, DeliveryRecord, DeliveryState};
///
/// let record = DeliveryRecord {
///     sequence: 1,
///     key: DeliveryKey::new("evt_1", 42.into()),
///     event: "message.received".into(),
///     session: "default".into(),
///     state: DeliveryState::Retry,
///     attempts: 1,
///     next_attempt_at: Some(SystemTime::now()),
///     created_at: SystemTime::now(),
///     updated_at: SystemTime::now(),
/// };
/// assert!(record.state.is_open());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// Increases with every delivery queued; the cursor for the next page.
    pub sequence: u64,
    /// Which delivery.
    pub key: DeliveryKey,
    /// The envelope's event type.
    pub event: String,
    /// The envelope's session.
    pub session: String,
    /// Where it is in its life.
    pub state: DeliveryState,
    /// Attempts made since it was queued or last redelivered.
    pub attempts: u32,
    /// When the next attempt is due: set while pending or waiting to retry.
    pub next_attempt_at: Option<SystemTime>,
    /// When it was queued.
    pub created_at: SystemTime,
    /// When its state last changed.
    pub updated_at: SystemTime,
}

/// How deep the queue is, and how far behind.
///
/// ```
/// use std::time::Duration;
/// use titan_webhooks::queue::{DeliveryState, QueueMetrics};
///
/// // Fields may be added, so a store of your own starts from the default.
/// let mut metrics = QueueMetrics::default();
/// metrics.pending = 3;
/// metrics.retry = 2;
/// metrics.oldest_due_age = Some(Duration::from_secs(4));
/// assert_eq!(metrics.open(), 5);
/// assert_eq!(metrics.depth(DeliveryState::Retry), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QueueMetrics {
    /// Queued, never attempted.
    pub pending: u64,
    /// Claimed by a dispatcher.
    pub in_flight: u64,
    /// Waiting for a retry.
    pub retry: u64,
    /// Delivered, and not purged yet.
    pub succeeded: u64,
    /// Given up on.
    pub exhausted: u64,
    /// Stopped without delivery.
    pub cancelled: u64,
    /// How long the earliest due delivery has been waiting to be claimed:
    /// zero or near it when dispatchers keep up, `None` when nothing is due.
    pub oldest_due_age: Option<Duration>,
}

impl QueueMetrics {
    /// The number of deliveries in `state`.
    ///
    /// ```
    /// use titan_webhooks::queue::{DeliveryState, QueueMetrics};
    ///
    /// assert_eq!(QueueMetrics::default().depth(DeliveryState::Pending), 0);
    /// ```
    #[must_use]
    pub fn depth(&self, state: DeliveryState) -> u64 {
        match state {
            DeliveryState::Pending => self.pending,
            DeliveryState::InFlight => self.in_flight,
            DeliveryState::Retry => self.retry,
            DeliveryState::Succeeded => self.succeeded,
            DeliveryState::Exhausted => self.exhausted,
            DeliveryState::Cancelled => self.cancelled,
        }
    }

    /// The number of deliveries not finished: pending, in flight or
    /// waiting to retry.
    ///
    /// ```
    /// use titan_webhooks::queue::QueueMetrics;
    ///
    /// let mut metrics = QueueMetrics::default();
    /// metrics.in_flight = 1;
    /// assert_eq!(metrics.open(), 1);
    /// ```
    #[must_use]
    pub fn open(&self) -> u64 {
        self.pending
            .saturating_add(self.in_flight)
            .saturating_add(self.retry)
    }

    /// Adds `count` deliveries in `state`.
    pub(crate) fn add(&mut self, state: DeliveryState, count: u64) {
        let depth = match state {
            DeliveryState::Pending => &mut self.pending,
            DeliveryState::InFlight => &mut self.in_flight,
            DeliveryState::Retry => &mut self.retry,
            DeliveryState::Succeeded => &mut self.succeeded,
            DeliveryState::Exhausted => &mut self.exhausted,
            DeliveryState::Cancelled => &mut self.cancelled,
        };
        *depth = depth.saturating_add(count);
    }
}

/// What operators do with a delivery store, beyond the dispatcher's work:
/// the delivery log, manual redelivery, cancelling a webhook's queue,
/// retention and metrics. Time is passed in, as for [`DeliveryStore`](super::DeliveryStore).
///
/// A redelivery starts the delivery over: it is due at once, its retry
/// schedule starts again, and its attempts are numbered from 1 again. The
/// attempts made before stay in the log.
pub trait DeliveryAdmin: Send + Sync + 'static {
    /// Deliveries matching `query`, newest first.
    fn list_deliveries(
        &self,
        query: &DeliveryQuery,
    ) -> impl Future<Output = Result<Vec<DeliveryRecord>, StoreError>> + Send;

    /// Attempts of the deliveries matching `query`, newest first, each
    /// with its [`sequence`](DeliveryAttempt::sequence).
    fn list_attempts(
        &self,
        query: &DeliveryQuery,
    ) -> impl Future<Output = Result<Vec<DeliveryAttempt>, StoreError>> + Send;

    /// Queues a finished delivery (succeeded, exhausted or cancelled) again,
    /// due at `now`. Returns `false` if there is no such delivery or it is
    /// still open.
    fn redeliver(
        &self,
        key: &DeliveryKey,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Queues again every exhausted delivery that finished within
    /// `finished`, due at `now`; returns how many.
    fn redeliver_exhausted(
        &self,
        finished: Range<SystemTime>,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Queues again every stopped delivery to `webhook`, cancelled or
    /// exhausted, due at `now`, as [`DeliveryAdmin::redeliver`] does for
    /// one: its attempts are numbered from 1 again and the attempts made
    /// before stay in the log. Returns how many. Succeeded and open
    /// deliveries are left as they are.
    ///
    /// Use it after enabling a webhook again: the deliveries that were
    /// waiting while it was disabled were cancelled
    /// ([`DeliveryAdmin::cancel_webhook`]), and those that gave up while
    /// its endpoint was down are exhausted; this sends them after all.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use titan_webhooks::queue::{DeliveryAdmin, DeliveryState, DeliveryStore, EnvelopeRecord, MemoryStore};
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = MemoryStore::new();
    /// let record = EnvelopeRecord::from_envelope(&Envelope::new(TitanEvent::ChatRead, "s", ()))?;
    /// store.enqueue(&record, &[7.into()]).await?;
    ///
    /// // Webhook 7 is disabled: its waiting delivery is cancelled.
    /// assert_eq!(store.cancel_webhook(&7.into(), SystemTime::now()).await?, 1);
    /// // Enabled again: the cancelled delivery is queued once more.
    /// assert_eq!(store.redeliver_webhook(&7.into(), SystemTime::now()).await?, 1);
    /// assert_eq!(store.open_deliveries().await?[0].state, DeliveryState::Pending);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    fn redeliver_webhook(
        &self,
        webhook: &WebhookId,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Cancels the deliveries to `webhook` that are waiting, pending or to
    /// retry, for a webhook that was disabled or deleted; returns how many.
    /// An attempt already in flight finishes and is recorded; the
    /// dispatcher then cancels the delivery if the webhook is disabled or
    /// gone from its registry.
    fn cancel_webhook(
        &self,
        webhook: &WebhookId,
        now: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes the deliveries in any of `states` that finished before
    /// `finished_before`, with their attempts and the envelopes left with no
    /// delivery, in one transaction; returns how many deliveries. Open
    /// deliveries (pending, in flight or waiting to retry) are never
    /// touched: [`FinishedState`] cannot name them. An envelope dispatched
    /// again after its deliveries were purged is delivered again.
    ///
    /// Call it with a retention period per state, for example a week of
    /// successes and a month of failures to investigate.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use titan_webhooks::queue::{DeliveryAdmin, DeliveryStore, EnvelopeRecord, FinishedState, MemoryStore};
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = MemoryStore::new();
    /// let record = EnvelopeRecord::from_envelope(&Envelope::new(TitanEvent::ChatRead, "s", ()))?;
    /// store.enqueue(&record, &[7.into(), 8.into()]).await?;
    /// store.cancel_webhook(&7.into(), SystemTime::now()).await?;
    ///
    /// let month_ago = SystemTime::now() - Duration::from_secs(30 * 86_400);
    /// let stopped = [FinishedState::Exhausted, FinishedState::Cancelled];
    /// assert_eq!(store.purge_finished(&stopped, month_ago).await?, 0, "too recent");
    /// let later = SystemTime::now() + Duration::from_secs(1);
    /// assert_eq!(store.purge_finished(&stopped, later).await?, 1);
    /// assert_eq!(store.open_deliveries().await?.len(), 1, "webhook 8's is still open");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    fn purge_finished(
        &self,
        states: &[FinishedState],
        finished_before: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes succeeded deliveries that finished before `finished_before`,
    /// their attempts, and envelopes left with no delivery; returns how
    /// many deliveries. The same as [`DeliveryAdmin::purge_finished`] with
    /// [`FinishedState::Succeeded`].
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use titan_webhooks::queue::{DeliveryAdmin, MemoryStore};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = MemoryStore::new();
    /// assert_eq!(store.purge_succeeded(SystemTime::now()).await?, 0);
    /// # Ok::<(), titan_webhooks::queue::StoreError>(())
    /// # }).unwrap();
    /// ```
    fn purge_succeeded(
        &self,
        finished_before: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.purge_finished(&[FinishedState::Succeeded], finished_before)
    }

    /// The queue's depth by state and the age of its oldest due delivery.
    fn metrics(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<QueueMetrics, StoreError>> + Send;
}
