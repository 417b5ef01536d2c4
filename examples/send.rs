//! Delivers one Titan event to a URL and prints each attempt.
//!
//! ```sh
//! cargo run --example send --features reqwest -- https://example.com/webhooks
//! cargo run --example send --features reqwest -- --allow-local http://127.0.0.1:8080/hook
//! ```
//!
//! The SSRF guard refuses local and private targets unless `--allow-local`
//! is given, which allows loopback addresses and plain http. The signing key
//! is generated and printed, so the receiver can verify the delivery.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use titan_webhooks::queue::{MemoryStore, Subscription, SubscriptionRegistry};
use titan_webhooks::retry::RetrySchedule;
use titan_webhooks::retry::{AttemptOutcome, NextStep};
use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
use titan_webhooks::transport::{DeliveryEvent, Dispatcher};
use titan_webhooks::{Envelope, Scheme, TitanEvent, UrlGuard};

const USAGE: &str = "usage: send [--allow-local] <url>";

#[tokio::main]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let allow_local = args.iter().any(|arg| arg == "--allow-local");
    args.retain(|arg| arg != "--allow-local");
    let [url] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let guard = if allow_local {
        UrlGuard::new()
            .allow_loopback_for_testing()
            .allow_http_for_testing()
    } else {
        UrlGuard::new()
    };

    let created =
        match WebhookRules::new(guard.clone()).create(1.into(), CreateWebhook::new(url.as_str())) {
            Ok(created) => created,
            Err(err) => {
                eprintln!("refused: {err}");
                return ExitCode::FAILURE;
            }
        };
    println!(
        "X-Webhook-Signature key (hmacKey): {}",
        created.hmac_key().expose()
    );
    let (webhook, secret) = created.into_parts();
    let registry = Arc::new(SubscriptionRegistry::new());
    let schedule = RetrySchedule::explicit([1, 2, 4].map(Duration::from_secs)).unwrap_or_default();
    registry.upsert(Subscription::new(webhook, Scheme::titan(), secret).with_schedule(schedule));

    let (observer, mut events) = tokio::sync::mpsc::unbounded_channel();
    let dispatcher = match Dispatcher::builder(MemoryStore::new(), registry)
        .guard(guard)
        .observer(observer)
        .build()
    {
        Ok(dispatcher) => dispatcher,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::FAILURE;
        }
    };
    let running = dispatcher.start();
    let envelope = Envelope::new(
        TitanEvent::MessageReceived,
        "default",
        serde_json::json!({"from": "example", "text": "Hello from titan-webhooks"}),
    );
    println!("sending {} to {url}", envelope.id());
    if let Err(err) = dispatcher.dispatch(&envelope).await {
        eprintln!("{err}");
        return ExitCode::FAILURE;
    }

    let mut delivered = false;
    while let Some(event) = events.recv().await {
        let DeliveryEvent::Attempted(attempt) = event else {
            continue;
        };
        let outcome = match attempt.outcome {
            AttemptOutcome::Status(status) => format!("HTTP {status}"),
            AttemptOutcome::Failed(kind) => format!("failed ({kind})"),
        };
        let remote = attempt
            .remote_ip
            .map(|ip| format!(" from {ip}"))
            .unwrap_or_default();
        let detail = attempt
            .detail
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        println!(
            "attempt {}: {outcome}{remote} in {} ms{detail}",
            attempt.attempt,
            attempt.latency.as_millis()
        );
        match attempt.next {
            NextStep::RetryAt(at) => {
                let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
                println!("  next attempt in {:.1} s", wait.as_secs_f64());
            }
            NextStep::Succeeded => {
                delivered = true;
                break;
            }
            NextStep::GaveUp => {
                println!("  giving up");
                break;
            }
            NextStep::Disabled => {
                println!("  the endpoint answered 410 Gone: disable the webhook");
                break;
            }
        }
    }
    if let Err(err) = running.shutdown(Duration::from_secs(5)).await {
        eprintln!("{err}");
    }
    if delivered {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
