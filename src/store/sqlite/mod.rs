//! The embedded store: SQLite in WAL mode, one writer connection and a pool of readers,
//! and an in-memory search index.
//!
//! Layout (`ddl`): `calls` holds each call's current state (properties as a JSON object, so
//! a read is one row); `call_history` keeps one row per write of a call (its changes as JSON,
//! see `history`, so a create is one row, not one per property); `call_associations` one
//! row per association. A create thus writes two rows (plus its associations), not the ~100
//! index entries of layout version 2.
//!
//! Search, unique-value checks and `find_by_value` are served by [`SearchIndex`], rebuilt
//! from `calls` and `call_associations` at start-up (`indexing`) and kept in step by the
//! write path: each write queues [`index::IndexOp`]s, applied right after the COMMIT that
//! makes them durable (`group_commit`).
//!
//! This file opens the store and reads; the ports are implemented one topic per file:
//! `records`, `history`, `associations`, `schema`, `admin`, and `group_commit` (scheduling).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Row};

use crate::crm::error::StoreError;
use crate::crm::record::Projection;
use crate::crm::staging::Staging;

use super::rows::{properties_from_json, FIRST_RECORD_ID};

use self::ddl::{committed_writes, configure};
use self::group_commit::{Commits, Writer};
use self::index::SearchIndex;
use self::indexing::build_index;
pub use self::indexing::IndexOrigin;

mod admin;
mod associations;
mod ddl;
mod group_commit;
mod history;
mod index;
mod index_journal;
mod indexing;
mod records;
mod schema;

/// A handle on an embedded store. Handles share one [`Engine`]: the store's own handle and
/// the staged views it hands out (see `crate::crm::staging`), which differ only in where
/// their writes go.
pub struct SqliteStore {
    engine: Arc<Engine>,
    /// Entries a search may walk in created order before sorting its matches is preferred.
    scan_budget: usize,
    /// Where this handle's writes are staged; `None`: each write commits before it returns.
    staging: Option<Arc<Staging>>,
}

/// The database, its writer and readers, and the search index: one per store, shared by its
/// handles, and closed (checkpointer stopped, index saved) when the last handle goes.
struct Engine {
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
    /// Committed state only (see the module notes). Writers take it for writing only around
    /// COMMIT; a search holds it for reading while it reads its page's rows, so the rows and
    /// the index agree.
    index: Arc<RwLock<SearchIndex>>,
    /// Whether the index has been built from the rows: a file store builds it on a thread
    /// at start-up, so reads by id are served at once; searches and writes wait for it.
    index_state: Arc<(Mutex<IndexState>, Condvar)>,
    /// The count of committed write transactions (`meta.writes`) that the index reflects:
    /// the index is saved only if nobody else has written since.
    seen_writes: Arc<AtomicI64>,
    /// Where the index came from at start-up (set once it is ready).
    index_origin: Arc<Mutex<Option<IndexOrigin>>>,
    /// Index changes journaled since the index was last saved (see `index_journal`).
    index_changes: AtomicUsize,
    /// The count of writes a saved index holds, for the next commit to trim the journal to
    /// (0: nothing to trim).
    journal_trim: AtomicI64,
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

impl SqliteStore {
    /// Opens (or creates) the database file `hubcalls.sqlite3` in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let store = Self::open_without_checkpointer(dir)?;
        store.start_checkpointer();
        store.start_index_build()?;
        store.start_index_saver();
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
        ddl::migrate(&conn)?;
        let writes = committed_writes(&conn)?;
        let last = ddl::last_id(&conn)?;
        let next = (last + 1).max(FIRST_RECORD_ID);
        let group_commit = readers.is_some();
        // In memory the index is built here (there is nothing to read yet, and no reader
        // connection to read it with); a file store builds it on a thread (`open`).
        let (index, state) = if readers.is_some() {
            (SearchIndex::default(), IndexState::Building)
        } else {
            (build_index(&conn)?, IndexState::Ready)
        };
        let engine = Engine {
            writer: Mutex::new(Writer::new(conn)),
            waiting: AtomicUsize::new(0),
            commits: Mutex::new(Commits::default()),
            committed: Condvar::new(),
            committed_below: tokio::sync::watch::Sender::new(0),
            group_commit,
            stop_checkpointer: Arc::new(AtomicBool::new(false)),
            readers,
            next_id: AtomicU64::new(next),
            index: Arc::new(RwLock::new(index)),
            index_state: Arc::new((Mutex::new(state), Condvar::new())),
            seen_writes: Arc::new(AtomicI64::new(writes)),
            index_origin: Arc::new(Mutex::new(None)),
            index_changes: AtomicUsize::new(0),
            journal_trim: AtomicI64::new(0),
        };
        Ok(Self {
            engine: Arc::new(engine),
            scan_budget: DEFAULT_SCAN_BUDGET,
            staging: None,
        })
    }

    /// A handle on the same store whose writes are staged into `staging`.
    fn staged_handle(&self, staging: &Arc<Staging>) -> Self {
        Self {
            engine: Arc::clone(&self.engine),
            scan_budget: self.scan_budget,
            staging: Some(Arc::clone(staging)),
        }
    }

    /// Moves WAL checkpoints (page copies and an fsync) off the request path: a thread with
    /// its own connection checkpoints passively every `CHECKPOINT_INTERVAL` until the store
    /// is dropped.
    fn start_checkpointer(&self) {
        let Some(pool) = &self.engine.readers else {
            return;
        };
        let path = pool.path.clone();
        let stop = Arc::clone(&self.engine.stop_checkpointer);
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
            let writer = lock(&self.engine.writer);
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
        let Some(pool) = &self.engine.readers else {
            return read(&lock(&self.engine.writer).conn).map_err(store_error);
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
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop_checkpointer.store(true, Ordering::Relaxed);
        self.save_index_snapshot();
    }
}

fn placeholders(count: usize) -> String {
    vec!["?"; count].join(",")
}

/// Reads a record's properties column, only the `projection`'s, parsed where SQLite holds
/// the text.
fn properties_column(
    row: &Row<'_>,
    index: usize,
    projection: &Projection<'_>,
) -> rusqlite::Result<BTreeMap<String, String>> {
    let conversion_failure = |e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e)
    };
    let text = row
        .get_ref(index)?
        .as_bytes()
        .map_err(|e| conversion_failure(e.into()))?;
    properties_from_json(text, projection).map_err(|e| conversion_failure(e.into()))
}

/// Reads a JSON column into `T`, as a conversion failure of column `index`. The text is
/// parsed where SQLite holds it, not copied out first: every record read passes here.
fn json_column<T: serde::de::DeserializeOwned>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let conversion_failure = |e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e)
    };
    let text = row
        .get_ref(index)?
        .as_str()
        .map_err(|e| conversion_failure(e.into()))?;
    serde_json::from_str(text).map_err(|e| conversion_failure(e.into()))
}
