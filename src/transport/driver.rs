//! The driver: claims due deliveries and runs their attempts, and the
//! upkeep of leases beside it.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{Semaphore, watch};

use super::dispatcher::Inner;
use crate::queue::{
    ClaimRequest, ClaimedDelivery, DeliveryKey, DeliveryStore, HeldClaim, SubscriptionSource,
};
use crate::subscription::WebhookId;

/// The driver's wait when a configured pause overflows the clock.
const LONGEST_NAP: Duration = Duration::from_secs(24 * 60 * 60);
/// How often lapsed leases are returned to the queue.
const RECOVERY_INTERVAL: Duration = Duration::from_secs(5);
/// How long to wait before claiming again after the store failed, and
/// the first wait before recording an attempt again.
pub(super) const STORE_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between tries to record an attempt.
pub(super) const MAX_STORE_BACKOFF: Duration = Duration::from_secs(5);

impl<S: DeliveryStore, W: SubscriptionSource> Inner<S, W> {
    /// Drives up to `concurrency` attempts at once, as futures in one task,
    /// claiming more as each finishes and sleeping only when nothing is due
    /// or every slot is taken. Returns how many attempts finished after a
    /// shutdown began.
    pub(super) async fn drive(
        self: Arc<Self>,
        mut stopped: watch::Receiver<Option<tokio::time::Instant>>,
    ) -> usize {
        let mut attempts = FuturesUnordered::new();
        // One timer, moved rather than remade each turn: pushing a deadline
        // later needs no lock on the runtime's timer wheel.
        let mut nap = std::pin::pin!(tokio::time::sleep(Duration::ZERO));
        loop {
            let stopping = *stopped.borrow();
            if let Some(deadline) = stopping {
                return drain(&mut attempts, deadline).await;
            }
            // Registered before looking, so a dispatch in between is not missed.
            let woken = self.wake.notified();
            let queued_elsewhere = self.store.work_queued();
            let mut store_failed = false;
            let free = self.concurrency.saturating_sub(attempts.len());
            if free > 0 {
                match alongside(&mut attempts, self.claim(free)).await {
                    Ok(claimed) => {
                        attempts.extend(claimed.into_iter().map(|delivery| self.deliver(delivery)))
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "could not claim deliveries");
                        store_failed = true;
                    }
                }
            }
            let room = attempts.len() < self.concurrency;
            // With every slot taken, only a finished attempt can start the
            // next turn, so the store is not asked when work is due.
            if room {
                let pause = if store_failed {
                    STORE_BACKOFF
                } else {
                    alongside(&mut attempts, self.pause()).await
                };
                let now = tokio::time::Instant::now();
                if let Some(until) = now
                    .checked_add(pause)
                    .or_else(|| now.checked_add(LONGEST_NAP))
                {
                    nap.as_mut().reset(until);
                }
            }
            tokio::select! {
                Some(()) = attempts.next(), if !attempts.is_empty() => {}
                () = woken, if room && !store_failed => {}
                () = queued_elsewhere, if room && !store_failed => {}
                () = nap.as_mut(), if room => {}
                _ = stopped.changed() => {}
            }
        }
    }

    /// Claims up to `limit` due deliveries, skipping webhooks whose
    /// endpoints have every slot taken.
    async fn claim(&self, limit: usize) -> Result<Vec<ClaimedDelivery>, crate::queue::StoreError> {
        // A named dispatcher claims only while it holds its name.
        if self
            .identity
            .as_ref()
            .is_some_and(|identity| !identity.holds())
        {
            return Ok(Vec::new());
        }
        let skip = self.busy_endpoints();
        let request = ClaimRequest {
            owner: &self.owner,
            now: SystemTime::now(),
            lease: self.lease,
            limit,
            skip: &skip,
            per_webhook: self.endpoint_concurrency,
        };
        self.store.claim(request).await
    }

    /// Renews the leases of attempts in flight, so a slow one is never
    /// claimed twice, and returns lapsed leases to the queue.
    pub(super) async fn maintain(
        self: Arc<Self>,
        mut stopped: watch::Receiver<Option<tokio::time::Instant>>,
    ) {
        let every = self
            .lease
            .checked_div(3)
            .unwrap_or(self.lease)
            .clamp(Duration::from_millis(100), RECOVERY_INTERVAL);
        loop {
            tokio::select! {
                _ = stopped.changed() => return,
                () = tokio::time::sleep(every) => {}
            }
            let held = self.held_claims();
            if let Some(until) = SystemTime::now().checked_add(self.lease) {
                match self.store.renew_leases(&self.owner, &held, until).await {
                    Ok(renewed) if renewed < held.len() as u64 => {
                        tracing::warn!(
                            held = held.len(),
                            renewed,
                            "some leases lapsed while their attempts ran"
                        );
                    }
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = %err, "could not renew leases"),
                }
            }
            if let Err(err) = self.store.recover_expired(SystemTime::now()).await {
                tracing::warn!(error = %err, "could not recover lapsed leases");
            }
            if let Some(identity) = &self.identity {
                identity.keep(&self.store).await;
            }
        }
    }

    /// How long the driver waits while it has room for more attempts: until
    /// the next delivery is due, at most the poll interval. Work that is due
    /// but was skipped because its endpoint was busy is claimed as soon as
    /// an attempt finishes and frees a slot.
    async fn pause(&self) -> Duration {
        let now = SystemTime::now();
        match self.store.next_due().await {
            Ok(Some(due)) => due
                .duration_since(now)
                .ok()
                .filter(|wait| !wait.is_zero())
                .map_or(self.poll_interval, |wait| wait.min(self.poll_interval)),
            Ok(None) | Err(_) => self.poll_interval,
        }
    }

    fn busy_endpoints(&self) -> Vec<WebhookId> {
        self.lock_endpoints()
            .iter()
            .filter(|(_, semaphore)| semaphore.available_permits() == 0)
            .map(|(id, _)| id.clone())
            .collect()
    }

    pub(super) fn endpoint(&self, id: &WebhookId) -> Arc<Semaphore> {
        let mut endpoints = self.lock_endpoints();
        // Looked up before inserting, so the common case clones no id.
        if let Some(semaphore) = endpoints.get(id) {
            return Arc::clone(semaphore);
        }
        Arc::clone(
            endpoints
                .entry(id.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(self.endpoint_concurrency))),
        )
    }

    fn held_claims(&self) -> Vec<HeldClaim> {
        self.lock_held().all()
    }

    /// Hands back the claims of attempts a shutdown stopped. A claim
    /// completed before the stop holds no lease, so it is not reported.
    pub(super) async fn hand_back(&self) -> Vec<DeliveryKey> {
        // Without its name, the claims under it may be another worker's;
        // the name's next holder gives them back.
        if self
            .identity
            .as_ref()
            .is_some_and(|identity| !identity.holds())
        {
            tracing::warn!("not handing back interrupted deliveries: the worker name was lost");
            return Vec::new();
        }
        match self.store.release_leases(&self.owner).await {
            Ok(keys) => keys,
            Err(err) => {
                // The leases still lapse, and the deliveries come back then.
                tracing::warn!(error = %err, "could not hand back interrupted deliveries");
                Vec::new()
            }
        }
    }

    fn lock_endpoints(&self) -> std::sync::MutexGuard<'_, HashMap<WebhookId, Arc<Semaphore>>> {
        self.endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Awaits `work` while the attempts in flight keep running. An attempt may
/// hold one of the store's connections while it records its outcome; if
/// the driver stopped polling it to wait for a connection itself, neither
/// would ever finish.
async fn alongside<F, W>(attempts: &mut FuturesUnordered<F>, work: W) -> W::Output
where
    F: std::future::Future<Output = ()>,
    W: std::future::Future,
{
    let mut work = std::pin::pin!(work);
    loop {
        tokio::select! {
            biased;
            output = &mut work => return output,
            Some(()) = attempts.next(), if !attempts.is_empty() => {}
        }
    }
}

/// Polls the attempts in flight until they finish or `deadline` passes;
/// the rest are dropped, which stops them. Returns how many finished.
async fn drain<F: std::future::Future<Output = ()>>(
    attempts: &mut FuturesUnordered<F>,
    deadline: tokio::time::Instant,
) -> usize {
    let mut finished = 0usize;
    let _ = tokio::time::timeout_at(deadline, async {
        while attempts.next().await.is_some() {
            finished = finished.saturating_add(1);
        }
    })
    .await;
    finished
}
