//! `titan-webhooks sign`: its headers verify with the library, match
//! known answers, and match openssl for Titan.

#![allow(clippy::restriction, clippy::pedantic)]

mod common;

use std::process::Command;

use common::{SCHEMES, cmd, headers_of, secret_for, write};
use titan_webhooks::http::HeaderMap;
use titan_webhooks::{Scheme, Verifier};

/// The library's verdict on what the binary signed.
fn library_verify(scheme: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let preset = Scheme::preset(scheme).unwrap();
    Verifier::from_secret_str(preset, secret_for(scheme))
        .unwrap()
        .verify(headers, body)
        .map(|_| ())
        .map_err(|err| err.code().to_owned())
}

#[test]
fn every_scheme_signs_what_the_library_verifies() {
    let dir = tempfile::tempdir().unwrap();
    // Not UTF-8, with a NUL and an emoji: bodies are bytes.
    let body = b"{\"text\":\"caf\xc3\xa9 \xf0\x9f\x8e\x89\"}\x00\xff\xfe".to_vec();
    let body_file = write(dir.path(), "body", &body);
    for scheme in SCHEMES {
        let secret_file = write(dir.path(), "secret", secret_for(scheme));
        let output = cmd()
            .args(["sign", "--scheme", scheme, "--json", "--body-file"])
            .arg(&body_file)
            .arg("--secret-file")
            .arg(&secret_file)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let headers = headers_of(&output);
        assert_eq!(library_verify(scheme, &headers, &body), Ok(()), "{scheme}");
        let mut tampered = body.clone();
        tampered[0] = b'[';
        assert_eq!(
            library_verify(scheme, &headers, &tampered),
            Err("signature_mismatch".to_owned()),
            "{scheme}"
        );
        let document: serde_json::Value = serde_json::from_slice(&output).unwrap();
        assert_eq!(document["scheme"], scheme);
    }
}

#[test]
fn titan_signature_equals_openssl_hmac() {
    let dir = tempfile::tempdir().unwrap();
    let key = "your-secret-signing-key";
    let body = b"{\"event\":\"message.received\",\"bytes\":\"\xff\xfe\"}\n".to_vec();
    let body_file = write(dir.path(), "body", &body);
    let secret_file = write(dir.path(), "secret", key);

    let signed = cmd()
        .args(["sign", "--scheme", "titan", "--body-file"])
        .arg(&body_file)
        .arg("--secret-file")
        .arg(&secret_file)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let signed = String::from_utf8(signed).unwrap();
    let ours = signed
        .strip_prefix("x-webhook-signature: sha256=")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("not one Titan header line: {signed:?}"));

    let openssl = Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", key])
        .arg(&body_file)
        .output()
        .expect("this test needs `openssl` on PATH to compare with");
    assert!(openssl.status.success(), "{openssl:?}");
    // `HMAC-SHA2-256(path)= <hex>`, in any OpenSSL version's wording.
    let line = String::from_utf8(openssl.stdout).unwrap();
    let theirs = line.trim().rsplit(' ').next().unwrap();
    assert_eq!(theirs.len(), 64, "{line}");
    assert_eq!(ours, theirs);
}

#[test]
fn known_answers_with_a_fixed_timestamp_and_id() {
    // Stripe's layout, from the library's docs.
    cmd()
        .args(["sign", "--scheme", "stripe", "--secret-env", "STRIPE_TEST_SECRET"])
        .args(["--timestamp", "1700000000"])
        .env("STRIPE_TEST_SECRET", "whsec_test_secret")
        .write_stdin(r#"{"id":"evt_1","object":"event","type":"invoice.paid"}"#)
        .assert()
        .success()
        .stdout(
            "stripe-signature: t=1700000000,v1=dfb4777aaaec4ea29ff455dd4df7fe6b2ef71096ad3a93a158db7e100109ea91\n",
        );

    // The Standard Webhooks specification's example, and Svix under its names.
    for (scheme, prefix) in [("standard-webhooks", "webhook"), ("svix", "svix")] {
        cmd()
            .args([
                "sign",
                "--scheme",
                scheme,
                "--secret-env",
                "WEBHOOK_TEST_SECRET",
            ])
            .args([
                "--timestamp",
                "1614265330",
                "--id",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
            ])
            .env(
                "WEBHOOK_TEST_SECRET",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            )
            .write_stdin(r#"{"test": 2432232314}"#)
            .assert()
            .success()
            .stdout(format!(
                "{prefix}-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=\n\
                 {prefix}-timestamp: 1614265330\n\
                 {prefix}-id: msg_p5jXN8AQM9LWM0D4loKWxJek\n"
            ));
    }
}

#[test]
fn options_a_scheme_does_not_sign_are_usage_errors() {
    cmd()
        .args([
            "sign",
            "--scheme",
            "titan",
            "--secret-env",
            "K",
            "--timestamp",
            "1",
        ])
        .env("K", "key")
        .write_stdin("{}")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("titan signs no timestamp"));
    cmd()
        .args([
            "sign",
            "--scheme",
            "stripe",
            "--secret-env",
            "K",
            "--id",
            "msg_1",
        ])
        .env("K", "key")
        .write_stdin("{}")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("stripe signs no message id"));
    cmd()
        .args([
            "sign",
            "--scheme",
            "svix",
            "--secret-env",
            "K",
            "--id",
            "msg.1",
        ])
        .env("K", secret_for("svix"))
        .write_stdin("{}")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("message id must be"));
}
