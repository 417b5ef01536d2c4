//! The SSRF guard at connect time, as the library's Dispatcher applies it:
//! the URL is checked before sending (which covers IP literals), and every
//! address a host name resolves to is checked before reqwest may connect,
//! so DNS cannot swap a private address in.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use titan_webhooks::UrlGuard;

/// The private ranges `--allow-private` opens, besides loopback:
/// RFC 1918 and IPv6 unique local addresses. Link-local (and so cloud
/// metadata at 169.254.169.254) stays refused.
const PRIVATE_NETS: [&str; 4] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"];

/// The guard `send` uses: the library's defaults, or with `allow_private`
/// loopback, the private ranges and plain http, for local testing.
pub fn url_guard(allow_private: bool) -> UrlGuard {
    let guard = UrlGuard::new();
    if !allow_private {
        return guard;
    }
    PRIVATE_NETS
        .iter()
        .filter_map(|net| net.parse::<IpNet>().ok())
        .fold(
            guard.allow_loopback_for_testing().allow_http_for_testing(),
            UrlGuard::allow_net,
        )
}

/// Resolves with the system resolver, then refuses the name if the guard
/// blocks any address it resolved to.
pub struct GuardedResolver {
    guard: Arc<UrlGuard>,
}

impl GuardedResolver {
    /// A resolver that checks with `guard`.
    pub fn new(guard: Arc<UrlGuard>) -> Self {
        Self { guard }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = Arc::clone(&self.guard);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ips: Vec<IpAddr> = addresses.iter().map(SocketAddr::ip).collect();
            guard.check_resolved(&host, &ips)?;
            let addresses: Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_need_the_flag_and_metadata_never_passes() {
        let strict = url_guard(false);
        let local = url_guard(true);
        for url in [
            "http://127.0.0.1:3000/",
            "https://10.1.2.3/",
            "https://[fd00::1]/",
        ] {
            assert!(strict.check_str(url).is_err(), "{url}");
            assert!(local.check_str(url).is_ok(), "{url}");
        }
        assert!(
            local
                .check_str("http://169.254.169.254/latest/meta-data")
                .is_err()
        );
        assert!(strict.check_str("https://example.com/").is_ok());
        assert!(strict.check_str("http://example.com/").is_err());
    }

    /// A name that resolves to loopback is refused when reqwest asks for
    /// its addresses, not only when the URL is checked.
    #[test]
    fn names_resolving_to_private_addresses_are_refused_at_connect_time() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let resolve = |allow_private| {
            let resolver = GuardedResolver::new(Arc::new(url_guard(allow_private)));
            let name: Name = "localhost".parse().unwrap();
            runtime
                .block_on(resolver.resolve(name))
                .map(|addresses| addresses.map(|address| address.ip()).collect::<Vec<_>>())
        };
        let refused = resolve(false).unwrap_err().to_string();
        assert!(refused.contains("`localhost` resolves to"), "{refused}");
        let allowed = resolve(true).unwrap();
        assert!(!allowed.is_empty() && allowed.iter().all(IpAddr::is_loopback));
    }
}
