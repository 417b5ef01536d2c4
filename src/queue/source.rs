//! Where the dispatcher finds the webhooks it delivers to: the in-process
//! [`SubscriptionRegistry`], or a durable webhook store through its cache.

use std::future::Future;
use std::sync::Arc;

use super::{EnvelopeRecord, StoreError, Subscription, SubscriptionRegistry};
use crate::subscription::WebhookId;
use crate::webhooks::{Disabled, DisabledReason, HealthSignal};
use crate::{Catalog, Deliverable};

/// What a source knows of a webhook when a delivery to it is due.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// It is enabled: deliver with this subscription.
    Active(Arc<Subscription>),
    /// It is disabled: the delivery is cancelled, and stays redeliverable.
    Disabled,
    /// The source says it was deleted (or never existed): the delivery is
    /// cancelled.
    Removed,
}

/// The routing facts of an envelope: its catalog, event type and session.
///
/// ```
/// use titan_webhooks::queue::Route;
/// use titan_webhooks::{Envelope, TitanEvent};
///
/// let envelope = Envelope::new(TitanEvent::ChatRead, "default", ());
/// let route = Route::of(&envelope);
/// assert_eq!((route.catalog.name(), route.event_type, route.session), ("titan", "chat.read", Some("default")));
/// ```
#[derive(Debug, Clone)]
pub struct Route<'a> {
    /// The envelope's catalog.
    pub catalog: Catalog,
    /// Its event type.
    pub event_type: &'a str,
    /// Its session, if its catalog has sessions.
    pub session: Option<&'a str>,
}

impl<'a> Route<'a> {
    /// The route of `envelope`, borrowing the event type and session from
    /// its `record`, so the envelope itself need not outlive the route.
    pub(crate) fn of_record<D: Deliverable + ?Sized>(
        envelope: &D,
        record: &'a EnvelopeRecord,
    ) -> Self {
        Self {
            catalog: envelope.catalog(),
            event_type: &record.event,
            session: envelope
                .session()
                .is_some()
                .then_some(record.session.as_str()),
        }
    }

    /// The route of `envelope`.
    ///
    /// ```
    /// use titan_webhooks::queue::Route;
    /// use titan_webhooks::{EventiumEnvelope, EventiumEvent};
    ///
    /// let envelope = EventiumEnvelope::new(EventiumEvent::WebhookTest, serde_json::json!({}));
    /// assert_eq!(Route::of(&envelope).session, None);
    /// ```
    pub fn of<D: Deliverable + ?Sized>(envelope: &'a D) -> Self {
        Self {
            catalog: envelope.catalog(),
            event_type: envelope.event_type(),
            session: envelope.session(),
        }
    }
}

/// The webhooks a [`Dispatcher`](crate::transport::Dispatcher) delivers
/// to: which want an envelope, how to sign for each, and where health
/// reports go.
///
/// [`SubscriptionRegistry`] is the in-process source, for webhooks the
/// application defines in code. [`StoredSubscriptions`](crate::webhooks::StoredSubscriptions)
/// reads a durable [`WebhookStore`](crate::webhooks::WebhookStore) shared
/// by every sender process.
pub trait SubscriptionSource: Send + Sync + 'static {
    /// Whose webhooks an envelope is routed to: `()` for the registry, an
    /// [`Owner`](crate::webhooks::Owner) for a store, so one tenant's
    /// events never reach another's endpoints.
    type Scope: ?Sized + Sync;

    /// The webhook a due delivery goes to.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the source's store cannot be read or written; the
    /// dispatcher then leaves the delivery to be attempted again.
    fn lookup(&self, id: &WebhookId) -> impl Future<Output = Result<Lookup, StoreError>> + Send;

    /// The enabled webhooks in `scope` that want an envelope with `route`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the source's store cannot be read or written; the
    /// dispatcher then leaves the delivery to be attempted again.
    fn route(
        &self,
        scope: &Self::Scope,
        route: &Route<'_>,
    ) -> impl Future<Output = Result<Vec<WebhookId>, StoreError>> + Send;

    /// Records what an attempt said about a webhook's health; returns
    /// `Some` when that disabled it.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the source's store cannot be read or written; the
    /// dispatcher then leaves the delivery to be attempted again.
    fn report(
        &self,
        id: &WebhookId,
        signal: HealthSignal,
    ) -> impl Future<Output = Result<Option<Disabled>, StoreError>> + Send;
}

/// The registry keeps no health record: a `410 Gone` disables the webhook
/// in this process only, and nothing else does.
impl SubscriptionSource for SubscriptionRegistry {
    type Scope = ();

    async fn lookup(&self, id: &WebhookId) -> Result<Lookup, StoreError> {
        Ok(match self.get(id) {
            Some(subscription) if subscription.webhook().enabled() => Lookup::Active(subscription),
            Some(_) => Lookup::Disabled,
            None => Lookup::Removed,
        })
    }

    async fn route(&self, (): &(), route: &Route<'_>) -> Result<Vec<WebhookId>, StoreError> {
        Ok(self.routed(route))
    }

    async fn report(
        &self,
        id: &WebhookId,
        signal: HealthSignal,
    ) -> Result<Option<Disabled>, StoreError> {
        if signal != HealthSignal::Gone {
            return Ok(None);
        }
        Ok(self.disable(id).then(|| Disabled {
            reason: DisabledReason::Gone,
            at: std::time::SystemTime::now(),
        }))
    }
}
