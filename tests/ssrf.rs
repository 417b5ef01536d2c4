//! The SSRF guard: address spellings, blocked ranges, name rules,
//! allowances and resolved addresses.

// The library's restriction and pedantic lints guard input from the
// network; here a panic is a failed test.
#![allow(clippy::restriction, clippy::pedantic)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use proptest::prelude::*;
use titan_webhooks::{GuardError, MAX_URL_LEN, UrlGuard};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

/// What the default guard should make of a URL.
enum Want {
    /// Accepted, and the returned URL's host is this.
    Accept(&'static str),
    /// Refused with exactly this error.
    Refuse(GuardError),
    /// Refused by the parser.
    Invalid,
}

fn blocked(address: &str, range: &str, label: &'static str) -> Want {
    Want::Refuse(GuardError::BlockedAddress {
        address: ip(address),
        range: range.into(),
        label,
    })
}

fn embedded(
    address: &str,
    form: &'static str,
    inner: &str,
    range: &str,
    label: &'static str,
) -> Want {
    Want::Refuse(GuardError::BlockedEmbeddedAddress {
        address: ip(address),
        form,
        embedded: inner.parse().unwrap(),
        range: range.into(),
        label,
    })
}

fn localhost(host: &str) -> Want {
    Want::Refuse(GuardError::LocalhostName { host: host.into() })
}

fn single_label(host: &str) -> Want {
    Want::Refuse(GuardError::SingleLabelHost { host: host.into() })
}

fn local_only(host: &str, suffix: &'static str) -> Want {
    Want::Refuse(GuardError::LocalOnlyDomain {
        host: host.into(),
        suffix,
    })
}

fn scheme(scheme: &str) -> Want {
    Want::Refuse(GuardError::SchemeNotAllowed {
        scheme: scheme.into(),
    })
}

fn userinfo() -> Want {
    Want::Refuse(GuardError::UserinfoNotAllowed)
}

fn loopback_v4() -> Want {
    blocked("127.0.0.1", "127.0.0.0/8", "loopback")
}

fn table() -> Vec<(&'static str, Want)> {
    vec![
        // Every spelling of 127.0.0.1 the WHATWG parser accepts.
        ("https://127.0.0.1/", loopback_v4()),
        ("https://2130706433/", loopback_v4()),
        ("https://0x7f.1/", loopback_v4()),
        ("https://0177.0.0.1/", loopback_v4()),
        ("https://127.1/", loopback_v4()),
        ("https://0x7f000001/", loopback_v4()),
        ("https://127.0.0.1./", loopback_v4()),
        ("https://0x7f.0.0.1/", loopback_v4()),
        ("https://%31%32%37.0.0.1/", loopback_v4()),
        ("https://127\u{3002}0\u{3002}0\u{3002}1/", loopback_v4()),
        ("https://127.0.0.1:8080/x", loopback_v4()),
        (
            "https://127.255.255.254/",
            blocked("127.255.255.254", "127.0.0.0/8", "loopback"),
        ),
        // IPv6 literals.
        ("https://[::1]/", blocked("::1", "::1/128", "loopback")),
        (
            "https://[0:0:0:0:0:0:0:1]:443/",
            blocked("::1", "::1/128", "loopback"),
        ),
        (
            "https://[::ffff:127.0.0.1]/",
            embedded(
                "::ffff:127.0.0.1",
                "IPv4-mapped",
                "127.0.0.1",
                "127.0.0.0/8",
                "loopback",
            ),
        ),
        (
            "https://[::ffff:7f00:1]/",
            embedded(
                "::ffff:127.0.0.1",
                "IPv4-mapped",
                "127.0.0.1",
                "127.0.0.0/8",
                "loopback",
            ),
        ),
        (
            "https://[0:0:0:0:0:ffff:10.0.0.1]/",
            embedded(
                "::ffff:10.0.0.1",
                "IPv4-mapped",
                "10.0.0.1",
                "10.0.0.0/8",
                "private",
            ),
        ),
        (
            "https://[::ffff:169.254.169.254]/",
            embedded(
                "::ffff:169.254.169.254",
                "IPv4-mapped",
                "169.254.169.254",
                "169.254.0.0/16",
                "link-local",
            ),
        ),
        (
            "https://[64:ff9b::a9fe:a9fe]/",
            embedded(
                "64:ff9b::a9fe:a9fe",
                "NAT64",
                "169.254.169.254",
                "169.254.0.0/16",
                "link-local",
            ),
        ),
        (
            "https://[64:ff9b::127.0.0.1]/",
            embedded(
                "64:ff9b::7f00:1",
                "NAT64",
                "127.0.0.1",
                "127.0.0.0/8",
                "loopback",
            ),
        ),
        (
            "https://[2002:a9fe:a9fe::1]/",
            embedded(
                "2002:a9fe:a9fe::1",
                "6to4",
                "169.254.169.254",
                "169.254.0.0/16",
                "link-local",
            ),
        ),
        (
            "https://[2002:7f00:1::]/",
            embedded(
                "2002:7f00:1::",
                "6to4",
                "127.0.0.1",
                "127.0.0.0/8",
                "loopback",
            ),
        ),
        (
            "https://[2002:c0a8:101:1::1]/",
            embedded(
                "2002:c0a8:101:1::1",
                "6to4",
                "192.168.1.1",
                "192.168.0.0/16",
                "private",
            ),
        ),
        (
            "https://[fd00:ec2::254]/",
            blocked("fd00:ec2::254", "fc00::/7", "unique local"),
        ),
        ("https://[fe80::1%25eth0]/", Want::Invalid),
        (
            "https://[fe80::1]/",
            blocked("fe80::1", "fe80::/10", "link-local"),
        ),
        ("https://[::]/", blocked("::", "::/128", "unspecified")),
        (
            "https://[::127.0.0.1]/",
            blocked("::127.0.0.1", "::/96", "IPv4-compatible"),
        ),
        (
            "https://[::8.8.8.8]/",
            blocked("::8.8.8.8", "::/96", "IPv4-compatible"),
        ),
        (
            "https://[::ffff:0:808:808]/",
            blocked("::ffff:0:808:808", "::ffff:0:0:0/96", "IPv4-translated"),
        ),
        (
            "https://[64:ff9b:1::a00:1]/",
            blocked("64:ff9b:1::a00:1", "64:ff9b:1::/48", "local-use NAT64"),
        ),
        (
            "https://[64:ff9b:1::808:808]/",
            blocked("64:ff9b:1::808:808", "64:ff9b:1::/48", "local-use NAT64"),
        ),
        (
            "https://[100::1]/",
            blocked("100::1", "100::/64", "discard-only"),
        ),
        (
            "https://[2001::1]/",
            blocked("2001::1", "2001::/32", "Teredo"),
        ),
        (
            "https://[2001:db8::1]/",
            blocked("2001:db8::1", "2001:db8::/32", "documentation"),
        ),
        (
            "https://[3fff::1]/",
            blocked("3fff::1", "3fff::/20", "documentation"),
        ),
        (
            "https://[fec0::1]/",
            blocked("fec0::1", "fec0::/10", "site-local"),
        ),
        (
            "https://[ff02::1]/",
            blocked("ff02::1", "ff00::/8", "multicast"),
        ),
        // IPv4 ranges, with cloud metadata addresses.
        (
            "https://169.254.169.254/latest/meta-data/",
            blocked("169.254.169.254", "169.254.0.0/16", "link-local"),
        ),
        (
            "https://0xa9.0xfe.0xa9.0xfe/",
            blocked("169.254.169.254", "169.254.0.0/16", "link-local"),
        ),
        (
            "https://2852039166/",
            blocked("169.254.169.254", "169.254.0.0/16", "link-local"),
        ),
        (
            "https://100.100.100.200/",
            blocked("100.100.100.200", "100.64.0.0/10", "carrier-grade NAT"),
        ),
        (
            "https://0.0.0.0/",
            blocked("0.0.0.0", "0.0.0.0/32", "unspecified"),
        ),
        (
            "https://0/",
            blocked("0.0.0.0", "0.0.0.0/32", "unspecified"),
        ),
        (
            "https://0.1.2.3/",
            blocked("0.1.2.3", "0.0.0.0/8", "this network"),
        ),
        (
            "https://10.0.0.5/",
            blocked("10.0.0.5", "10.0.0.0/8", "private"),
        ),
        (
            "https://012.0.0.1/",
            blocked("10.0.0.1", "10.0.0.0/8", "private"),
        ),
        (
            "https://172.16.0.1/",
            blocked("172.16.0.1", "172.16.0.0/12", "private"),
        ),
        (
            "https://172.31.255.255/",
            blocked("172.31.255.255", "172.16.0.0/12", "private"),
        ),
        (
            "https://192.168.1.1/",
            blocked("192.168.1.1", "192.168.0.0/16", "private"),
        ),
        (
            "https://192.0.0.170/",
            blocked("192.0.0.170", "192.0.0.0/24", "IETF protocol assignments"),
        ),
        (
            "https://192.0.2.1/",
            blocked("192.0.2.1", "192.0.2.0/24", "documentation"),
        ),
        (
            "https://198.51.100.7/",
            blocked("198.51.100.7", "198.51.100.0/24", "documentation"),
        ),
        (
            "https://203.0.113.9/",
            blocked("203.0.113.9", "203.0.113.0/24", "documentation"),
        ),
        (
            "https://192.88.99.1/",
            blocked("192.88.99.1", "192.88.99.0/24", "6to4 relay anycast"),
        ),
        (
            "https://198.18.0.1/",
            blocked("198.18.0.1", "198.18.0.0/15", "benchmarking"),
        ),
        (
            "https://198.19.255.255/",
            blocked("198.19.255.255", "198.18.0.0/15", "benchmarking"),
        ),
        (
            "https://224.0.0.1/",
            blocked("224.0.0.1", "224.0.0.0/4", "multicast"),
        ),
        (
            "https://239.255.255.250/",
            blocked("239.255.255.250", "224.0.0.0/4", "multicast"),
        ),
        (
            "https://240.0.0.1/",
            blocked("240.0.0.1", "240.0.0.0/4", "reserved"),
        ),
        (
            "https://255.255.255.255/",
            blocked("255.255.255.255", "240.0.0.0/4", "reserved"),
        ),
        // Names.
        ("https://LOCALHOST/", localhost("localhost")),
        ("https://localhost./", localhost("localhost.")),
        ("https://localhost../", localhost("localhost..")),
        ("https://api.LocalHost/", localhost("api.localhost")),
        ("https://%6c%6fcalhost/", localhost("localhost")),
        (
            "https://\u{ff4c}\u{ff4f}\u{ff43}\u{ff41}\u{ff4c}\u{ff48}\u{ff4f}\u{ff53}\u{ff54}/",
            localhost("localhost"),
        ),
        (
            "https://metadata.google.internal/computeMetadata/v1/",
            local_only("metadata.google.internal", "internal"),
        ),
        (
            "https://Metadata.Google.Internal./",
            local_only("metadata.google.internal.", "internal"),
        ),
        (
            "https://printer.local/",
            local_only("printer.local", "local"),
        ),
        (
            "https://nas.home.arpa/",
            local_only("nas.home.arpa", "home.arpa"),
        ),
        ("https://home.arpa/", local_only("home.arpa", "home.arpa")),
        (
            "https://db.localdomain/",
            local_only("db.localdomain", "localdomain"),
        ),
        ("https://intranet/", single_label("intranet")),
        ("https://intranet./", single_label("intranet.")),
        ("https://localdomain/", single_label("localdomain")),
        ("https://./", single_label(".")),
        ("https:///hooks", single_label("hooks")),
        // Schemes and userinfo.
        ("http://example.com/", scheme("http")),
        ("HTTP://example.com/", scheme("http")),
        ("ftp://example.com/", scheme("ftp")),
        ("file:///etc/passwd", scheme("file")),
        ("gopher://127.0.0.1:6379/_INFO", scheme("gopher")),
        ("wss://example.com/", scheme("wss")),
        ("https://user:pass@example.com/", userinfo()),
        ("https://user@example.com/", userinfo()),
        ("https://:pass@example.com/", userinfo()),
        ("https://example.com@127.0.0.1/", userinfo()),
        ("https://1.1.1.1 &@2.2.2.2# @3.3.3.3/", userinfo()),
        // Not URLs.
        ("", Want::Invalid),
        ("not a url", Want::Invalid),
        ("https://", Want::Invalid),
        ("https://1.2.3.4.5/", Want::Invalid),
        ("https://foo.0x7f/", Want::Invalid),
        ("https://256.0.0.1/", Want::Invalid),
        ("https://[::1/", Want::Invalid),
        ("https://exa mple.com/", Want::Invalid),
        // Public targets.
        ("https://example.com/hook", Want::Accept("example.com")),
        (
            "https://api.example.co.uk:8443/x",
            Want::Accept("api.example.co.uk"),
        ),
        ("https://8.8.8.8/", Want::Accept("8.8.8.8")),
        ("https://134744072/", Want::Accept("8.8.8.8")),
        ("https://1.1.1.1:443/", Want::Accept("1.1.1.1")),
        (
            "https://[2606:4700:4700::1111]/",
            Want::Accept("[2606:4700:4700::1111]"),
        ),
        (
            "https://[2001:4860:4860::8888]/",
            Want::Accept("[2001:4860:4860::8888]"),
        ),
        (
            "https://[::ffff:8.8.8.8]/",
            Want::Accept("[::ffff:808:808]"),
        ),
        (
            "https://[64:ff9b::808:808]/",
            Want::Accept("[64:ff9b::808:808]"),
        ),
        (
            "https://[2002:808:808::1]/",
            Want::Accept("[2002:808:808::1]"),
        ),
        (
            "https://bücher.example/",
            Want::Accept("xn--bcher-kva.example"),
        ),
        (
            "https://\u{4f8b}\u{5b50}.\u{6d4b}\u{8bd5}/",
            Want::Accept("xn--fsqu00a.xn--0zwm56d"),
        ),
        ("https://example.com./", Want::Accept("example.com.")),
        ("HTTPS://EXAMPLE.COM/Path", Want::Accept("example.com")),
        (
            "https://hooks.example.com/in?token=abc#frag",
            Want::Accept("hooks.example.com"),
        ),
        ("https://@example.com/", Want::Accept("example.com")),
        (
            "https://example.com\\@127.0.0.1/",
            Want::Accept("example.com"),
        ),
        (
            "https://localhost.example.com/",
            Want::Accept("localhost.example.com"),
        ),
        (
            "https://internal.example.com/",
            Want::Accept("internal.example.com"),
        ),
        ("https://mylocal.example/", Want::Accept("mylocal.example")),
        (
            "https://notlocalhost.com/",
            Want::Accept("notlocalhost.com"),
        ),
        ("https://172.32.0.1/", Want::Accept("172.32.0.1")),
        ("https://172.15.255.255/", Want::Accept("172.15.255.255")),
        ("https://100.128.0.1/", Want::Accept("100.128.0.1")),
        ("https://169.253.255.255/", Want::Accept("169.253.255.255")),
        ("https://192.169.0.1/", Want::Accept("192.169.0.1")),
        ("https://198.20.0.1/", Want::Accept("198.20.0.1")),
        ("https://223.255.255.255/", Want::Accept("223.255.255.255")),
        ("https://1.0.0.0/", Want::Accept("1.0.0.0")),
    ]
}

#[test]
fn the_url_table() {
    let guard = UrlGuard::new();
    let cases = table();
    assert!(cases.len() >= 80, "only {} cases", cases.len());
    let (mut accepted, mut refused) = (0, 0);
    for (input, want) in cases {
        let got = guard.check_str(input);
        match want {
            Want::Accept(host) => {
                let url = got.unwrap_or_else(|err| panic!("{input:?} refused: {err}"));
                assert_eq!(url.host_str(), Some(host), "{input:?}");
                assert_eq!(guard.check_url(&url), Ok(()), "{input:?}");
                accepted += 1;
            }
            Want::Refuse(expected) => {
                assert_eq!(got, Err(expected), "{input:?}");
                refused += 1;
            }
            Want::Invalid => {
                assert!(
                    matches!(got, Err(GuardError::InvalidUrl { .. })),
                    "{input:?}: {got:?}"
                );
                refused += 1;
            }
        }
    }
    assert!(accepted >= 20 && refused >= 60, "{accepted} / {refused}");
}

#[test]
fn reasons_read_well() {
    let guard = UrlGuard::new();
    let cases = [
        (
            "https://10.0.0.5/",
            "10.0.0.5 is a private address (10.0.0.0/8)",
        ),
        (
            "https://0.1.2.3/",
            "0.1.2.3 is a \"this network\" address (0.0.0.0/8)",
        ),
        ("https://[::]/", ":: is an unspecified address (::/128)"),
        (
            "https://[::7f00:1]/",
            "::7f00:1 is an IPv4-compatible address (::/96)",
        ),
        (
            "https://192.0.0.8/",
            "192.0.0.8 is an IETF protocol assignments address (192.0.0.0/24)",
        ),
        (
            "https://[::ffff:7f00:1]/",
            "::ffff:127.0.0.1 is an IPv4-mapped address embedding 127.0.0.1, \
             a loopback address (127.0.0.0/8)",
        ),
        (
            "https://[2002:a9fe:a9fe::1]/",
            "2002:a9fe:a9fe::1 is a 6to4 address embedding 169.254.169.254, \
             a link-local address (169.254.0.0/16)",
        ),
        (
            "https://[fd00:ec2::254]/",
            "fd00:ec2::254 is a unique local address (fc00::/7)",
        ),
        (
            "https://metadata.google.internal/",
            "host `metadata.google.internal` is under `.internal`, a name reserved for local networks",
        ),
        (
            "https://localhost./",
            "host `localhost.` is this machine (localhost)",
        ),
        (
            "https://intranet/",
            "host `intranet` is a single-label name, which only a local network resolves",
        ),
        (
            "http://example.com/",
            "scheme `http` is not allowed; webhook URLs must use https",
        ),
        (
            "https://[fe80::1%25eth0]/",
            "not a valid URL: invalid IPv6 address",
        ),
        (
            "https://168.63.129.16/machine?comp=goalstate",
            "168.63.129.16 is an Azure WireServer address (168.63.129.16/32)",
        ),
        (
            "https://[5f00::1]/",
            "5f00::1 is an SRv6 SID address (5f00::/16)",
        ),
        (
            "https://192.31.196.1/",
            "192.31.196.1 is an AS112 DNS address (192.31.196.0/24)",
        ),
        (
            "https://example.com:0/",
            "port 0 is not allowed: no server listens on it",
        ),
        (
            "https://8.8.8.8../",
            "host `8.8.8.8..` is not a valid host name: an IP address followed by extra dots",
        ),
    ];
    for (input, reason) in cases {
        assert_eq!(guard.check_str(input).unwrap_err().to_string(), reason);
    }
}

#[test]
fn reasons_never_quote_credentials_path_or_query() {
    let guard = UrlGuard::new();
    for input in [
        "https://admin:hunter2@example.com/",
        "https://admin:hunter2@10.0.0.1/",
        "https://10.0.0.1/secret-path?token=s3cr3t",
        "https://metadata.google.internal/secret-path?token=s3cr3t",
        "http://example.com/secret-path?token=s3cr3t",
        "https://[::1/secret-path?token=s3cr3t",
        "https://example.com:99999/secret-path?token=s3cr3t",
    ] {
        let err = guard.check_str(input).unwrap_err();
        let text = format!("{err} {err:?}");
        for secret in ["admin", "hunter2", "secret-path", "s3cr3t"] {
            assert!(!text.contains(secret), "{input}: {text}");
        }
    }
}

#[test]
fn loopback_allowance_opens_loopback_only() {
    let guard = UrlGuard::new().allow_loopback_for_testing();
    // Plain http needs its own allowance.
    assert_eq!(
        guard.check_str("http://127.0.0.1:8080/"),
        Err(GuardError::SchemeNotAllowed {
            scheme: "http".into()
        })
    );
    let both = guard.clone().allow_http_for_testing();
    for url in [
        "http://127.0.0.1:8080/",
        "http://127.9.9.9/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost:8080/",
        "http://LOCALHOST./",
        "http://api.localhost/",
        "https://127.0.0.1/",
    ] {
        assert!(both.check_str(url).is_ok(), "{url}");
    }
    for (url, address) in [
        ("http://10.0.0.1/", "10.0.0.1"),
        ("http://169.254.169.254/", "169.254.169.254"),
        ("http://0.0.0.0/", "0.0.0.0"),
        ("http://[fe80::1]/", "fe80::1"),
    ] {
        match both.check_str(url) {
            Err(GuardError::BlockedAddress { address: got, .. }) => {
                assert_eq!(got, ip(address), "{url}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
    // Only the plain forms of loopback: tunnelled ones stay refused.
    for url in [
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://[::127.0.0.1]/",
    ] {
        assert!(both.check_str(url).is_err(), "{url}");
    }
    assert!(matches!(
        both.check_str("http://intranet/"),
        Err(GuardError::SingleLabelHost { .. })
    ));
    assert!(matches!(
        both.check_str("http://printer.local/"),
        Err(GuardError::LocalOnlyDomain { .. })
    ));
    assert_eq!(
        both.check_resolved("localhost", &[ip("127.0.0.1"), ip("::1")]),
        Ok(())
    );
    assert!(
        both.check_resolved("localhost", &[ip("127.0.0.1"), ip("10.0.0.1")])
            .is_err()
    );
}

#[test]
fn http_allowance_opens_http_only() {
    let guard = UrlGuard::new().allow_http_for_testing();
    assert!(guard.check_str("http://example.com/").is_ok());
    assert!(guard.check_str("https://example.com/").is_ok());
    assert_eq!(
        guard.check_str("ftp://example.com/"),
        Err(GuardError::SchemeNotAllowed {
            scheme: "ftp".into()
        })
    );
    assert!(guard.check_str("ws://example.com/").is_err());
    assert!(guard.check_str("http://127.0.0.1/").is_err());
    assert!(guard.check_str("http://localhost/").is_err());
}

#[test]
fn allowed_net_overrides_the_blocklist_inside_it_only() {
    let guard = UrlGuard::new().allow_net(net("10.1.0.0/16"));
    assert!(guard.check_str("https://10.1.2.3/").is_ok());
    assert_eq!(guard.check_ip(ip("10.1.255.255")), Ok(()));
    // The mapped form reaches the same address.
    assert_eq!(guard.check_ip(ip("::ffff:10.1.2.3")), Ok(()));
    assert_eq!(
        guard.check_str("https://10.2.0.1/"),
        Err(GuardError::BlockedAddress {
            address: ip("10.2.0.1"),
            range: "10.0.0.0/8".into(),
            label: "private",
        })
    );
    assert!(guard.check_ip(ip("127.0.0.1")).is_err());
    // A gateway-translated form is not the address itself.
    assert!(guard.check_ip(ip("64:ff9b::a01:203")).is_err());
    assert_eq!(
        guard.check_resolved("hooks.example.com", &[ip("10.1.0.9")]),
        Ok(())
    );
    assert!(
        guard
            .check_resolved("hooks.example.com", &[ip("10.1.0.9"), ip("10.9.0.1")])
            .is_err()
    );

    let v6 = UrlGuard::new().allow_net(net("fd00:ec2::/32"));
    assert!(v6.check_str("https://[fd00:ec2::254]/").is_ok());
    assert!(v6.check_str("https://[fd00:ec3::254]/").is_err());
}

#[test]
fn allowed_host_skips_name_rules_and_address_checks() {
    let guard = UrlGuard::new().allow_host("webhooks.internal");
    for url in [
        "https://webhooks.internal/in",
        "https://WEBHOOKS.Internal/in",
        "https://webhooks.internal./in",
    ] {
        assert!(guard.check_str(url).is_ok(), "{url}");
    }
    assert_eq!(
        guard.check_str("https://other.internal/"),
        Err(GuardError::LocalOnlyDomain {
            host: "other.internal".into(),
            suffix: "internal"
        })
    );
    assert!(guard.check_str("https://api.webhooks.internal/").is_err());
    assert!(guard.check_str("https://webhooks.internal../").is_err());
    // The other rules still hold for an allowed host.
    assert!(matches!(
        guard.check_str("http://webhooks.internal/"),
        Err(GuardError::SchemeNotAllowed { .. })
    ));
    assert_eq!(
        guard.check_str("https://u:p@webhooks.internal/"),
        Err(GuardError::UserinfoNotAllowed)
    );

    let private = [ip("10.0.0.5"), ip("fd00::5")];
    assert_eq!(guard.check_resolved("webhooks.internal", &private), Ok(()));
    assert_eq!(guard.check_resolved("Webhooks.Internal.", &private), Ok(()));
    assert!(guard.check_resolved("hooks.example.com", &private).is_err());
    assert!(guard.check_resolved("webhooks.internal", &[]).is_err());

    // Given in any case or with a trailing dot, and as Unicode.
    let guard = UrlGuard::new()
        .allow_host("Intranet.")
        .allow_host("Bücher.Internal");
    assert!(guard.check_str("https://intranet/").is_ok());
    assert!(guard.check_str("https://bücher.internal/").is_ok());
    assert!(guard.check_str("https://xn--bcher-kva.internal/").is_ok());
    assert!(guard.check_str("https://other/").is_err());

    // An address is not a host name: it matches nothing.
    let guard = UrlGuard::new().allow_host("10.0.0.5");
    assert!(guard.check_str("https://10.0.0.5/").is_err());
    assert!(guard.check_resolved("10.0.0.5", &[ip("10.0.0.5")]).is_err());
    let guard = UrlGuard::new().allow_host("");
    assert!(guard.check_str("https://./").is_err());
}

#[test]
fn debug_names_every_allowance() {
    assert_eq!(format!("{:?}", UrlGuard::new()), "UrlGuard");
    let guard = UrlGuard::new()
        .allow_net(net("10.1.0.0/16"))
        .allow_host("webhooks.internal")
        .allow_loopback_for_testing()
        .allow_http_for_testing();
    assert_eq!(
        format!("{guard:?}"),
        "UrlGuard { allow_net: [10.1.0.0/16], allow_host: [\"webhooks.internal\"], \
         allow_loopback_for_testing: true, allow_http_for_testing: true }"
    );
    let only_http = format!("{:?}", UrlGuard::new().allow_http_for_testing());
    assert!(only_http.contains("allow_http_for_testing"), "{only_http}");
    assert!(!only_http.contains("allow_loopback"), "{only_http}");
}

#[test]
fn one_blocked_resolved_address_refuses_the_target() {
    let guard = UrlGuard::new();
    let public = [
        ip("93.184.215.14"),
        ip("2606:2800:21f:cb07:6820:80da:af6b:8b2c"),
    ];
    assert_eq!(guard.check_resolved("example.com", &public), Ok(()));

    let rebound = [public[0], ip("10.0.0.5"), public[1], ip("127.0.0.1")];
    let err = guard
        .check_resolved("rebind.example.com", &rebound)
        .unwrap_err();
    assert_eq!(
        err,
        GuardError::ResolvesToBlocked {
            host: "rebind.example.com".into(),
            reason: Box::new(GuardError::BlockedAddress {
                address: ip("10.0.0.5"),
                range: "10.0.0.0/8".into(),
                label: "private",
            }),
        }
    );
    assert_eq!(
        err.to_string(),
        "`rebind.example.com` resolves to 10.0.0.5, a private address (10.0.0.0/8)"
    );

    let err = guard
        .check_resolved("127.0.0.1.nip.io", &[ip("127.0.0.1")])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("resolves to 127.0.0.1, a loopback address")
    );

    let err = guard
        .check_resolved("nat64.example.com", &[ip("64:ff9b::a9fe:a9fe")])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`nat64.example.com` resolves to 64:ff9b::a9fe:a9fe, a NAT64 address embedding \
         169.254.169.254, a link-local address (169.254.0.0/16)"
    );

    assert_eq!(
        guard.check_resolved("empty.example.com", &[]),
        Err(GuardError::NoAddresses {
            host: "empty.example.com".into()
        })
    );
}

// The blocked ranges, written out again here so that the guard's table is
// checked against the specification rather than against itself.
const BLOCKED_V4: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "168.63.129.16/32",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.31.196.0/24",
    "192.52.193.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "192.175.48.0/24",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
];

/// Blocked outright, whatever the host bits.
const BLOCKED_V6: &[&str] = &[
    "::/128",
    "::1/128",
    "::/96",
    "::ffff:0:0:0/96",
    "64:ff9b:1::/48",
    "100::/64",
    "100:0:0:1::/64",
    "2001::/23",
    "2001:db8::/32",
    "2620:4f:8000::/48",
    "3fff::/20",
    "5f00::/16",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
];

fn nets(list: &[&str]) -> Vec<IpNet> {
    list.iter().map(|text| net(text)).collect()
}

fn in_v4(net: IpNet, bits: u32) -> Ipv4Addr {
    let IpNet::V4(net) = net else { unreachable!() };
    let mask = u32::from(net.netmask());
    Ipv4Addr::from((u32::from(net.network()) & mask) | (bits & !mask))
}

fn in_v6(net: IpNet, bits: u128) -> Ipv6Addr {
    let IpNet::V6(net) = net else { unreachable!() };
    let mask = u128::from(net.netmask());
    Ipv6Addr::from((u128::from(net.network()) & mask) | (bits & !mask))
}

fn is_blocked_v4(address: Ipv4Addr) -> bool {
    nets(BLOCKED_V4)
        .iter()
        .any(|net| net.contains(&IpAddr::V4(address)))
}

/// The forms of IPv6 address that carry `v4`.
fn carriers(v4: Ipv4Addr, low: u128) -> [(Ipv6Addr, &'static str); 3] {
    let v4 = u128::from(u32::from(v4));
    [
        (Ipv6Addr::from((0xffff << 32) | v4), "IPv4-mapped"),
        (Ipv6Addr::from((0x64_ff9b << 96) | v4), "NAT64"),
        (
            Ipv6Addr::from((0x2002 << 112) | (v4 << 80) | (low & ((1 << 80) - 1))),
            "6to4",
        ),
    ]
}

fn range_of(err: &GuardError) -> IpNet {
    match err {
        GuardError::BlockedAddress { range, .. }
        | GuardError::BlockedEmbeddedAddress { range, .. } => net(range),
        other => panic!("not an address refusal: {other:?}"),
    }
}

proptest! {
    #[test]
    fn every_address_in_a_blocked_v4_range_is_refused(
        range in prop::sample::select(nets(BLOCKED_V4)),
        bits: u32,
        low: u128,
    ) {
        let address = in_v4(range, bits);
        let guard = UrlGuard::new();
        let err = guard.check_ip(IpAddr::V4(address)).unwrap_err();
        prop_assert!(
            matches!(err, GuardError::BlockedAddress { address: got, .. } if got == IpAddr::V4(address)),
            "{:?}", err
        );
        prop_assert!(range_of(&err).contains(&IpAddr::V4(address)));
        // The same address behind every IPv6 form that carries it.
        for (carrier, form) in carriers(address, low) {
            let err = guard.check_ip(IpAddr::V6(carrier)).unwrap_err();
            match &err {
                GuardError::BlockedEmbeddedAddress { address: got, form: got_form, embedded, .. } => {
                    prop_assert_eq!(*got, IpAddr::V6(carrier));
                    prop_assert_eq!(*got_form, form);
                    prop_assert_eq!(*embedded, address);
                }
                other => prop_assert!(false, "{carrier}: {other:?}"),
            }
            prop_assert!(range_of(&err).contains(&IpAddr::V4(address)));
        }
    }

    #[test]
    fn every_address_in_a_blocked_v6_range_is_refused(
        range in prop::sample::select(nets(BLOCKED_V6)),
        bits: u128,
    ) {
        let address = in_v6(range, bits);
        let err = UrlGuard::new().check_ip(IpAddr::V6(address)).unwrap_err();
        prop_assert!(
            matches!(err, GuardError::BlockedAddress { address: got, .. } if got == IpAddr::V6(address)),
            "{:?}", err
        );
        let found = range_of(&err);
        prop_assert!(found.contains(&IpAddr::V6(address)));
        // The narrowest listed range is the one named.
        prop_assert!(range.contains(&found) || found.contains(&range), "{range} vs {found}");
        let url = format!("https://[{address}]/");
        prop_assert_eq!(UrlGuard::new().check_str(&url).unwrap_err(), err);
    }

    #[test]
    fn public_v4_addresses_are_accepted_in_every_form(
        address in any::<u32>().prop_map(Ipv4Addr::from).prop_filter("public", |a| !is_blocked_v4(*a)),
        low: u128,
    ) {
        let guard = UrlGuard::new();
        prop_assert_eq!(guard.check_ip(IpAddr::V4(address)), Ok(()));
        for (carrier, _) in carriers(address, low) {
            prop_assert_eq!(guard.check_ip(IpAddr::V6(carrier)), Ok(()));
        }
        let dotted = format!("https://{address}/");
        let url = guard.check_str(&dotted).unwrap();
        let host = address.to_string();
        prop_assert_eq!(url.host_str(), Some(host.as_str()));
    }

    #[test]
    fn public_v6_unicast_is_accepted(
        address in any::<u128>()
            // Into 2000::/3, global unicast.
            .prop_map(|bits| Ipv6Addr::from((bits & (u128::MAX >> 3)) | (1 << 125)))
            .prop_filter("outside the blocked and embedding ranges", |a| {
                let a = IpAddr::V6(*a);
                !nets(BLOCKED_V6).iter().chain(&[net("2002::/16")]).any(|n| n.contains(&a))
            }),
    ) {
        let guard = UrlGuard::new();
        prop_assert_eq!(guard.check_ip(IpAddr::V6(address)), Ok(()));
        let literal = format!("https://[{address}]/");
        prop_assert!(guard.check_str(&literal).is_ok(), "{}", literal);
    }

    #[test]
    fn every_spelling_of_an_ipv4_literal_gets_the_same_verdict(n: u32) {
        let guard = UrlGuard::new();
        let address = Ipv4Addr::from(n);
        let expected = guard.check_ip(IpAddr::V4(address));
        prop_assert_eq!(expected.is_err(), is_blocked_v4(address));
        let [a, b, c, d] = address.octets();
        for spelling in [
            format!("https://{n}/"),
            format!("https://0x{n:x}/"),
            format!("https://{a}.{b}.{c}.{d}./"),
            format!("https://0{a:o}.0x{b:x}.{c}.{d}/"),
            format!("https://{a}.{}/", (u32::from(b) << 16) | (u32::from(c) << 8) | u32::from(d)),
            format!("https://[::ffff:{address}]/"),
        ] {
            let got = guard.check_str(&spelling);
            prop_assert_eq!(got.is_ok(), expected.is_ok(), "{}", spelling);
            if let Err(err) = got {
                prop_assert!(range_of(&err).contains(&IpAddr::V4(address)), "{}", spelling);
            }
        }
    }

    #[test]
    fn check_str_never_panics_and_accepts_only_https_with_a_host(
        input in prop_oneof![
            any::<String>(),
            "(https?|ftp|HTTPS)://[a-zA-Z0-9.:@%\\[\\]_~\\-\u{3002}ü]{0,40}(/[a-z?=#]{0,10})?",
        ],
    ) {
        let guard = UrlGuard::new();
        if let Ok(url) = guard.check_str(&input) {
            prop_assert_eq!(url.scheme(), "https");
            prop_assert!(url.host().is_some());
            prop_assert_eq!(url.username(), "");
            // What is accepted stays accepted once written out and read back.
            prop_assert!(guard.check_str(url.as_str()).is_ok(), "{}", url);
        }
    }

    #[test]
    fn resolved_addresses_are_refused_when_any_is_blocked(
        addresses in prop::collection::vec(
            prop_oneof![
                any::<u32>().prop_map(|n| IpAddr::V4(Ipv4Addr::from(n))),
                any::<u128>().prop_map(|n| IpAddr::V6(Ipv6Addr::from(n))),
                (prop::sample::select(nets(BLOCKED_V4)), any::<u32>())
                    .prop_map(|(net, bits)| IpAddr::V4(in_v4(net, bits))),
            ],
            0..6,
        ),
    ) {
        let guard = UrlGuard::new();
        let first_blocked = addresses.iter().copied().find(|a| guard.check_ip(*a).is_err());
        match (guard.check_resolved("hooks.example.com", &addresses), first_blocked) {
            (Ok(()), None) => prop_assert!(!addresses.is_empty()),
            (Err(GuardError::NoAddresses { .. }), None) => prop_assert!(addresses.is_empty()),
            (Err(GuardError::ResolvesToBlocked { host, reason }), Some(blocked)) => {
                prop_assert_eq!(host, "hooks.example.com");
                prop_assert_eq!(Err(*reason), guard.check_ip(blocked));
            }
            (got, blocked) => prop_assert!(false, "{got:?} with {blocked:?} blocked"),
        }
    }

    #[test]
    fn an_allowed_net_admits_exactly_its_addresses(
        prefix in 8u8..=32,
        base: u32,
        probe: u32,
    ) {
        // A net inside 10.0.0.0/8, so everything outside it that is still
        // in 10/8 is blocked.
        let allowed = IpNet::V4(
            ipnet::Ipv4Net::new(in_v4(net("10.0.0.0/8"), base), prefix).unwrap().trunc(),
        );
        let guard = UrlGuard::new().allow_net(allowed);
        let inside = IpAddr::V4(in_v4(allowed, probe));
        prop_assert_eq!(guard.check_ip(inside), Ok(()));
        let other = IpAddr::V4(in_v4(net("10.0.0.0/8"), probe));
        prop_assert_eq!(guard.check_ip(other).is_ok(), allowed.contains(&other));
    }
}

/// Every entry of the IANA IPv4 and IPv6 Special-Purpose Address
/// Registries, and the clouds' metadata, DNS and wire servers: the range
/// each one is refused under. One address per entry, named after it.
#[test]
fn every_registry_entry_and_cloud_service_is_refused() {
    let cases = [
        // IANA IPv4 Special-Purpose Address Registry.
        ("0.0.0.0", "0.0.0.0/32", "unspecified"), // "This host on this network"
        ("0.255.255.255", "0.0.0.0/8", "this network"), // "This network"
        ("10.255.0.1", "10.0.0.0/8", "private"),  // Private-Use
        ("100.64.0.1", "100.64.0.0/10", "carrier-grade NAT"), // Shared Address Space
        ("127.0.0.53", "127.0.0.0/8", "loopback"), // Loopback
        ("169.254.1.1", "169.254.0.0/16", "link-local"), // Link Local
        ("172.20.0.1", "172.16.0.0/12", "private"), // Private-Use
        ("192.0.0.1", "192.0.0.0/24", "IETF protocol assignments"), // IPv4 Service Continuity Prefix
        ("192.0.0.8", "192.0.0.0/24", "IETF protocol assignments"), // IPv4 dummy address
        ("192.0.0.9", "192.0.0.0/24", "IETF protocol assignments"), // Port Control Protocol Anycast
        ("192.0.0.10", "192.0.0.0/24", "IETF protocol assignments"), // TURN Anycast
        ("192.0.0.170", "192.0.0.0/24", "IETF protocol assignments"), // NAT64/DNS64 Discovery
        ("192.0.0.171", "192.0.0.0/24", "IETF protocol assignments"), // NAT64/DNS64 Discovery
        ("192.0.2.200", "192.0.2.0/24", "documentation"),           // TEST-NET-1
        ("192.31.196.1", "192.31.196.0/24", "AS112 DNS"),           // AS112-v4
        ("192.52.193.1", "192.52.193.0/24", "AMT relay anycast"),   // AMT
        ("192.88.99.1", "192.88.99.0/24", "6to4 relay anycast"), // Deprecated (6to4 Relay Anycast)
        ("192.168.255.1", "192.168.0.0/16", "private"),          // Private-Use
        ("192.175.48.6", "192.175.48.0/24", "AS112 DNS"),        // Direct Delegation AS112 Service
        ("198.19.0.1", "198.18.0.0/15", "benchmarking"),         // Benchmarking
        ("198.51.100.1", "198.51.100.0/24", "documentation"),    // TEST-NET-2
        ("203.0.113.1", "203.0.113.0/24", "documentation"),      // TEST-NET-3
        ("240.0.0.1", "240.0.0.0/4", "reserved"),                // Reserved
        ("255.255.255.255", "240.0.0.0/4", "reserved"),          // Limited Broadcast
        // Not special-purpose, but never a unicast host.
        ("224.0.0.251", "224.0.0.0/4", "multicast"),
        // IANA IPv6 Special-Purpose Address Registry (the IPv4-mapped,
        // NAT64 and 6to4 entries are judged by the address they carry,
        // below).
        ("::1", "::1/128", "loopback"),  // Loopback Address
        ("::", "::/128", "unspecified"), // Unspecified Address
        ("64:ff9b:1::1", "64:ff9b:1::/48", "local-use NAT64"), // IPv4-IPv6 Translat.
        ("100::1", "100::/64", "discard-only"), // Discard-Only Address Block
        ("100:0:0:1::1", "100:0:0:1::/64", "dummy"), // Dummy IPv6 Prefix
        ("2001::1", "2001::/32", "Teredo"), // TEREDO
        ("2001:1::1", "2001::/23", "IETF protocol assignments"), // Port Control Protocol Anycast
        ("2001:1::2", "2001::/23", "IETF protocol assignments"), // TURN Anycast
        ("2001:1::3", "2001::/23", "IETF protocol assignments"), // DNS-SD Service Registration Protocol Anycast
        ("2001:2::1", "2001:2::/48", "benchmarking"),            // Benchmarking
        ("2001:3::1", "2001::/23", "IETF protocol assignments"), // AMT
        ("2001:4:112::1", "2001::/23", "IETF protocol assignments"), // AS112-v6
        ("2001:10::1", "2001::/23", "IETF protocol assignments"), // Deprecated (previously ORCHID)
        ("2001:20::1", "2001::/23", "IETF protocol assignments"), // ORCHIDv2
        ("2001:30::1", "2001::/23", "IETF protocol assignments"), // Drone Remote ID Protocol Entity Tags
        ("2001:1ff::1", "2001::/23", "IETF protocol assignments"), // IETF Protocol Assignments
        ("2001:db8::1", "2001:db8::/32", "documentation"),        // Documentation
        ("2620:4f:8000::1", "2620:4f:8000::/48", "AS112 DNS"),    // Direct Delegation AS112 Service
        ("3fff:fff::1", "3fff::/20", "documentation"),            // Documentation
        ("5f00::1", "5f00::/16", "SRv6 SID"),                     // Segment Routing (SRv6) SIDs
        ("fd12:3456::1", "fc00::/7", "unique local"),             // Unique-Local
        ("fe80::1", "fe80::/10", "link-local"),                   // Link-Local Unicast
        // Clouds: metadata, DNS, time and wire servers.
        ("169.254.169.254", "169.254.0.0/16", "link-local"), // AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack metadata
        ("169.254.169.253", "169.254.0.0/16", "link-local"), // AWS VPC DNS
        ("169.254.169.123", "169.254.0.0/16", "link-local"), // AWS time sync
        ("169.254.170.2", "169.254.0.0/16", "link-local"),   // AWS ECS task metadata
        ("169.254.170.23", "169.254.0.0/16", "link-local"),  // AWS EKS pod identity
        ("169.254.0.23", "169.254.0.0/16", "link-local"),    // Tencent Cloud metadata
        ("169.254.42.42", "169.254.0.0/16", "link-local"),   // Scaleway metadata
        ("168.63.129.16", "168.63.129.16/32", "Azure WireServer"), // Azure WireServer and DNS
        ("100.100.100.200", "100.64.0.0/10", "carrier-grade NAT"), // Alibaba Cloud metadata
        ("100.100.2.136", "100.64.0.0/10", "carrier-grade NAT"), // Alibaba Cloud DNS
        ("192.0.0.192", "192.0.0.0/24", "IETF protocol assignments"), // Oracle Cloud metadata
        ("fd00:ec2::254", "fc00::/7", "unique local"),       // AWS metadata (IPv6)
        ("fd00:ec2::253", "fc00::/7", "unique local"),       // AWS VPC DNS (IPv6)
        ("fd00:ec2::123", "fc00::/7", "unique local"),       // AWS time sync (IPv6)
        ("fd00:ec2::23", "fc00::/7", "unique local"),        // AWS EKS pod identity (IPv6)
        ("fd20:ce::254", "fc00::/7", "unique local"),        // GCP metadata (IPv6)
        ("fd00:42::42", "fc00::/7", "unique local"),         // Scaleway metadata (IPv6)
    ];
    let guard = UrlGuard::new();
    for (address, range, label) in cases {
        let want = GuardError::BlockedAddress {
            address: ip(address),
            range: range.into(),
            label,
        };
        assert_eq!(guard.check_ip(ip(address)), Err(want.clone()), "{address}");
        let url = match ip(address) {
            IpAddr::V4(_) => format!("https://{address}/"),
            IpAddr::V6(_) => format!("https://[{address}]/"),
        };
        assert_eq!(guard.check_str(&url), Err(want), "{url}");
    }
}

/// The clouds' IPv4 services behind every IPv6 form that reaches them:
/// IPv4-mapped, NAT64 (64:ff9b::/96) and 6to4; local-use NAT64 and
/// Teredo are refused whatever they carry.
#[test]
fn cloud_services_are_refused_behind_ipv6() {
    let guard = UrlGuard::new();
    for v4 in [
        "169.254.169.254",
        "168.63.129.16",
        "100.100.100.200",
        "192.0.0.192",
    ] {
        let inner: Ipv4Addr = v4.parse().unwrap();
        for (carrier, form) in carriers(inner, 1) {
            match guard.check_ip(IpAddr::V6(carrier)) {
                Err(GuardError::BlockedEmbeddedAddress {
                    form: got,
                    embedded,
                    ..
                }) => {
                    assert_eq!((got, embedded), (form, inner), "{carrier}");
                }
                other => panic!("{carrier}: {other:?}"),
            }
        }
        let bits = u32::from(inner);
        let local_nat64 = Ipv6Addr::from((0x64_ff9b_0001u128 << 80) | u128::from(bits));
        assert_eq!(
            range_of(&guard.check_ip(IpAddr::V6(local_nat64)).unwrap_err()),
            net("64:ff9b:1::/48")
        );
        // Teredo keeps the server's address plain and the client's inverted.
        let teredo =
            Ipv6Addr::from((0x2001_0000u128 << 96) | (u128::from(bits) << 64) | u128::from(!bits));
        assert_eq!(
            range_of(&guard.check_ip(IpAddr::V6(teredo)).unwrap_err()),
            net("2001::/32")
        );
    }
}

/// Next to each added range, ordinary public addresses stay allowed.
#[test]
fn neighbours_of_the_added_ranges_stay_public() {
    let guard = UrlGuard::new();
    for address in [
        "168.63.129.15",
        "168.63.129.17",
        "192.31.195.255",
        "192.31.197.0",
        "192.52.192.255",
        "192.52.194.0",
        "192.175.47.255",
        "192.175.49.0",
        "2001:200::1",
        "2620:4f:7fff::1",
        "2620:4f:8001::1",
        "2600::1",
    ] {
        assert_eq!(guard.check_ip(ip(address)), Ok(()), "{address}");
    }
}

#[test]
fn ip_literals_with_extra_trailing_dots_are_refused() {
    let guard = UrlGuard::new();
    // Blocked addresses are refused as the address, however many dots.
    for input in [
        "http://127.0.0.1./",
        "https://127.0.0.1../",
        "https://127.0.0.1.../",
        "https://0x7f.1../",
        "https://2130706433../",
    ] {
        let err = UrlGuard::new()
            .allow_http_for_testing()
            .check_str(input)
            .unwrap_err();
        assert_eq!(
            err,
            GuardError::BlockedAddress {
                address: ip("127.0.0.1"),
                range: "127.0.0.0/8".into(),
                label: "loopback",
            },
            "{input}"
        );
    }
    assert_eq!(
        guard
            .check_str("https://169.254.169.254../latest/meta-data/")
            .unwrap_err(),
        GuardError::BlockedAddress {
            address: ip("169.254.169.254"),
            range: "169.254.0.0/16".into(),
            label: "link-local",
        }
    );
    // A public address so spelled is refused too: resolvers disagree on
    // whether it is an address or a name.
    for (input, host) in [
        ("https://8.8.8.8../", "8.8.8.8.."),
        ("https://1.2.3.4.5../", "1.2.3.4.5.."),
        ("https://example.0x10../", "example.0x10.."),
    ] {
        assert_eq!(
            guard.check_str(input),
            Err(GuardError::InvalidHost {
                host: host.into(),
                reason: "an IP address followed by extra dots",
            }),
            "{input}"
        );
    }
    // Even an allowed address: the spelling is what is refused.
    let allowing = UrlGuard::new().allow_net(net("8.8.8.0/24"));
    assert!(matches!(
        allowing.check_str("https://8.8.8.8../"),
        Err(GuardError::InvalidHost { .. })
    ));
    assert!(allowing.check_str("https://8.8.8.8./").is_ok());
}

#[test]
fn port_zero_is_refused() {
    let guard = UrlGuard::new().allow_loopback_for_testing();
    for input in [
        "https://example.com:0/",
        "https://example.com:00/hook",
        "https://8.8.8.8:0/",
        "https://[2606:4700:4700::1111]:0/",
        "https://127.0.0.1:0/",
    ] {
        assert_eq!(
            guard.check_str(input),
            Err(GuardError::InvalidPort { port: 0 }),
            "{input}"
        );
    }
    assert!(guard.check_str("https://example.com:1/").is_ok());
    assert!(guard.check_str("https://example.com:65535/").is_ok());
    assert!(matches!(
        guard.check_str("https://example.com:65536/"),
        Err(GuardError::InvalidUrl { .. })
    ));
}

#[test]
fn names_over_dns_limits_are_refused() {
    let guard = UrlGuard::new();
    let check = |host: &str| guard.check_str(&format!("https://{host}/hook"));
    let invalid = |host: &str, reason: &'static str| {
        Err::<url::Url, _>(GuardError::InvalidHost {
            host: host.to_owned(),
            reason,
        })
    };

    // Labels: 63 bytes pass, 64 do not, wherever the label sits.
    let label63 = "a".repeat(63);
    let label64 = "a".repeat(64);
    assert!(check(&format!("{label63}.example.com")).is_ok());
    for host in [
        format!("{label64}.example.com"),
        format!("www.{label64}.com"),
        format!("example.{label64}"),
        format!("example.{label64}."),
    ] {
        assert_eq!(
            check(&host).map(|_| ()),
            invalid(&host, "a label longer than 63 bytes").map(|_| ()),
            "{host}"
        );
    }
    // The limit is on the punycode the resolver is sent: 48 characters
    // here, 85 bytes once encoded.
    let label = "例子测试中文域名".repeat(6);
    assert_eq!(label.chars().count(), 48);
    let wide = format!("{label}.example");
    assert!(matches!(
        check(&wide),
        Err(GuardError::InvalidHost {
            reason: "a label longer than 63 bytes",
            ..
        })
    ));

    // Names: 253 bytes pass (254 with the root's dot), 254 do not.
    // A name of exactly `len` bytes, in labels of at most 63.
    let name = |len: usize| {
        let mut host = String::new();
        while host.len() < len {
            if !host.is_empty() {
                host.push('.');
            }
            host.push_str(&"b".repeat((len - host.len()).min(63)));
        }
        host
    };
    let host253 = format!("{}.com", name(249));
    assert_eq!(host253.len(), 253);
    assert!(check(&host253).is_ok(), "{host253}");
    assert!(check(&format!("{host253}.")).is_ok());
    let host254 = format!("{}.com", name(250));
    assert_eq!(host254.len(), 254);
    assert_eq!(
        check(&host254).map(|_| ()),
        invalid(&host254, "longer than 253 bytes").map(|_| ())
    );
    // A 4 KiB host is refused for its length as a name; a 64 KiB one, and
    // any URL past MAX_URL_LEN, before it is parsed at all.
    let long = format!("{}.com", "c.".repeat(2000));
    assert!(matches!(
        check(&long),
        Err(GuardError::InvalidHost {
            reason: "longer than 253 bytes",
            ..
        })
    ));
    let huge = format!("{}.com", "c.".repeat(32 * 1024));
    assert!(matches!(
        check(&huge),
        Err(GuardError::UrlTooLong {
            limit: MAX_URL_LEN,
            ..
        })
    ));
    let guard = UrlGuard::new();
    let at_limit = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN - 20));
    assert_eq!(at_limit.len(), MAX_URL_LEN);
    assert!(guard.check_str(&at_limit).is_ok());
    // Written out, spaces become `%20`: the stored form is what counts.
    let grows = format!("https://example.com/a{}b", " ".repeat(2000));
    assert!(grows.len() < MAX_URL_LEN);
    assert!(matches!(
        guard.check_str(&grows),
        Err(GuardError::UrlTooLong { length: 6022, .. })
    ));
    let past_limit = format!("{at_limit}a");
    assert_eq!(
        guard.check_str(&past_limit),
        Err(GuardError::UrlTooLong {
            length: MAX_URL_LEN + 1,
            limit: MAX_URL_LEN
        })
    );

    // Empty labels inside a name.
    for host in ["a..example.com", ".example.com"] {
        let got = check(host);
        assert!(
            matches!(
                &got,
                Err(GuardError::InvalidHost {
                    reason: "an empty label",
                    ..
                }) | Err(GuardError::InvalidUrl { .. })
            ),
            "{host}: {got:?}"
        );
    }
}
