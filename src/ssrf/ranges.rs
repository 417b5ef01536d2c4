//! The blocked address ranges, and how an address is matched against them.
//!
//! Sources: every entry of the IANA IPv4 and IPv6 Special-Purpose Address
//! Registries (RFC 6890 and its updates, as of the 2025 revisions), the
//! multicast and reserved blocks of the address space registries, and the
//! cloud providers' internal addresses that lie outside them. A range is
//! blocked when a webhook receiver can never legitimately live there, or
//! when reaching it would touch the sender's own network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// A blocked range and the word a user is shown for it.
pub(super) struct Range<N> {
    pub(super) net: N,
    pub(super) label: &'static str,
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8, label: &'static str) -> Range<Ipv4Net> {
    Range {
        net: Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len),
        label,
    }
}

const fn v6(segments: [u16; 8], len: u8, label: &'static str) -> Range<Ipv6Net> {
    let [a, b, c, d, e, f, g, h] = segments;
    Range {
        net: Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), len),
        label,
    }
}

/// Blocked IPv4 ranges. The first match names the range, so a narrower
/// range comes before a wider one that contains it.
pub(super) const BLOCKED_V4: &[Range<Ipv4Net>] = &[
    v4(0, 0, 0, 0, 32, "unspecified"),
    v4(0, 0, 0, 0, 8, "this network"),
    v4(10, 0, 0, 0, 8, "private"),
    // "Shared Address Space" (RFC 6598); holds Alibaba Cloud's metadata
    // service, 100.100.100.200, and its resolvers.
    v4(100, 64, 0, 0, 10, "carrier-grade NAT"),
    v4(127, 0, 0, 0, 8, "loopback"),
    // Not in the registry: Azure's WireServer and DNS resolver, a public
    // address that every Azure VM reaches on its host.
    v4(168, 63, 129, 16, 32, "Azure WireServer"),
    // Holds the metadata services of AWS, GCP, Azure, Oracle, DigitalOcean
    // and others at 169.254.169.254, and AWS's resolver at .253.
    v4(169, 254, 0, 0, 16, "link-local"),
    v4(172, 16, 0, 0, 12, "private"),
    // DS-Lite, the PCP and TURN anycasts, NAT64 discovery, and Oracle
    // Cloud's metadata alias 192.0.0.192.
    v4(192, 0, 0, 0, 24, "IETF protocol assignments"),
    v4(192, 0, 2, 0, 24, "documentation"),
    // AS112-v4 (RFC 7535): sinks for reverse lookups of private space.
    v4(192, 31, 196, 0, 24, "AS112 DNS"),
    // AMT (RFC 7450): multicast tunnel relays, no webhook receivers.
    v4(192, 52, 193, 0, 24, "AMT relay anycast"),
    v4(192, 88, 99, 0, 24, "6to4 relay anycast"),
    v4(192, 168, 0, 0, 16, "private"),
    // Direct Delegation AS112 Service (RFC 7534).
    v4(192, 175, 48, 0, 24, "AS112 DNS"),
    v4(198, 18, 0, 0, 15, "benchmarking"),
    v4(198, 51, 100, 0, 24, "documentation"),
    v4(203, 0, 113, 0, 24, "documentation"),
    v4(224, 0, 0, 0, 4, "multicast"),
    // Includes the limited broadcast address 255.255.255.255.
    v4(240, 0, 0, 0, 4, "reserved"),
];

/// Blocked IPv6 ranges, narrower before wider as above. The three prefixes
/// that embed an IPv4 address are not here: [`classify_v6`] looks inside
/// them instead.
pub(super) const BLOCKED_V6: &[Range<Ipv6Net>] = &[
    v6([0, 0, 0, 0, 0, 0, 0, 0], 128, "unspecified"),
    v6([0, 0, 0, 0, 0, 0, 0, 1], 128, "loopback"),
    // Deprecated (RFC 4291); some stacks still route these to the
    // embedded IPv4 address, so none of them is a safe target.
    v6([0, 0, 0, 0, 0, 0, 0, 0], 96, "IPv4-compatible"),
    // IPv4-translated (RFC 2765), which translators may turn into the
    // embedded IPv4 address; never globally routed.
    v6([0, 0, 0, 0, 0xffff, 0, 0, 0], 96, "IPv4-translated"),
    // Local-use NAT64 (RFC 8215) exists only inside an operator's network,
    // and the operator picks the prefix length and so where the IPv4
    // address sits; the embedded address cannot be read reliably, so the
    // whole prefix is refused.
    v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, "local-use NAT64"),
    v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "discard-only"),
    // Dummy IPv6 Prefix (RFC 9780), for hosts without a global address.
    v6([0x100, 0, 0, 1, 0, 0, 0, 0], 64, "dummy"),
    // Teredo tunnels to an obfuscated IPv4 address and port.
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, "Teredo"),
    v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48, "benchmarking"),
    // The rest of the registry's 2001::/23: the PCP, TURN and DNS-SD SRP
    // anycasts, AMT, AS112-v6, ORCHID and ORCHIDv2, and drone entity tags.
    // Protocol machinery and identifiers, never a webhook receiver.
    v6(
        [0x2001, 0, 0, 0, 0, 0, 0, 0],
        23,
        "IETF protocol assignments",
    ),
    v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, "documentation"),
    // Direct Delegation AS112 Service (RFC 7534).
    v6([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0], 48, "AS112 DNS"),
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, "documentation"),
    // Segment Routing (SRv6) SIDs (RFC 9602): inside an operator's domain.
    v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16, "SRv6 SID"),
    // Holds AWS's metadata, resolver and time service (fd00:ec2::254,
    // ::253, ::123), GCP's metadata (fd20:ce::254) and others'.
    v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "unique local"),
    v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "link-local"),
    v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, "site-local"),
    v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "multicast"),
];

/// IPv4-mapped addresses (RFC 4291): the IPv4 address in the low 32 bits.
const MAPPED: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96);
/// The NAT64 well-known prefix (RFC 6052): the IPv4 address in the low 32
/// bits, translated and forwarded by a NAT64 gateway.
const NAT64: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96);
/// 6to4 (RFC 3056): the IPv4 address of the tunnel end in bits 16..48.
const SIX_TO_FOUR: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16);

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Blocked {
    /// The blocked range.
    pub(super) net: IpNet,
    /// Its label.
    pub(super) label: &'static str,
    /// When an IPv6 address carries a blocked IPv4 one: the form of
    /// embedding and the IPv4 address, which `net` then contains.
    pub(super) embedded: Option<(&'static str, Ipv4Addr)>,
}

/// The blocked range `ip` falls in, if any.
pub(super) fn classify(ip: IpAddr) -> Option<Blocked> {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Blocked> {
    BLOCKED_V4
        .iter()
        .find(|range| range.net.contains(&ip))
        .map(|range| Blocked {
            net: IpNet::V4(range.net),
            label: range.label,
            embedded: None,
        })
}

fn classify_v6(ip: Ipv6Addr) -> Option<Blocked> {
    if let Some((form, inner)) = embedded_v4(ip) {
        // A public IPv4 address behind these prefixes is a public target.
        return classify_v4(inner).map(|blocked| Blocked {
            embedded: Some((form, inner)),
            ..blocked
        });
    }
    BLOCKED_V6
        .iter()
        .find(|range| range.net.contains(&ip))
        .map(|range| Blocked {
            net: IpNet::V6(range.net),
            label: range.label,
            embedded: None,
        })
}

/// The IPv4 address carried by an IPv4-mapped, NAT64 or 6to4 address,
/// with the name of the form.
fn embedded_v4(ip: Ipv6Addr) -> Option<(&'static str, Ipv4Addr)> {
    let octets = ip.octets();
    if MAPPED.contains(&ip) {
        let [.., a, b, c, d] = octets;
        Some(("IPv4-mapped", Ipv4Addr::new(a, b, c, d)))
    } else if NAT64.contains(&ip) {
        let [.., a, b, c, d] = octets;
        Some(("NAT64", Ipv4Addr::new(a, b, c, d)))
    } else if SIX_TO_FOUR.contains(&ip) {
        let [_, _, a, b, c, d, ..] = octets;
        Some(("6to4", Ipv4Addr::new(a, b, c, d)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_range_is_written_as_its_network() {
        for range in BLOCKED_V4 {
            assert_eq!(range.net, range.net.trunc(), "{}", range.net);
        }
        for range in BLOCKED_V6 {
            assert_eq!(range.net, range.net.trunc(), "{}", range.net);
        }
        for net in [MAPPED, NAT64, SIX_TO_FOUR] {
            assert_eq!(net, net.trunc(), "{net}");
        }
    }

    #[test]
    fn a_narrower_range_is_never_hidden_behind_a_wider_one() {
        for (i, earlier) in BLOCKED_V4.iter().enumerate() {
            for (j, later) in BLOCKED_V4.iter().enumerate() {
                if j > i {
                    assert!(
                        !earlier.net.contains(&later.net),
                        "{} hides {}",
                        earlier.net,
                        later.net
                    );
                }
            }
        }
        for (i, earlier) in BLOCKED_V6.iter().enumerate() {
            for (j, later) in BLOCKED_V6.iter().enumerate() {
                if j > i {
                    assert!(
                        !earlier.net.contains(&later.net),
                        "{} hides {}",
                        earlier.net,
                        later.net
                    );
                }
            }
        }
    }

    #[test]
    fn the_embedding_prefixes_overlap_no_listed_range() {
        for net in [MAPPED, NAT64, SIX_TO_FOUR] {
            for range in BLOCKED_V6 {
                assert!(
                    !range.net.contains(&net) && !net.contains(&range.net),
                    "{net} overlaps {}",
                    range.net
                );
            }
        }
    }
}
