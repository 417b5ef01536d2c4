//! Receive throughput over real HTTP: the crate's `VerifiedWebhook<Envelope>`
//! route, with and without an idempotency store, against a bare axum
//! handler that does the minimum a correct receiver does (a precomputed
//! HMAC key, a constant-time compare, the timestamp check and
//! `serde_json::from_slice`), in the same run.
//!
//! ```text
//! cargo run --release --example receive_throughput --features axum
//! ```
//!
//! The server runs in one process pinned to CPU 0 (`taskset`), the load
//! generator in another pinned to CPU 1, with 64 keep-alive connections.
//! The routes take turns, several rounds each, and the median requests/s
//! of each route is reported with its ratio to the bare handler. Every
//! request carries a fresh Standard Webhooks message id, signed before the
//! run, so the idempotency store sees only new deliveries.
//!
//! Options, as environment variables: `ROUNDS` (default 5), `TURN_SECONDS` per
//! turn (default 3), `SIZES` in bytes (default `1024,65536`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]
#![allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit as _, Mac as _};
use http_body_util::{BodyExt as _, Full};
use subtle::ConstantTimeEq as _;
use titan_webhooks::receiver::{
    IdempotencyLayer, MemoryIdempotencyStore, Receiver, VerifiedWebhook,
};
use titan_webhooks::{Envelope, Scheme, Secret, Signer, TitanEvent, Verifier};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const CONNECTIONS: usize = 64;
const ROUTES: [&str; 3] = ["/bare", "/crate", "/crate-idempotent"];

fn secret() -> Secret {
    Secret::from_whsec(SECRET).unwrap()
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("serve") => serve(),
        Some("load") => load(),
        _ => orchestrate(),
    }
}

/// Starts the server on CPU 0 and the load generator on CPU 1.
fn orchestrate() {
    let exe = std::env::current_exe().unwrap();
    let mut server = Command::new("taskset")
        .args(["-c", "0"])
        .arg(&exe)
        .arg("serve")
        .stdout(Stdio::piped())
        .spawn()
        .expect("taskset (util-linux) runs the server on one CPU");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr = line.trim().strip_prefix("LISTENING ").unwrap().to_owned();
    let status = Command::new("taskset")
        .args(["-c", "1"])
        .arg(&exe)
        .arg("load")
        .env("TARGET", &addr)
        .status()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(status.success(), "the load generator failed");
}

#[derive(Clone)]
struct Bare {
    key: hmac::Hmac<sha2::Sha256>,
}

/// The hand-written receiver: what any correct Standard Webhooks endpoint
/// must do, and nothing more.
async fn bare(State(bare): State<Bare>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let (Some(id), Some(timestamp), Some(signature)) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    ) else {
        return StatusCode::UNAUTHORIZED;
    };
    let Ok(signed_at) = timestamp.parse::<u64>() else {
        return StatusCode::UNAUTHORIZED;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if now.abs_diff(signed_at) > 300 {
        return StatusCode::UNAUTHORIZED;
    }
    let mut mac = bare.key.clone();
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&body);
    let tag = mac.finalize().into_bytes();
    let mut expected = [0_u8; 44];
    let Ok(len) = STANDARD.encode_slice(tag, &mut expected) else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    let matched = signature.split(' ').any(|entry| {
        entry
            .strip_prefix("v1,")
            .is_some_and(|given| bool::from(given.as_bytes().ct_eq(&expected[..len])))
    });
    if !matched {
        return StatusCode::UNAUTHORIZED;
    }
    match serde_json::from_slice::<Envelope>(&body) {
        Ok(_) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn verified(_webhook: VerifiedWebhook<Envelope>) -> StatusCode {
    StatusCode::NO_CONTENT
}

#[tokio::main(flavor = "current_thread")]
async fn serve() {
    let bare_key = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret().expose_bytes()).unwrap();
    let plain = Receiver::new(Verifier::new(Scheme::standard_webhooks(), secret()));
    let idempotent = Receiver::new(Verifier::new(Scheme::standard_webhooks(), secret()))
        .with_idempotency(MemoryIdempotencyStore::with_capacity(4_000_000));
    let app = Router::new()
        .route("/bare", post(bare).with_state(Bare { key: bare_key }))
        .route("/crate", post(verified).with_state(Arc::new(plain)))
        .route(
            "/crate-idempotent",
            post(verified)
                .layer(IdempotencyLayer::new())
                .with_state(Arc::new(idempotent)),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("LISTENING {}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.unwrap();
}

/// A body of about `size` bytes: an envelope whose payload pads it.
fn body_of(size: usize) -> Bytes {
    let empty = serde_json::to_vec(&Envelope::new(
        TitanEvent::MessageReceived,
        "bench",
        serde_json::json!({ "text": "" }),
    ))
    .unwrap();
    let text = "x".repeat(size.saturating_sub(empty.len()));
    Bytes::from(
        serde_json::to_vec(&Envelope::new(
            TitanEvent::MessageReceived,
            "bench",
            serde_json::json!({ "text": text }),
        ))
        .unwrap(),
    )
}

/// One request's headers, each with a fresh message id.
fn signed_headers(body: &[u8], count: usize) -> Vec<HeaderMap> {
    // Ids unique per body size too: the server keeps them for the whole run.
    let size = body.len();
    let signer = Signer::new(Scheme::standard_webhooks(), secret());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    (0..count)
        .map(|i| {
            let mut headers = signer
                .sign_at(&format!("msg_{size}_{i:012}"), now, body)
                .unwrap();
            headers.insert("content-type", "application/json".parse().unwrap());
            headers
        })
        .collect()
}

#[tokio::main(flavor = "current_thread")]
async fn load() {
    let target = std::env::var("TARGET").unwrap();
    let rounds: usize = env_or("ROUNDS", "5").parse().unwrap();
    let seconds: u64 = env_or("TURN_SECONDS", "3").parse().unwrap();
    let sizes: Vec<usize> = env_or("SIZES", "1024,65536")
        .split(',')
        .map(|size| size.trim().parse().unwrap())
        .collect();
    println!(
        "receive throughput: {CONNECTIONS} connections, {rounds} rounds of {seconds} s per route"
    );
    println!("| body | bare handler | VerifiedWebhook | ratio | + idempotency | ratio |");
    println!("|---|---|---|---|---|---|");
    for size in sizes {
        let body = body_of(size);
        // Enough fresh ids for every request to the idempotent route; the
        // others reuse them.
        let budget = if size <= 4096 { 1_000_000 } else { 150_000 };
        let headers = Arc::new(signed_headers(&body, budget));
        let fresh = Arc::new(AtomicU64::new(0));
        let mut results: [Vec<f64>; 3] = Default::default();
        for _ in 0..rounds {
            for (route, path) in ROUTES.iter().enumerate() {
                let next = if *path == "/crate-idempotent" {
                    Arc::clone(&fresh)
                } else {
                    Arc::new(AtomicU64::new(0))
                };
                let rate = run(&target, path, &body, &headers, &next, seconds).await;
                results[route].push(rate);
            }
        }
        let median = |rates: &mut Vec<f64>| {
            rates.sort_by(f64::total_cmp);
            rates[rates.len() / 2]
        };
        let [bare, plain, idempotent] = results.each_mut().map(median);
        println!(
            "| {} | {:.0}/s | {:.0}/s | {:.2}x | {:.0}/s | {:.2}x |",
            human(body.len()),
            bare,
            plain,
            plain / bare,
            idempotent,
            idempotent / bare
        );
    }
}

fn human(bytes: usize) -> String {
    if bytes >= 1024 {
        format!("{} KiB", (bytes + 512) / 1024)
    } else {
        format!("{bytes} B")
    }
}

/// Sends requests to `path` on every connection for `seconds`; the rate.
async fn run(
    target: &str,
    path: &str,
    body: &Bytes,
    headers: &Arc<Vec<HeaderMap>>,
    next: &Arc<AtomicU64>,
    seconds: u64,
) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let stream = tokio::net::TcpStream::connect(target).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        let (stop, done, next, headers, body) = (
            Arc::clone(&stop),
            Arc::clone(&done),
            Arc::clone(next),
            Arc::clone(headers),
            body.clone(),
        );
        let uri = format!("http://{target}{path}");
        let path = path.to_owned();
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let reuse = path != "/crate-idempotent";
                let Some(signed) = headers.get(if reuse { i % headers.len() } else { i }) else {
                    panic!("out of fresh ids for {path}: raise the budget");
                };
                let mut request = axum::http::Request::post(&uri)
                    .body(Full::new(body.clone()))
                    .unwrap();
                request.headers_mut().extend(signed.clone());
                let response = sender.send_request(request).await.unwrap();
                let status = response.status();
                response.into_body().collect().await.unwrap();
                assert_eq!(status, StatusCode::NO_CONTENT, "{path}");
                done.fetch_add(1, Ordering::Relaxed);
                sender.ready().await.unwrap();
            }
        }));
    }
    // Warm up, then count.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start_count = done.load(Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let counted = done.load(Ordering::Relaxed) - start_count;
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    counted as f64 / elapsed
}
