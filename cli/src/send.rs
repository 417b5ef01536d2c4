//! `titan-webhooks send`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use titan_webhooks::http::HeaderValue;
use titan_webhooks::{Catalog, Envelope, EventiumEnvelope, EventiumEvent, Signer, TitanEvent};

use crate::cli::SendArgs;
use crate::error::{CliError, Outcome, chain};
use crate::guard::{GuardedResolver, url_guard};
use crate::scheme::{Flavour, SchemeName};
use crate::sign::unix_now;
use crate::{output, secret};

const USER_AGENT: &str = concat!("titan-webhooks-cli/", env!("CARGO_PKG_VERSION"));

/// The most of a response body kept for printing.
const MAX_SHOWN_BODY: usize = 64 * 1024;

/// The most `--data-file` read.
const MAX_DATA_FILE: u64 = 10 * 1024 * 1024;

/// An envelope ready to send.
struct Prepared {
    id: String,
    body: Vec<u8>,
}

/// Sends one signed envelope and prints the answer: exit 0 on 2xx, 1 else.
pub fn run(args: &SendArgs) -> Result<Outcome, CliError> {
    let scheme = args.scheme.scheme()?;
    let data = read_data(args)?;
    let guard = Arc::new(url_guard(args.allow_private));
    let url = guard.check_str(&args.url).map_err(|err| {
        let error = CliError::other(format!("refused by the SSRF guard: {err}"));
        if args.allow_private {
            error
        } else {
            error.hint(
                "for a receiver on this machine or your network (titan-webhooks listen), \
                 add --allow-private",
            )
        }
    })?;
    warn_unknown_event(args.scheme, &args.event);
    let prepared = envelope(args, data)?;
    let (secret, _) = secret::load(&args.secret, &scheme)?;
    let headers = Signer::new(scheme.clone(), secret)
        .sign_at(&prepared.id, unix_now(), &prepared.body)
        .map_err(|err| CliError::other(format!("cannot sign the envelope: {err}")))?;

    let client = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(Duration::from_secs(args.timeout))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver::new(guard)))
        .build()
        .map_err(|err| CliError::other(format!("cannot build the HTTP client: {}", chain(&err))))?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| CliError::other(format!("cannot start the async runtime: {err}")))?;
    let started = Instant::now();
    let answer = runtime.block_on(async {
        let response = client
            .post(url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .headers(headers)
            .body(prepared.body.clone())
            .send()
            .await?;
        let status = response.status();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        let (body, truncated) = read_shown(response).await;
        Ok::<_, reqwest::Error>((status, location, body, truncated))
    });
    let elapsed = started.elapsed();
    let (status, location, body, truncated) = answer
        .map_err(|err| CliError::other(format!("could not deliver to {url}: {}", chain(&err))))?;

    let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    let body_text = String::from_utf8(body.clone()).ok();
    if args.json {
        let document = serde_json::json!({
            "url": url.as_str(),
            "scheme": scheme.name(),
            "envelope_id": prepared.id,
            "event": args.event,
            "status": status.as_u16(),
            "ok": status.is_success(),
            "elapsed_ms": elapsed_ms,
            "location": location,
            "response_body": body_text,
            "response_body_truncated": truncated,
        });
        output::out(&format!("{document}\n"));
    } else {
        let style = if status.is_success() {
            output::OK
        } else {
            output::ERROR
        };
        let mut rows = vec![
            ("status", output::paint(style, status)),
            ("time", format!("{elapsed_ms} ms")),
            (
                "envelope",
                format!("{} ({}, {})", prepared.id, args.event, scheme.name()),
            ),
        ];
        if let Some(location) = location {
            rows.push((
                "location",
                format!("{location} (redirects are not followed)"),
            ));
        }
        let shown = match &body_text {
            Some(text) if text.is_empty() => output::paint(output::DIM, "(empty)"),
            Some(text) => text.clone(),
            None => output::paint(output::DIM, format!("({} bytes, not UTF-8)", body.len())),
        };
        let shown = if truncated {
            format!("{shown}\n{}", output::paint(output::DIM, "(truncated)"))
        } else {
            shown
        };
        rows.push(("body", shown));
        output::out(&output::aligned("", &rows));
    }
    Ok(if status.is_success() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// The payload: `--data`, `--data-file`, or `{}`.
fn read_data(args: &SendArgs) -> Result<Value, CliError> {
    let (text, source) = match (&args.data, &args.data_file) {
        (Some(data), _) => (data.as_bytes().to_vec(), "--data".to_owned()),
        (None, Some(path)) => {
            use std::io::Read as _;
            let file = std::fs::File::open(path)
                .map_err(|err| CliError::other(format!("cannot read {}: {err}", path.display())))?;
            let mut bytes = Vec::new();
            file.take(MAX_DATA_FILE.saturating_add(1))
                .read_to_end(&mut bytes)
                .map_err(|err| CliError::other(format!("cannot read {}: {err}", path.display())))?;
            if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_DATA_FILE {
                return Err(CliError::other(format!(
                    "{} is larger than {}",
                    path.display(),
                    output::size(MAX_DATA_FILE)
                )));
            }
            (bytes, path.display().to_string())
        }
        (None, None) => return Ok(Value::Object(serde_json::Map::new())),
    };
    serde_json::from_slice(&text)
        .map_err(|err| CliError::usage(format!("{source} is not JSON: {err}")))
}

/// Warns about an event type the scheme's catalog does not know. It is
/// sent anyway: catalogs grow, and receivers must accept new types.
fn warn_unknown_event(scheme: SchemeName, event: &str) {
    let catalog = match scheme {
        SchemeName::Titan => Catalog::titan(),
        SchemeName::Eventium => Catalog::eventium(),
        SchemeName::Titanx => Catalog::titanx(),
        SchemeName::Github
        | SchemeName::Stripe
        | SchemeName::StandardWebhooks
        | SchemeName::Svix => {
            return;
        }
    };
    if let Err(err) = catalog.check(event) {
        output::warn(&err.to_string());
        output::hint(&format!(
            "the {} catalog does not list it; it is sent anyway, as receivers must accept \
             new event types",
            catalog.name()
        ));
    }
}

/// The envelope of the scheme's flavour, serialised.
fn envelope(args: &SendArgs, data: Value) -> Result<Prepared, CliError> {
    let serialise = |result: serde_json::Result<Vec<u8>>| {
        result.map_err(|err| CliError::other(format!("cannot serialise the envelope: {err}")))
    };
    match args.scheme.flavour() {
        Flavour::Eventium => {
            if args.session.is_some() {
                return Err(CliError::usage(
                    "--session: Eventium envelopes have no session",
                ));
            }
            let envelope = EventiumEnvelope::new(EventiumEvent::from(args.event.as_str()), data);
            Ok(Prepared {
                id: envelope.id().to_owned(),
                body: serialise(serde_json::to_vec(&envelope))?,
            })
        }
        Flavour::Titan => {
            let session = args.session.as_deref().unwrap_or("default");
            let envelope = Envelope::new(TitanEvent::from(args.event.as_str()), session, data);
            Ok(Prepared {
                id: envelope.id().to_owned(),
                body: serialise(serde_json::to_vec(&envelope))?,
            })
        }
    }
}

/// Reads up to [`MAX_SHOWN_BODY`] of the response; whether there was more.
async fn read_shown(mut response: reqwest::Response) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_SHOWN_BODY.saturating_sub(body.len());
        if chunk.len() > room {
            body.extend_from_slice(chunk.get(..room).unwrap_or_default());
            return (body, true);
        }
        body.extend_from_slice(&chunk);
    }
    (body, false)
}
