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
//! request to the idempotent route carries a fresh Standard Webhooks message
//! id, signed before the run, so the idempotency store sees only new
//! deliveries. That store has the default capacity and keeps keys for half
//! a second, so it reaches its steady state (full shards sweeping expired
//! keys) within the run. The load generator writes those pre-signed requests as raw
//! HTTP/1.1 and reads only the response head, so it stays lighter than the
//! server and the same for every route.
//!
//! Options, as environment variables: `ROUNDS` (default 5), `TURN_SECONDS` per
//! turn (default 3), `SIZES` in bytes (default `1024,65536`), and `ONLY`, a
//! comma-separated list of routes to run alone (for profiling one of them),
//! `STORE_CAPACITY` (default `DEFAULT_IDEMPOTENCY_CAPACITY`) and
//! `STORE_TTL_MS` (default 500) for the idempotent route's store.

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
use subtle::ConstantTimeEq as _;
use titan_webhooks::receiver::{
    DEFAULT_IDEMPOTENCY_CAPACITY, IdempotencyLayer, MemoryIdempotencyStore, Receiver,
    VerifiedWebhook,
};
use titan_webhooks::{Envelope, Scheme, Secret, Signer, TitanEvent, Verifier};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

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
        .env("SERVER_PID", server.id().to_string())
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
    let capacity: usize = env_or("STORE_CAPACITY", &DEFAULT_IDEMPOTENCY_CAPACITY.to_string())
        .parse()
        .unwrap();
    let ttl_ms: u64 = env_or("STORE_TTL_MS", "500").parse().unwrap();
    let idempotent = Receiver::new(Verifier::new(Scheme::standard_webhooks(), secret()))
        // The store as `MemoryIdempotencyStore::new()` makes it, in its
        // steady state within the run: keys expire after half a second and
        // full shards sweep them out, as in a long-running receiver.
        .with_idempotency(MemoryIdempotencyStore::with_capacity(capacity))
        .with_replay_ttl(Duration::from_millis(ttl_ms));
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

/// One request's header lines per fresh message id, written out as they go
/// on the wire: the load generator only copies bytes.
fn signed_heads(body: &[u8], count: usize) -> Vec<Box<[u8]>> {
    // Ids unique per body size too: the server keeps them for the whole run.
    let size = body.len();
    let signer = Signer::new(Scheme::standard_webhooks(), secret());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    (0..count)
        .map(|i| {
            let headers = signer
                .sign_at(&format!("msg_{size}_{i:012}"), now, body)
                .unwrap();
            let mut head = format!("content-type: application/json\r\ncontent-length: {size}\r\n");
            for (name, value) in &headers {
                head.push_str(name.as_str());
                head.push_str(": ");
                head.push_str(value.to_str().unwrap());
                head.push_str("\r\n");
            }
            head.push_str("\r\n");
            head.into_bytes().into_boxed_slice()
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
    let only = env_or("ONLY", "");
    let only: Vec<&str> = only.split(',').filter(|path| !path.is_empty()).collect();
    println!(
        "receive throughput: {CONNECTIONS} connections, {rounds} rounds of {seconds} s per route"
    );
    println!(
        "| body | bare handler | VerifiedWebhook | ratio | + idempotency | ratio | server CPU per request: bare / VerifiedWebhook / + idempotency |"
    );
    println!("|---|---|---|---|---|---|---|");
    for size in sizes {
        let body = body_of(size);
        // Enough fresh ids for every request to the idempotent route.
        let budget = if size <= 4096 { 2_000_000 } else { 200_000 };
        let heads = Arc::new(signed_heads(&body, budget));
        // Every route walks the same signed heads in order, so the load
        // generator's work and memory traffic are the same for each; only
        // the idempotent route must never wrap around.
        let cursors: [Arc<AtomicU64>; 3] = Default::default();
        let mut results: [Vec<Measured>; 3] = Default::default();
        for _ in 0..rounds {
            for (route, path) in ROUTES.iter().enumerate() {
                if !only.is_empty() && !only.contains(path) {
                    results[route].push(Measured {
                        rate: f64::NAN,
                        cpu_per_request: f64::NAN,
                    });
                    continue;
                }
                let turn = Turn {
                    target: &target,
                    path,
                    body: &body,
                    heads: &heads,
                    cursor: &cursors[route],
                    wraps: *path != "/crate-idempotent",
                };
                results[route].push(turn.run(seconds).await);
            }
        }
        let median = |values: &mut Vec<f64>| {
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        let [bare, plain, idempotent] = results
            .each_ref()
            .map(|turns| median(&mut turns.iter().map(|turn| turn.rate).collect()));
        let [bare_cpu, plain_cpu, idempotent_cpu] = results.each_ref().map(|turns| {
            median(&mut turns.iter().map(|turn| turn.cpu_per_request).collect()) * 1e6
        });
        println!(
            "| {} | {:.0}/s | {:.0}/s | {:.2}x | {:.0}/s | {:.2}x | {:.1} / {:.1} / {:.1} µs |",
            human(body.len()),
            bare,
            plain,
            plain / bare,
            idempotent,
            idempotent / bare,
            bare_cpu,
            plain_cpu,
            idempotent_cpu
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

/// One route's turn.
struct Turn<'a> {
    target: &'a str,
    path: &'a str,
    body: &'a [u8],
    heads: &'a Arc<Vec<Box<[u8]>>>,
    cursor: &'a Arc<AtomicU64>,
    wraps: bool,
}

impl Turn<'_> {
    /// Sends requests on every connection for `seconds`; the rate, and the
    /// server's CPU time per request.
    async fn run(&self, seconds: u64) -> Measured {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU64::new(0));
        let request_line = format!("POST {} HTTP/1.1\r\nhost: {}\r\n", self.path, self.target);
        let mut tasks = Vec::new();
        for _ in 0..CONNECTIONS {
            let mut stream = tokio::net::TcpStream::connect(self.target).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (stop, done, cursor, heads) = (
                Arc::clone(&stop),
                Arc::clone(&done),
                Arc::clone(self.cursor),
                Arc::clone(self.heads),
            );
            let (body, wraps, path) = (self.body.to_vec(), self.wraps, self.path.to_owned());
            let request_line = request_line.clone();
            tasks.push(tokio::spawn(async move {
                let mut request = Vec::with_capacity(body.len() + 512);
                let mut response = Vec::with_capacity(1024);
                while !stop.load(Ordering::Relaxed) {
                    let i = cursor.fetch_add(1, Ordering::Relaxed) as usize;
                    let index = if wraps { i % heads.len() } else { i };
                    let Some(head) = heads.get(index) else {
                        panic!("out of fresh ids for {path}: raise the budget");
                    };
                    request.clear();
                    request.extend_from_slice(request_line.as_bytes());
                    request.extend_from_slice(head);
                    request.extend_from_slice(&body);
                    stream.write_all(&request).await.unwrap();
                    read_head(&mut stream, &mut response).await;
                    assert!(
                        response.starts_with(b"HTTP/1.1 204 "),
                        "{path}: {}",
                        String::from_utf8_lossy(&response)
                    );
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        // Warm up, then count.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let start_count = done.load(Ordering::Relaxed);
        let cpu_before = server_cpu_seconds();
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let counted = done.load(Ordering::Relaxed) - start_count;
        let elapsed = started.elapsed().as_secs_f64();
        let cpu = server_cpu_seconds() - cpu_before;
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            task.await.unwrap();
        }
        Measured {
            rate: counted as f64 / elapsed,
            cpu_per_request: cpu / counted as f64,
        }
    }
}

/// What one turn measured.
#[derive(Clone, Copy)]
struct Measured {
    rate: f64,
    cpu_per_request: f64,
}

/// The server process's user and system CPU time so far, from
/// `/proc/PID/stat` (in clock ticks of 10 ms).
fn server_cpu_seconds() -> f64 {
    let pid = std::env::var("SERVER_PID").unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which may hold spaces: utime and
    // stime are the 14th and 15th of the whole line.
    let (_, rest) = stat.rsplit_once(')').unwrap();
    let mut fields = rest.split_whitespace().skip(11);
    let mut ticks = || fields.next().unwrap().parse::<f64>().unwrap();
    (ticks() + ticks()) / 100.0
}

/// Reads one response head, up to its blank line. Every response expected
/// here is a `204`, which has no body.
async fn read_head(stream: &mut tokio::net::TcpStream, into: &mut Vec<u8>) {
    into.clear();
    loop {
        let mut chunk = [0_u8; 512];
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "the server closed the connection");
        into.extend_from_slice(&chunk[..read]);
        if into.windows(4).any(|window| window == b"\r\n\r\n") {
            return;
        }
    }
}
