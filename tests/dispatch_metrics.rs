//! The Dispatcher's metrics, read back through a recorder, after a known
//! sequence of successes, failures, retries and cancellations against a
//! real receiver on 127.0.0.1.
//!
//! Each test runs on a current-thread runtime inside
//! `metrics::with_local_recorder`, so every task the dispatcher spawns
//! records into that test's recorder and the tests can run in parallel.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

mod support;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use metrics::Unit;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};
use support::{Reply, Sink};
use titan_webhooks::queue::{MemoryStore, Subscription, SubscriptionRegistry};
use titan_webhooks::retry::RetrySchedule;
use titan_webhooks::subscription::{CreateWebhook, UpdateWebhook, WebhookRules};
use titan_webhooks::transport::metrics::{
    ATTEMPT_DURATION, ATTEMPTS, CANCELLATIONS, DELIVERY_DURATION, OLDEST_DUE_AGE, OUTCOME,
    QUEUE_DEPTH, REASON, RESPONSE, RETRIES, STATE,
};
use titan_webhooks::transport::{DeliveryEvent, Dispatcher, DispatcherBuilder};
use titan_webhooks::{Envelope, Scheme, TitanEvent, UrlGuard};
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

/// Runs `test` on a current-thread runtime, with `recorder` as the
/// recorder of every metric it and the tasks it spawns emit.
fn with_recorder<T>(recorder: &DebuggingRecorder, test: impl Future<Output = T>) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(recorder, || runtime.block_on(test))
}

/// A metric's name and its labels, sorted.
type Series = (String, Vec<(String, String)>);

/// What the recorder saw, summed over snapshots: the debugging recorder
/// resets counters and gauges and drains histograms on every snapshot.
#[derive(Default)]
struct Seen {
    counters: HashMap<Series, u64>,
    histograms: HashMap<Series, Vec<f64>>,
    /// Gauges from the latest snapshot only.
    gauges: HashMap<Series, f64>,
    units: HashMap<String, Unit>,
}

fn id(key: &CompositeKey) -> Series {
    let mut labels: Vec<(String, String)> = key
        .key()
        .labels()
        .map(|label| (label.key().to_owned(), label.value().to_owned()))
        .collect();
    labels.sort();
    (key.key().name().to_owned(), labels)
}

fn labels(name: &str, pairs: &[(&str, &str)]) -> Series {
    let mut labels: Vec<(String, String)> = pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    labels.sort();
    (name.to_owned(), labels)
}

impl Seen {
    fn take(&mut self, snapshotter: &Snapshotter) {
        self.gauges.clear();
        for (key, unit, _, value) in snapshotter.snapshot().into_vec() {
            if let Some(unit) = unit {
                self.units.insert(key.key().name().to_owned(), unit);
            }
            match (key.kind(), value) {
                (MetricKind::Counter, DebugValue::Counter(count)) => {
                    *self.counters.entry(id(&key)).or_default() += count;
                }
                (MetricKind::Histogram, DebugValue::Histogram(values)) => self
                    .histograms
                    .entry(id(&key))
                    .or_default()
                    .extend(values.into_iter().map(|value| value.into_inner())),
                (MetricKind::Gauge, DebugValue::Gauge(value)) => {
                    self.gauges.insert(id(&key), value.into_inner());
                }
                other => panic!("{key:?} has a value of the wrong kind: {other:?}"),
            }
        }
    }

    fn counter(&self, name: &str, pairs: &[(&str, &str)]) -> u64 {
        self.counters
            .get(&labels(name, pairs))
            .copied()
            .unwrap_or(0)
    }

    fn histogram(&self, name: &str, pairs: &[(&str, &str)]) -> Vec<f64> {
        self.histograms
            .get(&labels(name, pairs))
            .cloned()
            .unwrap_or_default()
    }

    fn gauge(&self, name: &str, pairs: &[(&str, &str)]) -> Option<f64> {
        self.gauges.get(&labels(name, pairs)).copied()
    }

    /// The queue depth gauge for every state, in `DeliveryState` order.
    fn depths(&self) -> [Option<f64>; 6] {
        [
            "pending",
            "in_flight",
            "retry",
            "succeeded",
            "exhausted",
            "cancelled",
        ]
        .map(|state| self.gauge(QUEUE_DEPTH, &[(STATE, state)]))
    }
}

fn builder(
    registry: &Arc<SubscriptionRegistry>,
) -> (
    DispatcherBuilder<MemoryStore>,
    UnboundedReceiver<DeliveryEvent>,
) {
    let (observer, events) = unbounded_channel();
    let builder = Dispatcher::builder(MemoryStore::new(), Arc::clone(registry))
        .guard(local_guard())
        .observer(observer)
        .request_timeout(Duration::from_secs(5))
        .throttle_floor(Duration::from_millis(10))
        .poll_interval(Duration::from_millis(20));
    (builder, events)
}

fn subscribe(registry: &SubscriptionRegistry, id: u64, url: String, schedule: RetrySchedule) {
    let rules = WebhookRules::new(local_guard());
    let (webhook, secret) = rules
        .create(id.into(), CreateWebhook::new(url))
        .unwrap()
        .into_parts();
    registry.upsert(Subscription::new(webhook, Scheme::titan(), secret).with_schedule(schedule));
}

/// Replaces webhook `id` with a disabled one at `url`.
fn disable(registry: &SubscriptionRegistry, id: u64, url: String) {
    let rules = WebhookRules::new(local_guard());
    let (webhook, secret) = rules
        .create(id.into(), CreateWebhook::new(url))
        .unwrap()
        .into_parts();
    let mut off = UpdateWebhook::default();
    off.enabled = Some(false);
    let webhook = rules.update(&webhook, off).unwrap().into_webhook();
    registry.upsert(Subscription::new(webhook, Scheme::titan(), secret));
}

/// Waits until the observer has heard of `attempts` attempts and
/// `cancellations` cancellations.
async fn wait_for(events: &mut UnboundedReceiver<DeliveryEvent>, attempts: usize, cancels: usize) {
    let (mut attempted, mut cancelled) = (0, 0);
    while attempted < attempts || cancelled < cancels {
        match tokio::time::timeout(PATIENCE, events.recv()).await {
            Ok(Some(DeliveryEvent::Attempted(_))) => attempted += 1,
            Ok(Some(DeliveryEvent::Cancelled { .. })) => cancelled += 1,
            Ok(Some(_)) => {}
            other => panic!(
                "timed out after {attempted} attempts and {cancelled} cancellations: {other:?}"
            ),
        }
    }
}

/// A port on 127.0.0.1 that nothing listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn counters_histograms_and_gauges_follow_a_known_sequence() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    with_recorder(&recorder, async {
        let sink = Sink::start().await;
        sink.script("/ok", [Reply::Status(204)]);
        sink.script(
            "/flaky",
            [Reply::Status(500), Reply::Status(503), Reply::Status(204)],
        );
        sink.script("/down", [Reply::Status(500), Reply::Status(502)]);
        sink.script("/gone", [Reply::Status(410)]);
        let refused = format!("http://127.0.0.1:{}/refused", closed_port().await);

        let registry = Arc::new(SubscriptionRegistry::new());
        subscribe(&registry, 1, sink.url("/ok"), quick(3));
        subscribe(&registry, 2, sink.url("/flaky"), quick(3));
        subscribe(&registry, 3, sink.url("/down"), quick(1));
        subscribe(&registry, 4, sink.url("/gone"), quick(3));
        subscribe(&registry, 5, refused, quick(0));
        subscribe(&registry, 6, sink.url("/removed"), quick(3));
        subscribe(&registry, 7, sink.url("/disabled"), quick(3));

        let (builder, mut events) = builder(&registry);
        let dispatcher = builder.build().unwrap();
        let envelope = Envelope::new(
            TitanEvent::MessageReceived,
            "default",
            serde_json::json!({"text": "hi"}),
        );
        let dispatched = dispatcher.dispatch(&envelope).await.unwrap();
        assert_eq!(dispatched.queued().len(), 7);
        // Queued for both, then the webhooks go before anything is claimed.
        registry.remove(&6.into());
        disable(&registry, 7, sink.url("/disabled"));

        let running = dispatcher.start();
        // ok 1, flaky 3, down 2, gone 1, refused 1; removed and disabled
        // are cancelled.
        wait_for(&mut events, 8, 2).await;
        let report = running.shutdown(Duration::from_secs(5)).await.unwrap();
        assert!(report.open.is_empty(), "{report:?}");
        assert!(sink.received_on("/removed").is_empty());
        assert!(sink.received_on("/disabled").is_empty());
    });

    let mut seen = Seen::default();
    seen.take(&snapshotter);

    let attempts = |outcome: &str, response: &str| {
        seen.counter(ATTEMPTS, &[(OUTCOME, outcome), (RESPONSE, response)])
    };
    assert_eq!(attempts("succeeded", "2xx"), 2, "ok, and flaky's third");
    assert_eq!(
        attempts("retried", "5xx"),
        3,
        "flaky's first two, down's first"
    );
    assert_eq!(attempts("exhausted", "5xx"), 1, "down's second");
    assert_eq!(attempts("disabled", "4xx"), 1, "gone");
    assert_eq!(attempts("exhausted", "connect"), 1, "refused");
    let all: u64 = seen
        .counters
        .iter()
        .filter(|((name, _), _)| name == ATTEMPTS)
        .map(|(_, count)| count)
        .sum();
    assert_eq!(all, 8, "no other outcome: {:?}", seen.counters);
    assert_eq!(seen.counter(RETRIES, &[]), 3, "flaky's 2 and down's 1");
    assert_eq!(
        seen.counter(CANCELLATIONS, &[(REASON, "webhook_removed")]),
        1
    );
    assert_eq!(
        seen.counter(CANCELLATIONS, &[(REASON, "webhook_disabled")]),
        1
    );

    for (outcome, count) in [
        ("succeeded", 2),
        ("retried", 3),
        ("exhausted", 2),
        ("disabled", 1),
    ] {
        let latencies = seen.histogram(ATTEMPT_DURATION, &[(OUTCOME, outcome)]);
        assert_eq!(latencies.len(), count, "{outcome}");
        assert!(
            latencies
                .iter()
                .all(|&seconds| (0.0..5.0).contains(&seconds)),
            "{outcome}: {latencies:?}"
        );
    }
    let mut waits = seen.histogram(DELIVERY_DURATION, &[]);
    waits.sort_by(f64::total_cmp);
    assert_eq!(waits.len(), 2, "one per delivery that succeeded");
    assert!(waits[0] > 0.0, "{waits:?}");
    assert!(
        waits[1] >= 0.02 && waits[1] < PATIENCE.as_secs_f64(),
        "flaky waited out two 10 ms retries: {waits:?}"
    );

    // The sample taken at shutdown: everything finished.
    assert_eq!(
        seen.depths(),
        [0.0, 0.0, 0.0, 2.0, 3.0, 2.0].map(Some),
        "pending, in flight, retry, succeeded, exhausted, cancelled"
    );
    assert_eq!(seen.gauge(OLDEST_DUE_AGE, &[]), Some(0.0));

    assert_eq!(seen.units.get(ATTEMPT_DURATION), Some(&Unit::Seconds));
    assert_eq!(seen.units.get(DELIVERY_DURATION), Some(&Unit::Seconds));
    assert_eq!(seen.units.get(OLDEST_DUE_AGE), Some(&Unit::Seconds));
    assert_eq!(seen.units.get(ATTEMPTS), Some(&Unit::Count));
    assert_eq!(seen.units.get(QUEUE_DEPTH), Some(&Unit::Count));
}

#[test]
fn gauges_show_a_backlog_while_it_waits() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let mut seen = Seen::default();
    with_recorder(&recorder, async {
        let sink = Sink::start().await;
        sink.script("/slow", [Reply::Hold, Reply::Hold, Reply::Hold]);
        let registry = Arc::new(SubscriptionRegistry::new());
        subscribe(&registry, 1, sink.url("/slow"), quick(0));
        let (builder, mut events) = builder(&registry);
        let dispatcher = builder
            .concurrency(1)
            .metrics_interval(Duration::from_millis(20))
            .build()
            .unwrap();
        for text in ["a", "b", "c"] {
            let envelope = Envelope::new(
                TitanEvent::MessageReceived,
                "default",
                serde_json::json!({ "text": text }),
            );
            dispatcher.dispatch(&envelope).await.unwrap();
        }

        let running = dispatcher.start();
        sink.wait_for("/slow", 1).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        // One attempt is held at the receiver, with no room for the other
        // two, which have waited at least 50 ms.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            seen.take(&snapshotter);
            let age = seen.gauge(OLDEST_DUE_AGE, &[]).unwrap_or(0.0);
            if seen.depths() == [2.0, 1.0, 0.0, 0.0, 0.0, 0.0].map(Some) && age >= 0.05 {
                assert!(age < PATIENCE.as_secs_f64(), "{age}");
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the gauges never showed the backlog: {:?}, {age}",
                seen.depths()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        sink.release();
        wait_for(&mut events, 3, 0).await;
        running.shutdown(Duration::from_secs(5)).await.unwrap();
    });

    seen.take(&snapshotter);
    assert_eq!(
        seen.depths(),
        [0.0, 0.0, 0.0, 3.0, 0.0, 0.0].map(Some),
        "the sample taken at shutdown"
    );
    assert_eq!(seen.gauge(OLDEST_DUE_AGE, &[]), Some(0.0));
    assert_eq!(
        seen.counter(ATTEMPTS, &[(OUTCOME, "succeeded"), (RESPONSE, "2xx")]),
        3
    );
    assert_eq!(seen.counter(RETRIES, &[]), 0);
    assert_eq!(seen.histogram(DELIVERY_DURATION, &[]).len(), 3);
}
