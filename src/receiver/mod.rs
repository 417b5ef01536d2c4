//! Receiving webhooks: a [`Receiver`] that checks the body limit, the
//! signature and the JSON for any `http::Request` and handles each delivery
//! once through an [`IdempotencyStore`], and (feature `axum`) the
//! [`VerifiedWebhook`] extractor with the [`IdempotencyLayer`] that settles
//! each delivery from the handler's answer.
//!
//! ```
//! use titan_webhooks::receiver::{MemoryIdempotencyStore, Receiver};
//! use titan_webhooks::{Scheme, Secret, Verifier};
//!
//! let receiver = Receiver::new(Verifier::from_secret_str(Scheme::eventium(), "YOUR_ENDPOINT_SECRET")?)
//!     .with_idempotency(MemoryIdempotencyStore::new());
//! assert_eq!(receiver.replay_ttl().as_secs(), 600);
//! # Ok::<(), titan_webhooks::SecretError>(())
//! ```

#[cfg(feature = "axum")]
mod axum;
mod idempotency;
#[cfg(feature = "axum")]
mod layer;
mod receive;

#[cfg(feature = "axum")]
pub use axum::{VerifiedWebhook, WebhookRejection};
pub use idempotency::{
    Begin, DEFAULT_IDEMPOTENCY_CAPACITY, DEFAULT_RESERVATION_LEASE, IdempotencyError,
    IdempotencyFuture, IdempotencyStore, MAX_STORED_ANSWER, MemoryIdempotencyStore, ReplayKey,
    Reservation, ReservationToken, StoredAnswer,
};
#[cfg(feature = "axum")]
pub use layer::{IdempotencyLayer, IdempotencyService};
pub use receive::{
    DEFAULT_BODY_LIMIT, DEFAULT_REPLAY_TTL, ReceiveError, Received, Receiver, UNIFORM_ERROR_CODE,
};
