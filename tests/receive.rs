//! Receiving: the axum extractor and idempotent handling, end to end with the
//! Dispatcher over 127.0.0.1.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, State};
use axum::http::{Request, StatusCode};
use axum::routing::post;
use titan_webhooks::queue::{MemoryStore, Subscription, SubscriptionRegistry};
use titan_webhooks::receiver::{
    IdempotencyLayer, MemoryIdempotencyStore, ReceiveError, Receiver, VerifiedWebhook,
};
use titan_webhooks::retry::RetrySchedule;
use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
use titan_webhooks::transport::Dispatcher;
use titan_webhooks::{Envelope, Scheme, Secret, Signer, TitanEvent, UrlGuard, Verifier};
use tower::ServiceExt as _;

fn local_guard() -> UrlGuard {
    UrlGuard::new()
        .allow_loopback_for_testing()
        .allow_http_for_testing()
}

/// The state of one receiving route: its receiver, and what it accepted.
#[derive(Clone)]
struct Hook {
    receiver: Arc<Receiver>,
    accepted: Arc<Mutex<Vec<Envelope>>>,
}

impl FromRef<Hook> for Arc<Receiver> {
    fn from_ref(hook: &Hook) -> Self {
        Arc::clone(&hook.receiver)
    }
}

async fn accept(State(hook): State<Hook>, webhook: VerifiedWebhook<Envelope>) -> StatusCode {
    hook.accepted.lock().unwrap().push(webhook.into_inner());
    StatusCode::NO_CONTENT
}

fn route(path: &str, receiver: Receiver) -> (Router, Arc<Mutex<Vec<Envelope>>>) {
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let hook = Hook {
        receiver: Arc::new(receiver),
        accepted: Arc::clone(&accepted),
    };
    (
        Router::new()
            .route(path, post(accept))
            .layer(IdempotencyLayer::new())
            .with_state(hook),
        accepted,
    )
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn presets() -> Vec<Scheme> {
    vec![
        Scheme::titan(),
        Scheme::titanx(),
        Scheme::eventium(),
        Scheme::github(),
        Scheme::stripe(),
        Scheme::standard_webhooks(),
    ]
}

async fn wait_for(accepted: &Mutex<Vec<Envelope>>, count: usize) {
    tokio::time::timeout(Duration::from_secs(20), async {
        while accepted.lock().unwrap().len() < count {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the deliveries arrive");
}

#[tokio::test]
async fn every_scheme_end_to_end_from_dispatcher_to_extractor() {
    let registry = Arc::new(SubscriptionRegistry::new());
    let mut app = Router::new();
    let mut logs = Vec::new();
    // Bind first, so the webhooks can carry the address.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    for (id, scheme) in presets().into_iter().enumerate() {
        let path = format!("/{}", scheme.name());
        let created = WebhookRules::with_scheme(local_guard(), scheme.clone())
            .create(
                (id as u64).into(),
                CreateWebhook::new(format!("{base}{path}")),
            )
            .unwrap();
        // The receiver is configured from what the create response showed.
        let receiving_key = scheme
            .secret_encoding()
            .parse(created.hmac_key().expose())
            .unwrap();
        let receiver = Receiver::new(Verifier::new(scheme.clone(), receiving_key))
            .with_idempotency(MemoryIdempotencyStore::new());
        let (router, accepted) = route(&path, receiver);
        app = app.merge(router);
        logs.push((scheme.name().to_owned(), accepted));
        let (webhook, secret) = created.into_parts();
        registry.upsert(
            Subscription::new(webhook, scheme, secret)
                .with_schedule(RetrySchedule::explicit([]).unwrap()),
        );
    }
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dispatcher = Dispatcher::builder(MemoryStore::new(), registry)
        .guard(local_guard())
        .build()
        .unwrap();
    let running = dispatcher.start();
    let sent = Envelope::new(
        TitanEvent::MessageReceived,
        "default",
        serde_json::json!({"text": "héllo 👋"}),
    );
    assert_eq!(dispatcher.dispatch(&sent).await.unwrap().queued().len(), 6);

    let expected: Envelope = serde_json::from_value(serde_json::to_value(&sent).unwrap()).unwrap();
    for (name, accepted) in &logs {
        wait_for(accepted, 1).await;
        assert_eq!(accepted.lock().unwrap()[0], expected, "{name}");
    }
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// Posts `body` with `headers` and returns the status and JSON error code.
async fn post_raw(url: &str, headers: http::HeaderMap, body: Vec<u8>) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .post(url)
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let code = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|json| {
            json["error"]
                .as_str()
                .or(json["status"].as_str())
                .map(str::to_owned)
        })
        .unwrap_or(text);
    (status, code)
}

fn titan_body() -> Vec<u8> {
    serde_json::to_vec(&Envelope::new(
        TitanEvent::ChatRead,
        "default",
        serde_json::json!({}),
    ))
    .unwrap()
}

#[tokio::test]
async fn bad_deliveries_are_refused_with_the_right_status_and_code() {
    let secret = || Secret::from_utf8("the-right-key").unwrap();
    let (titan, _) = route(
        "/titan",
        Receiver::new(Verifier::new(Scheme::titan(), secret()))
            .with_idempotency(MemoryIdempotencyStore::new())
            .with_body_limit(4096),
    );
    let (eventium, _) = route(
        "/eventium",
        Receiver::new(Verifier::new(Scheme::eventium(), secret()))
            .with_idempotency(MemoryIdempotencyStore::new()),
    );
    let base = serve(titan.merge(eventium)).await;
    let titan_url = format!("{base}/titan");
    let signer = Signer::new(Scheme::titan(), secret());

    let body = titan_body();
    let headers = signer.sign(&body);
    let expected_signature = headers["x-webhook-signature"].to_str().unwrap().to_owned();

    let mut tampered = body.clone();
    tampered[2] ^= 1;
    let wrong_key =
        Signer::new(Scheme::titan(), Secret::from_utf8("a-wrong-key").unwrap()).sign(&body);
    let stale_headers = Signer::new(Scheme::eventium(), secret())
        .sign_at("unused", titan_webhooks_now() - 3600, &body)
        .unwrap();
    let oversized = vec![b' '; 5000];
    let malformed = b"{\"not\": \"an envelope\"}".to_vec();

    let cases = [
        (
            titan_url.clone(),
            signer.sign(&body),
            tampered,
            StatusCode::UNAUTHORIZED,
            "signature_mismatch",
        ),
        (
            titan_url.clone(),
            wrong_key,
            body.clone(),
            StatusCode::UNAUTHORIZED,
            "signature_mismatch",
        ),
        (
            format!("{base}/eventium"),
            stale_headers,
            body.clone(),
            StatusCode::UNAUTHORIZED,
            "timestamp_out_of_tolerance",
        ),
        (
            titan_url.clone(),
            http::HeaderMap::new(),
            body.clone(),
            StatusCode::UNAUTHORIZED,
            "missing_header",
        ),
        (
            titan_url.clone(),
            signer.sign(&oversized),
            oversized,
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
        (
            titan_url.clone(),
            signer.sign(&malformed),
            malformed,
            StatusCode::BAD_REQUEST,
            "invalid_payload",
        ),
    ];
    for (url, headers, body, status, code) in cases {
        let (got_status, got_code) = post_raw(&url, headers, body).await;
        assert_eq!((got_status, got_code.as_str()), (status, code));
        assert!(!got_code.contains(&expected_signature));
    }

    // The genuine delivery is handled once; the same request again is a
    // duplicate, answered 200 so the sender stops.
    assert_eq!(
        post_raw(&titan_url, headers.clone(), body.clone()).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        post_raw(&titan_url, headers, body).await,
        (StatusCode::OK, "duplicate".to_owned())
    );
}

fn titan_webhooks_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_receiver_holding_the_old_and_new_secrets_accepts_both() {
    let old = || Secret::from_utf8("old-key").unwrap();
    let new = || Secret::from_utf8("new-key").unwrap();
    let (app, accepted) = route(
        "/hook",
        Receiver::new(Verifier::new(Scheme::eventium(), old()).with_secret(new())),
    );
    let url = format!("{}/hook", serve(app).await);
    for key in [old(), new()] {
        let body = titan_body();
        let headers = Signer::new(Scheme::eventium(), key).sign(&body);
        assert_eq!(
            post_raw(&url, headers, body).await.0,
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(accepted.lock().unwrap().len(), 2);
    let body = titan_body();
    let headers = Signer::new(
        Scheme::eventium(),
        Secret::from_utf8("retired-key").unwrap(),
    )
    .sign(&body);
    assert_eq!(
        post_raw(&url, headers, body).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn every_scheme_refuses_tampering_wrong_keys_staleness_and_replays_and_rotates() {
    let old = || Secret::from_utf8("the-old-key-0123456789").unwrap();
    let new = || Secret::from_utf8("the-new-key-0123456789").unwrap();
    let mut app = Router::new();
    let mut logs = Vec::new();
    for scheme in presets() {
        let path = format!("/{}", scheme.name());
        let receiver = Receiver::new(Verifier::new(scheme.clone(), old()).with_secret(new()))
            .with_idempotency(MemoryIdempotencyStore::new());
        let (router, accepted) = route(&path, receiver);
        app = app.merge(router);
        logs.push((scheme, path, accepted));
    }
    let base = serve(app).await;
    let mut stale_checked = 0;

    for (scheme, path, accepted) in &logs {
        let url = format!("{base}{path}");
        let name = scheme.name();
        let sign = |key: Secret, body: &[u8]| Signer::new(scheme.clone(), key).sign(body);
        let refused = |status, code: &str| (status, code.to_owned());

        let body = titan_body();
        let genuine = sign(old(), &body);
        assert_eq!(
            post_raw(&url, genuine.clone(), body.clone()).await.0,
            StatusCode::NO_CONTENT,
            "{name}: signed with the old key"
        );
        assert_eq!(
            post_raw(&url, genuine, body).await,
            refused(StatusCode::OK, "duplicate"),
            "{name}: the same delivery again"
        );
        let body = titan_body();
        assert_eq!(
            post_raw(&url, sign(new(), &body), body).await.0,
            StatusCode::NO_CONTENT,
            "{name}: signed with the new key"
        );

        let body = titan_body();
        let headers = sign(old(), &body);
        let mut tampered = body;
        tampered[2] ^= 1;
        assert_eq!(
            post_raw(&url, headers, tampered).await,
            refused(StatusCode::UNAUTHORIZED, "signature_mismatch"),
            "{name}: a tampered body"
        );
        let body = titan_body();
        let wrong = sign(Secret::from_utf8("a-wrong-key-0123456789").unwrap(), &body);
        assert_eq!(
            post_raw(&url, wrong, body).await,
            refused(StatusCode::UNAUTHORIZED, "signature_mismatch"),
            "{name}: a wrong key"
        );
        if scheme.is_timestamped() {
            let body = titan_body();
            let stale = Signer::new(scheme.clone(), old())
                .sign_at("msg_stale", titan_webhooks_now() - 3600, &body)
                .unwrap();
            assert_eq!(
                post_raw(&url, stale, body).await,
                refused(StatusCode::UNAUTHORIZED, "timestamp_out_of_tolerance"),
                "{name}: an hour old"
            );
            stale_checked += 1;
        }
        assert_eq!(accepted.lock().unwrap().len(), 2, "{name}");
    }
    assert_eq!(stale_checked, 3, "Eventium, Stripe and Standard Webhooks");
}

#[tokio::test]
async fn the_extractor_drives_a_router_with_oneshot() {
    let (app, accepted) = route(
        "/hook",
        Receiver::new(Verifier::new(
            Scheme::github(),
            Secret::from_utf8("It's a Secret to Everybody").unwrap(),
        )),
    );
    let body = titan_body();
    let headers = Signer::new(
        Scheme::github(),
        Secret::from_utf8("It's a Secret to Everybody").unwrap(),
    )
    .sign(&body);
    let mut request = Request::post("/hook")
        .body(Body::from(body.clone()))
        .unwrap();
    *request.headers_mut() = headers;
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(accepted.lock().unwrap().len(), 1);

    let unsigned = Request::post("/hook").body(Body::from(body)).unwrap();
    let response = app.oneshot(unsigned).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["content-type"], "application/json");
    let bytes = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .unwrap();
    assert_eq!(&bytes[..], br#"{"error":"missing_header"}"#);
}

#[tokio::test]
async fn replay_keys_use_the_signed_id_then_the_envelope_id_then_the_signature() {
    let request = |scheme: Scheme, key: &Secret, body: &[u8]| {
        let mut request = http::Request::new(body.to_vec());
        *request.headers_mut() = Signer::new(scheme, key.clone_secret()).sign(body);
        request
    };
    let key = Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();

    let standard = Receiver::new(Verifier::new(
        Scheme::standard_webhooks(),
        key.clone_secret(),
    ));
    let received = standard
        .receive(&request(Scheme::standard_webhooks(), &key, b"{}"))
        .await
        .unwrap();
    assert!(
        received
            .replay_key()
            .as_str()
            .starts_with("standard-webhooks:id:msg_")
    );

    let titan = Receiver::new(Verifier::new(Scheme::titan(), key.clone_secret()));
    let received = titan
        .receive(&request(Scheme::titan(), &key, br#"{"id":"evt_9"}"#))
        .await
        .unwrap();
    assert_eq!(received.replay_key().as_str(), "titan:id:evt_9");

    // GitHub signs no id and no timestamp, and this body has no `id`: the
    // signature identifies the request, so a replay has the same key.
    let github = Receiver::new(Verifier::new(Scheme::github(), key.clone_secret()))
        .with_idempotency(MemoryIdempotencyStore::new());
    let replayed = request(
        Scheme::github(),
        &key,
        br#"{"zen":"Keep it logically awesome."}"#,
    );
    let first = github.receive(&replayed).await.unwrap();
    assert!(first.replay_key().as_str().starts_with("github:sig:"));
    let mut first = first;
    first.take_reservation().unwrap().complete().await.unwrap();
    assert_eq!(
        github.receive(&replayed).await.unwrap_err().code(),
        "duplicate"
    );
}

#[tokio::test]
async fn a_released_reservation_lets_the_retry_through_and_a_completed_one_does_not() {
    let receiver = Receiver::new(Verifier::new(
        Scheme::titan(),
        Secret::from_utf8("k").unwrap(),
    ))
    .with_idempotency(MemoryIdempotencyStore::new());
    let body = titan_body();
    let mut request = http::Request::new(body.clone());
    *request.headers_mut() =
        Signer::new(Scheme::titan(), Secret::from_utf8("k").unwrap()).sign(&body);

    let mut received = receiver
        .receive_json::<Envelope, _>(&request)
        .await
        .unwrap();
    let reservation = received.take_reservation().unwrap();
    assert!(received.take_reservation().is_none(), "taken once");
    // While the first is being handled, a duplicate is told to come back.
    match receiver.receive_json::<Envelope, _>(&request).await {
        Err(ReceiveError::InProgress { retry_after }) => {
            assert!(retry_after > Duration::from_secs(50), "{retry_after:?}")
        }
        other => panic!("expected in_progress, got {other:?}"),
    }
    // The handler failed: release, so the sender's retry is handled.
    reservation.release().await.unwrap();
    let mut retried = receiver
        .receive_json::<Envelope, _>(&request)
        .await
        .unwrap();
    retried
        .take_reservation()
        .unwrap()
        .complete()
        .await
        .unwrap();
    let duplicate = receiver
        .receive_json::<Envelope, _>(&request)
        .await
        .unwrap_err();
    assert_eq!(
        (duplicate.status(), duplicate.code()),
        (StatusCode::OK, "duplicate")
    );
}
