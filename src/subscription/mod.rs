//! The sender's model of a subscription, after Titan's webhook object
//! (seeds 000 and 001), and the rules that validate it.
//!
//! [`Webhook`] is the object as listed and fetched: it never holds the
//! signing key. [`CreateWebhook`] and [`UpdateWebhook`] are the requests;
//! [`WebhookRules`] validates them, and only [`CreatedWebhook`], the create
//! response, shows the key.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::retry::RetryPolicy;
use crate::{Catalog, Deliverable, EventFilter, Timestamp};

mod create;
mod eventium;
mod headers;
mod response;
mod rules;
mod titanx;
mod update;

pub use create::{CreateWebhook, CreatedWebhook, HmacKey};
pub use eventium::{
    CreateEndpoint, CreatedEndpoint, DeliveryView, Endpoint, EventTypeInfo, Page, Redelivered,
    RotateSecret, RotatedEndpointSecret, TestQueued, UpdateEndpoint,
};
pub use headers::{CustomHeader, MAX_CUSTOM_HEADERS, MAX_HEADER_VALUE_LEN, MAX_HEADERS_LEN};
pub(crate) use headers::{headers_len, reserved_reason};
pub use response::{Data, DeleteResult, ErrorBody, ErrorDetail};
pub use rules::{MAX_LABEL_LEN, ValidationError, WebhookRules};
pub use titanx::{CreateTitanXWebhook, TitanXWebhook, TitanXWebhookStatus};
pub use update::{UpdateWebhook, UpdatedWebhook};

/// A webhook's identifier: Titan's are integers; other stores use strings.
/// Either form round-trips through JSON unchanged.
///
/// ```
/// use titan_webhooks::subscription::WebhookId;
///
/// assert_eq!(serde_json::to_string(&WebhookId::from(42))?, "42");
/// assert_eq!(serde_json::from_str::<WebhookId>(r#""wh_1""#)?, WebhookId::from("wh_1"));
/// assert_eq!(WebhookId::from(42).to_string(), "42");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub enum WebhookId {
    /// An integer id, as Titan's.
    Number(u64),
    /// A string id, such as a UUID.
    Text(String),
}

impl From<u64> for WebhookId {
    fn from(id: u64) -> Self {
        Self::Number(id)
    }
}

impl From<&str> for WebhookId {
    fn from(id: &str) -> Self {
        Self::Text(id.to_owned())
    }
}

impl From<String> for WebhookId {
    fn from(id: String) -> Self {
        Self::Text(id)
    }
}

impl fmt::Display for WebhookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(id) => write!(f, "{id}"),
            Self::Text(id) => f.write_str(id),
        }
    }
}

/// A webhook subscription as Titan lists and returns it:
/// `{ id, url, events, session, enabled, headers, retries, label, createdAt }`.
///
/// It holds no signing key: the key lives apart, shown only in the create
/// response. An empty `events` list means every event, and no `session`
/// means every session. Built by [`WebhookRules::create`] and
/// [`WebhookRules::update`], or read back from storage with serde.
///
/// ```
/// use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
/// use titan_webhooks::{Envelope, TitanEvent, UrlGuard};
///
/// let rules = WebhookRules::new(UrlGuard::new());
/// let mut request = CreateWebhook::new("https://myapp.example/webhooks/titan");
/// request.events = Some(vec!["message.received".into()]);
/// let created = rules.create(42.into(), request)?;
///
/// let webhook = created.webhook();
/// assert!(webhook.wants(&Envelope::new(TitanEvent::MessageReceived, "default", ())));
/// assert!(!webhook.wants(&Envelope::new(TitanEvent::SessionStatus, "default", ())));
/// let view = serde_json::to_value(webhook)?;
/// assert!(view.get("hmacKey").is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    try_from = "WebhookObject",
    into = "WebhookObject"
)]
pub struct Webhook {
    id: WebhookId,
    url: Url,
    catalog: Catalog,
    filter: EventFilter<String>,
    enabled: bool,
    headers: Vec<CustomHeader>,
    retries: Option<RetryPolicy>,
    label: Option<String>,
    created_at: Timestamp,
}

impl Webhook {
    /// Whether a delivery of `envelope` goes to this webhook: it is enabled,
    /// the envelope is of the webhook's catalog, and the event and the
    /// session pass its filter.
    ///
    /// ```
    /// use titan_webhooks::subscription::{UpdateWebhook, CreateWebhook, WebhookRules};
    /// use titan_webhooks::{Envelope, TitanEvent, UrlGuard};
    ///
    /// let rules = WebhookRules::new(UrlGuard::new());
    /// let webhook = rules.create(1.into(), CreateWebhook::new("https://example.com/hook"))?.into_webhook();
    /// let envelope = Envelope::new(TitanEvent::ChatRead, "any", ());
    /// assert!(webhook.wants(&envelope));
    ///
    /// let mut disable = UpdateWebhook::default();
    /// disable.enabled = Some(false);
    /// let disabled = rules.update(&webhook, disable)?.into_webhook();
    /// assert!(!disabled.wants(&envelope));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn wants<D: Deliverable + ?Sized>(&self, envelope: &D) -> bool {
        self.wants_event(
            &envelope.catalog(),
            envelope.event_type(),
            envelope.session(),
        )
    }

    #[cfg(feature = "queue")]
    pub(crate) fn wants_route(&self, route: &crate::queue::Route<'_>) -> bool {
        self.wants_event(&route.catalog, route.event_type, route.session)
    }

    fn wants_event(&self, catalog: &Catalog, event_type: &str, session: Option<&str>) -> bool {
        self.enabled && self.catalog == *catalog && self.filter.matches_type(event_type, session)
    }

    /// A webhook read back from a store, which validated it when it was
    /// written.
    #[cfg(feature = "queue")]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn restore(
        id: WebhookId,
        url: Url,
        catalog: Catalog,
        events: Vec<String>,
        session: Option<String>,
        enabled: bool,
        headers: Vec<CustomHeader>,
        retries: Option<RetryPolicy>,
        label: Option<String>,
        created_at: Timestamp,
    ) -> Result<Self, crate::FilterError> {
        Ok(Self {
            id,
            url,
            catalog,
            filter: EventFilter::from_stored(events, session)?,
            enabled,
            headers,
            retries,
            label,
            created_at,
        })
    }

    /// The same webhook under another id.
    #[cfg(feature = "queue")]
    pub(crate) fn with_id(mut self, id: WebhookId) -> Self {
        self.id = id;
        self
    }

    /// The same webhook, enabled or disabled.
    #[cfg(feature = "queue")]
    pub(crate) fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// The catalog of the events the webhook receives, set by the
    /// [`WebhookRules`] that created it. Titan's unless told otherwise.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::{Catalog, Scheme, UrlGuard};
    /// let rules = WebhookRules::with_scheme(UrlGuard::new(), Scheme::eventium())
    ///     .with_catalog(Catalog::eventium());
    /// let created = rules.create(7.into(), CreateWebhook::new("https://example.com/"))?;
    /// assert_eq!(created.webhook().catalog(), &Catalog::eventium());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The same webhook, of `catalog`: for webhooks read back from JSON,
    /// which does not carry the catalog.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::{Catalog, UrlGuard};
    /// let webhook = WebhookRules::new(UrlGuard::new())
    ///     .create(7.into(), CreateWebhook::new("https://example.com/"))?
    ///     .into_webhook()
    ///     .in_catalog(Catalog::open("orders"));
    /// assert_eq!(webhook.catalog().name(), "orders");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn in_catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = catalog;
        self
    }

    /// The webhook's identifier.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules, WebhookId};
    /// # use titan_webhooks::UrlGuard;
    /// let created = WebhookRules::new(UrlGuard::new()).create(7.into(), CreateWebhook::new("https://example.com/"))?;
    /// assert_eq!(created.webhook().id(), &WebhookId::Number(7));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn id(&self) -> &WebhookId {
        &self.id
    }

    /// Where deliveries go.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::UrlGuard;
    /// let created = WebhookRules::new(UrlGuard::new()).create(7.into(), CreateWebhook::new("https://example.com/hook"))?;
    /// assert_eq!(created.webhook().url().as_str(), "https://example.com/hook");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The event types and session the webhook subscribes to.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::UrlGuard;
    /// let mut request = CreateWebhook::new("https://example.com/hook");
    /// request.session = Some("default".into());
    /// let created = WebhookRules::new(UrlGuard::new()).create(7.into(), request)?;
    /// assert_eq!(created.webhook().filter().session(), Some("default"));
    /// assert!(created.webhook().filter().events().is_empty(), "every event");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn filter(&self) -> &EventFilter<String> {
        &self.filter
    }

    /// Whether deliveries are sent.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::UrlGuard;
    /// let created = WebhookRules::new(UrlGuard::new()).create(7.into(), CreateWebhook::new("https://example.com/"))?;
    /// assert!(created.webhook().enabled());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The custom headers sent with each delivery.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, CustomHeader, WebhookRules};
    /// # use titan_webhooks::UrlGuard;
    /// let mut request = CreateWebhook::new("https://example.com/");
    /// request.headers = Some(vec![CustomHeader::new("X-App-ID", "my-app")]);
    /// let created = WebhookRules::new(UrlGuard::new()).create(7.into(), request)?;
    /// assert_eq!(created.webhook().headers()[0].name(), "X-App-ID");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn headers(&self) -> &[CustomHeader] {
        &self.headers
    }

    /// The retry configuration, if one was given.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::UrlGuard;
    /// let created = WebhookRules::new(UrlGuard::new()).create(7.into(), CreateWebhook::new("https://example.com/"))?;
    /// assert_eq!(created.webhook().retries(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn retries(&self) -> Option<&RetryPolicy> {
        self.retries.as_ref()
    }

    /// The webhook's label, for its owner's reference.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::UrlGuard;
    /// let mut request = CreateWebhook::new("https://example.com/");
    /// request.label = Some("My Webhook".into());
    /// let created = WebhookRules::new(UrlGuard::new()).create(7.into(), request)?;
    /// assert_eq!(created.webhook().label(), Some("My Webhook"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// When the webhook was created.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::{Timestamp, UrlGuard};
    /// let created = WebhookRules::new(UrlGuard::new()).create(7.into(), CreateWebhook::new("https://example.com/"))?;
    /// assert!(created.webhook().created_at() <= &Timestamp::now());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn created_at(&self) -> &Timestamp {
        &self.created_at
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("url", &masked(&self.url))
            .field("catalog", &self.catalog)
            .field("filter", &self.filter)
            .field("enabled", &self.enabled)
            .field("headers", &self.headers)
            .field("retries", &self.retries)
            .field("label", &self.label)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// `url` without what often carries a token: its user, password and query.
pub(crate) fn masked(url: &Url) -> String {
    let mut shown = url.clone();
    // Only URLs that cannot have them refuse these, and they have none.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    if shown.query().is_some() {
        shown.set_query(Some("***"));
    }
    shown.into()
}

/// The webhook object as it appears in JSON, Titan's shape. Storage is
/// trusted, so event types the catalog does not know are kept rather than
/// refused; the request types are where input is validated. The catalog is
/// not part of the object: a webhook read back is Titan's until
/// [`Webhook::in_catalog`] says otherwise.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema), schema(as = Webhook))]
struct WebhookObject {
    id: WebhookId,
    #[cfg_attr(feature = "server", schema(value_type = String, format = Uri))]
    url: Url,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    session: Option<String>,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    headers: Vec<CustomHeader>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retries: Option<RetryPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    #[cfg_attr(feature = "server", schema(value_type = String, format = DateTime))]
    created_at: Timestamp,
}

// Generic answers such as `Data<Vec<Webhook>>` compose their parts
// through this trait, which the derive implements for the JSON object.
#[cfg(feature = "server")]
impl utoipa::__dev::ComposeSchema for Webhook {
    fn compose(
        generics: Vec<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>,
    ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <WebhookObject as utoipa::__dev::ComposeSchema>::compose(generics)
    }
}

#[cfg(feature = "server")]
impl utoipa::ToSchema for Webhook {
    fn name() -> std::borrow::Cow<'static, str> {
        <WebhookObject as utoipa::ToSchema>::name()
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <WebhookObject as utoipa::ToSchema>::schemas(schemas);
    }
}

fn enabled_by_default() -> bool {
    true
}

impl TryFrom<WebhookObject> for Webhook {
    type Error = crate::FilterError;

    fn try_from(object: WebhookObject) -> Result<Self, Self::Error> {
        Ok(Self {
            id: object.id,
            url: object.url,
            catalog: Catalog::titan(),
            filter: EventFilter::from_stored(object.events, object.session)?,
            enabled: object.enabled,
            headers: object.headers,
            retries: object.retries,
            label: object.label,
            created_at: object.created_at,
        })
    }
}

impl From<Webhook> for WebhookObject {
    fn from(webhook: Webhook) -> Self {
        let (events, session) = webhook.filter.into_parts();
        Self {
            id: webhook.id,
            url: webhook.url,
            events,
            session,
            enabled: webhook.enabled,
            headers: webhook.headers,
            retries: webhook.retries,
            label: webhook.label,
            created_at: webhook.created_at,
        }
    }
}
