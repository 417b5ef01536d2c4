//! How an attempt ended, and what follows it: the vocabulary shared by the
//! retry rules, the delivery queue and the dispatcher.

use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// Why an attempt got no response status.
///
/// ```
/// use titan_webhooks::retry::FailureKind;
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
    /// Every kind, in declaration order.
    ///
    /// ```
    /// use titan_webhooks::retry::FailureKind;
    ///
    /// assert!(FailureKind::ALL.iter().any(|kind| kind.as_str() == "tls"));
    /// ```
    pub const ALL: [Self; 6] = [
        Self::Dns,
        Self::RefusedByGuard,
        Self::Connect,
        Self::Tls,
        Self::Timeout,
        Self::Body,
    ];

    /// The kind's name, as stored and logged.
    ///
    /// ```
    /// use titan_webhooks::retry::FailureKind;
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
/// use titan_webhooks::retry::{AttemptOutcome, FailureKind};
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
/// use titan_webhooks::retry::NextStep;
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
    /// No further attempt: the retries are used up, the status is one never
    /// retried, the SSRF guard refused the target, or the next attempt
    /// would fall later than a store can keep.
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
    /// use titan_webhooks::retry::NextStep;
    ///
    /// assert!(!NextStep::RetryAt(SystemTime::now()).is_final());
    /// ```
    #[must_use]
    pub fn is_final(&self) -> bool {
        !matches!(self, Self::RetryAt(_))
    }
}
