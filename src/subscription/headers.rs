//! Custom headers sent with every delivery.

use std::fmt;

use http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

/// The most custom headers a webhook may have, as Titan allows.
pub const MAX_CUSTOM_HEADERS: usize = 10;

/// A header sent with every delivery, `{ "name": "X-Secret", "value": "…" }`
/// in the seeds' JSON. Users add these to authenticate to their own
/// endpoint, so the value is treated as a secret: `Debug` hides it and the
/// transport marks it sensitive.
///
/// A header read from JSON or built with [`CustomHeader::new`] is checked by
/// [`WebhookRules`](super::WebhookRules) before it is ever sent.
///
/// ```
/// use titan_webhooks::subscription::CustomHeader;
///
/// let header = CustomHeader::new("X-Secret", "my-secret");
/// assert_eq!(header.name(), "X-Secret");
/// assert!(!format!("{header:?}").contains("my-secret"));
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomHeader {
    name: String,
    value: String,
}

impl CustomHeader {
    /// A header named `name` with `value`.
    ///
    /// ```
    /// use titan_webhooks::subscription::CustomHeader;
    ///
    /// assert_eq!(CustomHeader::new("X-Source", "titan").expose_value(), "titan");
    /// ```
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }

    /// The header's name as given.
    ///
    /// ```
    /// use titan_webhooks::subscription::CustomHeader;
    ///
    /// assert_eq!(CustomHeader::new("X-App-ID", "a").name(), "X-App-ID");
    /// ```
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The header's value, which may be a credential.
    ///
    /// ```
    /// use titan_webhooks::subscription::CustomHeader;
    ///
    /// assert_eq!(CustomHeader::new("X-App-ID", "my-app").expose_value(), "my-app");
    /// ```
    #[must_use]
    pub fn expose_value(&self) -> &str {
        &self.value
    }

    /// The header as `http` types, value marked sensitive. `None` if the
    /// name or value is not valid, which validation rules out.
    ///
    /// ```
    /// use titan_webhooks::subscription::CustomHeader;
    ///
    /// let (name, value) = CustomHeader::new("X-Secret", "s3cr3t").to_http().unwrap();
    /// assert_eq!(name, "x-secret");
    /// assert!(value.is_sensitive());
    /// assert!(CustomHeader::new("bad name", "x").to_http().is_none());
    /// ```
    #[must_use]
    pub fn to_http(&self) -> Option<(HeaderName, HeaderValue)> {
        let name = HeaderName::from_bytes(self.name.as_bytes()).ok()?;
        let mut value = HeaderValue::from_str(&self.value).ok()?;
        value.set_sensitive(true);
        Some((name, value))
    }
}

impl fmt::Debug for CustomHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomHeader")
            .field("name", &self.name)
            .field("value", &"***")
            .finish()
    }
}
