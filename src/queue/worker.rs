//! Stable worker names, and the locks that keep each to one live worker.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use super::StoreError;

/// The longest [`WorkerName`], in bytes.
///
/// ```
/// use titan_webhooks::queue::{MAX_WORKER_NAME_LEN, WorkerName};
///
/// assert!(WorkerName::new("w".repeat(MAX_WORKER_NAME_LEN)).is_ok());
/// assert!(WorkerName::new("w".repeat(MAX_WORKER_NAME_LEN + 1)).is_err());
/// ```
pub const MAX_WORKER_NAME_LEN: usize = 200;

/// What a named worker's claims carry as their lease owner, before its
/// name. Unnamed dispatchers claim as `dispatcher_` and a random id.
const OWNER_PREFIX: &str = "worker:";

/// The stable name of a sender worker, picked by the application: one per
/// host or per pod, the same after a restart. A dispatcher given one
/// (`DispatcherBuilder::worker_name`, feature `reqwest`) holds its name's
/// lock in the store for as long as it lives, and claims under it; its
/// successor under the same name takes back what it held at once instead
/// of waiting for its leases to lapse.
///
/// A name is 1 to [`MAX_WORKER_NAME_LEN`] bytes of UTF-8 without control
/// characters (newlines included) and without whitespace at either end.
/// It is not a secret: it shows in logs, errors and lease owners.
///
/// ```
/// use titan_webhooks::queue::WorkerName;
///
/// let name = WorkerName::new("sender-7f9c")?;
/// assert_eq!(name.as_str(), "sender-7f9c");
/// assert_eq!(name.lease_owner(), "worker:sender-7f9c");
/// assert!(WorkerName::new("pod\n").is_err());
/// # Ok::<(), titan_webhooks::queue::WorkerNameError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkerName(String);

impl WorkerName {
    /// Checks `name` and makes it a worker name.
    ///
    /// ```
    /// use titan_webhooks::queue::{WorkerName, WorkerNameError};
    ///
    /// let from_env = std::env::var("HOSTNAME").unwrap_or_else(|_| "sender-1".into());
    /// let name = WorkerName::new(from_env)?;
    /// assert_eq!(WorkerName::new(""), Err(WorkerNameError::Empty));
    /// # let _ = name;
    /// # Ok::<(), WorkerNameError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`WorkerNameError`] for an empty name, one longer than
    /// [`MAX_WORKER_NAME_LEN`] bytes, one with a control character, or one
    /// with whitespace at either end.
    pub fn new(name: impl Into<String>) -> Result<Self, WorkerNameError> {
        let name = name.into();
        if name.is_empty() {
            return Err(WorkerNameError::Empty);
        }
        if name.len() > MAX_WORKER_NAME_LEN {
            return Err(WorkerNameError::TooLong { len: name.len() });
        }
        if name.chars().any(char::is_control) {
            return Err(WorkerNameError::ControlCharacter);
        }
        if name.trim() != name {
            return Err(WorkerNameError::SurroundingWhitespace);
        }
        Ok(Self(name))
    }

    /// The name.
    ///
    /// ```
    /// use titan_webhooks::queue::WorkerName;
    ///
    /// assert_eq!(WorkerName::new("eu-1")?.as_str(), "eu-1");
    /// # Ok::<(), titan_webhooks::queue::WorkerNameError>(())
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lease owner a dispatcher under this name claims as:
    /// `worker:` and the name, the same on every restart, so its successor
    /// can give back what it held with
    /// [`DeliveryStore::release_leases`](super::DeliveryStore::release_leases).
    ///
    /// ```
    /// use titan_webhooks::queue::WorkerName;
    ///
    /// assert_eq!(WorkerName::new("eu-1")?.lease_owner(), "worker:eu-1");
    /// # Ok::<(), titan_webhooks::queue::WorkerNameError>(())
    /// ```
    #[must_use]
    pub fn lease_owner(&self) -> String {
        let mut owner = String::with_capacity(OWNER_PREFIX.len().saturating_add(self.0.len()));
        owner.push_str(OWNER_PREFIX);
        owner.push_str(&self.0);
        owner
    }
}

impl fmt::Display for WorkerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for WorkerName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Parses with [`WorkerName::new`].
///
/// ```
/// use titan_webhooks::queue::WorkerName;
///
/// let name: WorkerName = "eu-1".parse()?;
/// assert_eq!(name.to_string(), "eu-1");
/// # Ok::<(), titan_webhooks::queue::WorkerNameError>(())
/// ```
impl FromStr for WorkerName {
    type Err = WorkerNameError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::new(name)
    }
}

/// A [`WorkerName`] was refused.
///
/// ```
/// use titan_webhooks::queue::{WorkerName, WorkerNameError};
///
/// assert_eq!(WorkerName::new(" w1"), Err(WorkerNameError::SurroundingWhitespace));
/// assert_eq!(
///     WorkerNameError::TooLong { len: 300 }.to_string(),
///     "a worker name must be at most 200 bytes, not 300"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerNameError {
    /// The name is empty.
    #[error("a worker name must not be empty")]
    Empty,
    /// The name is longer than [`MAX_WORKER_NAME_LEN`] bytes.
    #[error("a worker name must be at most {MAX_WORKER_NAME_LEN} bytes, not {len}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The name holds a control character, such as a newline.
    #[error("a worker name must not contain control characters")]
    ControlCharacter,
    /// The name starts or ends with whitespace, so it would look like
    /// another name in logs while being a different lock.
    #[error("a worker name must not start or end with whitespace")]
    SurroundingWhitespace,
}

/// The future a lock's liveness check returns.
pub(crate) type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>>;

/// What a store keeps to hold a name: dropping it releases the name.
/// A store whose lock can be lost while the process lives (a database
/// connection) says so from `check`.
pub(crate) trait HeldName: Send + 'static {
    /// Whether the name is still held; an error when it was lost or
    /// cannot be told.
    fn check(&mut self) -> CheckFuture<'_>;

    /// Releases the name, and returns once another worker can take it.
    /// Dropping releases too, but a server may notice a little later.
    fn release(self: Box<Self>) -> CheckFuture<'static> {
        drop(self);
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Anything a third-party store keeps: held until dropped, never lost.
struct Kept<T> {
    _held: T,
}

impl<T: Send + 'static> HeldName for Kept<T> {
    fn check(&mut self) -> CheckFuture<'_> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// The exclusive hold on a [`WorkerName`] in a store, from
/// [`DeliveryStore::try_lock_worker`](super::DeliveryStore::try_lock_worker).
/// While it lives, no other worker can lock the same name in that store;
/// dropping it releases the name. A dispatcher keeps it for its whole life.
///
/// ```
/// use titan_webhooks::queue::{DeliveryStore, MemoryStore, WorkerName};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let name = WorkerName::new("sender-1")?;
/// let lock = store.try_lock_worker(&name).await?.expect("the name is free");
/// assert_eq!(lock.name(), &name);
/// assert!(store.try_lock_worker(&name).await?.is_none(), "held");
/// drop(lock);
/// assert!(store.try_lock_worker(&name).await?.is_some(), "released");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct WorkerLock {
    name: WorkerName,
    held: Box<dyn HeldName>,
}

impl fmt::Debug for WorkerLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerLock")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl WorkerLock {
    /// A lock on `name` that a store of your own hands out: `held` is
    /// whatever keeps the name taken (a connection holding a database
    /// lock, a locked file, a lease-renewing task's handle), and dropping
    /// it must release the name. Use it only for a lock that lasts as long
    /// as `held` does, since nothing checks it afterwards.
    ///
    /// ```
    /// use titan_webhooks::queue::{WorkerLock, WorkerName};
    ///
    /// let file = tempfile::tempfile()?; // stands for a locked file
    /// let lock = WorkerLock::new(WorkerName::new("sender-1")?, file);
    /// assert_eq!(lock.name().as_str(), "sender-1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(name: WorkerName, held: impl Send + 'static) -> Self {
        Self {
            name,
            held: Box::new(Kept { _held: held }),
        }
    }

    /// A lock whose hold `check` can find lost.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn checked(name: WorkerName, held: impl HeldName) -> Self {
        Self {
            name,
            held: Box::new(held),
        }
    }

    /// The name held.
    ///
    /// ```
    /// use titan_webhooks::queue::{WorkerLock, WorkerName};
    ///
    /// let lock = WorkerLock::new(WorkerName::new("sender-1")?, ());
    /// assert_eq!(lock.name().to_string(), "sender-1");
    /// # Ok::<(), titan_webhooks::queue::WorkerNameError>(())
    /// ```
    #[must_use]
    pub fn name(&self) -> &WorkerName {
        &self.name
    }

    /// Releases the name, and returns once another worker can take it.
    /// Dropping the lock releases it as well, but a database server may
    /// notice the closed connection a moment later.
    ///
    /// ```
    /// use titan_webhooks::queue::{DeliveryStore, MemoryStore, WorkerName};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = MemoryStore::new();
    /// let name = WorkerName::new("sender-1")?;
    /// let lock = store.try_lock_worker(&name).await?.expect("free");
    /// lock.release().await?;
    /// assert!(store.try_lock_worker(&name).await?.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the store could not be told; the name is then
    /// released as the lock's connection or file closes.
    pub async fn release(self) -> Result<(), StoreError> {
        self.held.release().await
    }

    /// Whether the name is still held. A lock kept by a database
    /// connection is lost with the connection, for example when the
    /// server restarts; a dispatcher asks now and then, and stops
    /// claiming while its name is not held.
    ///
    /// ```
    /// use titan_webhooks::queue::{DeliveryStore, MemoryStore, WorkerName};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = MemoryStore::new();
    /// let mut lock = store.try_lock_worker(&WorkerName::new("sender-1")?).await?.expect("free");
    /// lock.check().await?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the hold was lost or cannot be confirmed.
    pub async fn check(&mut self) -> Result<(), StoreError> {
        self.held.check().await
    }
}

/// Names held in one process, for stores that live in it: the
/// [`MemoryStore`](super::MemoryStore), and SQLite databases in memory.
/// Clones share the names.
#[derive(Debug, Clone, Default)]
pub(crate) struct LocalNames {
    held: Arc<Mutex<HashSet<WorkerName>>>,
}

impl LocalNames {
    /// Takes `name` unless it is held.
    pub(crate) fn try_lock(&self, name: &WorkerName) -> Option<WorkerLock> {
        let newly = self
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.clone());
        newly.then(|| {
            WorkerLock::new(
                name.clone(),
                LocalHold {
                    names: self.clone(),
                    name: name.clone(),
                },
            )
        })
    }
}

/// Releases its name on drop.
struct LocalHold {
    names: LocalNames,
    name: WorkerName,
}

impl Drop for LocalHold {
    fn drop(&mut self) {
        self.names
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(WorkerName::new("a").is_ok());
        assert!(WorkerName::new("pod 1 (eu-west)").is_ok());
        assert!(WorkerName::new("Käthe-🦀").is_ok());
        assert_eq!(WorkerName::new(""), Err(WorkerNameError::Empty));
        assert_eq!(
            WorkerName::new("x".repeat(201)),
            Err(WorkerNameError::TooLong { len: 201 })
        );
        // 50 four-byte characters are 200 bytes.
        assert!(WorkerName::new("🦀".repeat(50)).is_ok());
        assert!(WorkerName::new("🦀".repeat(51)).is_err());
        for bad in ["a\nb", "a\0", "\u{7f}", "a\u{85}b", "tab\there"] {
            assert_eq!(
                WorkerName::new(bad),
                Err(WorkerNameError::ControlCharacter),
                "{bad:?}"
            );
        }
        for bad in [" a", "a ", "\u{a0}a", "a\u{3000}"] {
            assert_eq!(
                WorkerName::new(bad),
                Err(WorkerNameError::SurroundingWhitespace),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn local_names_are_exclusive_until_dropped() {
        let names = LocalNames::default();
        let w1 = WorkerName::new("w1").unwrap();
        let held = names.try_lock(&w1).unwrap();
        assert!(names.clone().try_lock(&w1).is_none(), "clones share");
        assert!(names.try_lock(&WorkerName::new("w2").unwrap()).is_some());
        assert!(
            LocalNames::default().try_lock(&w1).is_some(),
            "another registry"
        );
        drop(held);
        assert!(names.try_lock(&w1).is_some());
    }
}
