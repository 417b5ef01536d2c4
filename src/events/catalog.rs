//! Which catalog a webhook subscribes to and an envelope belongs to, so one
//! filter mechanism serves Titan, Eventium, TitanX and an application's own
//! events.

use std::borrow::Cow;
use std::fmt;

use super::{EventType, EventiumEvent, FilterError, TitanEvent, TitanXEvent, filter::closest};

/// The longest event type an open catalog accepts, in bytes.
const MAX_OPEN_EVENT_LEN: usize = 200;

/// An event catalog by name, and how it checks the event types a webhook
/// subscribes to.
///
/// A webhook receives only envelopes of its own catalog: an Eventium
/// endpoint is never sent a Titan envelope. Two catalogs are the same when
/// their names are.
///
/// ```
/// use titan_webhooks::{Catalog, TitanEvent};
///
/// assert!(Catalog::titan().check("message.received").is_ok());
/// let typo = Catalog::titan().check("message.recieved").unwrap_err();
/// assert!(typo.to_string().contains("did you mean `message.received`"));
///
/// // An application's own events, with no fixed list.
/// let orders = Catalog::open("orders");
/// assert!(orders.check("order.shipped").is_ok());
/// assert_ne!(orders, Catalog::titan());
/// ```
#[derive(Clone)]
pub struct Catalog {
    name: Cow<'static, str>,
    check: fn(&str) -> Result<(), FilterError>,
}

impl Catalog {
    /// Titan's catalog (seeds 000 and 001), named `titan`.
    ///
    /// ```
    /// assert_eq!(titan_webhooks::Catalog::titan().name(), "titan");
    /// ```
    #[must_use]
    pub const fn titan() -> Self {
        Self::borrowed("titan", check_known::<TitanEvent>)
    }

    /// Eventium's catalog (seed 003), named `eventium`.
    ///
    /// ```
    /// assert!(titan_webhooks::Catalog::eventium().check("agent.deployment.created").is_ok());
    /// ```
    #[must_use]
    pub const fn eventium() -> Self {
        Self::borrowed("eventium", check_known::<EventiumEvent>)
    }

    /// TitanX's catalog (seed 002), named `titanx`.
    ///
    /// ```
    /// assert!(titan_webhooks::Catalog::titanx().check("job.completed").is_ok());
    /// ```
    #[must_use]
    pub const fn titanx() -> Self {
        Self::borrowed("titanx", check_known::<TitanXEvent>)
    }

    /// An application's own catalog of the event types `E` knows.
    ///
    /// ```
    /// use titan_webhooks::{Catalog, EventiumEvent};
    ///
    /// let mirror = Catalog::of::<EventiumEvent>("eventium-mirror");
    /// assert!(mirror.check("webhook.test").is_ok());
    /// assert!(mirror.check("webhook.tset").is_err());
    /// ```
    #[must_use]
    pub const fn of<E: EventType>(name: &'static str) -> Self {
        Self::borrowed(name, check_known::<E>)
    }

    /// An application's own catalog with no fixed list: any event type of
    /// 1 to 200 visible characters is accepted.
    ///
    /// ```
    /// use titan_webhooks::Catalog;
    ///
    /// assert!(Catalog::open("billing").check("invoice.paid").is_ok());
    /// assert!(Catalog::open("billing").check("").is_err());
    /// ```
    #[must_use]
    pub fn open(name: impl Into<Cow<'static, str>>) -> Self {
        Self {
            name: name.into(),
            check: check_open,
        }
    }

    /// The catalog named `name` as stored: one of the built-in catalogs, or
    /// an open one. Storage is trusted, so nothing is refused here.
    #[cfg(feature = "queue")]
    pub(crate) fn from_stored(name: &str) -> Self {
        [Self::titan(), Self::eventium(), Self::titanx()]
            .into_iter()
            .find(|known| known.name() == name)
            .unwrap_or_else(|| Self::open(name.to_owned()))
    }

    const fn borrowed(name: &'static str, check: fn(&str) -> Result<(), FilterError>) -> Self {
        Self {
            name: Cow::Borrowed(name),
            check,
        }
    }

    /// The catalog's name.
    ///
    /// ```
    /// assert_eq!(titan_webhooks::Catalog::open("orders").name(), "orders");
    /// ```
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks that `event` is an event type of this catalog. `*`, the
    /// wildcard, is always accepted.
    ///
    /// ```
    /// use titan_webhooks::Catalog;
    ///
    /// assert!(Catalog::eventium().check("*").is_ok());
    /// assert!(Catalog::eventium().check("message.received").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`FilterError::UnknownEvent`], with the closest known type when one
    /// is near.
    pub fn check(&self, event: &str) -> Result<(), FilterError> {
        if event == super::filter::ALL_EVENTS {
            return Ok(());
        }
        (self.check)(event)
    }
}

impl PartialEq for Catalog {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Catalog {}

impl Default for Catalog {
    /// Titan's catalog.
    fn default() -> Self {
        Self::titan()
    }
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Catalog({:?})", self.name)
    }
}

impl fmt::Display for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

fn check_known<E: EventType>(event: &str) -> Result<(), FilterError> {
    if E::parse(event).is_known() {
        Ok(())
    } else {
        Err(FilterError::UnknownEvent {
            event: event.to_owned(),
            suggestion: closest::<E>(event),
        })
    }
}

fn check_open(event: &str) -> Result<(), FilterError> {
    let visible = event.chars().all(|c| !c.is_control() && !c.is_whitespace());
    if event.is_empty() || event.len() > MAX_OPEN_EVENT_LEN || !visible {
        return Err(FilterError::UnknownEvent {
            event: event.chars().take(MAX_OPEN_EVENT_LEN).collect(),
            suggestion: None,
        });
    }
    Ok(())
}

/// An event type from an open catalog: any string, kept as given.
impl EventType for String {
    const ALL: &'static [Self] = &[];

    fn as_str(&self) -> &str {
        self
    }

    fn parse(text: &str) -> Self {
        text.to_owned()
    }

    fn is_known(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "queue")]
    fn stored_names_give_back_the_built_in_checks() {
        assert!(
            Catalog::from_stored("titan")
                .check("message.pinned")
                .is_err()
        );
        assert!(
            Catalog::from_stored("orders")
                .check("message.pinned")
                .is_ok()
        );
    }

    #[test]
    fn open_catalogs_refuse_empty_long_and_control_characters() {
        let open = Catalog::open("x");
        assert!(open.check("").is_err());
        assert!(open.check(&"a".repeat(201)).is_err());
        assert!(open.check("a\nb").is_err());
        assert!(open.check(&"a".repeat(200)).is_ok());
    }
}
