//! Updates: read the records, let the rules change them, write what changed with one
//! statement.
//!
//! Two ways to keep concurrent writers of a record from losing each other's changes:
//! - **optimistic** (most updates): read without a lock or a transaction, and write only
//!   the records whose row version (`xmin`) is still the one read. One read and one write
//!   statement, two round trips, where a locking transaction costs five. A record that
//!   another writer changed in between is updated again under a lock (the rules run again
//!   on its new state, which `RecordMutation` allows);
//! - **locking**: `SELECT … FOR UPDATE` in a transaction, for updates that write a
//!   unique-value property (checked under an advisory lock, `values`) and for upserts,
//!   whose inserts share the transaction.

use std::collections::BTreeMap;

use postgres::{GenericClient, Row};

use crate::crm::error::StoreError;
use crate::crm::history::PropertyChange;
use crate::crm::objects::Partition;
use crate::crm::ports::RecordMutation;
use crate::crm::properties::PropertyCatalogue;
use crate::crm::record::{Record, RecordId};
use crate::crm::search::IndexedValue;
use crate::store::rows::{flat_changes, properties_json, to_json, RECORD_COLUMNS};

use super::values::{index_change, ValueRows};
use super::{ids_param, Db, PostgresStore, Tx};

/// Writes the records' new state, their values' index rows and their history, for the
/// records whose row version is still the one read; returns the ids it wrote. A changed
/// value's row is upserted and a removed one deleted: one statement may not touch a row
/// twice, and the two sets of keys never meet.
const WRITE_UPDATES: &str = "
WITH changed AS (
    UPDATE calls c SET properties = u.props::JSONB, updated_at = u.updated
    FROM unnest($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::TEXT[]) AS u(id, props, updated, version)
    WHERE c.id = u.id AND c.xmin = u.version::xid
    RETURNING c.id
), removed_values AS (
    DELETE FROM call_values v USING unnest($5::BIGINT[], $6::TEXT[]) AS d(id, name)
    WHERE v.call_id = d.id AND v.name = d.name AND d.id IN (SELECT id FROM changed)
), written_values AS (
    INSERT INTO call_values (call_id, name, portal, text, number, words)
    SELECT id, name, $7, text, number, array_to_tsvector(string_to_array(words, ' '))
    FROM unnest($8::BIGINT[], $9::TEXT[], $10::TEXT[], $11::DOUBLE PRECISION[], $12::TEXT[])
        AS t(id, name, text, number, words)
    WHERE id IN (SELECT id FROM changed)
    ON CONFLICT (call_id, name) DO UPDATE
    SET text = excluded.text, number = excluded.number, words = excluded.words
), new_history AS (
    INSERT INTO call_history (call_id, changes)
    SELECT id, changes::JSONB
    FROM unnest($13::BIGINT[], $14::TEXT[]) WITH ORDINALITY AS h(id, changes, n)
    WHERE id IN (SELECT id FROM changed)
    ORDER BY n
)
SELECT id FROM changed";

/// The live records of `ids` with their row versions, optionally locked.
fn read_current<C: GenericClient>(
    db: &mut Db<'_, C>,
    partition: Partition,
    ids: &[RecordId],
    lock: bool,
) -> Result<BTreeMap<RecordId, (Record, String)>, StoreError> {
    // Locked in id order, so two batches cannot deadlock.
    let sql = format!(
        "SELECT {RECORD_COLUMNS}, c.xmin::TEXT FROM calls c
         WHERE c.id = ANY($1) AND c.portal = $2 AND NOT c.archived ORDER BY c.id{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let rows: Vec<Row> = db.query(&sql, &[&ids_param(ids), &partition.key()])?;
    let mut current = BTreeMap::new();
    for row in &rows {
        let call = super::records::call_from_row(row)?;
        current.insert(call.id, (call, row.try_get::<_, String>(5)?));
    }
    Ok(current)
}

/// The rules applied to the records read, position by position (an id may come twice: the
/// second change applies to the state the first left).
struct Applied {
    results: Vec<Option<Record>>,
    changes: Vec<(RecordId, Vec<PropertyChange>)>,
}

fn apply_all(
    current: &mut BTreeMap<RecordId, (Record, String)>,
    ids: &[RecordId],
    apply: &mut RecordMutation<'_>,
) -> Applied {
    let mut results = Vec::with_capacity(ids.len());
    let mut changes = Vec::with_capacity(ids.len());
    for (at, id) in ids.iter().enumerate() {
        let Some((call, _)) = current.get_mut(id) else {
            results.push(None);
            continue;
        };
        changes.push((call.id, apply(at, call)));
        results.push(Some(call.clone()));
    }
    Applied { results, changes }
}

fn writes_unique_value(
    partition: Partition,
    schema: &PropertyCatalogue,
    applied: &Applied,
) -> bool {
    applied.changes.iter().flat_map(|(_, c)| c).any(|change| {
        schema
            .get(&change.name)
            .is_some_and(|def| partition.object_type.is_unique(def))
    })
}

/// Writes `applied` with [`WRITE_UPDATES`], leaving out the values of unique-value
/// properties (the locking path indexes those itself); returns the ids written.
fn write_applied<C: GenericClient>(
    db: &mut Db<'_, C>,
    partition: Partition,
    schema: &PropertyCatalogue,
    current: &BTreeMap<RecordId, (Record, String)>,
    applied: &Applied,
) -> Result<Vec<RecordId>, StoreError> {
    let (mut state_ids, mut props, mut updated, mut versions) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (id, (call, version)) in current {
        state_ids.push(*id as i64);
        props.push(properties_json(call));
        updated.push(call.updated_at);
        versions.push(version.as_str());
    }
    // The final value per (record, property).
    let mut changed_values: BTreeMap<(RecordId, &str), Option<IndexedValue>> = BTreeMap::new();
    let (mut history_ids, mut histories) = (Vec::new(), Vec::new());
    for (call_id, changes) in &applied.changes {
        if !changes.is_empty() {
            history_ids.push(*call_id as i64);
            histories.push(to_json(&flat_changes(changes))?);
        }
        for change in changes {
            let def = schema.get(&change.name);
            if def.is_some_and(|def| partition.object_type.is_unique(def)) {
                continue;
            }
            let indexed = match (&change.value, def) {
                (Some(value), Some(def)) => Some(IndexedValue::new(def.property_type, value)),
                _ => None,
            };
            changed_values.insert((*call_id, change.name.as_str()), indexed);
        }
    }
    let (mut removed_ids, mut removed_names) = (Vec::new(), Vec::new());
    let mut values = ValueRows::default();
    for ((call_id, name), indexed) in changed_values {
        match indexed {
            Some(indexed) => values.push(call_id, name, indexed),
            None => {
                removed_ids.push(call_id as i64);
                removed_names.push(name);
            }
        }
    }
    let rows = db.query(
        WRITE_UPDATES,
        &[
            &state_ids,
            &props,
            &updated,
            &versions,
            &removed_ids,
            &removed_names,
            &partition.key(),
            &values.call_ids,
            &values.names,
            &values.texts,
            &values.numbers,
            &values.words,
            &history_ids,
            &histories,
        ],
    )?;
    rows.iter()
        .map(|row| Ok(row.try_get::<_, i64>(0)? as RecordId))
        .collect()
}

/// Updates under row locks, in the caller's transaction.
pub(super) fn update_locked(
    tx: &mut Tx<'_, '_>,
    partition: Partition,
    schema: &PropertyCatalogue,
    ids: &[RecordId],
    apply: &mut RecordMutation<'_>,
) -> Result<Vec<Option<Record>>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut current = read_current(tx, partition, ids, true)?;
    let applied = apply_all(&mut current, ids, apply);
    for (call_id, changes) in &applied.changes {
        for change in changes {
            if schema
                .get(&change.name)
                .is_some_and(|def| partition.object_type.is_unique(def))
            {
                // Checked under the property's lock, in order, one by one (rarely many).
                index_change(tx, partition, schema, *call_id, change)?;
            }
        }
    }
    // The rows are locked: every version read is still current.
    write_applied(tx, partition, schema, &current, &applied)?;
    Ok(applied.results)
}

impl PostgresStore {
    /// Updates without a lock or transaction (see the module's comment); the records
    /// another writer changed in between are updated again under a lock. `None` when the
    /// update writes a unique value and must take the locking path whole.
    pub(super) fn update_unlocked(
        &self,
        partition: Partition,
        schema: &PropertyCatalogue,
        ids: &[RecordId],
        apply: &mut RecordMutation<'_>,
    ) -> Result<Option<Vec<Option<Record>>>, StoreError> {
        let Some((mut results, changed_meanwhile)) =
            self.autocommit(|db| update_optimistically(db, partition, schema, ids, &mut *apply))?
        else {
            return Ok(None);
        };
        if !changed_meanwhile.is_empty() {
            let again_ids: Vec<RecordId> = changed_meanwhile.iter().map(|&at| ids[at]).collect();
            let again = self.write(|tx| {
                update_locked(tx, partition, schema, &again_ids, &mut |i, call| {
                    apply(changed_meanwhile[i], call)
                })
            })?;
            for (at, result) in changed_meanwhile.into_iter().zip(again) {
                results[at] = result;
            }
        }
        Ok(Some(results))
    }
}

/// The result per position, and the positions whose records another writer changed
/// between the read and the write; `None` when the update writes a unique value.
type OptimisticOutcome = Option<(Vec<Option<Record>>, Vec<usize>)>;

fn update_optimistically<C: GenericClient>(
    db: &mut Db<'_, C>,
    partition: Partition,
    schema: &PropertyCatalogue,
    ids: &[RecordId],
    apply: &mut RecordMutation<'_>,
) -> Result<OptimisticOutcome, StoreError> {
    let mut current = read_current(db, partition, ids, false)?;
    let applied = apply_all(&mut current, ids, apply);
    if writes_unique_value(partition, schema, &applied) {
        return Ok(None);
    }
    if current.is_empty() {
        return Ok(Some((applied.results, Vec::new())));
    }
    let written = write_applied(db, partition, schema, &current, &applied)?;
    let changed_meanwhile = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| current.contains_key(id) && !written.contains(id))
        .map(|(at, _)| at)
        .collect();
    Ok(Some((applied.results, changed_meanwhile)))
}
