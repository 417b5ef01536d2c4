//! A typed async client for the management APIs of Titan, Eventium and
//! TitanX (feature `client`): the same routes [`server`](crate::server)
//! serves, read and written with the same JSON types from
//! [`subscription`](crate::subscription), so the two cannot drift apart.
//!
//! A [`Client`] holds the base URL, the bearer token, timeouts and retries;
//! [`Client::titan`], [`Client::eventium`] and [`Client::titanx`] give each
//! flavour's operations:
//!
//! | flavour | operations |
//! |---|---|
//! | [`TitanClient`] (seeds 000, 001) | create, list, get, update (`PUT`), delete |
//! | [`EventiumClient`] (seed 003) | endpoints: create, list (a page, or every one as a [`PageStream`]), get, update (`PATCH`), delete, rotate the secret; deliveries: list, stream, redeliver; send a test event; the event catalog |
//! | [`TitanXClient`] (seed 002) | create, list, get, delete |
//!
//! ```no_run
//! use futures_util::TryStreamExt as _;
//! use titan_webhooks::client::{BearerToken, Client};
//! use titan_webhooks::subscription::CreateWebhook;
//!
//! # async fn run() -> Result<(), titan_webhooks::client::ClientError> {
//! let client = Client::new(
//!     "https://api.titan.example",
//!     BearerToken::from_env("TITAN_WEBHOOKS_TOKEN")?,
//! )?;
//!
//! let mut request = CreateWebhook::new("https://myapp.example/webhooks/titan");
//! request.events = Some(vec!["message.received".into(), "session.status".into()]);
//! let created = client.titan().create(&request).await?;
//! // Shown only in this answer: store it now.
//! let key = created.hmac_key().expose();
//! # let _ = key;
//!
//! let endpoints: Vec<_> = client.eventium().endpoints().try_collect().await?;
//! # let _ = endpoints;
//! # Ok(())
//! # }
//! ```
//!
//! # Timeouts
//!
//! Connecting may take [`DEFAULT_CONNECT_TIMEOUT`] (10 s) and each attempt,
//! from connecting to the answer's last byte, [`DEFAULT_TIMEOUT`] (30 s);
//! [`ClientBuilder::connect_timeout`] and [`ClientBuilder::timeout`] change
//! them. A slow server gives [`ClientError::Timeout`].
//!
//! # Retries
//!
//! Answers of `429 Too Many Requests` and `503 Service Unavailable` are
//! retried for the methods HTTP defines as idempotent, on the crate's own
//! [`retry`](crate::retry) calculators: a [`RetrySchedule`](crate::retry::RetrySchedule)
//! (two retries, about 1 and 2 seconds apart, by default) lengthened to the
//! server's `Retry-After` up to [`ClientBuilder::max_retry_after`] (30 s by
//! default; a server asking for longer gets its error back at once, with
//! [`ClientError::retry_after`]).
//!
//! | method | used for | retried on 429 and 503 |
//! |---|---|---|
//! | `GET` | list, get | yes |
//! | `PUT` | Titan's update: it sets the fields it names | yes |
//! | `DELETE` | delete: a repeat finds it gone (`404`) | yes |
//! | `PATCH` | Eventium's update | no: each one announces `webhook.endpoint.updated` |
//! | `POST` | create, rotate, redeliver, test | never: a repeat would create twice, or lose a rotated secret |
//!
//! Nothing else is retried: not other statuses, and not network failures,
//! which may have reached the server.
//!
//! # Errors
//!
//! Every operation returns [`ClientError`]. An error answer in the API's
//! shape, `{"error": {"code", "message", "field"}}`, gives
//! [`ClientError::Api`] with the status, the server's stable code and the
//! field at fault. Any other error answer (a proxy's HTML page, an empty
//! `502`) gives [`ClientError::Status`]; a successful answer that is not the
//! documented JSON (HTML, a truncated or reshaped body) gives
//! [`ClientError::InvalidBody`], never a panic. The bearer token is in no
//! error and no `Debug` output.

mod builder;
mod error;
mod eventium;
mod pagination;
mod request;
mod retry;
mod titan;
mod titanx;
mod token;

use std::sync::Arc;
use std::time::Duration;

use url::Url;

pub use builder::{
    ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_RETRY_AFTER,
    DEFAULT_TIMEOUT,
};
pub use error::ClientError;
pub use eventium::{DeliveryFilter, EventiumClient, PageRequest};
pub use pagination::PageStream;
pub use titan::TitanClient;
pub use titanx::TitanXClient;
pub use token::BearerToken;

use retry::Retries;

/// A client for a management API at one base URL with one bearer token.
/// Cloning is cheap and shares the connection pool.
///
/// ```
/// use titan_webhooks::client::{BearerToken, Client};
///
/// let client = Client::new("https://api.titan.example", BearerToken::new("titan_live_123"))?;
/// assert!(!format!("{client:?}").contains("titan_live_123"));
/// # Ok::<(), titan_webhooks::client::ClientError>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    token: BearerToken,
    retries: Retries,
    max_response_bytes: usize,
    connect_timeout: Duration,
    timeout: Duration,
}

impl Client {
    /// A client for the API at `base_url` (for example
    /// `https://api.titan.example`; the API's paths go below it) with the
    /// defaults of [`ClientBuilder`].
    ///
    /// ```
    /// use titan_webhooks::client::{BearerToken, Client};
    ///
    /// let client = Client::new("http://127.0.0.1:8080", BearerToken::new("t"))?;
    /// assert_eq!(client.base_url().port(), Some(8080));
    /// # Ok::<(), titan_webhooks::client::ClientError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::build`].
    pub fn new(base_url: &str, token: BearerToken) -> Result<Self, ClientError> {
        Self::builder(base_url, token).build()
    }

    /// A builder for a client for the API at `base_url`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::client::{BearerToken, Client};
    ///
    /// let client = Client::builder("https://api.titan.example", BearerToken::new("t"))
    ///     .timeout(Duration::from_secs(10))
    ///     .build()?;
    /// # Ok::<(), titan_webhooks::client::ClientError>(())
    /// ```
    pub fn builder(base_url: &str, token: BearerToken) -> ClientBuilder {
        ClientBuilder::new(base_url, token)
    }

    /// The base URL, ending in `/`.
    ///
    /// ```
    /// use titan_webhooks::client::{BearerToken, Client};
    ///
    /// let client = Client::new("https://api.example.com/v1", BearerToken::new("t"))?;
    /// assert_eq!(client.base_url().as_str(), "https://api.example.com/v1/");
    /// # Ok::<(), titan_webhooks::client::ClientError>(())
    /// ```
    #[must_use]
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// Titan's operations (seeds 000, 001), under `/api/webhooks`.
    ///
    /// ```
    /// use titan_webhooks::client::{BearerToken, Client};
    ///
    /// let titan = Client::new("https://api.titan.example", BearerToken::new("t"))?.titan();
    /// # let _ = titan;
    /// # Ok::<(), titan_webhooks::client::ClientError>(())
    /// ```
    #[must_use]
    pub fn titan(&self) -> TitanClient {
        TitanClient::new(self.clone())
    }

    /// Eventium's operations (seed 003), under `/api/webhooks/endpoints`,
    /// `/deliveries`, `/test` and `/events`.
    ///
    /// ```
    /// use titan_webhooks::client::{BearerToken, Client};
    ///
    /// let eventium = Client::new("https://api.eventium.example", BearerToken::new("t"))?.eventium();
    /// # let _ = eventium;
    /// # Ok::<(), titan_webhooks::client::ClientError>(())
    /// ```
    #[must_use]
    pub fn eventium(&self) -> EventiumClient {
        EventiumClient::new(self.clone())
    }

    /// TitanX's operations (seed 002), under `/api/public/v2/webhooks`.
    ///
    /// ```
    /// use titan_webhooks::client::{BearerToken, Client};
    ///
    /// let titanx = Client::new("https://app.titanx.example", BearerToken::new("t"))?.titanx();
    /// # let _ = titanx;
    /// # Ok::<(), titan_webhooks::client::ClientError>(())
    /// ```
    #[must_use]
    pub fn titanx(&self) -> TitanXClient {
        TitanXClient::new(self.clone())
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("token", &self.inner.token)
            .field("connect_timeout", &self.inner.connect_timeout)
            .field("timeout", &self.inner.timeout)
            .field("max_response_bytes", &self.inner.max_response_bytes)
            .finish_non_exhaustive()
    }
}
