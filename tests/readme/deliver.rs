use std::sync::Arc;
use std::time::Duration;

use titan_webhooks::queue::{MemoryStore, Subscription, SubscriptionRegistry};
use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
use titan_webhooks::transport::Dispatcher;
use titan_webhooks::{Envelope, Scheme, TitanEvent, UrlGuard};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = "https://myapp.example/webhooks/titan";
    let (webhook, secret) = WebhookRules::new(UrlGuard::new())
        .create(42.into(), CreateWebhook::new(url))?
        .into_parts();
    let subscriptions = Arc::new(SubscriptionRegistry::new());
    subscriptions.upsert(Subscription::new(webhook, Scheme::titan(), secret));

    // Every attempt, disabled webhook and cancellation arrives here: a delivery log.
    let (log, mut attempts) = tokio::sync::mpsc::unbounded_channel();
    let dispatcher = Dispatcher::builder(MemoryStore::new(), subscriptions)
        .observer(log)
        .build()?;
    let running = dispatcher.start();

    let payload = serde_json::json!({"text": "hi"});
    dispatcher
        .dispatch(&Envelope::new(
            TitanEvent::MessageReceived,
            "default",
            payload,
        ))
        .await?;
    println!("{:?}", attempts.recv().await);

    // Nothing is dropped silently: the report lists what is still open.
    let report = running.shutdown(Duration::from_secs(10)).await?;
    println!("{} deliveries still open", report.open.len());
    Ok(())
}
