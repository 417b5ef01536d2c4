//! `titan-webhooks verify`: exit 0 for a valid delivery, 1 with the
//! library's code for an invalid one, and hints with `--explain`.

#![allow(clippy::restriction, clippy::pedantic)]

mod common;

use common::{cmd, header_args, secret_for};
use predicates::prelude::*;
use titan_webhooks::{Scheme, SecretEncoding, Signer};

const TITAN_BODY: &str = r#"{"event":"message.received"}"#;
const TITAN_HEADER: &str =
    "X-Webhook-Signature: sha256=994f667d76567c304a80a1d3c99b30762c60e25b98b1f0ca63879b0c79fecf31";

fn verify(scheme: &str) -> assert_cmd::Command {
    let mut command = cmd();
    command
        .args([
            "verify",
            "--scheme",
            scheme,
            "--secret-env",
            "VERIFY_TEST_SECRET",
        ])
        .env("VERIFY_TEST_SECRET", secret_for(scheme));
    command
}

#[test]
fn a_valid_titan_delivery_exits_0() {
    verify("titan")
        .args(["--header", TITAN_HEADER])
        .write_stdin(TITAN_BODY)
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "valid: the titan signature matches",
        ))
        .stderr("");
}

#[test]
fn every_scheme_accepts_its_own_signature_and_refuses_another_body() {
    for scheme in common::SCHEMES {
        let body = b"\xff\x00 not UTF-8 \xc3\x28".to_vec();
        let signed = cmd()
            .args(["sign", "--scheme", scheme, "--json", "--secret-env", "S"])
            .env("S", secret_for(scheme))
            .write_stdin(body.clone())
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let headers = header_args(&common::headers_of(&signed));
        verify(scheme)
            .args(&headers)
            .write_stdin(body.clone())
            .assert()
            .success();
        verify(scheme)
            .args(&headers)
            .write_stdin(&body[1..])
            .assert()
            .code(1)
            .stderr(predicate::str::contains(
                "error[signature_mismatch]: no signature matched",
            ));
    }
}

#[test]
fn a_tampered_body_or_wrong_secret_exits_1_with_the_code() {
    verify("titan")
        .args(["--header", TITAN_HEADER])
        .write_stdin(r#"{"event":"message.deleted"}"#)
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(
            "error[signature_mismatch]: no signature matched (1 examined)",
        ))
        .stderr(predicate::str::contains("--explain"));
    verify("titan")
        .env("VERIFY_TEST_SECRET", "another-key")
        .args(["--header", TITAN_HEADER])
        .write_stdin(TITAN_BODY)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[signature_mismatch]"));
}

#[test]
fn json_output_carries_the_code_and_the_hints() {
    let output = verify("titan")
        .args(["--header", TITAN_HEADER, "--json", "--explain"])
        .write_stdin(format!("{TITAN_BODY}\n"))
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let document: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(document["valid"], false);
    assert_eq!(document["code"], "signature_mismatch");
    let hints = document["hints"].as_array().unwrap();
    assert!(
        hints[0]
            .as_str()
            .unwrap()
            .contains("without its final newline")
    );

    let output = verify("titan")
        .args(["--header", TITAN_HEADER, "--json"])
        .write_stdin(TITAN_BODY)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let document: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(document["valid"], true);
    assert_eq!(document["signed_timestamp"], serde_json::Value::Null);
}

#[test]
fn a_missing_header_names_the_scheme_it_belongs_to() {
    verify("titan")
        .args(["--header", "Stripe-Signature: t=1,v1=00", "--explain"])
        .write_stdin(TITAN_BODY)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "error[missing_header]: missing header `x-webhook-signature`",
        ))
        .stderr(predicate::str::contains(
            "the request carries `stripe-signature`, the stripe scheme's signature header",
        ));
    verify("titan")
        .args(["--header", "X-Signature: sha256=00", "--explain"])
        .write_stdin(TITAN_BODY)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "proxies, load balancers, gateways and some frameworks drop headers",
        ));
    verify("standard-webhooks")
        .args(["--header", "webhook-signature: v1,AAAA", "--explain"])
        .write_stdin("{}")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "missing header `webhook-timestamp`",
        ));
}

#[test]
fn a_repeated_or_malformed_header_is_malformed() {
    verify("titan")
        .args(["--header", TITAN_HEADER, "--header", TITAN_HEADER])
        .write_stdin(TITAN_BODY)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[malformed_header]"));
    verify("eventium")
        .args(["--header", "X-TitanVX-Signature: t=soon,v1=00", "--explain"])
        .write_stdin("{}")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("error[malformed_header]"))
        .stderr(predicate::str::contains(
            "eventium writes it as `t=<unix seconds>,v1=<64 hex digits>`",
        ));
}

/// Signed in 2023 with Eventium's scheme and the key `key`: older than any
/// tolerance but one given explicitly.
#[test]
fn an_old_timestamp_is_refused_unless_the_tolerance_allows_it() {
    let header = "X-TitanVX-Signature: t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae";
    verify("eventium")
        .env("VERIFY_TEST_SECRET", "key")
        .args(["--header", header, "--explain"])
        .write_stdin("{}")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "error[timestamp_out_of_tolerance]",
        ))
        .stderr(predicate::str::contains(
            "found: the signature matches, but it was signed",
        ))
        .stderr(predicate::str::contains(
            "in the past, at 2023-11-14T22:13:20Z",
        ))
        .stderr(predicate::str::contains("allow its age with --tolerance"));
    verify("eventium")
        .env("VERIFY_TEST_SECRET", "key")
        .args(["--header", header, "--tolerance", "100000000000"])
        .write_stdin("{}")
        .assert()
        .success()
        .stdout(predicate::str::contains("signed at 2023-11-14T22:13:20Z"));
}

#[test]
fn explain_finds_a_re_serialised_body() {
    let pretty = "{\n  \"event\": \"message.received\"\n}";
    verify("titan")
        .args(["--header", TITAN_HEADER, "--explain"])
        .write_stdin(pretty)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "found: the signature matches the body as sent, compact",
        ));
    let spaced = r#"{"event": "message.received"}"#;
    let headers = Signer::new(
        Scheme::titan(),
        Scheme::titan()
            .secret_encoding()
            .parse(secret_for("titan"))
            .unwrap(),
    )
    .sign(spaced.as_bytes());
    verify("titan")
        .args(header_args(&headers))
        .args(["--explain"])
        .write_stdin(TITAN_BODY)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Python's json.dumps"));
}

#[test]
fn explain_finds_the_other_secret_encoding() {
    // A sender that keys Stripe's layout on the decoded bytes of a whsec_
    // secret, as Standard Webhooks does.
    let text = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let decoding = Scheme::builder("decoding", "stripe-signature")
        .key_value("t", "v1")
        .secret_encoding(SecretEncoding::Whsec)
        .build()
        .unwrap();
    let secret = decoding.secret_encoding().parse(text).unwrap();
    let headers = Signer::new(decoding, secret).sign(b"{}");
    verify("stripe")
        .env("VERIFY_TEST_SECRET", text)
        .args(header_args(&headers))
        .arg("--explain")
        .write_stdin("{}")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "found: the signature matches when the key is read as the bytes the base64 after `whsec_` encodes",
        ));

    // And the reverse: a Standard Webhooks header keyed on the string.
    let literal = Scheme::builder("literal", "webhook-signature")
        .versioned_list("v1")
        .encoding(titan_webhooks::DigestEncoding::Base64)
        .timestamp_header("webhook-timestamp")
        .id_header("webhook-id")
        .build()
        .unwrap();
    let secret = literal.secret_encoding().parse(text).unwrap();
    let headers = Signer::new(literal, secret).sign(b"{}");
    verify("standard-webhooks")
        .env("VERIFY_TEST_SECRET", text)
        .args(header_args(&headers))
        .arg("--explain")
        .write_stdin("{}")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "found: the signature matches when the key is read as the UTF-8 text of the secret string",
        ));
}

#[test]
fn without_a_finding_explain_lists_the_usual_causes() {
    let headers = Signer::new(
        Scheme::stripe(),
        Scheme::stripe()
            .secret_encoding()
            .parse("whsec_other")
            .unwrap(),
    )
    .sign(b"{}");
    verify("stripe")
        .args(header_args(&headers))
        .arg("--explain")
        .write_stdin("{}")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("found:").not())
        .stderr(predicate::str::contains("the raw bytes received"))
        .stderr(predicate::str::contains(
            "stripe reads its secret string as UTF-8 text, keying on the whole string, any \
             `whsec_` prefix included",
        ))
        .stderr(predicate::str::contains("this endpoint's current one"))
        .stderr(predicate::str::contains("the timestamp (and the id"));
}
