//! The whole SDK, sender to receiver, in one process:
//!
//! 1. a webhook store (secrets sealed under an application key) holds two
//!    webhooks of one customer: a Titan one and an Eventium one, with event
//!    filters and the seeds' retry object;
//! 2. an axum receiver on 127.0.0.1 verifies Titan and Eventium deliveries
//!    with the keys the create responses showed once;
//! 3. the Dispatcher delivers Titan envelopes to the Titan webhook and
//!    Eventium envelopes to the Eventium one; the receiver fails one
//!    delivery twice before accepting it;
//! 4. a tampered delivery is refused, and a replayed one is answered `200`
//!    as a duplicate without reaching the handler;
//! 5. with `--store sqlite`, webhooks and deliveries are kept in a SQLite
//!    file, and a sender that stops with a retry pending is replaced by a
//!    new process-like sender that opens the same file with the same key
//!    and delivers it, signed with the stored secret.
//!
//! Run with `cargo run --example demo --features full`, and add
//! `-- --store sqlite` for the durable queue.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRef, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::post;
use titan_webhooks::queue::{
    DeliveryAdmin as _, DeliveryAttempt, DeliveryQuery, DeliveryStore, MemoryStore,
};
use titan_webhooks::receiver::{
    IdempotencyLayer, MemoryIdempotencyStore, Receiver, VerifiedWebhook,
};
use titan_webhooks::retry::{AttemptOutcome, NextStep};
use titan_webhooks::store::SqliteStore;
use titan_webhooks::subscription::CreateWebhook;
use titan_webhooks::transport::DispatchError;
use titan_webhooks::transport::{DeliveryEvent, Dispatcher};
use titan_webhooks::webhooks::{
    Flavour, HealthPolicy, Keyring, MemoryWebhooks, Owner, SealingKey, StoredSubscriptions,
    WebhookBackend, WebhookStore,
};
use titan_webhooks::{
    Deliverable, Envelope, EventiumEnvelope, EventiumEvent, Scheme, TitanEvent, UrlGuard, Verifier,
};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

/// A receiving route: its receiver, and a record of what it saw.
#[derive(Clone)]
struct Route {
    name: &'static str,
    receiver: Arc<Receiver>,
    /// Refusals still to give, by envelope id, to show retries.
    fail: Arc<Mutex<HashMap<String, u32>>>,
    /// The last request accepted, exactly as it arrived, to replay and
    /// tamper with later.
    last: Arc<Mutex<Option<(HeaderMap, Bytes)>>>,
}

impl FromRef<Route> for Arc<Receiver> {
    fn from_ref(route: &Route) -> Self {
        Arc::clone(&route.receiver)
    }
}

/// Keeps a copy of each accepted request, as an eavesdropper on the wire would.
async fn capture(State(route): State<Route>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1024 * 1024)
        .await
        .unwrap_or_default();
    let headers = parts.headers.clone();
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes.clone())))
        .await;
    if response.status().is_success() {
        *route
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((headers, bytes));
    }
    response
}

async fn receive(State(route): State<Route>, webhook: VerifiedWebhook<Envelope>) -> StatusCode {
    let envelope = webhook.received();
    let refusals_left = {
        let mut fail = route
            .fail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let left = fail.get(envelope.id()).copied().unwrap_or(0);
        if left > 0 {
            fail.insert(envelope.id().to_owned(), left.saturating_sub(1));
        }
        left
    };
    if refusals_left > 0 {
        // Handling failed: the 503 releases the delivery (IdempotencyLayer),
        // so the sender's retry is handled.
        println!(
            "    receiver/{:<8} {} verified, but answering 503 ({refusals_left} more to go)",
            route.name,
            envelope.id()
        );
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    println!(
        "    receiver/{:<8} {} verified: `{}` from session `{}` at {}, payload {}",
        route.name,
        envelope.id(),
        envelope.event(),
        envelope.session(),
        envelope.timestamp(),
        envelope.payload()
    );
    StatusCode::NO_CONTENT
}

async fn receive_eventium(
    State(route): State<Route>,
    webhook: VerifiedWebhook<EventiumEnvelope>,
) -> StatusCode {
    let envelope = webhook.received();
    println!(
        "    receiver/{:<8} {} verified: `{}` created at {}, data {}",
        route.name,
        envelope.id(),
        envelope.event(),
        envelope.created_at(),
        envelope.data()
    );
    StatusCode::NO_CONTENT
}

fn seeds_retries() -> CreateWebhook {
    serde_json::from_value(serde_json::json!({
        "url": "",
        "retries": {"attempts": 3, "delaySeconds": 1, "policy": "exponential"}
    }))
    .unwrap_or_else(|_| CreateWebhook::new(""))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let store = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] | ["--store", "memory"] => StoreKind::Memory,
        ["--store", "sqlite"] => StoreKind::Sqlite,
        _ => {
            eprintln!("usage: demo [--store memory|sqlite]");
            return ExitCode::from(2);
        }
    };
    match run(store).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("the demo did not go as expected");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("demo failed: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(store: StoreKind) -> Result<bool, Box<dyn std::error::Error>> {
    // The application's sealing key. A real sender keeps it in its secret
    // manager and reads it from the environment; the demo makes one.
    let sealing_key = SealingKey::generate(1)?.to_text();
    match store {
        StoreKind::Memory => {
            let webhooks = open_webhooks(MemoryWebhooks::new(), &sealing_key).await?;
            let mut demo = Demo::new(webhooks).await?;
            demo.deliver_and_attack(MemoryStore::new()).await
        }
        StoreKind::Sqlite => {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("webhooks.db");
            let queue = SqliteStore::open(&path).await?;
            let webhooks = open_webhooks(queue.webhooks(), &sealing_key).await?;
            let mut demo = Demo::new(webhooks).await?;
            let delivered = demo.deliver_and_attack(queue).await?;
            Ok(delivered && demo.restart(&path, &sealing_key).await?)
        }
    }
}

/// Opens the webhook store over `backend`, sealing secrets with the key
/// whose text form is `sealing_key`.
async fn open_webhooks<B: WebhookBackend>(
    backend: B,
    sealing_key: &str,
) -> Result<WebhookStore<B>, Box<dyn std::error::Error>> {
    // Test traffic stays on 127.0.0.1, so the guard allows loopback and http.
    Ok(
        WebhookStore::builder(backend, Keyring::new(SealingKey::parse(sealing_key)?))
            .guard(local_guard())
            .open()
            .await?,
    )
}

fn local_guard() -> UrlGuard {
    UrlGuard::new()
        .allow_loopback_for_testing()
        .allow_http_for_testing()
}

/// Where the dispatcher keeps its deliveries.
#[derive(Clone, Copy)]
enum StoreKind {
    Memory,
    Sqlite,
}

/// What the sending half of the demo works with.
struct Demo<B> {
    webhooks: WebhookStore<B>,
    owner: Owner,
    log: UnboundedSender<DeliveryEvent>,
    events: UnboundedReceiver<DeliveryEvent>,
    titan_route: Route,
    base: String,
}

impl<B: WebhookBackend> Demo<B> {
    /// Steps 1 and 2: the webhooks, and a receiver holding their keys.
    async fn new(webhooks: WebhookStore<B>) -> Result<Self, Box<dyn std::error::Error>> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let owner = Owner::new("acct_demo")?;

        println!("1. Two webhooks of customer `{owner}`, kept in a webhook store");
        let mut titan_request = seeds_retries();
        titan_request.url = format!("{base}/titan");
        titan_request.events = Some(vec!["message.received".into(), "session.status".into()]);
        let titan = webhooks
            .create(&owner, &Flavour::titan(), titan_request)
            .await?;
        let mut eventium_request = seeds_retries();
        eventium_request.url = format!("{base}/eventium");
        eventium_request.events = Some(vec![
            "agent.deployment.created".into(),
            "quota.threshold.reached".into(),
        ]);
        let eventium = webhooks
            .create(&owner, &Flavour::eventium(), eventium_request)
            .await?;
        for (created, flavour) in [(&titan, "titan"), (&eventium, "eventium")] {
            let events: Vec<&str> = created
                .webhook()
                .filter()
                .events()
                .iter()
                .map(String::as_str)
                .collect();
            println!(
                "   webhook {} ({flavour}) -> {} for {:?}, retries {}",
                created.webhook().id(),
                created.webhook().url(),
                events,
                serde_json::to_string(&created.webhook().retries())?
            );
        }
        println!("   the keys are shown once here, and stored sealed");

        println!("\n2. A receiver on {base}, configured with the keys the create responses showed");
        let route =
            |name, key: &str, scheme: Scheme| -> Result<Route, Box<dyn std::error::Error>> {
                Ok(Route {
                    name,
                    receiver: Arc::new(
                        Receiver::new(Verifier::from_secret_str(scheme, key)?)
                            .with_idempotency(MemoryIdempotencyStore::new()),
                    ),
                    fail: Arc::default(),
                    last: Arc::default(),
                })
            };
        let titan_route = route("titan", titan.hmac_key().expose(), Scheme::titan())?;
        let eventium_route = route("eventium", eventium.hmac_key().expose(), Scheme::eventium())?;
        let app = Router::new()
            .route("/titan", post(receive))
            .layer(IdempotencyLayer::new())
            .layer(axum::middleware::from_fn_with_state(
                titan_route.clone(),
                capture,
            ))
            .with_state(titan_route.clone())
            .merge(
                Router::new()
                    .route("/eventium", post(receive_eventium))
                    .layer(IdempotencyLayer::new())
                    .with_state(eventium_route),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });

        let (log, events) = tokio::sync::mpsc::unbounded_channel();
        Ok(Self {
            webhooks,
            owner,
            log,
            events,
            titan_route,
            base,
        })
    }

    fn dispatcher<S: DeliveryStore, C: WebhookBackend>(
        &self,
        webhooks: &WebhookStore<C>,
        store: S,
    ) -> Result<Dispatcher<S, StoredSubscriptions<C>>, DispatchError> {
        let subscriptions = Arc::new(webhooks.subscriptions(HealthPolicy::default()));
        Dispatcher::builder(store, subscriptions)
            .guard(local_guard())
            .observer(self.log.clone())
            .build()
    }

    /// Dispatches `envelope` to the customer's webhooks that want it, and
    /// says how many.
    async fn dispatch<S: DeliveryStore, C: WebhookBackend, D: Deliverable>(
        &self,
        dispatcher: &Dispatcher<S, StoredSubscriptions<C>>,
        envelope: &D,
    ) -> Result<usize, DispatchError> {
        let dispatched = dispatcher.dispatch_for(&self.owner, envelope).await?;
        let to: Vec<String> = dispatched
            .queued()
            .iter()
            .map(ToString::to_string)
            .collect();
        println!(
            "   {} `{}` -> webhooks {to:?}",
            dispatched.envelope_id(),
            envelope.event_type(),
        );
        Ok(dispatched.queued().len())
    }

    fn fail_first(&self, envelope_id: &str, times: u32) {
        self.titan_route
            .fail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(envelope_id.to_owned(), times);
    }

    /// Steps 3 to 5: delivery, the delivery log, and attacks on the receiver.
    async fn deliver_and_attack<S: DeliveryStore>(
        &mut self,
        store: S,
    ) -> Result<bool, Box<dyn std::error::Error>> {
        let dispatcher = self.dispatcher(&self.webhooks, store)?;
        let running = dispatcher.start();

        println!("\n3. Dispatching Titan and Eventium events");
        let flaky = Envelope::new(
            TitanEvent::MessageReceived,
            "sales",
            serde_json::json!({"text": "this one fails twice"}),
        );
        self.fail_first(flaky.id(), 2);
        let envelopes = vec![
            Envelope::new(
                TitanEvent::MessageReceived,
                "sales",
                serde_json::json!({"from": "15551234567", "text": "Hi!"}),
            ),
            Envelope::new(
                TitanEvent::SessionStatus,
                "sales",
                serde_json::json!({"status": "CONNECTED"}),
            ),
            Envelope::new(
                TitanEvent::CallMissed,
                "support",
                serde_json::json!({"from": "15557654321"}),
            ),
            flaky,
            Envelope::new(
                TitanEvent::GroupUpdate,
                "sales",
                serde_json::json!({"group": "team"}),
            ),
        ];
        let mut expected = 0usize;
        for envelope in &envelopes {
            expected = expected.saturating_add(self.dispatch(&dispatcher, envelope).await?);
        }
        let eventium = [
            EventiumEnvelope::new(
                EventiumEvent::AgentDeploymentCreated,
                serde_json::json!({"deployment_id": "dep_42", "agent": "support-bot"}),
            ),
            EventiumEnvelope::new(
                EventiumEvent::QuotaThresholdReached,
                serde_json::json!({"scope": "daily", "threshold": 80, "limit": 10000, "count": 8123, "plan": "builder"}),
            ),
            EventiumEnvelope::new(
                EventiumEvent::BillingPlanChanged,
                serde_json::json!({"plan": "scale"}),
            ),
        ];
        for envelope in &eventium {
            expected = expected.saturating_add(self.dispatch(&dispatcher, envelope).await?);
        }

        println!("\n4. The delivery log");
        let mut succeeded = 0usize;
        for _ in 0..expected {
            if self.next_final_attempt().await?.succeeded() {
                succeeded = succeeded.saturating_add(1);
            }
        }

        println!("\n5. Attacks on the receiver");
        let (tampered_status, replayed_status) = self.attack().await?;

        let report = running.shutdown(Duration::from_secs(5)).await?;
        println!(
            "\n{succeeded} of {expected} deliveries made; {} still open, {} interrupted",
            report.open.len(),
            report.interrupted.len()
        );
        Ok(succeeded == expected
            && tampered_status == reqwest::StatusCode::UNAUTHORIZED
            && replayed_status == reqwest::StatusCode::OK)
    }

    /// Prints attempts from the log until one is its delivery's last, and
    /// returns that one.
    async fn next_final_attempt(&mut self) -> Result<DeliveryAttempt, Box<dyn std::error::Error>> {
        loop {
            let event = tokio::time::timeout(Duration::from_secs(30), self.events.recv())
                .await?
                .ok_or("the delivery log closed")?;
            let DeliveryEvent::Attempted(attempt) = event else {
                continue;
            };
            println!("   {}", describe(&attempt));
            if attempt.next.is_final() {
                return Ok(attempt);
            }
        }
    }

    /// Sends the last accepted Titan request again, tampered and as is.
    async fn attack(
        &self,
    ) -> Result<(reqwest::StatusCode, reqwest::StatusCode), Box<dyn std::error::Error>> {
        let last = self
            .titan_route
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let (headers, body) = last.ok_or("no Titan delivery was accepted")?;
        let client = reqwest::Client::new();
        let post = |body: Vec<u8>| {
            client
                .post(format!("{}/titan", self.base))
                .headers(headers.clone())
                .body(body)
                .send()
        };
        let body = body.to_vec();
        let mut tampered = body.clone();
        if let Some(byte) = tampered
            .iter_mut()
            .rev()
            .find(|byte| byte.is_ascii_alphabetic())
        {
            *byte ^= 0x20;
        }
        let tampered_response = post(tampered).await?;
        let tampered_status = tampered_response.status();
        println!(
            "   tampered body:    {} {}",
            tampered_status,
            tampered_response.text().await?
        );
        let replayed_response = post(body).await?;
        let replayed_status = replayed_response.status();
        println!(
            "   replayed request: {} {} (a duplicate: the handler did not run again)",
            replayed_status,
            replayed_response.text().await?
        );
        Ok((tampered_status, replayed_status))
    }

    /// Step 6: a sender stops with a retry pending; a new one opens the
    /// same file with the same sealing key and delivers it, signed with the
    /// stored secret.
    async fn restart(
        &mut self,
        path: &Path,
        sealing_key: &str,
    ) -> Result<bool, Box<dyn std::error::Error>> {
        println!(
            "\n6. A restart with a retry pending, webhooks and queue in {}",
            path.display()
        );
        let first_queue = SqliteStore::open(path).await?;
        let first_webhooks = open_webhooks(first_queue.webhooks(), sealing_key).await?;
        let first = self.dispatcher(&first_webhooks, first_queue)?;
        let running = first.start();
        let envelope = Envelope::new(
            TitanEvent::MessageReceived,
            "sales",
            serde_json::json!({"text": "this one outlives its sender"}),
        );
        self.fail_first(envelope.id(), 1);
        first.dispatch_for(&self.owner, &envelope).await?;
        loop {
            let event = tokio::time::timeout(Duration::from_secs(30), self.events.recv())
                .await?
                .ok_or("the delivery log closed")?;
            if let DeliveryEvent::Attempted(attempt) = event {
                println!("   first sender:  {}", describe(&attempt));
                break;
            }
        }
        let report = running.shutdown(Duration::from_secs(1)).await?;
        drop((first, first_webhooks));
        for open in &report.open {
            println!(
                "   the first sender stops; {} is still open: {:?} after {} attempt(s)",
                open.key, open.state, open.attempts
            );
        }

        // Nothing is shared with the first sender but the file and the key.
        let queue = SqliteStore::open(path).await?;
        let webhooks = open_webhooks(queue.webhooks(), sealing_key).await?;
        let second = self.dispatcher(&webhooks, queue.clone())?;
        let running = second.start();
        println!("   a second sender opens the same file and key, and picks the retry up:");
        let last = self.next_final_attempt().await?;
        running.shutdown(Duration::from_secs(5)).await?;

        let log = queue
            .list_attempts(&DeliveryQuery::for_envelope(envelope.id()))
            .await?;
        println!("   the store's attempt log for {}:", envelope.id());
        for attempt in log.iter().rev() {
            println!("     {}", describe(attempt));
        }
        Ok(report.open.len() == 1 && last.succeeded() && log.len() == 2)
    }
}

/// One line of the delivery log.
fn describe(attempt: &DeliveryAttempt) -> String {
    let outcome = match attempt.outcome {
        AttemptOutcome::Status(status) => format!("HTTP {status}"),
        AttemptOutcome::Failed(kind) => format!("failed ({kind})"),
    };
    let next = match attempt.next {
        NextStep::RetryAt(at) => match at.duration_since(SystemTime::now()) {
            Ok(wait) => format!("retry in {:.1} s", wait.as_secs_f64()),
            Err(_) => "retried".to_owned(),
        },
        NextStep::Succeeded => "delivered".to_owned(),
        other => format!("{other:?}"),
    };
    format!(
        "{} -> webhook {}, attempt {}: {outcome} in {} ms; {next}",
        attempt.key.envelope_id,
        attempt.key.webhook_id,
        attempt.attempt,
        attempt.latency.as_millis()
    )
}
