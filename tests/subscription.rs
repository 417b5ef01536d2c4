//! The subscription model: the seeds' webhook objects, validation, updates,
//! and keys that never leak.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;
use titan_webhooks::retry::RetryPolicy;
use titan_webhooks::subscription::{
    CreateTitanXWebhook, CreateWebhook, CustomHeader, HmacKey, MAX_CUSTOM_HEADERS,
    MAX_HEADER_VALUE_LEN, MAX_HEADERS_LEN, MAX_LABEL_LEN, TitanXWebhook, UpdateWebhook,
    ValidationError, Webhook, WebhookRules,
};
use titan_webhooks::{Envelope, FilterError, Scheme, SecretError, TitanEvent, UrlGuard};

/// The `{ "data": … }` wrapper of Titan's API responses.
#[derive(Serialize, Deserialize)]
struct Data<T> {
    data: T,
}

/// Titan's create response: the webhook object plus `hmacKey`.
#[derive(Serialize, Deserialize)]
struct CreateResponse {
    #[serde(flatten)]
    webhook: Webhook,
    #[serde(rename = "hmacKey")]
    hmac_key: HmacKey,
}

fn assert_round_trips<T: DeserializeOwned + Serialize>(fixture: &str) -> T {
    let original: Value = serde_json::from_str(fixture).unwrap();
    let typed: T = serde_json::from_str(fixture).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), original);
    typed
}

fn rules() -> WebhookRules {
    WebhookRules::new(UrlGuard::new())
}

#[test]
fn every_seed_subscription_example_round_trips() {
    assert_round_trips::<CreateWebhook>(include_str!("data/seeds/titan_create_request.json"));
    assert_round_trips::<CreateWebhook>(include_str!("data/seeds/titan_create_request_full.json"));
    assert_round_trips::<Vec<CustomHeader>>(include_str!("data/seeds/titan_custom_headers.json"));
    assert_round_trips::<RetryPolicy>(include_str!("data/seeds/titan_retries.json"));
    assert_round_trips::<UpdateWebhook>(include_str!("data/seeds/titan_disable_request.json"));
    assert_round_trips::<UpdateWebhook>(include_str!("data/seeds/titan_update_request.json"));
    assert_round_trips::<Data<CreateResponse>>(include_str!(
        "data/seeds/titan_create_response.json"
    ));
    let list = assert_round_trips::<Data<Vec<Webhook>>>(include_str!(
        "data/seeds/titan_list_response.json"
    ));
    assert_eq!(list.data[0].id().to_string(), "42");
    assert_eq!(list.data[0].filter().events(), ["message.received"]);
    assert_round_trips::<CreateTitanXWebhook>(include_str!(
        "data/seeds/titanx_create_request.json"
    ));
    assert_round_trips::<TitanXWebhook>(include_str!("data/seeds/titanx_create_response.json"));
}

#[test]
fn creating_from_the_seed_request_gives_the_seed_response() {
    let request: CreateWebhook =
        serde_json::from_str(include_str!("data/seeds/titan_create_request_full.json")).unwrap();
    let created = rules().create(42.into(), request).unwrap();
    let mut produced = serde_json::to_value(Data { data: &created }).unwrap();
    let mut expected: Value =
        serde_json::from_str(include_str!("data/seeds/titan_create_response.json")).unwrap();
    // Only the creation time differs.
    produced["data"]["createdAt"] = Value::Null;
    expected["data"]["createdAt"] = Value::Null;
    assert_eq!(produced, expected);
    assert_eq!(created.secret().expose_bytes(), b"your-secret-signing-key");
}

#[test]
fn the_key_appears_in_the_create_response_and_nowhere_else() {
    let mut request = CreateWebhook::new("https://example.com/hook");
    request.headers = Some(vec![CustomHeader::new("X-Secret", "header-credential")]);
    let created = rules().create(7.into(), request).unwrap();
    let key = created.hmac_key().expose().to_owned();
    assert_eq!(key.len(), 43, "generated from 256 random bits");
    assert_eq!(created.secret().expose_bytes(), key.as_bytes());

    let response = serde_json::to_string(&created).unwrap();
    assert!(
        response.contains(&key),
        "shown once, in the create response"
    );

    let mut update = UpdateWebhook::default();
    update.label = Some(Some("renamed".into()));
    update.hmac_key = Some(HmacKey::new("rotated-key-value"));
    let updated = rules().update(created.webhook(), update).unwrap();

    let webhook = updated.webhook();
    let shown = [
        serde_json::to_string(created.webhook()).unwrap(),
        serde_json::to_string(webhook).unwrap(),
        format!("{created:?}"),
        format!("{updated:?}"),
        format!("{webhook:?}"),
        format!("{:?}", created.webhook().headers()),
    ];
    for text in shown {
        assert!(!text.contains(&key), "{text}");
        assert!(!text.contains("rotated-key-value"), "{text}");
    }
    for text in [format!("{created:?}"), format!("{webhook:?}")] {
        assert!(
            !text.contains("header-credential"),
            "Debug hides header values: {text}"
        );
    }
    assert_eq!(
        updated.new_secret().unwrap().expose_bytes(),
        b"rotated-key-value"
    );
}

#[test]
fn updates_change_only_the_fields_present() {
    let mut request = CreateWebhook::new("https://example.com/a");
    request.events = Some(vec!["message.received".into()]);
    request.session = Some("default".into());
    request.headers = Some(vec![
        CustomHeader::new("X-One", "1"),
        CustomHeader::new("X-Two", "2"),
    ]);
    request.label = Some("first".into());
    request.retries = Some(RetryPolicy::default());
    let webhook = rules().create(1.into(), request).unwrap().into_webhook();

    let unchanged = rules().update(&webhook, UpdateWebhook::default()).unwrap();
    assert_eq!(unchanged.webhook(), &webhook);
    assert!(unchanged.new_secret().is_none());

    let update: UpdateWebhook = serde_json::from_str(
        r#"{"headers": [{"name": "X-Three", "value": "3"}], "session": null, "label": null}"#,
    )
    .unwrap();
    let updated = rules().update(&webhook, update).unwrap().into_webhook();
    let names: Vec<&str> = updated.headers().iter().map(CustomHeader::name).collect();
    assert_eq!(names, ["X-Three"], "headers replace the whole list");
    assert_eq!(updated.filter().session(), None, "null clears the session");
    assert_eq!(updated.label(), None, "null clears the label");
    assert_eq!(
        updated.filter().events(),
        ["message.received"],
        "events untouched"
    );
    assert_eq!(updated.url(), webhook.url());
    assert_eq!(updated.retries(), webhook.retries());
    assert_eq!(updated.created_at(), webhook.created_at());
    assert_eq!(updated.id(), webhook.id());

    let update: UpdateWebhook =
        serde_json::from_str(r#"{"events": ["*"], "enabled": false}"#).unwrap();
    let updated = rules().update(&webhook, update).unwrap().into_webhook();
    assert!(updated.filter().events().is_empty());
    assert_eq!(updated.filter().session(), Some("default"), "session kept");
    assert!(!updated.enabled());
    assert!(!updated.wants(&Envelope::new(TitanEvent::MessageReceived, "default", ())));
}

#[test]
fn a_failed_update_leaves_the_webhook_as_it_was() {
    let webhook = rules()
        .create(1.into(), CreateWebhook::new("https://example.com/a"))
        .unwrap()
        .into_webhook();
    let before = serde_json::to_value(&webhook).unwrap();
    let update: UpdateWebhook = serde_json::from_str(
        r#"{"label": "new", "enabled": false, "headers": [{"name": "Host", "value": "evil"}]}"#,
    )
    .unwrap();
    let err = rules().update(&webhook, update).unwrap_err();
    assert_eq!(err.field(), "headers");
    assert_eq!(serde_json::to_value(&webhook).unwrap(), before);
    assert!(webhook.enabled());
}

#[test]
fn wants_combines_enabled_events_and_session() {
    let mut request = CreateWebhook::new("https://example.com/");
    request.events = Some(vec!["message.received".into(), "session.status".into()]);
    request.session = Some("sales".into());
    let webhook = rules().create(1.into(), request).unwrap().into_webhook();
    let cases = [
        (TitanEvent::MessageReceived, "sales", true),
        (TitanEvent::SessionStatus, "sales", true),
        (TitanEvent::MessageReceived, "support", false),
        (TitanEvent::CallMissed, "sales", false),
        (TitanEvent::from("message.pinned"), "sales", false),
    ];
    for (event, session, wanted) in cases {
        let envelope = Envelope::new(event.clone(), session, ());
        assert_eq!(webhook.wants(&envelope), wanted, "{event} from {session}");
    }
}

#[test]
fn each_rule_names_its_field() {
    let cases: Vec<(CreateWebhook, &str, ValidationError)> = vec![
        {
            let mut r = CreateWebhook::new("https://example.com/");
            r.events = Some(vec!["sesion.status".into()]);
            (
                r,
                "events",
                ValidationError::Filter(FilterError::UnknownEvent {
                    event: "sesion.status".into(),
                    suggestion: Some("session.status"),
                }),
            )
        },
        {
            let mut r = CreateWebhook::new("https://example.com/");
            r.session = Some(String::new());
            (
                r,
                "session",
                ValidationError::Filter(FilterError::EmptySession),
            )
        },
        {
            let mut r = CreateWebhook::new("https://example.com/");
            r.hmac_key = Some(HmacKey::new(""));
            (r, "hmacKey", ValidationError::HmacKey(SecretError::Empty))
        },
        {
            let mut r = CreateWebhook::new("https://example.com/");
            r.headers = Some(
                (0..=MAX_CUSTOM_HEADERS)
                    .map(|i| CustomHeader::new(format!("X-H{i}"), "v"))
                    .collect(),
            );
            (
                r,
                "headers",
                ValidationError::TooManyHeaders { count: 11, max: 10 },
            )
        },
        {
            let mut r = CreateWebhook::new("https://example.com/");
            r.headers = Some(vec![
                CustomHeader::new("X-Ok", "v"),
                CustomHeader::new("Bad Name", "v"),
            ]);
            (
                r,
                "headers",
                ValidationError::InvalidHeaderName {
                    index: 1,
                    name: "Bad Name".into(),
                },
            )
        },
        {
            let mut r = CreateWebhook::new("https://example.com/");
            r.headers = Some(vec![CustomHeader::new("X-Injected", "a\r\nHost: evil")]);
            (
                r,
                "headers",
                ValidationError::InvalidHeaderValue {
                    index: 0,
                    name: "x-injected".into(),
                },
            )
        },
        {
            let mut r = CreateWebhook::new("https://example.com/");
            r.label = Some("é".repeat(MAX_LABEL_LEN + 1));
            (
                r,
                "label",
                ValidationError::LabelTooLong { len: 256, max: 255 },
            )
        },
    ];
    for (request, field, expected) in cases {
        let err = rules().create(1.into(), request).unwrap_err();
        assert_eq!(err, expected);
        assert_eq!(err.field(), field);
        assert!(err.to_string().starts_with(&format!("`{field}")), "{err}");
    }
}

#[test]
fn limits_are_inclusive() {
    let mut request = CreateWebhook::new("https://example.com/");
    request.headers = Some(
        (0..MAX_CUSTOM_HEADERS)
            .map(|i| CustomHeader::new(format!("X-H{i}"), "v"))
            .collect(),
    );
    request.label = Some("é".repeat(MAX_LABEL_LEN));
    assert!(rules().create(1.into(), request).is_ok());
}

#[test]
fn header_values_and_their_total_are_capped() {
    let mut request = CreateWebhook::new("https://example.com/");
    request.headers = Some(vec![CustomHeader::new(
        "X-Big",
        "v".repeat(MAX_HEADER_VALUE_LEN + 1),
    )]);
    let err = rules().create(1.into(), request).unwrap_err();
    assert!(
        matches!(err, ValidationError::HeaderValueTooLong { index: 0, len, .. } if len == MAX_HEADER_VALUE_LEN + 1),
        "{err}"
    );
    assert!(!err.to_string().contains("vvvv"), "the value is not echoed");

    let mut request = CreateWebhook::new("https://example.com/");
    request.headers = Some(vec![CustomHeader::new(
        "X-Big",
        "v".repeat(MAX_HEADER_VALUE_LEN),
    )]);
    assert!(
        rules().create(1.into(), request).is_ok(),
        "the limit itself is allowed"
    );

    let mut request = CreateWebhook::new("https://example.com/");
    let count = MAX_HEADERS_LEN / MAX_HEADER_VALUE_LEN + 1;
    request.headers = Some(
        (0..count)
            .map(|i| CustomHeader::new(format!("X-H{i}"), "v".repeat(MAX_HEADER_VALUE_LEN)))
            .collect(),
    );
    let err = rules().create(1.into(), request).unwrap_err();
    assert!(
        matches!(err, ValidationError::HeadersTooLong { .. }),
        "{err}"
    );
    assert_eq!(err.field(), "headers");
}

#[test]
fn debug_hides_the_url_query_and_credentials() {
    // The guard refuses credentials in a URL; storage is read as it is.
    let webhook: Webhook = serde_json::from_value(serde_json::json!({
        "id": 1,
        "url": "https://user:pa55@example.com/hook?token=s3cret&x=1",
        "createdAt": "2025-01-15T10:30:00Z",
    }))
    .unwrap();
    let shown = format!("{webhook:?}");
    for hidden in ["s3cret", "pa55", "user", "token"] {
        assert!(!shown.contains(hidden), "{hidden} in {shown}");
    }
    assert!(shown.contains("https://example.com/hook?***"), "{shown}");
}

#[test]
fn reserved_headers_are_refused_in_any_case() {
    let reserved = [
        "Content-Type",
        "content-length",
        "TRANSFER-ENCODING",
        "Host",
        "Connection",
        "Keep-Alive",
        "Upgrade",
        "TE",
        "Trailer",
        "Proxy-Authorization",
        "Metadata",
        "Metadata-Flavor",
        "X-aws-ec2-metadata-token",
        "X-aws-ec2-metadata-token-ttl-seconds",
        "X-Webhook-Signature",
    ];
    for name in reserved {
        let mut request = CreateWebhook::new("https://example.com/");
        request.headers = Some(vec![CustomHeader::new(name, "v")]);
        let err = rules().create(1.into(), request).unwrap_err();
        assert!(
            matches!(err, ValidationError::ReservedHeader { index: 0, .. }),
            "{name}: {err}"
        );
    }
    // The scheme decides which signature headers are its own.
    let standard = WebhookRules::with_scheme(UrlGuard::new(), Scheme::standard_webhooks());
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut request = CreateWebhook::new("https://example.com/");
        request.headers = Some(vec![CustomHeader::new(name, "v")]);
        assert!(standard.create(1.into(), request).is_err(), "{name}");
    }
    let mut request = CreateWebhook::new("https://example.com/");
    request.headers = Some(vec![CustomHeader::new("X-Webhook-Signature", "v")]);
    assert!(
        standard.create(1.into(), request).is_ok(),
        "not Standard Webhooks' header"
    );
}

#[test]
fn urls_are_checked_by_the_guard_on_create_and_update() {
    for url in [
        "http://example.com/",
        "https://127.0.0.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://localhost/",
        "https://user:pass@example.com/",
        "not a url",
    ] {
        let err = rules()
            .create(1.into(), CreateWebhook::new(url))
            .unwrap_err();
        assert_eq!(err.field(), "url", "{url}: {err}");
        let webhook = rules()
            .create(1.into(), CreateWebhook::new("https://example.com/"))
            .unwrap()
            .into_webhook();
        let mut update = UpdateWebhook::default();
        update.url = Some(url.into());
        assert_eq!(
            rules().update(&webhook, update).unwrap_err().field(),
            "url",
            "{url}"
        );
    }
}

#[test]
fn generated_keys_take_the_schemes_secret_form() {
    let titan = rules()
        .create(1.into(), CreateWebhook::new("https://example.com/"))
        .unwrap();
    let shown = titan.hmac_key().expose().to_owned();
    assert_eq!(
        Scheme::titan()
            .secret_encoding()
            .parse(&shown)
            .unwrap()
            .expose_bytes(),
        titan.secret().expose_bytes()
    );

    let standard = WebhookRules::with_scheme(UrlGuard::new(), Scheme::standard_webhooks())
        .create(1.into(), CreateWebhook::new("https://example.com/"))
        .unwrap();
    let shown = standard.hmac_key().expose();
    assert!(shown.starts_with("whsec_"));
    assert_eq!(
        Scheme::standard_webhooks()
            .secret_encoding()
            .parse(shown)
            .unwrap()
            .expose_bytes(),
        standard.secret().expose_bytes()
    );
}

#[test]
fn stored_webhooks_keep_event_types_the_catalog_does_not_know() {
    let stored = r#"{"id":"wh_1","url":"https://example.com/","events":["message.pinned","message.received"],"session":null,"enabled":true,"createdAt":"2026-01-15T10:00:00Z"}"#;
    let webhook: Webhook = serde_json::from_str(stored).unwrap();
    assert_eq!(webhook.filter().events().len(), 2);
    assert!(webhook.wants(&Envelope::new(TitanEvent::from("message.pinned"), "s", ())));
    assert_eq!(
        serde_json::to_value(&webhook).unwrap(),
        serde_json::from_str::<Value>(stored).unwrap()
    );
}
