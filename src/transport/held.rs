//! The claims whose attempts are running, so only those are renewed.

use crate::queue::{ClaimedDelivery, HeldClaim};

/// A slab of held claims. An attempt keeps its slot's index, so marking it
/// done needs neither its key nor a hash of it.
#[derive(Debug, Default)]
pub(crate) struct HeldClaims {
    slots: Vec<Option<HeldClaim>>,
    free: Vec<usize>,
}

impl HeldClaims {
    /// Marks `delivery`'s claim as held; returns the slot to release.
    pub(crate) fn hold(&mut self, delivery: &ClaimedDelivery) -> usize {
        let claim = Some(HeldClaim::from(delivery));
        if let Some(slot) = self.free.pop()
            && let Some(place) = self.slots.get_mut(slot)
        {
            *place = claim;
            return slot;
        }
        self.slots.push(claim);
        self.slots.len().saturating_sub(1)
    }

    /// Forgets the claim in `slot`.
    pub(crate) fn release(&mut self, slot: usize) {
        if self.slots.get_mut(slot).and_then(Option::take).is_some() {
            self.free.push(slot);
        }
    }

    /// Every claim held now.
    pub(crate) fn all(&self) -> Vec<HeldClaim> {
        self.slots.iter().flatten().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use bytes::Bytes;

    use super::*;
    use crate::queue::{DeliveryKey, Lease};

    fn claimed(id: &str, token: u64) -> ClaimedDelivery {
        ClaimedDelivery {
            key: DeliveryKey::new(id, 1.into()),
            attempts: 0,
            body: Bytes::new(),
            queued_at: SystemTime::UNIX_EPOCH,
            lease: Lease {
                owner: "w".into(),
                token,
                until: SystemTime::UNIX_EPOCH,
            },
        }
    }

    #[test]
    fn released_slots_are_reused_and_never_listed() {
        let mut held = HeldClaims::default();
        let first = held.hold(&claimed("evt_1", 1));
        let second = held.hold(&claimed("evt_2", 2));
        assert_ne!(first, second);
        held.release(first);
        held.release(first);
        assert_eq!(held.all().len(), 1, "a double release frees nothing more");
        assert_eq!(held.all()[0].token, 2);

        let third = held.hold(&claimed("evt_3", 3));
        assert_eq!(third, first, "the freed slot is reused");
        let mut tokens: Vec<u64> = held.all().iter().map(|claim| claim.token).collect();
        tokens.sort_unstable();
        assert_eq!(tokens, [2, 3]);
    }
}
