//! The typed client (feature `client`) against the crate's own management
//! API on 127.0.0.1, through every operation; against a stub that answers
//! exactly the seeds' JSON examples; and against servers that fail: a 500,
//! a truncated body, HTML instead of JSON, a slow server, and throttling
//! with `Retry-After`.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, StatusCode, Uri};
use futures_util::TryStreamExt as _;
use serde_json::{Value, json};
use support::Sink;
use support::server::{ApiServer, TOKEN_A, TOKEN_B};
use titan_webhooks::client::{
    BearerToken, Client, ClientError, DeliveryFilter, PageRequest, TitanClient,
};
use titan_webhooks::retry::RetrySchedule;
use titan_webhooks::subscription::{
    CreateEndpoint, CreateTitanXWebhook, CreateWebhook, DeleteResult, RotateSecret,
    TitanXWebhookStatus, UpdateEndpoint, UpdateWebhook, WebhookId,
};
use titan_webhooks::{EventiumEvent, EventiumTestRequest, TitanXEvent};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A seed's JSON example, as the file holds it.
fn seed_text(name: &str) -> String {
    let path = format!("{}/tests/data/seeds/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn seed<T: serde::de::DeserializeOwned>(name: &str) -> T {
    serde_json::from_str(&seed_text(name)).unwrap()
}

/// A client of `base` with `token`, quick to give up and to retry.
fn client(base: &str, token: &str) -> Client {
    Client::builder(base, BearerToken::new(token))
        .timeout(Duration::from_secs(10))
        .retry_schedule(RetrySchedule::explicit([Duration::from_millis(10); 3]).unwrap())
        .build()
        .unwrap()
}

/// Neither the error's message nor its `Debug` shows `token`.
fn assert_no_token(err: &ClientError, token: &str) {
    assert!(!err.to_string().contains(token), "{err}");
    assert!(!format!("{err:?}").contains(token), "{err:?}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        assert!(!cause.to_string().contains(token), "{cause}");
        source = cause.source();
    }
}

// ---------------------------------------------------------------------------
// Against the crate's own server.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn titan_create_list_get_update_delete_against_the_server() {
    let server = ApiServer::start().await;
    let titan = client(&server.url(""), TOKEN_A).titan();

    // Create, with seed 001's full request: the answer shows the key once.
    let request: CreateWebhook = seed("titan_create_request_full.json");
    let created = titan.create(&request).await.unwrap();
    assert_eq!(created.hmac_key().expose(), "your-secret-signing-key");
    assert_eq!(created.secret().expose_bytes(), b"your-secret-signing-key");
    let webhook = created.webhook().clone();
    assert_eq!(webhook.url().as_str(), "https://your-server.com/webhook");
    assert_eq!(webhook.filter().session(), Some("default"));
    assert_eq!(webhook.headers()[0].name(), "X-App-ID");
    assert_eq!(webhook.retries().map(|r| r.attempts()), Some(3));
    assert!(!format!("{created:?}").contains("your-secret-signing-key"));

    // A second one, with a generated key.
    let generated = titan
        .create(&CreateWebhook::new("https://example.com/second"))
        .await
        .unwrap();
    assert_eq!(generated.hmac_key().expose().len(), 43);

    // List and get: without keys.
    let listed = titan.list().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&webhook));
    let fetched = titan.get(webhook.id().clone()).await.unwrap();
    assert_eq!(fetched, webhook);

    // Update with seed 001's request, then disable with seed 000's.
    let change: UpdateWebhook = seed("titan_update_request.json");
    let updated = titan.update(webhook.id().clone(), &change).await.unwrap();
    assert_eq!(
        updated.filter().events(),
        ["message.received", "message.sent", "session.status"]
    );
    let disable: UpdateWebhook = seed("titan_disable_request.json");
    let disabled = titan.update(webhook.id().clone(), &disable).await.unwrap();
    assert!(!disabled.enabled());
    assert!(!titan.get(webhook.id().clone()).await.unwrap().enabled());

    // Delete: seed 001's answer, then 404.
    let deleted = titan.delete(webhook.id().clone()).await.unwrap();
    assert_eq!(deleted, DeleteResult::deleted());
    let gone = titan.get(webhook.id().clone()).await.unwrap_err();
    assert_eq!(gone.status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(gone.code(), Some("not_found"));
    let again = titan.delete(webhook.id().clone()).await.unwrap_err();
    assert_eq!(again.code(), Some("not_found"));
    assert_eq!(titan.list().await.unwrap().len(), 1);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_errors_arrive_with_status_code_and_field() {
    let server = ApiServer::start().await;
    let titan = client(&server.url(""), TOKEN_A).titan();

    let invalid = titan
        .create(&CreateWebhook::new("not a url"))
        .await
        .unwrap_err();
    assert!(matches!(invalid, ClientError::Api { .. }), "{invalid:?}");
    assert_eq!(invalid.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
    assert_eq!(invalid.code(), Some("validation_failed"));
    assert_eq!(invalid.field(), Some("url"));

    let bad_id = titan.get("forty-two").await.unwrap_err();
    assert_eq!(
        (bad_id.status(), bad_id.code()),
        (Some(StatusCode::BAD_REQUEST), Some("invalid_id"))
    );

    // Another tenant's webhook is not found, exactly as a missing one.
    let mine = titan
        .create(&CreateWebhook::new("https://example.com/mine"))
        .await
        .unwrap();
    let theirs = client(&server.url(""), TOKEN_B).titan();
    let err = theirs.get(mine.webhook().id().clone()).await.unwrap_err();
    assert_eq!(err.code(), Some("not_found"));

    // A wrong token: 401, and the error does not repeat it.
    let stranger = client(&server.url(""), "not-a-token-anyone-has").titan();
    let err = stranger.list().await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::UNAUTHORIZED), Some("unauthenticated"))
    );
    assert_no_token(&err, "not-a-token-anyone-has");

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eventium_every_operation_against_the_server() {
    let server = ApiServer::start().await;
    let sink = Sink::start().await;
    let eventium = client(&server.url(""), TOKEN_A).eventium();

    // Create: the secret is in this answer only.
    let mut request = CreateEndpoint::new(sink.url("/eventium"));
    request.events = Some(vec!["webhook.test".into()]);
    request.description = Some("orders".into());
    let created = eventium.create_endpoint(&request).await.unwrap();
    let id = created.endpoint.id;
    assert!(!created.secret.expose().is_empty());
    assert_eq!(created.endpoint.description.as_deref(), Some("orders"));
    assert!(!format!("{created:?}").contains(created.secret.expose()));

    // More endpoints, to page through.
    for n in 0..4 {
        let mut more = CreateEndpoint::new(format!("https://example.com/{n}"));
        more.events = Some(vec!["quota.threshold.reached".into()]);
        eventium.create_endpoint(&more).await.unwrap();
    }
    let first = eventium
        .list_endpoints(&PageRequest::default().limit(2))
        .await
        .unwrap();
    assert_eq!(first.data.len(), 2);
    let cursor = first.next_cursor.clone().expect("more than one page");
    let second = eventium
        .list_endpoints(&PageRequest::default().limit(2).cursor(cursor))
        .await
        .unwrap();
    assert_eq!(second.data.len(), 2);
    assert!(second.data.iter().all(|e| !first.data.contains(e)));
    let all: Vec<_> = eventium
        .endpoints_by(PageRequest::default().limit(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 5, "three pages of 2, 2 and 1");
    let ids: Vec<u64> = all.iter().map(|e| e.id).collect();
    let mut newest_first = ids.clone();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, newest_first);
    assert_eq!(
        eventium.endpoints().try_collect::<Vec<_>>().await.unwrap(),
        all
    );

    // Get and update (PATCH).
    assert_eq!(eventium.get_endpoint(id).await.unwrap(), created.endpoint);
    let mut change = UpdateEndpoint::default();
    change.description = Some(None);
    let changed = eventium.update_endpoint(id, &change).await.unwrap();
    assert_eq!(changed.description, None);

    // Rotate: a new secret, and the old one signs for the grace period.
    let mut rotate = RotateSecret::default();
    rotate.grace_period_seconds = Some(60);
    let rotated = eventium.rotate_secret(id, &rotate).await.unwrap();
    assert_eq!(rotated.id, id);
    assert_ne!(rotated.secret.expose(), created.secret.expose());
    assert!(rotated.previous_secret_expires_at.is_some());
    let mut too_long = RotateSecret::default();
    too_long.grace_period_seconds = Some(u64::MAX);
    let err = eventium.rotate_secret(id, &too_long).await.unwrap_err();
    assert_eq!(err.field(), Some("grace_period_seconds"));

    // The catalog.
    let events = eventium.events().await.unwrap();
    assert_eq!(events.len(), EventiumEvent::ALL.len());
    assert!(
        events
            .iter()
            .any(|e| e.event_type == "webhook.test" && e.category == "testing")
    );

    // A test event, delivered through the signed path.
    let mut test = EventiumTestRequest::new(EventiumEvent::WebhookTest, json!({"hello": "world"}));
    test.endpoint_id = Some(id);
    let queued = eventium.test(&test).await.unwrap();
    assert_eq!(queued.endpoint_ids, [id]);
    sink.wait_for("/eventium", 1).await;

    // The deliveries: listed, streamed, then redelivered once finished.
    let filter = DeliveryFilter::default().endpoint(id);
    let delivery = wait_for_delivery(&eventium, &filter, &queued.event_id, "succeeded").await;
    assert_eq!(delivery.event_type, "webhook.test");
    assert_eq!(delivery.attempts, 1);
    let streamed: Vec<_> = eventium
        .deliveries(filter.clone().limit(1))
        .try_collect()
        .await
        .unwrap();
    assert!(streamed.iter().any(|d| d.id == delivery.id));
    let succeeded = eventium
        .list_deliveries(&filter.clone().status("succeeded"))
        .await
        .unwrap();
    assert!(succeeded.data.iter().all(|d| d.status == "succeeded"));
    let redelivered = eventium.redeliver(delivery.id).await.unwrap();
    assert_eq!(
        (redelivered.id, redelivered.status.as_str()),
        (delivery.id, "pending")
    );
    sink.wait_for("/eventium", 2).await;
    let bad_status = eventium
        .list_deliveries(&DeliveryFilter::default().status("lost"))
        .await
        .unwrap_err();
    assert_eq!(
        (bad_status.code(), bad_status.field()),
        (Some("invalid_query"), Some("status"))
    );

    // Delete: 204, then 404.
    eventium.delete_endpoint(id).await.unwrap();
    let gone = eventium.get_endpoint(id).await.unwrap_err();
    assert_eq!(gone.code(), Some("not_found"));
    let again = eventium.delete_endpoint(id).await.unwrap_err();
    assert_eq!(again.status(), Some(StatusCode::NOT_FOUND));
    let no_such = eventium.redeliver(u64::MAX >> 2).await.unwrap_err();
    assert_eq!(no_such.code(), Some("not_found"));

    server.stop().await;
}

/// Polls the deliveries listing until the delivery of `event_id` has
/// `status`.
async fn wait_for_delivery(
    eventium: &titan_webhooks::client::EventiumClient,
    filter: &DeliveryFilter,
    event_id: &str,
    status: &str,
) -> titan_webhooks::subscription::DeliveryView {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = eventium.list_deliveries(filter).await.unwrap();
        if let Some(found) = page
            .data
            .into_iter()
            .find(|d| d.event_id == event_id && d.status == status)
        {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{event_id} never became {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn titanx_create_list_get_delete_against_the_server() {
    let server = ApiServer::start().await;
    let titanx = client(&server.url(""), TOKEN_A).titanx();

    let request: CreateTitanXWebhook = seed("titanx_create_request.json");
    let created = titanx.create(&request).await.unwrap();
    let secret = created
        .secret
        .clone()
        .expect("the create answer shows the secret");
    assert!(
        secret.expose().starts_with("whsec_"),
        "TitanX's secret form"
    );
    assert!(uuid::Uuid::parse_str(&created.id).is_ok());
    assert_eq!(created.event_types, [TitanXEvent::JobContactScored]);
    assert_eq!(created.status, TitanXWebhookStatus::Active);
    assert!(!format!("{created:?}").contains(secret.expose()));

    let listed = titanx.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, created.id);
    assert_eq!(listed[0].secret, None, "shown once");
    let fetched = titanx.get(&created.id).await.unwrap();
    assert_eq!(
        (fetched.url.as_str(), fetched.secret),
        (created.url.as_str(), None)
    );

    let empty = CreateTitanXWebhook::new("https://example.com/x", Vec::new());
    let err = titanx.create(&empty).await.unwrap_err();
    assert_eq!(err.field(), Some("eventTypes"));
    let not_uuid = titanx.get("not-a-uuid").await.unwrap_err();
    assert_eq!(not_uuid.code(), Some("invalid_id"));
    let dots = titanx.get("..").await.unwrap_err();
    assert_eq!(
        dots.code(),
        Some("invalid_id"),
        "sent as an id, not as a path step"
    );

    titanx.delete(&created.id).await.unwrap();
    let gone = titanx.get(&created.id).await.unwrap_err();
    assert_eq!(gone.code(), Some("not_found"));
    assert!(titanx.list().await.unwrap().is_empty());

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_flavour_sees_only_its_own_webhooks() {
    let server = ApiServer::start().await;
    let api = client(&server.url(""), TOKEN_A);
    let titan = api
        .titan()
        .create(&CreateWebhook::new("https://example.com/titan"))
        .await
        .unwrap();
    let endpoint = api
        .eventium()
        .create_endpoint(&CreateEndpoint::new("https://example.com/eventium"))
        .await
        .unwrap();
    assert_eq!(api.titan().list().await.unwrap().len(), 1);
    assert!(api.titanx().list().await.unwrap().is_empty());
    let WebhookId::Number(titan_id) = titan.webhook().id().clone() else {
        panic!("Titan ids are numbers");
    };
    let err = api.eventium().get_endpoint(titan_id).await.unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    let err = api.titan().get(endpoint.endpoint.id).await.unwrap_err();
    assert_eq!(err.code(), Some("not_found"));
    server.stop().await;
}

// ---------------------------------------------------------------------------
// Against a stub: the seeds' exact JSON, and servers that misbehave.

/// A request the stub received.
#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
    at: Instant,
}

#[derive(Default)]
struct StubState {
    seen: Mutex<Vec<Seen>>,
    counts: Mutex<HashMap<String, usize>>,
}

/// An axum server that answers by the first path segment, the scenario,
/// so one server serves every test: `http://addr/<scenario>/api/…`.
struct Stub {
    addr: SocketAddr,
    state: Arc<StubState>,
}

impl Stub {
    async fn start() -> Self {
        let state = Arc::new(StubState::default());
        let app = axum::Router::new()
            .fallback(stub)
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, state }
    }

    fn base(&self, scenario: &str) -> String {
        format!("http://{}/{scenario}/", self.addr)
    }

    fn seen(&self, scenario: &str) -> Vec<Seen> {
        let prefix = format!("/{scenario}/");
        self.state
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|seen| seen.path.starts_with(&prefix))
            .cloned()
            .collect()
    }
}

fn answer(status: u16, content_type: &str, body: impl Into<Body>) -> Response<Body> {
    let mut response = Response::new(body.into());
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    if !content_type.is_empty() {
        response
            .headers_mut()
            .insert("content-type", content_type.parse().unwrap());
    }
    response
}

fn json_answer(status: u16, body: impl Into<Body>) -> Response<Body> {
    answer(status, "application/json", body)
}

fn with_header(mut response: Response<Body>, name: &'static str, value: &str) -> Response<Body> {
    response.headers_mut().insert(name, value.parse().unwrap());
    response
}

/// The seeds' answers for `method` and `path` (below the scenario).
fn seed_answer(method: &Method, path: &str) -> Response<Body> {
    let list: Value = seed("titan_list_response.json");
    match (method.as_str(), path) {
        ("POST", "/api/webhooks") => json_answer(201, seed_text("titan_create_response.json")),
        ("GET", "/api/webhooks") => json_answer(200, seed_text("titan_list_response.json")),
        ("GET", "/api/webhooks/42") => {
            json_answer(200, json!({ "data": list["data"][0] }).to_string())
        }
        ("PUT", "/api/webhooks/42") => {
            let mut webhook = list["data"][0].clone();
            webhook["enabled"] = json!(false);
            json_answer(200, json!({ "data": webhook }).to_string())
        }
        ("DELETE", "/api/webhooks/42") => json_answer(200, seed_text("titan_delete_response.json")),
        ("POST", "/api/public/v2/webhooks") => {
            json_answer(201, seed_text("titanx_create_response.json"))
        }
        _ => json_answer(
            404,
            r#"{"error":{"code":"not_found","message":"no such resource"}}"#,
        ),
    }
}

async fn stub(
    State(state): State<Arc<StubState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let path = uri.path().to_owned();
    let count = {
        let mut counts = state.counts.lock().unwrap();
        let count = counts.entry(path.clone()).or_default();
        *count += 1;
        *count
    };
    state.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path: path.clone(),
        query: uri.query().map(str::to_owned),
        headers,
        body,
        at: Instant::now(),
    });
    let (scenario, rest) = path
        .strip_prefix('/')
        .and_then(|path| path.split_once('/'))
        .map(|(scenario, rest)| (scenario, format!("/{rest}")))
        .unwrap_or(("", String::new()));
    match scenario {
        "seeds" => seed_answer(&method, &rest),
        "error500" => json_answer(
            500,
            r#"{"error":{"code":"internal","message":"the request could not be completed; try again later"}}"#,
        ),
        "plain500" => answer(500, "text/plain", "Internal Server Error"),
        "html" => answer(
            200,
            "text/html; charset=utf-8",
            "<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>",
        ),
        "html502" => answer(
            502,
            "text/html",
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        ),
        "unlabelled-html" => answer(200, "", "<html><body>maintenance</body></html>"),
        "cut-json" => json_answer(200, r#"{"data": [{"id": 42, "url": "https://your-ser"#),
        "wrong-shape" => json_answer(
            200,
            r#"{"data": [{"id": 42, "url": "https://your-server.com/webhook", "createdAt": 20260115}]}"#,
        ),
        "empty" => json_answer(200, ""),
        "huge" => json_answer(200, vec![b' '; 64 * 1024]),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            seed_answer(&method, &rest)
        }
        "slow-body" => {
            let stream = futures_util::stream::unfold((), |()| async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Some((Ok::<_, std::io::Error>(Bytes::from_static(b" ")), ()))
            });
            json_answer(200, Body::from_stream(stream))
        }
        // The first two requests to each path are throttled, then the seeds.
        "throttled429" | "throttled503" if count <= 2 => {
            let status = if scenario == "throttled429" { 429 } else { 503 };
            with_header(
                json_answer(
                    status,
                    r#"{"error":{"code":"rate_limited","message":"slow down"}}"#,
                ),
                "retry-after",
                "0",
            )
        }
        "throttled429" | "throttled503" => seed_answer(&method, &rest),
        "always429" => with_header(
            json_answer(
                429,
                r#"{"error":{"code":"rate_limited","message":"slow down"}}"#,
            ),
            "retry-after",
            "0",
        ),
        "wait-long" => with_header(answer(503, "text/plain", "down"), "retry-after", "120"),
        "wait-1s" if count == 1 => with_header(answer(429, "text/plain", ""), "retry-after", "1"),
        "wait-1s" => seed_answer(&method, &rest),
        "cursor" => {
            // Three pages of endpoints or deliveries, by cursor.
            let item = if rest.ends_with("/deliveries") {
                delivery
            } else {
                endpoint
            };
            let page = match uri.query().unwrap_or_default() {
                query if query.contains("cursor=b") => json!({"data": [item(1)]}),
                query if query.contains("cursor=a") => {
                    json!({"data": [item(2)], "next_cursor": "b"})
                }
                _ => json!({"data": [item(4), item(3)], "next_cursor": "a"}),
            };
            json_answer(200, page.to_string())
        }
        "cursor-error" => {
            if uri.query().unwrap_or_default().contains("cursor=a") {
                json_answer(
                    400,
                    r#"{"error":{"code":"invalid_query","message":"bad cursor","field":"cursor"}}"#,
                )
            } else {
                json_answer(
                    200,
                    json!({"data": [endpoint(9)], "next_cursor": "a"}).to_string(),
                )
            }
        }
        _ => json_answer(
            404,
            r#"{"error":{"code":"not_found","message":"no scenario"}}"#,
        ),
    }
}

fn delivery(id: u64) -> Value {
    json!({
        "id": id,
        "endpoint_id": 7,
        "event_id": format!("evt_{id}"),
        "event_type": "webhook.test",
        "status": "retry",
        "attempts": 2,
        "last_status_code": 503,
        "last_error": "503 Service Unavailable",
        "next_retry_at": "2026-05-26T09:15:02Z",
        "created_at": "2026-05-26T09:14:02Z",
        "updated_at": "2026-05-26T09:14:32Z"
    })
}

fn endpoint(id: u64) -> Value {
    json!({
        "id": id,
        "url": format!("https://example.com/{id}"),
        "events": [],
        "enabled": true,
        "headers": [],
        "created_at": "2026-05-26T09:14:02Z"
    })
}

#[tokio::test]
async fn titans_seed_answers_read_through_the_data_wrapper() {
    let stub = Stub::start().await;
    let titan = client(&stub.base("seeds"), "titan_seed_token").titan();

    let request: CreateWebhook = seed("titan_create_request_full.json");
    let created = titan.create(&request).await.unwrap();
    let webhook = created.webhook();
    assert_eq!(webhook.id(), &WebhookId::Number(42));
    assert_eq!(webhook.url().as_str(), "https://your-server.com/webhook");
    assert_eq!(
        webhook.filter().events(),
        ["message.received", "session.status"]
    );
    assert_eq!(webhook.filter().session(), Some("default"));
    assert!(webhook.enabled());
    assert_eq!(webhook.headers()[0].expose_value(), "my-app");
    assert_eq!(webhook.retries().map(|r| r.delay_seconds()), Some(5));
    assert_eq!(webhook.created_at().to_string(), "2026-01-15T10:00:00Z");
    assert_eq!(created.hmac_key().expose(), "your-secret-signing-key");

    // The stub saw the seed's request, the token and JSON.
    let seen = stub.seen("seeds");
    let create = &seen[0];
    assert_eq!(
        (create.method.clone(), create.path.as_str()),
        (Method::POST, "/seeds/api/webhooks")
    );
    assert_eq!(create.headers["authorization"], "Bearer titan_seed_token");
    assert_eq!(create.headers["content-type"], "application/json");
    let sent: Value = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(sent, seed::<Value>("titan_create_request_full.json"));

    let listed = titan.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id(), &WebhookId::Number(42));
    assert_eq!(listed[0].filter().events(), ["message.received"]);
    assert!(listed[0].headers().is_empty());

    assert_eq!(titan.get(42).await.unwrap(), listed[0]);
    let mut disable = UpdateWebhook::default();
    disable.enabled = Some(false);
    assert!(!titan.update(42, &disable).await.unwrap().enabled());
    assert_eq!(stub.seen("seeds").last().unwrap().method, Method::PUT);
    assert_eq!(titan.delete(42).await.unwrap(), DeleteResult::deleted());
    let missing = titan.get(7).await.unwrap_err();
    assert_eq!(missing.code(), Some("not_found"));
}

#[tokio::test]
async fn titanx_seed_answer_keeps_its_whsec_secret() {
    let stub = Stub::start().await;
    let titanx = client(&stub.base("seeds"), "titanx_key").titanx();
    let request: CreateTitanXWebhook = seed("titanx_create_request.json");
    let created = titanx.create(&request).await.unwrap();
    assert_eq!(created.id, "550e8400-e29b-41d4-a716-446655440000");
    assert_eq!(created.url, "https://your-app.com/webhooks/titanx");
    assert_eq!(created.event_types, [TitanXEvent::JobContactScored]);
    assert_eq!(created.status, TitanXWebhookStatus::Active);
    assert_eq!(
        created.secret.as_ref().map(|secret| secret.expose()),
        Some("whsec_abc123def456...")
    );
    assert_eq!(created.created_at.to_string(), "2024-01-15T10:30:00Z");
    let sent: Value = serde_json::from_slice(&stub.seen("seeds")[0].body).unwrap();
    assert_eq!(sent, seed::<Value>("titanx_create_request.json"));
}

#[tokio::test]
async fn pages_are_streamed_by_cursor() {
    let stub = Stub::start().await;
    let eventium = client(&stub.base("cursor"), "t").eventium();
    let ids: Vec<u64> = eventium
        .endpoints_by(PageRequest::default().limit(2))
        .map_ok(|endpoint| endpoint.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, [4, 3, 2, 1]);
    let queries: Vec<String> = stub
        .seen("cursor")
        .iter()
        .map(|seen| seen.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(queries, ["limit=2", "cursor=a&limit=2", "cursor=b&limit=2"]);

    // Deliveries pass their filter on every page.
    let deliveries: Vec<_> = eventium
        .deliveries(DeliveryFilter::default().endpoint(7).status("retry"))
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<u64> = deliveries.iter().map(|delivery| delivery.id).collect();
    assert_eq!(ids, [4, 3, 2, 1]);
    assert_eq!(deliveries[0].last_status_code, Some(503));
    let queries: Vec<String> = stub
        .seen("cursor")
        .iter()
        .filter(|seen| seen.path == "/cursor/api/webhooks/deliveries")
        .map(|seen| seen.query.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        queries,
        [
            "endpoint_id=7&status=retry",
            "endpoint_id=7&status=retry&cursor=a",
            "endpoint_id=7&status=retry&cursor=b"
        ]
    );

    // An error mid-way ends the stream with it, after the items before.
    let failing = client(&stub.base("cursor-error"), "t").eventium();
    let results: Vec<_> = futures_util::StreamExt::collect(failing.endpoints()).await;
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].as_ref().unwrap().id, 9);
    assert_eq!(results[1].as_ref().unwrap_err().field(), Some("cursor"));
}

#[tokio::test]
async fn a_500_is_an_api_error_with_its_code_or_a_status_error_without_one() {
    let stub = Stub::start().await;
    let err = client(&stub.base("error500"), "t")
        .titan()
        .list()
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Api { .. }), "{err:?}");
    assert_eq!(err.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
    assert_eq!(err.code(), Some("internal"));
    assert_eq!(stub.seen("error500").len(), 1, "a 500 is not retried");

    let err = client(&stub.base("plain500"), "t")
        .titan()
        .list()
        .await
        .unwrap_err();
    match &err {
        ClientError::Status {
            status,
            content_type,
            ..
        } => {
            assert_eq!(*status, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(content_type.as_deref(), Some("text/plain"));
        }
        other => panic!("expected Status, got {other:?}"),
    }
    assert_eq!(err.code(), None);
    assert!(
        err.to_string().contains("500 Internal Server Error"),
        "{err}"
    );
}

#[tokio::test]
async fn html_instead_of_json_is_a_clear_error() {
    let stub = Stub::start().await;
    let err = client(&stub.base("html"), "t")
        .titan()
        .list()
        .await
        .unwrap_err();
    match &err {
        ClientError::InvalidBody { status, detail } => {
            assert_eq!(*status, StatusCode::OK);
            assert!(detail.contains("text/html"), "{detail}");
        }
        other => panic!("expected InvalidBody, got {other:?}"),
    }
    assert!(err.to_string().contains("not the documented JSON"), "{err}");

    // HTML without a content type still fails to parse, clearly.
    let err = client(&stub.base("unlabelled-html"), "t")
        .titan()
        .list()
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::InvalidBody { .. }), "{err:?}");

    // A proxy's HTML error page: the status, and no code to invent.
    let err = client(&stub.base("html502"), "t")
        .titanx()
        .list()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Status {
                status: StatusCode::BAD_GATEWAY,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn bodies_that_are_cut_short_empty_reshaped_or_too_large_are_clear_errors() {
    let stub = Stub::start().await;
    let titan = |scenario: &str| client(&stub.base(scenario), "t").titan();

    let cut = titan("cut-json").list().await.unwrap_err();
    match &cut {
        ClientError::InvalidBody { detail, .. } => assert!(detail.contains("EOF"), "{detail}"),
        other => panic!("expected InvalidBody, got {other:?}"),
    }

    let reshaped = titan("wrong-shape").list().await.unwrap_err();
    match &reshaped {
        ClientError::InvalidBody { detail, .. } => {
            assert!(
                detail.contains("data[0].createdAt"),
                "names the field: {detail}"
            );
            assert!(!detail.contains("20260115"), "quotes no value: {detail}");
        }
        other => panic!("expected InvalidBody, got {other:?}"),
    }

    let empty = titan("empty").list().await.unwrap_err();
    assert!(
        matches!(&empty, ClientError::InvalidBody { detail, .. } if detail.contains("empty")),
        "{empty:?}"
    );

    let small = Client::builder(&stub.base("huge"), BearerToken::new("t"))
        .max_response_bytes(1024)
        .build()
        .unwrap();
    let err = small.titan().list().await.unwrap_err();
    assert!(
        matches!(err, ClientError::TooLarge { limit: 1024 }),
        "{err:?}"
    );
}

/// A server that promises `Content-Length: 400`, sends part of the JSON
/// and closes the connection.
async fn truncating_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n";
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket
                    .write_all(br#"{"data": [{"id": 42, "url": "https://your-ser"#)
                    .await;
                let _ = socket.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_truncated_body_is_an_interrupted_answer() {
    let addr = truncating_server().await;
    let started = Instant::now();
    let err = client(&format!("http://{addr}"), "secret-token-1")
        .titan()
        .list()
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Interrupted { .. }), "{err:?}");
    assert_no_token(&err, "secret-token-1");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "within the timeout"
    );
}

#[tokio::test]
async fn a_slow_server_times_out_within_the_timeout() {
    let stub = Stub::start().await;
    for scenario in ["slow", "slow-body"] {
        let client = Client::builder(&stub.base(scenario), BearerToken::new("secret-token-2"))
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap();
        let started = Instant::now();
        let err = client.titan().list().await.unwrap_err();
        let elapsed = started.elapsed();
        assert!(
            matches!(err, ClientError::Timeout { after } if after == Duration::from_millis(500)),
            "{scenario}: {err:?}"
        );
        assert!(err.is_timeout());
        assert_no_token(&err, "secret-token-2");
        // The server would take 30 s (or forever); the client stops at
        // its timeout, give or take scheduling.
        assert!(elapsed < Duration::from_secs(10), "{scenario}: {elapsed:?}");
    }
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = client(&format!("http://{addr}"), "secret-token-3")
        .titan()
        .list()
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err:?}");
    assert!(std::error::Error::source(&err).is_some(), "keeps the cause");
    assert_no_token(&err, "secret-token-3");
}

#[tokio::test]
async fn gets_are_retried_on_429_and_503_honouring_retry_after() {
    let stub = Stub::start().await;
    for scenario in ["throttled429", "throttled503"] {
        let titan = client(&stub.base(scenario), "t").titan();
        let listed = titan.list().await.unwrap();
        assert_eq!(listed[0].id(), &WebhookId::Number(42), "{scenario}");
        assert_eq!(
            stub.seen(scenario).len(),
            3,
            "{scenario}: two refusals, then the answer"
        );
        // PUT and DELETE are idempotent too.
        assert_eq!(titan.delete(42).await.unwrap(), DeleteResult::deleted());
        let deletes = stub
            .seen(scenario)
            .iter()
            .filter(|seen| seen.method == Method::DELETE)
            .count();
        assert_eq!(deletes, 3, "{scenario}");
    }

    // Retry-After: 1 is waited out, though the schedule says 10 ms.
    let titan = client(&stub.base("wait-1s"), "t").titan();
    titan.list().await.unwrap();
    let seen = stub.seen("wait-1s");
    assert_eq!(seen.len(), 2);
    assert!(
        seen[1].at.duration_since(seen[0].at) >= Duration::from_secs(1),
        "the retry came before the Retry-After"
    );

    // Retries run out: the last refusal is the error, with its code.
    let err = client(&stub.base("always429"), "t")
        .titan()
        .list()
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(StatusCode::TOO_MANY_REQUESTS), Some("rate_limited"))
    );
    assert_eq!(
        stub.seen("always429").len(),
        4,
        "the first try and three retries"
    );
}

#[tokio::test]
async fn a_create_post_is_never_retried() {
    let stub = Stub::start().await;
    for scenario in ["throttled429", "throttled503"] {
        let err = client(&stub.base(scenario), "t")
            .titan()
            .create(&CreateWebhook::new("https://example.com/hook"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.status(),
                Some(StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE)
            ),
            "{scenario}: {err:?}"
        );
        assert_eq!(err.retry_after(), Some(Duration::ZERO), "{scenario}");
        assert_eq!(stub.seen(scenario).len(), 1, "{scenario}: sent once");
    }
    let err = client(&stub.base("always429"), "t")
        .titanx()
        .create(&CreateTitanXWebhook::new(
            "https://example.com/x",
            vec![TitanXEvent::JobContactScored],
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("rate_limited"));
    assert_eq!(stub.seen("always429").len(), 1);
    // Nor is Eventium's PATCH.
    let err = client(&stub.base("always429"), "t")
        .eventium()
        .update_endpoint(7, &UpdateEndpoint::default())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(stub.seen("always429").len(), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_maximum_is_returned_not_waited_out() {
    let stub = Stub::start().await;
    let started = Instant::now();
    let err = client(&stub.base("wait-long"), "t")
        .titan()
        .list()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Status {
                status: StatusCode::SERVICE_UNAVAILABLE,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(stub.seen("wait-long").len(), 1);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn the_token_is_in_no_debug_output() {
    let client = Client::new("https://api.example.com", BearerToken::new("tok_live_1234")).unwrap();
    assert!(!format!("{client:?}").contains("tok_live_1234"));
    let titan: TitanClient = client.titan();
    assert!(!format!("{titan:?}").contains("tok_live_1234"));
    assert!(!format!("{:?}", client.eventium()).contains("tok_live_1234"));
}
