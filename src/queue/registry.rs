//! The subscriptions a sender delivers to, and the envelopes prepared for
//! them.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use super::EnvelopeRecord;
use crate::retry::RetrySchedule;
use crate::subscription::{Webhook, WebhookId};
use crate::{Deliverable, EnvelopeError, Scheme, Secret, Signer};

/// A webhook ready to deliver to: its object, its signer, and optionally a
/// retry schedule that overrides its `retries`.
///
/// ```
/// use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
/// use titan_webhooks::queue::Subscription;
/// use titan_webhooks::{Scheme, UrlGuard};
///
/// let (webhook, secret) = WebhookRules::new(UrlGuard::new())
///     .create(1.into(), CreateWebhook::new("https://example.com/hook"))?
///     .into_parts();
/// let subscription = Subscription::new(webhook, Scheme::titan(), secret);
/// assert_eq!(subscription.webhook().id().to_string(), "1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Subscription {
    webhook: Webhook,
    signer: Signer,
    schedule: Option<RetrySchedule>,
}

impl Subscription {
    /// Deliveries to `webhook`, signed with `secret` under `scheme`.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::queue::Subscription;
    /// # use titan_webhooks::{Scheme, UrlGuard};
    /// let (webhook, secret) = WebhookRules::new(UrlGuard::new())
    ///     .create(1.into(), CreateWebhook::new("https://example.com/"))?
    ///     .into_parts();
    /// let subscription = Subscription::new(webhook, Scheme::eventium(), secret);
    /// assert_eq!(subscription.signer().scheme().name(), "eventium");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn new(webhook: Webhook, scheme: Scheme, secret: Secret) -> Self {
        // Resolved once here, not on every attempt.
        let schedule = webhook.retries().map(|policy| RetrySchedule::from(*policy));
        Self {
            webhook,
            signer: Signer::new(scheme, secret),
            schedule,
        }
    }

    /// Retries on `schedule` instead of the webhook's `retries`, for
    /// presets and explicit lists the seeds' retry object cannot express.
    /// The dispatcher takes the delays; its own jitter replaces the
    /// schedule's.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::queue::Subscription;
    /// # use titan_webhooks::retry::RetrySchedule;
    /// # use titan_webhooks::{Scheme, UrlGuard};
    /// let (webhook, secret) = WebhookRules::new(UrlGuard::new())
    ///     .create(1.into(), CreateWebhook::new("https://example.com/"))?
    ///     .into_parts();
    /// let subscription = Subscription::new(webhook, Scheme::titan(), secret)
    ///     .with_schedule(RetrySchedule::svix());
    /// assert_eq!(subscription.schedule().map(|s| s.retries()), Some(7));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_schedule(mut self, schedule: RetrySchedule) -> Self {
        self.schedule = Some(schedule);
        self
    }

    /// Also signs with `previous` until `expires_at`, where the scheme's
    /// header can carry two signatures; see [`Signer::with_previous`].
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::queue::Subscription;
    /// # use titan_webhooks::{Scheme, Secret, UrlGuard};
    /// use std::time::{Duration, SystemTime};
    ///
    /// let (webhook, secret) = WebhookRules::with_scheme(UrlGuard::new(), Scheme::eventium())
    ///     .create(1.into(), CreateWebhook::new("https://example.com/"))?
    ///     .into_parts();
    /// let previous = Secret::from_utf8("the old key")?;
    /// let until = SystemTime::now() + Duration::from_secs(3600);
    /// let subscription = Subscription::new(webhook, Scheme::eventium(), secret)
    ///     .with_previous_secret(previous, until);
    /// let headers = subscription.signer().sign(b"{}");
    /// assert_eq!(headers["x-titanvx-signature"].to_str()?.matches("v1=").count(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_previous_secret(mut self, previous: Secret, expires_at: SystemTime) -> Self {
        self.signer = self.signer.with_previous(previous, expires_at);
        self
    }

    /// The webhook object.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::queue::Subscription;
    /// # use titan_webhooks::{Scheme, UrlGuard};
    /// let (webhook, secret) = WebhookRules::new(UrlGuard::new())
    ///     .create(1.into(), CreateWebhook::new("https://example.com/"))?
    ///     .into_parts();
    /// assert!(Subscription::new(webhook, Scheme::titan(), secret).webhook().enabled());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn webhook(&self) -> &Webhook {
        &self.webhook
    }

    /// The signer deliveries are signed with.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::queue::Subscription;
    /// # use titan_webhooks::{Scheme, UrlGuard};
    /// let (webhook, secret) = WebhookRules::new(UrlGuard::new())
    ///     .create(1.into(), CreateWebhook::new("https://example.com/"))?
    ///     .into_parts();
    /// let subscription = Subscription::new(webhook, Scheme::titan(), secret);
    /// assert!(subscription.signer().sign(b"{}").contains_key("x-webhook-signature"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// The schedule deliveries retry on: the one set with
    /// [`Subscription::with_schedule`], else the webhook's `retries`. `None`
    /// leaves it to the dispatcher's default schedule.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::queue::Subscription;
    /// # use titan_webhooks::{Scheme, UrlGuard};
    /// let (webhook, secret) = WebhookRules::new(UrlGuard::new())
    ///     .create(1.into(), CreateWebhook::new("https://example.com/"))?
    ///     .into_parts();
    /// assert!(Subscription::new(webhook, Scheme::titan(), secret).schedule().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn schedule(&self) -> Option<&RetrySchedule> {
        self.schedule.as_ref()
    }
}

/// The subscriptions a dispatcher delivers to, shared with the code that
/// creates, updates and removes webhooks.
///
/// The dispatcher looks a subscription up when it attempts a delivery, so
/// a new key or URL takes effect at once, and deliveries queued for a
/// webhook that is since disabled or removed are cancelled, with the
/// observer told why.
///
/// ```
/// use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
/// use titan_webhooks::queue::{Subscription, SubscriptionRegistry};
/// use titan_webhooks::{Envelope, Scheme, TitanEvent, UrlGuard};
///
/// let registry = SubscriptionRegistry::new();
/// let (webhook, secret) = WebhookRules::new(UrlGuard::new())
///     .create(1.into(), CreateWebhook::new("https://example.com/"))?
///     .into_parts();
/// registry.upsert(Subscription::new(webhook, Scheme::titan(), secret));
/// let envelope = Envelope::new(TitanEvent::ChatRead, "s", ());
/// assert_eq!(registry.wanting(&envelope).len(), 1);
/// assert!(registry.remove(&1.into()).is_some());
/// assert!(registry.wanting(&envelope).is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct SubscriptionRegistry {
    subscriptions: RwLock<HashMap<WebhookId, Arc<Subscription>>>,
}

impl SubscriptionRegistry {
    /// An empty registry.
    ///
    /// ```
    /// use titan_webhooks::queue::SubscriptionRegistry;
    ///
    /// assert!(SubscriptionRegistry::new().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a subscription, or replaces the one with the same webhook id.
    ///
    /// ```
    /// # use titan_webhooks::subscription::{CreateWebhook, WebhookRules};
    /// # use titan_webhooks::queue::{Subscription, SubscriptionRegistry};
    /// # use titan_webhooks::{Scheme, UrlGuard};
    /// let registry = SubscriptionRegistry::new();
    /// let (webhook, secret) = WebhookRules::new(UrlGuard::new())
    ///     .create(1.into(), CreateWebhook::new("https://example.com/"))?
    ///     .into_parts();
    /// registry.upsert(Subscription::new(webhook.clone(), Scheme::titan(), secret.clone_secret()));
    /// registry.upsert(Subscription::new(webhook, Scheme::titan(), secret));
    /// assert_eq!(registry.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn upsert(&self, subscription: Subscription) {
        let id = subscription.webhook.id().clone();
        self.write().insert(id, Arc::new(subscription));
    }

    /// Removes the subscription of webhook `id`, returning it.
    ///
    /// ```
    /// use titan_webhooks::queue::SubscriptionRegistry;
    ///
    /// assert!(SubscriptionRegistry::new().remove(&7.into()).is_none());
    /// ```
    pub fn remove(&self, id: &WebhookId) -> Option<Arc<Subscription>> {
        self.write().remove(id)
    }

    /// The subscription of webhook `id`.
    ///
    /// ```
    /// use titan_webhooks::queue::SubscriptionRegistry;
    ///
    /// assert!(SubscriptionRegistry::new().get(&7.into()).is_none());
    /// ```
    #[must_use]
    pub fn get(&self, id: &WebhookId) -> Option<Arc<Subscription>> {
        self.read().get(id).cloned()
    }

    /// The subscriptions that want `envelope`: enabled, and passing their
    /// event and session filter.
    ///
    /// ```
    /// use titan_webhooks::queue::SubscriptionRegistry;
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// let envelope = Envelope::new(TitanEvent::ChatRead, "s", ());
    /// assert!(SubscriptionRegistry::new().wanting(&envelope).is_empty());
    /// ```
    #[must_use]
    pub fn wanting<D: Deliverable + ?Sized>(&self, envelope: &D) -> Vec<Arc<Subscription>> {
        self.read()
            .values()
            .filter(|subscription| subscription.webhook.wants(envelope))
            .cloned()
            .collect()
    }

    /// Serializes `envelope` once and names the subscriptions that want it,
    /// ready to queue with [`DeliveryStore::enqueue`](super::DeliveryStore::enqueue),
    /// or inside your own database transaction with a durable store's
    /// `enqueue_in_tx` (the transactional outbox).
    ///
    /// ```
    /// use titan_webhooks::queue::SubscriptionRegistry;
    /// use titan_webhooks::{Envelope, TitanEvent};
    ///
    /// let prepared = SubscriptionRegistry::new().prepare(&Envelope::new(TitanEvent::ChatRead, "s", ()))?;
    /// assert!(prepared.webhooks.is_empty(), "no subscriptions yet");
    /// # Ok::<(), titan_webhooks::EnvelopeError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// An [`EnvelopeError`] for an envelope that cannot be sent, as
    /// [`EnvelopeRecord::from_envelope`] says.
    pub fn prepare<D: Deliverable + ?Sized>(
        &self,
        envelope: &D,
    ) -> Result<Prepared, EnvelopeError> {
        let record = EnvelopeRecord::from_envelope(envelope)?;
        let webhooks = self.routed(&super::Route::of(envelope));
        Ok(Prepared { record, webhooks })
    }

    /// The ids of the subscriptions that want an envelope with `route`.
    pub(crate) fn routed(&self, route: &super::Route<'_>) -> Vec<WebhookId> {
        self.read()
            .values()
            .filter(|subscription| subscription.webhook.wants_route(route))
            .map(|subscription| subscription.webhook.id().clone())
            .collect()
    }

    /// Disables webhook `id` in this registry; `false` if it is absent or
    /// already disabled.
    pub(crate) fn disable(&self, id: &WebhookId) -> bool {
        let mut subscriptions = self.write();
        let Some(subscription) = subscriptions.get_mut(id) else {
            return false;
        };
        if !subscription.webhook.enabled() {
            return false;
        }
        let mut disabled = Subscription::clone(subscription);
        disabled.webhook = disabled.webhook.with_enabled(false);
        *subscription = Arc::new(disabled);
        true
    }

    /// How many subscriptions there are.
    ///
    /// ```
    /// use titan_webhooks::queue::SubscriptionRegistry;
    ///
    /// assert_eq!(SubscriptionRegistry::new().len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether there are none.
    ///
    /// ```
    /// use titan_webhooks::queue::SubscriptionRegistry;
    ///
    /// assert!(SubscriptionRegistry::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    // A writer that panicked left a whole map behind (each write is one
    // insert or remove), so a poisoned lock is still safe to use.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<WebhookId, Arc<Subscription>>> {
        self.subscriptions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<WebhookId, Arc<Subscription>>> {
        self.subscriptions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// An envelope ready to queue; see [`SubscriptionRegistry::prepare`].
///
/// ```
/// use titan_webhooks::queue::{EnvelopeRecord, Prepared};
/// use titan_webhooks::{Envelope, TitanEvent};
///
/// let record = EnvelopeRecord::from_envelope(&Envelope::new(TitanEvent::ChatRead, "s", ()))?;
/// let prepared = Prepared { record, webhooks: vec![42.into()] };
/// assert_eq!(prepared.webhooks.len(), 1);
/// # Ok::<(), titan_webhooks::EnvelopeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The envelope, serialized once.
    pub record: EnvelopeRecord,
    /// The webhooks that want it.
    pub webhooks: Vec<WebhookId>,
}
