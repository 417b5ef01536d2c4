//! Building a [`Client`]: the base URL, the token, timeouts and retries.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::retry::Retries;
use super::{BearerToken, Client, ClientError, Inner};
use crate::retry::{Backoff, Jitter, RetryPolicy, RetrySchedule};

/// How long connecting may take unless configured: 10 seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one attempt may take, from connecting to the last byte of the
/// answer, unless configured: 30 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest `Retry-After` the client waits out unless configured: 30
/// seconds. A server asking for more gets its error returned at once, with
/// [`ClientError::retry_after`] saying how long it asked for.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// The largest answer read unless configured: 10 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 10 * 1024 * 1024;

const USER_AGENT: &str = concat!("titan-webhooks/", env!("CARGO_PKG_VERSION"));

/// Configures a [`Client`]. Made by [`Client::builder`].
///
/// ```
/// use std::time::Duration;
/// use titan_webhooks::client::{BearerToken, Client};
/// use titan_webhooks::retry::RetrySchedule;
///
/// let client = Client::builder("https://api.titan.example", BearerToken::new("titan_live_123"))
///     .connect_timeout(Duration::from_secs(5))
///     .timeout(Duration::from_secs(20))
///     .retry_schedule(RetrySchedule::explicit([Duration::from_millis(200), Duration::from_secs(1)])?)
///     .build()?;
/// assert_eq!(client.base_url().as_str(), "https://api.titan.example/");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    base_url: String,
    token: BearerToken,
    connect_timeout: Duration,
    timeout: Duration,
    schedule: RetrySchedule,
    max_retry_after: Duration,
    max_response_bytes: usize,
    allow_http: bool,
    user_agent: Option<String>,
}

impl ClientBuilder {
    pub(super) fn new(base_url: &str, token: BearerToken) -> Self {
        Self {
            base_url: base_url.to_owned(),
            token,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            schedule: default_schedule(),
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            allow_http: false,
            user_agent: None,
        }
    }

    /// How long connecting may take. Defaults to
    /// [`DEFAULT_CONNECT_TIMEOUT`], 10 seconds.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use titan_webhooks::client::{BearerToken, Client};
    /// let client = Client::builder("https://api.example.com", BearerToken::new("t"))
    ///     .connect_timeout(Duration::from_secs(2))
    ///     .build()?;
    /// # Ok::<(), titan_webhooks::client::ClientError>(())
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one attempt may take, from connecting to the last byte of
    /// the answer. Defaults to [`DEFAULT_TIMEOUT`], 30 seconds. Retries each
    /// get the whole timeout again.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use titan_webhooks::client::{BearerToken, Client};
    /// let client = Client::builder("https://api.example.com", BearerToken::new("t"))
    ///     .timeout(Duration::from_secs(5))
    ///     .build()?;
    /// # Ok::<(), titan_webhooks::client::ClientError>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The delays between retries of an idempotent request answered `429`
    /// or `503`; the schedule's length is the number of retries. A
    /// `Retry-After` longer than the scheduled delay is waited out instead.
    /// Defaults to two retries, after about 1 and 2 seconds (a
    /// [`RetryPolicy`] of 2 exponential attempts from 1 second, with equal
    /// jitter).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use titan_webhooks::client::{BearerToken, Client};
    /// use titan_webhooks::retry::{Backoff, RetryPolicy, RetrySchedule};
    ///
    /// let five = RetrySchedule::from(RetryPolicy::new(5, 1, Backoff::Exponential)?)
    ///     .with_max_delay(Duration::from_secs(8));
    /// let client = Client::builder("https://api.example.com", BearerToken::new("t"))
    ///     .retry_schedule(five)
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn retry_schedule(mut self, schedule: RetrySchedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Never retries: every `429` and `503` is returned at once.
    ///
    /// ```
    /// # use titan_webhooks::client::{BearerToken, Client};
    /// let client = Client::builder("https://api.example.com", BearerToken::new("t"))
    ///     .no_retries()
    ///     .build()?;
    /// # Ok::<(), titan_webhooks::client::ClientError>(())
    /// ```
    pub fn no_retries(mut self) -> Self {
        // An empty list is always within bounds.
        if let Ok(none) = RetrySchedule::explicit([]) {
            self.schedule = none;
        }
        self
    }

    /// The longest `Retry-After` waited out. A server asking for longer
    /// gets its answer returned as an error at once, with
    /// [`ClientError::retry_after`]. Defaults to
    /// [`DEFAULT_MAX_RETRY_AFTER`], 30 seconds.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use titan_webhooks::client::{BearerToken, Client};
    /// let client = Client::builder("https://api.example.com", BearerToken::new("t"))
    ///     .max_retry_after(Duration::from_secs(120))
    ///     .build()?;
    /// # Ok::<(), titan_webhooks::client::ClientError>(())
    /// ```
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The largest answer read, in bytes; a larger one is
    /// [`ClientError::TooLarge`]. Defaults to
    /// [`DEFAULT_MAX_RESPONSE_BYTES`], 10 MiB.
    ///
    /// ```
    /// # use titan_webhooks::client::{BearerToken, Client};
    /// let client = Client::builder("https://api.example.com", BearerToken::new("t"))
    ///     .max_response_bytes(1024 * 1024)
    ///     .build()?;
    /// # Ok::<(), titan_webhooks::client::ClientError>(())
    /// ```
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// Allows a plain `http` base URL on a host other than loopback, where
    /// the token would cross the network in the clear: for a private
    /// network you trust. Plain `http` to `localhost`, `127.0.0.0/8` and
    /// `::1` is always allowed. Defaults to `false`.
    ///
    /// ```
    /// # use titan_webhooks::client::{BearerToken, Client};
    /// let refused = Client::builder("http://api.internal:8080", BearerToken::new("t")).build();
    /// assert!(refused.is_err());
    /// let allowed = Client::builder("http://api.internal:8080", BearerToken::new("t"))
    ///     .allow_http(true)
    ///     .build();
    /// assert!(allowed.is_ok());
    /// ```
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// The `User-Agent` sent. Defaults to `titan-webhooks/<version>`.
    ///
    /// ```
    /// # use titan_webhooks::client::{BearerToken, Client};
    /// let client = Client::builder("https://api.example.com", BearerToken::new("t"))
    ///     .user_agent("my-service/1.2")
    ///     .build()?;
    /// # Ok::<(), titan_webhooks::client::ClientError>(())
    /// ```
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// The client.
    ///
    /// ```
    /// # use titan_webhooks::client::{BearerToken, Client};
    /// let err = Client::builder("ftp://api.example.com", BearerToken::new("t")).build().unwrap_err();
    /// assert!(err.to_string().contains("http"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::Config`] when the base URL does not parse, is not
    /// `http` or `https`, carries a user name, password, query or fragment,
    /// or is plain `http` to a host other than loopback without
    /// [`allow_http`](Self::allow_http); when the token is empty or holds
    /// characters a header cannot carry; or when the TLS backend cannot
    /// start. [`ClientError::Request`] is not returned here.
    pub fn build(self) -> Result<Client, ClientError> {
        let base = base_url(&self.base_url, self.allow_http)?;
        if self.token.expose().is_empty() {
            return Err(ClientError::config("the bearer token is empty"));
        }
        // Checked once here, so that no request can fail on it later.
        self.token.header()?;
        let http = reqwest::Client::builder()
            .user_agent(self.user_agent.as_deref().unwrap_or(USER_AGENT))
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            // A redirect could carry the request elsewhere; the API has none.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| ClientError::config(format!("the HTTP client cannot start: {err}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                token: self.token,
                retries: Retries::new(self.schedule, self.max_retry_after),
                max_response_bytes: self.max_response_bytes,
                connect_timeout: self.connect_timeout,
                timeout: self.timeout,
            }),
        })
    }
}

/// Two retries, about 1 and 2 seconds apart.
fn default_schedule() -> RetrySchedule {
    RetryPolicy::new(2, 1, Backoff::Exponential)
        .map(RetrySchedule::from)
        .unwrap_or_default()
        .with_jitter(Jitter::Equal)
}

/// The base URL, checked, with a path that ends in `/`.
fn base_url(text: &str, allow_http: bool) -> Result<Url, ClientError> {
    let mut url = Url::parse(text)
        .map_err(|err| ClientError::config(format!("the base URL does not parse: {err}")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http || is_loopback(&url) => {}
        "http" => {
            return Err(ClientError::config(
                "the base URL is plain http to a host other than loopback, where the token \
                 would cross the network in the clear; use https, or allow plain http \
                 explicitly on a network you trust",
            ));
        }
        other => {
            return Err(ClientError::config(format!(
                "the base URL must be http or https, not `{other}`"
            )));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ClientError::config(
            "the base URL carries credentials; the client sends its bearer token instead",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ClientError::config(
            "the base URL has a query or a fragment",
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked_and_end_in_a_slash() {
        assert_eq!(
            base_url("https://api.example.com/v1", false)
                .unwrap()
                .as_str(),
            "https://api.example.com/v1/"
        );
        assert_eq!(
            base_url("http://127.0.0.1:8080", false).unwrap().as_str(),
            "http://127.0.0.1:8080/"
        );
        assert!(base_url("http://[::1]:8080", false).is_ok());
        assert!(base_url("http://localhost:8080", false).is_ok());
        assert!(base_url("http://api.example.com", false).is_err());
        assert!(base_url("http://api.example.com", true).is_ok());
        assert!(base_url("https://user:pw@api.example.com", false).is_err());
        assert!(base_url("https://api.example.com/?token=1", false).is_err());
        assert!(base_url("not a url", false).is_err());
    }

    #[test]
    fn empty_or_unsendable_tokens_are_refused() {
        let empty = Client::builder("https://api.example.com", BearerToken::new("")).build();
        assert!(matches!(empty, Err(ClientError::Config { .. })));
        let newline = Client::builder("https://api.example.com", BearerToken::new("a\nb")).build();
        assert!(matches!(newline, Err(ClientError::Config { .. })));
    }

    #[test]
    fn the_default_schedule_retries_twice_and_no_retries_none() {
        assert_eq!(default_schedule().retries(), 2);
        let builder = Client::builder("https://api.example.com", BearerToken::new("t"));
        assert_eq!(builder.no_retries().schedule.retries(), 0);
    }
}
