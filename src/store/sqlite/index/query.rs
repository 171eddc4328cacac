//! Answering a search plan from a partition's index: each filter becomes a bitmap of slots
//! (lookups and range scans over the ordered keys), groups combine by AND / OR, and the page
//! is taken in the plan's order — walking the created order or a property's keys, or
//! sorting the matches when a walk would touch too many entries.

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::crm::record::RecordId;
use crate::crm::search::{
    wildcard_match, Condition, Filter, FilterTarget, Operand, SearchPlan, SortKey, TokenPattern,
};

use super::postings::{Bitmap, Key, Posting};
use super::{PageIds, PartitionIndex};

impl PartitionIndex {
    fn slots(&self) -> usize {
        self.ids.len()
    }

    fn union_postings<'a>(&self, postings: impl Iterator<Item = &'a Posting>) -> Bitmap {
        let mut set = Bitmap::empty(self.slots());
        for posting in postings {
            posting.add_to(&mut set);
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
                valued.set(slot);
                if matches.contains(slot) {
                    group.push(self.ids[slot as usize]);
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
