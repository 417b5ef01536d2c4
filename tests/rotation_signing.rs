#![allow(clippy::restriction, clippy::pedantic)]
//! Sender-side secret rotation: `Signer::with_previous` signs with the old
//! secret as well during a grace period, so receivers on either secret
//! verify, and only where the scheme's header can carry several signatures.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use proptest::prelude::*;
use titan_webhooks::{DigestEncoding, Scheme, Secret, Signer, Verifier, VerifyError};

const SIGNED_AT: u64 = 1_700_000_000;
const EXPIRES_AT: u64 = SIGNED_AT + 3_600;
const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const BODY: &[u8] = br#"{"event":"message.received","text":"caf\u00e9 \ud83d\ude00"}"#;

fn at(unix_seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix_seconds)
}

/// The schemes whose header can carry several signatures.
fn multi_signature_schemes() -> Vec<Scheme> {
    vec![
        Scheme::eventium(),
        Scheme::stripe(),
        Scheme::standard_webhooks(),
    ]
}

struct Keys {
    old: Secret,
    new: Secret,
    other: Secret,
}

impl Keys {
    fn generate() -> Self {
        Self {
            old: Secret::generate(),
            new: Secret::generate(),
            other: Secret::generate(),
        }
    }

    fn rotating_signer(&self, scheme: &Scheme, expires_at: SystemTime) -> Signer {
        Signer::new(scheme.clone(), self.new.clone_secret())
            .with_previous(self.old.clone_secret(), expires_at)
    }
}

fn verifier(scheme: &Scheme, secret: &Secret) -> Verifier {
    Verifier::new(scheme.clone(), secret.clone_secret())
}

fn signature(scheme: &Scheme, headers: &HeaderMap) -> String {
    headers[scheme.signature_header()]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The digest a single-secret signer writes for `secret`.
fn lone_digest(scheme: &Scheme, secret: &Secret, timestamp: u64, body: &[u8]) -> String {
    let headers = Signer::new(scheme.clone(), secret.clone_secret())
        .sign_at(ID, timestamp, body)
        .unwrap();
    let value = signature(scheme, &headers);
    let digest = match scheme.name() {
        "standard-webhooks" => value.strip_prefix("v1,").unwrap(),
        _ => value.split_once(",v1=").unwrap().1,
    };
    digest.to_owned()
}

#[test]
fn during_grace_the_header_carries_the_new_then_the_old_signature() {
    for scheme in multi_signature_schemes() {
        let keys = Keys::generate();
        let signer = keys.rotating_signer(&scheme, at(EXPIRES_AT));
        assert!(signer.supports_several_signatures(), "{}", scheme.name());
        let headers = signer.sign_at(ID, SIGNED_AT, BODY).unwrap();

        let new = lone_digest(&scheme, &keys.new, SIGNED_AT, BODY);
        let old = lone_digest(&scheme, &keys.old, SIGNED_AT, BODY);
        assert_ne!(new, old);
        let expected = match scheme.name() {
            "standard-webhooks" => format!("v1,{new} v1,{old}"),
            _ => format!("t={SIGNED_AT},v1={new},v1={old}"),
        };
        assert_eq!(signature(&scheme, &headers), expected, "{}", scheme.name());
        assert!(headers[scheme.signature_header()].is_sensitive());
    }
}

#[test]
fn during_grace_old_only_and_new_only_verifiers_accept_and_a_stranger_rejects() {
    for scheme in multi_signature_schemes() {
        let keys = Keys::generate();
        let headers = keys
            .rotating_signer(&scheme, at(EXPIRES_AT))
            .sign_at(ID, SIGNED_AT, BODY)
            .unwrap();

        for (who, secret) in [("old", &keys.old), ("new", &keys.new)] {
            let verified = verifier(&scheme, secret).verify_at(&headers, BODY, SIGNED_AT);
            let verified = verified.unwrap_or_else(|err| {
                panic!("{}: {who}-only verifier rejected: {err}", scheme.name())
            });
            assert_eq!(verified.secret_index(), 0);
            assert_eq!(verified.signed_timestamp(), Some(SIGNED_AT));
        }
        let err = verifier(&scheme, &keys.other)
            .verify_at(&headers, BODY, SIGNED_AT)
            .unwrap_err();
        assert_eq!(
            err,
            VerifyError::NoMatchingSignature { examined: 2 },
            "{}",
            scheme.name()
        );
        // The old signature covers the body too.
        let err = verifier(&scheme, &keys.old)
            .verify_at(&headers, b"{ }", SIGNED_AT)
            .unwrap_err();
        assert_eq!(err, VerifyError::NoMatchingSignature { examined: 2 });
    }
}

#[test]
fn the_last_second_before_expiry_still_signs_with_both() {
    for scheme in multi_signature_schemes() {
        let keys = Keys::generate();
        let timestamp = EXPIRES_AT - 1;
        let headers = keys
            .rotating_signer(&scheme, at(EXPIRES_AT))
            .sign_at(ID, timestamp, BODY)
            .unwrap();
        for secret in [&keys.old, &keys.new] {
            assert!(
                verifier(&scheme, secret)
                    .verify_at(&headers, BODY, timestamp)
                    .is_ok(),
                "{}",
                scheme.name()
            );
        }
    }
}

#[test]
fn at_and_after_expiry_only_the_new_secret_verifies() {
    for scheme in multi_signature_schemes() {
        let keys = Keys::generate();
        let signer = keys.rotating_signer(&scheme, at(EXPIRES_AT));
        let lone = Signer::new(scheme.clone(), keys.new.clone_secret());
        for timestamp in [EXPIRES_AT, EXPIRES_AT + 1, EXPIRES_AT + 86_400] {
            let headers = signer.sign_at(ID, timestamp, BODY).unwrap();
            // Exactly what a signer that never knew the old secret writes.
            assert_eq!(
                headers,
                lone.sign_at(ID, timestamp, BODY).unwrap(),
                "{} at {timestamp}",
                scheme.name()
            );
            assert!(
                verifier(&scheme, &keys.new)
                    .verify_at(&headers, BODY, timestamp)
                    .is_ok()
            );
            let err = verifier(&scheme, &keys.old)
                .verify_at(&headers, BODY, timestamp)
                .unwrap_err();
            assert_eq!(err, VerifyError::NoMatchingSignature { examined: 1 });
        }
    }
}

#[test]
fn an_expiry_within_a_second_keeps_that_second_in_the_grace_period() {
    // The timestamp EXPIRES_AT is strictly before EXPIRES_AT + 0.5 s.
    let scheme = Scheme::stripe();
    let keys = Keys::generate();
    let signer = keys.rotating_signer(&scheme, at(EXPIRES_AT) + Duration::from_millis(500));
    let headers = signer.sign_at(ID, EXPIRES_AT, BODY).unwrap();
    assert!(
        verifier(&scheme, &keys.old)
            .verify_at(&headers, BODY, EXPIRES_AT)
            .is_ok()
    );
    let headers = signer.sign_at(ID, EXPIRES_AT + 1, BODY).unwrap();
    assert!(
        verifier(&scheme, &keys.old)
            .verify_at(&headers, BODY, EXPIRES_AT + 1)
            .is_err()
    );
}

#[test]
fn an_expiry_before_the_epoch_never_signs_with_the_old_secret() {
    let scheme = Scheme::eventium();
    let keys = Keys::generate();
    let signer = keys.rotating_signer(&scheme, UNIX_EPOCH - Duration::from_secs(1));
    let headers = signer.sign_at(ID, 0, BODY).unwrap();
    assert_eq!(signature(&scheme, &headers).matches("v1=").count(), 1);
    assert!(
        verifier(&scheme, &keys.old)
            .verify_at(&headers, BODY, 0)
            .is_err()
    );
    assert!(
        verifier(&scheme, &keys.new)
            .verify_at(&headers, BODY, 0)
            .is_ok()
    );
}

#[test]
fn sign_uses_the_current_time_to_decide() {
    let now = SystemTime::now();
    for scheme in multi_signature_schemes() {
        let keys = Keys::generate();

        let headers = keys
            .rotating_signer(&scheme, now + Duration::from_secs(3_600))
            .sign(BODY);
        for secret in [&keys.old, &keys.new] {
            assert!(verifier(&scheme, secret).verify(&headers, BODY).is_ok());
        }

        let headers = keys
            .rotating_signer(&scheme, now - Duration::from_secs(3_600))
            .sign(BODY);
        assert!(verifier(&scheme, &keys.new).verify(&headers, BODY).is_ok());
        assert!(verifier(&scheme, &keys.old).verify(&headers, BODY).is_err());
    }
}

#[test]
fn with_previous_again_replaces_the_previous_secret() {
    let scheme = Scheme::stripe();
    let keys = Keys::generate();
    let signer = keys
        .rotating_signer(&scheme, at(EXPIRES_AT))
        .with_previous(keys.other.clone_secret(), at(EXPIRES_AT));
    let headers = signer.sign_at(ID, SIGNED_AT, BODY).unwrap();
    assert_eq!(signature(&scheme, &headers).matches(",v1=").count(), 2);
    assert!(
        verifier(&scheme, &keys.other)
            .verify_at(&headers, BODY, SIGNED_AT)
            .is_ok()
    );
    assert!(
        verifier(&scheme, &keys.old)
            .verify_at(&headers, BODY, SIGNED_AT)
            .is_err()
    );
}

#[test]
fn standard_webhooks_reference_implementation_verifies_rotated_headers() {
    // The reference crate checks timestamps against the wall clock.
    let now = SystemTime::now();
    let now_secs = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let scheme = Scheme::standard_webhooks();
    let keys = Keys::generate();
    let reference = |secret: &Secret| standardwebhooks::Webhook::new(&secret.to_whsec()).unwrap();

    let headers = keys
        .rotating_signer(&scheme, now + Duration::from_secs(3_600))
        .sign_at(ID, now_secs, BODY)
        .unwrap();
    assert_eq!(signature(&scheme, &headers).matches("v1,").count(), 2);
    reference(&keys.old)
        .verify(BODY, &headers)
        .expect("old-only reference verifier");
    reference(&keys.new)
        .verify(BODY, &headers)
        .expect("new-only reference verifier");
    assert!(matches!(
        reference(&keys.other).verify(BODY, &headers),
        Err(standardwebhooks::WebhookError::InvalidSignature)
    ));

    // Once expired, the reference verifier on the old secret rejects.
    let headers = keys
        .rotating_signer(&scheme, now - Duration::from_secs(1))
        .sign_at(ID, now_secs, BODY)
        .unwrap();
    reference(&keys.new)
        .verify(BODY, &headers)
        .expect("new-only reference verifier after expiry");
    assert!(matches!(
        reference(&keys.old).verify(BODY, &headers),
        Err(standardwebhooks::WebhookError::InvalidSignature)
    ));
}

#[test]
fn prefixed_schemes_sign_with_the_new_secret_only_even_during_grace() {
    for scheme in [Scheme::titan(), Scheme::titanx(), Scheme::github()] {
        let keys = Keys::generate();
        let signer = keys.rotating_signer(&scheme, at(EXPIRES_AT));
        assert!(!signer.supports_several_signatures(), "{}", scheme.name());
        let headers = signer.sign_at(ID, SIGNED_AT, BODY).unwrap();

        let value = signature(&scheme, &headers);
        let digest = value.strip_prefix("sha256=").unwrap();
        assert_eq!(digest.len(), 64, "exactly one digest: {value}");
        assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()));
        let lone = Signer::new(scheme.clone(), keys.new.clone_secret());
        assert_eq!(headers, lone.sign_at(ID, SIGNED_AT, BODY).unwrap());

        assert!(
            verifier(&scheme, &keys.new)
                .verify_at(&headers, BODY, SIGNED_AT)
                .is_ok()
        );
        let err = verifier(&scheme, &keys.old)
            .verify_at(&headers, BODY, SIGNED_AT)
            .unwrap_err();
        assert_eq!(err, VerifyError::NoMatchingSignature { examined: 1 });
    }
}

#[test]
fn debug_shows_rotation_but_no_key_material() {
    let old = "old-key-that-must-not-leak";
    let new = "new-key-that-must-not-leak";
    let rotating = Signer::new(Scheme::stripe(), Secret::from_utf8(new).unwrap())
        .with_previous(Secret::from_utf8(old).unwrap(), at(EXPIRES_AT));
    let debug = format!("{rotating:?}");
    assert!(debug.contains("rotating: true"), "{debug}");
    assert!(!debug.contains(old) && !debug.contains(new), "{debug}");
    let pretty = format!("{rotating:#?}");
    assert!(!pretty.contains(old) && !pretty.contains(new), "{pretty}");

    let plain = Signer::new(Scheme::stripe(), Secret::from_utf8(new).unwrap());
    assert!(format!("{plain:?}").contains("rotating: false"));
    // A prefixed scheme drops the previous secret: it is not rotating.
    let titan = Signer::new(Scheme::titan(), Secret::from_utf8(new).unwrap())
        .with_previous(Secret::from_utf8(old).unwrap(), at(EXPIRES_AT));
    assert!(format!("{titan:?}").contains("rotating: false"));
}

#[test]
fn invalid_utf8_and_empty_bodies_verify_with_either_secret() {
    let bodies: [&[u8]; 3] = [b"", b"\xff\xfe\x00not utf-8\x80", "😀".as_bytes()];
    for scheme in multi_signature_schemes() {
        let keys = Keys::generate();
        let signer = keys.rotating_signer(&scheme, at(EXPIRES_AT));
        for body in bodies {
            let headers = signer.sign_at(ID, SIGNED_AT, body).unwrap();
            for secret in [&keys.old, &keys.new] {
                assert!(
                    verifier(&scheme, secret)
                        .verify_at(&headers, body, SIGNED_AT)
                        .is_ok()
                );
            }
        }
    }
}

/// Key-value and versioned-list schemes, presets and custom ones.
fn rotating_schemes() -> Vec<Scheme> {
    vec![
        Scheme::eventium(),
        Scheme::stripe(),
        Scheme::standard_webhooks(),
        Scheme::builder("custom-kv", "x-custom-signature")
            .key_value("ts", "sig")
            .build()
            .unwrap(),
        Scheme::builder("custom-list", "x-custom-signature")
            .versioned_list("v2")
            .encoding(DigestEncoding::Base64)
            .timestamp_header("x-custom-timestamp")
            .id_header("x-custom-id")
            .build()
            .unwrap(),
    ]
}

proptest! {
    #[test]
    fn both_secrets_verify_any_body_during_grace(
        scheme_index in 0usize..5,
        old in proptest::collection::vec(any::<u8>(), 1..100),
        new in proptest::collection::vec(any::<u8>(), 1..100),
        body in proptest::collection::vec(any::<u8>(), 0..2048),
        timestamp in 0u64..EXPIRES_AT,
    ) {
        prop_assume!(old != new);
        let scheme = rotating_schemes().swap_remove(scheme_index);
        let old = Secret::from_bytes(&old).unwrap();
        let new = Secret::from_bytes(&new).unwrap();
        let signer = Signer::new(scheme.clone(), new.clone_secret())
            .with_previous(old.clone_secret(), at(EXPIRES_AT));
        let headers = signer.sign_at(ID, timestamp, &body).unwrap();

        for secret in [&old, &new] {
            let verified = verifier(&scheme, secret).verify_at(&headers, &body, timestamp);
            prop_assert!(verified.is_ok(), "{}: {:?}", scheme.name(), verified);
        }
        // A changed body fails for both.
        let mut tampered = body.clone();
        tampered.push(0x80);
        for secret in [&old, &new] {
            let err = verifier(&scheme, secret)
                .verify_at(&headers, &tampered, timestamp)
                .unwrap_err();
            prop_assert_eq!(err, VerifyError::NoMatchingSignature { examined: 2 });
        }
    }
}
