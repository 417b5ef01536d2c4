//! The store's vocabulary: owners, flavours, stored webhooks, queries.

use std::fmt;
use std::time::SystemTime;

use super::Health;
use crate::subscription::{HmacKey, Webhook, WebhookId};
use crate::{Catalog, Scheme};

/// The longest owner id, in bytes.
pub const MAX_OWNER_LEN: usize = 255;

/// The account or tenant a webhook belongs to, as the application names
/// it: 1 to 255 bytes of visible ASCII.
///
/// ```
/// use titan_webhooks::webhooks::Owner;
///
/// assert_eq!(Owner::new("acct_42")?.as_str(), "acct_42");
/// assert!(Owner::new("").is_err());
/// assert!(Owner::new("x".repeat(100 * 1024)).is_err());
/// # Ok::<(), titan_webhooks::webhooks::OwnerError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Owner(String);

impl Owner {
    /// An owner id.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::Owner;
    /// assert!(Owner::new("tenant with spaces").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`OwnerError`] when the id is empty, longer than
    /// [`MAX_OWNER_LEN`], or not visible ASCII.
    pub fn new(id: impl Into<String>) -> Result<Self, OwnerError> {
        let id = id.into();
        if id.is_empty() || id.len() > MAX_OWNER_LEN || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(OwnerError { len: id.len() });
        }
        Ok(Self(id))
    }

    /// The id.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::Owner;
    /// assert_eq!(Owner::new("t1")?.as_str(), "t1");
    /// # Ok::<(), titan_webhooks::webhooks::OwnerError>(())
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An owner id that is empty, too long, or not visible ASCII. The message
/// gives its length, never the id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an owner id must be 1 to {MAX_OWNER_LEN} bytes of visible ASCII (got {len} bytes)")]
pub struct OwnerError {
    len: usize,
}

/// How a kind of webhook signs and which events it receives: Titan's,
/// Eventium's, TitanX's, or an application's own.
///
/// ```
/// use titan_webhooks::webhooks::Flavour;
/// use titan_webhooks::{Catalog, Scheme};
///
/// assert_eq!(Flavour::eventium().catalog(), &Catalog::eventium());
/// let orders = Flavour::new(Scheme::standard_webhooks(), Catalog::open("orders"));
/// assert_eq!(orders.scheme().name(), "standard-webhooks");
/// ```
#[derive(Debug, Clone)]
pub struct Flavour {
    scheme: Scheme,
    catalog: Catalog,
}

impl Flavour {
    /// Webhooks signed with `scheme`, receiving the events of `catalog`.
    /// A scheme that is not a [preset](Scheme::preset) must be registered
    /// with [`WebhookStoreBuilder::scheme`](super::WebhookStoreBuilder::scheme).
    ///
    /// ```
    /// # use titan_webhooks::webhooks::Flavour;
    /// # use titan_webhooks::{Catalog, Scheme};
    /// let flavour = Flavour::new(Scheme::stripe(), Catalog::open("billing"));
    /// assert_eq!(flavour.catalog().name(), "billing");
    /// ```
    #[must_use]
    pub fn new(scheme: Scheme, catalog: Catalog) -> Self {
        Self { scheme, catalog }
    }

    /// Titan's: `sha256=<hex>`, Titan's catalog.
    ///
    /// ```
    /// assert_eq!(titan_webhooks::webhooks::Flavour::titan().scheme().name(), "titan");
    /// ```
    #[must_use]
    pub fn titan() -> Self {
        Self::new(Scheme::titan(), Catalog::titan())
    }

    /// Eventium's: `t=<unix>,v1=<hex>`, Eventium's catalog.
    ///
    /// ```
    /// assert_eq!(titan_webhooks::webhooks::Flavour::eventium().scheme().name(), "eventium");
    /// ```
    #[must_use]
    pub fn eventium() -> Self {
        Self::new(Scheme::eventium(), Catalog::eventium())
    }

    /// TitanX's: `whsec_` secrets, TitanX's catalog.
    ///
    /// ```
    /// assert_eq!(titan_webhooks::webhooks::Flavour::titanx().catalog().name(), "titanx");
    /// ```
    #[must_use]
    pub fn titanx() -> Self {
        Self::new(Scheme::titanx(), Catalog::titanx())
    }

    /// How its webhooks sign.
    ///
    /// ```
    /// assert_eq!(titan_webhooks::webhooks::Flavour::titanx().scheme().name(), "titanx");
    /// ```
    #[must_use]
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The events its webhooks receive.
    ///
    /// ```
    /// assert_eq!(titan_webhooks::webhooks::Flavour::titan().catalog().name(), "titan");
    /// ```
    #[must_use]
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }
}

/// A webhook as the store reports it: the object, its owner, how it signs,
/// and its health. Never its secret.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StoredWebhook {
    /// The webhook object, as the seeds' API shows it.
    pub webhook: Webhook,
    /// Whose it is.
    pub owner: Owner,
    /// The name of the scheme its deliveries are signed with.
    pub scheme: String,
    /// Its delivery health, with the reason it was disabled, if it was.
    pub health: Health,
    /// While a rotated-out secret still signs: when it stops.
    pub previous_secret_expires_at: Option<SystemTime>,
}

/// Which of an owner's webhooks to list: newest first, a page at a time.
///
/// ```
/// use titan_webhooks::webhooks::WebhookQuery;
/// use titan_webhooks::Catalog;
///
/// let query = WebhookQuery::default().enabled(true).catalog(Catalog::titan()).limit(20);
/// assert_eq!(query.limit_or_default(), 20);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct WebhookQuery {
    pub(super) enabled: Option<bool>,
    pub(super) catalog: Option<Catalog>,
    pub(super) before: Option<u64>,
    pub(super) limit: Option<usize>,
}

impl WebhookQuery {
    /// Only enabled (`true`) or disabled (`false`) webhooks.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::WebhookQuery;
    /// let _disabled_only = WebhookQuery::default().enabled(false);
    /// ```
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = Some(enabled);
        self
    }

    /// Only webhooks of `catalog`, as one provider flavour's API lists.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::WebhookQuery;
    /// let _eventium = WebhookQuery::default().catalog(titan_webhooks::Catalog::eventium());
    /// ```
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// The page after the one whose [`WebhookPage::next`] was `cursor`.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::WebhookQuery;
    /// let _second_page = WebhookQuery::default().after(42);
    /// ```
    pub fn after(mut self, cursor: u64) -> Self {
        self.before = Some(cursor);
        self
    }

    /// At most `limit` webhooks, capped at
    /// [`MAX_LIST_LIMIT`](crate::queue::MAX_LIST_LIMIT). Defaults to
    /// [`DEFAULT_LIST_LIMIT`](crate::queue::DEFAULT_LIST_LIMIT).
    ///
    /// ```
    /// # use titan_webhooks::webhooks::WebhookQuery;
    /// assert_eq!(WebhookQuery::default().limit(5_000).limit_or_default(), 1000);
    /// ```
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The page size this query asks for.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::WebhookQuery;
    /// assert_eq!(WebhookQuery::default().limit_or_default(), 100);
    /// ```
    #[must_use]
    pub fn limit_or_default(&self) -> usize {
        self.limit
            .unwrap_or(crate::queue::DEFAULT_LIST_LIMIT)
            .clamp(1, crate::queue::MAX_LIST_LIMIT)
    }
}

/// One page of webhooks, newest first.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WebhookPage {
    /// The webhooks.
    pub webhooks: Vec<StoredWebhook>,
    /// The cursor for the next page, if there is one: pass it to
    /// [`WebhookQuery::after`].
    pub next: Option<u64>,
}

/// A rotated secret: the new key, shown once, and when the old one stops
/// signing.
#[derive(Debug)]
#[non_exhaustive]
pub struct RotatedSecret {
    hmac_key: HmacKey,
    /// Which webhook.
    pub id: WebhookId,
    /// Until when deliveries also carry a signature with the old key, for
    /// schemes whose header can carry two; `None` when the grace was zero.
    pub previous_expires_at: Option<SystemTime>,
}

impl RotatedSecret {
    pub(super) fn new(
        id: WebhookId,
        hmac_key: HmacKey,
        previous_expires_at: Option<SystemTime>,
    ) -> Self {
        Self {
            hmac_key,
            id,
            previous_expires_at,
        }
    }

    /// The new key, in the form the webhook's scheme shows keys. It is not
    /// stored in the clear and cannot be shown again.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::{Flavour, Keyring, MemoryWebhooks, Owner, SealingKey, WebhookStore};
    /// # use titan_webhooks::subscription::CreateWebhook;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let store = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?)).open().await?;
    /// # let owner = Owner::new("o")?;
    /// # let created = store.create(&owner, &Flavour::titan(), CreateWebhook::new("https://example.com/")).await?;
    /// let rotated = store.rotate_secret(&owner, created.webhook().id(), std::time::Duration::ZERO).await?;
    /// assert_ne!(rotated.hmac_key(), created.hmac_key());
    /// assert!(rotated.previous_expires_at.is_none(), "no grace: the old key is gone at once");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn hmac_key(&self) -> &HmacKey {
        &self.hmac_key
    }
}
