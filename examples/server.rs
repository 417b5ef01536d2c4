//! A complete sender service: the SQLite store, the management API for
//! Titan, Eventium and TitanX webhooks, and the dispatcher that delivers.
//!
//! ```text
//! cargo run --example server --features server,sqlite
//! ```
//!
//! - Listens on `127.0.0.1:8080`, or `TITAN_WEBHOOKS_ADDR`.
//! - Accepts the bearer token in `TITAN_WEBHOOKS_TOKEN`, or a generated one
//!   printed at start, for the tenant `TITAN_WEBHOOKS_OWNER` (`dev`).
//! - Keeps its data in `TITAN_WEBHOOKS_DB` (`titan-webhooks.db`). Secrets in
//!   it are sealed with the key in `TITAN_WEBHOOKS_KEY`; without one, a
//!   development key is created beside the database on the first run.
//! - `TITAN_WEBHOOKS_ALLOW_LOOPBACK=1` lets webhooks point at this machine
//!   over plain http, for trying deliveries locally. Leave it unset anywhere
//!   else.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use titan_webhooks::UrlGuard;
use titan_webhooks::server::{BearerTokens, MANAGE_SCOPE, ManagementApi, OPENAPI_PATH, Principal};
use titan_webhooks::store::SqliteStore;
use titan_webhooks::transport::Dispatcher;
use titan_webhooks::webhooks::{HealthPolicy, Keyring, Owner, SealingKey, WebhookStore};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let addr: SocketAddr = env_or("TITAN_WEBHOOKS_ADDR", "127.0.0.1:8080")
        .parse()
        .map_err(|err| format!("TITAN_WEBHOOKS_ADDR is not a socket address: {err}"))?;
    let db = PathBuf::from(env_or("TITAN_WEBHOOKS_DB", "titan-webhooks.db"));
    let owner = Owner::new(env_or("TITAN_WEBHOOKS_OWNER", "dev"))?;
    let guard = if std::env::var("TITAN_WEBHOOKS_ALLOW_LOOPBACK").as_deref() == Ok("1") {
        println!("warning: webhooks may point at this machine (TITAN_WEBHOOKS_ALLOW_LOOPBACK=1)");
        UrlGuard::new()
            .allow_loopback_for_testing()
            .allow_http_for_testing()
    } else {
        UrlGuard::new()
    };

    let key = sealing_key(&db)?;
    let queue = SqliteStore::open(&db).await?;
    let webhooks = WebhookStore::builder(queue.webhooks(), Keyring::new(key))
        .guard(guard.clone())
        .open()
        .await?;
    let subscriptions = Arc::new(webhooks.subscriptions(HealthPolicy::default()));
    let dispatcher = Dispatcher::builder(queue, subscriptions)
        .guard(guard)
        .build()?;

    let token = match std::env::var("TITAN_WEBHOOKS_TOKEN") {
        Ok(token) if !token.is_empty() => token,
        _ => {
            let token = generate_token()?;
            println!("bearer token for `{}`: {token}", owner.as_str());
            println!("  (set TITAN_WEBHOOKS_TOKEN to choose your own)");
            token
        }
    };
    let tokens =
        BearerTokens::new().with_token(&token, Principal::new(owner).with_scope(MANAGE_SCOPE));
    let app = ManagementApi::new(webhooks, dispatcher.clone(), tokens).router();

    let running = dispatcher.start();
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    println!(
        "  OpenAPI document: http://{}{OPENAPI_PATH}",
        listener.local_addr()?
    );
    println!("  data: {}", db.display());
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    let report = running.shutdown(Duration::from_secs(10)).await?;
    println!(
        "stopped: {} attempts finished, {} deliveries still open",
        report.finished,
        report.open.len()
    );
    Ok(())
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// The key secrets are sealed with: `TITAN_WEBHOOKS_KEY`, else a
/// development key kept beside the database, made on the first run.
fn sealing_key(db: &Path) -> Result<SealingKey, Error> {
    if std::env::var_os("TITAN_WEBHOOKS_KEY").is_some() {
        return Ok(SealingKey::from_env("TITAN_WEBHOOKS_KEY")?);
    }
    let mut path = db.as_os_str().to_owned();
    path.push(".key");
    let path = PathBuf::from(path);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(SealingKey::parse(text.trim())?),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let key = SealingKey::generate(1)?;
            write_private(&path, key.to_text().as_bytes())?;
            println!(
                "created a development sealing key in {}; in production, set TITAN_WEBHOOKS_KEY instead",
                path.display()
            );
            Ok(key)
        }
        Err(err) => Err(format!("cannot read {}: {err}", path.display()).into()),
    }
}

/// Writes `bytes` to a new file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

fn generate_token() -> Result<String, Error> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|err| format!("the random source failed: {err}"))?;
    Ok(format!(
        "twk_dev_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}
