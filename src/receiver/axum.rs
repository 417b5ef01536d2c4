//! The axum extractor (feature `axum`).

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

use super::layer::{Pending, SettleSlot};
use super::receive::retry_after_secs;
use super::{ReceiveError, Received, Receiver};
use crate::PayloadError;

/// A webhook delivery that passed the [`Receiver`] in the router's state:
/// the body read within the size limit, the signature verified, then the
/// JSON parsed into `T`, then the delivery reserved in the receiver's
/// idempotency store, if it has one. A handler that takes it runs only for
/// authentic deliveries, and once per delivery: duplicates are answered
/// before it runs. The [`IdempotencyLayer`](super::IdempotencyLayer)
/// settles the reservation from the handler's answer.
///
/// The state must provide an `Arc<Receiver>` through [`FromRef`]; use the
/// receiver itself as the state, or implement `FromRef` for your own state.
/// Rejections answer with [`WebhookRejection`].
///
/// ```
/// use std::sync::Arc;
/// use axum::{Router, routing::post};
/// use titan_webhooks::receiver::{IdempotencyLayer, MemoryIdempotencyStore, Receiver, VerifiedWebhook};
/// use titan_webhooks::{Envelope, Scheme, Secret, Verifier};
///
/// async fn handle(webhook: VerifiedWebhook<Envelope>) -> &'static str {
///     println!("{} from {}", webhook.event(), webhook.session());
///     "ok"
/// }
///
/// let receiver = Receiver::new(Verifier::from_secret_str(Scheme::titan(), "your-secret-signing-key")?)
///     .with_idempotency(MemoryIdempotencyStore::new());
/// let app: Router = Router::new()
///     .route("/webhooks/titan", post(handle))
///     .layer(IdempotencyLayer::new())
///     .with_state(Arc::new(receiver));
/// # Ok::<(), titan_webhooks::SecretError>(())
/// ```
pub struct VerifiedWebhook<T = serde_json::Value>(pub Received<T>);

impl<T> VerifiedWebhook<T> {
    /// The delivery and what was learned verifying it.
    ///
    /// ```
    /// use titan_webhooks::receiver::VerifiedWebhook;
    ///
    /// fn key(webhook: &VerifiedWebhook) -> &str {
    ///     webhook.received().replay_key().as_str()
    /// }
    /// ```
    #[must_use]
    pub fn received(&self) -> &Received<T> {
        &self.0
    }

    /// Takes the verified value out.
    ///
    /// ```
    /// use titan_webhooks::receiver::VerifiedWebhook;
    ///
    /// fn value(webhook: VerifiedWebhook) -> serde_json::Value {
    ///     webhook.into_inner()
    /// }
    /// ```
    #[must_use]
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

impl<T> Deref for VerifiedWebhook<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for VerifiedWebhook<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("VerifiedWebhook").field(&self.0).finish()
    }
}

impl<S, T> FromRequest<S> for VerifiedWebhook<T>
where
    S: Send + Sync,
    Arc<Receiver>: FromRef<S>,
    T: DeserializeOwned + Send,
{
    type Rejection = WebhookRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let receiver = Arc::<Receiver>::from_ref(state);
        let limit = receiver.body_limit();
        let too_large = ReceiveError::BodyTooLarge { limit };
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > u64::try_from(limit).unwrap_or(u64::MAX)) {
            return Err(too_large.into());
        }
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(err) if err.is::<LengthLimitError>() => return Err(too_large.into()),
            Err(_) => return Err(ReceiveError::BodyUnreadable.into()),
        };
        let mut received: Received<T> = receiver
            .receive_parts(&parts.headers, &body, PayloadError::from_json)
            .await
            .map_err(|err| WebhookRejection::refuse(&receiver, err))?;
        if let Some(reservation) = received.take_reservation() {
            let Some(slot) = parts.extensions.get::<SettleSlot>() else {
                // Without the layer nothing would settle the reservation:
                // free it, and say so loudly rather than lose retries.
                tracing::error!(
                    "a webhook route has an idempotency store but no IdempotencyLayer; add `.layer(IdempotencyLayer::new())` to the router"
                );
                if let Err(err) = reservation.release().await {
                    tracing::warn!(error = %err, "releasing a webhook delivery failed");
                }
                return Err(ReceiveError::IdempotencyLayerMissing.into());
            };
            slot.put(Pending {
                reservation,
                keep_answer: receiver.keeps_answers(),
            });
        }
        Ok(Self(received))
    }
}

/// Why [`VerifiedWebhook`] did not hand a request to the handler. It
/// answers with the status of [`ReceiveError::status`] and a short JSON
/// body naming the reason, such as `{"error":"signature_mismatch"}`; never
/// the expected signature. A duplicate of a handled delivery is answered
/// with the kept answer, or `200 {"status":"duplicate"}`; one still being
/// handled with `409` and `Retry-After`.
///
/// ```
/// use std::time::Duration;
/// use axum::response::IntoResponse;
/// use titan_webhooks::receiver::{ReceiveError, WebhookRejection};
///
/// let duplicate = WebhookRejection::from(ReceiveError::Duplicate { answer: None }).into_response();
/// assert_eq!(duplicate.status(), 200);
/// let busy = ReceiveError::InProgress { retry_after: Duration::from_millis(1500) };
/// let response = WebhookRejection::from(busy).into_response();
/// assert_eq!(response.status(), 409);
/// assert_eq!(response.headers()["retry-after"], "2");
/// ```
#[derive(Debug)]
pub struct WebhookRejection {
    error: ReceiveError,
    public_code: &'static str,
}

impl WebhookRejection {
    /// The rejection for `error` under `receiver`'s settings, logging the
    /// precise reason when the public one is uniform.
    fn refuse(receiver: &Receiver, error: ReceiveError) -> Self {
        let public_code = receiver.public_code(&error);
        if public_code != error.code() {
            tracing::warn!(reason = error.code(), error = %error, "webhook refused");
        }
        Self { error, public_code }
    }

    /// What went wrong.
    ///
    /// ```
    /// use titan_webhooks::receiver::{ReceiveError, WebhookRejection};
    ///
    /// let rejection = WebhookRejection::from(ReceiveError::BodyUnreadable);
    /// assert_eq!(rejection.error(), &ReceiveError::BodyUnreadable);
    /// ```
    #[must_use]
    pub fn error(&self) -> &ReceiveError {
        &self.error
    }
}

impl From<ReceiveError> for WebhookRejection {
    fn from(error: ReceiveError) -> Self {
        Self {
            public_code: error.code(),
            error,
        }
    }
}

impl fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for WebhookRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        const JSON: HeaderValue = HeaderValue::from_static("application/json");
        match self.error {
            ReceiveError::Duplicate {
                answer: Some(answer),
            } => {
                let mut response = (answer.status(), answer.body().to_vec()).into_response();
                if let Some(content_type) = answer.content_type() {
                    response
                        .headers_mut()
                        .insert(CONTENT_TYPE, content_type.clone());
                }
                response
            }
            ReceiveError::Duplicate { answer: None } => {
                ([(CONTENT_TYPE, JSON)], r#"{"status":"duplicate"}"#).into_response()
            }
            ref error => {
                let body = serde_json::json!({ "error": self.public_code }).to_string();
                let mut response = (error.status(), [(CONTENT_TYPE, JSON)], body).into_response();
                if let ReceiveError::InProgress { retry_after } = error {
                    response.headers_mut().insert(
                        RETRY_AFTER,
                        HeaderValue::from(retry_after_secs(*retry_after)),
                    );
                }
                response
            }
        }
    }
}
