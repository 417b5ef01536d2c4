//! Receiving webhooks: a [`Receiver`] that checks the body limit, the
//! signature, the JSON and replays for any `http::Request`, the replay
//! guard behind it, and (feature `axum`) the [`VerifiedWebhook`]
//! extractor.
//!
//! ```
//! use titan_webhooks::receiver::{MemoryReplayGuard, Receiver};
//! use titan_webhooks::{Scheme, Secret, Verifier};
//!
//! let receiver = Receiver::new(Verifier::from_secret_str(Scheme::eventium(), "YOUR_ENDPOINT_SECRET")?)
//!     .with_replay_guard(MemoryReplayGuard::new());
//! assert_eq!(receiver.replay_ttl().as_secs(), 600);
//! # Ok::<(), titan_webhooks::SecretError>(())
//! ```

#[cfg(feature = "axum")]
mod axum;
mod receive;
mod replay;

#[cfg(feature = "axum")]
pub use axum::{VerifiedWebhook, WebhookRejection};
pub use receive::{DEFAULT_BODY_LIMIT, DEFAULT_REPLAY_TTL, ReceiveError, Received, Receiver};
pub use replay::{
    DEFAULT_REPLAY_CAPACITY, MemoryReplayGuard, ReplayFuture, ReplayGuard, ReplayGuardError,
    ReplayKey, Seen,
};
