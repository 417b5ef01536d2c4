//! `titan-webhooks sign`.

use std::time::{SystemTime, UNIX_EPOCH};

use titan_webhooks::http::HeaderMap;
use titan_webhooks::{Scheme, Signer};

use crate::cli::SignArgs;
use crate::error::{CliError, Outcome};
use crate::{body, output, secret};

/// Signs the body and prints the headers.
pub fn run(args: &SignArgs) -> Result<Outcome, CliError> {
    let scheme = args.scheme.scheme()?;
    if args.timestamp.is_some() && !scheme.is_timestamped() {
        return Err(CliError::usage(format!(
            "--timestamp: {} signs no timestamp",
            scheme.name()
        )));
    }
    if args.id.is_some() && scheme.id_header().is_none() {
        return Err(CliError::usage(format!(
            "--id: {} signs no message id",
            scheme.name()
        )));
    }
    let body = body::read(&args.body)?;
    let (secret, _) = secret::load(&args.secret, &scheme)?;
    let signer = Signer::new(scheme.clone(), secret);
    let headers = if args.timestamp.is_none() && args.id.is_none() {
        signer.sign(&body)
    } else {
        let timestamp = args.timestamp.unwrap_or_else(unix_now);
        let id = args.id.clone().unwrap_or_else(new_message_id);
        signer
            .sign_at(&id, timestamp, &body)
            .map_err(|err| CliError::usage(format!("--id: {err}")))?
    };
    output::out(&render(&scheme, &headers, args.json));
    Ok(Outcome::Success)
}

/// The headers as `Name: value` lines in the scheme's order, or as JSON.
fn render(scheme: &Scheme, headers: &HeaderMap, json: bool) -> String {
    let pairs = scheme.headers().filter_map(|name| {
        let value = headers.get(name)?.to_str().ok()?;
        Some((name.as_str(), value))
    });
    if json {
        let headers: serde_json::Map<String, serde_json::Value> = pairs
            .map(|(name, value)| (name.to_owned(), value.into()))
            .collect();
        let document = serde_json::json!({ "scheme": scheme.name(), "headers": headers });
        format!("{document}\n")
    } else {
        pairs
            .map(|(name, value)| format!("{}: {value}\n", output::paint(output::LABEL, name)))
            .collect()
    }
}

/// Seconds since the Unix epoch; 0 if the clock is before it.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// A fresh `msg_…` id, as the library makes for Standard Webhooks.
fn new_message_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}
