use std::sync::Arc;

use titan_webhooks::server::{BearerTokens, MANAGE_SCOPE, ManagementApi, Principal};
use titan_webhooks::store::SqliteStore;
use titan_webhooks::transport::Dispatcher;
use titan_webhooks::webhooks::{HealthPolicy, Keyring, Owner, SealingKey, WebhookStore};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let queue = SqliteStore::open("webhooks.db").await?;
    let key = SealingKey::from_env("TITAN_WEBHOOKS_KEY")?;
    let webhooks = WebhookStore::builder(queue.webhooks(), Keyring::new(key))
        .open()
        .await?;
    let subscriptions = Arc::new(webhooks.subscriptions(HealthPolicy::default()));
    let dispatcher = Dispatcher::builder(queue, subscriptions).build()?;

    // Your own authorizer maps a request to a tenant and its scopes; this
    // one knows a single token.
    let customer = Principal::new(Owner::new("acct_1")?).with_scope(MANAGE_SCOPE);
    let tokens = BearerTokens::new().with_token(&std::env::var("API_TOKEN")?, customer);

    let api = ManagementApi::new(webhooks, dispatcher.clone(), tokens);
    let app = axum::Router::new()
        .merge(api.router()) // or api.titan(), api.eventium(), api.titanx() alone
        .route("/health", axum::routing::get(|| async { "ok" }));

    let running = dispatcher.start();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    axum::serve(listener, app).await?;
    running.shutdown(std::time::Duration::from_secs(10)).await?;
    Ok(())
}
