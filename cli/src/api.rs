//! What `webhooks` and `deliveries` share: the client, built from the
//! command line and TITAN_WEBHOOKS_TOKEN, a runtime to drive it, and the
//! client's errors as the command's.

use std::future::Future;
use std::time::Duration;

use titan_webhooks::client::{BearerToken, Client, ClientError};
use titan_webhooks::http::StatusCode;

use crate::cli::{ApiArgs, ApiFlavour};
use crate::error::{CliError, chain};
use crate::output;

/// The token's environment variable. Never an argument.
pub const TOKEN_VAR: &str = "TITAN_WEBHOOKS_TOKEN";
/// The base URL's environment variable, when `--base-url` is not given.
pub const URL_VAR: &str = "TITAN_WEBHOOKS_URL";

/// The client for `args`, the flavour (or `default`), and a runtime.
pub struct Api {
    pub client: Client,
    pub flavour: ApiFlavour,
    pub json: bool,
    base_url: String,
    runtime: tokio::runtime::Runtime,
}

impl Api {
    /// Reads the base URL and the token and builds the client.
    pub fn new(args: &ApiArgs, default: ApiFlavour) -> Result<Self, CliError> {
        let base_url = match &args.base_url {
            Some(url) => url.clone(),
            None => std::env::var(URL_VAR)
                .ok()
                .filter(|url| !url.is_empty())
                .ok_or_else(|| {
                    CliError::usage(format!("no API: pass --base-url URL or set {URL_VAR}"))
                })?,
        };
        let token = BearerToken::from_env(TOKEN_VAR).map_err(|err| {
            CliError::other(reason(&err)).hint(format!(
                "export {TOKEN_VAR} with the API's bearer token; tokens are never taken \
                     as arguments, which shell history and process lists show"
            ))
        })?;
        let client = Client::builder(&base_url, token)
            .timeout(Duration::from_secs(args.timeout))
            .allow_http(args.allow_http)
            .user_agent(concat!("titan-webhooks-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| {
                let error = CliError::usage(format!("--base-url: {}", reason(&err)));
                if base_url.starts_with("http:") && !args.allow_http {
                    error.hint("--allow-http sends it over plain http all the same")
                } else {
                    error
                }
            })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| CliError::other(format!("cannot start the async runtime: {err}")))?;
        Ok(Self {
            client,
            flavour: args.flavour.unwrap_or(default),
            json: args.json,
            base_url,
            runtime,
        })
    }

    /// Runs `call` to its end, and turns its error into the command's.
    pub fn run<T>(
        &self,
        call: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T, CliError> {
        self.runtime.block_on(call).map_err(|err| self.error(&err))
    }

    /// Prints `value` as JSON on stdout.
    pub fn print_json(&self, value: &impl serde::Serialize) -> Result<(), CliError> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|err| CliError::other(format!("cannot write JSON: {err}")))?;
        output::out(&format!("{text}\n"));
        Ok(())
    }

    /// A usage error for an operation `flavour` does not have.
    pub fn unsupported(&self, what: &str, hint: &str) -> CliError {
        CliError::usage(format!(
            "{what} is not part of {}'s API",
            flavour_name(self.flavour)
        ))
        .hint(hint.to_owned())
    }

    /// The client's error as the command's: exit 1 for the API's own
    /// answer, 2 for a configuration problem, 3 for the rest.
    fn error(&self, err: &ClientError) -> CliError {
        match err {
            ClientError::Api {
                status,
                code,
                message,
                field,
                retry_after,
            } => {
                let mut text = format!("{message} ({}", status_text(*status));
                if let Some(field) = field {
                    text.push_str(&format!(", field `{field}`"));
                }
                text.push(')');
                let error = CliError::failed(Some(code.clone()), text);
                self.hints(error, *status, *retry_after, true)
            }
            ClientError::Status {
                status,
                retry_after,
                ..
            } => {
                let error = CliError::failed(None, err.to_string());
                self.hints(error, *status, *retry_after, false)
            }
            ClientError::Config { .. } => CliError::usage(reason(err)),
            ClientError::Connect { .. } => CliError::other(chain(err))
                .hint(format!("is the API running at {}?", self.base_url)),
            ClientError::Timeout { .. } => {
                CliError::other(chain(err)).hint("--timeout SECONDS allows longer")
            }
            _ => CliError::other(chain(err)),
        }
    }

    /// Hints for an error answer; `api` when it had the API's error body.
    fn hints(
        &self,
        error: CliError,
        status: StatusCode,
        retry_after: Option<Duration>,
        api: bool,
    ) -> CliError {
        let error = match retry_after {
            Some(wait) => error.hint(format!(
                "the server asks to try again in {}",
                output::duration(wait.as_secs())
            )),
            None => error,
        };
        match status {
            StatusCode::UNAUTHORIZED => error.hint(format!("check the token in {TOKEN_VAR}")),
            StatusCode::FORBIDDEN => error.hint("the token needs the `webhooks:manage` scope"),
            // The API's own 404 is about the id; a bare one, about the route.
            StatusCode::NOT_FOUND if api => error,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => error.hint(format!(
                "is this {}'s API? --flavour titan, eventium or titanx picks the routes",
                flavour_name(self.flavour)
            )),
            _ => error,
        }
    }
}

/// A [`ClientError::Config`]'s reason alone.
fn reason(err: &ClientError) -> String {
    match err {
        ClientError::Config { reason } => reason.clone(),
        other => other.to_string(),
    }
}

/// `404 Not Found`.
pub fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// The flavour's name, as `--flavour` takes it.
pub fn flavour_name(flavour: ApiFlavour) -> &'static str {
    match flavour {
        ApiFlavour::Titan => "titan",
        ApiFlavour::Eventium => "eventium",
        ApiFlavour::Titanx => "titanx",
    }
}

/// An Eventium id: a positive integer.
pub fn numeric_id(text: &str, what: &str) -> Result<u64, CliError> {
    text.parse::<u64>()
        .ok()
        .filter(|id| *id > 0 && text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| CliError::usage(format!("{what} `{text}` is not a positive integer")))
}

/// A list of event types for people: `*` for every event.
pub fn events_text<T: std::fmt::Display>(events: &[T]) -> String {
    if events.is_empty() {
        "*".to_owned()
    } else {
        events
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `yes` or `no`.
pub fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive_integers() {
        assert_eq!(numeric_id("42", "id").unwrap(), 42);
        assert!(numeric_id("0", "id").is_err());
        assert!(numeric_id("+4", "id").is_err());
        assert!(numeric_id("abc", "id").is_err());
    }

    #[test]
    fn events_read_well() {
        assert_eq!(events_text::<&str>(&[]), "*");
        assert_eq!(events_text(&["a", "b"]), "a, b");
    }
}
