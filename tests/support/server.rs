//! The management API on 127.0.0.1 for the server tests: memory stores,
//! a running dispatcher, and two tenants with their own tokens.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use titan_webhooks::UrlGuard;
use titan_webhooks::queue::MemoryStore;
use titan_webhooks::server::{BearerTokens, MANAGE_SCOPE, ManagementApi, Principal};
use titan_webhooks::transport::{Dispatcher, Running};
use titan_webhooks::webhooks::{
    HealthPolicy, Keyring, MemoryWebhooks, Owner, SealingKey, StoredSubscriptions, WebhookStore,
};

/// Tenant A's token, with `webhooks:manage`.
pub const TOKEN_A: &str = "token-tenant-a";
/// Tenant B's token, with `webhooks:manage`.
pub const TOKEN_B: &str = "token-tenant-b";
/// Tenant A's token without `webhooks:manage`.
pub const TOKEN_READ_ONLY: &str = "token-tenant-a-read-only";

pub type Queue = MemoryStore;
pub type Subscriptions = StoredSubscriptions<MemoryWebhooks>;

/// A running management API and its dispatcher.
pub struct ApiServer {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub webhooks: WebhookStore<MemoryWebhooks>,
    pub dispatcher: Dispatcher<Queue, Subscriptions>,
    running: Option<Running<Queue, Subscriptions>>,
    server: tokio::task::JoinHandle<()>,
}

impl ApiServer {
    /// Starts the API with a guard that lets webhooks point at
    /// `http://127.0.0.1`.
    pub async fn start() -> Self {
        Self::start_with(|api| api).await
    }

    /// Starts the API after `configure` has had its say.
    pub async fn start_with(
        configure: impl FnOnce(
            ManagementApi<Queue, MemoryWebhooks>,
        ) -> ManagementApi<Queue, MemoryWebhooks>,
    ) -> Self {
        // The receivers in the tests are plain-http servers on 127.0.0.1;
        // every other blocked range stays blocked.
        let guard = UrlGuard::new()
            .allow_loopback_for_testing()
            .allow_http_for_testing();
        let webhooks = WebhookStore::builder(
            MemoryWebhooks::new(),
            Keyring::new(SealingKey::generate(1).unwrap()),
        )
        .guard(guard.clone())
        .open()
        .await
        .unwrap();
        let subscriptions = Arc::new(webhooks.subscriptions(HealthPolicy::default()));
        let dispatcher = Dispatcher::builder(MemoryStore::new(), subscriptions)
            .guard(guard)
            .poll_interval(Duration::from_millis(50))
            .build()
            .unwrap();
        let tokens = BearerTokens::new()
            .with_token(TOKEN_A, principal("tenant-a").with_scope(MANAGE_SCOPE))
            .with_token(TOKEN_B, principal("tenant-b").with_scope(MANAGE_SCOPE))
            .with_token(
                TOKEN_READ_ONLY,
                principal("tenant-a").with_scope("webhooks:read"),
            );
        let api = configure(ManagementApi::new(
            webhooks.clone(),
            dispatcher.clone(),
            tokens,
        ));
        let app = api.router();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let running = dispatcher.start();
        Self {
            addr,
            client: reqwest::Client::new(),
            webhooks,
            dispatcher,
            running: Some(running),
            server,
        }
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A request with tenant `token`'s bearer token.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    /// Sends `body` as JSON and returns the status and the parsed answer
    /// (`Value::Null` for an empty body).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self.request(method, path, token);
        if let Some(body) = body {
            // reqwest's `json` feature is not enabled; this is what it does.
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(&body).unwrap());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        let value = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|err| {
                panic!("not JSON ({err}): {}", String::from_utf8_lossy(&bytes))
            })
        };
        (status, value)
    }

    /// Stops the dispatcher and the server.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown(Duration::from_secs(5)).await.unwrap();
        }
        self.server.abort();
    }
}

pub fn principal(owner: &str) -> Principal {
    Principal::new(Owner::new(owner).unwrap())
}

/// A seed's JSON example, from `tests/data/seeds/`.
pub fn seed_json(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/data/seeds/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"))
}
