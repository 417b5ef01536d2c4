use titan_webhooks::store::{PostgresStore, PostgresWebhooks};
use titan_webhooks::webhooks::{
    HealthPolicy, Keyring, Owner, SealingKey, StoredSubscriptions, WebhookStore,
};
use titan_webhooks::{Envelope, TitanEvent};

// A producer that only queues: no Dispatcher, no HTTP client. Dispatchers
// on other machines share the same Postgres queue and webhooks, and deliver.
async fn mark_paid(
    store: &PostgresStore,
    subscriptions: &StoredSubscriptions<PostgresWebhooks>,
    customer: &Owner,
    order: i64,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut tx = store.pool().begin().await?;
    sqlx::query("UPDATE orders SET paid = true WHERE id = $1")
        .bind(order)
        .execute(&mut *tx)
        .await?;
    let envelope = Envelope::new(TitanEvent::MessageReceived, "default", order);
    let prepared = subscriptions.prepare(customer, &envelope).await?;
    store.enqueue_in_tx(&mut tx, &prepared).await?;
    tx.commit().await?; // idle dispatchers are notified now, not before
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = PostgresStore::connect("postgres://localhost/shop").await?;
    let key = SealingKey::from_env("TITAN_WEBHOOKS_SEALING_KEY")?;
    let webhooks = WebhookStore::builder(store.webhooks(), Keyring::new(key))
        .open()
        .await?;
    let subscriptions = webhooks.subscriptions(HealthPolicy::default());
    mark_paid(&store, &subscriptions, &Owner::new("acct_42")?, 7).await
}
