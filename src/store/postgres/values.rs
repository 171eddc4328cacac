//! The value index: `call_values` holds each live record's values the way search compares
//! them (text folded or exact by type, numbers by value) and their words (`words.rs`).
//! Writes keep it in step with the records; unique-value checks are answered from `call_values`
//! under an advisory lock per (partition, property), so two servers cannot both take a value.

use std::collections::BTreeMap;

use crate::crm::error::StoreError;
use crate::crm::history::PropertyChange;
use crate::crm::objects::Partition;
use crate::crm::ports::NewRecord;
use crate::crm::properties::PropertyCatalogue;
use crate::crm::record::RecordId;
use crate::crm::search::IndexedValue;

use super::words::words_param;
use super::Tx;

/// A stable 64-bit key for an advisory lock (FNV-1a): the same on every server and build.
fn lock_key(partition: Partition, name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in partition.key().to_le_bytes().iter().chain(name.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

/// The live call other than `call_id` that holds `indexed` as its value of `name`,
/// compared the way search compares: numbers by value, text folded or exact by type.
fn taken_by(
    tx: &mut Tx<'_, '_>,
    partition: Partition,
    name: &str,
    indexed: &IndexedValue,
    call_id: RecordId,
) -> Result<Option<RecordId>, StoreError> {
    let (portal, id) = (partition.key(), call_id as i64);
    let row = match indexed.number {
        Some(number) => tx.query_opt(
            "SELECT call_id FROM call_values WHERE portal = $1 AND name = $2
             AND number = $3 AND call_id <> $4 LIMIT 1",
            &[&portal, &name, &number, &id],
        )?,
        None => tx.query_opt(
            "SELECT call_id FROM call_values WHERE portal = $1 AND name = $2
             AND text = $3 AND call_id <> $4 LIMIT 1",
            &[&portal, &name, &indexed.text, &id],
        )?,
    };
    Ok(match row {
        Some(row) => Some(row.try_get::<_, i64>(0)? as RecordId),
        None => None,
    })
}

/// Keeps the search index rows of one property in step with its new value.
pub(super) fn index_change(
    tx: &mut Tx<'_, '_>,
    partition: Partition,
    schema: &PropertyCatalogue,
    call_id: RecordId,
    change: &PropertyChange,
) -> Result<(), StoreError> {
    let id = call_id as i64;
    let portal_param = partition.key();
    let (Some(value), Some(def)) = (&change.value, schema.get(&change.name)) else {
        tx.execute(
            "DELETE FROM call_values WHERE call_id = $1 AND name = $2",
            &[&id, &change.name],
        )?;
        return Ok(());
    };
    let indexed = IndexedValue::new(def.property_type, value);
    if partition.object_type.is_unique(def) {
        tx.execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&lock_key(partition, &change.name)],
        )?;
        let existing = taken_by(tx, partition, &change.name, &indexed, call_id)?;
        if let Some(existing) = existing {
            return Err(StoreError::UniqueViolation {
                property: change.name.clone(),
                value: value.clone(),
                call_id,
                existing,
            });
        }
    }
    let words = words_param(&change.name, &indexed.tokens);
    tx.execute(
        "INSERT INTO call_values (call_id, name, portal, text, number, words)
         VALUES ($1, $2, $3, $4, $5, array_to_tsvector(string_to_array($6, ' ')))
         ON CONFLICT (call_id, name) DO UPDATE
         SET text = excluded.text, number = excluded.number, words = excluded.words",
        &[
            &id,
            &change.name,
            &portal_param,
            &indexed.text,
            &indexed.number,
            &words,
        ],
    )?;
    Ok(())
}

/// Whether any new call writes a value of a unique-value property (which must be checked
/// under a lock, in a transaction).
pub(super) fn new_calls_write_unique_values(
    partition: Partition,
    schema: &PropertyCatalogue,
    calls: &[NewRecord],
) -> bool {
    calls.iter().flat_map(|new| &new.changes).any(|change| {
        change.value.is_some()
            && schema
                .get(&change.name)
                .is_some_and(|def| partition.object_type.is_unique(def))
    })
}

/// New calls' unique values must be free in the store and distinct among themselves. The
/// advisory locks are taken in name order, so two servers cannot deadlock on them.
pub(super) fn check_unique_values_of_new_calls(
    tx: &mut Tx<'_, '_>,
    partition: Partition,
    schema: &PropertyCatalogue,
    calls: &[NewRecord],
) -> Result<(), StoreError> {
    let mut unique: BTreeMap<&str, Vec<(RecordId, &str, IndexedValue)>> = BTreeMap::new();
    for new in calls {
        for change in &new.changes {
            if let (Some(value), Some(def)) = (&change.value, schema.get(&change.name)) {
                if partition.object_type.is_unique(def) {
                    unique.entry(change.name.as_str()).or_default().push((
                        new.call.id,
                        value.as_str(),
                        IndexedValue::new(def.property_type, value),
                    ));
                }
            }
        }
    }
    for (name, written) in unique {
        tx.execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&lock_key(partition, name)],
        )?;
        for (at, (call_id, value, indexed)) in written.iter().enumerate() {
            let earlier = written[..at]
                .iter()
                .find(|(_, _, other)| match indexed.number {
                    Some(number) => other.number == Some(number),
                    None => other.text == indexed.text,
                });
            let existing = match earlier {
                Some((earlier_id, _, _)) => Some(*earlier_id),
                None => taken_by(tx, partition, name, indexed, *call_id)?,
            };
            if let Some(existing) = existing {
                return Err(StoreError::UniqueViolation {
                    property: name.to_owned(),
                    value: (*value).to_owned(),
                    call_id: *call_id,
                    existing,
                });
            }
        }
    }
    Ok(())
}

/// Index rows of many values, gathered to be written by one statement (see `inserts` and
/// `records`).
#[derive(Default, Clone)]
pub(super) struct ValueRows {
    pub(super) call_ids: Vec<i64>,
    pub(super) names: Vec<String>,
    pub(super) texts: Vec<String>,
    pub(super) numbers: Vec<Option<f64>>,
    /// Each value's lexemes as one [`words_param`].
    pub(super) words: Vec<Option<String>>,
}

impl ValueRows {
    pub(super) fn push(&mut self, call_id: RecordId, name: &str, indexed: IndexedValue) {
        self.call_ids.push(call_id as i64);
        self.names.push(name.to_owned());
        self.texts.push(indexed.text);
        self.numbers.push(indexed.number);
        self.words.push(words_param(name, &indexed.tokens));
    }

    /// Adds `other`'s rows after these.
    pub(super) fn append(&mut self, mut other: ValueRows) {
        self.call_ids.append(&mut other.call_ids);
        self.names.append(&mut other.names);
        self.texts.append(&mut other.texts);
        self.numbers.append(&mut other.numbers);
        self.words.append(&mut other.words);
    }
}
