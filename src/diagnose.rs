//! Why a delivery fails verification, for a developer debugging locally.
//!
//! [`diagnose`] verifies a delivery and, when it fails, tries the usual
//! repairs with the crate's own verifier: the body before a framework
//! re-serialised it or changed its final newline, the secret string read
//! another way (literal text, `whsec_` base64, hex, without surrounding
//! spaces), a header a proxy renamed, another built-in scheme, and a
//! timestamp outside the tolerance. A repair that makes the signature match
//! is reported as confirmed; without one, the likely causes are listed.
//!
//! No finding shows the secret, an expected signature, a header value or
//! the body, so a diagnosis can be pasted into an issue. It is a debugging
//! aid, not a verifier: it tries many keys and bodies, so never use its
//! answer to accept a delivery, and never expose it to a sender.
//!
//! ```
//! use titan_webhooks::diagnose::{Cause, diagnose};
//! use titan_webhooks::{Scheme, Secret, Signer};
//!
//! // Stripe keys on the whole `whsec_…` string; decoding it is a mistake.
//! let text = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//! let headers = Signer::new(Scheme::stripe(), Secret::from_utf8(text)?).sign(b"{}");
//! let decoded = Secret::from_whsec(text)?;
//! let diagnosis = diagnose(&Scheme::stripe(), &decoded, &headers, b"{}");
//! assert!(!diagnosis.is_verified());
//! assert_eq!(diagnosis.findings()[0].cause(), Cause::SecretEncoding);
//! assert!(!diagnosis.to_string().contains(text));
//! # Ok::<(), titan_webhooks::SecretError>(())
//! ```

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use http::{HeaderMap, HeaderName};

use crate::clock::unix_now;
use crate::{
    DEFAULT_TOLERANCE, DigestEncoding, Scheme, Secret, SecretEncoding, SecretError, Timestamp,
    Verifier, VerifyError, WHSEC_PREFIX,
};

/// At most this many of the request's headers are tried as a renamed
/// scheme header or listed in a finding: a debugging aid stays bounded.
const MAX_HEADERS_EXAMINED: usize = 32;

/// The secret as the developer has it: the string they pasted, or the
/// [`Secret`] their code built from it.
///
/// ```
/// use titan_webhooks::diagnose::SecretInput;
/// use titan_webhooks::Secret;
///
/// let secret = Secret::from_utf8("key")?;
/// assert!(matches!(SecretInput::from("key"), SecretInput::Text(_)));
/// assert!(matches!(SecretInput::from(&secret), SecretInput::Key(_)));
/// # Ok::<(), titan_webhooks::SecretError>(())
/// ```
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum SecretInput<'a> {
    /// The secret string as pasted; the scheme's
    /// [`SecretEncoding`] says how it is read.
    Text(&'a str),
    /// The key the application built.
    Key(&'a Secret),
}

impl<'a> From<&'a str> for SecretInput<'a> {
    fn from(text: &'a str) -> Self {
        Self::Text(text)
    }
}

impl<'a> From<&'a String> for SecretInput<'a> {
    fn from(text: &'a String) -> Self {
        Self::Text(text)
    }
}

impl<'a> From<&'a Secret> for SecretInput<'a> {
    fn from(secret: &'a Secret) -> Self {
        Self::Key(secret)
    }
}

impl fmt::Debug for SecretInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(_) => f.write_str("Text(***)"),
            Self::Key(_) => f.write_str("Key(***)"),
        }
    }
}

/// Diagnoses a delivery at the current time with the
/// [`DEFAULT_TOLERANCE`]; see [`Diagnose`] for other settings.
///
/// ```
/// use titan_webhooks::diagnose::diagnose;
/// use titan_webhooks::{Scheme, Secret, Signer};
///
/// let headers = Signer::new(Scheme::titan(), Secret::from_utf8("key")?).sign(b"{}");
/// let diagnosis = diagnose(&Scheme::titan(), "key", &headers, b"{}");
/// assert!(diagnosis.is_verified());
/// assert!(diagnosis.findings().is_empty());
/// # Ok::<(), titan_webhooks::SecretError>(())
/// ```
#[must_use]
pub fn diagnose<'a>(
    scheme: &'a Scheme,
    secret: impl Into<SecretInput<'a>>,
    headers: &HeaderMap,
    body: &[u8],
) -> Diagnosis {
    Diagnose::new(scheme, secret).run(headers, body)
}

/// The settings of a diagnosis: the scheme, the secret, the time and the
/// tolerance the receiver uses.
///
/// ```
/// use std::time::Duration;
/// use titan_webhooks::diagnose::{Cause, Diagnose};
/// use titan_webhooks::{Scheme, Secret, Signer};
///
/// let headers = Signer::new(Scheme::stripe(), Secret::from_utf8("whsec_k")?)
///     .sign_at("unused", 1_700_000_000, b"{}")?;
/// let diagnosis = Diagnose::new(&Scheme::stripe(), "whsec_k")
///     .at(1_700_000_090)
///     .with_tolerance(Duration::from_secs(60))
///     .run(&headers, b"{}");
/// assert_eq!(diagnosis.findings()[0].cause(), Cause::ClockSkew);
/// assert!(diagnosis.findings()[0].message().contains("90 s in the past"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct Diagnose<'a> {
    scheme: &'a Scheme,
    secret: SecretInput<'a>,
    now: Option<u64>,
    past_tolerance: u64,
    future_tolerance: u64,
}

impl<'a> Diagnose<'a> {
    /// A diagnosis for deliveries of `scheme` signed with `secret`.
    ///
    /// ```
    /// use titan_webhooks::diagnose::Diagnose;
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let headers = Signer::new(Scheme::github(), Secret::from_utf8("key")?).sign(b"{}");
    /// assert!(Diagnose::new(&Scheme::github(), "key").run(&headers, b"{}").is_verified());
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    pub fn new(scheme: &'a Scheme, secret: impl Into<SecretInput<'a>>) -> Self {
        Self {
            scheme,
            secret: secret.into(),
            now: None,
            past_tolerance: DEFAULT_TOLERANCE.as_secs(),
            future_tolerance: DEFAULT_TOLERANCE.as_secs(),
        }
    }

    /// Diagnoses as if the time were `now` (unix seconds). Defaults to the
    /// current time.
    ///
    /// ```
    /// use titan_webhooks::diagnose::Diagnose;
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let headers = Signer::new(Scheme::eventium(), Secret::from_utf8("key")?)
    ///     .sign_at("unused", 1_700_000_000, b"{}")?;
    /// let scheme = Scheme::eventium();
    /// let diagnose = Diagnose::new(&scheme, "key");
    /// assert!(diagnose.at(1_700_000_000).run(&headers, b"{}").is_verified());
    /// assert!(!diagnose.at(1_800_000_000).run(&headers, b"{}").is_verified());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn at(mut self, now: u64) -> Self {
        self.now = Some(now);
        self
    }

    /// The receiver's tolerance, both ways, in whole seconds. Defaults to
    /// [`DEFAULT_TOLERANCE`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::diagnose::Diagnose;
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let headers = Signer::new(Scheme::eventium(), Secret::from_utf8("key")?)
    ///     .sign_at("unused", 1_700_000_000, b"{}")?;
    /// let scheme = Scheme::eventium();
    /// let diagnose = Diagnose::new(&scheme, "key").at(1_700_000_600);
    /// assert!(!diagnose.run(&headers, b"{}").is_verified());
    /// let lenient = diagnose.with_tolerance(Duration::from_secs(600));
    /// assert!(lenient.run(&headers, b"{}").is_verified());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.past_tolerance = tolerance.as_secs();
        self.future_tolerance = tolerance.as_secs();
        self
    }

    /// Verifies the delivery and, if that fails, looks for the cause.
    ///
    /// ```
    /// use titan_webhooks::diagnose::{Cause, Diagnose};
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let sent = br#"{"id":"evt_1","n":1}"#;
    /// let headers = Signer::new(Scheme::titan(), Secret::from_utf8("key")?).sign(sent);
    /// // What a framework hands over after parsing and pretty-printing.
    /// let seen = b"{\n  \"id\": \"evt_1\",\n  \"n\": 1\n}";
    /// let diagnosis = Diagnose::new(&Scheme::titan(), "key").run(&headers, seen);
    /// let finding = &diagnosis.findings()[0];
    /// assert_eq!(finding.cause(), Cause::ReserializedBody);
    /// assert!(finding.is_confirmed());
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn run(&self, headers: &HeaderMap, body: &[u8]) -> Diagnosis {
        Run::new(self, headers, body).diagnose()
    }
}

/// The result of [`diagnose`]: whether the delivery verifies, why not, and
/// what was found. `Display` prints one finding a line.
///
/// ```
/// use titan_webhooks::diagnose::{Cause, diagnose};
/// use titan_webhooks::{Scheme, Secret, Signer};
///
/// let headers = Signer::new(Scheme::titan(), Secret::from_utf8("key")?).sign(b"{}");
/// let diagnosis = diagnose(&Scheme::titan(), "another-key", &headers, b"{}");
/// assert_eq!(diagnosis.error().map(|err| err.code()), Some("signature_mismatch"));
/// assert_eq!(diagnosis.findings()[0].cause(), Cause::Unexplained);
/// assert!(diagnosis.to_string().starts_with("verification failed: no signature matched"));
/// # Ok::<(), titan_webhooks::SecretError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    error: Option<VerifyError>,
    secret_error: Option<SecretError>,
    findings: Vec<Finding>,
}

impl Diagnosis {
    /// Whether the delivery verifies as given. Then there are no findings.
    ///
    /// ```
    /// use titan_webhooks::diagnose::diagnose;
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let headers = Signer::new(Scheme::titan(), Secret::from_utf8("key")?).sign(b"{}");
    /// assert!(diagnose(&Scheme::titan(), "key", &headers, b"{}").is_verified());
    /// assert!(!diagnose(&Scheme::titan(), "key", &headers, b"{ }").is_verified());
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn is_verified(&self) -> bool {
        self.error.is_none() && self.secret_error.is_none()
    }

    /// The verifier's error for the delivery as given; `None` when it
    /// verifies, or when the secret string cannot be read the scheme's way
    /// (a [`Cause::SecretUnreadable`] finding says so).
    ///
    /// ```
    /// use titan_webhooks::diagnose::diagnose;
    /// use titan_webhooks::Scheme;
    ///
    /// let diagnosis = diagnose(&Scheme::titan(), "key", &http::HeaderMap::new(), b"{}");
    /// assert_eq!(diagnosis.error().map(|err| err.code()), Some("missing_header"));
    /// ```
    #[must_use]
    pub fn error(&self) -> Option<&VerifyError> {
        self.error.as_ref()
    }

    /// What was found, confirmed repairs first.
    ///
    /// ```
    /// use titan_webhooks::diagnose::{Cause, diagnose};
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// // Signed by GitHub, checked as Titan: same digest, other header.
    /// let headers = Signer::new(Scheme::github(), Secret::from_utf8("key")?).sign(b"{}");
    /// let diagnosis = diagnose(&Scheme::titan(), "key", &headers, b"{}");
    /// assert_eq!(diagnosis.findings()[0].cause(), Cause::WrongScheme);
    /// assert!(diagnosis.findings()[0].message().contains("github"));
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.error, &self.secret_error) {
            (_, Some(err)) => write!(f, "the secret cannot be read: {err}")?,
            (Some(err), None) => write!(f, "verification failed: {err}")?,
            (None, None) => return f.write_str("the signature verifies"),
        }
        for finding in &self.findings {
            write!(f, "\n- {finding}")?;
        }
        Ok(())
    }
}

/// One cause found, with a stable [`code`](Finding::code) and a message
/// for people.
///
/// ```
/// use titan_webhooks::diagnose::diagnose;
/// use titan_webhooks::Scheme;
///
/// let diagnosis = diagnose(&Scheme::titan(), "key", &http::HeaderMap::new(), b"{}");
/// let finding = &diagnosis.findings()[0];
/// assert_eq!(finding.code(), "header_missing");
/// assert!(!finding.is_confirmed());
/// assert_eq!(finding.to_string(), format!("[header_missing] {}", finding.message()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    cause: Cause,
    message: String,
    confirmed: bool,
}

impl Finding {
    /// The kind of cause.
    ///
    /// ```
    /// use titan_webhooks::diagnose::{Cause, diagnose};
    /// use titan_webhooks::Scheme;
    ///
    /// let diagnosis = diagnose(&Scheme::titan(), "key", &http::HeaderMap::new(), b"{}");
    /// assert_eq!(diagnosis.findings()[0].cause(), Cause::MissingHeader);
    /// ```
    #[must_use]
    pub fn cause(&self) -> Cause {
        self.cause
    }

    /// The cause's stable code, [`Cause::code`].
    ///
    /// ```
    /// use titan_webhooks::diagnose::diagnose;
    /// use titan_webhooks::Scheme;
    ///
    /// let diagnosis = diagnose(&Scheme::titan(), "key", &http::HeaderMap::new(), b"{}");
    /// assert_eq!(diagnosis.findings()[0].code(), "header_missing");
    /// ```
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.cause.code()
    }

    /// What was found and what to do, in a sentence or two.
    ///
    /// ```
    /// use titan_webhooks::diagnose::diagnose;
    /// use titan_webhooks::Scheme;
    ///
    /// let diagnosis = diagnose(&Scheme::titan(), "key", &http::HeaderMap::new(), b"{}");
    /// assert!(diagnosis.findings()[0].message().contains("x-webhook-signature"));
    /// ```
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the repair was tried and made the signature match, rather
    /// than being a likely cause.
    ///
    /// ```
    /// use titan_webhooks::diagnose::diagnose;
    /// use titan_webhooks::{Scheme, Secret, Signer};
    ///
    /// let headers = Signer::new(Scheme::titan(), Secret::from_utf8("key")?).sign(b"{}");
    /// let diagnosis = diagnose(&Scheme::titan(), "key", &headers, b"{}\n");
    /// assert!(diagnosis.findings()[0].is_confirmed());
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn is_confirmed(&self) -> bool {
        self.confirmed
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code(), self.message)
    }
}

/// The kinds of cause a diagnosis reports.
///
/// ```
/// use titan_webhooks::diagnose::Cause;
///
/// assert_eq!(Cause::ClockSkew.code(), "clock_skew");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cause {
    /// The body was parsed and written out again (pretty-printed, spacing,
    /// key order, escapes) after it was signed.
    ReserializedBody,
    /// A final newline was added to or dropped from the body.
    ChangedNewline,
    /// The secret string is read the wrong way: literal text, `whsec_`
    /// base64 or hex, or with spaces around it.
    SecretEncoding,
    /// The secret string cannot be read the way the scheme reads it.
    SecretUnreadable,
    /// The signature matches, but its timestamp is outside the tolerance.
    ClockSkew,
    /// A header the scheme needs is absent, as when a proxy strips it.
    MissingHeader,
    /// A header the scheme needs arrived under another name, as when a
    /// proxy or framework renames it.
    RenamedHeader,
    /// The delivery is signed with another built-in scheme.
    WrongScheme,
    /// A header is present but cannot be read.
    MalformedHeader,
    /// No usual cause explains the failure.
    Unexplained,
}

impl Cause {
    /// A stable, short code for the cause.
    ///
    /// ```
    /// use titan_webhooks::diagnose::Cause;
    ///
    /// assert_eq!(Cause::SecretEncoding.code(), "secret_encoding");
    /// assert_eq!(Cause::WrongScheme.code(), "wrong_scheme");
    /// ```
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::ReserializedBody => "body_reserialized",
            Self::ChangedNewline => "body_newline",
            Self::SecretEncoding => "secret_encoding",
            Self::SecretUnreadable => "secret_unreadable",
            Self::ClockSkew => "clock_skew",
            Self::MissingHeader => "header_missing",
            Self::RenamedHeader => "header_renamed",
            Self::WrongScheme => "wrong_scheme",
            Self::MalformedHeader => "header_malformed",
            Self::Unexplained => "unexplained",
        }
    }
}

/// One alternative on one axis of the search: what it is, and the finding
/// it stands for when it makes the signature match.
struct Alternative<T> {
    value: T,
    /// `None` for the delivery as given.
    repair: Option<(Cause, String)>,
}

impl<T> Alternative<T> {
    fn given(value: T) -> Self {
        Self {
            value,
            repair: None,
        }
    }

    fn repair(value: T, cause: Cause, message: impl Into<String>) -> Self {
        Self {
            value,
            repair: Some((cause, message.into())),
        }
    }
}

/// A key the secret may stand for, and how it was read.
struct KeyReading {
    key: Secret,
    reading: Reading,
    /// Read after removing surrounding whitespace.
    trimmed: bool,
}

/// How a secret string was read into a key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// The key as the application built it.
    AsGiven,
    Utf8,
    Base64,
    Hex,
}

struct Run<'a> {
    settings: &'a Diagnose<'a>,
    headers: &'a HeaderMap,
    body: &'a [u8],
    now: u64,
    /// The secret's text, when there is one, to keep it out of messages.
    secret_text: Option<String>,
}

impl<'a> Run<'a> {
    fn new(settings: &'a Diagnose<'a>, headers: &'a HeaderMap, body: &'a [u8]) -> Self {
        let secret_text = match settings.secret {
            SecretInput::Text(text) => Some(text.to_owned()),
            SecretInput::Key(key) => key.expose_str().ok().map(str::to_owned),
        };
        Self {
            settings,
            headers,
            body,
            now: settings.now.unwrap_or_else(unix_now),
            secret_text,
        }
    }

    fn scheme(&self) -> &Scheme {
        self.settings.scheme
    }

    fn diagnose(&self) -> Diagnosis {
        let given = match self.settings.secret {
            SecretInput::Text(text) => self.scheme().secret_encoding().parse(text),
            SecretInput::Key(key) => Ok(key.clone_secret()),
        };
        let mut findings = Vec::new();
        let (error, secret_error) = match &given {
            Ok(secret) => {
                let verifier = Verifier::new(self.scheme().clone(), secret.clone_secret())
                    .with_past_tolerance(Duration::from_secs(self.settings.past_tolerance))
                    .with_future_tolerance(Duration::from_secs(self.settings.future_tolerance));
                match verifier.verify_at(self.headers, self.body, self.now) {
                    Ok(_) => {
                        return Diagnosis {
                            error: None,
                            secret_error: None,
                            findings,
                        };
                    }
                    Err(err) => (Some(err), None),
                }
            }
            Err(err) => {
                findings.push(Finding {
                    cause: Cause::SecretUnreadable,
                    message: format!(
                        "{} reads its secret string {}, and this one does not read that way: {err}",
                        self.scheme().name(),
                        describe_encoding(self.scheme().secret_encoding()),
                    ),
                    confirmed: false,
                });
                (None, Some(err.clone()))
            }
        };

        let found = self.search();
        if found.is_empty() {
            findings.extend(self.likely_causes(error.as_ref()));
        } else {
            findings.splice(0..0, found);
        }
        Diagnosis {
            error,
            secret_error,
            findings,
        }
    }

    /// Confirmed repairs: the fewest changes to the delivery, the secret or
    /// the scheme that make the signature match.
    fn search(&self) -> Vec<Finding> {
        let schemes = self.schemes();
        let secrets = self.secrets();
        let bodies = body_variants(self.body);
        let headers = self.header_variants();
        for changes in 0..=2usize {
            let mut found = Vec::new();
            for scheme in &schemes {
                for secret in &secrets {
                    let secret_repair = self.secret_repair(&scheme.value, secret);
                    for body in &bodies {
                        for header in &headers {
                            // Renames are of the given scheme's headers.
                            if header.repair.is_some() && scheme.repair.is_some() {
                                continue;
                            }
                            let repairs = [
                                scheme.repair.as_ref(),
                                secret_repair.as_ref(),
                                body.repair.as_ref(),
                                header.repair.as_ref(),
                            ];
                            if repairs.iter().flatten().count() != changes {
                                continue;
                            }
                            let verified =
                                Verifier::new(scheme.value.clone(), secret.key.clone_secret())
                                    .with_tolerance(Duration::MAX)
                                    .verify_at(&header.value, &body.value, self.now);
                            let Ok(verified) = verified else { continue };
                            for (cause, message) in repairs.into_iter().flatten() {
                                push_new(&mut found, *cause, message.clone(), true);
                            }
                            if let Some(skew) = verified
                                .signed_timestamp()
                                .and_then(|signed| self.skew(signed))
                            {
                                push_new(&mut found, Cause::ClockSkew, skew, true);
                            }
                        }
                    }
                }
            }
            if !found.is_empty() {
                return found;
            }
        }
        Vec::new()
    }

    /// The given scheme, then every other built-in one.
    fn schemes(&self) -> Vec<Alternative<Scheme>> {
        let mut schemes = vec![Alternative::given(self.scheme().clone())];
        for other in built_in_schemes() {
            // Standard Webhooks and Svix each verify the other's headers:
            // name the one whose header the request carries.
            if other != *self.scheme() && self.headers.contains_key(other.signature_header()) {
                let message = format!(
                    "the delivery is signed with the {} scheme (its header is `{}`), not {}: \
                     verify with that scheme",
                    other.name(),
                    other.signature_header(),
                    self.scheme().name()
                );
                schemes.push(Alternative::repair(other, Cause::WrongScheme, message));
            }
        }
        schemes
    }

    /// Keys the secret may stand for, each with how it was read.
    fn secrets(&self) -> Vec<KeyReading> {
        let mut readings: Vec<KeyReading> = Vec::new();
        let mut add = |reading, trimmed, key: Result<Secret, SecretError>| {
            if let Ok(key) = key
                && !readings
                    .iter()
                    .any(|seen| seen.key.expose_bytes() == key.expose_bytes())
            {
                readings.push(KeyReading {
                    key,
                    reading,
                    trimmed,
                });
            }
        };
        if let SecretInput::Key(key) = self.settings.secret {
            add(Reading::AsGiven, false, Ok(key.clone_secret()));
            // A key decoded from `whsec_…` that was meant as text.
            add(Reading::Utf8, false, Secret::from_utf8(&key.to_whsec()));
        }
        if let Some(text) = &self.secret_text {
            for (candidate, trimmed) in [(text.as_str(), false), (text.trim(), true)] {
                if trimmed && candidate == text {
                    continue;
                }
                add(Reading::Utf8, trimmed, Secret::from_utf8(candidate));
                add(Reading::Base64, trimmed, decode_base64(candidate));
                add(Reading::Hex, trimmed, decode_hex(candidate));
            }
        }
        readings
    }

    /// The finding for using `key` with `scheme`, `None` when it is read
    /// the way the developer's code (or the scheme) reads the secret.
    fn secret_repair(&self, scheme: &Scheme, key: &KeyReading) -> Option<(Cause, String)> {
        let natural = match self.settings.secret {
            SecretInput::Key(_) => Reading::AsGiven,
            SecretInput::Text(_) => match scheme.secret_encoding() {
                SecretEncoding::Whsec => Reading::Base64,
                _ => Reading::Utf8,
            },
        };
        // The scheme's strict reading, or a lenient base64 one where the
        // strict reading refuses the text.
        let strict = match self.settings.secret {
            SecretInput::Text(text) => scheme.secret_encoding().parse(text).is_ok(),
            SecretInput::Key(_) => true,
        };
        if key.reading == natural && !key.trimmed && strict {
            return None;
        }
        let message = if key.reading == natural && !key.trimmed {
            "the signature matches when the base64 secret is decoded as pasted: give it \
             as `whsec_` and padded base64, as `Secret::from_whsec` reads it"
                .to_owned()
        } else if key.trimmed {
            "the signature matches with the spaces or newlines around the secret removed: \
             they came in when it was copied"
                .to_owned()
        } else {
            let how = match key.reading {
                Reading::AsGiven => "as the application builds it",
                Reading::Utf8 => {
                    "as the UTF-8 text of the secret string, any `whsec_` prefix included \
                     (Stripe's way; `Secret::from_utf8`), not as the bytes it encodes"
                }
                Reading::Base64 => {
                    "as the bytes the base64 after `whsec_` encodes (Standard Webhooks' \
                     way; `Secret::from_whsec`), not as the text"
                }
                Reading::Hex => "as the bytes its hex digits encode, not as the text",
            };
            format!("the signature matches when the key is read {how}")
        };
        Some((Cause::SecretEncoding, message))
    }

    /// The request's headers as given, then with one of the request's
    /// other headers moved under a name the scheme needs and lacks.
    fn header_variants(&self) -> Vec<Alternative<HeaderMap>> {
        let mut variants = vec![Alternative::given(self.headers.clone())];
        let scheme = self.scheme();
        let known = known_header_names();
        for wanted in scheme.headers() {
            if self.headers.contains_key(wanted) {
                continue;
            }
            let is_signature = wanted == scheme.signature_header();
            for present in self.headers.keys().take(MAX_HEADERS_EXAMINED) {
                let alike = normalise(present.as_str()) == normalise(wanted.as_str());
                let foreign = known.contains(present) || scheme.headers().any(|h| h == present);
                // Any unknown header may carry the signature; a timestamp or
                // id header is looked for only under a similar name.
                if foreign || !(alike || is_signature) {
                    continue;
                }
                let Some(shown) = self.shown_name(present) else {
                    continue;
                };
                let mut moved = self.headers.clone();
                let values: Vec<_> = moved.get_all(present).iter().cloned().collect();
                moved.remove(present);
                for value in values {
                    moved.append(wanted.clone(), value);
                }
                let message = format!(
                    "the signature matches when `{shown}` is read as `{wanted}`: a proxy, \
                     gateway or framework renamed the header; read it under its new name or \
                     keep the original"
                );
                variants.push(Alternative::repair(moved, Cause::RenamedHeader, message));
            }
        }
        variants
    }

    /// Likely causes when no repair makes the signature match.
    fn likely_causes(&self, error: Option<&VerifyError>) -> Vec<Finding> {
        let mut findings = Vec::new();
        let likely = |cause, message: String| Finding {
            cause,
            message,
            confirmed: false,
        };
        match error {
            Some(VerifyError::MissingHeader { name }) => {
                findings.extend(self.missing_header(name));
            }
            Some(VerifyError::TimestampOutOfTolerance { skew_seconds, .. }) => {
                if let Some(skew) = self.describe_skew(*skew_seconds) {
                    findings.push(likely(
                        Cause::ClockSkew,
                        format!(
                            "{skew}; the signature does not match either, so look at the \
                             other causes too"
                        ),
                    ));
                }
            }
            Some(
                err @ (VerifyError::MalformedHeader { .. } | VerifyError::TooManyEntries { .. }),
            ) => findings.push(likely(
                Cause::MalformedHeader,
                format!(
                    "{err}: {} writes it as {}; compare it with the header exactly as it \
                     arrived, before any proxy or middleware",
                    self.scheme().name(),
                    layout(self.scheme())
                ),
            )),
            _ => {}
        }
        if looks_pretty_printed(self.body) {
            findings.push(likely(
                Cause::ReserializedBody,
                "the body looks like pretty-printed JSON: senders sign compact bytes, and a \
                 body parsed and written out again no longer matches; verify the raw request \
                 body, before any JSON parsing"
                    .to_owned(),
            ));
        }
        if findings.is_empty() {
            let scheme = self.scheme();
            let signed_headers = if scheme.is_timestamped() {
                "; the timestamp (and the id, where the scheme has one) is signed too: take \
                 every header from the same request as the body"
            } else {
                ""
            };
            findings.push(likely(
                Cause::Unexplained,
                format!(
                    "no usual repair makes the signature match: check that the secret is this \
                     endpoint's current one (not another endpoint's or environment's), and \
                     that the body is the raw bytes received, before any parsing or decoding; \
                     {} reads its secret string {}{signed_headers}",
                    scheme.name(),
                    describe_encoding(scheme.secret_encoding()),
                ),
            ));
        }
        findings
    }

    fn missing_header(&self, name: &str) -> Vec<Finding> {
        let mut findings = Vec::new();
        for other in built_in_schemes() {
            if other != *self.scheme() && self.headers.contains_key(other.signature_header()) {
                findings.push(Finding {
                    cause: Cause::WrongScheme,
                    message: format!(
                        "the request carries `{}`, the {} scheme's signature header: is the \
                         delivery from that provider?",
                        other.signature_header(),
                        other.name()
                    ),
                    confirmed: false,
                });
            }
        }
        let wanted = normalise(name);
        for present in self.headers.keys().take(MAX_HEADERS_EXAMINED) {
            if normalise(present.as_str()) == wanted
                && present.as_str() != name
                && let Some(shown) = self.shown_name(present)
            {
                findings.push(Finding {
                    cause: Cause::RenamedHeader,
                    message: format!(
                        "`{name}` is absent but `{shown}` is present: a proxy or framework \
                         may have renamed it"
                    ),
                    confirmed: false,
                });
            }
        }
        if findings.is_empty() {
            let names: Vec<String> = self
                .headers
                .keys()
                .take(MAX_HEADERS_EXAMINED)
                .filter_map(|name| self.shown_name(name))
                .map(|name| format!("`{name}`"))
                .collect();
            let present = if names.is_empty() {
                "no headers".to_owned()
            } else {
                names.join(", ")
            };
            findings.push(Finding {
                cause: Cause::MissingHeader,
                message: format!(
                    "`{name}` is absent (the request carries {present}): proxies, load \
                     balancers, gateways and some frameworks drop headers they do not know; \
                     log the headers as they reach the application, before any middleware"
                ),
                confirmed: false,
            });
        }
        findings
    }

    /// A header name fit to show: none that holds the secret's text.
    fn shown_name<'n>(&self, name: &'n HeaderName) -> Option<&'n str> {
        let name = name.as_str();
        let leaks = self.secret_text.as_deref().is_some_and(|secret| {
            !secret.is_empty() && name.contains(&secret.to_ascii_lowercase())
        });
        (!leaks).then_some(name)
    }

    /// A sentence about `signed`'s skew, if it is outside the tolerance.
    fn skew(&self, signed: u64) -> Option<String> {
        let skew = i128::from(self.now).saturating_sub(i128::from(signed));
        let skew = i64::try_from(skew).unwrap_or(if skew > 0 { i64::MAX } else { i64::MIN });
        let tolerance = if skew >= 0 {
            self.settings.past_tolerance
        } else {
            self.settings.future_tolerance
        };
        (skew.unsigned_abs() > tolerance)
            .then(|| self.describe_skew(skew))
            .flatten()
            .map(|text| format!("the signature matches, but {text}"))
    }

    fn describe_skew(&self, skew: i64) -> Option<String> {
        let age = skew.unsigned_abs();
        let (tolerance, direction, advice) = if skew >= 0 {
            (
                self.settings.past_tolerance,
                "in the past",
                "the delivery was held or captured earlier and replayed, or this clock is \
                 ahead of the sender's",
            )
        } else {
            (
                self.settings.future_tolerance,
                "in the future",
                "the sender's clock is ahead of this one",
            )
        };
        let signed_at = i64::try_from(self.now)
            .ok()
            .and_then(|now| now.checked_sub(skew))
            .and_then(|at| Timestamp::from_unix_seconds(at).ok())
            .map_or_else(String::new, |at| format!(", at {at}"));
        Some(format!(
            "it was signed {age} s {direction}{signed_at}, {} s beyond the tolerance of \
             {tolerance} s: {advice}; keep both clocks synchronised (NTP)",
            age.saturating_sub(tolerance)
        ))
    }
}

/// Adds a finding unless the same one is there.
fn push_new(found: &mut Vec<Finding>, cause: Cause, message: String, confirmed: bool) {
    if !found
        .iter()
        .any(|seen| seen.cause == cause && seen.message == message)
    {
        found.push(Finding {
            cause,
            message,
            confirmed,
        });
    }
}

fn describe_encoding(encoding: SecretEncoding) -> &'static str {
    match encoding {
        SecretEncoding::Whsec => "as `whsec_` and base64, keying on the decoded bytes",
        _ => "as UTF-8 text, keying on the whole string, any `whsec_` prefix included",
    }
}

/// The key a base64 secret, with or without `whsec_`, stands for; any
/// alphabet and padding, as users paste them.
fn decode_base64(text: &str) -> Result<Secret, SecretError> {
    let encoded = text.strip_prefix(WHSEC_PREFIX).unwrap_or(text);
    let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(encoded).ok())
        .ok_or(SecretError::InvalidBase64)?;
    Secret::from_bytes(zeroize::Zeroizing::new(decoded).as_slice())
}

fn decode_hex(text: &str) -> Result<Secret, SecretError> {
    let decoded = const_hex::decode(text).map_err(|_| SecretError::InvalidBase64)?;
    Secret::from_bytes(zeroize::Zeroizing::new(decoded).as_slice())
}

/// Every preset.
fn built_in_schemes() -> Vec<Scheme> {
    [
        Scheme::titan,
        Scheme::titanx,
        Scheme::github,
        Scheme::eventium,
        Scheme::stripe,
        Scheme::standard_webhooks,
        Scheme::svix,
    ]
    .into_iter()
    .map(|preset| preset())
    .collect()
}

fn known_header_names() -> Vec<HeaderName> {
    built_in_schemes()
        .iter()
        .flat_map(|scheme| scheme.headers().cloned().collect::<Vec<_>>())
        .collect()
}

/// A header name as proxies spell it differently: lowercase, `-` for `_`,
/// without an `http-` (CGI) or `x-` prefix.
fn normalise(name: &str) -> String {
    let mut name = name.to_ascii_lowercase().replace('_', "-");
    for prefix in ["http-", "x-"] {
        if let Some(rest) = name.strip_prefix(prefix) {
            name = rest.to_owned();
        }
    }
    name
}

/// How the scheme's signature header is laid out, with placeholders.
fn layout(scheme: &Scheme) -> String {
    use crate::SignatureFormat;
    let digest = match scheme.encoding() {
        DigestEncoding::Hex => "<64 hex digits>",
        _ => "<44 base64 characters>",
    };
    match scheme.format() {
        SignatureFormat::Prefixed { prefix, .. } => format!("`{prefix}{digest}`"),
        SignatureFormat::KeyValue {
            timestamp_key,
            signature_key,
        } => format!("`{timestamp_key}=<unix seconds>,{signature_key}={digest}`"),
        SignatureFormat::VersionedList { version } => format!("`{version},{digest}`"),
    }
}

/// The body as it may have been when it was signed.
fn body_variants(body: &[u8]) -> Vec<Alternative<Vec<u8>>> {
    let mut variants = vec![Alternative::given(body.to_vec())];
    let mut add = |bytes: Vec<u8>, cause, message: &str| {
        if !variants.iter().any(|seen| seen.value == bytes) {
            variants.push(Alternative::repair(bytes, cause, message));
        }
    };
    if let Some(stripped) = body.strip_suffix(b"\n") {
        let stripped = stripped.strip_suffix(b"\r").unwrap_or(stripped);
        add(
            stripped.to_vec(),
            Cause::ChangedNewline,
            "the signature matches the body without its final newline: one was added after \
             signing (an editor, `echo`, a heredoc, a test fixture); pass the exact bytes",
        );
    } else {
        let mut with_newline = body.to_vec();
        with_newline.push(b'\n');
        add(
            with_newline,
            Cause::ChangedNewline,
            "the signature matches the body with a final newline: the sender's body ended \
             with one, and this copy lost it",
        );
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let minified = minify_json(body);
        add(
            python_separators(&minified),
            Cause::ReserializedBody,
            "the signature matches the body written with `, ` and `: ` separators (Python's \
             json.dumps): the body was re-serialised after signing; verify the raw request \
             body, before any JSON parsing",
        );
        add(
            minified,
            Cause::ReserializedBody,
            "the signature matches the body as sent, compact: your framework re-serialised \
             it (pretty-printed or re-spaced) after signing; verify the raw request body, \
             before any JSON parsing",
        );
        if let Ok(compact) = serde_json::to_vec(&value) {
            add(
                compact,
                Cause::ReserializedBody,
                "the signature matches the body written compact by a JSON serializer (keys \
                 reordered or escapes rewritten): your framework re-serialised it after \
                 signing; verify the raw request body, before any JSON parsing",
            );
        }
    }
    variants
}

/// Whether `body` is JSON with indented lines.
fn looks_pretty_printed(body: &[u8]) -> bool {
    body.windows(2)
        .any(|pair| pair == b"\n " || pair == b"\n\t")
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

/// Walks JSON text, handing each byte outside strings to `outside` and
/// copying the bytes inside strings as they are.
fn rewrite_json(json: &[u8], mut outside: impl FnMut(u8, &mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json {
        if in_string {
            out.push(byte);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
        } else {
            if byte == b'"' {
                in_string = true;
            }
            outside(byte, &mut out);
        }
    }
    out
}

/// JSON text without whitespace between tokens, in its original order.
fn minify_json(json: &[u8]) -> Vec<u8> {
    rewrite_json(json, |byte, out| {
        if !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
            out.push(byte);
        }
    })
}

/// Minified JSON with a space after each `,` and `:`, as Python writes it.
fn python_separators(minified: &[u8]) -> Vec<u8> {
    rewrite_json(minified, |byte, out| {
        out.push(byte);
        if matches!(byte, b',' | b':') {
            out.push(b' ');
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minify_keeps_strings_and_order() {
        let pretty = b"{\n  \"b\": \"a, b: \\\"c\\\" \",\n  \"a\": [1, 2]\n}\n";
        assert_eq!(
            minify_json(pretty),
            b"{\"b\":\"a, b: \\\"c\\\" \",\"a\":[1,2]}".to_vec()
        );
        assert_eq!(
            python_separators(&minify_json(pretty)),
            b"{\"b\": \"a, b: \\\"c\\\" \", \"a\": [1, 2]}".to_vec()
        );
    }

    #[test]
    fn proxies_spellings_normalise_alike() {
        assert_eq!(normalise("HTTP_X_WEBHOOK_SIGNATURE"), "webhook-signature");
        assert_eq!(normalise("x-webhook-signature"), "webhook-signature");
        assert_ne!(normalise("x-hub-signature-256"), "webhook-signature");
    }
}
