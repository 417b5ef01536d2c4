use std::sync::Arc;
use std::time::Duration;

use titan_webhooks::queue::WorkerName;
use titan_webhooks::store::PostgresStore;
use titan_webhooks::transport::Dispatcher;
use titan_webhooks::webhooks::{HealthPolicy, Keyring, SealingKey, WebhookStore};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let queue = PostgresStore::connect("postgres://localhost/shop").await?;
    let key = SealingKey::from_env("TITAN_WEBHOOKS_SEALING_KEY")?;
    let webhooks = WebhookStore::builder(queue.webhooks(), Keyring::new(key))
        .open()
        .await?;
    let subscriptions = Arc::new(webhooks.subscriptions(HealthPolicy::default()));

    // One name per pod, the same after a restart, such as a StatefulSet's
    // pod name. While another live process holds it, `build` fails with
    // `DispatchError::WorkerNameInUse`.
    let name = WorkerName::new(std::env::var("POD_NAME")?)?;
    let dispatcher = Dispatcher::builder(queue, subscriptions)
        .worker_name(name)
        .build()
        .await?;
    // What this pod held when it died is due again now, not after a lease.
    let running = dispatcher.start();

    tokio::signal::ctrl_c().await?;
    running.shutdown(Duration::from_secs(10)).await?;
    Ok(())
}
