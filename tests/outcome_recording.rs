//! What the Dispatcher does when the store cannot record an attempt's
//! outcome: it tries again while its claim holds, and past that lets the
//! claim lapse so the delivery is made again rather than stranded.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use support::Sink;
use titan_webhooks::queue::StoreError;
use titan_webhooks::queue::{
    ClaimRequest, ClaimedDelivery, DeliveryAttempt, DeliveryKey, DeliveryState, DeliveryStore,
    EnvelopeRecord, HeldClaim, MemoryStore, OpenDelivery, Prepared, Subscription,
    SubscriptionRegistry,
};
use titan_webhooks::retry::RetrySchedule;
use titan_webhooks::subscription::WebhookId;
use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
use titan_webhooks::transport::Dispatcher;
use titan_webhooks::{Envelope, Scheme, TitanEvent, UrlGuard};

/// A `MemoryStore` whose first `failures` completions fail as if the
/// database had gone away for a moment.
struct FlakyStore {
    inner: MemoryStore,
    failures: AtomicUsize,
}

impl DeliveryStore for FlakyStore {
    async fn enqueue(
        &self,
        envelope: &EnvelopeRecord,
        webhooks: &[WebhookId],
    ) -> Result<Vec<WebhookId>, StoreError> {
        self.inner.enqueue(envelope, webhooks).await
    }

    async fn enqueue_many(&self, batch: &[Prepared]) -> Result<Vec<Vec<WebhookId>>, StoreError> {
        self.inner.enqueue_many(batch).await
    }

    async fn claim(&self, request: ClaimRequest<'_>) -> Result<Vec<ClaimedDelivery>, StoreError> {
        self.inner.claim(request).await
    }

    async fn renew_leases(
        &self,
        owner: &str,
        held: &[HeldClaim],
        until: SystemTime,
    ) -> Result<u64, StoreError> {
        self.inner.renew_leases(owner, held, until).await
    }

    async fn complete(
        &self,
        delivery: &ClaimedDelivery,
        attempt: &DeliveryAttempt,
    ) -> Result<u64, StoreError> {
        let failing = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if failing {
            return Err(StoreError::Backend {
                message: "connection reset".into(),
            });
        }
        self.inner.complete(delivery, attempt).await
    }

    async fn cancel(&self, delivery: &ClaimedDelivery) -> Result<(), StoreError> {
        self.inner.cancel(delivery).await
    }

    async fn release_leases(&self, owner: &str) -> Result<Vec<DeliveryKey>, StoreError> {
        self.inner.release_leases(owner).await
    }

    async fn recover_expired(&self, now: SystemTime) -> Result<u64, StoreError> {
        self.inner.recover_expired(now).await
    }

    async fn next_due(&self) -> Result<Option<SystemTime>, StoreError> {
        self.inner.next_due().await
    }

    async fn open_deliveries(&self) -> Result<Vec<OpenDelivery>, StoreError> {
        self.inner.open_deliveries().await
    }
}

/// Delivers one envelope through a store whose first two completions
/// fail, and returns how many requests the receiver got, the delivery's
/// final state and how many of its attempts the store recorded.
async fn deliver_once(lease_margin: Duration) -> (usize, Option<DeliveryState>, usize) {
    let sink = Sink::start().await;
    let guard = UrlGuard::new()
        .allow_loopback_for_testing()
        .allow_http_for_testing();
    let registry = Arc::new(SubscriptionRegistry::new());
    let rules = WebhookRules::with_scheme(guard.clone(), Scheme::titan());
    let (webhook, secret) = rules
        .create(1.into(), CreateWebhook::new(sink.url("/hook")))
        .unwrap()
        .into_parts();
    registry.upsert(
        Subscription::new(webhook, Scheme::titan(), secret)
            .with_schedule(RetrySchedule::explicit(vec![]).unwrap()),
    );
    let store = FlakyStore {
        inner: MemoryStore::new(),
        failures: AtomicUsize::new(2),
    };
    let dispatcher = Dispatcher::builder(store, registry)
        .guard(guard)
        .connect_timeout(Duration::from_millis(250))
        .request_timeout(Duration::from_millis(500))
        .lease_margin(lease_margin)
        .poll_interval(Duration::from_millis(20))
        .build()
        .unwrap();
    let running = dispatcher.start();
    let envelope = Envelope::new(TitanEvent::ChatRead, "default", ());
    dispatcher.dispatch(&envelope).await.unwrap();
    let key = DeliveryKey::new(envelope.id(), 1.into());

    let store = &dispatcher.store().inner;
    tokio::time::timeout(Duration::from_secs(20), async {
        while store.state(&key) != Some(DeliveryState::Succeeded) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the delivery is recorded as made");
    running.shutdown(Duration::from_secs(1)).await.unwrap();
    let recorded = store
        .attempts()
        .iter()
        .filter(|attempt| attempt.key == key)
        .count();
    (sink.received_on("/hook").len(), store.state(&key), recorded)
}

#[tokio::test]
async fn an_outcome_the_store_refuses_for_a_moment_is_recorded_on_a_later_try() {
    // A 5 s margin outlasts the two failed tries, 0.5 s and 1 s apart.
    let (requests, state, attempts) = deliver_once(Duration::from_secs(5)).await;
    assert_eq!(requests, 1, "the delivery is made once");
    assert_eq!(state, Some(DeliveryState::Succeeded));
    assert_eq!(attempts, 1);
}

#[tokio::test]
async fn an_outcome_that_cannot_be_recorded_in_time_lets_the_claim_lapse() {
    // A 1 s lease ends before the second try, so the dispatcher stops
    // renewing the claim; it lapses, and the delivery is made again.
    let (requests, state, attempts) = deliver_once(Duration::from_millis(250)).await;
    assert_eq!(requests, 2, "the delivery is made again, not stranded");
    assert_eq!(state, Some(DeliveryState::Succeeded));
    assert_eq!(attempts, 1, "only the recorded attempt is in the log");
}
