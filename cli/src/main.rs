//! `titan-webhooks`: sign, verify, receive and send signed webhooks from a
//! terminal, with the `titan-webhooks` library's schemes.
//!
//! ```text
//! titan-webhooks sign   --scheme titan --secret-file hmac.key --body-file body.json
//! titan-webhooks verify --scheme titan --secret-file hmac.key --body-file body.json \
//!                       --header 'X-Webhook-Signature: sha256=…'
//! titan-webhooks listen --scheme titan --secret-file hmac.key --port 3000
//! titan-webhooks send http://127.0.0.1:3000/hook --allow-private --scheme titan \
//!                       --secret-file hmac.key --event message.received --data '{"text":"hi"}'
//! titan-webhooks webhooks create --base-url https://api.titan.example --url https://myapp.example/hook
//! titan-webhooks deliveries list --base-url https://api.eventium.example --status retry
//! ```
//!
//! Signing, verification, the receiver, the SSRF guard and the management
//! API client are the library's; this crate only reads the command line,
//! the body, the secret and the token, and prints. Exit codes: 0 success,
//! 1 verification failed, a non-2xx answer or an API error, 2 usage error,
//! 3 I/O, secret, token, network or other error.

#![forbid(unsafe_code)]

mod api;
mod body;
mod cli;
mod deliveries;
mod error;
mod explain;
mod guard;
mod listen;
mod output;
mod scheme;
mod secret;
mod send;
mod sign;
mod verify;
mod webhooks;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};
use crate::error::Outcome;

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli.color.apply();
    let result = match cli.command {
        Command::Sign(args) => sign::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Listen(args) => listen::run(&args),
        Command::Send(args) => send::run(&args),
        Command::Webhooks(args) => webhooks::run(&args),
        Command::Deliveries(args) => deliveries::run(&args),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(error::EXIT_FAILED),
        Err(err) => {
            err.report();
            ExitCode::from(err.exit_code())
        }
    }
}
