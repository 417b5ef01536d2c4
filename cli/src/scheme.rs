//! The schemes the command knows, and the library's `Scheme` for each.

use std::fmt;

use clap::ValueEnum;
use titan_webhooks::Scheme;

use crate::error::CliError;

/// A scheme by name, as `--scheme` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemeName {
    /// Titan: `X-Webhook-Signature: sha256=<hex>` of the body.
    Titan,
    /// TitanX: `X-TitanX-Signature: sha256=<hex>` of the body.
    Titanx,
    /// Eventium: `X-TitanVX-Signature: t=<unix>,v1=<hex>`.
    Eventium,
    /// GitHub: `X-Hub-Signature-256: sha256=<hex>` of the body.
    Github,
    /// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>`, keyed on the whole `whsec_…` string.
    Stripe,
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`.
    StandardWebhooks,
    /// Svix: Standard Webhooks under `svix-id`, `svix-timestamp`, `svix-signature`.
    Svix,
}

/// Which envelope `send` wraps an event in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// `{id, event, session, timestamp, payload}`.
    Titan,
    /// `{id, type, created_at, data}`.
    Eventium,
}

impl SchemeName {
    /// The library's preset of that name.
    pub fn scheme(self) -> Result<Scheme, CliError> {
        Ok(match self {
            Self::Titan => Scheme::titan(),
            Self::Titanx => Scheme::titanx(),
            Self::Eventium => Scheme::eventium(),
            Self::Github => Scheme::github(),
            Self::Stripe => Scheme::stripe(),
            Self::StandardWebhooks => Scheme::standard_webhooks(),
            Self::Svix => Scheme::svix(),
        })
    }

    /// The envelope `send` uses for this scheme.
    pub fn flavour(self) -> Flavour {
        match self {
            Self::Eventium => Flavour::Eventium,
            Self::Titan
            | Self::Titanx
            | Self::Github
            | Self::Stripe
            | Self::StandardWebhooks
            | Self::Svix => Flavour::Titan,
        }
    }

    /// The name as `--scheme` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Titan => "titan",
            Self::Titanx => "titanx",
            Self::Eventium => "eventium",
            Self::Github => "github",
            Self::Stripe => "stripe",
            Self::StandardWebhooks => "standard-webhooks",
            Self::Svix => "svix",
        }
    }
}

impl fmt::Display for SchemeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_the_library_ones_by_name() {
        for &name in SchemeName::value_variants() {
            let scheme = name.scheme().unwrap();
            assert_eq!(scheme.name(), name.as_str());
            assert_eq!(Scheme::preset(name.as_str()), Some(scheme));
        }
    }

    #[test]
    fn svix_is_standard_webhooks_under_other_names() {
        let svix = SchemeName::Svix.scheme().unwrap();
        let standard = Scheme::standard_webhooks();
        assert_eq!(svix.format(), standard.format());
        assert_eq!(svix.encoding(), standard.encoding());
        assert_eq!(svix.secret_encoding(), standard.secret_encoding());
        let names: Vec<&str> = svix.headers().map(|name| name.as_str()).collect();
        assert_eq!(names, ["svix-signature", "svix-timestamp", "svix-id"]);
    }

    #[test]
    fn value_names_match_as_str() {
        for &name in SchemeName::value_variants() {
            let value = name.to_possible_value().unwrap();
            assert_eq!(value.get_name(), name.as_str());
        }
    }
}
