//! `MemoryStore`'s queue of due deliveries, one lane per webhook.
//!
//! A claim skips webhooks whose endpoints are busy and takes at most a few
//! deliveries from any one webhook. With a single queue, a large backlog
//! for one slow webhook had to be walked past, row by row, on every claim.
//! Here a skipped webhook costs one step, whatever its backlog.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::hash::BuildHasher;
use std::ops::Bound;
use std::time::SystemTime;

use hashbrown::{DefaultHashBuilder, HashTable};

use super::ClaimRequest;
use crate::subscription::WebhookId;

/// When a delivery is due, and a sequence number that orders ties.
pub(crate) type DueAt = (SystemTime, u64);

/// The most entries a claim's scratch buffers keep between claims, so one
/// huge claim does not pin their memory.
pub(crate) const MAX_KEPT_SCRATCH: usize = 1024;

/// One webhook's due deliveries. A lone delivery, the common case when
/// envelopes fan out to many webhooks, needs no tree of its own.
#[derive(Debug)]
enum Lane {
    One(DueAt, usize),
    Many(BTreeMap<DueAt, usize>),
}

impl Lane {
    fn first(&self) -> Option<(DueAt, usize)> {
        match self {
            Self::One(at, slot) => Some((*at, *slot)),
            Self::Many(entries) => entries.first_key_value().map(|(at, slot)| (*at, *slot)),
        }
    }

    fn insert(&mut self, at: DueAt, slot: usize) {
        match self {
            Self::One(first, first_slot) => {
                *self = Self::Many(BTreeMap::from([(*first, *first_slot), (at, slot)]));
            }
            Self::Many(entries) => {
                entries.insert(at, slot);
            }
        }
    }

    /// Removes `at`; says whether the lane is empty now.
    fn remove(&mut self, at: DueAt) -> bool {
        let single = match self {
            Self::One(first, _) => return *first == at,
            Self::Many(entries) => {
                entries.remove(&at);
                if entries.is_empty() {
                    return true;
                }
                if entries.len() == 1 {
                    entries.pop_first()
                } else {
                    None
                }
            }
        };
        if let Some((at, slot)) = single {
            *self = Self::One(at, slot);
        }
        false
    }

    fn after(&self, at: DueAt) -> Option<(DueAt, usize)> {
        match self {
            Self::One(..) => None,
            Self::Many(entries) => entries
                .range((Bound::Excluded(at), Bound::Unbounded))
                .next()
                .map(|(at, slot)| (*at, *slot)),
        }
    }

    fn into_slots(self) -> Vec<usize> {
        match self {
            Self::One(_, slot) => vec![slot],
            Self::Many(entries) => entries.into_values().collect(),
        }
    }
}

/// Due deliveries by webhook, and each webhook's earliest among them.
///
/// Lanes are found by webhook without storing its id: `webhook_of` reads
/// it from the row of any slot in the lane.
#[derive(Debug, Default)]
pub(crate) struct DueQueue {
    lanes: HashTable<Lane>,
    hasher: DefaultHashBuilder,
    /// The first entry of every lane: the queue's order across webhooks.
    heads: BTreeMap<DueAt, usize>,
    /// Scratch for [`DueQueue::pick`]: at most one entry per lane picked
    /// from, so at most a claim's limit.
    next: BinaryHeap<Reverse<(DueAt, usize, usize)>>,
}

impl DueQueue {
    /// Queues `slot`, a delivery to `webhook`, due at `at`.
    pub(crate) fn push<'r>(
        &mut self,
        webhook: &WebhookId,
        at: DueAt,
        slot: usize,
        webhook_of: impl Fn(usize) -> Option<&'r WebhookId>,
    ) {
        let hasher = &self.hasher;
        let hash = hasher.hash_one(webhook);
        let in_lane = |lane: &Lane| lane_webhook(lane, &webhook_of) == Some(webhook);
        let old_head = match self.lanes.find_mut(hash, in_lane) {
            Some(lane) => {
                let old_head = lane.first().map(|(head, _)| head);
                lane.insert(at, slot);
                old_head
            }
            None => {
                self.lanes.insert_unique(hash, Lane::One(at, slot), |lane| {
                    lane_webhook(lane, &webhook_of).map_or(0, |webhook| hasher.hash_one(webhook))
                });
                None
            }
        };
        if old_head.is_none_or(|head| at < head) {
            if let Some(head) = old_head {
                self.heads.remove(&head);
            }
            self.heads.insert(at, slot);
        }
    }

    /// Takes the entry `at` off `webhook`'s lane.
    pub(crate) fn remove<'r>(
        &mut self,
        webhook: &WebhookId,
        at: DueAt,
        webhook_of: impl Fn(usize) -> Option<&'r WebhookId>,
    ) {
        let hash = self.hasher.hash_one(webhook);
        let in_lane = |lane: &Lane| lane_webhook(lane, &webhook_of) == Some(webhook);
        let Ok(mut entry) = self.lanes.find_entry(hash, in_lane) else {
            return;
        };
        let lane = entry.get_mut();
        let was_head = lane.first().is_some_and(|(head, _)| head == at);
        let emptied = lane.remove(at);
        let new_head = lane.first();
        if emptied {
            entry.remove();
        }
        if was_head {
            self.heads.remove(&at);
            if let Some((head, slot)) = new_head.filter(|_| !emptied) {
                self.heads.insert(head, slot);
            }
        }
    }

    /// Takes `webhook`'s whole lane off the queue; returns its slots.
    pub(crate) fn remove_webhook<'r>(
        &mut self,
        webhook: &WebhookId,
        webhook_of: impl Fn(usize) -> Option<&'r WebhookId>,
    ) -> Vec<usize> {
        let hash = self.hasher.hash_one(webhook);
        let in_lane = |lane: &Lane| lane_webhook(lane, &webhook_of) == Some(webhook);
        let Ok(entry) = self.lanes.find_entry(hash, in_lane) else {
            return Vec::new();
        };
        let (lane, _) = entry.remove();
        if let Some((head, _)) = lane.first() {
            self.heads.remove(&head);
        }
        lane.into_slots()
    }

    /// When the earliest delivery is due.
    pub(crate) fn first(&self) -> Option<SystemTime> {
        self.heads.first_key_value().map(|((at, _), _)| *at)
    }

    /// The entries `pick` may claim, earliest first, into `picked`: none
    /// from skipped webhooks, at most `per_webhook` from any other.
    pub(crate) fn pick<'r>(
        &mut self,
        pick: &ClaimRequest<'_>,
        webhook_of: impl Fn(usize) -> Option<&'r WebhookId>,
        picked: &mut Vec<(DueAt, usize)>,
    ) {
        picked.clear();
        if pick.limit == 0 || pick.per_webhook == 0 {
            return;
        }
        // Each candidate is the next entry of one lane, with how many that
        // lane gave already. Only the first `limit` lanes that are not
        // skipped can matter: their heads alone fill the claim with
        // entries due no later than any other lane's.
        let next = &mut self.next;
        next.clear();
        for (at, slot) in &self.heads {
            if next.len() >= pick.limit || at.0 > pick.now {
                break;
            }
            if webhook_of(*slot).is_some_and(|webhook| !pick.skip.contains(webhook)) {
                next.push(Reverse((*at, *slot, 0)));
            }
        }
        while picked.len() < pick.limit {
            let Some(Reverse((at, slot, taken))) = next.pop() else {
                break;
            };
            picked.push((at, slot));
            let taken = taken.saturating_add(1);
            if taken >= pick.per_webhook {
                continue;
            }
            let following = webhook_of(slot).and_then(|webhook| {
                let hash = self.hasher.hash_one(webhook);
                self.lanes
                    .find(hash, |lane| {
                        lane_webhook(lane, &webhook_of) == Some(webhook)
                    })
                    .and_then(|lane| lane.after(at))
            });
            if let Some((at, slot)) = following.filter(|(at, _)| at.0 <= pick.now) {
                next.push(Reverse((at, slot, taken)));
            }
        }
        // One huge claim must not pin its scratch's memory.
        if next.capacity() > MAX_KEPT_SCRATCH {
            *next = BinaryHeap::new();
        }
    }
}

fn lane_webhook<'r>(
    lane: &Lane,
    webhook_of: &impl Fn(usize) -> Option<&'r WebhookId>,
) -> Option<&'r WebhookId> {
    lane.first().and_then(|(_, slot)| webhook_of(slot))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const NOW: SystemTime = SystemTime::UNIX_EPOCH;

    fn secs(seconds: u64) -> SystemTime {
        NOW.checked_add(Duration::from_secs(seconds)).unwrap()
    }

    fn at(seconds: u64, sequence: u64) -> DueAt {
        (secs(seconds), sequence)
    }

    /// Slot `n` belongs to webhook `n / 100` of three.
    struct Fixture {
        webhooks: Vec<WebhookId>,
        queue: DueQueue,
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                webhooks: (0..3).map(WebhookId::from).collect(),
                queue: DueQueue::default(),
            }
        }

        fn push(&mut self, seconds: u64, slot: usize) {
            let webhooks = &self.webhooks;
            let webhook_of = |slot: usize| webhooks.get(slot / 100);
            let sequence = u64::try_from(slot).unwrap();
            self.queue.push(
                &webhooks[slot / 100],
                at(seconds, sequence),
                slot,
                webhook_of,
            );
        }

        fn remove(&mut self, seconds: u64, slot: usize) {
            let webhooks = &self.webhooks;
            let webhook_of = |slot: usize| webhooks.get(slot / 100);
            let sequence = u64::try_from(slot).unwrap();
            self.queue
                .remove(&webhooks[slot / 100], at(seconds, sequence), webhook_of);
        }

        fn remove_webhook(&mut self, webhook: usize) -> Vec<usize> {
            let webhooks = &self.webhooks;
            self.queue
                .remove_webhook(&webhooks[webhook], |slot| webhooks.get(slot / 100))
        }

        fn pick(
            &mut self,
            now: u64,
            limit: usize,
            per_webhook: usize,
            skip: &[usize],
        ) -> Vec<usize> {
            let webhooks = &self.webhooks;
            let skip: Vec<WebhookId> = skip.iter().map(|n| webhooks[*n].clone()).collect();
            let pick = ClaimRequest {
                owner: "w",
                now: secs(now),
                lease: Duration::from_secs(60),
                limit,
                skip: &skip,
                per_webhook,
            };
            let mut picked = Vec::new();
            self.queue
                .pick(&pick, |slot| webhooks.get(slot / 100), &mut picked);
            picked.into_iter().map(|(_, slot)| slot).collect()
        }

        fn first(&self) -> Option<SystemTime> {
            self.queue.first()
        }
    }

    #[test]
    fn picks_across_webhooks_in_due_order_within_the_caps() {
        let mut fixture = Fixture::new();
        // Webhook 0: due at 1, 4, 5; webhook 1: at 2, 3; webhook 2: at 9.
        for (seconds, slot) in [(1, 0), (4, 1), (5, 2), (2, 100), (3, 101), (9, 200)] {
            fixture.push(seconds, slot);
        }
        assert_eq!(fixture.first(), Some(secs(1)));
        assert_eq!(fixture.pick(10, 10, 10, &[]), [0, 100, 101, 1, 2, 200]);
        assert_eq!(fixture.pick(10, 3, 10, &[]), [0, 100, 101]);
        assert_eq!(fixture.pick(10, 10, 1, &[]), [0, 100, 200]);
        assert_eq!(fixture.pick(3, 10, 10, &[]), [0, 100, 101], "not yet due");
        assert_eq!(fixture.pick(10, 10, 10, &[1]), [0, 1, 2, 200]);
        assert_eq!(fixture.pick(10, 0, 10, &[]), [] as [usize; 0]);
    }

    #[test]
    fn removing_a_head_promotes_the_next_entry_of_its_lane() {
        let mut fixture = Fixture::new();
        fixture.push(5, 0);
        fixture.push(3, 100);
        fixture.push(1, 1);
        assert_eq!(fixture.first(), Some(secs(1)), "a new earlier head");

        fixture.remove(1, 1);
        assert_eq!(fixture.first(), Some(secs(3)));
        assert_eq!(fixture.pick(10, 10, 10, &[]), [100, 0]);

        assert_eq!(fixture.remove_webhook(1), [100]);
        assert_eq!(fixture.remove_webhook(1), [] as [usize; 0]);
        assert_eq!(fixture.pick(10, 10, 10, &[]), [0]);
        fixture.remove(5, 0);
        assert_eq!(fixture.first(), None);
        assert_eq!(fixture.queue.lanes.len(), 0, "no empty lane is kept");
        assert!(fixture.queue.heads.is_empty());
    }

    #[test]
    fn a_lane_shrinking_to_one_entry_keeps_its_order() {
        let mut fixture = Fixture::new();
        for (seconds, slot) in [(1, 0), (2, 1), (3, 2)] {
            fixture.push(seconds, slot);
        }
        fixture.remove(2, 1);
        fixture.remove(1, 0);
        assert_eq!(fixture.pick(10, 10, 10, &[]), [2]);
        fixture.push(1, 3);
        assert_eq!(fixture.pick(10, 10, 10, &[]), [3, 2]);
    }

    #[test]
    fn a_skipped_backlog_does_not_hide_other_webhooks() {
        let mut fixture = Fixture::new();
        for slot in 0..100 {
            fixture.push(1, slot);
        }
        fixture.push(2, 100);
        assert_eq!(fixture.pick(10, 1, 10, &[0]), [100]);
        assert_eq!(fixture.pick(10, 3, 10, &[]), [0, 1, 2]);
    }
}
