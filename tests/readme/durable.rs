use std::sync::Arc;

use titan_webhooks::queue::SubscriptionRegistry;
use titan_webhooks::store::SqliteStore;
use titan_webhooks::transport::Dispatcher;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Creates and migrates the tables on first use.
    let store = SqliteStore::open("webhooks.db").await?;

    // Register every webhook before starting: a queued delivery whose
    // webhook this process does not know is cancelled.
    let subscriptions = Arc::new(SubscriptionRegistry::new());

    let dispatcher = Dispatcher::builder(store, subscriptions).build()?;
    let running = dispatcher.start(); // picks up what an earlier process left
    let report = running.shutdown(std::time::Duration::from_secs(10)).await?;
    println!("{} deliveries still open", report.open.len());
    Ok(())
}
