//! Secrets at rest: signing keys and custom header values are sealed with
//! XChaCha20-Poly1305 under a key the application supplies.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

/// The text form's prefix: `twk1_<key id>_<32 bytes in URL-safe base64>`.
const TEXT_PREFIX: &str = "twk1_";
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
/// A sealed value: format version, key id, nonce, then ciphertext and tag.
const FORMAT_VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;

/// A key that seals webhook secrets, with the id stored beside each value
/// it seals so the key can be rotated.
///
/// Keep its text form where the application keeps its other secrets (an
/// environment variable filled from a secret manager), never in the
/// database it protects. It never appears in `Debug`.
///
/// ```
/// use titan_webhooks::webhooks::SealingKey;
///
/// let key = SealingKey::generate(1)?;
/// let text = key.to_text();
/// assert!(text.starts_with("twk1_1_"));
/// let again = SealingKey::parse(&text)?;
/// assert_eq!(again.id(), 1);
/// assert_eq!(format!("{again:?}"), "SealingKey { id: 1, .. }");
/// # Ok::<(), titan_webhooks::webhooks::SealingError>(())
/// ```
pub struct SealingKey {
    id: u32,
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl SealingKey {
    /// A new random key with id `id`.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::SealingKey;
    /// assert_eq!(SealingKey::generate(7)?.id(), 7);
    /// # Ok::<(), titan_webhooks::webhooks::SealingError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SealingError::Random`] if the operating system's random source
    /// fails.
    pub fn generate(id: u32) -> Result<Self, SealingError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(key.as_mut_slice()).map_err(|_| SealingError::Random)?;
        Ok(Self { id, key })
    }

    /// A key from its 32 bytes.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::SealingKey;
    /// assert_eq!(SealingKey::from_bytes(3, [7; 32]).id(), 3);
    /// ```
    #[must_use]
    pub fn from_bytes(id: u32, bytes: [u8; KEY_LEN]) -> Self {
        Self {
            id,
            key: Zeroizing::new(bytes),
        }
    }

    /// Reads the text form made by [`SealingKey::to_text`].
    ///
    /// ```
    /// # use titan_webhooks::webhooks::SealingKey;
    /// assert!(SealingKey::parse("twk1_1_short").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`SealingError::InvalidKeyText`] for anything else. The message
    /// never repeats the text.
    pub fn parse(text: &str) -> Result<Self, SealingError> {
        let rest = text
            .trim()
            .strip_prefix(TEXT_PREFIX)
            .ok_or(SealingError::InvalidKeyText)?;
        let (id, encoded) = rest.split_once('_').ok_or(SealingError::InvalidKeyText)?;
        let id: u32 = id.parse().map_err(|_| SealingError::InvalidKeyText)?;
        let decoded = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(encoded)
                .map_err(|_| SealingError::InvalidKeyText)?,
        );
        let bytes: [u8; KEY_LEN] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| SealingError::InvalidKeyText)?;
        Ok(Self::from_bytes(id, bytes))
    }

    /// Reads the key from the environment variable `var`, where a sender
    /// keeps it (filled from its secret manager), so the key is never on a
    /// command line or in the database it protects.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::SealingKey;
    /// let err = SealingKey::from_env("TITAN_WEBHOOKS_NO_SUCH_VARIABLE").unwrap_err();
    /// assert!(err.to_string().contains("is not set"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`SealingError::KeyNotSet`] when the variable is unset or empty, and
    /// [`SealingError::InvalidKeyText`] when it holds something else.
    pub fn from_env(var: &str) -> Result<Self, SealingError> {
        let text = Zeroizing::new(std::env::var(var).unwrap_or_default());
        if text.trim().is_empty() {
            return Err(SealingError::KeyNotSet {
                var: var.chars().take(128).collect(),
            });
        }
        Self::parse(&text)
    }

    /// The text form, `twk1_<id>_<key>`, to keep in a secret manager.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::SealingKey;
    /// let text = SealingKey::from_bytes(2, [0; 32]).to_text();
    /// assert_eq!(text.len(), "twk1_2_".len() + 43);
    /// ```
    #[must_use]
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(format!("{TEXT_PREFIX}{}_", self.id));
        URL_SAFE_NO_PAD.encode_string(self.key.as_slice(), &mut text);
        text
    }

    /// The key's id, stored with every value it seals.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::SealingKey;
    /// assert_eq!(SealingKey::from_bytes(9, [0; 32]).id(), 9);
    /// ```
    #[must_use]
    pub fn id(&self) -> u32 {
        self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&(*self.key).into())
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The keys a store seals and opens with: the current key seals, and any
/// key opens what it sealed. To rotate the application key, make the new
/// key current and keep the old one as retired: values sealed under it
/// still open, and each is sealed under the new key when it is next
/// written. Keep a retired key until nothing is sealed under it.
///
/// ```
/// use titan_webhooks::webhooks::{Keyring, SealingKey};
///
/// let old = SealingKey::generate(1)?;
/// let keyring = Keyring::new(SealingKey::generate(2)?).with_retired(old);
/// assert_eq!(keyring.current_id(), 2);
/// # Ok::<(), titan_webhooks::webhooks::SealingError>(())
/// ```
#[derive(Debug)]
pub struct Keyring {
    current: SealingKey,
    retired: Vec<SealingKey>,
}

impl Keyring {
    /// A keyring sealing with `current`.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::{Keyring, SealingKey};
    /// assert_eq!(Keyring::new(SealingKey::from_bytes(4, [1; 32])).current_id(), 4);
    /// ```
    #[must_use]
    pub fn new(current: SealingKey) -> Self {
        Self {
            current,
            retired: Vec::new(),
        }
    }

    /// Also opens values sealed under `key`, a key no longer current.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::{Keyring, SealingKey};
    /// let keyring = Keyring::new(SealingKey::from_bytes(2, [2; 32]))
    ///     .with_retired(SealingKey::from_bytes(1, [1; 32]));
    /// assert_eq!(keyring.current_id(), 2);
    /// ```
    #[must_use]
    pub fn with_retired(mut self, key: SealingKey) -> Self {
        self.retired.push(key);
        self
    }

    /// The id of the key new values are sealed under.
    ///
    /// ```
    /// # use titan_webhooks::webhooks::{Keyring, SealingKey};
    /// assert_eq!(Keyring::new(SealingKey::from_bytes(5, [0; 32])).current_id(), 5);
    /// ```
    #[must_use]
    pub fn current_id(&self) -> u32 {
        self.current.id
    }

    /// Seals `plaintext`, bound to `context` (the owner and field it
    /// belongs to), so a sealed value moved to another owner's row, or to
    /// another field, does not open.
    pub(crate) fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, SealingError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SealingError::Random)?;
        let ciphertext = self
            .current
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| SealingError::Corrupt)?;
        let mut sealed = Vec::with_capacity(HEADER_LEN.saturating_add(ciphertext.len()));
        sealed.push(FORMAT_VERSION);
        sealed.extend_from_slice(&self.current.id.to_be_bytes());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens a value [`Keyring::seal`] made with the same `context`.
    pub(crate) fn open(
        &self,
        sealed: &[u8],
        context: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SealingError> {
        let key_id = sealed_key_id(sealed).ok_or(SealingError::Corrupt)?;
        let (nonce, ciphertext) = sealed
            .get(5..HEADER_LEN)
            .zip(sealed.get(HEADER_LEN..))
            .ok_or(SealingError::Corrupt)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealingError::Corrupt)?;
        let key = std::iter::once(&self.current)
            .chain(&self.retired)
            .find(|key| key.id == key_id)
            .ok_or(SealingError::MissingKey { key_id })?;
        key.cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealingError::WrongKey { key_id })
    }

    /// Whether the keyring holds a key with id `key_id`.
    pub(crate) fn has_key(&self, key_id: u32) -> bool {
        self.current.id == key_id || self.retired.iter().any(|key| key.id == key_id)
    }
}

/// The id of the key a sealed value was sealed under.
pub(crate) fn sealed_key_id(sealed: &[u8]) -> Option<u32> {
    let (&version, rest) = sealed.split_first()?;
    let id: [u8; 4] = rest.get(..4)?.try_into().ok()?;
    (version == FORMAT_VERSION).then(|| u32::from_be_bytes(id))
}

/// Why a secret could not be sealed or opened. Messages never carry key
/// material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealingError {
    /// The environment variable that should hold the sealing key is unset
    /// or empty.
    #[error(
        "{var} is not set: webhook secrets are sealed under a key the application supplies. Generate one once with `cargo run --example sealing_key --features queue` (or SealingKey::generate), keep it in your secret manager, and give it to every sender process in {var}"
    )]
    KeyNotSet {
        /// The variable's name.
        var: String,
    },
    /// The text is not a sealing key made by [`SealingKey::to_text`].
    #[error("not a sealing key: expected `twk1_<id>_<43 characters of base64>`")]
    InvalidKeyText,
    /// A value was sealed under a key the keyring does not hold.
    #[error(
        "a secret is sealed under key {key_id}, which the keyring does not hold; add it with Keyring::with_retired"
    )]
    MissingKey {
        /// The id stored with the value.
        key_id: u32,
    },
    /// The keyring's key with this id did not open the value: the key is
    /// not the one the store was sealed with, or the value was altered.
    #[error(
        "key {key_id} does not open this store's secrets: it is not the key they were sealed with"
    )]
    WrongKey {
        /// The key's id.
        key_id: u32,
    },
    /// A stored value is not in the sealed format.
    #[error("a sealed secret is damaged")]
    Corrupt,
    /// The operating system's random source failed.
    #[error("the operating system's random source failed")]
    Random,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(id: u32, byte: u8) -> Keyring {
        Keyring::new(SealingKey::from_bytes(id, [byte; 32]))
    }

    #[test]
    fn sealed_values_open_with_the_same_key_and_context_only() {
        let keyring = ring(1, 7);
        let sealed = keyring.seal(b"hmac key", b"acct_1/secret").unwrap();
        assert!(!sealed.windows(8).any(|w| w == b"hmac key"));
        assert_eq!(
            &*keyring.open(&sealed, b"acct_1/secret").unwrap(),
            b"hmac key"
        );
        assert_eq!(
            keyring.open(&sealed, b"acct_2/secret"),
            Err(SealingError::WrongKey { key_id: 1 })
        );
        assert_eq!(
            ring(1, 8).open(&sealed, b"acct_1/secret"),
            Err(SealingError::WrongKey { key_id: 1 })
        );
        assert_eq!(
            ring(2, 7).open(&sealed, b"acct_1/secret"),
            Err(SealingError::MissingKey { key_id: 1 })
        );
    }

    #[test]
    fn retired_keys_open_what_they_sealed() {
        let sealed = ring(1, 1).seal(b"x", b"c").unwrap();
        let rotated = ring(2, 2).with_retired(SealingKey::from_bytes(1, [1; 32]));
        assert_eq!(&*rotated.open(&sealed, b"c").unwrap(), b"x");
        assert_eq!(sealed_key_id(&rotated.seal(b"x", b"c").unwrap()), Some(2));
    }

    #[test]
    fn damaged_values_are_errors_not_panics() {
        let keyring = ring(1, 1);
        for bytes in [&[][..], &[1], &[1, 0, 0, 0, 1], &[2; 60]] {
            assert!(keyring.open(bytes, b"c").is_err());
        }
    }

    #[test]
    fn key_text_round_trips_and_refuses_junk() {
        let key = SealingKey::from_bytes(12, [9; 32]);
        let parsed = SealingKey::parse(&key.to_text()).unwrap();
        assert_eq!((parsed.id(), *parsed.key), (12, [9; 32]));
        for junk in ["", "twk1_", "twk1_x_AAAA", "twk2_1_AAAA", "twk1_1_AAAA"] {
            assert_eq!(
                SealingKey::parse(junk).unwrap_err(),
                SealingError::InvalidKeyText
            );
        }
    }
}
