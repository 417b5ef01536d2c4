//! The current time, a clock tests can drive, and random identifiers.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Seconds since the unix epoch; `0` if the clock reads earlier than that.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// `<prefix>` followed by 128 random bits in URL-safe base64 (22
/// characters, no `.`), so the id fits Standard Webhooks' signed content.
///
/// # Panics
///
/// If the operating system's random source fails, which supported platforms
/// do not do once booted.
#[allow(clippy::expect_used)]
pub(crate) fn random_id(prefix: &str) -> String {
    let mut bits = [0u8; 16];
    getrandom::fill(&mut bits).expect("the operating system's random source failed");
    let mut id = String::with_capacity(prefix.len().saturating_add(22));
    id.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(bits, &mut id);
    id
}

/// Where time comes from, for decisions that span hours or days (a secret's
/// grace period, an endpoint failing for days), so tests can drive them
/// without sleeping.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use titan_webhooks::clock::{Clock, ManualClock, SystemClock};
///
/// assert!(SystemClock.now() > SystemTime::UNIX_EPOCH);
/// let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(60));
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's clock. The default everywhere.
///
/// ```
/// use titan_webhooks::clock::{Clock, SystemClock};
///
/// assert!(SystemClock.now() >= std::time::SystemTime::UNIX_EPOCH);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to, for tests.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use titan_webhooks::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
/// clock.set(SystemTime::UNIX_EPOCH + Duration::from_secs(5));
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(clock.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(10));
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock reading `start`.
    ///
    /// ```
    /// # use titan_webhooks::clock::{Clock, ManualClock};
    /// let clock = ManualClock::new(std::time::SystemTime::UNIX_EPOCH);
    /// assert_eq!(clock.now(), std::time::SystemTime::UNIX_EPOCH);
    /// ```
    #[must_use]
    pub fn new(start: SystemTime) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Sets the time.
    ///
    /// ```
    /// # use titan_webhooks::clock::{Clock, ManualClock};
    /// let clock = ManualClock::new(std::time::SystemTime::now());
    /// clock.set(std::time::SystemTime::UNIX_EPOCH);
    /// assert_eq!(clock.now(), std::time::SystemTime::UNIX_EPOCH);
    /// ```
    pub fn set(&self, now: SystemTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    /// Moves the time forward by `by`; a move past the latest time the
    /// platform can hold leaves the clock where it is.
    ///
    /// ```
    /// # use std::time::{Duration, SystemTime};
    /// # use titan_webhooks::clock::{Clock, ManualClock};
    /// let clock = ManualClock::new(SystemTime::UNIX_EPOCH);
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(clock.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(1));
    /// ```
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(later) = now.checked_add(by) {
            *now = later;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }
}
