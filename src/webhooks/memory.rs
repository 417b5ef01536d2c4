//! Webhooks in memory: for tests, and for senders that define their
//! webhooks at start-up. Clones share one store.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use super::backend::{RowChange, RowFilter, WebhookBackend, WebhookRow};
use super::{Health, HealthUpdate};
use crate::queue::StoreError;

/// A [`WebhookBackend`] in memory. Nothing survives the process; use the
/// SQLite or Postgres backends to keep webhooks.
///
/// ```
/// use titan_webhooks::webhooks::{Keyring, MemoryWebhooks, SealingKey, WebhookStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = WebhookStore::builder(MemoryWebhooks::new(), Keyring::new(SealingKey::generate(1)?)).open().await?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryWebhooks {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    rows: BTreeMap<u64, WebhookRow>,
    /// Deleted ids, with their owner and the revision of the delete.
    tombstones: BTreeMap<u64, (String, u64)>,
    last_id: u64,
    revision: u64,
    key_checks: Vec<(u32, Vec<u8>)>,
}

impl State {
    fn next_revision(&mut self) -> u64 {
        self.revision = self.revision.saturating_add(1);
        self.revision
    }
}

impl MemoryWebhooks {
    /// An empty store.
    ///
    /// ```
    /// let _webhooks = titan_webhooks::webhooks::MemoryWebhooks::new();
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every write leaves the maps whole, so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl WebhookBackend for MemoryWebhooks {
    async fn insert(&self, mut row: WebhookRow) -> Result<WebhookRow, StoreError> {
        let mut state = self.lock();
        state.last_id = state.last_id.checked_add(1).ok_or(StoreError::Backend {
            message: "webhook ids are exhausted".into(),
        })?;
        row.id = state.last_id;
        row.revision = state.next_revision();
        state.rows.insert(row.id, row.clone());
        Ok(row)
    }

    async fn fetch(&self, id: u64) -> Result<Option<WebhookRow>, StoreError> {
        Ok(self.lock().rows.get(&id).cloned())
    }

    async fn list(
        &self,
        owner: &str,
        filter: &RowFilter<'_>,
    ) -> Result<Vec<WebhookRow>, StoreError> {
        let state = self.lock();
        let below = filter.before.unwrap_or(u64::MAX);
        Ok(state
            .rows
            .range(..below)
            .rev()
            .map(|(_, row)| row)
            .filter(|row| row.owner == owner)
            .filter(|row| filter.enabled.is_none_or(|enabled| row.enabled == enabled))
            .filter(|row| filter.catalog.is_none_or(|catalog| row.catalog == catalog))
            .take(filter.limit)
            .cloned()
            .collect())
    }

    async fn replace(&self, row: &WebhookRow) -> Result<Option<WebhookRow>, StoreError> {
        let mut state = self.lock();
        let current = state.rows.get(&row.id);
        if current
            .is_none_or(|current| current.revision != row.revision || current.owner != row.owner)
        {
            return Ok(None);
        }
        let mut saved = row.clone();
        saved.revision = state.next_revision();
        state.rows.insert(saved.id, saved.clone());
        Ok(Some(saved))
    }

    async fn delete(&self, owner: &str, id: u64) -> Result<bool, StoreError> {
        let mut state = self.lock();
        if state.rows.get(&id).is_none_or(|row| row.owner != owner) {
            return Ok(false);
        }
        state.rows.remove(&id);
        let revision = state.next_revision();
        state.tombstones.insert(id, (owner.to_owned(), revision));
        Ok(true)
    }

    async fn update_health(
        &self,
        id: u64,
        update: HealthUpdate,
    ) -> Result<Option<WebhookRow>, StoreError> {
        let mut state = self.lock();
        let revision = state.next_revision();
        let Some(row) = state.rows.get_mut(&id) else {
            return Ok(None);
        };
        apply_health(row, update);
        row.revision = revision;
        Ok(Some(row.clone()))
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        Ok(self.lock().revision)
    }

    async fn changes_since(&self, revision: u64) -> Result<Vec<RowChange>, StoreError> {
        let state = self.lock();
        let mut changes: Vec<RowChange> = state
            .rows
            .values()
            .filter(|row| row.revision > revision)
            .map(|row| RowChange {
                id: row.id,
                owner: row.owner.clone(),
                revision: row.revision,
            })
            .chain(
                state
                    .tombstones
                    .iter()
                    .filter(|(_, (_, deleted))| *deleted > revision)
                    .map(|(id, (owner, deleted))| RowChange {
                        id: *id,
                        owner: owner.clone(),
                        revision: *deleted,
                    }),
            )
            .collect();
        changes.sort_by_key(|change| change.revision);
        Ok(changes)
    }

    async fn purge_expired_secrets(&self, now: SystemTime) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let expired: Vec<u64> = state
            .rows
            .values()
            .filter(|row| row.previous_expires_at.is_some_and(|until| until <= now))
            .map(|row| row.id)
            .collect();
        for id in &expired {
            let revision = state.next_revision();
            if let Some(row) = state.rows.get_mut(id) {
                row.previous_secret = None;
                row.previous_expires_at = None;
                row.revision = revision;
            }
        }
        Ok(u64::try_from(expired.len()).unwrap_or(u64::MAX))
    }

    async fn key_checks(&self) -> Result<Vec<(u32, Vec<u8>)>, StoreError> {
        Ok(self.lock().key_checks.clone())
    }

    async fn add_key_check(&self, key_id: u32, sealed: Vec<u8>) -> Result<(), StoreError> {
        let mut state = self.lock();
        if !state.key_checks.iter().any(|(id, _)| *id == key_id) {
            state.key_checks.push((key_id, sealed));
        }
        Ok(())
    }
}

/// What a [`HealthUpdate`] does to a row: the same rules the SQL backends
/// write as single statements.
pub(crate) fn apply_health(row: &mut WebhookRow, update: HealthUpdate) {
    let health = &mut row.health;
    match update {
        HealthUpdate::Recovered => {
            health.failing_since = None;
            health.exhausted_in_a_row = 0;
        }
        HealthUpdate::Failing { since } => {
            health.failing_since.get_or_insert(since);
        }
        HealthUpdate::Exhausted { at } => {
            health.failing_since.get_or_insert(at);
            health.exhausted_in_a_row = health.exhausted_in_a_row.saturating_add(1);
        }
        HealthUpdate::Disable(disabled) => {
            if row.enabled {
                row.enabled = false;
                *health = Health {
                    disabled: Some(disabled),
                    ..*health
                };
            }
        }
    }
}
