//! The `DeliveryStore` and `DeliveryAdmin` contract, run against every
//! store: in memory, SQLite on a file, and Postgres on a real server.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

mod support;

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use titan_webhooks::queue::StoreError;
use titan_webhooks::queue::{
    ClaimRequest, ClaimedDelivery, DeliveryAdmin, DeliveryAttempt, DeliveryKey, DeliveryQuery,
    DeliveryState, DeliveryStore, EnvelopeRecord, FinishedState, HeldClaim, Prepared, WorkerName,
};
use titan_webhooks::retry::{AttemptOutcome, FailureKind, NextStep};
use titan_webhooks::subscription::WebhookId;
use titan_webhooks::{Envelope, TitanEvent};

const LEASE: Duration = Duration::from_secs(60);

fn record(session: &str) -> EnvelopeRecord {
    let envelope = Envelope::new(
        TitanEvent::MessageReceived,
        session,
        serde_json::json!({"text": "héllo 👋", "n": 1}),
    );
    EnvelopeRecord::from_envelope(&envelope).unwrap()
}

fn request<'a>(owner: &'a str, now: SystemTime, skip: &'a [WebhookId]) -> ClaimRequest<'a> {
    ClaimRequest {
        owner,
        now,
        lease: LEASE,
        limit: 100,
        skip,
        per_webhook: usize::MAX,
    }
}

/// A time the stores keep exactly: whole microseconds.
fn micros_after_epoch(micros: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_micros(micros)
}

fn attempt(delivery: &ClaimedDelivery, outcome: AttemptOutcome, next: NextStep) -> DeliveryAttempt {
    DeliveryAttempt {
        sequence: None,
        key: delivery.key.clone(),
        attempt: delivery.next_attempt(),
        started_at: micros_after_epoch(1_790_000_000_123_456),
        latency: Duration::from_micros(12_345),
        outcome,
        response_body: vec![0, 159, 146, 150, b'o', b'k'],
        response_truncated: true,
        location: Some("https://example.com/moved?q='x'".into()),
        remote_ip: Some("2001:db8::7".parse::<IpAddr>().unwrap()),
        next,
        detail: Some("upstream said \"busy\"".into()),
    }
}

async fn state_of<S: DeliveryAdmin>(store: &S, key: &DeliveryKey) -> Option<DeliveryState> {
    let listed = store
        .list_deliveries(&DeliveryQuery::for_delivery(key))
        .await
        .unwrap();
    assert!(listed.len() <= 1);
    listed.first().map(|record| record.state)
}

async fn claim_one<S: DeliveryStore>(store: &S, owner: &str) -> ClaimedDelivery {
    let mut claimed = store
        .claim(request(owner, SystemTime::now(), &[]))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "exactly one delivery was due");
    claimed.pop().unwrap()
}

async fn enqueue_is_idempotent_per_envelope_and_webhook<S: DeliveryStore + DeliveryAdmin>(
    store: &S,
) {
    let envelope = record("s");
    let tricky = WebhookId::from("wh 'x\"; DROP TABLE titan_webhooks_deliveries; --");
    let first = vec![WebhookId::from(1), WebhookId::from("1"), tricky.clone()];
    let queued = store.enqueue(&envelope, &first).await.unwrap();
    assert_eq!(sorted(queued), sorted(first.clone()));

    let again = store
        .enqueue(&envelope, &[WebhookId::from(1), WebhookId::from(2)])
        .await
        .unwrap();
    assert_eq!(
        again,
        vec![WebhookId::from(2)],
        "only the new webhook is queued"
    );
    assert!(store.enqueue(&envelope, &[]).await.unwrap().is_empty());

    let open = store.open_deliveries().await.unwrap();
    assert_eq!(open.len(), 4);
    assert!(
        open.iter()
            .all(|delivery| delivery.state == DeliveryState::Pending)
    );
    assert!(
        open.iter()
            .any(|delivery| delivery.key.webhook_id == tricky)
    );
    assert!(
        open.iter()
            .any(|delivery| delivery.key.webhook_id == WebhookId::Number(1))
            && open
                .iter()
                .any(|delivery| delivery.key.webhook_id == WebhookId::Text("1".into())),
        "42 and \"42\" are different webhooks"
    );
}

fn item(record: &EnvelopeRecord, webhooks: &[u64]) -> Prepared {
    Prepared {
        record: record.clone(),
        webhooks: webhooks.iter().map(|&id| WebhookId::from(id)).collect(),
    }
}

fn ids(webhooks: &[u64]) -> Vec<WebhookId> {
    webhooks.iter().map(|&id| WebhookId::from(id)).collect()
}

async fn a_batch_queues_each_envelope_once_and_reports_duplicates_as_nothing_new<
    S: DeliveryStore + DeliveryAdmin,
>(
    store: &S,
) {
    assert!(store.enqueue_many(&[]).await.unwrap().is_empty());
    let stored = record("stored");
    assert_eq!(store.enqueue(&stored, &ids(&[1])).await.unwrap(), ids(&[1]));
    let twice = record("twice");
    let unwanted = record("unwanted");
    let fresh = record("fresh");
    let batch = [
        item(&stored, &[1, 2]),
        item(&twice, &[1, 2]),
        item(&twice, &[2, 3]),
        item(&unwanted, &[]),
        item(&fresh, &[1, 1]),
        item(&stored, &[1]),
    ];
    let queued = store.enqueue_many(&batch).await.unwrap();
    assert_eq!(
        queued,
        vec![
            ids(&[2]),
            ids(&[1, 2]),
            ids(&[3]),
            Vec::new(),
            ids(&[1]),
            Vec::new()
        ],
        "per item, in order, only what it newly queued"
    );

    let open = store.open_deliveries().await.unwrap();
    assert_eq!(open.len(), 2 + 3 + 1, "each delivery once");
    assert!(
        store
            .list_deliveries(&DeliveryQuery::for_envelope(unwanted.id.as_str()))
            .await
            .unwrap()
            .is_empty()
    );
    let claimed = store
        .claim(request("w", SystemTime::now(), &[]))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 6, "every queued delivery is claimable");
    assert!(
        store
            .enqueue_many(&batch)
            .await
            .unwrap()
            .iter()
            .all(Vec::is_empty),
        "the same batch again queues nothing"
    );

    let texts = record("texts");
    let tricky = vec![
        WebhookId::from("1"),
        WebhookId::from(1),
        WebhookId::from("wh 'x\"; DROP TABLE titan_webhooks_deliveries; --"),
    ];
    let batch = [Prepared {
        record: texts.clone(),
        webhooks: tricky.clone(),
    }];
    assert_eq!(
        store.enqueue_many(&batch).await.unwrap(),
        vec![tricky.clone()],
        "1 and \"1\" are different webhooks"
    );
    assert!(
        store.enqueue(&texts, &tricky).await.unwrap().is_empty(),
        "one enqueue sees what a batch queued"
    );
}

/// A store that can be made to fail, for real, inside its own transaction:
/// a trigger refuses any delivery of the envelope `evt_poison`.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
trait Poison {
    async fn poison(&self);
}

#[cfg(feature = "sqlite")]
impl Poison for titan_webhooks::store::SqliteStore {
    async fn poison(&self) {
        sqlx::query(
            "CREATE TRIGGER test_poison BEFORE INSERT ON titan_webhooks_deliveries
             WHEN NEW.envelope_id = 'evt_poison'
             BEGIN SELECT RAISE(ABORT, 'poisoned envelope'); END",
        )
        .execute(self.pool())
        .await
        .unwrap();
    }
}

#[cfg(feature = "postgres")]
impl Poison for titan_webhooks::store::PostgresStore {
    async fn poison(&self) {
        sqlx::query(
            "CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF NEW.envelope_id = 'evt_poison' THEN RAISE EXCEPTION 'poisoned envelope'; END IF;
                 RETURN NEW;
             END;
             $$",
        )
        .execute(self.pool())
        .await
        .unwrap();
        sqlx::query(
            "CREATE TRIGGER test_poison BEFORE INSERT ON titan_webhooks_deliveries
             FOR EACH ROW EXECUTE FUNCTION test_poison()",
        )
        .execute(self.pool())
        .await
        .unwrap();
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
async fn a_batch_that_fails_halfway_stores_nothing<S: DeliveryStore + DeliveryAdmin + Poison>(
    store: &S,
) {
    let stored = record("stored");
    store.enqueue(&stored, &ids(&[1])).await.unwrap();
    store.poison().await;
    let mut poisoned = record("poisoned");
    poisoned.id = "evt_poison".into();
    let before = record("before");
    let after = record("after");
    let batch = [
        item(&before, &[1, 2]),
        item(&stored, &[1, 2]),
        item(&poisoned, &[1]),
        item(&after, &[1]),
    ];
    let err = store.enqueue_many(&batch).await.unwrap_err();
    assert!(
        err.to_string().contains("poisoned envelope"),
        "the database's own error: {err}"
    );
    let keys: Vec<DeliveryKey> = store
        .list_deliveries(&DeliveryQuery::all())
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.key)
        .collect();
    assert_eq!(
        keys,
        vec![DeliveryKey::new(stored.id.as_str(), 1.into())],
        "nothing from the failed batch is stored, before or after the failure"
    );

    let without = [
        item(&before, &[1, 2]),
        item(&stored, &[1, 2]),
        item(&after, &[1]),
    ];
    assert_eq!(
        store.enqueue_many(&without).await.unwrap(),
        vec![ids(&[1, 2]), ids(&[2]), ids(&[1])],
        "the store works on, and nothing was left behind to make these duplicates"
    );
}

fn sorted(mut ids: Vec<WebhookId>) -> Vec<WebhookId> {
    ids.sort();
    ids
}

async fn claims_are_due_limited_skipping_and_exclusive<S: DeliveryStore>(store: &S) {
    let envelopes: Vec<EnvelopeRecord> = (0..5).map(|i| record(&format!("s{i}"))).collect();
    for envelope in &envelopes {
        store.enqueue(envelope, &[1.into()]).await.unwrap();
    }
    let other = record("other");
    store.enqueue(&other, &[2.into()]).await.unwrap();

    let now = SystemTime::now();
    let before_enqueue = now - Duration::from_secs(3600);
    assert!(
        store
            .claim(request("a", before_enqueue, &[]))
            .await
            .unwrap()
            .is_empty(),
        "nothing is due before it was queued"
    );

    let first = store
        .claim(ClaimRequest {
            limit: 3,
            ..request("a", now, &[])
        })
        .await
        .unwrap();
    assert_eq!(first.len(), 3);
    for claimed in &first {
        assert_eq!(claimed.attempts, 0);
        assert_eq!(claimed.lease.owner, "a");
        assert_eq!(claimed.lease.until, now + LEASE);
        let envelope = envelopes
            .iter()
            .chain([&other])
            .find(|envelope| envelope.id == claimed.key.envelope_id)
            .unwrap();
        assert_eq!(claimed.body, envelope.body, "the exact bytes queued");
    }

    let skip = [WebhookId::from(2)];
    let second = store.claim(request("b", now, &skip)).await.unwrap();
    assert!(
        second
            .iter()
            .all(|claimed| claimed.key.webhook_id == 1.into()),
        "webhook 2 is skipped"
    );
    let third = store.claim(request("b", now, &[])).await.unwrap();
    let mut all: Vec<DeliveryKey> = first
        .iter()
        .chain(&second)
        .chain(&third)
        .map(|claimed| claimed.key.clone())
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 6, "every delivery claimed exactly once");
    assert!(
        store
            .claim(request("c", now, &[]))
            .await
            .unwrap()
            .is_empty(),
        "leased deliveries are not claimed again"
    );
}

async fn claims_take_at_most_per_webhook_so_a_backlog_cannot_crowd_out_others<S: DeliveryStore>(
    store: &S,
) {
    let backlog: Vec<EnvelopeRecord> = (0..6).map(|i| record(&format!("backlog-{i}"))).collect();
    for envelope in &backlog {
        store.enqueue(envelope, &[1.into()]).await.unwrap();
    }
    let other = record("other");
    store.enqueue(&other, &["wh_2".into()]).await.unwrap();

    let capped = ClaimRequest {
        limit: 3,
        per_webhook: 2,
        ..request("a", SystemTime::now(), &[])
    };
    let claimed = store.claim(capped).await.unwrap();
    let mut envelopes: Vec<&str> = claimed
        .iter()
        .map(|delivery| delivery.key.envelope_id.as_str())
        .collect();
    envelopes.sort_unstable();
    let mut expected = vec![
        backlog[0].id.as_str(),
        backlog[1].id.as_str(),
        other.id.as_str(),
    ];
    expected.sort_unstable();
    assert_eq!(
        envelopes, expected,
        "the two oldest of the backlog, then the other webhook's"
    );
}

async fn completion_records_the_attempt_and_refuses_a_stale_claim<
    S: DeliveryStore + DeliveryAdmin,
>(
    store: &S,
) {
    store.enqueue(&record("s"), &[7.into()]).await.unwrap();
    let claimed = claim_one(store, "a").await;
    let retry_at = micros_after_epoch(4_000_000_000_000_000);
    let made = attempt(
        &claimed,
        AttemptOutcome::Status(503),
        NextStep::RetryAt(retry_at),
    );
    let logged = store.complete(&claimed, &made).await.unwrap();

    let attempts = store
        .list_attempts(&DeliveryQuery::for_delivery(&claimed.key))
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        attempts[0],
        DeliveryAttempt {
            sequence: Some(logged),
            ..made.clone()
        },
        "every field round-trips, with the sequence complete returned"
    );

    assert!(matches!(
        store.complete(&claimed, &made).await,
        Err(StoreError::LeaseLost)
    ));
    assert_eq!(
        store
            .list_attempts(&DeliveryQuery::for_delivery(&claimed.key))
            .await
            .unwrap()
            .len(),
        1,
        "a refused completion records nothing"
    );
    assert_eq!(
        state_of(store, &claimed.key).await,
        Some(DeliveryState::Retry)
    );
    assert_eq!(store.next_due().await.unwrap(), Some(retry_at));
    assert!(
        store
            .claim(request("a", SystemTime::now(), &[]))
            .await
            .unwrap()
            .is_empty()
    );

    let retried = store
        .claim(request("a", retry_at, &[]))
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(retried.attempts, 1);
    assert_eq!(retried.next_attempt(), 2);
    assert_ne!(retried.lease.token, claimed.lease.token);
    let failed = attempt(
        &retried,
        AttemptOutcome::Failed(FailureKind::Tls),
        NextStep::GaveUp,
    );
    store.complete(&retried, &failed).await.unwrap();
    let attempts = store
        .list_attempts(&DeliveryQuery::for_delivery(&claimed.key))
        .await
        .unwrap();
    assert_eq!(
        attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(),
        [2, 1],
        "newest first"
    );
    assert_eq!(
        attempts[0].outcome,
        AttemptOutcome::Failed(FailureKind::Tls)
    );
    assert_eq!(
        state_of(store, &claimed.key).await,
        Some(DeliveryState::Exhausted)
    );
    assert_eq!(store.next_due().await.unwrap(), None);
    assert!(store.open_deliveries().await.unwrap().is_empty());
}

async fn leases_are_renewed_recovered_and_released<S: DeliveryStore + DeliveryAdmin>(store: &S) {
    store
        .enqueue(&record("s"), &[1.into(), "wh_2".into()])
        .await
        .unwrap();
    let start = SystemTime::now();
    let mut both = store.claim(request("a", start, &[])).await.unwrap();
    assert_eq!(both.len(), 2);
    both.sort_by(|x, y| x.key.cmp(&y.key));
    let abandoned = both.pop().unwrap();
    let claimed = both.pop().unwrap();
    assert_eq!(
        state_of(store, &claimed.key).await,
        Some(DeliveryState::InFlight)
    );
    let open = store.open_deliveries().await.unwrap();
    assert_eq!(
        (open[0].state, open[0].next_attempt_at),
        (DeliveryState::InFlight, None)
    );

    let held = [HeldClaim::from(&claimed)];
    let renew = |owner: &'static str, held: Vec<HeldClaim>| async move {
        store
            .renew_leases(owner, &held, start + 2 * LEASE)
            .await
            .unwrap()
    };
    assert_eq!(renew("a", held.to_vec()).await, 1);
    assert_eq!(renew("someone-else", held.to_vec()).await, 0);
    let stale = HeldClaim {
        token: claimed.lease.token.wrapping_add(1),
        ..HeldClaim::from(&claimed)
    };
    assert_eq!(
        renew("a", vec![stale]).await,
        0,
        "a stale token renews nothing"
    );
    assert_eq!(renew("a", Vec::new()).await, 0);
    assert_eq!(
        store
            .recover_expired(start + LEASE + Duration::from_secs(1))
            .await
            .unwrap(),
        1,
        "only the claim left out of the renewal lapses"
    );
    assert_eq!(
        state_of(store, &abandoned.key).await,
        Some(DeliveryState::Pending)
    );
    assert_eq!(
        state_of(store, &claimed.key).await,
        Some(DeliveryState::InFlight),
        "the renewed lease still holds"
    );
    let retaken = claim_one(store, "c").await;
    assert_eq!(retaken.key, abandoned.key);
    store
        .complete(
            &retaken,
            &attempt(&retaken, AttemptOutcome::Status(204), NextStep::Succeeded),
        )
        .await
        .unwrap();
    assert_eq!(
        store.recover_expired(start + 3 * LEASE).await.unwrap(),
        1,
        "a lapsed lease is recovered"
    );
    assert_eq!(
        state_of(store, &claimed.key).await,
        Some(DeliveryState::Pending)
    );
    assert!(matches!(
        store
            .complete(
                &claimed,
                &attempt(&claimed, AttemptOutcome::Status(204), NextStep::Succeeded)
            )
            .await,
        Err(StoreError::LeaseLost)
    ));

    let reclaimed = claim_one(store, "b").await;
    assert_eq!(reclaimed.key, claimed.key);
    assert_eq!(
        store.release_leases("b").await.unwrap(),
        vec![claimed.key.clone()]
    );
    assert_eq!(store.release_leases("b").await.unwrap(), Vec::new());
    assert_eq!(
        state_of(store, &claimed.key).await,
        Some(DeliveryState::Pending)
    );
    assert!(matches!(
        store
            .complete(
                &reclaimed,
                &attempt(&reclaimed, AttemptOutcome::Status(204), NextStep::Succeeded)
            )
            .await,
        Err(StoreError::LeaseLost)
    ));
}

async fn listings_filter_and_page_newest_first<S: DeliveryStore + DeliveryAdmin>(store: &S) {
    let envelopes: Vec<EnvelopeRecord> = (0..3).map(|i| record(&format!("session-{i}"))).collect();
    for envelope in &envelopes {
        store
            .enqueue(envelope, &[1.into(), 2.into()])
            .await
            .unwrap();
    }

    let page = store
        .list_deliveries(&DeliveryQuery::all().limit(4))
        .await
        .unwrap();
    assert_eq!(page.len(), 4);
    assert!(
        page.windows(2)
            .all(|pair| pair[0].sequence > pair[1].sequence)
    );
    assert_eq!(page[0].key.envelope_id, envelopes[2].id, "newest first");
    let rest = store
        .list_deliveries(&DeliveryQuery::all().before(page[3].sequence))
        .await
        .unwrap();
    assert_eq!(rest.len(), 2);
    assert!(rest.iter().all(|record| record.sequence < page[3].sequence));

    let for_webhook = store
        .list_deliveries(&DeliveryQuery::for_webhook(1.into()))
        .await
        .unwrap();
    assert_eq!(for_webhook.len(), 3);
    assert!(
        for_webhook
            .iter()
            .all(|record| record.key.webhook_id == 1.into())
    );

    let for_envelope = store
        .list_deliveries(&DeliveryQuery::for_envelope(envelopes[1].id.clone()))
        .await
        .unwrap();
    assert_eq!(for_envelope.len(), 2);
    let shown = &for_envelope[0];
    assert_eq!(shown.event, "message.received");
    assert_eq!(shown.session, "session-1");
    assert_eq!(shown.state, DeliveryState::Pending);
    assert!(shown.next_attempt_at.is_some());
    assert!(shown.created_at <= SystemTime::now());

    let claimed = claim_one_of(store, &envelopes[0].id, 2.into(), &[1.into()]).await;
    let made = attempt(&claimed, AttemptOutcome::Status(500), NextStep::GaveUp);
    store.complete(&claimed, &made).await.unwrap();
    let exhausted = store
        .list_deliveries(&DeliveryQuery::all().with_state(DeliveryState::Exhausted))
        .await
        .unwrap();
    assert_eq!(exhausted.len(), 1);
    assert_eq!(exhausted[0].key, claimed.key);
    assert_eq!(exhausted[0].attempts, 1);
    assert_eq!(exhausted[0].next_attempt_at, None);

    let of_webhook_2 = store
        .list_attempts(&DeliveryQuery::for_webhook(2.into()))
        .await
        .unwrap();
    assert_eq!(of_webhook_2.len(), 1);
    assert!(
        store
            .list_attempts(&DeliveryQuery::for_webhook(1.into()))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list_attempts(&DeliveryQuery::all().before(of_webhook_2[0].sequence.unwrap()))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Claims the earliest due delivery to `webhook`, skipping `others`, and
/// checks it is `envelope`'s: the first one queued.
async fn claim_one_of<S: DeliveryStore>(
    store: &S,
    envelope: &str,
    webhook: WebhookId,
    others: &[WebhookId],
) -> ClaimedDelivery {
    let mut claimed = store
        .claim(ClaimRequest {
            limit: 1,
            ..request("picker", SystemTime::now(), others)
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let found = claimed.pop().unwrap();
    assert_eq!(found.key, DeliveryKey::new(envelope, webhook));
    found
}

async fn redelivery_starts_a_finished_delivery_over<S: DeliveryStore + DeliveryAdmin>(store: &S) {
    store.enqueue(&record("a"), &[1.into()]).await.unwrap();
    let first = claim_one(store, "w").await;
    let failed = attempt(&first, AttemptOutcome::Status(500), NextStep::GaveUp);
    store.complete(&first, &failed).await.unwrap();

    let now = SystemTime::now();
    assert!(store.redeliver(&first.key, now).await.unwrap());
    assert!(
        !store.redeliver(&first.key, now).await.unwrap(),
        "an open delivery is not redelivered"
    );
    assert!(
        !store
            .redeliver(&DeliveryKey::new("evt_unknown", 1.into()), now)
            .await
            .unwrap()
    );
    let again = claim_one(store, "w").await;
    assert_eq!(again.key, first.key);
    assert_eq!(again.attempts, 0, "the retry schedule starts over");
    assert_eq!(again.body, first.body);
    store
        .complete(
            &again,
            &attempt(&again, AttemptOutcome::Status(500), NextStep::GaveUp),
        )
        .await
        .unwrap();

    // Two more exhausted deliveries, finished apart in time.
    store.enqueue(&record("b"), &[1.into()]).await.unwrap();
    let b = claim_one(store, "w").await;
    let before_b = SystemTime::now();
    store
        .complete(
            &b,
            &attempt(&b, AttemptOutcome::Status(500), NextStep::GaveUp),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = SystemTime::now();
    store.enqueue(&record("c"), &[1.into()]).await.unwrap();
    let c = claim_one(store, "w").await;
    store
        .complete(
            &c,
            &attempt(&c, AttemptOutcome::Status(500), NextStep::GaveUp),
        )
        .await
        .unwrap();

    let later = SystemTime::now() + Duration::from_secs(1);
    assert_eq!(
        store
            .redeliver_exhausted(before_b..between, later)
            .await
            .unwrap(),
        1,
        "only b finished in the range"
    );
    assert_eq!(state_of(store, &b.key).await, Some(DeliveryState::Pending));
    assert_eq!(
        state_of(store, &c.key).await,
        Some(DeliveryState::Exhausted)
    );
    assert_eq!(
        store
            .redeliver_exhausted(SystemTime::UNIX_EPOCH..later, later)
            .await
            .unwrap(),
        2,
        "the first delivery and c"
    );
    assert_eq!(store.open_deliveries().await.unwrap().len(), 3);
}

async fn redelivering_a_webhook_requeues_only_its_stopped_deliveries<
    S: DeliveryStore + DeliveryAdmin,
>(
    store: &S,
) {
    let webhook = WebhookId::from(1);
    let other = WebhookId::from(2);
    let to_webhook = [webhook.clone()];
    // Webhook 1: one exhausted, one succeeded, one in flight, two cancelled.
    let exhausted = record("exhausted");
    store.enqueue(&exhausted, &to_webhook).await.unwrap();
    let gave_up = claim_one(store, "w").await;
    store
        .complete(
            &gave_up,
            &attempt(&gave_up, AttemptOutcome::Status(500), NextStep::GaveUp),
        )
        .await
        .unwrap();
    store
        .enqueue(&record("succeeded"), &to_webhook)
        .await
        .unwrap();
    let delivered = claim_one(store, "w").await;
    store
        .complete(
            &delivered,
            &attempt(&delivered, AttemptOutcome::Status(204), NextStep::Succeeded),
        )
        .await
        .unwrap();
    store
        .enqueue(&record("in-flight"), &to_webhook)
        .await
        .unwrap();
    let in_flight = claim_one(store, "w").await;
    let waiting = [record("waiting-1"), record("waiting-2")];
    for envelope in &waiting {
        store.enqueue(envelope, &to_webhook).await.unwrap();
    }
    assert_eq!(
        store
            .cancel_webhook(&webhook, SystemTime::now())
            .await
            .unwrap(),
        2
    );
    // Webhook 2: one exhausted delivery, which must stay as it is.
    store.enqueue(&record("other"), &[other]).await.unwrap();
    let other_gave_up = claim_one(store, "w").await;
    store
        .complete(
            &other_gave_up,
            &attempt(
                &other_gave_up,
                AttemptOutcome::Status(500),
                NextStep::GaveUp,
            ),
        )
        .await
        .unwrap();

    let now = micros_after_epoch(1_800_000_000_000_000);
    assert_eq!(
        store.redeliver_webhook(&webhook, now).await.unwrap(),
        3,
        "the exhausted delivery and the two cancelled ones"
    );
    for key in std::iter::once(gave_up.key.clone()).chain(
        waiting
            .iter()
            .map(|envelope| DeliveryKey::new(envelope.id.clone(), webhook.clone())),
    ) {
        let listed = store
            .list_deliveries(&DeliveryQuery::for_delivery(&key))
            .await
            .unwrap();
        assert_eq!(listed.len(), 1, "{key}");
        assert_eq!(listed[0].state, DeliveryState::Pending, "{key}");
        assert_eq!(listed[0].attempts, 0, "{key}: the attempt count restarts");
        assert_eq!(listed[0].next_attempt_at, Some(now), "{key}: due at `now`");
    }
    assert_eq!(
        state_of(store, &delivered.key).await,
        Some(DeliveryState::Succeeded)
    );
    assert_eq!(
        state_of(store, &in_flight.key).await,
        Some(DeliveryState::InFlight)
    );
    assert_eq!(
        state_of(store, &other_gave_up.key).await,
        Some(DeliveryState::Exhausted),
        "another webhook's deliveries are not touched"
    );
    assert_eq!(
        store
            .list_attempts(&DeliveryQuery::for_delivery(&gave_up.key))
            .await
            .unwrap()
            .len(),
        1,
        "the earlier attempt stays in the log"
    );
    assert_eq!(
        store.redeliver_webhook(&webhook, now).await.unwrap(),
        0,
        "nothing is stopped any more"
    );
    assert_eq!(
        store
            .redeliver_webhook(&WebhookId::from("1"), now)
            .await
            .unwrap(),
        0,
        "the text id \"1\" is another webhook"
    );

    let again = store.claim(request("w", now, &[])).await.unwrap();
    let mut claimed: Vec<DeliveryKey> = again.iter().map(|delivery| delivery.key.clone()).collect();
    claimed.sort();
    let mut expected = vec![
        gave_up.key.clone(),
        DeliveryKey::new(waiting[0].id.clone(), webhook.clone()),
        DeliveryKey::new(waiting[1].id.clone(), webhook.clone()),
    ];
    expected.sort();
    assert_eq!(
        claimed, expected,
        "the redelivered deliveries are claimed again"
    );
    assert!(again.iter().all(|delivery| delivery.attempts == 0));
}

async fn cancelling_a_webhook_leaves_attempts_in_flight_alone<S: DeliveryStore + DeliveryAdmin>(
    store: &S,
) {
    let in_flight_envelope = record("x");
    store
        .enqueue(&in_flight_envelope, &[1.into()])
        .await
        .unwrap();
    let in_flight = claim_one(store, "w").await;
    for session in ["y", "z"] {
        store.enqueue(&record(session), &[1.into()]).await.unwrap();
    }
    let other = record("other");
    store.enqueue(&other, &[2.into()]).await.unwrap();

    let now = SystemTime::now();
    assert_eq!(store.cancel_webhook(&1.into(), now).await.unwrap(), 2);
    assert_eq!(store.cancel_webhook(&1.into(), now).await.unwrap(), 0);
    let made = attempt(&in_flight, AttemptOutcome::Status(200), NextStep::Succeeded);
    store.complete(&in_flight, &made).await.unwrap();

    let metrics = store.metrics(SystemTime::now()).await.unwrap();
    assert_eq!(
        (metrics.cancelled, metrics.succeeded, metrics.pending),
        (2, 1, 1)
    );
    let open = store.open_deliveries().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].key, DeliveryKey::new(other.id.clone(), 2.into()));
}

async fn purging_removes_old_succeeded_deliveries_and_lone_envelopes<
    S: DeliveryStore + DeliveryAdmin,
>(
    store: &S,
) {
    let shared = record("shared");
    let alone = record("alone");
    store.enqueue(&shared, &[1.into(), 2.into()]).await.unwrap();
    store.enqueue(&alone, &[1.into()]).await.unwrap();
    let claimed = store
        .claim(request("w", SystemTime::now(), &[]))
        .await
        .unwrap();
    for delivery in &claimed {
        let exhausted = delivery.key == DeliveryKey::new(shared.id.clone(), 2.into());
        let (outcome, next) = if exhausted {
            (AttemptOutcome::Status(400), NextStep::GaveUp)
        } else {
            (AttemptOutcome::Status(204), NextStep::Succeeded)
        };
        let made = attempt(delivery, outcome, next);
        store.complete(delivery, &made).await.unwrap();
    }

    let before_finishing = SystemTime::now() - Duration::from_secs(3600);
    assert_eq!(store.purge_succeeded(before_finishing).await.unwrap(), 0);
    let after = SystemTime::now() + Duration::from_secs(1);
    assert_eq!(store.purge_succeeded(after).await.unwrap(), 2);

    let left = store.list_deliveries(&DeliveryQuery::all()).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].key, DeliveryKey::new(shared.id.clone(), 2.into()));
    assert_eq!(
        left[0].session, "shared",
        "the envelope stays while a delivery needs it"
    );
    let attempts = store.list_attempts(&DeliveryQuery::all()).await.unwrap();
    assert_eq!(
        attempts.len(),
        1,
        "the purged deliveries' attempts are gone"
    );
    assert_eq!(attempts[0].key, left[0].key);

    assert_eq!(
        store.enqueue(&alone, &[1.into()]).await.unwrap(),
        vec![WebhookId::from(1)],
        "a purged delivery can be queued again"
    );
    let requeued = claim_one(store, "w").await;
    assert_eq!(requeued.body, alone.body, "its envelope was stored anew");
}

/// Claims every due delivery, keyed by its webhook's number.
async fn claim_by_webhook<S: DeliveryStore>(
    store: &S,
) -> std::collections::BTreeMap<WebhookId, ClaimedDelivery> {
    store
        .claim(request("w", SystemTime::now(), &[]))
        .await
        .unwrap()
        .into_iter()
        .map(|claimed| (claimed.key.webhook_id.clone(), claimed))
        .collect()
}

async fn keys_of<S: DeliveryAdmin>(store: &S) -> Vec<(DeliveryKey, DeliveryState)> {
    let mut listed: Vec<_> = store
        .list_deliveries(&DeliveryQuery::all())
        .await
        .unwrap()
        .into_iter()
        .map(|record| (record.key, record.state))
        .collect();
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    listed
}

async fn attempted<S: DeliveryAdmin>(store: &S) -> Vec<DeliveryKey> {
    let mut keys: Vec<_> = store
        .list_attempts(&DeliveryQuery::all())
        .await
        .unwrap()
        .into_iter()
        .map(|attempt| attempt.key)
        .collect();
    keys.sort();
    keys
}

async fn purging_finished_removes_exhausted_and_cancelled_with_their_attempts_only<
    S: DeliveryStore + DeliveryAdmin,
>(
    store: &S,
) {
    let stopped = record("stopped");
    let open = record("open");
    store
        .enqueue(&stopped, &[1.into(), 2.into(), 3.into()])
        .await
        .unwrap();
    store.enqueue(&open, &[4.into(), 5.into()]).await.unwrap();
    let claimed = claim_by_webhook(store).await;
    assert_eq!(claimed.len(), 5);
    let far = SystemTime::now() + Duration::from_secs(86_400);
    for (webhook, outcome, next) in [
        (1, AttemptOutcome::Status(400), NextStep::GaveUp),
        (2, AttemptOutcome::Status(204), NextStep::Succeeded),
        (3, AttemptOutcome::Status(503), NextStep::RetryAt(far)),
        (4, AttemptOutcome::Status(503), NextStep::RetryAt(far)),
    ] {
        let delivery = &claimed[&WebhookId::from(webhook)];
        store
            .complete(delivery, &attempt(delivery, outcome, next))
            .await
            .unwrap();
    }
    // Webhook 3 is disabled while its delivery waits to retry.
    assert_eq!(
        store
            .cancel_webhook(&3.into(), SystemTime::now())
            .await
            .unwrap(),
        1
    );
    let waiting = record("waiting");
    store.enqueue(&waiting, &[6.into()]).await.unwrap();

    let key = |envelope: &EnvelopeRecord, webhook: u64| {
        DeliveryKey::new(envelope.id.clone(), webhook.into())
    };
    let exhausted = key(&stopped, 1);
    let succeeded = key(&stopped, 2);
    let cancelled = key(&stopped, 3);
    let retry = key(&open, 4);
    let in_flight = key(&open, 5);
    let pending = key(&waiting, 6);
    assert_eq!(
        state_of(store, &exhausted).await,
        Some(DeliveryState::Exhausted)
    );
    assert_eq!(
        state_of(store, &cancelled).await,
        Some(DeliveryState::Cancelled)
    );
    let mut all_attempted = vec![
        exhausted.clone(),
        succeeded.clone(),
        cancelled.clone(),
        retry.clone(),
    ];
    all_attempted.sort();
    assert_eq!(attempted(store).await, all_attempted);

    let stopped_states = [FinishedState::Exhausted, FinishedState::Cancelled];
    let long_ago = SystemTime::now() - Duration::from_secs(3600);
    assert_eq!(
        store
            .purge_finished(&stopped_states, long_ago)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.purge_finished(&[], far).await.unwrap(),
        0,
        "no state, no purge"
    );
    let after = SystemTime::now() + Duration::from_secs(1);
    assert_eq!(
        store.purge_finished(&stopped_states, after).await.unwrap(),
        2
    );

    let mut left = vec![
        (succeeded.clone(), DeliveryState::Succeeded),
        (retry.clone(), DeliveryState::Retry),
        (in_flight.clone(), DeliveryState::InFlight),
        (pending.clone(), DeliveryState::Pending),
    ];
    left.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        keys_of(store).await,
        left,
        "succeeded and open deliveries stay"
    );
    let mut kept_attempts = vec![succeeded.clone(), retry.clone()];
    kept_attempts.sort();
    assert_eq!(
        attempted(store).await,
        kept_attempts,
        "the purged deliveries' attempts are gone, the others' stay"
    );
    let metrics = store.metrics(SystemTime::now()).await.unwrap();
    assert_eq!((metrics.exhausted, metrics.cancelled), (0, 0));
    assert_eq!((metrics.succeeded, metrics.open()), (1, 3));

    // Every finished state at once, however late the cutoff: the open
    // deliveries are still untouched, and the claim still holds.
    assert_eq!(
        store
            .purge_finished(&FinishedState::ALL, far)
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.open_deliveries().await.unwrap().len(), 3);
    let held = &claimed[&WebhookId::from(5)];
    store
        .complete(
            held,
            &attempt(held, AttemptOutcome::Status(200), NextStep::Succeeded),
        )
        .await
        .unwrap();
    assert_eq!(
        state_of(store, &in_flight).await,
        Some(DeliveryState::Succeeded)
    );

    assert_eq!(
        store
            .enqueue(&stopped, &[1.into(), 3.into()])
            .await
            .unwrap()
            .len(),
        2,
        "purged deliveries can be queued again"
    );
    let requeued = claim_by_webhook(store).await;
    assert_eq!(
        requeued[&WebhookId::from(1)].body,
        stopped.body,
        "its envelope was stored anew"
    );
    assert_eq!(requeued[&WebhookId::from(1)].attempts, 0);
}

async fn purging_keeps_deliveries_that_finished_after_the_cutoff<
    S: DeliveryStore + DeliveryAdmin,
>(
    store: &S,
) {
    let hour = Duration::from_secs(3600);
    let now = micros_after_epoch(1_790_000_000_000_000);
    let (old_cancel, new_cancel) = (record("old-cancel"), record("new-cancel"));
    store.enqueue(&old_cancel, &[1.into()]).await.unwrap();
    store.enqueue(&new_cancel, &[2.into()]).await.unwrap();
    store
        .cancel_webhook(&1.into(), now - 3 * hour)
        .await
        .unwrap();
    store.cancel_webhook(&2.into(), now - hour).await.unwrap();

    let (old_failure, new_failure) = (record("old-failure"), record("new-failure"));
    store.enqueue(&old_failure, &[3.into()]).await.unwrap();
    let first = claim_one(store, "w").await;
    store
        .complete(
            &first,
            &attempt(&first, AttemptOutcome::Status(400), NextStep::GaveUp),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = SystemTime::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    store.enqueue(&new_failure, &[3.into()]).await.unwrap();
    let second = claim_one(store, "w").await;
    store
        .complete(
            &second,
            &attempt(&second, AttemptOutcome::Status(400), NextStep::GaveUp),
        )
        .await
        .unwrap();

    // Two hours of retention for cancellations: only the older goes.
    assert_eq!(
        store
            .purge_finished(&[FinishedState::Cancelled], now - 2 * hour)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        state_of(store, &DeliveryKey::new(old_cancel.id.clone(), 1.into())).await,
        None
    );
    assert_eq!(
        state_of(store, &DeliveryKey::new(new_cancel.id.clone(), 2.into())).await,
        Some(DeliveryState::Cancelled)
    );

    // Exhausted ones before `between`: the newer failure and its attempt stay.
    assert_eq!(
        store
            .purge_finished(&[FinishedState::Exhausted], between)
            .await
            .unwrap(),
        1
    );
    let old_key = DeliveryKey::new(old_failure.id.clone(), 3.into());
    let new_key = DeliveryKey::new(new_failure.id.clone(), 3.into());
    assert_eq!(state_of(store, &old_key).await, None);
    assert_eq!(
        state_of(store, &new_key).await,
        Some(DeliveryState::Exhausted)
    );
    assert_eq!(attempted(store).await, [new_key]);
    assert_eq!(
        store
            .purge_finished(&[FinishedState::Exhausted], between)
            .await
            .unwrap(),
        0,
        "a second purge finds nothing more"
    );
}

async fn metrics_count_states_and_the_oldest_due_age<S: DeliveryStore + DeliveryAdmin>(store: &S) {
    let empty = store.metrics(SystemTime::now()).await.unwrap();
    assert_eq!((empty.open(), empty.oldest_due_age), (0, None));

    let queued_at = SystemTime::now();
    for session in ["a", "b", "c"] {
        store.enqueue(&record(session), &[1.into()]).await.unwrap();
    }
    let later = queued_at + Duration::from_secs(5);
    let metrics = store.metrics(later).await.unwrap();
    assert_eq!(metrics.pending, 3);
    let age = metrics.oldest_due_age.unwrap();
    assert!(
        age <= Duration::from_secs(5) && age >= Duration::from_secs(4),
        "{age:?}"
    );

    let claimed = store
        .claim(ClaimRequest {
            limit: 1,
            ..request("w", SystemTime::now(), &[])
        })
        .await
        .unwrap();
    // Stored to the microsecond, so it may read as a little earlier.
    assert!(
        claimed[0].queued_at + Duration::from_millis(1) >= queued_at
            && claimed[0].queued_at <= SystemTime::now(),
        "a claim says when its delivery was queued"
    );
    let far = SystemTime::now() + Duration::from_secs(86_400);
    store
        .complete(
            &claimed[0],
            &attempt(
                &claimed[0],
                AttemptOutcome::Status(503),
                NextStep::RetryAt(far),
            ),
        )
        .await
        .unwrap();
    let second = store
        .claim(ClaimRequest {
            limit: 1,
            ..request("w", SystemTime::now(), &[])
        })
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    let metrics = store.metrics(SystemTime::now()).await.unwrap();
    assert_eq!(
        (metrics.pending, metrics.in_flight, metrics.retry),
        (1, 1, 1)
    );
    assert_eq!(metrics.open(), 3);
    assert_eq!(metrics.depth(DeliveryState::Retry), 1);

    // The dispatcher's gauges read the same figures through the queue.
    let now = SystemTime::now();
    assert_eq!(
        store.queue_metrics(now).await.unwrap(),
        Some(store.metrics(now).await.unwrap())
    );
}

async fn worker_names_are_held_by_one_worker_until_released<S: DeliveryStore>(store: &S) {
    let w1 = WorkerName::new("w1").unwrap();
    // Quotes, a path and a non-ASCII letter: a name is data, never SQL or
    // a path.
    let odd = WorkerName::new("pod 'x'; DROP TABLE t; --/../é").unwrap();
    let mut held = store
        .try_lock_worker(&w1)
        .await
        .unwrap()
        .expect("a free name is taken");
    assert_eq!(held.name(), &w1);
    held.check().await.unwrap();
    assert!(
        store.try_lock_worker(&w1).await.unwrap().is_none(),
        "a held name is refused"
    );
    let other = store
        .try_lock_worker(&odd)
        .await
        .unwrap()
        .expect("another name is free");
    assert!(store.try_lock_worker(&odd).await.unwrap().is_none());
    assert!(
        store.try_lock_worker(&w1).await.unwrap().is_none(),
        "still held"
    );

    held.release().await.unwrap();
    let again = store
        .try_lock_worker(&w1)
        .await
        .unwrap()
        .expect("a released name can be taken again at once");
    assert!(store.try_lock_worker(&w1).await.unwrap().is_none());

    // Dropping releases too, though a server may notice a moment later.
    drop(other);
    drop(again);
    for name in [&odd, &w1] {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            if store.try_lock_worker(name).await.unwrap().is_some() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name} is still held 5 s after its lock was dropped"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// One `#[tokio::test]` per contract clause, for a store made by `$open`,
/// which returns the store and whatever must live as long as it.
macro_rules! contract {
    ($name:ident, $open:path) => {
        mod $name {
            use super::*;

            macro_rules! clause {
                ($clause:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $clause() {
                        let (store, _keep) = $open().await;
                        super::$clause(&store).await;
                    }
                };
            }

            clause!(enqueue_is_idempotent_per_envelope_and_webhook);
            clause!(a_batch_queues_each_envelope_once_and_reports_duplicates_as_nothing_new);
            clause!(claims_are_due_limited_skipping_and_exclusive);
            clause!(claims_take_at_most_per_webhook_so_a_backlog_cannot_crowd_out_others);
            clause!(completion_records_the_attempt_and_refuses_a_stale_claim);
            clause!(leases_are_renewed_recovered_and_released);
            clause!(listings_filter_and_page_newest_first);
            clause!(redelivery_starts_a_finished_delivery_over);
            clause!(redelivering_a_webhook_requeues_only_its_stopped_deliveries);
            clause!(cancelling_a_webhook_leaves_attempts_in_flight_alone);
            clause!(purging_removes_old_succeeded_deliveries_and_lone_envelopes);
            clause!(purging_finished_removes_exhausted_and_cancelled_with_their_attempts_only);
            clause!(purging_keeps_deliveries_that_finished_after_the_cutoff);
            clause!(metrics_count_states_and_the_oldest_due_age);
            clause!(worker_names_are_held_by_one_worker_until_released);
        }
    };
    // Clauses for stores that can be made to fail inside a transaction
    // (the memory store's enqueue cannot fail).
    ($name:ident, $open:path, failing $failing:ident) => {
        contract!($name, $open);
        mod $failing {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_batch_that_fails_halfway_stores_nothing() {
                let (store, _keep) = $open().await;
                super::a_batch_that_fails_halfway_stores_nothing(&store).await;
            }
        }
    };
}

async fn memory() -> (titan_webhooks::queue::MemoryStore, ()) {
    (titan_webhooks::queue::MemoryStore::new(), ())
}

contract!(memory_store, memory);

#[cfg(feature = "sqlite")]
async fn sqlite() -> (titan_webhooks::store::SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = titan_webhooks::store::SqliteStore::open(dir.path().join("deliveries.db"))
        .await
        .unwrap();
    (store, dir)
}

#[cfg(feature = "sqlite")]
contract!(sqlite_store, sqlite, failing sqlite_store_failing);

#[cfg(feature = "postgres")]
async fn postgres() -> (
    titan_webhooks::store::PostgresStore,
    support::postgres::TestDatabase,
) {
    let database = support::postgres::TestDatabase::create().await;
    let store = titan_webhooks::store::PostgresStore::connect(database.url())
        .await
        .unwrap();
    (store, database)
}

#[cfg(feature = "postgres")]
contract!(postgres_store, postgres, failing postgres_store_failing);
