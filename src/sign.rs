//! Signing of outgoing deliveries.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue};

use crate::clock::{random_id, unix_now};
use crate::header::{HEX_TAG_LEN, Tag, is_valid_message_id};
use crate::mac::{KeyedMac, SignedContent};
use crate::scheme::{DigestEncoding, SignatureFormat};
use crate::{Scheme, Secret};

/// Room for a value's prefix or keys and timestamp, so it is allocated once.
const VALUE_OVERHEAD: usize = 48;

/// Signs bodies with one scheme and one secret, producing the headers to
/// send.
///
/// The key schedule is computed once, here. The signature header is marked
/// sensitive, so `http` masks it in `Debug`.
///
/// ```
/// use titan_webhooks::{Scheme, Secret, Signer};
///
/// let signer = Signer::new(Scheme::titan(), Secret::from_utf8("your-secret-signing-key")?);
/// let headers = signer.sign(br#"{"event":"message.received"}"#);
/// let value = headers["x-webhook-signature"].to_str()?;
/// assert!(value.starts_with("sha256=") && value.len() == 7 + 64);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Signer {
    scheme: Scheme,
    key: KeyedMac,
}

impl Signer {
    /// A signer for `scheme` with `secret`.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let signer = Signer::new(Scheme::titan(), Secret::from_utf8("your-secret-signing-key")?);
    /// let headers = signer.sign(b"{}");
    /// // Masked, so logging the headers does not leak the signature.
    /// assert!(headers["x-webhook-signature"].is_sensitive());
    /// assert!(!format!("{headers:?}").contains("sha256="));
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn new(scheme: Scheme, secret: Secret) -> Self {
        Self {
            key: KeyedMac::new(&secret),
            scheme,
        }
    }

    /// The scheme this signer writes.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let signer = Signer::new(Scheme::stripe(), Secret::from_utf8("whsec_test_secret")?);
    /// assert_eq!(signer.scheme(), &Scheme::stripe());
    /// assert_eq!(signer.scheme().signature_header(), "stripe-signature");
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// Signs `body` at the current time, with a fresh random message id
    /// (`msg_` and 128 random bits) for schemes that sign one.
    ///
    /// ```
    /// use std::time::{SystemTime, UNIX_EPOCH};
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let headers = Signer::new(Scheme::standard_webhooks(), Secret::generate()).sign(b"{}");
    /// let id = headers["webhook-id"].to_str()?;
    /// assert!(id.starts_with("msg_") && id.len() == 4 + 22);
    /// let signed_at: u64 = headers["webhook-timestamp"].to_str()?.parse()?;
    /// assert!(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs().abs_diff(signed_at) < 60);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    ///
    /// For schemes with an id, if the operating system's random source
    /// fails, which supported platforms do not do once booted.
    #[must_use]
    pub fn sign(&self, body: &[u8]) -> HeaderMap {
        let id = self
            .scheme
            .id_header()
            .map_or_else(String::new, |_| random_id("msg_"));
        self.sign_checked(&id, unix_now(), body)
    }

    /// Signs `body` deterministically with message id `id` and timestamp
    /// `timestamp` (unix seconds). Schemes without an id or a timestamp
    /// ignore them; a retry reuses the id and takes a fresh timestamp.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let signer = Signer::new(
    ///     Scheme::standard_webhooks(),
    ///     Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?,
    /// );
    /// let headers = signer.sign_at("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#)?;
    /// assert_eq!(headers["webhook-signature"], "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /// assert_eq!(headers["webhook-timestamp"], "1614265330");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SignError::InvalidId`] when `id` is empty, longer than
    /// [`MAX_ID_LEN`](crate::MAX_ID_LEN), or has a `.` or a byte outside
    /// visible ASCII. The id is checked for every scheme, so a sender's ids
    /// stay valid if it moves to one that signs them.
    pub fn sign_at(&self, id: &str, timestamp: u64, body: &[u8]) -> Result<HeaderMap, SignError> {
        if !is_valid_message_id(id.as_bytes()) {
            return Err(SignError::InvalidId);
        }
        Ok(self.sign_checked(id, timestamp, body))
    }

    fn sign_checked(&self, id: &str, timestamp: u64, body: &[u8]) -> HeaderMap {
        let timestamp_value = HeaderValue::from(timestamp);
        let signed_timestamp = self
            .scheme
            .is_timestamped()
            .then_some(timestamp_value.as_bytes());
        let signed_id = self.scheme.id_header().map(|_| id.as_bytes());
        let tag = self.key.tag(SignedContent {
            id: signed_id,
            timestamp: signed_timestamp,
            body,
        });

        let mut headers = HeaderMap::with_capacity(3);
        let mut signature = header_value(self.signature_value(&tag, timestamp_value.as_bytes()));
        signature.set_sensitive(true);
        headers.insert(self.scheme.signature_header().clone(), signature);
        if let Some(name) = self.scheme.timestamp_header() {
            headers.insert(name.clone(), timestamp_value);
        }
        if let Some(name) = self.scheme.id_header() {
            headers.insert(name.clone(), header_value(id.as_bytes().to_vec()));
        }
        headers
    }

    /// Written piece by piece into one buffer: this runs on every attempt
    /// a dispatcher sends, and `format!` costs more than the HMAC of a
    /// small body.
    fn signature_value(&self, tag: &Tag, timestamp: &[u8]) -> Vec<u8> {
        // Hex is the longer encoding of a tag.
        let mut encoded = [0u8; HEX_TAG_LEN];
        let written = match self.scheme.encoding() {
            DigestEncoding::Hex => const_hex::encode_to_slice(tag, &mut encoded)
                .ok()
                .map(|()| HEX_TAG_LEN),
            DigestEncoding::Base64 => STANDARD.encode_slice(tag, &mut encoded).ok(),
        };
        let digest = written
            .and_then(|len| encoded.get(..len))
            .unwrap_or_default();
        let mut value = Vec::with_capacity(VALUE_OVERHEAD.saturating_add(digest.len()));
        match self.scheme.format() {
            SignatureFormat::Prefixed { prefix, .. } => {
                value.extend_from_slice(prefix.as_bytes());
            }
            SignatureFormat::KeyValue {
                timestamp_key,
                signature_key,
            } => {
                for part in [timestamp_key.as_bytes(), b"=", timestamp, b","] {
                    value.extend_from_slice(part);
                }
                value.extend_from_slice(signature_key.as_bytes());
                value.push(b'=');
            }
            SignatureFormat::VersionedList { version } => {
                value.extend_from_slice(version.as_bytes());
                value.push(b',');
            }
        }
        value.extend_from_slice(digest);
        value
    }
}

/// Every part of a value this module writes is visible ASCII: scheme parts
/// are checked when a scheme is built, digests are hex or base64, ids are
/// checked before signing.
#[allow(clippy::expect_used)]
fn header_value(text: Vec<u8>) -> HeaderValue {
    HeaderValue::try_from(text).expect("signature header parts are visible ASCII")
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("scheme", &self.scheme.name())
            .finish_non_exhaustive()
    }
}

/// A message could not be signed.
///
/// ```
/// use titan_webhooks::{Scheme, Secret, Signer, SignError};
///
/// let signer = Signer::new(Scheme::standard_webhooks(), Secret::generate());
/// let err = signer.sign_at("msg.1", 1_700_000_000, b"{}").unwrap_err();
/// assert_eq!(err, SignError::InvalidId);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The message id is empty, longer than
    /// [`MAX_ID_LEN`](crate::MAX_ID_LEN) bytes, or has a byte outside
    /// visible ASCII or a `.`.
    #[error(
        "the message id must be 1 to {} visible ASCII characters without `.`",
        crate::MAX_ID_LEN
    )]
    InvalidId,
}
