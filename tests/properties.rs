//! Property tests: round trips for every scheme, and no input panics.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use titan_webhooks::{DigestEncoding, RawHeaders, Scheme, Secret, Signer, Verifier};

const EMPTY_OBJECT: &[u8] = b"{}";

fn presets() -> Vec<Scheme> {
    vec![
        Scheme::titan(),
        Scheme::titanx(),
        Scheme::eventium(),
        Scheme::github(),
        Scheme::stripe(),
        Scheme::standard_webhooks(),
        Scheme::svix(),
        Scheme::builder("custom", "x-custom-signature")
            .versioned_list("v2")
            .encoding(DigestEncoding::Base64)
            .timestamp_header("x-custom-timestamp")
            .id_header("x-custom-id")
            .build()
            .unwrap(),
    ]
}

/// Ids a signer accepts: visible ASCII without `.`.
fn message_id() -> impl Strategy<Value = String> {
    "[!-\\-/-~]{1,64}"
}

proptest! {
    #[test]
    fn sign_then_verify_round_trips_for_every_scheme(
        scheme_index in 0usize..8,
        key in proptest::collection::vec(any::<u8>(), 1..200),
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        id in message_id(),
        timestamp in 0u64..=u64::MAX / 2,
    ) {
        let scheme = presets().swap_remove(scheme_index);
        let signer = Signer::new(scheme.clone(), Secret::from_bytes(&key).unwrap());
        let verifier = Verifier::new(scheme.clone(), Secret::from_bytes(&key).unwrap());
        let headers = signer.sign_at(&id, timestamp, &body).unwrap();
        let verified = verifier.verify_at(&headers, &body, timestamp).unwrap();
        prop_assert_eq!(verified.signed_timestamp(), scheme.is_timestamped().then_some(timestamp));

        // Any change to the body breaks the signature.
        let mut tampered = body.clone();
        tampered.push(0);
        prop_assert_eq!(
            verifier.verify_at(&headers, &tampered, timestamp).unwrap_err().code(),
            "signature_mismatch"
        );
    }

    #[test]
    fn a_different_key_never_verifies(
        key in proptest::collection::vec(any::<u8>(), 1..64),
        other in proptest::collection::vec(any::<u8>(), 1..64),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        prop_assume!(key != other);
        for scheme in presets() {
            let headers = Signer::new(scheme.clone(), Secret::from_bytes(&key).unwrap())
                .sign_at("msg_1", 1_000, &body)
                .unwrap();
            let result = Verifier::new(scheme, Secret::from_bytes(&other).unwrap())
                .verify_at(&headers, &body, 1_000);
            prop_assert_eq!(result.unwrap_err().code(), "signature_mismatch");
        }
    }

    #[test]
    fn arbitrary_header_bytes_never_panic(
        signature in proptest::collection::vec(any::<u8>(), 0..600),
        timestamp in proptest::collection::vec(any::<u8>(), 0..40),
        id in proptest::collection::vec(any::<u8>(), 0..300),
        body in proptest::collection::vec(any::<u8>(), 0..64),
        now in any::<u64>(),
    ) {
        for scheme in presets() {
            let verifier = Verifier::new(scheme.clone(), Secret::from_utf8("k").unwrap());
            let mut headers = HeaderMap::new();
            let names: Vec<HeaderName> = scheme.headers().cloned().collect();
            for (name, value) in names.iter().zip([&signature, &timestamp, &id]) {
                if let Ok(value) = HeaderValue::from_bytes(value) {
                    headers.insert(name.clone(), value);
                }
            }
            // Forged input never verifies; any error is fine.
            prop_assert!(verifier.verify_at(&headers, &body, now).is_err());
        }
    }

    #[test]
    fn arbitrary_header_strings_never_panic(
        signature in "\\PC{0,300}",
        timestamp in "[0-9t=v1, -]{0,30}",
        id in "\\PC{0,40}",
        now in any::<u64>(),
    ) {
        for scheme in presets() {
            let verifier = Verifier::new(scheme, Secret::from_utf8("k").unwrap());
            let raw = RawHeaders::new(&signature).timestamp(&timestamp).id(&id);
            prop_assert!(verifier.verify_raw_at(raw, EMPTY_OBJECT, now).is_err());
        }
    }

    #[test]
    fn structured_but_hostile_key_value_headers_never_panic(
        entries in proptest::collection::vec(
            prop_oneof![
                "t=[0-9]{0,25}",
                "t=-[0-9]{1,20}",
                "v1=[0-9a-fA-F]{0,70}",
                "v0=[a-z]{0,10}",
                "[a-z]{0,3}",
                "=",
                ",",
            ],
            0..60,
        ),
        now in any::<u64>(),
    ) {
        let value = entries.join(",");
        let verifier = Verifier::new(Scheme::eventium(), Secret::from_utf8("k").unwrap());
        let raw = RawHeaders::new(&value);
        prop_assert!(verifier.verify_raw_at(raw, EMPTY_OBJECT, now).is_err());
    }
}
