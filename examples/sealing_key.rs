//! Prints a new sealing key for a webhook store.
//!
//! Run once with `cargo run --example sealing_key --features queue`, store
//! the line in your secret manager, and give it to every sender process in
//! `TITAN_WEBHOOKS_SEALING_KEY`. Losing it loses every stored webhook
//! secret; keep it out of the database it protects.

use std::process::ExitCode;

use titan_webhooks::webhooks::SealingKey;

fn main() -> ExitCode {
    // Key id 1; a later key for rotation takes the next id.
    match SealingKey::generate(1) {
        Ok(key) => {
            println!("{}", key.to_text().as_str());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("could not make a key: {err}");
            ExitCode::FAILURE
        }
    }
}
