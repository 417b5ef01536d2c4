//! The sending side's errors: a delivery store's and the dispatcher's.
//!
//! Neither carries a secret or a request body, so both are safe to log and
//! to return to a caller. Every other error type lives beside the code that
//! raises it.

/// A delivery store failed. Backend errors are carried as text, so no
/// database crate's type reaches this API.
///
/// ```
/// use titan_webhooks::StoreError;
///
/// assert_eq!(StoreError::LeaseLost.to_string(), "the lease was lost: another worker holds the delivery");
/// ```
#[cfg(feature = "reqwest")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The claim's lease lapsed and the delivery was claimed again, or it
    /// was already completed.
    #[error("the lease was lost: another worker holds the delivery")]
    LeaseLost,
    /// A time computed from a lease or a delay is out of range.
    #[error("a time is out of range")]
    TimeOutOfRange,
    /// The storage backend failed.
    #[error("the store failed: {message}")]
    Backend {
        /// The backend's description of the failure.
        message: String,
    },
}

/// An envelope could not be dispatched.
///
/// ```
/// use titan_webhooks::DispatchError;
///
/// assert_eq!(DispatchError::InvalidId.to_string(), "the envelope id must be 1 to 256 visible ASCII characters without `.`");
/// ```
#[cfg(feature = "reqwest")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DispatchError {
    /// The envelope's id cannot be signed by every scheme.
    #[error(
        "the envelope id must be 1 to {} visible ASCII characters without `.`",
        crate::MAX_ID_LEN
    )]
    InvalidId,
    /// The envelope does not serialize to JSON.
    #[error("the envelope does not serialize: {reason}")]
    Serialize {
        /// The serializer's message.
        reason: String,
    },
    /// The delivery store failed; nothing was queued.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built: {reason}")]
    Client {
        /// The client's message.
        reason: String,
    },
}
