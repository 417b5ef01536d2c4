//! Creating a webhook: the request, and the one response that shows the key.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{CustomHeader, Webhook};
use crate::Secret;
use crate::retry::RetryPolicy;

/// An `hmacKey` as it travels in a create or update request, or in the
/// create response: the text a subscriber uses to verify deliveries.
/// `Debug` hides it and the memory is zeroed on drop.
///
/// ```
/// use titan_webhooks::subscription::HmacKey;
///
/// let key = HmacKey::new("your-secret-signing-key");
/// assert_eq!(key.expose(), "your-secret-signing-key");
/// assert_eq!(format!("{key:?}"), "HmacKey(***)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct HmacKey(Zeroizing<String>);

impl HmacKey {
    /// Wraps `key`.
    ///
    /// ```
    /// use titan_webhooks::subscription::HmacKey;
    ///
    /// assert_eq!(HmacKey::new("k").expose(), "k");
    /// ```
    pub fn new(key: impl Into<String>) -> Self {
        Self(Zeroizing::new(key.into()))
    }

    /// The key's text. The name makes every use visible in review.
    ///
    /// ```
    /// use titan_webhooks::subscription::HmacKey;
    ///
    /// assert_eq!(HmacKey::new("abc").expose().len(), 3);
    /// ```
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Serialize for HmacKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for HmacKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacKey(***)")
    }
}

/// A request to create a webhook, as `POST /api/webhooks` takes it.
///
/// Only `url` is required. Omitted `events` (or `[]`, or `["*"]`) means
/// every event; an omitted `session`, every session; an omitted `hmacKey`
/// is generated. [`WebhookRules::create`](super::WebhookRules::create)
/// validates it.
///
/// ```
/// use titan_webhooks::subscription::CreateWebhook;
///
/// let request: CreateWebhook = serde_json::from_str(r#"{
///     "url": "https://myapp.com/webhooks/titan",
///     "events": ["message.received", "session.status"],
///     "label": "My Webhook",
///     "hmacKey": "your-secret-signing-key"
/// }"#)?;
/// assert_eq!(request.label.as_deref(), Some("My Webhook"));
/// assert!(!format!("{request:?}").contains("your-secret-signing-key"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct CreateWebhook {
    /// The HTTPS URL deliveries go to.
    #[cfg_attr(feature = "server", schema(example = "https://example.com/webhooks"))]
    pub url: String,
    /// Event types to subscribe to; `None`, `[]` or `["*"]` for every event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// The session to receive events from; `None` for every session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The signing key; generated when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<String>))]
    pub hmac_key: Option<HmacKey>,
    /// Whether deliveries are sent from the start. Defaults to `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Headers sent with every delivery, at most
    /// [`MAX_CUSTOM_HEADERS`](super::MAX_CUSTOM_HEADERS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<CustomHeader>>,
    /// How failed deliveries are retried; the sender's default when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<RetryPolicy>,
    /// A label for the owner's reference, at most
    /// [`MAX_LABEL_LEN`](super::MAX_LABEL_LEN) characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl CreateWebhook {
    /// A request for `url` with everything else left to its default.
    ///
    /// ```
    /// use titan_webhooks::subscription::CreateWebhook;
    ///
    /// let request = CreateWebhook::new("https://example.com/hook");
    /// assert_eq!(serde_json::to_string(&request)?, r#"{"url":"https://example.com/hook"}"#);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            events: None,
            session: None,
            hmac_key: None,
            enabled: None,
            headers: None,
            retries: None,
            label: None,
        }
    }
}

/// The create response: the new webhook, its signing key as the subscriber
/// must see it, and the key for the sender to sign with.
///
/// It serializes as Titan's create response, the webhook object plus
/// `hmacKey`: the only place the key is shown. `Debug` hides the key.
///
/// ```
/// use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
/// use titan_webhooks::UrlGuard;
///
/// let created = WebhookRules::new(UrlGuard::new()).create(42.into(), CreateWebhook::new("https://example.com/"))?;
/// let response = serde_json::to_value(&created)?;
/// assert_eq!(response["hmacKey"], created.hmac_key().expose());
/// assert!(!format!("{created:?}").contains(created.hmac_key().expose()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// It deserializes from the same JSON, as a client reads Titan's answer.
/// The signing key is then the `hmacKey`'s UTF-8 bytes, as Titan signs
/// with it; an empty `hmacKey` is refused.
///
/// ```
/// use titan_webhooks::subscription::CreatedWebhook;
///
/// let created: CreatedWebhook = serde_json::from_str(r#"{
///     "id": 42, "url": "https://your-server.com/webhook", "events": ["message.received"],
///     "enabled": true, "hmacKey": "your-secret-signing-key", "createdAt": "2026-01-15T10:00:00Z"
/// }"#)?;
/// assert_eq!(created.webhook().id().to_string(), "42");
/// assert_eq!(created.hmac_key().expose(), "your-secret-signing-key");
/// assert_eq!(created.secret().expose_bytes(), b"your-secret-signing-key");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct CreatedWebhook {
    #[serde(flatten)]
    webhook: Webhook,
    /// The signing key, shown only here.
    #[serde(rename = "hmacKey")]
    #[cfg_attr(feature = "server", schema(value_type = String))]
    hmac_key: HmacKey,
    #[serde(skip)]
    #[cfg_attr(feature = "server", schema(ignore))]
    secret: Secret,
}

impl CreatedWebhook {
    pub(super) fn new(webhook: Webhook, hmac_key: HmacKey, secret: Secret) -> Self {
        Self {
            webhook,
            hmac_key,
            secret,
        }
    }

    /// The same response for the webhook under another id, once a store
    /// has assigned it.
    #[cfg(feature = "queue")]
    pub(crate) fn with_id(mut self, id: super::WebhookId) -> Self {
        self.webhook = self.webhook.with_id(id);
        self
    }

    /// The webhook as it will be listed.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::UrlGuard;
    /// let created = WebhookRules::new(UrlGuard::new()).create(1.into(), CreateWebhook::new("https://example.com/"))?;
    /// assert!(created.webhook().enabled());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn webhook(&self) -> &Webhook {
        &self.webhook
    }

    /// The key as the subscriber uses it: the `hmacKey` they gave, or the
    /// one generated for them.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::UrlGuard;
    /// let created = WebhookRules::new(UrlGuard::new()).create(1.into(), CreateWebhook::new("https://example.com/"))?;
    /// assert_eq!(created.hmac_key().expose().len(), 43, "generated: 256 bits as text");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn hmac_key(&self) -> &HmacKey {
        &self.hmac_key
    }

    /// The signing key, for the sender's secret store.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, HmacKey, WebhookRules};
    /// # use titan_webhooks::UrlGuard;
    /// let mut request = CreateWebhook::new("https://example.com/");
    /// request.hmac_key = Some(HmacKey::new("your-secret-signing-key"));
    /// let created = WebhookRules::new(UrlGuard::new()).create(1.into(), request)?;
    /// assert_eq!(created.secret().expose_bytes(), b"your-secret-signing-key");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The webhook, the key for signing, dropping the shown form.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::UrlGuard;
    /// let created = WebhookRules::new(UrlGuard::new()).create(1.into(), CreateWebhook::new("https://example.com/"))?;
    /// let (webhook, secret) = created.into_parts();
    /// assert_eq!(webhook.id().to_string(), "1");
    /// assert_eq!(secret.expose_bytes().len(), 43);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn into_parts(self) -> (Webhook, Secret) {
        (self.webhook, self.secret)
    }

    /// The webhook, dropping both forms of the key.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::UrlGuard;
    /// let webhook = WebhookRules::new(UrlGuard::new()).create(1.into(), CreateWebhook::new("https://example.com/"))?.into_webhook();
    /// assert_eq!(webhook.url().host_str(), Some("example.com"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn into_webhook(self) -> Webhook {
        self.webhook
    }
}

/// Titan's create response as read: the webhook object plus `hmacKey`.
#[derive(Deserialize)]
struct CreatedWebhookObject {
    #[serde(flatten)]
    webhook: Webhook,
    #[serde(rename = "hmacKey")]
    hmac_key: HmacKey,
}

impl<'de> Deserialize<'de> for CreatedWebhook {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let object = CreatedWebhookObject::deserialize(deserializer)?;
        let secret = crate::Scheme::titan()
            .secret_encoding()
            .parse(object.hmac_key.expose())
            .map_err(serde::de::Error::custom)?;
        Ok(Self::new(object.webhook, object.hmac_key, secret))
    }
}

impl fmt::Debug for CreatedWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedWebhook")
            .field("webhook", &self.webhook)
            .field("hmac_key", &self.hmac_key)
            .finish_non_exhaustive()
    }
}
