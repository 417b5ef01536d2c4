use titan_webhooks::UrlGuard;
use titan_webhooks::subscription::{CreateWebhook, WebhookRules};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rules = WebhookRules::new(UrlGuard::new());
    let mut request = CreateWebhook::new("https://myapp.example/webhooks/titan");
    request.events = Some(vec!["message.received".into()]);
    let created = rules.create(42.into(), request)?;
    // Hand the key to your customer now: it is shown once, and never logged.
    let hmac_key = created.hmac_key().expose();
    assert!(!hmac_key.is_empty());

    let metadata = CreateWebhook::new("https://169.254.169.254/latest/meta-data/");
    let Err(err) = rules.create(43.into(), metadata) else {
        return Err("the guard let a metadata address through".into());
    };
    assert_eq!(err.field(), "url");
    println!("{err}"); // `url`: 169.254.169.254 is a link-local address (169.254.0.0/16)
    Ok(())
}
