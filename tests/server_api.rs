//! The management API (feature `server`) against a real server on
//! 127.0.0.1: every route of each flavour with the seeds' JSON examples as
//! fixtures, auth and tenancy across every route, bad input, and the
//! OpenAPI document. Deliveries go to receivers on 127.0.0.1 and are
//! verified with the keys the API handed out.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use support::server::{ApiServer, TOKEN_A, TOKEN_B, TOKEN_READ_ONLY, seed_json};
use support::{Received, Reply, Sink};
use titan_webhooks::queue::{DeliveryAdmin as _, DeliveryQuery};
use titan_webhooks::subscription::WebhookId;
use titan_webhooks::webhooks::Owner;
use titan_webhooks::{Catalog, Deliverable, Envelope, RawHeaders, Scheme, Verifier};

const PATIENCE: Duration = Duration::from_secs(20);
/// An id no webhook, endpoint or delivery has in these tests.
const NO_SUCH_ID: u64 = 987_654;

// ---------------------------------------------------------------------------
// The server, with a record of every (method, path, status) seen
// ---------------------------------------------------------------------------

/// An answer from the API.
struct Answer {
    status: u16,
    headers: HeaderMap,
    /// The body as text, to search for things that must not be in it.
    text: String,
    /// The body parsed, `Null` when empty.
    body: Value,
}

/// The management API on 127.0.0.1, recording what every request it
/// answered was and how, so [`Api::finish`] can check each against the
/// OpenAPI document.
struct Api {
    server: ApiServer,
    observed: Mutex<BTreeSet<(String, String, u16)>>,
}

impl Api {
    async fn start() -> Self {
        Self {
            server: ApiServer::start().await,
            observed: Mutex::default(),
        }
    }

    /// Sends `body` with `content_type`, with `Authorization` set to each
    /// of `authorization`, and records the answer.
    async fn send_with(
        &self,
        method: Method,
        path: &str,
        authorization: &[&str],
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Answer {
        let mut request = self
            .server
            .client
            .request(method.clone(), self.server.url(path));
        for value in authorization {
            request = request.header(AUTHORIZATION, *value);
        }
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|err| panic!("{method} {path}: {err}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let text = String::from_utf8(bytes.to_vec())
            .unwrap_or_else(|_| panic!("{method} {path}: the answer is not UTF-8"));
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|err| panic!("{method} {path}: not JSON ({err}): {text}"))
        };
        let bare = path.split('?').next().unwrap_or(path).to_owned();
        self.observed
            .lock()
            .unwrap()
            .insert((method.as_str().to_owned(), bare, status));
        Answer {
            status,
            headers,
            text,
            body,
        }
    }

    /// Sends raw bytes as `token`.
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let bearer = format!("Bearer {token}");
        self.send_with(method, path, &[&bearer], content_type, Some(body))
            .await
    }

    /// Sends `body` as JSON as `token`.
    async fn json(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Answer {
        let bearer = format!("Bearer {token}");
        match body {
            Some(body) => {
                let bytes = serde_json::to_vec(&body).unwrap();
                self.send_with(
                    method,
                    path,
                    &[&bearer],
                    Some("application/json"),
                    Some(bytes),
                )
                .await
            }
            None => self.send_with(method, path, &[&bearer], None, None).await,
        }
    }

    /// Sends `body` as JSON as `token`: the status and the parsed answer.
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let answer = self.json(method, path, token, body).await;
        (answer.status, answer.body)
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(Method::GET, path, token, None).await
    }

    /// `GET path` as `token`, which must answer 200.
    async fn get_ok(&self, path: &str, token: &str) -> Value {
        let (status, body) = self.get(path, token).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn openapi(&self) -> Value {
        let response = self
            .server
            .client
            .get(self.server.url("/api/openapi.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
    }

    /// Checks that every answer this test saw is in the OpenAPI document,
    /// then stops the server.
    async fn finish(self) {
        let document = self.openapi().await;
        let observed = self.observed.lock().unwrap().clone();
        assert!(!observed.is_empty());
        for (method, path, status) in &observed {
            assert_documented(&document, method, path, *status);
        }
        self.server.stop().await;
    }

    fn owner(name: &str) -> Owner {
        Owner::new(name).unwrap()
    }

    /// Dispatches `envelope` for `owner` as the sender service would.
    async fn dispatch<D: Deliverable + ?Sized>(&self, owner: &str, envelope: &D) -> Vec<Value> {
        let dispatched = self
            .server
            .dispatcher
            .dispatch_for(&Self::owner(owner), envelope)
            .await
            .unwrap();
        dispatched
            .queued()
            .iter()
            .map(|id| serde_json::to_value(id).unwrap())
            .collect()
    }

    // -- Titan ------------------------------------------------------------

    /// Creates a Titan webhook; returns the `data` of the answer.
    async fn titan_create(&self, token: &str, request: Value) -> Value {
        let (status, body) = self
            .call(Method::POST, "/api/webhooks", token, Some(request))
            .await;
        assert_eq!(status, 201, "{body}");
        body["data"].clone()
    }

    async fn titan_list(&self, token: &str) -> Vec<Value> {
        let body = self.get_ok("/api/webhooks", token).await;
        assert_eq!(keys(&body), ["data"]);
        body["data"].as_array().unwrap().clone()
    }

    // -- Eventium ---------------------------------------------------------

    /// Creates an Eventium endpoint; returns the answer, secret included.
    async fn endpoint_create(&self, token: &str, request: Value) -> Value {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/webhooks/endpoints",
                token,
                Some(request),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Every endpoint `token` lists, following the cursor.
    async fn endpoint_list(&self, token: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut path = "/api/webhooks/endpoints?limit=100".to_owned();
        loop {
            let page = self.get_ok(&path, token).await;
            all.extend(page["data"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(cursor) => path = format!("/api/webhooks/endpoints?limit=100&cursor={cursor}"),
                None => return all,
            }
        }
    }

    /// Sends a test event to endpoint `id`; returns the event id.
    async fn send_test(&self, token: &str, id: u64) -> String {
        let mut request = seed_json("eventium_test_request.json");
        request["endpoint_id"] = json!(id);
        let (status, body) = self
            .call(Method::POST, "/api/webhooks/test", token, Some(request))
            .await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["endpoint_ids"], json!([id]));
        body["event_id"].as_str().unwrap().to_owned()
    }

    /// A page of `token`'s deliveries matching `query`.
    async fn deliveries(&self, token: &str, query: &str) -> Value {
        self.get_ok(&format!("/api/webhooks/deliveries?{query}"), token)
            .await
    }

    /// Waits until `token`'s deliveries matching `query` satisfy `done`.
    async fn wait_deliveries(
        &self,
        token: &str,
        query: &str,
        mut done: impl FnMut(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let page = self.deliveries(token, query).await;
            let data = page["data"].as_array().unwrap().clone();
            if done(&data) {
                return data;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for deliveries ?{query}: {data:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // -- TitanX -----------------------------------------------------------

    async fn titanx_create(&self, token: &str, request: Value) -> Value {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/public/v2/webhooks",
                token,
                Some(request),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    async fn titanx_list(&self, token: &str) -> Vec<Value> {
        let body = self.get_ok("/api/public/v2/webhooks", token).await;
        assert_eq!(keys(&body), ["data"]);
        body["data"].as_array().unwrap().clone()
    }
}

/// The documented path template `path` is served at: the one with the
/// fewest parameters among those that match, as the router picks
/// literal segments over parameters.
fn documented_template<'a>(document: &'a Value, path: &str) -> Option<&'a str> {
    let segments: Vec<&str> = path.split('/').collect();
    document["paths"]
        .as_object()?
        .keys()
        .filter(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(part, segment)| part.starts_with('{') || part == segment)
        })
        .min_by_key(|template| template.matches('{').count())
        .map(String::as_str)
}

/// Checks that `method path` answering `status` is in the document, with
/// the error shape for every error status.
fn assert_documented(document: &Value, method: &str, path: &str, status: u16) {
    let template = documented_template(document, path)
        .unwrap_or_else(|| panic!("{method} {path}: no documented path serves it"));
    let operation = &document["paths"][template][method.to_ascii_lowercase()];
    assert!(
        operation.is_object(),
        "{method} {template} is not documented"
    );
    let responses = &operation["responses"];
    let response = &responses[status.to_string()];
    assert!(
        response.is_object(),
        "{method} {template} answered {status}, which is not documented; documented: {:?}",
        keys(responses)
    );
    if status >= 400 {
        assert_eq!(
            response["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody",
            "{method} {template} {status}"
        );
    }
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn keys(value: &Value) -> Vec<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

fn key_set(value: &Value) -> BTreeSet<String> {
    keys(value).into_iter().collect()
}

/// `value` without the members named.
fn without(value: &Value, names: &[&str]) -> Value {
    let mut object = value.as_object().unwrap().clone();
    for name in names {
        object.remove(*name);
    }
    Value::Object(object)
}

/// Checks the one error shape: `{"error": {"code", "message", "field"?}}`
/// with `code` and, if given, `field`.
fn assert_error(answer: &Value, code: &str, field: Option<&str>) {
    assert_eq!(keys(answer), ["error"], "{answer}");
    let error = &answer["error"];
    let members = key_set(error);
    assert!(
        members.contains("code") && members.contains("message"),
        "{answer}"
    );
    assert!(
        members
            .iter()
            .all(|name| ["code", "message", "field"].contains(&name.as_str())),
        "{answer}"
    );
    assert_eq!(error["code"], code, "{answer}");
    let message = error["message"].as_str().unwrap();
    assert!(!message.is_empty(), "{answer}");
    if let Some(field) = field {
        assert_eq!(error["field"], field, "{answer}");
    }
}

/// Checks an answer is `status` with the error shape and `code`.
fn assert_refused(answer: &Answer, status: u16, code: &str, field: Option<&str>) {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert_eq!(
        answer.headers.get(CONTENT_TYPE).unwrap(),
        "application/json",
        "{}",
        answer.text
    );
    assert_error(&answer.body, code, field);
}

/// Checks `text` is an RFC 3339 (ISO 8601) UTC time within a minute of now.
fn assert_recent_iso8601(text: &Value) {
    let text = text
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {text}"));
    assert!(text.ends_with('Z'), "{text}");
    let bytes = text.as_bytes();
    assert!(
        bytes.len() >= 20
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes[10] == b'T'
            && bytes[13] == b':'
            && bytes[16] == b':',
        "{text}"
    );
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|err| panic!("{text}: {err}"));
    let now = time::OffsetDateTime::now_utc();
    assert!(
        (now - at).abs() < time::Duration::minutes(1),
        "{text} is not now"
    );
}

fn seconds_from_now(text: &Value) -> i64 {
    let at = time::OffsetDateTime::parse(
        text.as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    (at - time::OffsetDateTime::now_utc()).whole_seconds()
}

fn number(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("not an id: {value}"))
}

/// The TitanX id of store row `row`, as the server writes it.
fn titanx_id_of_row(row: u64) -> String {
    uuid::Uuid::from_u64_pair(0x8000, 0x8000_0000_0000_0000 | row).to_string()
}

/// Titan's envelope from seed 000, under a fresh id.
fn titan_envelope(id: &str) -> Envelope {
    let envelope: Envelope = serde_json::from_value(seed_json("titan_envelope.json")).unwrap();
    envelope.with_id(id).unwrap()
}

/// Whether `received` verifies with Titan's scheme and `key`.
fn titan_verifies(key: &str, received: &Received) -> bool {
    let secret = Scheme::titan().secret_encoding().parse(key).unwrap();
    Verifier::new(Scheme::titan(), secret)
        .verify(&received.headers, &received.body)
        .is_ok()
}

/// The `t` and every `v1` of an Eventium signature header.
fn eventium_signatures(received: &Received) -> (String, Vec<String>) {
    let header = received
        .headers
        .get("x-titanvx-signature")
        .expect("X-TitanVX-Signature")
        .to_str()
        .unwrap();
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        let (name, value) = part.trim().split_once('=').unwrap();
        match name {
            "t" => t = Some(value.to_owned()),
            "v1" => v1.push(value.to_owned()),
            other => panic!("unexpected `{other}` in {header}"),
        }
    }
    (t.expect("t="), v1)
}

/// Whether one `v1` signature of a delivery verifies with `key`.
fn eventium_signature_verifies(key: &str, t: &str, v1: &str, body: &[u8]) -> bool {
    let secret = Scheme::eventium().secret_encoding().parse(key).unwrap();
    let header = format!("t={t},v1={v1}");
    Verifier::new(Scheme::eventium(), secret)
        .verify_raw(RawHeaders::new(&header), body)
        .is_ok()
}

/// Whether a whole Eventium delivery verifies with `key`.
fn eventium_verifies(key: &str, received: &Received) -> bool {
    let secret = Scheme::eventium().secret_encoding().parse(key).unwrap();
    Verifier::new(Scheme::eventium(), secret)
        .verify(&received.headers, &received.body)
        .is_ok()
}

fn body_json(received: &Received) -> Value {
    serde_json::from_slice(&received.body).unwrap()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// A TitanX event, for delivering to TitanX webhooks.
#[derive(serde::Serialize)]
struct TitanXDelivery {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    data: Value,
}

impl Deliverable for TitanXDelivery {
    fn id(&self) -> &str {
        &self.id
    }
    fn event_type(&self) -> &str {
        &self.event_type
    }
    fn catalog(&self) -> Catalog {
        Catalog::titanx()
    }
}

// ---------------------------------------------------------------------------
// Titan (seeds 000 and 001)
// ---------------------------------------------------------------------------

/// Seed 001's create request gets seed 001's create response, field by
/// field; list and get show the same webhook without `hmacKey`, in seed
/// 001's list shape.
#[tokio::test]
async fn titan_create_list_get_match_seed_001() {
    let api = Api::start().await;

    let (status, created) = api
        .call(
            Method::POST,
            "/api/webhooks",
            TOKEN_A,
            Some(seed_json("titan_create_request_full.json")),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let seed = seed_json("titan_create_response.json");
    assert_eq!(keys(&created), ["data"], "the {{\"data\": …}} wrapper");
    let data = &created["data"];
    assert_eq!(key_set(data), key_set(&seed["data"]), "{data}");
    for name in keys(&seed["data"]) {
        if name != "id" && name != "createdAt" {
            assert_eq!(data[&name], seed["data"][&name], "`{name}`");
        }
    }
    let first = number(&data["id"]);
    assert!(first > 0);
    assert_recent_iso8601(&data["createdAt"]);

    // Seed 001's list example: a webhook with these fields and no others.
    let listed_seed = seed_json("titan_list_response.json");
    let entry_seed = &listed_seed["data"][0];
    let second = api
        .titan_create(
            TOKEN_A,
            json!({
                "url": entry_seed["url"],
                "events": entry_seed["events"],
                "session": entry_seed["session"],
            }),
        )
        .await;
    let second_id = number(&second["id"]);
    assert_ne!(second_id, first);

    let list = api.get_ok("/api/webhooks", TOKEN_A).await;
    assert_eq!(keys(&list), ["data"]);
    let entries = list["data"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{list}");
    assert_eq!(number(&entries[0]["id"]), second_id, "newest first");
    assert_eq!(key_set(&entries[0]), key_set(entry_seed), "{}", entries[0]);
    for name in keys(entry_seed) {
        if name != "id" && name != "createdAt" {
            assert_eq!(entries[0][&name], entry_seed[&name], "`{name}`");
        }
    }
    assert_recent_iso8601(&entries[0]["createdAt"]);
    assert_eq!(entries[1], without(data, &["hmacKey"]), "listed as created");

    let got = api.get_ok(&format!("/api/webhooks/{first}"), TOKEN_A).await;
    assert_eq!(keys(&got), ["data"]);
    assert_eq!(got["data"], without(data, &["hmacKey"]));

    for (path, text) in [
        ("/api/webhooks".to_owned(), list.to_string()),
        (format!("/api/webhooks/{first}"), got.to_string()),
    ] {
        assert!(!text.contains("hmacKey"), "{path}: {text}");
        assert!(!text.contains("your-secret-signing-key"), "{path}: {text}");
    }
    api.finish().await;
}

/// `hmacKey` is in the create answer whether given or generated, and in no
/// other answer; seed 000's create request with its `label` works as
/// printed.
#[tokio::test]
async fn titan_hmac_key_is_shown_only_at_creation() {
    let api = Api::start().await;

    let given = api
        .titan_create(TOKEN_A, seed_json("titan_create_request.json"))
        .await;
    assert_eq!(given["hmacKey"], "your-secret-signing-key");
    assert_eq!(given["label"], "My Webhook");
    assert_eq!(given["url"], "https://myapp.com/webhooks/titan");
    assert_eq!(
        given["events"],
        json!(["message.received", "session.status"])
    );
    assert_eq!(given["enabled"], true);
    assert_eq!(given["session"], Value::Null);

    let generated = api
        .titan_create(TOKEN_A, json!({"url": "https://myapp.com/webhooks/other"}))
        .await;
    let key = generated["hmacKey"].as_str().unwrap().to_owned();
    assert!(key.len() >= 32, "a generated key has 256 bits: {key}");
    let again = api
        .titan_create(TOKEN_A, json!({"url": "https://myapp.com/webhooks/third"}))
        .await;
    assert_ne!(again["hmacKey"], generated["hmacKey"]);

    let mut answers = vec![api.json(Method::GET, "/api/webhooks", TOKEN_A, None).await];
    for created in [&given, &generated, &again] {
        let id = number(&created["id"]);
        answers.push(
            api.json(Method::GET, &format!("/api/webhooks/{id}"), TOKEN_A, None)
                .await,
        );
        answers.push(
            api.json(
                Method::PUT,
                &format!("/api/webhooks/{id}"),
                TOKEN_A,
                Some(json!({"label": "renamed"})),
            )
            .await,
        );
    }
    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.text);
        for secret in ["hmacKey", "your-secret-signing-key", key.as_str()] {
            assert!(!answer.text.contains(secret), "{secret} in {}", answer.text);
        }
    }
    api.finish().await;
}

/// `events` as `["*"]`, `[]` or omitted all mean every event: stored the
/// same, and each such webhook gets events of every type.
#[tokio::test]
async fn titan_star_empty_and_omitted_events_mean_all() {
    let api = Api::start().await;
    let sink = Sink::start().await;

    let mut created = Vec::new();
    for (path, events) in [
        ("/star", Some(json!(["*"]))),
        ("/empty", Some(json!([]))),
        ("/omitted", None),
    ] {
        let mut request = json!({"url": sink.url(path), "hmacKey": format!("key{path}")});
        if let Some(events) = events {
            request["events"] = events;
        }
        let data = api.titan_create(TOKEN_A, request).await;
        assert_eq!(
            data["events"],
            json!([]),
            "{path}: empty means all (seed 001)"
        );
        created.push((path, data));
    }
    let only = api
        .titan_create(
            TOKEN_A,
            json!({"url": sink.url("/only"), "events": ["session.status"]}),
        )
        .await;
    assert_eq!(only["events"], json!(["session.status"]));

    let mut envelope = titan_envelope("evt_all_1");
    let queued = api.dispatch("tenant-a", &envelope).await;
    assert_eq!(
        queued.len(),
        3,
        "message.received goes to the three: {queued:?}"
    );
    envelope = envelope.with_id("evt_all_2").unwrap();
    let mut call = serde_json::to_value(&envelope).unwrap();
    call["event"] = json!("call.missed");
    let call: Envelope = serde_json::from_value(call).unwrap();
    assert_eq!(api.dispatch("tenant-a", &call).await.len(), 3);

    for (path, data) in &created {
        sink.wait_for(path, 2).await;
        let received = sink.received_on(path);
        assert_eq!(received.len(), 2, "{path}");
        let events: BTreeSet<String> = received
            .iter()
            .map(|r| body_json(r)["event"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            events,
            BTreeSet::from(["message.received".to_owned(), "call.missed".to_owned()])
        );
        for r in &received {
            assert!(titan_verifies(data["hmacKey"].as_str().unwrap(), r));
        }
    }
    assert!(sink.received_on("/only").is_empty());
    api.finish().await;
}

/// PUT changes only the fields given (seed 001's update and seed 000's
/// disable request), and `headers` replaces the list as a whole.
#[tokio::test]
async fn titan_put_changes_only_the_fields_given() {
    let api = Api::start().await;
    let created = api
        .titan_create(TOKEN_A, seed_json("titan_create_request_full.json"))
        .await;
    let id = number(&created["id"]);
    let path = format!("/api/webhooks/{id}");
    let mut expected = without(&created, &["hmacKey"]);

    let update = seed_json("titan_update_request.json");
    let (status, updated) = api
        .call(Method::PUT, &path, TOKEN_A, Some(update.clone()))
        .await;
    assert_eq!(status, 200, "{updated}");
    expected["events"] = update["events"].clone();
    expected["enabled"] = update["enabled"].clone();
    assert_eq!(updated, json!({"data": expected}));
    assert_eq!(api.get_ok(&path, TOKEN_A).await, json!({"data": expected}));

    let (status, disabled) = api
        .call(
            Method::PUT,
            &path,
            TOKEN_A,
            Some(seed_json("titan_disable_request.json")),
        )
        .await;
    assert_eq!(status, 200, "{disabled}");
    expected["enabled"] = json!(false);
    assert_eq!(disabled, json!({"data": expected}));

    // Seed 000's headers replace seed 001's X-App-ID entirely.
    let headers = seed_json("titan_custom_headers.json");
    let (status, replaced) = api
        .call(
            Method::PUT,
            &path,
            TOKEN_A,
            Some(json!({"headers": headers})),
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    expected["headers"] = headers;
    assert_eq!(replaced, json!({"data": expected}));

    let (status, moved) = api
        .call(
            Method::PUT,
            &path,
            TOKEN_A,
            Some(json!({
                "url": "https://your-server.com/moved",
                "session": null,
                "retries": {"attempts": 5, "delaySeconds": 10, "policy": "linear"},
                "enabled": true,
            })),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    expected["url"] = json!("https://your-server.com/moved");
    expected["session"] = Value::Null;
    expected["retries"] = json!({"attempts": 5, "delaySeconds": 10, "policy": "linear"});
    expected["enabled"] = json!(true);
    assert_eq!(moved, json!({"data": expected}));

    let (status, cleared) = api
        .call(Method::PUT, &path, TOKEN_A, Some(json!({"headers": []})))
        .await;
    assert_eq!(status, 200, "{cleared}");
    assert!(
        cleared["data"]
            .get("headers")
            .is_none_or(|h| h == &json!([]))
    );
    assert_eq!(
        without(&cleared["data"], &["headers"]),
        without(&expected, &["headers"])
    );

    // An empty PUT changes nothing.
    let (status, same) = api.call(Method::PUT, &path, TOKEN_A, Some(json!({}))).await;
    assert_eq!(status, 200, "{same}");
    assert_eq!(same, cleared);
    assert_eq!(api.get_ok(&path, TOKEN_A).await, cleared);
    api.finish().await;
}

/// A webhook created through the API delivers to a receiver on 127.0.0.1
/// signed with the key from the create answer, given or generated, with
/// its custom headers; a new `hmacKey` from PUT signs the very next
/// delivery, and the old one no longer does.
#[tokio::test]
async fn titan_deliveries_are_signed_with_the_key_in_force() {
    let api = Api::start().await;
    let sink = Sink::start().await;

    let mut request = seed_json("titan_create_request.json");
    request["url"] = json!(sink.url("/given"));
    request["headers"] = seed_json("titan_custom_headers.json");
    let given = api.titan_create(TOKEN_A, request).await;
    let generated = api
        .titan_create(TOKEN_A, json!({"url": sink.url("/generated")}))
        .await;
    let generated_key = generated["hmacKey"].as_str().unwrap();

    let envelope = titan_envelope("evt_key_1");
    assert_eq!(api.dispatch("tenant-a", &envelope).await.len(), 2);
    sink.wait_for("/given", 1).await;
    sink.wait_for("/generated", 1).await;
    let first = &sink.received_on("/given")[0];
    assert!(titan_verifies("your-secret-signing-key", first));
    assert!(!titan_verifies("another-key", first));
    assert_eq!(first.headers["x-secret"], "my-secret");
    assert_eq!(first.headers["x-source"], "titan");
    assert_eq!(
        body_json(first),
        serde_json::to_value(&envelope).unwrap(),
        "the seed's envelope, as sent"
    );
    assert_eq!(
        key_set(&body_json(first)),
        key_set(&seed_json("titan_envelope.json"))
    );
    assert!(titan_verifies(
        generated_key,
        &sink.received_on("/generated")[0]
    ));

    let id = number(&given["id"]);
    let (status, updated) = api
        .call(
            Method::PUT,
            &format!("/api/webhooks/{id}"),
            TOKEN_A,
            Some(json!({"hmacKey": "the-new-signing-key"})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert!(updated["data"].get("hmacKey").is_none());

    api.dispatch("tenant-a", &titan_envelope("evt_key_2")).await;
    sink.wait_for("/given", 2).await;
    sink.wait_for("/generated", 2).await;
    let second = &sink.received_on("/given")[1];
    assert_eq!(body_json(second)["id"], "evt_key_2");
    assert!(titan_verifies("the-new-signing-key", second));
    assert!(!titan_verifies("your-secret-signing-key", second));
    assert!(titan_verifies(
        generated_key,
        &sink.received_on("/generated")[1]
    ));

    // Disabled through the API: nothing more is queued for it.
    let (status, _) = api
        .call(
            Method::PUT,
            &format!("/api/webhooks/{id}"),
            TOKEN_A,
            Some(seed_json("titan_disable_request.json")),
        )
        .await;
    assert_eq!(status, 200);
    let queued = api.dispatch("tenant-a", &titan_envelope("evt_key_3")).await;
    assert_eq!(queued, [generated["id"].clone()]);
    api.finish().await;
}

/// Delete answers exactly seed 001's `{"data":{"success":true,"message":
/// "webhook deleted"}}`; the webhook is gone from get, list, update,
/// delete and dispatch.
#[tokio::test]
async fn titan_delete_answers_seed_001() {
    let api = Api::start().await;
    let sink = Sink::start().await;
    let kept = api
        .titan_create(TOKEN_A, json!({"url": sink.url("/kept")}))
        .await;
    let gone = api
        .titan_create(TOKEN_A, json!({"url": sink.url("/gone")}))
        .await;
    let path = format!("/api/webhooks/{}", number(&gone["id"]));

    let answer = api.json(Method::DELETE, &path, TOKEN_A, None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.body,
        json!({"data": {"success": true, "message": "webhook deleted"}})
    );

    for method in [Method::GET, Method::DELETE] {
        let answer = api.json(method, &path, TOKEN_A, None).await;
        assert_refused(&answer, 404, "not_found", None);
    }
    let answer = api
        .json(Method::PUT, &path, TOKEN_A, Some(json!({"enabled": true})))
        .await;
    assert_refused(&answer, 404, "not_found", None);
    let listed = api.titan_list(TOKEN_A).await;
    assert_eq!(listed, [without(&kept, &["hmacKey"])]);
    let queued = api
        .dispatch("tenant-a", &titan_envelope("evt_after_delete"))
        .await;
    assert_eq!(queued, [kept["id"].clone()]);
    sink.wait_for("/kept", 1).await;
    assert!(sink.received_on("/gone").is_empty());
    api.finish().await;
}

// ---------------------------------------------------------------------------
// TitanX (seed 002)
// ---------------------------------------------------------------------------

/// Seed 002's request gets seed 002's answer, field by field: a UUID id,
/// a `whsec_` secret shown once, the status and `createdAt`. List, get and
/// delete work in the same style, and the secret signs deliveries.
#[tokio::test]
async fn titanx_routes_match_seed_002() {
    let api = Api::start().await;
    let sink = Sink::start().await;

    let created = api
        .titanx_create(TOKEN_A, seed_json("titanx_create_request.json"))
        .await;
    let seed = seed_json("titanx_create_response.json");
    assert_eq!(key_set(&created), key_set(&seed), "{created}");
    for name in ["url", "eventTypes", "status"] {
        assert_eq!(created[name], seed[name], "`{name}`");
    }
    let id = created["id"].as_str().unwrap().to_owned();
    uuid::Uuid::parse_str(&id).unwrap_or_else(|err| panic!("{id}: {err}"));
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 20,
        "{secret}"
    );
    assert_recent_iso8601(&created["createdAt"]);

    // All of seed 002's fields: a name and the initial status.
    let inactive = api
        .titanx_create(
            TOKEN_A,
            json!({
                "name": "Production Contact Webhook",
                "url": sink.url("/inactive"),
                "eventTypes": ["job.contact.scored", "job.completed"],
                "status": "inactive",
            }),
        )
        .await;
    assert_eq!(inactive["status"], "inactive");
    assert_eq!(inactive["name"], "Production Contact Webhook");
    assert_eq!(
        inactive["eventTypes"],
        json!(["job.contact.scored", "job.completed"])
    );
    let active = api
        .titanx_create(
            TOKEN_A,
            json!({
                "url": sink.url("/active"),
                "eventTypes": ["job.contact.scored"],
                "status": "active",
            }),
        )
        .await;
    assert_eq!(active["status"], "active");
    assert_ne!(active["secret"], created["secret"]);

    let listed = api.titanx_list(TOKEN_A).await;
    assert_eq!(
        listed,
        [
            without(&active, &["secret"]),
            without(&inactive, &["secret"]),
            without(&created, &["secret"]),
        ],
        "newest first, without secrets"
    );
    let got = api
        .json(
            Method::GET,
            &format!("/api/public/v2/webhooks/{id}"),
            TOKEN_A,
            None,
        )
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.body, without(&created, &["secret"]));
    assert!(!got.text.contains("whsec_") && !got.text.contains("secret"));

    let path = format!("/api/public/v2/webhooks/{id}");
    let deleted = api.json(Method::DELETE, &path, TOKEN_A, None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert!(deleted.text.is_empty());
    for method in [Method::GET, Method::DELETE] {
        let answer = api.json(method, &path, TOKEN_A, None).await;
        assert_refused(&answer, 404, "not_found", None);
    }
    assert_eq!(api.titanx_list(TOKEN_A).await.len(), 2);

    // The secret shown once signs deliveries; inactive webhooks get none.
    let event = TitanXDelivery {
        id: "evt_titanx_1".into(),
        event_type: "job.contact.scored".into(),
        data: json!({"contactId": "c_1", "score": 87}),
    };
    let queued = api.dispatch("tenant-a", &event).await;
    let active_row = uuid::Uuid::parse_str(active["id"].as_str().unwrap())
        .unwrap()
        .as_u64_pair()
        .1
        & !0xC000_0000_0000_0000;
    assert_eq!(queued, [json!(active_row)], "the active one only");
    sink.wait_for("/active", 1).await;
    let delivery = &sink.received_on("/active")[0];
    let key = Scheme::titanx()
        .secret_encoding()
        .parse(active["secret"].as_str().unwrap())
        .unwrap();
    assert!(
        Verifier::new(Scheme::titanx(), key)
            .verify(&delivery.headers, &delivery.body)
            .is_ok()
    );
    assert!(sink.received_on("/inactive").is_empty());

    // A UUID this server never gave out, and text that is not a UUID.
    for (id, status, code) in [
        ("550e8400-e29b-41d4-a716-446655440000", 404, "not_found"),
        (&titanx_id_of_row(NO_SUCH_ID), 404, "not_found"),
        ("not-a-uuid", 400, "invalid_id"),
        ("42", 400, "invalid_id"),
    ] {
        let answer = api
            .json(
                Method::GET,
                &format!("/api/public/v2/webhooks/{id}"),
                TOKEN_A,
                None,
            )
            .await;
        assert_refused(&answer, status, code, None);
    }
    api.finish().await;
}

// ---------------------------------------------------------------------------
// Eventium (seed 003)
// ---------------------------------------------------------------------------

/// Endpoints: create (with the secret, once), get, patch (only the fields
/// given), delete; the list is paginated with a cursor.
#[tokio::test]
async fn eventium_endpoint_routes() {
    let api = Api::start().await;
    let sink = Sink::start().await;

    // Seed 003's SDK example.
    let created = api
        .endpoint_create(
            TOKEN_A,
            json!({
                "url": "https://example.com/eventium/webhooks",
                "events": ["quota.threshold.reached", "agent.deployment.updated"],
            }),
        )
        .await;
    let id = number(&created["id"]);
    assert_eq!(created["url"], "https://example.com/eventium/webhooks");
    assert_eq!(
        created["events"],
        json!(["quota.threshold.reached", "agent.deployment.updated"])
    );
    assert_eq!(created["enabled"], true);
    assert_eq!(created["headers"], json!([]));
    assert_recent_iso8601(&created["created_at"]);
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32, "{secret}");
    let endpoint = without(&created, &["secret"]);
    assert_eq!(
        key_set(&endpoint),
        BTreeSet::from(
            ["id", "url", "events", "enabled", "headers", "created_at"].map(String::from)
        )
    );

    let path = format!("/api/webhooks/endpoints/{id}");
    let got = api.json(Method::GET, &path, TOKEN_A, None).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, endpoint);
    assert!(!got.text.contains(&secret) && !got.text.contains("secret"));

    let (status, patched) = api
        .call(
            Method::PATCH,
            &path,
            TOKEN_A,
            Some(json!({"description": "quota alerts", "enabled": false})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let mut expected = endpoint.clone();
    expected["description"] = json!("quota alerts");
    expected["enabled"] = json!(false);
    assert_eq!(
        without(&patched, &["disabled_reason", "disabled_at"]),
        expected
    );
    assert_eq!(patched["disabled_reason"], "manual");
    assert_recent_iso8601(&patched["disabled_at"]);

    let (status, patched) = api
        .call(
            Method::PATCH,
            &path,
            TOKEN_A,
            Some(json!({
                "url": sink.url("/endpoint"),
                "events": ["*"],
                "enabled": true,
                "headers": seed_json("titan_custom_headers.json"),
                "retries": seed_json("titan_retries.json"),
            })),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    expected["url"] = json!(sink.url("/endpoint"));
    expected["events"] = json!([]);
    expected["enabled"] = json!(true);
    expected["headers"] = seed_json("titan_custom_headers.json");
    expected["retries"] = seed_json("titan_retries.json");
    assert_eq!(patched, expected);
    let (status, patched) = api
        .call(
            Method::PATCH,
            &path,
            TOKEN_A,
            Some(json!({"description": null})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched, without(&expected, &["description"]));
    assert!(!patched.to_string().contains(&secret));
    assert_eq!(api.get_ok(&path, TOKEN_A).await, patched);

    // Subscribed to every event now, it hears of its own updates, signed
    // with the secret from the create answer.
    sink.wait_for("/endpoint", 2).await;
    for delivery in sink.received_on("/endpoint") {
        assert!(eventium_verifies(&secret, &delivery));
        let body = body_json(&delivery);
        assert_eq!(body["type"], "webhook.endpoint.updated");
        assert_eq!(body["data"]["endpoint"]["id"], json!(id));
    }

    let deleted = api.json(Method::DELETE, &path, TOKEN_A, None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert!(deleted.text.is_empty());
    for method in [Method::GET, Method::DELETE] {
        let answer = api.json(method, &path, TOKEN_A, None).await;
        assert_refused(&answer, 404, "not_found", None);
    }
    let answer = api
        .json(
            Method::PATCH,
            &path,
            TOKEN_A,
            Some(json!({"enabled": true})),
        )
        .await;
    assert_refused(&answer, 404, "not_found", None);
    assert!(api.endpoint_list(TOKEN_A).await.is_empty());
    api.finish().await;
}

/// Five endpoints, listed two at a time by following `next_cursor`: each
/// once, newest first; bad cursors and limits are refused.
#[tokio::test]
async fn eventium_endpoint_list_paginates_with_a_cursor() {
    let api = Api::start().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let created = api
            .endpoint_create(
                TOKEN_A,
                json!({"url": format!("https://example.com/hook/{n}"), "events": ["billing.plan.changed"]}),
            )
            .await;
        ids.push(number(&created["id"]));
    }
    ids.reverse();

    let mut pages = Vec::new();
    let mut path = "/api/webhooks/endpoints?limit=2".to_owned();
    loop {
        let page = api.get_ok(&path, TOKEN_A).await;
        let listed: Vec<u64> = page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|endpoint| number(&endpoint["id"]))
            .collect();
        pages.push(listed);
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                assert!(pages.len() < 5, "the cursor never ends");
                path = format!("/api/webhooks/endpoints?limit=2&cursor={cursor}");
            }
            None => {
                assert!(page.get("next_cursor").is_none(), "{page}");
                break;
            }
        }
    }
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    assert_eq!(pages.concat(), ids, "each once, newest first");

    let all = api.get_ok("/api/webhooks/endpoints", TOKEN_A).await;
    assert_eq!(
        all["data"].as_array().unwrap().len(),
        5,
        "default page size"
    );

    for query in [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=two",
        "cursor=abc",
        "cursor=-5",
        "page=2",
    ] {
        let answer = api
            .json(
                Method::GET,
                &format!("/api/webhooks/endpoints?{query}"),
                TOKEN_A,
                None,
            )
            .await;
        assert_refused(&answer, 400, "invalid_query", None);
    }
    api.finish().await;
}

/// Rotation with a grace period: the answer has the new secret and
/// `previous_secret_expires_at`; a delivery afterwards carries two `v1=`
/// signatures, one with the old secret and one with the new. Without a
/// grace period only the new one signs.
#[tokio::test]
async fn eventium_rotate_secret_signs_with_both_during_the_grace_period() {
    let api = Api::start().await;
    let sink = Sink::start().await;
    let created = api
        .endpoint_create(
            TOKEN_A,
            json!({"url": sink.url("/rotating"), "events": ["quota.threshold.reached"]}),
        )
        .await;
    let id = number(&created["id"]);
    let old = created["secret"].as_str().unwrap().to_owned();
    let path = format!("/api/webhooks/endpoints/{id}/rotate-secret");

    let (status, rotated) = api
        .call(
            Method::POST,
            &path,
            TOKEN_A,
            Some(json!({"grace_period_seconds": 3600})),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(
        key_set(&rotated),
        BTreeSet::from(["id", "secret", "previous_secret_expires_at"].map(String::from))
    );
    assert_eq!(number(&rotated["id"]), id);
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let remaining = seconds_from_now(&rotated["previous_secret_expires_at"]);
    assert!((3500..=3600).contains(&remaining), "{remaining}");
    let endpoint = api
        .get_ok(&format!("/api/webhooks/endpoints/{id}"), TOKEN_A)
        .await;
    assert_eq!(
        endpoint["previous_secret_expires_at"],
        rotated["previous_secret_expires_at"]
    );
    assert!(!endpoint.to_string().contains(&new));

    api.send_test(TOKEN_A, id).await;
    sink.wait_for("/rotating", 1).await;
    let delivery = &sink.received_on("/rotating")[0];
    let (t, signatures) = eventium_signatures(delivery);
    assert_eq!(signatures.len(), 2, "two v1= signatures");
    let by_old: Vec<bool> = signatures
        .iter()
        .map(|v1| eventium_signature_verifies(&old, &t, v1, &delivery.body))
        .collect();
    let by_new: Vec<bool> = signatures
        .iter()
        .map(|v1| eventium_signature_verifies(&new, &t, v1, &delivery.body))
        .collect();
    assert_eq!(by_old.iter().filter(|ok| **ok).count(), 1, "{by_old:?}");
    assert_eq!(by_new.iter().filter(|ok| **ok).count(), 1, "{by_new:?}");
    assert_ne!(by_old, by_new, "one signature each");
    assert!(eventium_verifies(&old, delivery) && eventium_verifies(&new, delivery));

    // No grace period: the newest secret alone signs.
    let (status, rotated) = api
        .call(
            Method::POST,
            &path,
            TOKEN_A,
            Some(json!({"grace_period_seconds": 0})),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    assert!(
        rotated.get("previous_secret_expires_at").is_none(),
        "{rotated}"
    );
    let newest = rotated["secret"].as_str().unwrap().to_owned();
    let endpoint = api
        .get_ok(&format!("/api/webhooks/endpoints/{id}"), TOKEN_A)
        .await;
    assert!(endpoint.get("previous_secret_expires_at").is_none());
    api.send_test(TOKEN_A, id).await;
    sink.wait_for("/rotating", 2).await;
    let delivery = &sink.received_on("/rotating")[1];
    let (_, signatures) = eventium_signatures(delivery);
    assert_eq!(signatures.len(), 1);
    assert!(eventium_verifies(&newest, delivery));
    assert!(!eventium_verifies(&new, delivery) && !eventium_verifies(&old, delivery));

    // The default grace period is a day; more than 30 days is refused.
    let (status, rotated) = api
        .call(Method::POST, &path, TOKEN_A, Some(json!({})))
        .await;
    assert_eq!(status, 200, "{rotated}");
    let remaining = seconds_from_now(&rotated["previous_secret_expires_at"]);
    assert!((86_300..=86_400).contains(&remaining), "{remaining}");
    let answer = api
        .json(
            Method::POST,
            &path,
            TOKEN_A,
            Some(json!({"grace_period_seconds": 30 * 86_400 + 1})),
        )
        .await;
    assert_refused(
        &answer,
        422,
        "validation_failed",
        Some("grace_period_seconds"),
    );
    api.finish().await;
}

/// Seed 003's test request arrives at a receiver through the normal signed
/// path: the seed's envelope shape, verified with the endpoint's secret.
#[tokio::test]
async fn eventium_test_event_arrives_signed() {
    let api = Api::start().await;
    let sink = Sink::start().await;
    let first = api
        .endpoint_create(
            TOKEN_A,
            json!({"url": sink.url("/first"), "events": ["billing.plan.changed"]}),
        )
        .await;
    let second = api
        .endpoint_create(
            TOKEN_A,
            json!({"url": sink.url("/second"), "events": ["quota.request.rejected"]}),
        )
        .await;
    let disabled = api
        .endpoint_create(
            TOKEN_A,
            json!({"url": sink.url("/disabled"), "events": ["billing.plan.changed"], "enabled": false}),
        )
        .await;

    // Without `endpoint_id`: every enabled endpoint, whatever it subscribes to.
    let (status, queued) = api
        .call(
            Method::POST,
            "/api/webhooks/test",
            TOKEN_A,
            Some(seed_json("eventium_test_request.json")),
        )
        .await;
    assert_eq!(status, 202, "{queued}");
    let event_id = queued["event_id"].as_str().unwrap().to_owned();
    let targets: BTreeSet<u64> = queued["endpoint_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(number)
        .collect();
    assert_eq!(
        targets,
        BTreeSet::from([number(&first["id"]), number(&second["id"])])
    );

    for (path, created) in [("/first", &first), ("/second", &second)] {
        sink.wait_for(path, 1).await;
        let delivery = &sink.received_on(path)[0];
        assert!(eventium_verifies(
            created["secret"].as_str().unwrap(),
            delivery
        ));
        let body = body_json(delivery);
        assert_eq!(
            key_set(&body),
            key_set(&seed_json("eventium_envelope.json"))
        );
        assert_eq!(body["id"], event_id.as_str());
        assert_eq!(body["type"], "webhook.test");
        assert_eq!(body["data"], json!({"hello": "world"}));
        assert_recent_iso8601(&body["created_at"]);
    }
    assert!(!eventium_verifies(
        first["secret"].as_str().unwrap(),
        &sink.received_on("/second")[0]
    ));

    // To one endpoint; a disabled one is refused; an unknown type too.
    api.send_test(TOKEN_A, number(&second["id"])).await;
    sink.wait_for("/second", 2).await;
    assert_eq!(sink.received_on("/first").len(), 1);
    let mut request = seed_json("eventium_test_request.json");
    request["endpoint_id"] = disabled["id"].clone();
    let answer = api
        .json(Method::POST, "/api/webhooks/test", TOKEN_A, Some(request))
        .await;
    assert_refused(&answer, 409, "endpoint_disabled", None);
    let answer = api
        .json(
            Method::POST,
            "/api/webhooks/test",
            TOKEN_A,
            Some(json!({"event_type": "webhook.tset", "data": {}})),
        )
        .await;
    assert_refused(&answer, 422, "validation_failed", Some("event_type"));
    let mut request = seed_json("eventium_test_request.json");
    request["endpoint_id"] = json!(NO_SUCH_ID);
    let answer = api
        .json(Method::POST, "/api/webhooks/test", TOKEN_A, Some(request))
        .await;
    assert_refused(&answer, 404, "not_found", None);
    assert!(sink.received_on("/disabled").is_empty());
    api.finish().await;
}

/// The event catalog is seed 003's.
#[tokio::test]
async fn eventium_events_catalog_is_seed_003() {
    let api = Api::start().await;
    let catalog = api.get_ok("/api/webhooks/events", TOKEN_A).await;
    assert_eq!(keys(&catalog), ["data"], "one page, no cursor");
    let listed: BTreeMap<String, String> = catalog["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            assert_eq!(
                key_set(entry),
                BTreeSet::from(["type", "category"].map(String::from))
            );
            (
                entry["type"].as_str().unwrap().to_owned(),
                entry["category"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for event in [
        "billing.plan.changed",
        "quota.threshold.reached",
        "quota.request.rejected",
        "agent.deployment.created",
        "agent.deployment.updated",
        "agent.deployment.deleted",
        "webhook.endpoint.created",
        "webhook.endpoint.updated",
        "webhook.endpoint.deleted",
        "webhook.test",
    ] {
        let category = listed
            .get(event)
            .unwrap_or_else(|| panic!("{event} missing: {listed:?}"));
        assert!(!category.is_empty(), "{event}");
    }
    assert_eq!(
        listed["quota.threshold.reached"],
        listed["quota.request.rejected"]
    );
    assert_eq!(
        listed["webhook.endpoint.created"],
        listed["webhook.endpoint.deleted"]
    );
    assert_ne!(
        listed["billing.plan.changed"],
        listed["quota.threshold.reached"]
    );
    api.finish().await;
}

/// Endpoint changes emit `webhook.endpoint.created`, `.updated` and
/// `.deleted` to the owner's endpoints subscribed to them, signed; not to
/// other endpoints, and never to another tenant's.
#[tokio::test]
async fn eventium_endpoint_changes_emit_lifecycle_events() {
    let api = Api::start().await;
    let sink = Sink::start().await;
    let watcher = api
        .endpoint_create(
            TOKEN_A,
            json!({
                "url": sink.url("/watcher"),
                "events": ["webhook.endpoint.created", "webhook.endpoint.updated", "webhook.endpoint.deleted"],
            }),
        )
        .await;
    let quiet = api
        .endpoint_create(
            TOKEN_A,
            json!({"url": sink.url("/quiet"), "events": ["quota.threshold.reached"]}),
        )
        .await;
    let other_tenant = api
        .endpoint_create(TOKEN_B, json!({"url": sink.url("/tenant-b")}))
        .await;

    let subject = api
        .endpoint_create(
            TOKEN_A,
            json!({"url": sink.url("/subject"), "events": ["billing.plan.changed"]}),
        )
        .await;
    let id = number(&subject["id"]);
    let path = format!("/api/webhooks/endpoints/{id}");
    let (status, patched) = api
        .call(
            Method::PATCH,
            &path,
            TOKEN_A,
            Some(json!({"description": "renamed"})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let deleted = api.json(Method::DELETE, &path, TOKEN_A, None).await;
    assert_eq!(deleted.status, 204);

    let about_subject = |all: &[Received]| -> Vec<Value> {
        all.iter()
            .filter(|r| r.path == "/watcher")
            .map(body_json)
            .filter(|body| body["data"]["endpoint"]["id"] == json!(id))
            .collect()
    };
    sink.wait_until(PATIENCE, |all| about_subject(all).len() >= 3)
        .await;
    let events = about_subject(&sink.received());
    let by_type: BTreeMap<String, Value> = events
        .iter()
        .map(|body| (body["type"].as_str().unwrap().to_owned(), body.clone()))
        .collect();
    assert_eq!(
        by_type.keys().cloned().collect::<Vec<_>>(),
        [
            "webhook.endpoint.created",
            "webhook.endpoint.deleted",
            "webhook.endpoint.updated"
        ]
    );
    assert_eq!(
        by_type["webhook.endpoint.created"]["data"]["endpoint"],
        without(&subject, &["secret"])
    );
    assert_eq!(
        by_type["webhook.endpoint.updated"]["data"]["endpoint"],
        patched
    );
    assert_eq!(
        by_type["webhook.endpoint.deleted"]["data"]["endpoint"]["description"],
        "renamed"
    );
    let watcher_secret = watcher["secret"].as_str().unwrap();
    for delivery in sink.received_on("/watcher") {
        assert!(eventium_verifies(watcher_secret, &delivery));
        assert!(!contains(
            &delivery.body,
            subject["secret"].as_str().unwrap()
        ));
        assert!(!contains(&delivery.body, watcher_secret));
    }

    // Queued for no one else: the quiet endpoint's and tenant B's queues.
    let quiet_deliveries = api
        .deliveries(TOKEN_A, &format!("endpoint_id={}", number(&quiet["id"])))
        .await;
    assert_eq!(quiet_deliveries["data"], json!([]), "{quiet_deliveries}");
    let b_deliveries = api.deliveries(TOKEN_B, "").await;
    for delivery in b_deliveries["data"].as_array().unwrap() {
        assert_eq!(delivery["endpoint_id"], other_tenant["id"]);
        assert_eq!(delivery["event_type"], "webhook.endpoint.created");
    }
    for delivery in sink.received_on("/tenant-b") {
        assert_eq!(
            body_json(&delivery)["data"]["endpoint"]["id"],
            other_tenant["id"]
        );
    }
    assert!(sink.received_on("/quiet").is_empty());
    assert!(sink.received_on("/subject").is_empty());
    api.finish().await;
}

/// Deliveries: status, attempts, last error and next retry time; filters
/// by endpoint and status; cursor pagination; redelivery refused while a
/// delivery is open and accepted once it finished.
#[tokio::test]
async fn eventium_deliveries_list_filter_and_redeliver() {
    let api = Api::start().await;
    let sink = Sink::start().await;
    sink.script("/failing", [Reply::Status(500)]);
    sink.script("/held", [Reply::Hold]);
    let quota = json!(["quota.threshold.reached"]);
    let ok = api
        .endpoint_create(TOKEN_A, json!({"url": sink.url("/ok"), "events": quota}))
        .await;
    let failing = api
        .endpoint_create(
            TOKEN_A,
            json!({
                "url": sink.url("/failing"),
                "events": quota,
                "retries": {"attempts": 3, "delaySeconds": 3600, "policy": "constant"},
            }),
        )
        .await;
    let held = api
        .endpoint_create(TOKEN_A, json!({"url": sink.url("/held"), "events": quota}))
        .await;
    let (ok_id, failing_id, held_id) = (
        number(&ok["id"]),
        number(&failing["id"]),
        number(&held["id"]),
    );

    let mut ok_events = Vec::new();
    for _ in 0..3 {
        ok_events.push(api.send_test(TOKEN_A, ok_id).await);
    }
    let failing_event = api.send_test(TOKEN_A, failing_id).await;

    let succeeded = api
        .wait_deliveries(TOKEN_A, &format!("endpoint_id={ok_id}"), |data| {
            data.len() == 3 && data.iter().all(|d| d["status"] == "succeeded")
        })
        .await;
    for delivery in &succeeded {
        assert_eq!(delivery["endpoint_id"], json!(ok_id));
        assert_eq!(delivery["event_type"], "webhook.test");
        assert_eq!(delivery["attempts"], 1);
        assert_eq!(delivery["last_status_code"], 200);
        assert!(delivery.get("last_error").is_none(), "{delivery}");
        assert!(delivery.get("next_retry_at").is_none(), "{delivery}");
        assert_recent_iso8601(&delivery["created_at"]);
        assert_recent_iso8601(&delivery["updated_at"]);
    }
    let listed_events: BTreeSet<&str> = succeeded
        .iter()
        .map(|d| d["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed_events,
        ok_events
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>()
    );

    let retrying = api
        .wait_deliveries(TOKEN_A, "status=retry", |data| !data.is_empty())
        .await;
    assert_eq!(retrying.len(), 1, "{retrying:?}");
    let retry = &retrying[0];
    assert_eq!(retry["endpoint_id"], json!(failing_id));
    assert_eq!(retry["event_id"], failing_event.as_str());
    assert_eq!(retry["attempts"], 1);
    assert_eq!(retry["last_status_code"], 500);
    assert!(!retry["last_error"].as_str().unwrap().is_empty(), "{retry}");
    let due = seconds_from_now(&retry["next_retry_at"]);
    assert!((3500..=3600).contains(&due), "the endpoint's policy: {due}");

    // Filters combine; a page of two follows its cursor.
    let none = api
        .deliveries(
            TOKEN_A,
            &format!("endpoint_id={failing_id}&status=succeeded"),
        )
        .await;
    assert_eq!(none, json!({"data": []}));
    let all = api.deliveries(TOKEN_A, "").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 4, "{all}");
    let mut pages = Vec::new();
    let mut query = format!("endpoint_id={ok_id}&status=succeeded&limit=2");
    loop {
        let page = api.deliveries(TOKEN_A, &query).await;
        pages.push(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| number(&d["id"]))
                .collect::<Vec<_>>(),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                assert!(pages.len() < 4);
                query = format!("endpoint_id={ok_id}&status=succeeded&limit=2&cursor={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    let ids = pages.concat();
    let mut newest_first = ids.clone();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, newest_first);
    assert_eq!(
        ids,
        succeeded
            .iter()
            .map(|d| number(&d["id"]))
            .collect::<Vec<_>>()
    );

    for (query, code, field) in [
        ("status=bogus", "invalid_query", "status"),
        ("endpoint_id=abc", "invalid_id", "endpoint_id"),
        ("endpoint_id=0", "invalid_id", "endpoint_id"),
        ("limit=1000", "invalid_query", "limit"),
        ("cursor=x", "invalid_query", "cursor"),
    ] {
        let answer = api
            .json(
                Method::GET,
                &format!("/api/webhooks/deliveries?{query}"),
                TOKEN_A,
                None,
            )
            .await;
        assert_refused(&answer, 400, code, Some(field));
    }
    let answer = api
        .json(
            Method::GET,
            &format!("/api/webhooks/deliveries?endpoint_id={NO_SUCH_ID}"),
            TOKEN_A,
            None,
        )
        .await;
    assert_refused(&answer, 404, "not_found", None);

    // Redelivery: refused while open (retrying, or in flight), accepted
    // once finished.
    let redeliver = |id: u64| format!("/api/webhooks/deliveries/{id}/redeliver");
    let answer = api
        .json(
            Method::POST,
            &redeliver(number(&retry["id"])),
            TOKEN_A,
            None,
        )
        .await;
    assert_refused(&answer, 409, "delivery_open", None);

    let held_event = api.send_test(TOKEN_A, held_id).await;
    sink.wait_for("/held", 1).await;
    let in_flight = api
        .wait_deliveries(TOKEN_A, &format!("endpoint_id={held_id}"), |data| {
            data.len() == 1 && data[0]["status"] == "in_flight"
        })
        .await;
    let held_delivery = number(&in_flight[0]["id"]);
    assert_eq!(in_flight[0]["event_id"], held_event.as_str());
    let answer = api
        .json(Method::POST, &redeliver(held_delivery), TOKEN_A, None)
        .await;
    assert_refused(&answer, 409, "delivery_open", None);
    sink.release();
    api.wait_deliveries(TOKEN_A, &format!("endpoint_id={held_id}"), |data| {
        data.len() == 1 && data[0]["status"] == "succeeded"
    })
    .await;
    let answer = api
        .json(Method::POST, &redeliver(held_delivery), TOKEN_A, None)
        .await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    assert_eq!(
        answer.body,
        json!({"id": held_delivery, "status": "pending"})
    );
    sink.wait_for("/held", 2).await;
    let copies = sink.received_on("/held");
    assert_eq!(copies[0].body, copies[1].body, "the same event again");
    assert!(eventium_verifies(
        held["secret"].as_str().unwrap(),
        &copies[1]
    ));
    let again = api
        .wait_deliveries(TOKEN_A, &format!("endpoint_id={held_id}"), |data| {
            data.len() == 1 && data[0]["status"] == "succeeded"
        })
        .await;
    assert_eq!(number(&again[0]["id"]), held_delivery, "the same delivery");
    assert_eq!(again[0]["attempts"], 1, "counted since the redelivery");

    for (id, status, code) in [
        (NO_SUCH_ID.to_string(), 404, "not_found"),
        ("0".to_owned(), 400, "invalid_id"),
        ("x".to_owned(), 400, "invalid_id"),
    ] {
        let answer = api
            .json(
                Method::POST,
                &format!("/api/webhooks/deliveries/{id}/redeliver"),
                TOKEN_A,
                None,
            )
            .await;
        assert_refused(&answer, status, code, None);
    }
    api.finish().await;
}

/// End to end, as the issue's proof puts it: an endpoint created through
/// the API, an event dispatched, a receiver on 127.0.0.1 verifying it with
/// the key from the create answer, the deliveries listing showing it
/// succeeded, and a test event arriving too.
#[tokio::test]
async fn end_to_end_create_dispatch_verify_list_test() {
    let api = Api::start().await;
    let sink = Sink::start().await;
    let created = api
        .endpoint_create(
            TOKEN_A,
            json!({"url": sink.url("/e2e"), "events": ["quota.threshold.reached"]}),
        )
        .await;
    let secret = created["secret"].as_str().unwrap();

    let seed: titan_webhooks::EventiumEnvelope =
        serde_json::from_value(seed_json("eventium_envelope.json")).unwrap();
    let queued = api.dispatch("tenant-a", &seed).await;
    assert_eq!(queued, [created["id"].clone()]);
    sink.wait_for("/e2e", 1).await;
    let delivery = &sink.received_on("/e2e")[0];
    assert!(eventium_verifies(secret, delivery));
    assert_eq!(body_json(delivery), seed_json("eventium_envelope.json"));

    let listed = api
        .wait_deliveries(TOKEN_A, "", |data| {
            data.len() == 1 && data[0]["status"] == "succeeded"
        })
        .await;
    assert_eq!(
        listed[0]["event_id"],
        "0c3b1d5b-1d66-4a16-b2b5-7aa3c2c9b5ab"
    );
    assert_eq!(listed[0]["event_type"], "quota.threshold.reached");

    let (status, _) = api
        .call(
            Method::POST,
            "/api/webhooks/test",
            TOKEN_A,
            Some(seed_json("eventium_test_request.json")),
        )
        .await;
    assert_eq!(status, 202);
    sink.wait_for("/e2e", 2).await;
    let test = &sink.received_on("/e2e")[1];
    assert!(eventium_verifies(secret, test));
    assert_eq!(body_json(test)["type"], "webhook.test");
    api.finish().await;
}

// ---------------------------------------------------------------------------
// Flavours keep to their own webhooks
// ---------------------------------------------------------------------------

/// Each flavour lists and changes only its own webhooks: another flavour's
/// id is 404 on every route, and nothing changes.
#[tokio::test]
async fn each_flavour_sees_only_its_own_webhooks() {
    let api = Api::start().await;
    let sink = Sink::start().await;
    let titan = api
        .titan_create(TOKEN_A, json!({"url": sink.url("/titan")}))
        .await;
    let endpoint = api
        .endpoint_create(TOKEN_A, json!({"url": sink.url("/eventium")}))
        .await;
    let titanx = api
        .titanx_create(
            TOKEN_A,
            json!({"url": sink.url("/titanx"), "eventTypes": ["job.completed"]}),
        )
        .await;
    let titan_id = number(&titan["id"]);
    let endpoint_id = number(&endpoint["id"]);
    let titanx_row = uuid::Uuid::parse_str(titanx["id"].as_str().unwrap())
        .unwrap()
        .as_u64_pair()
        .1
        & !0xC000_0000_0000_0000;
    assert_eq!(
        titanx_id_of_row(titanx_row),
        titanx["id"].as_str().unwrap(),
        "the server's id scheme"
    );

    assert_eq!(
        api.titan_list(TOKEN_A).await,
        [without(&titan, &["hmacKey"])]
    );
    assert_eq!(
        api.endpoint_list(TOKEN_A).await,
        [without(&endpoint, &["secret"])]
    );
    assert_eq!(
        api.titanx_list(TOKEN_A).await,
        [without(&titanx, &["secret"])]
    );

    let titan_queued = api
        .dispatch("tenant-a", &titan_envelope("evt_flavour"))
        .await;
    assert_eq!(titan_queued, [titan["id"].clone()]);
    sink.wait_for("/titan", 1).await;
    let titan_delivery = api
        .server
        .dispatcher
        .store()
        .list_deliveries(&DeliveryQuery::for_webhook(WebhookId::Number(titan_id)))
        .await
        .unwrap();
    assert_eq!(titan_delivery.len(), 1);
    let titan_delivery = titan_delivery[0].sequence;

    let mut refused = Vec::new();
    for id in [titan_id, titanx_row] {
        let path = format!("/api/webhooks/endpoints/{id}");
        refused.push(api.json(Method::GET, &path, TOKEN_A, None).await);
        refused.push(
            api.json(
                Method::PATCH,
                &path,
                TOKEN_A,
                Some(json!({"enabled": false})),
            )
            .await,
        );
        refused.push(
            api.json(
                Method::POST,
                &format!("{path}/rotate-secret"),
                TOKEN_A,
                Some(json!({})),
            )
            .await,
        );
        refused.push(api.json(Method::DELETE, &path, TOKEN_A, None).await);
        refused.push(
            api.json(
                Method::GET,
                &format!("/api/webhooks/deliveries?endpoint_id={id}"),
                TOKEN_A,
                None,
            )
            .await,
        );
        let mut test = seed_json("eventium_test_request.json");
        test["endpoint_id"] = json!(id);
        refused.push(
            api.json(Method::POST, "/api/webhooks/test", TOKEN_A, Some(test))
                .await,
        );
    }
    refused.push(
        api.json(
            Method::POST,
            &format!("/api/webhooks/deliveries/{titan_delivery}/redeliver"),
            TOKEN_A,
            None,
        )
        .await,
    );
    for id in [endpoint_id, titanx_row] {
        let path = format!("/api/webhooks/{id}");
        refused.push(api.json(Method::GET, &path, TOKEN_A, None).await);
        refused.push(
            api.json(Method::PUT, &path, TOKEN_A, Some(json!({"enabled": false})))
                .await,
        );
        refused.push(api.json(Method::DELETE, &path, TOKEN_A, None).await);
    }
    for row in [titan_id, endpoint_id] {
        let path = format!("/api/public/v2/webhooks/{}", titanx_id_of_row(row));
        refused.push(api.json(Method::GET, &path, TOKEN_A, None).await);
        refused.push(api.json(Method::DELETE, &path, TOKEN_A, None).await);
    }
    for answer in &refused {
        assert_refused(answer, 404, "not_found", None);
    }

    assert_eq!(
        api.titan_list(TOKEN_A).await,
        [without(&titan, &["hmacKey"])]
    );
    assert_eq!(
        api.endpoint_list(TOKEN_A).await,
        [without(&endpoint, &["secret"])]
    );
    assert_eq!(
        api.titanx_list(TOKEN_A).await,
        [without(&titanx, &["secret"])]
    );
    let deliveries = api.deliveries(TOKEN_A, "").await;
    assert!(
        deliveries["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["endpoint_id"] == json!(endpoint_id)),
        "the Titan delivery is not an Eventium one: {deliveries}"
    );
    api.finish().await;
}

// ---------------------------------------------------------------------------
// Auth and tenancy
// ---------------------------------------------------------------------------

/// Every route, with the ids of real webhooks of tenant A.
fn every_route(
    titan: u64,
    endpoint: u64,
    delivery: u64,
    titanx: &str,
) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (
            Method::POST,
            "/api/webhooks".into(),
            Some(json!({"url": "https://example.com/new"})),
        ),
        (Method::GET, "/api/webhooks".into(), None),
        (Method::GET, format!("/api/webhooks/{titan}"), None),
        (
            Method::PUT,
            format!("/api/webhooks/{titan}"),
            Some(json!({"enabled": false})),
        ),
        (Method::DELETE, format!("/api/webhooks/{titan}"), None),
        (
            Method::POST,
            "/api/webhooks/endpoints".into(),
            Some(json!({"url": "https://example.com/new"})),
        ),
        (Method::GET, "/api/webhooks/endpoints".into(), None),
        (
            Method::GET,
            format!("/api/webhooks/endpoints/{endpoint}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/webhooks/endpoints/{endpoint}"),
            Some(json!({"enabled": false})),
        ),
        (
            Method::DELETE,
            format!("/api/webhooks/endpoints/{endpoint}"),
            None,
        ),
        (
            Method::POST,
            format!("/api/webhooks/endpoints/{endpoint}/rotate-secret"),
            Some(json!({"grace_period_seconds": 60})),
        ),
        (Method::GET, "/api/webhooks/deliveries".into(), None),
        (
            Method::GET,
            format!("/api/webhooks/deliveries?endpoint_id={endpoint}"),
            None,
        ),
        (
            Method::POST,
            format!("/api/webhooks/deliveries/{delivery}/redeliver"),
            None,
        ),
        (
            Method::POST,
            "/api/webhooks/test".into(),
            Some(
                json!({"event_type": "webhook.test", "data": {"hello": "world"}, "endpoint_id": endpoint}),
            ),
        ),
        (Method::GET, "/api/webhooks/events".into(), None),
        (
            Method::POST,
            "/api/public/v2/webhooks".into(),
            Some(seed_json("titanx_create_request.json")),
        ),
        (Method::GET, "/api/public/v2/webhooks".into(), None),
        (
            Method::GET,
            format!("/api/public/v2/webhooks/{titanx}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/api/public/v2/webhooks/{titanx}"),
            None,
        ),
    ]
}

/// Tenant A's webhooks, endpoint and a finished delivery, for the auth
/// and tenancy tests.
struct TenantA {
    titan: Value,
    endpoint: Value,
    titanx: Value,
    delivery: u64,
}

impl TenantA {
    async fn create(api: &Api, sink: &Sink) -> Self {
        let titan = api
            .titan_create(
                TOKEN_A,
                json!({"url": sink.url("/a-titan"), "hmacKey": "tenant-a-titan-key"}),
            )
            .await;
        let endpoint = api
            .endpoint_create(
                TOKEN_A,
                json!({"url": sink.url("/a-endpoint"), "events": ["quota.threshold.reached"]}),
            )
            .await;
        let titanx = api
            .titanx_create(
                TOKEN_A,
                json!({"url": sink.url("/a-titanx"), "eventTypes": ["job.contact.scored"]}),
            )
            .await;
        api.send_test(TOKEN_A, number(&endpoint["id"])).await;
        let finished = api
            .wait_deliveries(TOKEN_A, "", |data| {
                data.len() == 1 && data[0]["status"] == "succeeded"
            })
            .await;
        Self {
            titan,
            endpoint,
            titanx,
            delivery: number(&finished[0]["id"]),
        }
    }

    fn routes(&self) -> Vec<(Method, String, Option<Value>)> {
        every_route(
            number(&self.titan["id"]),
            number(&self.endpoint["id"]),
            self.delivery,
            self.titanx["id"].as_str().unwrap(),
        )
    }

    /// Everything tenant A can read of its own.
    async fn snapshot(api: &Api) -> Vec<Value> {
        let mut all = vec![
            api.get_ok("/api/webhooks", TOKEN_A).await,
            api.get_ok("/api/webhooks/endpoints", TOKEN_A).await,
            api.get_ok("/api/public/v2/webhooks", TOKEN_A).await,
            api.get_ok("/api/webhooks/deliveries", TOKEN_A).await,
        ];
        for endpoint in api.endpoint_list(TOKEN_A).await {
            let path = format!("/api/webhooks/endpoints/{}", number(&endpoint["id"]));
            all.push(api.get_ok(&path, TOKEN_A).await);
        }
        all
    }
}

/// A missing or bad bearer token is 401 with `WWW-Authenticate: Bearer`;
/// a token without `webhooks:manage` is 403; on every route, and nothing
/// changes.
#[tokio::test]
async fn every_route_needs_a_bearer_token_with_the_manage_scope() {
    let api = Api::start().await;
    let sink = Sink::start().await;
    let a = TenantA::create(&api, &sink).await;
    let before = TenantA::snapshot(&api).await;

    let wrong_tokens: [&[&str]; 7] = [
        &[],
        &["Bearer not-a-token"],
        &["Bearer "],
        &["Basic dG9rZW4tdGVuYW50LWE6"],
        &["token-tenant-a"],
        &["Bearer token-tenant-a-"],
        &["Bearer token-tenant-a", "Bearer token-tenant-a"],
    ];
    for (method, path, body) in a.routes() {
        let bytes = body.as_ref().map(|body| serde_json::to_vec(body).unwrap());
        let content_type = body.as_ref().map(|_| "application/json");
        for authorization in wrong_tokens {
            let answer = api
                .send_with(
                    method.clone(),
                    &path,
                    authorization,
                    content_type,
                    bytes.clone(),
                )
                .await;
            assert_refused(&answer, 401, "unauthenticated", None);
            assert_eq!(
                answer
                    .headers
                    .get(WWW_AUTHENTICATE)
                    .map(|v| v.to_str().unwrap()),
                Some("Bearer"),
                "{method} {path} {authorization:?}"
            );
        }
        let answer = api
            .send_with(
                method.clone(),
                &path,
                &[&format!("Bearer {TOKEN_READ_ONLY}")],
                content_type,
                bytes.clone(),
            )
            .await;
        assert_refused(&answer, 403, "forbidden", None);
        assert!(answer.headers.get(WWW_AUTHENTICATE).is_none());
        assert!(
            answer.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("webhooks:manage")
        );
    }
    // The scheme name is case-insensitive.
    let answer = api
        .send_with(
            Method::GET,
            "/api/webhooks",
            &[&format!("bearer {TOKEN_A}")],
            None,
            None,
        )
        .await;
    assert_eq!(answer.status, 200);

    assert_eq!(TenantA::snapshot(&api).await, before, "nothing changed");
    assert_eq!(sink.received_on("/a-endpoint").len(), 1, "nothing sent");
    api.finish().await;
}

/// Tenant B tries every route on tenant A's webhooks, endpoint and
/// delivery: each answer is exactly the one for an id that does not exist,
/// B's listings never show A's items, and A's data, secrets and receivers
/// see no change.
#[tokio::test]
async fn tenant_b_can_never_reach_tenant_a() {
    let api = Api::start().await;
    let sink = Sink::start().await;
    let a = TenantA::create(&api, &sink).await;
    let before = TenantA::snapshot(&api).await;
    let b_endpoint = api
        .endpoint_create(
            TOKEN_B,
            json!({"url": sink.url("/b-endpoint"), "events": ["quota.threshold.reached"]}),
        )
        .await;

    let nonexistent = every_route(
        NO_SUCH_ID,
        NO_SUCH_ID,
        NO_SUCH_ID,
        &titanx_id_of_row(NO_SUCH_ID),
    );
    let mut tried = 0;
    for ((method, path, body), (_, missing_path, missing_body)) in
        a.routes().into_iter().zip(nonexistent)
    {
        if path == missing_path && body == missing_body {
            continue; // no id in it: the listing checks below cover it
        }
        let across = api.json(method.clone(), &path, TOKEN_B, body).await;
        let missing = api
            .json(method.clone(), &missing_path, TOKEN_B, missing_body)
            .await;
        assert_refused(&across, 404, "not_found", None);
        assert_eq!(
            (
                across.status,
                &across.body,
                across.headers.get(CONTENT_TYPE)
            ),
            (
                missing.status,
                &missing.body,
                missing.headers.get(CONTENT_TYPE)
            ),
            "{method} {path} as B is answered as a missing id"
        );
        tried += 1;
    }
    assert_eq!(tried, 12);

    // B's listings show B's own items only.
    assert_eq!(api.titan_list(TOKEN_B).await, Vec::<Value>::new());
    assert_eq!(api.titanx_list(TOKEN_B).await, Vec::<Value>::new());
    assert_eq!(
        api.endpoint_list(TOKEN_B).await,
        [without(&b_endpoint, &["secret"])]
    );
    let b_deliveries = api.deliveries(TOKEN_B, "").await;
    assert_eq!(b_deliveries, json!({"data": []}));
    // B's test event without an endpoint goes to B's endpoints only.
    let (status, queued) = api
        .call(
            Method::POST,
            "/api/webhooks/test",
            TOKEN_B,
            Some(seed_json("eventium_test_request.json")),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(queued["endpoint_ids"], json!([b_endpoint["id"]]));
    sink.wait_for("/b-endpoint", 1).await;
    // A's events reach no endpoint of B's, and B's none of A's.
    let dispatched = api
        .dispatch("tenant-a", &titan_envelope("evt_tenant_a"))
        .await;
    assert_eq!(dispatched, [a.titan["id"].clone()]);

    assert_eq!(
        TenantA::snapshot(&api).await,
        before,
        "A's data is unchanged"
    );
    let a_endpoint = sink.received_on("/a-endpoint");
    assert_eq!(a_endpoint.len(), 1, "neither tested nor redelivered by B");
    sink.wait_for("/a-titan", 1).await;
    assert!(titan_verifies(
        "tenant-a-titan-key",
        &sink.received_on("/a-titan")[0]
    ));

    // A's endpoint secret was not rotated by B: one signature, the
    // original secret's.
    api.send_test(TOKEN_A, number(&a.endpoint["id"])).await;
    sink.wait_for("/a-endpoint", 2).await;
    let delivery = &sink.received_on("/a-endpoint")[1];
    assert_eq!(eventium_signatures(delivery).1.len(), 1);
    assert!(eventium_verifies(
        a.endpoint["secret"].as_str().unwrap(),
        delivery
    ));
    assert_eq!(sink.received_on("/b-endpoint").len(), 1);
    api.finish().await;
}

// ---------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------

/// A create route and a valid body for it.
fn create_routes() -> [(&'static str, Value); 3] {
    [
        ("/api/webhooks", json!({"url": "https://example.com/hook"})),
        (
            "/api/webhooks/endpoints",
            json!({"url": "https://example.com/hook"}),
        ),
        (
            "/api/public/v2/webhooks",
            json!({"url": "https://example.com/hook", "eventTypes": ["job.completed"]}),
        ),
    ]
}

/// Whatever tenant A has stored, through every listing.
async fn stored(api: &Api) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    (
        api.titan_list(TOKEN_A).await,
        api.endpoint_list(TOKEN_A).await,
        api.titanx_list(TOKEN_A).await,
    )
}

/// URLs the SSRF guard refuses, 11 headers and an unknown retry policy are
/// 422 naming the field, on create and update, and nothing is stored or
/// changed.
#[tokio::test]
async fn invalid_fields_are_refused_and_nothing_is_stored() {
    let api = Api::start().await;
    let ssrf = [
        "http://10.0.0.1/",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://192.168.1.10/",
        "https://172.16.0.1/",
        "https://[fd00::1]/",
        "https://[::ffff:10.0.0.1]/",
        "https://0.0.0.0/",
        "ftp://example.com/",
        "not a url",
    ];
    let eleven: Vec<Value> = (0..11)
        .map(|n| json!({"name": format!("X-Custom-{n}"), "value": "v"}))
        .collect();
    let unknown_policy = json!({"attempts": 3, "delaySeconds": 5, "policy": "fibonacci"});

    for (path, valid) in create_routes() {
        for url in ssrf {
            let mut body = valid.clone();
            body["url"] = json!(url);
            let answer = api.json(Method::POST, path, TOKEN_A, Some(body)).await;
            assert_refused(&answer, 422, "validation_failed", Some("url"));
        }
        if path == "/api/public/v2/webhooks" {
            for (name, value, field) in [
                ("eventTypes", json!([]), "eventTypes"),
                ("eventTypes", json!(["job.contact.scroed"]), "eventTypes"),
                ("status", json!("paused"), "status"),
            ] {
                let mut body = valid.clone();
                body[name] = value;
                let answer = api.json(Method::POST, path, TOKEN_A, Some(body)).await;
                assert_refused(&answer, 422, "validation_failed", Some(field));
            }
            continue;
        }
        let mut body = valid.clone();
        body["headers"] = json!(eleven);
        let answer = api.json(Method::POST, path, TOKEN_A, Some(body)).await;
        assert_refused(&answer, 422, "validation_failed", Some("headers"));
        let mut body = valid.clone();
        body["retries"] = unknown_policy.clone();
        let answer = api.json(Method::POST, path, TOKEN_A, Some(body)).await;
        assert_refused(&answer, 422, "validation_failed", Some("retries"));
        let mut body = valid.clone();
        body["events"] = json!(["message.recieved"]);
        let answer = api.json(Method::POST, path, TOKEN_A, Some(body)).await;
        assert_refused(&answer, 422, "validation_failed", Some("events"));
        let mut body = valid.clone();
        body["unknown"] = json!(1);
        let answer = api.json(Method::POST, path, TOKEN_A, Some(body)).await;
        assert_eq!(answer.status, 422, "{}", answer.text);
    }
    let missing_url = api
        .json(Method::POST, "/api/webhooks", TOKEN_A, Some(json!({})))
        .await;
    assert_refused(&missing_url, 422, "validation_failed", None);
    assert_eq!(
        stored(&api).await,
        (vec![], vec![], vec![]),
        "nothing stored"
    );

    // The same on update: nothing changes.
    let titan = api
        .titan_create(TOKEN_A, json!({"url": "https://example.com/titan"}))
        .await;
    let endpoint = api
        .endpoint_create(
            TOKEN_A,
            json!({"url": "https://example.com/endpoint", "events": ["billing.plan.changed"]}),
        )
        .await;
    let before = stored(&api).await;
    for (method, path) in [
        (
            Method::PUT,
            format!("/api/webhooks/{}", number(&titan["id"])),
        ),
        (
            Method::PATCH,
            format!("/api/webhooks/endpoints/{}", number(&endpoint["id"])),
        ),
    ] {
        for url in ssrf {
            let answer = api
                .json(
                    method.clone(),
                    &path,
                    TOKEN_A,
                    Some(json!({"url": url, "enabled": false})),
                )
                .await;
            assert_refused(&answer, 422, "validation_failed", Some("url"));
        }
        let answer = api
            .json(
                method.clone(),
                &path,
                TOKEN_A,
                Some(json!({"headers": eleven, "enabled": false})),
            )
            .await;
        assert_refused(&answer, 422, "validation_failed", Some("headers"));
        let answer = api
            .json(
                method.clone(),
                &path,
                TOKEN_A,
                Some(json!({"retries": unknown_policy, "enabled": false})),
            )
            .await;
        assert_refused(&answer, 422, "validation_failed", Some("retries"));
    }
    assert_eq!(stored(&api).await, before, "nothing changed");
    api.finish().await;
}

/// Bodies that cannot be read: 10 MiB (413), JSON nested 10,000 levels
/// deep (400), invalid UTF-8 (400), not JSON (400), a wrong or missing
/// content type (415); on every route that takes a body, and nothing is
/// stored or changed.
#[tokio::test]
async fn unreadable_bodies_are_refused_and_nothing_is_stored() {
    let api = Api::start().await;
    let titan = api
        .titan_create(TOKEN_A, json!({"url": "https://example.com/titan"}))
        .await;
    let endpoint = api
        .endpoint_create(
            TOKEN_A,
            json!({"url": "https://example.com/endpoint", "events": ["billing.plan.changed"]}),
        )
        .await;
    let before = stored(&api).await;
    let endpoint_path = format!("/api/webhooks/endpoints/{}", number(&endpoint["id"]));
    let routes = [
        (Method::POST, "/api/webhooks".to_owned()),
        (
            Method::PUT,
            format!("/api/webhooks/{}", number(&titan["id"])),
        ),
        (Method::POST, "/api/webhooks/endpoints".to_owned()),
        (Method::PATCH, endpoint_path.clone()),
        (Method::POST, format!("{endpoint_path}/rotate-secret")),
        (Method::POST, "/api/webhooks/test".to_owned()),
        (Method::POST, "/api/public/v2/webhooks".to_owned()),
    ];

    let huge = {
        let mut body = br#"{"url":"https://example.com/hook","label":""#.to_vec();
        body.resize(10 * 1024 * 1024, b'a');
        body.extend_from_slice(br#""}"#);
        body
    };
    let deep_array = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes();
    let deep_object = {
        let mut text =
            r#"{"url":"https://example.com/hook","event_type":"webhook.test","data":"#.to_owned();
        text.push_str(&r#"{"a":"#.repeat(10_000));
        text.push('1');
        text.push_str(&"}".repeat(10_000));
        text.push('}');
        text.into_bytes()
    };
    let not_utf8 = b"{\"url\":\"https://example.com/\xff\xfe\"}".to_vec();
    let latin1_label = b"{\"url\":\"https://example.com/\",\"label\":\"caf\xe9\"}".to_vec();

    let shared = &api;
    for (method, path) in &routes {
        let send = move |content_type: Option<&'static str>, body: Vec<u8>| {
            shared.send(method.clone(), path, TOKEN_A, content_type, body)
        };
        let json_type = Some("application/json");
        assert_refused(
            &send(json_type, huge.clone()).await,
            413,
            "payload_too_large",
            None,
        );
        assert_refused(
            &send(json_type, deep_array.clone()).await,
            400,
            "malformed_json",
            None,
        );
        assert_refused(
            &send(json_type, deep_object.clone()).await,
            400,
            "malformed_json",
            None,
        );
        assert_refused(
            &send(json_type, not_utf8.clone()).await,
            400,
            "invalid_utf8",
            None,
        );
        assert_refused(
            &send(json_type, latin1_label.clone()).await,
            400,
            "invalid_utf8",
            None,
        );
        assert_refused(
            &send(json_type, b"{\"ur".to_vec()).await,
            400,
            "malformed_json",
            None,
        );
        assert_refused(
            &send(json_type, b"{,}".to_vec()).await,
            400,
            "malformed_json",
            None,
        );
        // A rotation may have no body at all: it takes the default grace.
        if !path.ends_with("/rotate-secret") {
            assert_refused(
                &send(json_type, Vec::new()).await,
                400,
                "malformed_json",
                None,
            );
        }
        let valid = br#"{"url":"https://example.com/hook"}"#.to_vec();
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/jsonx"),
        ] {
            assert_refused(
                &send(content_type, valid.clone()).await,
                415,
                "unsupported_media_type",
                None,
            );
        }
    }
    assert_eq!(stored(&api).await, before, "nothing stored or changed");
    let deliveries = api.deliveries(TOKEN_A, "").await;
    assert_eq!(deliveries, json!({"data": []}), "no test event queued");
    api.finish().await;
}

/// Ids that are negative, zero, overflowing or not numbers are 400
/// `invalid_id` on every route that takes one, before anything is looked
/// up or changed.
#[tokio::test]
async fn bad_ids_are_refused() {
    let api = Api::start().await;
    let titan = api
        .titan_create(TOKEN_A, json!({"url": "https://example.com/titan"}))
        .await;
    let before = stored(&api).await;
    let bad = [
        "-1",
        "0",
        "-0",
        "+1",
        "1.5",
        "1e3",
        "abc",
        "0x10",
        "99999999999999999999",
        "9223372036854775808",
        "18446744073709551616",
        "%FF",
        "%C3%28",
    ];
    for id in bad {
        let mut routes = every_route(0, 0, 0, "x")
            .into_iter()
            .filter(|(_, path, _)| path.contains("/0") || path.ends_with("=0"))
            .map(|(method, path, body)| {
                let path = path
                    .replacen("/0", &format!("/{id}"), 1)
                    .replace("=0", &format!("={id}"));
                (method, path, body)
            })
            .collect::<Vec<_>>();
        routes.retain(|(_, path, _)| !path.contains("endpoint_id"));
        assert_eq!(routes.len(), 8, "{routes:?}");
        for (method, path, body) in routes {
            let answer = api.json(method.clone(), &path, TOKEN_A, body).await;
            assert_refused(&answer, 400, "invalid_id", Some("id"));
        }
        let answer = api
            .json(
                Method::GET,
                &format!("/api/webhooks/deliveries?endpoint_id={id}"),
                TOKEN_A,
                None,
            )
            .await;
        assert_eq!(answer.status, 400, "{id}: {}", answer.text);
        let mut test = seed_json("eventium_test_request.json");
        test["endpoint_id"] = serde_json::from_str(id).unwrap_or(json!(id));
        let answer = api
            .json(Method::POST, "/api/webhooks/test", TOKEN_A, Some(test))
            .await;
        assert!(
            [400, 422].contains(&answer.status),
            "test event to endpoint {id}: {}",
            answer.text
        );
        assert_error(
            &answer.body,
            answer.body["error"]["code"].as_str().unwrap(),
            None,
        );
    }
    // TitanX ids are UUIDs: anything else, undecodable text included.
    for id in [
        "42",
        "-1",
        "not-a-uuid",
        "%FF",
        "550e8400e29b41d4a716",
        "%C3%28",
    ] {
        for method in [Method::GET, Method::DELETE] {
            let path = format!("/api/public/v2/webhooks/{id}");
            let answer = api.json(method, &path, TOKEN_A, None).await;
            assert_refused(&answer, 400, "invalid_id", Some("id"));
        }
    }
    // The largest id that fits is well-formed, and simply not found.
    let answer = api
        .json(
            Method::GET,
            "/api/webhooks/9223372036854775807",
            TOKEN_A,
            None,
        )
        .await;
    assert_refused(&answer, 404, "not_found", None);
    assert_eq!(stored(&api).await, before);
    assert_eq!(
        api.titan_list(TOKEN_A).await,
        [without(&titan, &["hmacKey"])]
    );
    api.finish().await;
}

/// A secret, a header value or other string from the body is never echoed
/// in an error, wherever the body goes wrong.
#[tokio::test]
async fn secrets_and_header_values_are_never_echoed() {
    let api = Api::start().await;
    const MARK: &str = "S3CRET-MARKER-9f1c";
    let titan = api
        .titan_create(TOKEN_A, json!({"url": "https://example.com/titan"}))
        .await;
    let endpoint = api
        .endpoint_create(
            TOKEN_A,
            json!({"url": "https://example.com/endpoint", "events": ["billing.plan.changed"]}),
        )
        .await;
    let before = stored(&api).await;
    let titan_path = format!("/api/webhooks/{}", number(&titan["id"]));
    let endpoint_path = format!("/api/webhooks/endpoints/{}", number(&endpoint["id"]));

    let header = |value: Value| json!([{"name": "Authorization", "value": value}]);
    let bodies = [
        // Wrong types around, and of, secrets and header values.
        json!({"url": "https://example.com/", "hmacKey": MARK, "enabled": MARK}),
        json!({"hmacKey": MARK, "url": 42}),
        json!({"url": "https://example.com/", "hmacKey": [MARK]}),
        json!({"url": "https://example.com/", "hmacKey": {"key": MARK}}),
        json!({"url": "https://example.com/", "headers": header(json!([MARK]))}),
        json!({"url": "https://example.com/", "headers": header(json!({"v": MARK}))}),
        json!({"url": "https://example.com/", "headers": {"Authorization": MARK}}),
        json!({"url": "https://example.com/", "headers": [{"name": "X-A", "value": MARK, "extra": MARK}]}),
        json!({"url": "https://example.com/", "retries": {"attempts": MARK, "delaySeconds": 5, "policy": "linear"}}),
        // Values the rules refuse.
        json!({"url": "https://example.com/", "headers": header(json!(format!("{MARK}\n")))}),
        json!({"url": "https://example.com/", "headers": header(json!(format!("{MARK}{}", "x".repeat(9000))))}),
        json!({"url": "https://example.com/", "hmacKey": ""}),
        json!({"url": "https://example.com/", "hmacKey": MARK, "headers": (0..11).map(|_| json!({"name": "X-A", "value": MARK})).collect::<Vec<_>>()}),
        json!({"url": format!("https://user:{MARK}@example.com/"), "hmacKey": MARK}),
        json!({"url": format!("https://10.0.0.1/?token={MARK}"), "hmacKey": MARK}),
        json!({"url": format!("https://10.0.0.1/{MARK}"), "secret": MARK}),
        // TitanX and Eventium shapes.
        json!({"url": "https://example.com/", "eventTypes": MARK, "name": MARK}),
        json!({"event_type": "webhook.test", "data": {"token": MARK}, "endpoint_id": MARK}),
    ];
    let routes = [
        (Method::POST, "/api/webhooks".to_owned()),
        (Method::PUT, titan_path),
        (Method::POST, "/api/webhooks/endpoints".to_owned()),
        (Method::PATCH, endpoint_path.clone()),
        (Method::POST, format!("{endpoint_path}/rotate-secret")),
        (Method::POST, "/api/webhooks/test".to_owned()),
        (Method::POST, "/api/public/v2/webhooks".to_owned()),
    ];
    let mut refused = 0;
    for (method, path) in &routes {
        for body in &bodies {
            let answer = api
                .json(method.clone(), path, TOKEN_A, Some(body.clone()))
                .await;
            assert!(
                answer.status >= 400,
                "{method} {path} {body}: {}",
                answer.text
            );
            refused += 1;
            assert_error(
                &answer.body,
                answer.body["error"]["code"].as_str().unwrap(),
                None,
            );
            assert!(
                !answer.text.contains(MARK) && !answer.text.contains("9f1c"),
                "{method} {path} {body}: echoed in {}",
                answer.text
            );
            for (name, value) in &answer.headers {
                assert!(!value.as_bytes().windows(4).any(|w| w == b"9f1c"), "{name}");
            }
        }
    }
    assert_eq!(refused, bodies.len() * routes.len());
    // Bodies that are not JSON carrying a marker are not echoed either.
    for body in [
        format!("{{\"url\": \"https://example.com/\", \"hmacKey\": \"{MARK}\""),
        format!("{{\"hmacKey\": \"{MARK}\" \"url\": 1}}"),
        format!("{{\"hmacKey\": '{MARK}'}}"),
        MARK.to_owned(),
    ] {
        let answer = api
            .send(
                Method::POST,
                "/api/webhooks",
                TOKEN_A,
                Some("application/json"),
                body.into_bytes(),
            )
            .await;
        assert_refused(&answer, 400, "malformed_json", None);
        assert!(!answer.text.contains(MARK), "{}", answer.text);
    }
    assert_eq!(stored(&api).await, before, "nothing stored or changed");
    api.finish().await;
}

// ---------------------------------------------------------------------------
// The OpenAPI document
// ---------------------------------------------------------------------------

/// The document is OpenAPI 3.1, served by the router, documents every
/// route with bearer security and the one error shape, and every answer a
/// representative set of requests gets is in it (each test above also
/// checks its own answers with `Api::finish`).
#[tokio::test]
async fn openapi_document_describes_the_routes_and_the_error_shape() {
    let api = Api::start().await;
    let document = api.openapi().await;
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        document["openapi"]
    );
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"],
        json!({"type": "http", "scheme": "bearer"})
    );
    let routes: BTreeSet<(String, String)> = [
        ("post", "/api/webhooks"),
        ("get", "/api/webhooks"),
        ("get", "/api/webhooks/{id}"),
        ("put", "/api/webhooks/{id}"),
        ("delete", "/api/webhooks/{id}"),
        ("post", "/api/webhooks/endpoints"),
        ("get", "/api/webhooks/endpoints"),
        ("get", "/api/webhooks/endpoints/{id}"),
        ("patch", "/api/webhooks/endpoints/{id}"),
        ("delete", "/api/webhooks/endpoints/{id}"),
        ("post", "/api/webhooks/endpoints/{id}/rotate-secret"),
        ("get", "/api/webhooks/deliveries"),
        ("post", "/api/webhooks/deliveries/{id}/redeliver"),
        ("post", "/api/webhooks/test"),
        ("get", "/api/webhooks/events"),
        ("post", "/api/public/v2/webhooks"),
        ("get", "/api/public/v2/webhooks"),
        ("get", "/api/public/v2/webhooks/{id}"),
        ("delete", "/api/public/v2/webhooks/{id}"),
    ]
    .into_iter()
    .map(|(method, path)| (method.to_owned(), path.to_owned()))
    .collect();
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            documented.insert((method.clone(), path.clone()));
            assert_eq!(
                operation["security"],
                json!([{"bearer": []}]),
                "{method} {path}"
            );
            for status in ["401", "403"] {
                assert!(
                    operation["responses"][status].is_object(),
                    "{method} {path} {status}"
                );
            }
        }
    }
    assert_eq!(documented, routes);

    let schemas = &document["components"]["schemas"];
    let error_body = &schemas["ErrorBody"];
    assert_eq!(error_body["required"], json!(["error"]), "{error_body}");
    let detail_ref = error_body["properties"]["error"]["$ref"].as_str().unwrap();
    let detail = &schemas[detail_ref.rsplit('/').next().unwrap()];
    let required: BTreeSet<&str> = detail["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required, BTreeSet::from(["code", "message"]));
    assert!(detail["properties"]["field"].is_object());

    // A representative set: one of each status the API answers.
    let created = api
        .titan_create(TOKEN_A, json!({"url": "https://example.com/hook"}))
        .await;
    let id = number(&created["id"]);
    api.json(Method::GET, "/api/webhooks", "bad", None).await;
    api.json(Method::GET, "/api/webhooks", TOKEN_READ_ONLY, None)
        .await;
    api.json(Method::GET, "/api/webhooks/abc", TOKEN_A, None)
        .await;
    api.json(
        Method::GET,
        &format!("/api/webhooks/{NO_SUCH_ID}"),
        TOKEN_A,
        None,
    )
    .await;
    api.json(
        Method::PUT,
        &format!("/api/webhooks/{id}"),
        TOKEN_A,
        Some(json!({"url": "https://10.0.0.1/"})),
    )
    .await;
    api.send(
        Method::POST,
        "/api/webhooks",
        TOKEN_A,
        Some("text/plain"),
        b"{}".to_vec(),
    )
    .await;
    api.send(
        Method::POST,
        "/api/webhooks",
        TOKEN_A,
        Some("application/json"),
        vec![b' '; 100 * 1024],
    )
    .await;
    api.json(
        Method::DELETE,
        &format!("/api/webhooks/{id}"),
        TOKEN_A,
        None,
    )
    .await;
    let statuses: BTreeSet<u16> = api
        .observed
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, status)| *status)
        .collect();
    assert_eq!(
        statuses,
        BTreeSet::from([200, 201, 400, 401, 403, 404, 413, 415, 422])
    );
    api.finish().await;
}

/// A rotation without a body keeps the old secret signing for the default
/// day; a body that is not JSON is still refused.
#[tokio::test]
async fn a_rotation_without_a_body_takes_the_default_grace() {
    let api = Api::start().await;
    let endpoint = api
        .endpoint_create(TOKEN_A, json!({"url": "https://example.com/endpoint"}))
        .await;
    let path = format!(
        "/api/webhooks/endpoints/{}/rotate-secret",
        number(&endpoint["id"])
    );
    let answer = api
        .send(Method::POST, &path, TOKEN_A, None, Vec::new())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let expires: titan_webhooks::Timestamp = answer.body["previous_secret_expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let left = expires.unix_seconds() - titan_webhooks::Timestamp::now().unix_seconds();
    assert!((86_000..=86_400).contains(&left), "{left} s of grace");
    assert_ne!(answer.body["secret"], endpoint["secret"]);
    let refused = api
        .send(
            Method::POST,
            &path,
            TOKEN_A,
            Some("text/plain"),
            b"grace".to_vec(),
        )
        .await;
    assert_refused(&refused, 415, "unsupported_media_type", None);
    api.finish().await;
}
