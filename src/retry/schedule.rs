//! Retry schedules: a policy or an explicit list, with caps and jitter.

use std::sync::Arc;
use std::time::Duration;

use super::RetryPolicyError;
use super::{Jitter, RandomSource, RetryPolicy};

/// Where a schedule's delays come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Delays {
    Policy(RetryPolicy),
    Explicit(Arc<[Duration]>),
}

/// The full retry plan for a delivery: the delays, optional caps on a
/// single delay and on the whole window, and jitter.
///
/// Build one from a [`RetryPolicy`], from a preset, or from an explicit
/// list of delays.
///
/// ```
/// use std::time::Duration;
/// use titan_webhooks::retry::{Backoff, RetryPolicy, RetrySchedule};
///
/// let schedule = RetrySchedule::from(RetryPolicy::new(10, 5, Backoff::Exponential)?)
///     .with_max_delay(Duration::from_secs(60))
///     .with_max_elapsed(Duration::from_secs(300));
/// let delays: Vec<u64> = schedule.delays().map(|d| d.as_secs()).collect();
/// assert_eq!(delays, [5, 10, 20, 40, 60, 60, 60]);
/// assert_eq!(schedule.total_window(), Duration::from_secs(255));
/// # Ok::<(), titan_webhooks::retry::RetryPolicyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Delays,
    max_delay: Option<Duration>,
    max_elapsed: Option<Duration>,
    jitter: Jitter,
    /// Retries left after `max_elapsed`, kept in step by every setter.
    retries: u32,
}

impl RetrySchedule {
    /// A schedule of exactly these delays, one per retry.
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::retry::RetrySchedule;
    ///
    /// let schedule = RetrySchedule::explicit([Duration::from_secs(1), Duration::from_secs(60)])?;
    /// assert_eq!(schedule.retries(), 2);
    /// assert_eq!(schedule.delay(2), Some(Duration::from_secs(60)));
    /// # Ok::<(), titan_webhooks::retry::RetryPolicyError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`RetryPolicyError::AttemptsOutOfRange`] for more than
    /// [`RetryPolicy::MAX_ATTEMPTS`] delays.
    pub fn explicit(delays: impl IntoIterator<Item = Duration>) -> Result<Self, RetryPolicyError> {
        let delays: Arc<[Duration]> = delays.into_iter().collect();
        let count = i64::try_from(delays.len()).unwrap_or(i64::MAX);
        if count > i64::from(RetryPolicy::MAX_ATTEMPTS) {
            return Err(RetryPolicyError::AttemptsOutOfRange {
                value: count,
                max: RetryPolicy::MAX_ATTEMPTS,
            });
        }
        Ok(Self::with_delays(Delays::Explicit(delays)))
    }

    /// Svix's schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; about 27½
    /// hours in all. Source: Svix's documentation, "Retry schedule".
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::retry::RetrySchedule;
    ///
    /// assert_eq!(RetrySchedule::svix().total_window(), Duration::from_secs(99_305));
    /// ```
    #[must_use]
    pub fn svix() -> Self {
        Self::preset(&[5, 300, 1_800, 7_200, 18_000, 36_000, 36_000])
    }

    /// The example schedule of the Standard Webhooks specification
    /// ("Deliverability and reliability"): 5 s, 5 min, 30 min, 2 h, 5 h,
    /// 10 h, 14 h, 20 h, 24 h; about 75½ hours in all.
    ///
    /// ```
    /// use titan_webhooks::retry::RetrySchedule;
    ///
    /// let schedule = RetrySchedule::standard_webhooks();
    /// assert_eq!(schedule.retries(), 9);
    /// assert_eq!(schedule.total_window().as_secs(), 75 * 3600 + 35 * 60 + 5);
    /// ```
    #[must_use]
    pub fn standard_webhooks() -> Self {
        Self::preset(&[5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400])
    }

    /// A schedule like Stripe's, which retries "for up to three days with
    /// an exponential back off" (Stripe's documentation, "Retry behavior"):
    /// 1 min, 5 min, 30 min, 1 h, 2 h, 4 h, 8 h, 12 h, 24 h, 24 h; about
    /// 3.2 days in all.
    ///
    /// ```
    /// use titan_webhooks::retry::RetrySchedule;
    ///
    /// let days = RetrySchedule::stripe_like().total_window().as_secs_f64() / 86_400.0;
    /// assert!((3.0..3.5).contains(&days));
    /// ```
    #[must_use]
    pub fn stripe_like() -> Self {
        Self::preset(&[
            60, 300, 1_800, 3_600, 7_200, 14_400, 28_800, 43_200, 86_400, 86_400,
        ])
    }

    fn preset(seconds: &[u64]) -> Self {
        Self::with_delays(Delays::Explicit(
            seconds.iter().copied().map(Duration::from_secs).collect(),
        ))
    }

    fn with_delays(delays: Delays) -> Self {
        let mut schedule = Self {
            delays,
            max_delay: None,
            max_elapsed: None,
            jitter: Jitter::None,
            retries: 0,
        };
        schedule.retries = schedule.count_retries();
        schedule
    }

    /// Caps every delay at `max_delay`, jittered or not.
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::retry::RetrySchedule;
    ///
    /// let schedule = RetrySchedule::svix().with_max_delay(Duration::from_secs(3600));
    /// assert!(schedule.delays().all(|delay| delay <= Duration::from_secs(3600)));
    /// ```
    #[must_use]
    pub fn with_max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = Some(max_delay);
        self.retries = self.count_retries();
        self
    }

    /// Stops retrying once the sum of the delays would pass `max_elapsed`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::retry::RetrySchedule;
    ///
    /// let schedule = RetrySchedule::svix().with_max_elapsed(Duration::from_secs(3600));
    /// assert_eq!(schedule.retries(), 3); // 5 s, 5 min, 30 min
    /// ```
    #[must_use]
    pub fn with_max_elapsed(mut self, max_elapsed: Duration) -> Self {
        self.max_elapsed = Some(max_elapsed);
        self.retries = self.count_retries();
        self
    }

    /// Adds jitter to each delay; see [`RetrySchedule::jittered_delay`].
    ///
    /// ```
    /// use titan_webhooks::retry::{Jitter, RetrySchedule};
    ///
    /// assert_eq!(RetrySchedule::svix().with_jitter(Jitter::Percent(20)).jitter(), Jitter::Percent(20));
    /// ```
    #[must_use]
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The jitter applied by [`RetrySchedule::jittered_delay`].
    ///
    /// ```
    /// use titan_webhooks::retry::{Jitter, RetrySchedule};
    ///
    /// assert_eq!(RetrySchedule::svix().jitter(), Jitter::None);
    /// ```
    #[must_use]
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The cap on a single delay, if any.
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::retry::RetrySchedule;
    ///
    /// let schedule = RetrySchedule::svix().with_max_delay(Duration::from_secs(60));
    /// assert_eq!(schedule.max_delay(), Some(Duration::from_secs(60)));
    /// ```
    #[must_use]
    pub fn max_delay(&self) -> Option<Duration> {
        self.max_delay
    }

    /// How many retries follow a failed first attempt, after `max_elapsed`.
    ///
    /// ```
    /// use titan_webhooks::retry::RetrySchedule;
    ///
    /// assert_eq!(RetrySchedule::svix().retries(), 7);
    /// ```
    #[must_use]
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// The scheduled delay before retry `retry` (1 for the first retry),
    /// capped at `max_delay`, without jitter; `None` past the last retry.
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::retry::RetrySchedule;
    ///
    /// let schedule = RetrySchedule::svix();
    /// assert_eq!(schedule.delay(1), Some(Duration::from_secs(5)));
    /// assert_eq!(schedule.delay(8), None);
    /// ```
    #[must_use]
    pub fn delay(&self, retry: u32) -> Option<Duration> {
        if retry > self.retries {
            return None;
        }
        self.uncounted_delay(retry)
    }

    /// The delay before retry `retry` with the schedule's jitter applied,
    /// drawn from `random`; never above `max_delay`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::retry::{Jitter, RetrySchedule};
    ///
    /// let schedule = RetrySchedule::svix().with_jitter(Jitter::Full);
    /// let mut lowest = || 0;
    /// assert_eq!(schedule.jittered_delay(2, &mut lowest), Some(Duration::ZERO));
    /// ```
    #[must_use]
    pub fn jittered_delay(&self, retry: u32, random: &mut impl RandomSource) -> Option<Duration> {
        self.delay(retry)
            .map(|delay| self.jitter.apply(delay, self.max_delay, random))
    }

    /// The scheduled delays, in order, without jitter.
    ///
    /// ```
    /// use titan_webhooks::retry::RetrySchedule;
    ///
    /// let minutes: Vec<u64> = RetrySchedule::svix().delays().map(|d| d.as_secs() / 60).collect();
    /// assert_eq!(minutes, [0, 5, 30, 120, 300, 600, 600]);
    /// ```
    pub fn delays(&self) -> impl Iterator<Item = Duration> + '_ {
        (1..=self.retries).filter_map(|retry| self.uncounted_delay(retry))
    }

    /// The sum of the scheduled delays, saturating at [`Duration::MAX`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::retry::{RetryPolicy, RetrySchedule};
    ///
    /// let policy = RetryPolicy::default();
    /// assert_eq!(RetrySchedule::from(policy).total_window(), policy.total_window());
    /// ```
    #[must_use]
    pub fn total_window(&self) -> Duration {
        self.delays().fold(Duration::ZERO, Duration::saturating_add)
    }

    /// The capped delay before `retry`, ignoring `max_elapsed`.
    fn uncounted_delay(&self, retry: u32) -> Option<Duration> {
        let delay = match &self.delays {
            Delays::Policy(policy) => policy.delay(retry)?,
            Delays::Explicit(delays) => {
                let index = usize::try_from(retry.checked_sub(1)?).ok()?;
                *delays.get(index)?
            }
        };
        Some(self.max_delay.map_or(delay, |cap| delay.min(cap)))
    }

    fn count_retries(&self) -> u32 {
        let mut elapsed = Duration::ZERO;
        let mut retries = 0u32;
        while let Some(delay) = retries
            .checked_add(1)
            .and_then(|next| self.uncounted_delay(next))
        {
            elapsed = elapsed.saturating_add(delay);
            if self.max_elapsed.is_some_and(|max| elapsed > max) {
                break;
            }
            retries = retries.saturating_add(1);
        }
        retries
    }
}

impl From<RetryPolicy> for RetrySchedule {
    fn from(policy: RetryPolicy) -> Self {
        Self::with_delays(Delays::Policy(policy))
    }
}

impl Default for RetrySchedule {
    /// The schedule of [`RetryPolicy::default`].
    fn default() -> Self {
        RetryPolicy::default().into()
    }
}
