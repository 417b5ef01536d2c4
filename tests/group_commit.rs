//! Group commit: concurrent dispatches share store transactions, each
//! caller gets its own answer, and failures and cancellations reach the
//! right callers.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use titan_webhooks::queue::{
    ClaimRequest, ClaimedDelivery, DeliveryAttempt, DeliveryKey, DeliveryStore, EnvelopeRecord,
    HeldClaim, MemoryStore, OpenDelivery, Prepared, StoreError, Subscription, SubscriptionRegistry,
};
use titan_webhooks::store::SqliteStore;
use titan_webhooks::subscription::{CreateWebhook, WebhookId, WebhookRules};
use titan_webhooks::transport::{DispatchError, DispatchOutcome, Dispatcher, MAX_GROUP_COMMIT};
use titan_webhooks::{Envelope, Scheme, TitanEvent, UrlGuard};
use tokio::sync::Semaphore;

const PATIENCE: Duration = Duration::from_secs(20);

/// A store that records the size of every commit it is asked for (one
/// `enqueue` is a commit of one), and can hold commits at a gate or fail
/// them.
struct Recording<S> {
    inner: S,
    batches: Mutex<Vec<usize>>,
    /// When set, each commit waits for a permit.
    gated: AtomicBool,
    gate: Semaphore,
    fail: AtomicBool,
}

impl<S> Recording<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            batches: Mutex::new(Vec::new()),
            gated: AtomicBool::new(false),
            gate: Semaphore::new(0),
            fail: AtomicBool::new(false),
        }
    }

    fn batches(&self) -> Vec<usize> {
        self.batches.lock().unwrap().clone()
    }

    async fn wait_for_batches(&self, count: usize) {
        tokio::time::timeout(PATIENCE, async {
            while self.batches().len() < count {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the writer reached the store");
    }
}

impl<S> Recording<S> {
    /// Records a commit of `size` envelopes, waits at the gate if it is
    /// closed, and fails if told to.
    async fn commit(&self, size: usize) -> Result<(), StoreError> {
        self.batches.lock().unwrap().push(size);
        if self.gated.load(Ordering::SeqCst) {
            self.gate.acquire().await.unwrap().forget();
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(StoreError::Backend {
                message: "injected failure".into(),
            });
        }
        Ok(())
    }
}

impl<S: DeliveryStore> DeliveryStore for Recording<S> {
    async fn enqueue(
        &self,
        envelope: &EnvelopeRecord,
        webhooks: &[WebhookId],
    ) -> Result<Vec<WebhookId>, StoreError> {
        self.commit(1).await?;
        self.inner.enqueue(envelope, webhooks).await
    }

    async fn enqueue_many(&self, batch: &[Prepared]) -> Result<Vec<Vec<WebhookId>>, StoreError> {
        self.commit(batch.len()).await?;
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

/// A registry with webhooks 1 and 2, which want everything.
fn two_webhooks() -> Arc<SubscriptionRegistry> {
    let registry = Arc::new(SubscriptionRegistry::new());
    let rules = WebhookRules::new(UrlGuard::new());
    for id in [1_u64, 2] {
        let (webhook, secret) = rules
            .create(id.into(), CreateWebhook::new("https://example.com/hook"))
            .unwrap()
            .into_parts();
        registry.upsert(Subscription::new(webhook, Scheme::titan(), secret));
    }
    registry
}

fn envelope(n: usize) -> Envelope<serde_json::Value> {
    Envelope::new(
        TitanEvent::MessageReceived,
        "default",
        serde_json::json!({ "n": n }),
    )
}

fn both() -> Vec<WebhookId> {
    vec![1.into(), 2.into()]
}

fn sorted(mut ids: Vec<WebhookId>) -> Vec<WebhookId> {
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_dispatches_share_commits_and_each_is_queued_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("deliveries.db"))
        .await
        .unwrap();
    let dispatcher = Dispatcher::builder(Recording::new(store), two_webhooks())
        .build()
        .unwrap();
    let envelopes: Arc<Vec<_>> = Arc::new((0..200).map(envelope).collect());

    const TASKS: usize = 32;
    let start = Arc::new(tokio::sync::Barrier::new(TASKS));
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let dispatcher = dispatcher.clone();
        let envelopes = Arc::clone(&envelopes);
        let start = Arc::clone(&start);
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let mut results = Vec::new();
            for n in (task..envelopes.len()).step_by(TASKS) {
                results.push((n, dispatcher.dispatch(&envelopes[n]).await.unwrap()));
            }
            results
        }));
    }
    let mut seen = HashSet::new();
    for task in tasks {
        for (n, dispatched) in task.await.unwrap() {
            assert!(seen.insert(n));
            assert_eq!(dispatched.envelope_id(), envelopes[n].id());
            assert_eq!(dispatched.outcome(), DispatchOutcome::Queued);
            assert_eq!(sorted(dispatched.queued().to_vec()), both());
        }
    }
    assert_eq!(seen.len(), 200);

    let open = dispatcher.store().open_deliveries().await.unwrap();
    let keys: HashSet<DeliveryKey> = open.into_iter().map(|open| open.key).collect();
    assert_eq!(keys.len(), 400, "each envelope to each webhook, once");
    let batches = dispatcher.store().batches();
    assert_eq!(
        batches.iter().sum::<usize>(),
        200,
        "every dispatch committed"
    );
    assert!(
        batches.len() < 200,
        "fewer commits than dispatches: {batches:?}"
    );
    assert!(batches.iter().all(|&size| size <= MAX_GROUP_COMMIT));

    // Concurrent duplicates are told so, and queue nothing.
    let mut again = Vec::new();
    for n in 0..50 {
        let dispatcher = dispatcher.clone();
        let envelopes = Arc::clone(&envelopes);
        again.push(tokio::spawn(async move {
            dispatcher.dispatch(&envelopes[n]).await.unwrap()
        }));
    }
    for task in again {
        assert_eq!(
            task.await.unwrap().outcome(),
            DispatchOutcome::AlreadyQueued
        );
    }
    assert_eq!(
        dispatcher.store().open_deliveries().await.unwrap().len(),
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_dispatch_is_committed_alone_and_at_once() {
    let dispatcher = Dispatcher::builder(Recording::new(MemoryStore::new()), two_webhooks())
        .build()
        .unwrap();
    for n in 0..3 {
        let dispatched = dispatcher.dispatch(&envelope(n)).await.unwrap();
        assert_eq!(dispatched.outcome(), DispatchOutcome::Queued);
    }
    assert_eq!(
        dispatcher.store().batches(),
        vec![1, 1, 1],
        "no waiting for company"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_caller_in_a_failed_batch_gets_the_error() {
    let store = Recording::new(MemoryStore::new());
    store.gated.store(true, Ordering::SeqCst);
    store.fail.store(true, Ordering::SeqCst);
    let dispatcher = Dispatcher::builder(store, two_webhooks()).build().unwrap();

    let mut callers = Vec::new();
    let first = {
        let dispatcher = dispatcher.clone();
        tokio::spawn(async move { dispatcher.dispatch(&envelope(0)).await })
    };
    dispatcher.store().wait_for_batches(1).await;
    for n in 1..=10 {
        let dispatcher = dispatcher.clone();
        callers.push(tokio::spawn(async move {
            dispatcher.dispatch(&envelope(n)).await
        }));
    }
    // Let the ten reach the writer while the first commit is held.
    tokio::time::sleep(Duration::from_millis(200)).await;
    dispatcher.store().gate.add_permits(2);

    let expected = DispatchError::Store(StoreError::Backend {
        message: "injected failure".into(),
    });
    assert_eq!(first.await.unwrap().unwrap_err(), expected);
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap_err(), expected);
    }
    assert_eq!(
        dispatcher.store().batches(),
        vec![1, 10],
        "the ten were one batch"
    );
    assert!(
        dispatcher
            .store()
            .open_deliveries()
            .await
            .unwrap()
            .is_empty()
    );

    // The writer carries on after a failure.
    dispatcher.store().fail.store(false, Ordering::SeqCst);
    dispatcher.store().gated.store(false, Ordering::SeqCst);
    let dispatched = dispatcher.dispatch(&envelope(0)).await.unwrap();
    assert_eq!(dispatched.outcome(), DispatchOutcome::Queued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_gives_up_does_not_disturb_the_others() {
    let store = Recording::new(MemoryStore::new());
    store.gated.store(true, Ordering::SeqCst);
    let dispatcher = Dispatcher::builder(store, two_webhooks()).build().unwrap();
    let envelopes: Arc<Vec<_>> = Arc::new((0..4).map(envelope).collect());

    let spawn = |n: usize| {
        let dispatcher = dispatcher.clone();
        let envelopes = Arc::clone(&envelopes);
        tokio::spawn(async move { dispatcher.dispatch(&envelopes[n]).await })
    };
    let first = spawn(0);
    dispatcher.store().wait_for_batches(1).await;
    let second = spawn(1);
    // This caller's future is dropped while its request waits behind the
    // held commit.
    let gave_up = tokio::time::timeout(
        Duration::from_millis(100),
        dispatcher.dispatch(&envelopes[2]),
    )
    .await;
    assert!(gave_up.is_err(), "it was still waiting");
    let third = spawn(3);
    tokio::time::sleep(Duration::from_millis(100)).await;
    dispatcher.store().gate.add_permits(2);

    for (task, n) in [(first, 0), (second, 1), (third, 3)] {
        let dispatched = tokio::time::timeout(PATIENCE, task)
            .await
            .expect("no caller hangs")
            .unwrap()
            .unwrap();
        assert_eq!(dispatched.envelope_id(), envelopes[n].id());
        assert_eq!(dispatched.outcome(), DispatchOutcome::Queued);
    }
    assert_eq!(
        dispatcher.store().batches(),
        vec![1, 2],
        "the caller that gave up was not committed for"
    );
    let queued: HashSet<String> = dispatcher
        .store()
        .open_deliveries()
        .await
        .unwrap()
        .into_iter()
        .map(|open| open.key.envelope_id)
        .collect();
    assert!(!queued.contains(envelopes[2].id()));
    assert_eq!(queued.len(), 3);
}

#[test]
fn callers_of_a_writer_whose_runtime_stopped_are_told_and_a_new_writer_takes_over() {
    let first = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let second = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dispatcher = Dispatcher::builder(Recording::new(MemoryStore::new()), two_webhooks())
        .build()
        .unwrap();
    // The writer starts on the first runtime.
    first.block_on(dispatcher.dispatch(&envelope(0))).unwrap();
    dispatcher.store().gated.store(true, Ordering::SeqCst);
    let waiting = {
        let dispatcher = dispatcher.clone();
        second.spawn(async move { dispatcher.dispatch(&envelope(1)).await })
    };
    second.block_on(dispatcher.store().wait_for_batches(2));
    drop(first);

    let result = second
        .block_on(async { tokio::time::timeout(PATIENCE, waiting).await })
        .expect("the caller is answered, not left hanging")
        .unwrap();
    assert_eq!(result.unwrap_err(), DispatchError::Interrupted);

    dispatcher.store().gated.store(false, Ordering::SeqCst);
    let dispatched = second.block_on(dispatcher.dispatch(&envelope(2))).unwrap();
    assert_eq!(dispatched.outcome(), DispatchOutcome::Queued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_many_commits_in_bounded_transactions_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("deliveries.db"))
        .await
        .unwrap();
    let dispatcher = Dispatcher::builder(Recording::new(store), two_webhooks())
        .build()
        .unwrap();
    let count = MAX_GROUP_COMMIT + 10;
    let envelopes: Vec<_> = (0..count).map(envelope).collect();
    dispatcher.dispatch(&envelopes[3]).await.unwrap();

    let mut given: Vec<&Envelope<serde_json::Value>> = envelopes.iter().collect();
    given.push(&envelopes[0]);
    let dispatched = dispatcher.dispatch_many(given).await.unwrap();
    assert_eq!(dispatched.len(), count + 1);
    for (n, one) in dispatched.iter().enumerate() {
        assert_eq!(one.envelope_id(), envelopes[n % count].id(), "in order");
        let expected = if n == 3 || n == count {
            DispatchOutcome::AlreadyQueued
        } else {
            DispatchOutcome::Queued
        };
        assert_eq!(one.outcome(), expected, "envelope {n}");
    }
    assert_eq!(
        dispatcher.store().batches(),
        vec![1, MAX_GROUP_COMMIT, 11],
        "one dispatch, then the many in transactions of at most MAX_GROUP_COMMIT"
    );
    assert_eq!(
        dispatcher.store().open_deliveries().await.unwrap().len(),
        2 * count
    );
    assert!(
        dispatcher
            .dispatch_many(std::iter::empty::<&Envelope<serde_json::Value>>())
            .await
            .unwrap()
            .is_empty()
    );
}
