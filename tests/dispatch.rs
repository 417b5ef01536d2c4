//! The Dispatcher against real HTTP receivers on 127.0.0.1.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use support::{Reply, Sink};
use titan_webhooks::queue::{
    CancelReason, DeliveryAttempt, DeliveryKey, DeliveryState, DeliveryStore, MAX_RECORDED_BODY,
    MemoryStore, Subscription, SubscriptionRegistry,
};
use titan_webhooks::retry::RetrySchedule;
use titan_webhooks::retry::{AttemptOutcome, FailureKind, NextStep};
use titan_webhooks::subscription::{CreateWebhook, CustomHeader, UpdateWebhook, WebhookRules};
use titan_webhooks::transport::{DeliveryEvent, DispatchOutcome, Dispatcher};
use titan_webhooks::webhooks::DisabledReason;
use titan_webhooks::{Envelope, Scheme, Secret, TitanEvent, UrlGuard, Verifier};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

const PATIENCE: Duration = Duration::from_secs(20);

fn local_guard() -> UrlGuard {
    UrlGuard::new()
        .allow_loopback_for_testing()
        .allow_http_for_testing()
}

/// Retries `count` times, 10 ms apart.
fn quick(count: usize) -> RetrySchedule {
    RetrySchedule::explicit(vec![Duration::from_millis(10); count]).unwrap()
}

struct Harness {
    sink: Sink,
    registry: Arc<SubscriptionRegistry>,
    events: UnboundedReceiver<DeliveryEvent>,
    /// Attempts received while waiting for another delivery's.
    backlog: Vec<DeliveryAttempt>,
    dispatcher: Dispatcher<MemoryStore>,
}

impl Harness {
    async fn new(
        configure: impl FnOnce(
            titan_webhooks::transport::DispatcherBuilder<MemoryStore>,
        ) -> titan_webhooks::transport::DispatcherBuilder<MemoryStore>,
    ) -> Self {
        let sink = Sink::start().await;
        let registry = Arc::new(SubscriptionRegistry::new());
        let (observer, events) = unbounded_channel();
        let builder = Dispatcher::builder(MemoryStore::new(), Arc::clone(&registry))
            .guard(local_guard())
            .observer(observer)
            .request_timeout(Duration::from_secs(5))
            .throttle_floor(Duration::from_millis(10))
            .poll_interval(Duration::from_millis(20));
        let dispatcher = configure(builder).build().unwrap();
        Self {
            sink,
            registry,
            events,
            backlog: Vec::new(),
            dispatcher,
        }
    }

    /// Subscribes webhook `id` at `path` and returns its key.
    fn subscribe(
        &self,
        id: u64,
        path: &str,
        scheme: Scheme,
        schedule: RetrySchedule,
        edit: impl FnOnce(&mut CreateWebhook),
    ) -> Secret {
        let mut request = CreateWebhook::new(self.sink.url(path));
        edit(&mut request);
        let rules = WebhookRules::with_scheme(local_guard(), scheme.clone());
        let (webhook, secret) = rules.create(id.into(), request).unwrap().into_parts();
        self.registry.upsert(
            Subscription::new(webhook, scheme, secret.clone_secret()).with_schedule(schedule),
        );
        secret
    }

    /// Subscribes webhook 1 at `url`, created under `rules`' guard rather
    /// than the sink's, with Titan signing and one quick attempt.
    fn subscribe_url(&self, rules: &WebhookRules, url: String) {
        let (webhook, secret) = rules
            .create(1.into(), CreateWebhook::new(url))
            .unwrap()
            .into_parts();
        self.registry
            .upsert(Subscription::new(webhook, Scheme::titan(), secret).with_schedule(quick(0)));
    }

    /// Disables webhook `id`, which was subscribed with `secret`.
    fn disable(&self, id: u64, secret: Secret) {
        let webhook = self.registry.get(&id.into()).unwrap().webhook().clone();
        let mut off = UpdateWebhook::default();
        off.enabled = Some(false);
        let webhook = WebhookRules::new(local_guard())
            .update(&webhook, off)
            .unwrap()
            .into_webhook();
        self.registry
            .upsert(Subscription::new(webhook, Scheme::titan(), secret));
    }

    /// Starts the dispatcher and checks that the delivery of `sent` to
    /// webhook 1 is cancelled for `reason`, with nothing sent.
    async fn expect_cancelled(&mut self, sent: &Envelope<serde_json::Value>, reason: CancelReason) {
        let running = self.dispatcher.start();
        let event = tokio::time::timeout(PATIENCE, self.events.recv())
            .await
            .unwrap();
        let key = DeliveryKey::new(sent.id(), 1.into());
        assert_eq!(
            event,
            Some(DeliveryEvent::Cancelled {
                key: key.clone(),
                reason
            })
        );
        assert_eq!(
            self.dispatcher.store().state(&key),
            Some(DeliveryState::Cancelled)
        );
        assert!(self.sink.received().is_empty());
        running.shutdown(Duration::from_secs(1)).await.unwrap();
    }

    /// The attempts of `key` up to its final one, from the observer.
    async fn attempts_of(&mut self, key: &DeliveryKey) -> Vec<DeliveryAttempt> {
        let (mut attempts, others): (Vec<_>, Vec<_>) = std::mem::take(&mut self.backlog)
            .into_iter()
            .partition(|a| &a.key == key);
        self.backlog = others;
        if attempts.last().is_some_and(|a| a.next.is_final()) {
            return attempts;
        }
        let backlog = &mut self.backlog;
        let events = &mut self.events;
        tokio::time::timeout(PATIENCE, async {
            while let Some(event) = events.recv().await {
                if let DeliveryEvent::Attempted(attempt) = event {
                    if &attempt.key != key {
                        backlog.push(attempt);
                        continue;
                    }
                    let last = attempt.next.is_final();
                    attempts.push(attempt);
                    if last {
                        return;
                    }
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no final attempt for {key}; got {attempts:?}"));
        attempts
    }
}

fn envelope(session: &str) -> Envelope<serde_json::Value> {
    Envelope::new(
        TitanEvent::MessageReceived,
        session,
        serde_json::json!({"text": "hi 👋"}),
    )
}

#[tokio::test]
async fn custom_headers_never_replace_or_repeat_signed_or_framing_headers() {
    let h = Harness::new(|b| b).await;
    // Valid under Titan's rules, then signed the Eventium way, as a
    // webhook from elsewhere may be: its own headers must not go out.
    let mut request = CreateWebhook::new(h.sink.url("/mixed"));
    request.headers = Some(vec![
        CustomHeader::new("X-TitanVX-Signature", "t=1,v1=forged"),
        CustomHeader::new("X-App-ID", "my-app"),
    ]);
    let (webhook, secret) = WebhookRules::new(local_guard())
        .create(1.into(), request)
        .unwrap()
        .into_parts();
    h.registry.upsert(
        Subscription::new(webhook, Scheme::eventium(), secret.clone_secret())
            .with_schedule(quick(0)),
    );
    let running = h.dispatcher.start();
    h.dispatcher.dispatch(&envelope("default")).await.unwrap();
    h.sink.wait_for("/mixed", 1).await;
    running.shutdown(Duration::from_secs(1)).await.unwrap();

    let request = &h.sink.received_on("/mixed")[0];
    let signatures: Vec<_> = request
        .headers
        .get_all("x-titanvx-signature")
        .iter()
        .collect();
    assert_eq!(signatures.len(), 1, "{signatures:?}");
    assert!(!signatures[0].to_str().unwrap().contains("forged"));
    assert_eq!(request.headers["x-app-id"], "my-app");
    Verifier::new(Scheme::eventium(), secret)
        .verify(&request.headers, &request.body)
        .unwrap();
}

#[tokio::test]
async fn a_delivery_is_signed_sent_and_recorded() {
    let mut h = Harness::new(|b| b).await;
    let secret = h.subscribe(1, "/hook", Scheme::titan(), quick(0), |r| {
        r.headers = Some(vec![CustomHeader::new("X-App-ID", "my-app")]);
    });
    let running = h.dispatcher.start();
    let sent = envelope("default");
    let dispatched = h.dispatcher.dispatch(&sent).await.unwrap();
    assert_eq!(dispatched.queued(), [1.into()]);
    let key = DeliveryKey::new(sent.id(), 1.into());

    let attempts = h.attempts_of(&key).await;
    assert_eq!(attempts.len(), 1);
    let attempt = &attempts[0];
    assert_eq!(attempt.attempt, 1);
    assert_eq!(attempt.outcome, AttemptOutcome::Status(200));
    assert_eq!(attempt.next, NextStep::Succeeded);
    assert_eq!(attempt.remote_ip, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    assert_eq!(attempt.response_body, b"ok");
    assert_eq!(
        h.dispatcher.store().state(&key),
        Some(DeliveryState::Succeeded)
    );

    let received = h.sink.received_on("/hook");
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.headers["x-app-id"], "my-app");
    let agent = request.headers["user-agent"].to_str().unwrap();
    assert!(agent.starts_with("titan-webhooks/"), "{agent}");
    let verified = Verifier::new(Scheme::titan(), secret)
        .verify_json::<Envelope>(&request.headers, &request.body)
        .unwrap();
    assert_eq!(
        *verified,
        serde_json::from_value::<Envelope>(serde_json::to_value(&sent).unwrap()).unwrap()
    );
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn a_failure_then_success_retries_with_the_same_id_and_a_fresh_timestamp() {
    let mut h = Harness::new(|b| b).await;
    let schedule = RetrySchedule::explicit([Duration::from_millis(1100)]).unwrap();
    let secret = h.subscribe(1, "/hook", Scheme::standard_webhooks(), schedule, |_| {});
    h.sink
        .script("/hook", [Reply::Status(500), Reply::Status(200)]);
    let running = h.dispatcher.start();
    let sent = envelope("default");
    h.dispatcher.dispatch(&sent).await.unwrap();

    let attempts = h.attempts_of(&DeliveryKey::new(sent.id(), 1.into())).await;
    let outcomes: Vec<_> = attempts.iter().map(|a| (a.attempt, a.outcome)).collect();
    assert_eq!(
        outcomes,
        [
            (1, AttemptOutcome::Status(500)),
            (2, AttemptOutcome::Status(200))
        ]
    );
    assert!(matches!(attempts[0].next, NextStep::RetryAt(_)));

    let received = h.sink.received_on("/hook");
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].headers["webhook-id"], sent.id());
    assert_eq!(received[1].headers["webhook-id"], sent.id());
    assert_eq!(received[0].body, received[1].body);
    let stamp = |i: usize| -> u64 {
        received[i].headers["webhook-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(
        stamp(1) > stamp(0),
        "each attempt is signed at its own time"
    );
    let verifier = Verifier::new(Scheme::standard_webhooks(), secret);
    for request in &received {
        verifier.verify(&request.headers, &request.body).unwrap();
    }
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn exhaustion_records_every_attempt() {
    let mut h = Harness::new(|b| b).await;
    h.subscribe(1, "/down", Scheme::titan(), quick(2), |_| {});
    h.sink.script("/down", vec![Reply::Status(500); 10]);
    let running = h.dispatcher.start();
    let sent = envelope("default");
    h.dispatcher.dispatch(&sent).await.unwrap();
    let key = DeliveryKey::new(sent.id(), 1.into());

    let attempts = h.attempts_of(&key).await;
    assert_eq!(
        attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(
        attempts
            .iter()
            .all(|a| a.outcome == AttemptOutcome::Status(500))
    );
    assert_eq!(attempts[2].next, NextStep::GaveUp);
    assert_eq!(
        h.dispatcher.store().state(&key),
        Some(DeliveryState::Exhausted)
    );
    assert_eq!(h.dispatcher.store().attempts().len(), 3);
    assert_eq!(h.sink.received_on("/down").len(), 3);
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn a_timeout_is_recorded_and_retried() {
    let mut h = Harness::new(|b| b.request_timeout(Duration::from_millis(300))).await;
    h.subscribe(1, "/slow", Scheme::titan(), quick(1), |_| {});
    h.sink.script(
        "/slow",
        [Reply::After(
            Duration::from_secs(3),
            Box::new(Reply::Status(200)),
        )],
    );
    let running = h.dispatcher.start();
    let sent = envelope("default");
    h.dispatcher.dispatch(&sent).await.unwrap();

    let attempts = h.attempts_of(&DeliveryKey::new(sent.id(), 1.into())).await;
    assert_eq!(
        attempts[0].outcome,
        AttemptOutcome::Failed(FailureKind::Timeout)
    );
    assert!(matches!(attempts[0].next, NextStep::RetryAt(_)));
    assert_eq!(attempts[1].outcome, AttemptOutcome::Status(200));
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn retry_after_lengthens_the_next_delay() {
    let mut h = Harness::new(|b| b).await;
    h.subscribe(1, "/busy", Scheme::titan(), quick(1), |_| {});
    h.sink.script(
        "/busy",
        [
            Reply::WithHeaders(503, vec![("retry-after", "2".to_owned())]),
            Reply::Status(200),
        ],
    );
    let running = h.dispatcher.start();
    let sent = envelope("default");
    h.dispatcher.dispatch(&sent).await.unwrap();

    let attempts = h.attempts_of(&DeliveryKey::new(sent.id(), 1.into())).await;
    let NextStep::RetryAt(at) = attempts[0].next else {
        panic!("{attempts:?}");
    };
    let scheduled = at.duration_since(attempts[0].started_at).unwrap();
    assert!(
        scheduled >= Duration::from_secs(2),
        "scheduled after {scheduled:?}, not 10 ms"
    );
    assert_eq!(attempts[1].outcome, AttemptOutcome::Status(200));
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn a_retry_too_far_away_to_store_is_given_up() {
    // Past the year 294 247 no store can keep the time; the delivery is
    // exhausted, so it can be redelivered, rather than never due.
    let mut h = Harness::new(|b| b.max_retry_after(Duration::MAX)).await;
    h.subscribe(1, "/busy", Scheme::titan(), quick(1), |_| {});
    let ten_trillion_seconds = "10000000000000".to_owned();
    h.sink.script(
        "/busy",
        [Reply::WithHeaders(
            503,
            vec![("retry-after", ten_trillion_seconds)],
        )],
    );
    let running = h.dispatcher.start();
    let sent = envelope("default");
    h.dispatcher.dispatch(&sent).await.unwrap();

    let key = DeliveryKey::new(sent.id(), 1.into());
    let attempts = h.attempts_of(&key).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].next, NextStep::GaveUp);
    assert_eq!(
        h.dispatcher.store().state(&key),
        Some(DeliveryState::Exhausted)
    );
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn redirects_are_recorded_and_never_followed() {
    let mut h = Harness::new(|b| b).await;
    h.subscribe(1, "/moved", Scheme::titan(), quick(0), |_| {});
    h.sink.script(
        "/moved",
        [Reply::WithHeaders(
            302,
            vec![("location", "/elsewhere".to_owned())],
        )],
    );
    let running = h.dispatcher.start();
    let sent = envelope("default");
    h.dispatcher.dispatch(&sent).await.unwrap();

    let attempts = h.attempts_of(&DeliveryKey::new(sent.id(), 1.into())).await;
    assert_eq!(attempts[0].outcome, AttemptOutcome::Status(302));
    assert_eq!(attempts[0].location.as_deref(), Some("/elsewhere"));
    assert_eq!(attempts[0].next, NextStep::GaveUp);
    assert!(h.sink.received_on("/elsewhere").is_empty());
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn response_bodies_are_bounded_in_size_and_time() {
    let mut h = Harness::new(|b| b.request_timeout(Duration::from_millis(600))).await;
    h.subscribe(1, "/trickle", Scheme::titan(), quick(0), |_| {});
    h.subscribe(2, "/large", Scheme::titan(), quick(0), |_| {});
    h.sink
        .script("/trickle", [Reply::Trickle(Duration::from_millis(50))]);
    h.sink.script("/large", [Reply::Large(4 * 1024 * 1024)]);
    let running = h.dispatcher.start();
    let sent = envelope("default");
    h.dispatcher.dispatch(&sent).await.unwrap();

    let trickle = h.attempts_of(&DeliveryKey::new(sent.id(), 1.into())).await;
    assert_eq!(
        trickle[0].outcome,
        AttemptOutcome::Status(200),
        "the receiver did answer 200"
    );
    assert!(
        trickle[0].response_body.len() < 100,
        "{} bytes",
        trickle[0].response_body.len()
    );
    assert!(
        trickle[0]
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("body"),
        "{:?}",
        trickle[0].detail
    );

    let large = h.attempts_of(&DeliveryKey::new(sent.id(), 2.into())).await;
    assert_eq!(large[0].response_body.len(), MAX_RECORDED_BODY);
    assert!(large[0].response_truncated);
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn one_envelope_fans_out_to_a_hundred_endpoints() {
    let mut h = Harness::new(|b| b.concurrency(32)).await;
    for id in 0..100 {
        h.subscribe(
            id,
            &format!("/hook/{id}"),
            Scheme::eventium(),
            quick(0),
            |_| {},
        );
    }
    let running = h.dispatcher.start();
    let sent = envelope("default");
    let dispatched = h.dispatcher.dispatch(&sent).await.unwrap();
    assert_eq!(dispatched.queued().len(), 100);

    for id in 0..100u64 {
        let attempts = h.attempts_of(&DeliveryKey::new(sent.id(), id.into())).await;
        assert_eq!(attempts.len(), 1);
        assert!(attempts[0].succeeded());
    }
    let first = h.sink.received_on("/hook/0")[0].body.clone();
    for id in 0..100 {
        let received = h.sink.received_on(&format!("/hook/{id}"));
        assert_eq!(received.len(), 1, "/hook/{id}");
        assert_eq!(
            received[0].body, first,
            "the same serialized bytes to every endpoint"
        );
    }
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn filters_and_disabled_webhooks_decide_who_gets_a_delivery() {
    let h = Harness::new(|b| b).await;
    h.subscribe(1, "/sales", Scheme::titan(), quick(0), |r| {
        r.session = Some("sales".into())
    });
    h.subscribe(2, "/calls", Scheme::titan(), quick(0), |r| {
        r.events = Some(vec!["call.missed".into()])
    });
    h.subscribe(3, "/everything", Scheme::titan(), quick(0), |_| {});
    let disabled = h.subscribe(4, "/disabled", Scheme::titan(), quick(0), |_| {});
    h.disable(4, disabled);

    let dispatched = h.dispatcher.dispatch(&envelope("support")).await.unwrap();
    assert_eq!(dispatched.queued(), [3.into()]);
    let dispatched = h.dispatcher.dispatch(&envelope("sales")).await.unwrap();
    let mut ids = dispatched.into_queued();
    ids.sort();
    assert_eq!(ids, [1.into(), 3.into()]);

    let running = h.dispatcher.start();
    h.sink.wait_for("/everything", 2).await;
    h.sink.wait_for("/sales", 1).await;
    running.shutdown(Duration::from_secs(1)).await.unwrap();
    assert_eq!(h.sink.received_on("/sales").len(), 1);
    assert!(h.sink.received_on("/calls").is_empty());
    assert!(h.sink.received_on("/disabled").is_empty());
}

#[tokio::test]
async fn a_webhook_disabled_after_queueing_gets_its_delivery_cancelled() {
    let mut h = Harness::new(|b| b).await;
    let secret = h.subscribe(1, "/hook", Scheme::titan(), quick(0), |_| {});
    let sent = envelope("default");
    h.dispatcher.dispatch(&sent).await.unwrap();
    h.disable(1, secret);
    h.expect_cancelled(&sent, CancelReason::WebhookDisabled)
        .await;
}

/// The keys of the deliveries the store has open, sorted.
async fn open_keys(h: &Harness) -> Vec<DeliveryKey> {
    let mut keys: Vec<_> = h
        .dispatcher
        .store()
        .open_deliveries()
        .await
        .unwrap()
        .into_iter()
        .map(|open| open.key)
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_new_envelope_is_queued_for_every_webhook_that_wants_it() {
    let h = Harness::new(|b| b).await;
    h.subscribe(1, "/one", Scheme::titan(), quick(0), |_| {});
    h.subscribe(2, "/two", Scheme::titan(), quick(0), |_| {});
    let sent = envelope("default");

    let dispatched = h.dispatcher.dispatch(&sent).await.unwrap();
    assert_eq!(dispatched.outcome(), DispatchOutcome::Queued);
    assert!(dispatched.is_new() && dispatched.is_wanted());
    assert_eq!(dispatched.envelope_id(), sent.id());
    let mut queued = dispatched.queued().to_vec();
    queued.sort();
    assert_eq!(queued, [1.into(), 2.into()]);
    assert!(dispatched.already_queued().is_empty());
    assert_eq!(
        open_keys(&h).await,
        [
            DeliveryKey::new(sent.id(), 1.into()),
            DeliveryKey::new(sent.id(), 2.into())
        ]
    );
}

#[tokio::test]
async fn dispatching_the_same_envelope_twice_queues_it_once() {
    let h = Harness::new(|b| b).await;
    h.subscribe(1, "/hook", Scheme::titan(), quick(0), |_| {});
    let sent = envelope("default");
    assert_eq!(
        h.dispatcher.dispatch(&sent).await.unwrap().outcome(),
        DispatchOutcome::Queued
    );

    let again = h.dispatcher.dispatch(&sent).await.unwrap();
    assert_eq!(again.outcome(), DispatchOutcome::AlreadyQueued);
    assert!(!again.is_new());
    assert!(again.is_wanted(), "a duplicate is not an unwanted envelope");
    assert!(again.queued().is_empty());
    assert_eq!(again.already_queued(), [1.into()]);
    assert_eq!(open_keys(&h).await, [DeliveryKey::new(sent.id(), 1.into())]);
}

#[tokio::test]
async fn an_envelope_no_webhook_wants_is_not_queued_and_says_so() {
    let h = Harness::new(|b| b).await;
    h.subscribe(1, "/sales", Scheme::titan(), quick(0), |r| {
        r.session = Some("sales".into())
    });
    let sent = envelope("support");

    let dispatched = h.dispatcher.dispatch(&sent).await.unwrap();
    assert_eq!(dispatched.outcome(), DispatchOutcome::NoWebhook);
    assert!(!dispatched.is_new() && !dispatched.is_wanted());
    assert!(dispatched.queued().is_empty() && dispatched.already_queued().is_empty());
    assert_eq!(
        h.dispatcher.dispatch(&sent).await.unwrap().outcome(),
        DispatchOutcome::NoWebhook,
        "unwanted twice is still unwanted, not a duplicate"
    );
    assert!(open_keys(&h).await.is_empty());
}

#[tokio::test]
async fn an_envelope_new_to_some_webhooks_names_both_kinds() {
    let h = Harness::new(|b| b).await;
    h.subscribe(1, "/one", Scheme::titan(), quick(0), |_| {});
    let sent = envelope("default");
    assert_eq!(
        h.dispatcher.dispatch(&sent).await.unwrap().queued(),
        [1.into()]
    );
    // Webhooks created since want it too; only they get a new delivery.
    h.subscribe(2, "/two", Scheme::titan(), quick(0), |_| {});
    h.subscribe(3, "/three", Scheme::titan(), quick(0), |_| {});

    let dispatched = h.dispatcher.dispatch(&sent).await.unwrap();
    assert_eq!(dispatched.outcome(), DispatchOutcome::PartlyQueued);
    assert!(dispatched.is_new() && dispatched.is_wanted());
    let mut queued = dispatched.queued().to_vec();
    queued.sort();
    assert_eq!(queued, [2.into(), 3.into()]);
    assert_eq!(dispatched.already_queued(), [1.into()]);
    assert_eq!(
        open_keys(&h).await,
        [
            DeliveryKey::new(sent.id(), 1.into()),
            DeliveryKey::new(sent.id(), 2.into()),
            DeliveryKey::new(sent.id(), 3.into())
        ]
    );
    assert_eq!(
        h.dispatcher.dispatch(&sent).await.unwrap().outcome(),
        DispatchOutcome::AlreadyQueued
    );
}

#[tokio::test]
async fn gone_disables_the_webhook_and_tells_the_observer() {
    let mut h = Harness::new(|b| b).await;
    h.subscribe(7, "/gone", Scheme::titan(), quick(5), |_| {});
    h.sink.script("/gone", [Reply::Status(410)]);
    let running = h.dispatcher.start();
    let sent = envelope("default");
    h.dispatcher.dispatch(&sent).await.unwrap();
    let key = DeliveryKey::new(sent.id(), 7.into());

    let attempts = h.attempts_of(&key).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].next, NextStep::Disabled);
    let disable = tokio::time::timeout(PATIENCE, h.events.recv())
        .await
        .unwrap();
    match disable {
        Some(DeliveryEvent::Disabled { webhook, disabled }) => {
            assert_eq!(webhook, 7.into());
            assert_eq!(disabled.reason, DisabledReason::Gone);
        }
        other => panic!("expected the webhook disabled, got {other:?}"),
    }
    assert!(
        !h.registry.get(&7.into()).unwrap().webhook().enabled(),
        "the registry's copy is disabled"
    );
    assert_eq!(
        h.dispatcher.store().state(&key),
        Some(DeliveryState::Exhausted)
    );
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// Resolves every name to 127.0.0.1, as DNS rebinding would.
struct ToLoopback;

impl Resolve for ToLoopback {
    fn resolve(&self, _: Name) -> Resolving {
        Box::pin(async {
            let addresses: Addrs =
                Box::new(std::iter::once(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))));
            Ok(addresses)
        })
    }
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_is_refused_at_connect_time() {
    // Without the loopback allowance: refused when connecting.
    let mut h = Harness::new(|b| {
        b.guard(UrlGuard::new().allow_http_for_testing())
            .dns_lookup(Arc::new(ToLoopback))
    })
    .await;
    let url = format!("http://rebind.example.com:{}/hook", h.sink.addr.port());
    let rules = WebhookRules::new(UrlGuard::new().allow_http_for_testing());
    h.subscribe_url(&rules, url);
    let running = h.dispatcher.start();
    let sent = envelope("default");
    h.dispatcher.dispatch(&sent).await.unwrap();

    let attempts = h.attempts_of(&DeliveryKey::new(sent.id(), 1.into())).await;
    assert_eq!(
        attempts[0].outcome,
        AttemptOutcome::Failed(FailureKind::RefusedByGuard)
    );
    let detail = attempts[0].detail.clone().unwrap_or_default();
    assert!(
        detail.contains("127.0.0.1") && detail.contains("loopback"),
        "{detail}"
    );
    assert_eq!(
        attempts[0].next,
        NextStep::GaveUp,
        "asking again will not change the answer"
    );
    assert!(h.sink.received().is_empty());
    running.shutdown(Duration::from_secs(1)).await.unwrap();

    // With it, the same name is delivered to the address the lookup gave.
    let mut h2 = Harness::new(|b| b.dns_lookup(Arc::new(ToLoopback))).await;
    let url = format!("http://rebind.example.com:{}/hook", h2.sink.addr.port());
    h2.subscribe_url(&rules, url);
    let running = h2.dispatcher.start();
    h2.dispatcher.dispatch(&sent).await.unwrap();
    let attempts = h2.attempts_of(&DeliveryKey::new(sent.id(), 1.into())).await;
    assert_eq!(attempts[0].outcome, AttemptOutcome::Status(200));
    assert_eq!(h2.sink.received_on("/hook").len(), 1);
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn an_ip_literal_is_checked_before_every_attempt() {
    // The webhook was created when loopback was allowed; the dispatcher's
    // guard no longer allows it.
    let mut h = Harness::new(|b| b.guard(UrlGuard::new().allow_http_for_testing())).await;
    h.subscribe(1, "/hook", Scheme::titan(), quick(3), |_| {});
    let running = h.dispatcher.start();
    let sent = envelope("default");
    h.dispatcher.dispatch(&sent).await.unwrap();
    let attempts = h.attempts_of(&DeliveryKey::new(sent.id(), 1.into())).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        attempts[0].outcome,
        AttemptOutcome::Failed(FailureKind::RefusedByGuard)
    );
    assert!(h.sink.received().is_empty());
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn a_slow_endpoint_cannot_take_every_slot() {
    let h = Harness::new(|b| b.concurrency(4).endpoint_concurrency(2)).await;
    h.subscribe(1, "/slow", Scheme::titan(), quick(0), |_| {});
    h.subscribe(2, "/fast", Scheme::titan(), quick(0), |_| {});
    h.sink.script("/slow", vec![Reply::Hold; 8]);
    let running = h.dispatcher.start();
    for _ in 0..8 {
        h.dispatcher.dispatch(&envelope("default")).await.unwrap();
    }
    // Every fast delivery arrives while the slow receiver holds its requests;
    // without a per-endpoint bound the slow ones would fill all four slots.
    h.sink.wait_for("/fast", 8).await;
    assert!(h.sink.received_on("/slow").len() < 8);
    assert!(
        h.sink.max_in_flight("/slow") <= 2,
        "{}",
        h.sink.max_in_flight("/slow")
    );
    h.sink.release();
    h.sink.wait_for("/slow", 8).await;
    assert!(h.sink.max_in_flight("/slow") <= 2);
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn a_backlog_for_a_slow_endpoint_leaves_slots_for_the_others() {
    let h = Harness::new(|b| b.concurrency(8).endpoint_concurrency(2)).await;
    h.subscribe(1, "/slow", Scheme::titan(), quick(0), |r| {
        r.session = Some("slow".into())
    });
    h.subscribe(2, "/fast", Scheme::titan(), quick(0), |r| {
        r.session = Some("fast".into())
    });
    h.sink.script("/slow", vec![Reply::Hold; 40]);
    // Forty deliveries to the slow endpoint are due before the fast one;
    // claiming them all would fill every slot with waiting attempts.
    for _ in 0..40 {
        h.dispatcher.dispatch(&envelope("slow")).await.unwrap();
    }
    h.dispatcher.dispatch(&envelope("fast")).await.unwrap();
    let running = h.dispatcher.start();

    h.sink.wait_for("/fast", 1).await;
    assert!(h.sink.received_on("/slow").len() <= 2);
    h.sink.release();
    h.sink.wait_for("/slow", 40).await;
    assert!(h.sink.max_in_flight("/slow") <= 2);
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn shutdown_hands_back_what_it_interrupts() {
    let h = Harness::new(|b| b).await;
    h.subscribe(1, "/held", Scheme::titan(), quick(0), |_| {});
    h.sink.script("/held", [Reply::Hold]);
    let running = h.dispatcher.start();
    let sent = envelope("default");
    h.dispatcher.dispatch(&sent).await.unwrap();
    h.sink.wait_for("/held", 1).await;

    let report = running.shutdown(Duration::from_millis(200)).await.unwrap();
    let key = DeliveryKey::new(sent.id(), 1.into());
    assert_eq!(report.interrupted, std::slice::from_ref(&key));
    assert_eq!(report.finished, 0);
    assert_eq!(report.open.len(), 1);
    assert_eq!(report.open[0].key, key);
    assert_eq!(
        h.dispatcher.store().state(&key),
        Some(DeliveryState::Pending),
        "due again at once"
    );
    h.sink.release();
}

#[tokio::test]
async fn deliveries_to_a_removed_webhook_are_cancelled_not_dropped() {
    let mut h = Harness::new(|b| b).await;
    h.subscribe(1, "/hook", Scheme::titan(), quick(0), |_| {});
    let sent = envelope("default");
    h.dispatcher.dispatch(&sent).await.unwrap();
    h.registry.remove(&1.into());
    h.expect_cancelled(&sent, CancelReason::WebhookRemoved)
        .await;
}

#[tokio::test]
async fn a_key_rotated_after_queueing_signs_the_next_attempt() {
    let mut h = Harness::new(|b| b).await;
    h.subscribe(1, "/hook", Scheme::titan(), quick(0), |_| {});
    let sent = envelope("default");
    h.dispatcher.dispatch(&sent).await.unwrap();
    let webhook = h.registry.get(&1.into()).unwrap().webhook().clone();
    h.registry.upsert(
        Subscription::new(
            webhook,
            Scheme::titan(),
            Secret::from_utf8("rotated").unwrap(),
        )
        .with_schedule(quick(0)),
    );
    let running = h.dispatcher.start();
    h.attempts_of(&DeliveryKey::new(sent.id(), 1.into())).await;
    let request = &h.sink.received_on("/hook")[0];
    Verifier::new(Scheme::titan(), Secret::from_utf8("rotated").unwrap())
        .verify(&request.headers, &request.body)
        .unwrap();
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test]
async fn tls_certificates_are_verified() {
    use tokio_rustls::rustls::{ServerConfig, pki_types::PrivateKeyDer};

    // A real TLS server on 127.0.0.1 whose certificate nobody vouches for.
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handshakes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = Arc::clone(&handshakes);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move { acceptor.accept(tcp).await.is_ok() });
        }
    });

    let mut h = Harness::new(|b| b.guard(UrlGuard::new().allow_loopback_for_testing())).await;
    let rules = WebhookRules::new(UrlGuard::new().allow_loopback_for_testing());
    h.subscribe_url(&rules, format!("https://127.0.0.1:{port}/hook"));
    let running = h.dispatcher.start();
    let sent = envelope("default");
    h.dispatcher.dispatch(&sent).await.unwrap();

    let attempts = h.attempts_of(&DeliveryKey::new(sent.id(), 1.into())).await;
    assert_eq!(
        attempts[0].outcome,
        AttemptOutcome::Failed(FailureKind::Tls),
        "{:?}",
        attempts[0].detail
    );
    assert!(
        handshakes.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "the server was reached"
    );
    running.shutdown(Duration::from_secs(1)).await.unwrap();
}
