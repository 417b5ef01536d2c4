//! Bad input gives a clear message and a non-zero exit, never a panic.

#![allow(clippy::restriction, clippy::pedantic)]

mod common;

use common::{cmd, header_args, headers_of, secret_for, write};
use predicates::prelude::*;

/// Exit code 101 and "panicked" are what a panic leaves.
fn no_panic() -> impl Predicate<str> {
    predicate::str::contains("panicked").not()
}

#[test]
fn a_missing_secret_variable_is_named() {
    cmd()
        .args([
            "sign",
            "--scheme",
            "titan",
            "--secret-env",
            "TITAN_WEBHOOKS_TEST_UNSET",
        ])
        .env_remove("TITAN_WEBHOOKS_TEST_UNSET")
        .write_stdin("{}")
        .assert()
        .code(3)
        .stdout("")
        .stderr(predicate::str::contains(
            "error: the environment variable `TITAN_WEBHOOKS_TEST_UNSET` is not set",
        ))
        .stderr(no_panic());
}

#[test]
fn no_secret_at_all_is_a_usage_error_and_secrets_are_not_arguments() {
    // stdin is a pipe here, so there is no prompt to fall back on.
    cmd()
        .args(["sign", "--scheme", "titan"])
        .write_stdin("{}")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no secret: pass --secret-env VAR or --secret-file PATH",
        ));
    cmd()
        .args(["sign", "--scheme", "titan", "--secret", "key"])
        .write_stdin("{}")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unexpected argument '--secret'"));
}

#[test]
fn unreadable_or_unusable_secrets_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    cmd()
        .args(["sign", "--scheme", "titan", "--secret-file"])
        .arg(dir.path().join("absent"))
        .write_stdin("{}")
        .assert()
        .code(3)
        .stderr(predicate::str::contains("cannot read the secret from"));
    let plain = write(dir.path(), "plain", "not-a-whsec-secret\n");
    cmd()
        .args(["sign", "--scheme", "standard-webhooks", "--secret-file"])
        .arg(&plain)
        .write_stdin("{}")
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "the secret does not fit standard-webhooks: the secret is not standard base64",
        ))
        .stderr(predicate::str::contains("usually after `whsec_`"));
    let binary = write(dir.path(), "binary", b"\xff\xfe");
    cmd()
        .args(["sign", "--scheme", "titan", "--secret-file"])
        .arg(&binary)
        .write_stdin("{}")
        .assert()
        .code(3)
        .stderr(predicate::str::contains("is not UTF-8 text"));
}

#[test]
fn a_header_without_a_colon_is_a_usage_error() {
    cmd()
        .args(["verify", "--scheme", "titan", "--secret-env", "K"])
        .args(["--header", "X-Webhook-Signature sha256=00"])
        .env("K", "key")
        .write_stdin("{}")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "expected `Name: value`, with a colon between the header's name and its value",
        ))
        .stderr(no_panic());
    cmd()
        .args(["verify", "--scheme", "titan", "--secret-env", "K"])
        .args(["--header", "X Webhook: 00"])
        .env("K", "key")
        .write_stdin("{}")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`X Webhook` is not a valid header name",
        ));
}

#[test]
fn a_100_mib_body_on_stdin_is_refused_at_the_limit() {
    let huge = vec![b'a'; 100 * 1024 * 1024];
    cmd()
        .args(["sign", "--scheme", "titan", "--secret-env", "K"])
        .env("K", "key")
        .write_stdin(huge)
        .assert()
        .code(3)
        .stdout("")
        .stderr(predicate::str::contains(
            "error: the body from stdin is larger than the limit of 10 MiB (10485760 bytes)",
        ))
        .stderr(predicate::str::contains("--max-body"))
        .stderr(no_panic());
}

#[test]
fn max_body_moves_the_limit_both_ways() {
    let body = vec![b'a'; 2048];
    cmd()
        .args([
            "sign",
            "--scheme",
            "titan",
            "--secret-env",
            "K",
            "--max-body",
            "1KiB",
        ])
        .env("K", "key")
        .write_stdin(body.clone())
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "larger than the limit of 1 KiB (1024 bytes)",
        ));
    cmd()
        .args([
            "sign",
            "--scheme",
            "titan",
            "--secret-env",
            "K",
            "--max-body",
            "2KiB",
        ])
        .env("K", "key")
        .write_stdin(body)
        .assert()
        .success();
    cmd()
        .args([
            "sign",
            "--scheme",
            "titan",
            "--secret-env",
            "K",
            "--max-body",
            "lots",
        ])
        .env("K", "key")
        .write_stdin("{}")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`lots` is not a size"));
}

#[test]
fn a_non_utf8_body_signs_and_verifies() {
    let body: &[u8] = b"\xc3\x28 \xa0\xa1 \xf0\x28\x8c\xbc \xff";
    assert!(String::from_utf8_lossy(body).contains(char::REPLACEMENT_CHARACTER));
    for scheme in ["titan", "eventium", "standard-webhooks"] {
        let signed = cmd()
            .args(["sign", "--scheme", scheme, "--json", "--secret-env", "K"])
            .env("K", secret_for(scheme))
            .write_stdin(body)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        cmd()
            .args(["verify", "--scheme", scheme, "--secret-env", "K"])
            .args(header_args(&headers_of(&signed)))
            .env("K", secret_for(scheme))
            .write_stdin(body)
            .assert()
            .success()
            .stdout(predicate::str::starts_with("valid:"));
    }
}

#[test]
fn a_missing_body_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    cmd()
        .args([
            "sign",
            "--scheme",
            "titan",
            "--secret-env",
            "K",
            "--body-file",
        ])
        .arg(dir.path().join("absent.json"))
        .env("K", "key")
        .assert()
        .code(3)
        .stderr(predicate::str::contains("cannot read the body from"));
}

#[test]
fn send_refuses_data_that_is_not_json_and_a_session_for_eventium() {
    cmd()
        .args(["send", "https://example.com/hook", "--scheme", "titan"])
        .args([
            "--secret-env",
            "K",
            "--event",
            "message.received",
            "--data",
            "{",
        ])
        .env("K", "key")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--data is not JSON"));
    cmd()
        .args(["send", "https://example.com/hook", "--scheme", "eventium"])
        .args([
            "--secret-env",
            "K",
            "--event",
            "webhook.test",
            "--session",
            "s1",
        ])
        .env("K", "key")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "Eventium envelopes have no session",
        ));
}

#[test]
fn listen_reports_a_port_it_cannot_open() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    cmd()
        .args([
            "listen",
            "--scheme",
            "titan",
            "--secret-env",
            "K",
            "--port",
            &port,
        ])
        .env("K", "key")
        .assert()
        .code(3)
        .stderr(predicate::str::contains(format!(
            "cannot listen on 127.0.0.1:{port}"
        )));
}

#[test]
fn every_command_documents_an_example_and_its_exit_codes() {
    for command in ["sign", "verify", "listen", "send"] {
        cmd()
            .args([command, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Examples:\n  "))
            .stdout(predicate::str::contains(format!(
                "titan-webhooks {command} "
            )))
            .stdout(predicate::str::contains("Exit codes:"));
    }
    cmd()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("  3  any other error"));
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let signed = |color: &str| {
        cmd()
            .args([
                "--color",
                color,
                "sign",
                "--scheme",
                "titan",
                "--secret-env",
                "K",
            ])
            .env("K", "key")
            .env_remove("NO_COLOR")
            .write_stdin("{}")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone()
    };
    // stdout is a pipe here, so `auto` means none.
    assert!(!signed("auto").contains(&0x1b));
    assert!(!signed("never").contains(&0x1b));
    assert!(signed("always").starts_with(b"\x1b["));
    cmd()
        .args([
            "--color",
            "always",
            "verify",
            "--scheme",
            "titan",
            "--secret-env",
            "K",
        ])
        .env("K", "key")
        .write_stdin("{}")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("\x1b["));
}
