//! The SSRF guard: which URLs and addresses a sender may connect to.
//!
//! A sender connects to URLs its customers typed in, so a customer could
//! point it at the sender's own network: a cloud metadata service, an admin
//! port on loopback, a database on a private address. The guard refuses
//! those, in two steps: [`UrlGuard::check_url`] when a URL is registered and
//! before each delivery, and [`UrlGuard::check_resolved`] on the addresses a
//! name resolves to, at connect time, so that DNS cannot swap a public
//! address for a private one in between.
//!
//! Every decision is taken on the host as the `url` crate parsed it, the
//! same WHATWG parser the HTTP client uses, so `0x7f.1` and `2130706433` are
//! seen as the `127.0.0.1` they will connect to.

mod ranges;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use url::{Host, Url};

/// Name suffixes that only a local network resolves. `localhost` is handled
/// apart because the loopback allowance lifts it.
const LOCAL_SUFFIXES: [&str; 4] = ["local", "internal", "home.arpa", "localdomain"];

/// Decides which URLs and IP addresses a sender may ever connect to.
///
/// A new guard allows public `https` targets only. Each exception is a
/// builder method whose name says what it opens, and `Debug` lists every
/// exception in force under that name, so none goes unnoticed in a log.
///
/// ```
/// use titan_webhooks::{GuardError, UrlGuard};
///
/// let guard = UrlGuard::new();
/// assert!(guard.check_str("https://example.com/hooks").is_ok());
///
/// // The cloud metadata service, however the address is spelled.
/// for url in ["https://169.254.169.254/", "https://2852039166/", "https://0xa9.0xfe.0xa9.0xfe/"] {
///     let err = guard.check_str(url).unwrap_err();
///     assert_eq!(err.to_string(), "169.254.169.254 is a link-local address (169.254.0.0/16)");
/// }
/// assert_eq!(format!("{guard:?}"), "UrlGuard");
/// ```
#[derive(Clone, Default)]
pub struct UrlGuard {
    allowed_nets: Vec<IpNet>,
    allowed_hosts: Vec<AllowedHost>,
    loopback_for_testing: bool,
    http_for_testing: bool,
}

/// A name given to [`UrlGuard::allow_host`]: as given, for `Debug`, and in
/// the form it is compared in.
#[derive(Clone)]
struct AllowedHost {
    given: String,
    /// `None` when the name is not a domain name; it then matches nothing.
    normalized: Option<String>,
}

/// Why the guard refused a URL or an address.
///
/// The message can be shown to whoever registered the URL: it names the
/// host or address and the rule, never the rest of the URL, whose path or
/// query may hold a token.
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use titan_webhooks::{GuardError, UrlGuard};
///
/// let err = UrlGuard::new().check_str("https://10.0.0.5/hook?token=abc").unwrap_err();
/// assert_eq!(
///     err,
///     GuardError::BlockedAddress {
///         address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)),
///         range: "10.0.0.0/8".into(),
///         label: "private",
///     }
/// );
/// assert_eq!(err.to_string(), "10.0.0.5 is a private address (10.0.0.0/8)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// The URL does not parse.
    #[error("not a valid URL: {reason}")]
    InvalidUrl {
        /// What the parser said.
        reason: String,
    },
    /// The URL is longer than [`MAX_URL_LEN`] bytes, as given or as written
    /// out once parsed. A long one is refused before parsing: international
    /// domain names cost time that grows faster than their length.
    #[error("the URL is {length} bytes long; the limit is {limit}")]
    UrlTooLong {
        /// The URL's length in bytes.
        length: usize,
        /// [`MAX_URL_LEN`].
        limit: usize,
    },
    /// The scheme is not `https` (nor `http` under
    /// [`UrlGuard::allow_http_for_testing`]).
    #[error("scheme `{scheme}` is not allowed; webhook URLs must use https")]
    SchemeNotAllowed {
        /// The URL's scheme, in lower case.
        scheme: String,
    },
    /// The URL carries a username or a password.
    #[error("URLs with a username or password are not allowed")]
    UserinfoNotAllowed,
    /// The URL has no host.
    #[error("the URL has no host")]
    MissingHost,
    /// The URL names a port no server can listen on: port 0.
    #[error("port {port} is not allowed: no server listens on it")]
    InvalidPort {
        /// The port, as parsed.
        port: u16,
    },
    /// The host is not a name DNS can resolve: a label over 63 bytes, a
    /// name over 253, an empty label, or an IP address written with extra
    /// trailing dots, which resolvers disagree on.
    #[error("host `{host}` is not a valid host name: {reason}")]
    InvalidHost {
        /// The host, as parsed.
        host: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The host is `localhost` or a name under it, which means this machine.
    #[error("host `{host}` is this machine (localhost)")]
    LocalhostName {
        /// The host, as parsed.
        host: String,
    },
    /// The host is a single label, such as `intranet`, which only a local
    /// network's resolver answers.
    #[error("host `{host}` is a single-label name, which only a local network resolves")]
    SingleLabelHost {
        /// The host, as parsed.
        host: String,
    },
    /// The host is under a suffix reserved for local networks, such as
    /// `.internal` or `.local`.
    #[error("host `{host}` is under `.{suffix}`, a name reserved for local networks")]
    LocalOnlyDomain {
        /// The host, as parsed.
        host: String,
        /// The reserved suffix, without its leading dot.
        suffix: &'static str,
    },
    /// The address lies in a blocked range.
    #[error("{address} is {} ({range})", kind(label))]
    BlockedAddress {
        /// The refused address.
        address: IpAddr,
        /// The blocked range, in CIDR notation.
        range: String,
        /// What the range is for: `private`, `loopback`, `link-local`...
        label: &'static str,
    },
    /// The IPv6 address carries an IPv4 address that lies in a blocked
    /// range: an IPv4-mapped, NAT64 (`64:ff9b::/96`) or 6to4 (`2002::/16`)
    /// address, which reaches the IPv4 address.
    #[error(
        "{address} is {} {form} address embedding {embedded}, {} ({range})",
        article(form),
        kind(label)
    )]
    BlockedEmbeddedAddress {
        /// The refused address.
        address: IpAddr,
        /// How it embeds the IPv4 address: `IPv4-mapped`, `NAT64` or `6to4`.
        form: &'static str,
        /// The embedded IPv4 address.
        embedded: Ipv4Addr,
        /// The blocked IPv4 range the embedded address lies in.
        range: String,
        /// What the range is for.
        label: &'static str,
    },
    /// A host resolved to a refused address; `reason` says why that address
    /// is refused.
    #[error("{}", describe_resolved(host, reason))]
    ResolvesToBlocked {
        /// The host that was resolved.
        host: String,
        /// A [`GuardError::BlockedAddress`] or
        /// [`GuardError::BlockedEmbeddedAddress`].
        reason: Box<GuardError>,
    },
    /// A host resolved to no address at all.
    #[error("host `{host}` resolved to no addresses")]
    NoAddresses {
        /// The host that was resolved.
        host: String,
    },
}

fn article(word: &str) -> &'static str {
    match word {
        "AMT relay anycast"
        | "AS112 DNS"
        | "Azure WireServer"
        | "IETF protocol assignments"
        | "IPv4-compatible"
        | "IPv4-mapped"
        | "SRv6 SID"
        | "unspecified" => "an",
        _ => "a",
    }
}

/// "a private address", with the label quoted where it is not an adjective.
fn kind(label: &str) -> String {
    if label == "this network" {
        format!("a \"{label}\" address")
    } else {
        format!("{} {label} address", article(label))
    }
}

fn describe_resolved(host: &str, reason: &GuardError) -> String {
    match reason {
        GuardError::BlockedAddress {
            address,
            range,
            label,
        } => format!("`{host}` resolves to {address}, {} ({range})", kind(label)),
        GuardError::BlockedEmbeddedAddress {
            address,
            form,
            embedded,
            range,
            label,
        } => format!(
            "`{host}` resolves to {address}, {} {form} address embedding {embedded}, {} ({range})",
            article(form),
            kind(label)
        ),
        other => format!("`{host}` resolves to a refused address: {other}"),
    }
}

impl UrlGuard {
    /// A guard that allows public `https` targets and nothing else.
    ///
    /// ```
    /// use titan_webhooks::UrlGuard;
    ///
    /// let guard = UrlGuard::new();
    /// assert!(guard.check_str("https://hooks.example.com/in").is_ok());
    /// assert!(guard.check_str("http://hooks.example.com/in").is_err());
    /// assert!(guard.check_str("https://127.0.0.1/").is_err());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Also allows every address in `net`, blocked range or not: for
    /// receivers hosted on the sender's own network.
    ///
    /// An IPv4-mapped IPv6 address counts as its IPv4 address. A NAT64 or
    /// 6to4 address does not: it is allowed only if `net` contains the IPv6
    /// address itself.
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv4Addr};
    /// use titan_webhooks::UrlGuard;
    ///
    /// let guard = UrlGuard::new().allow_net("10.1.0.0/16".parse()?);
    /// assert!(guard.check_ip(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))).is_ok());
    /// assert!(guard.check_ip(IpAddr::V4(Ipv4Addr::new(10, 2, 0, 1))).is_err());
    /// assert_eq!(format!("{guard:?}"), "UrlGuard { allow_net: [10.1.0.0/16] }");
    /// # Ok::<(), ipnet::AddrParseError>(())
    /// ```
    #[must_use]
    pub fn allow_net(mut self, net: IpNet) -> Self {
        self.allowed_nets.push(net);
        self
    }

    /// Also allows this exact host name: it skips the name rules in
    /// [`check_url`](Self::check_url), and [`check_resolved`](Self::check_resolved)
    /// accepts whatever it resolves to, private or not.
    ///
    /// Names are compared case-insensitively, after IDNA, ignoring one
    /// trailing dot. Names under it are not allowed. An IP address given
    /// here matches nothing; use [`allow_net`](Self::allow_net) for those.
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv4Addr};
    /// use titan_webhooks::UrlGuard;
    ///
    /// let guard = UrlGuard::new().allow_host("webhooks.internal");
    /// assert!(guard.check_str("https://Webhooks.Internal./in").is_ok());
    /// assert!(guard.check_str("https://other.internal/in").is_err());
    /// let private = [IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5))];
    /// assert!(guard.check_resolved("webhooks.internal", &private).is_ok());
    /// assert!(guard.check_resolved("hooks.example.com", &private).is_err());
    /// ```
    #[must_use]
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        let given = host.into();
        let normalized = normalize_host(&given);
        self.allowed_hosts.push(AllowedHost { given, normalized });
        self
    }

    /// Also allows loopback, for tests against a local server: the
    /// addresses `127.0.0.0/8`, `::1` and `::ffff:127.0.0.0/104`, and the
    /// names `localhost` and `*.localhost`. Every other blocked range stays
    /// blocked. Plain `http` needs
    /// [`allow_http_for_testing`](Self::allow_http_for_testing) as well.
    ///
    /// ```
    /// use titan_webhooks::UrlGuard;
    ///
    /// let guard = UrlGuard::new().allow_loopback_for_testing();
    /// assert!(guard.check_str("https://127.0.0.1:8443/").is_ok());
    /// assert!(guard.check_str("https://localhost/").is_ok());
    /// assert!(guard.check_str("https://10.0.0.1/").is_err());
    /// assert!(format!("{guard:?}").contains("allow_loopback_for_testing"));
    /// ```
    #[must_use]
    pub fn allow_loopback_for_testing(mut self) -> Self {
        self.loopback_for_testing = true;
        self
    }

    /// Also allows the plain `http` scheme, for tests. No other scheme is
    /// ever allowed.
    ///
    /// ```
    /// use titan_webhooks::UrlGuard;
    ///
    /// let guard = UrlGuard::new().allow_http_for_testing();
    /// assert!(guard.check_str("http://example.com/").is_ok());
    /// assert!(guard.check_str("ftp://example.com/").is_err());
    /// assert!(format!("{guard:?}").contains("allow_http_for_testing"));
    /// ```
    #[must_use]
    pub fn allow_http_for_testing(mut self) -> Self {
        self.http_for_testing = true;
        self
    }

    /// Parses `url` and checks it with [`check_url`](Self::check_url),
    /// returning the parsed URL to connect to.
    ///
    /// ```
    /// use titan_webhooks::{GuardError, UrlGuard};
    ///
    /// let guard = UrlGuard::new();
    /// let url = guard.check_str("https://bücher.example/hook")?;
    /// assert_eq!(url.host_str(), Some("xn--bcher-kva.example"));
    /// assert!(matches!(guard.check_str("not a url"), Err(GuardError::InvalidUrl { .. })));
    /// # Ok::<(), GuardError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`GuardError::UrlTooLong`] past [`MAX_URL_LEN`] bytes,
    /// [`GuardError::InvalidUrl`] when `url` does not parse, else what
    /// [`check_url`](Self::check_url) returns.
    pub fn check_str(&self, url: &str) -> Result<Url, GuardError> {
        if url.len() > MAX_URL_LEN {
            return Err(GuardError::UrlTooLong {
                length: url.len(),
                limit: MAX_URL_LEN,
            });
        }
        let url = Url::parse(url).map_err(|err| GuardError::InvalidUrl {
            reason: err.to_string(),
        })?;
        self.check_url(&url)?;
        Ok(url)
    }

    /// Checks a parsed URL: its scheme, that it has no username or
    /// password, and its host, whether a name or an address literal.
    ///
    /// A name that passes may still resolve to a blocked address: check
    /// the addresses too, with [`check_resolved`](Self::check_resolved).
    ///
    /// ```
    /// use titan_webhooks::{GuardError, UrlGuard};
    ///
    /// let guard = UrlGuard::new();
    /// let url = url::Url::parse("https://metadata.google.internal/")?;
    /// assert_eq!(
    ///     guard.check_url(&url),
    ///     Err(GuardError::LocalOnlyDomain { host: "metadata.google.internal".into(), suffix: "internal" })
    /// );
    /// # Ok::<(), url::ParseError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`GuardError::SchemeNotAllowed`], [`GuardError::UserinfoNotAllowed`],
    /// [`GuardError::MissingHost`], [`GuardError::InvalidPort`],
    /// [`GuardError::InvalidHost`], [`GuardError::LocalhostName`],
    /// [`GuardError::SingleLabelHost`], [`GuardError::LocalOnlyDomain`], or
    /// what [`check_ip`](Self::check_ip) returns for an address literal,
    /// however it is spelled.
    pub fn check_url(&self, url: &Url) -> Result<(), GuardError> {
        // Parsing can lengthen a URL (percent-encoding, punycode): the
        // written-out form is what is stored and checked again later.
        let length = url.as_str().len();
        if length > MAX_URL_LEN {
            return Err(GuardError::UrlTooLong {
                length,
                limit: MAX_URL_LEN,
            });
        }
        let scheme = url.scheme();
        if scheme != "https" && !(scheme == "http" && self.http_for_testing) {
            return Err(GuardError::SchemeNotAllowed {
                scheme: scheme.to_owned(),
            });
        }
        // Userinfo is refused rather than stripped: it is where a secret
        // would hide, and `user@host` spellings are a classic way to make a
        // URL read as one host while connecting to another.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(GuardError::UserinfoNotAllowed);
        }
        // The parser keeps port 0, which no server listens on and some
        // clients read as "any port".
        if url.port() == Some(0) {
            return Err(GuardError::InvalidPort { port: 0 });
        }
        match url.host() {
            None => Err(GuardError::MissingHost),
            Some(Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
            Some(Host::Domain(name)) => self.check_name(name),
        }
    }

    /// Checks one IP address against the blocked ranges and the
    /// allowances.
    ///
    /// An IPv4-mapped, NAT64 (`64:ff9b::/96`) or 6to4 (`2002::/16`) address
    /// is judged by the IPv4 address it carries.
    ///
    /// ```
    /// use std::net::IpAddr;
    /// use titan_webhooks::UrlGuard;
    ///
    /// let guard = UrlGuard::new();
    /// let public: IpAddr = "2606:4700:4700::1111".parse()?;
    /// assert!(guard.check_ip(public).is_ok());
    /// let nat64: IpAddr = "64:ff9b::a9fe:a9fe".parse()?;
    /// assert_eq!(
    ///     guard.check_ip(nat64).unwrap_err().to_string(),
    ///     "64:ff9b::a9fe:a9fe is a NAT64 address embedding 169.254.169.254, \
    ///      a link-local address (169.254.0.0/16)"
    /// );
    /// # Ok::<(), std::net::AddrParseError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`GuardError::BlockedAddress`] or
    /// [`GuardError::BlockedEmbeddedAddress`], naming the blocked range.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), GuardError> {
        if self.address_is_allowed(ip) {
            return Ok(());
        }
        let Some(blocked) = ranges::classify(ip) else {
            return Ok(());
        };
        let range = blocked.net.to_string();
        let label = blocked.label;
        Err(match blocked.embedded {
            None => GuardError::BlockedAddress {
                address: ip,
                range,
                label,
            },
            Some((form, embedded)) => GuardError::BlockedEmbeddedAddress {
                address: ip,
                form,
                embedded,
                range,
                label,
            },
        })
    }

    /// Checks every address `host` resolved to, at connect time: a single
    /// blocked one refuses the target, since the client may pick any of
    /// them and DNS answers can change between lookups. An empty list is
    /// refused too.
    ///
    /// `host` is the URL's host, which should already have passed
    /// [`check_url`](Self::check_url); it is used to apply
    /// [`allow_host`](Self::allow_host) and to word the error.
    ///
    /// ```
    /// use std::net::IpAddr;
    /// use titan_webhooks::UrlGuard;
    ///
    /// let guard = UrlGuard::new();
    /// let addresses: [IpAddr; 2] = ["93.184.215.14".parse()?, "10.0.0.5".parse()?];
    /// assert_eq!(
    ///     guard.check_resolved("hooks.example.com", &addresses).unwrap_err().to_string(),
    ///     "`hooks.example.com` resolves to 10.0.0.5, a private address (10.0.0.0/8)"
    /// );
    /// assert!(guard.check_resolved("example.com", &addresses[..1]).is_ok());
    /// assert!(guard.check_resolved("example.com", &[]).is_err());
    /// # Ok::<(), std::net::AddrParseError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`GuardError::NoAddresses`] for an empty list, or
    /// [`GuardError::ResolvesToBlocked`] with the first blocked address.
    pub fn check_resolved(&self, host: &str, addresses: &[IpAddr]) -> Result<(), GuardError> {
        if addresses.is_empty() {
            return Err(GuardError::NoAddresses {
                host: host.to_owned(),
            });
        }
        if self.host_is_allowed(host) {
            return Ok(());
        }
        for &ip in addresses {
            self.check_ip(ip)
                .map_err(|reason| GuardError::ResolvesToBlocked {
                    host: host.to_owned(),
                    reason: Box::new(reason),
                })?;
        }
        Ok(())
    }

    /// The name rules, for a host the URL parser produced: lower case,
    /// IDNA-encoded, possibly ending in dots.
    fn check_name(&self, name: &str) -> Result<(), GuardError> {
        // Resolvers treat `name.` as `name`; strip every trailing dot so
        // that `localhost..` cannot slip past either.
        let bare = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(reason) = self.invalid_name(&bare)? {
            return Err(GuardError::InvalidHost {
                host: name.to_owned(),
                reason,
            });
        }
        if self.host_is_allowed(name) {
            return Ok(());
        }
        if is_under(&bare, "localhost") {
            return if self.loopback_for_testing {
                Ok(())
            } else {
                Err(GuardError::LocalhostName {
                    host: name.to_owned(),
                })
            };
        }
        if !bare.contains('.') {
            return Err(GuardError::SingleLabelHost {
                host: name.to_owned(),
            });
        }
        match LOCAL_SUFFIXES
            .into_iter()
            .find(|suffix| is_under(&bare, suffix))
        {
            Some(suffix) => Err(GuardError::LocalOnlyDomain {
                host: name.to_owned(),
                suffix,
            }),
            None => Ok(()),
        }
    }

    /// Why `bare`, a host less its trailing dots, is no name DNS resolves.
    /// An IP address in disguise that lies in a blocked range is refused
    /// as that address, the clearer reason.
    fn invalid_name(&self, bare: &str) -> Result<Option<&'static str>, GuardError> {
        // The parser reads a host ending in a number as IPv4 and allows one
        // trailing dot; with two or more it is left a name that some
        // resolvers still read as the address.
        if bare.rsplit('.').next().is_some_and(is_ipv4_number) {
            if let Ok(Host::Ipv4(ip)) = Host::parse(bare) {
                self.check_ip(IpAddr::V4(ip))?;
            }
            return Ok(Some("an IP address followed by extra dots"));
        }
        // Empty is `https://./`, refused below as a single label.
        if bare.is_empty() {
            return Ok(None);
        }
        if bare.len() > MAX_NAME_LEN {
            return Ok(Some("longer than 253 bytes"));
        }
        for label in bare.split('.') {
            if label.is_empty() {
                return Ok(Some("an empty label"));
            }
            if label.len() > MAX_LABEL_LEN {
                return Ok(Some("a label longer than 63 bytes"));
            }
        }
        Ok(None)
    }

    fn host_is_allowed(&self, host: &str) -> bool {
        if self.allowed_hosts.is_empty() {
            return false;
        }
        let Some(host) = normalize_host(host) else {
            return false;
        };
        self.allowed_hosts
            .iter()
            .any(|allowed| allowed.normalized.as_deref() == Some(host.as_str()))
    }

    fn address_is_allowed(&self, ip: IpAddr) -> bool {
        // `::ffff:a.b.c.d` connects to `a.b.c.d`, so it gets the same
        // allowances; NAT64 and 6to4 go through a gateway and do not.
        let canonical = ip.to_canonical();
        (self.loopback_for_testing && canonical.is_loopback())
            || self
                .allowed_nets
                .iter()
                .any(|net| net.contains(&ip) || net.contains(&canonical))
    }
}

/// The longest webhook URL [`UrlGuard::check_str`] accepts, in bytes: room
/// for a long path and query token, far below what would make parsing a
/// cost.
///
/// ```
/// use titan_webhooks::{GuardError, MAX_URL_LEN, UrlGuard};
///
/// let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
/// assert!(matches!(UrlGuard::new().check_str(&long), Err(GuardError::UrlTooLong { .. })));
/// ```
pub const MAX_URL_LEN: usize = 4096;

/// The longest label DNS carries (RFC 1035).
const MAX_LABEL_LEN: usize = 63;
/// The longest name DNS carries, written with dots and without the final
/// one: 255 octets on the wire less the length bytes (RFC 1035).
const MAX_NAME_LEN: usize = 253;

/// A label the WHATWG parser reads as an IPv4 number: decimal, or hex
/// after `0x`. (Octal is decimal digits, so it is covered.)
fn is_ipv4_number(label: &str) -> bool {
    let digits = match label
        .strip_prefix("0x")
        .or_else(|| label.strip_prefix("0X"))
    {
        Some(hex) => return hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => label,
    };
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `name` is `domain` or a name under it.
fn is_under(name: &str, domain: &str) -> bool {
    name.strip_suffix(domain)
        .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
}

/// A host name in the form [`UrlGuard::allow_host`] compares: as the URL
/// parser writes it (lower case, IDNA), less one trailing dot. `None` for
/// an IP address or anything that is not a valid domain name.
fn normalize_host(host: &str) -> Option<String> {
    match Host::parse(host) {
        Ok(Host::Domain(mut name)) => {
            if name.ends_with('.') {
                name.pop();
            }
            (!name.is_empty()).then_some(name)
        }
        _ => None,
    }
}

impl fmt::Debug for UrlGuard {
    /// Lists the allowances in force, each under the name of the method
    /// that granted it; a guard with none prints as `UrlGuard`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("UrlGuard");
        if !self.allowed_nets.is_empty() {
            out.field("allow_net", &self.allowed_nets);
        }
        if !self.allowed_hosts.is_empty() {
            let given: Vec<&str> = self
                .allowed_hosts
                .iter()
                .map(|host| host.given.as_str())
                .collect();
            out.field("allow_host", &given);
        }
        if self.loopback_for_testing {
            out.field("allow_loopback_for_testing", &true);
        }
        if self.http_for_testing {
            out.field("allow_http_for_testing", &true);
        }
        out.finish()
    }
}
