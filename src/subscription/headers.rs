//! Custom headers sent with every delivery.

use std::fmt;

use http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::Scheme;

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
#[derive(Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct CustomHeader {
    name: String,
    value: String,
}

/// A header's fields as JSON gives them, from an object only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderFields {
    name: String,
    value: String,
}

impl<'de> Deserialize<'de> for CustomHeader {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let HeaderFields { name, value } = crate::object::from_object(deserializer)?;
        Ok(Self { name, value })
    }
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

/// The longest custom header value, in bytes.
pub const MAX_HEADER_VALUE_LEN: usize = 8 * 1024;

/// The most bytes a webhook's custom header names and values may add up
/// to, so every attempt's request stays within what servers accept.
pub const MAX_HEADERS_LEN: usize = 16 * 1024;

/// Headers the sender itself controls, with the reason a custom header may
/// not set them.
const RESERVED_HEADERS: &[(&str, &str)] = &[
    ("content-type", "the sender sends JSON"),
    ("content-length", "it is the length of the signed body"),
    ("transfer-encoding", "it is a hop-by-hop header"),
    ("host", "it comes from the URL"),
    ("connection", "it is a hop-by-hop header"),
    ("keep-alive", "it is a hop-by-hop header"),
    ("proxy-connection", "it is a hop-by-hop header"),
    ("proxy-authenticate", "it is a hop-by-hop header"),
    ("proxy-authorization", "it is a hop-by-hop header"),
    ("te", "it is a hop-by-hop header"),
    ("trailer", "it is a hop-by-hop header"),
    ("upgrade", "it is a hop-by-hop header"),
    ("metadata", "cloud metadata services trust it"),
    ("metadata-flavor", "cloud metadata services trust it"),
];

/// Cloud metadata headers matched by prefix: AWS uses several names.
const RESERVED_PREFIXES: &[(&str, &str)] = &[(
    "x-aws-ec2-metadata-token",
    "cloud metadata services trust it",
)];

/// Why a custom header may not be called `name` on a webhook signed with
/// `scheme`, if it may not: every header the scheme's verifiers read
/// (both `webhook-*` and `svix-*` for Standard Webhooks, since receivers
/// take either), framing and hop-by-hop headers, and headers cloud
/// metadata services trust.
pub(crate) fn reserved_reason(scheme: &Scheme, name: &HeaderName) -> Option<&'static str> {
    if scheme.read_headers().any(|own| own == name) {
        return Some("the signing scheme sets it");
    }
    let name = name.as_str();
    RESERVED_HEADERS
        .iter()
        .find(|(reserved, _)| *reserved == name)
        .or_else(|| {
            RESERVED_PREFIXES
                .iter()
                .find(|(prefix, _)| name.starts_with(prefix))
        })
        .map(|(_, reason)| *reason)
}

/// The bytes `headers`' names and values add up to.
pub(crate) fn headers_len(headers: &[CustomHeader]) -> usize {
    headers.iter().fold(0, |total, header| {
        total
            .saturating_add(header.name.len())
            .saturating_add(header.value.len())
    })
}
