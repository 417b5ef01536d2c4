//! Verification of received deliveries.

use std::fmt;
use std::ops::Deref;
use std::time::Duration;

use http::{HeaderMap, HeaderName};

use crate::clock::unix_now;
use crate::header::{self, HeaderProblem, ParseError, ParsedSignature, Tag};
use crate::mac::{KeyedMac, SignedContent};
use crate::scheme::{HeaderFamily, TimestampSource};
use crate::{Scheme, Secret};

mod payload;

pub use payload::PayloadError;

/// How far a signed timestamp may be from now, in either direction, unless
/// configured otherwise: 300 seconds, as Stripe and Standard Webhooks use.
///
/// ```
/// use titan_webhooks::{DEFAULT_TOLERANCE, RawHeaders, Scheme, Secret, Verifier, VerifyError};
///
/// let verifier = Verifier::from_secret_str(Scheme::eventium(), "key")?;
/// let headers = RawHeaders::new("t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
/// let last_second = 1_700_000_000 + DEFAULT_TOLERANCE.as_secs();
/// assert!(verifier.verify_raw_at(headers, b"{}", last_second).is_ok());
/// let err = verifier.verify_raw_at(headers, b"{}", last_second + 1).unwrap_err();
/// assert_eq!(err, VerifyError::TimestampOutOfTolerance { skew_seconds: 301, tolerance_seconds: 300 });
/// # Ok::<(), titan_webhooks::SecretError>(())
/// ```
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Verifies deliveries signed with one scheme and one or more secrets.
///
/// The key schedule of each secret is computed once, here. A verify then
/// costs one HMAC of the body per secret, makes no heap allocation and
/// compares digests in constant time.
///
/// ```
/// use titan_webhooks::{Scheme, Secret, Verifier};
///
/// let verifier = Verifier::from_secret_str(Scheme::github(), "It's a Secret to Everybody")?;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert(
///     "x-hub-signature-256",
///     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17".parse()?,
/// );
/// assert!(verifier.verify(&headers, b"Hello, World!").is_ok());
/// assert!(verifier.verify(&headers, b"Hello, World?").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    scheme: Scheme,
    keys: Vec<KeyedMac>,
    past_tolerance: u64,
    future_tolerance: u64,
}

impl Verifier {
    /// A verifier for `scheme` with one secret and the
    /// [`DEFAULT_TOLERANCE`] both ways. Given the secret as a string,
    /// [`Verifier::from_secret_str`] reads it the way the scheme does.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer, Verifier, VerifyError};
    ///
    /// let verifier = Verifier::new(Scheme::titan(), Scheme::titan().secret("key")?);
    /// let titan = Signer::from_secret_str(Scheme::titan(), "key")?.sign(b"{}");
    /// assert!(verifier.verify(&titan, b"{}").is_ok());
    /// // Same key, other scheme: the verifier reads only its own scheme's header.
    /// let github = Signer::from_secret_str(Scheme::github(), "key")?.sign(b"{}");
    /// let err = verifier.verify(&github, b"{}").unwrap_err();
    /// assert_eq!(err, VerifyError::MissingHeader { name: "x-webhook-signature".into() });
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn new(scheme: Scheme, secret: Secret) -> Self {
        Self {
            scheme,
            keys: vec![KeyedMac::new(&secret)],
            past_tolerance: DEFAULT_TOLERANCE.as_secs(),
            future_tolerance: DEFAULT_TOLERANCE.as_secs(),
        }
    }

    /// A verifier for `scheme` keyed by a subscriber's secret string, read
    /// as the scheme reads it ([`Scheme::secret`]): Stripe's `whsec_…` as it
    /// is, Standard Webhooks' decoded from base64.
    ///
    /// ```
    /// use titan_webhooks::{RawHeaders, Scheme, Verifier};
    ///
    /// let verifier = Verifier::from_secret_str(Scheme::stripe(), "whsec_test_secret")?;
    /// let signature = "t=1700000000,v1=dfb4777aaaec4ea29ff455dd4df7fe6b2ef71096ad3a93a158db7e100109ea91";
    /// let body = br#"{"id":"evt_1","object":"event","type":"invoice.paid"}"#;
    /// assert!(verifier.verify_raw_at(RawHeaders::new(signature), body, 1_700_000_000).is_ok());
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The [`SecretError`](crate::SecretError) of [`Scheme::secret`].
    pub fn from_secret_str(scheme: Scheme, secret: &str) -> Result<Self, crate::SecretError> {
        let secret = scheme.secret(secret)?;
        Ok(Self::new(scheme, secret))
    }

    /// Also accepts signatures made with `secret`, for secret rotation.
    /// [`Verified::secret_index`] tells which secret matched: `0` for the
    /// one given to [`Verifier::new`], then in the order added.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer, Verifier};
    ///
    /// let old = Secret::from_utf8("old-key")?;
    /// let new = Secret::from_utf8("new-key")?;
    /// let headers = Signer::new(Scheme::eventium(), new.clone_secret()).sign(b"{}");
    ///
    /// let verifier = Verifier::new(Scheme::eventium(), old).with_secret(new);
    /// assert_eq!(verifier.verify(&headers, b"{}")?.secret_index(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_secret(mut self, secret: Secret) -> Self {
        self.keys.push(KeyedMac::new(&secret));
        self
    }

    /// Sets how old and how far in the future a signed timestamp may be.
    /// Defaults to [`DEFAULT_TOLERANCE`] both ways. Schemes without a
    /// timestamp ignore it. Signed timestamps are whole seconds, so the
    /// tolerance is too: a fraction of a second is dropped.
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::{RawHeaders, Scheme, Secret, Verifier, VerifyError};
    ///
    /// let verifier = Verifier::from_secret_str(Scheme::eventium(), "key")?
    ///     .with_tolerance(Duration::from_secs(60));
    /// let headers = RawHeaders::new("t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
    /// assert!(verifier.verify_raw_at(headers, b"{}", 1_700_000_060).is_ok());
    /// let err = verifier.verify_raw_at(headers, b"{}", 1_699_999_939).unwrap_err();
    /// assert_eq!(err, VerifyError::TimestampOutOfTolerance { skew_seconds: -61, tolerance_seconds: 60 });
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn with_tolerance(self, tolerance: Duration) -> Self {
        self.with_past_tolerance(tolerance)
            .with_future_tolerance(tolerance)
    }

    /// Sets how old a signed timestamp may be, in whole seconds. Defaults to
    /// [`DEFAULT_TOLERANCE`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::{RawHeaders, Scheme, Secret, Verifier, VerifyError};
    ///
    /// let verifier = Verifier::from_secret_str(Scheme::eventium(), "key")?
    ///     .with_past_tolerance(Duration::from_secs(30));
    /// let headers = RawHeaders::new("t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
    /// let err = verifier.verify_raw_at(headers, b"{}", 1_700_000_031).unwrap_err();
    /// assert_eq!(err, VerifyError::TimestampOutOfTolerance { skew_seconds: 31, tolerance_seconds: 30 });
    /// // The future side keeps its default.
    /// assert!(verifier.verify_raw_at(headers, b"{}", 1_700_000_000 - 300).is_ok());
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn with_past_tolerance(mut self, tolerance: Duration) -> Self {
        self.past_tolerance = tolerance.as_secs();
        self
    }

    /// Sets how far in the future a signed timestamp may be, in whole
    /// seconds, to absorb clock skew. Defaults to [`DEFAULT_TOLERANCE`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::{RawHeaders, Scheme, Secret, Verifier};
    ///
    /// let verifier = Verifier::from_secret_str(Scheme::eventium(), "key")?
    ///     .with_future_tolerance(Duration::ZERO);
    /// let headers = RawHeaders::new("t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
    /// let err = verifier.verify_raw_at(headers, b"{}", 1_700_000_000 - 1).unwrap_err();
    /// assert_eq!(err.to_string(), "timestamp is 1 s in the future, beyond the tolerance of 0 s");
    /// // The past side keeps its default.
    /// assert!(verifier.verify_raw_at(headers, b"{}", 1_700_000_000 + 300).is_ok());
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn with_future_tolerance(mut self, tolerance: Duration) -> Self {
        self.future_tolerance = tolerance.as_secs();
        self
    }

    /// How long a signed timestamp stays acceptable in all: the past and
    /// the future tolerance together.
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let verifier = Verifier::from_secret_str(Scheme::stripe(), "k")?
    ///     .with_past_tolerance(Duration::from_secs(300))
    ///     .with_future_tolerance(Duration::from_secs(30));
    /// assert_eq!(verifier.tolerance_window(), Duration::from_secs(330));
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn tolerance_window(&self) -> Duration {
        Duration::from_secs(self.past_tolerance.saturating_add(self.future_tolerance))
    }

    /// The scheme this verifier checks.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let verifier = Verifier::from_secret_str(Scheme::stripe(), "whsec_test_secret")?;
    /// assert_eq!(verifier.scheme(), &Scheme::stripe());
    /// assert_eq!(verifier.scheme().signature_header(), "stripe-signature");
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// Verifies `body` against the signature headers, at the current time.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer, Verifier, VerifyError};
    ///
    /// let signer = Signer::from_secret_str(Scheme::titan(), "key")?;
    /// let headers = signer.sign(br#"{"amount":100}"#);
    /// let verifier = Verifier::from_secret_str(Scheme::titan(), "key")?;
    /// assert!(verifier.verify(&headers, br#"{"amount":100}"#).is_ok());
    /// let err = verifier.verify(&headers, br#"{"amount":900}"#).unwrap_err();
    /// assert_eq!(err, VerifyError::NoMatchingSignature { examined: 1 });
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`VerifyError`] saying which header is missing or malformed, that
    /// the timestamp is out of tolerance, or that no signature matched.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<Verified, VerifyError> {
        self.verify_at(headers, body, unix_now())
    }

    /// Verifies as if the time were `now` (unix seconds): for tests, and for
    /// deliveries queued before they are verified.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Verifier, VerifyError};
    ///
    /// let verifier = Verifier::from_secret_str(Scheme::eventium(), "key")?;
    /// let signature = "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae";
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("x-titanvx-signature", signature.parse()?);
    /// // Received a minute after signing: within the tolerance, whenever this runs.
    /// assert!(verifier.verify_at(&headers, b"{}", 1_700_000_060).is_ok());
    /// let err = verifier.verify_at(&headers, b"{ }", 1_700_000_060).unwrap_err();
    /// assert_eq!(err, VerifyError::NoMatchingSignature { examined: 1 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify`].
    pub fn verify_at(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
    ) -> Result<Verified, VerifyError> {
        let picked = pick_headers(&self.scheme, headers)?;
        self.check(picked, body, now)
    }

    /// Verifies with header values given as strings, for callers without
    /// `http` types.
    ///
    /// ```
    /// use titan_webhooks::{RawHeaders, Scheme, Secret, Verifier};
    ///
    /// let verifier = Verifier::from_secret_str(
    ///     Scheme::standard_webhooks(),
    ///     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    /// )?;
    /// let headers = RawHeaders::new("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    ///     .timestamp("1614265330")
    ///     .id("msg_p5jXN8AQM9LWM0D4loKWxJek");
    /// let verified = verifier.verify_raw_at(headers, br#"{"test": 2432232314}"#, 1614265330)?;
    /// assert_eq!(verified.signed_timestamp(), Some(1614265330));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify`]; a value the scheme needs but `headers` lacks
    /// is reported as a missing header.
    pub fn verify_raw(
        &self,
        headers: RawHeaders<'_>,
        body: &[u8],
    ) -> Result<Verified, VerifyError> {
        self.verify_raw_at(headers, body, unix_now())
    }

    /// [`Verifier::verify_raw`] as if the time were `now` (unix seconds).
    ///
    /// ```
    /// use titan_webhooks::{RawHeaders, Scheme, Secret, Verifier, VerifyError};
    ///
    /// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// let verifier = Verifier::from_secret_str(Scheme::standard_webhooks(), secret)?;
    /// // The caller forgot to pass `webhook-id` along.
    /// let headers = RawHeaders::new("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    ///     .timestamp("1614265330");
    /// let err = verifier.verify_raw_at(headers, br#"{"test": 2432232314}"#, 1614265330).unwrap_err();
    /// assert_eq!(err, VerifyError::MissingHeader { name: "webhook-id".into() });
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify_raw`].
    pub fn verify_raw_at<'a, 'h>(
        &'a self,
        headers: RawHeaders<'h>,
        body: &[u8],
        now: u64,
    ) -> Result<Verified, VerifyError> {
        let with_name = |name: Option<&'a HeaderName>, value: Option<&'h str>| match name {
            Some(name) => value
                .map(|value| Some((name, value.as_bytes())))
                .ok_or_else(|| missing(name)),
            None => Ok(None),
        };
        let picked = Picked {
            signature: (self.scheme.signature_header(), headers.signature.as_bytes()),
            timestamp: with_name(self.scheme.timestamp_header(), headers.timestamp)?,
            id: with_name(self.scheme.id_header(), headers.id)?,
        };
        self.check(picked, body, now)
    }

    /// Verifies, then deserializes the body as JSON into `T`. Nothing is
    /// parsed unless the signature is valid.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer, Verifier};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Ping { id: String }
    ///
    /// let body = br#"{"id":"evt_1"}"#;
    /// let headers = Signer::from_secret_str(Scheme::titan(), "k")?.sign(body);
    /// let ping = Verifier::from_secret_str(Scheme::titan(), "k")?
    ///     .verify_json::<Ping>(&headers, body)?;
    /// assert_eq!(ping.id, "evt_1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify`], or [`VerifyError::InvalidPayload`] naming
    /// the field that does not fit `T`.
    pub fn verify_json<T: serde::de::DeserializeOwned>(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Verified<T>, VerifyError> {
        self.verify_json_at(headers, body, unix_now())
    }

    /// [`Verifier::verify_json`] as if the time were `now` (unix seconds).
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer, Verifier, VerifyError};
    ///
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Quota { limit: u64 }
    ///
    /// let body = br#"{"limit":"lots"}"#;
    /// let signer = Signer::from_secret_str(Scheme::eventium(), "key")?;
    /// let headers = signer.sign_at("unused", 1_700_000_000, body)?;
    /// let verifier = Verifier::from_secret_str(Scheme::eventium(), "key")?;
    /// // Authentic, but not a `Quota`: the error names the field.
    /// let err = verifier.verify_json_at::<Quota>(&headers, body, 1_700_000_000).unwrap_err();
    /// assert!(matches!(err, VerifyError::InvalidPayload(ref payload) if payload.path() == "limit"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify_json`].
    pub fn verify_json_at<T: serde::de::DeserializeOwned>(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
    ) -> Result<Verified<T>, VerifyError> {
        let verified = self.verify_at(headers, body, now)?;
        let value = PayloadError::from_json(body)?;
        Ok(verified.with_value(value))
    }

    fn check(
        &self,
        picked: Picked<'_, '_>,
        body: &[u8],
        now: u64,
    ) -> Result<Verified, VerifyError> {
        let (signature_name, signature) = picked.signature;
        let mut parsed = ParsedSignature::new(self.scheme.encoding());
        parsed
            .read(signature, self.scheme.format())
            .map_err(|err| match err {
                ParseError::Malformed(problem) => malformed(signature_name, problem),
                ParseError::TooManyEntries => VerifyError::TooManyEntries {
                    name: signature_name.as_str().to_owned(),
                    limit: header::MAX_SIGNATURE_ENTRIES,
                },
            })?;

        let (raw_timestamp, timestamp_name) =
            match self.scheme.timestamp_source() {
                TimestampSource::None => (None, signature_name),
                TimestampSource::SignatureEntry => (
                    Some(parsed.timestamp.ok_or_else(|| {
                        malformed(signature_name, HeaderProblem::MissingTimestamp)
                    })?),
                    signature_name,
                ),
                TimestampSource::Header(name) => (
                    picked.timestamp.map(|(_, raw)| raw),
                    picked.timestamp.map_or(name, |(name, _)| name),
                ),
            };
        let timestamp = raw_timestamp
            .map(|raw| {
                header::parse_unix_timestamp(raw)
                    .ok_or_else(|| malformed(timestamp_name, HeaderProblem::InvalidTimestamp))
            })
            .transpose()?;
        if let Some(timestamp) = timestamp {
            self.check_tolerance(timestamp, now)?;
        }
        if let Some((name, id)) = picked.id
            && !header::is_valid_message_id(id)
        {
            return Err(malformed(name, HeaderProblem::InvalidId));
        }
        let id = picked.id.map(|(_, id)| id);

        let content = SignedContent {
            id,
            timestamp: raw_timestamp,
            body,
        };
        for (secret_index, key) in self.keys.iter().enumerate() {
            let expected = key.tag(content);
            if bool::from(parsed.contains(&expected)) {
                return Ok(Verified {
                    secret_index,
                    timestamp,
                    tag: expected,
                    value: (),
                });
            }
        }
        // Only a failure needs to know which entries decode at all.
        let (examined, undecodable) = parsed.decodable_counts();
        if examined == 0 && undecodable > 0 {
            return Err(malformed(
                signature_name,
                HeaderProblem::InvalidSignatureEncoding,
            ));
        }
        Err(VerifyError::NoMatchingSignature { examined })
    }

    fn check_tolerance(&self, timestamp: u64, now: u64) -> Result<(), VerifyError> {
        let (exceeded, tolerance) = if timestamp <= now {
            (
                now.abs_diff(timestamp) > self.past_tolerance,
                self.past_tolerance,
            )
        } else {
            (
                timestamp.abs_diff(now) > self.future_tolerance,
                self.future_tolerance,
            )
        };
        if !exceeded {
            return Ok(());
        }
        let skew = i128::from(now).saturating_sub(i128::from(timestamp));
        Err(VerifyError::TimestampOutOfTolerance {
            skew_seconds: i64::try_from(skew).unwrap_or(if skew > 0 { i64::MAX } else { i64::MIN }),
            tolerance_seconds: tolerance,
        })
    }
}

/// The signature, timestamp and id values a request is verified with,
/// each with the header name it was read under.
#[derive(Clone, Copy)]
pub(crate) struct Picked<'s, 'h> {
    pub(crate) signature: (&'s HeaderName, &'h [u8]),
    pub(crate) timestamp: Option<(&'s HeaderName, &'h [u8])>,
    pub(crate) id: Option<(&'s HeaderName, &'h [u8])>,
}

/// Reads the headers `scheme` signs from `headers`. A scheme that reads
/// both `svix-*` and `webhook-*` takes one complete family, `svix-*` when
/// both are, and refuses a mix: a sender means one or the other, and
/// borrowing a header across families would verify a message nobody sent.
pub(crate) fn pick_headers<'s, 'h>(
    scheme: &'s Scheme,
    headers: &'h HeaderMap,
) -> Result<Picked<'s, 'h>, VerifyError> {
    let Some([preferred, other]) = scheme.families() else {
        let required = |name: Option<&'s HeaderName>| {
            name.map(|name| {
                single_header(headers, name)?
                    .map(|value| (name, value))
                    .ok_or_else(|| missing(name))
            })
            .transpose()
        };
        let signature = scheme.signature_header();
        return Ok(Picked {
            signature: (
                signature,
                single_header(headers, signature)?.ok_or_else(|| missing(signature))?,
            ),
            timestamp: required(scheme.timestamp_header())?,
            id: required(scheme.id_header())?,
        });
    };
    let [first, second] = read_families(headers, [preferred, other])?;
    let any = |values: &[Option<&[u8]>; 3]| values.iter().any(Option::is_some);
    let complete = |values: &[Option<&[u8]>; 3]| values.iter().all(Option::is_some);
    let (family, values) = match (any(&first), any(&second)) {
        (true, true) if complete(&first) && complete(&second) => (preferred, first),
        (true, true) => {
            // Name the header that is not of the scheme's own family.
            let (foreign, values) = if preferred.signature == *scheme.signature_header() {
                (other, second)
            } else {
                (preferred, first)
            };
            let name = foreign
                .names()
                .into_iter()
                .zip(values)
                .find_map(|(name, value)| value.map(|_| name))
                .unwrap_or(&foreign.signature);
            return Err(malformed(name, HeaderProblem::MixedFamilies));
        }
        (true, false) => (preferred, first),
        (false, true) => (other, second),
        (false, false) => return Err(missing(scheme.signature_header())),
    };
    let [signature, timestamp, id] = family.names();
    let get = |name: &'static HeaderName, value: Option<&'h [u8]>| {
        value
            .map(|value| (name, value))
            .ok_or_else(|| missing(name))
    };
    let [signature_value, timestamp_value, id_value] = values;
    Ok(Picked {
        signature: get(signature, signature_value)?,
        timestamp: Some(get(timestamp, timestamp_value)?),
        id: Some(get(id, id_value)?),
    })
}

/// The values of both families' headers, in one pass over the request's
/// headers: six map lookups cost more than comparing the names of a
/// request's few headers, and this scheme is the one with two families.
/// Each header must occur at most once.
fn read_families<'h>(
    headers: &'h HeaderMap,
    families: [&HeaderFamily; 2],
) -> Result<[[Option<&'h [u8]>; 3]; 2], VerifyError> {
    let wanted = families.map(|family| family.names().map(HeaderName::as_str));
    let mut values = [[None; 3]; 2];
    for (name, value) in headers {
        let name = name.as_str();
        for ((family, names), found) in families.iter().zip(&wanted).zip(values.iter_mut()) {
            for ((header, wanted), slot) in
                family.names().into_iter().zip(names).zip(found.iter_mut())
            {
                if name == *wanted && slot.replace(value.as_bytes()).is_some() {
                    return Err(malformed(header, HeaderProblem::Repeated));
                }
            }
        }
    }
    Ok(values)
}

/// The value of a header that must occur at most once.
fn single_header<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'h [u8]>, VerifyError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(malformed(name, HeaderProblem::Repeated));
    }
    Ok(first.map(http::HeaderValue::as_bytes))
}

fn missing(name: &HeaderName) -> VerifyError {
    VerifyError::MissingHeader {
        name: name.as_str().to_owned(),
    }
}

fn malformed(name: &HeaderName, problem: HeaderProblem) -> VerifyError {
    VerifyError::MalformedHeader {
        name: name.as_str().to_owned(),
        problem,
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.scheme.name())
            .field("secrets", &self.keys.len())
            .field("past_tolerance_seconds", &self.past_tolerance)
            .field("future_tolerance_seconds", &self.future_tolerance)
            .finish()
    }
}

/// Signature header values as strings, for [`Verifier::verify_raw`].
///
/// ```
/// use titan_webhooks::{RawHeaders, Scheme, Secret, Verifier};
///
/// let verifier = Verifier::from_secret_str(Scheme::eventium(), "key")?;
/// // Eventium's timestamp travels inside the signature header.
/// let headers = RawHeaders::new("t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
/// let verified = verifier.verify_raw_at(headers, b"{}", 1_700_000_000)?;
/// assert_eq!(verified.signed_timestamp(), Some(1_700_000_000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct RawHeaders<'a> {
    signature: &'a str,
    timestamp: Option<&'a str>,
    id: Option<&'a str>,
}

impl<'a> RawHeaders<'a> {
    /// The signature header's value.
    ///
    /// ```
    /// use titan_webhooks::{RawHeaders, Scheme, Secret, Verifier};
    ///
    /// let secret = Secret::from_utf8("It's a Secret to Everybody")?;
    /// let verifier = Verifier::new(Scheme::github(), secret);
    /// let headers = RawHeaders::new("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    /// assert!(verifier.verify_raw(headers, b"Hello, World!").is_ok());
    /// let err = verifier.verify_raw(headers, b"Hello, World?").unwrap_err();
    /// assert_eq!(err.code(), "signature_mismatch");
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    pub fn new(signature: &'a str) -> Self {
        Self {
            signature,
            timestamp: None,
            id: None,
        }
    }

    /// The timestamp header's value, for schemes that carry it in a header
    /// of its own (Standard Webhooks' `webhook-timestamp`).
    ///
    /// ```
    /// use titan_webhooks::{RawHeaders, Scheme, Secret, Verifier};
    ///
    /// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// let verifier = Verifier::from_secret_str(Scheme::standard_webhooks(), secret)?;
    /// let headers = RawHeaders::new("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    ///     .id("msg_p5jXN8AQM9LWM0D4loKWxJek");
    /// let body = br#"{"test": 2432232314}"#;
    /// assert!(verifier.verify_raw_at(headers.timestamp("1614265330"), body, 1614265330).is_ok());
    /// // The timestamp is signed: another one fails even within the tolerance.
    /// let err = verifier.verify_raw_at(headers.timestamp("1614265331"), body, 1614265330).unwrap_err();
    /// assert_eq!(err.code(), "signature_mismatch");
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    pub fn timestamp(mut self, timestamp: &'a str) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// The id header's value, for schemes that sign one (Standard
    /// Webhooks' `webhook-id`).
    ///
    /// ```
    /// use titan_webhooks::{HeaderProblem, RawHeaders, Scheme, Secret, Verifier, VerifyError};
    ///
    /// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// let verifier = Verifier::from_secret_str(Scheme::standard_webhooks(), secret)?;
    /// // A `.` would shift the boundaries of the signed `<id>.<timestamp>.<body>`.
    /// let headers = RawHeaders::new("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    ///     .timestamp("1614265330")
    ///     .id("msg.1");
    /// let err = verifier.verify_raw_at(headers, br#"{"test": 2432232314}"#, 1614265330).unwrap_err();
    /// let problem = HeaderProblem::InvalidId;
    /// assert_eq!(err, VerifyError::MalformedHeader { name: "webhook-id".into(), problem });
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    pub fn id(mut self, id: &'a str) -> Self {
        self.id = Some(id);
        self
    }
}

/// Proof that a delivery passed verification, with what was learned.
///
/// Only a successful verify creates one, so handler code can require a
/// `Verified<T>` to make "verified first" a type-level fact. It dereferences
/// to the parsed value; its own accessors (`secret_index`,
/// `signed_timestamp`, `into_inner`) are named so they do not shadow the
/// value's.
///
/// ```
/// use titan_webhooks::{Scheme, Secret, Signer, Verifier, Verified};
///
/// fn handle(event: Verified<serde_json::Value>) -> String {
///     event["event"].as_str().unwrap_or_default().to_owned()
/// }
///
/// let body = br#"{"event":"session.status"}"#;
/// let headers = Signer::from_secret_str(Scheme::titan(), "k")?.sign(body);
/// let verified = Verifier::from_secret_str(Scheme::titan(), "k")?.verify_json(&headers, body)?;
/// assert_eq!(handle(verified), "session.status");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Verified<T = ()> {
    secret_index: usize,
    timestamp: Option<u64>,
    /// The signature that matched; what the sender sent, so not a secret.
    tag: Tag,
    value: T,
}

impl<T> Verified<T> {
    /// Which secret matched: `0` for the verifier's first, then in the
    /// order they were added with [`Verifier::with_secret`].
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer, Verifier};
    ///
    /// let verifier = Verifier::from_secret_str(Scheme::titan(), "current")?
    ///     .with_secret(Secret::from_utf8("previous")?);
    /// let by_current = Signer::from_secret_str(Scheme::titan(), "current")?.sign(b"{}");
    /// let by_previous = Signer::from_secret_str(Scheme::titan(), "previous")?.sign(b"{}");
    /// assert_eq!(verifier.verify(&by_current, b"{}")?.secret_index(), 0);
    /// assert_eq!(verifier.verify(&by_previous, b"{}")?.secret_index(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn secret_index(&self) -> usize {
        self.secret_index
    }

    /// The signed unix timestamp, for schemes that sign one. Named apart
    /// from a value's own `timestamp()`, such as [`Envelope`](crate::Envelope)'s,
    /// which `Deref` would otherwise shadow.
    ///
    /// ```
    /// use titan_webhooks::{RawHeaders, Scheme, Secret, Verifier};
    ///
    /// let eventium = Verifier::from_secret_str(Scheme::eventium(), "key")?;
    /// let signed = RawHeaders::new("t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
    /// let verified = eventium.verify_raw_at(signed, b"{}", 1_700_000_100)?;
    /// assert_eq!(verified.signed_timestamp(), Some(1_700_000_000));
    /// let github = Verifier::from_secret_str(Scheme::github(), "It's a Secret to Everybody")?;
    /// let signed = RawHeaders::new("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    /// assert_eq!(github.verify_raw(signed, b"Hello, World!")?.signed_timestamp(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn signed_timestamp(&self) -> Option<u64> {
        self.timestamp
    }

    /// A digest of the signed timestamp and the signature that matched:
    /// the same for a replayed request, different for a fresh signature.
    /// Receivers use it to spot replays when a scheme signs no id.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer, Verifier};
    ///
    /// let signer = Signer::from_secret_str(Scheme::stripe(), "whsec_k")?;
    /// let verifier = Verifier::from_secret_str(Scheme::stripe(), "whsec_k")?;
    /// let first = signer.sign_at("unused", 1_700_000_000, b"{}")?;
    /// let retry = signer.sign_at("unused", 1_700_000_060, b"{}")?;
    /// let fingerprint = |h| verifier.verify_at(h, b"{}", 1_700_000_060).map(|v| v.replay_fingerprint());
    /// assert_eq!(fingerprint(&first)?, fingerprint(&first)?);
    /// assert_ne!(fingerprint(&first)?, fingerprint(&retry)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn replay_fingerprint(&self) -> [u8; 32] {
        use sha2::Digest as _;
        let mut digest = sha2::Sha256::new();
        digest.update(self.timestamp.unwrap_or(0).to_be_bytes());
        digest.update(self.tag);
        digest.finalize().into()
    }

    /// Takes the verified value out.
    ///
    /// ```
    /// use titan_webhooks::{Scheme, Secret, Signer, Verifier};
    ///
    /// #[derive(Debug, PartialEq, serde::Deserialize)]
    /// struct Ping { id: String }
    ///
    /// let body = br#"{"id":"evt_1"}"#;
    /// let headers = Signer::from_secret_str(Scheme::titan(), "key")?.sign(body);
    /// let verifier = Verifier::from_secret_str(Scheme::titan(), "key")?;
    /// let ping = verifier.verify_json::<Ping>(&headers, body)?.into_inner();
    /// assert_eq!(ping, Ping { id: "evt_1".into() });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn into_inner(self) -> T {
        self.value
    }

    pub(crate) fn with_value<U>(self, value: U) -> Verified<U> {
        Verified {
            secret_index: self.secret_index,
            timestamp: self.timestamp,
            tag: self.tag,
            value,
        }
    }
}

impl<T> Deref for Verified<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Verified<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("secret_index", &self.secret_index)
            .field("timestamp", &self.timestamp)
            .field("value", &self.value)
            .finish_non_exhaustive()
    }
}

/// Why a delivery failed verification.
///
/// Every variant tells the receiver's developer what to look at, and none of
/// them echoes the secret, the expected signature or the body. Use
/// [`VerifyError::code`] for metrics and for responses to the sender.
///
/// ```
/// use titan_webhooks::{Scheme, Secret, Verifier, VerifyError};
///
/// let verifier = Verifier::from_secret_str(Scheme::titan(), "key")?;
/// let err = verifier.verify(&http::HeaderMap::new(), b"{}").unwrap_err();
/// assert!(matches!(err, VerifyError::MissingHeader { .. }));
/// assert_eq!(err.code(), "missing_header");
/// # Ok::<(), titan_webhooks::SecretError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A header the scheme requires is absent.
    #[error("missing header `{name}`")]
    MissingHeader {
        /// The header's name.
        name: String,
    },
    /// A header is present but cannot be read.
    #[error("header `{name}` is malformed: {problem}")]
    MalformedHeader {
        /// The header's name.
        name: String,
        /// What is wrong with it.
        problem: HeaderProblem,
    },
    /// The signature header lists more entries than are examined.
    #[error("header `{name}` has more than {limit} entries; at most {limit} are examined")]
    TooManyEntries {
        /// The header's name.
        name: String,
        /// How many entries are examined at most.
        limit: usize,
    },
    /// The signed timestamp is further from now than the tolerance allows.
    #[error("{}", describe_skew(*skew_seconds, *tolerance_seconds))]
    TimestampOutOfTolerance {
        /// `now - timestamp` in seconds: positive when the delivery is
        /// older than now, negative when it claims to come from the future.
        skew_seconds: i64,
        /// The tolerance that was exceeded, in seconds.
        tolerance_seconds: u64,
    },
    /// No signature in the header matches any configured secret.
    #[error("no signature matched ({examined} examined)")]
    NoMatchingSignature {
        /// How many well-formed signatures the header carried.
        examined: usize,
    },
    /// The delivery is authentic but its body is not the JSON expected.
    #[error(transparent)]
    InvalidPayload(#[from] PayloadError),
}

impl VerifyError {
    /// A stable, short reason code for metrics, logs and responses.
    ///
    /// ```
    /// use titan_webhooks::VerifyError;
    ///
    /// let err = VerifyError::NoMatchingSignature { examined: 1 };
    /// assert_eq!(err.code(), "signature_mismatch");
    /// ```
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingHeader { .. } => "missing_header",
            Self::MalformedHeader { .. } => "malformed_header",
            Self::TooManyEntries { .. } => "too_many_signatures",
            Self::TimestampOutOfTolerance { .. } => "timestamp_out_of_tolerance",
            Self::NoMatchingSignature { .. } => "signature_mismatch",
            Self::InvalidPayload(_) => "invalid_payload",
        }
    }
}

fn describe_skew(skew_seconds: i64, tolerance_seconds: u64) -> String {
    if skew_seconds >= 0 {
        format!(
            "timestamp is {skew_seconds} s in the past, beyond the tolerance of {tolerance_seconds} s"
        )
    } else {
        format!(
            "timestamp is {} s in the future, beyond the tolerance of {tolerance_seconds} s",
            skew_seconds.unsigned_abs()
        )
    }
}
