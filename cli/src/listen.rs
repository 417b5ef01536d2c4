//! `titan-webhooks listen`: a local receiver built on the library's
//! `Receiver` and its axum extractor.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, FromRequest as _, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde_json::Value;
use titan_webhooks::receiver::{
    IdempotencyLayer, MemoryIdempotencyStore, ReceiveError, Receiver, VerifiedWebhook,
};
use titan_webhooks::{Timestamp, Verifier};
use tokio::sync::Notify;

use crate::cli::ListenArgs;
use crate::error::{CliError, Outcome};
use crate::{output, secret};

/// The router's state: the library's receiver, and the tally.
#[derive(Clone)]
struct AppState {
    receiver: Arc<Receiver>,
    tally: Arc<Tally>,
}

impl FromRef<AppState> for Arc<Receiver> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.receiver)
    }
}

/// What has been received, and when to stop.
struct Tally {
    received: AtomicU64,
    verified: AtomicU64,
    duplicates: AtomicU64,
    rejected: AtomicU64,
    max: Option<u64>,
    done: Notify,
    json: bool,
    scheme: String,
}

/// Receives until Ctrl-C, SIGTERM or `--max-deliveries`, then prints the
/// count: exit 0 when every delivery verified, 1 when one was rejected.
pub fn run(args: &ListenArgs) -> Result<Outcome, CliError> {
    let scheme = args.scheme.scheme()?;
    if args.tolerance.is_some() && !scheme.is_timestamped() {
        output::warn(&format!(
            "--tolerance has no effect: {} signs no timestamp",
            scheme.name()
        ));
    }
    let (secret, _) = secret::load(&args.secret, &scheme)?;
    let mut verifier = Verifier::new(scheme.clone(), secret);
    if let Some(seconds) = args.tolerance {
        verifier = verifier.with_tolerance(Duration::from_secs(seconds));
    }
    let receiver = Receiver::new(verifier)
        .with_idempotency(MemoryIdempotencyStore::new())
        .with_body_limit(usize::try_from(args.max_body).unwrap_or(usize::MAX));
    let tally = Arc::new(Tally {
        received: AtomicU64::new(0),
        verified: AtomicU64::new(0),
        duplicates: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        max: args.max_deliveries,
        done: Notify::new(),
        json: args.json,
        scheme: scheme.name().to_owned(),
    });
    let state = AppState {
        receiver: Arc::new(receiver),
        tally: Arc::clone(&tally),
    };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| CliError::other(format!("cannot start the async runtime: {err}")))?;
    let address = SocketAddr::new(args.host, args.port);
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|err| CliError::other(format!("cannot listen on {address}: {err}")))?;
        let bound = listener
            .local_addr()
            .map_err(|err| CliError::other(format!("cannot listen on {address}: {err}")))?;
        if !args.host.is_loopback() {
            output::warn(&format!(
                "listening on {}, which other machines can reach",
                args.host
            ));
        }
        output::err(&format!(
            "Listening on http://{bound}/ for {} deliveries, any path. {}\n",
            scheme.name(),
            match args.max_deliveries {
                Some(max) => format!("Stopping after {max}, or on Ctrl-C."),
                None => "Press Ctrl-C to stop.".to_owned(),
            }
        ));
        let app = Router::new()
            .fallback(deliver)
            .layer(IdempotencyLayer::new())
            .with_state(state);
        let stop = Arc::clone(&tally);
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                tokio::select! {
                    () = stop.done.notified() => {}
                    () = interrupted() => {}
                }
            })
            .await
            .map_err(|err| CliError::other(format!("the receiver failed: {err}")))
    })?;

    let received = tally.received.load(Ordering::Relaxed);
    let rejected = tally.rejected.load(Ordering::Relaxed);
    output::err(&format!(
        "{received} {}: {} verified, {} duplicate, {rejected} rejected\n",
        if received == 1 {
            "delivery"
        } else {
            "deliveries"
        },
        tally.verified.load(Ordering::Relaxed),
        tally.duplicates.load(Ordering::Relaxed),
    ));
    Ok(if rejected == 0 {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// Ctrl-C, or SIGTERM on Unix.
async fn interrupted() {
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Every request, on any path.
async fn deliver(State(state): State<AppState>, request: Request) -> Response {
    if request.method() != Method::POST {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "POST")],
            "titan-webhooks listen: POST signed deliveries here\n",
        )
            .into_response();
    }
    let path = request.uri().path().to_owned();
    let result = VerifiedWebhook::<Value>::from_request(request, &state).await;
    let tally = &state.tally;
    let number = tally
        .received
        .fetch_add(1, Ordering::Relaxed)
        .saturating_add(1);
    let response = match result {
        Ok(webhook) => {
            tally.verified.fetch_add(1, Ordering::Relaxed);
            let signed_at = webhook.received().verified().signed_timestamp();
            print_delivery(tally, number, &path, &webhook, signed_at);
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "{\"received\":true}",
            )
                .into_response()
        }
        Err(rejection) if matches!(rejection.error(), ReceiveError::Duplicate { .. }) => {
            // Senders retry anything but a 2xx: a duplicate is acknowledged,
            // and not handled twice.
            tally.duplicates.fetch_add(1, Ordering::Relaxed);
            print_outcome(tally, number, &path, StatusCode::OK, "duplicate", None);
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "{\"received\":true,\"duplicate\":true}",
            )
                .into_response()
        }
        Err(rejection) => {
            tally.rejected.fetch_add(1, Ordering::Relaxed);
            let error = rejection.error();
            print_outcome(
                tally,
                number,
                &path,
                error.status(),
                "rejected",
                Some(error),
            );
            // The library's answer: its status and `{"error":"<code>"}`.
            rejection.into_response()
        }
    };
    if tally.max.is_some_and(|max| number >= max) {
        // Graceful: this response is still written before the server stops.
        tally.done.notify_one();
    }
    response
}

/// The fields of Titan's and Eventium's envelopes, whichever is present.
fn field<'a>(body: &'a Value, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|name| body.get(*name))
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn print_delivery(
    tally: &Tally,
    number: u64,
    path: &str,
    webhook: &VerifiedWebhook<Value>,
    signed_at: Option<u64>,
) {
    let body: &Value = webhook;
    let id = field(body, &["id"]);
    let event = field(body, &["event", "type"]);
    let session = field(body, &["session"]);
    let timestamp = field(body, &["timestamp", "created_at"]);
    let payload = field(body, &["payload", "data"]);
    if tally.json {
        let line = serde_json::json!({
            "delivery": number,
            "path": path,
            "status": 200,
            "result": "verified",
            "scheme": tally.scheme,
            "signed_timestamp": signed_at,
            "id": id,
            "event": event,
            "session": session,
            "payload": payload,
            "body": body,
        });
        output::out(&format!("{line}\n"));
        return;
    }
    let mut rows = Vec::new();
    if let Some(event) = event {
        rows.push(("event", output::paint(output::LABEL, as_text(event))));
    }
    if let Some(session) = session {
        rows.push(("session", as_text(session)));
    }
    if let Some(id) = id {
        rows.push(("id", as_text(id)));
    }
    if let Some(timestamp) = timestamp {
        rows.push(("timestamp", as_text(timestamp)));
    }
    if let Some(at) = signed_at {
        rows.push(("signed", at.to_string()));
    }
    let pretty =
        |value: &Value| serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    match payload {
        Some(payload) => rows.push(("payload", pretty(payload))),
        None => rows.push(("body", pretty(body))),
    }
    let head = heading(number, path, StatusCode::OK, "verified");
    output::out(&format!("{head}{}\n", output::aligned("    ", &rows)));
}

fn print_outcome(
    tally: &Tally,
    number: u64,
    path: &str,
    status: StatusCode,
    result: &str,
    error: Option<&ReceiveError>,
) {
    if tally.json {
        let line = serde_json::json!({
            "delivery": number,
            "path": path,
            "status": status.as_u16(),
            "result": result,
            "scheme": tally.scheme,
            "code": error.map(ReceiveError::code),
            "message": error.map(ToString::to_string),
        });
        output::out(&format!("{line}\n"));
        return;
    }
    let mut text = heading(number, path, status, result);
    if let Some(error) = error {
        text.push_str(&format!(
            "    {}: {error}\n",
            output::paint(output::ERROR, error.code())
        ));
    } else {
        text.push_str("    already received: acknowledged, not handled again\n");
    }
    output::out(&format!("{text}\n"));
}

fn heading(number: u64, path: &str, status: StatusCode, result: &str) -> String {
    let style = match result {
        "verified" => output::OK,
        "duplicate" => output::WARN,
        _ => output::ERROR,
    };
    format!(
        "{} {} POST {path} {} {}\n",
        output::paint(output::LABEL, format!("#{number}")),
        output::paint(output::DIM, Timestamp::now()),
        status.as_u16(),
        output::paint(style, result),
    )
}
