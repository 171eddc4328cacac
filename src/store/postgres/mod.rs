//! The shared store: PostgreSQL, so several stateless hubcalls servers can serve one
//! database.
//!
//! The layout (`ddl`) mirrors the embedded store's: `calls` holds each call's state as
//! JSONB, `call_values` indexes live calls' values the way search compares them (their
//! words as a `tsvector`, see `words`), `call_history` keeps one row per write,
//! `call_associations` one row per association. Nothing is cached in the process except
//! connections and schema versions (kept current by notifications), so a write
//! acknowledged by one server is what every other server reads next.
//!
//! Concurrency between servers:
//! - ids come from a sequence, unique across servers;
//! - an update writes a call only if its row version is still the one it read, and
//!   otherwise applies the change again under a row lock (`updates`), so concurrent
//!   read-modify-writes of one call serialise and no property change or history entry is
//!   lost;
//! - a unique-value check takes a transaction-scoped advisory lock on (portal, property), so
//!   two servers cannot both see a value as free and both write it.
//!
//! This file connects and runs transactions; the ports are implemented one topic per file:
//! `records` (creates in `inserts`, shared by concurrent requests in `insert_groups`;
//! updates in `updates`; the value index in `values` and `words`; the search compiler in
//! `search`), `history`, `associations`, `schema`, `admin`.

use std::time::Duration;

use postgres::error::SqlState;

use crate::crm::error::StoreError;
use crate::crm::ports::Scheduling;
use crate::crm::record::RecordId;

mod admin;
mod associations;
mod async_reads;
mod ddl;
mod history;
mod id_range;
mod insert_groups;
mod inserts;
mod records;
mod schema;
mod schema_versions;
mod search;
mod session;
mod settings;
mod statistics;
mod updates;
mod values;
mod words;

pub use settings::PostgresSettings;

use async_reads::SharedConnections;
use insert_groups::InsertGroups;
use schema_versions::SchemaVersions;
use session::{Db, Manager, Tx};
use statistics::StatisticsKeeper;

type Pool = r2d2::Pool<Manager>;

pub struct PostgresStore {
    /// Always `Some` until drop (see `Drop`).
    pool: Option<Pool>,
    schema_versions: SchemaVersions,
    /// Where reads by id are awaited (`async_reads`).
    shared_connections: SharedConnections,
    /// Where searches are awaited: apart from reads by id, so that a get never queues on a
    /// connection behind a search, which takes a hundred times longer.
    search_connections: SharedConnections,
    inserts: InsertGroups,
    _statistics: StatisticsKeeper,
}

fn store_error(error: postgres::Error) -> StoreError {
    if let Some(db) = error.as_db_error() {
        let code = db.code();
        // Out of space, connection limits, timeouts, lock and serialisation failures, a
        // server shutting down: the client may retry, so these are "unavailable".
        let transient = code == &SqlState::DISK_FULL
            || code == &SqlState::OUT_OF_MEMORY
            || code == &SqlState::TOO_MANY_CONNECTIONS
            || code == &SqlState::QUERY_CANCELED
            || code == &SqlState::T_R_SERIALIZATION_FAILURE
            || code == &SqlState::T_R_DEADLOCK_DETECTED
            || code == &SqlState::LOCK_NOT_AVAILABLE
            || code == &SqlState::ADMIN_SHUTDOWN
            || code == &SqlState::CANNOT_CONNECT_NOW
            || code == &SqlState::READ_ONLY_SQL_TRANSACTION
            || code.code().starts_with("08");
        return if transient {
            StoreError::Unavailable(db.message().to_owned())
        } else {
            StoreError::Backend(format!("{}: {}", code.code(), db.message()))
        };
    }
    // No answer from the server at all: closed connection, network, I/O.
    StoreError::Unavailable(error.to_string())
}

impl From<postgres::Error> for StoreError {
    fn from(error: postgres::Error) -> Self {
        store_error(error)
    }
}

/// How many create statements run at once: an eighth of the pool (two by default), so
/// creates queue up and share statements under load, while reads and updates keep
/// connections of their own. On a 2-core machine one or two beat four or eight (W1:
/// docs/performance.md); a second lets one statement's commit overlap the next.
fn insert_slots(pool_size: u32) -> usize {
    (pool_size as usize / 8).max(1)
}

/// A schema name is put into connection options and DDL, so it is kept to what needs no
/// quoting anywhere.
fn valid_schema_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && !name.starts_with("pg_")
}

impl PostgresStore {
    /// Connects, creates the schema if it is missing and applies pending migrations.
    /// Blocks: call it from a thread that is not running async tasks.
    pub fn open(settings: &PostgresSettings) -> Result<Self, StoreError> {
        // One configuration for both clients, the synchronous one of the pool and the
        // asynchronous one of `async_reads`, but for how each plans searches.
        let mut config: tokio_postgres::Config = settings
            .url
            .parse()
            .map_err(|e| StoreError::Unavailable(format!("invalid database URL: {e}")))?;
        config.connect_timeout(Duration::from_secs(settings.connect_timeout_secs.max(1)));
        config.application_name("hubcalls");
        // No JIT: it compiles queries whose estimated cost is high (a count over many
        // matches), which costs milliseconds of CPU per search and wins nothing on
        // statements this short.
        let mut options = format!(
            "-c statement_timeout={} -c jit=off",
            settings.statement_timeout_ms
        );
        if let Some(schema) = &settings.schema {
            if !valid_schema_name(schema) {
                return Err(StoreError::Unavailable(format!(
                    "invalid database schema name {schema:?}: use lower-case letters, digits and _"
                )));
            }
            options.push_str(&format!(" -c search_path={schema}"));
        }
        let timeouts = (
            Duration::from_millis(settings.statement_timeout_ms),
            Duration::from_secs(settings.connect_timeout_secs.max(1)),
        );
        // Awaited searches run statements built for their values, planned for them
        // (PostgreSQL's default for a statement run once), with the settings a search's
        // snapshot has on the pool (`Db::in_snapshot`). Without memoize nodes, which
        // never hit in a search's probes (each call id is probed once) and cost W4 a
        // tenth of its throughput in planning and memory.
        let mut search_config = config.clone();
        search_config.options(format!("{options} -c work_mem=32MB -c enable_memoize=off"));
        let search_connections = SharedConnections::new(search_config, timeouts.0, timeouts.1);
        // Generic plans: the store's prepared statements look rows up by key, where the
        // values never change the plan, and PostgreSQL's default re-plans a statement for
        // every execution when a custom plan looks cheaper, which it does for statements
        // over parameter arrays (a quarter of PostgreSQL's CPU in an update). Searches on
        // the pool choose custom plans for themselves (`Db::in_snapshot`).
        config.options(format!("{options} -c plan_cache_mode=force_generic_plan"));
        let shared_connections = SharedConnections::new(config.clone(), timeouts.0, timeouts.1);
        let config = postgres::Config::from(config);
        let manager = Manager::new(config.clone());
        let pool = r2d2::Pool::builder()
            .max_size(settings.pool_size.max(1))
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(settings.connect_timeout_secs.max(1)))
            .build_unchecked(manager);
        let store = Self {
            pool: Some(pool),
            schema_versions: SchemaVersions::start(config.clone()),
            shared_connections,
            search_connections,
            inserts: InsertGroups::new(insert_slots(settings.pool_size)),
            _statistics: StatisticsKeeper::start(config),
        };
        store.prepare(settings.schema.as_deref())?;
        Ok(store)
    }

    fn prepare(&self, schema: Option<&str>) -> Result<(), StoreError> {
        let mut connection = self.connection()?;
        let mut tx = connection.client().transaction()?;
        if let Some(schema) = schema {
            // Under the migration lock's key, so servers starting together do not race to
            // create it.
            tx.execute("SELECT pg_advisory_xact_lock(7519)", &[])?;
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))?;
        }
        ddl::migrate(&mut tx).map_err(StoreError::Unavailable)?;
        tx.commit()?;
        Ok(())
    }

    fn pool(&self) -> &Pool {
        // Set in `open`, taken only by `drop`.
        self.pool
            .as_ref()
            .expect("the pool lives as long as the store")
    }

    fn connection(&self) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
        self.pool()
            .get()
            .map_err(|e| StoreError::Unavailable(format!("no database connection available: {e}")))
    }

    fn read<T>(
        &self,
        work: impl FnOnce(&mut Db<'_, postgres::Client>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.connection()?.outside_transaction(work)
    }

    /// Runs writes outside a transaction, each statement committing on its own: a create's
    /// single statement (atomic by itself; a transaction around it would cost two more
    /// round trips), or an update's conditional write (see `updates` for why that is safe).
    fn autocommit<T>(
        &self,
        work: impl FnOnce(&mut Db<'_, postgres::Client>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.connection()?.outside_transaction(work)
    }

    /// Runs `work` in one transaction: committed when it returns `Ok`, rolled back otherwise.
    fn write<T>(
        &self,
        work: impl FnOnce(&mut Tx<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.connection()?.write(work)
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // The synchronous client closes its connection by blocking on its own runtime,
        // which panics inside an async context; close the pool on a plain thread.
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::Builder::new()
                .name("hubcalls-pg-close".into())
                .spawn(move || drop(pool));
        }
    }
}

fn ids_param(ids: &[RecordId]) -> Vec<i64> {
    ids.iter()
        .map(|id| (*id).min(i64::MAX as u64) as i64)
        .collect()
}

/// Every call runs on the blocking pool and every write commits before it returns: the
/// synchronous client would hold an async worker for a network round trip. Reads by id
/// have an asynchronous client of their own (`async_reads`).
impl Scheduling for PostgresStore {
    fn async_reads(&self) -> Option<&dyn crate::crm::ports::AsyncReads> {
        Some(self)
    }

    /// As many reads as the pool has connections: a read beyond them would hold a thread
    /// only to wait for one.
    fn parallel_reads(&self) -> usize {
        self.pool().max_size() as usize
    }
}
