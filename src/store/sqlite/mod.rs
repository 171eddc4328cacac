//! The embedded store: SQLite in WAL mode, one writer connection and a pool of readers,
//! and an in-memory search index.
//!
//! Layout: `calls` holds each call's current state (properties as a JSON object, so a read
//! is one row); `call_history` keeps one row per write of a call (its changes as JSON, see
//! `history`, so a create is one row, not one per property); `call_associations` one
//! row per association. A create thus writes two rows (plus its associations), not the ~100
//! index entries of layout version 2.
//!
//! Search, unique-value checks and `find_by_value` are served by [`SearchIndex`], rebuilt
//! from `calls` and `call_associations` at start-up and kept in step by the write path: each
//! write queues [`IndexOp`]s, applied right after the COMMIT that makes them durable.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use rusqlite::{params, params_from_iter, Connection, OpenFlags, OptionalExtension, Row};

use crate::crm::associations::{Association, AssociationCategory};
use crate::crm::error::StoreError;
use crate::crm::history::{HistoryEntry, PropertyChange};
use crate::crm::objects::ObjectType;
use crate::crm::objects::Partition;
use crate::crm::pipelines::Pipeline;
use crate::crm::ports::{
    AdminStore, AssociationStore, GroupOutcome, NewRecord, RecordMutation, RecordStore,
    RestoredRecord, Scheduling, SchemaStore,
};
use crate::crm::properties::PropertyCatalogue;
use crate::crm::properties::PropertyDefinition;
use crate::crm::record::{PortalId, Record, RecordId, WriteSource};
use crate::crm::schema::{PropertyGroup, PropertyRecord};
use crate::crm::search::{FilterTarget, SearchHits, SearchPlan, SortKey};
use crate::crm::staging;
use crate::crm::time::EpochMillis;

use self::index::{snapshot as index_snapshot, Entry, IndexOp, Key, SearchIndex};

mod history;
mod index;

/// The first id a fresh store hands out. HubSpot's call ids are 11 or 12 digits; starting
/// there lets integrations meet realistic ids (and catch 32-bit id columns) early.
const FIRST_CALL_ID: RecordId = 10_000_000_001;

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
CREATE TABLE IF NOT EXISTS pipelines (
    portal     INTEGER NOT NULL,
    id         TEXT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (portal, id)
) WITHOUT ROWID;
"#;

/// The layout version this code reads and writes (`PRAGMA user_version`). Version 4 counts
/// committed write transactions in `meta.writes` (what an index snapshot is checked
/// against): a version 3 binary would write without counting, so it must not open it.
const SCHEMA_VERSION: i64 = 4;

/// Upgrades versions 1 and 2, which indexed every value and token as rows of their own
/// (`call_values`, `call_tokens`) and the created order (`calls_by_created`): the in-memory
/// index replaces them, and the rows it is rebuilt from (`calls`) are the same in every
/// version. The freed pages are reused by later writes (the file does not shrink).
const MIGRATION_FROM_V1_V2: &str = "DROP TABLE IF EXISTS call_values;
     DROP TABLE IF EXISTS call_tokens;
     DROP INDEX IF EXISTS calls_by_created;";

const CALL_COLUMNS: &str = "c.id, c.properties, c.created_at, c.updated_at, c.archived_at";

/// The writer connection and the batch of requests its open transaction holds.
struct Writer {
    conn: Connection,
    /// Number of the batch being filled (or the next one when none is open).
    batch: u64,
    open: bool,
    jobs: usize,
    opened_at: Instant,
    /// Whether a committer is scheduled for the open batch (staged writes leave it open).
    committer_scheduled: bool,
    /// Index changes of the open batch, applied once it commits.
    pending: Vec<IndexOp>,
}

/// What a write runs with: the writer connection inside the batch's transaction, and the
/// queue of index changes its writes make.
struct Tx<'a> {
    conn: &'a Connection,
    pending: &'a mut Vec<IndexOp>,
    index: &'a RwLock<SearchIndex>,
}

impl std::ops::Deref for Tx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
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
/// How long a staged write waits for a writer held elsewhere before its work moves to the
/// blocking pool (staged writes themselves hold it for microseconds to a few milliseconds).
const STAGED_WRITE_MAX_WAIT: Duration = Duration::from_millis(2);
/// A waiting writer commits the batch itself if nobody did within this time.
const GROUP_COMMIT_RESCUE_AFTER: Duration = Duration::from_millis(250);

pub struct SqliteStore {
    writer: Mutex<Writer>,
    /// Writers waiting for the writer connection (they will commit what is pending).
    waiting: AtomicUsize,
    commits: Mutex<Commits>,
    committed: Condvar,
    /// The same news as `committed` (every batch below the number has ended), for writers
    /// waiting on an async task (staged writes) rather than a thread.
    committed_below: tokio::sync::watch::Sender<u64>,
    /// Off in memory, where reads share the writer connection and would see a batch early.
    group_commit: bool,
    /// Tells the background checkpointer to stop when the store goes away.
    stop_checkpointer: Arc<AtomicBool>,
    /// Reader connections for a file database; `None` in memory, where the single
    /// connection serves reads too.
    readers: Option<ReaderPool>,
    next_id: AtomicU64,
    /// Entries a search may walk in created order before sorting its matches is preferred.
    scan_budget: usize,
    /// Committed state only (see the module notes). Writers take it for writing only around
    /// COMMIT; a search holds it for reading while it reads its page's rows, so the rows and
    /// the index agree.
    index: Arc<RwLock<SearchIndex>>,
    /// Whether the index has been built from the rows: a file store builds it on a thread
    /// at start-up, so reads by id are served at once; searches and writes wait for it.
    index_state: Arc<(Mutex<IndexState>, Condvar)>,
    /// The count of committed write transactions (`meta.writes`) that the index reflects:
    /// the index is saved at shutdown only if nobody else has written since.
    seen_writes: Arc<AtomicI64>,
}

#[derive(Debug, Clone, PartialEq)]
enum IndexState {
    Building,
    Ready,
    Failed(String),
}

/// The background checkpointer copies the WAL into the database this often...
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);
/// ...and the writer checkpoints itself only past this WAL size (pages of 4 KiB).
const WAL_PAGES_BEFORE_WRITER_CHECKPOINTS: i64 = 50_000;

/// Entries a created-order walk may touch by default before the matches are sorted.
const DEFAULT_SCAN_BUDGET: usize = 20_000;

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

// Index changes are applied whole under the write lock (no panicking code runs halfway
// through one), so a poisoned index lock still guards a consistent index.
fn read_index(index: &RwLock<SearchIndex>) -> RwLockReadGuard<'_, SearchIndex> {
    index
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_index(index: &RwLock<SearchIndex>) -> RwLockWriteGuard<'_, SearchIndex> {
    index
        .write()
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
        store.start_index_build()?;
        Ok(store)
    }

    /// Builds the search index from the rows on a thread of its own. Nothing writes until
    /// it is done (writers wait in `wait_for_index`), so it reads a stable state.
    fn start_index_build(&self) -> Result<(), StoreError> {
        let Some(pool) = &self.readers else {
            return Ok(());
        };
        let conn = Connection::open_with_flags(
            &pool.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(store_error)?;
        let index = Arc::clone(&self.index);
        let state = Arc::clone(&self.index_state);
        let seen_writes = Arc::clone(&self.seen_writes);
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
        let (state, ready) = &*self.index_state;
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
        if (1..SCHEMA_VERSION).contains(&version) {
            conn.execute_batch(MIGRATION_FROM_V1_V2)?;
        }
        conn.execute_batch(SCHEMA)?;
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('writes', 0)",
            [],
        )?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        let writes = committed_writes(&conn)?;
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
        // In memory the index is built here (there is nothing to read yet, and no reader
        // connection to read it with); a file store builds it on a thread (`open`).
        let (index, state) = if readers.is_some() {
            (SearchIndex::default(), IndexState::Building)
        } else {
            (build_index(&conn)?, IndexState::Ready)
        };
        Ok(Self {
            writer: Mutex::new(Writer {
                conn,
                batch: 0,
                open: false,
                jobs: 0,
                opened_at: Instant::now(),
                committer_scheduled: false,
                pending: Vec::new(),
            }),
            waiting: AtomicUsize::new(0),
            commits: Mutex::new(Commits::default()),
            committed: Condvar::new(),
            committed_below: tokio::sync::watch::Sender::new(0),
            group_commit,
            stop_checkpointer: Arc::new(AtomicBool::new(false)),
            readers,
            next_id: AtomicU64::new(next),
            scan_budget: DEFAULT_SCAN_BUDGET,
            index: Arc::new(RwLock::new(index)),
            index_state: Arc::new((Mutex::new(state), Condvar::new())),
            seen_writes: Arc::new(AtomicI64::new(writes)),
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

    /// Sets how many entries a search sorted by creation may walk in that order before it
    /// sorts its matches instead (0: always sort the matches; `usize::MAX`: always walk).
    /// Results are the same either way; tests use both.
    pub fn with_scan_budget(mut self, rows: usize) -> Self {
        self.scan_budget = rows;
        self
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
    ///
    /// A staged write (see `crate::crm::staging`) leaves the batch open and returns at
    /// once; its caller has the batch committed (`commit_group`) and waits for that
    /// (`group_outcome`) before acknowledging.
    fn write<T>(
        &self,
        write: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let staged = self.group_commit && staging::is_staging();
        self.wait_for_index()?;
        if !staged {
            self.waiting.fetch_add(1, Ordering::SeqCst);
        }
        let mut writer = if staged {
            match self.writer_for_staged_write() {
                Some(writer) => writer,
                None => {
                    staging::report_busy();
                    return Err(StoreError::Unavailable("the writer is busy".to_owned()));
                }
            }
        } else {
            let writer = lock(&self.writer);
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            writer
        };
        if !writer.open {
            writer.conn.execute_batch("BEGIN IMMEDIATE")?;
            writer.open = true;
            writer.opened_at = Instant::now();
        }
        writer.conn.execute_batch("SAVEPOINT request")?;
        let queued_before = writer.pending.len();
        let result = {
            let Writer { conn, pending, .. } = &mut *writer;
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                write(&mut Tx {
                    conn,
                    pending,
                    index: self.index.as_ref(),
                })
            }))
        };
        let result = match result {
            Ok(result) => result,
            Err(panic) => {
                // Undo what the panicking write did before the batch's next write or
                // commit could keep half of it.
                writer.pending.truncate(queued_before);
                let undone = !writer.conn.is_autocommit()
                    && writer
                        .conn
                        .execute_batch("ROLLBACK TO request; RELEASE request")
                        .is_ok();
                if !undone {
                    let _ = writer.conn.execute_batch("ROLLBACK");
                    writer.pending.clear();
                    self.finish_batch(&mut writer, Err("a write panicked".to_owned()));
                }
                drop(writer);
                std::panic::resume_unwind(panic);
            }
        };
        if writer.conn.is_autocommit() {
            // SQLite rolled the whole transaction back itself (it does on a full disk or an
            // I/O error): every request of this batch is lost, so all of them fail.
            let reason = match &result {
                Err(error) => error.to_string(),
                Ok(_) => "the transaction was rolled back".to_owned(),
            };
            writer.pending.clear();
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
            writer.pending.truncate(queued_before);
            "ROLLBACK TO request; RELEASE request"
        };
        if let Err(error) = writer.conn.execute_batch(undo) {
            // The transaction is in an unknown state: abandon the whole batch.
            let _ = writer.conn.execute_batch("ROLLBACK");
            writer.pending.clear();
            self.finish_batch(&mut writer, Err(error.to_string()));
            return Err(StoreError::Unavailable(error.to_string()));
        }
        let batch = writer.batch;
        if staged {
            let unscheduled = !writer.committer_scheduled;
            writer.committer_scheduled = true;
            drop(writer);
            staging::record(batch, unscheduled);
            return result;
        }
        let others_waiting = self.waiting.load(Ordering::SeqCst) > 0;
        let batch_full = writer.jobs >= GROUP_COMMIT_MAX_REQUESTS
            || writer.opened_at.elapsed() >= GROUP_COMMIT_MAX_DELAY;
        if !self.group_commit || !others_waiting || batch_full {
            let committed = self.commit(&mut writer);
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

    /// Commits the open batch and applies its index changes under the index's write lock,
    /// so no search sees the rows without the index or the reverse.
    fn commit(&self, writer: &mut Writer) -> Result<(), String> {
        let mut index = write_index(&self.index);
        let committed = count_write(&writer.conn)
            .and_then(|writes| writer.conn.execute_batch("COMMIT").map(|()| writes));
        match committed {
            Ok(writes) => {
                self.seen_writes.store(writes, Ordering::SeqCst);
                for op in writer.pending.drain(..) {
                    index.apply(op);
                }
                Ok(())
            }
            Err(error) => {
                let _ = writer.conn.execute_batch("ROLLBACK");
                writer.pending.clear();
                Err(error.to_string())
            }
        }
    }

    /// Closes the open batch and tells its waiting writers how it ended.
    fn finish_batch(&self, writer: &mut Writer, outcome: Result<(), String>) {
        let batch = writer.batch;
        writer.open = false;
        writer.jobs = 0;
        writer.committer_scheduled = false;
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
        self.committed_below.send_replace(batch + 1);
    }

    /// The writer connection for a staged write, or `None` when another write has held it
    /// for a while (a fixture load, a large import) and the staged write's work may still
    /// move to the blocking pool rather than hold up the thread serving requests.
    fn writer_for_staged_write(&self) -> Option<MutexGuard<'_, Writer>> {
        let deadline = Instant::now() + STAGED_WRITE_MAX_WAIT;
        loop {
            match self.writer.try_lock() {
                Ok(writer) => return Some(writer),
                Err(std::sync::TryLockError::Poisoned(poisoned)) => {
                    return Some(poisoned.into_inner())
                }
                Err(std::sync::TryLockError::WouldBlock) => {
                    if !staging::may_report_busy() {
                        return Some(lock(&self.writer));
                    }
                    if Instant::now() >= deadline {
                        return None;
                    }
                    std::thread::yield_now();
                }
            }
        }
    }

    /// Commits `batch` if it is still the open one.
    fn commit_if_open(&self, batch: u64) {
        let mut writer = lock(&self.writer);
        if writer.open && writer.batch == batch {
            let committed = self.commit(&mut writer);
            self.finish_batch(&mut writer, committed);
        }
    }

    /// How `batch` ended, once it has: an error when it was not committed.
    fn batch_outcome(&self, batch: u64) -> Result<(), StoreError> {
        match lock(&self.commits).failed.get(&batch) {
            Some(reason) => Err(StoreError::Unavailable(reason.clone())),
            None => Ok(()),
        }
    }

    /// Waits until `batch` is committed (or failed). If the writer expected to commit it
    /// has vanished (a panic), commits it here.
    fn await_commit(&self, batch: u64) -> Result<(), StoreError> {
        let mut commits = lock(&self.commits);
        loop {
            if commits.next_uncommitted > batch {
                drop(commits);
                return self.batch_outcome(batch);
            }
            let (guard, timeout) = self
                .committed
                .wait_timeout(commits, GROUP_COMMIT_RESCUE_AFTER)
                .unwrap_or_else(|e| e.into_inner());
            commits = guard;
            if timeout.timed_out() && commits.next_uncommitted <= batch {
                drop(commits);
                self.commit_if_open(batch);
                commits = lock(&self.commits);
            }
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.stop_checkpointer.store(true, Ordering::Relaxed);
        self.save_index_snapshot();
    }
}

impl SqliteStore {
    /// Saves the search index next to the database, so the next start-up reads it instead
    /// of rebuilding it from every row. Skipped when the index is not built, or when
    /// another process wrote since this store's index last saw the rows.
    fn save_index_snapshot(&self) {
        let Some(pool) = &self.readers else { return };
        if *lock(&self.index_state.0) != IndexState::Ready {
            return;
        }
        let mut writer = lock(&self.writer);
        if writer.open {
            // Nobody waits for a batch any more: its writes were never acknowledged.
            let _ = writer.conn.execute_batch("ROLLBACK");
            writer.pending.clear();
            writer.open = false;
        }
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

/// Where the search index is saved: next to the database file.
fn snapshot_path(database: &Path) -> PathBuf {
    database.with_extension("index")
}

/// The count of committed write transactions (`meta.writes`).
fn committed_writes(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT value FROM meta WHERE key = 'writes'", [], |r| {
        r.get(0)
    })
    .optional()
    .map(|writes| writes.unwrap_or(0))
}

/// Counts the open transaction as one more write (in the transaction itself).
fn count_write(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("UPDATE meta SET value = value + 1 WHERE key = 'writes' RETURNING value")?
        .query_row([], |r| r.get(0))
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

fn call_from_row(row: &Row<'_>) -> rusqlite::Result<Record> {
    let id: i64 = row.get(0)?;
    let properties: BTreeMap<String, String> = json_column(row, 1)?;
    Ok(Record {
        id: id as RecordId,
        properties,
        created_at: row.get(2)?,
        updated_at: row.get(3)?,
        archived_at: row.get(4)?,
    })
}

fn properties_json(call: &Record) -> String {
    // A map of strings always serialises.
    serde_json::to_string(&call.properties).unwrap_or_else(|_| "{}".to_owned())
}

fn placeholders(count: usize) -> String {
    vec!["?"; count].join(",")
}

/// The values of `properties` that search can see: those of properties the schema defines,
/// typed by it.
fn entries<'a>(
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
fn diff(
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

fn record_history(
    tx: &Connection,
    call_id: RecordId,
    changes: &[PropertyChange],
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let changes = history::encode(changes)
        .map_err(|e| StoreError::Backend(format!("cannot encode history: {e}")))?;
    tx.prepare_cached("INSERT INTO call_history (call_id, changes) VALUES (?1, ?2)")?
        .execute(params![call_id as i64, changes])?;
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
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('id_high_water', ?1)
         ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
    )?
    .execute(params![high_water])?;
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
                "SELECT {CALL_COLUMNS} FROM calls c WHERE c.id = ?1 AND c.portal = ?2 AND c.archived = 0"
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

/// Inserts one association row and queues it for the index.
fn associate(tx: &mut Tx<'_>, partition: Partition, a: &Association) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO call_associations (call_id, kind, to_id, type_id, portal, category) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        a.from_id as i64,
        a.to_type.singular,
        a.to_id as i64,
        a.type_id,
        partition.key(),
        a.category.as_str()
    ])?;
    tx.pending.push(IndexOp::AddAssociation {
        partition,
        call_id: a.from_id,
        kind: a.to_type,
        to_id: a.to_id,
        type_id: a.type_id,
    });
    Ok(())
}

/// Builds the search index from the stored rows (at start-up), typing each partition's
/// values by its schema: its type's built-in properties and the portal's own live
/// definitions for that type.
fn build_index(conn: &Connection) -> Result<SearchIndex, StoreError> {
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

impl RecordStore for SqliteStore {
    fn allocate_ids(&self, count: usize) -> Result<Vec<RecordId>, StoreError> {
        let first = self.next_id.fetch_add(count as u64, Ordering::SeqCst);
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
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|conn| fetch_calls(conn, partition, ids))
    }

    fn list_records(
        &self,
        partition: Partition,
        archived: bool,
        from_id: RecordId,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {CALL_COLUMNS} FROM calls c
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
                call_from_row,
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
        let writes: Vec<(i64, String)> = self.read(|conn| {
            let sql = format!(
                "SELECT h.call_id, h.changes FROM call_history h JOIN calls c ON c.id = h.call_id
                 WHERE c.portal = ? AND h.call_id IN ({}) ORDER BY h.call_id, h.id DESC",
                placeholders(ids.len())
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let params = std::iter::once(partition.key()).chain(ids.iter().map(|id| *id as i64));
            let rows = statement.query_map(params_from_iter(params), |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?;
            rows.collect()
        })?;
        let mut entries = Vec::new();
        // Writes come newest first, so each property's entries do too.
        for (call_id, changes) in writes {
            let changes = history::decode(&changes)
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
                    entries.push((call_id as RecordId, name, entry));
                }
            }
        }
        Ok(entries)
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
        let index = read_index(&self.index);
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
        let high_water = calls.iter().map(|c| c.call.id).max().unwrap_or(0);
        self.write(|tx| {
            for restored in calls {
                let call = &restored.call;
                let id = call.id as i64;
                let owner: Option<i64> = tx
                    .prepare_cached("SELECT portal FROM calls WHERE id = ?1")?
                    .query_row(params![id], |r| r.get(0))
                    .optional()?;
                match owner {
                    Some(owner) if owner != partition.key() => {
                        return Err(StoreError::IdTaken { id: call.id });
                    }
                    Some(_) => delete_call(tx, partition, call.id)?,
                    None => {}
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
            tx.prepare_cached(
                "INSERT INTO meta (key, value) VALUES ('id_high_water', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
            )?
            .execute(params![high_water as i64])?;
            Ok(())
        })?;
        self.next_id.fetch_max(high_water + 1, Ordering::SeqCst);
        Ok(())
    }

    fn search(&self, partition: Partition, plan: &SearchPlan) -> Result<SearchHits, StoreError> {
        self.wait_for_index()?;
        self.retype_if_needed(partition, plan)?;
        // In memory the only connection is the writer's: take it before the index, in the
        // order writers take them.
        let memory_writer = self.readers.is_none().then(|| lock(&self.writer));
        // Held while the page's rows are read, so no commit lands between index and rows.
        let index = read_index(&self.index);
        let Some(partition_index) = index.partition(partition) else {
            return Ok(SearchHits {
                total: 0,
                calls: Vec::new(),
            });
        };
        let page = partition_index.search(plan, self.scan_budget);
        let calls = match &memory_writer {
            Some(writer) => fetch_calls(&writer.conn, partition, &page.ids)?,
            None => self.read(|conn| fetch_calls(conn, partition, &page.ids))?,
        };
        let mut by_id: HashMap<RecordId, Record> = calls.into_iter().map(|c| (c.id, c)).collect();
        let calls = page.ids.iter().filter_map(|id| by_id.remove(id)).collect();
        Ok(SearchHits {
            total: page.total,
            calls,
        })
    }
}

impl AssociationStore for SqliteStore {
    fn associations(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<Vec<Association>, StoreError> {
        self.read(|conn| {
            let sql = format!(
                "SELECT call_id, kind, to_id, type_id, category FROM call_associations
                 WHERE portal = ? AND call_id IN ({}) ORDER BY call_id, kind, to_id, type_id",
                placeholders(ids.len())
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let params = std::iter::once(partition.key()).chain(ids.iter().map(|id| *id as i64));
            let rows = statement.query_map(params_from_iter(params), association_from_row)?;
            rows.filter_map(|row| row.transpose()).collect()
        })
    }

    fn replace_associations(
        &self,
        partition: Partition,
        call_id: RecordId,
        kind: ObjectType,
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
                kind.singular,
                to_id as i64,
                partition.key()
            ])?;
            tx.pending.push(IndexOp::RemoveAssociation {
                partition,
                call_id,
                kind,
                to_id,
                type_id: None,
            });
            for association in associations {
                associate(tx, partition, association)?;
            }
            Ok(())
        })
    }

    fn add_associations(
        &self,
        partition: Partition,
        associations: &[Association],
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            for association in associations {
                associate(tx, partition, association)?;
            }
            Ok(())
        })
    }

    fn remove_associations(
        &self,
        partition: Partition,
        call_id: RecordId,
        kind: ObjectType,
        to_id: u64,
        type_ids: Option<&[u32]>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let pair = params![call_id as i64, kind.singular, to_id as i64, partition.key()];
            match type_ids {
                None => {
                    tx.prepare_cached(
                        "DELETE FROM call_associations
                         WHERE call_id = ?1 AND kind = ?2 AND to_id = ?3 AND portal = ?4",
                    )?
                    .execute(pair)?;
                    tx.pending.push(IndexOp::RemoveAssociation {
                        partition,
                        call_id,
                        kind,
                        to_id,
                        type_id: None,
                    });
                }
                Some(type_ids) => {
                    let mut delete = tx.prepare_cached(
                        "DELETE FROM call_associations
                         WHERE call_id = ?1 AND kind = ?2 AND to_id = ?3 AND portal = ?4 AND type_id = ?5",
                    )?;
                    for type_id in type_ids {
                        delete.execute(params![
                            call_id as i64,
                            kind.singular,
                            to_id as i64,
                            partition.key(),
                            type_id
                        ])?;
                    }
                    drop(delete);
                    for type_id in type_ids {
                        tx.pending.push(IndexOp::RemoveAssociation {
                            partition,
                            call_id,
                            kind,
                            to_id,
                            type_id: Some(*type_id),
                        });
                    }
                }
            }
            Ok(())
        })
    }

    fn associations_to(
        &self,
        partition: Partition,
        kind: ObjectType,
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
                [partition.key().into(), kind.singular.to_owned().into()]
                    .into_iter()
                    .chain(to_ids.iter().map(|id| (*id as i64).into()))
                    .collect();
            let rows = statement.query_map(params_from_iter(params), association_from_row)?;
            rows.filter_map(|row| row.transpose()).collect()
        })
    }
}

impl SchemaStore for SqliteStore {
    fn purge_property_values(&self, partition: Partition, name: &str) -> Result<(), StoreError> {
        // Property names are letters, digits and `_`, safe inside a quoted JSON path.
        let path = format!("$.\"{name}\"");
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE calls SET properties = json_remove(properties, ?1)
                 WHERE portal = ?2 AND json_type(properties, ?1) IS NOT NULL",
            )?
            .execute(params![path, partition.key()])?;
            tx.pending.push(IndexOp::DropProperty {
                partition,
                name: name.to_owned(),
            });
            Ok(())
        })
    }

    fn custom_properties(&self, partition: Partition) -> Result<Vec<PropertyRecord>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT definition, created_at, updated_at, archived_at FROM property_definitions
                 WHERE portal = ?1 ORDER BY name",
            )?;
            let rows = statement.query_map(params![partition.key()], |row| {
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

    fn save_property(
        &self,
        partition: Partition,
        property: &PropertyRecord,
    ) -> Result<(), StoreError> {
        let definition = to_json(&property.definition)?;
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO property_definitions
                 (portal, name, definition, created_at, updated_at, archived_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                partition.key(),
                property.definition.name,
                definition,
                property.created_at,
                property.updated_at,
                property.archived_at
            ])?;
            Ok(())
        })
    }

    fn custom_groups(&self, partition: Partition) -> Result<Vec<PropertyGroup>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT definition FROM property_groups WHERE portal = ?1 ORDER BY name",
            )?;
            let rows = statement.query_map(params![partition.key()], |row| json_column(row, 0))?;
            rows.collect()
        })
    }

    fn save_group(&self, partition: Partition, group: &PropertyGroup) -> Result<(), StoreError> {
        let definition = to_json(group)?;
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO property_groups (portal, name, definition) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![partition.key(), group.name, definition])?;
            Ok(())
        })
    }

    fn custom_pipelines(&self, partition: Partition) -> Result<Vec<Pipeline>, StoreError> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached("SELECT definition FROM pipelines WHERE portal = ?1 ORDER BY id")?;
            let rows = statement.query_map(params![partition.key()], |row| json_column(row, 0))?;
            rows.collect()
        })
    }

    fn save_pipeline(&self, partition: Partition, pipeline: &Pipeline) -> Result<(), StoreError> {
        let definition = to_json(pipeline)?;
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO pipelines (portal, id, definition) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![partition.key(), pipeline.id, definition])?;
            Ok(())
        })
    }
}

impl AdminStore for SqliteStore {
    fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())))
    }

    fn reset_portal(&self, portal: PortalId) -> Result<(), StoreError> {
        self.write(|tx| {
            // The `portal` columns hold partition keys: every type's of the portal go.
            let keys = Partition::key_list_of(portal);
            // History rows carry no portal: remove them through the portal's calls first.
            tx.prepare(&format!(
                "DELETE FROM call_history WHERE call_id IN
                 (SELECT id FROM calls WHERE portal IN ({keys}))"
            ))?
            .execute([])?;
            for table in [
                "call_associations",
                "property_definitions",
                "property_groups",
                "pipelines",
                "calls",
            ] {
                tx.prepare(&format!("DELETE FROM {table} WHERE portal IN ({keys})"))?
                    .execute([])?;
            }
            tx.pending.push(IndexOp::ResetPortal(portal));
            Ok(())
        })
    }

    fn portals(&self) -> Result<Vec<PortalId>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT portal & 4294967295 FROM calls
                 UNION SELECT portal & 4294967295 FROM property_definitions
                 UNION SELECT portal & 4294967295 FROM property_groups
                 UNION SELECT portal & 4294967295 FROM pipelines ORDER BY 1",
            )?;
            let rows = statement.query_map([], |row| row.get(0))?;
            rows.collect()
        })
    }
}

impl Scheduling for SqliteStore {
    fn stages_writes(&self) -> bool {
        // Until the index is built a write would wait for it: not on a serving thread.
        self.group_commit && *lock(&self.index_state.0) == IndexState::Ready
    }

    fn commit_group(&self, group: u64) {
        self.commit_if_open(group);
    }

    fn group_outcome(&self, group: u64) -> GroupOutcome<'_> {
        Box::pin(async move {
            let mut ended = self.committed_below.subscribe();
            loop {
                let wait = ended.wait_for(|below| *below > group);
                match tokio::time::timeout(GROUP_COMMIT_RESCUE_AFTER, wait).await {
                    Ok(Ok(_)) => return self.batch_outcome(group),
                    // The sender lives as long as the store, which outlives this borrow.
                    Ok(Err(_)) => return Err(StoreError::Unavailable("the store closed".into())),
                    // Its committer vanished (a runtime shutting down): commit it here.
                    Err(_) => self.commit_if_open(group),
                }
            }
        })
    }

    fn reads_by_id_are_local(&self) -> bool {
        // On a file store a read by id is a primary-key lookup on a pooled reader connection
        // in this process: it never waits for the writer (WAL) or for the search index. An
        // in-memory store reads through the writer's connection, which a large write may hold.
        self.readers.is_some()
    }
}

impl SqliteStore {
    /// Approximate heap bytes of the in-memory search index (for the performance notes).
    pub fn index_heap_bytes(&self) -> usize {
        let _ = self.wait_for_index();
        read_index(&self.index).heap_bytes()
    }

    /// Re-types a property's index entries when its definition's type no longer matches
    /// the one they were computed with (a property redefined with another type).
    fn retype_if_needed(&self, partition: Partition, plan: &SearchPlan) -> Result<(), StoreError> {
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
            let index = read_index(&self.index);
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
            let memory_writer = self.readers.is_none().then(|| lock(&self.writer));
            let mut index = write_index(&self.index);
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

/// The calls of `ids` in the portal, in any order.
fn fetch_calls(
    conn: &Connection,
    partition: Partition,
    ids: &[RecordId],
) -> rusqlite::Result<Vec<Record>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // `+c.portal` keeps the planner on primary-key lookups: with the portal index it would
    // walk every call of the portal to find a page of 100.
    let sql = format!(
        "SELECT {CALL_COLUMNS} FROM calls c WHERE +c.portal = ? AND c.id IN ({})",
        placeholders(ids.len())
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let params = std::iter::once(partition.key()).chain(ids.iter().map(|id| *id as i64));
    let rows = statement.query_map(params_from_iter(params), call_from_row)?;
    rows.collect()
}

fn association_from_row(row: &Row<'_>) -> rusqlite::Result<Option<Association>> {
    let call_id: i64 = row.get(0)?;
    let kind: String = row.get(1)?;
    let to_id: i64 = row.get(2)?;
    let category: String = row.get(4)?;
    let (Some(kind), Some(category)) = (
        ObjectType::parse(&kind),
        AssociationCategory::parse(&category),
    ) else {
        return Ok(None);
    };
    Ok(Some(Association {
        from_id: call_id as RecordId,
        to_type: kind,
        to_id: to_id as u64,
        type_id: row.get(3)?,
        category,
    }))
}
