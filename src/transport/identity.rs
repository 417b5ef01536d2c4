//! A named dispatcher's hold on its worker name: claims are made only
//! while it is held.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;

use crate::queue::{DeliveryStore, WorkerLock, WorkerName};

/// How long a check of the lock may take before the name counts as lost.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// The name, its lock while held, and whether it is held.
pub(super) struct Identity {
    name: WorkerName,
    /// `None` after the lock was found lost, until it is taken again.
    lock: Mutex<Option<WorkerLock>>,
    held: AtomicBool,
}

impl Identity {
    pub(super) fn new(lock: WorkerLock) -> Self {
        Self {
            name: lock.name().clone(),
            lock: Mutex::new(Some(lock)),
            held: AtomicBool::new(true),
        }
    }

    pub(super) fn name(&self) -> &WorkerName {
        &self.name
    }

    /// Whether the name was held when last checked. Claims are made only
    /// then.
    pub(super) fn holds(&self) -> bool {
        self.held.load(Ordering::Acquire)
    }

    /// Checks that the lock still holds, or tries to take it again after
    /// it was lost. Claims the dispatcher still holds are left alone when
    /// the name is taken back: its attempts may still be running.
    pub(super) async fn keep<S: DeliveryStore>(&self, store: &S) {
        let mut lock = self.lock.lock().await;
        match lock.as_mut() {
            Some(held) => {
                let lost = match tokio::time::timeout(CHECK_TIMEOUT, held.check()).await {
                    Ok(Ok(())) => return,
                    Ok(Err(err)) => err.to_string(),
                    Err(_) => "the check timed out".to_owned(),
                };
                self.held.store(false, Ordering::Release);
                *lock = None;
                tracing::error!(
                    worker = %self.name,
                    error = %lost,
                    "lost the lock on the worker name; claiming nothing until it is taken again"
                );
            }
            None => match store.try_lock_worker(&self.name).await {
                Ok(Some(taken)) => {
                    *lock = Some(taken);
                    self.held.store(true, Ordering::Release);
                    tracing::info!(worker = %self.name, "took the lock on the worker name again");
                }
                Ok(None) => tracing::warn!(
                    worker = %self.name,
                    "another live worker holds this worker name; claiming nothing"
                ),
                Err(err) => tracing::warn!(
                    worker = %self.name,
                    error = %err,
                    "could not take the lock on the worker name again"
                ),
            },
        }
    }
}
