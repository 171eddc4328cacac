//! The SQLite layout: tables, their versions and upgrades, and connection settings.

use rusqlite::{Connection, OptionalExtension};

use crate::crm::error::StoreError;

use super::store_error;

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
CREATE TABLE IF NOT EXISTS index_journal (
    id  INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS index_journal_events (
    seq      INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    key      INTEGER NOT NULL,
    property TEXT
);
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
/// Version 5 journals, in each write transaction, which records' index entries it changed
/// (`index_journal`, see `index_journal.rs`): a version 4 binary would write without
/// journaling, and a saved index would then miss its writes.
const SCHEMA_VERSION: i64 = 5;

/// Upgrades versions 1 and 2, which indexed every value and token as rows of their own
/// (`call_values`, `call_tokens`) and the created order (`calls_by_created`): the in-memory
/// index replaces them, and the rows it is rebuilt from (`calls`) are the same in every
/// version. The freed pages are reused by later writes (the file does not shrink).
const MIGRATION_FROM_V1_V2: &str = "DROP TABLE IF EXISTS call_values;
     DROP TABLE IF EXISTS call_tokens;
     DROP INDEX IF EXISTS calls_by_created;";

/// Brings the database to the layout this code reads and writes (creating it in an empty
/// file), and refuses one that a newer hubcalls has written.
pub(super) fn migrate(conn: &Connection) -> Result<(), StoreError> {
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
    // The journal covers writes from this count on. Writes before it were made by a
    // version that did not journal: a saved index older than them cannot be brought up to
    // date, only one saved at this count or later.
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value)
         SELECT 'journal_from', value FROM meta WHERE key = 'writes'",
        [],
    )?;
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(())
}

/// The highest id the store has handed out or restored: ids allocated from now on are above
/// it, even when the record that had it is gone.
pub(super) fn last_id(conn: &Connection) -> Result<u64, StoreError> {
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
    Ok(high_water.unwrap_or(0).max(max_id.unwrap_or(0)) as u64)
}

pub(super) fn configure(conn: &Connection) -> rusqlite::Result<()> {
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

/// The count of committed write transactions (`meta.writes`).
pub(super) fn committed_writes(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT value FROM meta WHERE key = 'writes'", [], |r| {
        r.get(0)
    })
    .optional()
    .map(|writes| writes.unwrap_or(0))
}

/// Counts the open transaction as one more write (in the transaction itself).
pub(super) fn count_write(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("UPDATE meta SET value = value + 1 WHERE key = 'writes' RETURNING value")?
        .query_row([], |r| r.get(0))
}
