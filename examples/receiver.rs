//! A standalone receiver: an axum server that verifies Titan and Eventium
//! deliveries and prints the events it accepts.
//!
//! ```sh
//! TITAN_WEBHOOK_SECRET=... EVENTIUM_WEBHOOK_SECRET=... \
//!     cargo run --example receiver --features axum
//! ```
//!
//! - `TITAN_WEBHOOK_SECRET`: the webhook's `hmacKey`; routes `POST /webhooks/titan`.
//! - `EVENTIUM_WEBHOOK_SECRET`: the endpoint secret; routes `POST /webhooks/eventium`.
//! - `BIND`: the address to listen on, `127.0.0.1:3000` by default.
//!
//! A route whose secret is unset is not mounted. Try it with a Titan delivery
//! signed by hand:
//!
//! ```sh
//! body='{"id":"evt_1","event":"message.received","session":"s","timestamp":"2026-11-22T10:00:00Z","payload":{}}'
//! sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$TITAN_WEBHOOK_SECRET" -hex | sed 's/.* //')
//! curl -i localhost:3000/webhooks/titan -H "X-Webhook-Signature: sha256=$sig" -d "$body"
//! ```

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use titan_webhooks::receiver::{
    IdempotencyLayer, MemoryIdempotencyStore, Receiver, VerifiedWebhook,
};
use titan_webhooks::{Envelope, EventiumEnvelope, Scheme, Verifier};

const DEFAULT_BIND: &str = "127.0.0.1:3000";

async fn titan(webhook: VerifiedWebhook<Envelope>) -> StatusCode {
    let envelope = webhook.received();
    println!(
        "titan    {} `{}` session `{}` at {}: {}",
        envelope.id(),
        envelope.event(),
        envelope.session(),
        envelope.timestamp(),
        envelope.payload()
    );
    StatusCode::NO_CONTENT
}

async fn eventium(webhook: VerifiedWebhook<EventiumEnvelope>) -> StatusCode {
    let envelope = webhook.received();
    println!(
        "eventium {} `{}` at {}: {:?}",
        envelope.id(),
        envelope.event(),
        envelope.created_at(),
        envelope.typed_data()
    );
    StatusCode::NO_CONTENT
}

/// A receiver for `scheme`, keyed by the secret in `variable`, if it is set.
fn receiver_from_env(
    variable: &str,
    scheme: Scheme,
) -> Result<Option<Arc<Receiver>>, Box<dyn std::error::Error>> {
    let Ok(secret) = std::env::var(variable) else {
        return Ok(None);
    };
    // The scheme reads its own secret format.
    let verifier =
        Verifier::from_secret_str(scheme, &secret).map_err(|err| format!("{variable}: {err}"))?;
    let receiver = Receiver::new(verifier).with_idempotency(MemoryIdempotencyStore::new());
    Ok(Some(Arc::new(receiver)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut app = Router::new();
    let mut mounted = Vec::new();
    if let Some(receiver) = receiver_from_env("TITAN_WEBHOOK_SECRET", Scheme::titan())? {
        app = app.merge(
            Router::new()
                .route("/webhooks/titan", post(titan))
                .layer(IdempotencyLayer::new())
                .with_state(receiver),
        );
        mounted.push("POST /webhooks/titan");
    }
    if let Some(receiver) = receiver_from_env("EVENTIUM_WEBHOOK_SECRET", Scheme::eventium())? {
        app = app.merge(
            Router::new()
                .route("/webhooks/eventium", post(eventium))
                .layer(IdempotencyLayer::new())
                .with_state(receiver),
        );
        mounted.push("POST /webhooks/eventium");
    }
    if mounted.is_empty() {
        return Err(
            "set TITAN_WEBHOOK_SECRET and/or EVENTIUM_WEBHOOK_SECRET (see the example's docs)"
                .into(),
        );
    }

    let bind = std::env::var("BIND").unwrap_or_else(|_| DEFAULT_BIND.to_owned());
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|err| format!("bind {bind}: {err}"))?;
    println!(
        "listening on http://{} for {}",
        listener.local_addr()?,
        mounted.join(", ")
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
