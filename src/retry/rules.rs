//! The retry rules: what follows an attempt, given how it ended.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use http::StatusCode;

use super::{
    AttemptOutcome, FailureKind, MAX_RETRY_AFTER, NextStep, OsRandom, RandomSource, RetrySchedule,
};

/// Retry rules: a schedule, and how responses change it. A dispatcher
/// builds one set and applies it to every subscription's schedule with
/// [`RetryRules::next_step_on`].
///
/// - `2xx` is success; `410 Gone` disables the endpoint.
/// - A target the SSRF guard refused is given up on at once: asking again
///   gets the same answer.
/// - Any other status, a timeout or a connection failure is retried on the
///   schedule until it runs out. A `3xx` is a failure like any other:
///   redirects are not followed.
/// - After `429` and `503`, a `Retry-After` can lengthen the next delay,
///   never shorten it, up to [`MAX_RETRY_AFTER`] by default.
/// - After `429` and after a timeout, the delay is at least 60 seconds by
///   default, as Svix does.
/// - Statuses listed with [`with_never_retry`](Self::with_never_retry) give
///   up at once. The list is empty by default, as in the seeds.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use titan_webhooks::retry::{AttemptOutcome, NextStep, RetryPolicy, RetryRules};
///
/// let rules = RetryRules::new(RetryPolicy::default().into());
/// let now = SystemTime::UNIX_EPOCH;
/// let failed = rules.next_step(1, AttemptOutcome::Status(500), None, now);
/// assert_eq!(failed, NextStep::RetryAt(now + Duration::from_secs(5)));
/// assert_eq!(rules.next_step(1, AttemptOutcome::Status(410), None, now), NextStep::Disabled);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryRules {
    schedule: RetrySchedule,
    never_retry: BTreeSet<u16>,
    throttle_floor: Duration,
    max_retry_after: Duration,
}

/// The least delay after a `429` or a timeout, unless configured otherwise.
pub const THROTTLE_FLOOR: Duration = Duration::from_secs(60);

impl RetryRules {
    /// Rules for `schedule` with the defaults above.
    ///
    /// ```
    /// use titan_webhooks::retry::{RetryRules, RetrySchedule};
    ///
    /// let rules = RetryRules::new(RetrySchedule::svix());
    /// assert_eq!(rules.schedule().retries(), 7);
    /// ```
    #[must_use]
    pub fn new(schedule: RetrySchedule) -> Self {
        Self {
            schedule,
            never_retry: BTreeSet::new(),
            throttle_floor: THROTTLE_FLOOR,
            max_retry_after: MAX_RETRY_AFTER,
        }
    }

    /// Gives up at once on these statuses (for example 400, 401, 404) instead
    /// of retrying them.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use http::StatusCode;
    /// use titan_webhooks::retry::{AttemptOutcome, NextStep, RetryRules};
    ///
    /// let rules = RetryRules::default().with_never_retry([StatusCode::NOT_FOUND]);
    /// let next = rules.next_step(1, AttemptOutcome::Status(404), None, SystemTime::now());
    /// assert_eq!(next, NextStep::GaveUp);
    /// ```
    #[must_use]
    pub fn with_never_retry(mut self, statuses: impl IntoIterator<Item = StatusCode>) -> Self {
        self.never_retry = statuses.into_iter().map(|status| status.as_u16()).collect();
        self
    }

    /// Sets the least delay after a `429` or a timeout. Defaults to
    /// [`THROTTLE_FLOOR`], 60 seconds.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use titan_webhooks::retry::{AttemptOutcome, FailureKind, NextStep, RetryRules};
    ///
    /// let rules = RetryRules::default().with_throttle_floor(Duration::from_secs(30));
    /// let now = SystemTime::UNIX_EPOCH;
    /// let next = rules.next_step(1, AttemptOutcome::Failed(FailureKind::Timeout), None, now);
    /// assert_eq!(next, NextStep::RetryAt(now + Duration::from_secs(30)));
    /// ```
    #[must_use]
    pub fn with_throttle_floor(mut self, floor: Duration) -> Self {
        self.throttle_floor = floor;
        self
    }

    /// Sets the longest `Retry-After` honoured. Defaults to
    /// [`MAX_RETRY_AFTER`], one hour.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use titan_webhooks::retry::{AttemptOutcome, NextStep, RetryRules};
    ///
    /// let rules = RetryRules::default().with_max_retry_after(Duration::from_secs(600));
    /// let now = SystemTime::UNIX_EPOCH;
    /// let a_day = Some(Duration::from_secs(86_400));
    /// let next = rules.next_step(1, AttemptOutcome::Status(503), a_day, now);
    /// assert_eq!(next, NextStep::RetryAt(now + Duration::from_secs(600)));
    /// ```
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The schedule the rules follow.
    ///
    /// ```
    /// use titan_webhooks::retry::{RetryRules, RetrySchedule};
    ///
    /// assert_eq!(RetryRules::default().schedule(), &RetrySchedule::default());
    /// ```
    #[must_use]
    pub fn schedule(&self) -> &RetrySchedule {
        &self.schedule
    }

    /// What follows attempt number `attempt` (1 for the first try), which
    /// ended with `outcome` at `now`. `retry_after` is the response's
    /// `Retry-After`, already read with
    /// [`parse_retry_after`](super::parse_retry_after); it is honoured after
    /// `429` and `503` only. Jitter is drawn from the operating system.
    ///
    /// A retry that would fall past the end of [`SystemTime`] gives up.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use titan_webhooks::retry::{AttemptOutcome, NextStep, RetryRules};
    ///
    /// let rules = RetryRules::default();
    /// assert_eq!(rules.next_step(1, AttemptOutcome::Status(204), None, SystemTime::now()), NextStep::Succeeded);
    /// ```
    #[must_use]
    pub fn next_step(
        &self,
        attempt: u32,
        outcome: AttemptOutcome,
        retry_after: Option<Duration>,
        now: SystemTime,
    ) -> NextStep {
        self.judge(
            &self.schedule,
            attempt,
            outcome,
            retry_after,
            now,
            &mut OsRandom,
        )
    }

    /// [`RetryRules::next_step`] with jitter drawn from `random`, for
    /// deterministic tests.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use titan_webhooks::retry::{AttemptOutcome, FailureKind, Jitter, NextStep, RetryRules, RetrySchedule};
    ///
    /// let rules = RetryRules::new(RetrySchedule::svix().with_jitter(Jitter::Full));
    /// let mut lowest = || 0;
    /// let now = SystemTime::UNIX_EPOCH;
    /// let refused = AttemptOutcome::Failed(FailureKind::Connect);
    /// assert_eq!(rules.next_step_with(2, refused, None, now, &mut lowest), NextStep::RetryAt(now));
    /// ```
    #[must_use]
    pub fn next_step_with(
        &self,
        attempt: u32,
        outcome: AttemptOutcome,
        retry_after: Option<Duration>,
        now: SystemTime,
        random: &mut impl RandomSource,
    ) -> NextStep {
        self.judge(&self.schedule, attempt, outcome, retry_after, now, random)
    }

    /// [`RetryRules::next_step`] on `schedule`'s delays instead of the
    /// rules' own, with everything else (statuses, floors, the `Retry-After`
    /// cap and the jitter) from these rules: for one set of rules serving
    /// subscriptions with schedules of their own.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use titan_webhooks::retry::{AttemptOutcome, NextStep, RetryRules, RetrySchedule};
    ///
    /// let rules = RetryRules::default();
    /// let now = SystemTime::UNIX_EPOCH;
    /// let next = rules.next_step_on(&RetrySchedule::stripe_like(), 1, AttemptOutcome::Status(500), None, now);
    /// assert_eq!(next, NextStep::RetryAt(now + Duration::from_secs(60)));
    /// ```
    #[must_use]
    pub fn next_step_on(
        &self,
        schedule: &RetrySchedule,
        attempt: u32,
        outcome: AttemptOutcome,
        retry_after: Option<Duration>,
        now: SystemTime,
    ) -> NextStep {
        self.judge(schedule, attempt, outcome, retry_after, now, &mut OsRandom)
    }

    fn judge(
        &self,
        schedule: &RetrySchedule,
        attempt: u32,
        outcome: AttemptOutcome,
        retry_after: Option<Duration>,
        now: SystemTime,
        random: &mut impl RandomSource,
    ) -> NextStep {
        let (throttled, retry_after) = match outcome {
            AttemptOutcome::Status(status) if (200..300).contains(&status) => {
                return NextStep::Succeeded;
            }
            AttemptOutcome::Status(status) if status == StatusCode::GONE.as_u16() => {
                return NextStep::Disabled;
            }
            AttemptOutcome::Status(status) if self.never_retry.contains(&status) => {
                return NextStep::GaveUp;
            }
            AttemptOutcome::Status(status) => {
                let throttled = status == StatusCode::TOO_MANY_REQUESTS.as_u16();
                let honours_retry_after =
                    throttled || status == StatusCode::SERVICE_UNAVAILABLE.as_u16();
                (throttled, retry_after.filter(|_| honours_retry_after))
            }
            // Asking again will not change the guard's answer.
            AttemptOutcome::Failed(FailureKind::RefusedByGuard) => return NextStep::GaveUp,
            AttemptOutcome::Failed(FailureKind::Timeout) => (true, None),
            AttemptOutcome::Failed(_) => (false, None),
        };
        // The schedule's delays, these rules' jitter: one dispatcher-wide
        // setting covers every subscription's schedule.
        let Some(mut delay) = schedule.delay(attempt).map(|delay| {
            self.schedule
                .jitter()
                .apply(delay, schedule.max_delay(), random)
        }) else {
            return NextStep::GaveUp;
        };
        if let Some(asked) = retry_after {
            delay = delay.max(asked.min(self.max_retry_after));
        }
        if throttled {
            delay = delay.max(self.throttle_floor);
        }
        now.checked_add(delay)
            .map_or(NextStep::GaveUp, NextStep::RetryAt)
    }
}

impl Default for RetryRules {
    /// The rules for [`RetrySchedule::default`].
    fn default() -> Self {
        Self::new(RetrySchedule::default())
    }
}
