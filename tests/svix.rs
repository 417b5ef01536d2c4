//! Svix's header names, and secrets as users paste them.
//!
//! The known answers come from the `svix` and `standardwebhooks` Python
//! packages (svix 2.9.1, standardwebhooks 1.1.0): the first is the one in
//! their own tests, the second was signed with them from an unpadded secret
//! without its prefix.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use titan_webhooks::receiver::Receiver;
use titan_webhooks::subscription::{CreateWebhook, CustomHeader, WebhookRules};
use titan_webhooks::{
    HeaderProblem, Scheme, Secret, SecretError, Signer, UrlGuard, Verifier, VerifyError,
};

/// The svix libraries' own test vector.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TIMESTAMP: u64 = 1614265330;
const BODY: &[u8] = br#"{"test": 2432232314}"#;
const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

/// Signed by `standardwebhooks.Webhook("AQIDBAUGBwgJCgsMDQ4PEBE")`: the
/// 17 bytes 1..=17, unpadded and without `whsec_`.
const UNPADDED_SECRET: &str = "AQIDBAUGBwgJCgsMDQ4PEBE";
const UNPADDED_SIGNATURE: &str = "v1,7/X8FEePCduTAnmV3ApjanlBXIFyFzQD9hCc78F+rI0=";

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    headers
}

fn family(prefix: &str, id: &str, signature: &str) -> Vec<(String, String)> {
    vec![
        (format!("{prefix}-id"), id.to_owned()),
        (format!("{prefix}-timestamp"), TIMESTAMP.to_string()),
        (format!("{prefix}-signature"), signature.to_owned()),
    ]
}

fn map(pairs: &[(String, String)]) -> HeaderMap {
    let borrowed: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    headers(&borrowed)
}

fn standard() -> Verifier {
    Verifier::from_secret_str(Scheme::standard_webhooks(), SECRET).unwrap()
}

#[test]
fn svix_headers_verify_with_the_svix_known_answer() {
    let svix = map(&family("svix", ID, SIGNATURE));
    for verifier in [
        standard(),
        Verifier::from_secret_str(Scheme::svix(), SECRET).unwrap(),
    ] {
        let verified = verifier.verify_at(&svix, BODY, TIMESTAMP).unwrap();
        assert_eq!(verified.signed_timestamp(), Some(TIMESTAMP));
        // The svix-id is signed: another one fails.
        let other_id = map(&family("svix", "msg_other", SIGNATURE));
        assert_eq!(
            verifier.verify_at(&other_id, BODY, TIMESTAMP).unwrap_err(),
            VerifyError::NoMatchingSignature { examined: 1 }
        );
    }
    // The webhook-* names keep working.
    let webhook = map(&family("webhook", ID, SIGNATURE));
    assert!(standard().verify_at(&webhook, BODY, TIMESTAMP).is_ok());
}

#[test]
fn the_svix_preset_signs_under_svix_names() {
    let signer = Signer::from_secret_str(Scheme::svix(), SECRET).unwrap();
    let signed = signer.sign_at(ID, TIMESTAMP, BODY).unwrap();
    assert_eq!(signed["svix-signature"], SIGNATURE);
    assert_eq!(signed["svix-id"], ID);
    assert_eq!(signed["svix-timestamp"], "1614265330");
    assert_eq!(signed.len(), 3, "no webhook-* headers as well");
    assert_eq!(Scheme::preset("svix"), Some(Scheme::svix()));
    assert_eq!(Scheme::svix().name(), "svix");
}

#[test]
fn an_unpadded_secret_without_prefix_verifies_the_python_signature() {
    let verifier = Verifier::from_secret_str(Scheme::standard_webhooks(), UNPADDED_SECRET).unwrap();
    let signed = map(&family("svix", "msg_2", UNPADDED_SIGNATURE));
    assert!(
        verifier
            .verify_at(&signed, br#"{"a":1}"#, TIMESTAMP)
            .is_ok()
    );
    // Every spelling of the key is the same key.
    let key: Vec<u8> = (1..=17).collect();
    for text in [
        "AQIDBAUGBwgJCgsMDQ4PEBE",
        "AQIDBAUGBwgJCgsMDQ4PEBE=",
        "whsec_AQIDBAUGBwgJCgsMDQ4PEBE",
        "whsec_AQIDBAUGBwgJCgsMDQ4PEBE=",
    ] {
        let secret = Scheme::standard_webhooks().secret(text).unwrap();
        assert_eq!(secret.expose_bytes(), key, "{text}");
    }
}

#[test]
fn a_short_secret_is_refused_with_or_without_prefix() {
    // 15 bytes, one short of the minimum.
    for text in ["AAAAAAAAAAAAAAAAAAAA", "whsec_AAAAAAAAAAAAAAAAAAAA"] {
        assert_eq!(
            Scheme::standard_webhooks().secret(text).unwrap_err(),
            SecretError::TooShort { len: 15, min: 16 },
            "{text}"
        );
    }
    assert_eq!(
        Verifier::from_secret_str(Scheme::svix(), "not base64!").unwrap_err(),
        SecretError::InvalidBase64
    );
}

#[test]
fn the_stripe_scheme_keeps_its_secret_literal() {
    // Stripe's whsec_ text happens to be valid base64 here: decoding it
    // would give a key, and the wrong one.
    let stripe = Scheme::stripe();
    assert_eq!(
        stripe.secret(SECRET).unwrap().expose_bytes(),
        SECRET.as_bytes()
    );
    // HMAC-SHA256 keyed on the whole string, computed with Python's hmac.
    let signed = headers(&[(
        "stripe-signature",
        "t=1700000000,v1=211d3e17c85047207929a88be720ec275a19e8522b050ad76d8f99d78305a21c",
    )]);
    let body = br#"{"id":"evt_1"}"#;
    let verifier = Verifier::from_secret_str(stripe.clone(), SECRET).unwrap();
    assert!(verifier.verify_at(&signed, body, 1_700_000_000).is_ok());
    let decoded = Verifier::new(stripe, Secret::from_whsec(SECRET).unwrap());
    assert_eq!(
        decoded
            .verify_at(&signed, body, 1_700_000_000)
            .unwrap_err()
            .code(),
        "signature_mismatch"
    );
}

#[test]
fn mixed_families_are_refused() {
    let mixed = headers(&[
        ("webhook-id", ID),
        ("svix-timestamp", "1614265330"),
        ("webhook-signature", SIGNATURE),
    ]);
    let err = standard().verify_at(&mixed, BODY, TIMESTAMP).unwrap_err();
    let problem = HeaderProblem::MixedFamilies;
    assert_eq!(
        err,
        VerifyError::MalformedHeader {
            name: "svix-timestamp".into(),
            problem
        }
    );
    assert_eq!(err.code(), "malformed_header");
    assert!(
        err.to_string().contains("mixes `webhook-*` and `svix-*`"),
        "{err}"
    );
    // The svix preset names a header that is not its own.
    let err = Verifier::from_secret_str(Scheme::svix(), SECRET)
        .unwrap()
        .verify_at(&mixed, BODY, TIMESTAMP)
        .unwrap_err();
    assert_eq!(
        err,
        VerifyError::MalformedHeader {
            name: "webhook-signature".into(),
            problem
        }
    );

    // A complete family with a stray header of the other is refused too:
    // the svix libraries would verify the stray one in its place.
    let mut stray = map(&family("webhook", ID, SIGNATURE));
    stray.insert("svix-id", HeaderValue::from_static("msg_other"));
    assert_eq!(
        standard().verify_at(&stray, BODY, TIMESTAMP).unwrap_err(),
        VerifyError::MalformedHeader {
            name: "svix-id".into(),
            problem
        }
    );
}

#[test]
fn an_incomplete_family_names_its_missing_header() {
    let partial = headers(&[
        ("svix-signature", SIGNATURE),
        ("svix-timestamp", "1614265330"),
    ]);
    assert_eq!(
        standard().verify_at(&partial, BODY, TIMESTAMP).unwrap_err(),
        VerifyError::MissingHeader {
            name: "svix-id".into()
        }
    );
    // With nothing at all, each scheme names its own signature header.
    let none = HeaderMap::new();
    assert_eq!(
        standard().verify_at(&none, BODY, TIMESTAMP).unwrap_err(),
        VerifyError::MissingHeader {
            name: "webhook-signature".into()
        }
    );
    let svix = Verifier::from_secret_str(Scheme::svix(), SECRET).unwrap();
    assert_eq!(
        svix.verify_at(&none, BODY, TIMESTAMP).unwrap_err(),
        VerifyError::MissingHeader {
            name: "svix-signature".into()
        }
    );
}

#[test]
fn with_both_families_complete_the_svix_ones_are_verified() {
    let bad = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let mut svix_good = map(&family("svix", ID, SIGNATURE));
    svix_good.extend(map(&family("webhook", ID, bad)));
    let mut webhook_good = map(&family("svix", ID, bad));
    webhook_good.extend(map(&family("webhook", ID, SIGNATURE)));
    for scheme in [Scheme::standard_webhooks(), Scheme::svix()] {
        let verifier = Verifier::from_secret_str(scheme.clone(), SECRET).unwrap();
        assert!(
            verifier.verify_at(&svix_good, BODY, TIMESTAMP).is_ok(),
            "{scheme:?}"
        );
        assert_eq!(
            verifier
                .verify_at(&webhook_good, BODY, TIMESTAMP)
                .unwrap_err(),
            VerifyError::NoMatchingSignature { examined: 1 },
            "{scheme:?}"
        );
    }
}

#[test]
fn a_repeated_header_of_either_family_is_refused() {
    let mut repeated = map(&family("webhook", ID, SIGNATURE));
    repeated.append("svix-id", HeaderValue::from_static(ID));
    repeated.append("svix-id", HeaderValue::from_static(ID));
    assert_eq!(
        standard()
            .verify_at(&repeated, BODY, TIMESTAMP)
            .unwrap_err(),
        VerifyError::MalformedHeader {
            name: "svix-id".into(),
            problem: HeaderProblem::Repeated
        }
    );
}

#[test]
fn the_receiver_keys_replays_on_the_svix_id() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let receiver = Receiver::new(standard());
    // Fresh enough for the receiver's clock.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let sign = |scheme, id| {
        Signer::from_secret_str(scheme, SECRET)
            .unwrap()
            .sign_at(id, now, BODY)
            .unwrap()
    };
    let mut request = http::Request::new(BODY.to_vec());
    *request.headers_mut() = sign(Scheme::svix(), ID);
    let received = runtime.block_on(receiver.receive(&request)).unwrap();
    assert_eq!(
        received.replay_key().as_str(),
        format!("standard-webhooks:id:{ID}")
    );
    // Both families complete with different ids: the svix one is verified,
    // so its id is the key.
    request
        .headers_mut()
        .extend(sign(Scheme::standard_webhooks(), "msg_webhook_family"));
    assert_eq!(request.headers().len(), 6);
    let received = runtime.block_on(receiver.receive(&request)).unwrap();
    assert_eq!(
        received.replay_key().as_str(),
        format!("standard-webhooks:id:{ID}")
    );
}

#[test]
fn custom_headers_cannot_take_either_familys_names() {
    for scheme in [Scheme::standard_webhooks(), Scheme::svix()] {
        let rules = WebhookRules::with_scheme(UrlGuard::new(), scheme.clone());
        for name in [
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature",
            "Svix-Id",
            "svix-timestamp",
            "SVIX-SIGNATURE",
        ] {
            let mut request = CreateWebhook::new("https://example.com/");
            request.headers = Some(vec![CustomHeader::new(name, "v")]);
            assert!(
                rules.create(1.into(), request).is_err(),
                "{} {name}",
                scheme.name()
            );
        }
    }
    // Titan's receivers read neither family.
    let titan = WebhookRules::with_scheme(UrlGuard::new(), Scheme::titan());
    let mut request = CreateWebhook::new("https://example.com/");
    request.headers = Some(vec![CustomHeader::new("svix-id", "v")]);
    assert!(titan.create(1.into(), request).is_ok());
}

const NAMES: [&str; 6] = [
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

proptest! {
    /// Any subset of the six headers, each correctly signed: it verifies
    /// exactly when one family is complete and the other absent, or both
    /// are complete, and never panics.
    #[test]
    fn only_whole_families_verify(present in proptest::collection::vec(any::<bool>(), 6)) {
        let values = [ID, "1614265330", SIGNATURE];
        let mut request = HeaderMap::new();
        for (index, name) in NAMES.iter().enumerate() {
            if present[index] {
                request.insert(*name, HeaderValue::from_static(values[index % 3]));
            }
        }
        let count = |range: std::ops::Range<usize>| present[range].iter().filter(|p| **p).count();
        let (svix, webhook) = (count(0..3), count(3..6));
        let whole = |n| n == 0 || n == 3;
        let expected = whole(svix) && whole(webhook) && svix + webhook > 0;
        let result = standard().verify_at(&request, BODY, TIMESTAMP);
        prop_assert_eq!(result.is_ok(), expected, "{:?}", result);
        if let Err(VerifyError::MalformedHeader { problem, .. }) = result {
            prop_assert_eq!(problem, HeaderProblem::MixedFamilies);
            prop_assert!(svix > 0 && webhook > 0);
        }
    }
}
