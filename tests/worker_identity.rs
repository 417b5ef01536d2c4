//! Stable worker names (`DispatcherBuilder::worker_name`): a worker that
//! restarts under its name takes back what its dead predecessor held at
//! once, instead of after the lease; two live workers never share a name;
//! a store that cannot lock names refuses; and a dispatcher that loses its
//! name's lock stops claiming until it takes it back.
//!
//! The process tests start workers as this test binary again, running the
//! ignored test `worker_process`, and kill them with SIGKILL, as
//! `tests/crash.rs` does. Postgres runs on a real server; see
//! `tests/support/postgres.rs`.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

mod support;

use std::collections::HashMap;
use std::io::Write as _;
use std::str::FromStr as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use support::Sink;
use support::child::ChildTest;
use titan_webhooks::queue::{
    ClaimRequest, ClaimedDelivery, DeliveryAdmin, DeliveryAttempt, DeliveryKey, DeliveryState,
    DeliveryStore, EnvelopeRecord, HeldClaim, MemoryStore, OpenDelivery, Prepared, StoreError,
    Subscription, SubscriptionRegistry, WorkerName,
};
use titan_webhooks::store::{PostgresStore, SqliteStore};
use titan_webhooks::subscription::{CreateWebhook, WebhookId, WebhookRules};
use titan_webhooks::transport::{DispatchError, Dispatcher};
use titan_webhooks::{Envelope, Scheme, TitanEvent, UrlGuard};

/// How long a test waits for something before failing instead of hanging.
const PATIENCE: Duration = Duration::from_secs(60);
/// The bound on resuming a dead predecessor's deliveries: far under the
/// 70 s lease of the default timeouts, and generous for a loaded machine.
/// The 2 s target is a benchmark figure, not a test.
const RESUMED_WITHIN: Duration = Duration::from_secs(10);

fn local_guard() -> UrlGuard {
    UrlGuard::new()
        .allow_loopback_for_testing()
        .allow_http_for_testing()
}

/// A registry with webhook 1 at `url`, whose requests carry `label` in
/// `x-identity-process`.
fn subscriptions(url: &str, label: &str) -> Arc<SubscriptionRegistry> {
    let request: CreateWebhook = serde_json::from_value(serde_json::json!({
        "url": url,
        "headers": [{"name": PROCESS_HEADER, "value": label}],
    }))
    .unwrap();
    let (webhook, secret) = WebhookRules::new(local_guard())
        .create(1.into(), request)
        .unwrap()
        .into_parts();
    let registry = Arc::new(SubscriptionRegistry::new());
    registry.upsert(Subscription::new(webhook, Scheme::titan(), secret));
    registry
}

fn record(i: usize) -> EnvelopeRecord {
    EnvelopeRecord::from_envelope(&envelope(i)).unwrap()
}

fn envelope(i: usize) -> Envelope<usize> {
    Envelope::new(TitanEvent::MessageReceived, "identity", i)
        .with_id(format!("evt_identity_{i:03}"))
        .unwrap()
}

fn name(name: &str) -> WorkerName {
    WorkerName::new(name).unwrap()
}

// ---------------------------------------------------------------------
// In one process.
// ---------------------------------------------------------------------

/// A third-party store that knows nothing of worker names: it keeps the
/// trait's default `try_lock_worker`.
struct Plain(MemoryStore);

impl DeliveryStore for Plain {
    async fn enqueue(
        &self,
        envelope: &EnvelopeRecord,
        webhooks: &[WebhookId],
    ) -> Result<Vec<WebhookId>, StoreError> {
        self.0.enqueue(envelope, webhooks).await
    }

    async fn enqueue_many(&self, batch: &[Prepared]) -> Result<Vec<Vec<WebhookId>>, StoreError> {
        self.0.enqueue_many(batch).await
    }

    async fn claim(&self, request: ClaimRequest<'_>) -> Result<Vec<ClaimedDelivery>, StoreError> {
        self.0.claim(request).await
    }

    async fn renew_leases(
        &self,
        owner: &str,
        held: &[HeldClaim],
        until: SystemTime,
    ) -> Result<u64, StoreError> {
        self.0.renew_leases(owner, held, until).await
    }

    async fn complete(
        &self,
        delivery: &ClaimedDelivery,
        attempt: &DeliveryAttempt,
    ) -> Result<u64, StoreError> {
        self.0.complete(delivery, attempt).await
    }

    async fn cancel(&self, delivery: &ClaimedDelivery) -> Result<(), StoreError> {
        self.0.cancel(delivery).await
    }

    async fn release_leases(&self, owner: &str) -> Result<Vec<DeliveryKey>, StoreError> {
        self.0.release_leases(owner).await
    }

    async fn recover_expired(&self, now: SystemTime) -> Result<u64, StoreError> {
        self.0.recover_expired(now).await
    }

    async fn next_due(&self) -> Result<Option<SystemTime>, StoreError> {
        self.0.next_due().await
    }

    async fn open_deliveries(&self) -> Result<Vec<OpenDelivery>, StoreError> {
        self.0.open_deliveries().await
    }
}

#[tokio::test]
async fn a_store_without_worker_names_refuses_a_named_dispatcher_and_runs_an_unnamed_one() {
    let registry = Arc::new(SubscriptionRegistry::new());
    let refused = Dispatcher::builder(Plain(MemoryStore::new()), Arc::clone(&registry))
        .worker_name(name("w1"))
        .build()
        .await
        .unwrap_err();
    assert_eq!(
        refused,
        DispatchError::Store(StoreError::WorkerNamesUnsupported)
    );
    assert_eq!(
        refused.to_string(),
        "this delivery store does not support stable worker names"
    );
    let unnamed = Dispatcher::builder(Plain(MemoryStore::new()), registry)
        .build()
        .unwrap();
    assert_eq!(unnamed.worker_name(), None);
    assert!(format!("{unnamed:?}").contains("owner: \"dispatcher_"));
}

#[tokio::test]
async fn a_named_dispatcher_on_the_memory_store_claims_under_its_name() {
    let dispatcher = Dispatcher::builder(MemoryStore::new(), Arc::new(SubscriptionRegistry::new()))
        .worker_name(name("pod-7"))
        .build()
        .await
        .unwrap();
    assert_eq!(dispatcher.worker_name(), Some(&name("pod-7")));
    assert!(format!("{dispatcher:?}").contains("owner: \"worker:pod-7\""));
    // The store's own lock is held: nobody else may take the name.
    assert!(
        dispatcher
            .store()
            .try_lock_worker(&name("pod-7"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        dispatcher
            .store()
            .try_lock_worker(&name("pod-8"))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_second_live_dispatcher_under_a_name_is_refused_until_the_first_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deliveries.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let registry = Arc::new(SubscriptionRegistry::new());
    let named = |store: SqliteStore, worker: &str| {
        Dispatcher::builder(store, Arc::clone(&registry)).worker_name(name(worker))
    };

    let first = named(store.clone(), "w1").build().await.unwrap();
    let running = first.start();

    let refused = named(store.clone(), "w1").build().await.unwrap_err();
    assert_eq!(refused, DispatchError::WorkerNameInUse { name: name("w1") });
    assert_eq!(
        refused.to_string(),
        "the worker name `w1` is held by another live worker"
    );
    // Another process would open the file anew: refused too.
    let elsewhere = SqliteStore::open(&path).await.unwrap();
    assert!(matches!(
        named(elsewhere.clone(), "w1").build().await,
        Err(DispatchError::WorkerNameInUse { .. })
    ));
    // Waiting does not help while the holder lives.
    let started = Instant::now();
    assert!(matches!(
        named(elsewhere.clone(), "w1")
            .wait_for_name(Duration::from_millis(300))
            .build()
            .await,
        Err(DispatchError::WorkerNameInUse { .. })
    ));
    assert!(started.elapsed() >= Duration::from_millis(300));
    let other = named(elsewhere.clone(), "w2").build().await.unwrap();

    // A stopped dispatcher may be started again, so it keeps its name
    // until it and its clones are dropped.
    running.shutdown(Duration::from_secs(1)).await.unwrap();
    assert!(matches!(
        named(elsewhere.clone(), "w1").build().await,
        Err(DispatchError::WorkerNameInUse { .. })
    ));
    let clone = first.clone();
    drop(first);
    assert!(named(elsewhere.clone(), "w1").build().await.is_err());
    drop(clone);
    let again = named(elsewhere, "w1").build().await.unwrap();
    assert_eq!(again.worker_name(), Some(&name("w1")));
    drop(other);

    // The lock file sits beside the database, one per name.
    let locks = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|entry| entry.unwrap().file_name().into_string().ok())
        .filter(|file| file.starts_with("deliveries.db-worker-") && file.ends_with(".lock"))
        .count();
    assert_eq!(locks, 2);
}

#[tokio::test]
async fn sqlite_in_memory_names_are_held_by_the_store_and_its_clones() {
    let options = sqlx::sqlite::SqliteConnectOptions::from_str("sqlite::memory:").unwrap();
    let store = SqliteStore::open_with(options).await.unwrap();
    let registry = Arc::new(SubscriptionRegistry::new());
    let first = Dispatcher::builder(store.clone(), Arc::clone(&registry))
        .worker_name(name("w1"))
        .build()
        .await
        .unwrap();
    let second = Dispatcher::builder(store.clone(), Arc::clone(&registry))
        .worker_name(name("w1"))
        .build()
        .await;
    assert_eq!(
        second.unwrap_err(),
        DispatchError::WorkerNameInUse { name: name("w1") }
    );
    drop(first);
    Dispatcher::builder(store, registry)
        .worker_name(name("w1"))
        .build()
        .await
        .unwrap();
}

/// Claims every due delivery as `owner` for an hour and holds no lock:
/// a worker that died holding them.
async fn claim_as_dead_worker<S: DeliveryStore>(store: &S, owner: &str, expected: usize) {
    let claimed = store
        .claim(ClaimRequest {
            owner,
            now: SystemTime::now(),
            lease: Duration::from_secs(3600),
            limit: 100,
            skip: &[],
            per_webhook: 100,
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_restarted_named_dispatcher_takes_back_its_predecessors_claims_at_once() {
    const DELIVERIES: usize = 5;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("deliveries.db"))
        .await
        .unwrap();
    let sink = Sink::start().await;
    let registry = subscriptions(&sink.url("/hook"), "restarted");
    for i in 0..DELIVERIES {
        store.enqueue(&record(i), &[1.into()]).await.unwrap();
    }
    let w1 = name("w1");
    claim_as_dead_worker(&store, &w1.lease_owner(), DELIVERIES).await;

    // Without a name, today's behaviour: the claims wait for their lease.
    let unnamed = Dispatcher::builder(store.clone(), Arc::clone(&registry))
        .guard(local_guard())
        .poll_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    let running = unnamed.start();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    running.shutdown(Duration::from_secs(1)).await.unwrap();
    drop(unnamed);
    assert!(
        sink.received().is_empty(),
        "nothing is due before the lease"
    );
    let in_flight = store.metrics(SystemTime::now()).await.unwrap();
    assert_eq!(in_flight.depth(DeliveryState::InFlight), DELIVERIES as u64);

    // Under the same name: taken back at once.
    let started = Instant::now();
    let restarted = Dispatcher::builder(store.clone(), registry)
        .guard(local_guard())
        .poll_interval(Duration::from_millis(50))
        .worker_name(w1)
        .build()
        .await
        .unwrap();
    let running = restarted.start();
    sink.wait_for("/hook", DELIVERIES).await;
    let resumed = started.elapsed();
    println!("sqlite, in process: {DELIVERIES} deliveries taken back and delivered in {resumed:?}");
    assert!(resumed < RESUMED_WITHIN, "took {resumed:?}");
    let report = running.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(report.open.is_empty(), "still open: {:?}", report.open);
    let metrics = store.metrics(SystemTime::now()).await.unwrap();
    assert_eq!(metrics.depth(DeliveryState::Succeeded), DELIVERIES as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_dispatcher_that_loses_its_name_stops_claiming_until_it_takes_it_back() {
    let database = support::postgres::TestDatabase::create().await;
    let store = PostgresStore::connect(database.url()).await.unwrap();
    let sink = Sink::start().await;
    let w1 = name("w1");
    // A 3 s lease: the dispatcher checks its name every second.
    let dispatcher = Dispatcher::builder(store, subscriptions(&sink.url("/hook"), "w1"))
        .guard(local_guard())
        .connect_timeout(Duration::from_secs(1))
        .request_timeout(Duration::from_secs(1))
        .lease_margin(Duration::from_secs(1))
        .poll_interval(Duration::from_millis(50))
        .worker_name(w1.clone())
        .build()
        .await
        .unwrap();
    let running = dispatcher.start();
    dispatcher.dispatch(&envelope(0)).await.unwrap();
    sink.wait_for("/hook", 1).await;

    // The server ends the session holding the lock, as a restart would.
    let admin = sqlx::PgPool::connect(database.url()).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_locks
         WHERE locktype = 'advisory' AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_all(&admin)
    .await
    .unwrap();
    assert_eq!(ended, vec![true], "one session held the name");

    // Another worker takes the name meanwhile.
    let other = PostgresStore::connect(database.url()).await.unwrap();
    let deadline = Instant::now() + PATIENCE;
    let intruder = loop {
        if let Some(lock) = other.try_lock_worker(&w1).await.unwrap() {
            break lock;
        }
        assert!(Instant::now() < deadline, "the name was never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // The dispatcher notices within a check or two, and claims nothing.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for i in 1..4 {
        dispatcher.dispatch(&envelope(i)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        sink.received_on("/hook").len(),
        1,
        "a dispatcher without its name claimed"
    );

    // Once the name is free, it takes it back and delivers.
    intruder.release().await.unwrap();
    sink.wait_for("/hook", 4).await;
    let report = running.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(report.open.is_empty(), "still open: {:?}", report.open);
    assert!(
        other.try_lock_worker(&w1).await.unwrap().is_none(),
        "the dispatcher holds its name again"
    );
}

// ---------------------------------------------------------------------
// Across processes.
// ---------------------------------------------------------------------

const PROCESS_HEADER: &str = "x-identity-process";
/// The process label whose requests the receiver never answers, so its
/// deliveries stay in flight until it is killed.
const HANGS: &str = "victim";
/// How many deliveries the victim holds when it is killed.
const HELD: usize = 8;
/// The exit code of a worker refused its name.
const REFUSED: i32 = 3;

/// The receiver: never answers the victim, answers everyone else `204`,
/// and notes who delivered what, and when.
#[derive(Clone, Default)]
struct Receiver {
    /// Envelope ids the victim sent, unanswered.
    hanging: Arc<Mutex<Vec<String>>>,
    /// Envelope id → (who delivered it, when).
    delivered: Arc<Mutex<HashMap<String, (String, Instant)>>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let id = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let label = headers
        .get(PROCESS_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("unlabelled")
        .to_owned();
    if label == HANGS {
        receiver.hanging.lock().unwrap().push(id.clone());
        std::future::pending::<()>().await;
    }
    receiver
        .delivered
        .lock()
        .unwrap()
        .entry(id)
        .or_insert((label, Instant::now()));
    StatusCode::NO_CONTENT
}

impl Receiver {
    async fn start() -> (Self, String) {
        let receiver = Self::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn hanging(&self) -> usize {
        self.hanging.lock().unwrap().len()
    }

    fn delivered(&self) -> HashMap<String, (String, Instant)> {
        self.delivered.lock().unwrap().clone()
    }
}

/// How a worker process runs.
struct Role {
    label: &'static str,
    name: &'static str,
    /// Envelopes it dispatches once it holds its name.
    enqueue: usize,
    /// How long it waits for a held name before it is refused.
    wait: Duration,
    /// Whether it shuts down once nothing is open, or runs until killed.
    until_idle: bool,
}

/// A worker process, reporting on stdout.
struct Worker(ChildTest);

impl Worker {
    fn spawn(role: Role, store: &str, url: &str) -> Self {
        Self(ChildTest::spawn(
            &format!("worker {}", role.label),
            "worker_process",
            "IDENTITY ",
            &[
                ("TITAN_IDENTITY_LABEL", role.label.to_owned()),
                ("TITAN_IDENTITY_NAME", role.name.to_owned()),
                ("TITAN_IDENTITY_ENQUEUE", role.enqueue.to_string()),
                ("TITAN_IDENTITY_WAIT_MS", role.wait.as_millis().to_string()),
                ("TITAN_IDENTITY_UNTIL_IDLE", role.until_idle.to_string()),
                ("TITAN_IDENTITY_STORE", store.to_owned()),
                ("TITAN_IDENTITY_URL", url.to_owned()),
            ],
        ))
    }

    /// Waits for a clean exit and returns its `done` report.
    async fn finish(&mut self, deadline: Instant) -> String {
        self.0.finish("done", deadline).await
    }

    fn kill(self) {
        self.0.kill();
    }
}

impl std::ops::Deref for Worker {
    type Target = ChildTest;

    fn deref(&self) -> &ChildTest {
        &self.0
    }
}

impl std::ops::DerefMut for Worker {
    fn deref_mut(&mut self) -> &mut ChildTest {
        &mut self.0
    }
}

/// Two named workers share a store: `w1` (the victim, whose receiver never
/// answers) and `w2`. A second live process under `w1` is refused. `w1` is
/// killed with its deliveries in flight under a 70 s lease, which `w2`
/// cannot take, and restarted under the same name: its deliveries are
/// given back and delivered at once, by the successor or by `w2`, whom the
/// store wakes.
async fn restart_under_the_same_name(store: &str) {
    let deadline = Instant::now() + PATIENCE;
    let (receiver, url) = Receiver::start().await;

    let mut victim = Worker::spawn(
        Role {
            label: HANGS,
            name: "w1",
            enqueue: HELD,
            wait: Duration::ZERO,
            until_idle: false,
        },
        store,
        &url,
    );
    while receiver.hanging() < HELD {
        assert!(
            Instant::now() < deadline,
            "the victim sent {} of {HELD}",
            receiver.hanging()
        );
        victim.assert_running();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut bystander = Worker::spawn(
        Role {
            label: "bystander",
            name: "w2",
            enqueue: 0,
            wait: Duration::ZERO,
            until_idle: false,
        },
        store,
        &url,
    );
    bystander.wait_for_report("holding", deadline).await;

    // A second live process under the victim's name is refused.
    let mut intruder = Worker::spawn(
        Role {
            label: "intruder",
            name: "w1",
            enqueue: 0,
            wait: Duration::ZERO,
            until_idle: true,
        },
        store,
        &url,
    );
    assert_eq!(intruder.exit_code(deadline).await, Some(REFUSED));
    assert_eq!(
        intruder.final_report("refused").await,
        "the worker name `w1` is held by another live worker"
    );
    assert!(intruder.report("holding").is_none());
    victim.assert_running();
    assert!(
        receiver.delivered().is_empty(),
        "the victim's claims hold their lease: nobody else may take them"
    );

    victim.kill();
    // Dead, but its claims hold their lease: `w2`, polling all along,
    // cannot take them.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        receiver.delivered().is_empty(),
        "claimed before the lease lapsed"
    );
    bystander.assert_running();

    let restarted = Instant::now();
    let mut successor = Worker::spawn(
        Role {
            label: "successor",
            name: "w1",
            enqueue: 0,
            // The store may take a moment to see the victim's lock go.
            wait: Duration::from_secs(5),
            until_idle: true,
        },
        store,
        &url,
    );
    while receiver.delivered().len() < HELD {
        assert!(
            Instant::now() < deadline,
            "{} of {HELD} delivered after the restart",
            receiver.delivered().len()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let delivered = receiver.delivered();
    let last = delivered.values().map(|(_, at)| *at).max().unwrap();
    let resumed = last.duration_since(restarted);
    let metrics = successor.finish(deadline).await;
    let mut by = HashMap::<&str, usize>::new();
    for (label, _) in delivered.values() {
        *by.entry(label.as_str()).or_default() += 1;
    }
    println!(
        "{}: {HELD} deliveries of a killed worker delivered {resumed:?} after its successor \
         was started (whose build returned {} after it started); by process {by:?}; final {metrics}",
        store.split(':').next().unwrap(),
        successor.report("holding").unwrap_or_default(),
    );
    assert!(
        resumed < RESUMED_WITHIN,
        "the restarted worker took {resumed:?} to resume, the lease is 70 s"
    );
    let metrics: serde_json::Value = serde_json::from_str(&metrics).unwrap();
    assert_eq!(metrics["succeeded"], HELD);
    assert_eq!(metrics["in_flight"], 0);
    assert_eq!(metrics["pending"], 0);
    assert_eq!(metrics["retry"], 0);
    bystander.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_killed_worker_restarted_under_its_name_resumes_at_once_and_a_live_duplicate_is_refused()
 {
    let database = support::postgres::TestDatabase::create().await;
    restart_under_the_same_name(&format!("postgres:{}", database.url())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_killed_worker_restarted_under_its_name_resumes_at_once_and_a_live_duplicate_is_refused()
 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deliveries.db");
    restart_under_the_same_name(&format!("sqlite:{}", path.display())).await;
}

/// The worker process the process tests start.
#[test]
#[ignore = "the process tests run it as their worker process"]
fn worker_process() {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("worker_process runs only under the process tests, which set {name}")
        })
    };
    let role = Role {
        label: var("TITAN_IDENTITY_LABEL").leak(),
        name: var("TITAN_IDENTITY_NAME").leak(),
        enqueue: var("TITAN_IDENTITY_ENQUEUE").parse().unwrap(),
        wait: Duration::from_millis(var("TITAN_IDENTITY_WAIT_MS").parse().unwrap()),
        until_idle: var("TITAN_IDENTITY_UNTIL_IDLE").parse().unwrap(),
    };
    let (store, url) = (var("TITAN_IDENTITY_STORE"), var("TITAN_IDENTITY_URL"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if let Some(path) = store.strip_prefix("sqlite:") {
            let store = SqliteStore::open(path).await.unwrap();
            return work(store, role, &url).await;
        }
        if let Some(database) = store.strip_prefix("postgres:") {
            let store = PostgresStore::connect(database).await.unwrap();
            return work(store, role, &url).await;
        }
        panic!("unknown store {store}");
    });
}

async fn work<S: DeliveryStore + DeliveryAdmin>(store: S, role: Role, url: &str) {
    let started = Instant::now();
    // The default timeouts: a 70 s lease, as in production.
    let built = Dispatcher::builder(store, subscriptions(url, role.label))
        .guard(local_guard())
        .concurrency(16)
        .endpoint_concurrency(16)
        .poll_interval(Duration::from_millis(100))
        .worker_name(name(role.name))
        .wait_for_name(role.wait)
        .build()
        .await;
    let dispatcher = match built {
        Ok(dispatcher) => dispatcher,
        Err(err @ DispatchError::WorkerNameInUse { .. }) => {
            println!("IDENTITY refused {err}");
            std::io::stdout().flush().unwrap();
            std::process::exit(REFUSED);
        }
        Err(err) => panic!("worker {} could not start: {err}", role.label),
    };
    println!("IDENTITY holding {:?}", started.elapsed());
    let running = dispatcher.start();
    for i in 0..role.enqueue {
        dispatcher.dispatch(&envelope(i)).await.unwrap();
    }
    if !role.until_idle {
        std::future::pending::<()>().await;
    }
    loop {
        let metrics = dispatcher.store().metrics(SystemTime::now()).await.unwrap();
        if metrics.open() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let report = running.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(report.open.is_empty());
    let metrics = dispatcher.store().metrics(SystemTime::now()).await.unwrap();
    println!("IDENTITY done {}", serde_json::to_string(&metrics).unwrap());
}
