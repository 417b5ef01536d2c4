//! Which answers the client retries, and after how long: the crate's own
//! retry calculators, applied to requests instead of deliveries.

use std::time::{Duration, SystemTime};

use http::{Method, StatusCode};

use crate::retry::{AttemptOutcome, NextStep, RetryRules, RetrySchedule};

/// The retry plan of a client.
#[derive(Debug, Clone)]
pub(super) struct Retries {
    rules: RetryRules,
    max_retry_after: Duration,
}

impl Retries {
    pub(super) fn new(schedule: RetrySchedule, max_retry_after: Duration) -> Self {
        Self {
            // The delivery rules' 60-second floor after a 429 suits a
            // queue, not a person waiting at a prompt: the schedule and
            // the server's Retry-After decide here.
            rules: RetryRules::new(schedule)
                .with_throttle_floor(Duration::ZERO)
                .with_max_retry_after(max_retry_after),
            max_retry_after,
        }
    }

    /// How long to wait before trying again after attempt `attempt` (1 for
    /// the first) of a `method` request was answered `status`, with the
    /// answer's `Retry-After` already read; `None` to return the answer.
    pub(super) fn delay(
        &self,
        method: &Method,
        attempt: u32,
        status: StatusCode,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if !is_retried(method)
            || !matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            )
        {
            return None;
        }
        // Retrying sooner than asked only earns another refusal.
        if retry_after.is_some_and(|asked| asked > self.max_retry_after) {
            return None;
        }
        let now = SystemTime::now();
        match self.rules.next_step(
            attempt,
            AttemptOutcome::Status(status.as_u16()),
            retry_after,
            now,
        ) {
            NextStep::RetryAt(at) => Some(at.duration_since(now).unwrap_or(Duration::ZERO)),
            _ => None,
        }
    }
}

/// Whether requests of `method` are retried: those HTTP defines as
/// idempotent and the API uses, `GET`, `PUT` and `DELETE`. `POST` creates
/// (or rotates, redelivers, sends a test) and `PATCH` announces
/// `webhook.endpoint.updated` each time, so neither is sent twice.
pub(super) fn is_retried(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::PUT | Method::DELETE | Method::HEAD
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retries() -> Retries {
        Retries::new(
            RetrySchedule::explicit([Duration::from_millis(10), Duration::from_millis(20)])
                .unwrap(),
            Duration::from_secs(5),
        )
    }

    #[test]
    fn only_idempotent_methods_on_429_and_503_are_retried() {
        let retries = retries();
        let too_many = StatusCode::TOO_MANY_REQUESTS;
        assert_eq!(
            retries.delay(&Method::GET, 1, too_many, None),
            Some(Duration::from_millis(10))
        );
        assert_eq!(
            retries.delay(&Method::DELETE, 2, StatusCode::SERVICE_UNAVAILABLE, None),
            Some(Duration::from_millis(20))
        );
        assert_eq!(
            retries.delay(&Method::GET, 3, too_many, None),
            None,
            "ran out"
        );
        assert_eq!(retries.delay(&Method::POST, 1, too_many, None), None);
        assert_eq!(retries.delay(&Method::PATCH, 1, too_many, None), None);
        assert_eq!(
            retries.delay(&Method::GET, 1, StatusCode::INTERNAL_SERVER_ERROR, None),
            None
        );
        assert_eq!(
            retries.delay(&Method::GET, 1, StatusCode::BAD_GATEWAY, None),
            None
        );
    }

    #[test]
    fn retry_after_lengthens_the_wait_up_to_the_maximum() {
        let retries = retries();
        let asked = Some(Duration::from_secs(2));
        assert_eq!(
            retries.delay(&Method::GET, 1, StatusCode::SERVICE_UNAVAILABLE, asked),
            asked
        );
        let too_long = Some(Duration::from_secs(6));
        assert_eq!(
            retries.delay(&Method::GET, 1, StatusCode::TOO_MANY_REQUESTS, too_long),
            None
        );
    }
}
