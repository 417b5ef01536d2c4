use titan_webhooks::queue::SubscriptionRegistry;
use titan_webhooks::store::PostgresStore;
use titan_webhooks::{Envelope, TitanEvent};

// A producer that only queues: no Dispatcher, no HTTP client. Dispatchers
// on other machines share the same Postgres queue and deliver.
async fn mark_paid(
    store: &PostgresStore,
    subscriptions: &SubscriptionRegistry,
    order: i64,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut tx = store.pool().begin().await?;
    sqlx::query("UPDATE orders SET paid = true WHERE id = $1")
        .bind(order)
        .execute(&mut *tx)
        .await?;
    let envelope = Envelope::new(TitanEvent::MessageReceived, "default", order);
    store
        .enqueue_in_tx(&mut tx, &subscriptions.prepare(&envelope)?)
        .await?;
    tx.commit().await?; // idle dispatchers are notified now, not before
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = PostgresStore::connect("postgres://localhost/shop").await?;
    mark_paid(&store, &SubscriptionRegistry::new(), 7).await
}
