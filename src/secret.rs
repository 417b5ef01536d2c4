//! Key material.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{
    GeneralPurpose, GeneralPurposeConfig, STANDARD, URL_SAFE_NO_PAD,
};
use zeroize::Zeroizing;

/// The prefix of Standard Webhooks (and Svix) secrets.
///
/// ```
/// use titan_webhooks::{Secret, WHSEC_PREFIX};
///
/// let exported = Secret::generate().to_whsec();
/// assert!(exported.starts_with(WHSEC_PREFIX));
/// // Reading it back, the prefix is optional, as in the official libraries.
/// let bare = &exported[WHSEC_PREFIX.len()..];
/// assert_eq!(Secret::from_whsec(bare)?.expose_bytes(), Secret::from_whsec(&exported)?.expose_bytes());
/// # Ok::<(), titan_webhooks::SecretError>(())
/// ```
pub const WHSEC_PREFIX: &str = "whsec_";

/// The shortest decoded key [`Secret::from_whsec`] accepts, in bytes.
///
/// ```
/// use titan_webhooks::{MIN_WHSEC_KEY_LEN, Secret, SecretError};
///
/// let short = Secret::from_bytes([7; MIN_WHSEC_KEY_LEN - 1])?.to_whsec();
/// assert_eq!(Secret::from_whsec(&short).unwrap_err(), SecretError::TooShort { len: 15, min: 16 });
/// let enough = Secret::from_bytes([7; MIN_WHSEC_KEY_LEN])?.to_whsec();
/// assert!(Secret::from_whsec(&enough).is_ok());
/// # Ok::<(), SecretError>(())
/// ```
pub const MIN_WHSEC_KEY_LEN: usize = 16;

/// Standard base64 as the reference libraries read a secret: padding
/// optional, and stray low bits in the last character ignored, as Python's
/// `base64.b64decode` does.
const WHSEC_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// How many random bytes [`Secret::generate`] draws.
const GENERATED_ENTROPY_BYTES: usize = 32;

/// An HMAC key.
///
/// The bytes are zeroed when the value is dropped. `Debug` prints
/// `Secret(***)` and there is no `Display`, so a secret cannot reach a log by
/// accident. It is not `Clone`: copying one is an explicit
/// [`Secret::clone_secret`].
///
/// ```
/// use titan_webhooks::Secret;
///
/// let titan = Secret::from_utf8("your-secret-signing-key")?;
/// let svix = Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// assert_eq!(format!("{titan:?}"), "Secret(***)");
/// assert_eq!(svix.expose_bytes().len(), 24);
/// # Ok::<(), titan_webhooks::SecretError>(())
/// ```
pub struct Secret {
    key: Zeroizing<Box<[u8]>>,
}

impl Secret {
    /// Uses the UTF-8 bytes of `key` as the key, as Titan, GitHub, Stripe
    /// and Eventium do with the secret string they hand out.
    ///
    /// ```
    /// use titan_webhooks::Secret;
    ///
    /// let secret = Secret::from_utf8("whsec_stripe_keeps_the_prefix")?;
    /// assert_eq!(secret.expose_bytes(), b"whsec_stripe_keeps_the_prefix");
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SecretError::Empty`] when `key` is empty.
    pub fn from_utf8(key: &str) -> Result<Self, SecretError> {
        Self::from_bytes(key.as_bytes())
    }

    /// Uses `key` as the key bytes.
    ///
    /// ```
    /// use titan_webhooks::Secret;
    ///
    /// let secret = Secret::from_bytes([0x0b; 20])?;
    /// assert_eq!(secret.expose_bytes(), &[0x0b; 20]);
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SecretError::Empty`] when `key` is empty.
    pub fn from_bytes(key: impl AsRef<[u8]>) -> Result<Self, SecretError> {
        let key = key.as_ref();
        if key.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Self {
            key: Zeroizing::new(key.into()),
        })
    }

    /// Decodes a Standard Webhooks or Svix secret, `whsec_<base64>`.
    ///
    /// It accepts what the official `standardwebhooks` and `svix` libraries
    /// accept: the `whsec_` prefix may be left out and the padding may be
    /// missing. Characters outside the standard base64 alphabet, which
    /// Python's decoder silently skips, are refused: they mean a damaged
    /// copy, and skipping them would key on something else. The key must be
    /// at least [`MIN_WHSEC_KEY_LEN`] bytes.
    ///
    /// Stripe's secrets also start with `whsec_` but are not base64: Stripe
    /// keys on the whole string. Read a secret with [`Scheme::secret`]
    /// (or [`Verifier::from_secret_str`]), which picks the decoding the
    /// scheme uses, rather than calling this directly.
    ///
    /// [`Scheme::secret`]: crate::Scheme::secret
    /// [`Verifier::from_secret_str`]: crate::Verifier::from_secret_str
    ///
    /// ```
    /// use titan_webhooks::{Secret, SecretError};
    ///
    /// let key = Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// // The same key without the prefix.
    /// let bare = Secret::from_whsec("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// assert_eq!(key.expose_bytes(), bare.expose_bytes());
    /// // Unpadded base64 of 16 bytes; padded, it would end in `==`.
    /// assert_eq!(Secret::from_whsec("whsec_AAECAwQFBgcICQoLDA0ODw")?.expose_bytes().len(), 16);
    /// assert_eq!(Secret::from_whsec("whsec_MfKQ 9r8G").unwrap_err(), SecretError::InvalidBase64);
    /// # Ok::<(), SecretError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SecretError::InvalidBase64`] or [`SecretError::TooShort`].
    pub fn from_whsec(secret: &str) -> Result<Self, SecretError> {
        let encoded = secret.strip_prefix(WHSEC_PREFIX).unwrap_or(secret);
        let key = Zeroizing::new(
            WHSEC_BASE64
                .decode(encoded)
                .map_err(|_| SecretError::InvalidBase64)?,
        );
        if key.len() < MIN_WHSEC_KEY_LEN {
            return Err(SecretError::TooShort {
                len: key.len(),
                min: MIN_WHSEC_KEY_LEN,
            });
        }
        Self::from_bytes(&*key)
    }

    /// A new random key from the operating system's CSPRNG.
    ///
    /// The key is the URL-safe base64 text of 32 random bytes (256 bits), 43
    /// printable characters, so it can be handed to a subscriber as a string
    /// (Titan's `hmacKey`) and re-created on their side with
    /// [`Secret::from_utf8`], or exported with [`Secret::to_whsec`].
    ///
    /// ```
    /// use titan_webhooks::Secret;
    ///
    /// let a = Secret::generate();
    /// let b = Secret::generate();
    /// assert_eq!(a.expose_bytes().len(), 43);
    /// assert_ne!(a.expose_bytes(), b.expose_bytes());
    /// ```
    ///
    /// # Panics
    ///
    /// If the operating system's random source fails, which supported
    /// platforms do not do once booted. [`Secret::try_generate`] returns the
    /// failure instead.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn generate() -> Self {
        Self::try_generate().expect("the operating system's random source failed")
    }

    /// Like [`Secret::generate`], but reports a failing random source.
    ///
    /// ```
    /// use titan_webhooks::Secret;
    ///
    /// let secret = Secret::try_generate()?;
    /// let text = secret.expose_str()?;
    /// assert_eq!(text.len(), 43);
    /// assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SecretError::Rng`] when the operating system's random source fails.
    pub fn try_generate() -> Result<Self, SecretError> {
        let mut entropy = Zeroizing::new([0u8; GENERATED_ENTROPY_BYTES]);
        getrandom::fill(&mut *entropy).map_err(|_| SecretError::Rng)?;
        let text = Zeroizing::new(URL_SAFE_NO_PAD.encode(*entropy));
        Self::from_bytes(text.as_bytes())
    }

    /// The key bytes. The name makes every use visible in review.
    ///
    /// ```
    /// use titan_webhooks::Secret;
    ///
    /// // The decoded key, not the text it was given as.
    /// let secret = Secret::from_whsec("whsec_AAECAwQFBgcICQoLDA0ODw==")?;
    /// assert_eq!(secret.expose_bytes(), (0..16).collect::<Vec<u8>>());
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn expose_bytes(&self) -> &[u8] {
        &self.key
    }

    /// The key as text, for secrets that are strings (Titan's `hmacKey`).
    ///
    /// ```
    /// use titan_webhooks::Secret;
    ///
    /// let secret = Secret::from_utf8("my-key")?;
    /// assert_eq!(secret.expose_str()?, "my-key");
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SecretError::NotUtf8`] when the key bytes are not UTF-8.
    pub fn expose_str(&self) -> Result<&str, SecretError> {
        std::str::from_utf8(&self.key).map_err(|_| SecretError::NotUtf8)
    }

    /// The key in Standard Webhooks form, `whsec_<base64>`. Keys shorter
    /// than [`MIN_WHSEC_KEY_LEN`] encode too, but [`Secret::from_whsec`]
    /// refuses them; [`SecretEncoding::reveal`](crate::SecretEncoding::reveal)
    /// checks the length.
    ///
    /// ```
    /// use titan_webhooks::Secret;
    ///
    /// let text = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// assert_eq!(*Secret::from_whsec(text)?.to_whsec(), text);
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn to_whsec(&self) -> Zeroizing<String> {
        let mut out =
            Zeroizing::new(String::with_capacity(WHSEC_PREFIX.len().saturating_add(
                base64::encoded_len(self.key.len(), true).unwrap_or(0),
            )));
        out.push_str(WHSEC_PREFIX);
        STANDARD.encode_string(&*self.key, &mut out);
        out
    }

    /// An explicit copy of the key.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer, Verifier};
    ///
    /// let secret = Secret::from_utf8("shared-key")?;
    /// let signer = Signer::new(Scheme::titan(), secret.clone_secret());
    /// let verifier = Verifier::new(Scheme::titan(), secret);
    /// assert!(verifier.verify(&signer.sign(b"{}"), b"{}").is_ok());
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn clone_secret(&self) -> Self {
        Self {
            key: self.key.clone(),
        }
    }
}

impl TryFrom<&str> for Secret {
    type Error = SecretError;

    /// Same as [`Secret::from_utf8`].
    fn try_from(key: &str) -> Result<Self, Self::Error> {
        Self::from_utf8(key)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A secret could not be built from the given material.
///
/// ```
/// use titan_webhooks::{Secret, SecretError};
///
/// assert_eq!(Secret::from_utf8("").unwrap_err(), SecretError::Empty);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The key is empty.
    #[error("the secret is empty")]
    Empty,
    /// A Standard Webhooks secret, after its optional `whsec_` prefix, is
    /// not standard base64.
    #[error("the secret is not standard base64 (with or without `whsec_`)")]
    InvalidBase64,
    /// The decoded key is shorter than the minimum.
    #[error("the decoded secret is {len} bytes, shorter than the minimum of {min}")]
    TooShort {
        /// The decoded length.
        len: usize,
        /// The minimum length.
        min: usize,
    },
    /// The key bytes are not UTF-8, so they cannot be shown as a string.
    #[error("the secret is not valid UTF-8 text")]
    NotUtf8,
    /// The operating system's random source failed.
    #[error("the operating system's random source failed")]
    Rng,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whsec_reads_what_the_reference_libraries_read() {
        let padded = Secret::from_whsec("whsec_AAECAwQFBgcICQoLDA0ODw==").unwrap();
        for text in [
            "AAECAwQFBgcICQoLDA0ODw==",
            "whsec_AAECAwQFBgcICQoLDA0ODw",
            "whsec_AAECAwQFBgcICQoLDA0ODw=",
            "AAECAwQFBgcICQoLDA0ODw",
            // Low bits past the last byte are ignored, as Python does.
            "whsec_AAECAwQFBgcICQoLDA0ODx",
        ] {
            let key = Secret::from_whsec(text).unwrap();
            assert_eq!(key.expose_bytes(), padded.expose_bytes(), "{text}");
        }
        // The URL-safe alphabet is not the standard one: Python would skip
        // `-` and `_` and key on other bytes.
        assert_eq!(
            Secret::from_whsec("whsec_AAECAwQFBgcICQoLDA0OD-_-").unwrap_err(),
            SecretError::InvalidBase64
        );
        // A repeated prefix is not a prefix plus base64.
        assert_eq!(
            Secret::from_whsec("whsec_whsec_AAECAwQFBgcICQoLDA0ODw").unwrap_err(),
            SecretError::InvalidBase64
        );
    }

    #[test]
    fn whsec_rejects_invalid_and_short_keys() {
        assert_eq!(
            Secret::from_whsec("whsec_not base64!").unwrap_err(),
            SecretError::InvalidBase64
        );
        // 12 bytes decoded.
        assert_eq!(
            Secret::from_whsec("whsec_AAAAAAAAAAAAAAAA").unwrap_err(),
            SecretError::TooShort { len: 12, min: 16 }
        );
        assert_eq!(
            Secret::from_whsec("whsec_").unwrap_err(),
            SecretError::TooShort { len: 0, min: 16 }
        );
    }

    #[test]
    fn whsec_reveal_is_the_inverse_of_parse() {
        use crate::SecretEncoding;
        let short = Secret::from_utf8("short-key").unwrap();
        assert_eq!(
            SecretEncoding::Whsec.reveal(&short).unwrap_err(),
            SecretError::TooShort { len: 9, min: 16 }
        );
        let generated = Secret::generate();
        let shown = SecretEncoding::Whsec.reveal(&generated).unwrap();
        let parsed = SecretEncoding::Whsec.parse(&shown).unwrap();
        assert_eq!(parsed.expose_bytes(), generated.expose_bytes());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let secret = Secret::from_utf8("hunter2-hunter2").unwrap();
        let shown = format!("{secret:?} {secret:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn generated_keys_are_text() {
        let secret = Secret::generate();
        let text = secret.expose_str().unwrap();
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
}
