//! `titan-webhooks verify`.

use std::time::Duration;

use titan_webhooks::http::HeaderMap;
use titan_webhooks::{Scheme, Secret, Timestamp, Verifier};

use crate::cli::VerifyArgs;
use crate::error::{CliError, Outcome};
use crate::explain::{self, Context};
use crate::sign::unix_now;
use crate::{body, output, secret};

/// The library's verifier, with `--tolerance` when given.
pub fn verifier(scheme: Scheme, secret: Secret, tolerance: Option<u64>) -> Verifier {
    let verifier = Verifier::new(scheme, secret);
    match tolerance {
        Some(seconds) => verifier.with_tolerance(Duration::from_secs(seconds)),
        None => verifier,
    }
}

/// Verifies the headers against the body: exit 0 when valid, 1 when not.
pub fn run(args: &VerifyArgs) -> Result<Outcome, CliError> {
    let scheme = args.scheme.scheme()?;
    if args.tolerance.is_some() && !scheme.is_timestamped() {
        output::warn(&format!(
            "--tolerance has no effect: {} signs no timestamp",
            scheme.name()
        ));
    }
    let body = body::read(&args.body)?;
    let (secret, secret_text) = secret::load(&args.secret, &scheme)?;
    let mut headers = HeaderMap::new();
    for (name, value) in &args.headers {
        // Appended, not inserted: a repeated header is the library's to judge.
        headers.append(name.clone(), value.clone());
    }

    let now = unix_now();
    let result = verifier(scheme.clone(), secret, args.tolerance).verify_at(&headers, &body, now);
    match result {
        Ok(verified) => {
            let signed_at = verified.signed_timestamp();
            if args.json {
                let document = serde_json::json!({
                    "valid": true,
                    "scheme": scheme.name(),
                    "signed_timestamp": signed_at,
                });
                output::out(&format!("{document}\n"));
            } else {
                let when = signed_at.map_or_else(String::new, |at| describe_signed_at(at, now));
                output::out(&format!(
                    "{}: the {} signature matches the body{when}\n",
                    output::paint(output::OK, "valid"),
                    scheme.name()
                ));
            }
            Ok(Outcome::Success)
        }
        Err(err) => {
            let hints = if args.explain {
                explain::hints(
                    &err,
                    &Context {
                        scheme: &scheme,
                        secret_text: &secret_text,
                        headers: &headers,
                        body: &body,
                        tolerance: args.tolerance,
                        now,
                    },
                )
            } else {
                Vec::new()
            };
            output::error(Some(err.code()), &err.to_string());
            for hint in &hints {
                output::hint(hint);
            }
            if !args.explain {
                output::err("run again with --explain for the usual causes\n");
            }
            if args.json {
                let document = serde_json::json!({
                    "valid": false,
                    "scheme": scheme.name(),
                    "code": err.code(),
                    "message": err.to_string(),
                    "hints": hints,
                });
                output::out(&format!("{document}\n"));
            }
            Ok(Outcome::Failed)
        }
    }
}

fn describe_signed_at(at: u64, now: u64) -> String {
    let time = i64::try_from(at)
        .ok()
        .and_then(|at| Timestamp::from_unix_seconds(at).ok())
        .map_or_else(|| at.to_string(), |time| time.to_string());
    let relative = if at <= now {
        format!("{} ago", output::duration(now.saturating_sub(at)))
    } else {
        format!("{} in the future", output::duration(at.saturating_sub(now)))
    };
    format!(", signed at {time} ({relative})")
}
