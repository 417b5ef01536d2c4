//! The subscription rule of seeds 000 and 001: which events, which session.

use super::{EventType, TitanEvent};

/// The wildcard that subscribes to every event type.
pub(super) const ALL_EVENTS: &str = "*";

/// Which deliveries a subscription wants: a list of event types, where an
/// empty list or `["*"]` means every event, and an optional session, where
/// `None` means every session.
///
/// Building a filter checks every event type against the catalog, so a
/// typo is caught when the subscription is created rather than by silence
/// later.
///
/// ```
/// use titan_webhooks::{EventFilter, TitanEvent};
///
/// let filter = EventFilter::new(["message.received", "session.status"], Some("default"))?;
/// assert!(filter.matches(&TitanEvent::MessageReceived, "default"));
/// assert!(!filter.matches(&TitanEvent::MessageReceived, "other-session"));
/// assert!(!filter.matches(&TitanEvent::CallMissed, "default"));
///
/// let everything = EventFilter::<TitanEvent>::new(["*"], None)?;
/// assert!(everything.matches(&"message.pinned".into(), "any"));
/// # Ok::<(), titan_webhooks::FilterError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter<E = TitanEvent> {
    /// Empty means every event type.
    events: Vec<E>,
    session: Option<String>,
}

impl<E: EventType> EventFilter<E> {
    /// Every event from every session.
    ///
    /// ```
    /// use titan_webhooks::{EventFilter, TitanEvent};
    ///
    /// let filter = EventFilter::<TitanEvent>::all();
    /// assert!(filter.matches(&TitanEvent::HistorySync, "any-session"));
    /// ```
    #[must_use]
    pub fn all() -> Self {
        Self {
            events: Vec::new(),
            session: None,
        }
    }

    /// A filter for `events` (empty, or containing `*`, for all) from
    /// `session` (`None` for all). Duplicates are dropped.
    ///
    /// ```
    /// use titan_webhooks::{EventFilter, FilterError, TitanEvent};
    ///
    /// let err = EventFilter::<TitanEvent>::new(["message.recieved"], None).unwrap_err();
    /// assert_eq!(
    ///     err,
    ///     FilterError::UnknownEvent {
    ///         event: "message.recieved".into(),
    ///         suggestion: Some("message.received"),
    ///     }
    /// );
    /// assert!(err.to_string().contains("did you mean `message.received`?"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`FilterError::UnknownEvent`] naming the first type the catalog does
    /// not know, with the closest known type when one is near;
    /// [`FilterError::EmptySession`] for `Some("")`.
    pub fn new<I, S>(events: I, session: Option<&str>) -> Result<Self, FilterError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        if session == Some("") {
            return Err(FilterError::EmptySession);
        }
        let mut parsed: Vec<E> = Vec::new();
        let mut wildcard = false;
        for text in events {
            let text = text.as_ref();
            if text == ALL_EVENTS {
                wildcard = true;
                continue;
            }
            let event = E::parse(text);
            if !event.is_known() {
                return Err(FilterError::UnknownEvent {
                    event: text.to_owned(),
                    suggestion: closest::<E>(text),
                });
            }
            if !parsed.contains(&event) {
                parsed.push(event);
            }
        }
        if wildcard {
            parsed.clear();
        }
        Ok(Self {
            events: parsed,
            session: session.map(str::to_owned),
        })
    }

    /// Whether a delivery of `event` from `session` passes the filter.
    ///
    /// ```
    /// use titan_webhooks::{EventFilter, TitanEvent};
    ///
    /// let filter = EventFilter::<TitanEvent>::new(["call.missed"], None)?;
    /// assert!(filter.matches(&TitanEvent::CallMissed, "any-session"));
    /// assert!(!filter.matches(&TitanEvent::CallAccepted, "any-session"));
    /// # Ok::<(), titan_webhooks::FilterError>(())
    /// ```
    #[must_use]
    pub fn matches(&self, event: &E, session: &str) -> bool {
        let event_wanted = self.events.is_empty() || self.events.contains(event);
        let session_wanted = self
            .session
            .as_deref()
            .is_none_or(|wanted| wanted == session);
        event_wanted && session_wanted
    }

    /// Whether an event of type `event` (the dotted string) from `session`
    /// passes the filter; `None` is an envelope without a session, which
    /// only a filter for every session wants.
    ///
    /// ```
    /// use titan_webhooks::{EventFilter, TitanEvent};
    ///
    /// let filter = EventFilter::<TitanEvent>::new(["chat.read"], None)?;
    /// assert!(filter.matches_type("chat.read", Some("default")));
    /// assert!(filter.matches_type("chat.read", None));
    /// assert!(!filter.matches_type("chat.mute", None));
    /// # Ok::<(), titan_webhooks::FilterError>(())
    /// ```
    #[must_use]
    pub fn matches_type(&self, event: &str, session: Option<&str>) -> bool {
        let event_wanted =
            self.events.is_empty() || self.events.iter().any(|wanted| wanted.as_str() == event);
        let session_wanted = match (self.session.as_deref(), session) {
            (None, _) => true,
            (Some(wanted), Some(session)) => wanted == session,
            (Some(_), None) => false,
        };
        event_wanted && session_wanted
    }

    /// The event types subscribed to; empty means every event type.
    ///
    /// ```
    /// use titan_webhooks::{EventFilter, TitanEvent};
    ///
    /// let filter = EventFilter::<TitanEvent>::new(["*", "chat.read"], None)?;
    /// assert!(filter.events().is_empty(), "`*` subscribes to everything");
    /// # Ok::<(), titan_webhooks::FilterError>(())
    /// ```
    #[must_use]
    pub fn events(&self) -> &[E] {
        &self.events
    }

    /// The session subscribed to; `None` means every session.
    ///
    /// ```
    /// use titan_webhooks::{EventFilter, TitanEvent};
    ///
    /// let filter = EventFilter::<TitanEvent>::new(Vec::<String>::new(), Some("default"))?;
    /// assert_eq!(filter.session(), Some("default"));
    /// # Ok::<(), titan_webhooks::FilterError>(())
    /// ```
    #[must_use]
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }
}

impl<E: EventType> EventFilter<E> {
    /// A filter read back from storage, which is trusted: event types the
    /// catalog does not know are kept, and match deliveries of exactly that
    /// type; `*` still means every event.
    pub(crate) fn from_stored(
        events: Vec<E>,
        session: Option<String>,
    ) -> Result<Self, FilterError> {
        if session.as_deref() == Some("") {
            return Err(FilterError::EmptySession);
        }
        let mut kept: Vec<E> = Vec::with_capacity(events.len());
        for event in events {
            if event.as_str() == ALL_EVENTS {
                kept.clear();
                return Ok(Self {
                    events: kept,
                    session,
                });
            }
            if !kept.contains(&event) {
                kept.push(event);
            }
        }
        Ok(Self {
            events: kept,
            session,
        })
    }

    /// The event list (empty for every event) and the session.
    pub(crate) fn into_parts(self) -> (Vec<E>, Option<String>) {
        (self.events, self.session)
    }
}

impl<E: EventType> Default for EventFilter<E> {
    /// Every event from every session.
    fn default() -> Self {
        Self::all()
    }
}

/// The known event type closest to `text`, if one is close enough to be a
/// likely typo.
pub(super) fn closest<E: EventType>(text: &str) -> Option<&'static str> {
    const MAX_EDITS: usize = 3;
    // An edit changes the length by at most one character, so a name whose
    // length differs by more cannot be close. Checking that first keeps a
    // long input from costing a quadratic comparison per known name. The
    // distance is optimal string alignment: typos' swapped neighbours count
    // as one edit, without full Damerau-Levenshtein's map of characters.
    let length = text.chars().count();
    E::ALL
        .iter()
        .filter(|known| known.as_str().chars().count().abs_diff(length) <= MAX_EDITS)
        .map(|known| (strsim::osa_distance(text, known.as_str()), known))
        .filter(|(distance, _)| *distance <= MAX_EDITS)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, known)| static_name(known))
}

/// `E::ALL` is `'static`, so the names of its entries are too.
fn static_name<E: EventType>(known: &'static E) -> &'static str {
    known.as_str()
}

/// An event filter could not be built.
///
/// ```
/// use titan_webhooks::{EventFilter, FilterError, TitanEvent};
///
/// let err = EventFilter::<TitanEvent>::new(["*"], Some("")).unwrap_err();
/// assert_eq!(err, FilterError::EmptySession);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// An event type the catalog does not know.
    #[error(
        "unknown event type `{event}`{}",
        suggestion.map(|known| format!("; did you mean `{known}`?")).unwrap_or_default()
    )]
    UnknownEvent {
        /// The type as given.
        event: String,
        /// The closest known type, when one is within three edits.
        suggestion: Option<&'static str>,
    },
    /// A session filter that is an empty string; use `None` for every
    /// session.
    #[error("the session filter is empty; omit it to receive every session")]
    EmptySession,
}

/// The request field, `events` or `session`, that a filter error is about.
pub(crate) fn filter_field(err: &FilterError) -> &'static str {
    match err {
        FilterError::EmptySession => "session",
        _ => "events",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TitanEvent;

    #[test]
    fn a_typo_gets_a_suggestion_and_a_long_input_none() {
        assert_eq!(
            closest::<TitanEvent>("message.recieved"),
            Some("message.received")
        );
        assert_eq!(
            closest::<TitanEvent>("message.receivedxxx"),
            Some("message.received")
        );
        assert_eq!(closest::<TitanEvent>("message.receivedxxxx"), None);
        assert_eq!(
            closest::<TitanEvent>(&"message.received".repeat(4_000)),
            None
        );
    }
}
