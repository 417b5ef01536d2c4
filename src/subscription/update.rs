//! Updating a webhook with the seeds' PUT semantics.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::{CustomHeader, HmacKey, Webhook};
use crate::Secret;
use crate::retry::RetryPolicy;

/// A request to update a webhook, as `PUT /api/webhooks/{id}` takes it.
///
/// Only the fields present change. `headers` replaces the whole list; a new
/// `hmacKey` takes effect at once; `enabled: false` disables the webhook.
/// For `session`, `retries` and `label`, JSON `null` clears the value
/// (`Some(None)`), while an absent field leaves it as it is (`None`).
///
/// ```
/// use titan_webhooks::subscription::UpdateWebhook;
///
/// let update: UpdateWebhook = serde_json::from_str(r#"{ "enabled": false, "session": null }"#)?;
/// assert_eq!(update.enabled, Some(false));
/// assert_eq!(update.session, Some(None), "null clears the session filter");
/// assert_eq!(update.label, None, "absent leaves the label alone");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct UpdateWebhook {
    /// A new URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A new list of event types; `[]` or `["*"]` for every event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// A new session filter; `Some(None)` for every session.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub session: Option<Option<String>>,
    /// A new signing key, effective immediately.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<String>))]
    pub hmac_key: Option<HmacKey>,
    /// Enables or disables the webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// A replacement for the whole list of custom headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<CustomHeader>>,
    /// A new retry configuration; `Some(None)` for the sender's default.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub retries: Option<Option<RetryPolicy>>,
    /// A new label; `Some(None)` to remove it.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub label: Option<Option<String>>,
}

/// Reads a field that is present, `null` included, as `Some`; an absent
/// field never reaches here and takes the default, `None`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::deserialize(deserializer).map(Some)
}

/// The result of an update: the new webhook and, when the update set one,
/// the new signing key.
///
/// ```
/// use titan_webhooks::subscription::{CreateWebhook, HmacKey, UpdateWebhook, WebhookRules};
/// use titan_webhooks::UrlGuard;
///
/// let rules = WebhookRules::new(UrlGuard::new());
/// let webhook = rules.create(42.into(), CreateWebhook::new("https://example.com/"))?.into_webhook();
/// let mut rotate = UpdateWebhook::default();
/// rotate.hmac_key = Some(HmacKey::new("a-new-key"));
/// let updated = rules.update(&webhook, rotate)?;
/// assert_eq!(updated.new_secret().map(|s| s.expose_bytes()), Some(&b"a-new-key"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct UpdatedWebhook {
    webhook: Webhook,
    new_secret: Option<Secret>,
}

impl UpdatedWebhook {
    pub(super) fn new(webhook: Webhook, new_secret: Option<Secret>) -> Self {
        Self {
            webhook,
            new_secret,
        }
    }

    /// The same response with the webhook as a store saved it.
    #[cfg(feature = "queue")]
    pub(crate) fn with_webhook(mut self, webhook: Webhook) -> Self {
        self.webhook = webhook;
        self
    }

    /// The webhook after the update.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, UpdateWebhook, WebhookRules};
    /// # use titan_webhooks::UrlGuard;
    /// let rules = WebhookRules::new(UrlGuard::new());
    /// let webhook = rules.create(1.into(), CreateWebhook::new("https://example.com/a"))?.into_webhook();
    /// let mut moved = UpdateWebhook::default();
    /// moved.url = Some("https://example.com/b".into());
    /// assert_eq!(rules.update(&webhook, moved)?.webhook().url().path(), "/b");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn webhook(&self) -> &Webhook {
        &self.webhook
    }

    /// The new signing key, if the update set one.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, UpdateWebhook, WebhookRules};
    /// # use titan_webhooks::UrlGuard;
    /// let rules = WebhookRules::new(UrlGuard::new());
    /// let webhook = rules.create(1.into(), CreateWebhook::new("https://example.com/"))?.into_webhook();
    /// assert!(rules.update(&webhook, UpdateWebhook::default())?.new_secret().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn new_secret(&self) -> Option<&Secret> {
        self.new_secret.as_ref()
    }

    /// The webhook and the new key, if any.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, UpdateWebhook, WebhookRules};
    /// # use titan_webhooks::UrlGuard;
    /// let rules = WebhookRules::new(UrlGuard::new());
    /// let webhook = rules.create(1.into(), CreateWebhook::new("https://example.com/"))?.into_webhook();
    /// let (updated, key) = rules.update(&webhook, UpdateWebhook::default())?.into_parts();
    /// assert_eq!((updated, key.is_none()), (webhook, true));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn into_parts(self) -> (Webhook, Option<Secret>) {
        (self.webhook, self.new_secret)
    }

    /// The webhook, dropping any new key.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, UpdateWebhook, WebhookRules};
    /// # use titan_webhooks::UrlGuard;
    /// let rules = WebhookRules::new(UrlGuard::new());
    /// let webhook = rules.create(1.into(), CreateWebhook::new("https://example.com/"))?.into_webhook();
    /// assert!(rules.update(&webhook, UpdateWebhook::default())?.into_webhook().enabled());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn into_webhook(self) -> Webhook {
        self.webhook
    }
}

impl fmt::Debug for UpdatedWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpdatedWebhook")
            .field("webhook", &self.webhook)
            .field("new_secret", &self.new_secret)
            .finish()
    }
}
