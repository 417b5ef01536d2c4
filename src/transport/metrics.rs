//! The [`Dispatcher`](super::Dispatcher)'s metrics (feature `metrics`),
//! emitted through the [`metrics`](https://docs.rs/metrics) facade: install
//! the exporter of your choice (Prometheus, `StatsD`, OpenTelemetry...) and
//! they appear there. Without an installed recorder they cost an atomic
//! load each.
//!
//! | name | type | unit | labels |
//! |---|---|---|---|
//! | [`ATTEMPTS`] `titan_webhooks_attempts_total` | counter | attempts | [`OUTCOME`], [`RESPONSE`] |
//! | [`RETRIES`] `titan_webhooks_retries_total` | counter | attempts | none |
//! | [`CANCELLATIONS`] `titan_webhooks_cancellations_total` | counter | deliveries | [`REASON`] |
//! | [`ATTEMPT_DURATION`] `titan_webhooks_attempt_duration_seconds` | histogram | seconds | [`OUTCOME`] |
//! | [`DELIVERY_DURATION`] `titan_webhooks_delivery_duration_seconds` | histogram | seconds | none |
//! | [`QUEUE_DEPTH`] `titan_webhooks_queue_depth` | gauge | deliveries | [`STATE`] |
//! | [`OLDEST_DUE_AGE`] `titan_webhooks_oldest_due_age_seconds` | gauge | seconds | none |
//!
//! Every label takes one of a small fixed set of values, listed with it
//! below; no label names an envelope, a webhook or a URL, so the number of
//! series stays bounded however many webhooks there are.
//!
//! - Counters and histograms are written as attempts finish, by the
//!   dispatcher that made them. With several dispatchers, sum them.
//! - The gauges describe the whole store, shared or not. Each dispatcher
//!   samples them from [`DeliveryStore::queue_metrics`] when it starts,
//!   then every [`DispatcherBuilder::metrics_interval`] (by default
//!   [`DEFAULT_METRICS_INTERVAL`], 15 seconds), and once more when it shuts
//!   down. A store whose `queue_metrics` returns `None` sets no gauges.
//!
//! ```
//! use titan_webhooks::transport::metrics;
//!
//! // The names, for dashboards and alerts written in Rust.
//! assert_eq!(metrics::ATTEMPTS, "titan_webhooks_attempts_total");
//! assert_eq!(metrics::OUTCOME_VALUES, ["succeeded", "retried", "exhausted", "disabled"]);
//! ```
//!
//! [`DeliveryStore::queue_metrics`]: crate::queue::DeliveryStore::queue_metrics
//! [`DispatcherBuilder::metrics_interval`]: super::DispatcherBuilder::metrics_interval

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ::metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::dispatcher::Inner;
use crate::queue::{
    CancelReason, ClaimedDelivery, DeliveryAttempt, DeliveryState, DeliveryStore, QueueMetrics,
};
use crate::retry::{AttemptOutcome, NextStep};

/// Counter: every attempt made, labelled with its [`OUTCOME`] and its
/// [`RESPONSE`]. An attempt whose record the store could not write counts
/// too; it is made again.
///
/// ```
/// assert_eq!(titan_webhooks::transport::metrics::ATTEMPTS, "titan_webhooks_attempts_total");
/// ```
pub const ATTEMPTS: &str = "titan_webhooks_attempts_total";

/// Counter: attempts that were retries, numbered 2 or more. Beside
/// [`ATTEMPTS`] with `outcome="retried"`, which counts retries scheduled,
/// this counts retries made.
///
/// ```
/// assert_eq!(titan_webhooks::transport::metrics::RETRIES, "titan_webhooks_retries_total");
/// ```
pub const RETRIES: &str = "titan_webhooks_retries_total";

/// Counter: deliveries stopped without an attempt, because their webhook
/// was disabled or removed, labelled with the [`REASON`].
///
/// ```
/// assert_eq!(titan_webhooks::transport::metrics::CANCELLATIONS, "titan_webhooks_cancellations_total");
/// ```
pub const CANCELLATIONS: &str = "titan_webhooks_cancellations_total";

/// Histogram, in seconds: how long each attempt took, from connecting to
/// reading the response, labelled with its [`OUTCOME`].
///
/// ```
/// assert_eq!(titan_webhooks::transport::metrics::ATTEMPT_DURATION, "titan_webhooks_attempt_duration_seconds");
/// ```
pub const ATTEMPT_DURATION: &str = "titan_webhooks_attempt_duration_seconds";

/// Histogram, in seconds: the time from when a delivery was queued to the
/// end of the attempt that delivered it, retries and waits included. It is
/// observed once per delivery whose success the store recorded. A
/// redelivered delivery counts from when it was first queued, and one
/// whose queueing time lies ahead of this machine's clock (another
/// machine's clock ran ahead) is not observed.
///
/// ```
/// assert_eq!(titan_webhooks::transport::metrics::DELIVERY_DURATION, "titan_webhooks_delivery_duration_seconds");
/// ```
pub const DELIVERY_DURATION: &str = "titan_webhooks_delivery_duration_seconds";

/// Gauge: the number of deliveries in the store in each [`STATE`].
/// Finished deliveries count until they are purged.
///
/// ```
/// assert_eq!(titan_webhooks::transport::metrics::QUEUE_DEPTH, "titan_webhooks_queue_depth");
/// ```
pub const QUEUE_DEPTH: &str = "titan_webhooks_queue_depth";

/// Gauge, in seconds: how long the earliest due delivery has waited to be
/// claimed; `0` when nothing is due. It grows when dispatchers fall
/// behind.
///
/// ```
/// assert_eq!(titan_webhooks::transport::metrics::OLDEST_DUE_AGE, "titan_webhooks_oldest_due_age_seconds");
/// ```
pub const OLDEST_DUE_AGE: &str = "titan_webhooks_oldest_due_age_seconds";

/// Label: what an attempt led to, one of [`OUTCOME_VALUES`]:
/// `succeeded`; `retried` (failed, another attempt is scheduled);
/// `exhausted` (failed and given up on: retries used up, a status never
/// retried, or the SSRF guard refused the target); `disabled` (the
/// endpoint answered `410 Gone`, so its webhook is disabled).
///
/// ```
/// assert_eq!(titan_webhooks::transport::metrics::OUTCOME, "outcome");
/// ```
pub const OUTCOME: &str = "outcome";

/// The values of [`OUTCOME`].
///
/// ```
/// assert!(titan_webhooks::transport::metrics::OUTCOME_VALUES.contains(&"retried"));
/// ```
pub const OUTCOME_VALUES: [&str; 4] = ["succeeded", "retried", "exhausted", "disabled"];

/// Label: what the endpoint answered, one of [`RESPONSE_VALUES`]: the
/// status class (`2xx` ... `5xx`, or `other` for a status outside
/// 100 to 599), or, with no answer, the
/// [`FailureKind`](crate::retry::FailureKind) (`dns`, `refused_by_guard`,
/// `connect`, `tls`, `timeout`, `body`).
///
/// ```
/// assert_eq!(titan_webhooks::transport::metrics::RESPONSE, "response");
/// ```
pub const RESPONSE: &str = "response";

/// The values of [`RESPONSE`].
///
/// ```
/// assert!(titan_webhooks::transport::metrics::RESPONSE_VALUES.contains(&"timeout"));
/// ```
pub const RESPONSE_VALUES: [&str; 12] = [
    "1xx",
    "2xx",
    "3xx",
    "4xx",
    "5xx",
    "other",
    "dns",
    "refused_by_guard",
    "connect",
    "tls",
    "timeout",
    "body",
];

/// Label: why a delivery was cancelled, one of [`REASON_VALUES`].
///
/// ```
/// assert_eq!(titan_webhooks::transport::metrics::REASON, "reason");
/// ```
pub const REASON: &str = "reason";

/// The values of [`REASON`].
///
/// ```
/// assert_eq!(titan_webhooks::transport::metrics::REASON_VALUES, ["webhook_disabled", "webhook_removed"]);
/// ```
pub const REASON_VALUES: [&str; 2] = ["webhook_disabled", "webhook_removed"];

/// Label: a delivery state, as [`DeliveryState::as_str`] names it:
/// `pending`, `in_flight`, `retry`, `succeeded`, `exhausted` or
/// `cancelled`.
///
/// ```
/// assert_eq!(titan_webhooks::transport::metrics::STATE, "state");
/// ```
pub const STATE: &str = "state";

/// How often a dispatcher samples the gauges, unless configured otherwise
/// with [`DispatcherBuilder::metrics_interval`](super::DispatcherBuilder::metrics_interval).
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(titan_webhooks::transport::metrics::DEFAULT_METRICS_INTERVAL, Duration::from_secs(15));
/// ```
pub const DEFAULT_METRICS_INTERVAL: Duration = Duration::from_secs(15);

/// The shortest interval between samples, so a zero cannot make the
/// dispatcher query its store in a loop.
pub(super) const MIN_METRICS_INTERVAL: Duration = Duration::from_millis(10);

const STATES: [DeliveryState; 6] = [
    DeliveryState::Pending,
    DeliveryState::InFlight,
    DeliveryState::Retry,
    DeliveryState::Succeeded,
    DeliveryState::Exhausted,
    DeliveryState::Cancelled,
];

/// Gives every metric its unit and description, for exporters that show
/// them. Recorders installed later miss them, which costs only the text.
pub(super) fn describe() {
    describe_counter!(ATTEMPTS, Unit::Count, "Webhook delivery attempts made");
    describe_counter!(
        RETRIES,
        Unit::Count,
        "Webhook delivery attempts that were retries"
    );
    describe_counter!(
        CANCELLATIONS,
        Unit::Count,
        "Webhook deliveries cancelled without an attempt"
    );
    describe_histogram!(
        ATTEMPT_DURATION,
        Unit::Seconds,
        "How long each webhook delivery attempt took"
    );
    describe_histogram!(
        DELIVERY_DURATION,
        Unit::Seconds,
        "Time from queueing a webhook delivery to its success"
    );
    describe_gauge!(
        QUEUE_DEPTH,
        Unit::Count,
        "Webhook deliveries in the store, by state"
    );
    describe_gauge!(
        OLDEST_DUE_AGE,
        Unit::Seconds,
        "How long the earliest due webhook delivery has waited"
    );
}

/// Records an attempt as the dispatcher made it; `recorded` says whether
/// the store wrote it.
pub(super) fn attempt(delivery: &ClaimedDelivery, attempt: &DeliveryAttempt, recorded: bool) {
    let outcome = outcome(attempt.next);
    counter!(ATTEMPTS, OUTCOME => outcome, RESPONSE => response(attempt.outcome)).increment(1);
    if attempt.attempt > 1 {
        counter!(RETRIES).increment(1);
    }
    histogram!(ATTEMPT_DURATION, OUTCOME => outcome).record(attempt.latency);
    // Only a recorded success, so a delivery attempted again after the
    // store failed is not observed twice.
    if recorded && attempt.next == NextStep::Succeeded {
        let finished = attempt.started_at.checked_add(attempt.latency);
        if let Some(waited) = finished.and_then(|at| at.duration_since(delivery.queued_at).ok()) {
            histogram!(DELIVERY_DURATION).record(waited);
        }
    }
}

/// Records a cancellation.
pub(super) fn cancelled(reason: CancelReason) {
    let reason = match reason {
        CancelReason::WebhookDisabled => "webhook_disabled",
        CancelReason::WebhookRemoved => "webhook_removed",
    };
    counter!(CANCELLATIONS, REASON => reason).increment(1);
}

/// Sets the gauges from a sample of the store.
pub(super) fn queue(metrics: &QueueMetrics) {
    for state in STATES {
        // Precision beyond 2^53 deliveries does not matter to a gauge.
        #[allow(clippy::cast_precision_loss)]
        let depth = metrics.depth(state) as f64;
        gauge!(QUEUE_DEPTH, STATE => state.as_str()).set(depth);
    }
    gauge!(OLDEST_DUE_AGE).set(metrics.oldest_due_age.unwrap_or_default());
}

impl<S: DeliveryStore, W> Inner<S, W> {
    /// Samples the gauges at once, then every `metrics_interval`, until a
    /// shutdown begins.
    pub(super) async fn sample_queue_every(
        self: Arc<Self>,
        mut stopped: watch::Receiver<Option<tokio::time::Instant>>,
    ) {
        let mut ticks = tokio::time::interval(self.metrics_interval);
        // After a slow query, the next sample waits a whole interval rather
        // than piling onto the store at once.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stopped.changed() => return,
                _ = ticks.tick() => {}
            }
            self.sample_queue().await;
        }
    }

    /// Sets the gauges from the store as it is now.
    pub(super) async fn sample_queue(&self) {
        match self.store.queue_metrics(SystemTime::now()).await {
            Ok(Some(metrics)) => queue(&metrics),
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "could not sample the queue for metrics"),
        }
    }
}

fn outcome(next: NextStep) -> &'static str {
    match next {
        NextStep::Succeeded => "succeeded",
        NextStep::RetryAt(_) => "retried",
        NextStep::GaveUp => "exhausted",
        NextStep::Disabled => "disabled",
    }
}

fn response(outcome: AttemptOutcome) -> &'static str {
    match outcome {
        AttemptOutcome::Status(100..=199) => "1xx",
        AttemptOutcome::Status(200..=299) => "2xx",
        AttemptOutcome::Status(300..=399) => "3xx",
        AttemptOutcome::Status(400..=499) => "4xx",
        AttemptOutcome::Status(500..=599) => "5xx",
        AttemptOutcome::Status(_) => "other",
        AttemptOutcome::Failed(kind) => kind.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::FailureKind;

    #[test]
    fn every_label_value_is_listed() {
        for next in [
            NextStep::Succeeded,
            NextStep::RetryAt(SystemTime::UNIX_EPOCH),
            NextStep::GaveUp,
            NextStep::Disabled,
        ] {
            assert!(OUTCOME_VALUES.contains(&outcome(next)));
        }
        let statuses = [0, 99, 100, 204, 302, 410, 503, 600, u16::MAX];
        for answer in statuses
            .map(AttemptOutcome::Status)
            .into_iter()
            .chain(FailureKind::ALL.map(AttemptOutcome::Failed))
        {
            assert!(RESPONSE_VALUES.contains(&response(answer)), "{answer:?}");
        }
    }
}
