use futures_util::TryStreamExt as _;
use titan_webhooks::client::{BearerToken, Client, ClientError, DeliveryFilter};
use titan_webhooks::subscription::CreateWebhook;

#[tokio::main]
async fn main() -> Result<(), ClientError> {
    let token = BearerToken::from_env("TITAN_WEBHOOKS_TOKEN")?;
    let client = Client::new("https://api.titan.example", token)?;

    // Titan: register a URL. The hmacKey is in this answer and never again.
    let mut request = CreateWebhook::new("https://myapp.example/webhooks/titan");
    request.events = Some(vec!["message.received".into(), "session.status".into()]);
    let created = client.titan().create(&request).await?;
    save_signing_key(created.hmac_key().expose());

    // Refusals carry the status and the server's stable code and field.
    let bad = CreateWebhook::new("ftp://nope");
    if let Err(err) = client.titan().create(&bad).await {
        assert_eq!(err.code(), Some("validation_failed"));
        assert_eq!(err.field(), Some("url"));
    }

    // Eventium: every exhausted delivery, page by page, queued again.
    let eventium = client.eventium();
    let mut exhausted = eventium.deliveries(DeliveryFilter::default().status("exhausted"));
    while let Some(delivery) = exhausted.try_next().await? {
        eventium.redeliver(delivery.id).await?;
    }
    Ok(())
}

fn save_signing_key(_key: &str) {
    // Your secret store.
}
