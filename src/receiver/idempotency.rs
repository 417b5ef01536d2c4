//! Idempotent receiving: a delivery's key is reserved while its handler
//! runs, recorded once the handler succeeded, and released when it failed,
//! so a duplicate is answered `2xx` and a retry after a failure is handled.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher as _, BuildHasherDefault, Hash, Hasher, RandomState};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use http::{HeaderValue, StatusCode};
use siphasher::sip128::SipHasher13;

/// The most keys a [`MemoryIdempotencyStore`] holds unless configured
/// otherwise. When it is full of unexpired keys, new deliveries are refused
/// with `503` (the sender retries) rather than forgetting a key early.
pub const DEFAULT_IDEMPOTENCY_CAPACITY: usize = 100_000;

/// How long a delivery's key stays reserved while its handler runs, unless
/// configured otherwise. A duplicate arriving meanwhile is answered `409`
/// with `Retry-After`; a reservation whose process died lapses after it.
pub const DEFAULT_RESERVATION_LEASE: Duration = Duration::from_secs(60);

/// The largest handler answer kept to replay to duplicates: 64 KiB. A
/// larger answer is not kept, and duplicates get a plain `200`.
pub const MAX_STORED_ANSWER: usize = 64 * 1024;

/// What identifies a delivery across retries and replays, namespaced by
/// scheme: the signed message id when the scheme has one
/// (`standard-webhooks:id:msg_…`), else the envelope's `id`
/// (`titan:id:evt_…`), else a digest of the signed timestamp and signature
/// (`github:sig:…`).
///
/// ```
/// use titan_webhooks::receiver::ReplayKey;
///
/// let key = ReplayKey::new("titan:id:evt_abc123");
/// assert_eq!(key.as_str(), "titan:id:evt_abc123");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReplayKey(String);

impl ReplayKey {
    /// A key from its text, for custom stores and tests.
    ///
    /// ```
    /// use titan_webhooks::receiver::ReplayKey;
    ///
    /// assert_eq!(ReplayKey::new("k").to_string(), "k");
    /// ```
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key's text.
    ///
    /// ```
    /// use titan_webhooks::receiver::ReplayKey;
    ///
    /// assert_eq!(ReplayKey::new("k").as_str(), "k");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A handler's first answer, kept to answer duplicates with the same
/// status, content type and body.
///
/// ```
/// use http::StatusCode;
/// use titan_webhooks::receiver::StoredAnswer;
///
/// let answer = StoredAnswer::new(StatusCode::CREATED, None, b"{\"ok\":true}".to_vec()).unwrap();
/// assert_eq!(answer.status(), StatusCode::CREATED);
/// assert_eq!(answer.body(), b"{\"ok\":true}");
/// assert!(StoredAnswer::new(StatusCode::OK, None, vec![0; 70_000]).is_none(), "over 64 KiB");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    status: StatusCode,
    content_type: Option<HeaderValue>,
    body: Vec<u8>,
}

impl StoredAnswer {
    /// An answer to keep; `None` when `status` is not a success or `body`
    /// is over [`MAX_STORED_ANSWER`], since neither should be replayed.
    ///
    /// ```
    /// use http::StatusCode;
    /// use titan_webhooks::receiver::StoredAnswer;
    ///
    /// assert!(StoredAnswer::new(StatusCode::NO_CONTENT, None, Vec::new()).is_some());
    /// assert!(StoredAnswer::new(StatusCode::INTERNAL_SERVER_ERROR, None, Vec::new()).is_none());
    /// ```
    #[must_use]
    pub fn new(
        status: StatusCode,
        content_type: Option<HeaderValue>,
        body: Vec<u8>,
    ) -> Option<Self> {
        (status.is_success() && body.len() <= MAX_STORED_ANSWER).then_some(Self {
            status,
            content_type,
            body,
        })
    }

    /// The status.
    ///
    /// ```
    /// # use http::StatusCode;
    /// # use titan_webhooks::receiver::StoredAnswer;
    /// let answer = StoredAnswer::new(StatusCode::ACCEPTED, None, Vec::new()).unwrap();
    /// assert_eq!(answer.status(), 202);
    /// ```
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `Content-Type`, if the answer had one.
    ///
    /// ```
    /// # use http::{HeaderValue, StatusCode};
    /// # use titan_webhooks::receiver::StoredAnswer;
    /// let json = HeaderValue::from_static("application/json");
    /// let answer = StoredAnswer::new(StatusCode::OK, Some(json.clone()), b"{}".to_vec()).unwrap();
    /// assert_eq!(answer.content_type(), Some(&json));
    /// ```
    #[must_use]
    pub fn content_type(&self) -> Option<&HeaderValue> {
        self.content_type.as_ref()
    }

    /// The body.
    ///
    /// ```
    /// # use http::StatusCode;
    /// # use titan_webhooks::receiver::StoredAnswer;
    /// let answer = StoredAnswer::new(StatusCode::OK, None, b"done".to_vec()).unwrap();
    /// assert_eq!(answer.body(), b"done");
    /// ```
    #[must_use]
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

impl fmt::Debug for StoredAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body is the application's answer; its length is enough here.
        f.debug_struct("StoredAnswer")
            .field("status", &self.status.as_u16())
            .field("content_type", &self.content_type)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Proves which reservation a completion or release is for, so a handler
/// whose reservation lapsed and was taken over cannot release the new one.
///
/// ```
/// use titan_webhooks::receiver::ReservationToken;
///
/// assert_eq!(ReservationToken::new(7).get(), 7);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReservationToken(u64);

impl ReservationToken {
    /// A token from its value, for custom stores.
    ///
    /// ```
    /// use titan_webhooks::receiver::ReservationToken;
    ///
    /// assert_ne!(ReservationToken::new(1), ReservationToken::new(2));
    /// ```
    #[must_use]
    pub fn new(value: u64) -> Self {
        Self(value)
    }

    /// The value.
    ///
    /// ```
    /// use titan_webhooks::receiver::ReservationToken;
    ///
    /// assert_eq!(ReservationToken::new(42).get(), 42);
    /// ```
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

/// What [`IdempotencyStore::begin`] found for a key.
///
/// ```
/// use std::time::Duration;
/// use titan_webhooks::receiver::{Begin, ReservationToken};
///
/// let busy = Begin::InProgress { retry_after: Duration::from_secs(30) };
/// assert_ne!(busy, Begin::Reserved(ReservationToken::new(1)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// The key was free, or its reservation had lapsed: it is now reserved
    /// for this delivery, which the handler should process.
    Reserved(ReservationToken),
    /// Another delivery with the key is being handled; its reservation
    /// lapses after `retry_after` at the latest.
    InProgress {
        /// How long until the other reservation lapses.
        retry_after: Duration,
    },
    /// A delivery with the key was handled, with its answer if it was kept.
    Completed(Option<StoredAnswer>),
}

/// The future an [`IdempotencyStore`] returns.
pub type IdempotencyFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, IdempotencyError>> + Send + 'a>>;

/// Remembers which deliveries were handled, so at-least-once delivery
/// becomes exactly-once handling: a delivery's key is reserved before its
/// handler runs, completed when the handler succeeded, and released when it
/// failed.
///
/// The crate has [`MemoryIdempotencyStore`] for one process, and (features
/// `sqlite`, `postgres`) `SqliteIdempotencyStore` and
/// `PostgresIdempotencyStore` in `titan_webhooks::store`, shared by every
/// process behind a load balancer.
///
/// A custom store must make `begin` atomic: of two concurrent calls for one
/// key, only one may return [`Begin::Reserved`].
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Reserves `key` for `lease`, unless it is reserved or completed and
    /// not expired.
    fn begin<'a>(&'a self, key: &'a ReplayKey, lease: Duration) -> IdempotencyFuture<'a, Begin>;

    /// Records `key` as handled for `ttl`, with the answer to replay.
    fn complete<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: ReservationToken,
        ttl: Duration,
        answer: Option<&'a StoredAnswer>,
    ) -> IdempotencyFuture<'a, ()>;

    /// Releases `key` if it is still reserved under `token`, so the
    /// sender's retry is handled.
    fn release<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: ReservationToken,
    ) -> IdempotencyFuture<'a, ()>;
}

/// A receiver's idempotency store. The in-memory one is called directly,
/// without the boxed future and dynamic call per operation that the trait
/// costs, which showed on the receive path; any other goes through the
/// trait.
#[derive(Clone)]
pub(crate) enum StoreHandle {
    Memory(Arc<MemoryIdempotencyStore>),
    Shared(Arc<dyn IdempotencyStore>),
}

impl StoreHandle {
    pub(crate) fn new<S: IdempotencyStore>(store: S) -> Self {
        let store = Arc::new(store);
        let shared: Arc<dyn IdempotencyStore> = Arc::clone(&store) as _;
        let any: Arc<dyn Any + Send + Sync> = store;
        match any.downcast::<MemoryIdempotencyStore>() {
            Ok(memory) => Self::Memory(memory),
            Err(_) => Self::Shared(shared),
        }
    }

    pub(crate) fn as_dyn(&self) -> &dyn IdempotencyStore {
        match self {
            Self::Memory(memory) => &**memory,
            Self::Shared(shared) => &**shared,
        }
    }

    pub(crate) async fn begin(
        &self,
        key: &ReplayKey,
        lease: Duration,
    ) -> Result<Begin, IdempotencyError> {
        match self {
            Self::Memory(memory) => memory.begin_now(key, lease, Instant::now()),
            Self::Shared(shared) => shared.begin(key, lease).await,
        }
    }

    async fn complete(
        &self,
        key: &ReplayKey,
        token: ReservationToken,
        ttl: Duration,
        answer: Option<&StoredAnswer>,
    ) -> Result<(), IdempotencyError> {
        match self {
            Self::Memory(memory) => {
                memory.complete_now(key, ttl, answer);
                Ok(())
            }
            Self::Shared(shared) => shared.complete(key, token, ttl, answer).await,
        }
    }

    async fn release(
        &self,
        key: &ReplayKey,
        token: ReservationToken,
    ) -> Result<(), IdempotencyError> {
        match self {
            Self::Memory(memory) => {
                memory.release_now(key, token);
                Ok(())
            }
            Self::Shared(shared) => shared.release(key, token).await,
        }
    }
}

/// A delivery's reservation: complete it when the handler succeeded,
/// release it when it failed. One dropped unsettled lapses after its lease.
///
/// The axum layer `IdempotencyLayer` settles it from the handler's status;
/// with [`Receiver::receive`](super::Receiver::receive), take it from
/// [`Received::take_reservation`](super::Received::take_reservation).
#[must_use = "an unsettled reservation holds off the sender's retries until its lease lapses"]
pub struct Reservation {
    store: StoreHandle,
    key: ReplayKey,
    token: ReservationToken,
    ttl: Duration,
}

impl Reservation {
    pub(crate) fn new(
        store: StoreHandle,
        key: ReplayKey,
        token: ReservationToken,
        ttl: Duration,
    ) -> Self {
        Self {
            store,
            key,
            token,
            ttl,
        }
    }

    /// The delivery's key.
    #[must_use]
    pub fn key(&self) -> &ReplayKey {
        &self.key
    }

    /// Records the delivery as handled: duplicates get a plain `200`.
    ///
    /// # Errors
    ///
    /// The store's [`IdempotencyError`]; the reservation then lapses after
    /// its lease, and a later retry is handled again.
    pub async fn complete(self) -> Result<(), IdempotencyError> {
        self.store
            .complete(&self.key, self.token, self.ttl, None)
            .await
    }

    /// Records the delivery as handled, keeping `answer` to replay to
    /// duplicates.
    ///
    /// # Errors
    ///
    /// As [`Reservation::complete`].
    pub async fn complete_with(self, answer: &StoredAnswer) -> Result<(), IdempotencyError> {
        self.store
            .complete(&self.key, self.token, self.ttl, Some(answer))
            .await
    }

    /// Releases the key, so the sender's retry is handled.
    ///
    /// # Errors
    ///
    /// The store's [`IdempotencyError`]; the reservation then lapses after
    /// its lease.
    pub async fn release(self) -> Result<(), IdempotencyError> {
        self.store.release(&self.key, self.token).await
    }
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("key", &self.key)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// An idempotency store's backend failed, or a memory store is full of
/// unexpired keys. The receiver answers `503`, so the sender retries.
///
/// ```
/// use titan_webhooks::receiver::IdempotencyError;
///
/// let err = IdempotencyError::new("redis is unreachable");
/// assert_eq!(err.to_string(), "the idempotency store failed: redis is unreachable");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the idempotency store failed: {message}")]
pub struct IdempotencyError {
    message: String,
}

impl IdempotencyError {
    /// An error described by `message`, which must not carry secrets.
    ///
    /// ```
    /// use titan_webhooks::receiver::IdempotencyError;
    ///
    /// assert_eq!(IdempotencyError::new("timeout").message(), "timeout");
    /// ```
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The description.
    ///
    /// ```
    /// use titan_webhooks::receiver::IdempotencyError;
    ///
    /// assert_eq!(IdempotencyError::new("down").message(), "down");
    /// ```
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The most keys a shard makes room for up front (a million keys across
/// the store); a larger store's shards grow past it as keys arrive.
const MAX_PREALLOCATED_PER_SHARD: usize = 1 << 16;

/// The shards of a [`MemoryIdempotencyStore`]: concurrent deliveries rarely
/// wait on one lock.
const SHARDS: usize = 16;

/// An [`IdempotencyStore`] in one process's memory, bounded: at most
/// [`DEFAULT_IDEMPOTENCY_CAPACITY`] keys (or
/// [`MemoryIdempotencyStore::with_capacity`]).
///
/// An unexpired key is never forgotten early, since that would let its
/// delivery be handled twice: when the store is full of them, new
/// deliveries are refused with `503` until keys expire, and
/// [`MemoryIdempotencyStore::refused`] counts them. Size it above the
/// deliveries received within the receiver's replay TTL.
///
/// ```
/// use std::time::Duration;
/// use titan_webhooks::receiver::{Begin, IdempotencyStore, MemoryIdempotencyStore, ReplayKey};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryIdempotencyStore::new();
/// let key = ReplayKey::new("titan:id:evt_1");
/// let lease = Duration::from_secs(60);
/// let Begin::Reserved(token) = store.begin(&key, lease).await? else { panic!() };
/// assert!(matches!(store.begin(&key, lease).await?, Begin::InProgress { .. }));
/// store.release(&key, token).await?;
/// let Begin::Reserved(token) = store.begin(&key, lease).await? else { panic!() };
/// store.complete(&key, token, Duration::from_secs(600), None).await?;
/// assert_eq!(store.begin(&key, lease).await?, Begin::Completed(None));
/// # Ok::<(), titan_webhooks::receiver::IdempotencyError>(())
/// # }).unwrap();
/// ```
pub struct MemoryIdempotencyStore {
    shards: Box<[Mutex<Shard>]>,
    shard_capacity: usize,
    fingerprint_key: [u8; 16],
    tokens: AtomicU64,
    refused: AtomicU64,
}

/// A key's 128-bit fingerprint, SipHash-1-3-128 under the store's random
/// key, held in place of the key's text: no allocation per key, and one
/// pass over the key per operation. Two distinct keys share one with
/// probability about 2^-128 per pair, and an attacker cannot aim for it
/// without the store's random key.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Fingerprint(u64, u64);

impl Hash for Fingerprint {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Already uniformly random: the map's hasher passes it through.
        state.write_u64(self.0);
    }
}

/// The map's hasher: [`Fingerprint`] is a random value already, so hashing
/// it again would only cost time.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; anything else still spreads its bytes.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

struct Shard {
    entries: HashMap<Fingerprint, Entry, BuildHasherDefault<PassThrough>>,
    /// When a full shard may next sweep out expired keys: sweeps cost a
    /// pass over the shard, so at most one a second.
    next_sweep: Option<Instant>,
}

struct Entry {
    expires: Instant,
    state: EntryState,
}

enum EntryState {
    Reserved(ReservationToken),
    /// Boxed: most completions keep no answer, and the map's slots stay small.
    Completed(Option<Box<StoredAnswer>>),
}

impl MemoryIdempotencyStore {
    /// A store holding up to [`DEFAULT_IDEMPOTENCY_CAPACITY`] keys.
    ///
    /// ```
    /// use titan_webhooks::receiver::MemoryIdempotencyStore;
    ///
    /// assert!(MemoryIdempotencyStore::new().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_IDEMPOTENCY_CAPACITY)
    }

    /// A store holding up to about `capacity` keys (at least 16). Room for
    /// up to about a million of them is allocated up front, 56 to 112 bytes
    /// a key (a key is held as a 128-bit keyed fingerprint, not its text),
    /// so such a store never pauses to grow while deliveries wait on it.
    ///
    /// ```
    /// use titan_webhooks::receiver::MemoryIdempotencyStore;
    ///
    /// assert!(MemoryIdempotencyStore::with_capacity(1_000).is_empty());
    /// ```
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        let shard_capacity = capacity.div_ceil(SHARDS).max(1);
        Self {
            // Room for every key up front, up to a bound: a filling store
            // then never rehashes a shard while holding its lock, and an
            // absurd capacity cannot overflow the allocation.
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        entries: HashMap::with_capacity_and_hasher(
                            shard_capacity.min(MAX_PREALLOCATED_PER_SHARD),
                            BuildHasherDefault::default(),
                        ),
                        next_sweep: None,
                    })
                })
                .collect(),
            shard_capacity,
            fingerprint_key: fingerprint_key(),
            tokens: AtomicU64::new(1),
            refused: AtomicU64::new(0),
        }
    }

    /// How many keys are held, expired ones not yet swept included.
    ///
    /// ```
    /// use titan_webhooks::receiver::MemoryIdempotencyStore;
    ///
    /// assert_eq!(MemoryIdempotencyStore::new().len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| lock(shard).entries.len())
            .sum()
    }

    /// Whether no key is held.
    ///
    /// ```
    /// use titan_webhooks::receiver::MemoryIdempotencyStore;
    ///
    /// assert!(MemoryIdempotencyStore::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many deliveries were refused because the store was full of
    /// unexpired keys.
    ///
    /// ```
    /// use titan_webhooks::receiver::MemoryIdempotencyStore;
    ///
    /// assert_eq!(MemoryIdempotencyStore::new().refused(), 0);
    /// ```
    #[must_use]
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    fn fingerprint(&self, key: &ReplayKey) -> Fingerprint {
        let hash = SipHasher13::new_with_key(&self.fingerprint_key).hash(key.as_str().as_bytes());
        Fingerprint(hash.h1, hash.h2)
    }

    /// The key's fingerprint and the shard that holds it.
    fn locate(&self, key: &ReplayKey) -> (Fingerprint, MutexGuard<'_, Shard>) {
        let fingerprint = self.fingerprint(key);
        let index = fingerprint
            .1
            .checked_rem(SHARDS as u64)
            .and_then(|index| usize::try_from(index).ok())
            .unwrap_or(0);
        // `index` is below SHARDS, the slice's length.
        #[allow(clippy::indexing_slicing)]
        (fingerprint, lock(&self.shards[index]))
    }

    fn begin_now(
        &self,
        key: &ReplayKey,
        lease: Duration,
        now: Instant,
    ) -> Result<Begin, IdempotencyError> {
        let (fingerprint, mut shard) = self.locate(key);
        if let Some(entry) = shard.entries.get(&fingerprint) {
            if entry.expires > now {
                return Ok(match &entry.state {
                    EntryState::Reserved(_) => Begin::InProgress {
                        retry_after: entry.expires.saturating_duration_since(now),
                    },
                    EntryState::Completed(answer) => Begin::Completed(answer.as_deref().cloned()),
                });
            }
        } else if shard.entries.len() >= self.shard_capacity {
            if shard.next_sweep.is_none_or(|at| at <= now) {
                shard.entries.retain(|_, entry| entry.expires > now);
                shard.next_sweep = now.checked_add(Duration::from_secs(1));
            }
            if shard.entries.len() >= self.shard_capacity {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Err(IdempotencyError::new(
                    "the in-memory idempotency store is full of unexpired keys",
                ));
            }
        }
        let token = ReservationToken(self.tokens.fetch_add(1, Ordering::Relaxed));
        let entry = Entry {
            expires: now.checked_add(lease).unwrap_or(now),
            state: EntryState::Reserved(token),
        };
        shard.entries.insert(fingerprint, entry);
        Ok(Begin::Reserved(token))
    }

    fn complete_now(&self, key: &ReplayKey, ttl: Duration, answer: Option<&StoredAnswer>) {
        let now = Instant::now();
        let entry = Entry {
            expires: now.checked_add(ttl).unwrap_or(now),
            state: EntryState::Completed(answer.cloned().map(Box::new)),
        };
        // Completed even if the reservation lapsed: the handler did run.
        let (fingerprint, mut shard) = self.locate(key);
        shard.entries.insert(fingerprint, entry);
    }

    fn release_now(&self, key: &ReplayKey, token: ReservationToken) {
        let (fingerprint, mut shard) = self.locate(key);
        let held = shard.entries.get(&fingerprint).is_some_and(
            |entry| matches!(entry.state, EntryState::Reserved(held) if held == token),
        );
        if held {
            shard.entries.remove(&fingerprint);
        }
    }
}

/// A random key for a store's fingerprints: from the operating system, or
/// should that fail, from the standard library's per-process random
/// hasher keys, so it is unpredictable either way.
fn fingerprint_key() -> [u8; 16] {
    let mut key = [0u8; 16];
    if getrandom::fill(&mut key).is_err() {
        let state = RandomState::new();
        let words = [state.hash_one(1u8), state.hash_one(2u8)];
        for (slot, byte) in key
            .iter_mut()
            .zip(words.iter().flat_map(|word| word.to_le_bytes()))
        {
            *slot = byte;
        }
    }
    key
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // Each update leaves the map consistent, so a poisoned lock is usable.
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Default for MemoryIdempotencyStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryIdempotencyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryIdempotencyStore")
            .field("keys", &self.len())
            .field("capacity", &self.shard_capacity.saturating_mul(SHARDS))
            .field("refused", &self.refused())
            .finish()
    }
}

impl IdempotencyStore for MemoryIdempotencyStore {
    fn begin<'a>(&'a self, key: &'a ReplayKey, lease: Duration) -> IdempotencyFuture<'a, Begin> {
        let begun = self.begin_now(key, lease, Instant::now());
        Box::pin(std::future::ready(begun))
    }

    fn complete<'a>(
        &'a self,
        key: &'a ReplayKey,
        _token: ReservationToken,
        ttl: Duration,
        answer: Option<&'a StoredAnswer>,
    ) -> IdempotencyFuture<'a, ()> {
        self.complete_now(key, ttl, answer);
        Box::pin(std::future::ready(Ok(())))
    }

    fn release<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: ReservationToken,
    ) -> IdempotencyFuture<'a, ()> {
        self.release_now(key, token);
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(60);

    #[test]
    fn any_capacity_is_accepted_without_allocating_it_all() {
        let store = MemoryIdempotencyStore::with_capacity(usize::MAX);
        let key = ReplayKey::new("evt_1");
        assert!(matches!(
            store.begin_now(&key, LEASE, Instant::now()),
            Ok(Begin::Reserved(_))
        ));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn a_full_store_refuses_rather_than_forgetting_a_live_key() {
        let store = MemoryIdempotencyStore::with_capacity(16);
        let now = Instant::now();
        let mut refused = 0;
        for i in 0..200 {
            let key = ReplayKey::new(format!("evt_{i}"));
            match store.begin_now(&key, LEASE, now) {
                Ok(Begin::Reserved(_)) => {}
                Ok(other) => panic!("a new key gave {other:?}"),
                Err(_) => refused += 1,
            }
        }
        assert!(store.len() <= 16 * SHARDS, "{}", store.len());
        assert!(refused > 0);
        assert_eq!(store.refused(), refused);
        // Every key that was reserved is still known.
        let known = (0..200)
            .filter(|i| {
                let key = ReplayKey::new(format!("evt_{i}"));
                matches!(
                    store.begin_now(&key, LEASE, now),
                    Ok(Begin::InProgress { .. })
                )
            })
            .count();
        assert_eq!(known, store.len());
    }

    #[test]
    fn expired_keys_are_swept_when_the_store_is_full() {
        let store = MemoryIdempotencyStore::with_capacity(100 * SHARDS);
        let start = Instant::now();
        for i in 0..100 * SHARDS * 2 {
            let key = ReplayKey::new(format!("evt_{i}"));
            let _ = store.begin_now(&key, Duration::from_millis(10), start);
        }
        assert!(store.refused() > 0, "full while nothing has expired");
        let later = start + Duration::from_secs(2);
        for i in 0..100 {
            let key = ReplayKey::new(format!("new_{i}"));
            assert!(
                matches!(store.begin_now(&key, LEASE, later), Ok(Begin::Reserved(_))),
                "expired keys make room"
            );
        }
        assert!(store.len() <= 100 * SHARDS);
    }

    #[test]
    fn a_lapsed_reservation_is_taken_over_and_the_old_token_releases_nothing() {
        let store = MemoryIdempotencyStore::new();
        let key = ReplayKey::new("evt_1");
        let start = Instant::now();
        let Ok(Begin::Reserved(first)) = store.begin_now(&key, Duration::from_millis(5), start)
        else {
            panic!("not reserved")
        };
        let later = start + Duration::from_secs(1);
        let Ok(Begin::Reserved(second)) = store.begin_now(&key, LEASE, later) else {
            panic!("the lapsed reservation was not taken over")
        };
        assert_ne!(first, second);
        drop(store.release(&key, first));
        assert!(
            matches!(
                store.begin_now(&key, LEASE, later),
                Ok(Begin::InProgress { .. })
            ),
            "the first handler's release left the second reservation alone"
        );
    }
}
