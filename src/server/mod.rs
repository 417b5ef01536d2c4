//! The management API a sender service mounts: the seeds' REST routes for
//! Titan, Eventium and TitanX webhooks as axum routers, with an OpenAPI
//! document (feature `server`).
//!
//! [`ManagementApi`] holds the durable [`WebhookStore`], the
//! [`Dispatcher`] that delivers, and the application's [`Authorizer`].
//! Each flavour's router can be mounted alone, or all of them together at
//! their documented paths with [`ManagementApi::router`]:
//!
//! | flavour | routes |
//! |---|---|
//! | Titan (seeds 000, 001) | `POST`, `GET /api/webhooks`; `GET`, `PUT`, `DELETE /api/webhooks/{id}` |
//! | Eventium (seed 003) | `POST`, `GET /api/webhooks/endpoints`; `GET`, `PATCH`, `DELETE /api/webhooks/endpoints/{id}`; `POST /api/webhooks/endpoints/{id}/rotate-secret`; `GET /api/webhooks/deliveries`; `POST /api/webhooks/deliveries/{id}/redeliver`; `POST /api/webhooks/test`; `GET /api/webhooks/events` |
//! | TitanX (seed 002) | `POST`, `GET /api/public/v2/webhooks`; `GET`, `DELETE /api/public/v2/webhooks/{id}` |
//! | all | `GET /api/openapi.json` |
//!
//! Every route requires the [`MANAGE_SCOPE`] and acts only on the caller's
//! own webhooks: another owner's id is `404`, the same as one that does not
//! exist. Errors share one shape, [`ErrorBody`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use titan_webhooks::queue::MemoryStore;
//! use titan_webhooks::server::{BearerTokens, ManagementApi, MANAGE_SCOPE, Principal};
//! use titan_webhooks::transport::Dispatcher;
//! use titan_webhooks::webhooks::{HealthPolicy, Keyring, MemoryWebhooks, Owner, SealingKey, WebhookStore};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let webhooks = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::from_env("TITAN_WEBHOOKS_KEY")?))
//!     .open()
//!     .await?;
//! let dispatcher = Dispatcher::builder(MemoryStore::new(), Arc::new(webhooks.subscriptions(HealthPolicy::default()))).build()?;
//! let tokens = BearerTokens::new()
//!     .with_token(&std::env::var("API_TOKEN")?, Principal::new(Owner::new("acct_1")?).with_scope(MANAGE_SCOPE));
//!
//! let api = ManagementApi::new(webhooks, dispatcher.clone(), tokens);
//! let app = axum::Router::new().merge(api.router());
//! let running = dispatcher.start();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # drop(running);
//! # Ok(())
//! # }
//! ```

mod auth;
mod error;
mod eventium;
mod extract;
mod openapi;
mod titan;
mod titanx;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::FromRef;

pub use auth::{AuthRejection, Authorizer, BearerTokens, MANAGE_SCOPE, Principal, bearer_token};
pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use eventium::{DEFAULT_ROTATION_GRACE, MAX_ROTATION_GRACE};
pub use extract::DEFAULT_BODY_LIMIT;
pub use openapi::{OPENAPI_PATH, openapi};

/// Reads a JSON request body exactly as the routers do, refusals included.
/// Not part of the API, and exempt from semver: it exists so that `fuzz/`
/// can reach the routers' parser without a server.
///
/// # Errors
///
/// The [`ApiError`] a route would answer with: `400` for bytes that are
/// not UTF-8 JSON, `422` for JSON of the wrong shape.
#[doc(hidden)]
pub fn parse_request_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    extract::parse_json(body)
}

use crate::queue::{DeliveryAdmin, DeliveryStore};
use crate::transport::Dispatcher;
use crate::webhooks::{StoredSubscriptions, WebhookBackend, WebhookStore};
use crate::{Catalog, Timestamp};
use extract::RequestRules;

/// The management API's state, shared by every router it makes. Cloning is
/// cheap.
pub struct ManagementApi<S, B> {
    inner: Arc<Shared<S, B>>,
}

struct Shared<S, B> {
    webhooks: WebhookStore<B>,
    dispatcher: Dispatcher<S, StoredSubscriptions<B>>,
    rules: RequestRules,
}

impl<S, B> Clone for ManagementApi<S, B> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S, B> std::fmt::Debug for ManagementApi<S, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagementApi")
            .field("body_limit", &self.inner.rules.body_limit)
            .finish_non_exhaustive()
    }
}

impl<S, B> FromRef<ManagementApi<S, B>> for RequestRules {
    fn from_ref(api: &ManagementApi<S, B>) -> Self {
        api.inner.rules.clone()
    }
}

impl<S, B> ManagementApi<S, B>
where
    S: DeliveryStore + DeliveryAdmin,
    B: WebhookBackend,
{
    /// The API over `webhooks`, queueing deliveries (test events, endpoint
    /// lifecycle events) on `dispatcher`, and letting in whom `authorizer`
    /// lets in. The dispatcher should read the same store:
    /// `Dispatcher::builder(queue, Arc::new(webhooks.subscriptions(…)))`.
    pub fn new(
        webhooks: WebhookStore<B>,
        dispatcher: Dispatcher<S, StoredSubscriptions<B>>,
        authorizer: impl Authorizer,
    ) -> Self {
        Self {
            inner: Arc::new(Shared {
                webhooks,
                dispatcher,
                rules: RequestRules {
                    authorizer: Arc::new(authorizer),
                    body_limit: DEFAULT_BODY_LIMIT,
                },
            }),
        }
    }

    /// The same API, reading request bodies of at most `limit` bytes.
    /// Defaults to [`DEFAULT_BODY_LIMIT`], 64 KiB; larger bodies get
    /// `413`.
    #[must_use]
    pub fn body_limit(self, limit: usize) -> Self {
        let mut rules = self.inner.rules.clone();
        rules.body_limit = limit;
        Self {
            inner: Arc::new(Shared {
                webhooks: self.inner.webhooks.clone(),
                dispatcher: self.inner.dispatcher.clone(),
                rules,
            }),
        }
    }

    /// Every flavour's routes at their documented paths, and the OpenAPI
    /// document at [`OPENAPI_PATH`].
    pub fn router(&self) -> Router {
        self.titan()
            .merge(self.eventium())
            .merge(self.titanx())
            .merge(openapi::router())
    }

    /// Titan's routes (seeds 000 and 001) under `/api/webhooks`.
    pub fn titan(&self) -> Router {
        titan::router(self.clone())
    }

    /// Eventium's routes (seed 003) under `/api/webhooks/endpoints`,
    /// `/deliveries`, `/test` and `/events`.
    pub fn eventium(&self) -> Router {
        eventium::router(self.clone())
    }

    /// TitanX's routes (seed 002) under `/api/public/v2/webhooks`.
    pub fn titanx(&self) -> Router {
        titanx::router(self.clone())
    }
}

impl<S, B> ManagementApi<S, B> {
    fn webhooks(&self) -> &WebhookStore<B> {
        &self.inner.webhooks
    }

    fn dispatcher(&self) -> &Dispatcher<S, StoredSubscriptions<B>> {
        &self.inner.dispatcher
    }
}

/// Whether a stored webhook is of `catalog`: each flavour sees only its own.
fn of_catalog(webhook: &crate::subscription::Webhook, catalog: &Catalog) -> bool {
    webhook.catalog().name() == catalog.name()
}

/// `time` as a [`Timestamp`], or `None` outside what RFC 3339 can write.
fn timestamp(time: SystemTime) -> Option<Timestamp> {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    Timestamp::from_unix_seconds(i64::try_from(seconds).ok()?).ok()
}
