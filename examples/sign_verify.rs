//! Signs a sample Titan envelope with every preset scheme, verifies each
//! signature, and shows a tampered body being rejected.
//!
//! Run with `cargo run --example sign_verify`.

use std::process::ExitCode;

use titan_webhooks::{Scheme, Secret, Signer, Verifier};

const ENVELOPE: &[u8] = br#"{"id":"evt_abc123","event":"message.received","session":"my-session","timestamp":"2025-01-15T10:30:00Z","payload":{"text":"Hi there"}}"#;

fn main() -> ExitCode {
    let schemes = [
        Scheme::titan(),
        Scheme::titanx(),
        Scheme::eventium(),
        Scheme::github(),
        Scheme::stripe(),
        Scheme::standard_webhooks(),
        Scheme::svix(),
    ];
    println!("body: {}\n", String::from_utf8_lossy(ENVELOPE));

    let mut failed = false;
    for scheme in schemes {
        // Generated keys are text, so they work for UTF-8 and whsec schemes alike.
        let secret = Secret::generate();
        let signer = Signer::new(scheme.clone(), secret.clone_secret());
        let verifier = Verifier::new(scheme.clone(), secret);

        let headers = signer.sign(ENVELOPE);
        println!("{}", scheme.name());
        for name in scheme.headers() {
            let value = headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            println!("  {name}: {value}");
        }
        match verifier.verify(&headers, ENVELOPE) {
            Ok(verified) => match verified.signed_timestamp() {
                Some(timestamp) => println!("  verified (signed at {timestamp})"),
                None => println!("  verified"),
            },
            Err(err) => {
                println!("  NOT verified: {err}");
                failed = true;
            }
        }
        println!();
    }

    let key = "your-secret-signing-key";
    let (Ok(signer), Ok(verifier)) = (
        Signer::from_secret_str(Scheme::titan(), key),
        Verifier::from_secret_str(Scheme::titan(), key),
    ) else {
        eprintln!("the key is empty");
        return ExitCode::FAILURE;
    };
    let headers = signer.sign(ENVELOPE);
    let tampered = String::from_utf8_lossy(ENVELOPE).replace("Hi there", "Hi thera");
    match verifier.verify(&headers, tampered.as_bytes()) {
        Ok(_) => {
            println!("tampered body: accepted (this is a bug)");
            failed = true;
        }
        Err(err) => println!("tampered body: rejected with `{}`: {err}", err.code()),
    }

    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
