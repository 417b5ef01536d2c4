//! The delivery queue (feature `queue`): the [`DeliveryStore`] a sender's
//! deliveries wait in, the [`DeliveryAdmin`] operations on it, the records
//! it keeps, the [`SubscriptionSource`] that decides who gets an envelope
//! (the in-process [`SubscriptionRegistry`], or a durable
//! [`WebhookStore`](crate::webhooks::WebhookStore)), and the in-memory
//! [`MemoryStore`].
//!
//! The queue has no HTTP client. A producer that only enqueues, for
//! example inside its own database transaction with a durable store's
//! `enqueue_in_tx` (the transactional outbox), needs nothing else; the
//! [`Dispatcher`](crate::transport::Dispatcher) (feature `reqwest`) takes
//! the work from there.
//!
//! ```
//! use titan_webhooks::queue::{DeliveryStore, MemoryStore, SubscriptionRegistry};
//! use titan_webhooks::{Envelope, TitanEvent};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let subscriptions = SubscriptionRegistry::new();
//! let store = MemoryStore::new();
//! let prepared = subscriptions.prepare(&Envelope::new(TitanEvent::ChatRead, "s", ()))?;
//! let queued = store.enqueue(&prepared.record, &prepared.webhooks).await?;
//! assert!(queued.is_empty(), "no subscriptions yet");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod admin;
mod due_queue;
mod memory;
mod record;
mod registry;
mod slot_index;
mod source;
mod store;
mod worker;

pub use admin::{
    DEFAULT_LIST_LIMIT, DeliveryAdmin, DeliveryQuery, DeliveryRecord, FinishedState,
    MAX_LIST_LIMIT, QueueMetrics,
};
pub use memory::{DEFAULT_MEMORY_HISTORY, MemoryStore};
pub use record::{CancelReason, DeliveryAttempt, MAX_RECORDED_BODY};
pub use registry::{Prepared, Subscription, SubscriptionRegistry};
pub use source::{Lookup, Route, SubscriptionSource};
pub use store::{
    ClaimRequest, ClaimedDelivery, DeliveryKey, DeliveryState, DeliveryStore, EnvelopeRecord,
    HeldClaim, Lease, OpenDelivery, StoreError,
};
pub(crate) use worker::LocalNames;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) use worker::{CheckFuture, HeldName};
pub use worker::{MAX_WORKER_NAME_LEN, WorkerLock, WorkerName, WorkerNameError};
