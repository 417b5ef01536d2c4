//! Memory the in-memory store holds per open delivery.
//!
//! Its own test binary because the allocation profiler is process-wide.
//! Run with `--nocapture` to see the figures.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use std::time::{Duration, SystemTime};

mod support;

use titan_webhooks::queue::{ClaimRequest, DeliveryStore, EnvelopeRecord, MemoryStore};
use titan_webhooks::retry::{AttemptOutcome, NextStep};
use titan_webhooks::subscription::WebhookId;
use titan_webhooks::{Envelope, TitanEvent};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const DELIVERIES: usize = 10_000;

fn live_bytes() -> usize {
    dhat::HeapStats::get().curr_bytes
}

#[test]
fn a_pending_retry_holds_a_few_hundred_bytes_plus_a_share_of_its_envelope() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let envelope = Envelope::new(
        TitanEvent::MessageReceived,
        "default",
        serde_json::json!({"from": "15551234567", "text": "Hello, this is a typical small message"}),
    );
    let record = EnvelopeRecord::from_envelope(&envelope).unwrap();
    let body_len = record.body.len();
    let webhooks: Vec<WebhookId> = (0..DELIVERIES as u64).map(WebhookId::from).collect();

    // One envelope to many webhooks: the body is held once. No history, so
    // what is measured is the open deliveries, not the attempt log (which
    // `with_history` bounds apart).
    let store = MemoryStore::with_history(0);
    let before = live_bytes();
    let queued = runtime.block_on(store.enqueue(&record, &webhooks)).unwrap();
    assert_eq!(queued.len(), DELIVERIES);
    drop(queued);
    let per_pending = (live_bytes() - before) / DELIVERIES;

    // Make every one a scheduled retry, as after a failed first attempt.
    let request = ClaimRequest {
        owner: "w",
        now: SystemTime::now(),
        lease: Duration::from_secs(60),
        limit: DELIVERIES,
        skip: &[],
        per_webhook: usize::MAX,
    };
    let claimed = runtime.block_on(store.claim(request)).unwrap();
    assert_eq!(claimed.len(), DELIVERIES);
    let later = SystemTime::now() + Duration::from_secs(3600);
    for delivery in &claimed {
        runtime
            .block_on(store.complete(
                delivery,
                &support::attempt_of(
                    delivery,
                    AttemptOutcome::Status(503),
                    NextStep::RetryAt(later),
                ),
            ))
            .unwrap();
    }
    drop(claimed);
    let per_retry = (live_bytes() - before) / DELIVERIES;

    // Distinct envelopes to one webhook: each holds its own body too.
    let other = MemoryStore::new();
    let records: Vec<EnvelopeRecord> = (0..DELIVERIES)
        .map(|_| {
            EnvelopeRecord::from_envelope(&Envelope::new(
                TitanEvent::MessageReceived,
                "default",
                serde_json::json!({"from": "15551234567", "text": "Hello, this is a typical small message"}),
            ))
            .unwrap()
        })
        .collect();
    let bodies: usize = records.iter().map(|r| r.body.len()).sum::<usize>() / DELIVERIES;
    let before = live_bytes();
    for record in &records {
        runtime
            .block_on(other.enqueue(record, &[1.into()]))
            .unwrap();
    }
    // The records' bodies are shared with the store, so count them as its own.
    let per_envelope = (live_bytes() - before) / DELIVERIES + bodies;

    println!(
        "per pending delivery: {per_pending} B; per scheduled retry: {per_retry} B; \
         per delivery of its own {body_len} B envelope: {per_envelope} B"
    );
    assert!(per_pending < 512, "{per_pending} B per pending delivery");
    assert!(per_retry < 512, "{per_retry} B per scheduled retry");
    assert!(
        per_envelope < per_pending + body_len + 512,
        "{per_envelope} B"
    );
}
