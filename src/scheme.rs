//! Signature schemes: where the signature travels, how it is written and
//! what it covers.
//!
//! Every scheme here signs with HMAC-SHA256. The signed content is the body,
//! preceded by the timestamp and then the message id when the scheme has
//! them, each followed by `.`: `[<id>.][<timestamp>.]<body>`.

use std::borrow::Cow;
use std::fmt;

use http::{HeaderMap, HeaderName};

use crate::{Secret, SecretError};

/// How digests are written in the signature header.
///
/// ```
/// use titan_webhooks::{DigestEncoding, RawHeaders, Scheme, Secret, Verifier};
///
/// assert_eq!(Scheme::github().encoding(), DigestEncoding::Hex);
/// let secret = Secret::from_utf8("It's a Secret to Everybody")?;
/// let verifier = Verifier::new(Scheme::github(), secret);
/// let upper = "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17";
/// assert!(verifier.verify_raw(RawHeaders::new(upper), b"Hello, World!").is_ok());
/// # Ok::<(), titan_webhooks::SecretError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DigestEncoding {
    /// Lowercase hex when signing; either case is accepted when verifying.
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// How the signature header's value is laid out.
///
/// ```
/// use titan_webhooks::{Scheme, SignatureFormat};
///
/// assert_eq!(
///     *Scheme::stripe().format(),
///     SignatureFormat::KeyValue { timestamp_key: "t".into(), signature_key: "v1".into() },
/// );
/// assert_eq!(
///     *Scheme::standard_webhooks().format(),
///     SignatureFormat::VersionedList { version: "v1".into() },
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureFormat {
    /// One digest after a prefix: `sha256=<digest>`.
    Prefixed {
        /// The prefix, for example `sha256=`.
        prefix: Cow<'static, str>,
        /// Whether a bare digest without the prefix is accepted too.
        prefix_optional: bool,
    },
    /// Comma-separated `key=value` entries carrying the timestamp and any
    /// number of signatures: `t=<unix>,v1=<digest>,v1=<digest>`.
    /// Entries with other keys are ignored.
    KeyValue {
        /// The key of the timestamp entry, for example `t`.
        timestamp_key: Cow<'static, str>,
        /// The key of signature entries, for example `v1`.
        signature_key: Cow<'static, str>,
    },
    /// Space-separated `version,digest` entries: `v1,<digest> v1,<digest>`.
    /// Entries of other versions are ignored.
    VersionedList {
        /// The version of signature entries, for example `v1`.
        version: Cow<'static, str>,
    },
}

/// How a subscriber's secret string maps to key bytes.
///
/// ```
/// use titan_webhooks::{SecretEncoding, SecretError};
///
/// let text = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// // Stripe keys on the whole string; Standard Webhooks on the bytes it encodes.
/// assert_eq!(SecretEncoding::Utf8.parse(text)?.expose_bytes().len(), 38);
/// assert_eq!(SecretEncoding::Whsec.parse(text)?.expose_bytes().len(), 24);
/// assert_eq!(SecretEncoding::Whsec.parse("key").unwrap_err(), SecretError::TooShort { len: 2, min: 16 });
/// # Ok::<(), SecretError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretEncoding {
    /// The key is the UTF-8 bytes of the string ([`Secret::from_utf8`]).
    Utf8,
    /// The string is `whsec_<base64>`, prefix and padding optional, and the
    /// key is the decoded bytes ([`Secret::from_whsec`]).
    Whsec,
}

impl SecretEncoding {
    /// Builds the key a subscriber's secret string stands for.
    ///
    /// ```
    /// use titan_webhooks::Scheme;
    ///
    /// let secret = Scheme::stripe().secret_encoding().parse("whsec_abc")?;
    /// assert_eq!(secret.expose_bytes(), b"whsec_abc");
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The [`SecretError`] of [`Secret::from_utf8`] or [`Secret::from_whsec`].
    pub fn parse(self, text: &str) -> Result<Secret, SecretError> {
        match self {
            Self::Utf8 => Secret::from_utf8(text),
            Self::Whsec => Secret::from_whsec(text),
        }
    }

    /// The string to hand to a subscriber for `secret`: the inverse of
    /// [`SecretEncoding::parse`].
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret};
    ///
    /// let secret = Secret::generate();
    /// let shown = Scheme::standard_webhooks().secret_encoding().reveal(&secret)?;
    /// assert!(shown.starts_with("whsec_"));
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SecretError::NotUtf8`] for a [`SecretEncoding::Utf8`] scheme when
    /// the key bytes are not text; [`SecretError::TooShort`] for a
    /// [`SecretEncoding::Whsec`] scheme when the key is shorter than
    /// [`MIN_WHSEC_KEY_LEN`](crate::MIN_WHSEC_KEY_LEN), which `parse` would
    /// refuse.
    pub fn reveal(self, secret: &Secret) -> Result<zeroize::Zeroizing<String>, SecretError> {
        match self {
            Self::Utf8 => Ok(zeroize::Zeroizing::new(secret.expose_str()?.to_owned())),
            Self::Whsec => {
                let len = secret.expose_bytes().len();
                if len < crate::MIN_WHSEC_KEY_LEN {
                    return Err(SecretError::TooShort {
                        len,
                        min: crate::MIN_WHSEC_KEY_LEN,
                    });
                }
                Ok(secret.to_whsec())
            }
        }
    }
}

/// Where a scheme carries the signed timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TimestampSource {
    None,
    SignatureEntry,
    Header(HeaderName),
}

/// A signature, timestamp and id header that are read together.
#[derive(Debug)]
pub(crate) struct HeaderFamily {
    pub(crate) signature: HeaderName,
    pub(crate) timestamp: HeaderName,
    pub(crate) id: HeaderName,
}

/// Svix's names for Standard Webhooks' headers.
pub(crate) static SVIX_HEADERS: HeaderFamily = HeaderFamily {
    signature: HeaderName::from_static("svix-signature"),
    timestamp: HeaderName::from_static("svix-timestamp"),
    id: HeaderName::from_static("svix-id"),
};

/// Standard Webhooks' own header names.
pub(crate) static WEBHOOK_HEADERS: HeaderFamily = HeaderFamily {
    signature: HeaderName::from_static("webhook-signature"),
    timestamp: HeaderName::from_static("webhook-timestamp"),
    id: HeaderName::from_static("webhook-id"),
};

/// The families a scheme with both reads, in order of preference: when a
/// request carries both complete, `svix-*` is verified, as the `svix`
/// libraries do.
pub(crate) static BOTH_FAMILIES: [&HeaderFamily; 2] = [&SVIX_HEADERS, &WEBHOOK_HEADERS];

impl HeaderFamily {
    fn is(
        &self,
        signature: &HeaderName,
        timestamp: &TimestampSource,
        id: Option<&HeaderName>,
    ) -> bool {
        *signature == self.signature
            && matches!(timestamp, TimestampSource::Header(name) if *name == self.timestamp)
            && id == Some(&self.id)
    }

    pub(crate) fn names(&self) -> [&HeaderName; 3] {
        [&self.signature, &self.timestamp, &self.id]
    }
}

/// A signature scheme: header names, value format, encoding and signed content.
///
/// Use a preset, or [`Scheme::builder`] for any other provider.
///
/// | preset | header | signed content | secret |
/// |---|---|---|---|
/// | [`titan`](Scheme::titan) | `X-Webhook-Signature: sha256=<hex>` | body | UTF-8 string |
/// | [`titanx`](Scheme::titanx) | `X-TitanX-Signature: sha256=<hex>` (bare hex accepted) | body | UTF-8 string |
/// | [`eventium`](Scheme::eventium) | `X-TitanVX-Signature: t=<unix>,v1=<hex>` | `<t>.<body>` | UTF-8 string |
/// | [`github`](Scheme::github) | `X-Hub-Signature-256: sha256=<hex>` | body | UTF-8 string |
/// | [`stripe`](Scheme::stripe) | `Stripe-Signature: t=<unix>,v1=<hex>` | `<t>.<body>` | UTF-8 string, `whsec_` included |
/// | [`standard_webhooks`](Scheme::standard_webhooks) | `webhook-signature: v1,<base64>` | `<id>.<timestamp>.<body>` | `whsec_<base64>`, decoded |
/// | [`svix`](Scheme::svix) | `svix-signature: v1,<base64>` | `<id>.<timestamp>.<body>` | `whsec_<base64>`, decoded |
///
/// Read a subscriber's secret string with [`Scheme::secret`], which knows
/// whether the scheme decodes it: Stripe's `whsec_…` is used as it is, Standard
/// Webhooks' is base64.
///
/// ```
/// use titan_webhooks::Scheme;
///
/// assert_eq!(Scheme::titan().signature_header(), "x-webhook-signature");
/// assert_eq!(Scheme::eventium().name(), "eventium");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Scheme {
    name: Cow<'static, str>,
    signature_header: HeaderName,
    format: SignatureFormat,
    encoding: DigestEncoding,
    timestamp: TimestampSource,
    id_header: Option<HeaderName>,
    secret_encoding: SecretEncoding,
    /// Whether verifying reads both `webhook-*` and `svix-*` headers: set
    /// for any scheme whose own headers are one of the two families.
    both_families: bool,
}

const SHA256_PREFIX: &str = "sha256=";

impl Scheme {
    /// Titan: `X-Webhook-Signature: sha256=<lowercase hex>` of
    /// HMAC-SHA256(key, raw body), where the key is the UTF-8 bytes of the
    /// webhook's `hmacKey`.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let signer = Signer::new(Scheme::titan(), Secret::from_utf8("your-secret-signing-key")?);
    /// let headers = signer.sign(br#"{"event":"message.received"}"#);
    /// assert_eq!(
    ///     headers["x-webhook-signature"],
    ///     "sha256=994f667d76567c304a80a1d3c99b30762c60e25b98b1f0ca63879b0c79fecf31",
    /// );
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn titan() -> Self {
        Self::prefixed_hex(
            "titan",
            HeaderName::from_static("x-webhook-signature"),
            false,
        )
    }

    /// TitanX: `X-TitanX-Signature`, assumed to be written like Titan's
    /// (`sha256=<hex>` of the raw body, key = UTF-8 bytes of the secret
    /// string). TitanX's documentation names the header but not the value's
    /// form, so a bare hex digest is accepted too.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let secret = Secret::from_utf8("It's a Secret to Everybody")?;
    /// let verifier = Verifier::new(Scheme::titanx(), secret);
    /// // TitanX does not document the value's form, so a bare digest passes too.
    /// let digest = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("x-titanx-signature", digest.parse()?);
    /// assert!(verifier.verify(&headers, b"Hello, World!").is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn titanx() -> Self {
        Self::prefixed_hex(
            "titanx",
            HeaderName::from_static("x-titanx-signature"),
            true,
        )
    }

    /// GitHub: `X-Hub-Signature-256: sha256=<hex>` of the raw body.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let secret = Secret::from_utf8("It's a Secret to Everybody")?;
    /// let headers = Signer::new(Scheme::github(), secret).sign(b"Hello, World!");
    /// assert_eq!(
    ///     headers["x-hub-signature-256"],
    ///     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    /// );
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn github() -> Self {
        Self::prefixed_hex(
            "github",
            HeaderName::from_static("x-hub-signature-256"),
            false,
        )
    }

    /// Eventium: `X-TitanVX-Signature: t=<unix>,v1=<hex>`, where `v1` is
    /// HMAC-SHA256(key, `<t>.<raw body>`). Several `v1` entries may be
    /// present during secret rotation; all are checked.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let signer = Signer::new(Scheme::eventium(), Secret::from_utf8("key")?);
    /// let headers = signer.sign_at("unused", 1_700_000_000, b"{}")?;
    /// assert_eq!(
    ///     headers["x-titanvx-signature"],
    ///     "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae",
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn eventium() -> Self {
        Self::key_value_hex("eventium", HeaderName::from_static("x-titanvx-signature"))
    }

    /// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>`, signed like Eventium.
    /// The key is the whole secret string, `whsec_` prefix included.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let signer = Signer::new(Scheme::stripe(), Secret::from_utf8("whsec_test_secret")?);
    /// let body = br#"{"id":"evt_1","object":"event","type":"invoice.paid"}"#;
    /// let headers = signer.sign_at("unused", 1_700_000_000, body)?;
    /// assert_eq!(
    ///     headers["stripe-signature"],
    ///     "t=1700000000,v1=dfb4777aaaec4ea29ff455dd4df7fe6b2ef71096ad3a93a158db7e100109ea91",
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn stripe() -> Self {
        Self::key_value_hex("stripe", HeaderName::from_static("stripe-signature"))
    }

    /// Standard Webhooks: `webhook-id`, `webhook-timestamp` and
    /// `webhook-signature: v1,<base64> ...`, signing `<id>.<timestamp>.<body>`
    /// with the decoded `whsec_` secret.
    ///
    /// Verifying accepts Svix's names for the same headers too (`svix-id`,
    /// `svix-timestamp`, `svix-signature`), as the official libraries do.
    /// One request is read with one family, never a mix: when both are
    /// complete the `svix-*` headers are verified, as the `svix` libraries
    /// do, and any other mix is refused with
    /// [`HeaderProblem::MixedFamilies`](crate::HeaderProblem::MixedFamilies).
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Signer};
    ///
    /// let scheme = Scheme::standard_webhooks();
    /// let secret = scheme.secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    /// let headers = Signer::new(scheme, secret).sign_at(id, 1614265330, br#"{"test": 2432232314}"#)?;
    /// assert_eq!(headers["webhook-signature"], "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /// assert_eq!(headers["webhook-id"], id);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn standard_webhooks() -> Self {
        Self::standard_family("standard-webhooks", &WEBHOOK_HEADERS)
    }

    /// Svix: Standard Webhooks signed under Svix's header names, `svix-id`,
    /// `svix-timestamp` and `svix-signature`. Use it to sign for receivers
    /// that expect those names. Verifying accepts either family, exactly as
    /// [`Scheme::standard_webhooks`] does.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Signer, Verifier};
    ///
    /// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// let signer = Signer::from_secret_str(Scheme::svix(), secret)?;
    /// let headers = signer.sign_at("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#)?;
    /// assert_eq!(headers["svix-signature"], "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /// assert!(!headers.contains_key("webhook-signature"));
    /// // A Standard Webhooks verifier reads Svix's names as well.
    /// let verifier = Verifier::from_secret_str(Scheme::standard_webhooks(), secret)?;
    /// assert!(verifier.verify_at(&headers, br#"{"test": 2432232314}"#, 1614265330).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn svix() -> Self {
        Self::standard_family("svix", &SVIX_HEADERS)
    }

    fn standard_family(name: &'static str, headers: &HeaderFamily) -> Self {
        Self {
            name: Cow::Borrowed(name),
            signature_header: headers.signature.clone(),
            format: SignatureFormat::VersionedList {
                version: Cow::Borrowed("v1"),
            },
            encoding: DigestEncoding::Base64,
            timestamp: TimestampSource::Header(headers.timestamp.clone()),
            id_header: Some(headers.id.clone()),
            secret_encoding: SecretEncoding::Whsec,
            both_families: true,
        }
    }

    fn prefixed_hex(name: &'static str, header: HeaderName, prefix_optional: bool) -> Self {
        Self {
            name: Cow::Borrowed(name),
            signature_header: header,
            format: SignatureFormat::Prefixed {
                prefix: Cow::Borrowed(SHA256_PREFIX),
                prefix_optional,
            },
            encoding: DigestEncoding::Hex,
            timestamp: TimestampSource::None,
            id_header: None,
            secret_encoding: SecretEncoding::Utf8,
            both_families: false,
        }
    }

    fn key_value_hex(name: &'static str, header: HeaderName) -> Self {
        Self {
            name: Cow::Borrowed(name),
            signature_header: header,
            format: SignatureFormat::KeyValue {
                timestamp_key: Cow::Borrowed("t"),
                signature_key: Cow::Borrowed("v1"),
            },
            encoding: DigestEncoding::Hex,
            timestamp: TimestampSource::SignatureEntry,
            id_header: None,
            secret_encoding: SecretEncoding::Utf8,
            both_families: false,
        }
    }

    /// Starts a custom scheme named `name` whose signature travels in
    /// `signature_header`.
    ///
    /// Defaults: format `sha256=<digest>` (prefix required), hex digests, no
    /// timestamp, no id, UTF-8 secrets. A scheme whose signature, timestamp
    /// and id headers are all `webhook-*` or all `svix-*` reads the other
    /// family too when verifying, as [`Scheme::standard_webhooks`] does.
    ///
    /// ```
    /// use titan_webhooks::{DigestEncoding, Scheme, Secret, Signer, Verifier};
    ///
    /// let acme = Scheme::builder("acme", "X-Acme-Signature")
    ///     .prefix("hmac-sha256=")
    ///     .encoding(DigestEncoding::Base64)
    ///     .timestamp_header("X-Acme-Timestamp")
    ///     .build()?;
    ///
    /// let headers = Signer::new(acme.clone(), Secret::from_utf8("k")?)
    ///     .sign_at("unused", 1_700_000_000, b"{}")?;
    /// let verified = Verifier::new(acme, Secret::from_utf8("k")?)
    ///     .verify_at(&headers, b"{}", 1_700_000_010)?;
    /// assert_eq!(verified.signed_timestamp(), Some(1_700_000_000));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(
        name: impl Into<Cow<'static, str>>,
        signature_header: impl Into<String>,
    ) -> SchemeBuilder {
        SchemeBuilder {
            name: name.into(),
            signature_header: signature_header.into(),
            format: SignatureFormat::Prefixed {
                prefix: Cow::Borrowed(SHA256_PREFIX),
                prefix_optional: false,
            },
            encoding: DigestEncoding::Hex,
            timestamp_header: None,
            id_header: None,
            secret_encoding: SecretEncoding::Utf8,
        }
    }

    /// The preset named `name`, as [`Scheme::name`] gives it: `titan`,
    /// `titanx`, `github`, `eventium`, `stripe`, `standard-webhooks` or
    /// `svix`. Stores use it to read back how a webhook signs.
    ///
    /// ```
    /// use titan_webhooks::Scheme;
    ///
    /// assert_eq!(Scheme::preset("eventium").map(|s| s.name().to_owned()), Some("eventium".into()));
    /// assert_eq!(Scheme::preset("svix"), Some(Scheme::svix()));
    /// assert!(Scheme::preset("acme").is_none());
    /// ```
    #[must_use]
    pub fn preset(name: &str) -> Option<Self> {
        [
            Self::titan,
            Self::titanx,
            Self::github,
            Self::eventium,
            Self::stripe,
            Self::standard_webhooks,
            Self::svix,
        ]
        .into_iter()
        .map(|preset| preset())
        .find(|preset| preset.name() == name)
    }

    /// The scheme's name, for logs and metrics.
    ///
    /// ```
    /// use titan_webhooks::Scheme;
    ///
    /// assert_eq!(Scheme::standard_webhooks().name(), "standard-webhooks");
    /// assert_eq!(Scheme::builder("acme", "X-Acme-Signature").build()?.name(), "acme");
    /// # Ok::<(), titan_webhooks::SchemeError>(())
    /// ```
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The header that carries the signature.
    ///
    /// ```
    /// use titan_webhooks::Scheme;
    ///
    /// assert_eq!(Scheme::stripe().signature_header(), "stripe-signature");
    /// // HTTP header names are case-insensitive; `http` keeps them in lowercase.
    /// let acme = Scheme::builder("acme", "X-Acme-Signature").build()?;
    /// assert_eq!(acme.signature_header(), "x-acme-signature");
    /// # Ok::<(), titan_webhooks::SchemeError>(())
    /// ```
    #[must_use]
    pub fn signature_header(&self) -> &HeaderName {
        &self.signature_header
    }

    /// The layout of the signature header's value.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, SignatureFormat};
    ///
    /// let sha256 = |prefix_optional| SignatureFormat::Prefixed {
    ///     prefix: "sha256=".into(),
    ///     prefix_optional,
    /// };
    /// assert_eq!(*Scheme::titan().format(), sha256(false));
    /// assert_eq!(*Scheme::titanx().format(), sha256(true));
    /// ```
    #[must_use]
    pub fn format(&self) -> &SignatureFormat {
        &self.format
    }

    /// How digests are written.
    ///
    /// ```
    /// use titan_webhooks::{DigestEncoding, Scheme};
    ///
    /// assert_eq!(Scheme::stripe().encoding(), DigestEncoding::Hex);
    /// assert_eq!(Scheme::standard_webhooks().encoding(), DigestEncoding::Base64);
    /// ```
    #[must_use]
    pub fn encoding(&self) -> DigestEncoding {
        self.encoding
    }

    /// The header carrying the signed timestamp, when it has its own.
    ///
    /// ```
    /// use titan_webhooks::Scheme;
    ///
    /// let scheme = Scheme::standard_webhooks();
    /// assert_eq!(scheme.timestamp_header().map(|name| name.as_str()), Some("webhook-timestamp"));
    /// // Stripe signs a timestamp too, but inside its signature header.
    /// assert_eq!(Scheme::stripe().timestamp_header(), None);
    /// ```
    #[must_use]
    pub fn timestamp_header(&self) -> Option<&HeaderName> {
        match &self.timestamp {
            TimestampSource::Header(name) => Some(name),
            TimestampSource::None | TimestampSource::SignatureEntry => None,
        }
    }

    /// Whether the signed content includes a timestamp, and so whether the
    /// verifier enforces a tolerance.
    ///
    /// ```
    /// use titan_webhooks::{RawHeaders, Scheme, Secret, Verifier};
    ///
    /// assert!(Scheme::stripe().is_timestamped());
    /// assert!(!Scheme::github().is_timestamped());
    /// // Without a signed timestamp no tolerance applies: a replay verifies at any time.
    /// let secret = Secret::from_utf8("It's a Secret to Everybody")?;
    /// let verifier = Verifier::new(Scheme::github(), secret);
    /// let headers = RawHeaders::new("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    /// assert!(verifier.verify_raw_at(headers, b"Hello, World!", u64::MAX).is_ok());
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn is_timestamped(&self) -> bool {
        self.timestamp != TimestampSource::None
    }

    /// The header carrying the signed message id, when the scheme has one.
    ///
    /// ```
    /// use titan_webhooks::Scheme;
    ///
    /// let scheme = Scheme::standard_webhooks();
    /// assert_eq!(scheme.id_header().map(|name| name.as_str()), Some("webhook-id"));
    /// assert_eq!(Scheme::stripe().id_header(), None);
    /// ```
    #[must_use]
    pub fn id_header(&self) -> Option<&HeaderName> {
        self.id_header.as_ref()
    }

    /// How a subscriber's secret string maps to key bytes.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, SecretEncoding};
    ///
    /// assert_eq!(Scheme::stripe().secret_encoding(), SecretEncoding::Utf8);
    /// assert_eq!(Scheme::standard_webhooks().secret_encoding(), SecretEncoding::Whsec);
    /// ```
    #[must_use]
    pub fn secret_encoding(&self) -> SecretEncoding {
        self.secret_encoding
    }

    /// The key a subscriber's secret string stands for under this scheme:
    /// the string's own bytes for Stripe and the Titan family, the decoded
    /// base64 for Standard Webhooks and Svix. Reading the secret through
    /// its scheme rules out keying Stripe on a decoded `whsec_` string.
    ///
    /// ```
    /// use titan_webhooks::Scheme;
    ///
    /// // The same text, two keys: Stripe keeps it whole, Standard Webhooks decodes it.
    /// let text = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// assert_eq!(Scheme::stripe().secret(text)?.expose_bytes(), text.as_bytes());
    /// assert_eq!(Scheme::standard_webhooks().secret(text)?.expose_bytes().len(), 24);
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`SecretEncoding::parse`] with [`Scheme::secret_encoding`].
    pub fn secret(&self, text: &str) -> Result<Secret, SecretError> {
        self.secret_encoding.parse(text)
    }

    /// Every header this scheme writes: the signature, and the timestamp and
    /// id headers when it has them. Custom headers must not override these.
    ///
    /// ```
    /// use titan_webhooks::Scheme;
    ///
    /// let scheme = Scheme::standard_webhooks();
    /// let names: Vec<&str> = scheme.headers().map(|name| name.as_str()).collect();
    /// assert_eq!(names, ["webhook-signature", "webhook-timestamp", "webhook-id"]);
    /// let stripe = Scheme::stripe();
    /// let names: Vec<&str> = stripe.headers().map(|name| name.as_str()).collect();
    /// assert_eq!(names, ["stripe-signature"]);
    /// ```
    pub fn headers(&self) -> impl Iterator<Item = &HeaderName> {
        std::iter::once(&self.signature_header)
            .chain(self.timestamp_header())
            .chain(self.id_header.as_ref())
    }

    pub(crate) fn timestamp_source(&self) -> &TimestampSource {
        &self.timestamp
    }

    /// The header families verifying reads, in order of preference, when
    /// the scheme reads both `webhook-*` and `svix-*`.
    pub(crate) fn families(&self) -> Option<[&'static HeaderFamily; 2]> {
        self.both_families.then_some(BOTH_FAMILIES)
    }

    /// Every header verifying may read: [`Scheme::headers`], and the other
    /// family's for a scheme that reads both.
    pub(crate) fn read_headers(&self) -> impl Iterator<Item = &HeaderName> {
        self.headers().chain(
            self.families()
                .into_iter()
                .flatten()
                .flat_map(HeaderFamily::names),
        )
    }

    /// The signed message id of a request, from the header family its
    /// verification read; `None` when the scheme signs no id or the
    /// headers would not verify.
    pub(crate) fn signed_id<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        let picked = crate::verify::pick_headers(self, headers).ok()?;
        std::str::from_utf8(picked.id?.1).ok()
    }
}

impl fmt::Debug for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheme")
            .field("name", &self.name)
            .field("signature_header", &self.signature_header)
            .field("format", &self.format)
            .field("encoding", &self.encoding)
            .field("timestamp_header", &self.timestamp_header())
            .field("id_header", &self.id_header)
            .finish_non_exhaustive()
    }
}

/// Builds a custom [`Scheme`]; see [`Scheme::builder`].
///
/// ```
/// use titan_webhooks::{DigestEncoding, Scheme, SecretEncoding};
///
/// // Every preset is expressible with the builder.
/// let rebuilt = Scheme::builder("standard-webhooks", "webhook-signature")
///     .versioned_list("v1")
///     .encoding(DigestEncoding::Base64)
///     .timestamp_header("webhook-timestamp")
///     .id_header("webhook-id")
///     .secret_encoding(SecretEncoding::Whsec)
///     .build()?;
/// assert_eq!(rebuilt, Scheme::standard_webhooks());
/// # Ok::<(), titan_webhooks::SchemeError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SchemeBuilder {
    name: Cow<'static, str>,
    signature_header: String,
    format: SignatureFormat,
    encoding: DigestEncoding,
    timestamp_header: Option<String>,
    id_header: Option<String>,
    secret_encoding: SecretEncoding,
}

impl SchemeBuilder {
    /// One digest after `prefix`, which is required (`sha256=<digest>`).
    /// An empty prefix means a bare digest.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let scheme = Scheme::builder("acme", "X-Acme-Signature").prefix("hmac=").build()?;
    /// let signer = Signer::new(scheme, Secret::from_utf8("It's a Secret to Everybody")?);
    /// let headers = signer.sign(b"Hello, World!");
    /// assert_eq!(
    ///     headers["x-acme-signature"],
    ///     "hmac=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prefix(mut self, prefix: impl Into<Cow<'static, str>>) -> Self {
        self.format = SignatureFormat::Prefixed {
            prefix: prefix.into(),
            prefix_optional: false,
        };
        self
    }

    /// Like [`prefix`](Self::prefix), but a bare digest is accepted too.
    ///
    /// ```
    /// use titan_webhooks::{RawHeaders, Scheme, Secret, Verifier};
    ///
    /// let scheme = Scheme::builder("acme", "X-Acme-Signature").optional_prefix("hmac=").build()?;
    /// let verifier = Verifier::new(scheme, Secret::from_utf8("It's a Secret to Everybody")?);
    /// let digest = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    /// let prefixed = format!("hmac={digest}");
    /// assert!(verifier.verify_raw(RawHeaders::new(&prefixed), b"Hello, World!").is_ok());
    /// assert!(verifier.verify_raw(RawHeaders::new(digest), b"Hello, World!").is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn optional_prefix(mut self, prefix: impl Into<Cow<'static, str>>) -> Self {
        self.format = SignatureFormat::Prefixed {
            prefix: prefix.into(),
            prefix_optional: true,
        };
        self
    }

    /// Stripe-style `t=<unix>,v1=<digest>` with the given keys. The
    /// timestamp is signed as `<t>.<body>`.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// // Stripe's layout under other keys: the digest is Stripe's.
    /// let scheme = Scheme::builder("acme", "X-Acme-Signature").key_value("ts", "sig").build()?;
    /// let signer = Signer::new(scheme, Secret::from_utf8("whsec_test_secret")?);
    /// let body = br#"{"id":"evt_1","object":"event","type":"invoice.paid"}"#;
    /// let headers = signer.sign_at("unused", 1_700_000_000, body)?;
    /// assert_eq!(
    ///     headers["x-acme-signature"],
    ///     "ts=1700000000,sig=dfb4777aaaec4ea29ff455dd4df7fe6b2ef71096ad3a93a158db7e100109ea91",
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn key_value(
        mut self,
        timestamp_key: impl Into<Cow<'static, str>>,
        signature_key: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.format = SignatureFormat::KeyValue {
            timestamp_key: timestamp_key.into(),
            signature_key: signature_key.into(),
        };
        self
    }

    /// Standard-Webhooks-style space-separated `version,<digest>` entries.
    ///
    /// ```
    /// use titan_webhooks::{RawHeaders, Scheme, Secret, Verifier};
    ///
    /// let scheme = Scheme::builder("acme", "X-Acme-Signature").versioned_list("v2").build()?;
    /// let verifier = Verifier::new(scheme, Secret::from_utf8("It's a Secret to Everybody")?);
    /// // The `v1` entry is skipped, not rejected, so senders can add versions.
    /// let header = "v1,AAAA v2,757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    /// assert!(verifier.verify_raw(RawHeaders::new(header), b"Hello, World!").is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn versioned_list(mut self, version: impl Into<Cow<'static, str>>) -> Self {
        self.format = SignatureFormat::VersionedList {
            version: version.into(),
        };
        self
    }

    /// How digests are written. Defaults to [`DigestEncoding::Hex`].
    ///
    /// ```
    /// use titan_webhooks::{DigestEncoding, Scheme, Secret, Signer};
    ///
    /// let scheme = Scheme::builder("acme", "X-Acme-Signature")
    ///     .encoding(DigestEncoding::Base64)
    ///     .build()?;
    /// let signer = Signer::new(scheme, Secret::from_utf8("It's a Secret to Everybody")?);
    /// let headers = signer.sign(b"Hello, World!");
    /// assert_eq!(headers["x-acme-signature"], "sha256=dXEH6g6yUJ/CESIczphLijdXC211hsIsRvQ3nIsEPhc=");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encoding(mut self, encoding: DigestEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Signs a unix timestamp carried in this header, as `<t>.<body>`.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let scheme = Scheme::builder("acme", "X-Signature").timestamp_header("X-Timestamp").build()?;
    /// let signer = Signer::new(scheme, Secret::from_utf8("key")?);
    /// let headers = signer.sign_at("unused", 1_700_000_000, b"{}")?;
    /// assert_eq!(headers["x-timestamp"], "1700000000");
    /// assert_eq!(
    ///     headers["x-signature"],
    ///     "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae",
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn timestamp_header(mut self, name: impl Into<String>) -> Self {
        self.timestamp_header = Some(name.into());
        self
    }

    /// Signs a message id carried in this header, as `<id>.<rest>`.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let scheme = Scheme::builder("acme", "X-Acme-Signature").id_header("X-Acme-Id").build()?;
    /// let signer = Signer::new(scheme, Secret::from_utf8("key")?);
    /// let headers = signer.sign_at("msg_1", 1_700_000_000, b"{}")?;
    /// assert_eq!(headers["x-acme-id"], "msg_1");
    /// assert_eq!(
    ///     headers["x-acme-signature"],
    ///     "sha256=a235e9ae2eb77a5f8c9cad8ff35a4d3e41aac8b95b4e85741948c54f24276d46",
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id_header(mut self, name: impl Into<String>) -> Self {
        self.id_header = Some(name.into());
        self
    }

    /// How secret strings map to keys. Defaults to [`SecretEncoding::Utf8`].
    ///
    /// ```
    /// use titan_webhooks::{Scheme, SecretEncoding, SecretError};
    ///
    /// let scheme = Scheme::builder("acme", "X-Acme-Signature")
    ///     .secret_encoding(SecretEncoding::Whsec)
    ///     .build()?;
    /// let secret = scheme.secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// assert_eq!(secret.expose_bytes().len(), 24);
    /// // `-` is not in the standard base64 alphabet.
    /// let err = scheme.secret("acme-key").unwrap_err();
    /// assert_eq!(err, SecretError::InvalidBase64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn secret_encoding(mut self, encoding: SecretEncoding) -> Self {
        self.secret_encoding = encoding;
        self
    }

    /// Checks that the parts fit together.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, SchemeError};
    ///
    /// // Header names ignore case, so this is the signature header again.
    /// let err = Scheme::builder("acme", "X-Acme-Signature")
    ///     .timestamp_header("x-acme-signature")
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(err, SchemeError::HeaderReused { name: "x-acme-signature".into() });
    /// ```
    ///
    /// # Errors
    ///
    /// A [`SchemeError`] naming the first part that does not fit: an invalid
    /// or reused header name, a timestamp placed twice, or a prefix, key or
    /// version that would make the header ambiguous.
    pub fn build(self) -> Result<Scheme, SchemeError> {
        let signature_header = parse_header_name(&self.signature_header)?;
        let timestamp_header = self
            .timestamp_header
            .as_deref()
            .map(parse_header_name)
            .transpose()?;
        let id_header = self
            .id_header
            .as_deref()
            .map(parse_header_name)
            .transpose()?;

        let mut names: Vec<&HeaderName> = vec![&signature_header];
        for name in timestamp_header.iter().chain(id_header.iter()) {
            if names.contains(&name) {
                return Err(SchemeError::HeaderReused {
                    name: name.as_str().to_owned(),
                });
            }
            names.push(name);
        }

        let timestamp = match (&self.format, timestamp_header) {
            (SignatureFormat::KeyValue { .. }, Some(_)) => return Err(SchemeError::TimestampTwice),
            (SignatureFormat::KeyValue { .. }, None) => TimestampSource::SignatureEntry,
            (_, Some(name)) => TimestampSource::Header(name),
            (_, None) => TimestampSource::None,
        };
        check_format(&self.format)?;

        Ok(Scheme {
            name: self.name,
            both_families: BOTH_FAMILIES
                .iter()
                .any(|family| family.is(&signature_header, &timestamp, id_header.as_ref())),
            signature_header,
            format: self.format,
            encoding: self.encoding,
            timestamp,
            id_header,
            secret_encoding: self.secret_encoding,
        })
    }
}

fn parse_header_name(name: &str) -> Result<HeaderName, SchemeError> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| SchemeError::InvalidHeaderName {
        name: name.to_owned(),
    })
}

/// Rejects parts that would make entries impossible to split unambiguously.
fn check_format(format: &SignatureFormat) -> Result<(), SchemeError> {
    let usable = |part: &str, forbidden: &[char]| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_graphic() && !forbidden.contains(&c))
    };
    let invalid = |part: &str, role| SchemeError::InvalidPart {
        part: part.to_owned(),
        role,
    };
    match format {
        SignatureFormat::Prefixed { prefix, .. } => {
            if !prefix.is_empty() && !usable(prefix, &[]) {
                return Err(invalid(prefix, "prefix"));
            }
        }
        SignatureFormat::KeyValue {
            timestamp_key,
            signature_key,
        } => {
            for (key, role) in [(timestamp_key, "timestamp key"), (signature_key, "key")] {
                if !usable(key, &[',', '=']) {
                    return Err(invalid(key, role));
                }
            }
            if timestamp_key == signature_key {
                return Err(invalid(
                    signature_key,
                    "key distinct from the timestamp key",
                ));
            }
        }
        SignatureFormat::VersionedList { version } => {
            if !usable(version, &[',']) {
                return Err(invalid(version, "version"));
            }
        }
    }
    Ok(())
}

/// A custom scheme's parts do not fit together.
///
/// ```
/// use titan_webhooks::{Scheme, SchemeError};
///
/// let err = Scheme::builder("acme", "bad header").build().unwrap_err();
/// assert!(matches!(err, SchemeError::InvalidHeaderName { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemeError {
    /// A header name is not a valid HTTP header name.
    #[error("`{name}` is not a valid header name")]
    InvalidHeaderName {
        /// The rejected name.
        name: String,
    },
    /// The same header is used for two purposes.
    #[error("header `{name}` is used for more than one purpose")]
    HeaderReused {
        /// The reused name.
        name: String,
    },
    /// The timestamp is placed both in the signature header and in a header of its own.
    #[error("the timestamp cannot be both a signature entry and a header")]
    TimestampTwice,
    /// A prefix, key or version is empty or has characters that would make
    /// the header ambiguous.
    #[error("`{part}` is not usable as a signature {role}")]
    InvalidPart {
        /// The rejected text.
        part: String,
        /// What it was meant to be (prefix, key or version).
        role: &'static str,
    },
}
