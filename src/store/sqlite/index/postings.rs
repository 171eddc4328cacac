//! The sets the index is made of: typed keys ([`Key`]) ordered as search compares values,
//! postings (the slots holding one key, ascending) and bitmaps (a set of slots, for AND / OR
//! / NOT and exact counts in word operations).

use std::cmp::Ordering;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::ops::Bound;

use crate::crm::properties::PropertyType;
use crate::crm::search::{into_operand, IndexedValue, Operand};

/// A value as search compares it: numbers (numbers, dates, datetimes) by value, everything
/// else as (folded) text. Numbers order before text, as in no comparison of the evaluator
/// (which never compares the two kinds).
#[derive(Debug, Clone)]
pub enum Key {
    Num(f64),
    Text(Box<str>),
}

impl Key {
    /// The key of a value and its tokens.
    pub fn of(property_type: PropertyType, indexed: IndexedValue) -> (Self, Vec<String>) {
        let (operand, tokens) = into_operand(property_type, indexed);
        let key = match operand {
            Operand::Number(n) => Key::number(n),
            Operand::Text(t) => Key::Text(t.into_boxed_str()),
        };
        (key, tokens)
    }

    pub(super) fn number(n: f64) -> Self {
        // -0 equals 0 for the evaluator; one key for both.
        Key::Num(if n == 0.0 { 0.0 } else { n })
    }

    pub(super) fn of_operand(operand: &Operand) -> Self {
        match operand {
            Operand::Number(n) => Key::number(*n),
            Operand::Text(t) => Key::Text(t.as_str().into()),
        }
    }

    /// The smallest and largest key of the operand's kind that comparisons can match (NaN
    /// sorts outside `[-inf, inf]` and equals nothing, as in the evaluator).
    pub(super) fn kind_bounds(&self) -> (Bound<Key>, Bound<Key>) {
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
/// instants, phone numbers), so a single slot is kept without an allocation, and a list is
/// boxed: every entry of every map pays the size of this enum, two words rather than four.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Posting {
    One(u32),
    Many(Box<Vec<u32>>),
}

impl Posting {
    pub(super) fn insert(&mut self, slot: u32) {
        match self {
            Posting::One(existing) if *existing == slot => {}
            Posting::One(existing) => {
                let (a, b) = if *existing < slot {
                    (*existing, slot)
                } else {
                    (slot, *existing)
                };
                *self = Posting::Many(Box::new(vec![a, b]));
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
    pub(super) fn remove(&mut self, slot: u32) -> bool {
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

    /// Keeps the slots `keep` accepts; answers whether the posting is now empty.
    pub(super) fn retain(&mut self, keep: impl Fn(u32) -> bool) -> bool {
        match self {
            Posting::One(slot) => !keep(*slot),
            Posting::Many(slots) => {
                slots.retain(|slot| keep(*slot));
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

    pub(super) fn slots(&self) -> &[u32] {
        match self {
            Posting::One(slot) => std::slice::from_ref(slot),
            Posting::Many(slots) => slots.as_slice(),
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            Posting::One(_) => 0,
            Posting::Many(slots) => std::mem::size_of::<Vec<u32>>() + slots.capacity() * 4,
        }
    }
}

pub(super) fn post(map: &mut BTreeMap<Key, Posting>, key: Key, slot: u32) {
    // One search of the map, not a lookup and then an insert: most values written are new
    // (ids, instants, bodies), and comparing keys is most of what the index costs a write.
    match map.entry(key) {
        Entry::Occupied(posting) => posting.into_mut().insert(slot),
        Entry::Vacant(vacant) => {
            vacant.insert(Posting::One(slot));
        }
    }
}

pub(super) fn unpost(map: &mut BTreeMap<Key, Posting>, key: &Key, slot: u32) {
    if let Some(posting) = map.get_mut(key) {
        if posting.remove(slot) {
            map.remove(key);
        }
    }
}

/// Drops the slots `keep` refuses from every posting of `map` (and the keys left without).
pub(super) fn retain_slots(map: &mut BTreeMap<Key, Posting>, keep: impl Fn(u32) -> bool) {
    map.retain(|_, posting| !posting.retain(&keep));
}

/// A set of slots.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bitmap {
    pub(super) words: Vec<u64>,
}

impl Bitmap {
    pub(super) fn empty(slots: usize) -> Self {
        Self {
            words: vec![0; slots.div_ceil(64)],
        }
    }

    pub(super) fn set(&mut self, slot: u32) {
        let (word, bit) = (slot as usize / 64, slot % 64);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << bit;
    }

    pub(super) fn clear(&mut self, slot: u32) {
        if let Some(word) = self.words.get_mut(slot as usize / 64) {
            *word &= !(1 << (slot % 64));
        }
    }

    pub(super) fn contains(&self, slot: u32) -> bool {
        self.words
            .get(slot as usize / 64)
            .is_some_and(|word| word & (1 << (slot % 64)) != 0)
    }

    pub(super) fn and(&mut self, other: &Bitmap) {
        for (i, word) in self.words.iter_mut().enumerate() {
            *word &= other.words.get(i).copied().unwrap_or(0);
        }
    }

    pub(super) fn or(&mut self, other: &Bitmap) {
        if other.words.len() > self.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (word, other) in self.words.iter_mut().zip(&other.words) {
            *word |= other;
        }
    }

    pub(super) fn and_not(&mut self, other: &Bitmap) {
        for (word, other) in self.words.iter_mut().zip(&other.words) {
            *word &= !other;
        }
    }

    pub(super) fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub(super) fn ones(&self) -> impl Iterator<Item = u32> + '_ {
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
    fn retaining_slots_shrinks_postings_and_drops_empty_keys() {
        let mut map = BTreeMap::new();
        for (key, slot) in [("a", 1), ("a", 2), ("a", 3), ("b", 2), ("c", 9)] {
            post(&mut map, Key::Text(key.into()), slot);
        }
        retain_slots(&mut map, |slot| slot != 2 && slot < 5);
        let left: Vec<(String, Vec<u32>)> = map
            .iter()
            .map(|(key, posting)| (format!("{key:?}"), posting.slots().to_vec()))
            .collect();
        assert_eq!(left, vec![("Text(\"a\")".to_owned(), vec![1, 3])]);
    }

    #[test]
    fn keys_order_numbers_by_value_and_zero_once() {
        assert!(Key::number(900_000.0) < Key::number(1_800_000.0));
        assert_eq!(Key::number(-0.0), Key::number(0.0));
        assert!(Key::number(1e300) < Key::Text("".into()));
    }
}
