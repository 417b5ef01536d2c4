//! The in-memory delivery store.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use bytes::Bytes;

use super::{
    ClaimRequest, ClaimedDelivery, Completion, DeliveryAttempt, DeliveryKey, DeliveryState,
    DeliveryStore, EnvelopeRecord, Lease, OpenDelivery,
};
use crate::StoreError;
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
/// forgotten is delivered again.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use titan_webhooks::transport::{ClaimRequest, DeliveryStore, EnvelopeRecord, MemoryStore};
/// use titan_webhooks::{Envelope, TitanEvent};
///
/// # tokio_test_block_on(async {
/// let store = MemoryStore::new();
/// let record = EnvelopeRecord::from_envelope(&Envelope::new(TitanEvent::ChatRead, "s", ()))?;
/// assert_eq!(store.enqueue(&record, &[1.into(), 2.into()]).await?.len(), 2);
/// assert!(store.enqueue(&record, &[1.into()]).await?.is_empty(), "idempotent");
///
/// let request = ClaimRequest { owner: "w", now: SystemTime::now(), lease: Duration::from_secs(60), limit: 10, skip: &[] };
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
}

/// Rows live in a slab, and a lease token carries its row's slot, so a
/// claim, a renewal or a completion reaches its row without a lookup.
#[derive(Debug, Default)]
struct State {
    rows: Vec<Option<Row>>,
    free: Vec<usize>,
    /// Which slot holds each delivery, for idempotent enqueues and lookups.
    index: HashMap<DeliveryKey, usize>,
    /// Claimable slots, by when they are due; the sequence number orders
    /// ties.
    due: BTreeMap<(SystemTime, u64), usize>,
    sequence: u64,
    /// Finished slots, oldest first, to forget beyond the history.
    finished: VecDeque<usize>,
    attempts: VecDeque<DeliveryAttempt>,
    /// Bumped on every claim, so a token is never reused for a slot.
    claims: u32,
}

#[derive(Debug)]
struct Row {
    key: DeliveryKey,
    body: Bytes,
    state: DeliveryState,
    attempts: u32,
    next_attempt_at: SystemTime,
    lease: Option<Lease>,
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
    /// use titan_webhooks::transport::MemoryStore;
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
    /// use titan_webhooks::transport::MemoryStore;
    ///
    /// assert!(MemoryStore::with_history(100).attempts().is_empty());
    /// ```
    #[must_use]
    pub fn with_history(history: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            history,
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
    /// use titan_webhooks::transport::{DeliveryKey, MemoryStore};
    ///
    /// assert_eq!(MemoryStore::new().state(&DeliveryKey::new("evt_1", 1.into())), None);
    /// ```
    #[must_use]
    pub fn state(&self, key: &DeliveryKey) -> Option<DeliveryState> {
        let state = self.lock();
        let slot = *state.index.get(key)?;
        state.row(slot).map(|row| row.state)
    }

    /// The remembered attempts, oldest first.
    ///
    /// ```
    /// use titan_webhooks::transport::MemoryStore;
    ///
    /// assert_eq!(MemoryStore::new().attempts().len(), 0);
    /// ```
    #[must_use]
    pub fn attempts(&self) -> Vec<DeliveryAttempt> {
        self.lock().attempts.iter().cloned().collect()
    }
}

impl State {
    fn row(&self, slot: usize) -> Option<&Row> {
        self.rows.get(slot).and_then(Option::as_ref)
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
        self.due.insert((at, self.sequence), slot);
        self.sequence = self.sequence.wrapping_add(1);
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
        if let Some(row) = self.row_mut(slot) {
            // Drop this delivery's share of the envelope's bytes; the last
            // share frees them.
            row.body = Bytes::new();
        }
        self.finished.push_back(slot);
        while self.finished.len() > history {
            let Some(old) = self.finished.pop_front() else {
                break;
            };
            if let Some(row) = self.rows.get_mut(old).and_then(Option::take) {
                self.index.remove(&row.key);
                self.free.push(old);
            }
        }
    }

    fn record(&mut self, attempt: &DeliveryAttempt, history: usize) {
        self.attempts.push_back(attempt.clone());
        while self.attempts.len() > history {
            self.attempts.pop_front();
        }
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
        let mut state = self.lock();
        let mut queued = Vec::new();
        for webhook in webhooks {
            let key = DeliveryKey::new(envelope.id.clone(), webhook.clone());
            if state.index.contains_key(&key) {
                continue;
            }
            let slot = state.insert(Row {
                key: key.clone(),
                body: envelope.body.clone(),
                state: DeliveryState::Pending,
                attempts: 0,
                next_attempt_at: now,
                lease: None,
            });
            state.index.insert(key, slot);
            state.queue(slot, now);
            queued.push(webhook.clone());
        }
        Ok(queued)
    }

    async fn claim(&self, request: ClaimRequest<'_>) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let until = request
            .now
            .checked_add(request.lease)
            .ok_or(StoreError::TimeOutOfRange)?;
        let mut state = self.lock();
        let mut picked = Vec::new();
        for (entry, slot) in &state.due {
            if picked.len() >= request.limit || entry.0 > request.now {
                break;
            }
            let skipped = state
                .row(*slot)
                .is_some_and(|row| request.skip.contains(&row.key.webhook_id));
            if !skipped {
                picked.push((*entry, *slot));
            }
        }
        let mut claimed = Vec::with_capacity(picked.len());
        for (entry, slot) in picked {
            state.due.remove(&entry);
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
            claimed.push(ClaimedDelivery {
                key: row.key.clone(),
                attempts: row.attempts,
                body: row.body.clone(),
                lease,
            });
        }
        Ok(claimed)
    }

    async fn renew_leases(&self, owner: &str, until: SystemTime) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let mut renewed = 0u64;
        for lease in state
            .rows
            .iter_mut()
            .flatten()
            .filter_map(|row| row.lease.as_mut())
        {
            if lease.owner == owner {
                lease.until = until;
                renewed = renewed.saturating_add(1);
            }
        }
        Ok(renewed)
    }

    async fn complete(
        &self,
        delivery: &ClaimedDelivery,
        attempt: Option<&DeliveryAttempt>,
        next: Completion,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let (slot, row) = state.held(delivery)?;
        row.lease = None;
        row.state = next.state();
        if attempt.is_some() {
            row.attempts = row.attempts.saturating_add(1);
        }
        match next {
            Completion::Retry { at } => {
                row.next_attempt_at = at;
                state.queue(slot, at);
            }
            Completion::Succeeded | Completion::Exhausted | Completion::Cancelled => {
                state.finish(slot, self.history);
            }
        }
        if let Some(attempt) = attempt {
            state.record(attempt, self.history);
        }
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

    async fn next_due(&self) -> Result<Option<SystemTime>, StoreError> {
        Ok(self.lock().due.first_key_value().map(|((due, _), _)| *due))
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
