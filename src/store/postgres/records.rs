//! Records: the `calls` rows of every partition, written set-wise, with their index rows
//! (`values`) and history; reads, archive, purge, restore and search.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use postgres::types::Json;
use postgres::Row;

use crate::crm::error::StoreError;
use crate::crm::history::{HistoryEntry, PropertyChange};
use crate::crm::objects::Partition;
use crate::crm::ports::{NewRecord, RecordMutation, RecordStore, RestoredRecord};
use crate::crm::properties::PropertyCatalogue;
use crate::crm::record::{Projection, Record, RecordId, WriteSource};
use crate::crm::search::{SearchHits, SearchPlan, SortKey};
use crate::store::rows::{record_from_columns, restore_replaces, RECORD_COLUMNS};

use super::associations::insert_association;
use super::history::record_history;
use super::inserts::NewRows;
use super::updates::update_locked;
use super::values::{
    check_unique_values_of_new_calls, index_change, new_calls_write_unique_values,
};
use super::{ids_param, search, PostgresStore, Tx};

/// The records of a partition by id (`$2`), archived or not: [`RECORD_COLUMNS`]. Run by
/// the pool's connections and by the awaited reads' (`async_reads`).
pub(super) static GET_RECORDS: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {RECORD_COLUMNS} FROM calls c WHERE c.portal = $1 AND c.id = ANY($2)")
});

/// A record from a row of [`RECORD_COLUMNS`].
pub(super) fn call_from_row(row: &Row) -> Result<Record, StoreError> {
    projected_call_from_row(row, &Projection::All)
}

pub(super) fn calls_from_rows(rows: Vec<Row>) -> Result<Vec<Record>, StoreError> {
    rows.iter().map(call_from_row).collect()
}

/// The columns of [`RECORD_COLUMNS`] with, for a projection, an array of the named
/// properties' values (`$names`, an array of names; NULL where a record lacks one) in place
/// of the whole `properties` object. Why: turning a call's whole JSON object into text on
/// PostgreSQL's side and parsing it on ours was half of a search page's cost when the page
/// shows 5 of its ~25 properties. `unnest` reads the names in their order, so the values
/// line up with them.
pub(super) fn projected_record_columns(projection: &Projection<'_>, names: &str) -> String {
    match projection {
        Projection::All => RECORD_COLUMNS.to_owned(),
        Projection::Only(_) => format!(
            "c.id, ARRAY(SELECT c.properties->>name FROM unnest({names}::TEXT[]) AS name), \
             c.created_at, c.updated_at, c.archived_at"
        ),
    }
}

/// The names a projection binds for [`projected_record_columns`].
pub(super) fn projected_names(projection: &Projection<'_>) -> Option<Vec<String>> {
    match projection {
        Projection::All => None,
        Projection::Only(names) => Some(names.iter().map(|name| (*name).to_owned()).collect()),
    }
}

/// A record from a row of [`projected_record_columns`]: the projection's properties only.
pub(super) fn projected_call_from_row(
    row: &Row,
    projection: &Projection<'_>,
) -> Result<Record, StoreError> {
    let properties = match projection {
        Projection::All => {
            let Json(properties): Json<BTreeMap<String, String>> = row.try_get(1)?;
            properties
        }
        Projection::Only(names) => {
            let values: Vec<Option<String>> = row.try_get(1)?;
            names
                .iter()
                .zip(values)
                .filter_map(|(name, value)| Some(((*name).to_owned(), value?)))
                .collect()
        }
    };
    Ok(record_from_columns(
        row.try_get(0)?,
        properties,
        row.try_get(2)?,
        row.try_get(3)?,
        row.try_get(4)?,
    ))
}

pub(super) fn projected_calls_from_rows(
    rows: &[Row],
    projection: &Projection<'_>,
) -> Result<Vec<Record>, StoreError> {
    rows.iter()
        .map(|row| projected_call_from_row(row, projection))
        .collect()
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
                self.autocommit(|db| rows.insert(db, partition))
            })?;
            return Ok(Vec::new());
        }
        if inserts.is_empty() {
            if let Some(results) = self.update_unlocked(partition, schema, update_ids, apply)? {
                return Ok(results);
            }
        }
        self.write(|tx| {
            let updated = update_locked(tx, partition, schema, update_ids, apply)?;
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
            let rows = db.query(&GET_RECORDS, &[&partition.key(), &ids_param(ids)])?;
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
        self.list_records_projected(partition, archived, from_id, limit, &Projection::All)
    }

    fn list_records_projected(
        &self,
        partition: Partition,
        archived: bool,
        from_id: RecordId,
        limit: usize,
        projection: &Projection<'_>,
    ) -> Result<Vec<Record>, StoreError> {
        let columns = projected_record_columns(projection, "$5");
        let names = projected_names(projection);
        self.read(|db| {
            let (portal, from_id, limit) = (
                partition.key(),
                from_id.min(i64::MAX as u64) as i64,
                limit.min(i64::MAX as usize) as i64,
            );
            let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                vec![&portal, &archived, &from_id, &limit];
            if let Some(names) = &names {
                params.push(names);
            }
            let rows = db.query(
                &format!(
                    "SELECT {columns} FROM calls c
                     WHERE c.portal = $1 AND c.archived = $2 AND c.id >= $3
                     ORDER BY c.id LIMIT $4"
                ),
                &params,
            )?;
            projected_calls_from_rows(&rows, projection)
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
        self.search_projected(partition, plan, &Projection::All)
    }

    fn search_projected(
        &self,
        partition: Partition,
        plan: &SearchPlan,
        projection: &Projection<'_>,
    ) -> Result<SearchHits, StoreError> {
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
                let page = search::page_query(partition, plan, projection);
                let rows = tx.query_once(page.text.as_str(), &page.params())?;
                let mut calls = projected_calls_from_rows(&rows, projection)?;
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
                            projection,
                            name,
                            *descending,
                            plan.limit - calls.len(),
                            plan.offset.saturating_sub(valued),
                        );
                        let rows = tx.query_once(rest.text.as_str(), &rest.params())?;
                        calls.extend(projected_calls_from_rows(&rows, projection)?);
                    }
                }
                Ok(SearchHits { total, calls })
            })
        })
    }
}
