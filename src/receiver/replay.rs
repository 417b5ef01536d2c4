//! Replay protection: remembering which deliveries were already received.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The most keys a [`MemoryReplayGuard`] holds unless configured otherwise;
/// beyond it the oldest are forgotten first.
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

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
    /// A key from its text, for custom guards and tests.
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

/// Whether a key was seen before.
///
/// ```
/// use titan_webhooks::receiver::Seen;
///
/// assert_ne!(Seen::First, Seen::Again);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Not within its time to live: a new delivery.
    First,
    /// Already received: a replay or a re-delivery.
    Again,
}

/// The future a [`ReplayGuard`] returns.
pub type ReplayFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, ReplayGuardError>> + Send + 'a>>;

/// Remembers delivery keys, so a replayed or re-delivered request is
/// reported as a duplicate. With it, at-least-once delivery becomes
/// effectively-once for handlers.
///
/// [`MemoryReplayGuard`] serves one process. To share the memory between
/// instances, back it with your own store: Redis `SET key 1 NX PX ttl`, or
/// an `INSERT … ON CONFLICT DO NOTHING` into a table with an expiry column.
///
/// ```
/// use std::collections::HashSet;
/// use std::sync::Mutex;
/// use std::time::Duration;
/// use titan_webhooks::receiver::{ReplayFuture, ReplayGuard, ReplayKey, Seen};
///
/// /// A guard over a set; a real one would talk to Redis or a database.
/// #[derive(Default)]
/// struct SetGuard(Mutex<HashSet<String>>);
///
/// impl ReplayGuard for SetGuard {
///     fn remember(&self, key: &ReplayKey, _ttl: Duration) -> ReplayFuture<'_, Seen> {
///         let fresh = self.0.lock().unwrap().insert(key.as_str().to_owned());
///         Box::pin(async move { Ok(if fresh { Seen::First } else { Seen::Again }) })
///     }
///
///     fn forget(&self, key: &ReplayKey) -> ReplayFuture<'_, ()> {
///         self.0.lock().unwrap().remove(key.as_str());
///         Box::pin(async { Ok(()) })
///     }
/// }
/// ```
pub trait ReplayGuard: Send + Sync + 'static {
    /// Records `key` for `ttl` and says whether it was already recorded.
    fn remember(&self, key: &ReplayKey, ttl: Duration) -> ReplayFuture<'_, Seen>;

    /// Forgets `key`, so the next delivery with it is handled: call it when
    /// handling a delivery failed and the sender's retry should be
    /// processed.
    fn forget(&self, key: &ReplayKey) -> ReplayFuture<'_, ()>;
}

/// A [`ReplayGuard`] in memory, with bounded size: at most
/// [`DEFAULT_REPLAY_CAPACITY`] keys (or [`MemoryReplayGuard::with_capacity`]),
/// the oldest forgotten first, each for its time to live.
///
/// ```
/// use std::time::Duration;
/// use titan_webhooks::receiver::{MemoryReplayGuard, ReplayGuard, ReplayKey, Seen};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let guard = MemoryReplayGuard::new();
/// let key = ReplayKey::new("titan:id:evt_1");
/// assert_eq!(guard.remember(&key, Duration::from_secs(300)).await?, Seen::First);
/// assert_eq!(guard.remember(&key, Duration::from_secs(300)).await?, Seen::Again);
/// guard.forget(&key).await?;
/// assert_eq!(guard.remember(&key, Duration::from_secs(300)).await?, Seen::First);
/// # Ok::<(), titan_webhooks::receiver::ReplayGuardError>(())
/// # }).unwrap();
/// ```
pub struct MemoryReplayGuard {
    entries: Mutex<Entries>,
    capacity: usize,
}

#[derive(Default)]
struct Entries {
    expiry: HashMap<String, Instant>,
    /// Keys in the order recorded, with the expiry they were recorded with.
    order: VecDeque<(Instant, String)>,
}

impl MemoryReplayGuard {
    /// A guard holding up to [`DEFAULT_REPLAY_CAPACITY`] keys.
    ///
    /// ```
    /// use titan_webhooks::receiver::MemoryReplayGuard;
    ///
    /// assert!(MemoryReplayGuard::new().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_REPLAY_CAPACITY)
    }

    /// A guard holding up to `capacity` keys (at least one).
    ///
    /// ```
    /// use titan_webhooks::receiver::MemoryReplayGuard;
    ///
    /// assert!(MemoryReplayGuard::with_capacity(10).is_empty());
    /// ```
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(Entries::default()),
            capacity: capacity.max(1),
        }
    }

    /// How many keys are held.
    ///
    /// ```
    /// use titan_webhooks::receiver::MemoryReplayGuard;
    ///
    /// assert_eq!(MemoryReplayGuard::new().len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().expiry.len()
    }

    /// Whether no key is held.
    ///
    /// ```
    /// use titan_webhooks::receiver::MemoryReplayGuard;
    ///
    /// assert!(MemoryReplayGuard::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // Each update leaves the maps consistent, so a poisoned lock is usable.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, key: &ReplayKey, ttl: Duration) -> Seen {
        let now = Instant::now();
        let mut entries = self.lock();
        // Drop expired keys from the front, and the oldest beyond capacity.
        // The queue also holds entries for keys forgotten or recorded again,
        // so it is the queue's length that is bounded.
        while let Some((expires, _)) = entries.order.front() {
            let over = entries.order.len() >= self.capacity;
            if *expires > now && !over {
                break;
            }
            if let Some((expires, old)) = entries.order.pop_front() {
                // A key recorded again later has a newer expiry; keep it.
                if entries.expiry.get(&old) == Some(&expires) {
                    entries.expiry.remove(&old);
                }
            }
        }
        if entries
            .expiry
            .get(key.as_str())
            .is_some_and(|expires| *expires > now)
        {
            return Seen::Again;
        }
        let expires = now.checked_add(ttl).unwrap_or(now);
        entries.expiry.insert(key.as_str().to_owned(), expires);
        entries.order.push_back((expires, key.as_str().to_owned()));
        Seen::First
    }
}

impl Default for MemoryReplayGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReplayGuard")
            .field("keys", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl ReplayGuard for MemoryReplayGuard {
    fn remember(&self, key: &ReplayKey, ttl: Duration) -> ReplayFuture<'_, Seen> {
        let seen = self.record(key, ttl);
        Box::pin(async move { Ok(seen) })
    }

    fn forget(&self, key: &ReplayKey) -> ReplayFuture<'_, ()> {
        self.lock().expiry.remove(key.as_str());
        Box::pin(async { Ok(()) })
    }
}

/// A replay guard's backend failed, for example a database a custom guard
/// uses.
///
/// ```
/// use titan_webhooks::receiver::ReplayGuardError;
///
/// let err = ReplayGuardError::new("redis is unreachable");
/// assert_eq!(err.to_string(), "the replay guard failed: redis is unreachable");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the replay guard failed: {message}")]
pub struct ReplayGuardError {
    message: String,
}

impl ReplayGuardError {
    /// An error described by `message`, which must not carry secrets.
    ///
    /// ```
    /// use titan_webhooks::receiver::ReplayGuardError;
    ///
    /// assert_eq!(ReplayGuardError::new("timeout").message(), "timeout");
    /// ```
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The description.
    ///
    /// ```
    /// use titan_webhooks::receiver::ReplayGuardError;
    ///
    /// assert_eq!(ReplayGuardError::new("down").message(), "down");
    /// ```
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgotten_keys_do_not_grow_the_queue_past_capacity() {
        let guard = MemoryReplayGuard::with_capacity(3);
        let ttl = Duration::from_secs(3600);
        for i in 0..100 {
            let key = ReplayKey::new(format!("evt_{i}"));
            assert_eq!(guard.record(&key, ttl), Seen::First);
            drop(guard.forget(&key));
            assert_eq!(guard.record(&key, ttl), Seen::First, "forgotten");
        }
        assert!(guard.lock().order.len() <= 3);
        assert!(guard.len() <= 3);
        let latest = ReplayKey::new("evt_99");
        assert_eq!(
            guard.record(&latest, ttl),
            Seen::Again,
            "the newest key is kept"
        );
    }
}
