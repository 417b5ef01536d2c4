//! Lists the event catalogs, then verifies and parses sample deliveries:
//! a Titan envelope, an Eventium envelope with typed data, and an event
//! type the catalog does not know yet.
//!
//! Run with `cargo run --example events`.

use titan_webhooks::{
    Envelope, EventiumCategory, EventiumData, EventiumEnvelope, EventiumEvent, Scheme, Signer,
    TitanCategory, TitanEvent, TitanXEvent, Verifier,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("Titan: {} event types", TitanEvent::ALL.len());
    for category in TitanCategory::ALL {
        let names: Vec<&str> = TitanEvent::ALL
            .iter()
            .filter(|event| event.category() == Some(*category))
            .map(TitanEvent::as_str)
            .collect();
        println!("  {category:<11} {}", names.join(", "));
    }
    println!("Eventium: {} event types", EventiumEvent::ALL.len());
    for category in EventiumCategory::ALL {
        let names: Vec<&str> = EventiumEvent::ALL
            .iter()
            .filter(|event| event.category() == Some(*category))
            .map(EventiumEvent::as_str)
            .collect();
        println!("  {category:<17} {}", names.join(", "));
    }
    let titanx: Vec<&str> = TitanXEvent::ALL.iter().map(TitanXEvent::as_str).collect();
    println!("TitanX: {}\n", titanx.join(", "));

    let titan = Verifier::from_secret_str(Scheme::titan(), "titan-key")?;
    let titan_signer = Signer::from_secret_str(Scheme::titan(), "titan-key")?;
    for body in [
        br#"{"id":"evt_abc123","event":"message.received","session":"my-session","timestamp":"2025-01-15T10:30:00Z","payload":{"text":"hi"}}"#.as_slice(),
        br#"{"id":"evt_abc124","event":"message.pinned","session":"my-session","timestamp":"2025-01-15T10:31:00Z","payload":{"pinned":true}}"#.as_slice(),
    ] {
        let headers = titan_signer.sign(body);
        let envelope = titan.verify_json::<Envelope>(&headers, body)?;
        println!(
            "titan {} `{}` (known: {}, category: {:?}) from {} at {}: {}",
            envelope.id(),
            envelope.event(),
            envelope.event().is_known(),
            envelope.event().category().map(|c| c.as_str()),
            envelope.session(),
            envelope.timestamp(),
            envelope.payload(),
        );
    }

    let body = br#"{"id":"0c3b1d5b-1d66-4a16-b2b5-7aa3c2c9b5ab","type":"quota.threshold.reached","created_at":"2026-05-26T09:14:02Z","data":{"scope":"daily","threshold":80,"limit":10000,"count":8123,"plan":"builder"}}"#;
    let headers = Signer::from_secret_str(Scheme::eventium(), "eventium-key")?.sign(body);
    let envelope = Verifier::from_secret_str(Scheme::eventium(), "eventium-key")?
        .verify_json::<EventiumEnvelope>(&headers, body)?;
    match envelope.typed_data() {
        EventiumData::QuotaThresholdReached(quota) => println!(
            "eventium {} `{}`: {} of {} requests on the {} plan ({}% threshold, {})",
            envelope.id(),
            envelope.event(),
            quota.count,
            quota.limit,
            quota.plan,
            quota.threshold,
            quota.scope
        ),
        other => println!("eventium {}: {other:?}", envelope.event()),
    }
    Ok(())
}
