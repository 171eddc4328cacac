//! The in-memory search index of the SQLite store, one per portal.
//!
//! SQLite keeps each call as one row; search, unique-value checks and `find_by_value` are
//! answered here instead, from structures built for them:
//! - every live call gets a dense *slot* (`u32`), so a set of calls is a bitmap of
//!   `slots / 8` bytes and AND / OR / NOT and the exact total are word operations;
//! - per property, an ordered map from the typed value ([`Key`]: numbers as numbers, text
//!   folded as search compares it) to the slots holding it: EQ and IN are lookups, ranges
//!   are range scans, and walking the map in order is the property sort;
//! - per property, an ordered map from token to slots, for CONTAINS_TOKEN and `query`
//!   (prefix ranges);
//! - associations as ordered maps from associated id to slots;
//! - the created order (`(created_at, id)`) for the default sort.
//!
//! The index holds committed state only: the store queues [`IndexOp`]s while a batch of
//! writes is open and applies them right after its COMMIT, under the index's write lock, so a
//! search never sees a write that could still roll back, and sees every acknowledged one.
//!
//! This file keeps the index in step with writes; `postings` holds its building blocks
//! (keys, postings, bitmaps), `query` answers search plans, `snapshot` saves and loads it.

mod postings;
mod query;
pub mod snapshot;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::crm::objects::ObjectType;
use crate::crm::objects::Partition;
use crate::crm::properties::PropertyType;
use crate::crm::record::{PortalId, RecordId};
use crate::crm::search::IndexedValue;

use self::postings::{post, retain_slots, unpost, KeptSlots, Posting};
pub use self::postings::{Bitmap, Key};

/// One property's values and tokens in a portal.
#[derive(Debug, Default, PartialEq)]
struct PropertyIndex {
    /// The type the keys were computed with; `None` before the first value.
    property_type: Option<PropertyType>,
    values: BTreeMap<Key, Posting>,
    tokens: BTreeMap<Key, Posting>,
}

/// A property value of a call, computed outside the index lock.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub property_type: PropertyType,
    key: Key,
    tokens: Vec<String>,
}

impl Entry {
    pub fn new(name: &str, property_type: PropertyType, raw: &str) -> Self {
        let (key, tokens) = Key::of(property_type, IndexedValue::new(property_type, raw));
        Self {
            name: name.to_owned(),
            property_type,
            key,
            tokens,
        }
    }

    pub fn key(&self) -> &Key {
        &self.key
    }
}

/// A change to the index, queued while a write batch is open and applied after its COMMIT.
#[derive(Debug, Clone)]
pub enum IndexOp {
    /// A call's liveness and values change: `before_created` is `Some` when it was live,
    /// `after_created` when it is live afterwards; `remove` holds the stored values (name,
    /// text) that stop holding, typed when applied as the index typed them, and `add` the
    /// values that start holding (for a call going away, all are removed).
    Record {
        partition: Partition,
        id: RecordId,
        before_created: Option<i64>,
        after_created: Option<i64>,
        remove: Vec<(String, String)>,
        add: Vec<Entry>,
    },
    AddAssociation {
        partition: Partition,
        call_id: RecordId,
        kind: ObjectType,
        to_id: u64,
        type_id: u32,
    },
    /// Removes one association row, or every type between the pair when `type_id` is `None`.
    RemoveAssociation {
        partition: Partition,
        call_id: RecordId,
        kind: ObjectType,
        to_id: u64,
        type_id: Option<u32>,
    },
    DropProperty {
        partition: Partition,
        name: String,
    },
    ResetPortal(PortalId),
}

/// The associations of one kind: exact rows, and the associated ids as search compares them.
#[derive(Debug, Default, PartialEq)]
struct AssociationIndex {
    rows: BTreeSet<(u64, u32, u32)>,
    values: BTreeMap<Key, Posting>,
}

#[derive(Debug, Default, PartialEq)]
pub struct PartitionIndex {
    slot_of: HashMap<RecordId, u32>,
    ids: Vec<RecordId>,
    created: Vec<i64>,
    live: Bitmap,
    live_count: usize,
    by_created: BTreeSet<(i64, RecordId, u32)>,
    properties: HashMap<String, PropertyIndex>,
    associations: HashMap<ObjectType, AssociationIndex>,
}

/// Every partition's index.
#[derive(Debug, Default, PartialEq)]
pub struct SearchIndex {
    partitions: HashMap<Partition, PartitionIndex>,
}

/// What a search needs from the store besides the index: the page's order is final, the
/// calls themselves are read from SQLite.
pub struct PageIds {
    pub total: usize,
    pub ids: Vec<RecordId>,
}

impl SearchIndex {
    pub fn partition(&self, partition: Partition) -> Option<&PartitionIndex> {
        self.partitions.get(&partition)
    }

    pub fn partition_mut(&mut self, partition: Partition) -> &mut PartitionIndex {
        self.partitions.entry(partition).or_default()
    }

    pub fn apply(&mut self, op: IndexOp) {
        match op {
            IndexOp::Record {
                partition,
                id,
                before_created,
                after_created,
                remove,
                add,
            } => self.partition_mut(partition).apply_call(
                id,
                before_created,
                after_created,
                &remove,
                add,
            ),
            IndexOp::AddAssociation {
                partition,
                call_id,
                kind,
                to_id,
                type_id,
            } => self
                .partition_mut(partition)
                .add_association(call_id, kind, to_id, type_id),
            IndexOp::RemoveAssociation {
                partition,
                call_id,
                kind,
                to_id,
                type_id,
            } => self
                .partition_mut(partition)
                .remove_association(call_id, kind, to_id, type_id),
            IndexOp::DropProperty { partition, name } => {
                if let Some(index) = self.partitions.get_mut(&partition) {
                    index.properties.remove(&name);
                }
            }
            IndexOp::ResetPortal(portal) => {
                self.partitions
                    .retain(|partition, _| partition.portal != portal);
            }
        }
    }

    /// Drops everything the index says of the records `ids`, and postings of slots it has
    /// no record of, so those records can be indexed afresh from their rows: how a saved
    /// index (see `snapshot`) is brought up to date with the writes the journal names.
    pub fn forget(&mut self, ids: &[RecordId]) {
        for index in self.partitions.values_mut() {
            index.forget(ids);
        }
    }

    /// Approximate heap bytes held, for the performance notes.
    pub fn heap_bytes(&self) -> usize {
        self.partitions
            .values()
            .map(PartitionIndex::heap_bytes)
            .sum()
    }
}

/// `BTreeMap` node overhead per entry, roughly (nodes hold 11 entries, ~2/3 full).
const BTREE_OVERHEAD: usize = 16;

impl PartitionIndex {
    fn slot_for(&mut self, id: RecordId) -> u32 {
        if let Some(slot) = self.slot_of.get(&id) {
            return *slot;
        }
        let slot = self.ids.len() as u32;
        self.ids.push(id);
        self.created.push(0);
        self.slot_of.insert(id, slot);
        slot
    }

    pub fn property_type(&self, name: &str) -> Option<PropertyType> {
        self.properties.get(name).and_then(|p| p.property_type)
    }

    fn apply_call(
        &mut self,
        id: RecordId,
        before_created: Option<i64>,
        after_created: Option<i64>,
        remove: &[(String, String)],
        add: Vec<Entry>,
    ) {
        let slot = self.slot_for(id);
        if let Some(created) = before_created {
            if self.by_created.remove(&(created, id, slot)) {
                self.live_count -= 1;
            }
            self.live.clear(slot);
        }
        if let Some(created) = after_created {
            if self.by_created.insert((created, id, slot)) {
                self.live_count += 1;
            }
            self.live.set(slot);
            self.created[slot as usize] = created;
        }
        for (name, raw) in remove {
            let Some(property) = self.properties.get_mut(name) else {
                continue;
            };
            if let Some(property_type) = property.property_type {
                let entry = Entry::new(name, property_type, raw);
                unpost(&mut property.values, &entry.key, slot);
                for token in &entry.tokens {
                    unpost(
                        &mut property.tokens,
                        &Key::Text(token.as_str().into()),
                        slot,
                    );
                }
            }
        }
        for entry in add {
            let property = match self.properties.get_mut(&entry.name) {
                Some(property) => property,
                None => self.properties.entry(entry.name).or_default(),
            };
            property.property_type.get_or_insert(entry.property_type);
            post(&mut property.values, entry.key, slot);
            for token in entry.tokens {
                post(
                    &mut property.tokens,
                    Key::Text(token.into_boxed_str()),
                    slot,
                );
            }
        }
    }

    fn add_association(&mut self, call_id: RecordId, kind: ObjectType, to_id: u64, type_id: u32) {
        let slot = self.slot_for(call_id);
        let index = self.associations.entry(kind).or_default();
        if index.rows.insert((to_id, slot, type_id)) {
            post(&mut index.values, Key::number(to_id as f64), slot);
        }
    }

    fn remove_association(
        &mut self,
        call_id: RecordId,
        kind: ObjectType,
        to_id: u64,
        type_id: Option<u32>,
    ) {
        let Some(&slot) = self.slot_of.get(&call_id) else {
            return;
        };
        let Some(index) = self.associations.get_mut(&kind) else {
            return;
        };
        match type_id {
            Some(type_id) => {
                index.rows.remove(&(to_id, slot, type_id));
            }
            None => {
                let types: Vec<_> = index
                    .rows
                    .range((to_id, slot, 0)..=(to_id, slot, u32::MAX))
                    .copied()
                    .collect();
                for row in types {
                    index.rows.remove(&row);
                }
            }
        }
        let still = index
            .rows
            .range((to_id, slot, 0)..=(to_id, slot, u32::MAX))
            .next()
            .is_some();
        if !still {
            unpost(&mut index.values, &Key::number(to_id as f64), slot);
        }
    }

    fn forget(&mut self, ids: &[RecordId]) {
        let mut gone = Bitmap::empty(self.ids.len());
        for id in ids {
            let Some(&slot) = self.slot_of.get(id) else {
                continue;
            };
            gone.set(slot);
            if self
                .by_created
                .remove(&(self.created[slot as usize], *id, slot))
            {
                self.live_count -= 1;
            }
            self.live.clear(slot);
        }
        let kept = KeptSlots {
            below: self.ids.len() as u32,
            gone,
        };
        for property in self.properties.values_mut() {
            retain_slots(&mut property.values, &kept);
            retain_slots(&mut property.tokens, &kept);
        }
        for associations in self.associations.values_mut() {
            associations.rows.retain(|(_, slot, _)| kept.keeps(*slot));
            retain_slots(&mut associations.values, &kept);
        }
    }

    /// Live calls whose property holds `key` (ids ascending).
    pub fn holders(&self, name: &str, key: &Key) -> Vec<RecordId> {
        let mut ids: Vec<RecordId> = self
            .properties
            .get(name)
            .and_then(|p| p.values.get(key))
            .map(|posting| {
                posting
                    .slots()
                    .filter(|slot| self.live.contains(*slot))
                    .map(|slot| self.ids[slot as usize])
                    .collect()
            })
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// Replaces a property's values with `values` (after its type changed).
    pub fn reindex_property(
        &mut self,
        name: &str,
        property_type: PropertyType,
        values: &[(RecordId, String)],
    ) {
        self.properties.remove(name);
        let mut property = PropertyIndex {
            property_type: Some(property_type),
            ..PropertyIndex::default()
        };
        for (id, raw) in values {
            let Some(&slot) = self.slot_of.get(id) else {
                continue;
            };
            let entry = Entry::new(name, property_type, raw);
            post(&mut property.values, entry.key, slot);
            for token in entry.tokens {
                post(
                    &mut property.tokens,
                    Key::Text(token.into_boxed_str()),
                    slot,
                );
            }
        }
        self.properties.insert(name.to_owned(), property);
    }

    fn heap_bytes(&self) -> usize {
        let key_bytes = |key: &Key| match key {
            Key::Num(_) => 0,
            Key::Text(t) => t.len(),
        };
        let map_bytes = |map: &BTreeMap<Key, Posting>| -> usize {
            map.iter()
                .map(|(k, p)| {
                    std::mem::size_of::<(Key, Posting)>()
                        + BTREE_OVERHEAD
                        + key_bytes(k)
                        + p.heap_bytes()
                })
                .sum()
        };
        let slots = self.ids.capacity() * 8
            + self.created.capacity() * 8
            + self.live.words.capacity() * 8
            + self.slot_of.capacity() * 16
            + self.by_created.len() * (24 + BTREE_OVERHEAD);
        let properties: usize = self
            .properties
            .values()
            .map(|p| map_bytes(&p.values) + map_bytes(&p.tokens))
            .sum();
        let associations: usize = self
            .associations
            .values()
            .map(|a| a.rows.len() * (16 + BTREE_OVERHEAD) + map_bytes(&a.values))
            .sum();
        slots + properties + associations
    }
}
