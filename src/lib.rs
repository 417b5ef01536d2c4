#![doc = include_str!("../README.md")]
#![doc = r#"
## Errors

The crate root holds the errors of the common path: [`VerifyError`], with
[`HeaderProblem`] and [`PayloadError`] inside it; [`SignError`],
[`SecretError`], [`SchemeError`], [`TimestampError`], [`EnvelopeError`],
[`FilterError`], and [`GuardError`] from the [`UrlGuard`].

The others are exported beside the types that raise them:
[`retry::RetryPolicyError`], [`subscription::ValidationError`],
[`receiver::ReceiveError`] and [`receiver::ReplayGuardError`]. The sending
side adds `queue::StoreError` (feature `queue`) and
`transport::DispatchError` (feature `reqwest`).
"#]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
mod envelope;
mod events;
mod header;
mod mac;
#[cfg(feature = "queue")]
pub mod queue;
pub mod receiver;
pub mod retry;
mod scheme;
mod secret;
mod sign;
mod ssrf;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod store;
pub mod subscription;
mod timestamp;
#[cfg(feature = "reqwest")]
pub mod transport;
mod verify;

pub use envelope::{Envelope, EnvelopeError, EventiumEnvelope};
pub use events::{
    EventFilter, EventType, EventiumCategory, EventiumData, EventiumEvent, EventiumTestRequest,
    FilterError, QuotaThresholdReached, TitanCategory, TitanEvent, TitanXCategory, TitanXEvent,
    UnknownEvent,
};
pub use header::{HeaderProblem, MAX_ID_LEN, MAX_SIGNATURE_ENTRIES};
pub use scheme::{
    DigestEncoding, Scheme, SchemeBuilder, SchemeError, SecretEncoding, SignatureFormat,
};
pub use secret::{MIN_WHSEC_KEY_LEN, Secret, SecretError, WHSEC_PREFIX};
pub use sign::{SignError, Signer};
pub use ssrf::{GuardError, UrlGuard};
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
    send_sync::<receiver::ReplayGuardError>();
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
};

#[cfg(feature = "reqwest")]
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<transport::DispatchError>();
    send_sync::<transport::Dispatcher<queue::MemoryStore>>();
};

#[cfg(feature = "axum")]
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<receiver::WebhookRejection>();
};
