//! Pure retry calculators: when to try a failed delivery again.
//!
//! Nothing here sleeps or does I/O, so any runtime or job queue can drive
//! it. [`RetryPolicy`] is the seeds' retry object; [`RetrySchedule`] adds
//! presets, explicit lists, caps and jitter; [`RetryRules`] turns an
//! attempt's [`AttemptOutcome`] into its [`NextStep`].
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use titan_webhooks::retry::{AttemptOutcome, NextStep, RetryPolicy, RetryRules};
//!
//! let policy: RetryPolicy = serde_json::from_str(r#"{"attempts":3,"delaySeconds":5,"policy":"exponential"}"#)?;
//! let rules = RetryRules::new(policy.into());
//! let now = SystemTime::UNIX_EPOCH;
//! let bad_gateway = |attempt| rules.next_step(attempt, AttemptOutcome::Status(502), None, now);
//! assert_eq!(bad_gateway(1), NextStep::RetryAt(now + Duration::from_secs(5)));
//! assert_eq!(bad_gateway(3), NextStep::RetryAt(now + Duration::from_secs(20)));
//! assert_eq!(bad_gateway(4), NextStep::GaveUp);
//! # Ok::<(), serde_json::Error>(())
//! ```

mod jitter;
mod outcome;
mod policy;
mod retry_after;
mod rules;
mod schedule;

pub use jitter::{Jitter, OsRandom, RandomSource};
pub use outcome::{AttemptOutcome, FailureKind, NextStep};
pub use policy::{Backoff, RetryPolicy, RetryPolicyError};
pub use retry_after::{MAX_RETRY_AFTER, parse_retry_after};
pub use rules::{RetryRules, THROTTLE_FLOOR};
pub use schedule::RetrySchedule;
