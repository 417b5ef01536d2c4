//! Eventium's event catalog and typed payloads (seed 003).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{event_catalog, event_category};
use crate::PayloadError;

event_category! {
    /// The groups of Eventium's event catalog.
    pub enum EventiumCategory {
        /// Billing plan changes.
        Billing = "billing",
        /// Quota thresholds and request rejections.
        Quota = "quota",
        /// Agent deployment updates.
        Deployment = "deployments",
        /// Webhook endpoint lifecycle signals.
        WebhookLifecycle = "webhook lifecycle",
        /// Test events sent from the console or `POST /api/webhooks/test`.
        Testing = "testing",
    }
}

event_catalog! {
    /// Eventium's event types, plus any type Eventium adds later as
    /// [`EventiumEvent::Unknown`].
    ///
    /// ```
    /// use titan_webhooks::{EventiumCategory, EventiumEvent};
    ///
    /// let event: EventiumEvent = "agent.deployment.updated".parse().unwrap();
    /// assert_eq!(event, EventiumEvent::AgentDeploymentUpdated);
    /// assert_eq!(event.category(), Some(EventiumCategory::Deployment));
    /// assert_eq!(EventiumEvent::ALL.len(), 10);
    /// ```
    pub enum EventiumEvent in EventiumCategory {
        BillingPlanChanged = "billing.plan.changed" => Billing,
        QuotaThresholdReached = "quota.threshold.reached" => Quota,
        QuotaRequestRejected = "quota.request.rejected" => Quota,
        AgentDeploymentCreated = "agent.deployment.created" => Deployment,
        AgentDeploymentUpdated = "agent.deployment.updated" => Deployment,
        AgentDeploymentDeleted = "agent.deployment.deleted" => Deployment,
        WebhookEndpointCreated = "webhook.endpoint.created" => WebhookLifecycle,
        WebhookEndpointUpdated = "webhook.endpoint.updated" => WebhookLifecycle,
        WebhookEndpointDeleted = "webhook.endpoint.deleted" => WebhookLifecycle,
        WebhookTest = "webhook.test" => Testing,
    }
}

/// The `data` of `quota.threshold.reached`, as Eventium's payload contract
/// shows it.
///
/// ```
/// use titan_webhooks::QuotaThresholdReached;
///
/// let data: QuotaThresholdReached = serde_json::from_str(
///     r#"{"scope":"daily","threshold":80,"limit":10000,"count":8123,"plan":"builder"}"#,
/// )?;
/// assert_eq!((data.count, data.limit), (8123, 10000));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct QuotaThresholdReached {
    /// The quota's period, for example `daily`.
    pub scope: String,
    /// The threshold crossed, in percent of the limit.
    pub threshold: u64,
    /// The quota's limit.
    pub limit: u64,
    /// The usage when the threshold was crossed.
    pub count: u64,
    /// The account's plan, for example `builder`.
    pub plan: String,
}

crate::named::deserialize_named_fields!(QuotaThresholdReached {
    scope: String = "scope",
    threshold: u64 = "threshold",
    limit: u64 = "limit",
    count: u64 = "count",
    plan: String = "plan",
});

/// The `data` of an Eventium delivery, typed where the catalog knows its
/// shape.
///
/// A known event whose data does not fit its type is not lost: it comes back
/// as [`EventiumData::Invalid`] with the raw JSON and the reason.
///
/// ```
/// use titan_webhooks::{EventiumData, EventiumEnvelope};
///
/// let envelope: EventiumEnvelope = serde_json::from_str(r#"{
///     "id": "0c3b1d5b-1d66-4a16-b2b5-7aa3c2c9b5ab",
///     "type": "quota.threshold.reached",
///     "created_at": "2026-05-26T09:14:02Z",
///     "data": {"scope": "daily", "threshold": "eighty", "limit": 10000, "count": 8123, "plan": "builder"}
/// }"#)?;
/// match envelope.typed_data() {
///     EventiumData::Invalid { raw, error } => {
///         assert_eq!(raw["count"], 8123);
///         assert_eq!(error.path(), "threshold");
///     }
///     other => panic!("expected Invalid, got {other:?}"),
/// }
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventiumData<'a> {
    /// `quota.threshold.reached`.
    QuotaThresholdReached(QuotaThresholdReached),
    /// An event without a typed payload in the catalog, or an unknown one.
    Untyped(&'a Value),
    /// A known event whose data does not fit its type.
    Invalid {
        /// The data as received.
        raw: &'a Value,
        /// Why it does not fit, naming the field.
        error: PayloadError,
    },
}

impl<'a> EventiumData<'a> {
    /// Types `data` according to `event`.
    ///
    /// ```
    /// use titan_webhooks::{EventiumData, EventiumEvent};
    ///
    /// let data = serde_json::json!({"hello": "world"});
    /// assert_eq!(EventiumData::parse(&EventiumEvent::WebhookTest, &data), EventiumData::Untyped(&data));
    /// ```
    #[must_use]
    pub fn parse(event: &EventiumEvent, data: &'a Value) -> Self {
        match event {
            EventiumEvent::QuotaThresholdReached => match PayloadError::from_value(data) {
                Ok(typed) => Self::QuotaThresholdReached(typed),
                Err(error) => Self::Invalid { raw: data, error },
            },
            _ => Self::Untyped(data),
        }
    }
}

/// The body of Eventium's `POST /api/webhooks/test`, which asks Eventium to
/// send a test delivery: `{ "event_type", "data" }`.
///
/// ```
/// use titan_webhooks::{EventiumEvent, EventiumTestRequest};
///
/// let request = EventiumTestRequest::new(EventiumEvent::WebhookTest, serde_json::json!({"hello": "world"}));
/// assert_eq!(
///     serde_json::to_string(&request)?,
///     r#"{"event_type":"webhook.test","data":{"hello":"world"}}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct EventiumTestRequest<D = Value> {
    /// The event type of the test delivery, usually `webhook.test`.
    #[cfg_attr(feature = "server", schema(value_type = String, example = "webhook.test"))]
    pub event_type: EventiumEvent,
    /// The data the test delivery carries.
    #[cfg_attr(feature = "server", schema(value_type = Object))]
    pub data: D,
    /// The one endpoint to send it to; every enabled endpoint when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(minimum = 1))]
    pub endpoint_id: Option<u64>,
}

impl<D> EventiumTestRequest<D> {
    /// A request for a test delivery of `event_type` carrying `data`.
    ///
    /// ```
    /// use titan_webhooks::{EventiumEvent, EventiumTestRequest};
    ///
    /// let request = EventiumTestRequest::new(EventiumEvent::WebhookTest, ());
    /// assert_eq!(request.event_type, EventiumEvent::WebhookTest);
    /// ```
    pub fn new(event_type: EventiumEvent, data: D) -> Self {
        Self {
            event_type,
            data,
            endpoint_id: None,
        }
    }
}
