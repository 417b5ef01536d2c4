//! The contract every idempotency store keeps, run against each one.

use std::time::Duration;

use titan_webhooks::http::{HeaderValue, StatusCode};
use titan_webhooks::receiver::{Begin, IdempotencyStore, ReplayKey, StoredAnswer};

const LEASE: Duration = Duration::from_secs(60);
const TTL: Duration = Duration::from_secs(600);

fn key(name: &str) -> ReplayKey {
    ReplayKey::new(format!("test:id:{name}:{}", uuid::Uuid::new_v4()))
}

async fn reserve(
    store: &dyn IdempotencyStore,
    key: &ReplayKey,
    lease: Duration,
) -> titan_webhooks::receiver::ReservationToken {
    match store.begin(key, lease).await.unwrap() {
        Begin::Reserved(token) => token,
        other => panic!("{key}: expected a reservation, got {other:?}"),
    }
}

/// Runs every clause of the contract against `store`.
pub async fn contract(store: &dyn IdempotencyStore) {
    a_new_key_is_reserved_and_a_duplicate_waits(store).await;
    a_completed_key_is_a_duplicate_with_its_answer(store).await;
    a_released_key_is_handled_again(store).await;
    a_lapsed_reservation_is_taken_over_and_the_old_token_releases_nothing(store).await;
    a_completed_key_expires_after_its_ttl(store).await;
    concurrent_begins_reserve_once(store).await;
}

async fn a_new_key_is_reserved_and_a_duplicate_waits(store: &dyn IdempotencyStore) {
    let key = key("wait");
    reserve(store, &key, LEASE).await;
    match store.begin(&key, LEASE).await.unwrap() {
        Begin::InProgress { retry_after } => {
            assert!(
                retry_after <= LEASE && retry_after > LEASE / 2,
                "{retry_after:?}"
            )
        }
        other => panic!("expected in progress, got {other:?}"),
    }
}

async fn a_completed_key_is_a_duplicate_with_its_answer(store: &dyn IdempotencyStore) {
    let plain = key("plain");
    let token = reserve(store, &plain, LEASE).await;
    store.complete(&plain, token, TTL, None).await.unwrap();
    assert_eq!(
        store.begin(&plain, LEASE).await.unwrap(),
        Begin::Completed(None)
    );

    let kept = key("kept");
    let token = reserve(store, &kept, LEASE).await;
    let answer = StoredAnswer::new(
        StatusCode::CREATED,
        Some(HeaderValue::from_static("application/json")),
        br#"{"handled":"once"}"#.to_vec(),
    )
    .unwrap();
    store
        .complete(&kept, token, TTL, Some(&answer))
        .await
        .unwrap();
    assert_eq!(
        store.begin(&kept, LEASE).await.unwrap(),
        Begin::Completed(Some(answer))
    );
}

async fn a_released_key_is_handled_again(store: &dyn IdempotencyStore) {
    let key = key("released");
    let token = reserve(store, &key, LEASE).await;
    store.release(&key, token).await.unwrap();
    let again = reserve(store, &key, LEASE).await;
    assert_ne!(token, again, "a new reservation, a new token");
}

async fn a_lapsed_reservation_is_taken_over_and_the_old_token_releases_nothing(
    store: &dyn IdempotencyStore,
) {
    let key = key("lapsed");
    let first = reserve(store, &key, Duration::from_millis(50)).await;
    tokio::time::sleep(Duration::from_millis(120)).await;
    let second = reserve(store, &key, LEASE).await;
    assert_ne!(first, second);
    store.release(&key, first).await.unwrap();
    assert!(
        matches!(
            store.begin(&key, LEASE).await.unwrap(),
            Begin::InProgress { .. }
        ),
        "the stale release left the new reservation alone"
    );
    // A completion after the lapse still counts: the handler ran.
    store.complete(&key, first, TTL, None).await.unwrap();
    assert_eq!(
        store.begin(&key, LEASE).await.unwrap(),
        Begin::Completed(None)
    );
    store.release(&key, second).await.unwrap();
    assert_eq!(
        store.begin(&key, LEASE).await.unwrap(),
        Begin::Completed(None),
        "a release never undoes a completion"
    );
}

async fn a_completed_key_expires_after_its_ttl(store: &dyn IdempotencyStore) {
    let key = key("expires");
    let token = reserve(store, &key, LEASE).await;
    store
        .complete(&key, token, Duration::from_millis(50), None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    reserve(store, &key, LEASE).await;
}

async fn concurrent_begins_reserve_once(store: &dyn IdempotencyStore) {
    let key = key("race");
    let begins = (0..16).map(|_| store.begin(&key, LEASE));
    let results = futures_util::future::join_all(begins).await;
    let reserved = results
        .iter()
        .filter(|begun| matches!(begun, Ok(Begin::Reserved(_))))
        .count();
    let waiting = results
        .iter()
        .filter(|begun| matches!(begun, Ok(Begin::InProgress { .. })))
        .count();
    assert_eq!((reserved, waiting), (1, 15), "{results:?}");
}
