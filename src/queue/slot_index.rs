//! Finds a `MemoryStore` row by its delivery key without a second copy of
//! the key.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use super::DeliveryKey;

/// Slots by key. Only slot numbers are stored: each key lives once, in its
/// row, and `key_of` reads it back when the table compares or rehashes.
/// Keeping a copy here cost an allocation per delivery, and freeing it long
/// after, when the delivery left the store's history.
#[derive(Debug, Default)]
pub(crate) struct SlotIndex {
    table: HashTable<usize>,
    hasher: DefaultHashBuilder,
}

impl SlotIndex {
    /// The slot holding `key`.
    pub(crate) fn get<'k>(
        &self,
        key: &DeliveryKey,
        key_of: impl Fn(usize) -> Option<&'k DeliveryKey>,
    ) -> Option<usize> {
        let hash = self.hasher.hash_one(key);
        self.table
            .find(hash, |&slot| key_of(slot) == Some(key))
            .copied()
    }

    /// Records that `slot` holds `key`, which must not be indexed yet.
    pub(crate) fn insert<'k>(
        &mut self,
        key: &DeliveryKey,
        slot: usize,
        key_of: impl Fn(usize) -> Option<&'k DeliveryKey>,
    ) {
        let hasher = &self.hasher;
        let hash = hasher.hash_one(key);
        self.table.insert_unique(hash, slot, |&other| {
            key_of(other).map_or(0, |key| hasher.hash_one(key))
        });
    }

    /// Forgets that `slot` holds `key`.
    pub(crate) fn remove(&mut self, key: &DeliveryKey, slot: usize) {
        let hash = self.hasher.hash_one(key);
        if let Ok(entry) = self.table.find_entry(hash, |&other| other == slot) {
            entry.remove();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_key_by_its_slot_until_removed() {
        let keys: Vec<DeliveryKey> = (0..1_000u64)
            .map(|n| DeliveryKey::new(format!("evt_{n}"), n.into()))
            .collect();
        let key_of = |slot: usize| keys.get(slot);
        let mut index = SlotIndex::default();
        for (slot, key) in keys.iter().enumerate() {
            index.insert(key, slot, key_of);
        }
        for (slot, key) in keys.iter().enumerate() {
            assert_eq!(index.get(key, key_of), Some(slot));
        }
        let stranger = DeliveryKey::new("evt_0", 1.into());
        assert_eq!(index.get(&stranger, key_of), None, "same id, other webhook");

        index.remove(&keys[7], 7);
        assert_eq!(index.get(&keys[7], key_of), None);
        assert_eq!(index.get(&keys[8], key_of), Some(8));
    }
}
