//! Error types, one per concern.
//!
//! None of them carries a secret, an expected digest or a request body, so
//! they are safe to log and to return to a caller.

use std::fmt;

/// Why a delivery failed verification.
///
/// Every variant tells the receiver's developer what to look at, and none of
/// them echoes the secret, the expected signature or the body. Use
/// [`VerifyError::code`] for metrics and for responses to the sender.
///
/// ```
/// use titan_webhooks::{Scheme, Secret, Verifier, VerifyError};
///
/// let verifier = Verifier::new(Scheme::titan(), Secret::from_utf8("key")?);
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

/// What is wrong with a malformed header, without repeating its value.
///
/// ```
/// use titan_webhooks::{HeaderProblem, RawHeaders, Scheme, Secret, Verifier, VerifyError};
///
/// let verifier = Verifier::new(Scheme::github(), Secret::from_utf8("key")?);
/// // GitHub's older SHA-1 header value, sent where SHA-256 is expected.
/// let err = verifier.verify_raw(RawHeaders::new("sha1=0123"), b"{}").unwrap_err();
/// let problem = HeaderProblem::MissingPrefix;
/// assert_eq!(err, VerifyError::MalformedHeader { name: "x-hub-signature-256".into(), problem });
/// # Ok::<(), titan_webhooks::SecretError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderProblem {
    /// The header occurs more than once.
    Repeated,
    /// The value lacks the scheme's prefix (for example `sha256=`).
    MissingPrefix,
    /// An entry is not of the form the scheme defines.
    InvalidEntry,
    /// The header carries no signature of the expected version.
    NoSignature,
    /// A signature is not valid hex or base64, or has the wrong length.
    InvalidSignatureEncoding,
    /// The timestamp entry is absent.
    MissingTimestamp,
    /// The timestamp entry occurs more than once.
    RepeatedTimestamp,
    /// The timestamp is not a non-negative decimal integer that fits 64 bits.
    InvalidTimestamp,
    /// The message id is empty, too long or has bytes not allowed in it.
    InvalidId,
}

impl fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Repeated => "the header occurs more than once",
            Self::MissingPrefix => "the value lacks the scheme's prefix",
            Self::InvalidEntry => "an entry is not of the scheme's form",
            Self::NoSignature => "no signature of the expected version",
            Self::InvalidSignatureEncoding => "a signature has a bad encoding or length",
            Self::MissingTimestamp => "the timestamp is missing",
            Self::RepeatedTimestamp => "the timestamp occurs more than once",
            Self::InvalidTimestamp => "the timestamp is not a valid unix time",
            Self::InvalidId => "the message id is not valid",
        })
    }
}

/// A verified body that does not deserialize into the requested type.
///
/// It names the JSON path of the offending field and what was expected
/// there, but never quotes a value from the body: where the parser's message
/// would show the offending value, only its JSON kind is kept (`invalid
/// type: string, expected u64`). Messages written by the target type's own
/// `Deserialize` code are kept as they are.
///
/// ```
/// use titan_webhooks::PayloadError;
///
/// #[derive(Debug, serde::Deserialize)]
/// struct Quota { limit: u64 }
/// #[derive(Debug, serde::Deserialize)]
/// struct Event { data: Quota }
///
/// let err = PayloadError::from_json::<Event>(br#"{"data":{"limit":"lots"}}"#).unwrap_err();
/// assert_eq!(err.path(), "data.limit");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payload does not parse at `{path}`: {message}")]
pub struct PayloadError {
    path: String,
    message: String,
}

impl PayloadError {
    /// Deserializes `T` from JSON bytes, naming the failing field on error.
    ///
    /// ```
    /// use titan_webhooks::PayloadError;
    ///
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Ping { id: String }
    ///
    /// assert_eq!(PayloadError::from_json::<Ping>(br#"{"id":"evt_1"}"#)?.id, "evt_1");
    /// // A second document after the first is refused, not ignored.
    /// let err = PayloadError::from_json::<Ping>(br#"{"id":"evt_1"}{"id":"evt_2"}"#).unwrap_err();
    /// assert_eq!(err.path(), ".");
    /// # Ok::<(), PayloadError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Returns a [`PayloadError`] when `bytes` is not JSON or does not fit `T`.
    pub fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Self> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let value: T = serde_path_to_error::deserialize(&mut de).map_err(Self::from_path_error)?;
        de.end().map_err(|e| Self::new(".".to_owned(), &e))?;
        Ok(value)
    }

    /// Deserializes `T` from an already parsed JSON value.
    ///
    /// ```
    /// use serde_json::json;
    /// use titan_webhooks::PayloadError;
    ///
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Quota { limit: u64 }
    ///
    /// let quota: Quota = PayloadError::from_value(&json!({ "limit": 10000 }))?;
    /// assert_eq!(quota.limit, 10_000);
    /// let err = PayloadError::from_value::<Quota>(&json!({ "limit": -1 })).unwrap_err();
    /// assert_eq!(err.path(), "limit");
    /// # Ok::<(), PayloadError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Returns a [`PayloadError`] when `value` does not fit `T`.
    pub fn from_value<T: serde::de::DeserializeOwned>(
        value: &serde_json::Value,
    ) -> Result<T, Self> {
        serde_path_to_error::deserialize(value).map_err(Self::from_path_error)
    }

    fn from_path_error(err: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = err.path().to_string();
        Self::new(path, err.inner())
    }

    fn new(path: String, err: &serde_json::Error) -> Self {
        let full = err.to_string();
        // serde_json appends the position; it is kept, but apart from the
        // message so the message can be cleaned.
        let position = format!(" at line {} column {}", err.line(), err.column());
        let message = full.strip_suffix(&position).unwrap_or(&full);
        let mut message = without_body_values(message);
        if err.line() > 0 {
            message.push_str(&position);
        }
        Self { path, message }
    }

    /// The JSON path of the field that failed, `.` for the document itself.
    ///
    /// ```
    /// use titan_webhooks::PayloadError;
    ///
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Item { sku: String }
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Order { items: Vec<Item> }
    ///
    /// let body = br#"{"items":[{"sku":"a"},{"sku":7}]}"#;
    /// let err = PayloadError::from_json::<Order>(body).unwrap_err();
    /// assert_eq!(err.path(), "items[1].sku");
    /// ```
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The parser's description of the failure.
    ///
    /// ```
    /// use titan_webhooks::PayloadError;
    ///
    /// #[derive(Debug, serde::Deserialize)]
    /// struct Quota { limit: u64 }
    ///
    /// let err = PayloadError::from_json::<Quota>(b"{}").unwrap_err();
    /// assert!(err.message().starts_with("missing field `limit`"));
    /// ```
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// `message` with every value quoted from the body replaced by its kind.
///
/// serde's messages have a fixed shape: `invalid type: <unexpected>,
/// expected <expected>`, where `<unexpected>` is a kind followed by the value
/// in quotes or backticks (`string "…"`, ``integer `5` ``), and
/// ``unknown variant `…`, expected …``. Everything after `expected` comes
/// from the target type, not the body.
fn without_body_values(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let (unexpected, expected) = rest
                .rsplit_once(", expected ")
                .map_or((rest, None), |(unexpected, expected)| {
                    (unexpected, Some(expected))
                });
            let kind = unexpected
                .split(['"', '`'])
                .next()
                .unwrap_or_default()
                .trim_end();
            return match expected {
                Some(expected) => format!("{prefix}{kind}, expected {expected}"),
                None => format!("{prefix}{kind}"),
            };
        }
    }
    for prefix in ["unknown variant `", "unknown field `"] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let name = prefix.trim_end_matches(" `");
            return match rest.split_once("`, ") {
                Some((_, tail)) => format!("{name}, {tail}"),
                None => name.to_owned(),
            };
        }
    }
    message.to_owned()
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
    /// A Standard Webhooks secret lacks its `whsec_` prefix.
    #[error("the secret does not start with `whsec_`")]
    MissingWhsecPrefix,
    /// The part after `whsec_` is not canonical padded base64.
    #[error("the secret after `whsec_` is not valid base64")]
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

/// A string or number that is not a valid [`Timestamp`](crate::Timestamp).
///
/// ```
/// use titan_webhooks::{Timestamp, TimestampError};
///
/// assert_eq!("yesterday".parse::<Timestamp>(), Err(TimestampError::NotRfc3339));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The text is not an RFC 3339 date-time.
    #[error("not an RFC 3339 date-time such as 2025-01-15T10:30:00Z")]
    NotRfc3339,
    /// The instant is outside the years 0000 to 9999.
    #[error("outside the years 0000 to 9999")]
    OutOfRange,
}

/// An event filter could not be built.
///
/// ```
/// use titan_webhooks::{EventFilter, FilterError, TitanEvent};
///
/// let err = EventFilter::<TitanEvent>::new(["*"], Some("")).unwrap_err();
/// assert_eq!(err, FilterError::EmptySession);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// An event type the catalog does not know.
    #[error(
        "unknown event type `{event}`{}",
        suggestion.map(|known| format!("; did you mean `{known}`?")).unwrap_or_default()
    )]
    UnknownEvent {
        /// The type as given.
        event: String,
        /// The closest known type, when one is within three edits.
        suggestion: Option<&'static str>,
    },
    /// A session filter that is an empty string; use `None` for every
    /// session.
    #[error("the session filter is empty; omit it to receive every session")]
    EmptySession,
}

/// An envelope could not be built as asked.
///
/// ```
/// use titan_webhooks::{Envelope, EnvelopeError, TitanEvent};
///
/// let err = Envelope::new(TitanEvent::ChatRead, "s", ()).with_id("").unwrap_err();
/// assert_eq!(err, EnvelopeError::InvalidId);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The id is empty, longer than [`MAX_ID_LEN`](crate::MAX_ID_LEN)
    /// bytes, or has a byte outside visible ASCII or a `.`.
    #[error(
        "an envelope id must be 1 to {} visible ASCII characters without `.`",
        crate::MAX_ID_LEN
    )]
    InvalidId,
    /// The payload does not serialize to JSON.
    #[error("the envelope does not serialize: {reason}")]
    Serialize {
        /// The serializer's message.
        reason: String,
    },
}

/// A retry configuration is out of bounds.
///
/// ```
/// use titan_webhooks::RetryPolicyError;
/// use titan_webhooks::retry::RetryPolicy;
///
/// let err = serde_json::from_str::<RetryPolicy>(r#"{"attempts":3,"delaySeconds":5,"policy":"fibonacci"}"#)
///     .unwrap_err();
/// assert!(err.to_string().contains("unknown retry policy `fibonacci`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RetryPolicyError {
    /// `attempts` is negative or above the maximum.
    #[error("`attempts` must be between 0 and {max}, got {value}")]
    AttemptsOutOfRange {
        /// The value given.
        value: i64,
        /// The maximum.
        max: u32,
    },
    /// `delaySeconds` is outside its bounds.
    #[error("`delaySeconds` must be between {min} and {max}, got {value}")]
    DelayOutOfRange {
        /// The value given.
        value: i64,
        /// The minimum.
        min: u32,
        /// The maximum.
        max: u32,
    },
    /// `policy` is not `constant`, `linear` or `exponential`.
    #[error("unknown retry policy `{name}`; expected `constant`, `linear` or `exponential`")]
    UnknownPolicy {
        /// The name given.
        name: String,
    },
}

/// A webhook request breaks a rule. Each variant names the field, and none
/// repeats a key or a custom header's value.
///
/// ```
/// use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
/// use titan_webhooks::{UrlGuard, ValidationError};
///
/// let mut request = CreateWebhook::new("https://example.com/");
/// request.label = Some("x".repeat(300));
/// let err = WebhookRules::new(UrlGuard::new()).create(1.into(), request).unwrap_err();
/// assert_eq!(err, ValidationError::LabelTooLong { len: 300, max: 255 });
/// assert_eq!(err.field(), "label");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// `url` is refused by the SSRF guard.
    #[error("`url`: {0}")]
    Url(#[source] crate::GuardError),
    /// `events` or `session` is not a valid filter.
    #[error("`{}`: {}", filter_field(.0), .0)]
    Filter(#[source] FilterError),
    /// `hmacKey` is not a usable key.
    #[error("`hmacKey`: {0}")]
    HmacKey(#[source] SecretError),
    /// More custom headers than allowed.
    #[error("`headers`: at most {max} custom headers, got {count}")]
    TooManyHeaders {
        /// How many were given.
        count: usize,
        /// The maximum.
        max: usize,
    },
    /// A custom header's name is not a valid HTTP header name.
    #[error("`headers[{index}]`: `{name}` is not a valid header name")]
    InvalidHeaderName {
        /// The header's position in the list.
        index: usize,
        /// The name given.
        name: String,
    },
    /// A custom header's value is not a valid HTTP header value: it must
    /// be visible ASCII, spaces and tabs.
    #[error("`headers[{index}]`: the value of `{name}` is not a valid header value")]
    InvalidHeaderValue {
        /// The header's position in the list.
        index: usize,
        /// The header's name.
        name: String,
    },
    /// A custom header would set a header the sender controls.
    #[error("`headers[{index}]`: `{name}` cannot be a custom header: {reason}")]
    ReservedHeader {
        /// The header's position in the list.
        index: usize,
        /// The header's name, lowercased.
        name: String,
        /// Why it is reserved.
        reason: &'static str,
    },
    /// `label` is longer than allowed.
    #[error("`label`: at most {max} characters, got {len}")]
    LabelTooLong {
        /// The label's length in characters.
        len: usize,
        /// The maximum.
        max: usize,
    },
}

impl ValidationError {
    /// The request field that broke a rule, as named in the JSON.
    ///
    /// ```
    /// use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// use titan_webhooks::UrlGuard;
    ///
    /// let mut request = CreateWebhook::new("https://example.com/");
    /// request.events = Some(vec!["message.recieved".into()]);
    /// let err = WebhookRules::new(UrlGuard::new()).create(1.into(), request).unwrap_err();
    /// assert_eq!(err.field(), "events");
    /// assert!(err.to_string().contains("did you mean `message.received`?"));
    /// ```
    #[must_use]
    pub fn field(&self) -> &'static str {
        match self {
            Self::Url(_) => "url",
            Self::Filter(err) => filter_field(err),
            Self::HmacKey(_) => "hmacKey",
            Self::TooManyHeaders { .. }
            | Self::InvalidHeaderName { .. }
            | Self::InvalidHeaderValue { .. }
            | Self::ReservedHeader { .. } => "headers",
            Self::LabelTooLong { .. } => "label",
        }
    }
}

fn filter_field(err: &FilterError) -> &'static str {
    match err {
        FilterError::EmptySession => "session",
        _ => "events",
    }
}

/// A replay guard's backend failed, for example a database a custom guard
/// uses.
///
/// ```
/// use titan_webhooks::ReplayGuardError;
///
/// let err = ReplayGuardError::new("redis is unreachable");
/// assert_eq!(err.to_string(), "the replay guard failed: redis is unreachable");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the replay guard failed: {message}")]
pub struct ReplayGuardError {
    message: String,
}

impl ReplayGuardError {
    /// An error described by `message`, which must not carry secrets.
    ///
    /// ```
    /// use titan_webhooks::ReplayGuardError;
    ///
    /// assert_eq!(ReplayGuardError::new("timeout").message(), "timeout");
    /// ```
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The description.
    ///
    /// ```
    /// use titan_webhooks::ReplayGuardError;
    ///
    /// assert_eq!(ReplayGuardError::new("down").message(), "down");
    /// ```
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A request a receiver refused, with the status to answer and a short
/// reason code for the response body and metrics. None of it repeats a
/// secret, an expected signature or the body.
///
/// ```
/// use titan_webhooks::{ReceiveError, VerifyError};
///
/// let err = ReceiveError::from(VerifyError::NoMatchingSignature { examined: 1 });
/// assert_eq!((err.status().as_u16(), err.code()), (401, "signature_mismatch"));
/// assert_eq!(ReceiveError::Replayed.status().as_u16(), 409);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// The body is over the receiver's limit (`413`).
    #[error("the body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body could not be read (`400`).
    #[error("the request body could not be read")]
    BodyUnreadable,
    /// Verification failed (`401`), or the authentic body is not the JSON
    /// expected (`400`).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The delivery was already received (`409`).
    #[error("the delivery was already received")]
    Replayed,
    /// The replay guard failed (`503`, so the sender retries).
    #[error(transparent)]
    ReplayGuard(#[from] ReplayGuardError),
}

impl ReceiveError {
    /// The status to answer with: `401` for a missing, bad or stale
    /// signature, `400` for a malformed body, `413`, `409` or `503`.
    ///
    /// ```
    /// use titan_webhooks::ReceiveError;
    ///
    /// assert_eq!(ReceiveError::BodyTooLarge { limit: 10 }.status().as_u16(), 413);
    /// ```
    #[must_use]
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::BodyTooLarge { .. } => http::StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyUnreadable | Self::Verify(VerifyError::InvalidPayload(_)) => {
                http::StatusCode::BAD_REQUEST
            }
            Self::Verify(_) => http::StatusCode::UNAUTHORIZED,
            Self::Replayed => http::StatusCode::CONFLICT,
            Self::ReplayGuard(_) => http::StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A stable, short reason code: [`VerifyError::code`] for verification
    /// failures, else `body_too_large`, `body_unreadable`, `replayed` or
    /// `replay_guard_unavailable`.
    ///
    /// ```
    /// use titan_webhooks::ReceiveError;
    ///
    /// assert_eq!(ReceiveError::Replayed.code(), "replayed");
    /// ```
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::BodyUnreadable => "body_unreadable",
            Self::Verify(err) => err.code(),
            Self::Replayed => "replayed",
            Self::ReplayGuard(_) => "replay_guard_unavailable",
        }
    }
}
