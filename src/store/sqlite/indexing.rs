//! Keeping the in-memory search index in step with the rows outside the write path: built
//! (or read from its snapshot) at start-up, saved at a clean shutdown, re-typed when a
//! property changes type.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{params, params_from_iter, Connection, OpenFlags, Params};

use crate::crm::error::StoreError;
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::properties::{PropertyCatalogue, PropertyDefinition};
use crate::crm::record::RecordId;
use crate::crm::search::{FilterTarget, SearchPlan, SortKey};

use super::ddl::committed_writes;
use super::index::{snapshot as index_snapshot, Entry, IndexOp, SearchIndex};
use super::index_journal::{self, JournalEvent};
use super::{
    json_column, lock, placeholders, read_index, store_error, write_index, Engine, IndexState,
    SqliteStore,
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
        let origin = Arc::clone(&self.engine.index_origin);
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
                            from = ?source,
                            "search index ready"
                        );
                        *lock(&origin) = Some(source);
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

    /// Where the search index came from at start-up, once it is ready (`None` in memory).
    pub fn index_origin(&self) -> Option<IndexOrigin> {
        let _ = self.wait_for_index();
        *lock(&self.engine.index_origin)
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

/// Where a file store's search index came from at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexOrigin {
    /// Built from every row (no usable saved index).
    Rows,
    /// Read from the saved index, and the records the journal names re-indexed.
    Saved { replayed: usize },
}

/// The search index at start-up: the saved one brought up to date with the journal (see
/// `index_journal`) when it can be, else built from the rows. Returns it with the count of
/// writes it reflects and where it came from.
fn load_or_build_index(
    conn: &Connection,
    snapshot: &Path,
) -> Result<(SearchIndex, i64, IndexOrigin), StoreError> {
    // One read transaction: the count, the journal and the rows are of the same moment.
    conn.execute_batch("BEGIN")?;
    let writes = committed_writes(conn)?;
    let journal_from = index_journal::journal_from(conn)?;
    let loaded = match index_snapshot::load(snapshot) {
        Ok(loaded) => loaded,
        Err(error) => {
            tracing::warn!(%error, "the saved search index is unreadable; rebuilding it");
            None
        }
    };
    let outcome = match loaded {
        // Saved before writes the journal no longer names (or after writes the rows do not
        // have: a database restored from an older copy) it cannot be brought up to date.
        Some((mut index, saved_at)) if (journal_from..=writes).contains(&saved_at) => {
            let replayed = bring_up_to_date(conn, &mut index, saved_at)?;
            (index, writes, IndexOrigin::Saved { replayed })
        }
        _ => (build_index(conn)?, writes, IndexOrigin::Rows),
    };
    conn.execute_batch("COMMIT")?;
    Ok(outcome)
}

/// Re-indexes, from their rows, the records the journal names after `saved_at`, after
/// replaying the portal resets and dropped properties; answers how many records it did.
fn bring_up_to_date(
    conn: &Connection,
    index: &mut SearchIndex,
    saved_at: i64,
) -> Result<usize, StoreError> {
    let changes = index_journal::changes_since(conn, saved_at)?;
    for event in changes.events {
        index.apply(match event {
            JournalEvent::ResetPortal(portal) => IndexOp::ResetPortal(portal),
            JournalEvent::DropProperty { partition, name } => {
                IndexOp::DropProperty { partition, name }
            }
        });
    }
    if changes.records.is_empty() {
        return Ok(0);
    }
    let started = Instant::now();
    index.forget(&changes.records);
    let forgotten = started.elapsed();
    let schemas = schemas(conn)?;
    // SQLite takes at most 32,766 parameters; a few hundred ids a statement is plenty.
    for ids in changes.records.chunks(500) {
        let list = placeholders(ids.len());
        let ids = ids.iter().map(|id| *id as i64);
        index_rows(
            conn,
            index,
            &schemas,
            &format!("{RECORD_ROWS} AND id IN ({list})"),
            params_from_iter(ids.clone()),
        )?;
        index_association_rows(
            conn,
            index,
            &format!("{ASSOCIATION_ROWS} WHERE call_id IN ({list})"),
            params_from_iter(ids),
        )?;
    }
    tracing::info!(
        records = changes.records.len(),
        forget_seconds = forgotten.as_secs_f64(),
        reindex_seconds = (started.elapsed() - forgotten).as_secs_f64(),
        "brought the saved index up to date"
    );
    Ok(changes.records.len())
}

/// Live records with what indexing them takes (`index_rows` reads these columns).
const RECORD_ROWS: &str = "SELECT id, portal, created_at, properties FROM calls WHERE archived = 0";
/// Association rows (`index_association_rows` reads these columns).
const ASSOCIATION_ROWS: &str =
    "SELECT call_id, kind, to_id, type_id, portal FROM call_associations";

/// Builds the search index from the stored rows (at start-up).
pub(super) fn build_index(conn: &Connection) -> Result<SearchIndex, StoreError> {
    let schemas = schemas(conn)?;
    let mut index = SearchIndex::default();
    index_rows(
        conn,
        &mut index,
        &schemas,
        &format!("{RECORD_ROWS} ORDER BY id"),
        [],
    )?;
    index_association_rows(conn, &mut index, ASSOCIATION_ROWS, [])?;
    Ok(index)
}

/// Each partition's schema, for typing its values: its type's built-in properties and the
/// portal's own live definitions for that type (partitions absent here have only the
/// built-in ones).
fn schemas(conn: &Connection) -> Result<HashMap<Partition, PropertyCatalogue>, StoreError> {
    let mut custom: HashMap<Partition, Vec<PropertyDefinition>> = HashMap::new();
    let mut statement = conn
        .prepare("SELECT portal, definition FROM property_definitions WHERE archived_at IS NULL")?;
    let rows = statement.query_map([], |row| Ok((row.get(0)?, json_column(row, 1)?)))?;
    for row in rows {
        let (key, definition): (i64, PropertyDefinition) = row?;
        if let Some(partition) = Partition::from_key(key) {
            custom.entry(partition).or_default().push(definition);
        }
    }
    Ok(custom
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
        .collect())
}

/// Indexes the records `sql` selects (the columns of [`RECORD_ROWS`]).
fn index_rows(
    conn: &Connection,
    index: &mut SearchIndex,
    schemas: &HashMap<Partition, PropertyCatalogue>,
    sql: &str,
    params: impl Params,
) -> Result<(), StoreError> {
    let mut statement = conn.prepare(sql)?;
    let mut rows = statement.query(params)?;
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
    Ok(())
}

/// Indexes the association rows `sql` selects (the columns of [`ASSOCIATION_ROWS`]).
fn index_association_rows(
    conn: &Connection,
    index: &mut SearchIndex,
    sql: &str,
    params: impl Params,
) -> Result<(), StoreError> {
    let mut statement = conn.prepare(sql)?;
    let mut rows = statement.query(params)?;
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
    Ok(())
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

/// The index is saved while serving once this many changes were journaled since the last
/// save (start-up re-indexes what the journal names, ~18 µs a record on one core: 50,000
/// add about a second to a start after a crash)...
const SAVE_AFTER_CHANGES: usize = 50_000;
/// ...or this long after the last save, if anything changed...
const SAVE_INTERVAL: Duration = Duration::from_secs(60);
/// ...but never sooner after the last save than this many times its length: a save of a
/// million calls takes seconds of one core, and under a sustained load of writes saving
/// whenever 50,000 changed would keep that core saving (at most a fifth of it, so).
const SAVE_SPACING: u32 = 4;
/// How often the saver looks.
const SAVER_TICK: Duration = Duration::from_millis(500);

impl SqliteStore {
    /// Saves the search index now and then while the store serves (see `SAVE_AFTER_CHANGES`),
    /// on a thread of its own that ends with the store.
    pub(super) fn start_index_saver(&self) {
        let Some(pool) = &self.engine.readers else {
            return;
        };
        let engine = Arc::downgrade(&self.engine);
        let path = pool.path.clone();
        let spawned = std::thread::Builder::new()
            .name("hubcalls-index-saver".to_owned())
            .spawn(move || {
                let mut last_save = Instant::now();
                let mut last_save_took = Duration::ZERO;
                let mut conn = None;
                loop {
                    std::thread::sleep(SAVER_TICK);
                    let Some(engine) = engine.upgrade() else {
                        return;
                    };
                    let changes = engine.index_changes.load(Ordering::Relaxed);
                    let since = last_save.elapsed();
                    let due = (changes >= SAVE_AFTER_CHANGES
                        && since >= last_save_took * SAVE_SPACING)
                        || (changes > 0 && since >= SAVE_INTERVAL);
                    if !due || *lock(&engine.index_state.0) != IndexState::Ready {
                        continue;
                    }
                    if conn.is_none() {
                        conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
                            .map_err(|error| tracing::warn!(%error, "the index saver cannot read"))
                            .ok();
                    }
                    if let Some(conn) = &conn {
                        let started = Instant::now();
                        engine.save_index_while_serving(conn);
                        last_save = Instant::now();
                        last_save_took = started.elapsed();
                    }
                }
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "no periodic index saves; the index is saved at shutdown");
        }
    }

    /// Saves the search index now, as the periodic saver does (for tests and tools).
    pub fn save_search_index(&self) -> Result<(), StoreError> {
        self.wait_for_index()?;
        let Some(pool) = &self.engine.readers else {
            return Ok(());
        };
        let conn = Connection::open_with_flags(&pool.path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(store_error)?;
        self.engine.save_index_while_serving(&conn);
        Ok(())
    }
}

impl Engine {
    /// Saves the search index at a clean shutdown, so the next start-up reads it instead of
    /// rebuilding it from every row. Skipped when the index is not built, or when another
    /// process wrote since this store's index last saw the rows.
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
        self.save_index(&pool.path, writes);
    }

    /// Saves the search index while writes go on (they wait for a chunk at most, see
    /// `index::snapshot::save`); the next commit trims the journal to it.
    fn save_index_while_serving(&self, conn: &Connection) {
        let Some(pool) = &self.readers else { return };
        let saved_at = {
            // Under the read lock no commit of this store completes, so the count it has
            // seen is the one on disk unless another process wrote.
            let _index = read_index(&self.index);
            let seen = self.seen_writes.load(Ordering::SeqCst);
            match committed_writes(conn) {
                Ok(writes) if writes == seen => seen,
                Ok(_) => {
                    tracing::info!("not saving the search index: another process wrote");
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, "not saving the search index");
                    return;
                }
            }
        };
        let changes = self.index_changes.swap(0, Ordering::Relaxed);
        if self.save_index(&pool.path, saved_at) {
            self.journal_trim.store(saved_at, Ordering::SeqCst);
        } else {
            self.index_changes.fetch_add(changes, Ordering::Relaxed);
        }
    }

    /// Writes the index next to the database as of write `saved_at`; answers whether it
    /// did (a failed save leaves the previous file, which the journal still completes).
    fn save_index(&self, database: &Path, saved_at: i64) -> bool {
        let started = Instant::now();
        match index_snapshot::save(&self.index, &snapshot_path(database), saved_at) {
            Ok(()) => {
                tracing::info!(
                    seconds = started.elapsed().as_secs_f64(),
                    saved_at,
                    "search index saved"
                );
                true
            }
            Err(error) => {
                tracing::warn!(%error, "saving the search index failed");
                false
            }
        }
    }
}
