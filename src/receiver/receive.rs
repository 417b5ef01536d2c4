//! Verifying a request with any framework: the body limit, the signature,
//! the JSON, then the replay guard.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{ReplayGuard, ReplayGuardError, ReplayKey, Seen};
use crate::{PayloadError, Verified, Verifier, VerifyError};

/// The largest body accepted unless configured otherwise: 1 MiB. Larger
/// requests are refused with `413` before their signature is checked.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// How long a delivery is remembered for a scheme that signs no timestamp,
/// unless configured otherwise: a day, longer than senders keep retrying.
/// For timestamped schemes it is the verifier's tolerance, past and future,
/// beyond which a replay fails verification anyway.
pub const DEFAULT_REPLAY_TTL: Duration = Duration::from_secs(24 * 3600);

/// Verifies deliveries for one scheme: the body limit, the signature, the
/// JSON, then the replay guard, in that order, so nothing is parsed or
/// remembered unless it is authentic.
///
/// This is the framework-neutral entry point: [`Receiver::receive`] takes
/// any `http::Request` whose body is bytes. The axum extractor
/// `VerifiedWebhook` (feature `axum`) is built on it.
///
/// ```
/// use titan_webhooks::receiver::{MemoryReplayGuard, Receiver};
/// use titan_webhooks::{Envelope, Scheme, Secret, Signer, Verifier};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("key")?))
///     .with_replay_guard(MemoryReplayGuard::new());
///
/// let body = br#"{"id":"evt_1","event":"message.received","session":"s","timestamp":"2025-01-15T10:30:00Z","payload":{}}"#;
/// let mut request = http::Request::new(body.to_vec());
/// *request.headers_mut() = Signer::new(Scheme::titan(), Secret::from_utf8("key")?).sign(body);
///
/// let envelope = receiver.receive_json::<Envelope, _>(&request).await?;
/// assert_eq!(envelope.id(), "evt_1");
/// assert_eq!(receiver.receive_json::<Envelope, _>(&request).await.unwrap_err().code(), "replayed");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Receiver {
    verifier: Verifier,
    replay: Option<Arc<dyn ReplayGuard>>,
    body_limit: usize,
    replay_ttl: Option<Duration>,
}

impl Receiver {
    /// A receiver verifying with `verifier`, with no replay guard and a
    /// [`DEFAULT_BODY_LIMIT`] body limit.
    ///
    /// ```
    /// use titan_webhooks::receiver::{DEFAULT_BODY_LIMIT, Receiver};
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?));
    /// assert_eq!(receiver.body_limit(), DEFAULT_BODY_LIMIT);
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier,
            replay: None,
            body_limit: DEFAULT_BODY_LIMIT,
            replay_ttl: None,
        }
    }

    /// Reports deliveries already received as [`ReceiveError::Replayed`].
    ///
    /// ```
    /// use titan_webhooks::receiver::{MemoryReplayGuard, Receiver};
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?))
    ///     .with_replay_guard(MemoryReplayGuard::new());
    /// assert!(receiver.replay_guard().is_some());
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn with_replay_guard(mut self, guard: impl ReplayGuard) -> Self {
        self.replay = Some(Arc::new(guard));
        self
    }

    /// Refuses bodies over `bytes`. Defaults to [`DEFAULT_BODY_LIMIT`].
    ///
    /// ```
    /// use titan_webhooks::receiver::Receiver;
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?)).with_body_limit(64 * 1024);
    /// assert_eq!(receiver.body_limit(), 65_536);
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Remembers deliveries for `ttl`. Defaults to the verifier's tolerance
    /// for timestamped schemes and to [`DEFAULT_REPLAY_TTL`] otherwise.
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::receiver::Receiver;
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?))
    ///     .with_replay_ttl(Duration::from_secs(3600));
    /// assert_eq!(receiver.replay_ttl(), Duration::from_secs(3600));
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn with_replay_ttl(mut self, ttl: Duration) -> Self {
        self.replay_ttl = Some(ttl);
        self
    }

    /// The verifier.
    ///
    /// ```
    /// use titan_webhooks::receiver::Receiver;
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let receiver = Receiver::new(Verifier::new(Scheme::eventium(), Secret::from_utf8("k")?));
    /// assert_eq!(receiver.verifier().scheme().name(), "eventium");
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The replay guard, if any; a failing handler uses it to
    /// [`forget`](ReplayGuard::forget) a delivery's key.
    ///
    /// ```
    /// use titan_webhooks::receiver::Receiver;
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?));
    /// assert!(receiver.replay_guard().is_none());
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn replay_guard(&self) -> Option<&dyn ReplayGuard> {
        self.replay.as_deref()
    }

    /// The largest body accepted.
    ///
    /// ```
    /// use titan_webhooks::receiver::Receiver;
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?));
    /// assert_eq!(receiver.body_limit(), 1024 * 1024);
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// How long deliveries are remembered.
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::receiver::Receiver;
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let eventium = Receiver::new(Verifier::new(Scheme::eventium(), Secret::from_utf8("k")?));
    /// assert_eq!(eventium.replay_ttl(), Duration::from_secs(600), "300 s each way");
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn replay_ttl(&self) -> Duration {
        self.replay_ttl.unwrap_or_else(|| {
            if self.verifier.scheme().is_timestamped() {
                self.verifier.tolerance_window()
            } else {
                DEFAULT_REPLAY_TTL
            }
        })
    }

    /// Verifies a request and checks it against the replay guard.
    ///
    /// ```
    /// use titan_webhooks::receiver::Receiver;
    /// use titan_webhooks::{Scheme, Secret, Signer, Verifier};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let receiver = Receiver::new(Verifier::new(Scheme::github(), Secret::from_utf8("k")?));
    /// let mut request = http::Request::new(b"tampered".to_vec());
    /// *request.headers_mut() = Signer::new(Scheme::github(), Secret::from_utf8("k")?).sign(b"original");
    /// let err = receiver.receive(&request).await.unwrap_err();
    /// assert_eq!((err.status().as_u16(), err.code()), (401, "signature_mismatch"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ReceiveError`] with the status and code to answer with.
    pub async fn receive<B: AsRef<[u8]>>(
        &self,
        request: &http::Request<B>,
    ) -> Result<Received<()>, ReceiveError> {
        self.receive_parts(request.headers(), request.body().as_ref(), |_| Ok(()))
            .await
    }

    /// Verifies a request, parses its JSON body into `T`, and checks it
    /// against the replay guard.
    ///
    /// # Errors
    ///
    /// As [`Receiver::receive`], and [`ReceiveError::Verify`] with
    /// [`VerifyError::InvalidPayload`](crate::VerifyError::InvalidPayload)
    /// when the body does not fit `T`.
    pub async fn receive_json<T: DeserializeOwned, B: AsRef<[u8]>>(
        &self,
        request: &http::Request<B>,
    ) -> Result<Received<T>, ReceiveError> {
        self.receive_parts(
            request.headers(),
            request.body().as_ref(),
            PayloadError::from_json,
        )
        .await
    }

    pub(crate) async fn receive_parts<T>(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        parse: impl FnOnce(&[u8]) -> Result<T, PayloadError>,
    ) -> Result<Received<T>, ReceiveError> {
        if body.len() > self.body_limit {
            return Err(ReceiveError::BodyTooLarge {
                limit: self.body_limit,
            });
        }
        let verified = self.verifier.verify(headers, body)?;
        let value = parse(body).map_err(crate::VerifyError::from)?;
        let replay_key = self.replay_key(headers, body, &verified);
        if let Some(guard) = &self.replay {
            match guard.remember(&replay_key, self.replay_ttl()).await? {
                Seen::First => {}
                Seen::Again => return Err(ReceiveError::Replayed),
            }
        }
        Ok(Received {
            verified: verified.with_value(value),
            replay_key,
        })
    }

    /// The delivery's key: the signed id, else the body's `id`, else a
    /// digest of the signed timestamp and signature.
    fn replay_key(&self, headers: &HeaderMap, body: &[u8], verified: &Verified) -> ReplayKey {
        #[derive(Deserialize)]
        struct Id<'a> {
            #[serde(borrow)]
            id: Option<std::borrow::Cow<'a, str>>,
        }

        let scheme = self.verifier.scheme();
        if let Some(id) = scheme.signed_id(headers) {
            return ReplayKey::new(format!("{}:id:{id}", scheme.name()));
        }
        if let Ok(Id { id: Some(id) }) = serde_json::from_slice::<Id<'_>>(body) {
            return ReplayKey::new(format!("{}:id:{id}", scheme.name()));
        }
        ReplayKey::new(format!(
            "{}:sig:{}",
            scheme.name(),
            const_hex::encode(verified.replay_fingerprint())
        ))
    }
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("verifier", &self.verifier)
            .field("replay_guard", &self.replay.is_some())
            .field("body_limit", &self.body_limit)
            .field("replay_ttl", &self.replay_ttl())
            .finish()
    }
}

/// A delivery that passed every check: the verified value and the key it
/// was remembered under. It dereferences to the value.
///
/// ```
/// use titan_webhooks::receiver::Receiver;
/// use titan_webhooks::{Scheme, Secret, Signer, Verifier};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?));
/// let body = br#"{"id":"evt_7","event":"chat.read"}"#;
/// let mut request = http::Request::new(body.to_vec());
/// *request.headers_mut() = Signer::new(Scheme::titan(), Secret::from_utf8("k")?).sign(body);
/// let received = receiver.receive_json::<serde_json::Value, _>(&request).await?;
/// assert_eq!(received["event"], "chat.read");
/// assert_eq!(received.replay_key().as_str(), "titan:id:evt_7");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Received<T = ()> {
    verified: Verified<T>,
    replay_key: ReplayKey,
}

impl<T> Received<T> {
    /// The proof of verification, with the value.
    ///
    /// ```
    /// # use titan_webhooks::receiver::Receiver;
    /// # use titan_webhooks::{Scheme, Secret, Signer, Verifier};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let receiver = Receiver::new(Verifier::new(Scheme::eventium(), Secret::from_utf8("k")?));
    /// # let mut request = http::Request::new(b"{}".to_vec());
    /// # *request.headers_mut() = Signer::new(Scheme::eventium(), Secret::from_utf8("k")?).sign(b"{}");
    /// let received = receiver.receive(&request).await?;
    /// assert!(received.verified().signed_timestamp().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn verified(&self) -> &Verified<T> {
        &self.verified
    }

    /// The key the delivery was remembered under.
    ///
    /// ```
    /// # use titan_webhooks::receiver::Receiver;
    /// # use titan_webhooks::{Scheme, Secret, Signer, Verifier};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let receiver = Receiver::new(Verifier::new(Scheme::standard_webhooks(), Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?));
    /// # let mut request = http::Request::new(b"{}".to_vec());
    /// # *request.headers_mut() = Signer::new(Scheme::standard_webhooks(), Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?).sign(b"{}");
    /// let received = receiver.receive(&request).await?;
    /// assert!(received.replay_key().as_str().starts_with("standard-webhooks:id:msg_"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn replay_key(&self) -> &ReplayKey {
        &self.replay_key
    }

    /// Takes the verified value out.
    ///
    /// ```
    /// # use titan_webhooks::receiver::Receiver;
    /// # use titan_webhooks::{Scheme, Secret, Signer, Verifier};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?));
    /// # let mut request = http::Request::new(br#"[1,2]"#.to_vec());
    /// # *request.headers_mut() = Signer::new(Scheme::titan(), Secret::from_utf8("k")?).sign(br#"[1,2]"#);
    /// let numbers: Vec<u8> = receiver.receive_json::<Vec<u8>, _>(&request).await?.into_inner();
    /// assert_eq!(numbers, [1, 2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn into_inner(self) -> T {
        self.verified.into_inner()
    }
}

impl<T> Deref for Received<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.verified
    }
}

/// A request a receiver refused, with the status to answer and a short
/// reason code for the response body and metrics. None of it repeats a
/// secret, an expected signature or the body.
///
/// ```
/// use titan_webhooks::VerifyError;
/// use titan_webhooks::receiver::ReceiveError;
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
    /// use titan_webhooks::receiver::ReceiveError;
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
    /// use titan_webhooks::receiver::ReceiveError;
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
