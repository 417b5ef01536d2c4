//! Delivery over HTTP (feature `reqwest`): the [`Dispatcher`] that claims
//! deliveries from a [`DeliveryStore`](crate::queue::DeliveryStore), signs,
//! sends, retries and records them.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use titan_webhooks::queue::{MemoryStore, Subscription, SubscriptionRegistry};
//! use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
//! use titan_webhooks::transport::Dispatcher;
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

mod attempt;
mod builder;
mod dispatched;
mod dispatcher;
mod driver;
mod exchange;
mod group_commit;
mod held;
mod identity;
#[cfg(feature = "metrics")]
pub mod metrics;
mod observer;
mod resolver;

pub use builder::{
    DEFAULT_CONCURRENCY, DEFAULT_CONNECT_TIMEOUT, DEFAULT_ENDPOINT_CONCURRENCY,
    DEFAULT_LEASE_MARGIN, DEFAULT_REQUEST_TIMEOUT, DispatcherBuilder, Named, Unnamed,
};
pub use dispatched::{DispatchOutcome, Dispatched};
pub use dispatcher::{DispatchError, Dispatcher, Running, ShutdownReport};
pub use group_commit::MAX_GROUP_COMMIT;
pub use observer::{DeliveryEvent, DeliveryObserver};
