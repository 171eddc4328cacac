//! Records: the `calls` rows of every partition, their writes (with unique-value checks
//! against the index) and reads, archive, purge, restore and search.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::LazyLock;

use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use crate::crm::error::StoreError;
use crate::crm::history::{HistoryEntry, PropertyChange};
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::ports::{NewRecord, RecordMutation, RecordStore, RestoredRecord};
use crate::crm::properties::PropertyCatalogue;
use crate::crm::record::{Projection, Record, RecordId};
use crate::crm::search::{SearchHits, SearchPlan};
use crate::crm::time::EpochMillis;
use crate::store::rows::{
    properties_json, record_from_columns, restore_replaces, restored_high_water, RECORD_COLUMNS,
};

use super::associations::{associate, forget_mirrors};
use super::group_commit::Tx;
use super::history::record_history;
use super::index::{Entry, IndexOp, Key};
use super::indexing::{diff, entries};
use super::{json_column, lock, placeholders, properties_column, read_index, SqliteStore};

/// A record from a row of [`RECORD_COLUMNS`].
fn call_from_row(row: &Row<'_>) -> rusqlite::Result<Record> {
    projected_call_from_row(row, &Projection::All)
}

/// A record from a row of [`RECORD_COLUMNS`], with the `projection`'s properties.
fn projected_call_from_row(row: &Row<'_>, projection: &Projection<'_>) -> rusqlite::Result<Record> {
    Ok(record_from_columns(
        row.get(0)?,
        properties_column(row, 1, projection)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

/// Keeps `meta.id_high_water` at or above `id`, so ids allocated after a restart are above
/// every id handed out or restored, even when the record that had it is gone.
fn raise_high_water(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('id_high_water', ?1)
         ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
    )?
    .execute(params![id])?;
    Ok(())
}

/// Fails with `UniqueViolation` when one of `values` (name, value) of call `call_id` is a
/// unique-value property's value held by another live call: in the committed index, as
/// the batch's queued changes (this request's included) leave it. Compared as search
/// compares: numbers by value, text folded or exact by type.
fn check_unique<'a>(
    tx: &Tx<'_>,
    partition: Partition,
    schema: &PropertyCatalogue,
    call_id: RecordId,
    values: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Result<(), StoreError> {
    for (name, value) in values {
        let Some(def) = schema
            .get(name)
            .filter(|def| partition.object_type.is_unique(def))
        else {
            continue;
        };
        let key = Entry::new(name, def.property_type, value).key().clone();
        let mut holders: std::collections::BTreeSet<RecordId> = read_index(tx.index)
            .partition(partition)
            .map(|index| index.holders(name, &key))
            .unwrap_or_default()
            .into_iter()
            .collect();
        for op in tx.pending.iter() {
            match op {
                IndexOp::Record {
                    partition: p,
                    id,
                    after_created,
                    remove,
                    add,
                    ..
                } if *p == partition => {
                    if after_created.is_none() || remove.iter().any(|(n, _)| n == name) {
                        holders.remove(id);
                    }
                    if after_created.is_some()
                        && add.iter().any(|e| &e.name == name && e.key() == &key)
                    {
                        holders.insert(*id);
                    }
                }
                IndexOp::DropProperty {
                    partition: p,
                    name: n,
                } if *p == partition && n == name => {
                    holders.clear();
                }
                IndexOp::ResetPortal(p) if *p == partition.portal => holders.clear(),
                _ => {}
            }
        }
        holders.remove(&call_id);
        if let Some(existing) = holders.first() {
            return Err(StoreError::UniqueViolation {
                property: name.clone(),
                value: value.clone(),
                call_id,
                existing: *existing,
            });
        }
    }
    Ok(())
}

/// The values a write sets: what unique-value checks look at.
fn set_values(changes: &[PropertyChange]) -> impl Iterator<Item = (&String, &String)> {
    changes
        .iter()
        .filter_map(|change| change.value.as_ref().map(|value| (&change.name, value)))
}

/// Inserts new calls inside a write transaction.
fn insert_in(
    tx: &mut Tx<'_>,
    partition: Partition,
    schema: &PropertyCatalogue,
    calls: &[NewRecord],
) -> Result<(), StoreError> {
    if calls.is_empty() {
        return Ok(());
    }
    let conn = tx.conn;
    let mut insert = conn.prepare_cached(
        "INSERT INTO calls (id, portal, archived, created_at, updated_at, archived_at, properties) VALUES (?1, ?2, 0, ?3, ?4, NULL, ?5)",
    )?;
    let mut high_water = 0;
    for new in calls {
        let call = &new.call;
        check_unique(tx, partition, schema, call.id, set_values(&new.changes))?;
        insert.execute(params![
            call.id as i64,
            partition.key(),
            call.created_at,
            call.updated_at,
            properties_json(call)
        ])?;
        tx.pending.push(IndexOp::Record {
            partition,
            id: call.id,
            before_created: None,
            after_created: Some(call.created_at),
            remove: Vec::new(),
            add: entries(schema, &call.properties),
        });
        record_history(conn, call.id, &new.changes)?;
        for association in &new.associations {
            associate(tx, partition, association)?;
        }
        high_water = high_water.max(call.id as i64);
    }
    raise_high_water(conn, high_water)?;
    Ok(())
}

/// Applies `apply` to each live call of `ids` inside a write transaction.
fn update_in(
    tx: &mut Tx<'_>,
    partition: Partition,
    schema: &PropertyCatalogue,
    ids: &[RecordId],
    apply: &mut RecordMutation<'_>,
) -> Result<Vec<Option<Record>>, StoreError> {
    let conn = tx.conn;
    let mut results = Vec::with_capacity(ids.len());
    for (at, id) in ids.iter().enumerate() {
        let current = conn
            .prepare_cached(&format!(
                "SELECT {RECORD_COLUMNS} FROM calls c WHERE c.id = ?1 AND c.portal = ?2 AND c.archived = 0"
            ))?
            .query_row(params![*id as i64, partition.key()], call_from_row)
            .optional()?;
        let Some(mut call) = current else {
            results.push(None);
            continue;
        };
        let before = call.properties.clone();
        let changes = apply(at, &mut call);
        check_unique(tx, partition, schema, call.id, set_values(&changes))?;
        conn.prepare_cached("UPDATE calls SET properties = ?1, updated_at = ?2 WHERE id = ?3")?
            .execute(params![
                properties_json(&call),
                call.updated_at,
                call.id as i64
            ])?;
        let (remove, add) = diff(schema, &before, &call.properties);
        tx.pending.push(IndexOp::Record {
            partition,
            id: call.id,
            before_created: Some(call.created_at),
            after_created: Some(call.created_at),
            remove,
            add,
        });
        record_history(conn, call.id, &changes)?;
        results.push(Some(call));
    }
    Ok(results)
}

/// A call row as the index needs it: archived or not, created when, and its values.
type IndexedState = (bool, i64, BTreeMap<String, String>);

fn indexed_state(conn: &Connection, id: RecordId) -> rusqlite::Result<Option<IndexedState>> {
    conn.prepare_cached("SELECT archived, created_at, properties FROM calls WHERE id = ?1")?
        .query_row(params![id as i64], |row| {
            Ok((row.get::<_, bool>(0)?, row.get(1)?, json_column(row, 2)?))
        })
        .optional()
}

/// Removes a call's row and what hangs off it (history, associations), and queues its
/// removal from the index.
fn delete_call(tx: &mut Tx<'_>, partition: Partition, id: RecordId) -> Result<(), StoreError> {
    let conn = tx.conn;
    let Some((archived, created, properties)) = indexed_state(conn, id)? else {
        return Ok(());
    };
    let pairs: Vec<(String, i64)> = conn
        .prepare_cached("SELECT kind, to_id FROM call_associations WHERE call_id = ?1")?
        .query_map(params![id as i64], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (kind, to_id) in pairs {
        if let Some(kind) = ObjectType::parse(&kind) {
            tx.pending.push(IndexOp::RemoveAssociation {
                partition,
                call_id: id,
                kind,
                to_id: to_id as u64,
                type_id: None,
            });
        }
    }
    tx.pending.push(IndexOp::Record {
        partition,
        id,
        before_created: (!archived).then_some(created),
        after_created: None,
        remove: properties.into_iter().collect(),
        add: Vec::new(),
    });
    for table in ["calls", "call_history", "call_associations"] {
        let column = if table == "calls" { "id" } else { "call_id" };
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE {column} = ?1"))?
            .execute(params![id as i64])?;
    }
    Ok(())
}

/// The calls of `ids` in the portal, in any order, with the `projection`'s properties.
/// The query [`fetch_calls`] runs for `count` ids. `+c.portal` keeps the planner on
/// primary-key lookups: with the portal index it would walk every call of the portal to
/// find a page of 100.
fn fetch_calls_sql(count: usize) -> String {
    format!(
        "SELECT {RECORD_COLUMNS} FROM calls c WHERE +c.portal = ? AND c.id IN ({})",
        placeholders(count)
    )
}

/// [`fetch_calls_sql`] for one id, written once: a GET reads one call, and formatting the
/// text per read cost ~0.8k of a GET's instructions (callgrind, issue 15).
static FETCH_ONE_CALL: LazyLock<String> = LazyLock::new(|| fetch_calls_sql(1));

fn fetch_calls(
    conn: &Connection,
    partition: Partition,
    ids: &[RecordId],
    projection: &Projection<'_>,
) -> rusqlite::Result<Vec<Record>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut statement = if ids.len() == 1 {
        conn.prepare_cached(&FETCH_ONE_CALL)?
    } else {
        conn.prepare_cached(&fetch_calls_sql(ids.len()))?
    };
    let params = std::iter::once(partition.key()).chain(ids.iter().map(|id| *id as i64));
    let rows = statement.query_map(params_from_iter(params), |row| {
        projected_call_from_row(row, projection)
    })?;
    rows.collect()
}

impl RecordStore for SqliteStore {
    fn allocate_ids(
        &self,
        _partition: Partition,
        count: usize,
    ) -> Result<Vec<RecordId>, StoreError> {
        let first = self
            .engine
            .next_id
            .fetch_add(count as u64, Ordering::SeqCst);
        Ok((first..first + count as u64).collect())
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
        self.write(|tx| {
            let updated = update_in(tx, partition, schema, update_ids, apply)?;
            insert_in(tx, partition, schema, inserts)?;
            Ok(updated)
        })
    }

    fn get_records(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<Vec<Record>, StoreError> {
        self.get_records_projected(partition, ids, &Projection::All)
    }

    fn get_records_projected(
        &self,
        partition: Partition,
        ids: &[RecordId],
        projection: &Projection<'_>,
    ) -> Result<Vec<Record>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|conn| fetch_calls(conn, partition, ids, projection))
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
        self.read(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {RECORD_COLUMNS} FROM calls c
                 WHERE c.portal = ?1 AND c.archived = ?2 AND c.id >= ?3
                 ORDER BY c.id LIMIT ?4"
            ))?;
            let rows = statement.query_map(
                params![
                    partition.key(),
                    archived,
                    from_id.min(i64::MAX as u64) as i64,
                    limit as i64
                ],
                |row| projected_call_from_row(row, projection),
            )?;
            rows.collect()
        })
    }

    fn archive_records(
        &self,
        partition: Partition,
        ids: &[RecordId],
        at: EpochMillis,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            for id in ids {
                let Some((archived, created, properties)) = indexed_state(tx, *id)? else {
                    continue;
                };
                let changed = tx
                    .prepare_cached(
                        "UPDATE calls SET archived = 1, archived_at = ?1
                         WHERE id = ?2 AND portal = ?3 AND archived = 0",
                    )?
                    .execute(params![at, *id as i64, partition.key()])?;
                if changed > 0 && !archived {
                    // Archived calls are never searched: they leave the index whole.
                    tx.pending.push(IndexOp::Record {
                        partition,
                        id: *id,
                        before_created: Some(created),
                        after_created: None,
                        remove: properties.into_iter().collect(),
                        add: Vec::new(),
                    });
                }
            }
            Ok(())
        })
    }

    fn purge_records(&self, partition: Partition, ids: &[RecordId]) -> Result<(), StoreError> {
        self.write(|tx| {
            for id in ids {
                let owner: Option<i64> = tx
                    .prepare_cached("SELECT portal FROM calls WHERE id = ?1")?
                    .query_row(params![*id as i64], |r| r.get(0))
                    .optional()?;
                if owner == Some(partition.key()) {
                    delete_call(tx, partition, *id)?;
                    forget_mirrors(tx, partition, *id)?;
                }
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
        let mut keys = vec![
            Key::Text(value.into()),
            Key::Text(value.to_lowercase().into()),
        ];
        // A value that is no number matches nothing numeric.
        if let Some(number) = value.trim().parse::<f64>().ok().filter(|n| !n.is_nan()) {
            keys.push(Key::Num(if number == 0.0 { 0.0 } else { number }));
        }
        self.wait_for_index()?;
        let index = read_index(&self.engine.index);
        let Some(index) = index.partition(partition) else {
            return Ok(Vec::new());
        };
        let mut ids: Vec<RecordId> = keys
            .iter()
            .flat_map(|key| index.holders(name, key))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
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
        let high_water = restored_high_water(calls);
        self.write(|tx| {
            for restored in calls {
                let call = &restored.call;
                let id = call.id as i64;
                let owner: Option<i64> = tx
                    .prepare_cached("SELECT portal FROM calls WHERE id = ?1")?
                    .query_row(params![id], |r| r.get(0))
                    .optional()?;
                if restore_replaces(owner, partition, call.id)? {
                    delete_call(tx, partition, call.id)?;
                }
                tx.prepare_cached(
                    "INSERT INTO calls (id, portal, archived, created_at, updated_at, archived_at, properties) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    id,
                    partition.key(),
                    call.is_archived(),
                    call.created_at,
                    call.updated_at,
                    call.archived_at,
                    properties_json(call)
                ])?;
                // Archived calls are never searched, so only live ones are indexed.
                if !call.is_archived() {
                    check_unique(tx, partition, schema, call.id, &call.properties)?;
                    tx.pending.push(IndexOp::Record {
                        partition,
                        id: call.id,
                        before_created: None,
                        after_created: Some(call.created_at),
                        remove: Vec::new(),
                        add: entries(schema, &call.properties),
                    });
                }
                // One history row per entry, oldest first, so reads see them newest first.
                for entry in &restored.history {
                    record_history(tx, call.id, std::slice::from_ref(entry))?;
                }
                for association in &restored.associations {
                    associate(tx, partition, association)?;
                }
            }
            raise_high_water(tx, high_water as i64)?;
            Ok(())
        })?;
        self.engine
            .next_id
            .fetch_max(high_water + 1, Ordering::SeqCst);
        Ok(())
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
        self.wait_for_index()?;
        self.retype_if_needed(partition, plan)?;
        // In memory the only connection is the writer's: take it before the index, in the
        // order writers take them.
        let memory_writer = self
            .engine
            .readers
            .is_none()
            .then(|| lock(&self.engine.writer));
        // Held while the page's rows are read, so no commit lands between index and rows.
        let index = read_index(&self.engine.index);
        let Some(partition_index) = index.partition(partition) else {
            return Ok(SearchHits {
                total: 0,
                calls: Vec::new(),
            });
        };
        let page = partition_index.search(plan, self.scan_budget);
        let calls = match &memory_writer {
            Some(writer) => fetch_calls(&writer.conn, partition, &page.ids, projection)?,
            None => self.read(|conn| fetch_calls(conn, partition, &page.ids, projection))?,
        };
        let mut by_id: HashMap<RecordId, Record> = calls.into_iter().map(|c| (c.id, c)).collect();
        let calls = page.ids.iter().filter_map(|id| by_id.remove(id)).collect();
        Ok(SearchHits {
            total: page.total,
            calls,
        })
    }
}
