//! The Postgres idempotency store on a real server (see
//! `tests/support/postgres.rs`): its contract, and two receiving processes
//! sharing it that get the same delivery at the same moment and run the
//! handler exactly once.
//!
//! The receiving processes are this test binary again, running the ignored
//! test `receiver_process`.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

mod support;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::post;
use sqlx::PgPool;
use support::postgres::TestDatabase;
use titan_webhooks::receiver::{
    Begin, IdempotencyLayer, IdempotencyStore, Receiver, ReplayKey, VerifiedWebhook,
};
use titan_webhooks::store::PostgresIdempotencyStore;
use titan_webhooks::{Envelope, Scheme, Secret, Signer, TitanEvent, Verifier};

const SECRET: &str = "idempotency-postgres-key";

#[tokio::test]
async fn the_postgres_store_keeps_the_contract() {
    let database = TestDatabase::create().await;
    let store = PostgresIdempotencyStore::connect(database.url())
        .await
        .unwrap();
    support::idempotency::contract(&store).await;
    // A second store on the same database, as another process, sees it all.
    let other = PostgresIdempotencyStore::connect(database.url())
        .await
        .unwrap();
    let before = other.row_count().await.unwrap();
    assert!(before >= 6, "{before}");
    let key = ReplayKey::new("eventium:id:evt_short");
    let Begin::Reserved(token) = other.begin(&key, Duration::from_secs(60)).await.unwrap() else {
        panic!("not reserved")
    };
    other
        .complete(&key, token, Duration::from_millis(1), None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(other.purge_expired().await.unwrap() >= 1);
    assert!(other.row_count().await.unwrap() <= before);
    assert!(matches!(
        store.begin(&key, Duration::from_secs(60)).await.unwrap(),
        Begin::Reserved(_)
    ));
}

#[derive(Clone)]
struct Process {
    receiver: Arc<Receiver>,
    pool: PgPool,
}

impl FromRef<Process> for Arc<Receiver> {
    fn from_ref(process: &Process) -> Self {
        Arc::clone(&process.receiver)
    }
}

/// Records the run in the shared database, so the test counts runs in
/// every process, and takes long enough for the other delivery to arrive.
async fn handle(State(process): State<Process>, webhook: VerifiedWebhook<Envelope>) -> StatusCode {
    sqlx::query("INSERT INTO handler_runs (delivery, pid) VALUES ($1, $2)")
        .bind(webhook.id())
        .bind(i64::from(std::process::id()))
        .execute(&process.pool)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    StatusCode::NO_CONTENT
}

/// One receiving process; run by `two_processes_…` with its environment.
#[tokio::test]
#[ignore = "a child process of two_processes_receiving_one_delivery_at_once_run_the_handler_once"]
async fn receiver_process() {
    let url = std::env::var("TITAN_IDEMPOTENCY_PG_URL").expect("run by the parent test");
    let store = PostgresIdempotencyStore::connect(&url).await.unwrap();
    let receiver = Receiver::new(Verifier::new(
        Scheme::eventium(),
        Secret::from_utf8(SECRET).unwrap(),
    ))
    .with_idempotency(store);
    let process = Process {
        receiver: Arc::new(receiver),
        pool: PgPool::connect(&url).await.unwrap(),
    };
    let app = Router::new()
        .route("/hook", post(handle))
        .layer(IdempotencyLayer::new())
        .with_state(process);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("LISTENING http://{}/hook", listener.local_addr().unwrap());
    axum::serve(listener, app).await.unwrap();
}

struct ReceiverProcess {
    child: Child,
    url: String,
}

impl ReceiverProcess {
    fn spawn(database_url: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "receiver_process",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TITAN_IDEMPOTENCY_PG_URL", database_url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("the receiver process exited before listening")
                .unwrap();
            // The harness may have begun the line with the test's name.
            if let Some((_, url)) = line.split_once("LISTENING ") {
                break url.trim().to_owned();
            }
        };
        // Keep reading, so the child never writes to a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, url }
    }
}

impl Drop for ReceiverProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_receiving_one_delivery_at_once_run_the_handler_once() {
    let database = TestDatabase::create().await;
    let pool = PgPool::connect(database.url()).await.unwrap();
    sqlx::query("CREATE TABLE handler_runs (delivery TEXT NOT NULL, pid BIGINT NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    let processes = [
        ReceiverProcess::spawn(database.url()),
        ReceiverProcess::spawn(database.url()),
    ];
    let client = reqwest::Client::new();

    for round in 0..5 {
        let body = serde_json::to_vec(&Envelope::new(
            TitanEvent::ChatRead,
            "default",
            serde_json::json!({ "round": round }),
        ))
        .unwrap();
        let headers =
            Signer::new(Scheme::eventium(), Secret::from_utf8(SECRET).unwrap()).sign(&body);
        let send = |url: &str| {
            client
                .post(url)
                .headers(headers.clone())
                .body(body.clone())
                .send()
        };
        // The same delivery reaches both processes at the same moment, as
        // a sender's retry racing its first attempt behind a load balancer.
        let (a, b) = tokio::join!(send(&processes[0].url), send(&processes[1].url));
        let mut statuses = [a.unwrap().status(), b.unwrap().status()];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::NO_CONTENT, StatusCode::CONFLICT],
            "round {round}: one handles it, the other says it is in progress"
        );
        // Later retries to either process are duplicates, answered 200.
        for process in &processes {
            assert_eq!(
                send(&process.url).await.unwrap().status(),
                StatusCode::OK,
                "round {round}"
            );
        }
    }
    let (runs, distinct): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT delivery) FROM handler_runs")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (runs, distinct),
        (5, 5),
        "each delivery handled exactly once"
    );
}
