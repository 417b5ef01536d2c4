//! Webhooks that outlive their process, with separate processes:
//!
//! - restart: a sender on a SQLite file stops with deliveries pending; a new
//!   process opening the same file with the same sealing key delivers them,
//!   signed with the stored secret;
//! - two senders on one Postgres: process B creates a webhook and queues
//!   deliveries for it; process A, started earlier, delivers them, and
//!   cancels none.
//!
//! The other processes are this test binary again, running an ignored test.
//! The sealing key reaches them in the environment, never on a command line.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

mod support;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use support::Sink;
use titan_webhooks::queue::{DeliveryAdmin, DeliveryQuery, DeliveryState, DeliveryStore};
use titan_webhooks::subscription::CreateWebhook;
use titan_webhooks::transport::{DeliveryEvent, Dispatcher};
use titan_webhooks::webhooks::{
    Flavour, HealthPolicy, Keyring, Owner, SealingKey, WebhookBackend, WebhookStore,
};
use titan_webhooks::{EventiumEnvelope, EventiumEvent, Scheme, UrlGuard, Verifier};

const ENVELOPES: usize = 5;
const KEY_VAR: &str = "TITAN_DURABLE_SEALING_KEY";
const STORE_VAR: &str = "TITAN_DURABLE_STORE";
const URL_VAR: &str = "TITAN_DURABLE_RECEIVER";
const PATIENCE: Duration = Duration::from_secs(60);

fn local_guard() -> UrlGuard {
    UrlGuard::new()
        .allow_loopback_for_testing()
        .allow_http_for_testing()
}

fn owner() -> Owner {
    Owner::new("acct_durable").unwrap()
}

async fn open_webhooks<B: WebhookBackend>(backend: B, key: &str) -> WebhookStore<B> {
    WebhookStore::builder(backend, Keyring::new(SealingKey::parse(key).unwrap()))
        .guard(local_guard())
        .open()
        .await
        .unwrap()
}

fn deployment(i: usize) -> EventiumEnvelope<serde_json::Value> {
    EventiumEnvelope::new(
        EventiumEvent::AgentDeploymentCreated,
        serde_json::json!({"deployment": i}),
    )
}

/// Runs `test` of this binary as another process with `env`, and returns
/// its standard output's lines.
fn run_process(test: &str, env: &[(&str, &str)]) -> Vec<String> {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            test,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .collect();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "{test} failed: {status}; output: {lines:?}"
    );
    lines
}

/// The value of the `name=value` a child printed. libtest may print its
/// own words on the same line, so it is looked for word by word.
fn printed<'a>(lines: &'a [String], name: &str) -> &'a str {
    let prefix = format!("{name}=");
    lines
        .iter()
        .flat_map(|line| line.split_whitespace())
        .find_map(|word| word.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("the child printed no {name}: {lines:?}"))
}

/// Checks every request the sink got verifies with `key` the Eventium way,
/// and that `ENVELOPES` distinct envelopes arrived.
fn assert_all_signed_with(sink: &Sink, key: &str) {
    let verifier = Verifier::new(
        Scheme::eventium(),
        Scheme::eventium().secret_encoding().parse(key).unwrap(),
    );
    let received = sink.received_on("/hook");
    let mut ids = std::collections::BTreeSet::new();
    for request in &received {
        verifier
            .verify(&request.headers, &request.body)
            .expect("signed with the stored secret");
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["type"], "agent.deployment.created");
        ids.insert(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), ENVELOPES, "every envelope arrived");
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_process_on_the_same_sqlite_file_and_key_delivers_what_the_old_one_left() {
    use titan_webhooks::store::SqliteStore;

    let sink = Sink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sender.db");
    let key = SealingKey::generate(3).unwrap().to_text();

    // The first sender: creates the webhook, queues deliveries, and stops
    // before sending any.
    let hmac_key = {
        let queue = SqliteStore::open(&path).await.unwrap();
        let webhooks = open_webhooks(queue.webhooks(), &key).await;
        let mut request = CreateWebhook::new(sink.url("/hook"));
        request.events = Some(vec!["agent.deployment.created".into()]);
        let created = webhooks
            .create(&owner(), &Flavour::eventium(), request)
            .await
            .unwrap();
        let dispatcher = Dispatcher::builder(
            queue.clone(),
            Arc::new(webhooks.subscriptions(HealthPolicy::default())),
        )
        .guard(local_guard())
        .build()
        .unwrap();
        for i in 0..ENVELOPES {
            let dispatched = dispatcher
                .dispatch_for(&owner(), &deployment(i))
                .await
                .unwrap();
            assert_eq!(dispatched.queued().len(), 1);
        }
        assert_eq!(queue.open_deliveries().await.unwrap().len(), ENVELOPES);
        queue.pool().close().await;
        created.hmac_key().expose().to_owned()
    };
    assert!(sink.received().is_empty());

    let lines = run_process(
        "restarted_sender_process",
        &[
            (STORE_VAR, path.to_str().unwrap()),
            (KEY_VAR, &key),
            (URL_VAR, &sink.url("/hook")),
        ],
    );
    assert_eq!(printed(&lines, "cancelled"), "0");
    assert_eq!(printed(&lines, "open"), "0");
    assert_all_signed_with(&sink, &hmac_key);

    let queue = SqliteStore::open(&path).await.unwrap();
    let succeeded = queue
        .list_deliveries(&DeliveryQuery::all().with_state(DeliveryState::Succeeded))
        .await
        .unwrap();
    assert_eq!(succeeded.len(), ENVELOPES);
}

/// The restarted sender: opens the file and key it is given, and delivers
/// until nothing is open.
#[cfg(feature = "sqlite")]
#[test]
#[ignore = "the restart test runs it as its second process"]
fn restarted_sender_process() {
    let (Ok(path), Ok(key)) = (std::env::var(STORE_VAR), std::env::var(KEY_VAR)) else {
        panic!("runs only under the restart test, which sets {STORE_VAR} and {KEY_VAR}");
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let queue = titan_webhooks::store::SqliteStore::open(&path)
            .await
            .unwrap();
        let webhooks = open_webhooks(queue.webhooks(), &key).await;
        deliver_everything_open(queue, webhooks).await;
    });
}

/// Waits until `queue` has no open delivery; fails after `PATIENCE`.
async fn wait_until_nothing_is_open<S: DeliveryStore>(queue: &S) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !queue.open_deliveries().await.unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries stayed open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts a dispatcher on `queue` and `webhooks`, waits until no delivery
/// is open, and prints how many were cancelled and how many remain open.
async fn deliver_everything_open<S: DeliveryStore + DeliveryAdmin + Clone, B: WebhookBackend>(
    queue: S,
    webhooks: WebhookStore<B>,
) {
    let (log, mut events) = tokio::sync::mpsc::unbounded_channel();
    let dispatcher = Dispatcher::builder(
        queue.clone(),
        Arc::new(webhooks.subscriptions(HealthPolicy::default())),
    )
    .guard(local_guard())
    .observer(log)
    .poll_interval(Duration::from_millis(50))
    .build()
    .unwrap();
    let running = dispatcher.start();
    wait_until_nothing_is_open(&queue).await;
    let report = running.shutdown(Duration::from_secs(5)).await.unwrap();
    let mut cancelled = 0;
    while let Ok(event) = events.try_recv() {
        if matches!(event, DeliveryEvent::Cancelled { .. }) {
            cancelled += 1;
        }
    }
    println!("cancelled={cancelled}");
    println!("open={}", report.open.len());
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_created_by_another_process_on_postgres_is_delivered_not_cancelled() {
    use titan_webhooks::store::PostgresStore;

    let sink = Sink::start().await;
    let database = support::postgres::TestDatabase::create().await;
    let key = SealingKey::generate(5).unwrap().to_text();

    // Process A starts first, with no webhooks yet.
    let queue = PostgresStore::connect(database.url()).await.unwrap();
    let webhooks = open_webhooks(queue.webhooks(), &key).await;
    let (log, mut events) = tokio::sync::mpsc::unbounded_channel();
    let dispatcher = Dispatcher::builder(
        queue.clone(),
        Arc::new(webhooks.subscriptions(HealthPolicy::default())),
    )
    .guard(local_guard())
    .observer(log)
    .poll_interval(Duration::from_millis(50))
    .build()
    .unwrap();
    let running = dispatcher.start();
    // A has looked at the owner's webhooks before B created one.
    let routed = dispatcher
        .prepare_for(&owner(), &deployment(0))
        .await
        .unwrap();
    assert!(routed.webhooks.is_empty());

    // Process B creates a webhook and queues deliveries for it.
    let lines = run_process(
        "creating_producer_process",
        &[
            (STORE_VAR, database.url()),
            (KEY_VAR, &key),
            (URL_VAR, &sink.url("/hook")),
        ],
    );
    let hmac_key = printed(&lines, "hmac_key").to_owned();
    assert_eq!(printed(&lines, "queued"), ENVELOPES.to_string());

    dispatcher.wake();
    sink.wait_until(PATIENCE, |received| received.len() >= ENVELOPES)
        .await;
    wait_until_nothing_is_open(&queue).await;
    running.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_all_signed_with(&sink, &hmac_key);
    let mut attempted = 0;
    while let Ok(event) = events.try_recv() {
        match event {
            DeliveryEvent::Cancelled { key, reason } => panic!("{key} was cancelled: {reason}"),
            DeliveryEvent::Attempted(attempt) => {
                assert!(attempt.succeeded());
                attempted += 1;
            }
            _ => {}
        }
    }
    assert_eq!(attempted, ENVELOPES);
    let cancelled = queue
        .list_deliveries(&DeliveryQuery::all().with_state(DeliveryState::Cancelled))
        .await
        .unwrap();
    assert!(cancelled.is_empty());

    // A now routes new envelopes to B's webhook too.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let routed = dispatcher
            .prepare_for(&owner(), &deployment(9))
            .await
            .unwrap();
        if routed.webhooks.len() == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never routed to B's webhook"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Process B: creates a webhook on the Postgres database it is given, and
/// queues deliveries for it without a dispatcher (the outbox producer).
#[cfg(feature = "postgres")]
#[test]
#[ignore = "the two-process Postgres test runs it as process B"]
fn creating_producer_process() {
    let (Ok(url), Ok(key), Ok(receiver)) = (
        std::env::var(STORE_VAR),
        std::env::var(KEY_VAR),
        std::env::var(URL_VAR),
    ) else {
        panic!(
            "runs only under the two-process test, which sets {STORE_VAR}, {KEY_VAR}, {URL_VAR}"
        );
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let queue = titan_webhooks::store::PostgresStore::connect(&url)
            .await
            .unwrap();
        let webhooks = open_webhooks(queue.webhooks(), &key).await;
        let created = webhooks
            .create(&owner(), &Flavour::eventium(), CreateWebhook::new(receiver))
            .await
            .unwrap();
        let subscriptions = webhooks.subscriptions(HealthPolicy::default());
        let mut queued = 0;
        for i in 0..ENVELOPES {
            let prepared = subscriptions
                .prepare(&owner(), &deployment(i))
                .await
                .unwrap();
            queued += queue
                .enqueue(&prepared.record, &prepared.webhooks)
                .await
                .unwrap()
                .len();
        }
        println!("hmac_key={}", created.hmac_key().expose());
        println!("queued={queued}");
    });
}
