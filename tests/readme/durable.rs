use std::sync::Arc;
use std::time::Duration;

use titan_webhooks::store::SqliteStore;
use titan_webhooks::transport::Dispatcher;
use titan_webhooks::webhooks::{HealthPolicy, Keyring, SealingKey, WebhookStore};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Creates and migrates the tables on first use: the queue and the
    // webhooks, with their secrets sealed under your key.
    let queue = SqliteStore::open("webhooks.db").await?;
    let key = SealingKey::from_env("TITAN_WEBHOOKS_SEALING_KEY")?;
    let webhooks = WebhookStore::builder(queue.webhooks(), Keyring::new(key))
        .open()
        .await?;

    // Webhooks are read from the store, so every delivery an earlier
    // process left is signed with its webhook's stored secret and sent.
    let subscriptions = Arc::new(webhooks.subscriptions(HealthPolicy::default()));
    let dispatcher = Dispatcher::builder(queue, subscriptions).build()?;
    let running = dispatcher.start();

    tokio::signal::ctrl_c().await?;
    let report = running.shutdown(Duration::from_secs(10)).await?;
    println!("{} deliveries still open", report.open.len());
    Ok(())
}
