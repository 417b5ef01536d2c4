use std::time::Duration;

use titan_webhooks::{Scheme, Secret, Signer, Verifier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Once, at start-up: the key schedule is computed here, not per request.
    let verifier = Verifier::new(
        Scheme::titan(),
        Secret::from_utf8("your-secret-signing-key")?,
    );

    // Per request: the raw body bytes and the request's headers. A Signer
    // stands in for the provider here.
    let body = br#"{"id":"evt_1","event":"message.received"}"#;
    let signer = Signer::new(
        Scheme::titan(),
        Secret::from_utf8("your-secret-signing-key")?,
    );
    let headers = signer.sign(body);

    match verifier.verify(&headers, body) {
        Ok(_) => println!("authentic: process it"),
        Err(err) => eprintln!("rejected: {err} ({})", err.code()),
    }

    // Eventium signs a timestamp too. Rotation: both secrets are accepted.
    let eventium = Verifier::new(Scheme::eventium(), Secret::from_utf8("old-secret")?)
        .with_secret(Secret::from_utf8("new-secret")?)
        .with_past_tolerance(Duration::from_secs(300))
        .with_future_tolerance(Duration::from_secs(30));
    let headers = Signer::new(Scheme::eventium(), Secret::from_utf8("new-secret")?).sign(body);
    assert!(eventium.verify(&headers, body).is_ok());
    Ok(())
}
