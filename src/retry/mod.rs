//! Pure retry calculators: when to try a failed delivery again.
//!
//! Nothing here sleeps or does I/O, so any runtime or job queue can drive
//! it. [`RetryPolicy`] is the seeds' retry object; [`RetrySchedule`] adds
//! presets, explicit lists, caps and jitter; [`RetryRules`] turns the
//! outcome of an attempt into a [`Decision`].
//!
//! ```
//! use std::time::Duration;
//! use http::StatusCode;
//! use titan_webhooks::retry::{AttemptResult, Decision, Outcome, RetryPolicy, RetryRules};
//!
//! let policy: RetryPolicy = serde_json::from_str(r#"{"attempts":3,"delaySeconds":5,"policy":"exponential"}"#)?;
//! let rules = RetryRules::new(policy.into());
//! let failed = |attempt| Outcome::new(attempt, AttemptResult::status(StatusCode::BAD_GATEWAY));
//! assert_eq!(rules.classify(&failed(1)), Decision::Retry(Duration::from_secs(5)));
//! assert_eq!(rules.classify(&failed(3)), Decision::Retry(Duration::from_secs(20)));
//! assert_eq!(rules.classify(&failed(4)), Decision::GiveUp);
//! # Ok::<(), serde_json::Error>(())
//! ```

mod classify;
mod jitter;
mod policy;
mod retry_after;
mod schedule;

pub use classify::{AttemptResult, Decision, Outcome, RetryRules, THROTTLE_FLOOR};
pub use jitter::{Jitter, OsRandom, RandomSource};
pub use policy::{Backoff, RetryPolicy, RetryPolicyError};
pub use retry_after::{MAX_RETRY_AFTER, parse_retry_after};
pub use schedule::RetrySchedule;
