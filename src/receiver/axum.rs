//! The axum extractor (feature `axum`).

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

use super::ReceiveError;
use super::{Received, Receiver};
use crate::PayloadError;

/// A webhook delivery that passed the [`Receiver`] in the router's state:
/// the body read within the size limit, the signature verified, then the
/// JSON parsed into `T`, then the replay guard consulted. A handler that
/// takes it runs only for authentic deliveries.
///
/// The state must provide an `Arc<Receiver>` through [`FromRef`]; use the
/// receiver itself as the state, or implement `FromRef` for your own state.
/// Rejections answer with [`WebhookRejection`].
///
/// ```
/// use std::sync::Arc;
/// use axum::{Router, routing::post};
/// use titan_webhooks::receiver::{MemoryReplayGuard, Receiver, VerifiedWebhook};
/// use titan_webhooks::{Envelope, Scheme, Secret, Verifier};
///
/// async fn handle(webhook: VerifiedWebhook<Envelope>) -> &'static str {
///     println!("{} from {}", webhook.event(), webhook.session());
///     "ok"
/// }
///
/// let receiver = Receiver::new(Verifier::from_secret_str(Scheme::titan(), "your-secret-signing-key")?)
///     .with_replay_guard(MemoryReplayGuard::new());
/// let app: Router = Router::new()
///     .route("/webhooks/titan", post(handle))
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
        receiver
            .receive_parts(&parts.headers, &body, PayloadError::from_json)
            .await
            .map(Self)
            .map_err(WebhookRejection::from)
    }
}

/// Why [`VerifiedWebhook`] refused a request. It answers with the status of
/// [`ReceiveError::status`] and a short JSON body naming the reason, such as
/// `{"error":"signature_mismatch"}`; never the expected signature.
///
/// ```
/// use axum::response::IntoResponse;
/// use titan_webhooks::receiver::{ReceiveError, WebhookRejection};
///
/// let response = WebhookRejection::from(ReceiveError::Replayed).into_response();
/// assert_eq!(response.status(), 409);
/// ```
#[derive(Debug)]
pub struct WebhookRejection(ReceiveError);

impl WebhookRejection {
    /// What went wrong.
    ///
    /// ```
    /// use titan_webhooks::receiver::{ReceiveError, WebhookRejection};
    ///
    /// assert_eq!(WebhookRejection::from(ReceiveError::Replayed).error(), &ReceiveError::Replayed);
    /// ```
    #[must_use]
    pub fn error(&self) -> &ReceiveError {
        &self.0
    }
}

impl From<ReceiveError> for WebhookRejection {
    fn from(error: ReceiveError) -> Self {
        Self(error)
    }
}

impl fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for WebhookRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.0.code() }).to_string();
        let mut response = (self.0.status(), body).into_response();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}
