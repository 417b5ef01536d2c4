//! TitanX's webhook subscription objects (seed 002).

use serde::{Deserialize, Serialize};

use super::HmacKey;
use crate::{Timestamp, TitanXEvent};

/// Whether a TitanX webhook fires.
///
/// ```
/// use titan_webhooks::subscription::TitanXWebhookStatus;
///
/// assert_eq!(serde_json::to_string(&TitanXWebhookStatus::Inactive)?, r#""inactive""#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub enum TitanXWebhookStatus {
    /// Deliveries are sent.
    Active,
    /// Deliveries are not sent.
    Inactive,
}

/// The body of TitanX's `POST /api/public/v2/webhooks`.
///
/// ```
/// use titan_webhooks::subscription::CreateTitanXWebhook;
/// use titan_webhooks::TitanXEvent;
///
/// let request: CreateTitanXWebhook = serde_json::from_str(
///     r#"{"url": "https://your-app.com/webhooks/titanx", "eventTypes": ["job.contact.scored"]}"#,
/// )?;
/// assert_eq!(request.event_types, [TitanXEvent::JobContactScored]);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct CreateTitanXWebhook {
    /// A name for the owner's reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The HTTPS endpoint deliveries go to.
    #[cfg_attr(feature = "server", schema(example = "https://example.com/webhooks"))]
    pub url: String,
    /// The event types to subscribe to.
    #[cfg_attr(feature = "server", schema(value_type = Vec<String>, example = json!(["job.contact.scored"])))]
    pub event_types: Vec<TitanXEvent>,
    /// The initial status; TitanX's default when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TitanXWebhookStatus>,
}

impl CreateTitanXWebhook {
    /// A request for `url` and `event_types`.
    ///
    /// ```
    /// use titan_webhooks::subscription::CreateTitanXWebhook;
    /// use titan_webhooks::TitanXEvent;
    ///
    /// let request = CreateTitanXWebhook::new("https://your-app.com/webhooks/titanx", vec![TitanXEvent::JobCompleted]);
    /// assert_eq!(
    ///     serde_json::to_string(&request)?,
    ///     r#"{"url":"https://your-app.com/webhooks/titanx","eventTypes":["job.completed"]}"#
    /// );
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn new(url: impl Into<String>, event_types: Vec<TitanXEvent>) -> Self {
        Self {
            name: None,
            url: url.into(),
            event_types,
            status: None,
        }
    }
}

/// A TitanX webhook as its API returns it. `secret` is present only in the
/// create response; `Debug` hides it.
///
/// ```
/// use titan_webhooks::subscription::{TitanXWebhook, TitanXWebhookStatus};
///
/// let webhook: TitanXWebhook = serde_json::from_str(r#"{
///     "id": "550e8400-e29b-41d4-a716-446655440000",
///     "url": "https://your-app.com/webhooks/titanx",
///     "eventTypes": ["job.contact.scored"],
///     "status": "active",
///     "secret": "whsec_abc123def456",
///     "createdAt": "2024-01-15T10:30:00Z"
/// }"#)?;
/// assert_eq!(webhook.status, TitanXWebhookStatus::Active);
/// assert!(!format!("{webhook:?}").contains("whsec_abc123def456"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct TitanXWebhook {
    /// The webhook's id, a UUID.
    #[cfg_attr(feature = "server", schema(format = Uuid))]
    pub id: String,
    /// The name given at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The endpoint deliveries go to.
    pub url: String,
    /// The subscribed event types.
    #[cfg_attr(feature = "server", schema(value_type = Vec<String>))]
    pub event_types: Vec<TitanXEvent>,
    /// Whether deliveries are sent.
    pub status: TitanXWebhookStatus,
    /// The signing secret, shown once at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<String>))]
    pub secret: Option<HmacKey>,
    /// When the webhook was created.
    #[cfg_attr(feature = "server", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}
