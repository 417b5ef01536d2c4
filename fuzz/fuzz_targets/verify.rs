//! Header parsing and verification for every preset scheme, through the
//! `HeaderMap` path and the raw-string path, plus a signed round trip and
//! the secret string formats.

#![no_main]

use std::sync::LazyLock;

use arbitrary::Arbitrary;
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use titan_webhooks::{RawHeaders, Scheme, SecretEncoding, Signer, Verified, Verifier, VerifyError};
use titan_webhooks_fuzz as _; // The 1 MiB allocation cap.

/// Every preset name `Scheme::preset` may know; names it does not know are
/// skipped, so a preset added later is fuzzed once listed here.
const PRESETS: [&str; 7] = [
    "titan",
    "titanx",
    "github",
    "eventium",
    "stripe",
    "standard-webhooks",
    "svix",
];

/// Read as each scheme reads its secret strings: a Standard Webhooks key,
/// and literal bytes for the others.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct Fixture {
    scheme: Scheme,
    verifier: Verifier,
    signer: Signer,
}

static FIXTURES: LazyLock<Vec<Fixture>> = LazyLock::new(|| {
    let fixtures: Vec<Fixture> = PRESETS
        .iter()
        .filter_map(|name| Scheme::preset(name))
        .map(|scheme| {
            let secret = || {
                scheme
                    .secret_encoding()
                    .parse(SECRET)
                    .expect("fixed secret")
            };
            Fixture {
                verifier: Verifier::new(scheme.clone(), secret()),
                signer: Signer::new(scheme.clone(), secret()),
                scheme,
            }
        })
        .collect();
    // The six presets of issue 20 at least; a silent drop would fuzz less.
    assert!(fixtures.len() >= 6, "only {} presets", fixtures.len());
    fixtures
});

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    scheme: u8,
    now: u64,
    /// Values of the signature, timestamp and id headers; several values
    /// of one header are sent as repeated headers.
    signature: Vec<&'a [u8]>,
    timestamp: Vec<&'a [u8]>,
    id: Vec<&'a [u8]>,
    sign_id: &'a str,
    sign_at: u64,
    secret: &'a str,
    body: &'a [u8],
}

/// What a result says, comparable across the two entry points.
fn outcome(result: &Result<Verified, VerifyError>) -> Result<(usize, Option<u64>), VerifyError> {
    result
        .as_ref()
        .map(|verified| (verified.secret_index(), verified.signed_timestamp()))
        .map_err(Clone::clone)
}

/// The first value, if it is text.
fn text<'a>(values: &[&'a [u8]]) -> Option<&'a str> {
    std::str::from_utf8(values.first()?).ok()
}

/// Whether both paths get exactly this one value for a header the scheme
/// reads: the map holds it, and it is text for the raw path. Always true
/// for a header the scheme does not read.
fn single(values: &[&[u8]], read: bool) -> bool {
    !read
        || matches!(values, [value]
            if HeaderValue::from_bytes(value).is_ok() && std::str::from_utf8(value).is_ok())
}

fn append(headers: &mut HeaderMap, name: &HeaderName, values: &[&[u8]]) {
    for value in values {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(name.clone(), value);
        }
    }
}

fuzz_target!(|input: Input<'_>| {
    let fixture = &FIXTURES[usize::from(input.scheme) % FIXTURES.len()];
    let scheme = &fixture.scheme;

    let mut headers = HeaderMap::new();
    append(&mut headers, scheme.signature_header(), &input.signature);
    if let Some(name) = scheme.timestamp_header() {
        append(&mut headers, name, &input.timestamp);
    }
    if let Some(name) = scheme.id_header() {
        append(&mut headers, name, &input.id);
    }
    let by_map = fixture.verifier.verify_at(&headers, input.body, input.now);
    match &by_map {
        Ok(verified) => {
            assert_eq!(
                verified.signed_timestamp().is_some(),
                scheme.is_timestamped()
            );
        }
        Err(err) => {
            assert!(!err.code().is_empty());
            assert!(!err.to_string().is_empty());
        }
    }

    // The raw path reads the same bytes, so it must reach the same verdict
    // whenever the map held one value per header.
    if let Some(signature) = text(&input.signature) {
        let mut raw = RawHeaders::new(signature);
        if let Some(timestamp) = text(&input.timestamp) {
            raw = raw.timestamp(timestamp);
        }
        if let Some(id) = text(&input.id) {
            raw = raw.id(id);
        }
        let by_raw = fixture.verifier.verify_raw_at(raw, input.body, input.now);
        if single(&input.signature, true)
            && single(&input.timestamp, scheme.timestamp_header().is_some())
            && single(&input.id, scheme.id_header().is_some())
        {
            assert_eq!(outcome(&by_map), outcome(&by_raw));
        }
    }

    // A delivery this crate signs verifies, and a changed body does not.
    if let Ok(signed) = fixture
        .signer
        .sign_at(input.sign_id, input.sign_at, input.body)
    {
        let verified = fixture
            .verifier
            .verify_at(&signed, input.body, input.sign_at)
            .expect("a signed delivery verifies");
        assert_eq!(verified.secret_index(), 0);
        let mut tampered = input.body.to_vec();
        tampered.push(b'\n');
        assert!(
            fixture
                .verifier
                .verify_at(&signed, &tampered, input.sign_at)
                .is_err()
        );
    }

    // Secret strings: whatever parses reveals a string that parses back to
    // the same key.
    for encoding in [SecretEncoding::Utf8, SecretEncoding::Whsec] {
        if let Ok(secret) = encoding.parse(input.secret)
            && let Ok(shown) = encoding.reveal(&secret)
        {
            let again = encoding.parse(&shown).expect("a revealed secret parses");
            assert_eq!(again.expose_bytes(), secret.expose_bytes());
        }
    }
});
