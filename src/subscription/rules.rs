//! Validation of webhook requests.

use http::HeaderName;
use url::Url;

use super::{
    CreateWebhook, CreatedWebhook, CustomHeader, HmacKey, MAX_CUSTOM_HEADERS, MAX_HEADER_VALUE_LEN,
    MAX_HEADERS_LEN, UpdateWebhook, UpdatedWebhook, Webhook, WebhookId, headers_len,
    reserved_reason,
};
use crate::events::filter_field;
use crate::{Catalog, EventFilter, FilterError, Scheme, Secret, SecretError, Timestamp, UrlGuard};

/// The longest label, in characters. Titan documents no limit; 255 fits
/// the usual text column and any sensible name.
pub const MAX_LABEL_LEN: usize = 255;
/// The rules webhook requests are checked against: the SSRF guard for URLs,
/// and the signing scheme, whose headers a custom header may not override.
///
/// Validation names the field and the rule that failed; an update that
/// fails leaves the webhook as it was.
///
/// ```
/// use titan_webhooks::UrlGuard;
/// use titan_webhooks::subscription::{CreateWebhook, CustomHeader, ValidationError, WebhookRules};
///
/// let rules = WebhookRules::new(UrlGuard::new());
/// let mut request = CreateWebhook::new("https://example.com/hook");
/// request.headers = Some(vec![CustomHeader::new("X-Webhook-Signature", "forged")]);
/// let err = rules.create(1.into(), request).unwrap_err();
/// assert_eq!(err.field(), "headers");
/// assert!(err.to_string().contains("x-webhook-signature"), "{err}");
/// ```
#[derive(Debug, Clone)]
pub struct WebhookRules {
    guard: UrlGuard,
    scheme: Scheme,
    catalog: Catalog,
}

impl WebhookRules {
    /// Rules that check URLs with `guard`, for webhooks signed with
    /// [`Scheme::titan`].
    ///
    /// ```
    /// use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// use titan_webhooks::UrlGuard;
    ///
    /// let rules = WebhookRules::new(UrlGuard::new());
    /// assert!(rules.create(1.into(), CreateWebhook::new("https://10.0.0.5/")).is_err());
    /// ```
    #[must_use]
    pub fn new(guard: UrlGuard) -> Self {
        Self::with_scheme(guard, Scheme::titan())
    }

    /// Rules for webhooks signed with `scheme`: generated keys take its
    /// secret form, and custom headers may not set its headers.
    ///
    /// ```
    /// use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// use titan_webhooks::{Scheme, UrlGuard};
    ///
    /// let rules = WebhookRules::with_scheme(UrlGuard::new(), Scheme::standard_webhooks());
    /// let created = rules.create(1.into(), CreateWebhook::new("https://example.com/"))?;
    /// assert!(created.hmac_key().expose().starts_with("whsec_"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_scheme(guard: UrlGuard, scheme: Scheme) -> Self {
        Self {
            guard,
            scheme,
            catalog: Catalog::titan(),
        }
    }

    /// The same rules for webhooks of `catalog`: their event types are
    /// checked against it, and they receive only its envelopes. Titan's
    /// catalog unless set.
    ///
    /// ```
    /// use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// use titan_webhooks::{Catalog, Scheme, UrlGuard};
    ///
    /// let rules = WebhookRules::with_scheme(UrlGuard::new(), Scheme::eventium())
    ///     .with_catalog(Catalog::eventium());
    /// let mut request = CreateWebhook::new("https://example.com/");
    /// request.events = Some(vec!["message.received".into()]);
    /// assert!(rules.create(1.into(), request).is_err(), "a Titan event");
    /// ```
    #[must_use]
    pub fn with_catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = catalog;
        self
    }

    /// The catalog new webhooks subscribe to.
    ///
    /// ```
    /// use titan_webhooks::subscription::WebhookRules;
    /// use titan_webhooks::{Catalog, UrlGuard};
    ///
    /// assert_eq!(WebhookRules::new(UrlGuard::new()).catalog(), &Catalog::titan());
    /// ```
    #[must_use]
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The guard URLs are checked with.
    ///
    /// ```
    /// use titan_webhooks::subscription::WebhookRules;
    /// use titan_webhooks::UrlGuard;
    ///
    /// let rules = WebhookRules::new(UrlGuard::new());
    /// assert!(rules.guard().check_str("https://example.com/").is_ok());
    /// ```
    #[must_use]
    pub fn guard(&self) -> &UrlGuard {
        &self.guard
    }

    /// The scheme webhooks are signed with.
    ///
    /// ```
    /// use titan_webhooks::subscription::WebhookRules;
    /// use titan_webhooks::UrlGuard;
    ///
    /// assert_eq!(WebhookRules::new(UrlGuard::new()).scheme().name(), "titan");
    /// ```
    #[must_use]
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// Validates `request` and creates webhook `id`, enabled, with a
    /// generated key when the request has none.
    ///
    /// ```
    /// use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// use titan_webhooks::UrlGuard;
    ///
    /// let request: CreateWebhook = serde_json::from_str(r#"{
    ///     "url": "https://your-server.com/webhook",
    ///     "events": ["message.received", "session.status"],
    ///     "session": "default",
    ///     "retries": {"attempts": 3, "delaySeconds": 5, "policy": "exponential"}
    /// }"#)?;
    /// let created = WebhookRules::new(UrlGuard::new()).create(42.into(), request)?;
    /// assert_eq!(created.webhook().filter().events().len(), 2);
    /// assert_eq!(created.webhook().retries().map(|r| r.attempts()), Some(3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] naming the first field that breaks a rule.
    pub fn create(
        &self,
        id: WebhookId,
        request: CreateWebhook,
    ) -> Result<CreatedWebhook, ValidationError> {
        let url = self.check_url(&request.url)?;
        let filter = check_filter(
            &self.catalog,
            request.events.unwrap_or_default(),
            request.session.as_deref(),
        )?;
        let headers = self.check_headers(request.headers.unwrap_or_default())?;
        let label = check_label(request.label)?;
        let (hmac_key, secret) = match request.hmac_key {
            Some(key) => {
                let secret = self.check_key(&key)?;
                (key, secret)
            }
            None => self.generate_key()?,
        };
        let webhook = Webhook {
            id,
            url,
            catalog: self.catalog.clone(),
            filter,
            enabled: request.enabled.unwrap_or(true),
            headers,
            retries: request.retries,
            label,
            created_at: Timestamp::now(),
        };
        Ok(CreatedWebhook::new(webhook, hmac_key, secret))
    }

    /// Validates `update` and applies it to a copy of `webhook`. On error
    /// nothing changes.
    ///
    /// ```
    /// use titan_webhooks::subscription::{CreateWebhook, UpdateWebhook, WebhookRules};
    /// use titan_webhooks::UrlGuard;
    ///
    /// let rules = WebhookRules::new(UrlGuard::new());
    /// let webhook = rules.create(42.into(), CreateWebhook::new("https://example.com/"))?.into_webhook();
    /// let update: UpdateWebhook = serde_json::from_str(r#"{"events": ["message.sent"], "url": "https://10.0.0.1/"}"#)?;
    /// let err = rules.update(&webhook, update).unwrap_err();
    /// assert_eq!(err.field(), "url");
    /// assert!(webhook.filter().events().is_empty(), "unchanged");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] naming the first field that breaks a rule.
    pub fn update(
        &self,
        webhook: &Webhook,
        update: UpdateWebhook,
    ) -> Result<UpdatedWebhook, ValidationError> {
        let url = match update.url {
            Some(url) => self.check_url(&url)?,
            None => webhook.url.clone(),
        };
        let filter = match (update.events, update.session) {
            (None, None) => webhook.filter.clone(),
            (events, session) => {
                let events: Vec<String> = match events {
                    Some(events) => events,
                    None => webhook
                        .filter
                        .events()
                        .iter()
                        .map(|event| event.as_str().to_owned())
                        .collect(),
                };
                let session = match session {
                    Some(session) => session,
                    None => webhook.filter.session().map(str::to_owned),
                };
                check_filter(&webhook.catalog, events, session.as_deref())?
            }
        };
        let headers = match update.headers {
            Some(headers) => self.check_headers(headers)?,
            None => webhook.headers.clone(),
        };
        let label = match update.label {
            Some(label) => check_label(label)?,
            None => webhook.label.clone(),
        };
        let new_secret = update
            .hmac_key
            .map(|key| self.check_key(&key))
            .transpose()?;
        let updated = Webhook {
            id: webhook.id.clone(),
            url,
            catalog: webhook.catalog.clone(),
            filter,
            enabled: update.enabled.unwrap_or(webhook.enabled),
            headers,
            retries: update.retries.unwrap_or(webhook.retries),
            label,
            created_at: webhook.created_at,
        };
        Ok(UpdatedWebhook::new(updated, new_secret))
    }

    fn check_url(&self, url: &str) -> Result<Url, ValidationError> {
        self.guard.check_str(url).map_err(ValidationError::Url)
    }

    fn check_key(&self, key: &HmacKey) -> Result<Secret, ValidationError> {
        self.scheme
            .secret_encoding()
            .parse(key.expose())
            .map_err(ValidationError::HmacKey)
    }

    pub(crate) fn generate_key(&self) -> Result<(HmacKey, Secret), ValidationError> {
        let secret = Secret::try_generate().map_err(ValidationError::HmacKey)?;
        let shown = self
            .scheme
            .secret_encoding()
            .reveal(&secret)
            .map_err(ValidationError::HmacKey)?;
        Ok((HmacKey::new(shown.as_str()), secret))
    }

    fn check_headers(
        &self,
        headers: Vec<CustomHeader>,
    ) -> Result<Vec<CustomHeader>, ValidationError> {
        if headers.len() > MAX_CUSTOM_HEADERS {
            return Err(ValidationError::TooManyHeaders {
                count: headers.len(),
                max: MAX_CUSTOM_HEADERS,
            });
        }
        for (index, header) in headers.iter().enumerate() {
            let name = HeaderName::from_bytes(header.name().as_bytes()).map_err(|_| {
                ValidationError::InvalidHeaderName {
                    index,
                    name: header.name().to_owned(),
                }
            })?;
            if let Some(reason) = reserved_reason(&self.scheme, &name) {
                return Err(ValidationError::ReservedHeader {
                    index,
                    name: name.as_str().to_owned(),
                    reason,
                });
            }
            let len = header.expose_value().len();
            if len > MAX_HEADER_VALUE_LEN {
                return Err(ValidationError::HeaderValueTooLong {
                    index,
                    name: name.as_str().to_owned(),
                    len,
                    max: MAX_HEADER_VALUE_LEN,
                });
            }
            if header.to_http().is_none() {
                return Err(ValidationError::InvalidHeaderValue {
                    index,
                    name: name.as_str().to_owned(),
                });
            }
        }
        let total = headers_len(&headers);
        if total > MAX_HEADERS_LEN {
            return Err(ValidationError::HeadersTooLong {
                len: total,
                max: MAX_HEADERS_LEN,
            });
        }
        Ok(headers)
    }
}

fn check_filter(
    catalog: &Catalog,
    events: Vec<String>,
    session: Option<&str>,
) -> Result<EventFilter<String>, ValidationError> {
    for event in &events {
        catalog.check(event).map_err(ValidationError::Filter)?;
    }
    EventFilter::new(events, session).map_err(ValidationError::Filter)
}

fn check_label(label: Option<String>) -> Result<Option<String>, ValidationError> {
    if let Some(text) = &label {
        let len = text.chars().count();
        if len > MAX_LABEL_LEN {
            return Err(ValidationError::LabelTooLong {
                len,
                max: MAX_LABEL_LEN,
            });
        }
    }
    Ok(label)
}

/// A webhook request breaks a rule. Each variant names the field, and none
/// repeats a key or a custom header's value.
///
/// ```
/// use titan_webhooks::UrlGuard;
/// use titan_webhooks::subscription::{CreateWebhook, ValidationError, WebhookRules};
///
/// let mut request = CreateWebhook::new("https://example.com/");
/// request.label = Some("x".repeat(300));
/// let err = WebhookRules::new(UrlGuard::new()).create(1.into(), request).unwrap_err();
/// assert_eq!(err, ValidationError::LabelTooLong { len: 300, max: 255 });
/// assert_eq!(err.field(), "label");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// `url` is refused by the SSRF guard.
    #[error("`url`: {0}")]
    Url(#[source] crate::GuardError),
    /// `events` or `session` is not a valid filter.
    #[error("`{}`: {}", filter_field(.0), .0)]
    Filter(#[source] FilterError),
    /// `hmacKey` is not a usable key.
    #[error("`hmacKey`: {0}")]
    HmacKey(#[source] SecretError),
    /// More custom headers than allowed.
    #[error("`headers`: at most {max} custom headers, got {count}")]
    TooManyHeaders {
        /// How many were given.
        count: usize,
        /// The maximum.
        max: usize,
    },
    /// A custom header's name is not a valid HTTP header name.
    #[error("`headers[{index}]`: `{name}` is not a valid header name")]
    InvalidHeaderName {
        /// The header's position in the list.
        index: usize,
        /// The name given.
        name: String,
    },
    /// A custom header's value is not a valid HTTP header value: it must
    /// be visible ASCII, spaces and tabs.
    #[error("`headers[{index}]`: the value of `{name}` is not a valid header value")]
    InvalidHeaderValue {
        /// The header's position in the list.
        index: usize,
        /// The header's name.
        name: String,
    },
    /// A custom header's value is longer than
    /// [`MAX_HEADER_VALUE_LEN`](super::MAX_HEADER_VALUE_LEN).
    #[error("`headers[{index}]`: the value of `{name}` is {len} bytes; at most {max}")]
    HeaderValueTooLong {
        /// The header's position in the list.
        index: usize,
        /// The header's name, lowercased.
        name: String,
        /// The value's length in bytes.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The custom headers' names and values together are longer than
    /// [`MAX_HEADERS_LEN`](super::MAX_HEADERS_LEN).
    #[error("`headers`: {len} bytes of names and values; at most {max}")]
    HeadersTooLong {
        /// Their length in bytes.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A custom header would set a header the sender controls.
    #[error("`headers[{index}]`: `{name}` cannot be a custom header: {reason}")]
    ReservedHeader {
        /// The header's position in the list.
        index: usize,
        /// The header's name, lowercased.
        name: String,
        /// Why it is reserved.
        reason: &'static str,
    },
    /// `label` is longer than allowed.
    #[error("`label`: at most {max} characters, got {len}")]
    LabelTooLong {
        /// The label's length in characters.
        len: usize,
        /// The maximum.
        max: usize,
    },
}

impl ValidationError {
    /// The request field that broke a rule, as named in the JSON.
    ///
    /// ```
    /// use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// use titan_webhooks::UrlGuard;
    ///
    /// let mut request = CreateWebhook::new("https://example.com/");
    /// request.events = Some(vec!["message.recieved".into()]);
    /// let err = WebhookRules::new(UrlGuard::new()).create(1.into(), request).unwrap_err();
    /// assert_eq!(err.field(), "events");
    /// assert!(err.to_string().contains("did you mean `message.received`?"));
    /// ```
    #[must_use]
    pub fn field(&self) -> &'static str {
        match self {
            Self::Url(_) => "url",
            Self::Filter(err) => filter_field(err),
            Self::HmacKey(_) => "hmacKey",
            Self::TooManyHeaders { .. }
            | Self::InvalidHeaderName { .. }
            | Self::InvalidHeaderValue { .. }
            | Self::HeaderValueTooLong { .. }
            | Self::HeadersTooLong { .. }
            | Self::ReservedHeader { .. } => "headers",
            Self::LabelTooLong { .. } => "label",
        }
    }
}
