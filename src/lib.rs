//! Send and receive signed webhooks: Titan, TitanX, Eventium, GitHub,
//! Stripe and Standard Webhooks (Svix), byte for byte.
//!
//! # Receiving
//!
//! A [`Verifier`] checks a delivery's signature, and its timestamp where the
//! scheme signs one, against the raw body, in constant time and without
//! allocating. [`Verifier::verify_json`] parses the body only once it is
//! authentic.
//!
//! ```
//! use titan_webhooks::{Envelope, Scheme, Secret, Signer, TitanEvent, Verifier};
//!
//! let verifier = Verifier::from_secret_str(Scheme::titan(), "your-secret-signing-key")?;
//! # let body = br#"{"id":"evt_1","event":"message.received","session":"default","timestamp":"2025-01-15T10:30:00Z","payload":{}}"#;
//! # let headers = Signer::from_secret_str(Scheme::titan(), "your-secret-signing-key")?.sign(body);
//! let envelope = verifier.verify_json::<Envelope>(&headers, body)?.into_inner();
//! assert_eq!(*envelope.event(), TitanEvent::MessageReceived);
//!
//! let tampered = br#"{"id":"evt_1","event":"message.deleted"}"#;
//! let err = verifier.verify(&headers, tampered).unwrap_err();
//! assert_eq!(err.code(), "signature_mismatch");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`receiver::Receiver`] adds the body limit, JSON parsing and idempotent
//! handling (duplicates answered `2xx`, never retried into failure) for any
//! `http::Request`, and (feature `axum`) [`receiver::VerifiedWebhook`] does
//! it as an axum extractor.
//!
//! # Sending
//!
//! A [`Signer`] signs a body for any scheme. A whole sender is layered by
//! feature, each layer depending only on the ones above it:
//!
//! | feature | module | what it adds |
//! |---|---|---|
//! | (none) | [`retry`], [`subscription`] | retry calculators, the webhook object and its rules, the SSRF [`UrlGuard`] |
//! | `queue` | `queue`, `webhooks` | the delivery queue: `DeliveryStore`, `DeliveryAdmin`, records, `SubscriptionRegistry`, `MemoryStore`; webhooks as durable objects: `WebhookStore` with sealed secrets, rotation and health; no HTTP client |
//! | `sqlite`, `postgres` | `store` | durable queues and webhook backends on sqlx, and the transactional outbox |
//! | `reqwest` | `transport` | the `Dispatcher`: claims, signs, sends, retries, records |
//! | `metrics` | `transport::metrics` | the `Dispatcher`'s counters, histograms and gauges through the `metrics` facade |
//! | `axum` | [`receiver`] | the `VerifiedWebhook` extractor and the `IdempotencyLayer` |
//! | `server` | `server` | the seeds' management API as axum routers, with an OpenAPI document |
//! | `client` | `client` | a typed client for the same API, on the same JSON types |
//!
//! The README on the repository walks through each with a complete
//! program.
//!
//! # Errors
//!
//! The crate root holds the errors of the common path: [`VerifyError`], with
//! [`HeaderProblem`] and [`PayloadError`] inside it; [`SignError`],
//! [`SecretError`], [`SchemeError`], [`TimestampError`], [`EnvelopeError`],
//! [`FilterError`], and [`GuardError`] from the [`UrlGuard`].
//!
//! The others are exported beside the types that raise them:
//! [`retry::RetryPolicyError`], [`subscription::ValidationError`],
//! [`receiver::ReceiveError`] and [`receiver::IdempotencyError`]. The
//! sending side adds `queue::StoreError`, `webhooks::WebhookStoreError`,
//! `webhooks::SealingError` and `webhooks::OwnerError` (feature `queue`),
//! `transport::DispatchError` (feature `reqwest`), and
//! `client::ClientError` (feature `client`).
//!
//! None of them carries a secret, an expected signature or a body, so they
//! are safe to log and to return to a caller.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "client")]
pub mod client;
pub mod clock;
pub mod diagnose;
mod envelope;
mod events;
mod header;
mod mac;
mod named;
mod object;
#[cfg(feature = "queue")]
pub mod queue;
pub mod receiver;
pub mod retry;
mod scheme;
mod secret;
#[cfg(feature = "server")]
pub mod server;
mod sign;
mod ssrf;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod store;
pub mod subscription;
mod timestamp;
#[cfg(feature = "reqwest")]
pub mod transport;
mod verify;
#[cfg(feature = "queue")]
pub mod webhooks;

pub use envelope::{Deliverable, Envelope, EnvelopeError, EventiumEnvelope};
pub use events::{
    Catalog, EventFilter, EventType, EventiumCategory, EventiumData, EventiumEvent,
    EventiumTestRequest, FilterError, QuotaThresholdReached, TitanCategory, TitanEvent,
    TitanXCategory, TitanXEvent, UnknownEvent,
};
pub use header::{HeaderProblem, MAX_ID_LEN, MAX_SIGNATURE_ENTRIES};
pub use scheme::{
    DigestEncoding, Scheme, SchemeBuilder, SchemeError, SecretEncoding, SignatureFormat,
};
pub use secret::{MIN_WHSEC_KEY_LEN, Secret, SecretError, WHSEC_PREFIX};
pub use sign::{SignError, Signer};
pub use ssrf::{GuardError, MAX_URL_LEN, UrlGuard};
pub use timestamp::{Timestamp, TimestampError};
pub use verify::{DEFAULT_TOLERANCE, PayloadError, RawHeaders, Verified, Verifier, VerifyError};

/// Re-export of the `http` crate, whose types this crate's API uses.
pub use http;

// Verifiers, signers and errors are shared across threads and tasks.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Verifier>();
    send_sync::<Signer>();
    send_sync::<Secret>();
    send_sync::<Scheme>();
    send_sync::<VerifyError>();
    send_sync::<SignError>();
    send_sync::<SecretError>();
    send_sync::<PayloadError>();
    send_sync::<receiver::ReceiveError>();
    send_sync::<EnvelopeError>();
    send_sync::<FilterError>();
    send_sync::<HeaderProblem>();
    send_sync::<receiver::IdempotencyError>();
    send_sync::<receiver::MemoryIdempotencyStore>();
    send_sync::<retry::RetryPolicyError>();
    send_sync::<SchemeError>();
    send_sync::<TimestampError>();
    send_sync::<subscription::ValidationError>();
    send_sync::<GuardError>();
    send_sync::<UrlGuard>();
    send_sync::<receiver::Receiver>();
    send_sync::<Verified<serde_json::Value>>();
};

#[cfg(feature = "queue")]
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<queue::StoreError>();
    send_sync::<queue::MemoryStore>();
    send_sync::<queue::SubscriptionRegistry>();
    send_sync::<webhooks::WebhookStore<webhooks::MemoryWebhooks>>();
    send_sync::<webhooks::StoredSubscriptions<webhooks::MemoryWebhooks>>();
    send_sync::<webhooks::WebhookStoreError>();
    send_sync::<webhooks::SealingError>();
    send_sync::<webhooks::Keyring>();
};

#[cfg(feature = "reqwest")]
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<transport::DispatchError>();
    send_sync::<transport::Dispatcher<queue::MemoryStore>>();
};

#[cfg(feature = "client")]
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<client::Client>();
    send_sync::<client::ClientError>();
    send_sync::<client::TitanClient>();
    send_sync::<client::EventiumClient>();
    send_sync::<client::TitanXClient>();
};

#[cfg(feature = "axum")]
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<receiver::WebhookRejection>();
};
