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
/// instants, phone numbers), so a single slot is kept without an allocation; a list is boxed,
/// since every entry of every map pays the size of this enum (two words rather than four);
/// and a value most records share (a direction, a status, a common word) is a bitmap, one bit
/// per slot instead of four bytes per holder.
#[derive(Debug, Clone)]
#[allow(clippy::box_collection)] // on purpose: see above
pub(super) enum Posting {
    One(u32),
    Many(Box<Vec<u32>>),
    Dense(Box<DenseSlots>),
}

/// Postings are equal when they hold the same slots, whatever their representation (a list
/// read back from a saved index may come back as a bitmap).
impl PartialEq for Posting {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.slots().eq(other.slots())
    }
}

/// A bitmap of slots with its count (for emptiness without a scan).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct DenseSlots {
    bits: Bitmap,
    count: u32,
}

/// A list turns into a bitmap once it would take more room than one (four bytes a holder
/// against a bit a slot, with some slack so a value near the line does not flip back and
/// forth): when it holds more than one slot in this many.
const DENSE_WHEN_ONE_IN: usize = 24;

impl Posting {
    /// The posting of `slots` (ascending, no repeats), in the representation that suits it.
    pub(super) fn from_sorted(slots: Vec<u32>) -> Self {
        match slots.as_slice() {
            [only] => Posting::One(*only),
            _ => {
                let mut posting = Posting::Many(Box::new(slots));
                posting.densify_if_worth_it();
                posting
            }
        }
    }

    fn densify_if_worth_it(&mut self) {
        let Posting::Many(slots) = self else { return };
        let span = slots.last().map_or(0, |last| *last as usize + 1);
        if slots.len() * DENSE_WHEN_ONE_IN > span && slots.len() >= 64 {
            let mut bits = Bitmap::empty(span);
            for slot in slots.iter() {
                bits.set(*slot);
            }
            let count = slots.len() as u32;
            *self = Posting::Dense(Box::new(DenseSlots { bits, count }));
        }
    }

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
                if slots.len().is_power_of_two() {
                    self.densify_if_worth_it();
                }
            }
            Posting::Dense(dense) => {
                if !dense.bits.contains(slot) {
                    dense.bits.set(slot);
                    dense.count += 1;
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
                self.settle_list()
            }
            Posting::Dense(dense) => {
                if dense.bits.contains(slot) {
                    dense.bits.clear(slot);
                    dense.count -= 1;
                }
                dense.count == 0
            }
        }
    }

    /// After a list lost slots: one left is kept inline; answers whether none is left.
    fn settle_list(&mut self) -> bool {
        let Posting::Many(slots) = self else {
            return false;
        };
        match slots.as_slice() {
            [] => true,
            [only] => {
                *self = Posting::One(*only);
                false
            }
            _ => false,
        }
    }

    /// Drops the slots `kept` does not keep; answers whether the posting is now empty.
    pub(super) fn retain(&mut self, kept: &KeptSlots) -> bool {
        match self {
            Posting::One(slot) => !kept.keeps(*slot),
            Posting::Many(slots) => {
                slots.retain(|slot| kept.keeps(*slot));
                self.settle_list()
            }
            Posting::Dense(dense) => {
                // Word by word: a bitmap of a million slots is 16k words, not a million tests.
                let bits = &mut dense.bits.words;
                let words_below = (kept.below as usize).div_ceil(64);
                bits.truncate(words_below);
                // The word `below` falls in keeps only its bits under it (when the bitmap
                // reaches that far: a shorter one ends below it).
                let used = kept.below % 64;
                if bits.len() == words_below && used != 0 {
                    if let Some(last) = bits.last_mut() {
                        *last &= (1u64 << used) - 1;
                    }
                }
                dense.bits.and_not(&kept.gone);
                dense.count = dense.bits.count() as u32;
                dense.count == 0
            }
        }
    }

    /// The slots, ascending.
    pub(super) fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        let (one, many, dense) = match self {
            Posting::One(slot) => (Some(*slot), None, None),
            Posting::Many(slots) => (None, Some(slots.iter().copied()), None),
            Posting::Dense(dense) => (None, None, Some(dense.bits.ones())),
        };
        one.into_iter()
            .chain(many.into_iter().flatten())
            .chain(dense.into_iter().flatten())
    }

    /// How many slots hold the value.
    pub(super) fn len(&self) -> usize {
        match self {
            Posting::One(_) => 1,
            Posting::Many(slots) => slots.len(),
            Posting::Dense(dense) => dense.count as usize,
        }
    }

    /// Adds the posting's slots to `set`.
    pub(super) fn add_to(&self, set: &mut Bitmap) {
        match self {
            Posting::Dense(dense) => set.or(&dense.bits),
            _ => {
                for slot in self.slots() {
                    set.set(slot);
                }
            }
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            Posting::One(_) => 0,
            Posting::Many(slots) => std::mem::size_of::<Vec<u32>>() + slots.capacity() * 4,
            Posting::Dense(dense) => {
                std::mem::size_of::<DenseSlots>() + dense.bits.words.capacity() * 8
            }
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

/// The slots an index keeps when it forgets some records: those below `below` (the slots it
/// has records for) that are not `gone`.
pub(super) struct KeptSlots {
    pub(super) below: u32,
    pub(super) gone: Bitmap,
}

impl KeptSlots {
    pub(super) fn keeps(&self, slot: u32) -> bool {
        slot < self.below && !self.gone.contains(slot)
    }
}

/// Drops the slots `kept` does not keep from every posting of `map` (and the keys left
/// without any).
pub(super) fn retain_slots(map: &mut BTreeMap<Key, Posting>, kept: &KeptSlots) {
    map.retain(|_, posting| !posting.retain(kept));
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
        assert_eq!(posting.slots().collect::<Vec<_>>(), vec![3, 5, 7, 9]);
        assert!(!posting.remove(3));
        assert!(!posting.remove(9));
        assert!(!posting.remove(5));
        assert!(matches!(posting, Posting::One(7)));
        assert!(posting.remove(7));
    }

    #[test]
    fn a_value_most_slots_hold_becomes_a_bitmap_and_behaves_the_same() {
        let mut posting = Posting::One(0);
        let mut expected = vec![0];
        for slot in (3..400).step_by(3) {
            posting.insert(slot);
            expected.push(slot);
        }
        assert!(matches!(posting, Posting::Dense(_)), "{posting:?}");
        // Inserting again, out of order, and removing keep it a set.
        posting.insert(300);
        posting.insert(1);
        expected.push(1);
        expected.sort_unstable();
        assert_eq!(posting.len(), expected.len());
        assert_eq!(posting.slots().collect::<Vec<_>>(), expected);
        let mut set = Bitmap::empty(8);
        posting.add_to(&mut set);
        assert_eq!(set.ones().collect::<Vec<_>>(), expected);
        let below_ten = KeptSlots {
            below: 10,
            gone: Bitmap::default(),
        };
        assert!(!posting.retain(&below_ten));
        assert_eq!(posting.slots().collect::<Vec<_>>(), vec![0, 1, 3, 6, 9]);
        for slot in [0, 1, 3, 6] {
            assert!(!posting.remove(slot));
        }
        assert!(posting.remove(9), "empty once its last slot goes");
        // Forgetting past a bitmap's end keeps all of it: the boundary word is not its last.
        let mut short = Posting::from_sorted((0..100).collect());
        let far = KeptSlots {
            below: 1000,
            gone: Bitmap::default(),
        };
        assert!(!short.retain(&far));
        assert_eq!(short.len(), 100);
        assert_eq!(
            short.slots().collect::<Vec<_>>(),
            (0..100).collect::<Vec<_>>()
        );
        let mut cut = Posting::from_sorted((0..100).collect());
        assert!(!cut.retain(&KeptSlots {
            below: 70,
            gone: Bitmap::default(),
        }));
        assert_eq!(cut.slots().collect::<Vec<_>>(), (0..70).collect::<Vec<_>>());
        // A list read back from a file is a bitmap when it is dense, a list when not.
        assert!(matches!(
            Posting::from_sorted((0..100).collect()),
            Posting::Dense(_)
        ));
        assert!(matches!(
            Posting::from_sorted((0..100).map(|n| n * 1000).collect()),
            Posting::Many(_)
        ));
        assert_eq!(
            Posting::from_sorted((0..100).collect()),
            Posting::Many(Box::new((0..100).collect()))
        );
    }

    #[test]
    fn retaining_slots_shrinks_postings_and_drops_empty_keys() {
        let mut map = BTreeMap::new();
        for (key, slot) in [("a", 1), ("a", 2), ("a", 3), ("b", 2), ("c", 9)] {
            post(&mut map, Key::Text(key.into()), slot);
        }
        let mut gone = Bitmap::default();
        gone.set(2);
        retain_slots(&mut map, &KeptSlots { below: 5, gone });
        let left: Vec<(String, Vec<u32>)> = map
            .iter()
            .map(|(key, posting)| (format!("{key:?}"), posting.slots().collect()))
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
