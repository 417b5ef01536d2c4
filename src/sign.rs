//! Signing of outgoing deliveries.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue};

use crate::clock::{random_id, unix_now};
use crate::header::{HEX_TAG_LEN, Tag, is_valid_message_id};
use crate::mac::{KeyedMac, SignedContent};
use crate::scheme::{DigestEncoding, SignatureFormat};
use crate::{Scheme, Secret};

/// Signs bodies with one scheme and one secret, producing the headers to
/// send. During a secret rotation it can also sign with the previous secret
/// for a while; see [`Signer::with_previous`].
///
/// The key schedule of each secret is computed once, here. The signature
/// header is marked sensitive, so `http` masks it in `Debug`, and the
/// signer's own `Debug` shows no key material.
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
    previous: Option<PreviousKey>,
}

/// The secret being rotated out, and until when it still signs.
#[derive(Clone)]
struct PreviousKey {
    key: KeyedMac,
    /// The end of the grace period as time since the unix epoch; zero when
    /// it is earlier than the epoch, so that no timestamp is before it.
    expires_at: Duration,
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
            previous: None,
        }
    }

    /// A signer for `scheme` keyed by the secret string handed to the
    /// subscriber, read as the scheme reads it ([`Scheme::secret`]).
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Signer};
    ///
    /// let signer = Signer::from_secret_str(Scheme::standard_webhooks(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// let headers = signer.sign_at("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#)?;
    /// assert_eq!(headers["webhook-signature"], "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The [`SecretError`](crate::SecretError) of [`Scheme::secret`].
    pub fn from_secret_str(scheme: Scheme, secret: &str) -> Result<Self, crate::SecretError> {
        let secret = scheme.secret(secret)?;
        Ok(Self::new(scheme, secret))
    }

    /// Also signs with `previous`, the secret being rotated out, for every
    /// signature whose signing timestamp is strictly before `expires_at`:
    /// the `timestamp` given to [`sign_at`](Self::sign_at), or the current
    /// time for [`sign`](Self::sign). A receiver that knows only the old
    /// secret and one that already knows only the new secret both verify
    /// during this grace period, so each can switch when it is ready.
    ///
    /// Where the scheme's header carries several signatures
    /// ([`supports_several_signatures`](Self::supports_several_signatures)),
    /// the new signature comes first, then the old one:
    ///
    /// - key-value schemes (Eventium, Stripe): `t=<ts>,v1=<new>,v1=<old>`;
    /// - versioned-list schemes (Standard Webhooks): `v1,<new> v1,<old>`.
    ///
    /// From `expires_at` on, only the new secret signs. Calling this again
    /// replaces the previous secret and its expiry.
    ///
    /// Prefixed schemes (Titan, TitanX, GitHub and custom
    /// [`prefix`](crate::SchemeBuilder::prefix) schemes) carry exactly one
    /// digest, so there is no grace period: `previous` is dropped and the
    /// new secret takes effect at once, as Titan documents for a new
    /// `hmacKey`. Receivers of those schemes rotate on their side, with
    /// [`Verifier::with_secret`](crate::Verifier::with_secret).
    ///
    /// ```
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    /// use titan_webhooks::{Scheme, Secret, Signer, Verifier};
    ///
    /// let signed_at = 1_700_000_000;
    /// let expires_at = UNIX_EPOCH + Duration::from_secs(signed_at + 86_400);
    /// let signer = Signer::new(Scheme::stripe(), Secret::from_utf8("whsec_new")?)
    ///     .with_previous(Secret::from_utf8("whsec_old")?, expires_at);
    /// let headers = signer.sign_at("unused", signed_at, b"{}")?;
    /// assert_eq!(headers["stripe-signature"].to_str()?.matches(",v1=").count(), 2);
    ///
    /// // A receiver still on the old secret and one already on the new one both accept.
    /// for key in ["whsec_old", "whsec_new"] {
    ///     let verifier = Verifier::new(Scheme::stripe(), Secret::from_utf8(key)?);
    ///     assert!(verifier.verify_at(&headers, b"{}", signed_at).is_ok());
    /// }
    ///
    /// // Titan's header holds one digest: the new secret signs at once.
    /// let titan = Signer::new(Scheme::titan(), Secret::from_utf8("new")?)
    ///     .with_previous(Secret::from_utf8("old")?, SystemTime::now() + Duration::from_secs(3600));
    /// let headers = titan.sign(b"{}");
    /// let old_only = Verifier::new(Scheme::titan(), Secret::from_utf8("old")?);
    /// assert!(old_only.verify(&headers, b"{}").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_previous(mut self, previous: Secret, expires_at: SystemTime) -> Self {
        if !self.supports_several_signatures() {
            return self;
        }
        self.previous = Some(PreviousKey {
            key: KeyedMac::new(&previous),
            expires_at: expires_at
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO),
        });
        self
    }

    /// Whether this signer's scheme can carry several signatures in its
    /// header, so that [`with_previous`](Self::with_previous) signs with
    /// both secrets during the grace period. True for key-value
    /// (Eventium, Stripe) and versioned-list (Standard Webhooks) schemes,
    /// false for prefixed ones (Titan, TitanX, GitHub), whose header holds
    /// one digest.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let several = |scheme| Signer::new(scheme, Secret::generate()).supports_several_signatures();
    /// assert!(several(Scheme::eventium()));
    /// assert!(several(Scheme::stripe()));
    /// assert!(several(Scheme::standard_webhooks()));
    /// assert!(!several(Scheme::titan()));
    /// assert!(!several(Scheme::titanx()));
    /// assert!(!several(Scheme::github()));
    /// ```
    #[must_use]
    pub fn supports_several_signatures(&self) -> bool {
        match self.scheme.format() {
            SignatureFormat::Prefixed { .. } => false,
            SignatureFormat::KeyValue { .. } | SignatureFormat::VersionedList { .. } => true,
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
    /// let signer = Signer::from_secret_str(
    ///     Scheme::standard_webhooks(),
    ///     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    /// )?;
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
        let content = SignedContent {
            id: signed_id,
            timestamp: signed_timestamp,
            body,
        };
        let tag = self.key.tag(content);
        let previous_tag = self
            .previous
            .as_ref()
            .filter(|previous| Duration::from_secs(timestamp) < previous.expires_at)
            .map(|previous| previous.key.tag(content));

        let mut headers = HeaderMap::with_capacity(3);
        let mut signature = header_value(self.signature_value(
            &tag,
            previous_tag.as_ref(),
            timestamp_value.as_bytes(),
        ));
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

    /// Written piece by piece into one buffer of the exact length: this
    /// runs on every attempt a dispatcher sends, and `format!` costs more
    /// than the HMAC of a small body. An exact capacity also lets `http`
    /// take the buffer over without a second allocation.
    ///
    /// `previous` is the old secret's tag during a rotation; prefixed
    /// formats hold one digest and never get one.
    fn signature_value(&self, tag: &Tag, previous: Option<&Tag>, timestamp: &[u8]) -> Vec<u8> {
        let mut encoded = [0u8; HEX_TAG_LEN];
        let digest = self.encode(tag, &mut encoded);
        let mut encoded_previous = [0u8; HEX_TAG_LEN];
        let previous = previous.map(|tag| self.encode(tag, &mut encoded_previous));
        let pieces: &[&[u8]] = match (self.scheme.format(), previous) {
            (SignatureFormat::Prefixed { prefix, .. }, _) => &[prefix.as_bytes(), digest],
            (
                SignatureFormat::KeyValue {
                    timestamp_key,
                    signature_key,
                },
                None,
            ) => &[
                timestamp_key.as_bytes(),
                b"=",
                timestamp,
                b",",
                signature_key.as_bytes(),
                b"=",
                digest,
            ],
            (
                SignatureFormat::KeyValue {
                    timestamp_key,
                    signature_key,
                },
                Some(previous),
            ) => &[
                timestamp_key.as_bytes(),
                b"=",
                timestamp,
                b",",
                signature_key.as_bytes(),
                b"=",
                digest,
                b",",
                signature_key.as_bytes(),
                b"=",
                previous,
            ],
            (SignatureFormat::VersionedList { version }, None) => {
                &[version.as_bytes(), b",", digest]
            }
            (SignatureFormat::VersionedList { version }, Some(previous)) => &[
                version.as_bytes(),
                b",",
                digest,
                b" ",
                version.as_bytes(),
                b",",
                previous,
            ],
        };
        let len = pieces
            .iter()
            .fold(0usize, |len, piece| len.saturating_add(piece.len()));
        let mut value = Vec::with_capacity(len);
        for piece in pieces {
            value.extend_from_slice(piece);
        }
        value
    }

    /// `tag` in the scheme's encoding, written into `buffer`.
    fn encode<'b>(&self, tag: &Tag, buffer: &'b mut [u8; HEX_TAG_LEN]) -> &'b [u8] {
        // Hex is the longer encoding of a tag.
        let written = match self.scheme.encoding() {
            DigestEncoding::Hex => const_hex::encode_to_slice(tag, buffer)
                .ok()
                .map(|()| HEX_TAG_LEN),
            DigestEncoding::Base64 => STANDARD.encode_slice(tag, buffer).ok(),
        };
        written
            .and_then(|len| buffer.get(..len))
            .unwrap_or_default()
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
            .field("rotating", &self.previous.is_some())
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
