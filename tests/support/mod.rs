//! A scripted HTTP receiver on 127.0.0.1 for the transport tests.

#![allow(dead_code)]

pub mod child;
pub mod idempotency;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "queue")]
pub mod webhooks;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Response, StatusCode, Uri};
use tokio::sync::Notify;

/// How a scripted path answers one request.
#[derive(Clone, Debug)]
pub enum Reply {
    Status(u16),
    WithHeaders(u16, Vec<(&'static str, String)>),
    /// Waits, then answers.
    After(Duration, Box<Reply>),
    /// 200 with a body of this many bytes, sent at once.
    Large(usize),
    /// 200, then one byte every `Duration`, never ending on its own.
    Trickle(Duration),
    /// Waits until the test calls `release`, then answers 200.
    Hold,
}

/// A request the sink received.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When the request arrived.
    pub at: std::time::Instant,
}

#[derive(Default)]
struct Inner {
    received: Mutex<Vec<Received>>,
    scripts: Mutex<HashMap<String, VecDeque<Reply>>>,
    arrived: Notify,
    released: Notify,
    release_all: std::sync::atomic::AtomicBool,
    in_flight: Mutex<HashMap<String, usize>>,
    max_in_flight: Mutex<HashMap<String, usize>>,
    served: AtomicUsize,
}

/// A receiver on 127.0.0.1 that records requests and answers from a
/// script per path; unscripted requests get 200.
#[derive(Clone)]
pub struct Sink {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
}

impl Sink {
    pub async fn start() -> Self {
        let inner = Arc::new(Inner::default());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, inner }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The replies `path` gives, in order; after them it answers 200.
    pub fn script(&self, path: &str, replies: impl IntoIterator<Item = Reply>) {
        self.inner
            .scripts
            .lock()
            .unwrap()
            .insert(path.to_owned(), replies.into_iter().collect());
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    pub fn received_on(&self, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// The most requests to `path` that were being answered at once.
    pub fn max_in_flight(&self, path: &str) -> usize {
        self.inner
            .max_in_flight
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Lets every held request answer, now and from now on.
    pub fn release(&self) {
        self.inner.release_all.store(true, Ordering::SeqCst);
        self.inner.released.notify_waiters();
    }

    /// Waits until `count` requests matching `filter` arrived; panics after
    /// `limit` so a broken test fails instead of hanging.
    pub async fn wait_until(&self, limit: Duration, mut done: impl FnMut(&[Received]) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.inner.arrived.notified();
            if done(&self.received()) {
                return;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "timed out; received: {:?}",
                    self.received().iter().map(|r| &r.path).collect::<Vec<_>>()
                );
            }
        }
    }

    pub async fn wait_for(&self, path: &str, count: usize) {
        self.wait_until(Duration::from_secs(20), |all| {
            all.iter().filter(|r| r.path == path).count() >= count
        })
        .await;
    }
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let path = uri.path().to_owned();
    inner.received.lock().unwrap().push(Received {
        path: path.clone(),
        headers,
        body,
        at: std::time::Instant::now(),
    });
    inner.arrived.notify_waiters();
    {
        let mut in_flight = inner.in_flight.lock().unwrap();
        let now = in_flight.entry(path.clone()).or_default();
        *now += 1;
        let mut max = inner.max_in_flight.lock().unwrap();
        let peak = max.entry(path.clone()).or_default();
        *peak = (*peak).max(*now);
    }
    let reply = inner
        .scripts
        .lock()
        .unwrap()
        .get_mut(&path)
        .and_then(VecDeque::pop_front)
        .unwrap_or(Reply::Status(200));
    let response = answer(&inner, reply).await;
    *inner.in_flight.lock().unwrap().entry(path).or_default() -= 1;
    inner.served.fetch_add(1, Ordering::SeqCst);
    response
}

async fn answer(inner: &Inner, reply: Reply) -> Response<Body> {
    let mut reply = reply;
    loop {
        match reply {
            Reply::After(delay, then) => {
                tokio::time::sleep(delay).await;
                reply = *then;
            }
            Reply::Hold => {
                while !inner.release_all.load(Ordering::SeqCst) {
                    let released = inner.released.notified();
                    if inner.release_all.load(Ordering::SeqCst) {
                        break;
                    }
                    released.await;
                }
                reply = Reply::Status(200);
            }
            Reply::Status(status) => return status_response(status, Vec::new(), Body::from("ok")),
            Reply::WithHeaders(status, headers) => {
                return status_response(status, headers, Body::from(""));
            }
            Reply::Large(size) => {
                return status_response(200, Vec::new(), Body::from(vec![b'x'; size]));
            }
            Reply::Trickle(every) => {
                let stream = futures_util::stream::unfold((), move |()| async move {
                    tokio::time::sleep(every).await;
                    Some((Ok::<_, std::io::Error>(Bytes::from_static(b"x")), ()))
                });
                return status_response(200, Vec::new(), Body::from_stream(stream));
            }
        }
    }
}

fn status_response(
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Body,
) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    for (name, value) in headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// An attempt of `delivery` that ended with `outcome` and leads to `next`,
/// for moving a store's delivery to the state `next` names.
#[cfg(feature = "queue")]
pub fn attempt_of(
    delivery: &titan_webhooks::queue::ClaimedDelivery,
    outcome: titan_webhooks::retry::AttemptOutcome,
    next: titan_webhooks::retry::NextStep,
) -> titan_webhooks::queue::DeliveryAttempt {
    titan_webhooks::queue::DeliveryAttempt {
        sequence: None,
        key: delivery.key.clone(),
        attempt: delivery.next_attempt(),
        started_at: std::time::SystemTime::now(),
        latency: Duration::from_millis(1),
        outcome,
        response_body: Vec::new(),
        response_truncated: false,
        location: None,
        remote_ip: None,
        next,
        detail: None,
    }
}
