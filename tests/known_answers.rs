//! Known-answer tests: published examples and vectors computed by an
//! independent HMAC implementation, in `tests/data/`.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use titan_webhooks::{Scheme, Secret, Signer, Verifier};

#[derive(Deserialize)]
struct Rfc4231 {
    cases: Vec<RfcCase>,
}

#[derive(Deserialize)]
struct RfcCase {
    case: u32,
    key_hex: String,
    data_hex: String,
    hmac_sha256: String,
    truncated_to_bytes: Option<usize>,
}

#[derive(Deserialize)]
struct SchemeVectors {
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    scheme: String,
    secret: String,
    body_hex: String,
    now: Option<u64>,
    /// What was signed, for timestamped schemes.
    timestamp: Option<u64>,
    id: Option<String>,
    /// Whether the headers are exactly what a signer writes (bare hex and
    /// extra `v0` entries are accepted but never written).
    canonical: bool,
    headers: std::collections::BTreeMap<String, String>,
}

fn preset(name: &str) -> Scheme {
    match name {
        "titan" => Scheme::titan(),
        "titanx" => Scheme::titanx(),
        "eventium" => Scheme::eventium(),
        "stripe" => Scheme::stripe(),
        "github" => Scheme::github(),
        "standard_webhooks" => Scheme::standard_webhooks(),
        other => panic!("unknown scheme {other} in fixture"),
    }
}

fn header_map(headers: &std::collections::BTreeMap<String, String>) -> HeaderMap {
    headers
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            )
        })
        .collect()
}

/// A bare-hex, body-only scheme: exactly HMAC-SHA256(key, data).
fn bare_hmac() -> Scheme {
    Scheme::builder("bare", "x-mac").prefix("").build().unwrap()
}

#[test]
fn rfc4231_hmac_sha256_cases() {
    let fixture: Rfc4231 =
        serde_json::from_str(include_str!("data/rfc4231.json")).expect("fixture parses");
    assert_eq!(fixture.cases.len(), 7);
    for case in fixture.cases {
        let key = const_hex::decode(&case.key_hex).unwrap();
        let data = const_hex::decode(&case.data_hex).unwrap();
        let headers = Signer::new(bare_hmac(), Secret::from_bytes(&key).unwrap())
            .sign_at("unused", 0, &data)
            .unwrap();
        let produced = headers["x-mac"].to_str().unwrap().to_owned();

        match case.truncated_to_bytes {
            Some(bytes) => assert_eq!(
                &produced[..bytes * 2],
                case.hmac_sha256,
                "case {}",
                case.case
            ),
            None => {
                assert_eq!(produced, case.hmac_sha256, "case {}", case.case);
                let verifier = Verifier::new(bare_hmac(), Secret::from_bytes(&key).unwrap());
                verifier
                    .verify(&headers, &data)
                    .unwrap_or_else(|err| panic!("case {}: {err}", case.case));
            }
        }
    }
}

#[test]
fn every_scheme_vector_verifies_and_rejects_a_flipped_byte() {
    let fixture: SchemeVectors =
        serde_json::from_str(include_str!("data/scheme_vectors.json")).expect("fixture parses");
    let mut schemes_seen = std::collections::BTreeSet::new();
    for vector in &fixture.vectors {
        let scheme = preset(&vector.scheme);
        let secret = scheme.secret_encoding().parse(&vector.secret).unwrap();
        let verifier = Verifier::new(scheme, secret);
        let headers = header_map(&vector.headers);
        let body = const_hex::decode(&vector.body_hex).unwrap();
        let now = vector.now.unwrap_or(0);

        let verified = verifier
            .verify_at(&headers, &body, now)
            .unwrap_or_else(|err| panic!("{} vector: {err}", vector.scheme));
        assert_eq!(verified.secret_index(), 0);

        let mut tampered = body.clone();
        match tampered.first_mut() {
            Some(byte) => *byte ^= 0x01,
            None => tampered.push(b' '),
        }
        let err = verifier.verify_at(&headers, &tampered, now).unwrap_err();
        assert_eq!(err.code(), "signature_mismatch", "{} vector", vector.scheme);
        schemes_seen.insert(vector.scheme.clone());
    }
    assert_eq!(schemes_seen.len(), 6, "every preset has a vector");
}

#[test]
fn signing_reproduces_every_canonical_vector_exactly() {
    let fixture: SchemeVectors =
        serde_json::from_str(include_str!("data/scheme_vectors.json")).expect("fixture parses");
    let canonical: Vec<&Vector> = fixture.vectors.iter().filter(|v| v.canonical).collect();
    assert!(canonical.len() >= 6);
    for vector in canonical {
        let scheme = preset(&vector.scheme);
        let secret = scheme.secret_encoding().parse(&vector.secret).unwrap();
        let body = const_hex::decode(&vector.body_hex).unwrap();
        let id = vector.id.as_deref().unwrap_or("msg_unused");
        let produced = Signer::new(scheme, secret)
            .sign_at(id, vector.timestamp.unwrap_or(0), &body)
            .unwrap();
        assert_eq!(
            produced,
            header_map(&vector.headers),
            "{} vector",
            vector.scheme
        );
    }
}

#[test]
fn github_documented_example() {
    let verifier = Verifier::new(
        Scheme::github(),
        Secret::from_utf8("It's a Secret to Everybody").unwrap(),
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-hub-signature-256",
        HeaderValue::from_static(
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        ),
    );
    assert!(verifier.verify(&headers, b"Hello, World!").is_ok());
}

#[test]
fn standard_webhooks_specification_example() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let signer = Signer::new(
        Scheme::standard_webhooks(),
        Secret::from_whsec(secret).unwrap(),
    );
    let headers = signer
        .sign_at(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
    assert_eq!(
        headers["webhook-signature"],
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
    assert_eq!(headers["webhook-id"], "msg_p5jXN8AQM9LWM0D4loKWxJek");
    assert_eq!(headers["webhook-timestamp"], "1614265330");
}
