//! Envelope and event parsing: Titan's and Eventium's envelopes, the
//! Eventium test request, event type strings, filters, catalogs and
//! timestamps.

#![no_main]

use libfuzzer_sys::fuzz_target;
use titan_webhooks::{
    Catalog, Envelope, EventFilter, EventType, EventiumEnvelope, EventiumEvent,
    EventiumTestRequest, PayloadError, Timestamp, TitanEvent, TitanXEvent,
};
use titan_webhooks_fuzz as _; // The 1 MiB allocation cap.

/// Parses `data` as a receiver does and as plain serde_json does; the two
/// must agree, and what parses must survive a write and a re-read.
fn round_trip<T>(data: &[u8]) -> Option<T>
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    let tracked = PayloadError::from_json::<T>(data);
    let plain = serde_json::from_slice::<T>(data);
    assert_eq!(
        tracked.is_ok(),
        plain.is_ok(),
        "{:?}",
        tracked.as_ref().err()
    );
    match tracked {
        Ok(value) => {
            let written = serde_json::to_vec(&value).expect("serializes");
            let again: T = serde_json::from_slice(&written).expect("re-reads what it wrote");
            assert_eq!(again, value);
            Some(value)
        }
        Err(err) => {
            // The message names a field or the position, never empty.
            assert!(!err.to_string().is_empty());
            None
        }
    }
}

fn event_round_trip<E: EventType>(text: &str) {
    let event = E::parse(text);
    assert_eq!(event.as_str(), text);
    assert_eq!(E::parse(event.as_str()), event);
    assert_eq!(event.is_known(), E::ALL.contains(&event));
}

fuzz_target!(|data: &[u8]| {
    if let Some(envelope) = round_trip::<Envelope>(data) {
        assert_eq!(
            envelope.event().as_str().is_empty(),
            envelope.event().to_string().is_empty()
        );
    }
    if let Some(envelope) = round_trip::<EventiumEnvelope>(data) {
        let _ = envelope.typed_data();
    }
    let _ = round_trip::<EventiumTestRequest>(data);

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    event_round_trip::<TitanEvent>(text);
    event_round_trip::<EventiumEvent>(text);
    event_round_trip::<TitanXEvent>(text);

    // A filter from a comma-separated list, with the first item as the
    // session; a catalog check for each item. Sixteen items are plenty to
    // reach every branch, and a check per item per catalog would otherwise
    // be most of each run.
    let mut items = text.split(',');
    let session = items.next();
    let events: Vec<&str> = items.take(16).collect();
    for catalog in [
        Catalog::titan(),
        Catalog::eventium(),
        Catalog::titanx(),
        Catalog::open("fuzz"),
    ] {
        for event in &events {
            if let Err(err) = catalog.check(event) {
                assert!(!err.to_string().is_empty());
            }
        }
    }
    if let Ok(filter) = EventFilter::<TitanEvent>::new(&events, session) {
        for event in filter.events() {
            assert!(event.is_known());
        }
    }
    let _ = EventFilter::<EventiumEvent>::new(&events, session);
    let _ = EventFilter::<TitanXEvent>::new(&events, session);

    if let Ok(timestamp) = text.parse::<Timestamp>() {
        let again: Timestamp = timestamp
            .to_string()
            .parse()
            .expect("re-reads what it wrote");
        assert_eq!(again, timestamp);
        assert_eq!(
            Timestamp::from_unix_seconds(timestamp.unix_seconds())
                .ok()
                .map(|t| t.unix_seconds()),
            Some(timestamp.unix_seconds())
        );
    }
});
