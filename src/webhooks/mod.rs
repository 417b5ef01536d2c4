//! Webhooks as durable, shared objects (feature `queue`): the
//! [`WebhookStore`] with its rules, sealed secrets, rotation and health;
//! the backends that persist it ([`MemoryWebhooks`] here, SQLite and
//! Postgres in `store` (features `sqlite`, `postgres`)); and [`StoredSubscriptions`], the
//! cache a [`Dispatcher`](crate::transport::Dispatcher) reads it through.
//!
//! Every read and write is scoped to an [`Owner`], the account or tenant
//! id the application chooses. Signing keys and custom header values are
//! sealed with XChaCha20-Poly1305 under the application's [`Keyring`]; no
//! column holds them in plaintext.
//!
//! ```
//! use std::time::Duration;
//! use titan_webhooks::subscription::CreateWebhook;
//! use titan_webhooks::webhooks::{Flavour, Keyring, MemoryWebhooks, Owner, SealingKey, WebhookStore};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let keyring = Keyring::new(SealingKey::generate(1)?);
//! let store = WebhookStore::builder(MemoryWebhooks::new(), keyring).open().await?;
//! let owner = Owner::new("acct_42")?;
//!
//! let created = store.create(&owner, &Flavour::eventium(), CreateWebhook::new("https://example.com/hooks")).await?;
//! println!("shown once: {}", created.hmac_key().expose());
//!
//! let rotated = store.rotate_secret(&owner, created.webhook().id(), Duration::from_secs(86_400)).await?;
//! assert_ne!(rotated.hmac_key().expose(), created.hmac_key().expose());
//! assert_eq!(store.list(&owner, &Default::default()).await?.webhooks.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod backend;
mod cache;
mod health;
mod memory;
mod model;
mod sealing;
mod store;

pub use backend::{RowChange, RowFilter, WebhookBackend, WebhookRow};
pub use cache::{DEFAULT_MAX_STALENESS, StoredSubscriptions};
pub use health::{
    DEFAULT_MAX_FAILING, Disabled, DisabledReason, Health, HealthPolicy, HealthSignal, HealthUpdate,
};
pub use memory::MemoryWebhooks;
pub use model::{
    Flavour, MAX_OWNER_LEN, Owner, OwnerError, RotatedSecret, StoredWebhook, WebhookPage,
    WebhookQuery,
};
pub use sealing::{Keyring, SealingError, SealingKey};
pub use store::{WebhookStore, WebhookStoreBuilder, WebhookStoreError};
