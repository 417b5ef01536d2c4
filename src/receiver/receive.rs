//! Verifying a request with any framework: the body limit, the signature,
//! the JSON, then the idempotency store.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::time::Duration;

use http::HeaderMap;
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, Visitor};

use super::idempotency::StoreHandle;
use super::{
    Begin, DEFAULT_RESERVATION_LEASE, IdempotencyError, IdempotencyStore, ReplayKey, Reservation,
    StoredAnswer,
};
use crate::{PayloadError, Verified, Verifier, VerifyError};

/// The largest body accepted unless configured otherwise: 1 MiB. Larger
/// requests are refused with `413` before their signature is checked.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// How long a handled delivery is remembered for a scheme that signs no
/// timestamp, unless configured otherwise: a day, longer than senders keep
/// retrying. For timestamped schemes it is the verifier's tolerance, past
/// and future, beyond which a replay fails verification anyway.
pub const DEFAULT_REPLAY_TTL: Duration = Duration::from_secs(24 * 3600);

/// The code every verification failure answers with under
/// [`Receiver::with_uniform_errors`].
pub const UNIFORM_ERROR_CODE: &str = "invalid_webhook";

/// Verifies deliveries for one scheme: the body limit, the signature, the
/// JSON, then the idempotency store, in that order, so nothing is parsed or
/// remembered unless it is authentic.
///
/// This is the framework-neutral entry point: [`Receiver::receive`] takes
/// any `http::Request` whose body is bytes. The axum extractor
/// `VerifiedWebhook` (feature `axum`) is built on it.
///
/// With an [`IdempotencyStore`], receiving is idempotent: the first delivery
/// of an id reserves it; a duplicate of one already handled is refused with
/// [`ReceiveError::Duplicate`], whose status is a `2xx` so the sender stops
/// retrying; a duplicate of one still being handled gets `409`. Settle the
/// [`Reservation`] once the handler is done: complete it when it succeeded,
/// release it when it failed, so the sender's retry is handled.
///
/// ```
/// use titan_webhooks::receiver::{MemoryIdempotencyStore, ReceiveError, Receiver};
/// use titan_webhooks::{Envelope, Scheme, Secret, Signer, Verifier};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("key")?))
///     .with_idempotency(MemoryIdempotencyStore::new());
///
/// let body = br#"{"id":"evt_1","event":"message.received","session":"s","timestamp":"2025-01-15T10:30:00Z","payload":{}}"#;
/// let mut request = http::Request::new(body.to_vec());
/// *request.headers_mut() = Signer::new(Scheme::titan(), Secret::from_utf8("key")?).sign(body);
///
/// let mut received = receiver.receive_json::<Envelope, _>(&request).await?;
/// assert_eq!(received.id(), "evt_1");
/// // The handler succeeded: record it.
/// received.take_reservation().expect("reserved").complete().await?;
///
/// // The sender never saw our answer and retries: a duplicate, answered 200.
/// let err = receiver.receive_json::<Envelope, _>(&request).await.unwrap_err();
/// assert!(matches!(err, ReceiveError::Duplicate { .. }));
/// assert_eq!((err.status().as_u16(), err.code()), (200, "duplicate"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
///
/// [`Receiver::receive`] reads no body itself: cap the body before
/// buffering it, with your framework's limit (such as
/// `http_body_util::Limited`), since the receiver's limit can only refuse a
/// body already in memory. The axum extractor does this for you.
#[derive(Clone)]
pub struct Receiver {
    verifier: Verifier,
    idempotency: Option<StoreHandle>,
    body_limit: usize,
    replay_ttl: Option<Duration>,
    lease: Duration,
    keep_answers: bool,
    uniform_errors: bool,
}

impl Receiver {
    /// A receiver verifying with `verifier`, with no idempotency store and
    /// a [`DEFAULT_BODY_LIMIT`] body limit.
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
            idempotency: None,
            body_limit: DEFAULT_BODY_LIMIT,
            replay_ttl: None,
            lease: DEFAULT_RESERVATION_LEASE,
            keep_answers: false,
            uniform_errors: false,
        }
    }

    /// Handles each delivery once: duplicates of a handled delivery are
    /// answered `2xx` without reaching the handler, and duplicates of one
    /// being handled get `409` with `Retry-After`.
    ///
    /// ```
    /// use titan_webhooks::receiver::{MemoryIdempotencyStore, Receiver};
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?))
    ///     .with_idempotency(MemoryIdempotencyStore::new());
    /// assert!(receiver.idempotency().is_some());
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn with_idempotency(mut self, store: impl IdempotencyStore) -> Self {
        self.idempotency = Some(StoreHandle::new(store));
        self
    }

    /// How long a delivery stays reserved while its handler runs. Defaults
    /// to [`DEFAULT_RESERVATION_LEASE`]; make it longer than your slowest
    /// handler.
    ///
    /// ```
    /// use std::time::Duration;
    /// use titan_webhooks::receiver::Receiver;
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?))
    ///     .with_reservation_lease(Duration::from_secs(120));
    /// assert_eq!(receiver.reservation_lease(), Duration::from_secs(120));
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn with_reservation_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Keeps each handler's successful answer, up to
    /// [`MAX_STORED_ANSWER`](super::MAX_STORED_ANSWER) bytes, and answers
    /// duplicates with it instead of a plain `200`. The axum layer
    /// `IdempotencyLayer` keeps it; elsewhere, pass it to
    /// [`Reservation::complete_with`].
    ///
    /// ```
    /// use titan_webhooks::receiver::Receiver;
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?))
    ///     .with_kept_answers();
    /// assert!(receiver.keeps_answers());
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn with_kept_answers(mut self) -> Self {
        self.keep_answers = true;
        self
    }

    /// Answers every verification failure with the same public code,
    /// [`UNIFORM_ERROR_CODE`], so a caller probing the endpoint learns
    /// nothing from it; the axum extractor logs the precise reason with
    /// `tracing` at `warn`. The status stays `401`.
    ///
    /// ```
    /// use titan_webhooks::VerifyError;
    /// use titan_webhooks::receiver::{ReceiveError, Receiver};
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?))
    ///     .with_uniform_errors();
    /// let err = ReceiveError::from(VerifyError::NoMatchingSignature { examined: 1 });
    /// assert_eq!(receiver.public_code(&err), "invalid_webhook");
    /// assert_eq!(err.code(), "signature_mismatch", "the precise reason, for logs");
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn with_uniform_errors(mut self) -> Self {
        self.uniform_errors = true;
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

    /// Remembers handled deliveries for `ttl`. Defaults to the verifier's
    /// tolerance for timestamped schemes and to [`DEFAULT_REPLAY_TTL`]
    /// otherwise.
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

    /// The idempotency store, if any.
    ///
    /// ```
    /// use titan_webhooks::receiver::Receiver;
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?));
    /// assert!(receiver.idempotency().is_none());
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn idempotency(&self) -> Option<&dyn IdempotencyStore> {
        self.idempotency.as_ref().map(StoreHandle::as_dyn)
    }

    /// How long a delivery stays reserved while its handler runs.
    ///
    /// ```
    /// use titan_webhooks::receiver::{DEFAULT_RESERVATION_LEASE, Receiver};
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?));
    /// assert_eq!(receiver.reservation_lease(), DEFAULT_RESERVATION_LEASE);
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn reservation_lease(&self) -> Duration {
        self.lease
    }

    /// Whether handlers' answers are kept to replay to duplicates.
    ///
    /// ```
    /// use titan_webhooks::receiver::Receiver;
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?));
    /// assert!(!receiver.keeps_answers());
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn keeps_answers(&self) -> bool {
        self.keep_answers
    }

    /// The code to answer `err` with: [`ReceiveError::code`], or
    /// [`UNIFORM_ERROR_CODE`] for a verification failure under
    /// [`Receiver::with_uniform_errors`].
    ///
    /// ```
    /// use titan_webhooks::receiver::{ReceiveError, Receiver};
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?));
    /// let err = ReceiveError::BodyTooLarge { limit: 10 };
    /// assert_eq!(receiver.public_code(&err), "body_too_large");
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn public_code(&self, err: &ReceiveError) -> &'static str {
        if self.uniform_errors && err.is_verification_failure() {
            UNIFORM_ERROR_CODE
        } else {
            err.code()
        }
    }

    /// Whether verification failures answer with [`UNIFORM_ERROR_CODE`].
    ///
    /// ```
    /// use titan_webhooks::receiver::Receiver;
    /// use titan_webhooks::{Scheme, Secret, Verifier};
    ///
    /// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?));
    /// assert!(!receiver.uniform_errors());
    /// # Ok::<(), titan_webhooks::SecretError>(())
    /// ```
    #[must_use]
    pub fn uniform_errors(&self) -> bool {
        self.uniform_errors
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

    /// How long handled deliveries are remembered.
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

    /// Verifies a request and reserves its key in the idempotency store.
    ///
    /// The body must already be capped: see the note on [`Receiver`].
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

    /// Verifies a request, parses its JSON body into `T`, and reserves its
    /// key in the idempotency store.
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
        let reservation = match &self.idempotency {
            None => None,
            Some(store) => match store.begin(&replay_key, self.lease).await? {
                Begin::Reserved(token) => Some(Reservation::new(
                    store.clone(),
                    replay_key.clone(),
                    token,
                    self.replay_ttl(),
                )),
                Begin::InProgress { retry_after } => {
                    return Err(ReceiveError::InProgress { retry_after });
                }
                Begin::Completed(answer) => {
                    return Err(ReceiveError::Duplicate {
                        answer: answer.map(Box::new),
                    });
                }
            },
        };
        Ok(Received {
            verified: verified.with_value(value),
            replay_key,
            reservation,
        })
    }

    /// The delivery's key: the signed id, else the body's top-level `id`,
    /// else a digest of the signed timestamp and signature.
    fn replay_key(&self, headers: &HeaderMap, body: &[u8], verified: &Verified) -> ReplayKey {
        let scheme = self.verifier.scheme();
        if let Some(id) = scheme.signed_id(headers) {
            return ReplayKey::new(format!("{}:id:{id}", scheme.name()));
        }
        if let Some(id) = top_level_id(body) {
            return ReplayKey::new(format!("{}:id:{id}", scheme.name()));
        }
        ReplayKey::new(format!(
            "{}:sig:{}",
            scheme.name(),
            const_hex::encode(verified.replay_fingerprint())
        ))
    }
}

/// The string value of a JSON object's top-level `id`, read without
/// parsing past it: the payload was already parsed into the handler's type.
fn top_level_id(body: &[u8]) -> Option<String> {
    struct FindId<'s>(&'s mut Option<String>);

    impl<'de> Visitor<'de> for FindId<'_> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                if key == "id" {
                    let id = map.next_value::<Cow<'de, str>>()?;
                    *self.0 = Some(id.into_owned());
                    // Stops the parser here; the error is discarded.
                    return Err(serde::de::Error::custom("found"));
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }

    let mut found = None;
    let mut parser = serde_json::Deserializer::from_slice(body);
    let _ = serde::Deserializer::deserialize_map(&mut parser, FindId(&mut found));
    found
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("verifier", &self.verifier)
            .field("idempotency", &self.idempotency.is_some())
            .field("body_limit", &self.body_limit)
            .field("replay_ttl", &self.replay_ttl())
            .field("reservation_lease", &self.lease)
            .field("keep_answers", &self.keep_answers)
            .field("uniform_errors", &self.uniform_errors)
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
    reservation: Option<Reservation>,
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

    /// Takes the delivery's reservation in the idempotency store, to
    /// settle once the handler is done; `None` without a store, or once
    /// taken.
    ///
    /// ```
    /// # use titan_webhooks::receiver::{MemoryIdempotencyStore, Receiver};
    /// # use titan_webhooks::{Scheme, Secret, Signer, Verifier};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("k")?))
    /// #     .with_idempotency(MemoryIdempotencyStore::new());
    /// # let mut request = http::Request::new(br#"{"id":"evt_9"}"#.to_vec());
    /// # *request.headers_mut() = Signer::new(Scheme::titan(), Secret::from_utf8("k")?).sign(br#"{"id":"evt_9"}"#);
    /// let mut received = receiver.receive(&request).await?;
    /// let handled: Result<(), &str> = Err("the database is down");
    /// let reservation = received.take_reservation().expect("reserved");
    /// match handled {
    ///     Ok(()) => reservation.complete().await?,
    ///     // The sender retries, and the retry is handled.
    ///     Err(_) => reservation.release().await?,
    /// }
    /// assert!(receiver.receive(&request).await?.take_reservation().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn take_reservation(&mut self) -> Option<Reservation> {
        self.reservation.take()
    }

    /// The key the delivery is known by in the idempotency store.
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

/// A request a receiver refused, or a duplicate it did not hand to the
/// handler, with the status to answer and a short reason code for the
/// response body and metrics. None of it repeats a secret, an expected
/// signature or the body.
///
/// Answer with [`ReceiveError::status`]: for a
/// [`Duplicate`](ReceiveError::Duplicate) it is a `2xx`, so the sender
/// stops retrying a delivery that was handled.
///
/// ```
/// use titan_webhooks::VerifyError;
/// use titan_webhooks::receiver::ReceiveError;
///
/// let err = ReceiveError::from(VerifyError::NoMatchingSignature { examined: 1 });
/// assert_eq!((err.status().as_u16(), err.code()), (401, "signature_mismatch"));
/// assert_eq!(ReceiveError::Duplicate { answer: None }.status().as_u16(), 200);
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
    /// The delivery was already handled: not a failure. Answer with its
    /// status, the kept answer's or `200`, so the sender stops retrying.
    #[error("the delivery was already handled")]
    Duplicate {
        /// The handler's first answer, when answers are kept.
        answer: Option<Box<StoredAnswer>>,
    },
    /// The same delivery is being handled right now (`409`, with
    /// `Retry-After`).
    #[error("the delivery is being handled; retry in {} s", retry_after_secs(*.retry_after))]
    InProgress {
        /// When the other attempt's reservation lapses at the latest.
        retry_after: Duration,
    },
    /// The idempotency store failed (`503`, so the sender retries).
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    /// The receiver has an idempotency store, but the route has no
    /// `IdempotencyLayer` to settle its reservations (`500`): a mistake in
    /// the application's router, refused so that no retry is lost.
    #[error("the route has an idempotency store but no IdempotencyLayer")]
    IdempotencyLayerMissing,
}

/// Whole seconds to wait, rounded up and at least one.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    let whole = wait.as_secs();
    let rounded = if wait.subsec_nanos() > 0 {
        whole.saturating_add(1)
    } else {
        whole
    };
    rounded.max(1)
}

impl ReceiveError {
    /// The status to answer with: `401` for a missing, bad or stale
    /// signature, `400` for a malformed body, `413`, `409` or `503`, and a
    /// `2xx` for a duplicate.
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
            Self::Duplicate { answer } => answer
                .as_ref()
                .map_or(http::StatusCode::OK, |answer| answer.status()),
            Self::InProgress { .. } => http::StatusCode::CONFLICT,
            Self::Idempotency(_) => http::StatusCode::SERVICE_UNAVAILABLE,
            Self::IdempotencyLayerMissing => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable, short reason code: [`VerifyError::code`] for verification
    /// failures, else `body_too_large`, `body_unreadable`, `duplicate`,
    /// `in_progress`, `idempotency_unavailable` or
    /// `idempotency_layer_missing`.
    ///
    /// ```
    /// use titan_webhooks::receiver::ReceiveError;
    ///
    /// assert_eq!(ReceiveError::Duplicate { answer: None }.code(), "duplicate");
    /// ```
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::BodyUnreadable => "body_unreadable",
            Self::Verify(err) => err.code(),
            Self::Duplicate { .. } => "duplicate",
            Self::InProgress { .. } => "in_progress",
            Self::Idempotency(_) => "idempotency_unavailable",
            Self::IdempotencyLayerMissing => "idempotency_layer_missing",
        }
    }

    /// Whether the delivery failed verification: not signed by the
    /// sender, or signed too long ago. An authentic body that does not fit
    /// the expected type is not one.
    ///
    /// ```
    /// use titan_webhooks::VerifyError;
    /// use titan_webhooks::receiver::ReceiveError;
    ///
    /// assert!(ReceiveError::from(VerifyError::NoMatchingSignature { examined: 1 }).is_verification_failure());
    /// assert!(!ReceiveError::BodyUnreadable.is_verification_failure());
    /// ```
    #[must_use]
    pub fn is_verification_failure(&self) -> bool {
        matches!(self, Self::Verify(err) if !matches!(err, VerifyError::InvalidPayload(_)))
    }
}
