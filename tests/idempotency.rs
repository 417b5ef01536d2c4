//! Idempotent receiving over real HTTP on 127.0.0.1: a duplicate of a
//! handled delivery is answered 2xx without running the handler, a retry
//! after a failure runs it again, and a duplicate while the first runs is
//! told to come back. Each store keeps the same contract.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use titan_webhooks::receiver::{
    Begin, IdempotencyLayer, IdempotencyStore, MemoryIdempotencyStore, Receiver, ReplayKey,
    VerifiedWebhook,
};
use titan_webhooks::store::SqliteIdempotencyStore;
use titan_webhooks::{Envelope, Scheme, Secret, Signer, TitanEvent, Verifier};
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

const SECRET: &str = "idempotency-test-key";

/// What the handler does with each delivery, and what it saw.
#[derive(Clone)]
struct Handler {
    receiver: Arc<Receiver>,
    runs: Arc<AtomicUsize>,
    /// Answers to give, in order; `204` once they run out.
    script: Arc<Mutex<Vec<StatusCode>>>,
    /// When set, each run waits for a permit before answering.
    gate: Option<Arc<Semaphore>>,
}

impl FromRef<Handler> for Arc<Receiver> {
    fn from_ref(handler: &Handler) -> Self {
        Arc::clone(&handler.receiver)
    }
}

async fn handle(State(handler): State<Handler>, _webhook: VerifiedWebhook<Envelope>) -> Response {
    handler.runs.fetch_add(1, Ordering::SeqCst);
    if let Some(gate) = &handler.gate {
        gate.acquire().await.unwrap().forget();
    }
    let scripted = {
        let mut script = handler.script.lock().unwrap();
        (!script.is_empty()).then(|| script.remove(0))
    };
    match scripted {
        Some(status) => status.into_response(),
        None => (
            StatusCode::CREATED,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"handled":true}"#,
        )
            .into_response(),
    }
}

fn handler(receiver: Receiver, script: Vec<StatusCode>, gate: Option<Arc<Semaphore>>) -> Handler {
    Handler {
        receiver: Arc::new(receiver),
        runs: Arc::default(),
        script: Arc::new(Mutex::new(script)),
        gate,
    }
}

fn receiver(store: impl IdempotencyStore) -> Receiver {
    Receiver::new(Verifier::new(
        Scheme::eventium(),
        Secret::from_utf8(SECRET).unwrap(),
    ))
    .with_idempotency(store)
}

async fn serve(handler: Handler, layer: bool) -> String {
    let mut router = Router::new().route("/hook", post(handle));
    if layer {
        router = router.layer(IdempotencyLayer::new());
    }
    let app = router.with_state(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// A signed delivery: the same headers and body every time it is sent, as
/// a sender's retry has.
fn delivery() -> (HeaderMap, Vec<u8>) {
    let body = serde_json::to_vec(&Envelope::new(
        TitanEvent::ChatRead,
        "default",
        serde_json::json!({"n": 1}),
    ))
    .unwrap();
    let headers = Signer::new(Scheme::eventium(), Secret::from_utf8(SECRET).unwrap()).sign(&body);
    (headers, body)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn post_delivery(url: &str, (headers, body): &(HeaderMap, Vec<u8>)) -> Answer {
    let response = reqwest::Client::new()
        .post(url)
        .headers(headers.clone())
        .body(body.clone())
        .send()
        .await
        .unwrap();
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

async fn sqlite_store() -> (SqliteIdempotencyStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteIdempotencyStore::open(dir.path().join("receipts.db"))
        .await
        .unwrap();
    (store, dir)
}

async fn a_lost_2xx_then_a_retry_runs_the_handler_once(store: impl IdempotencyStore) {
    let handler = handler(receiver(store), Vec::new(), None);
    let runs = Arc::clone(&handler.runs);
    let url = serve(handler, true).await;
    let delivery = delivery();

    let first = post_delivery(&url, &delivery).await;
    assert_eq!(first.status, StatusCode::CREATED);
    // The sender never saw that answer, and retries twice.
    for _ in 0..2 {
        let retry = post_delivery(&url, &delivery).await;
        assert_eq!(retry.status, StatusCode::OK);
        assert_eq!(retry.body, r#"{"status":"duplicate"}"#);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_lost_2xx_then_a_retry_gets_2xx_and_runs_the_handler_once() {
    a_lost_2xx_then_a_retry_runs_the_handler_once(MemoryIdempotencyStore::new()).await;
    let (store, _dir) = sqlite_store().await;
    a_lost_2xx_then_a_retry_runs_the_handler_once(store).await;
}

async fn a_failure_then_a_retry_runs_the_handler_again(store: impl IdempotencyStore) {
    let script = vec![StatusCode::INTERNAL_SERVER_ERROR, StatusCode::BAD_GATEWAY];
    let handler = handler(receiver(store), script, None);
    let runs = Arc::clone(&handler.runs);
    let url = serve(handler, true).await;
    let delivery = delivery();

    assert_eq!(
        post_delivery(&url, &delivery).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        post_delivery(&url, &delivery).await.status,
        StatusCode::BAD_GATEWAY
    );
    assert_eq!(
        post_delivery(&url, &delivery).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        runs.load(Ordering::SeqCst),
        3,
        "each failure let the retry in"
    );
    assert_eq!(post_delivery(&url, &delivery).await.status, StatusCode::OK);
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_handler_failure_then_a_retry_runs_it_again() {
    a_failure_then_a_retry_runs_the_handler_again(MemoryIdempotencyStore::new()).await;
    let (store, _dir) = sqlite_store().await;
    a_failure_then_a_retry_runs_the_handler_again(store).await;
}

#[tokio::test]
async fn a_duplicate_while_the_first_runs_gets_409_with_retry_after() {
    let gate = Arc::new(Semaphore::new(0));
    let handler = handler(
        receiver(MemoryIdempotencyStore::new()).with_reservation_lease(Duration::from_secs(30)),
        Vec::new(),
        Some(Arc::clone(&gate)),
    );
    let runs = Arc::clone(&handler.runs);
    let url = serve(handler, true).await;
    let delivery = delivery();

    let first = tokio::spawn({
        let url = url.clone();
        let delivery = delivery.clone();
        async move { post_delivery(&url, &delivery).await }
    });
    while runs.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let meanwhile = post_delivery(&url, &delivery).await;
    assert_eq!(meanwhile.status, StatusCode::CONFLICT);
    assert_eq!(meanwhile.body, r#"{"error":"in_progress"}"#);
    let retry_after: u64 = meanwhile.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");

    gate.add_permits(1);
    assert_eq!(first.await.unwrap().status, StatusCode::CREATED);
    assert_eq!(post_delivery(&url, &delivery).await.status, StatusCode::OK);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn kept_answers_are_replayed_to_duplicates() {
    let (store, _dir) = sqlite_store().await;
    let handler = handler(receiver(store).with_kept_answers(), Vec::new(), None);
    let runs = Arc::clone(&handler.runs);
    let url = serve(handler, true).await;
    let delivery = delivery();

    for _ in 0..3 {
        let answer = post_delivery(&url, &delivery).await;
        assert_eq!(answer.status, StatusCode::CREATED);
        assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(answer.body, r#"{"handled":true}"#);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_route_without_the_layer_is_refused_and_leaves_the_key_free() {
    let store = Arc::new(MemoryIdempotencyStore::new());
    let handler = handler(receiver(SharedStore(Arc::clone(&store))), Vec::new(), None);
    let runs = Arc::clone(&handler.runs);
    let url = serve(handler, false).await;
    let delivery = delivery();

    let answer = post_delivery(&url, &delivery).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer.body, r#"{"error":"idempotency_layer_missing"}"#);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    let envelope: Envelope = serde_json::from_slice(&delivery.1).unwrap();
    let key = ReplayKey::new(format!("eventium:id:{}", envelope.id()));
    assert!(
        matches!(
            store.begin(&key, Duration::from_secs(1)).await.unwrap(),
            Begin::Reserved(_)
        ),
        "the refused delivery's reservation was released"
    );
}

/// A store shared with the test, to look inside it.
struct SharedStore(Arc<MemoryIdempotencyStore>);

impl IdempotencyStore for SharedStore {
    fn begin<'a>(
        &'a self,
        key: &'a ReplayKey,
        lease: Duration,
    ) -> titan_webhooks::receiver::IdempotencyFuture<'a, Begin> {
        self.0.begin(key, lease)
    }

    fn complete<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: titan_webhooks::receiver::ReservationToken,
        ttl: Duration,
        answer: Option<&'a titan_webhooks::receiver::StoredAnswer>,
    ) -> titan_webhooks::receiver::IdempotencyFuture<'a, ()> {
        self.0.complete(key, token, ttl, answer)
    }

    fn release<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: titan_webhooks::receiver::ReservationToken,
    ) -> titan_webhooks::receiver::IdempotencyFuture<'a, ()> {
        self.0.release(key, token)
    }
}

/// A `MakeWriter` that keeps what `tracing` wrote.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn uniform_errors_hide_the_reason_from_the_caller_and_log_it() {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let app = Router::new()
        .route("/hook", post(handle))
        .layer(IdempotencyLayer::new())
        .with_state(handler(
            receiver(MemoryIdempotencyStore::new()).with_uniform_errors(),
            Vec::new(),
            None,
        ));
    let (headers, body) = delivery();
    let mut tampered = body.clone();
    tampered[3] ^= 1;
    let signature = headers[Scheme::eventium().signature_header()]
        .to_str()
        .unwrap()
        .to_owned();
    let expected_signature = signature.rsplit("v1=").next().unwrap().to_owned();
    assert_eq!(expected_signature.len(), 64, "{signature}");
    let cases = [
        (headers.clone(), tampered, "signature_mismatch"),
        (HeaderMap::new(), body.clone(), "missing_header"),
    ];
    for (headers, body, reason) in cases {
        let mut request = Request::post("/hook").body(Body::from(body)).unwrap();
        *request.headers_mut() = headers;
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let bytes = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&bytes[..], br#"{"error":"invalid_webhook"}"#);
        let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("WARN"), "{logged}");
        assert!(logged.contains(reason), "{reason} in {logged}");
        assert!(!logged.contains(&expected_signature), "{logged}");
        assert!(!logged.contains(SECRET), "{logged}");
    }
}

#[tokio::test]
async fn the_memory_store_keeps_the_contract() {
    support::idempotency::contract(&MemoryIdempotencyStore::new()).await;
}

#[tokio::test]
async fn the_sqlite_store_keeps_the_contract_and_its_receipts_across_a_reopen() {
    let (store, dir) = sqlite_store().await;
    support::idempotency::contract(&store).await;

    let key = ReplayKey::new("eventium:id:evt_reopen");
    let Begin::Reserved(token) = store.begin(&key, Duration::from_secs(60)).await.unwrap() else {
        panic!("not reserved")
    };
    store
        .complete(&key, token, Duration::from_secs(600), None)
        .await
        .unwrap();
    drop(store);
    let reopened = SqliteIdempotencyStore::open(dir.path().join("receipts.db"))
        .await
        .unwrap();
    assert_eq!(
        reopened.begin(&key, Duration::from_secs(60)).await.unwrap(),
        Begin::Completed(None),
        "a restarted receiver still knows the delivery was handled"
    );
    assert!(reopened.row_count().await.unwrap() >= 1);
}

#[tokio::test]
async fn expired_sqlite_receipts_are_purged() {
    let (store, _dir) = sqlite_store().await;
    for i in 0..10 {
        let key = ReplayKey::new(format!("eventium:id:evt_{i}"));
        let Begin::Reserved(token) = store.begin(&key, Duration::from_secs(60)).await.unwrap()
        else {
            panic!("not reserved")
        };
        store
            .complete(&key, token, Duration::from_millis(1), None)
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(store.row_count().await.unwrap(), 10);
    assert_eq!(store.purge_expired().await.unwrap(), 10);
    assert_eq!(store.row_count().await.unwrap(), 0);
}
