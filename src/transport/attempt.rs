//! One claimed delivery's life: its endpoint slot, the exchange, the
//! record in the store, and the observer.

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument as _;

use super::dispatcher::Inner;
use super::driver::{MAX_STORE_BACKOFF, STORE_BACKOFF};
use super::exchange::exchange;
use crate::queue::{
    CancelReason, ClaimedDelivery, DeliveryAttempt, DeliveryStore, Lookup, StoreError,
    SubscriptionSource,
};
use crate::retry::{AttemptOutcome, NextStep};
use crate::webhooks::HealthSignal;

impl<S: DeliveryStore, W: SubscriptionSource> Inner<S, W> {
    /// One claimed delivery, from the endpoint's slot to the store.
    pub(super) async fn deliver(&self, delivery: ClaimedDelivery) {
        let _held = Holding::new(self, &delivery);
        let span = tracing::info_span!(
            "webhook_attempt",
            delivery = %delivery.key.envelope_id,
            webhook = %delivery.key.webhook_id,
            attempt = delivery.next_attempt(),
        );
        async {
            let endpoint = self.endpoint(&delivery.key.webhook_id);
            // Boxed, since waiting is rare and its state would otherwise
            // sit in every attempt's future.
            let _slot: Option<OwnedSemaphorePermit> =
                match Arc::clone(&endpoint).try_acquire_owned() {
                    Ok(permit) => Some(permit),
                    Err(_) => Box::pin(endpoint.acquire_owned()).await.ok(),
                };
            self.attempt(&delivery).await;
        }
        .instrument(span)
        .await;
    }

    async fn attempt(&self, delivery: &ClaimedDelivery) {
        // Two phases, so the request's state and the store's never share
        // one future: the task holding it stays small enough for the
        // allocator's fast path.
        let Some(mut attempt) = self.send(delivery).await else {
            return;
        };
        attempt.sequence = self
            .write_to_store(delivery, || self.store.complete(delivery, &attempt))
            .await;
        #[cfg(feature = "metrics")]
        super::metrics::attempt(delivery, &attempt, attempt.sequence.is_some());
        self.observer.on_attempt(&attempt);
        self.report_health(&attempt).await;
    }

    /// Tells the subscription source what the attempt said about the
    /// endpoint, and the observer if that disabled the webhook.
    async fn report_health(&self, attempt: &DeliveryAttempt) {
        let signal = match (attempt.succeeded(), attempt.next) {
            (true, _) => HealthSignal::Delivered,
            (false, NextStep::Disabled) => HealthSignal::Gone,
            (false, NextStep::GaveUp) => HealthSignal::Exhausted,
            (false, _) => HealthSignal::Failed,
        };
        let webhook = &attempt.key.webhook_id;
        match self.subscriptions.report(webhook, signal).await {
            Ok(Some(disabled)) => {
                tracing::warn!(reason = %disabled.reason, "webhook disabled");
                self.observer.on_disable(webhook, &disabled);
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "could not record the endpoint's health"),
        }
    }

    /// Sends one attempt, judged by the retry rules, or cancels a delivery
    /// whose webhook is gone or disabled.
    async fn send(&self, delivery: &ClaimedDelivery) -> Option<DeliveryAttempt> {
        let subscription = match self.subscriptions.lookup(&delivery.key.webhook_id).await {
            Ok(Lookup::Active(subscription)) => subscription,
            Ok(Lookup::Disabled) => {
                self.cancel(delivery, CancelReason::WebhookDisabled).await;
                return None;
            }
            Ok(Lookup::Removed) => {
                self.cancel(delivery, CancelReason::WebhookRemoved).await;
                return None;
            }
            Err(err) => {
                // Not knowing is never a reason to cancel: the claim lapses
                // and the delivery is attempted again.
                tracing::error!(error = %err, "could not read the webhook; the delivery will be attempted again when its claim lapses");
                return None;
            }
        };
        // Boxed: its state is the largest, and only this phase needs it.
        let attempt = Box::pin(exchange(
            &self.client,
            &self.guard,
            &self.rules,
            &subscription,
            delivery,
        ))
        .await;
        let latency_ms = attempt.latency.as_millis();
        match attempt.outcome {
            AttemptOutcome::Status(status) => {
                tracing::info!(status, latency_ms, next = ?attempt.next, "attempted");
            }
            AttemptOutcome::Failed(kind) => {
                tracing::warn!(failure = %kind, latency_ms, next = ?attempt.next, "attempt failed");
            }
        }
        Some(attempt)
    }

    async fn cancel(&self, delivery: &ClaimedDelivery, reason: CancelReason) {
        tracing::info!(%reason, "delivery cancelled");
        let cancelled = self
            .write_to_store(delivery, || self.store.cancel(delivery))
            .await;
        // Counted once it is written; otherwise the delivery comes back
        // and is cancelled again.
        #[cfg(feature = "metrics")]
        if cancelled.is_some() {
            super::metrics::cancelled(reason);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = cancelled;
        self.observer.on_cancel(&delivery.key, reason);
    }

    /// Runs `write`, trying again while the store fails and the claim's
    /// first lease would still hold. Past that, the claim is no longer
    /// renewed, so it lapses and the delivery is attempted again: at least
    /// once, never silently lost.
    async fn write_to_store<T, Write, F>(
        &self,
        delivery: &ClaimedDelivery,
        mut write: Write,
    ) -> Option<T>
    where
        Write: FnMut() -> F,
        F: Future<Output = Result<T, StoreError>>,
    {
        let mut backoff = STORE_BACKOFF;
        loop {
            let err = match write().await {
                Ok(written) => return Some(written),
                Err(err @ StoreError::LeaseLost) => err,
                Err(err) => {
                    let retry_at = SystemTime::now().checked_add(backoff);
                    if retry_at.is_some_and(|at| !delivery.lease.is_expired_at(at)) {
                        tracing::warn!(error = %err, "could not record the outcome; trying again");
                        Box::pin(tokio::time::sleep(backoff)).await;
                        backoff = backoff.saturating_mul(2).min(MAX_STORE_BACKOFF);
                        continue;
                    }
                    err
                }
            };
            tracing::warn!(error = %err, "could not record the outcome; the delivery will be attempted again");
            return None;
        }
    }
}

/// Marks a claim as held while its attempt runs, however that ends.
struct Holding<'a, S, W> {
    inner: &'a Inner<S, W>,
    slot: usize,
}

impl<'a, S, W> Holding<'a, S, W> {
    fn new(inner: &'a Inner<S, W>, delivery: &ClaimedDelivery) -> Self {
        let slot = inner.lock_held().hold(delivery);
        Self { inner, slot }
    }
}

impl<S, W> Drop for Holding<'_, S, W> {
    fn drop(&mut self) {
        self.inner.lock_held().release(self.slot);
    }
}
