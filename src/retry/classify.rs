//! Turning the outcome of an attempt into what to do next.

use std::collections::BTreeSet;
use std::time::Duration;

use http::StatusCode;

use super::{MAX_RETRY_AFTER, OsRandom, RandomSource, RetrySchedule};

/// How an attempt ended.
///
/// ```
/// use http::StatusCode;
/// use titan_webhooks::retry::AttemptResult;
///
/// let result = AttemptResult::status(StatusCode::SERVICE_UNAVAILABLE);
/// assert!(matches!(result, AttemptResult::Status { retry_after: None, .. }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptResult {
    /// The receiver answered with `status`.
    Status {
        /// The response status.
        status: StatusCode,
        /// The response's `Retry-After`, already read with
        /// [`parse_retry_after`](super::parse_retry_after).
        retry_after: Option<Duration>,
    },
    /// No answer within the timeout.
    Timeout,
    /// No answer at all: DNS, connect, TLS, a reset or a broken body.
    ConnectionFailed,
}

impl AttemptResult {
    /// A response with `status` and no `Retry-After`.
    ///
    /// ```
    /// use http::StatusCode;
    /// use titan_webhooks::retry::AttemptResult;
    ///
    /// assert_eq!(
    ///     AttemptResult::status(StatusCode::OK),
    ///     AttemptResult::Status { status: StatusCode::OK, retry_after: None }
    /// );
    /// ```
    #[must_use]
    pub fn status(status: StatusCode) -> Self {
        Self::Status {
            status,
            retry_after: None,
        }
    }
}

/// An attempt and how it ended: the input of [`RetryRules::classify`].
///
/// ```
/// use titan_webhooks::retry::{AttemptResult, Outcome};
///
/// let outcome = Outcome::new(1, AttemptResult::Timeout);
/// assert_eq!(outcome.attempt(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    attempt: u32,
    result: AttemptResult,
}

impl Outcome {
    /// Attempt number `attempt` (1 for the first try) ended with `result`.
    ///
    /// ```
    /// use titan_webhooks::retry::{AttemptResult, Outcome};
    ///
    /// let outcome = Outcome::new(2, AttemptResult::ConnectionFailed);
    /// assert_eq!(outcome.result(), AttemptResult::ConnectionFailed);
    /// ```
    #[must_use]
    pub fn new(attempt: u32, result: AttemptResult) -> Self {
        Self { attempt, result }
    }

    /// The attempt's number, 1 for the first try.
    ///
    /// ```
    /// use titan_webhooks::retry::{AttemptResult, Outcome};
    ///
    /// assert_eq!(Outcome::new(3, AttemptResult::Timeout).attempt(), 3);
    /// ```
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// How the attempt ended.
    ///
    /// ```
    /// use titan_webhooks::retry::{AttemptResult, Outcome};
    ///
    /// assert_eq!(Outcome::new(1, AttemptResult::Timeout).result(), AttemptResult::Timeout);
    /// ```
    #[must_use]
    pub fn result(&self) -> AttemptResult {
        self.result
    }
}

/// What to do after an attempt.
///
/// ```
/// use std::time::Duration;
/// use titan_webhooks::retry::Decision;
///
/// assert!(Decision::Retry(Duration::from_secs(5)).is_retry());
/// assert!(!Decision::GiveUp.is_retry());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Delivered.
    Success,
    /// Try again after this delay.
    Retry(Duration),
    /// Stop: the retries are used up or the status is one never retried.
    GiveUp,
    /// Stop, and disable the endpoint: it answered `410 Gone`.
    Disable,
}

impl Decision {
    /// Whether the decision is to try again.
    ///
    /// ```
    /// use titan_webhooks::retry::Decision;
    ///
    /// assert!(!Decision::Disable.is_retry());
    /// ```
    #[must_use]
    pub fn is_retry(&self) -> bool {
        matches!(self, Self::Retry(_))
    }
}

/// The retry rules of a subscription: its schedule, and how responses
/// change it.
///
/// - `2xx` is success; `410 Gone` disables the endpoint.
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
/// use std::time::Duration;
/// use http::StatusCode;
/// use titan_webhooks::retry::{AttemptResult, Decision, Outcome, RetryPolicy, RetryRules};
///
/// let rules = RetryRules::new(RetryPolicy::default().into());
/// let failed = Outcome::new(1, AttemptResult::status(StatusCode::INTERNAL_SERVER_ERROR));
/// assert_eq!(rules.classify(&failed), Decision::Retry(Duration::from_secs(5)));
/// let gone = Outcome::new(1, AttemptResult::status(StatusCode::GONE));
/// assert_eq!(rules.classify(&gone), Decision::Disable);
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
    /// use http::StatusCode;
    /// use titan_webhooks::retry::{AttemptResult, Decision, Outcome, RetryRules};
    ///
    /// let rules = RetryRules::default().with_never_retry([StatusCode::NOT_FOUND]);
    /// let outcome = Outcome::new(1, AttemptResult::status(StatusCode::NOT_FOUND));
    /// assert_eq!(rules.classify(&outcome), Decision::GiveUp);
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
    /// use std::time::Duration;
    /// use titan_webhooks::retry::{AttemptResult, Decision, Outcome, RetryRules};
    ///
    /// let rules = RetryRules::default().with_throttle_floor(Duration::from_secs(30));
    /// let outcome = Outcome::new(1, AttemptResult::Timeout);
    /// assert_eq!(rules.classify(&outcome), Decision::Retry(Duration::from_secs(30)));
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
    /// use std::time::Duration;
    /// use http::StatusCode;
    /// use titan_webhooks::retry::{AttemptResult, Decision, Outcome, RetryRules};
    ///
    /// let rules = RetryRules::default().with_max_retry_after(Duration::from_secs(600));
    /// let busy = AttemptResult::Status {
    ///     status: StatusCode::SERVICE_UNAVAILABLE,
    ///     retry_after: Some(Duration::from_secs(86_400)),
    /// };
    /// assert_eq!(rules.classify(&Outcome::new(1, busy)), Decision::Retry(Duration::from_secs(600)));
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

    /// What to do after `outcome`, with jitter drawn from the operating
    /// system.
    ///
    /// ```
    /// use http::StatusCode;
    /// use titan_webhooks::retry::{AttemptResult, Decision, Outcome, RetryRules};
    ///
    /// let rules = RetryRules::default();
    /// let ok = Outcome::new(1, AttemptResult::status(StatusCode::NO_CONTENT));
    /// assert_eq!(rules.classify(&ok), Decision::Success);
    /// ```
    #[must_use]
    pub fn classify(&self, outcome: &Outcome) -> Decision {
        self.classify_with(outcome, &mut OsRandom)
    }

    /// [`RetryRules::classify`] with jitter drawn from `random`, for
    /// deterministic tests.
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::retry::{AttemptResult, Decision, Jitter, Outcome, RetryRules, RetrySchedule};
    ///
    /// let rules = RetryRules::new(RetrySchedule::svix().with_jitter(Jitter::Full));
    /// let mut lowest = || 0;
    /// let outcome = Outcome::new(2, AttemptResult::ConnectionFailed);
    /// assert_eq!(rules.classify_with(&outcome, &mut lowest), Decision::Retry(Duration::ZERO));
    /// ```
    #[must_use]
    pub fn classify_with(&self, outcome: &Outcome, random: &mut impl RandomSource) -> Decision {
        let (throttled, retry_after) = match outcome.result {
            AttemptResult::Status { status, .. } if status.is_success() => {
                return Decision::Success;
            }
            AttemptResult::Status { status, .. } if status == StatusCode::GONE => {
                return Decision::Disable;
            }
            AttemptResult::Status { status, .. } if self.never_retry.contains(&status.as_u16()) => {
                return Decision::GiveUp;
            }
            AttemptResult::Status {
                status,
                retry_after,
            } => {
                let honours_retry_after = status == StatusCode::TOO_MANY_REQUESTS
                    || status == StatusCode::SERVICE_UNAVAILABLE;
                (
                    status == StatusCode::TOO_MANY_REQUESTS,
                    retry_after.filter(|_| honours_retry_after),
                )
            }
            AttemptResult::Timeout => (true, None),
            AttemptResult::ConnectionFailed => (false, None),
        };
        let Some(mut delay) = self.schedule.jittered_delay(outcome.attempt, random) else {
            return Decision::GiveUp;
        };
        if let Some(asked) = retry_after {
            delay = delay.max(asked.min(self.max_retry_after));
        }
        if throttled {
            delay = delay.max(self.throttle_floor);
        }
        Decision::Retry(delay)
    }
}

impl Default for RetryRules {
    /// The rules for [`RetrySchedule::default`].
    fn default() -> Self {
        Self::new(RetrySchedule::default())
    }
}
