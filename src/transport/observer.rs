//! The observer that hears of every attempt, disabled webhook and
//! cancellation as the dispatcher makes them.

use crate::queue::{CancelReason, DeliveryAttempt, DeliveryKey};
use crate::subscription::WebhookId;
use crate::webhooks::Disabled;

/// Receives what the dispatcher does, so the user can keep a delivery log
/// and hear of operational events, such as a webhook disabled for its
/// health.
///
/// Methods run on the dispatcher's tasks: keep them quick, or hand off to a
/// channel, as the implementation for
/// [`tokio::sync::mpsc::UnboundedSender`] does.
///
/// ```
/// use std::sync::Mutex;
/// use titan_webhooks::queue::DeliveryAttempt;
/// use titan_webhooks::transport::DeliveryObserver;
///
/// #[derive(Default)]
/// struct Log(Mutex<Vec<String>>);
///
/// impl DeliveryObserver for Log {
///     fn on_attempt(&self, attempt: &DeliveryAttempt) {
///         self.0.lock().unwrap().push(format!("{} #{}: {}", attempt.key, attempt.attempt, attempt.outcome));
///     }
/// }
/// ```
pub trait DeliveryObserver: Send + Sync + 'static {
    /// An attempt was made. Its [`sequence`](DeliveryAttempt::sequence) is
    /// `None` if the store could not record it; the delivery is then
    /// attempted again.
    fn on_attempt(&self, attempt: &DeliveryAttempt) {
        let _ = attempt;
    }

    /// `webhook` was disabled for its health: its endpoint answered
    /// `410 Gone`, or failed for longer than the
    /// [`HealthPolicy`](crate::webhooks::HealthPolicy) allows. Its waiting
    /// deliveries are cancelled when due, and stay redeliverable.
    fn on_disable(&self, webhook: &WebhookId, disabled: &Disabled) {
        let _ = (webhook, disabled);
    }

    /// A queued delivery was stopped without an attempt.
    fn on_cancel(&self, key: &DeliveryKey, reason: CancelReason) {
        let _ = (key, reason);
    }
}

/// An observer that ignores everything.
impl DeliveryObserver for () {}

/// What a channel observer sends.
///
/// ```
/// use titan_webhooks::queue::{CancelReason, DeliveryKey};
/// use titan_webhooks::transport::DeliveryEvent;
///
/// let event = DeliveryEvent::Cancelled { key: DeliveryKey::new("evt_1", 1.into()), reason: CancelReason::WebhookRemoved };
/// assert!(matches!(event, DeliveryEvent::Cancelled { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryEvent {
    /// See [`DeliveryObserver::on_attempt`].
    Attempted(DeliveryAttempt),
    /// See [`DeliveryObserver::on_disable`].
    Disabled {
        /// Which webhook.
        webhook: WebhookId,
        /// Why and when.
        disabled: Disabled,
    },
    /// See [`DeliveryObserver::on_cancel`].
    Cancelled {
        /// Which delivery.
        key: DeliveryKey,
        /// Why.
        reason: CancelReason,
    },
}

/// Sends every event down the channel. The channel is unbounded so that no
/// record is dropped; a receiver that stops reading only grows it.
impl DeliveryObserver for tokio::sync::mpsc::UnboundedSender<DeliveryEvent> {
    fn on_attempt(&self, attempt: &DeliveryAttempt) {
        let _ = self.send(DeliveryEvent::Attempted(attempt.clone()));
    }

    fn on_disable(&self, webhook: &WebhookId, disabled: &Disabled) {
        let _ = self.send(DeliveryEvent::Disabled {
            webhook: webhook.clone(),
            disabled: *disabled,
        });
    }

    fn on_cancel(&self, key: &DeliveryKey, reason: CancelReason) {
        let _ = self.send(DeliveryEvent::Cancelled {
            key: key.clone(),
            reason,
        });
    }
}
