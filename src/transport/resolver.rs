//! DNS resolution that applies the SSRF guard at connect time.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::UrlGuard;

/// Resolves a host name, then refuses it if the guard blocks any of the
/// addresses it resolved to. reqwest connects only to addresses this
/// returns, so a name that resolves to a private address (DNS rebinding,
/// `127.0.0.1.nip.io`) is refused on every attempt, whatever it resolved to
/// when the webhook was created.
pub(crate) struct GuardedResolver {
    guard: Arc<UrlGuard>,
    lookup: Option<Arc<dyn Resolve>>,
}

impl GuardedResolver {
    /// Checks what `lookup` (the system resolver when `None`) returns.
    pub(crate) fn new(guard: Arc<UrlGuard>, lookup: Option<Arc<dyn Resolve>>) -> Self {
        Self { guard, lookup }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = Arc::clone(&self.guard);
        let lookup = self.lookup.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses: Vec<SocketAddr> = match lookup {
                Some(lookup) => lookup
                    .resolve(name)
                    .await
                    .map_err(DnsFailure::other)?
                    .collect(),
                None => tokio::net::lookup_host((host.as_str(), 0))
                    .await
                    .map_err(DnsFailure::io)?
                    .collect(),
            };
            let ips: Vec<IpAddr> = addresses.iter().map(SocketAddr::ip).collect();
            guard.check_resolved(&host, &ips)?;
            let addresses: Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

/// A failed lookup, marked so an attempt can tell it from a failed
/// connection.
#[derive(Debug)]
pub(crate) struct DnsFailure(String);

impl DnsFailure {
    fn io(err: io::Error) -> Self {
        Self(err.to_string())
    }

    fn other(err: Box<dyn std::error::Error + Send + Sync>) -> Self {
        Self(err.to_string())
    }
}

impl fmt::Display for DnsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "name resolution failed: {}", self.0)
    }
}

impl std::error::Error for DnsFailure {}
