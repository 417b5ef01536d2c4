//! Delivery envelopes: Titan's and Eventium's.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::clock::random_id;
use crate::events::EventiumData;
use crate::header::is_valid_message_id;
use crate::named::deserialize_named_fields;
use crate::{Catalog, EventiumEvent, PayloadError, Timestamp, TitanEvent};

/// Titan's envelope, exactly as seeds 000 and 001 show it:
/// `{ "id", "event", "session", "timestamp", "payload" }`.
///
/// A sender builds one with [`Envelope::new`], which fills a unique id and
/// the current time; a receiver gets one from
/// [`Verifier::verify_json`](crate::Verifier::verify_json). Fields the
/// envelope does not define are ignored when parsing.
///
/// ```
/// use titan_webhooks::{Envelope, TitanEvent};
///
/// let envelope = Envelope::new(
///     TitanEvent::MessageReceived,
///     "my-session",
///     serde_json::json!({"text": "hi"}),
/// );
/// assert!(envelope.id().starts_with("evt_"));
/// let json = serde_json::to_value(&envelope)?;
/// assert_eq!(json["event"], "message.received");
/// assert_eq!(json["session"], "my-session");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope<P = Value> {
    id: String,
    event: TitanEvent,
    session: String,
    timestamp: Timestamp,
    payload: P,
}

// Errors name the field, whichever deserializer is used.
deserialize_named_fields!(Envelope<P> {
    id: String = "id",
    event: TitanEvent = "event",
    session: String = "session",
    timestamp: Timestamp = "timestamp",
    payload: P = "payload",
});

impl<P> Envelope<P> {
    /// An envelope for `event` from `session`, with a fresh id (`evt_` and
    /// 128 random bits, URL-safe, never a `.`) and the current time.
    ///
    /// ```
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// let a = Envelope::new(TitanEvent::SessionStatus, "default", ());
    /// let b = Envelope::new(TitanEvent::SessionStatus, "default", ());
    /// assert_ne!(a.id(), b.id());
    /// assert_eq!(a.id().len(), "evt_".len() + 22);
    /// ```
    ///
    /// # Panics
    ///
    /// If the operating system's random source fails, which supported
    /// platforms do not do once booted.
    pub fn new(event: TitanEvent, session: impl Into<String>, payload: P) -> Self {
        Self {
            id: random_id("evt_"),
            event,
            session: session.into(),
            timestamp: Timestamp::now(),
            payload,
        }
    }

    /// Replaces the generated id, for example with one from the sender's
    /// own database. The id is the delivery's idempotency key.
    ///
    /// ```
    /// use titan_webhooks::{Envelope, EnvelopeError, TitanEvent};
    ///
    /// let envelope = Envelope::new(TitanEvent::ChatRead, "default", ()).with_id("evt_42")?;
    /// assert_eq!(envelope.id(), "evt_42");
    /// assert_eq!(
    ///     Envelope::new(TitanEvent::ChatRead, "default", ()).with_id("evt.42").unwrap_err(),
    ///     EnvelopeError::InvalidId
    /// );
    /// # Ok::<(), EnvelopeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`EnvelopeError::InvalidId`] unless `id` is 1 to
    /// [`MAX_ID_LEN`](crate::MAX_ID_LEN) visible ASCII characters without
    /// `.`, so it can be signed by every scheme.
    pub fn with_id(mut self, id: impl Into<String>) -> Result<Self, EnvelopeError> {
        let id = id.into();
        if !is_valid_message_id(id.as_bytes()) {
            return Err(EnvelopeError::InvalidId);
        }
        self.id = id;
        Ok(self)
    }

    /// Replaces the time of the event.
    ///
    /// ```
    /// use titan_webhooks::{Envelope, TitanEvent, Timestamp};
    ///
    /// let at: Timestamp = "2025-01-15T10:30:00Z".parse()?;
    /// let envelope = Envelope::new(TitanEvent::ChatRead, "default", ()).with_timestamp(at);
    /// assert_eq!(envelope.timestamp().to_string(), "2025-01-15T10:30:00Z");
    /// # Ok::<(), titan_webhooks::TimestampError>(())
    /// ```
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: Timestamp) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// The delivery's unique id, its idempotency key.
    ///
    /// ```
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// assert!(Envelope::new(TitanEvent::ChatRead, "s", ()).id().starts_with("evt_"));
    /// ```
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The event type.
    ///
    /// ```
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// let envelope = Envelope::new(TitanEvent::CallMissed, "s", ());
    /// assert_eq!(envelope.event(), &TitanEvent::CallMissed);
    /// ```
    #[must_use]
    pub fn event(&self) -> &TitanEvent {
        &self.event
    }

    /// The name of the session that produced the event.
    ///
    /// ```
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// assert_eq!(Envelope::new(TitanEvent::CallMissed, "sales", ()).session(), "sales");
    /// ```
    #[must_use]
    pub fn session(&self) -> &str {
        &self.session
    }

    /// When the event occurred.
    ///
    /// ```
    /// use titan_webhooks::{Envelope, TitanEvent, Timestamp};
    ///
    /// let envelope = Envelope::new(TitanEvent::CallMissed, "s", ());
    /// assert!(envelope.timestamp() <= &Timestamp::now());
    /// ```
    #[must_use]
    pub fn timestamp(&self) -> &Timestamp {
        &self.timestamp
    }

    /// The event-specific data.
    ///
    /// ```
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// let envelope = Envelope::new(TitanEvent::CallMissed, "s", 42);
    /// assert_eq!(*envelope.payload(), 42);
    /// ```
    #[must_use]
    pub fn payload(&self) -> &P {
        &self.payload
    }

    /// Takes the event-specific data out.
    ///
    /// ```
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// assert_eq!(Envelope::new(TitanEvent::CallMissed, "s", vec![1, 2]).into_payload(), [1, 2]);
    /// ```
    #[must_use]
    pub fn into_payload(self) -> P {
        self.payload
    }
}

impl Envelope<Value> {
    /// Deserializes the payload into `T`, keeping the envelope whatever the
    /// outcome: a payload that does not fit loses nothing.
    ///
    /// ```
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Text { text: String }
    ///
    /// let envelope = Envelope::new(TitanEvent::MessageReceived, "s", serde_json::json!({"text": "hi"}));
    /// assert_eq!(envelope.payload_as::<Text>()?.text, "hi");
    ///
    /// let odd = Envelope::new(TitanEvent::MessageReceived, "s", serde_json::json!({"text": 5}));
    /// assert_eq!(odd.payload_as::<Text>().unwrap_err().path(), "text");
    /// assert_eq!(odd.payload()["text"], 5);
    /// # Ok::<(), titan_webhooks::PayloadError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`PayloadError`] naming the field that does not fit `T`.
    pub fn payload_as<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        PayloadError::from_value(&self.payload)
    }
}

/// Eventium's envelope, exactly as seed 003 shows it:
/// `{ "id", "type", "created_at", "data" }`. Only `data` varies by type.
///
/// ```
/// use titan_webhooks::{EventiumEnvelope, EventiumEvent};
///
/// let envelope: EventiumEnvelope = serde_json::from_str(r#"{
///     "id": "0c3b1d5b-1d66-4a16-b2b5-7aa3c2c9b5ab",
///     "type": "agent.deployment.created",
///     "created_at": "2026-05-26T09:14:02Z",
///     "data": {"agent": "support-bot"}
/// }"#)?;
/// assert_eq!(envelope.event(), &EventiumEvent::AgentDeploymentCreated);
/// assert_eq!(envelope.data()["agent"], "support-bot");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventiumEnvelope<D = Value> {
    id: String,
    #[serde(rename = "type")]
    event: EventiumEvent,
    created_at: Timestamp,
    data: D,
}

deserialize_named_fields!(EventiumEnvelope<D> {
    id: String = "id",
    event: EventiumEvent = "type",
    created_at: Timestamp = "created_at",
    data: D = "data",
});

impl<D> EventiumEnvelope<D> {
    /// An envelope for `event` with a fresh UUID v4 id, as Eventium's ids
    /// are, and the current time.
    ///
    /// ```
    /// use titan_webhooks::{EventiumEnvelope, EventiumEvent};
    ///
    /// let envelope = EventiumEnvelope::new(EventiumEvent::WebhookTest, serde_json::json!({"hello": "world"}));
    /// assert_eq!(envelope.id().len(), 36);
    /// assert_eq!(serde_json::to_value(&envelope)?["type"], "webhook.test");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn new(event: EventiumEvent, data: D) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            event,
            created_at: Timestamp::now(),
            data,
        }
    }

    /// The delivery's id; Eventium asks receivers to use it as their
    /// idempotency key.
    ///
    /// ```
    /// use titan_webhooks::{EventiumEnvelope, EventiumEvent};
    ///
    /// let envelope = EventiumEnvelope::new(EventiumEvent::WebhookTest, ());
    /// assert_eq!(envelope.id().matches('-').count(), 4);
    /// ```
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The event type, sent as `type`.
    ///
    /// ```
    /// use titan_webhooks::{EventiumEnvelope, EventiumEvent};
    ///
    /// let envelope = EventiumEnvelope::new(EventiumEvent::BillingPlanChanged, ());
    /// assert_eq!(envelope.event().as_str(), "billing.plan.changed");
    /// ```
    #[must_use]
    pub fn event(&self) -> &EventiumEvent {
        &self.event
    }

    /// When the event was created.
    ///
    /// ```
    /// use titan_webhooks::{EventiumEnvelope, EventiumEvent, Timestamp};
    ///
    /// let envelope = EventiumEnvelope::new(EventiumEvent::BillingPlanChanged, ());
    /// assert!(envelope.created_at() <= &Timestamp::now());
    /// ```
    #[must_use]
    pub fn created_at(&self) -> &Timestamp {
        &self.created_at
    }

    /// The event-specific data.
    ///
    /// ```
    /// use titan_webhooks::{EventiumEnvelope, EventiumEvent};
    ///
    /// assert_eq!(*EventiumEnvelope::new(EventiumEvent::WebhookTest, 7).data(), 7);
    /// ```
    #[must_use]
    pub fn data(&self) -> &D {
        &self.data
    }

    /// Takes the event-specific data out.
    ///
    /// ```
    /// use titan_webhooks::{EventiumEnvelope, EventiumEvent};
    ///
    /// assert_eq!(EventiumEnvelope::new(EventiumEvent::WebhookTest, "x").into_data(), "x");
    /// ```
    #[must_use]
    pub fn into_data(self) -> D {
        self.data
    }
}

impl EventiumEnvelope<Value> {
    /// The data typed by the event, where the catalog knows the shape; see
    /// [`EventiumData`].
    ///
    /// ```
    /// use titan_webhooks::{EventiumData, EventiumEnvelope, EventiumEvent};
    ///
    /// let data = serde_json::json!({"scope": "daily", "threshold": 80, "limit": 10000, "count": 8123, "plan": "builder"});
    /// let envelope = EventiumEnvelope::new(EventiumEvent::QuotaThresholdReached, data);
    /// let EventiumData::QuotaThresholdReached(quota) = envelope.typed_data() else {
    ///     panic!("the seed's example fits the type");
    /// };
    /// assert_eq!(quota.threshold, 80);
    /// ```
    #[must_use]
    pub fn typed_data(&self) -> EventiumData<'_> {
        EventiumData::parse(&self.event, &self.data)
    }
}

/// What the sender needs of an envelope to route and queue it: its id, its
/// event type, the catalog it belongs to, and an optional session. The
/// body is the envelope serialized as JSON.
///
/// Implemented for Titan's [`Envelope`] and Eventium's
/// [`EventiumEnvelope`]. Implement it for an application's own envelope to
/// send its own catalog.
///
/// ```
/// use serde::Serialize;
/// use titan_webhooks::{Catalog, Deliverable};
///
/// #[derive(Serialize)]
/// struct OrderEvent {
///     id: String,
///     kind: String,
///     order: u64,
/// }
///
/// impl Deliverable for OrderEvent {
///     fn id(&self) -> &str {
///         &self.id
///     }
///     fn event_type(&self) -> &str {
///         &self.kind
///     }
///     fn catalog(&self) -> Catalog {
///         Catalog::open("orders")
///     }
/// }
///
/// let event = OrderEvent { id: "ord_1".into(), kind: "order.shipped".into(), order: 7 };
/// assert_eq!(event.catalog().name(), "orders");
/// assert_eq!(event.session(), None);
/// ```
pub trait Deliverable: Serialize {
    /// The envelope's id: the delivery's idempotency key, sent in the
    /// scheme's id header where it has one.
    fn id(&self) -> &str;

    /// The event type, as the dotted string.
    fn event_type(&self) -> &str;

    /// The catalog the event type belongs to.
    fn catalog(&self) -> Catalog;

    /// The session the event came from, for catalogs that have sessions.
    /// Defaults to `None`.
    fn session(&self) -> Option<&str> {
        None
    }
}

impl<P: Serialize> Deliverable for Envelope<P> {
    fn id(&self) -> &str {
        &self.id
    }

    fn event_type(&self) -> &str {
        self.event.as_str()
    }

    fn catalog(&self) -> Catalog {
        Catalog::titan()
    }

    fn session(&self) -> Option<&str> {
        Some(&self.session)
    }
}

impl<D: Serialize> Deliverable for EventiumEnvelope<D> {
    fn id(&self) -> &str {
        &self.id
    }

    fn event_type(&self) -> &str {
        self.event.as_str()
    }

    fn catalog(&self) -> Catalog {
        Catalog::eventium()
    }
}

/// An envelope could not be built as asked.
///
/// ```
/// use titan_webhooks::{Envelope, EnvelopeError, TitanEvent};
///
/// let err = Envelope::new(TitanEvent::ChatRead, "s", ()).with_id("").unwrap_err();
/// assert_eq!(err, EnvelopeError::InvalidId);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The id is empty, longer than [`MAX_ID_LEN`](crate::MAX_ID_LEN)
    /// bytes, or has a byte outside visible ASCII or a `.`.
    #[error(
        "an envelope id must be 1 to {} visible ASCII characters without `.`",
        crate::MAX_ID_LEN
    )]
    InvalidId,
    /// The payload does not serialize to JSON.
    #[error("the envelope does not serialize: {reason}")]
    Serialize {
        /// The serializer's message.
        reason: String,
    },
}
