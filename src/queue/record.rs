//! Records of delivery attempts.

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::DeliveryKey;
use crate::retry::{AttemptOutcome, NextStep};

/// The most bytes of a response body read and kept for the record.
pub const MAX_RECORDED_BODY: usize = 64 * 1024;

/// One attempt to deliver an envelope to a webhook, as the delivery log
/// keeps it (Eventium's `GET /api/webhooks/deliveries` shows the same).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use titan_webhooks::queue::{DeliveryAttempt, DeliveryKey};
/// use titan_webhooks::retry::{AttemptOutcome, NextStep};
///
/// let attempt = DeliveryAttempt {
///     sequence: None,
///     key: DeliveryKey::new("evt_1", 42.into()),
///     attempt: 1,
///     started_at: SystemTime::UNIX_EPOCH,
///     latency: Duration::from_millis(12),
///     outcome: AttemptOutcome::Status(200),
///     response_body: b"ok".to_vec(),
///     response_truncated: false,
///     location: None,
///     remote_ip: Some("203.0.113.7".parse().unwrap()),
///     next: NextStep::Succeeded,
///     detail: None,
/// };
/// assert!(attempt.succeeded());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    /// Where the store's log keeps the attempt: increases with every
    /// attempt recorded, and is the cursor for the next page of a listing.
    /// `None` until a store records it, and for an attempt whose outcome
    /// the store could not record (the delivery is then attempted again).
    pub sequence: Option<u64>,
    /// The delivery: the envelope's id and the webhook's.
    pub key: DeliveryKey,
    /// The attempt's number, 1 for the first.
    pub attempt: u32,
    /// When the request started.
    pub started_at: SystemTime,
    /// How long until the outcome was known.
    pub latency: Duration,
    /// The status, or why there was none.
    pub outcome: AttemptOutcome,
    /// The start of the response body, at most [`MAX_RECORDED_BODY`] bytes.
    pub response_body: Vec<u8>,
    /// Whether the body was longer than what was kept.
    pub response_truncated: bool,
    /// The `Location` of a `3xx`, which is recorded but not followed.
    pub location: Option<String>,
    /// The address actually connected to.
    pub remote_ip: Option<IpAddr>,
    /// What follows.
    pub next: NextStep,
    /// A short description of a failure, without secrets.
    pub detail: Option<String>,
}

impl DeliveryAttempt {
    /// Whether the receiver accepted the delivery.
    ///
    /// ```
    /// # use std::time::{Duration, SystemTime};
    /// # use titan_webhooks::queue::{DeliveryAttempt, DeliveryKey};
    /// # use titan_webhooks::retry::{AttemptOutcome, NextStep};
    /// let attempt = DeliveryAttempt {
    ///     sequence: Some(7),
    ///     key: DeliveryKey::new("evt_1", 42.into()),
    ///     attempt: 1,
    ///     started_at: SystemTime::UNIX_EPOCH,
    ///     latency: Duration::ZERO,
    ///     outcome: AttemptOutcome::Status(500),
    ///     response_body: Vec::new(),
    ///     response_truncated: false,
    ///     location: None,
    ///     remote_ip: None,
    ///     next: NextStep::GaveUp,
    ///     detail: None,
    /// };
    /// assert!(!attempt.succeeded());
    /// ```
    #[must_use]
    pub fn succeeded(&self) -> bool {
        self.next == NextStep::Succeeded
    }
}

/// Why a delivery was stopped without an attempt.
///
/// ```
/// use titan_webhooks::queue::CancelReason;
///
/// assert_eq!(CancelReason::WebhookDisabled.to_string(), "the webhook is disabled");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CancelReason {
    /// The webhook was disabled after the delivery was queued.
    WebhookDisabled,
    /// The webhook was removed after the delivery was queued.
    WebhookRemoved,
}

impl fmt::Display for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WebhookDisabled => "the webhook is disabled",
            Self::WebhookRemoved => "the webhook was removed",
        })
    }
}
