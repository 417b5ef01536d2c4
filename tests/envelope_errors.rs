//! Envelope and typed-event parse errors name the field that failed,
//! whichever entry point parses them.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use serde_json::json;
use titan_webhooks::{
    Envelope, EventiumEnvelope, PayloadError, QuotaThresholdReached, Scheme, Secret, Signer,
    Verifier, VerifyError,
};

const GOOD_TIMESTAMP: &str = "2025-01-15T10:30:00Z";

fn titan(id: &str, event: &str, session: &str, timestamp: &str) -> String {
    format!(
        r#"{{"id":{id},"event":{event},"session":{session},"timestamp":{timestamp},"payload":{{}}}}"#
    )
}

/// `(body, the start of serde_json's message)` for Titan envelopes.
fn titan_cases() -> Vec<(String, &'static str)> {
    let ts = format!("\"{GOOD_TIMESTAMP}\"");
    vec![
        (
            titan(
                r#""evt_1""#,
                r#""message.received""#,
                r#""s""#,
                r#""15/01/2025""#,
            ),
            "timestamp: not an RFC 3339 date-time",
        ),
        (
            titan(r#""evt_1""#, r#""message.received""#, "5", &ts),
            "session: invalid type: integer `5`, expected a string",
        ),
        (
            titan("7", r#""message.received""#, r#""s""#, &ts),
            "id: invalid type: integer `7`, expected a string",
        ),
        (
            titan(r#""evt_1""#, r#"["message.received"]"#, r#""s""#, &ts),
            "event: invalid type: sequence, expected an event type string",
        ),
        (
            format!(r#"{{"id":"evt_1","session":"s","timestamp":{ts},"payload":{{}}}}"#),
            "missing field `event`",
        ),
        (
            format!(
                r#"{{"id":"a","id":"b","event":"x.y","session":"s","timestamp":{ts},"payload":{{}}}}"#
            ),
            "duplicate field `id`",
        ),
        (
            "null".to_owned(),
            "invalid type: null, expected struct Envelope",
        ),
    ]
}

#[test]
fn plain_serde_json_names_the_failing_envelope_field() {
    for (body, expected) in titan_cases() {
        let err = serde_json::from_slice::<Envelope>(body.as_bytes()).unwrap_err();
        let shown = err.to_string();
        assert!(shown.starts_with(expected), "{body}: {shown}");
        // One position, as serde_json reports it, not one per field level.
        assert_eq!(shown.matches(" at line ").count(), 1, "{shown}");
        // from_value goes through a different deserializer: same names.
        // (A `Value` keeps one of two duplicate keys, so that case is moot.)
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&body)
            && !expected.starts_with("duplicate")
        {
            let err = serde_json::from_value::<Envelope>(value).unwrap_err();
            assert!(err.to_string().starts_with(expected), "{body}: {err}");
        }
    }
}

#[test]
fn plain_serde_json_names_the_failing_eventium_field() {
    let cases = [
        (
            json!({"id": "e", "type": "webhook.test", "created_at": "yesterday", "data": {}}),
            "created_at: not an RFC 3339 date-time",
        ),
        (
            json!({"id": "e", "type": 3, "created_at": GOOD_TIMESTAMP, "data": {}}),
            "type: invalid type: integer `3`",
        ),
        (
            json!({"id": "e", "created_at": GOOD_TIMESTAMP, "data": {}}),
            "missing field `type`",
        ),
    ];
    for (body, expected) in cases {
        let text = body.to_string();
        let err = serde_json::from_str::<EventiumEnvelope>(&text).unwrap_err();
        assert!(err.to_string().starts_with(expected), "{text}: {err}");
    }

    let quota =
        r#"{"scope":"daily","threshold":"eighty","limit":10000,"count":8123,"plan":"builder"}"#;
    let err = serde_json::from_str::<QuotaThresholdReached>(quota).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("threshold: invalid type: string \"eighty\", expected u64"),
        "{err}"
    );
    // Nested typed envelopes name every level.
    let nested = format!(
        r#"{{"id":"e","type":"quota.threshold.reached","created_at":"{GOOD_TIMESTAMP}","data":{quota}}}"#
    );
    let err = serde_json::from_str::<EventiumEnvelope<QuotaThresholdReached>>(&nested).unwrap_err();
    assert!(
        err.to_string().starts_with("data: threshold: invalid type"),
        "{err}"
    );
}

#[test]
fn verified_payload_errors_name_the_field_once_and_quote_no_value() {
    let verifier = Verifier::new(Scheme::titan(), Secret::from_utf8("k").unwrap());
    let signer = Signer::new(Scheme::titan(), Secret::from_utf8("k").unwrap());
    let ts = format!("\"{GOOD_TIMESTAMP}\"");
    let cases = [
        (
            titan(
                r#""evt_1""#,
                r#""message.received""#,
                r#""s""#,
                r#""15/01/2025""#,
            ),
            "timestamp",
            "not an RFC 3339 date-time",
        ),
        (
            titan(r#""evt_1""#, r#""message.received""#, "4242", &ts),
            "session",
            "invalid type: integer, expected a string",
        ),
    ];
    for (body, path, message) in cases {
        let err = verifier
            .verify_json::<Envelope>(&signer.sign(body.as_bytes()), body.as_bytes())
            .unwrap_err();
        let VerifyError::InvalidPayload(payload) = &err else {
            panic!("{body}: {err}");
        };
        assert_eq!(payload.path(), path, "{err}");
        assert!(payload.message().starts_with(message), "{err}");
        assert!(!err.to_string().contains("4242"), "{err}");
    }

    // The nested field's name is kept where the path does not hold it.
    let value =
        json!({"scope": "daily", "threshold": "secret-80", "limit": 1, "count": 1, "plan": "p"});
    let err = PayloadError::from_value::<QuotaThresholdReached>(&value).unwrap_err();
    assert_eq!(err.path(), "threshold");
    assert_eq!(err.message(), "invalid type: string, expected u64");
}

#[test]
fn hand_written_deserialize_keeps_the_derived_behaviour() {
    // A missing optional payload is `None`, as derived code makes it.
    let body = format!(
        r#"{{"id":"evt_1","event":"chat.read","session":"s","timestamp":"{GOOD_TIMESTAMP}","extra":[1,{{"a":2}}]}}"#
    );
    let envelope: Envelope<Option<u8>> = serde_json::from_str(&body).unwrap();
    assert_eq!(envelope.payload(), &None);
    assert_eq!(envelope.id(), "evt_1");
    // Escaped keys are keys too.
    let escaped = format!(
        r#"{{"\u0069d":"evt_2","event":"chat.read","session":"s","timestamp":"{GOOD_TIMESTAMP}","payload":1}}"#
    );
    let envelope: Envelope<u8> = serde_json::from_str(&escaped).unwrap();
    assert_eq!((envelope.id(), *envelope.payload()), ("evt_2", 1));
    // The sequence form derived code accepts.
    let seq = format!(r#"["evt_3","chat.read","s","{GOOD_TIMESTAMP}",null]"#);
    let envelope: Envelope<()> = serde_json::from_str(&seq).unwrap();
    assert_eq!(envelope.id(), "evt_3");
    let short = serde_json::from_str::<Envelope<()>>(r#"["evt_3","chat.read"]"#).unwrap_err();
    assert!(
        short
            .to_string()
            .starts_with("invalid length 2, expected struct Envelope"),
        "{short}"
    );
}
