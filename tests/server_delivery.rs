//! The management API end to end: webhooks created through it receive
//! signed deliveries, the deliveries listing shows them, and a minute of
//! mixed traffic loses, duplicates and mis-signs nothing. Servers are real,
//! on 127.0.0.1.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use support::Sink;
use support::server::{ApiServer, TOKEN_A};
use titan_webhooks::webhooks::Owner;
use titan_webhooks::{
    Envelope, EventiumEnvelope, EventiumEvent, Scheme, Secret, TitanEvent, Verifier,
};

fn verifier(scheme: Scheme, key: &str) -> Verifier {
    Verifier::new(scheme, Secret::try_from(key).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_created_through_the_api_receives_verified_deliveries_and_the_listing_shows_them()
 {
    let server = ApiServer::start().await;
    let sink = Sink::start().await;
    let owner = Owner::new("tenant-a").unwrap();

    // 1. Create an endpoint through the API.
    let (status, created) = server
        .call(
            Method::POST,
            "/api/webhooks/endpoints",
            TOKEN_A,
            Some(json!({ "url": sink.url("/eventium"), "events": ["quota.threshold.reached"] })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    let endpoint_id = created["id"].as_u64().unwrap();

    // 2. Dispatch an event.
    let envelope = EventiumEnvelope::new(
        EventiumEvent::QuotaThresholdReached,
        json!({"scope": "daily", "threshold": 80, "limit": 10000, "count": 8123, "plan": "builder"}),
    );
    let dispatched = server
        .dispatcher
        .dispatch_for(&owner, &envelope)
        .await
        .unwrap();
    assert_eq!(dispatched.queued().len(), 1);

    // 3. The receiver verifies it with the secret from the create answer.
    sink.wait_for("/eventium", 1).await;
    let delivery = sink.received_on("/eventium").remove(0);
    let _verified = verifier(Scheme::eventium(), &secret)
        .verify(&delivery.headers, &delivery.body)
        .expect("the delivery verifies with the secret the API gave");
    let body: Value = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!(body["id"], envelope.id());
    assert!(
        verifier(Scheme::eventium(), "some-other-secret")
            .verify(&delivery.headers, &delivery.body)
            .is_err()
    );

    // 4. The deliveries listing shows it succeeded.
    let listing = wait_for_status(&server, endpoint_id, envelope.id(), "succeeded").await;
    assert_eq!(listing["event_type"], "quota.threshold.reached");
    assert_eq!(listing["attempts"], 1);
    assert!(listing.get("last_error").is_none(), "{listing}");

    // 5. A test event arrives too, through the same signed path.
    let (status, queued) = server
        .call(
            Method::POST,
            "/api/webhooks/test",
            TOKEN_A,
            Some(json!({"event_type": "webhook.test", "data": {"hello": "world"}})),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["endpoint_ids"], json!([endpoint_id]));
    sink.wait_for("/eventium", 2).await;
    let test = sink.received_on("/eventium").remove(1);
    verifier(Scheme::eventium(), &secret)
        .verify(&test.headers, &test.body)
        .expect("the test event verifies");
    let body: Value = serde_json::from_slice(&test.body).unwrap();
    assert_eq!(
        (body["type"].as_str(), &body["data"]),
        (Some("webhook.test"), &json!({"hello": "world"}))
    );
    wait_for_status(
        &server,
        endpoint_id,
        queued["event_id"].as_str().unwrap(),
        "succeeded",
    )
    .await;

    server.stop().await;
}

/// Polls the deliveries listing until the delivery of `event_id` has
/// `status`, and returns it.
async fn wait_for_status(server: &ApiServer, endpoint: u64, event_id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, page) = server
            .call(
                Method::GET,
                &format!("/api/webhooks/deliveries?endpoint_id={endpoint}&status={status}"),
                TOKEN_A,
                None,
            )
            .await;
        assert_eq!(code, 200, "{page}");
        if let Some(found) = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["event_id"] == event_id)
        {
            return found.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no {status} delivery of {event_id}: {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One webhook as the load test's clients believe it to be.
#[derive(Debug, Clone)]
struct Model {
    path: String,
    /// Each key with when the request that set it was sent, and when the
    /// answer to the request that replaced it arrived.
    keys: Vec<(String, Instant, Option<Instant>)>,
}

#[derive(Default)]
struct Ledger {
    live: BTreeMap<u64, Model>,
    deleted: BTreeMap<u64, Model>,
    requests: u64,
    server_errors: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minute_of_mixed_traffic_loses_duplicates_and_mis_signs_nothing() {
    const CLIENTS: usize = 4;
    const RUN: Duration = Duration::from_secs(60);
    let server = Arc::new(ApiServer::start().await);
    let sink = Sink::start().await;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let dispatched: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let started = Instant::now();

    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let (server, sink, ledger) = (Arc::clone(&server), sink.clone(), Arc::clone(&ledger));
        tasks.push(tokio::spawn(async move {
            let mut mine: Vec<u64> = Vec::new();
            let mut step = 0u64;
            while started.elapsed() < RUN {
                step += 1;
                let roll = (step.wrapping_mul(2_654_435_761) ^ client as u64) % 10;
                let check = |ledger: &mut Ledger, status: u16, what: &str| {
                    ledger.requests += 1;
                    if status >= 500 {
                        ledger.server_errors.push(format!("{what}: {status}"));
                    }
                };
                if mine.len() < 3 || roll < 3 {
                    let path = format!("/load/{client}/{step}");
                    let key = format!("key-{client}-{step}-0");
                    let sent = Instant::now();
                    let (status, body) = server
                        .call(
                            Method::POST,
                            "/api/webhooks",
                            TOKEN_A,
                            Some(json!({"url": sink.url(&path), "hmacKey": key})),
                        )
                        .await;
                    let mut ledger = ledger.lock().unwrap();
                    check(&mut ledger, status, "create");
                    assert_eq!(status, 201, "{body}");
                    let id = body["data"]["id"].as_u64().unwrap();
                    assert_eq!(body["data"]["hmacKey"], key);
                    let model = Model {
                        path,
                        keys: vec![(key, sent, None)],
                    };
                    assert!(
                        ledger.live.insert(id, model).is_none(),
                        "id {id} given twice"
                    );
                    mine.push(id);
                } else if roll < 6 {
                    let id = mine[(step as usize) % mine.len()];
                    let key = format!("key-{client}-{step}-rotated");
                    let sent = Instant::now();
                    let (status, body) = server
                        .call(
                            Method::PUT,
                            &format!("/api/webhooks/{id}"),
                            TOKEN_A,
                            Some(json!({"hmacKey": key})),
                        )
                        .await;
                    let answered = Instant::now();
                    let mut ledger = ledger.lock().unwrap();
                    check(&mut ledger, status, "update");
                    assert_eq!(status, 200, "{body}");
                    assert!(body["data"].get("hmacKey").is_none());
                    let model = ledger.live.get_mut(&id).unwrap();
                    model.keys.last_mut().unwrap().2 = Some(answered);
                    model.keys.push((key, sent, None));
                } else if roll < 8 {
                    let (status, body) = server
                        .call(Method::GET, "/api/webhooks", TOKEN_A, None)
                        .await;
                    let mut ledger = ledger.lock().unwrap();
                    check(&mut ledger, status, "list");
                    assert_eq!(status, 200, "{body}");
                    let listed: Vec<u64> = body["data"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|w| w["id"].as_u64().unwrap())
                        .collect();
                    let mut unique = listed.clone();
                    unique.sort_unstable();
                    unique.dedup();
                    assert_eq!(unique.len(), listed.len(), "a webhook listed twice");
                    for id in &mine {
                        assert!(listed.contains(id), "webhook {id} missing from the list");
                    }
                    for webhook in body["data"].as_array().unwrap() {
                        assert!(webhook.get("hmacKey").is_none());
                    }
                } else {
                    let id = mine.remove((step as usize) % mine.len());
                    let (status, body) = server
                        .call(
                            Method::DELETE,
                            &format!("/api/webhooks/{id}"),
                            TOKEN_A,
                            None,
                        )
                        .await;
                    let answered = Instant::now();
                    let mut ledger = ledger.lock().unwrap();
                    check(&mut ledger, status, "delete");
                    assert_eq!(status, 200, "{body}");
                    let mut model = ledger.live.remove(&id).unwrap();
                    model.keys.last_mut().unwrap().2 = Some(answered);
                    ledger.deleted.insert(id, model);
                }
            }
        }));
    }
    // Dispatches run all along.
    {
        let (server, dispatched) = (Arc::clone(&server), Arc::clone(&dispatched));
        tasks.push(tokio::spawn(async move {
            let owner = Owner::new("tenant-a").unwrap();
            while started.elapsed() < RUN {
                let envelope =
                    Envelope::new(TitanEvent::MessageReceived, "default", json!({"n": 1}));
                dispatched
                    .lock()
                    .unwrap()
                    .insert(envelope.id().to_owned(), Instant::now());
                server
                    .dispatcher
                    .dispatch_for(&owner, &envelope)
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    // Every live webhook is listed once, exactly as the clients left it.
    let (status, body) = server
        .call(Method::GET, "/api/webhooks", TOKEN_A, None)
        .await;
    assert_eq!(status, 200);
    let listed: BTreeMap<u64, String> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["id"].as_u64().unwrap(),
                w["url"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        listed.len(),
        body["data"].as_array().unwrap().len(),
        "a webhook listed twice"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received = sink.received();
    {
        let ledger = ledger.lock().unwrap();
        assert!(
            ledger.server_errors.is_empty(),
            "5xx answers: {:?}",
            ledger.server_errors
        );
        let expected: BTreeMap<u64, String> = ledger
            .live
            .iter()
            .map(|(id, m)| (*id, sink.url(&m.path)))
            .collect();
        assert_eq!(listed, expected, "the store and the clients disagree");
        assert!(
            ledger.requests > 200,
            "only {} requests in a minute",
            ledger.requests
        );

        // Every delivery verifies with a key its webhook had in force at some
        // moment between the dispatch and the arrival.
        let dispatched = dispatched.lock().unwrap();
        assert!(received.len() > 100, "only {} deliveries", received.len());
        let by_path: HashMap<&str, &Model> = ledger
            .live
            .values()
            .chain(ledger.deleted.values())
            .map(|model| (model.path.as_str(), model))
            .collect();
        for delivery in &received {
            let model = by_path
                .get(delivery.path.as_str())
                .unwrap_or_else(|| panic!("a delivery to {}", delivery.path));
            let body: Value = serde_json::from_slice(&delivery.body).unwrap();
            let sent = dispatched[body["id"].as_str().unwrap()];
            let in_force: Vec<&str> = model
                .keys
                .iter()
                .filter(|(_, set, replaced)| {
                    *set <= delivery.at && replaced.is_none_or(|end| end >= sent)
                })
                .map(|(key, _, _)| key.as_str())
                .collect();
            assert!(
                in_force.iter().any(|key| verifier(Scheme::titan(), key)
                    .verify(&delivery.headers, &delivery.body)
                    .is_ok()),
                "a delivery to {} verifies with none of the keys in force then: {in_force:?}",
                delivery.path
            );
        }
        eprintln!(
            "{} requests, {} webhooks left, {} deleted, {} deliveries verified",
            ledger.requests,
            ledger.live.len(),
            ledger.deleted.len(),
            received.len()
        );
    }
    Arc::try_unwrap(server).ok().unwrap().stop().await;
}

/// A lifecycle event may reach other receivers than the endpoint it is
/// about, so it carries neither the endpoint's custom header values nor
/// the query of its URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_events_carry_no_credentials_of_the_endpoint() {
    let server = ApiServer::start().await;
    let sink = Sink::start().await;
    let (status, watcher) = server
        .call(
            Method::POST,
            "/api/webhooks/endpoints",
            TOKEN_A,
            Some(json!({ "url": sink.url("/watcher"), "events": ["webhook.endpoint.created"] })),
        )
        .await;
    assert_eq!(status, 201, "{watcher}");
    // Userinfo is refused when a webhook is created; a query is not.
    let subject_url = sink.url("/subject?token=query-credential");
    let (status, subject) = server
        .call(
            Method::POST,
            "/api/webhooks/endpoints",
            TOKEN_A,
            Some(json!({
                "url": subject_url,
                "events": ["quota.threshold.reached"],
                "headers": [{ "name": "X-Receiver-Token", "value": "header-credential" }]
            })),
        )
        .await;
    assert_eq!(status, 201, "{subject}");

    // The watcher hears of its own creation and of the subject's.
    sink.wait_for("/watcher", 2).await;
    let events: Vec<Value> = sink
        .received_on("/watcher")
        .iter()
        .map(|delivery| serde_json::from_slice(&delivery.body).unwrap())
        .collect();
    let about_subject = events
        .iter()
        .find(|event| event["data"]["endpoint"]["id"] == subject["id"])
        .expect("an event about the subject");
    let text = about_subject.to_string();
    for credential in [
        "query-credential",
        "userinfo-credential",
        "header-credential",
    ] {
        assert!(!text.contains(credential), "{credential} in {text}");
    }
    assert!(
        about_subject["data"]["endpoint"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/subject?***"),
        "{text}"
    );
    server.stop().await;
}
