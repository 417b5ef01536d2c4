//! The management API's answer wrappers: Titan's `{"data": …}`, its
//! delete confirmation, and the error body every flavour answers with.

use serde::{Deserialize, Serialize};

/// Titan's wrapper around every answer: `{"data": …}`.
///
/// ```
/// use titan_webhooks::subscription::Data;
///
/// let answer: Data<Vec<u64>> = serde_json::from_str(r#"{"data":[1,2]}"#)?;
/// assert_eq!(answer.data, [1, 2]);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Data<T> {
    /// The answer itself.
    pub data: T,
}

/// Titan's answer to a delete, inside [`Data`]:
/// `{"success": true, "message": "webhook deleted"}`.
///
/// ```
/// use titan_webhooks::subscription::DeleteResult;
///
/// assert_eq!(
///     serde_json::to_string(&DeleteResult::deleted())?,
///     r#"{"success":true,"message":"webhook deleted"}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct DeleteResult {
    /// Whether the webhook was deleted.
    pub success: bool,
    /// What happened, for people.
    pub message: String,
}

impl DeleteResult {
    /// The answer seed 001 gives to a successful delete.
    #[must_use]
    pub fn deleted() -> Self {
        Self {
            success: true,
            message: "webhook deleted".to_owned(),
        }
    }
}

/// The body of every error answer of the management API, in each flavour:
/// `{"error": {"code", "message", "field"}}`.
///
/// `code` is stable and meant for programs; `message` is for people and may
/// change. Neither ever carries a secret, a header value or the request
/// body. The server writes it and the client reads it: one definition for
/// both.
///
/// ```
/// use titan_webhooks::subscription::ErrorBody;
///
/// let body: ErrorBody = serde_json::from_str(
///     r#"{"error":{"code":"validation_failed","message":"`url`: not https","field":"url"}}"#,
/// )?;
/// assert_eq!(body.error.field.as_deref(), Some("url"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

impl ErrorBody {
    /// An error body with a stable `code`, a `message` for people and,
    /// for validation errors, the request `field` at fault.
    ///
    /// ```
    /// use titan_webhooks::subscription::ErrorBody;
    ///
    /// let body = ErrorBody::new("not_found", "no such resource", None);
    /// assert_eq!(
    ///     serde_json::to_string(&body)?,
    ///     r#"{"error":{"code":"not_found","message":"no such resource"}}"#
    /// );
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn new(code: impl Into<String>, message: impl Into<String>, field: Option<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
                field,
            },
        }
    }
}

/// What went wrong, inside [`ErrorBody`].
///
/// ```
/// use titan_webhooks::subscription::ErrorBody;
///
/// let body = ErrorBody::new("validation_failed", "`url`: not https", Some("url".into()));
/// assert_eq!(body.error.code, "validation_failed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct ErrorDetail {
    /// A stable code: `unauthenticated`, `forbidden`, `not_found`,
    /// `conflict`, `invalid_id`, `invalid_query`, `malformed_json`,
    /// `invalid_utf8`, `validation_failed`, `payload_too_large`,
    /// `unsupported_media_type`, `delivery_open` or `internal`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// The request field at fault, for validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}
