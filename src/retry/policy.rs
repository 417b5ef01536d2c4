//! The seeds' retry object: `{ "attempts", "delaySeconds", "policy" }`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the delay grows from one retry to the next.
///
/// ```
/// use titan_webhooks::retry::Backoff;
///
/// assert_eq!("exponential".parse::<Backoff>()?, Backoff::Exponential);
/// assert_eq!(serde_json::to_string(&Backoff::Linear)?, r#""linear""#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub enum Backoff {
    /// The same delay before every retry: 5, 5, 5, …
    Constant,
    /// The delay grows by `delaySeconds` each retry: 5, 10, 15, …
    Linear,
    /// The delay doubles each retry: 5, 10, 20, 40, …
    Exponential,
}

impl Backoff {
    /// The name used in the retry object.
    ///
    /// ```
    /// use titan_webhooks::retry::Backoff;
    ///
    /// assert_eq!(Backoff::Constant.as_str(), "constant");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::Linear => "linear",
            Self::Exponential => "exponential",
        }
    }
}

impl fmt::Display for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Backoff {
    type Err = RetryPolicyError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "constant" => Ok(Self::Constant),
            "linear" => Ok(Self::Linear),
            "exponential" => Ok(Self::Exponential),
            other => Err(RetryPolicyError::UnknownPolicy {
                name: other.to_owned(),
            }),
        }
    }
}

impl<'de> Deserialize<'de> for Backoff {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// A subscription's retry configuration, in the seeds' JSON form:
/// `{ "attempts": 3, "delaySeconds": 5, "policy": "exponential" }`.
///
/// `attempts` counts retries after the first failure. With `delaySeconds`
/// 5, the delays before retries 1, 2, 3… are 5, 5, 5 (constant), 5, 10, 15
/// (linear) or 5, 10, 20 (exponential) seconds. The values are checked
/// when built and when deserialized.
///
/// ```
/// use std::time::Duration;
/// use titan_webhooks::retry::RetryPolicy;
///
/// let policy: RetryPolicy = serde_json::from_str(r#"{"attempts":3,"delaySeconds":5,"policy":"exponential"}"#)?;
/// let delays: Vec<u64> = policy.delays().map(|d| d.as_secs()).collect();
/// assert_eq!(delays, [5, 10, 20]);
/// assert_eq!(policy.total_window(), Duration::from_secs(35));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RetryObject")]
pub struct RetryPolicy {
    attempts: u32,
    delay_seconds: u32,
    policy: Backoff,
}

impl RetryPolicy {
    /// The most retries a policy may ask for.
    pub const MAX_ATTEMPTS: u32 = 1000;
    /// The shortest base delay, in seconds: a zero delay would retry in a
    /// tight loop.
    pub const MIN_DELAY_SECONDS: u32 = 1;
    /// The longest base delay, in seconds (one day).
    pub const MAX_DELAY_SECONDS: u32 = 86_400;

    /// A policy of `attempts` retries, starting `delay_seconds` apart and
    /// growing by `backoff`.
    ///
    /// ```
    /// use titan_webhooks::retry::{Backoff, RetryPolicy, RetryPolicyError};
    ///
    /// assert!(RetryPolicy::new(3, 5, Backoff::Linear).is_ok());
    /// assert_eq!(
    ///     RetryPolicy::new(3, 0, Backoff::Linear).unwrap_err(),
    ///     RetryPolicyError::DelayOutOfRange { value: 0, min: 1, max: 86_400 }
    /// );
    /// ```
    ///
    /// # Errors
    ///
    /// [`RetryPolicyError::AttemptsOutOfRange`] above
    /// [`MAX_ATTEMPTS`](Self::MAX_ATTEMPTS);
    /// [`RetryPolicyError::DelayOutOfRange`] outside
    /// [`MIN_DELAY_SECONDS`](Self::MIN_DELAY_SECONDS) to
    /// [`MAX_DELAY_SECONDS`](Self::MAX_DELAY_SECONDS).
    pub fn new(
        attempts: u32,
        delay_seconds: u32,
        backoff: Backoff,
    ) -> Result<Self, RetryPolicyError> {
        check_attempts(i64::from(attempts))?;
        check_delay(i64::from(delay_seconds))?;
        Ok(Self {
            attempts,
            delay_seconds,
            policy: backoff,
        })
    }

    /// How many retries follow a failed first attempt.
    ///
    /// ```
    /// use titan_webhooks::retry::RetryPolicy;
    ///
    /// assert_eq!(RetryPolicy::default().attempts(), 10);
    /// ```
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The base delay in seconds.
    ///
    /// ```
    /// use titan_webhooks::retry::RetryPolicy;
    ///
    /// assert_eq!(RetryPolicy::default().delay_seconds(), 5);
    /// ```
    #[must_use]
    pub fn delay_seconds(&self) -> u32 {
        self.delay_seconds
    }

    /// How the delay grows.
    ///
    /// ```
    /// use titan_webhooks::retry::{Backoff, RetryPolicy};
    ///
    /// assert_eq!(RetryPolicy::default().backoff(), Backoff::Exponential);
    /// ```
    #[must_use]
    pub fn backoff(&self) -> Backoff {
        self.policy
    }

    /// The delay before retry `retry` (1 for the first retry), or `None`
    /// when the policy has no such retry. Delays too large for a
    /// [`Duration`] saturate instead of overflowing.
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::retry::{Backoff, RetryPolicy};
    ///
    /// let policy = RetryPolicy::new(3, 5, Backoff::Linear)?;
    /// assert_eq!(policy.delay(3), Some(Duration::from_secs(15)));
    /// assert_eq!(policy.delay(0), None);
    /// assert_eq!(policy.delay(4), None);
    /// # Ok::<(), titan_webhooks::retry::RetryPolicyError>(())
    /// ```
    #[must_use]
    pub fn delay(&self, retry: u32) -> Option<Duration> {
        if retry == 0 || retry > self.attempts {
            return None;
        }
        let base = u64::from(self.delay_seconds);
        let seconds = match self.policy {
            Backoff::Constant => base,
            Backoff::Linear => base.saturating_mul(u64::from(retry)),
            Backoff::Exponential => retry
                .checked_sub(1)
                .and_then(|doublings| 1u64.checked_shl(doublings))
                .map_or(u64::MAX, |factor| base.saturating_mul(factor)),
        };
        Some(Duration::from_secs(seconds))
    }

    /// The delays before each retry, in order.
    ///
    /// ```
    /// use titan_webhooks::retry::{Backoff, RetryPolicy};
    ///
    /// let policy = RetryPolicy::new(4, 5, Backoff::Constant)?;
    /// assert!(policy.delays().all(|delay| delay.as_secs() == 5));
    /// assert_eq!(policy.delays().count(), 4);
    /// # Ok::<(), titan_webhooks::retry::RetryPolicyError>(())
    /// ```
    pub fn delays(&self) -> impl Iterator<Item = Duration> + '_ {
        (1..=self.attempts).filter_map(|retry| self.delay(retry))
    }

    /// The sum of all delays: how long after the first failure the last
    /// retry starts, not counting request time. Saturates at
    /// [`Duration::MAX`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::retry::{Backoff, RetryPolicy};
    ///
    /// let policy = RetryPolicy::new(3, 5, Backoff::Linear)?;
    /// assert_eq!(policy.total_window(), Duration::from_secs(30));
    /// # Ok::<(), titan_webhooks::retry::RetryPolicyError>(())
    /// ```
    #[must_use]
    pub fn total_window(&self) -> Duration {
        self.delays().fold(Duration::ZERO, Duration::saturating_add)
    }
}

impl Default for RetryPolicy {
    /// Ten exponential retries from five seconds: 5 s, 10 s, … 2560 s, about
    /// 85 minutes in all.
    ///
    /// It keeps the seeds' example (a 5 s first delay that doubles) and
    /// extends it from three retries to ten, so a receiver that is down for
    /// a deploy, a restart or a short outage still gets the delivery, while
    /// one that is gone receives at most eleven requests per event.
    fn default() -> Self {
        Self {
            attempts: 10,
            delay_seconds: 5,
            policy: Backoff::Exponential,
        }
    }
}

/// The retry object as received, before its values are checked. Signed
/// fields make a negative number a range error rather than a type error.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema), schema(as = RetryPolicy))]
struct RetryFields {
    /// Retries after the first failure.
    #[cfg_attr(feature = "server", schema(minimum = 0, maximum = 1000))]
    attempts: i64,
    /// The first delay between retries, in seconds.
    #[cfg_attr(feature = "server", schema(minimum = 1, maximum = 86400))]
    delay_seconds: i64,
    /// How the delay grows.
    #[cfg_attr(feature = "server", schema(value_type = Backoff))]
    policy: String,
}

// Generic answers such as `Data<Vec<RetryPolicy>>` compose their parts
// through this trait, which the derive implements for the JSON object.
#[cfg(feature = "server")]
impl utoipa::__dev::ComposeSchema for RetryPolicy {
    fn compose(
        generics: Vec<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>,
    ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <RetryFields as utoipa::__dev::ComposeSchema>::compose(generics)
    }
}

#[cfg(feature = "server")]
impl utoipa::ToSchema for RetryPolicy {
    fn name() -> std::borrow::Cow<'static, str> {
        <RetryFields as utoipa::ToSchema>::name()
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <RetryFields as utoipa::ToSchema>::schemas(schemas);
    }
}

/// [`RetryFields`], from a JSON object only.
struct RetryObject(RetryFields);

impl<'de> Deserialize<'de> for RetryObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::object::from_object(deserializer).map(Self)
    }
}

impl TryFrom<RetryObject> for RetryPolicy {
    type Error = RetryPolicyError;

    fn try_from(RetryObject(object): RetryObject) -> Result<Self, Self::Error> {
        let attempts = check_attempts(object.attempts)?;
        let delay_seconds = check_delay(object.delay_seconds)?;
        let policy = object.policy.parse()?;
        Ok(Self {
            attempts,
            delay_seconds,
            policy,
        })
    }
}

fn check_attempts(value: i64) -> Result<u32, RetryPolicyError> {
    u32::try_from(value)
        .ok()
        .filter(|attempts| *attempts <= RetryPolicy::MAX_ATTEMPTS)
        .ok_or(RetryPolicyError::AttemptsOutOfRange {
            value,
            max: RetryPolicy::MAX_ATTEMPTS,
        })
}

fn check_delay(value: i64) -> Result<u32, RetryPolicyError> {
    u32::try_from(value)
        .ok()
        .filter(|delay| {
            (RetryPolicy::MIN_DELAY_SECONDS..=RetryPolicy::MAX_DELAY_SECONDS).contains(delay)
        })
        .ok_or(RetryPolicyError::DelayOutOfRange {
            value,
            min: RetryPolicy::MIN_DELAY_SECONDS,
            max: RetryPolicy::MAX_DELAY_SECONDS,
        })
}

/// A retry configuration is out of bounds.
///
/// ```
/// use titan_webhooks::retry::{RetryPolicy, RetryPolicyError};
///
/// let err = serde_json::from_str::<RetryPolicy>(r#"{"attempts":3,"delaySeconds":5,"policy":"fibonacci"}"#)
///     .unwrap_err();
/// assert!(err.to_string().contains("unknown retry policy `fibonacci`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RetryPolicyError {
    /// `attempts` is negative or above the maximum.
    #[error("`attempts` must be between 0 and {max}, got {value}")]
    AttemptsOutOfRange {
        /// The value given.
        value: i64,
        /// The maximum.
        max: u32,
    },
    /// `delaySeconds` is outside its bounds.
    #[error("`delaySeconds` must be between {min} and {max}, got {value}")]
    DelayOutOfRange {
        /// The value given.
        value: i64,
        /// The minimum.
        min: u32,
        /// The maximum.
        max: u32,
    },
    /// `policy` is not `constant`, `linear` or `exponential`.
    #[error("unknown retry policy `{name}`; expected `constant`, `linear` or `exponential`")]
    UnknownPolicy {
        /// The name given.
        name: String,
    },
}
