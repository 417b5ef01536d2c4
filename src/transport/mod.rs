//! Delivery over HTTP (feature `reqwest`): the [`Dispatcher`] that signs,
//! sends, retries and records, and the [`DeliveryStore`] it takes work from.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
//! use titan_webhooks::transport::{Dispatcher, MemoryStore, Subscription, SubscriptionRegistry};
//! use titan_webhooks::{Envelope, Scheme, TitanEvent, UrlGuard};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let rules = WebhookRules::new(UrlGuard::new());
//! let (webhook, secret) = rules.create(42.into(), CreateWebhook::new("https://myapp.example/webhooks"))?.into_parts();
//!
//! let subscriptions = Arc::new(SubscriptionRegistry::new());
//! subscriptions.upsert(Subscription::new(webhook, Scheme::titan(), secret));
//!
//! let dispatcher = Dispatcher::builder(MemoryStore::new(), Arc::clone(&subscriptions)).build()?;
//! let running = dispatcher.start();
//! dispatcher.dispatch(&Envelope::new(TitanEvent::MessageReceived, "default", serde_json::json!({}))).await?;
//! running.shutdown(Duration::from_secs(10)).await?;
//! # Ok(())
//! # }
//! ```

mod admin;
mod attempt;
mod dispatcher;
mod due_queue;
mod held;
mod memory;
mod record;
mod registry;
mod resolver;
mod slot_index;
mod store;

pub use admin::{
    AttemptRecord, DEFAULT_LIST_LIMIT, DeliveryAdmin, DeliveryQuery, DeliveryRecord,
    MAX_LIST_LIMIT, QueueMetrics,
};
pub use dispatcher::{
    DEFAULT_CONCURRENCY, DEFAULT_CONNECT_TIMEOUT, DEFAULT_ENDPOINT_CONCURRENCY,
    DEFAULT_LEASE_MARGIN, DEFAULT_REQUEST_TIMEOUT, Dispatched, Dispatcher, DispatcherBuilder,
    Prepared, Running, ShutdownReport,
};
pub use memory::{DEFAULT_MEMORY_HISTORY, MemoryStore};
pub use record::{
    AttemptOutcome, CancelReason, DeliveryAttempt, DeliveryEvent, DeliveryObserver, FailureKind,
    MAX_RECORDED_BODY, NextStep,
};
pub use registry::{Subscription, SubscriptionRegistry};
pub use store::{
    ClaimRequest, ClaimedDelivery, Completion, DeliveryKey, DeliveryState, DeliveryStore,
    EnvelopeRecord, HeldClaim, Lease, OpenDelivery,
};
