use titan_webhooks::{Envelope, Scheme, Secret, Signer, TitanEvent, Verifier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let body = br#"{"id":"evt_abc123","event":"message.received","session":"my-session","timestamp":"2025-01-15T10:30:00Z","payload":{"text":"hi"}}"#;
    let headers = Signer::new(
        Scheme::titan(),
        Secret::from_utf8("your-secret-signing-key")?,
    )
    .sign(body);

    let verifier = Verifier::new(
        Scheme::titan(),
        Secret::from_utf8("your-secret-signing-key")?,
    );
    let envelope = verifier.verify_json::<Envelope>(&headers, body)?;
    match envelope.event() {
        TitanEvent::MessageReceived => {
            println!("{}: {}", envelope.session(), envelope.payload()["text"]);
        }
        TitanEvent::Unknown(other) => println!("new event type {}", other.as_str()),
        _ => {}
    }
    Ok(())
}
