//! Envelopes, event catalogs and the subscription filter.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use proptest::prelude::*;
use serde_json::Value;
use titan_webhooks::{
    Envelope, EventFilter, EventType, EventiumCategory, EventiumData, EventiumEnvelope,
    EventiumEvent, EventiumTestRequest, FilterError, Scheme, Secret, Signer, TitanCategory,
    TitanEvent, TitanXCategory, TitanXEvent, Verifier, VerifyError,
};

/// Parses `fixture` into `T`, writes it back, and checks the JSON is the same.
fn assert_round_trips<T>(fixture: &str)
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let original: Value = serde_json::from_str(fixture).unwrap();
    let typed: T = serde_json::from_str(fixture).unwrap();
    let written: Value = serde_json::to_value(&typed).unwrap();
    assert_eq!(written, original);
}

#[test]
fn seed_json_examples_round_trip_through_the_typed_envelopes() {
    assert_round_trips::<Envelope>(include_str!("data/seeds/titan_envelope.json"));
    assert_round_trips::<EventiumEnvelope>(include_str!("data/seeds/eventium_envelope.json"));
    assert_round_trips::<EventiumTestRequest>(include_str!(
        "data/seeds/eventium_test_request.json"
    ));

    let titan: Envelope =
        serde_json::from_str(include_str!("data/seeds/titan_envelope.json")).unwrap();
    assert_eq!(titan.id(), "evt_abc123");
    assert_eq!(titan.event(), &TitanEvent::MessageReceived);
    assert_eq!(titan.session(), "my-session");
    assert_eq!(titan.timestamp().unix_seconds(), 1_736_937_000);
}

#[test]
fn the_seed_eventium_example_types_its_quota_data() {
    let envelope: EventiumEnvelope =
        serde_json::from_str(include_str!("data/seeds/eventium_envelope.json")).unwrap();
    let EventiumData::QuotaThresholdReached(quota) = envelope.typed_data() else {
        panic!("quota.threshold.reached should be typed");
    };
    assert_eq!(
        (
            quota.scope.as_str(),
            quota.threshold,
            quota.limit,
            quota.count,
            quota.plan.as_str()
        ),
        ("daily", 80, 10_000, 8_123, "builder")
    );
}

#[test]
fn untyped_and_unknown_eventium_events_keep_their_raw_data() {
    for event in ["agent.deployment.created", "billing.invoice.paid"] {
        let envelope: EventiumEnvelope = serde_json::from_value(serde_json::json!({
            "id": "0c3b1d5b-1d66-4a16-b2b5-7aa3c2c9b5ab",
            "type": event,
            "created_at": "2026-05-26T09:14:02Z",
            "data": {"anything": [1, 2, 3]}
        }))
        .unwrap();
        assert_eq!(envelope.event().as_str(), event);
        match envelope.typed_data() {
            EventiumData::Untyped(raw) => assert_eq!(raw["anything"][2], 3),
            other => panic!("{event}: {other:?}"),
        }
    }
}

#[test]
fn catalogs_hold_exactly_the_documented_types() {
    let titan: Vec<&str> = TitanEvent::ALL.iter().map(TitanEvent::as_str).collect();
    assert_eq!(titan.len(), 31);
    assert_eq!(titan.first(), Some(&"message.received"));
    assert_eq!(titan.last(), Some(&"command.result"));
    let eventium: Vec<&str> = EventiumEvent::ALL
        .iter()
        .map(EventiumEvent::as_str)
        .collect();
    assert_eq!(
        eventium,
        [
            "billing.plan.changed",
            "quota.threshold.reached",
            "quota.request.rejected",
            "agent.deployment.created",
            "agent.deployment.updated",
            "agent.deployment.deleted",
            "webhook.endpoint.created",
            "webhook.endpoint.updated",
            "webhook.endpoint.deleted",
            "webhook.test",
        ]
    );
    let titanx: Vec<&str> = TitanXEvent::ALL.iter().map(TitanXEvent::as_str).collect();
    assert_eq!(titanx, ["job.contact.scored", "job.completed"]);
}

fn assert_catalog_round_trips<E>()
where
    E: EventType + serde::Serialize + serde::de::DeserializeOwned + std::str::FromStr,
    <E as std::str::FromStr>::Err: std::fmt::Debug,
{
    let mut seen = std::collections::BTreeSet::new();
    for event in E::ALL {
        let text = event.as_str();
        assert!(seen.insert(text), "{text} is listed twice");
        assert_eq!(&text.parse::<E>().unwrap(), event);
        assert_eq!(event.to_string(), text);
        let json = serde_json::to_string(event).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(&serde_json::from_str::<E>(&json).unwrap(), event);
        assert!(event.is_known());
    }
}

#[test]
fn every_catalog_string_round_trips() {
    assert_catalog_round_trips::<TitanEvent>();
    assert_catalog_round_trips::<EventiumEvent>();
    assert_catalog_round_trips::<TitanXEvent>();
}

#[test]
fn every_titan_category_has_events_and_matches_the_prefix() {
    for category in TitanCategory::ALL {
        let events: Vec<_> = TitanEvent::ALL
            .iter()
            .filter(|e| e.category() == Some(*category))
            .collect();
        assert!(!events.is_empty(), "{category} has no events");
        for event in events {
            assert!(
                event.as_str().starts_with(&format!("{category}.")),
                "{event}"
            );
        }
    }
    assert_eq!(TitanCategory::ALL.len(), 12);
    assert_eq!(
        TitanXEvent::JobCompleted.category(),
        Some(TitanXCategory::Job)
    );
    assert_eq!(
        EventiumEvent::from("webhook.endpoint.rotated").category(),
        Some(EventiumCategory::WebhookLifecycle)
    );
}

#[test]
fn an_unknown_event_keeps_its_exact_string() {
    for text in [
        "message.pinned",
        "MESSAGE.RECEIVED",
        " message.received",
        "",
        "émoji.🎉",
        "a\"b",
    ] {
        let event: TitanEvent = serde_json::from_value(Value::String(text.into())).unwrap();
        assert!(!event.is_known(), "{text:?}");
        assert_eq!(event.as_str(), text);
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            Value::String(text.into())
        );
    }
}

#[test]
fn an_envelope_with_an_unknown_event_still_verifies_and_parses() {
    let body = br#"{"id":"evt_1","event":"message.pinned","session":"s","timestamp":"2025-01-15T10:30:00Z","payload":{"pinned":true}}"#;
    let secret = || Secret::from_utf8("k").unwrap();
    let headers = Signer::new(Scheme::titan(), secret()).sign(body);
    let envelope = Verifier::new(Scheme::titan(), secret())
        .verify_json::<Envelope>(&headers, body)
        .unwrap();
    assert_eq!(envelope.event().as_str(), "message.pinned");
    assert_eq!(envelope.event().category(), Some(TitanCategory::Message));
    assert_eq!(envelope.payload()["pinned"], true);
}

#[test]
fn malformed_envelopes_name_the_field() {
    let secret = || Secret::from_utf8("k").unwrap();
    let signer = Signer::new(Scheme::titan(), secret());
    let verifier = Verifier::new(Scheme::titan(), secret());
    let cases = [
        (
            r#"{"event":"message.received","session":"s","timestamp":"2025-01-15T10:30:00Z","payload":{}}"#,
            "`id`",
        ),
        (
            r#"{"id":"evt_1","event":"message.received","session":"s","timestamp":"15/01/2025","payload":{}}"#,
            "timestamp",
        ),
        (
            r#"{"id":"evt_1","event":"message.received","session":5,"timestamp":"2025-01-15T10:30:00Z","payload":{}}"#,
            "session",
        ),
        (
            r#"{"id":"evt_1","event":["message.received"],"session":"s","timestamp":"2025-01-15T10:30:00Z","payload":{}}"#,
            "event",
        ),
        ("null", "struct Envelope"),
    ];
    for (body, field) in cases {
        let headers = signer.sign(body.as_bytes());
        let err = verifier
            .verify_json::<Envelope>(&headers, body.as_bytes())
            .unwrap_err();
        let VerifyError::InvalidPayload(payload) = &err else {
            panic!("{body}: {err}");
        };
        let shown = format!("{} {}", payload.path(), payload.message());
        assert!(shown.contains(field.trim_matches('`')), "{body}: {shown}");
        assert_eq!(err.code(), "invalid_payload");
    }
}

#[test]
fn a_sender_envelope_round_trips_through_sign_and_verify() {
    let envelope = Envelope::new(
        TitanEvent::GroupParticipant,
        "default",
        serde_json::json!({"group": "g1", "action": "add"}),
    );
    let body = serde_json::to_vec(&envelope).unwrap();
    let secret = || Secret::from_utf8("k").unwrap();
    let headers = Signer::new(Scheme::eventium(), secret()).sign(&body);
    let received = Verifier::new(Scheme::eventium(), secret())
        .verify_json::<Envelope>(&headers, &body)
        .unwrap();
    assert_eq!(*received, envelope);
    // `Verified` must not shadow the envelope's own accessors.
    let sent_at: &titan_webhooks::Timestamp = received.timestamp();
    assert_eq!(sent_at, envelope.timestamp());
    assert!(received.signed_timestamp().is_some());
    assert!(!envelope.id().contains('.'));
    assert!(
        !envelope.timestamp().to_string().contains('.'),
        "whole seconds"
    );
}

#[test]
fn filters_follow_the_seeds_subscription_rule() {
    let all_by_empty = EventFilter::<TitanEvent>::new(Vec::<&str>::new(), None).unwrap();
    let all_by_star = EventFilter::<TitanEvent>::new(["*"], None).unwrap();
    for filter in [&all_by_empty, &all_by_star, &EventFilter::all()] {
        for event in TitanEvent::ALL {
            assert!(filter.matches(event, "any"));
        }
        assert!(filter.matches(&TitanEvent::from("brand.new"), "any"));
    }

    let some = EventFilter::<TitanEvent>::new(
        ["message.received", "session.status", "message.received"],
        None,
    )
    .unwrap();
    assert_eq!(
        some.events(),
        [TitanEvent::MessageReceived, TitanEvent::SessionStatus]
    );
    assert!(some.matches(&TitanEvent::SessionStatus, "a"));
    assert!(!some.matches(&TitanEvent::SessionQr, "a"));
    assert!(!some.matches(&TitanEvent::from("brand.new"), "a"));

    let session_only = EventFilter::<TitanEvent>::new(["*"], Some("default")).unwrap();
    assert!(session_only.matches(&TitanEvent::CallMissed, "default"));
    assert!(!session_only.matches(&TitanEvent::CallMissed, "Default"));
}

#[test]
fn filter_errors_suggest_only_close_names() {
    let err = EventFilter::<TitanEvent>::new(["session.status", "sesion.qr"], None).unwrap_err();
    assert_eq!(
        err,
        FilterError::UnknownEvent {
            event: "sesion.qr".into(),
            suggestion: Some("session.qr")
        }
    );
    let err = EventFilter::<TitanEvent>::new(["invoice.paid"], None).unwrap_err();
    assert_eq!(
        err,
        FilterError::UnknownEvent {
            event: "invoice.paid".into(),
            suggestion: None
        }
    );
    assert_eq!(err.to_string(), "unknown event type `invoice.paid`");
    let err = EventFilter::<EventiumEvent>::new(["quota.treshold.reached"], None).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("did you mean `quota.threshold.reached`?"),
        "{err}"
    );
}

proptest! {
    #[test]
    fn any_event_string_round_trips(text in "\\PC{0,40}") {
        let event: TitanEvent = text.parse().unwrap();
        prop_assert_eq!(event.as_str(), text.as_str());
        let json = serde_json::to_string(&event).unwrap();
        let back: TitanEvent = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, event);
    }

    #[test]
    fn any_envelope_round_trips(
        event in "[a-z._]{1,30}",
        session in "\\PC{0,30}",
        seconds in 0i64..253_402_300_799,
        text in "\\PC{0,60}",
    ) {
        let envelope = Envelope::new(TitanEvent::from(event.as_str()), session, serde_json::json!({"text": text}))
            .with_timestamp(titan_webhooks::Timestamp::from_unix_seconds(seconds).unwrap());
        let json = serde_json::to_vec(&envelope).unwrap();
        let back: Envelope = serde_json::from_slice(&json).unwrap();
        prop_assert_eq!(back, envelope);
    }

    #[test]
    fn filters_never_accept_unknown_names(text in "[a-z._*]{0,25}") {
        match EventFilter::<TitanEvent>::new([text.as_str()], None) {
            Ok(filter) => prop_assert!(text == "*" || TitanEvent::from(text.as_str()).is_known() && filter.events().len() == 1),
            Err(FilterError::UnknownEvent { event, suggestion }) => {
                prop_assert_eq!(event, text);
                if let Some(known) = suggestion {
                    prop_assert!(TitanEvent::from(known).is_known());
                }
            }
            Err(other) => prop_assert!(false, "{other}"),
        }
    }
}
