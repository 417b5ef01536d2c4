//! The SSRF guard on arbitrary URL strings and addresses: parsing and
//! classification only, no DNS.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use titan_webhooks::{GuardError, UrlGuard};
use titan_webhooks_fuzz as _; // The 1 MiB allocation cap.

static STRICT: LazyLock<UrlGuard> = LazyLock::new(UrlGuard::new);
static LENIENT: LazyLock<UrlGuard> = LazyLock::new(|| {
    UrlGuard::new()
        .allow_loopback_for_testing()
        .allow_http_for_testing()
        .allow_net("10.1.0.0/16".parse().expect("a net"))
        .allow_host("hooks.internal")
});

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    v4: Vec<u32>,
    v6: Vec<u128>,
    host: &'a str,
    url: &'a str,
}

fn check_message(err: &GuardError) {
    let message = err.to_string();
    assert!(!message.is_empty());
}

fuzz_target!(|input: Input<'_>| {
    for guard in [&*STRICT, &*LENIENT] {
        match guard.check_str(input.url) {
            Ok(url) => {
                assert!(matches!(url.scheme(), "https" | "http"));
                assert!(url.host().is_some());
                assert!(url.username().is_empty() && url.password().is_none());
                // Accepted once, accepted again when written out and read
                // back, as a store does.
                assert!(guard.check_str(url.as_str()).is_ok(), "{url}");
            }
            Err(err) => check_message(&err),
        }

        let addresses: Vec<IpAddr> = input
            .v4
            .iter()
            .map(|&n| IpAddr::V4(Ipv4Addr::from(n)))
            .chain(input.v6.iter().map(|&n| IpAddr::V6(Ipv6Addr::from(n))))
            .collect();
        for &address in &addresses {
            match guard.check_ip(address) {
                // The IPv4-mapped form gets the same verdict.
                Ok(()) => {
                    if let IpAddr::V4(v4) = address {
                        assert!(guard.check_ip(IpAddr::V6(v4.to_ipv6_mapped())).is_ok());
                    }
                }
                Err(err) => check_message(&err),
            }
        }
        match guard.check_resolved(input.host, &addresses) {
            Ok(()) => assert!(!addresses.is_empty()),
            Err(err) => check_message(&err),
        }
    }
});
