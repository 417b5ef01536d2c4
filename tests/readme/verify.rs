use std::time::Duration;

use titan_webhooks::{Scheme, Signer, Verifier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Once, at start-up: the key schedule is computed here, not per request.
    // The scheme decides how its secret string becomes a key.
    let verifier = Verifier::from_secret_str(Scheme::titan(), "your-secret-signing-key")?;

    // Per request: the raw body bytes and the request's headers. A Signer
    // stands in for the provider here.
    let body = br#"{"id":"evt_1","event":"message.received"}"#;
    let signer = Signer::from_secret_str(Scheme::titan(), "your-secret-signing-key")?;
    let headers = signer.sign(body);

    match verifier.verify(&headers, body) {
        Ok(_) => println!("authentic: process it"),
        Err(err) => eprintln!("rejected: {err} ({})", err.code()),
    }

    // Eventium signs a timestamp too. Rotation: both secrets are accepted.
    let eventium = Scheme::eventium();
    let rotating = Verifier::from_secret_str(eventium.clone(), "old-secret")?
        .with_secret(eventium.secret("new-secret")?)
        .with_past_tolerance(Duration::from_secs(300))
        .with_future_tolerance(Duration::from_secs(30));
    let headers = Signer::from_secret_str(eventium, "new-secret")?.sign(body);
    assert!(rotating.verify(&headers, body).is_ok());

    // Standard Webhooks decodes its `whsec_` secret (Stripe's is used as it
    // is), and takes Svix's `svix-*` header names as well as `webhook-*`.
    let whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let standard = Verifier::from_secret_str(Scheme::standard_webhooks(), whsec)?;
    let headers = Signer::from_secret_str(Scheme::svix(), whsec)?.sign(body);
    assert!(standard.verify(&headers, body).is_ok());
    Ok(())
}
