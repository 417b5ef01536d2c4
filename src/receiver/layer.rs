//! The tower layer that settles each delivery's idempotency reservation
//! from the handler's answer (feature `axum`).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::CONTENT_TYPE;
use http_body_util::BodyExt as _;
use tower_layer::Layer;
use tower_service::Service;

use super::{MAX_STORED_ANSWER, Reservation, StoredAnswer};

/// Settles the idempotency reservation that [`VerifiedWebhook`] takes: once
/// the handler answers, a `2xx` completes it, so duplicates are answered
/// `2xx` without running the handler again, and any other answer releases
/// it, so the sender's retry is handled. With
/// [`Receiver::with_kept_answers`](super::Receiver::with_kept_answers) the
/// `2xx` answer is kept and replayed to duplicates.
///
/// The completion is stored before the answer leaves, so a retry never
/// finds the delivery still in progress after its `2xx`. A request whose
/// connection drops before the handler answers leaves its reservation to
/// lapse after the receiver's lease.
///
/// A route whose receiver has an idempotency store needs this layer: the
/// extractor refuses with `500 idempotency_layer_missing` without it.
///
/// [`VerifiedWebhook`]: super::VerifiedWebhook
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
/// let receiver = Receiver::new(Verifier::new(Scheme::titan(), Secret::from_utf8("your-secret-signing-key")?))
///     .with_idempotency(MemoryIdempotencyStore::new());
/// let app: Router = Router::new()
///     .route("/webhooks/titan", post(handle))
///     .layer(IdempotencyLayer::new())
///     .with_state(Arc::new(receiver));
/// # Ok::<(), titan_webhooks::SecretError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct IdempotencyLayer {
    _private: (),
}

impl IdempotencyLayer {
    /// The layer.
    ///
    /// ```
    /// use titan_webhooks::receiver::IdempotencyLayer;
    ///
    /// let _layer = IdempotencyLayer::new();
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for IdempotencyLayer {
    type Service = IdempotencyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        IdempotencyService { inner }
    }
}

/// The service [`IdempotencyLayer`] wraps a route in.
#[derive(Debug, Clone)]
pub struct IdempotencyService<S> {
    inner: S,
}

/// What the extractor leaves for the layer: the reservation, and whether to
/// keep the answer.
pub(crate) struct Pending {
    pub(crate) reservation: Reservation,
    pub(crate) keep_answer: bool,
}

/// The request extension through which the extractor hands its
/// reservation to the layer.
#[derive(Clone)]
pub(crate) struct SettleSlot(Arc<Mutex<Option<Pending>>>);

impl SettleSlot {
    pub(crate) fn put(&self, pending: Pending) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(pending);
    }

    fn take(&self) -> Option<Pending> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl<S> Service<Request> for IdempotencyService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let slot = SettleSlot(Arc::new(Mutex::new(None)));
        request.extensions_mut().insert(slot.clone());
        // Called here, on the service `poll_ready` was driven on: the
        // future owns what it needs, so no clone of the service is made.
        let answered = self.inner.call(request);
        Box::pin(async move {
            let response = answered.await?;
            match slot.take() {
                Some(pending) => Ok(settle(pending, response).await),
                None => Ok(response),
            }
        })
    }
}

/// Completes or releases the reservation by the handler's status.
async fn settle(pending: Pending, response: Response) -> Response {
    let Pending {
        reservation,
        keep_answer,
    } = pending;
    if !response.status().is_success() {
        if let Err(err) = reservation.release().await {
            tracing::warn!(error = %err, "releasing a webhook delivery failed; it lapses after its lease");
        }
        return response;
    }
    let fits = HttpBody::size_hint(response.body())
        .upper()
        .is_some_and(|upper| upper <= MAX_STORED_ANSWER as u64);
    if !(keep_answer && fits) {
        if let Err(err) = reservation.complete().await {
            tracing::warn!(error = %err, "recording a handled webhook delivery failed");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            tracing::warn!(error = %err, "the handler's answer could not be read");
            if let Err(err) = reservation.release().await {
                tracing::warn!(error = %err, "releasing a webhook delivery failed");
            }
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let content_type = parts.headers.get(CONTENT_TYPE).cloned();
    let completed = match StoredAnswer::new(parts.status, content_type, bytes.to_vec()) {
        Some(answer) => reservation.complete_with(&answer).await,
        None => reservation.complete().await,
    };
    if let Err(err) = completed {
        tracing::warn!(error = %err, "recording a handled webhook delivery failed");
    }
    Response::from_parts(parts, Body::from(bytes))
}
