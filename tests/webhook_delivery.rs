//! The Dispatcher reading webhooks from a `WebhookStore`: catalogs, owners,
//! rotation, health, and webhooks another process created or deleted.
//! Receivers are real servers on 127.0.0.1.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use support::{Reply, Sink};
use titan_webhooks::clock::{Clock, ManualClock};
use titan_webhooks::queue::{
    CancelReason, DeliveryAdmin, DeliveryKey, DeliveryState, DeliveryStore, EnvelopeRecord,
    MemoryStore,
};
use titan_webhooks::retry::RetrySchedule;
use titan_webhooks::subscription::{CreateWebhook, UpdateWebhook, WebhookId};
use titan_webhooks::transport::{DeliveryEvent, Dispatcher};
use titan_webhooks::webhooks::{
    DisabledReason, Flavour, HealthPolicy, Keyring, MemoryWebhooks, Owner, SealingKey,
    StoredSubscriptions, WebhookBackend, WebhookStore,
};
use titan_webhooks::{
    Catalog, Envelope, EventiumEnvelope, EventiumEvent, Scheme, Secret, TitanEvent, UrlGuard,
    Verifier,
};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

const PATIENCE: Duration = Duration::from_secs(20);
const HOUR: Duration = Duration::from_secs(3600);

fn local_guard() -> UrlGuard {
    UrlGuard::new()
        .allow_loopback_for_testing()
        .allow_http_for_testing()
}

fn keyring() -> Keyring {
    Keyring::new(SealingKey::from_bytes(1, [7; 32]))
}

async fn open_store(
    backend: MemoryWebhooks,
    clock: Arc<ManualClock>,
) -> WebhookStore<MemoryWebhooks> {
    WebhookStore::builder(backend, keyring())
        .guard(local_guard())
        .clock(clock)
        .open()
        .await
        .unwrap()
}

struct Harness {
    sink: Sink,
    backend: MemoryWebhooks,
    clock: Arc<ManualClock>,
    store: WebhookStore<MemoryWebhooks>,
    events: UnboundedReceiver<DeliveryEvent>,
    dispatcher: Dispatcher<MemoryStore, StoredSubscriptions<MemoryWebhooks>>,
}

impl Harness {
    async fn new(policy: HealthPolicy, retries: usize) -> Self {
        Self::on(
            MemoryWebhooks::new(),
            policy,
            retries,
            Duration::from_secs(1),
        )
        .await
    }

    async fn on(
        backend: MemoryWebhooks,
        policy: HealthPolicy,
        retries: usize,
        staleness: Duration,
    ) -> Self {
        let clock = Arc::new(ManualClock::new(SystemTime::now()));
        let store = open_store(backend.clone(), Arc::clone(&clock)).await;
        let (observer, events) = unbounded_channel();
        let subscriptions = Arc::new(store.subscriptions(policy).max_staleness(staleness));
        let dispatcher = Dispatcher::builder(MemoryStore::new(), subscriptions)
            .guard(local_guard())
            .observer(observer)
            .default_schedule(
                RetrySchedule::explicit(vec![Duration::from_millis(10); retries]).unwrap(),
            )
            .throttle_floor(Duration::from_millis(10))
            .endpoint_concurrency(1)
            .poll_interval(Duration::from_millis(20))
            .build()
            .unwrap();
        Self {
            sink: Sink::start().await,
            backend,
            clock,
            store,
            events,
            dispatcher,
        }
    }

    async fn create(&self, owner: &Owner, flavour: &Flavour, path: &str) -> (WebhookId, Secret) {
        let created = self
            .store
            .create(owner, flavour, CreateWebhook::new(self.sink.url(path)))
            .await
            .unwrap();
        let secret = flavour
            .scheme()
            .secret_encoding()
            .parse(created.hmac_key().expose())
            .unwrap();
        (created.webhook().id().clone(), secret)
    }

    /// Waits for the delivery of `envelope_id` to `webhook` to reach `state`.
    async fn wait_for_state(&self, envelope_id: &str, webhook: &WebhookId, state: DeliveryState) {
        let key = DeliveryKey::new(envelope_id, webhook.clone());
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.dispatcher.store().state(&key) != Some(state) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{key} is {:?}, not {state:?}",
                self.dispatcher.store().state(&key)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn next_disabled(&mut self) -> (WebhookId, DisabledReason) {
        loop {
            let event = tokio::time::timeout(PATIENCE, self.events.recv())
                .await
                .expect("an observer event")
                .expect("the channel is open");
            if let DeliveryEvent::Disabled { webhook, disabled } = event {
                return (webhook, disabled.reason);
            }
        }
    }
}

fn titan_envelope() -> Envelope<serde_json::Value> {
    Envelope::new(
        TitanEvent::MessageReceived,
        "default",
        serde_json::json!({"text": "hi"}),
    )
}

fn eventium_envelope() -> EventiumEnvelope<serde_json::Value> {
    EventiumEnvelope::new(
        EventiumEvent::AgentDeploymentCreated,
        serde_json::json!({"deployment_id": "dep_1"}),
    )
}

#[tokio::test]
async fn each_catalog_reaches_its_own_endpoints_and_only_the_owners() {
    let h = Harness::new(HealthPolicy::default(), 0).await;
    let acme = Owner::new("acme").unwrap();
    let other = Owner::new("other").unwrap();
    let (titan, titan_secret) = h.create(&acme, &Flavour::titan(), "/titan").await;
    let (eventium, eventium_secret) = h.create(&acme, &Flavour::eventium(), "/eventium").await;
    h.create(&other, &Flavour::eventium(), "/other").await;
    let running = h.dispatcher.start();

    let sent = eventium_envelope();
    let dispatched = h.dispatcher.dispatch_for(&acme, &sent).await.unwrap();
    assert_eq!(dispatched.queued(), std::slice::from_ref(&eventium));
    let sent_titan = titan_envelope();
    let dispatched = h.dispatcher.dispatch_for(&acme, &sent_titan).await.unwrap();
    assert_eq!(dispatched.queued(), std::slice::from_ref(&titan));

    h.sink.wait_for("/eventium", 1).await;
    h.sink.wait_for("/titan", 1).await;
    let eventium_request = &h.sink.received_on("/eventium")[0];
    let body: serde_json::Value = serde_json::from_slice(&eventium_request.body).unwrap();
    assert_eq!(body["type"], "agent.deployment.created");
    assert_eq!(body["id"], sent.id());
    assert!(body.get("created_at").is_some() && body.get("session").is_none());
    Verifier::new(Scheme::eventium(), eventium_secret)
        .verify(&eventium_request.headers, &eventium_request.body)
        .expect("signed the Eventium way with the stored secret");
    let titan_request = &h.sink.received_on("/titan")[0];
    let body: serde_json::Value = serde_json::from_slice(&titan_request.body).unwrap();
    assert_eq!(body["event"], "message.received");
    Verifier::new(Scheme::titan(), titan_secret)
        .verify(&titan_request.headers, &titan_request.body)
        .expect("signed the Titan way with the stored secret");
    running.shutdown(Duration::from_secs(1)).await.unwrap();
    assert!(
        h.sink.received_on("/other").is_empty(),
        "another owner's endpoint got nothing"
    );
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_old_one_until_the_grace_period_ends() {
    let h = Harness::new(HealthPolicy::default(), 0).await;
    let owner = Owner::new("acme").unwrap();
    let standard = Flavour::new(Scheme::standard_webhooks(), Catalog::eventium());
    let (eventium, eventium_old) = h.create(&owner, &Flavour::eventium(), "/eventium").await;
    let (svix, svix_old) = h.create(&owner, &standard, "/standard").await;
    let (titan, titan_old) = h.create(&owner, &Flavour::titan(), "/titan").await;
    let mut new_secrets = Vec::new();
    for (id, flavour) in [
        (&eventium, Flavour::eventium()),
        (&svix, standard.clone()),
        (&titan, Flavour::titan()),
    ] {
        let rotated = h.store.rotate_secret(&owner, id, HOUR).await.unwrap();
        let parsed = flavour
            .scheme()
            .secret_encoding()
            .parse(rotated.hmac_key().expose())
            .unwrap();
        new_secrets.push(parsed);
    }
    let [eventium_new, svix_new, titan_new]: [Secret; 3] = new_secrets.try_into().unwrap();
    let number = |id: &WebhookId| id.to_string().parse::<u64>().unwrap();
    let titan_row = h.backend.fetch(number(&titan)).await.unwrap().unwrap();
    assert_eq!(
        titan_row.previous_secret, None,
        "Titan's header holds one digest, so its old key is not kept"
    );
    let by_text_id = h
        .store
        .get(&owner, &WebhookId::from(titan.to_string()))
        .await
        .unwrap();
    assert!(
        by_text_id.is_some(),
        "an id from a URL path finds the webhook"
    );
    let running = h.dispatcher.start();

    h.dispatcher
        .dispatch_for(&owner, &eventium_envelope())
        .await
        .unwrap();
    h.dispatcher
        .dispatch_for(&owner, &titan_envelope())
        .await
        .unwrap();
    h.sink.wait_for("/eventium", 1).await;
    h.sink.wait_for("/standard", 1).await;
    h.sink.wait_for("/titan", 1).await;
    // The schemes whose header carries both signatures during the grace.
    let rotating = [
        (
            "/eventium",
            Scheme::eventium(),
            &eventium_old,
            &eventium_new,
        ),
        (
            "/standard",
            Scheme::standard_webhooks(),
            &svix_old,
            &svix_new,
        ),
    ];
    for (path, scheme, old, new) in &rotating {
        let request = &h.sink.received_on(path)[0];
        Verifier::new(scheme.clone(), old.clone_secret())
            .verify(&request.headers, &request.body)
            .unwrap_or_else(|err| panic!("{path}: a receiver with only the old secret: {err}"));
        Verifier::new(scheme.clone(), new.clone_secret())
            .verify(&request.headers, &request.body)
            .unwrap_or_else(|err| panic!("{path}: a receiver with only the new secret: {err}"));
    }
    // A second, independent implementation of Standard Webhooks agrees.
    let request = &h.sink.received_on("/standard")[0];
    for secret in [&svix_old, &svix_new] {
        standardwebhooks::Webhook::new(&secret.to_whsec())
            .unwrap()
            .verify(&request.body, &request.headers)
            .expect("the standardwebhooks crate verifies both secrets during the grace period");
    }
    // Titan's header holds one digest: the new key took effect at once.
    let request = &h.sink.received_on("/titan")[0];
    assert!(
        Verifier::new(Scheme::titan(), titan_new.clone_secret())
            .verify(&request.headers, &request.body)
            .is_ok()
    );
    assert!(
        Verifier::new(Scheme::titan(), titan_old)
            .verify(&request.headers, &request.body)
            .is_err()
    );

    h.clock.advance(HOUR + Duration::from_secs(1));
    h.dispatcher
        .dispatch_for(&owner, &eventium_envelope())
        .await
        .unwrap();
    h.sink.wait_for("/eventium", 2).await;
    h.sink.wait_for("/standard", 2).await;
    for (path, scheme, old, new) in &rotating {
        let request = &h.sink.received_on(path)[1];
        assert!(
            Verifier::new(scheme.clone(), new.clone_secret())
                .verify(&request.headers, &request.body)
                .is_ok(),
            "{path}: the new secret verifies after the grace period"
        );
        assert!(
            Verifier::new(scheme.clone(), old.clone_secret())
                .verify(&request.headers, &request.body)
                .is_err(),
            "{path}: the old secret no longer verifies"
        );
    }
    let request = &h.sink.received_on("/standard")[1];
    assert!(
        standardwebhooks::Webhook::new(&svix_old.to_whsec())
            .unwrap()
            .verify(&request.body, &request.headers)
            .is_err()
    );
    for id in [&eventium, &svix] {
        let WebhookId::Number(number) = id else {
            unreachable!()
        };
        let row = h.backend.fetch(*number).await.unwrap().unwrap();
        assert_eq!(
            row.previous_secret, None,
            "the old key is gone from the store"
        );
        assert_eq!(row.previous_expires_at, None);
    }
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn gone_disables_the_webhook_and_its_waiting_deliveries_stay_redeliverable() {
    let mut h = Harness::new(HealthPolicy::default(), 3).await;
    let owner = Owner::new("acme").unwrap();
    let (id, _) = h.create(&owner, &Flavour::titan(), "/gone").await;
    h.sink.script("/gone", [Reply::Status(410)]);
    let first = titan_envelope();
    let second = titan_envelope();
    h.dispatcher.dispatch_for(&owner, &first).await.unwrap();
    h.dispatcher.dispatch_for(&owner, &second).await.unwrap();
    let running = h.dispatcher.start();

    assert_eq!(h.next_disabled().await, (id.clone(), DisabledReason::Gone));
    h.wait_for_state(first.id(), &id, DeliveryState::Exhausted)
        .await;
    h.wait_for_state(second.id(), &id, DeliveryState::Cancelled)
        .await;
    assert_eq!(
        h.sink.received_on("/gone").len(),
        1,
        "nothing is sent to a disabled webhook"
    );
    let stored = h.store.get(&owner, &id).await.unwrap().unwrap();
    assert!(!stored.webhook.enabled());
    let disabled = stored.health.disabled.expect("the reason is recorded");
    assert_eq!(disabled.reason, DisabledReason::Gone);
    assert_eq!(disabled.at, h.clock.now());
    let attempts = h
        .dispatcher
        .store()
        .list_attempts(&titan_webhooks::queue::DeliveryQuery::for_webhook(
            id.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1, "the cancelled delivery made no attempt");

    // New envelopes are not routed to it while it is disabled.
    assert!(
        !h.dispatcher
            .dispatch_for(&owner, &titan_envelope())
            .await
            .unwrap()
            .is_wanted()
    );

    // Re-enabled, its health is reset, and the waiting delivery goes out.
    let mut enable = UpdateWebhook::default();
    enable.enabled = Some(true);
    h.store.update(&owner, &id, enable).await.unwrap();
    assert!(
        h.store
            .get(&owner, &id)
            .await
            .unwrap()
            .unwrap()
            .health
            .is_healthy()
    );
    let now = SystemTime::now();
    let redelivered = h
        .dispatcher
        .store()
        .redeliver_webhook(&id, now)
        .await
        .unwrap();
    assert_eq!(
        redelivered, 2,
        "the delivery that met 410 and the one cancelled"
    );
    h.dispatcher.wake();
    h.wait_for_state(first.id(), &id, DeliveryState::Succeeded)
        .await;
    h.wait_for_state(second.id(), &id, DeliveryState::Succeeded)
        .await;
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn an_endpoint_failing_for_the_configured_time_is_disabled() {
    let policy = HealthPolicy::default().max_failing(Duration::from_secs(5 * 24 * 3600));
    let mut h = Harness::new(policy, 0).await;
    let owner = Owner::new("acme").unwrap();
    let (id, _) = h.create(&owner, &Flavour::titan(), "/down").await;
    h.sink
        .script("/down", std::iter::repeat_n(Reply::Status(500), 10));
    let running = h.dispatcher.start();

    let first = titan_envelope();
    h.dispatcher.dispatch_for(&owner, &first).await.unwrap();
    h.wait_for_state(first.id(), &id, DeliveryState::Exhausted)
        .await;
    let health = h.store.get(&owner, &id).await.unwrap().unwrap().health;
    assert_eq!(health.failing_since, Some(h.clock.now()));
    assert!(health.disabled.is_none(), "one failure does not disable");

    // Four days later it still fails, but has not failed for five days.
    h.clock.advance(Duration::from_secs(4 * 24 * 3600));
    let second = titan_envelope();
    h.dispatcher.dispatch_for(&owner, &second).await.unwrap();
    h.wait_for_state(second.id(), &id, DeliveryState::Exhausted)
        .await;
    assert!(
        h.store
            .get(&owner, &id)
            .await
            .unwrap()
            .unwrap()
            .webhook
            .enabled()
    );

    h.clock.advance(Duration::from_secs(24 * 3600));
    let third = titan_envelope();
    h.dispatcher.dispatch_for(&owner, &third).await.unwrap();
    assert_eq!(
        h.next_disabled().await,
        (id.clone(), DisabledReason::Failing)
    );
    let stored = h.store.get(&owner, &id).await.unwrap().unwrap();
    assert!(!stored.webhook.enabled());
    assert_eq!(
        stored.health.disabled.map(|d| d.reason),
        Some(DisabledReason::Failing)
    );
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn consecutive_exhausted_deliveries_disable_at_the_limit_and_a_success_resets_the_count() {
    let policy = HealthPolicy::default().max_exhausted_in_a_row(Some(2));
    let mut h = Harness::new(policy, 0).await;
    let owner = Owner::new("acme").unwrap();
    let (id, _) = h.create(&owner, &Flavour::titan(), "/flaky").await;
    h.sink.script(
        "/flaky",
        [
            Reply::Status(500),
            Reply::Status(200),
            Reply::Status(500),
            Reply::Status(500),
        ],
    );
    let running = h.dispatcher.start();

    for expected in [
        DeliveryState::Exhausted,
        DeliveryState::Succeeded,
        DeliveryState::Exhausted,
    ] {
        let sent = titan_envelope();
        h.dispatcher.dispatch_for(&owner, &sent).await.unwrap();
        h.wait_for_state(sent.id(), &id, expected).await;
    }
    let health = h.store.get(&owner, &id).await.unwrap().unwrap().health;
    assert_eq!(
        health.exhausted_in_a_row, 1,
        "the success in between reset the count"
    );
    assert!(health.disabled.is_none());

    let sent = titan_envelope();
    h.dispatcher.dispatch_for(&owner, &sent).await.unwrap();
    assert_eq!(
        h.next_disabled().await,
        (id.clone(), DisabledReason::Exhausted)
    );
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn a_webhook_another_process_created_is_read_from_the_store_and_a_deleted_one_is_cancelled() {
    let backend = MemoryWebhooks::new();
    // Compare revisions on every lookup, so the test need not wait out the
    // staleness bound.
    let mut h = Harness::on(backend.clone(), HealthPolicy::default(), 0, Duration::ZERO).await;
    // The other process: its own store handle and cache over the same data.
    let elsewhere = open_store(backend, Arc::new(ManualClock::new(SystemTime::now()))).await;
    let owner = Owner::new("acme").unwrap();
    let running = h.dispatcher.start();
    // This process has looked at the owner's webhooks before they existed.
    assert!(
        !h.dispatcher
            .dispatch_for(&owner, &titan_envelope())
            .await
            .unwrap()
            .is_wanted()
    );

    let created = elsewhere
        .create(
            &owner,
            &Flavour::titan(),
            CreateWebhook::new(h.sink.url("/new")),
        )
        .await
        .unwrap();
    let id = created.webhook().id().clone();
    // The other process queues a delivery for it.
    let sent = titan_envelope();
    let record = EnvelopeRecord::from_envelope(&sent).unwrap();
    h.dispatcher
        .store()
        .enqueue(&record, std::slice::from_ref(&id))
        .await
        .unwrap();
    h.dispatcher.wake();
    h.wait_for_state(sent.id(), &id, DeliveryState::Succeeded)
        .await;
    let secret = Secret::from_utf8(created.hmac_key().expose()).unwrap();
    let request = &h.sink.received_on("/new")[0];
    Verifier::new(Scheme::titan(), secret)
        .verify(&request.headers, &request.body)
        .unwrap();

    // Within the staleness bound, this process routes to it too.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let routed = h
            .dispatcher
            .prepare_for(&owner, &titan_envelope())
            .await
            .unwrap();
        if routed.webhooks == [id.clone()] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never routed to the new webhook"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Deleted elsewhere: a delivery still queued is cancelled, once this
    // process has seen the store say so.
    assert!(elsewhere.delete(&owner, &id).await.unwrap());
    let late = titan_envelope();
    let record = EnvelopeRecord::from_envelope(&late).unwrap();
    h.dispatcher
        .store()
        .enqueue(&record, std::slice::from_ref(&id))
        .await
        .unwrap();
    h.dispatcher.wake();
    let cancelled = loop {
        let event = tokio::time::timeout(PATIENCE, h.events.recv())
            .await
            .unwrap()
            .unwrap();
        if let DeliveryEvent::Cancelled { key, reason } = event {
            break (key, reason);
        }
    };
    assert_eq!(
        cancelled,
        (
            DeliveryKey::new(late.id(), id.clone()),
            CancelReason::WebhookRemoved
        )
    );
    assert_eq!(
        h.dispatcher.store().state(&cancelled.0),
        Some(DeliveryState::Cancelled)
    );
    assert_eq!(h.sink.received_on("/new").len(), 1);
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}
