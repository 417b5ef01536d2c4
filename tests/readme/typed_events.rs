use titan_webhooks::{Envelope, Scheme, Signer, TitanEvent, Verifier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let body = br#"{"id":"evt_abc123","event":"message.received","session":"my-session","timestamp":"2025-01-15T10:30:00Z","payload":{"text":"hi"}}"#;
    let headers = Signer::from_secret_str(Scheme::titan(), "your-secret-signing-key")?.sign(body);

    let verifier = Verifier::from_secret_str(Scheme::titan(), "your-secret-signing-key")?;
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
