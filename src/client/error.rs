//! The client's one error type.

use std::time::Duration;

use http::StatusCode;

use crate::subscription::ErrorBody;

/// Any error of a dependency, kept as a source without naming its type.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a management API call failed.
///
/// The variants say who is at fault: the server answered with an error
/// ([`Api`](Self::Api), or [`Status`](Self::Status) when the answer is not
/// the API's error JSON), its answer is not what the API documents
/// ([`InvalidBody`](Self::InvalidBody), [`TooLarge`](Self::TooLarge)), or
/// there was no complete answer ([`Timeout`](Self::Timeout),
/// [`Connect`](Self::Connect), [`Interrupted`](Self::Interrupted),
/// [`Request`](Self::Request)). [`Config`](Self::Config) comes from
/// [`ClientBuilder::build`](super::ClientBuilder::build).
///
/// No variant holds the bearer token, a request body or a dependency's
/// error type; the network's own errors are kept as
/// [`source`](std::error::Error::source), without the URL.
///
/// ```
/// use titan_webhooks::client::ClientError;
/// use titan_webhooks::http::StatusCode;
/// use titan_webhooks::subscription::ErrorBody;
///
/// let body = ErrorBody::new("validation_failed", "`url`: must be https", Some("url".into()));
/// let err = ClientError::from_error_body(StatusCode::UNPROCESSABLE_ENTITY, body, None);
/// assert_eq!(err.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
/// assert_eq!((err.code(), err.field()), (Some("validation_failed"), Some("url")));
/// assert_eq!(err.to_string(), "422 validation_failed: `url`: must be https (field `url`)");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with an error status and the API's error body,
    /// `{"error": {"code", "message", "field"}}`.
    #[error("{} {code}: {message}{}", .status.as_u16(), field_note(.field.as_deref()))]
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// The server's stable code, for example `not_found` or
        /// `validation_failed`.
        code: String,
        /// The server's sentence for people.
        message: String,
        /// The request field at fault, for validation errors.
        field: Option<String>,
        /// How long the server asked to wait (`Retry-After`), on `429` and
        /// `503`.
        retry_after: Option<Duration>,
    },
    /// The server answered with an error status, or a redirect, and a body
    /// that is not the API's error JSON: an HTML page from a proxy, text, or
    /// nothing.
    #[error("the server answered {} without the API's error body{}", status_line(*.status), type_note(.content_type.as_deref()))]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The answer's `Content-Type`, if it had one.
        content_type: Option<String>,
        /// How long the server asked to wait (`Retry-After`), on `429` and
        /// `503`.
        retry_after: Option<Duration>,
    },
    /// The server answered with success, but the body is not the JSON the
    /// API documents for this call: not JSON at all (for example HTML),
    /// cut short, or of another shape.
    #[error("the server answered {} with a body that is not the documented JSON: {detail}", status_line(*.status))]
    InvalidBody {
        /// The HTTP status.
        status: StatusCode,
        /// What is wrong, naming the JSON path of the field at fault; it
        /// never quotes a value from the body.
        detail: String,
    },
    /// The answer's body is larger than
    /// [`ClientBuilder::max_response_bytes`](super::ClientBuilder::max_response_bytes).
    #[error("the server's answer is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// No complete answer arrived within the timeout.
    #[error("no complete answer from the server within {after:?}")]
    Timeout {
        /// The timeout that ran out: the connect timeout while connecting,
        /// the request timeout after.
        after: Duration,
    },
    /// The connection could not be made: the name did not resolve, the
    /// port refused, or TLS failed.
    #[error("could not connect to the server")]
    Connect {
        /// The network's error.
        #[source]
        source: BoxError,
    },
    /// The connection broke off before the whole answer arrived.
    #[error("the connection broke off before the whole answer arrived")]
    Interrupted {
        /// The network's error.
        #[source]
        source: BoxError,
    },
    /// The request failed in another way.
    #[error("the request failed")]
    Request {
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The client's configuration is not usable: a base URL that is not
    /// `http(s)`, one with credentials, or a token that cannot be a header.
    #[error("invalid client configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
}

impl ClientError {
    /// The error for an answer with `status` and the API's error body.
    ///
    /// ```
    /// use titan_webhooks::client::ClientError;
    /// use titan_webhooks::http::StatusCode;
    /// use titan_webhooks::subscription::ErrorBody;
    ///
    /// let err = ClientError::from_error_body(
    ///     StatusCode::NOT_FOUND,
    ///     ErrorBody::new("not_found", "no such resource", None),
    ///     None,
    /// );
    /// assert_eq!(err.code(), Some("not_found"));
    /// ```
    #[must_use]
    pub fn from_error_body(
        status: StatusCode,
        body: ErrorBody,
        retry_after: Option<Duration>,
    ) -> Self {
        let detail = body.error;
        Self::Api {
            status,
            code: detail.code,
            message: detail.message,
            field: detail.field,
            retry_after,
        }
    }

    /// The HTTP status, when the server answered.
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::client::ClientError;
    ///
    /// assert_eq!(ClientError::Timeout { after: Duration::from_secs(30) }.status(), None);
    /// ```
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api { status, .. }
            | Self::Status { status, .. }
            | Self::InvalidBody { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's stable error code, for [`ClientError::Api`].
    ///
    /// ```
    /// use titan_webhooks::client::ClientError;
    /// use titan_webhooks::http::StatusCode;
    ///
    /// let err = ClientError::Status { status: StatusCode::BAD_GATEWAY, content_type: None, retry_after: None };
    /// assert_eq!(err.code(), None);
    /// ```
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The request field the server named as at fault, for
    /// [`ClientError::Api`].
    ///
    /// ```
    /// use titan_webhooks::client::ClientError;
    /// use titan_webhooks::http::StatusCode;
    /// use titan_webhooks::subscription::ErrorBody;
    ///
    /// let body = ErrorBody::new("validation_failed", "too many headers", Some("headers".into()));
    /// let err = ClientError::from_error_body(StatusCode::UNPROCESSABLE_ENTITY, body, None);
    /// assert_eq!(err.field(), Some("headers"));
    /// ```
    #[must_use]
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Api { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// How long the server asked to wait before trying again
    /// (`Retry-After` on a `429` or `503`), when the client did not retry:
    /// the request is not idempotent, the retries ran out, or the wait is
    /// longer than
    /// [`ClientBuilder::max_retry_after`](super::ClientBuilder::max_retry_after).
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::client::ClientError;
    /// use titan_webhooks::http::StatusCode;
    ///
    /// let err = ClientError::Status {
    ///     status: StatusCode::TOO_MANY_REQUESTS,
    ///     content_type: None,
    ///     retry_after: Some(Duration::from_secs(120)),
    /// };
    /// assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    /// ```
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api { retry_after, .. } | Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the error is a timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::client::ClientError;
    ///
    /// assert!(ClientError::Timeout { after: Duration::from_secs(1) }.is_timeout());
    /// ```
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }

    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Self::Config {
            reason: reason.into(),
        }
    }
}

/// `404 Not Found`, or the number alone for a status without a name.
fn status_line(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

fn field_note(field: Option<&str>) -> String {
    field.map_or_else(String::new, |field| format!(" (field `{field}`)"))
}

fn type_note(content_type: Option<&str>) -> String {
    content_type.map_or_else(String::new, |kind| format!(" (content type `{kind}`)"))
}
