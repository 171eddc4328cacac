//! Records: the `calls` rows of every partition, written set-wise, with their index rows
//! (`values`) and history; reads, archive, purge, restore and search.

use std::collections::BTreeMap;

use postgres::types::Json;
use postgres::Row;

use crate::crm::error::StoreError;
use crate::crm::history::{HistoryEntry, PropertyChange};
use crate::crm::objects::Partition;
use crate::crm::ports::{NewRecord, RecordMutation, RecordStore, RestoredRecord};
use crate::crm::properties::PropertyCatalogue;
use crate::crm::record::{Record, RecordId, WriteSource};
use crate::crm::search::{IndexedValue, SearchHits, SearchPlan, SortKey};
use crate::store::rows::{
    flat_changes, properties_json, record_from_columns, restore_replaces, to_json, RECORD_COLUMNS,
};

use super::associations::insert_association;
use super::history::record_history;
use super::inserts::NewRows;
use super::values::{
    check_unique_values_of_new_calls, index_change, new_calls_write_unique_values, ValueRows,
};
use super::{ids_param, search, PostgresStore, Tx};

/// A record from a row of [`RECORD_COLUMNS`].
fn call_from_row(row: &Row) -> Result<Record, StoreError> {
    let Json(properties): Json<BTreeMap<String, String>> = row.try_get(1)?;
    Ok(record_from_columns(
        row.try_get(0)?,
        properties,
        row.try_get(2)?,
        row.try_get(3)?,
        row.try_get(4)?,
    ))
}

fn calls_from_rows(rows: Vec<Row>) -> Result<Vec<Record>, StoreError> {
    rows.iter().map(call_from_row).collect()
}

/// Runs a `SELECT count(*)` a search built.
fn count_of(tx: &mut Tx<'_, '_>, count: &search::Sql) -> Result<usize, StoreError> {
    let rows = tx.query_once(count.text.as_str(), &count.params())?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Backend("a count returned no row".into()))?;
    Ok(row.try_get::<_, i64>(0)?.max(0) as usize)
}

/// Removes what hangs off a call's row: index entries, history and associations.
fn delete_call_rows(tx: &mut Tx<'_, '_>, id: RecordId) -> Result<(), StoreError> {
    for table in ["call_values", "call_history", "call_associations"] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE call_id = $1"),
            &[&(id as i64)],
        )?;
    }
    Ok(())
}

/// Writes what updates changed, in two statements (a statement's parts all see the rows as
/// they were before it, so the index rows of a changed value are deleted by the first and
/// written anew by the second): the records' new state, their history and the removal of
/// the old index rows; then the new index rows.
const WRITE_UPDATED_RECORDS: &str = "
WITH changed AS (
    UPDATE calls c SET properties = u.props::JSONB, updated_at = u.updated
    FROM unnest($1::BIGINT[], $2::TEXT[], $3::BIGINT[]) AS u(id, props, updated)
    WHERE c.id = u.id
), stale_values AS (
    DELETE FROM call_values v USING unnest($4::BIGINT[], $5::TEXT[]) AS d(id, name)
    WHERE v.call_id = d.id AND v.name = d.name
), new_history AS (
    INSERT INTO call_history (call_id, changes)
    SELECT id, changes::JSONB
    FROM unnest($6::BIGINT[], $7::TEXT[]) WITH ORDINALITY AS t(id, changes, n)
    ORDER BY n
)
SELECT 1";

/// The second statement of [`WRITE_UPDATED_RECORDS`]: the changed values' index rows.
const INDEX_UPDATED_VALUES: &str = "
INSERT INTO call_values (call_id, name, portal, text, number, words)
SELECT id, name, $1, text, number, array_to_tsvector(string_to_array(words, ' '))
FROM unnest($2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::DOUBLE PRECISION[], $6::TEXT[])
    AS t(id, name, text, number, words)";

fn update_in(
    tx: &mut Tx<'_, '_>,
    partition: Partition,
    schema: &PropertyCatalogue,
    ids: &[RecordId],
    apply: &mut RecordMutation<'_>,
) -> Result<Vec<Option<Record>>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Lock every row first, in id order, then read: the state read is the latest committed
    // one and stays ours until commit.
    let rows = tx.query(
        &format!(
            "SELECT {RECORD_COLUMNS} FROM calls c WHERE c.id = ANY($1) AND c.portal = $2
             AND NOT c.archived ORDER BY c.id FOR UPDATE"
        ),
        &[&ids_param(ids), &partition.key()],
    )?;
    let mut current: BTreeMap<RecordId, Record> = BTreeMap::new();
    for row in &rows {
        let call = call_from_row(row)?;
        current.insert(call.id, call);
    }
    // The final state per record and per (record, property) value: an id may come twice.
    let mut states: BTreeMap<RecordId, (String, i64)> = BTreeMap::new();
    let mut changed_values: BTreeMap<(RecordId, &str), Option<IndexedValue>> = BTreeMap::new();
    let mut history_ids = Vec::new();
    let mut histories = Vec::new();
    let mut results = Vec::with_capacity(ids.len());
    let mut all_changes = Vec::with_capacity(ids.len());
    for (at, id) in ids.iter().enumerate() {
        let Some(call) = current.get_mut(id) else {
            results.push(None);
            continue;
        };
        let changes = apply(at, call);
        states.insert(call.id, (properties_json(call), call.updated_at));
        if !changes.is_empty() {
            history_ids.push(call.id as i64);
            histories.push(to_json(&flat_changes(&changes))?);
        }
        all_changes.push((call.id, changes));
        results.push(Some(call.clone()));
    }
    for (call_id, changes) in &all_changes {
        for change in changes {
            let def = schema.get(&change.name);
            if def.is_some_and(|def| partition.object_type.is_unique(def)) {
                // Checked under the property's lock, in order, one by one (rarely many).
                index_change(tx, partition, schema, *call_id, change)?;
                continue;
            }
            let indexed = match (&change.value, def) {
                (Some(value), Some(def)) => Some(IndexedValue::new(def.property_type, value)),
                _ => None,
            };
            changed_values.insert((*call_id, change.name.as_str()), indexed);
        }
    }
    let (mut state_ids, mut props, mut updated) = (Vec::new(), Vec::new(), Vec::new());
    for (id, (properties, updated_at)) in states {
        state_ids.push(id as i64);
        props.push(properties);
        updated.push(updated_at);
    }
    let (mut stale_ids, mut stale_names) = (Vec::new(), Vec::new());
    let mut values = ValueRows::default();
    for ((call_id, name), indexed) in changed_values {
        stale_ids.push(call_id as i64);
        stale_names.push(name);
        if let Some(indexed) = indexed {
            values.push(call_id, name, indexed);
        }
    }
    tx.execute(
        WRITE_UPDATED_RECORDS,
        &[
            &state_ids,
            &props,
            &updated,
            &stale_ids,
            &stale_names,
            &history_ids,
            &histories,
        ],
    )?;
    if !values.call_ids.is_empty() {
        tx.execute(
            INDEX_UPDATED_VALUES,
            &[
                &partition.key(),
                &values.call_ids,
                &values.names,
                &values.texts,
                &values.numbers,
                &values.words,
            ],
        )?;
    }
    Ok(results)
}

impl RecordStore for PostgresStore {
    fn allocate_ids(
        &self,
        _partition: Partition,
        count: usize,
    ) -> Result<Vec<RecordId>, StoreError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        self.read(|db| {
            let rows = db.query(
                "SELECT nextval('call_ids') FROM generate_series(1, $1)",
                &[&(count as i32)],
            )?;
            rows.iter()
                .map(|row| Ok(row.try_get::<_, i64>(0)? as RecordId))
                .collect()
        })
    }

    fn write_records(
        &self,
        partition: Partition,
        schema: &PropertyCatalogue,
        inserts: &[NewRecord],
        update_ids: &[RecordId],
        apply: &mut RecordMutation<'_>,
    ) -> Result<Vec<Option<Record>>, StoreError> {
        if inserts.is_empty() && update_ids.is_empty() {
            return Ok(Vec::new());
        }
        if update_ids.is_empty() && !new_calls_write_unique_values(partition, schema, inserts) {
            // Nothing to lock or read first: the insert alone, in a statement it may share
            // with other requests' creates.
            let rows = NewRows::gather(partition, schema, inserts)?;
            self.inserts.insert(partition, rows, &|partition, rows| {
                self.write_in_one_statement(|db| rows.insert(db, partition))
            })?;
            return Ok(Vec::new());
        }
        self.write(|tx| {
            let updated = update_in(tx, partition, schema, update_ids, apply)?;
            check_unique_values_of_new_calls(tx, partition, schema, inserts)?;
            NewRows::gather(partition, schema, inserts)?.insert(tx, partition)?;
            Ok(updated)
        })
    }

    fn get_records(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<Vec<Record>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|db| {
            let rows = db.query(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM calls c WHERE c.portal = $1 AND c.id = ANY($2)"
                ),
                &[&partition.key(), &ids_param(ids)],
            )?;
            calls_from_rows(rows)
        })
    }

    fn list_records(
        &self,
        partition: Partition,
        archived: bool,
        from_id: RecordId,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.read(|db| {
            let rows = db.query(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM calls c
                     WHERE c.portal = $1 AND c.archived = $2 AND c.id >= $3
                     ORDER BY c.id LIMIT $4"
                ),
                &[
                    &partition.key(),
                    &archived,
                    &(from_id.min(i64::MAX as u64) as i64),
                    &(limit.min(i64::MAX as usize) as i64),
                ],
            )?;
            calls_from_rows(rows)
        })
    }

    fn archive_records(
        &self,
        partition: Partition,
        ids: &[RecordId],
        at: i64,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let archived = tx.query(
                "UPDATE calls SET archived = TRUE, archived_at = $1
                 WHERE id = ANY($2) AND portal = $3 AND NOT archived RETURNING id",
                &[&at, &ids_param(ids), &partition.key()],
            )?;
            let archived: Vec<i64> = archived
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
            // Archived calls are never searched: drop their index rows.
            tx.execute(
                "DELETE FROM call_values WHERE call_id = ANY($1)",
                &[&archived],
            )?;
            Ok(())
        })
    }

    fn purge_records(&self, partition: Partition, ids: &[RecordId]) -> Result<(), StoreError> {
        self.write(|tx| {
            let deleted = tx.query(
                "DELETE FROM calls WHERE id = ANY($1) AND portal = $2 RETURNING id",
                &[&ids_param(ids), &partition.key()],
            )?;
            for row in &deleted {
                let id = row.try_get::<_, i64>(0)? as RecordId;
                delete_call_rows(tx, id)?;
                // The rows other records of the type keep with it: its rows' mirrors.
                tx.execute(
                    "DELETE FROM call_associations WHERE portal = $1 AND kind = $2 AND to_id = $3",
                    &[
                        &partition.key(),
                        &partition.object_type.singular,
                        &(id as i64),
                    ],
                )?;
            }
            Ok(())
        })
    }

    fn history(
        &self,
        partition: Partition,
        ids: &[RecordId],
        names: &[String],
    ) -> Result<Vec<(RecordId, String, HistoryEntry)>, StoreError> {
        self.read_history(partition, ids, names)
    }

    fn find_by_value(
        &self,
        partition: Partition,
        name: &str,
        value: &str,
    ) -> Result<Vec<RecordId>, StoreError> {
        // The same equality the unique-value check uses: numbers by value, text folded (or
        // exact, for case-sensitive types, which the index keeps unfolded).
        let folded = value.to_lowercase();
        let number = value.trim().parse::<f64>().ok().filter(|n| n.is_finite());
        self.read(|db| {
            let rows = db.query(
                "SELECT v.call_id FROM call_values v
                 WHERE v.portal = $1 AND v.name = $2 AND v.text IN ($3, $4) AND v.number IS NULL
                 UNION
                 SELECT v.call_id FROM call_values v
                 WHERE v.portal = $1 AND v.name = $2 AND v.number = $5
                 ORDER BY 1",
                &[&partition.key(), &name, &value, &folded, &number],
            )?;
            rows.iter()
                .map(|row| Ok(row.try_get::<_, i64>(0)? as RecordId))
                .collect()
        })
    }

    fn restore_records(
        &self,
        partition: Partition,
        schema: &PropertyCatalogue,
        calls: &[RestoredRecord],
    ) -> Result<(), StoreError> {
        if calls.is_empty() {
            return Ok(());
        }
        let restored_ids: Vec<i64> = calls.iter().map(|r| r.call.id as i64).collect();
        self.write(|tx| {
            for restored in calls {
                let call = &restored.call;
                let id = call.id as i64;
                let owner = tx
                    .query_opt("SELECT portal FROM calls WHERE id = $1 FOR UPDATE", &[&id])?
                    .map(|row| row.try_get::<_, i64>(0))
                    .transpose()?;
                if restore_replaces(owner, partition, call.id)? {
                    tx.execute("DELETE FROM calls WHERE id = $1", &[&id])?;
                    delete_call_rows(tx, call.id)?;
                }
                tx.execute(
                    "INSERT INTO calls (id, portal, archived, created_at, updated_at, archived_at, properties)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[
                        &id,
                        &partition.key(),
                        &call.is_archived(),
                        &call.created_at,
                        &call.updated_at,
                        &call.archived_at,
                        &Json(&call.properties),
                    ],
                )?;
                // Archived calls are never searched, so only live ones are indexed.
                if !call.is_archived() {
                    for (name, value) in &call.properties {
                        let current = PropertyChange {
                            name: name.clone(),
                            value: Some(value.clone()),
                            entry: HistoryEntry {
                                value: value.clone(),
                                timestamp: call.updated_at,
                                source: WriteSource {
                                    source_type: String::new(),
                                    source_id: None,
                                },
                            },
                        };
                        index_change(tx, partition, schema, call.id, &current)?;
                    }
                }
                // One history row per entry, oldest first, so reads see them newest first.
                for entry in &restored.history {
                    record_history(tx, call.id, std::slice::from_ref(entry))?;
                }
                for association in &restored.associations {
                    insert_association(tx, partition, association)?;
                }
            }
            // Ids handed out later must be above every restored one, on every server; but
            // only ids in the sequence's own range count: those of another shard's range (a
            // portal moved here) must not drag it into that shard's ids.
            tx.execute(
                "SELECT setval('call_ids', GREATEST(s.last_value, h.high))
                 FROM call_ids s,
                      (SELECT max(id) AS high FROM unnest($1::BIGINT[]) AS id, pg_sequence p
                       WHERE p.seqrelid = 'call_ids'::regclass
                       AND id BETWEEN p.seqmin AND p.seqmax) h
                 WHERE h.high IS NOT NULL",
                &[&restored_ids],
            )?;
            Ok(())
        })
    }

    fn search(&self, partition: Partition, plan: &SearchPlan) -> Result<SearchHits, StoreError> {
        // One snapshot for the total and the page, so they agree.
        self.read(|db| {
            db.in_snapshot(|tx| {
                let total = count_of(tx, &search::count_query(partition, plan))?;
                if total == 0 || plan.limit == 0 || plan.offset >= total {
                    return Ok(SearchHits {
                        total,
                        calls: Vec::new(),
                    });
                }
                let page =
                    search::page_query(partition, plan, RECORD_COLUMNS, plan.limit, plan.offset);
                let mut calls =
                    calls_from_rows(tx.query_once(page.text.as_str(), &page.params())?)?;
                if let SortKey::Property {
                    name, descending, ..
                } = &plan.sort
                {
                    // Matches without the sort value come last: read them only when the
                    // page reaches past those with it.
                    if calls.len() < plan.limit && plan.offset + calls.len() < total {
                        let valued =
                            count_of(tx, &search::valued_count_query(partition, plan, name))?;
                        let rest = search::unvalued_page_query(
                            partition,
                            plan,
                            RECORD_COLUMNS,
                            name,
                            *descending,
                            plan.limit - calls.len(),
                            plan.offset.saturating_sub(valued),
                        );
                        calls.extend(calls_from_rows(
                            tx.query_once(rest.text.as_str(), &rest.params())?,
                        )?);
                    }
                }
                Ok(SearchHits { total, calls })
            })
        })
    }
}
