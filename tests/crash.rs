//! Crash tests: a sender process is killed with SIGKILL in the middle of a
//! run of 2,000 deliveries to a receiver on 127.0.0.1 that fails about 30%
//! of first attempts. Another process on the same store finishes the run.
//! Every envelope must arrive at least once; the receiver counts the
//! duplicates, which only the deliveries in flight at the kill
//! may cause.
//!
//! The sender processes are this test binary again, running the ignored
//! test `sender_process`.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use titan_webhooks::queue::{DeliveryAdmin, DeliveryStore, Subscription, SubscriptionRegistry};
use titan_webhooks::receiver::{Receiver, VerifiedWebhook};
use titan_webhooks::retry::RetrySchedule;
use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
use titan_webhooks::transport::Dispatcher;
use titan_webhooks::{Envelope, Scheme, Secret, TitanEvent, UrlGuard, Verifier};

use support::child::ChildTest;

const ENVELOPES: usize = 2_000;
/// Attempts a sender runs at once: the most deliveries a kill can leave
/// delivered but not recorded.
const CONCURRENCY: usize = 16;
const SECRET: &str = "crash-test-signing-key";
const PROCESS_HEADER: &str = "x-crash-process";
/// How long a whole run may take before the test fails instead of hanging.
const RUN_LIMIT: Duration = Duration::from_secs(240);

/// Whether the receiver fails the first attempt of envelope `i`: 30% do.
fn fails_first(envelope_id: &str) -> bool {
    envelope_id
        .rsplit('_')
        .next()
        .and_then(|n| n.parse::<usize>().ok())
        .is_some_and(|n| n % 10 < 3)
}

fn envelope_id(i: usize) -> String {
    format!("evt_crash_{i:05}")
}

/// The receiver: verifies, fails 30% of first attempts, and counts what
/// arrives. A duplicate is answered `204` too, as an idempotent receiver
/// does, and counted.
#[derive(Clone)]
struct Sink {
    receiver: Arc<Receiver>,
    accepted: Arc<Mutex<HashMap<String, u32>>>,
    failed_once: Arc<Mutex<HashMap<String, ()>>>,
    by_process: Arc<Mutex<HashMap<String, u64>>>,
    duplicates: Arc<AtomicU64>,
}

impl FromRef<Sink> for Arc<Receiver> {
    fn from_ref(sink: &Sink) -> Self {
        Arc::clone(&sink.receiver)
    }
}

async fn hook(
    State(sink): State<Sink>,
    headers: HeaderMap,
    webhook: VerifiedWebhook<Envelope>,
) -> StatusCode {
    let envelope = webhook.received();
    let id = envelope.id().to_owned();
    if fails_first(&id)
        && sink
            .failed_once
            .lock()
            .unwrap()
            .insert(id.clone(), ())
            .is_none()
    {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let times = {
        let mut accepted = sink.accepted.lock().unwrap();
        let times = accepted.entry(id).or_default();
        *times += 1;
        *times
    };
    if times > 1 {
        sink.duplicates.fetch_add(1, Ordering::SeqCst);
    }
    let process = headers
        .get(PROCESS_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("unnamed")
        .to_owned();
    *sink.by_process.lock().unwrap().entry(process).or_default() += 1;
    StatusCode::NO_CONTENT
}

impl Sink {
    async fn start() -> (Self, String) {
        let sink = Self {
            receiver: Arc::new(Receiver::new(Verifier::new(
                Scheme::titan(),
                Secret::from_utf8(SECRET).unwrap(),
            ))),
            accepted: Arc::default(),
            failed_once: Arc::default(),
            by_process: Arc::default(),
            duplicates: Arc::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(sink.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (sink, url)
    }

    fn delivered(&self) -> usize {
        self.accepted.lock().unwrap().len()
    }
}

/// A sender process, reporting on stdout.
struct Sender(ChildTest);

impl Sender {
    fn spawn(name: &'static str, store: &str, url: &str) -> Self {
        Self(ChildTest::spawn(
            &format!("sender {name}"),
            "sender_process",
            "CRASH ",
            &[
                ("TITAN_CRASH_NAME", name.to_owned()),
                ("TITAN_CRASH_STORE", store.to_owned()),
                ("TITAN_CRASH_URL", url.to_owned()),
            ],
        ))
    }

    fn assert_running(&mut self) {
        self.0.assert_running();
    }

    fn kill(self) {
        self.0.kill();
    }

    /// Waits for a clean exit, and returns the queue's metrics it reported.
    async fn finish(mut self, deadline: Instant) -> serde_json::Value {
        serde_json::from_str(&self.0.finish("done", deadline).await).unwrap()
    }
}

/// Runs `first` senders, kills the first of them mid-run, then lets
/// `then` (already running in `first`, or started after the kill) finish.
async fn crash_and_finish(store: &str, both_at_once: bool) {
    let started = Instant::now();
    let deadline = started + RUN_LIMIT;
    let (sink, url) = Sink::start().await;

    let mut victim = Sender::spawn("victim", store, &url);
    let mut survivor = both_at_once.then(|| Sender::spawn("survivor", store, &url));

    let kill_at = ENVELOPES / 3;
    while sink.delivered() < kill_at {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for a third of the run"
        );
        victim.assert_running();
        if let Some(survivor) = &mut survivor {
            survivor.assert_running();
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    victim.kill();
    let delivered_at_kill = sink.delivered();
    assert!(
        delivered_at_kill < ENVELOPES,
        "the kill must land mid-run, but {delivered_at_kill} were delivered already"
    );
    let survivor = survivor.unwrap_or_else(|| Sender::spawn("survivor", store, &url));
    let metrics = survivor.finish(deadline).await;

    let accepted = sink.accepted.lock().unwrap().clone();
    let missing: Vec<String> = (0..ENVELOPES)
        .map(envelope_id)
        .filter(|id| !accepted.contains_key(id))
        .collect();
    let duplicates = sink.duplicates.load(Ordering::SeqCst);
    let by_process = sink.by_process.lock().unwrap().clone();
    println!(
        "{store}: killed at {delivered_at_kill}/{ENVELOPES} delivered; \
         {duplicates} duplicates; deliveries by process {by_process:?}; {:.1} s; final {metrics}",
        started.elapsed().as_secs_f64()
    );
    assert!(missing.is_empty(), "never delivered: {missing:?}");
    assert_eq!(accepted.len(), ENVELOPES);
    assert!(
        duplicates <= CONCURRENCY as u64,
        "{duplicates} duplicates, more than the {CONCURRENCY} attempts that can be in flight at a kill"
    );
    assert_eq!(
        accepted.values().map(|n| u64::from(*n)).sum::<u64>(),
        ENVELOPES as u64 + duplicates,
        "the replay guard saw every duplicate"
    );
    assert!(by_process.get("victim").is_some_and(|n| *n > 0));
    assert!(by_process.get("survivor").is_some_and(|n| *n > 0));
    assert_eq!(metrics["succeeded"], ENVELOPES);
    assert_eq!(metrics["pending"], 0);
    assert_eq!(metrics["in_flight"], 0);
    assert_eq!(metrics["retry"], 0);
    assert_eq!(metrics["exhausted"], 0);
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_fresh_process_finishes_the_run_of_a_killed_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deliveries.db");
    crash_and_finish(&format!("sqlite:{}", path.display()), false).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_processes_share_the_queue_and_one_survives_the_other() {
    let database = support::postgres::TestDatabase::create().await;
    crash_and_finish(&format!("postgres:{}", database.url()), true).await;
}

/// The sender process the crash tests start: queues every envelope
/// (idempotently, so a restarted sender queues them again safely), delivers
/// until nothing is open, and reports the queue's metrics.
#[test]
#[ignore = "the crash tests run it as their sender process"]
fn sender_process() {
    let (Ok(name), Ok(store), Ok(url)) = (
        std::env::var("TITAN_CRASH_NAME"),
        std::env::var("TITAN_CRASH_STORE"),
        std::env::var("TITAN_CRASH_URL"),
    ) else {
        panic!("sender_process runs only under the crash tests, which set TITAN_CRASH_*");
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if let Some(path) = store.strip_prefix("sqlite:") {
            #[cfg(feature = "sqlite")]
            {
                let store = titan_webhooks::store::SqliteStore::open(path)
                    .await
                    .unwrap();
                return send_all(store, &name, &url).await;
            }
            #[cfg(not(feature = "sqlite"))]
            panic!("built without the sqlite feature: {path}");
        }
        if let Some(database) = store.strip_prefix("postgres:") {
            #[cfg(feature = "postgres")]
            {
                let store = titan_webhooks::store::PostgresStore::connect(database)
                    .await
                    .unwrap();
                return send_all(store, &name, &url).await;
            }
            #[cfg(not(feature = "postgres"))]
            panic!("built without the postgres feature: {database}");
        }
        panic!("unknown store {store}");
    });
}

async fn send_all<S: DeliveryStore + DeliveryAdmin>(store: S, name: &str, url: &str) {
    let guard = UrlGuard::new()
        .allow_loopback_for_testing()
        .allow_http_for_testing();
    let request: CreateWebhook = serde_json::from_value(serde_json::json!({
        "url": url,
        "hmacKey": SECRET,
        "headers": [{"name": PROCESS_HEADER, "value": name}],
    }))
    .unwrap();
    let (webhook, secret) = WebhookRules::new(guard.clone())
        .create(1.into(), request)
        .unwrap()
        .into_parts();
    let subscriptions = Arc::new(SubscriptionRegistry::new());
    subscriptions.upsert(
        Subscription::new(webhook, Scheme::titan(), secret)
            .with_schedule(RetrySchedule::explicit([Duration::from_millis(200); 10]).unwrap()),
    );
    let dispatcher = Dispatcher::builder(store, subscriptions)
        .guard(guard)
        .concurrency(CONCURRENCY)
        .endpoint_concurrency(CONCURRENCY)
        .connect_timeout(Duration::from_secs(1))
        .request_timeout(Duration::from_secs(2))
        .lease_margin(Duration::from_secs(1))
        .poll_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    let running = dispatcher.start();
    for i in 0..ENVELOPES {
        let envelope = Envelope::new(
            TitanEvent::MessageReceived,
            "crash",
            serde_json::json!({"n": i}),
        )
        .with_id(envelope_id(i))
        .unwrap();
        dispatcher.dispatch(&envelope).await.unwrap();
    }
    println!("CRASH queued");
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let metrics = dispatcher.store().metrics(SystemTime::now()).await.unwrap();
        if metrics.open() == 0 {
            break;
        }
    }
    let report = running.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(report.open.is_empty());
    let metrics = dispatcher.store().metrics(SystemTime::now()).await.unwrap();
    println!("CRASH done {}", serde_json::to_string(&metrics).unwrap());
}
