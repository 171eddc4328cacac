//! Keeping the in-memory search index in step with the rows outside the write path: built
//! (or read from its snapshot) at start-up, saved at a clean shutdown, re-typed when a
//! property changes type.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use rusqlite::{params, Connection, OpenFlags};

use crate::crm::error::StoreError;
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::properties::{PropertyCatalogue, PropertyDefinition};
use crate::crm::record::RecordId;
use crate::crm::search::{FilterTarget, SearchPlan, SortKey};

use super::ddl::committed_writes;
use super::index::{snapshot as index_snapshot, Entry, IndexOp, SearchIndex};
use super::{
    json_column, lock, read_index, store_error, write_index, Engine, IndexState, SqliteStore,
};

impl SqliteStore {
    /// Builds the search index from the rows on a thread of its own. Nothing writes until
    /// it is done (writers wait in `wait_for_index`), so it reads a stable state.
    pub(super) fn start_index_build(&self) -> Result<(), StoreError> {
        let Some(pool) = &self.engine.readers else {
            return Ok(());
        };
        let conn = Connection::open_with_flags(
            &pool.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(store_error)?;
        let index = Arc::clone(&self.engine.index);
        let state = Arc::clone(&self.engine.index_state);
        let seen_writes = Arc::clone(&self.engine.seen_writes);
        let snapshot_path = snapshot_path(&pool.path);
        let finish = move |outcome: IndexState| {
            let (lock_state, ready) = &*state;
            *lock(lock_state) = outcome;
            ready.notify_all();
        };
        let spawned = std::thread::Builder::new()
            .name("hubcalls-index".to_owned())
            .spawn(move || {
                let started = Instant::now();
                match load_or_build_index(&conn, &snapshot_path) {
                    Ok((built, writes, source)) => {
                        *write_index(&index) = built;
                        seen_writes.store(writes, Ordering::SeqCst);
                        tracing::info!(
                            seconds = started.elapsed().as_secs_f64(),
                            from = source,
                            "search index ready"
                        );
                        finish(IndexState::Ready);
                    }
                    Err(error) => {
                        tracing::error!(%error, "building the search index failed");
                        finish(IndexState::Failed(error.to_string()));
                    }
                }
            });
        spawned.map(|_| ()).map_err(|error| {
            StoreError::Unavailable(format!("cannot start the index build: {error}"))
        })
    }

    /// Waits until the search index is built (at once after start-up).
    pub fn wait_for_index(&self) -> Result<(), StoreError> {
        let (state, ready) = &*self.engine.index_state;
        let mut current = lock(state);
        loop {
            match &*current {
                IndexState::Ready => return Ok(()),
                IndexState::Failed(reason) => {
                    return Err(StoreError::Unavailable(format!(
                        "the search index could not be built: {reason}"
                    )))
                }
                IndexState::Building => {
                    current = ready.wait(current).unwrap_or_else(|e| e.into_inner());
                }
            }
        }
    }

    /// Approximate heap bytes of the in-memory search index (for the performance notes).
    pub fn index_heap_bytes(&self) -> usize {
        let _ = self.wait_for_index();
        read_index(&self.engine.index).heap_bytes()
    }

    /// Re-types a property's index entries when its definition's type no longer matches
    /// the one they were computed with (a property redefined with another type).
    pub(super) fn retype_if_needed(
        &self,
        partition: Partition,
        plan: &SearchPlan,
    ) -> Result<(), StoreError> {
        let mut typed: Vec<(&str, crate::crm::properties::PropertyType)> = plan
            .groups
            .iter()
            .flatten()
            .filter_map(|filter| match &filter.target {
                FilterTarget::Property {
                    name,
                    property_type,
                } => Some((name.as_str(), *property_type)),
                FilterTarget::Association(_) => None,
            })
            .collect();
        if let SortKey::Property {
            name,
            property_type,
            ..
        } = &plan.sort
        {
            typed.push((name, *property_type));
        }
        let stale: Vec<_> = {
            let index = read_index(&self.engine.index);
            let Some(partition_index) = index.partition(partition) else {
                return Ok(());
            };
            typed
                .into_iter()
                .filter(|(name, property_type)| {
                    partition_index
                        .property_type(name)
                        .is_some_and(|indexed| indexed != *property_type)
                })
                .collect()
        };
        for (name, property_type) in stale {
            let path = format!("$.\"{name}\"");
            let memory_writer = self
                .engine
                .readers
                .is_none()
                .then(|| lock(&self.engine.writer));
            let mut index = write_index(&self.engine.index);
            let select = |conn: &Connection| -> rusqlite::Result<Vec<(RecordId, String)>> {
                let mut statement = conn.prepare(
                    "SELECT id, json_extract(properties, ?1) FROM calls
                     WHERE portal = ?2 AND archived = 0 AND json_type(properties, ?1) IS NOT NULL",
                )?;
                let rows = statement.query_map(params![path, partition.key()], |row| {
                    Ok((row.get::<_, i64>(0)? as RecordId, row.get(1)?))
                })?;
                rows.collect()
            };
            let values = match &memory_writer {
                Some(writer) => select(&writer.conn)?,
                None => self.read(select)?,
            };
            index
                .partition_mut(partition)
                .reindex_property(name, property_type, &values);
        }
        Ok(())
    }
}

/// Where the search index is saved: next to the database file.
fn snapshot_path(database: &Path) -> PathBuf {
    database.with_extension("index")
}

/// The search index at start-up: the saved one if it matches the rows (see
/// `index::snapshot`), else built from the rows. Returns it with the count of writes it
/// reflects and where it came from.
fn load_or_build_index(
    conn: &Connection,
    snapshot: &Path,
) -> Result<(SearchIndex, i64, &'static str), StoreError> {
    // One read transaction: the count and the rows are of the same moment.
    conn.execute_batch("BEGIN")?;
    let writes = committed_writes(conn)?;
    let loaded = match index_snapshot::load(snapshot, writes) {
        Ok(loaded) => loaded,
        Err(error) => {
            tracing::warn!(%error, "the saved search index is unreadable; rebuilding it");
            None
        }
    };
    let outcome = match loaded {
        Some(index) => (index, writes, "saved index"),
        None => (build_index(conn)?, writes, "rows"),
    };
    conn.execute_batch("COMMIT")?;
    Ok(outcome)
}

/// Builds the search index from the stored rows (at start-up), typing each partition's
/// values by its schema: its type's built-in properties and the portal's own live
/// definitions for that type.
pub(super) fn build_index(conn: &Connection) -> Result<SearchIndex, StoreError> {
    let mut custom: HashMap<Partition, Vec<PropertyDefinition>> = HashMap::new();
    {
        let mut statement = conn.prepare(
            "SELECT portal, definition FROM property_definitions WHERE archived_at IS NULL",
        )?;
        let rows = statement.query_map([], |row| Ok((row.get(0)?, json_column(row, 1)?)))?;
        for row in rows {
            let (key, definition): (i64, PropertyDefinition) = row?;
            if let Some(partition) = Partition::from_key(key) {
                custom.entry(partition).or_default().push(definition);
            }
        }
    }
    let schemas: HashMap<Partition, PropertyCatalogue> = custom
        .into_iter()
        .map(|(partition, definitions)| {
            let all = partition
                .object_type
                .catalogue()
                .iter()
                .map(|def| def.as_ref().clone())
                .chain(definitions);
            (partition, PropertyCatalogue::from_definitions(all))
        })
        .collect();
    let mut index = SearchIndex::default();
    let mut statement = conn.prepare(
        "SELECT id, portal, created_at, properties FROM calls WHERE archived = 0 ORDER BY id",
    )?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let Some(partition) = Partition::from_key(row.get(1)?) else {
            continue;
        };
        let properties: BTreeMap<String, String> = json_column(row, 3)?;
        let schema = schemas
            .get(&partition)
            .unwrap_or_else(|| partition.object_type.catalogue());
        index.apply(IndexOp::Record {
            partition,
            id: id as RecordId,
            before_created: None,
            after_created: Some(row.get(2)?),
            remove: Vec::new(),
            add: entries(schema, &properties),
        });
    }
    let mut statement =
        conn.prepare("SELECT call_id, kind, to_id, type_id, portal FROM call_associations")?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let kind: String = row.get(1)?;
        let Some(kind) = ObjectType::parse(&kind) else {
            continue;
        };
        let call_id: i64 = row.get(0)?;
        let to_id: i64 = row.get(2)?;
        let Some(partition) = Partition::from_key(row.get(4)?) else {
            continue;
        };
        index.apply(IndexOp::AddAssociation {
            partition,
            call_id: call_id as RecordId,
            kind,
            to_id: to_id as u64,
            type_id: row.get(3)?,
        });
    }
    Ok(index)
}

/// The values of `properties` that search can see: those of properties the schema defines,
/// typed by it.
pub(super) fn entries<'a>(
    schema: &PropertyCatalogue,
    properties: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Vec<Entry> {
    properties
        .into_iter()
        .filter_map(|(name, raw)| {
            schema
                .get(name)
                .map(|def| Entry::new(name, def.property_type, raw))
        })
        .collect()
}

/// What changes in the index when a live call's properties go from `old` to `new`.
pub(super) fn diff(
    schema: &PropertyCatalogue,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> (Vec<(String, String)>, Vec<Entry>) {
    let remove = old
        .iter()
        .filter(|(name, raw)| new.get(*name) != Some(*raw))
        .map(|(name, raw)| (name.clone(), raw.clone()))
        .collect();
    let add = entries(
        schema,
        new.iter()
            .filter(|(name, raw)| old.get(*name) != Some(*raw)),
    );
    (remove, add)
}

impl Engine {
    /// Saves the search index next to the database, so the next start-up reads it instead
    /// of rebuilding it from every row. Skipped when the index is not built, or when
    /// another process wrote since this store's index last saw the rows.
    pub(super) fn save_index_snapshot(&self) {
        let Some(pool) = &self.readers else { return };
        if *lock(&self.index_state.0) != IndexState::Ready {
            return;
        }
        let mut writer = lock(&self.writer);
        writer.abandon_open_batch();
        let writes = match committed_writes(&writer.conn) {
            Ok(writes) if writes == self.seen_writes.load(Ordering::SeqCst) => writes,
            Ok(_) => {
                tracing::info!("not saving the search index: another process wrote since");
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "not saving the search index");
                return;
            }
        };
        let started = Instant::now();
        let path = snapshot_path(&pool.path);
        match index_snapshot::save(&read_index(&self.index), &path, writes) {
            Ok(()) => tracing::info!(
                seconds = started.elapsed().as_secs_f64(),
                "search index saved"
            ),
            Err(error) => {
                tracing::warn!(%error, "saving the search index failed");
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}
