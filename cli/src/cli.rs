//! The command line: what each command takes, with examples in `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use titan_webhooks::http::{HeaderName, HeaderValue};

use crate::body::{DEFAULT_MAX_BODY_TEXT, parse_size};
use crate::scheme::SchemeName;

/// The exit codes, shared by the top-level help.
macro_rules! exit_codes {
    () => {
        "\
Exit codes:
  0  success
  1  the signature is invalid (verify), a delivery was rejected (listen),
     the receiver answered with a non-2xx status (send), or the management
     API answered with an error (webhooks, deliveries)
  2  usage error: a missing or malformed option
  3  any other error: reading a file or stdin, the secret or token, a body
     over --max-body, the network, a timeout, an answer that is not the
     API's JSON, or a URL refused by the SSRF guard"
    };
}

const ABOUT: &str = "Sign, verify, receive and send signed webhooks \
(Titan, TitanX, Eventium, GitHub, Stripe, Standard Webhooks, Svix), and \
manage them through a provider's API.";

const LONG_ABOUT: &str = "\
Sign, verify, receive and send signed webhooks (Titan, TitanX, Eventium, \
GitHub, Stripe, Standard Webhooks, Svix), and manage them through a \
provider's management API, with the titan-webhooks library.

Secrets never come from the command line, where shell history and process \
lists would show them: use --secret-env VAR or --secret-file PATH, or type \
the secret at the hidden prompt when stdin is a terminal. The management \
API's bearer token comes from TITAN_WEBHOOKS_TOKEN.";

const TOP_AFTER_HELP: &str = concat!(
    "\
Examples:
  titan-webhooks sign --scheme titan --secret-file hmac.key --body-file body.json
  titan-webhooks verify --scheme titan --secret-file hmac.key --body-file body.json \\
      --header 'X-Webhook-Signature: sha256=…' --explain
  titan-webhooks listen --scheme titan --secret-file hmac.key --port 3000
  titan-webhooks send http://127.0.0.1:3000/ --allow-private --scheme titan \\
      --secret-file hmac.key --event message.received --data '{\"text\":\"hi\"}'
  titan-webhooks webhooks list --base-url https://api.titan.example  # token in TITAN_WEBHOOKS_TOKEN

",
    exit_codes!()
);

/// Sign, verify, receive and send signed webhooks.
#[derive(Debug, Parser)]
#[command(
    name = "titan-webhooks",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = TOP_AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    /// When to colour the output: on a terminal only (`auto`), `always` or
    /// `never`. `NO_COLOR` set in the environment also turns it off.
    #[arg(
        long,
        value_enum,
        default_value_t = ColorWhen::Auto,
        global = true,
        hide_possible_values = true,
        display_order = 100
    )]
    pub color: ColorWhen,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// When to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Only when writing to a terminal, and `NO_COLOR` is not set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl ColorWhen {
    /// Makes stdout and stderr follow this choice.
    pub fn apply(self) {
        let choice = match self {
            Self::Auto => anstream::ColorChoice::Auto,
            Self::Always => anstream::ColorChoice::Always,
            Self::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign a body and print the signature headers (`Name: value` lines).
    #[command(after_help = SIGN_AFTER_HELP)]
    Sign(SignArgs),
    /// Check a delivery's signature headers against its body.
    #[command(after_help = VERIFY_AFTER_HELP)]
    Verify(VerifyArgs),
    /// Receive webhooks locally: verify and print each delivery.
    #[command(after_help = LISTEN_AFTER_HELP)]
    Listen(ListenArgs),
    /// Send one signed test envelope to a URL.
    #[command(after_help = SEND_AFTER_HELP)]
    Send(SendArgs),
    /// Manage webhooks through a provider's management API.
    #[command(after_help = WEBHOOKS_AFTER_HELP)]
    Webhooks(WebhooksArgs),
    /// List deliveries and redeliver them (Eventium's management API).
    #[command(after_help = DELIVERIES_AFTER_HELP)]
    Deliveries(DeliveriesArgs),
}

const SIGN_AFTER_HELP: &str = "\
Examples:
  # Titan: X-Webhook-Signature: sha256=<hex> of the raw body.
  titan-webhooks sign --scheme titan --secret-file hmac.key --body-file body.json

  # A body on stdin, a secret in an environment variable, JSON out.
  printf '%s' '{\"type\":\"webhook.test\",\"data\":{}}' |
      titan-webhooks sign --scheme eventium --secret-env EVENTIUM_SECRET --json

  # Reproducible: a fixed timestamp and message id.
  titan-webhooks sign --scheme standard-webhooks --secret-env WEBHOOK_SECRET \\
      --timestamp 1700000000 --id msg_1 --body-file body.json

Exit codes: 0 signed, 2 usage error, 3 I/O or secret error.";

const VERIFY_AFTER_HELP: &str = "\
Examples:
  titan-webhooks verify --scheme titan --secret-file hmac.key --body-file body.json \\
      --header 'X-Webhook-Signature: sha256=994f667d…'

  # Why does it fail? Hints for the usual mistakes.
  titan-webhooks verify --scheme stripe --secret-env STRIPE_SECRET --body-file event.json \\
      --header 'Stripe-Signature: t=1700000000,v1=…' --tolerance 600 --explain

Exit codes: 0 valid; 1 invalid, with the library's error code (missing_header,
malformed_header, too_many_signatures, timestamp_out_of_tolerance,
signature_mismatch) and a sentence on stderr; 2 usage error (for example a
--header without a colon); 3 I/O or secret error.";

const LISTEN_AFTER_HELP: &str = "\
Examples:
  titan-webhooks listen --scheme titan --secret-file hmac.key --port 3000

  # One JSON line per delivery, stop after the first.
  titan-webhooks listen --scheme eventium --secret-env EVENTIUM_SECRET \\
      --json --max-deliveries 1

Every path is accepted. A verified delivery is answered 200, a repeated one
200 and marked duplicate (senders retry anything else), a refused one with
the library's status (401, 400, 413) and {\"error\":\"<code>\"}.

Exit codes: 0 stopped and every delivery verified; 1 at least one delivery
was rejected; 2 usage error; 3 the port could not be opened, or a secret
or other error.";

const SEND_AFTER_HELP: &str = "\
Examples:
  # To a local receiver (titan-webhooks listen): loopback needs --allow-private.
  titan-webhooks send http://127.0.0.1:3000/ --allow-private --scheme titan \\
      --secret-file hmac.key --event message.received --data '{\"text\":\"hi\"}'

  titan-webhooks send https://example.com/eventium/webhooks --scheme eventium \\
      --secret-env EVENTIUM_SECRET --event webhook.test --data '{\"hello\":\"world\"}'

The envelope follows the scheme: Eventium's {id, type, created_at, data} for
eventium; Titan's {id, event, session, timestamp, payload} for the others.

Exit codes: 0 the receiver answered 2xx; 1 it answered anything else;
2 usage error (for example --data that is not JSON); 3 the URL was refused
by the SSRF guard, or a network, secret or other error.";

/// Exit codes of the API commands.
macro_rules! api_exit_codes {
    () => {
        "Exit codes: 0 done; 1 the API answered with an error, printed as
error[<code>] with the server's stable code; 2 usage error (a missing
--base-url, an option the flavour does not take); 3 no token, the network,
a timeout, or an answer that is not the API's JSON."
    };
}

/// Where the API commands find the token and the base URL.
macro_rules! api_env {
    () => {
        "\
The bearer token is read from TITAN_WEBHOOKS_TOKEN, never from an argument.
The base URL is --base-url, or TITAN_WEBHOOKS_URL."
    };
}

const WEBHOOKS_AFTER_HELP: &str = concat!(
    "\
Examples:
  # TITAN_WEBHOOKS_TOKEN holds the token (from your secret store, not typed here).
  export TITAN_WEBHOOKS_URL=https://api.titan.example

  # Titan (the default flavour): create, list, change, delete.
  titan-webhooks webhooks create --url https://myapp.example/webhooks/titan \\
      --event message.received --event session.status --label 'My Webhook'
  titan-webhooks webhooks list
  titan-webhooks webhooks update 42 --disable
  titan-webhooks webhooks delete 42

  # Eventium: endpoints, a test event, a new secret.
  titan-webhooks webhooks --flavour eventium create --url https://example.com/eventium/webhooks
  titan-webhooks webhooks --flavour eventium test --event webhook.test --data '{\"hello\":\"world\"}'
  titan-webhooks webhooks --flavour eventium rotate 7 --grace 3600

  # TitanX, for a script.
  titan-webhooks webhooks --flavour titanx list --json

The signing key or secret a create (or rotate) answers with is shown only
then: the command prints it once, and it cannot be fetched again.

",
    api_env!(),
    "\n\n",
    api_exit_codes!()
);

const DELIVERIES_AFTER_HELP: &str = concat!(
    "\
Examples:
  titan-webhooks deliveries list --status retry
  titan-webhooks deliveries list --endpoint 7 --limit 50 --json
  titan-webhooks deliveries redeliver 120

Deliveries are Eventium's API (seed 003); --flavour defaults to eventium.

",
    api_env!(),
    "\n\n",
    api_exit_codes!()
);

/// Which management API, and where: shared by `webhooks` and
/// `deliveries`, before or after their subcommand.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// The API's flavour: titan (`/api/webhooks`), eventium
    /// (`/api/webhooks/endpoints`) or titanx (`/api/public/v2/webhooks`).
    /// Defaults to titan for `webhooks` and eventium for `deliveries`.
    #[arg(long, value_enum, global = true)]
    pub flavour: Option<ApiFlavour>,

    /// The API's base URL, for example `https://api.titan.example`;
    /// TITAN_WEBHOOKS_URL when not given. Plain http only to loopback.
    #[arg(long, value_name = "URL", global = true)]
    pub base_url: Option<String>,

    /// Give up on a request after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub timeout: u64,

    /// Print JSON, the API's own shapes, instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    /// Allow a plain http base URL to a host other than loopback, where
    /// the token crosses the network in the clear.
    #[arg(long, global = true)]
    pub allow_http: bool,
}

/// A management API's flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApiFlavour {
    /// Titan (seeds 000, 001): integer ids, `hmacKey`, `{"data": …}`.
    Titan,
    /// Eventium (seed 003): endpoints, deliveries, test events, rotation.
    Eventium,
    /// TitanX (seed 002): UUID ids and `whsec_…` secrets.
    Titanx,
}

/// `titan-webhooks webhooks`.
#[derive(Debug, Args)]
pub struct WebhooksArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub api: ApiArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: WebhooksCommand,
}

/// The `webhooks` subcommands.
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// List the webhooks (every page).
    #[command(after_help = "\
Examples:
  titan-webhooks webhooks list --base-url https://api.titan.example
  titan-webhooks webhooks list --flavour eventium --limit 50 --json")]
    List(ListArgs),
    /// Show one webhook.
    #[command(after_help = "\
Examples:
  titan-webhooks webhooks get 42
  titan-webhooks webhooks --flavour titanx get 550e8400-e29b-41d4-a716-446655440000")]
    Get(IdArg),
    /// Create a webhook; prints its signing key or secret, shown only once.
    #[command(after_help = "\
Examples:
  # Titan generates the hmacKey unless you give one (never as an argument).
  titan-webhooks webhooks create --url https://myapp.example/webhooks/titan \\
      --event message.received --event session.status --session default
  titan-webhooks webhooks create --url https://myapp.example/hook --hmac-key-file hmac.key
  titan-webhooks webhooks --flavour titanx create --url https://your-app.example/webhooks/titanx \\
      --event job.contact.scored --label 'Production Contact Webhook'")]
    Create(CreateArgs),
    /// Change a webhook (Titan: PUT; Eventium: PATCH; TitanX has no update).
    #[command(after_help = "\
Examples:
  titan-webhooks webhooks update 42 --disable
  titan-webhooks webhooks update 42 --event message.received --event message.sent
  titan-webhooks webhooks update 42 --hmac-key-env NEW_HMAC_KEY   # Titan's key rotation
  titan-webhooks webhooks --flavour eventium update 7 --url https://example.com/v2 --no-label")]
    Update(UpdateArgs),
    /// Delete a webhook.
    #[command(after_help = "\
Examples:
  titan-webhooks webhooks delete 42
  titan-webhooks webhooks --flavour eventium delete 7")]
    Delete(IdArg),
    /// Send a test event through the signed delivery path (Eventium).
    #[command(after_help = "\
Examples:
  titan-webhooks webhooks --flavour eventium test
  titan-webhooks webhooks --flavour eventium test --event webhook.test \\
      --data '{\"hello\":\"world\"}' --endpoint 7")]
    Test(TestArgs),
    /// Give an endpoint a new secret, printed once (Eventium).
    #[command(after_help = "\
Examples:
  # The old secret keeps signing too for an hour, while receivers switch.
  titan-webhooks webhooks --flavour eventium rotate 7 --grace 3600")]
    Rotate(RotateArgs),
}

/// A webhook's id.
#[derive(Debug, Args)]
pub struct IdArg {
    /// The id: a number (Titan, Eventium, deliveries) or a UUID (TitanX).
    pub id: String,
}

/// `webhooks list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Show at most this many.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
}

/// Where a Titan `hmacKey` comes from. Never from an argument.
#[derive(Debug, Args)]
pub struct HmacKeyArgs {
    /// Titan: read the `hmacKey` from this environment variable (generated
    /// by the server on create when not given).
    #[arg(long, value_name = "VAR", conflicts_with = "hmac_key_file")]
    pub hmac_key_env: Option<String>,

    /// Titan: read the `hmacKey` from this file (one trailing newline is
    /// ignored).
    #[arg(long, value_name = "PATH")]
    pub hmac_key_file: Option<PathBuf>,
}

/// `webhooks create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The HTTPS URL deliveries go to.
    #[arg(long)]
    pub url: String,

    /// An event type to subscribe to; repeat for each. Titan and Eventium:
    /// none means every event; TitanX needs at least one.
    #[arg(long = "event", value_name = "TYPE")]
    pub events: Vec<String>,

    /// Titan: only events of this session.
    #[arg(long)]
    pub session: Option<String>,

    /// A label for your reference (Titan `label`, Eventium `description`,
    /// TitanX `name`).
    #[arg(long)]
    pub label: Option<String>,

    /// Create it disabled (TitanX: `inactive`).
    #[arg(long)]
    pub disabled: bool,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub hmac_key: HmacKeyArgs,
}

/// `webhooks update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The webhook's id.
    pub id: String,

    /// A new URL.
    #[arg(long)]
    pub url: Option<String>,

    /// Replace the event types with these; repeat for each.
    #[arg(long = "event", value_name = "TYPE", conflicts_with = "all_events")]
    pub events: Vec<String>,

    /// Subscribe to every event.
    #[arg(long)]
    pub all_events: bool,

    /// Titan: only events of this session.
    #[arg(long, conflicts_with = "all_sessions")]
    pub session: Option<String>,

    /// Titan: events of every session.
    #[arg(long)]
    pub all_sessions: bool,

    /// A new label (Titan `label`, Eventium `description`).
    #[arg(long, conflicts_with = "no_label")]
    pub label: Option<String>,

    /// Remove the label.
    #[arg(long)]
    pub no_label: bool,

    /// Enable it.
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,

    /// Disable it.
    #[arg(long)]
    pub disable: bool,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub hmac_key: HmacKeyArgs,
}

/// `webhooks test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The test event's type.
    #[arg(long, default_value = "webhook.test")]
    pub event: String,

    /// The event's data, a JSON object. Defaults to `{}`.
    #[arg(long, value_name = "JSON")]
    pub data: Option<String>,

    /// Only this endpoint; every enabled endpoint otherwise.
    #[arg(long, value_name = "ID")]
    pub endpoint: Option<u64>,
}

/// `webhooks rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The endpoint's id.
    pub id: String,

    /// How long the old secret keeps signing too, in seconds; the server's
    /// default (one day) when not given, 0 to stop at once.
    #[arg(long, value_name = "SECONDS")]
    pub grace: Option<u64>,
}

/// `titan-webhooks deliveries`.
#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub api: ApiArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: DeliveriesCommand,
}

/// The `deliveries` subcommands.
#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// List deliveries, newest first: status, attempts, last error, next retry.
    #[command(after_help = "\
Examples:
  titan-webhooks deliveries list --status retry
  titan-webhooks deliveries list --endpoint 7 --limit 20 --json")]
    List(DeliveriesListArgs),
    /// Queue a finished delivery again, due at once.
    #[command(after_help = "\
Examples:
  titan-webhooks deliveries redeliver 120")]
    Redeliver(IdArg),
}

/// `deliveries list`.
#[derive(Debug, Args)]
pub struct DeliveriesListArgs {
    /// Only deliveries to this endpoint.
    #[arg(long, value_name = "ID")]
    pub endpoint: Option<u64>,

    /// Only deliveries in this state: pending, in_flight, retry, succeeded,
    /// exhausted or cancelled.
    #[arg(long)]
    pub status: Option<String>,

    /// Show at most this many.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
}

/// Where the secret comes from. Never from an argument.
#[derive(Debug, Args)]
pub struct SecretArgs {
    /// Read the secret from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "secret_file")]
    pub secret_env: Option<String>,

    /// Read the secret from this file (one trailing newline is ignored).
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
}

/// Where the body comes from.
#[derive(Debug, Args)]
pub struct BodyArgs {
    /// Read the body from this file, byte for byte; `-` or nothing reads
    /// stdin.
    #[arg(long, value_name = "PATH")]
    pub body_file: Option<PathBuf>,

    /// The largest body read, in bytes or with a unit (KiB, MiB, GiB).
    #[arg(long, value_name = "SIZE", default_value = DEFAULT_MAX_BODY_TEXT, value_parser = parse_size)]
    pub max_body: u64,
}

/// `titan-webhooks sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The signature scheme.
    #[arg(long, value_enum)]
    pub scheme: SchemeName,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub secret: SecretArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub body: BodyArgs,

    /// Sign at this unix time instead of now (timestamped schemes:
    /// eventium, stripe, standard-webhooks, svix).
    #[arg(long, value_name = "UNIX")]
    pub timestamp: Option<u64>,

    /// The message id to sign (standard-webhooks, svix); random otherwise.
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,

    /// Print one JSON object instead of header lines.
    #[arg(long)]
    pub json: bool,
}

/// `titan-webhooks verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The signature scheme.
    #[arg(long, value_enum)]
    pub scheme: SchemeName,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub secret: SecretArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub body: BodyArgs,

    /// A header of the delivery, as `Name: value`. Repeat for each header.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE", value_parser = parse_header)]
    pub headers: Vec<(HeaderName, HeaderValue)>,

    /// How far the signed timestamp may be from now, in seconds, either
    /// way (timestamped schemes). Defaults to 300.
    #[arg(long, value_name = "SECONDS")]
    pub tolerance: Option<u64>,

    /// On failure, add hints from the library's `diagnose`: a re-serialised
    /// body or changed final newline, the wrong secret encoding, clock skew,
    /// stripped or renamed headers, another scheme.
    #[arg(long)]
    pub explain: bool,

    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `titan-webhooks listen`.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// The signature scheme.
    #[arg(long, value_enum)]
    pub scheme: SchemeName,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub secret: SecretArgs,

    /// The address to listen on. Anything but loopback exposes the
    /// receiver to your network.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,

    /// The port to listen on; 0 picks a free one (printed at start).
    #[arg(long, short = 'p', default_value_t = 3000)]
    pub port: u16,

    /// Stop after this many deliveries (verified, duplicate or rejected).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_deliveries: Option<u64>,

    /// How far the signed timestamp may be from now, in seconds, either
    /// way (timestamped schemes). Defaults to 300.
    #[arg(long, value_name = "SECONDS")]
    pub tolerance: Option<u64>,

    /// The largest body accepted, in bytes or with a unit (KiB, MiB, GiB);
    /// larger ones are answered 413.
    #[arg(long, value_name = "SIZE", default_value = DEFAULT_MAX_BODY_TEXT, value_parser = parse_size)]
    pub max_body: u64,

    /// Print one JSON line per delivery instead of a readable block.
    #[arg(long)]
    pub json: bool,
}

/// `titan-webhooks send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The receiver's URL (https; http only with --allow-private).
    pub url: String,

    /// The signature scheme; it also picks the envelope.
    #[arg(long, value_enum)]
    pub scheme: SchemeName,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub secret: SecretArgs,

    /// The event type, for example `message.received`.
    #[arg(long)]
    pub event: String,

    /// The event's payload (Titan) or data (Eventium), as JSON.
    #[arg(long, value_name = "JSON", conflicts_with = "data_file")]
    pub data: Option<String>,

    /// Read the payload's JSON from this file.
    #[arg(long, value_name = "PATH")]
    pub data_file: Option<PathBuf>,

    /// The session of a Titan envelope (not for eventium). Defaults to
    /// `default`.
    #[arg(long)]
    pub session: Option<String>,

    /// For local testing: allow loopback and private addresses (127.0.0.0/8,
    /// ::1, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7), and plain
    /// http. Link-local and metadata addresses stay refused.
    #[arg(long)]
    pub allow_private: bool,

    /// Give up after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Parses `Name: value`, as curl's `-H` takes it.
fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let Some((name, value)) = text.split_once(':') else {
        return Err(
            "expected `Name: value`, with a colon between the header's name and its value"
                .to_owned(),
        );
    };
    let name = name.trim();
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("`{name}` is not a valid header name"))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("the value of `{name}` is not a valid header value"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }

    #[test]
    fn headers_need_a_colon_and_a_valid_name() {
        let (name, value) = parse_header("X-Webhook-Signature:  sha256=ab ").unwrap();
        assert_eq!(
            (name.as_str(), value.to_str().unwrap()),
            ("x-webhook-signature", "sha256=ab")
        );
        assert!(
            parse_header("X-Webhook-Signature sha256=ab")
                .unwrap_err()
                .contains("colon")
        );
        assert!(
            parse_header("bad name: x")
                .unwrap_err()
                .contains("not a valid header name")
        );
    }
}
