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

pub mod snapshot;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use crate::crm::objects::ObjectType;
use crate::crm::objects::Partition;
use crate::crm::properties::PropertyType;
use crate::crm::record::{PortalId, RecordId};
use crate::crm::search::{
    value_operand, wildcard_match, Condition, Filter, FilterTarget, IndexedValue, Operand,
    SearchPlan, SortKey, TokenPattern,
};

/// A value as search compares it: numbers (numbers, dates, datetimes) by value, everything
/// else as (folded) text. Numbers order before text, as in no comparison of the evaluator
/// (which never compares the two kinds).
#[derive(Debug, Clone)]
pub enum Key {
    Num(f64),
    Text(Box<str>),
}

impl Key {
    pub fn of(property_type: PropertyType, indexed: &IndexedValue) -> Self {
        match value_operand(property_type, indexed) {
            Operand::Number(n) => Key::number(n),
            Operand::Text(t) => Key::Text(t.into_boxed_str()),
        }
    }

    fn number(n: f64) -> Self {
        // -0 equals 0 for the evaluator; one key for both.
        Key::Num(if n == 0.0 { 0.0 } else { n })
    }

    fn of_operand(operand: &Operand) -> Self {
        match operand {
            Operand::Number(n) => Key::number(*n),
            Operand::Text(t) => Key::Text(t.as_str().into()),
        }
    }

    /// The smallest and largest key of the operand's kind that comparisons can match (NaN
    /// sorts outside `[-inf, inf]` and equals nothing, as in the evaluator).
    fn kind_bounds(&self) -> (Bound<Key>, Bound<Key>) {
        match self {
            Key::Num(_) => (
                Bound::Included(Key::Num(f64::NEG_INFINITY)),
                Bound::Included(Key::Num(f64::INFINITY)),
            ),
            Key::Text(_) => (Bound::Included(Key::Text("".into())), Bound::Unbounded),
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Key::Num(a), Key::Num(b)) => a.total_cmp(b),
            (Key::Num(_), Key::Text(_)) => Ordering::Less,
            (Key::Text(_), Key::Num(_)) => Ordering::Greater,
            (Key::Text(a), Key::Text(b)) => a.cmp(b),
        }
    }
}

/// The slots holding one value, ascending. Most values of a big portal are unique (ids,
/// instants, phone numbers), so a single slot is kept without an allocation.
#[derive(Debug, Clone, PartialEq)]
enum Posting {
    One(u32),
    Many(Vec<u32>),
}

impl Posting {
    fn insert(&mut self, slot: u32) {
        match self {
            Posting::One(existing) if *existing == slot => {}
            Posting::One(existing) => {
                let (a, b) = if *existing < slot {
                    (*existing, slot)
                } else {
                    (slot, *existing)
                };
                *self = Posting::Many(vec![a, b]);
            }
            Posting::Many(slots) => {
                // New calls take new slots, so this is nearly always a push.
                if slots.last().is_some_and(|last| *last < slot) {
                    slots.push(slot);
                } else if let Err(at) = slots.binary_search(&slot) {
                    slots.insert(at, slot);
                }
            }
        }
    }

    /// Removes `slot`; answers whether the posting is now empty.
    fn remove(&mut self, slot: u32) -> bool {
        match self {
            Posting::One(existing) => *existing == slot,
            Posting::Many(slots) => {
                if let Ok(at) = slots.binary_search(&slot) {
                    slots.remove(at);
                }
                match slots.as_slice() {
                    [] => true,
                    [only] => {
                        *self = Posting::One(*only);
                        false
                    }
                    _ => false,
                }
            }
        }
    }

    fn slots(&self) -> &[u32] {
        match self {
            Posting::One(slot) => std::slice::from_ref(slot),
            Posting::Many(slots) => slots,
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Posting::One(_) => 0,
            Posting::Many(slots) => slots.capacity() * 4,
        }
    }
}

fn post(map: &mut BTreeMap<Key, Posting>, key: Key, slot: u32) {
    match map.get_mut(&key) {
        Some(posting) => posting.insert(slot),
        None => {
            map.insert(key, Posting::One(slot));
        }
    }
}

fn unpost(map: &mut BTreeMap<Key, Posting>, key: &Key, slot: u32) {
    if let Some(posting) = map.get_mut(key) {
        if posting.remove(slot) {
            map.remove(key);
        }
    }
}

/// A set of slots.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bitmap {
    words: Vec<u64>,
}

impl Bitmap {
    fn empty(slots: usize) -> Self {
        Self {
            words: vec![0; slots.div_ceil(64)],
        }
    }

    fn set(&mut self, slot: u32) {
        let (word, bit) = (slot as usize / 64, slot % 64);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << bit;
    }

    fn clear(&mut self, slot: u32) {
        if let Some(word) = self.words.get_mut(slot as usize / 64) {
            *word &= !(1 << (slot % 64));
        }
    }

    fn contains(&self, slot: u32) -> bool {
        self.words
            .get(slot as usize / 64)
            .is_some_and(|word| word & (1 << (slot % 64)) != 0)
    }

    fn and(&mut self, other: &Bitmap) {
        for (i, word) in self.words.iter_mut().enumerate() {
            *word &= other.words.get(i).copied().unwrap_or(0);
        }
    }

    fn or(&mut self, other: &Bitmap) {
        if other.words.len() > self.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (word, other) in self.words.iter_mut().zip(&other.words) {
            *word |= other;
        }
    }

    fn and_not(&mut self, other: &Bitmap) {
        for (word, other) in self.words.iter_mut().zip(&other.words) {
            *word &= !other;
        }
    }

    fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    fn ones(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros();
                rest &= rest - 1;
                Some(i as u32 * 64 + bit)
            })
        })
    }
}

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
        let indexed = IndexedValue::new(property_type, raw);
        Self {
            name: name.to_owned(),
            property_type,
            key: Key::of(property_type, &indexed),
            tokens: indexed.tokens,
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

    /// Live calls whose property holds `key` (ids ascending).
    pub fn holders(&self, name: &str, key: &Key) -> Vec<RecordId> {
        let mut ids: Vec<RecordId> = self
            .properties
            .get(name)
            .and_then(|p| p.values.get(key))
            .map(|posting| {
                posting
                    .slots()
                    .iter()
                    .filter(|slot| self.live.contains(**slot))
                    .map(|slot| self.ids[*slot as usize])
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

    // ----- search --------------------------------------------------------------------------

    fn slots(&self) -> usize {
        self.ids.len()
    }

    fn union_postings<'a>(&self, postings: impl Iterator<Item = &'a Posting>) -> Bitmap {
        let mut set = Bitmap::empty(self.slots());
        for posting in postings {
            for slot in posting.slots() {
                set.set(*slot);
            }
        }
        set
    }

    /// Slots whose value satisfies the positive form of `condition`.
    fn positive_values(&self, values: &BTreeMap<Key, Posting>, condition: &Condition) -> Bitmap {
        let range = |low: Bound<Key>, high: Bound<Key>| -> Bitmap {
            // `BTreeMap::range` panics on inverted bounds; they match nothing.
            let inverted = match (&low, &high) {
                (
                    Bound::Included(a) | Bound::Excluded(a),
                    Bound::Included(b) | Bound::Excluded(b),
                ) => {
                    a > b
                        || (a == b
                            && (matches!(low, Bound::Excluded(_))
                                || matches!(high, Bound::Excluded(_))))
                }
                _ => false,
            };
            if inverted {
                return Bitmap::empty(self.slots());
            }
            self.union_postings(values.range((low, high)).map(|(_, p)| p))
        };
        let below = |operand: &Operand, inclusive: bool| {
            let key = Key::of_operand(operand);
            let (low, _) = key.kind_bounds();
            let high = if inclusive {
                Bound::Included(key)
            } else {
                Bound::Excluded(key)
            };
            range(low, high)
        };
        let above = |operand: &Operand, inclusive: bool| {
            let key = Key::of_operand(operand);
            let (_, high) = key.kind_bounds();
            let low = if inclusive {
                Bound::Included(key)
            } else {
                Bound::Excluded(key)
            };
            range(low, high)
        };
        let equal = |operands: &[Operand]| {
            self.union_postings(
                operands
                    .iter()
                    .filter_map(|operand| values.get(&Key::of_operand(operand))),
            )
        };
        match condition {
            Condition::Eq(o) | Condition::Neq(o) => equal(std::slice::from_ref(o)),
            Condition::In(set) | Condition::NotIn(set) => equal(set),
            Condition::Lt(o) => below(o, false),
            Condition::Lte(o) => below(o, true),
            Condition::Gt(o) => above(o, false),
            Condition::Gte(o) => above(o, true),
            Condition::Between(low, high) => {
                let (low, high) = (Key::of_operand(low), Key::of_operand(high));
                let same_kind = matches!(
                    (&low, &high),
                    (Key::Num(_), Key::Num(_)) | (Key::Text(_), Key::Text(_))
                );
                if !same_kind {
                    return Bitmap::empty(self.slots());
                }
                // NaN bounds match nothing in the evaluator.
                if matches!((&low, &high), (Key::Num(a), Key::Num(b)) if a.is_nan() || b.is_nan()) {
                    return Bitmap::empty(self.slots());
                }
                range(Bound::Included(low), Bound::Included(high))
            }
            Condition::HasProperty | Condition::NotHasProperty => {
                self.union_postings(values.values())
            }
            // Token conditions read the token map (see `positive_tokens`).
            Condition::ContainsToken(_) | Condition::NotContainsToken(_) => {
                Bitmap::empty(self.slots())
            }
        }
    }

    /// Slots having, for every part of `pattern`, a token that matches it.
    fn positive_tokens(&self, tokens: &BTreeMap<Key, Posting>, pattern: &TokenPattern) -> Bitmap {
        let mut all: Option<Bitmap> = None;
        for part in &pattern.parts {
            let set = self.tokens_matching(tokens, part);
            match &mut all {
                None => all = Some(set),
                Some(all) => all.and(&set),
            }
        }
        all.unwrap_or_else(|| Bitmap::empty(self.slots()))
    }

    fn tokens_matching(&self, tokens: &BTreeMap<Key, Posting>, part: &str) -> Bitmap {
        match part.find('*') {
            None => self.union_postings(tokens.get(&Key::Text(part.into())).into_iter()),
            Some(star) if star == part.len() - 1 => self.tokens_with_prefix(tokens, &part[..star]),
            Some(star) => {
                // A leading or inner wildcard: only the tokens after the literal prefix can
                // match; test each of them.
                let prefix = &part[..star];
                let start = Key::Text(prefix.into());
                self.union_postings(
                    tokens
                        .range(start..)
                        .take_while(
                            |(token, _)| matches!(token, Key::Text(t) if t.starts_with(prefix)),
                        )
                        .filter(
                            |(token, _)| matches!(token, Key::Text(t) if wildcard_match(part, t)),
                        )
                        .map(|(_, p)| p),
                )
            }
        }
    }

    fn tokens_with_prefix(&self, tokens: &BTreeMap<Key, Posting>, prefix: &str) -> Bitmap {
        let start = Key::Text(prefix.into());
        self.union_postings(
            tokens
                .range(start..)
                .take_while(|(token, _)| matches!(token, Key::Text(t) if t.starts_with(prefix)))
                .map(|(_, p)| p),
        )
    }

    fn filter_set(&self, filter: &Filter) -> Bitmap {
        let empty = BTreeMap::new();
        let positive = match &filter.target {
            FilterTarget::Property { name, .. } => {
                let property = self.properties.get(name);
                match &filter.condition {
                    Condition::ContainsToken(pattern) | Condition::NotContainsToken(pattern) => {
                        self.positive_tokens(property.map_or(&empty, |p| &p.tokens), pattern)
                    }
                    condition => {
                        self.positive_values(property.map_or(&empty, |p| &p.values), condition)
                    }
                }
            }
            FilterTarget::Association(kind) => self.positive_values(
                self.associations.get(kind).map_or(&empty, |a| &a.values),
                &filter.condition,
            ),
        };
        if filter.condition.matches_missing() {
            let mut negative = self.live.clone();
            negative.and_not(&positive);
            negative
        } else {
            positive
        }
    }

    /// The plan's matches among live calls.
    fn matches(&self, plan: &SearchPlan) -> Bitmap {
        let mut result = self.live.clone();
        if !plan.groups.is_empty() {
            let mut any = Bitmap::empty(self.slots());
            for group in &plan.groups {
                let mut all = self.live.clone();
                for filter in group {
                    all.and(&self.filter_set(filter));
                }
                any.or(&all);
            }
            result.and(&any);
        }
        for token in &plan.query_tokens {
            let mut set = Bitmap::empty(self.slots());
            for name in plan.query_properties {
                if let Some(property) = self.properties.get(*name) {
                    set.or(&self.tokens_with_prefix(&property.tokens, token));
                }
            }
            result.and(&set);
        }
        result
    }

    /// The exact total and the page's ids in order. `scan_budget` is how many entries the
    /// created order may be walked before sorting the matches is preferred.
    pub fn search(&self, plan: &SearchPlan, scan_budget: usize) -> PageIds {
        let matches = self.matches(plan);
        let total = matches.count();
        if total == 0 || plan.limit == 0 || plan.offset >= total {
            return PageIds {
                total,
                ids: Vec::new(),
            };
        }
        let ids = match &plan.sort {
            SortKey::Created => self.page_by_created(plan, &matches, total, scan_budget),
            SortKey::Property {
                name, descending, ..
            } => self.page_by_property(plan, &matches, name, *descending),
        };
        PageIds { total, ids }
    }

    fn page_by_created(
        &self,
        plan: &SearchPlan,
        matches: &Bitmap,
        total: usize,
        scan_budget: usize,
    ) -> Vec<RecordId> {
        // Walking the created order touches about (offset + limit) * live / total entries.
        let touched = (plan.offset + plan.limit) as u128 * self.live_count as u128 / total as u128;
        if touched <= scan_budget as u128 {
            return self
                .by_created
                .iter()
                .filter(|(_, _, slot)| matches.contains(*slot))
                .skip(plan.offset)
                .take(plan.limit)
                .map(|(_, id, _)| *id)
                .collect();
        }
        let mut keyed: Vec<(i64, RecordId)> = matches
            .ones()
            .map(|slot| (self.created[slot as usize], self.ids[slot as usize]))
            .collect();
        let end = (plan.offset + plan.limit).min(keyed.len());
        if end < keyed.len() {
            keyed.select_nth_unstable(end);
            keyed.truncate(end);
        }
        keyed.sort_unstable();
        keyed
            .into_iter()
            .skip(plan.offset)
            .take(plan.limit)
            .map(|(_, id)| id)
            .collect()
    }

    /// Walks the property's values in sort order (ties by id in the sort's direction), then
    /// the matches without a value, by id.
    fn page_by_property(
        &self,
        plan: &SearchPlan,
        matches: &Bitmap,
        name: &str,
        descending: bool,
    ) -> Vec<RecordId> {
        let mut skip = plan.offset;
        let mut page = Vec::with_capacity(plan.limit);
        let mut valued = Bitmap::empty(self.slots());
        let mut group: Vec<RecordId> = Vec::new();
        let values = self.properties.get(name).map(|p| &p.values);
        let walk: Box<dyn Iterator<Item = &Posting>> = match values {
            None => Box::new(std::iter::empty()),
            Some(values) if descending => Box::new(values.values().rev()),
            Some(values) => Box::new(values.values()),
        };
        for posting in walk {
            group.clear();
            for slot in posting.slots() {
                valued.set(*slot);
                if matches.contains(*slot) {
                    group.push(self.ids[*slot as usize]);
                }
            }
            if group.len() <= skip {
                skip -= group.len();
                continue;
            }
            group.sort_unstable();
            if descending {
                group.reverse();
            }
            for id in group.drain(..).skip(skip) {
                page.push(id);
                if page.len() == plan.limit {
                    return page;
                }
            }
            skip = 0;
        }
        let mut rest = matches.clone();
        rest.and_not(&valued);
        let mut tail: Vec<RecordId> = rest.ones().map(|slot| self.ids[slot as usize]).collect();
        tail.sort_unstable();
        if descending {
            tail.reverse();
        }
        page.extend(tail.into_iter().skip(skip).take(plan.limit - page.len()));
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_set_operations() {
        let mut a = Bitmap::empty(200);
        for slot in [1, 64, 130, 199] {
            a.set(slot);
        }
        let mut b = Bitmap::empty(200);
        b.set(64);
        b.set(5);
        let mut and = a.clone();
        and.and(&b);
        assert_eq!(and.ones().collect::<Vec<_>>(), vec![64]);
        let mut or = a.clone();
        or.or(&b);
        assert_eq!(or.count(), 5);
        let mut minus = a.clone();
        minus.and_not(&b);
        assert_eq!(minus.ones().collect::<Vec<_>>(), vec![1, 130, 199]);
        a.clear(130);
        assert!(!a.contains(130) && a.contains(199));
    }

    #[test]
    fn postings_stay_sorted_and_shrink() {
        let mut posting = Posting::One(7);
        posting.insert(3);
        posting.insert(9);
        posting.insert(5);
        assert_eq!(posting.slots(), &[3, 5, 7, 9]);
        assert!(!posting.remove(3));
        assert!(!posting.remove(9));
        assert!(!posting.remove(5));
        assert!(matches!(posting, Posting::One(7)));
        assert!(posting.remove(7));
    }

    #[test]
    fn keys_order_numbers_by_value_and_zero_once() {
        assert!(Key::number(900_000.0) < Key::number(1_800_000.0));
        assert_eq!(Key::number(-0.0), Key::number(0.0));
        assert!(Key::number(1e300) < Key::Text("".into()));
    }
}
