//! Event catalogs for Titan, Eventium and TitanX, their typed payloads, and
//! the subscription filter.
//!
//! A catalog never rejects an event type it does not know: a provider
//! adding an event must not break a receiver already deployed. Unknown
//! types parse into an `Unknown` variant that keeps the exact string.

use std::fmt;

mod catalog;
mod eventium;
mod filter;
mod titan;
mod titanx;

pub use catalog::Catalog;
pub use eventium::{
    EventiumCategory, EventiumData, EventiumEvent, EventiumTestRequest, QuotaThresholdReached,
};
pub(crate) use filter::filter_field;
pub use filter::{EventFilter, FilterError};
pub use titan::{TitanCategory, TitanEvent};
pub use titanx::{TitanXCategory, TitanXEvent};

/// What the catalogs have in common, so code such as [`EventFilter`] can be
/// written once for all of them.
///
/// ```
/// use titan_webhooks::{EventType, TitanEvent};
///
/// fn names<E: EventType>() -> Vec<&'static str> {
///     E::ALL.iter().map(|event| event.as_str()).collect()
/// }
/// assert_eq!(names::<TitanEvent>().len(), 31);
/// ```
pub trait EventType: Clone + Eq + fmt::Debug + fmt::Display + 'static {
    /// Every event type the catalog knows, in the provider's order.
    const ALL: &'static [Self];

    /// The dotted string, for example `message.received`.
    fn as_str(&self) -> &str;

    /// Parses a dotted string; unknown strings become the `Unknown` variant.
    fn parse(text: &str) -> Self;

    /// Whether the catalog knows this event type.
    fn is_known(&self) -> bool;
}

/// An event type a catalog does not know, kept exactly as received.
///
/// Only parsing creates one, so it never holds a string the catalog knows:
/// `"message.received"` always parses to the known variant.
///
/// ```
/// use titan_webhooks::TitanEvent;
///
/// let event: TitanEvent = "message.pinned".parse().unwrap();
/// match &event {
///     TitanEvent::Unknown(unknown) => assert_eq!(unknown.as_str(), "message.pinned"),
///     other => panic!("{other} should be unknown"),
/// }
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnknownEvent(Box<str>);

impl UnknownEvent {
    pub(crate) fn new(text: &str) -> Self {
        Self(text.into())
    }

    /// The event type as received.
    ///
    /// ```
    /// use titan_webhooks::EventiumEvent;
    ///
    /// let event: EventiumEvent = "billing.invoice.paid".parse().unwrap();
    /// if let EventiumEvent::Unknown(unknown) = event {
    ///     assert_eq!(unknown.as_str(), "billing.invoice.paid");
    /// }
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UnknownEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnknownEvent({:?})", self.0)
    }
}

/// Defines a catalog enum with its known variants, an `Unknown` variant,
/// string conversions, serde as the dotted string and a category. The first
/// entry is written apart so generated docs can use it as their example.
macro_rules! event_catalog {
    (
        $(#[$meta:meta])*
        pub enum $name:ident in $category:ident {
            $first:ident = $first_text:literal => $first_category:ident,
            $(
                $variant:ident = $text:literal => $variant_category:ident,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            #[doc = concat!("`", $first_text, "`")]
            $first,
            $(
                #[doc = concat!("`", $text, "`")]
                $variant,
            )*
            /// An event type this catalog does not know, kept verbatim.
            Unknown($crate::events::UnknownEvent),
        }

        impl $name {
            /// Every event type the catalog knows, in the provider's order.
            ///
            #[doc = concat!(
                "```\nuse titan_webhooks::", stringify!($name), ";\n\n",
                "assert_eq!(", stringify!($name), "::ALL[0].as_str(), \"", $first_text, "\");\n",
                "assert!(", stringify!($name), "::ALL.iter().all(|event| event.is_known()));\n```"
            )]
            pub const ALL: &'static [Self] = &[Self::$first, $(Self::$variant),*];

            /// The dotted string.
            ///
            #[doc = concat!(
                "```\nuse titan_webhooks::", stringify!($name), ";\n\n",
                "assert_eq!(", stringify!($name), "::", stringify!($first), ".as_str(), \"", $first_text, "\");\n",
                "assert_eq!(", stringify!($name), "::from(\"new.event\").as_str(), \"new.event\");\n```"
            )]
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    Self::$first => $first_text,
                    $(Self::$variant => $text,)*
                    Self::Unknown(unknown) => unknown.as_str(),
                }
            }

            /// Whether the catalog knows this event type.
            ///
            #[doc = concat!(
                "```\nuse titan_webhooks::", stringify!($name), ";\n\n",
                "assert!(", stringify!($name), "::from(\"", $first_text, "\").is_known());\n",
                "assert!(!", stringify!($name), "::from(\"new.event\").is_known());\n```"
            )]
            #[must_use]
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }

            /// The category: from the catalog for known types, and for an
            /// unknown type from a known type sharing its first dotted
            /// segment, if any.
            ///
            #[doc = concat!(
                "```\nuse titan_webhooks::{", stringify!($name), ", ", stringify!($category), "};\n\n",
                "assert_eq!(", stringify!($name), "::", stringify!($first), ".category(), Some(",
                stringify!($category), "::", stringify!($first_category), "));\n",
                "assert_eq!(", stringify!($name), "::from(\"nothing.like.it\").category(), None);\n```"
            )]
            #[must_use]
            pub fn category(&self) -> Option<$category> {
                match self {
                    Self::$first => Some($category::$first_category),
                    $(Self::$variant => Some($category::$variant_category),)*
                    Self::Unknown(unknown) => {
                        let segment = unknown.as_str().split('.').next()?;
                        Self::ALL
                            .iter()
                            .find(|known| known.as_str().split('.').next() == Some(segment))
                            .and_then(Self::category)
                    }
                }
            }

            fn from_text(text: &str) -> Self {
                match text {
                    $first_text => Self::$first,
                    $($text => Self::$variant,)*
                    other => Self::Unknown($crate::events::UnknownEvent::new(other)),
                }
            }
        }

        impl $crate::events::EventType for $name {
            const ALL: &'static [Self] = $name::ALL;

            fn as_str(&self) -> &str {
                $name::as_str(self)
            }

            fn parse(text: &str) -> Self {
                Self::from_text(text)
            }

            fn is_known(&self) -> bool {
                $name::is_known(self)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;

            /// Never fails: unknown strings become `Unknown`.
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Ok(Self::from_text(text))
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self::from_text(text)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self {
                    Self::Unknown(unknown) => ::std::fmt::Debug::fmt(unknown, f),
                    known => write!(f, "{}({:?})", stringify!($name), known.as_str()),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;

                impl ::serde::de::Visitor<'_> for Visitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str("an event type string")
                    }

                    fn visit_str<E: ::serde::de::Error>(self, text: &str) -> Result<$name, E> {
                        Ok($name::from_text(text))
                    }
                }

                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

pub(crate) use event_catalog;

/// Defines a category enum with `as_str` and `Display`.
macro_rules! event_category {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident = $text:literal,
            )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $(
                $(#[$variant_meta])*
                $variant,
            )+
        }

        impl $name {
            /// Every category, in the provider's order.
            ///
            #[doc = concat!(
                "```\nuse titan_webhooks::", stringify!($name), ";\n\n",
                "assert!(!", stringify!($name), "::ALL.is_empty());\n```"
            )]
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The category's name, as the provider's documentation groups
            /// events.
            ///
            #[doc = concat!(
                "```\nuse titan_webhooks::", stringify!($name), ";\n\n",
                "for category in ", stringify!($name), "::ALL {\n",
                "    assert_eq!(category.to_string(), category.as_str());\n}\n```"
            )]
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use event_category;
