//! What a dispatch did: [`Dispatched`] and its [`DispatchOutcome`].

use std::collections::HashSet;

use crate::subscription::WebhookId;

/// What [`Dispatcher::dispatch`](super::Dispatcher::dispatch) did with an
/// envelope, for each webhook that wants it: queued it anew, or found it
/// queued already (the envelope's id was dispatched before).
///
/// [`Dispatched::outcome`] sums it up; [`Dispatched::queued`] and
/// [`Dispatched::already_queued`] name the webhooks.
///
/// ```
/// use titan_webhooks::transport::{DispatchOutcome, Dispatched};
///
/// let dispatched = Dispatched::new("evt_1", vec![1.into()], vec![2.into()]);
/// assert_eq!(dispatched.outcome(), DispatchOutcome::PartlyQueued);
/// assert!(dispatched.is_new(), "webhook 1 gets a new delivery");
/// assert_eq!(dispatched.queued(), [1.into()]);
/// assert_eq!(dispatched.already_queued(), [2.into()]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatched {
    envelope_id: String,
    queued: Vec<WebhookId>,
    already_queued: Vec<WebhookId>,
}

/// The sum of a [`Dispatched`]: whether anything new was queued, and if not,
/// why not.
///
/// ```
/// use titan_webhooks::transport::{DispatchOutcome, Dispatched};
///
/// let duplicate = Dispatched::new("evt_1", Vec::new(), vec![1.into()]);
/// match duplicate.outcome() {
///     DispatchOutcome::AlreadyQueued => println!("{} was sent before", duplicate.envelope_id()),
///     DispatchOutcome::NoWebhook => println!("nobody listens"),
///     _ => println!("queued"),
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DispatchOutcome {
    /// Newly queued for every webhook that wants the envelope.
    Queued,
    /// Newly queued for some webhooks, and already queued for the others:
    /// the envelope was dispatched before, and more webhooks want it now.
    PartlyQueued,
    /// Already queued for every webhook that wants the envelope: it was
    /// dispatched before, and nothing new was queued.
    AlreadyQueued,
    /// No webhook wants the envelope, so nothing was queued.
    NoWebhook,
}

impl Dispatched {
    /// The result of dispatching `envelope_id`: newly queued for `queued`,
    /// and queued before for `already_queued`. The dispatcher builds these;
    /// this is for code that stands in for one, such as a test double.
    ///
    /// ```
    /// use titan_webhooks::transport::{DispatchOutcome, Dispatched};
    ///
    /// let nobody = Dispatched::new("evt_1", Vec::new(), Vec::new());
    /// assert_eq!(nobody.outcome(), DispatchOutcome::NoWebhook);
    /// ```
    pub fn new(
        envelope_id: impl Into<String>,
        queued: Vec<WebhookId>,
        already_queued: Vec<WebhookId>,
    ) -> Self {
        Self {
            envelope_id: envelope_id.into(),
            queued,
            already_queued,
        }
    }

    /// Sorts the webhooks that `wanted` an envelope by whether the store
    /// `queued` it for them anew.
    pub(super) fn sort_out(
        envelope_id: String,
        wanted: Vec<WebhookId>,
        queued: Vec<WebhookId>,
    ) -> Self {
        // A store returns a subset of what it was asked to queue, without
        // repeats, so equal lengths mean nothing was queued before; that is
        // the common case and needs no lookups.
        if queued.len() == wanted.len() {
            return Self::new(envelope_id, queued, Vec::new());
        }
        let new: HashSet<&WebhookId> = queued.iter().collect();
        let mut seen = HashSet::with_capacity(wanted.len());
        let already_queued = wanted
            .into_iter()
            .filter(|webhook| !new.contains(webhook) && seen.insert(webhook.clone()))
            .collect();
        Self::new(envelope_id, queued, already_queued)
    }

    /// The envelope's id, the same on every attempt to every webhook.
    ///
    /// ```
    /// use titan_webhooks::transport::Dispatched;
    ///
    /// assert_eq!(Dispatched::new("evt_1", Vec::new(), Vec::new()).envelope_id(), "evt_1");
    /// ```
    #[must_use]
    pub fn envelope_id(&self) -> &str {
        &self.envelope_id
    }

    /// What happened, in one word.
    ///
    /// ```
    /// use titan_webhooks::transport::{DispatchOutcome, Dispatched};
    ///
    /// assert_eq!(Dispatched::new("evt_1", vec![1.into()], Vec::new()).outcome(), DispatchOutcome::Queued);
    /// assert_eq!(Dispatched::new("evt_1", Vec::new(), vec![1.into()]).outcome(), DispatchOutcome::AlreadyQueued);
    /// ```
    #[must_use]
    pub fn outcome(&self) -> DispatchOutcome {
        match (self.queued.is_empty(), self.already_queued.is_empty()) {
            (false, true) => DispatchOutcome::Queued,
            (false, false) => DispatchOutcome::PartlyQueued,
            (true, false) => DispatchOutcome::AlreadyQueued,
            (true, true) => DispatchOutcome::NoWebhook,
        }
    }

    /// Whether at least one delivery was newly queued.
    ///
    /// ```
    /// use titan_webhooks::transport::Dispatched;
    ///
    /// assert!(Dispatched::new("evt_1", vec![1.into()], vec![2.into()]).is_new());
    /// assert!(!Dispatched::new("evt_1", Vec::new(), vec![2.into()]).is_new());
    /// ```
    #[must_use]
    pub fn is_new(&self) -> bool {
        !self.queued.is_empty()
    }

    /// Whether any webhook wants the envelope, whether it was queued for it
    /// now or before.
    ///
    /// ```
    /// use titan_webhooks::transport::Dispatched;
    ///
    /// assert!(Dispatched::new("evt_1", Vec::new(), vec![2.into()]).is_wanted());
    /// assert!(!Dispatched::new("evt_1", Vec::new(), Vec::new()).is_wanted());
    /// ```
    #[must_use]
    pub fn is_wanted(&self) -> bool {
        !(self.queued.is_empty() && self.already_queued.is_empty())
    }

    /// The webhooks a delivery was newly queued for.
    ///
    /// ```
    /// use titan_webhooks::transport::Dispatched;
    ///
    /// assert_eq!(Dispatched::new("evt_1", vec![1.into()], Vec::new()).queued(), [1.into()]);
    /// ```
    #[must_use]
    pub fn queued(&self) -> &[WebhookId] {
        &self.queued
    }

    /// The webhooks that want the envelope but had it queued already, by
    /// an earlier dispatch of the same envelope id; nothing new was queued
    /// for them.
    ///
    /// ```
    /// use titan_webhooks::transport::Dispatched;
    ///
    /// assert_eq!(Dispatched::new("evt_1", Vec::new(), vec![2.into()]).already_queued(), [2.into()]);
    /// ```
    #[must_use]
    pub fn already_queued(&self) -> &[WebhookId] {
        &self.already_queued
    }

    /// The webhooks a delivery was newly queued for, owned.
    ///
    /// ```
    /// use titan_webhooks::transport::Dispatched;
    ///
    /// let queued = Dispatched::new("evt_1", vec![1.into()], vec![2.into()]).into_queued();
    /// assert_eq!(queued, [1.into()]);
    /// ```
    #[must_use]
    pub fn into_queued(self) -> Vec<WebhookId> {
        self.queued
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorting_out_keeps_the_order_wanted_and_drops_repeats() {
        let wanted: Vec<WebhookId> = vec![3.into(), 1.into(), 2.into(), 1.into()];
        let dispatched = Dispatched::sort_out("evt".into(), wanted, vec![2.into()]);
        assert_eq!(dispatched.queued(), [2.into()]);
        assert_eq!(dispatched.already_queued(), [3.into(), 1.into()]);
        assert_eq!(dispatched.outcome(), DispatchOutcome::PartlyQueued);
    }

    #[test]
    fn everything_new_is_queued() {
        let wanted: Vec<WebhookId> = vec![1.into(), 2.into()];
        let dispatched = Dispatched::sort_out("evt".into(), wanted.clone(), wanted);
        assert_eq!(dispatched.outcome(), DispatchOutcome::Queued);
        assert!(dispatched.already_queued().is_empty());
    }
}
