use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use titan_webhooks::receiver::{
    IdempotencyLayer, MemoryIdempotencyStore, Receiver, VerifiedWebhook,
};
use titan_webhooks::{Envelope, Scheme, Verifier};

async fn titan(webhook: VerifiedWebhook<Envelope>) -> StatusCode {
    println!("{} {}", webhook.received().id(), webhook.received().event());
    StatusCode::NO_CONTENT
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let verifier = Verifier::from_secret_str(Scheme::titan(), "your-secret-signing-key")?;
    let receiver = Receiver::new(verifier).with_idempotency(MemoryIdempotencyStore::new());
    let app = Router::new()
        .route("/webhooks/titan", post(titan))
        .layer(IdempotencyLayer::new())
        .with_state(Arc::new(receiver));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
