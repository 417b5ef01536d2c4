//! Endpoint health: when a webhook is disabled automatically, and why.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// Five days, as Svix waits before it disables a failing endpoint.
pub const DEFAULT_MAX_FAILING: Duration = Duration::from_secs(5 * 24 * 60 * 60);

/// Why a webhook is disabled.
///
/// ```
/// use titan_webhooks::webhooks::DisabledReason;
///
/// assert_eq!(DisabledReason::Gone.as_str(), "gone");
/// assert_eq!(DisabledReason::parse("failing"), Some(DisabledReason::Failing));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DisabledReason {
    /// Its owner disabled it.
    Manual,
    /// The endpoint answered `410 Gone`.
    Gone,
    /// Every attempt failed for longer than [`HealthPolicy::max_failing`].
    Failing,
    /// Too many deliveries in a row exhausted their retries.
    Exhausted,
}

impl DisabledReason {
    /// The stable name, as stored.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::DisabledReason;
    /// assert_eq!(DisabledReason::Exhausted.as_str(), "exhausted");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Gone => "gone",
            Self::Failing => "failing",
            Self::Exhausted => "exhausted",
        }
    }

    /// The reason named `name`, as [`DisabledReason::as_str`] writes it.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::DisabledReason;
    /// assert_eq!(DisabledReason::parse("manual"), Some(DisabledReason::Manual));
    /// assert_eq!(DisabledReason::parse("bored"), None);
    /// ```
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Manual, Self::Gone, Self::Failing, Self::Exhausted]
            .into_iter()
            .find(|reason| reason.as_str() == name)
    }
}

impl fmt::Display for DisabledReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Manual => "disabled by its owner",
            Self::Gone => "the endpoint answered 410 Gone",
            Self::Failing => "every attempt failed for too long",
            Self::Exhausted => "too many deliveries in a row exhausted their retries",
        })
    }
}

/// When and why a webhook was disabled.
///
/// ```
/// use titan_webhooks::webhooks::{Disabled, DisabledReason};
///
/// let disabled = Disabled { reason: DisabledReason::Gone, at: std::time::SystemTime::UNIX_EPOCH };
/// assert_eq!(disabled.reason.to_string(), "the endpoint answered 410 Gone");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disabled {
    /// Why.
    pub reason: DisabledReason,
    /// When.
    pub at: SystemTime,
}

/// A webhook's delivery health, kept in the store and shared by every
/// sender process.
///
/// ```
/// use titan_webhooks::webhooks::Health;
///
/// assert!(Health::default().is_healthy());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Since when every attempt has failed; `None` while attempts succeed.
    pub failing_since: Option<SystemTime>,
    /// How many deliveries in a row exhausted their retries.
    pub exhausted_in_a_row: u32,
    /// Why and when the webhook was disabled, while it is.
    pub disabled: Option<Disabled>,
}

impl Health {
    /// Whether nothing is failing and the webhook is not disabled.
    ///
    /// ```
    /// use titan_webhooks::webhooks::Health;
    ///
    /// let failing = Health { failing_since: Some(std::time::SystemTime::now()), ..Health::default() };
    /// assert!(!failing.is_healthy());
    /// ```
    #[must_use]
    pub fn is_healthy(&self) -> bool {
        self.failing_since.is_none() && self.exhausted_in_a_row == 0 && self.disabled.is_none()
    }
}

/// What one attempt says about an endpoint's health.
///
/// ```
/// use titan_webhooks::webhooks::HealthSignal;
///
/// assert_ne!(HealthSignal::Delivered, HealthSignal::Gone);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HealthSignal {
    /// The endpoint accepted a delivery.
    Delivered,
    /// An attempt failed and will be retried.
    Failed,
    /// An attempt failed and the delivery gave up: its retries are
    /// exhausted.
    Exhausted,
    /// The endpoint answered `410 Gone`.
    Gone,
}

/// A change to a webhook's stored health, as one atomic write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HealthUpdate {
    /// Attempts succeed again: clear `failing_since` and the count.
    Recovered,
    /// Attempts started failing at `since`, unless already failing.
    Failing {
        /// The failed attempt's time.
        since: SystemTime,
    },
    /// One more delivery exhausted its retries (also failing since `at`).
    Exhausted {
        /// The attempt's time.
        at: SystemTime,
    },
    /// Disable the webhook, if it is enabled.
    Disable(Disabled),
}

/// When the dispatcher disables a webhook on its own.
///
/// ```
/// use std::time::Duration;
/// use titan_webhooks::webhooks::HealthPolicy;
///
/// let policy = HealthPolicy::default()
///     .max_failing(Duration::from_secs(24 * 60 * 60))
///     .max_exhausted_in_a_row(Some(3));
/// assert_eq!(policy.failing_limit(), Duration::from_secs(86_400));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    max_failing: Duration,
    max_exhausted_in_a_row: Option<u32>,
    disable_on_gone: bool,
}

impl Default for HealthPolicy {
    /// Disable on `410 Gone`, or after failing for five days
    /// ([`DEFAULT_MAX_FAILING`]); no limit on exhausted deliveries.
    fn default() -> Self {
        Self {
            max_failing: DEFAULT_MAX_FAILING,
            max_exhausted_in_a_row: None,
            disable_on_gone: true,
        }
    }
}

impl HealthPolicy {
    /// Never disable a webhook automatically.
    ///
    /// ```
    /// use titan_webhooks::webhooks::{Health, HealthPolicy, HealthSignal, HealthUpdate};
    ///
    /// let now = std::time::SystemTime::now();
    /// let updates = HealthPolicy::never().judge(&Health::default(), HealthSignal::Gone, now);
    /// assert_eq!(updates, [HealthUpdate::Failing { since: now }], "recorded, never disabled");
    /// ```
    #[must_use]
    pub fn never() -> Self {
        Self {
            max_failing: Duration::MAX,
            max_exhausted_in_a_row: None,
            disable_on_gone: false,
        }
    }

    /// Disables a webhook whose attempts have all failed for `limit`.
    /// Defaults to five days.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use titan_webhooks::webhooks::HealthPolicy;
    /// let policy = HealthPolicy::default().max_failing(Duration::from_secs(60));
    /// assert_eq!(policy.failing_limit(), Duration::from_secs(60));
    /// ```
    #[must_use]
    pub fn max_failing(mut self, limit: Duration) -> Self {
        self.max_failing = limit;
        self
    }

    /// Disables a webhook after `limit` deliveries in a row exhausted their
    /// retries; `None`, the default, never does.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::HealthPolicy;
    /// let policy = HealthPolicy::default().max_exhausted_in_a_row(Some(5));
    /// assert_eq!(policy.exhausted_limit(), Some(5));
    /// ```
    #[must_use]
    pub fn max_exhausted_in_a_row(mut self, limit: Option<u32>) -> Self {
        self.max_exhausted_in_a_row = limit;
        self
    }

    /// How long attempts may fail before the webhook is disabled.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::{HealthPolicy, DEFAULT_MAX_FAILING};
    /// assert_eq!(HealthPolicy::default().failing_limit(), DEFAULT_MAX_FAILING);
    /// ```
    #[must_use]
    pub fn failing_limit(&self) -> Duration {
        self.max_failing
    }

    /// How many deliveries in a row may exhaust their retries.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::HealthPolicy;
    /// assert_eq!(HealthPolicy::default().exhausted_limit(), None);
    /// ```
    #[must_use]
    pub fn exhausted_limit(&self) -> Option<u32> {
        self.max_exhausted_in_a_row
    }

    /// The writes `signal` calls for, given the webhook's `health` as last
    /// read, at `now`. Empty when nothing changes, so a healthy endpoint
    /// costs no write.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use titan_webhooks::webhooks::{DisabledReason, Health, HealthPolicy, HealthSignal, HealthUpdate};
    ///
    /// let policy = HealthPolicy::default();
    /// let start = SystemTime::UNIX_EPOCH;
    /// assert_eq!(policy.judge(&Health::default(), HealthSignal::Failed, start), [HealthUpdate::Failing { since: start }]);
    ///
    /// let failing = Health { failing_since: Some(start), ..Health::default() };
    /// let later = start + Duration::from_secs(6 * 24 * 60 * 60);
    /// match policy.judge(&failing, HealthSignal::Failed, later).as_slice() {
    ///     [HealthUpdate::Disable(disabled)] => assert_eq!(disabled.reason, DisabledReason::Failing),
    ///     other => panic!("{other:?}"),
    /// }
    /// assert!(policy.judge(&Health::default(), HealthSignal::Delivered, later).is_empty());
    /// ```
    #[must_use]
    pub fn judge(
        &self,
        health: &Health,
        signal: HealthSignal,
        now: SystemTime,
    ) -> Vec<HealthUpdate> {
        let disable = |reason| HealthUpdate::Disable(Disabled { reason, at: now });
        let failing_too_long = |since: SystemTime| {
            now.duration_since(since)
                .is_ok_and(|failing| failing >= self.max_failing)
        };
        let mut updates = Vec::new();
        match signal {
            HealthSignal::Delivered => {
                if health.failing_since.is_some() || health.exhausted_in_a_row > 0 {
                    updates.push(HealthUpdate::Recovered);
                }
            }
            HealthSignal::Failed => match health.failing_since {
                None => updates.push(HealthUpdate::Failing { since: now }),
                Some(since) if failing_too_long(since) => {
                    updates.push(disable(DisabledReason::Failing))
                }
                Some(_) => {}
            },
            HealthSignal::Exhausted => {
                updates.push(HealthUpdate::Exhausted { at: now });
                let count = health.exhausted_in_a_row.saturating_add(1);
                if health.failing_since.is_some_and(failing_too_long) {
                    updates.push(disable(DisabledReason::Failing));
                } else if self
                    .max_exhausted_in_a_row
                    .is_some_and(|limit| count >= limit)
                {
                    updates.push(disable(DisabledReason::Exhausted));
                }
            }
            HealthSignal::Gone => {
                if self.disable_on_gone {
                    updates.push(disable(DisabledReason::Gone));
                } else if health.failing_since.is_none() {
                    updates.push(HealthUpdate::Failing { since: now });
                }
            }
        }
        if health.disabled.is_some() {
            updates.retain(|update| !matches!(update, HealthUpdate::Disable(_)));
        }
        updates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn exhausted_deliveries_in_a_row_disable_at_the_limit() {
        let policy = HealthPolicy::default().max_exhausted_in_a_row(Some(2));
        let now = SystemTime::UNIX_EPOCH + DAY;
        let once = Health {
            exhausted_in_a_row: 0,
            failing_since: Some(now),
            ..Health::default()
        };
        assert_eq!(
            policy.judge(&once, HealthSignal::Exhausted, now),
            [HealthUpdate::Exhausted { at: now }]
        );
        let twice = Health {
            exhausted_in_a_row: 1,
            ..once
        };
        assert!(matches!(
            policy
                .judge(&twice, HealthSignal::Exhausted, now)
                .as_slice(),
            [
                HealthUpdate::Exhausted { .. },
                HealthUpdate::Disable(Disabled {
                    reason: DisabledReason::Exhausted,
                    ..
                })
            ]
        ));
    }

    #[test]
    fn an_already_disabled_webhook_is_not_disabled_again() {
        let now = SystemTime::UNIX_EPOCH;
        let disabled = Health {
            disabled: Some(Disabled {
                reason: DisabledReason::Manual,
                at: now,
            }),
            ..Health::default()
        };
        assert!(
            HealthPolicy::default()
                .judge(&disabled, HealthSignal::Gone, now)
                .is_empty()
        );
    }

    #[test]
    fn a_clock_that_went_backwards_does_not_disable() {
        let now = SystemTime::UNIX_EPOCH + DAY;
        let failing = Health {
            failing_since: Some(now + DAY * 10),
            ..Health::default()
        };
        assert!(
            HealthPolicy::default()
                .judge(&failing, HealthSignal::Failed, now)
                .is_empty()
        );
    }
}
