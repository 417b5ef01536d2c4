//! The in-memory delivery store.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use bytes::Bytes;

use super::due_queue::{DueAt, DueQueue, MAX_KEPT_SCRATCH};
use super::slot_index::SlotIndex;
use super::{
    ClaimRequest, ClaimedDelivery, DeliveryAdmin, DeliveryAttempt, DeliveryKey, DeliveryQuery,
    DeliveryRecord, DeliveryState, DeliveryStore, EnvelopeRecord, FinishedState, HeldClaim, Lease,
    LocalNames, OpenDelivery, Prepared, QueueMetrics, StoreError, WorkerLock, WorkerName,
};
use crate::retry::NextStep;
use crate::subscription::WebhookId;

/// How many finished deliveries, and separately how many attempts, a
/// [`MemoryStore`] remembers unless configured otherwise.
pub const DEFAULT_MEMORY_HISTORY: usize = 10_000;

/// A delivery store in memory: for tests, and for processes that can afford
/// to lose pending retries when they stop.
///
/// Everything it holds is gone on restart, including deliveries waiting for
/// a retry. A graceful shutdown returns what is still open so it can be
/// logged or moved; use a durable store when that is not enough.
///
/// An envelope's bytes are held once, shared by all its deliveries, and
/// dropped with the last of them. Only the most recent finished deliveries
/// and attempts are remembered ([`DEFAULT_MEMORY_HISTORY`] each, or
/// [`MemoryStore::with_history`]), so memory stays bounded while the
/// process runs; an envelope dispatched again after its deliveries were
/// forgotten is delivered again. A remembered finished delivery keeps its
/// bytes, so it can be redelivered.
///
/// Worker names ([`DeliveryStore::try_lock_worker`]) are held per store:
/// a second dispatcher on the same store cannot take a name that a live
/// one holds.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use titan_webhooks::queue::{ClaimRequest, DeliveryStore, EnvelopeRecord, MemoryStore};
/// use titan_webhooks::{Envelope, TitanEvent};
///
/// # tokio_test_block_on(async {
/// let store = MemoryStore::new();
/// let record = EnvelopeRecord::from_envelope(&Envelope::new(TitanEvent::ChatRead, "s", ()))?;
/// assert_eq!(store.enqueue(&record, &[1.into(), 2.into()]).await?.len(), 2);
/// assert!(store.enqueue(&record, &[1.into()]).await?.is_empty(), "idempotent");
///
/// let request = ClaimRequest { owner: "w", now: SystemTime::now(), lease: Duration::from_secs(60), limit: 10, skip: &[], per_webhook: 10 };
/// let claimed = store.claim(request).await?;
/// assert_eq!(claimed.len(), 2);
/// assert_eq!(claimed[0].body.as_ptr(), claimed[1].body.as_ptr(), "one copy of the body");
/// assert!(store.claim(request).await?.is_empty(), "leased");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    state: Mutex<State>,
    history: usize,
    names: LocalNames,
}

/// Rows live in a slab, and a lease token carries its row's slot, so a
/// claim, a renewal or a completion reaches its row without a lookup.
#[derive(Debug, Default)]
struct State {
    rows: Vec<Option<Row>>,
    free: Vec<usize>,
    /// Which slot holds each delivery, for idempotent enqueues and lookups.
    index: SlotIndex,
    /// Claimable slots, by webhook and when they are due; the sequence
    /// number orders ties.
    due: DueQueue,
    sequence: u64,
    /// Finished slots, oldest first, to forget beyond the history.
    finished: VecDeque<usize>,
    attempts: VecDeque<DeliveryAttempt>,
    /// Bumped on every claim, so a token is never reused for a slot.
    claims: u32,
    /// The last sequence given to a delivery, and to an attempt.
    last_delivery: u64,
    last_attempt: u64,
    /// Scratch for a claim's picks, kept so a claim allocates only its
    /// result.
    picked: Vec<(DueAt, usize)>,
}

#[derive(Debug)]
struct Row {
    key: DeliveryKey,
    sequence: u64,
    envelope: Arc<EnvelopeInfo>,
    body: Bytes,
    state: DeliveryState,
    attempts: u32,
    next_attempt_at: SystemTime,
    lease: Option<Lease>,
    updated_at: SystemTime,
}

/// What a listing shows of an envelope, shared by all the deliveries one
/// enqueue made.
#[derive(Debug)]
struct EnvelopeInfo {
    event: String,
    session: String,
    queued_at: SystemTime,
}

impl Row {
    fn record(&self) -> DeliveryRecord {
        DeliveryRecord {
            sequence: self.sequence,
            key: self.key.clone(),
            event: self.envelope.event.clone(),
            session: self.envelope.session.clone(),
            state: self.state,
            attempts: self.attempts,
            next_attempt_at: matches!(self.state, DeliveryState::Pending | DeliveryState::Retry)
                .then_some(self.next_attempt_at),
            created_at: self.envelope.queued_at,
            updated_at: self.updated_at,
        }
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_history(DEFAULT_MEMORY_HISTORY)
    }
}

impl MemoryStore {
    /// An empty store remembering [`DEFAULT_MEMORY_HISTORY`] finished
    /// deliveries and attempts.
    ///
    /// ```
    /// use titan_webhooks::queue::MemoryStore;
    ///
    /// assert!(MemoryStore::new().attempts().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store remembering at most `history` finished deliveries
    /// and `history` attempts; open deliveries are always kept.
    ///
    /// ```
    /// use titan_webhooks::queue::MemoryStore;
    ///
    /// assert!(MemoryStore::with_history(100).attempts().is_empty());
    /// ```
    #[must_use]
    pub fn with_history(history: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            history,
            names: LocalNames::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the rows
        // consistent (each update is one assignment), so keep going.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state of one delivery, if it is open or among the remembered
    /// finished ones.
    ///
    /// ```
    /// use titan_webhooks::queue::{DeliveryKey, MemoryStore};
    ///
    /// assert_eq!(MemoryStore::new().state(&DeliveryKey::new("evt_1", 1.into())), None);
    /// ```
    #[must_use]
    pub fn state(&self, key: &DeliveryKey) -> Option<DeliveryState> {
        let state = self.lock();
        let slot = state.slot_of(key)?;
        state.row(slot).map(|row| row.state)
    }

    /// The remembered attempts, oldest first.
    ///
    /// ```
    /// use titan_webhooks::queue::MemoryStore;
    ///
    /// assert_eq!(MemoryStore::new().attempts().len(), 0);
    /// ```
    #[must_use]
    pub fn attempts(&self) -> Vec<DeliveryAttempt> {
        self.lock().attempts.iter().cloned().collect()
    }
}

impl State {
    /// Queues `envelope` for each of `webhooks` not queued already.
    fn enqueue(
        &mut self,
        envelope: &EnvelopeRecord,
        webhooks: &[WebhookId],
        now: SystemTime,
    ) -> Vec<WebhookId> {
        let info = Arc::new(EnvelopeInfo {
            event: envelope.event.clone(),
            session: envelope.session.clone(),
            queued_at: now,
        });
        let mut queued = Vec::new();
        for webhook in webhooks {
            let key = DeliveryKey::new(envelope.id.clone(), webhook.clone());
            if self.slot_of(&key).is_some() {
                continue;
            }
            self.last_delivery = self.last_delivery.saturating_add(1);
            let sequence = self.last_delivery;
            let slot = self.insert(Row {
                key,
                sequence,
                envelope: Arc::clone(&info),
                body: envelope.body.clone(),
                state: DeliveryState::Pending,
                attempts: 0,
                next_attempt_at: now,
                lease: None,
                updated_at: now,
            });
            self.index_slot(slot);
            self.queue(slot, now);
            queued.push(webhook.clone());
        }
        queued
    }

    fn row(&self, slot: usize) -> Option<&Row> {
        self.rows.get(slot).and_then(Option::as_ref)
    }

    fn slot_of(&self, key: &DeliveryKey) -> Option<usize> {
        let rows = &self.rows;
        self.index.get(key, |slot| key_in(rows, slot))
    }

    /// Indexes the row in `slot` by its key.
    fn index_slot(&mut self, slot: usize) {
        let Self { index, rows, .. } = self;
        if let Some(key) = key_in(rows, slot) {
            index.insert(key, slot, |other| key_in(rows, other));
        }
    }

    fn row_mut(&mut self, slot: usize) -> Option<&mut Row> {
        self.rows.get_mut(slot).and_then(Option::as_mut)
    }

    fn insert(&mut self, row: Row) -> usize {
        match self.free.pop() {
            Some(slot) => {
                if let Some(place) = self.rows.get_mut(slot) {
                    *place = Some(row);
                }
                slot
            }
            None => {
                self.rows.push(Some(row));
                self.rows.len().saturating_sub(1)
            }
        }
    }

    fn queue(&mut self, slot: usize, at: SystemTime) {
        let Self {
            rows,
            due,
            sequence,
            ..
        } = self;
        if let Some(key) = key_in(rows, slot) {
            due.push(&key.webhook_id, (at, *sequence), slot, |other| {
                webhook_in(rows, other)
            });
        }
        *sequence = sequence.wrapping_add(1);
    }

    /// Takes a picked entry off the queue.
    fn dequeue(&mut self, at: DueAt, slot: usize) {
        let Self { rows, due, .. } = self;
        if let Some(key) = key_in(rows, slot) {
            due.remove(&key.webhook_id, at, |other| webhook_in(rows, other));
        }
    }

    /// The row `delivery` claimed, if its lease still holds it.
    fn held(&mut self, delivery: &ClaimedDelivery) -> Result<(usize, &mut Row), StoreError> {
        let slot = slot_of(delivery.lease.token);
        self.row_mut(slot)
            .filter(|row| {
                row.lease
                    .as_ref()
                    .is_some_and(|lease| lease.token == delivery.lease.token)
            })
            .map(|row| (slot, row))
            .ok_or(StoreError::LeaseLost)
    }

    /// Remembers a finished slot, forgetting the oldest beyond `history`.
    fn finish(&mut self, slot: usize, history: usize) {
        self.finished.push_back(slot);
        while self.finished.len() > history {
            let Some(old) = self.finished.pop_front() else {
                break;
            };
            self.forget(old);
        }
    }

    /// Drops a slot's row. Its share of the envelope's bytes goes with it;
    /// the last share frees them.
    fn forget(&mut self, slot: usize) {
        if let Some(row) = self.rows.get_mut(slot).and_then(Option::take) {
            self.index.remove(&row.key, slot);
            self.free.push(slot);
        }
    }

    /// Logs `attempt`, returning its sequence.
    fn record(&mut self, attempt: &DeliveryAttempt, history: usize) -> u64 {
        self.last_attempt = self.last_attempt.saturating_add(1);
        let mut logged = attempt.clone();
        logged.sequence = Some(self.last_attempt);
        self.attempts.push_back(logged);
        while self.attempts.len() > history {
            self.attempts.pop_front();
        }
        self.last_attempt
    }

    /// Queues a finished slot again, as a fresh delivery due at `now`.
    fn requeue(&mut self, slot: usize, now: SystemTime) -> bool {
        let reopened = self.reopen(slot, now);
        if reopened {
            self.finished.retain(|finished| *finished != slot);
        }
        reopened
    }

    /// Queues again every finished row `wanted` picks; returns how many.
    fn reopen_where(&mut self, now: SystemTime, wanted: impl Fn(&Row) -> bool) -> u64 {
        let slots: Vec<usize> = self
            .rows
            .iter()
            .enumerate()
            .filter_map(|(slot, row)| row.as_ref().filter(|row| wanted(row)).map(|_| slot))
            .collect();
        let mut requeued = 0u64;
        for slot in &slots {
            if self.reopen(*slot, now) {
                requeued = requeued.saturating_add(1);
            }
        }
        // Once for all of them, not once per delivery: collected in slot
        // order, so each lookup is a binary search.
        self.finished
            .retain(|slot| slots.binary_search(slot).is_err());
        requeued
    }

    /// Queues a finished slot again, leaving it listed among the finished
    /// ones: the caller takes it off that list.
    fn reopen(&mut self, slot: usize, now: SystemTime) -> bool {
        let Some(row) = self.row_mut(slot).filter(|row| !row.state.is_open()) else {
            return false;
        };
        row.state = DeliveryState::Pending;
        row.attempts = 0;
        row.next_attempt_at = now;
        row.updated_at = now;
        self.queue(slot, now);
        true
    }

    /// Puts a claimed row back in the queue, as it was before the claim.
    fn unclaim(&mut self, slot: usize) {
        let Some(row) = self.row_mut(slot) else {
            return;
        };
        row.lease = None;
        row.state = if row.attempts == 0 {
            DeliveryState::Pending
        } else {
            DeliveryState::Retry
        };
        let due = row.next_attempt_at;
        self.queue(slot, due);
    }
}

fn key_in(rows: &[Option<Row>], slot: usize) -> Option<&DeliveryKey> {
    rows.get(slot).and_then(Option::as_ref).map(|row| &row.key)
}

fn webhook_in(rows: &[Option<Row>], slot: usize) -> Option<&WebhookId> {
    key_in(rows, slot).map(|key| &key.webhook_id)
}

/// Tokens carry their row's slot in the low 32 bits and a claim counter in
/// the high ones.
fn token_for(slot: usize, claim: u32) -> u64 {
    (u64::from(claim) << 32) | (u64::try_from(slot).unwrap_or(u64::MAX) & u64::from(u32::MAX))
}

fn slot_of(token: u64) -> usize {
    usize::try_from(token & u64::from(u32::MAX)).unwrap_or(usize::MAX)
}

impl DeliveryStore for MemoryStore {
    async fn enqueue(
        &self,
        envelope: &EnvelopeRecord,
        webhooks: &[WebhookId],
    ) -> Result<Vec<WebhookId>, StoreError> {
        let now = SystemTime::now();
        Ok(self.lock().enqueue(envelope, webhooks, now))
    }

    /// Under one lock, so no claim sees part of the batch; nothing in it
    /// can fail, so it is all or nothing.
    async fn enqueue_many(&self, batch: &[Prepared]) -> Result<Vec<Vec<WebhookId>>, StoreError> {
        let now = SystemTime::now();
        let mut state = self.lock();
        Ok(batch
            .iter()
            .map(|item| state.enqueue(&item.record, &item.webhooks, now))
            .collect())
    }

    async fn claim(&self, request: ClaimRequest<'_>) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let until = request.lease_until()?;
        let mut state = self.lock();
        let mut picked = std::mem::take(&mut state.picked);
        let State { rows, due, .. } = &mut *state;
        due.pick(&request, |slot| webhook_in(rows, slot), &mut picked);
        let mut claimed = Vec::with_capacity(picked.len());
        for (entry, slot) in picked.drain(..) {
            state.dequeue(entry, slot);
            state.claims = state.claims.wrapping_add(1);
            let lease = Lease {
                owner: request.owner.to_owned(),
                token: token_for(slot, state.claims),
                until,
            };
            let Some(row) = state.row_mut(slot) else {
                continue;
            };
            row.state = DeliveryState::InFlight;
            row.lease = Some(lease.clone());
            row.updated_at = request.now;
            claimed.push(ClaimedDelivery {
                key: row.key.clone(),
                attempts: row.attempts,
                body: row.body.clone(),
                queued_at: row.envelope.queued_at,
                lease,
            });
        }
        if picked.capacity() <= MAX_KEPT_SCRATCH {
            state.picked = picked;
        }
        Ok(claimed)
    }

    async fn renew_leases(
        &self,
        owner: &str,
        held: &[HeldClaim],
        until: SystemTime,
    ) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let mut renewed = 0u64;
        for claim in held {
            let lease = state
                .row_mut(slot_of(claim.token))
                .filter(|row| row.key == claim.key)
                .and_then(|row| row.lease.as_mut())
                .filter(|lease| lease.token == claim.token && lease.owner == owner);
            if let Some(lease) = lease {
                lease.until = until;
                renewed = renewed.saturating_add(1);
            }
        }
        Ok(renewed)
    }

    async fn complete(
        &self,
        delivery: &ClaimedDelivery,
        attempt: &DeliveryAttempt,
    ) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let (slot, row) = state.held(delivery)?;
        row.lease = None;
        row.state = DeliveryState::from(attempt.next);
        row.updated_at = SystemTime::now();
        row.attempts = row.attempts.saturating_add(1);
        match attempt.next {
            NextStep::RetryAt(at) => {
                row.next_attempt_at = at;
                state.queue(slot, at);
            }
            NextStep::Succeeded | NextStep::GaveUp | NextStep::Disabled => {
                state.finish(slot, self.history);
            }
        }
        Ok(state.record(attempt, self.history))
    }

    async fn cancel(&self, delivery: &ClaimedDelivery) -> Result<(), StoreError> {
        let mut state = self.lock();
        let (slot, row) = state.held(delivery)?;
        row.lease = None;
        row.state = DeliveryState::Cancelled;
        row.updated_at = SystemTime::now();
        state.finish(slot, self.history);
        Ok(())
    }

    async fn release_leases(&self, owner: &str) -> Result<Vec<DeliveryKey>, StoreError> {
        let mut state = self.lock();
        let held: Vec<usize> = state
            .rows
            .iter()
            .enumerate()
            .filter(|(_, row)| {
                row.as_ref()
                    .and_then(|row| row.lease.as_ref())
                    .is_some_and(|lease| lease.owner == owner)
            })
            .map(|(slot, _)| slot)
            .collect();
        let mut released = Vec::with_capacity(held.len());
        for slot in held {
            if let Some(row) = state.row(slot) {
                released.push(row.key.clone());
            }
            state.unclaim(slot);
        }
        Ok(released)
    }

    async fn try_lock_worker(&self, name: &WorkerName) -> Result<Option<WorkerLock>, StoreError> {
        Ok(self.names.try_lock(name))
    }

    async fn recover_expired(&self, now: SystemTime) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let lapsed: Vec<usize> = state
            .rows
            .iter()
            .enumerate()
            .filter(|(_, row)| {
                row.as_ref().is_some_and(|row| {
                    row.state == DeliveryState::InFlight
                        && row
                            .lease
                            .as_ref()
                            .is_some_and(|lease| lease.is_expired_at(now))
                })
            })
            .map(|(slot, _)| slot)
            .collect();
        for slot in &lapsed {
            state.unclaim(*slot);
        }
        Ok(u64::try_from(lapsed.len()).unwrap_or(u64::MAX))
    }

    async fn queue_metrics(&self, now: SystemTime) -> Result<Option<QueueMetrics>, StoreError> {
        DeliveryAdmin::metrics(self, now).await.map(Some)
    }

    async fn next_due(&self) -> Result<Option<SystemTime>, StoreError> {
        Ok(self.lock().due.first())
    }

    async fn open_deliveries(&self) -> Result<Vec<OpenDelivery>, StoreError> {
        let mut open: Vec<OpenDelivery> = self
            .lock()
            .rows
            .iter()
            .flatten()
            .filter(|row| row.state.is_open())
            .map(|row| OpenDelivery {
                key: row.key.clone(),
                state: row.state,
                attempts: row.attempts,
                next_attempt_at: (row.state != DeliveryState::InFlight)
                    .then_some(row.next_attempt_at),
            })
            .collect();
        open.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(open)
    }
}

impl DeliveryAdmin for MemoryStore {
    async fn list_deliveries(
        &self,
        query: &DeliveryQuery,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let state = self.lock();
        let mut rows: Vec<&Row> = state
            .rows
            .iter()
            .flatten()
            .filter(|row| query.matches(&row.key, row.state))
            .filter(|row| {
                query
                    .before_sequence()
                    .is_none_or(|before| row.sequence < before)
            })
            .collect();
        rows.sort_unstable_by_key(|row| std::cmp::Reverse(row.sequence));
        Ok(rows
            .into_iter()
            .take(query.limit_or_default())
            .map(Row::record)
            .collect())
    }

    async fn list_attempts(
        &self,
        query: &DeliveryQuery,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let state = self.lock();
        let delivery_state = |key: &DeliveryKey| {
            let slot = state.slot_of(key)?;
            state.row(slot).map(|row| row.state)
        };
        Ok(state
            .attempts
            .iter()
            .rev()
            .filter(|attempt| {
                query
                    .before_sequence()
                    .is_none_or(|before| attempt.sequence.is_some_and(|logged| logged < before))
            })
            .filter(|attempt| {
                let key = &attempt.key;
                match query.state() {
                    // A forgotten delivery's state is unknown, so it does not match.
                    Some(_) => delivery_state(key).is_some_and(|now| query.matches(key, now)),
                    None => query.matches(key, DeliveryState::Pending),
                }
            })
            .take(query.limit_or_default())
            .cloned()
            .collect())
    }

    async fn redeliver(&self, key: &DeliveryKey, now: SystemTime) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let Some(slot) = state.slot_of(key) else {
            return Ok(false);
        };
        Ok(state.requeue(slot, now))
    }

    async fn redeliver_exhausted(
        &self,
        finished: Range<SystemTime>,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        Ok(self.lock().reopen_where(now, |row| {
            row.state == DeliveryState::Exhausted && finished.contains(&row.updated_at)
        }))
    }

    async fn redeliver_webhook(
        &self,
        webhook: &WebhookId,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        Ok(self.lock().reopen_where(now, |row| {
            row.key.webhook_id == *webhook
                && matches!(
                    row.state,
                    DeliveryState::Exhausted | DeliveryState::Cancelled
                )
        }))
    }

    async fn cancel_webhook(
        &self,
        webhook: &WebhookId,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        let mut state = self.lock();
        // Every pending delivery and scheduled retry is queued; claimed ones
        // are not, and finish as they are.
        let State { rows, due, .. } = &mut *state;
        let waiting = due.remove_webhook(webhook, |slot| webhook_in(rows, slot));
        for slot in &waiting {
            if let Some(row) = state.row_mut(*slot) {
                row.state = DeliveryState::Cancelled;
                row.updated_at = now;
            }
            state.finish(*slot, self.history);
        }
        Ok(u64::try_from(waiting.len()).unwrap_or(u64::MAX))
    }

    async fn purge_finished(
        &self,
        states: &[FinishedState],
        finished_before: SystemTime,
    ) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let purged: Vec<usize> = state
            .rows
            .iter()
            .enumerate()
            .filter_map(|(slot, row)| {
                let row = row.as_ref()?;
                let finished = FinishedState::of(row.state)?;
                (states.contains(&finished) && row.updated_at < finished_before).then_some(slot)
            })
            .collect();
        let mut keys = Vec::with_capacity(purged.len());
        for slot in &purged {
            if let Some(row) = state.row(*slot) {
                keys.push(row.key.clone());
            }
            state.forget(*slot);
        }
        // Collected in slot order; see `cancel_webhook`.
        state
            .finished
            .retain(|slot| purged.binary_search(slot).is_err());
        keys.sort_unstable();
        state
            .attempts
            .retain(|attempt| keys.binary_search(&attempt.key).is_err());
        Ok(u64::try_from(purged.len()).unwrap_or(u64::MAX))
    }

    async fn metrics(&self, now: SystemTime) -> Result<QueueMetrics, StoreError> {
        let state = self.lock();
        let mut metrics = QueueMetrics::default();
        for row in state.rows.iter().flatten() {
            metrics.add(row.state, 1);
        }
        metrics.oldest_due_age = state
            .due
            .first()
            .and_then(|due| now.duration_since(due).ok());
        Ok(metrics)
    }
}
