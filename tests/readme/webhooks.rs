use std::time::Duration;

use titan_webhooks::subscription::{CreateWebhook, CustomHeader};
use titan_webhooks::webhooks::{
    Flavour, Keyring, MemoryWebhooks, Owner, SealingKey, WebhookQuery, WebhookStore,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // In production: SealingKey::from_env("TITAN_WEBHOOKS_SEALING_KEY")?,
    // a key made once with `cargo run --example sealing_key --features queue`
    // and kept in your secret manager, never in the database.
    let key = SealingKey::generate(1)?;
    let store = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(key))
        .open()
        .await?;

    // Every read and write is for one owner: your customer's account id.
    let owner = Owner::new("acct_42")?;
    let mut request = CreateWebhook::new("https://customer.example/hooks");
    request.events = Some(vec!["agent.deployment.created".into()]);
    request.headers = Some(vec![CustomHeader::new("Authorization", "Bearer tok_123")]);
    let created = store.create(&owner, &Flavour::eventium(), request).await?;
    println!("the key, shown once: {}", created.hmac_key().expose());

    // Rotate: for a day, deliveries carry signatures with both keys.
    let id = created.webhook().id();
    let rotated = store
        .rotate_secret(&owner, id, Duration::from_secs(24 * 60 * 60))
        .await?;
    println!("the new key, shown once: {}", rotated.hmac_key().expose());

    let page = store.list(&owner, &WebhookQuery::default()).await?;
    assert_eq!(page.webhooks.len(), 1);
    let other = Owner::new("acct_7")?;
    assert!(store.get(&other, id).await?.is_none(), "owners are apart");
    Ok(())
}
