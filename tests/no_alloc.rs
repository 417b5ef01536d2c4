//! A successful verify makes no heap allocation.
//!
//! This file is its own test binary because the allocation profiler is
//! process-wide.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use titan_webhooks::{Scheme, Secret, Signer, Verifier};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[test]
fn successful_verify_does_not_allocate() {
    let body = vec![b'x'; 64 * 1024];
    let cases: Vec<(Verifier, http::HeaderMap)> = [
        Scheme::titan(),
        Scheme::titanx(),
        Scheme::eventium(),
        Scheme::github(),
        Scheme::stripe(),
        Scheme::standard_webhooks(),
        Scheme::svix(),
    ]
    .into_iter()
    .map(|scheme| {
        let secret = Secret::generate();
        let headers = Signer::new(scheme.clone(), secret.clone_secret())
            .sign_at("msg_1", 1_700_000_000, &body)
            .unwrap();
        // Two secrets, so the rotation path is measured too.
        let verifier = Verifier::new(scheme, Secret::generate()).with_secret(secret);
        (verifier, headers)
    })
    .collect();

    let _profiler = dhat::Profiler::builder().testing().build();
    let before = dhat::HeapStats::get();
    for (verifier, headers) in &cases {
        let verified = verifier.verify_at(headers, &body, 1_700_000_000).unwrap();
        assert_eq!(verified.secret_index(), 1);
    }
    let after = dhat::HeapStats::get();
    assert_eq!(
        after.total_blocks,
        before.total_blocks,
        "verify allocated {} blocks ({} bytes)",
        after.total_blocks - before.total_blocks,
        after.total_bytes - before.total_bytes
    );

    // Control: the profiler does see allocations, so the check above can fail.
    let json = br#"{"a":"b"}"#;
    let signed = Signer::new(Scheme::titan(), Secret::from_utf8("k").unwrap()).sign(json);
    let verifier = Verifier::new(Scheme::titan(), Secret::from_utf8("k").unwrap());
    let before = dhat::HeapStats::get();
    let value = verifier
        .verify_json::<serde_json::Value>(&signed, json)
        .unwrap();
    assert_eq!(value["a"], "b");
    assert!(dhat::HeapStats::get().total_blocks > before.total_blocks);
}
