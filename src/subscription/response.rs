//! Titan's answer wrappers: `{"data": …}` and the delete confirmation.

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
