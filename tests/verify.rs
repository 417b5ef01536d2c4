//! Verification behaviour: errors, tolerance, rotation and hostile input.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use titan_webhooks::{
    HeaderProblem, MAX_SIGNATURE_ENTRIES, RawHeaders, Scheme, Secret, Signer, Verifier, VerifyError,
};

const NOW: u64 = 1_779_786_842;
const BODY: &[u8] = br#"{"id":"evt_1","event":"message.received"}"#;

fn secret(text: &str) -> Secret {
    Secret::from_utf8(text).unwrap()
}

fn eventium_header(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("x-titanvx-signature", HeaderValue::from_str(value).unwrap());
    headers
}

fn eventium_tag(key: &str, timestamp: u64, body: &[u8]) -> String {
    let headers = Signer::new(Scheme::eventium(), secret(key))
        .sign_at("unused", timestamp, body)
        .unwrap();
    let value = headers["x-titanvx-signature"].to_str().unwrap();
    value.split_once(",v1=").unwrap().1.to_owned()
}

#[test]
fn every_v1_entry_is_checked_for_rotation() {
    let old = eventium_tag("old", NOW, BODY);
    let new = eventium_tag("new", NOW, BODY);
    let headers = eventium_header(&format!("t={NOW},v1={old},v1={new}"));

    let only_new = Verifier::new(Scheme::eventium(), secret("new"));
    assert_eq!(
        only_new
            .verify_at(&headers, BODY, NOW)
            .unwrap()
            .secret_index(),
        0
    );

    let only_old = Verifier::new(Scheme::eventium(), secret("old"));
    assert_eq!(
        only_old
            .verify_at(&headers, BODY, NOW)
            .unwrap()
            .secret_index(),
        0
    );

    // The new signature comes last in the header: keeping only the first
    // (or last) entry would fail one of these two.
    let headers = eventium_header(&format!("t={NOW},v1={new},v1={old}"));
    assert!(only_old.verify_at(&headers, BODY, NOW).is_ok());
}

#[test]
fn a_verifier_with_two_secrets_reports_which_matched() {
    let verifier = Verifier::new(Scheme::eventium(), secret("first")).with_secret(secret("second"));
    let by_second = eventium_header(&format!("t={NOW},v1={}", eventium_tag("second", NOW, BODY)));
    let by_first = eventium_header(&format!("t={NOW},v1={}", eventium_tag("first", NOW, BODY)));
    let by_third = eventium_header(&format!("t={NOW},v1={}", eventium_tag("third", NOW, BODY)));
    assert_eq!(
        verifier
            .verify_at(&by_second, BODY, NOW)
            .unwrap()
            .secret_index(),
        1
    );
    assert_eq!(
        verifier
            .verify_at(&by_first, BODY, NOW)
            .unwrap()
            .secret_index(),
        0
    );
    assert_eq!(
        verifier.verify_at(&by_third, BODY, NOW).unwrap_err(),
        VerifyError::NoMatchingSignature { examined: 1 }
    );
}

#[test]
fn unknown_keys_such_as_v0_are_ignored() {
    let tag = eventium_tag("k", NOW, BODY);
    let headers = eventium_header(&format!(
        "v0={},t={NOW},v1={tag},scheme=extra",
        "0".repeat(64)
    ));
    let verifier = Verifier::new(Scheme::eventium(), secret("k"));
    let verified = verifier.verify_at(&headers, BODY, NOW).unwrap();
    assert_eq!(verified.signed_timestamp(), Some(NOW));
}

#[test]
fn tolerance_applies_to_past_and_future_separately() {
    let verifier = Verifier::new(Scheme::eventium(), secret("k"))
        .with_past_tolerance(Duration::from_secs(300))
        .with_future_tolerance(Duration::from_secs(5));
    let headers = eventium_header(&format!("t={NOW},v1={}", eventium_tag("k", NOW, BODY)));

    // Exactly at the edges is accepted.
    assert!(verifier.verify_at(&headers, BODY, NOW + 300).is_ok());
    assert!(verifier.verify_at(&headers, BODY, NOW - 5).is_ok());

    assert_eq!(
        verifier.verify_at(&headers, BODY, NOW + 301).unwrap_err(),
        VerifyError::TimestampOutOfTolerance {
            skew_seconds: 301,
            tolerance_seconds: 300
        }
    );
    assert_eq!(
        verifier.verify_at(&headers, BODY, NOW - 6).unwrap_err(),
        VerifyError::TimestampOutOfTolerance {
            skew_seconds: -6,
            tolerance_seconds: 5
        }
    );
}

#[test]
fn default_tolerance_is_five_minutes_each_way() {
    let verifier = Verifier::new(Scheme::stripe(), secret("whsec_x"));
    let headers = Signer::new(Scheme::stripe(), secret("whsec_x"))
        .sign_at("unused", NOW, BODY)
        .unwrap();
    assert!(verifier.verify_at(&headers, BODY, NOW + 300).is_ok());
    assert!(verifier.verify_at(&headers, BODY, NOW - 300).is_ok());
    assert_eq!(
        verifier
            .verify_at(&headers, BODY, NOW + 301)
            .unwrap_err()
            .code(),
        "timestamp_out_of_tolerance"
    );
    assert_eq!(
        verifier
            .verify_at(&headers, BODY, NOW - 301)
            .unwrap_err()
            .code(),
        "timestamp_out_of_tolerance"
    );
}

#[test]
fn extreme_timestamps_are_errors_not_overflows() {
    let verifier = Verifier::new(Scheme::eventium(), secret("k"));
    let tag = "a".repeat(64);
    for t in [
        "-9223372036854775808",
        "123456789012345678901234567890",
        "18446744073709551616",
        "",
        "1e9",
        "0x10",
    ] {
        let err = verifier
            .verify_at(&eventium_header(&format!("t={t},v1={tag}")), BODY, NOW)
            .unwrap_err();
        assert_eq!(
            err,
            VerifyError::MalformedHeader {
                name: "x-titanvx-signature".into(),
                problem: HeaderProblem::InvalidTimestamp
            },
            "t={t}"
        );
    }
    // The largest timestamp parses; the skew saturates instead of wrapping.
    let err = verifier
        .verify_at(
            &eventium_header(&format!("t={},v1={tag}", u64::MAX)),
            BODY,
            0,
        )
        .unwrap_err();
    assert_eq!(
        err,
        VerifyError::TimestampOutOfTolerance {
            skew_seconds: i64::MIN,
            tolerance_seconds: 300
        }
    );
    let err = verifier
        .verify_at(&eventium_header(&format!("t=0,v1={tag}")), BODY, u64::MAX)
        .unwrap_err();
    assert_eq!(
        err,
        VerifyError::TimestampOutOfTolerance {
            skew_seconds: i64::MAX,
            tolerance_seconds: 300
        }
    );
}

#[test]
fn header_shape_errors_name_the_problem() {
    let verifier = Verifier::new(Scheme::eventium(), secret("k"));
    let tag = "a".repeat(64);
    let cases = [
        (
            format!("t=1,t=1,v1={tag}"),
            HeaderProblem::RepeatedTimestamp,
        ),
        (format!("v1={tag}"), HeaderProblem::MissingTimestamp),
        ("t=1".to_owned(), HeaderProblem::NoSignature),
        (
            "t=1,v1=zz".to_owned(),
            HeaderProblem::InvalidSignatureEncoding,
        ),
        (format!("t=1,v1{tag}"), HeaderProblem::InvalidEntry),
    ];
    for (value, problem) in cases {
        let err = verifier
            .verify_at(&eventium_header(&value), BODY, 1)
            .unwrap_err();
        assert_eq!(
            err,
            VerifyError::MalformedHeader {
                name: "x-titanvx-signature".into(),
                problem
            },
            "{value}"
        );
    }
}

#[test]
fn ten_thousand_entries_are_rejected_with_the_cap_named() {
    let verifier = Verifier::new(Scheme::eventium(), secret("k"));
    let tag = "a".repeat(64);
    let value = format!("t={NOW}{}", format!(",v1={tag}").repeat(10_000));
    let err = verifier
        .verify_at(&eventium_header(&value), BODY, NOW)
        .unwrap_err();
    assert_eq!(
        err,
        VerifyError::TooManyEntries {
            name: "x-titanvx-signature".into(),
            limit: MAX_SIGNATURE_ENTRIES
        }
    );
    assert!(err.to_string().contains("at most 32"), "{err}");
}

#[test]
fn a_repeated_signature_header_is_rejected() {
    let headers = Signer::new(Scheme::titan(), secret("k")).sign(BODY);
    let mut doubled = headers.clone();
    doubled.append("x-webhook-signature", HeaderValue::from_static("sha256=00"));
    let verifier = Verifier::new(Scheme::titan(), secret("k"));
    assert!(verifier.verify(&headers, BODY).is_ok());
    assert_eq!(
        verifier.verify(&doubled, BODY).unwrap_err(),
        VerifyError::MalformedHeader {
            name: "x-webhook-signature".into(),
            problem: HeaderProblem::Repeated
        }
    );
}

#[test]
fn titan_requires_the_prefix_and_titanx_does_not() {
    let body = b"{}";
    let titan = Signer::new(Scheme::titan(), secret("k")).sign(body);
    let bare = titan["x-webhook-signature"].to_str().unwrap()["sha256=".len()..].to_owned();

    let mut headers = HeaderMap::new();
    headers.insert("x-webhook-signature", HeaderValue::from_str(&bare).unwrap());
    assert_eq!(
        Verifier::new(Scheme::titan(), secret("k"))
            .verify(&headers, body)
            .unwrap_err(),
        VerifyError::MalformedHeader {
            name: "x-webhook-signature".into(),
            problem: HeaderProblem::MissingPrefix
        }
    );

    let mut headers = HeaderMap::new();
    headers.insert("x-titanx-signature", HeaderValue::from_str(&bare).unwrap());
    assert!(
        Verifier::new(Scheme::titanx(), secret("k"))
            .verify(&headers, body)
            .is_ok()
    );
}

#[test]
fn uppercase_hex_is_accepted() {
    let headers = Signer::new(Scheme::github(), secret("k")).sign(BODY);
    let value = headers["x-hub-signature-256"].to_str().unwrap();
    let upper = format!("sha256={}", value["sha256=".len()..].to_uppercase());
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-hub-signature-256",
        HeaderValue::from_str(&upper).unwrap(),
    );
    assert!(
        Verifier::new(Scheme::github(), secret("k"))
            .verify(&headers, BODY)
            .is_ok()
    );
}

#[test]
fn standard_webhooks_reports_each_missing_header() {
    let verifier = Verifier::new(
        Scheme::standard_webhooks(),
        Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
    );
    let full = Signer::new(
        Scheme::standard_webhooks(),
        Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
    )
    .sign(BODY);
    assert!(verifier.verify(&full, BODY).is_ok());
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut headers = full.clone();
        headers.remove(name);
        assert_eq!(
            verifier.verify(&headers, BODY).unwrap_err(),
            VerifyError::MissingHeader { name: name.into() }
        );
    }
}

#[test]
fn standard_webhooks_ignores_other_versions_and_extra_spaces() {
    let secret_text = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let verifier = Verifier::new(
        Scheme::standard_webhooks(),
        Secret::from_whsec(secret_text).unwrap(),
    );
    let raw = RawHeaders::new(
        "v1a,bm9wZQ==  v1,bm9wZQ== v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    )
    .timestamp("1614265330")
    .id("msg_p5jXN8AQM9LWM0D4loKWxJek");
    let verified = verifier
        .verify_raw_at(raw, br#"{"test": 2432232314}"#, 1_614_265_330)
        .unwrap();
    assert_eq!(verified.signed_timestamp(), Some(1_614_265_330));
}

#[test]
fn a_standard_webhooks_id_with_a_dot_is_rejected() {
    let verifier = Verifier::new(
        Scheme::standard_webhooks(),
        Secret::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap(),
    );
    let raw = RawHeaders::new("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        .timestamp("1614265330")
        .id("msg.1");
    assert_eq!(
        verifier
            .verify_raw_at(raw, b"{}", 1_614_265_330)
            .unwrap_err(),
        VerifyError::MalformedHeader {
            name: "webhook-id".into(),
            problem: HeaderProblem::InvalidId
        }
    );
}

#[test]
fn raw_headers_missing_a_needed_value_name_the_header() {
    let verifier = Verifier::new(Scheme::standard_webhooks(), Secret::generate());
    let err = verifier
        .verify_raw(RawHeaders::new("v1,AAAA").id("msg_1"), b"{}")
        .unwrap_err();
    assert_eq!(
        err,
        VerifyError::MissingHeader {
            name: "webhook-timestamp".into()
        }
    );
}

#[test]
fn errors_never_echo_the_expected_signature_or_the_body() {
    let body = br#"{"card":"4242424242424242"}"#;
    let key = "super-secret-key";
    let expected_headers = Signer::new(Scheme::eventium(), secret(key))
        .sign_at("unused", NOW, body)
        .unwrap();
    let expected = expected_headers["x-titanvx-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    let expected_digest = expected.split_once("v1=").unwrap().1.to_owned();

    let verifier = Verifier::new(Scheme::eventium(), secret(key));
    let forged = eventium_header(&format!("t={NOW},v1={}", "b".repeat(64)));
    let errors = [
        verifier.verify_at(&forged, body, NOW).unwrap_err(),
        verifier.verify_at(&forged, body, NOW + 10_000).unwrap_err(),
        verifier
            .verify_at(&eventium_header("garbage"), body, NOW)
            .unwrap_err(),
        verifier
            .verify_at(&HeaderMap::new(), body, NOW)
            .unwrap_err(),
    ];
    for err in errors {
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains(&expected_digest), "{shown}");
            assert!(!shown.contains(key), "{shown}");
            assert!(!shown.contains("4242"), "{shown}");
            assert!(!shown.contains(&"b".repeat(64)), "{shown}");
        }
    }
}

#[test]
fn signer_and_verifier_debug_show_no_key_material() {
    let key = "debug-me-not";
    let signer = Signer::new(Scheme::titan(), secret(key));
    let verifier = Verifier::new(Scheme::titan(), secret(key));
    let headers = signer.sign(BODY);
    for shown in [
        format!("{signer:?}"),
        format!("{verifier:?}"),
        format!("{headers:?}"),
    ] {
        assert!(!shown.contains(key), "{shown}");
        assert!(
            !shown.contains("sha256="),
            "signature header is sensitive: {shown}"
        );
    }
}

#[test]
fn bodies_are_bytes_not_text() {
    let bodies: [&[u8]; 4] = [
        "{\"text\":\"héllo 👋 🇫🇷\"}".as_bytes(),
        &[0xff, 0xfe, 0xfd, 0x00, 0x80],
        b"",
        &[0u8; 4096],
    ];
    for scheme in [
        Scheme::titan(),
        Scheme::eventium(),
        Scheme::standard_webhooks(),
    ] {
        let key = Secret::generate();
        let signer = Signer::new(scheme.clone(), key.clone_secret());
        let verifier = Verifier::new(scheme.clone(), key);
        for body in bodies {
            let headers = signer.sign(body);
            assert!(
                verifier.verify(&headers, body).is_ok(),
                "{} {body:?}",
                scheme.name()
            );
        }
    }
}

#[test]
fn verify_json_parses_only_after_verifying() {
    #[derive(Debug, serde::Deserialize)]
    struct Event {
        #[allow(dead_code)]
        id: String,
    }
    let verifier = Verifier::new(Scheme::titan(), secret("k"));
    let signer = Signer::new(Scheme::titan(), secret("k"));

    // Invalid JSON with a bad signature: the signature error wins.
    let headers = signer.sign(b"{}");
    let err = verifier
        .verify_json::<Event>(&headers, b"not json")
        .unwrap_err();
    assert_eq!(err.code(), "signature_mismatch");

    // Authentic but the wrong shape: the payload error names the field.
    let headers = signer.sign(br#"{"id":5}"#);
    let err = verifier
        .verify_json::<Event>(&headers, br#"{"id":5}"#)
        .unwrap_err();
    assert_eq!(err.code(), "invalid_payload");
    assert!(err.to_string().contains("`id`"), "{err}");
}

#[test]
fn payload_errors_name_the_field_but_never_quote_the_body() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Card {
        number: u64,
        #[serde(default)]
        kind: Option<Kind>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Debit,
    }

    let verifier = Verifier::new(Scheme::titan(), secret("k"));
    let signer = Signer::new(Scheme::titan(), secret("k"));
    let cases: [(&[u8], &str, &str); 5] = [
        (
            br#"{"number":"4242424242424242"}"#,
            "number",
            "invalid type: string, expected u64 at line 1 column 28",
        ),
        (
            br#"{"number":-4242}"#,
            "number",
            "invalid value: integer, expected u64",
        ),
        (
            br#"{"number":1,"kind":"secret-4242"}"#,
            "kind",
            "unknown variant, expected `debit`",
        ),
        (br#"{"kind":"debit"}"#, ".", "missing field `number`"),
        (br#"{"number":4242"#, "?", "EOF while parsing an object"),
    ];
    for (body, path, message) in cases {
        let err = verifier
            .verify_json::<Card>(&signer.sign(body), body)
            .unwrap_err();
        let VerifyError::InvalidPayload(payload) = &err else {
            panic!("{err}");
        };
        assert_eq!(payload.path(), path, "{err}");
        assert!(
            payload.message().starts_with(message),
            "{}",
            payload.message()
        );
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(!shown.contains("4242"), "{shown}");
        }
    }
}
