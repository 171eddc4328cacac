//! The embedded store: SQLite in WAL mode, one writer connection and a pool of readers.
//!
//! Layout: `calls` holds each call's current state (properties as a JSON object, so a read
//! is one row); `call_values` and `call_tokens` index live calls' values the way search
//! compares them ([`IndexedValue`]); `call_history` keeps one row per write of a call (the
//! changed properties as a JSON array, so a create is one row, not one per property);
//! `call_associations` one row per association. Archived calls are never searched, so their
//! index rows are dropped on archive.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::{params, params_from_iter, Connection, OpenFlags, OptionalExtension, Row};

use crate::crm::associations::{AssociatedKind, Association, AssociationCategory};
use crate::crm::call::{Call, CallId, PortalId, WriteSource};
use crate::crm::error::StoreError;
use crate::crm::history::{HistoryEntry, PropertyChange};
use crate::crm::properties::PropertyCatalogue;
use crate::crm::schema::{PropertyGroup, PropertyRecord};
use crate::crm::search::{IndexedValue, SearchHits, SearchPlan};
use crate::crm::store::{CallMutation, CallStore, NewCall, RestoredCall};
use crate::crm::time::EpochMillis;

use super::sqlite_search::{self, SearchStrategy, Sql};

/// The first id a fresh store hands out. HubSpot's call ids are 11 or 12 digits; starting
/// there lets integrations meet realistic ids (and catch 32-bit id columns) early.
const FIRST_CALL_ID: CallId = 10_000_000_001;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS calls (
    id          INTEGER PRIMARY KEY,
    portal      INTEGER NOT NULL,
    archived    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    archived_at INTEGER,
    properties  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_by_portal ON calls (portal, archived, id);
CREATE INDEX IF NOT EXISTS calls_by_created ON calls (portal, archived, created_at, id);
CREATE TABLE IF NOT EXISTS call_values (
    call_id INTEGER NOT NULL,
    name    TEXT NOT NULL,
    portal  INTEGER NOT NULL,
    text    TEXT NOT NULL,
    number  REAL,
    PRIMARY KEY (call_id, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS call_values_text ON call_values (portal, name, text);
CREATE INDEX IF NOT EXISTS call_values_number ON call_values (portal, name, number);
CREATE TABLE IF NOT EXISTS call_tokens (
    portal  INTEGER NOT NULL,
    name    TEXT NOT NULL,
    token   TEXT NOT NULL,
    call_id INTEGER NOT NULL,
    PRIMARY KEY (portal, name, token, call_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS call_tokens_by_call ON call_tokens (call_id, name);
CREATE TABLE IF NOT EXISTS call_history (
    id      INTEGER PRIMARY KEY,
    call_id INTEGER NOT NULL,
    changes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS call_history_by_call ON call_history (call_id, id);
CREATE TABLE IF NOT EXISTS call_associations (
    call_id  INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    to_id    INTEGER NOT NULL,
    type_id  INTEGER NOT NULL,
    portal   INTEGER NOT NULL,
    category TEXT NOT NULL,
    PRIMARY KEY (call_id, kind, to_id, type_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS call_associations_target ON call_associations (portal, kind, to_id);
CREATE TABLE IF NOT EXISTS property_definitions (
    portal      INTEGER NOT NULL,
    name        TEXT NOT NULL,
    definition  TEXT NOT NULL,
    created_at  INTEGER,
    updated_at  INTEGER,
    archived_at INTEGER,
    PRIMARY KEY (portal, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS property_groups (
    portal     INTEGER NOT NULL,
    name       TEXT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (portal, name)
) WITHOUT ROWID;
"#;

/// The layout version this code reads and writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 2;

/// Steps from an older layout to the next: `(version it upgrades, SQL)`.
const MIGRATIONS: [(i64, &str); 1] = [(
    1,
    // Version 1 had partial value indexes, which could not answer counts on their own.
    "DROP INDEX IF EXISTS call_values_text; DROP INDEX IF EXISTS call_values_number;",
)];

const CALL_COLUMNS: &str = "c.id, c.properties, c.created_at, c.updated_at, c.archived_at";

/// The writer connection and the batch of requests its open transaction holds.
struct Writer {
    conn: Connection,
    /// Number of the batch being filled (or the next one when none is open).
    batch: u64,
    open: bool,
    jobs: usize,
    opened_at: Instant,
}

/// How batches ended, for the writers waiting on them.
#[derive(Default)]
struct Commits {
    /// Every batch below this number has ended.
    next_uncommitted: u64,
    /// Batches whose commit failed, with the reason.
    failed: HashMap<u64, String>,
}

/// A batch is committed once it holds this many requests...
const GROUP_COMMIT_MAX_REQUESTS: usize = 256;
/// ...or has been open this long, even while more writers keep arriving.
const GROUP_COMMIT_MAX_DELAY: Duration = Duration::from_millis(5);
/// A waiting writer commits the batch itself if nobody did within this time.
const GROUP_COMMIT_RESCUE_AFTER: Duration = Duration::from_millis(250);

pub struct SqliteStore {
    writer: Mutex<Writer>,
    /// Writers waiting for the writer connection (they will commit what is pending).
    waiting: AtomicUsize,
    commits: Mutex<Commits>,
    committed: Condvar,
    /// Off in memory, where reads share the writer connection and would see a batch early.
    group_commit: bool,
    /// Tells the background checkpointer to stop when the store goes away.
    stop_checkpointer: Arc<AtomicBool>,
    /// Reader connections for a file database; `None` in memory, where the single
    /// connection serves reads too.
    readers: Option<ReaderPool>,
    next_id: AtomicU64,
    /// Rows a search may walk in sort order before sorting its matches is preferred.
    scan_budget: usize,
    /// Live calls per portal, recounted every few seconds: only used to choose a search
    /// strategy, so a slightly stale number costs speed at worst, never correctness.
    live_counts: Mutex<HashMap<PortalId, (usize, Instant)>>,
}

/// The background checkpointer copies the WAL into the database this often...
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);
/// ...and the writer checkpoints itself only past this WAL size (pages of 4 KiB).
const WAL_PAGES_BEFORE_WRITER_CHECKPOINTS: i64 = 50_000;

/// Rows a sort-order scan may touch by default (see `SearchStrategy`).
const DEFAULT_SCAN_BUDGET: usize = 20_000;
/// How long a portal's live-call count is trusted.
const LIVE_COUNT_TTL: Duration = Duration::from_secs(5);

struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves SQLite itself consistent (the transaction rolls
    // back when dropped), so a poisoned lock is safe to keep using.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        store_error(error)
    }
}

/// Maps engine errors to the store's two kinds: "try again later" and everything else.
fn store_error(error: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match error.sqlite_error_code() {
        Some(
            ErrorCode::DiskFull
            | ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::SystemIoFailure
            | ErrorCode::CannotOpen
            | ErrorCode::ReadOnly,
        ) => StoreError::Unavailable(error.to_string()),
        _ => StoreError::Backend(error.to_string()),
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // WAL + synchronous=NORMAL: a committed transaction is in the WAL file before COMMIT
    // returns, so it survives a crash of the process (not necessarily a power cut).
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "busy_timeout", 5_000)?;
    conn.pragma_update(None, "cache_size", -65_536)?;
    // Savepoints (one per request in a group commit) journal into temporary storage: keep
    // it in memory rather than in files created and deleted per request.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

impl SqliteStore {
    /// Opens (or creates) the database file `hubcalls.sqlite3` in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let store = Self::open_without_checkpointer(dir)?;
        store.start_checkpointer();
        Ok(store)
    }

    fn open_without_checkpointer(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
        })?;
        let path = dir.join("hubcalls.sqlite3");
        let writer = Connection::open(&path).map_err(store_error)?;
        configure(&writer).map_err(store_error)?;
        // Checkpoints run on their own thread (see `start_checkpointer`); the writer only
        // checkpoints itself if the WAL grows past this many pages despite that.
        writer
            .pragma_update(
                None,
                "wal_autocheckpoint",
                WAL_PAGES_BEFORE_WRITER_CHECKPOINTS,
            )
            .map_err(store_error)?;
        Self::initialise(
            writer,
            Some(ReaderPool {
                path,
                idle: Mutex::new(Vec::new()),
            }),
        )
    }

    /// A store that lives in memory and is gone when the process ends.
    pub fn in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(store_error)?;
        conn.set_prepared_statement_cache_capacity(128);
        Self::initialise(conn, None)
    }

    fn initialise(conn: Connection, readers: Option<ReaderPool>) -> Result<Self, StoreError> {
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Backend(format!(
                "the database has layout version {version}; this hubcalls reads version {SCHEMA_VERSION} (upgrade hubcalls)"
            )));
        }
        for (from, sql) in MIGRATIONS {
            if version == from {
                conn.execute_batch(sql)?;
            }
        }
        conn.execute_batch(SCHEMA)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        let high_water: Option<i64> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'id_high_water'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(store_error)?;
        let max_id: Option<i64> = conn
            .query_row("SELECT max(id) FROM calls", [], |r| r.get(0))
            .map_err(store_error)?;
        let last = high_water.unwrap_or(0).max(max_id.unwrap_or(0)) as u64;
        let next = (last + 1).max(FIRST_CALL_ID);
        let group_commit = readers.is_some();
        Ok(Self {
            writer: Mutex::new(Writer {
                conn,
                batch: 0,
                open: false,
                jobs: 0,
                opened_at: Instant::now(),
            }),
            waiting: AtomicUsize::new(0),
            commits: Mutex::new(Commits::default()),
            committed: Condvar::new(),
            group_commit,
            stop_checkpointer: Arc::new(AtomicBool::new(false)),
            readers,
            next_id: AtomicU64::new(next),
            scan_budget: DEFAULT_SCAN_BUDGET,
            live_counts: Mutex::new(HashMap::new()),
        })
    }

    /// Moves WAL checkpoints (page copies and an fsync) off the request path: a thread with
    /// its own connection checkpoints passively every `CHECKPOINT_INTERVAL` until the store
    /// is dropped.
    fn start_checkpointer(&self) {
        let Some(pool) = &self.readers else { return };
        let path = pool.path.clone();
        let stop = Arc::clone(&self.stop_checkpointer);
        let spawned = std::thread::Builder::new()
            .name("hubcalls-checkpoint".to_owned())
            .spawn(move || {
                let Ok(conn) = Connection::open(&path) else {
                    return;
                };
                let _ = conn.pragma_update(None, "busy_timeout", 1_000);
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(CHECKPOINT_INTERVAL);
                    if let Err(error) =
                        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(%error, "background checkpoint failed");
                    }
                }
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "no background checkpointer; the writer checkpoints");
        }
    }

    /// Caps the database file at about `bytes` (`None`: no cap). Writes past it fail as on a
    /// full disk: the store answers `Unavailable` and stays up for reads.
    pub fn with_size_cap(self, bytes: Option<u64>) -> Result<Self, StoreError> {
        if let Some(bytes) = bytes {
            let writer = lock(&self.writer);
            let page_size: i64 = writer
                .conn
                .query_row("PRAGMA page_size", [], |r| r.get(0))?;
            let pages = (bytes as i64 / page_size).max(1);
            writer
                .conn
                .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
        }
        Ok(self)
    }

    /// Sets how many rows a search may walk in sort order (0: always sort the matches;
    /// `usize::MAX`: always walk). Results are the same either way; tests use both.
    pub fn with_scan_budget(mut self, rows: usize) -> Self {
        self.scan_budget = rows;
        self
    }

    fn live_count(&self, conn: &Connection, portal: PortalId) -> rusqlite::Result<usize> {
        if let Some((count, at)) = lock(&self.live_counts).get(&portal) {
            if at.elapsed() < LIVE_COUNT_TTL {
                return Ok(*count);
            }
        }
        let count: i64 = conn
            .prepare_cached("SELECT count(*) FROM calls WHERE portal = ?1 AND archived = 0")?
            .query_row(params![portal], |r| r.get(0))?;
        lock(&self.live_counts).insert(portal, (count as usize, Instant::now()));
        Ok(count as usize)
    }

    /// Runs `read` on a reader connection (or the only connection in memory).
    fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let Some(pool) = &self.readers else {
            return read(&lock(&self.writer).conn).map_err(store_error);
        };
        let conn = match lock(&pool.idle).pop() {
            Some(conn) => conn,
            None => {
                let conn = Connection::open_with_flags(
                    &pool.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(store_error)?;
                conn.pragma_update(None, "busy_timeout", 5_000)
                    .map_err(store_error)?;
                conn.set_prepared_statement_cache_capacity(128);
                conn
            }
        };
        let result = read(&conn).map_err(store_error);
        lock(&pool.idle).push(conn);
        result
    }

    /// Runs `write` inside a write transaction and returns once that transaction is
    /// committed (so a 2xx after it means the write is durable). A failed `write` is rolled
    /// back to its savepoint: nothing of it remains.
    ///
    /// Group commit: writers that arrive while others hold the connection share one
    /// transaction. Each runs in its own savepoint; the last of a burst (or the one that
    /// finds the batch full or old) commits for all, and the others wait for that commit.
    /// One WAL commit then carries many requests' pages.
    fn write<T>(
        &self,
        write: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut writer = lock(&self.writer);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        if !writer.open {
            writer.conn.execute_batch("BEGIN IMMEDIATE")?;
            writer.open = true;
            writer.opened_at = Instant::now();
        }
        writer.conn.execute_batch("SAVEPOINT request")?;
        let result = write(&writer.conn);
        if writer.conn.is_autocommit() {
            // SQLite rolled the whole transaction back itself (it does on a full disk or an
            // I/O error): every request of this batch is lost, so all of them fail.
            let reason = match &result {
                Err(error) => error.to_string(),
                Ok(_) => "the transaction was rolled back".to_owned(),
            };
            self.finish_batch(&mut writer, Err(reason.clone()));
            return match result {
                Err(StoreError::Backend(reason)) => Err(StoreError::Unavailable(reason)),
                Err(error) => Err(error),
                Ok(_) => Err(StoreError::Unavailable(reason)),
            };
        }
        let undo = if result.is_ok() {
            writer.jobs += 1;
            "RELEASE request"
        } else {
            "ROLLBACK TO request; RELEASE request"
        };
        if let Err(error) = writer.conn.execute_batch(undo) {
            // The transaction is in an unknown state: abandon the whole batch.
            let _ = writer.conn.execute_batch("ROLLBACK");
            self.finish_batch(&mut writer, Err(error.to_string()));
            return Err(StoreError::Unavailable(error.to_string()));
        }
        let batch = writer.batch;
        let others_waiting = self.waiting.load(Ordering::SeqCst) > 0;
        let batch_full = writer.jobs >= GROUP_COMMIT_MAX_REQUESTS
            || writer.opened_at.elapsed() >= GROUP_COMMIT_MAX_DELAY;
        if !self.group_commit || !others_waiting || batch_full {
            let committed = writer
                .conn
                .execute_batch("COMMIT")
                .map_err(|e| e.to_string());
            if committed.is_err() {
                let _ = writer.conn.execute_batch("ROLLBACK");
            }
            self.finish_batch(&mut writer, committed.clone());
            drop(writer);
            return match committed {
                Ok(()) => result,
                Err(reason) if result.is_ok() => Err(StoreError::Unavailable(reason)),
                Err(_) => result,
            };
        }
        drop(writer);
        let value = result?;
        self.await_commit(batch)?;
        Ok(value)
    }

    /// Closes the open batch and tells its waiting writers how it ended.
    fn finish_batch(&self, writer: &mut Writer, outcome: Result<(), String>) {
        let batch = writer.batch;
        writer.open = false;
        writer.jobs = 0;
        writer.batch += 1;
        let mut commits = lock(&self.commits);
        commits.next_uncommitted = batch + 1;
        if let Err(reason) = outcome {
            commits.failed.insert(batch, reason);
        }
        // Keep the failure log small: only recent batches can still have waiters.
        commits.failed.retain(|b, _| b + 1024 > batch);
        drop(commits);
        self.committed.notify_all();
    }

    /// Waits until `batch` is committed (or failed). If the writer expected to commit it
    /// has vanished (a panic), commits it here.
    fn await_commit(&self, batch: u64) -> Result<(), StoreError> {
        let mut commits = lock(&self.commits);
        loop {
            if commits.next_uncommitted > batch {
                return match commits.failed.get(&batch) {
                    Some(reason) => Err(StoreError::Unavailable(reason.clone())),
                    None => Ok(()),
                };
            }
            let (guard, timeout) = self
                .committed
                .wait_timeout(commits, GROUP_COMMIT_RESCUE_AFTER)
                .unwrap_or_else(|e| e.into_inner());
            commits = guard;
            if timeout.timed_out() && commits.next_uncommitted <= batch {
                drop(commits);
                let mut writer = lock(&self.writer);
                if writer.open && writer.batch == batch {
                    let committed = writer
                        .conn
                        .execute_batch("COMMIT")
                        .map_err(|e| e.to_string());
                    self.finish_batch(&mut writer, committed);
                }
                drop(writer);
                commits = lock(&self.commits);
            }
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.stop_checkpointer.store(true, Ordering::Relaxed);
    }
}

fn call_from_row(row: &Row<'_>) -> rusqlite::Result<Call> {
    let id: i64 = row.get(0)?;
    let properties: BTreeMap<String, String> = json_column(row, 1)?;
    Ok(Call {
        id: id as CallId,
        properties,
        created_at: row.get(2)?,
        updated_at: row.get(3)?,
        archived_at: row.get(4)?,
    })
}

fn properties_json(call: &Call) -> String {
    // A map of strings always serialises.
    serde_json::to_string(&call.properties).unwrap_or_else(|_| "{}".to_owned())
}

fn placeholders(count: usize) -> String {
    vec!["?"; count].join(",")
}

/// Keeps the search index rows of one property in step with its new value.
fn index_change(
    tx: &Connection,
    portal: PortalId,
    schema: &PropertyCatalogue,
    call_id: CallId,
    change: &PropertyChange,
) -> Result<(), StoreError> {
    let id = call_id as i64;
    tx.prepare_cached("DELETE FROM call_tokens WHERE call_id = ?1 AND name = ?2")?
        .execute(params![id, change.name])?;
    let (Some(value), Some(def)) = (&change.value, schema.get(&change.name)) else {
        tx.prepare_cached("DELETE FROM call_values WHERE call_id = ?1 AND name = ?2")?
            .execute(params![id, change.name])?;
        return Ok(());
    };
    let indexed = IndexedValue::new(def.property_type, value);
    if def.has_unique_value {
        // Compared the way search compares: numbers by value, text folded or exact by type.
        let existing: Option<i64> = match indexed.number {
            Some(number) => tx
                .prepare_cached(
                    "SELECT call_id FROM call_values WHERE portal = ?1 AND name = ?2
                     AND number = ?3 AND call_id != ?4 LIMIT 1",
                )?
                .query_row(params![portal, change.name, number, id], |r| r.get(0))
                .optional()?,
            None => tx
                .prepare_cached(
                    "SELECT call_id FROM call_values WHERE portal = ?1 AND name = ?2
                     AND text = ?3 AND call_id != ?4 LIMIT 1",
                )?
                .query_row(params![portal, change.name, indexed.text, id], |r| r.get(0))
                .optional()?,
        };
        if let Some(existing) = existing {
            return Err(StoreError::UniqueViolation {
                property: change.name.clone(),
                value: value.clone(),
                call_id,
                existing: existing as u64,
            });
        }
    }
    tx.prepare_cached(
        "INSERT OR REPLACE INTO call_values (call_id, name, portal, text, number) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, change.name, portal, indexed.text, indexed.number])?;
    let mut insert_token = tx.prepare_cached(
        "INSERT OR IGNORE INTO call_tokens (portal, name, token, call_id) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for token in &indexed.tokens {
        insert_token.execute(params![portal, change.name, token, id])?;
    }
    Ok(())
}

fn record_history(
    tx: &Connection,
    call_id: CallId,
    changes: &[PropertyChange],
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = changes
        .iter()
        .map(|c| {
            serde_json::json!([
                c.name,
                c.entry.value,
                c.entry.timestamp,
                c.entry.source.source_type,
                c.entry.source.source_id
            ])
        })
        .collect();
    tx.prepare_cached("INSERT INTO call_history (call_id, changes) VALUES (?1, ?2)")?
        .execute(params![call_id as i64, to_json(&rows)?])?;
    Ok(())
}

/// One entry of a `call_history.changes` array: name, value, timestamp, source type, id.
type StoredChange = (String, String, i64, String, Option<String>);

/// Inserts new calls inside a write transaction.
fn insert_in(
    tx: &Connection,
    portal: PortalId,
    schema: &PropertyCatalogue,
    calls: &[NewCall],
) -> Result<(), StoreError> {
    if calls.is_empty() {
        return Ok(());
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO calls (id, portal, archived, created_at, updated_at, archived_at, properties) VALUES (?1, ?2, 0, ?3, ?4, NULL, ?5)",
    )?;
    let mut high_water = 0;
    for new in calls {
        let call = &new.call;
        insert.execute(params![
            call.id as i64,
            portal,
            call.created_at,
            call.updated_at,
            properties_json(call)
        ])?;
        for change in &new.changes {
            index_change(tx, portal, schema, call.id, change)?;
        }
        record_history(tx, call.id, &new.changes)?;
        for association in &new.associations {
            insert_association(tx, portal, association)?;
        }
        high_water = high_water.max(call.id as i64);
    }
    tx.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('id_high_water', ?1)
         ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
    )?
    .execute(params![high_water])?;
    Ok(())
}

/// Applies `apply` to each live call of `ids` inside a write transaction.
fn update_in(
    tx: &Connection,
    portal: PortalId,
    schema: &PropertyCatalogue,
    ids: &[CallId],
    apply: &mut CallMutation<'_>,
) -> Result<Vec<Option<Call>>, StoreError> {
    let mut results = Vec::with_capacity(ids.len());
    for (at, id) in ids.iter().enumerate() {
        let current = tx
            .prepare_cached(&format!(
                "SELECT {CALL_COLUMNS} FROM calls c WHERE c.id = ?1 AND c.portal = ?2 AND c.archived = 0"
            ))?
            .query_row(params![*id as i64, portal], call_from_row)
            .optional()?;
        let Some(mut call) = current else {
            results.push(None);
            continue;
        };
        let changes = apply(at, &mut call);
        tx.prepare_cached("UPDATE calls SET properties = ?1, updated_at = ?2 WHERE id = ?3")?
            .execute(params![
                properties_json(&call),
                call.updated_at,
                call.id as i64
            ])?;
        for change in &changes {
            index_change(tx, portal, schema, call.id, change)?;
        }
        record_history(tx, call.id, &changes)?;
        results.push(Some(call));
    }
    Ok(results)
}

/// Removes what hangs off a call's row: index entries, history and associations.
fn delete_call_rows(tx: &Connection, id: CallId) -> rusqlite::Result<()> {
    for table in [
        "call_values",
        "call_tokens",
        "call_history",
        "call_associations",
    ] {
        tx.prepare_cached(&format!("DELETE FROM {table} WHERE call_id = ?1"))?
            .execute(params![id as i64])?;
    }
    Ok(())
}

fn insert_association(tx: &Connection, portal: PortalId, a: &Association) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO call_associations (call_id, kind, to_id, type_id, portal, category) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        a.call_id as i64,
        a.kind.singular(),
        a.to_id as i64,
        a.type_id,
        portal,
        a.category.as_str()
    ])?;
    Ok(())
}

/// Reads a JSON column into `T`, as a conversion failure of column `index`.
fn json_column<T: serde::de::DeserializeOwned>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e.into())
    })
}

fn to_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(e.to_string()))
}

impl CallStore for SqliteStore {
    fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())))
    }

    fn allocate_ids(&self, count: usize) -> Result<Vec<CallId>, StoreError> {
        let first = self.next_id.fetch_add(count as u64, Ordering::SeqCst);
        Ok((first..first + count as u64).collect())
    }

    fn write_calls(
        &self,
        portal: PortalId,
        schema: &PropertyCatalogue,
        inserts: &[NewCall],
        update_ids: &[CallId],
        apply: &mut CallMutation<'_>,
    ) -> Result<Vec<Option<Call>>, StoreError> {
        if inserts.is_empty() && update_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.write(|tx| {
            let updated = update_in(tx, portal, schema, update_ids, apply)?;
            insert_in(tx, portal, schema, inserts)?;
            Ok(updated)
        })
    }

    fn get_calls(&self, portal: PortalId, ids: &[CallId]) -> Result<Vec<Call>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|conn| {
            let sql = format!(
                "SELECT {CALL_COLUMNS} FROM calls c WHERE c.portal = ? AND c.id IN ({})",
                placeholders(ids.len())
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let params = std::iter::once(i64::from(portal)).chain(ids.iter().map(|id| *id as i64));
            let rows = statement.query_map(params_from_iter(params), call_from_row)?;
            rows.collect()
        })
    }

    fn list_calls(
        &self,
        portal: PortalId,
        archived: bool,
        from_id: CallId,
        limit: usize,
    ) -> Result<Vec<Call>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {CALL_COLUMNS} FROM calls c
                 WHERE c.portal = ?1 AND c.archived = ?2 AND c.id >= ?3
                 ORDER BY c.id LIMIT ?4"
            ))?;
            let rows = statement.query_map(
                params![
                    portal,
                    archived,
                    from_id.min(i64::MAX as u64) as i64,
                    limit as i64
                ],
                call_from_row,
            )?;
            rows.collect()
        })
    }

    fn archive_calls(
        &self,
        portal: PortalId,
        ids: &[CallId],
        at: EpochMillis,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            for id in ids {
                let archived = tx
                    .prepare_cached(
                        "UPDATE calls SET archived = 1, archived_at = ?1
                         WHERE id = ?2 AND portal = ?3 AND archived = 0",
                    )?
                    .execute(params![at, *id as i64, portal])?;
                if archived > 0 {
                    tx.prepare_cached("DELETE FROM call_values WHERE call_id = ?1")?
                        .execute(params![*id as i64])?;
                    tx.prepare_cached("DELETE FROM call_tokens WHERE call_id = ?1")?
                        .execute(params![*id as i64])?;
                }
            }
            Ok(())
        })
    }

    fn purge_calls(&self, portal: PortalId, ids: &[CallId]) -> Result<(), StoreError> {
        self.write(|tx| {
            for id in ids {
                let deleted = tx
                    .prepare_cached("DELETE FROM calls WHERE id = ?1 AND portal = ?2")?
                    .execute(params![*id as i64, portal])?;
                if deleted > 0 {
                    delete_call_rows(tx, *id)?;
                }
            }
            Ok(())
        })
    }

    fn history(
        &self,
        portal: PortalId,
        ids: &[CallId],
        names: &[String],
    ) -> Result<Vec<(CallId, String, HistoryEntry)>, StoreError> {
        let writes: Vec<(i64, String)> = self.read(|conn| {
            let sql = format!(
                "SELECT h.call_id, h.changes FROM call_history h JOIN calls c ON c.id = h.call_id
                 WHERE c.portal = ? AND h.call_id IN ({}) ORDER BY h.call_id, h.id DESC",
                placeholders(ids.len())
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let params = std::iter::once(i64::from(portal)).chain(ids.iter().map(|id| *id as i64));
            let rows = statement.query_map(params_from_iter(params), |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?;
            rows.collect()
        })?;
        let mut entries = Vec::new();
        // Writes come newest first, so each property's entries do too.
        for (call_id, changes) in writes {
            let changes: Vec<StoredChange> = serde_json::from_str(&changes)
                .map_err(|e| StoreError::Backend(format!("corrupt history row: {e}")))?;
            for (name, value, timestamp, source_type, source_id) in changes {
                if names.contains(&name) {
                    let source = WriteSource {
                        source_type,
                        source_id,
                    };
                    let entry = HistoryEntry {
                        value,
                        timestamp,
                        source,
                    };
                    entries.push((call_id as CallId, name, entry));
                }
            }
        }
        Ok(entries)
    }

    fn associations(
        &self,
        portal: PortalId,
        ids: &[CallId],
    ) -> Result<Vec<Association>, StoreError> {
        self.read(|conn| {
            let sql = format!(
                "SELECT call_id, kind, to_id, type_id, category FROM call_associations
                 WHERE portal = ? AND call_id IN ({}) ORDER BY call_id, kind, to_id, type_id",
                placeholders(ids.len())
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let params = std::iter::once(i64::from(portal)).chain(ids.iter().map(|id| *id as i64));
            let rows = statement.query_map(params_from_iter(params), association_from_row)?;
            rows.filter_map(|row| row.transpose()).collect()
        })
    }

    fn find_by_value(
        &self,
        portal: PortalId,
        name: &str,
        value: &str,
    ) -> Result<Vec<CallId>, StoreError> {
        // The same equality the unique-value check uses: numbers by value, text folded (or
        // exact, for case-sensitive types, which the index keeps unfolded).
        let folded = value.to_lowercase();
        // A value that is no number matches nothing numeric (NaN binds as NULL).
        let number = value.trim().parse::<f64>().unwrap_or(f64::NAN);
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT v.call_id FROM call_values v
                 WHERE v.portal = ?1 AND v.name = ?2 AND v.text IN (?3, ?4) AND v.number IS NULL
                 UNION
                 SELECT v.call_id FROM call_values v
                 WHERE v.portal = ?1 AND v.name = ?2 AND v.number = ?5
                 ORDER BY 1",
            )?;
            let rows = statement
                .query_map(params![portal, name, value, folded, number], |row| {
                    row.get::<_, i64>(0)
                })?;
            rows.map(|id| id.map(|id| id as CallId)).collect()
        })
    }

    fn reset_portal(&self, portal: PortalId) -> Result<(), StoreError> {
        self.write(|tx| {
            // History rows carry no portal: remove them through the portal's calls first.
            tx.prepare_cached(
                "DELETE FROM call_history WHERE call_id IN (SELECT id FROM calls WHERE portal = ?1)",
            )?
            .execute(params![portal])?;
            for table in [
                "call_values",
                "call_tokens",
                "call_associations",
                "property_definitions",
                "property_groups",
                "calls",
            ] {
                tx.prepare_cached(&format!("DELETE FROM {table} WHERE portal = ?1"))?
                    .execute(params![portal])?;
            }
            Ok(())
        })?;
        lock(&self.live_counts).remove(&portal);
        Ok(())
    }

    fn purge_property_values(&self, portal: PortalId, name: &str) -> Result<(), StoreError> {
        // Property names are letters, digits and `_`, safe inside a quoted JSON path.
        let path = format!("$.\"{name}\"");
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE calls SET properties = json_remove(properties, ?1)
                 WHERE portal = ?2 AND json_type(properties, ?1) IS NOT NULL",
            )?
            .execute(params![path, portal])?;
            tx.prepare_cached("DELETE FROM call_values WHERE portal = ?1 AND name = ?2")?
                .execute(params![portal, name])?;
            tx.prepare_cached("DELETE FROM call_tokens WHERE portal = ?1 AND name = ?2")?
                .execute(params![portal, name])?;
            Ok(())
        })
    }

    fn replace_associations(
        &self,
        portal: PortalId,
        call_id: CallId,
        kind: AssociatedKind,
        to_id: u64,
        associations: &[Association],
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.prepare_cached(
                "DELETE FROM call_associations
                 WHERE call_id = ?1 AND kind = ?2 AND to_id = ?3 AND portal = ?4",
            )?
            .execute(params![
                call_id as i64,
                kind.singular(),
                to_id as i64,
                portal
            ])?;
            for association in associations {
                insert_association(tx, portal, association)?;
            }
            Ok(())
        })
    }

    fn add_associations(
        &self,
        portal: PortalId,
        associations: &[Association],
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            for association in associations {
                insert_association(tx, portal, association)?;
            }
            Ok(())
        })
    }

    fn remove_associations(
        &self,
        portal: PortalId,
        call_id: CallId,
        kind: AssociatedKind,
        to_id: u64,
        type_ids: Option<&[u32]>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let pair = params![call_id as i64, kind.singular(), to_id as i64, portal];
            match type_ids {
                None => {
                    tx.prepare_cached(
                        "DELETE FROM call_associations
                         WHERE call_id = ?1 AND kind = ?2 AND to_id = ?3 AND portal = ?4",
                    )?
                    .execute(pair)?;
                }
                Some(type_ids) => {
                    let mut delete = tx.prepare_cached(
                        "DELETE FROM call_associations
                         WHERE call_id = ?1 AND kind = ?2 AND to_id = ?3 AND portal = ?4 AND type_id = ?5",
                    )?;
                    for type_id in type_ids {
                        delete.execute(params![
                            call_id as i64,
                            kind.singular(),
                            to_id as i64,
                            portal,
                            type_id
                        ])?;
                    }
                }
            }
            Ok(())
        })
    }

    fn associations_to(
        &self,
        portal: PortalId,
        kind: AssociatedKind,
        to_ids: &[u64],
    ) -> Result<Vec<Association>, StoreError> {
        if to_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|conn| {
            let sql = format!(
                "SELECT a.call_id, a.kind, a.to_id, a.type_id, a.category FROM call_associations a
                 JOIN calls c ON c.id = a.call_id AND c.archived = 0
                 WHERE a.portal = ? AND a.kind = ? AND a.to_id IN ({})
                 ORDER BY a.to_id, a.call_id, a.type_id",
                placeholders(to_ids.len())
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let params: Vec<rusqlite::types::Value> =
                [i64::from(portal).into(), kind.singular().to_owned().into()]
                    .into_iter()
                    .chain(to_ids.iter().map(|id| (*id as i64).into()))
                    .collect();
            let rows = statement.query_map(params_from_iter(params), association_from_row)?;
            rows.filter_map(|row| row.transpose()).collect()
        })
    }

    fn custom_properties(&self, portal: PortalId) -> Result<Vec<PropertyRecord>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT definition, created_at, updated_at, archived_at FROM property_definitions
                 WHERE portal = ?1 ORDER BY name",
            )?;
            let rows = statement.query_map(params![portal], |row| {
                Ok(PropertyRecord {
                    definition: json_column(row, 0)?,
                    created_at: row.get(1)?,
                    updated_at: row.get(2)?,
                    archived_at: row.get(3)?,
                })
            })?;
            rows.collect()
        })
    }

    fn save_property(&self, portal: PortalId, property: &PropertyRecord) -> Result<(), StoreError> {
        let definition = to_json(&property.definition)?;
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO property_definitions
                 (portal, name, definition, created_at, updated_at, archived_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                portal,
                property.definition.name,
                definition,
                property.created_at,
                property.updated_at,
                property.archived_at
            ])?;
            Ok(())
        })
    }

    fn custom_groups(&self, portal: PortalId) -> Result<Vec<PropertyGroup>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT definition FROM property_groups WHERE portal = ?1 ORDER BY name",
            )?;
            let rows = statement.query_map(params![portal], |row| json_column(row, 0))?;
            rows.collect()
        })
    }

    fn save_group(&self, portal: PortalId, group: &PropertyGroup) -> Result<(), StoreError> {
        let definition = to_json(group)?;
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO property_groups (portal, name, definition) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![portal, group.name, definition])?;
            Ok(())
        })
    }

    fn portals(&self) -> Result<Vec<PortalId>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT portal FROM calls UNION SELECT portal FROM property_definitions
                 UNION SELECT portal FROM property_groups ORDER BY 1",
            )?;
            let rows = statement.query_map([], |row| row.get(0))?;
            rows.collect()
        })
    }

    fn restore_calls(
        &self,
        portal: PortalId,
        schema: &PropertyCatalogue,
        calls: &[RestoredCall],
    ) -> Result<(), StoreError> {
        if calls.is_empty() {
            return Ok(());
        }
        let high_water = calls.iter().map(|c| c.call.id).max().unwrap_or(0);
        self.write(|tx| {
            for restored in calls {
                let call = &restored.call;
                let id = call.id as i64;
                let owner: Option<PortalId> = tx
                    .prepare_cached("SELECT portal FROM calls WHERE id = ?1")?
                    .query_row(params![id], |r| r.get(0))
                    .optional()?;
                match owner {
                    Some(owner) if owner != portal => {
                        return Err(StoreError::IdTaken { id: call.id });
                    }
                    Some(_) => {
                        tx.prepare_cached("DELETE FROM calls WHERE id = ?1")?
                            .execute(params![id])?;
                        delete_call_rows(tx, call.id)?;
                    }
                    None => {}
                }
                tx.prepare_cached(
                    "INSERT INTO calls (id, portal, archived, created_at, updated_at, archived_at, properties) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    id,
                    portal,
                    call.is_archived(),
                    call.created_at,
                    call.updated_at,
                    call.archived_at,
                    properties_json(call)
                ])?;
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
                        index_change(tx, portal, schema, call.id, &current)?;
                    }
                }
                // One history row per entry, oldest first, so reads see them newest first.
                for entry in &restored.history {
                    record_history(tx, call.id, std::slice::from_ref(entry))?;
                }
                for association in &restored.associations {
                    insert_association(tx, portal, association)?;
                }
            }
            tx.prepare_cached(
                "INSERT INTO meta (key, value) VALUES ('id_high_water', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
            )?
            .execute(params![high_water as i64])?;
            Ok(())
        })?;
        self.next_id.fetch_max(high_water + 1, Ordering::SeqCst);
        lock(&self.live_counts).remove(&portal);
        Ok(())
    }

    fn search(&self, portal: PortalId, plan: &SearchPlan) -> Result<SearchHits, StoreError> {
        self.read(|conn| {
            let total = count(conn, &sqlite_search::count_query(portal, plan))?;
            if total == 0 || plan.limit == 0 || plan.offset >= total {
                return Ok(SearchHits {
                    total,
                    calls: Vec::new(),
                });
            }
            let live = if sqlite_search::plan_set(portal, plan).is_none() {
                total
            } else {
                self.live_count(conn, portal)?
            };
            let strategy = SearchStrategy::choose(plan, total, live, self.scan_budget);
            let calls = match strategy {
                SearchStrategy::SortMatches => {
                    page(conn, &sqlite_search::sorted_matches_page(portal, plan))?
                }
                SearchStrategy::SortOrderScan => {
                    let mut calls = page(conn, &sqlite_search::sort_order_scan_page(portal, plan))?;
                    if let Some((name, descending)) = sqlite_search::sort_property(plan) {
                        if calls.len() < plan.limit {
                            // The page runs past the calls that have the sort property.
                            let valued =
                                count(conn, &sqlite_search::valued_count(portal, plan, name))?;
                            let tail = sqlite_search::missing_tail_page(
                                portal,
                                plan,
                                name,
                                descending,
                                plan.limit - calls.len(),
                                plan.offset.saturating_sub(valued),
                            );
                            calls.extend(page(conn, &tail)?);
                        }
                    }
                    calls
                }
            };
            Ok(SearchHits { total, calls })
        })
    }
}

fn count(conn: &Connection, sql: &Sql) -> rusqlite::Result<usize> {
    let total: i64 = conn
        .prepare_cached(&sql.text)?
        .query_row(params_from_iter(sql.params.iter()), |r| r.get(0))?;
    Ok(total as usize)
}

fn page(conn: &Connection, sql: &Sql) -> rusqlite::Result<Vec<Call>> {
    let mut statement = conn.prepare_cached(&sql.text)?;
    let rows = statement.query_map(params_from_iter(sql.params.iter()), call_from_row)?;
    rows.collect()
}

fn association_from_row(row: &Row<'_>) -> rusqlite::Result<Option<Association>> {
    let call_id: i64 = row.get(0)?;
    let kind: String = row.get(1)?;
    let to_id: i64 = row.get(2)?;
    let category: String = row.get(4)?;
    let (Some(kind), Some(category)) = (
        AssociatedKind::parse(&kind),
        AssociationCategory::parse(&category),
    ) else {
        return Ok(None);
    };
    Ok(Some(Association {
        call_id: call_id as CallId,
        kind,
        to_id: to_id as u64,
        type_id: row.get(3)?,
        category,
    }))
}
