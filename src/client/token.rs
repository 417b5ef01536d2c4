//! The bearer token, held as a secret.

use std::fmt;

use http::HeaderValue;
use zeroize::Zeroizing;

use super::ClientError;

/// The bearer token the client sends in `Authorization`.
///
/// The text is zeroed when dropped, `Debug` prints `BearerToken(***)`, there
/// is no `Display`, and no [`ClientError`] ever holds it. Each request's
/// header is marked sensitive, so it is masked in `Debug` output of the
/// request too. It is not `Clone`: a [`Client`](super::Client) shares one.
///
/// ```
/// use titan_webhooks::client::BearerToken;
///
/// let token = BearerToken::new("titan_live_123");
/// assert_eq!(format!("{token:?}"), "BearerToken(***)");
/// assert_eq!(token.expose(), "titan_live_123");
/// ```
pub struct BearerToken(Zeroizing<String>);

impl BearerToken {
    /// Wraps `token`, without the `Bearer ` prefix.
    ///
    /// ```
    /// use titan_webhooks::client::BearerToken;
    ///
    /// assert_eq!(BearerToken::new("t").expose(), "t");
    /// ```
    pub fn new(token: impl Into<String>) -> Self {
        Self(Zeroizing::new(token.into()))
    }

    /// Reads the token from the environment variable `var`, for example
    /// `TITAN_WEBHOOKS_TOKEN`: tokens do not belong on command lines or in
    /// source code.
    ///
    /// ```
    /// use titan_webhooks::client::BearerToken;
    ///
    /// let err = BearerToken::from_env("SURELY_NOT_SET_ANYWHERE_42").unwrap_err();
    /// assert!(err.to_string().contains("SURELY_NOT_SET_ANYWHERE_42"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::Config`] when the variable is not set, is empty or is
    /// not UTF-8.
    pub fn from_env(var: &str) -> Result<Self, ClientError> {
        match std::env::var(var) {
            Ok(token) if !token.is_empty() => Ok(Self::new(token)),
            Ok(_) => Err(ClientError::config(format!(
                "the environment variable `{var}` is empty"
            ))),
            Err(std::env::VarError::NotPresent) => Err(ClientError::config(format!(
                "the environment variable `{var}` is not set"
            ))),
            Err(std::env::VarError::NotUnicode(_)) => Err(ClientError::config(format!(
                "the environment variable `{var}` is not valid UTF-8"
            ))),
        }
    }

    /// The token's text. The name makes every use visible in review.
    ///
    /// ```
    /// use titan_webhooks::client::BearerToken;
    ///
    /// assert_eq!(BearerToken::new("abc").expose().len(), 3);
    /// ```
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The `Authorization` value, marked sensitive.
    pub(super) fn header(&self) -> Result<HeaderValue, ClientError> {
        let value = Zeroizing::new(format!("Bearer {}", self.expose()));
        let mut header = HeaderValue::from_str(&value).map_err(|_| {
            ClientError::config(
                "the bearer token holds characters a header cannot carry (control characters or non-ASCII)",
            )
        })?;
        header.set_sensitive(true);
        Ok(header)
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_sensitive_and_control_characters_are_refused() {
        let header = BearerToken::new("abc").header().unwrap();
        assert!(header.is_sensitive());
        assert_eq!(header.to_str().unwrap(), "Bearer abc");
        let err = BearerToken::new("line\nbreak").header().unwrap_err();
        assert!(!err.to_string().contains("line"));
    }
}
