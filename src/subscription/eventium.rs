//! Eventium's endpoint and delivery objects (seed 003), in snake_case as
//! Eventium's payloads are.

use serde::{Deserialize, Deserializer, Serialize};

use super::{CustomHeader, HmacKey};
use crate::Timestamp;
use crate::retry::RetryPolicy;

/// The body of `POST /api/webhooks/endpoints`. Only `url` is required;
/// omitted, empty or `["*"]` `events` means every event.
///
/// ```
/// use titan_webhooks::subscription::CreateEndpoint;
///
/// let request: CreateEndpoint = serde_json::from_str(r#"{
///     "url": "https://example.com/eventium/webhooks",
///     "events": ["quota.threshold.reached", "agent.deployment.updated"]
/// }"#)?;
/// assert_eq!(request.events.as_deref().map(<[String]>::len), Some(2));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct CreateEndpoint {
    /// The HTTPS URL deliveries go to.
    #[cfg_attr(feature = "server", schema(example = "https://example.com/webhooks"))]
    pub url: String,
    /// Event types to subscribe to; `None`, `[]` or `["*"]` for every event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// A description for the owner's reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether deliveries are sent from the start. Defaults to `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Headers sent with every delivery, at most 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<CustomHeader>>,
    /// How failed deliveries are retried; the sender's default when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<RetryPolicy>,
}

impl CreateEndpoint {
    /// A request for `url`, every event and the defaults.
    ///
    /// ```
    /// use titan_webhooks::subscription::CreateEndpoint;
    ///
    /// let request = CreateEndpoint::new("https://example.com/hook");
    /// assert_eq!(serde_json::to_string(&request)?, r#"{"url":"https://example.com/hook"}"#);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            events: None,
            description: None,
            enabled: None,
            headers: None,
            retries: None,
        }
    }
}

/// The body of `PATCH /api/webhooks/endpoints/{id}`: only the fields
/// present change. `headers` replaces the list; `null` clears
/// `description` and `retries`.
///
/// ```
/// use titan_webhooks::subscription::UpdateEndpoint;
///
/// let change: UpdateEndpoint = serde_json::from_str(r#"{"enabled": false, "description": null}"#)?;
/// assert_eq!((change.enabled, change.description), (Some(false), Some(None)));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct UpdateEndpoint {
    /// A new URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A new list of event types; `[]` or `["*"]` for every event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// A new description; `Some(None)` removes it.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<Option<String>>,
    /// Enables or disables the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// A replacement for the whole list of custom headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<CustomHeader>>,
    /// A new retry policy; `Some(None)` for the sender's default.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub retries: Option<Option<RetryPolicy>>,
}

fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::deserialize(deserializer).map(Some)
}

/// An endpoint as Eventium's API shows it. It never holds the secret.
///
/// ```
/// use titan_webhooks::subscription::Endpoint;
///
/// let endpoint: Endpoint = serde_json::from_str(r#"{
///     "id": 7, "url": "https://example.com/hook", "events": [], "enabled": false,
///     "disabled_reason": "gone", "created_at": "2026-05-26T09:14:02Z"
/// }"#)?;
/// assert_eq!(endpoint.disabled_reason.as_deref(), Some("gone"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Endpoint {
    /// The endpoint's id.
    pub id: u64,
    /// Where deliveries go.
    pub url: String,
    /// The subscribed event types; empty means every event.
    pub events: Vec<String>,
    /// The owner's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether deliveries are sent.
    pub enabled: bool,
    /// Why the endpoint is disabled: `manual`, `gone`, `failing` or
    /// `exhausted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// When it was disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<String>, format = DateTime))]
    pub disabled_at: Option<Timestamp>,
    /// Headers sent with every delivery.
    #[serde(default)]
    pub headers: Vec<CustomHeader>,
    /// How failed deliveries are retried; the sender's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<RetryPolicy>,
    /// While a rotated-out secret still signs too: until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<String>, format = DateTime))]
    pub previous_secret_expires_at: Option<Timestamp>,
    /// When the endpoint was created.
    #[cfg_attr(feature = "server", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

/// The answer to a create: the endpoint and its secret, shown only here.
/// `Debug` hides the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct CreatedEndpoint {
    /// The new endpoint.
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// The signing secret. It is not stored in the clear and cannot be
    /// shown again.
    #[cfg_attr(feature = "server", schema(value_type = String))]
    pub secret: HmacKey,
}

/// The body of `POST /api/webhooks/endpoints/{id}/rotate-secret`.
///
/// ```
/// use titan_webhooks::subscription::RotateSecret;
///
/// let request: RotateSecret = serde_json::from_str(r#"{"grace_period_seconds": 3600}"#)?;
/// assert_eq!(request.grace_period_seconds, Some(3600));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct RotateSecret {
    /// How long the old secret keeps signing too, in seconds; the server's
    /// default when absent, `0` to stop at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(minimum = 0, maximum = 2_592_000))]
    pub grace_period_seconds: Option<u64>,
}

/// The answer to a rotation: the new secret, shown only here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct RotatedEndpointSecret {
    /// The endpoint.
    pub id: u64,
    /// The new signing secret.
    #[cfg_attr(feature = "server", schema(value_type = String))]
    pub secret: HmacKey,
    /// Until when deliveries also carry a signature with the old secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<String>, format = DateTime))]
    pub previous_secret_expires_at: Option<Timestamp>,
}

/// A delivery as `GET /api/webhooks/deliveries` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct DeliveryView {
    /// The delivery's id, increasing with every delivery queued.
    pub id: u64,
    /// The endpoint it goes to.
    pub endpoint_id: u64,
    /// The envelope's id, the receiver's idempotency key.
    pub event_id: String,
    /// The envelope's event type.
    pub event_type: String,
    /// `pending`, `in_flight`, `retry`, `succeeded`, `exhausted` or
    /// `cancelled`.
    pub status: String,
    /// Attempts made since it was queued or last redelivered.
    pub attempts: u32,
    /// The HTTP status of the last attempt, if it got one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status_code: Option<u16>,
    /// Why the last attempt failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the next attempt is due, while one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<String>, format = DateTime))]
    pub next_retry_at: Option<Timestamp>,
    /// When it was queued.
    #[cfg_attr(feature = "server", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// When its status last changed.
    #[cfg_attr(feature = "server", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

/// One page of a listing, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Page<T> {
    /// The items.
    pub data: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page of `data`, followed by `next_cursor` if there is more.
    pub fn new(data: Vec<T>, next_cursor: Option<String>) -> Self {
        Self { data, next_cursor }
    }
}

/// The answer to `POST /api/webhooks/test`: what was queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct TestQueued {
    /// The test envelope's id.
    pub event_id: String,
    /// The endpoints it was queued for.
    pub endpoint_ids: Vec<u64>,
}

/// One entry of `GET /api/webhooks/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct EventTypeInfo {
    /// The event type, for example `quota.threshold.reached`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Its group in the catalog, for example `quota`.
    pub category: String,
}

/// The answer to a redelivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Redelivered {
    /// The delivery, queued again.
    pub id: u64,
    /// Its status now: `pending`.
    pub status: String,
}
