//! Records of delivery attempts.

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::DeliveryKey;

/// The most bytes of a response body read and kept for the record.
pub const MAX_RECORDED_BODY: usize = 64 * 1024;

/// Why an attempt got no response status.
///
/// ```
/// use titan_webhooks::queue::FailureKind;
///
/// assert_eq!(FailureKind::RefusedByGuard.as_str(), "refused_by_guard");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailureKind {
    /// The host name did not resolve.
    Dns,
    /// The SSRF guard refused the URL or an address it resolved to.
    RefusedByGuard,
    /// The TCP connection failed or was reset.
    Connect,
    /// The TLS handshake failed, for example on an invalid certificate.
    Tls,
    /// No complete response within the timeout.
    Timeout,
    /// The request or response broke off mid-way.
    Body,
}

impl FailureKind {
    /// The kind's name, as stored and logged.
    ///
    /// ```
    /// use titan_webhooks::queue::FailureKind;
    ///
    /// assert_eq!(FailureKind::Timeout.as_str(), "timeout");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::RefusedByGuard => "refused_by_guard",
            Self::Connect => "connect",
            Self::Tls => "tls",
            Self::Timeout => "timeout",
            Self::Body => "body",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an attempt ended on the wire.
///
/// ```
/// use titan_webhooks::queue::{AttemptOutcome, FailureKind};
///
/// assert_eq!(AttemptOutcome::Status(503).to_string(), "503");
/// assert_eq!(AttemptOutcome::Failed(FailureKind::Dns).to_string(), "dns");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The receiver answered with this status.
    Status(u16),
    /// There was no answer.
    Failed(FailureKind),
}

impl fmt::Display for AttemptOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(status) => write!(f, "{status}"),
            Self::Failed(kind) => write!(f, "{kind}"),
        }
    }
}

/// What follows an attempt.
///
/// ```
/// use titan_webhooks::queue::NextStep;
///
/// assert!(NextStep::Succeeded.is_final());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NextStep {
    /// Delivered; nothing follows.
    Succeeded,
    /// Another attempt at this time.
    RetryAt(SystemTime),
    /// No further attempt: retries used up or the status is never retried.
    GaveUp,
    /// No further attempt, and the endpoint answered `410 Gone`: the
    /// observer is asked to disable the webhook.
    Disabled,
}

impl NextStep {
    /// Whether this was the delivery's last attempt.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use titan_webhooks::queue::NextStep;
    ///
    /// assert!(!NextStep::RetryAt(SystemTime::now()).is_final());
    /// ```
    #[must_use]
    pub fn is_final(&self) -> bool {
        !matches!(self, Self::RetryAt(_))
    }
}

/// One attempt to deliver an envelope to a webhook, as the delivery log
/// keeps it (Eventium's `GET /api/webhooks/deliveries` shows the same).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use titan_webhooks::queue::{AttemptOutcome, DeliveryAttempt, DeliveryKey, NextStep};
///
/// let attempt = DeliveryAttempt {
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
    /// # use titan_webhooks::transport::{AttemptOutcome, DeliveryAttempt, DeliveryKey, NextStep};
    /// let attempt = DeliveryAttempt {
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
