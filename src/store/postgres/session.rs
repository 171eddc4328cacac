//! A pooled connection and what the store runs SQL through: each statement text is prepared
//! once per connection and from then on executed in one round trip.
//!
//! Why: a statement run from its text costs two round trips (parse and describe, then bind
//! and execute) and a fresh plan every time; the profile of issue 16 showed a get spending
//! most of its time switching between this process and PostgreSQL for those round trips.
//! The statements are the store's own fixed texts, so a connection holds a few dozen.
//! Search builds its SQL per request and runs it unprepared (see [`Db::query_once`]): its
//! shapes are many, and each filter's values deserve a plan of their own.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls, Row, Statement, Transaction};
use r2d2_postgres::PostgresConnectionManager;

use crate::crm::error::StoreError;

/// Past this many prepared statements a connection forgets them all (dropping a statement
/// closes it on the server). The store's fixed texts stay far below it; the bound is there
/// for texts built from input, such as the lists of portal keys of an admin reset.
const MAX_STATEMENTS: usize = 256;

/// A connection idle this long is checked with an empty query before it is handed out: the
/// server or the network may have dropped it meanwhile. One in use more recently is handed
/// out unchecked, which spares a round trip per request under load; if it has died after
/// all, the request gets a 503 and the pool drops the connection.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);

/// A connection of the pool with the statements prepared on it.
pub(super) struct Connection {
    client: Client,
    statements: Statements,
    last_used: Instant,
}

impl Connection {
    /// Runs `work` on the connection outside a transaction (each statement on its own).
    pub(super) fn outside_transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Db<'_, Client>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let value = work(&mut Db {
            client: &mut self.client,
            statements: &mut self.statements,
        })?;
        self.last_used = Instant::now();
        Ok(value)
    }

    /// Runs `work` in one transaction: committed when it returns `Ok`, rolled back (by
    /// dropping the transaction) otherwise.
    pub(super) fn write<T>(
        &mut self,
        work: impl FnOnce(&mut Db<'_, Transaction<'_>>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut tx = self.client.transaction()?;
        let value = work(&mut Db {
            client: &mut tx,
            statements: &mut self.statements,
        })?;
        tx.commit()?;
        self.last_used = Instant::now();
        Ok(value)
    }

    /// The connection itself, for what is not a store statement (migrations at start).
    pub(super) fn client(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// Prepared statements by their text.
#[derive(Default)]
struct Statements {
    by_text: HashMap<String, Statement>,
}

/// Opens [`Connection`]s for the pool.
pub(super) struct Manager {
    connections: PostgresConnectionManager<NoTls>,
}

impl Manager {
    pub(super) fn new(config: postgres::Config) -> Self {
        Self {
            connections: PostgresConnectionManager::new(config, NoTls),
        }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Connection, postgres::Error> {
        Ok(Connection {
            client: self.connections.connect()?,
            statements: Statements::default(),
            last_used: Instant::now(),
        })
    }

    fn is_valid(&self, connection: &mut Connection) -> Result<(), postgres::Error> {
        if connection.last_used.elapsed() < CHECK_IDLE_AFTER {
            return Ok(());
        }
        self.connections.is_valid(&mut connection.client)?;
        connection.last_used = Instant::now();
        Ok(())
    }

    fn has_broken(&self, connection: &mut Connection) -> bool {
        self.connections.has_broken(&mut connection.client)
    }
}

/// What the store's code runs SQL through: a connection (`Db<Client>`) or a transaction on
/// one (`Db<Transaction>`), with the connection's prepared statements.
pub(super) struct Db<'a, C> {
    client: &'a mut C,
    statements: &'a mut Statements,
}

/// A write transaction, as the store's write helpers take it.
pub(super) type Tx<'a, 'c> = Db<'a, Transaction<'c>>;

impl<C: GenericClient> Db<'_, C> {
    /// The statement of `text`, prepared on this connection on its first use.
    fn prepared(&mut self, text: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.by_text.get(text) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(text)?;
        if self.statements.by_text.len() >= MAX_STATEMENTS {
            self.statements.by_text.clear();
        }
        self.statements
            .by_text
            .insert(text.to_owned(), statement.clone());
        Ok(statement)
    }

    pub(super) fn execute(
        &mut self,
        text: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let statement = self.prepared(text)?;
        Ok(self.client.execute(&statement, params)?)
    }

    pub(super) fn query(
        &mut self,
        text: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let statement = self.prepared(text)?;
        Ok(self.client.query(&statement, params)?)
    }

    pub(super) fn query_one(
        &mut self,
        text: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, StoreError> {
        let statement = self.prepared(text)?;
        Ok(self.client.query_one(&statement, params)?)
    }

    pub(super) fn query_opt(
        &mut self,
        text: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let statement = self.prepared(text)?;
        Ok(self.client.query_opt(&statement, params)?)
    }

    /// Runs a statement built for this one request, unprepared and not kept. Only inside
    /// [`Db::in_snapshot`], which has it planned for its values.
    pub(super) fn query_once(
        &mut self,
        text: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        Ok(self.client.query(text, params)?)
    }
}

impl Db<'_, Client> {
    /// Runs `work` in a read-only transaction at one snapshot (repeatable read), so what it
    /// reads in several statements agrees.
    pub(super) fn in_snapshot<T>(
        &mut self,
        work: impl FnOnce(&mut Db<'_, Transaction<'_>>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        // Connections plan prepared statements once (see `PostgresStore::open`); a search's
        // statements are planned for their values, which decide the plan. And more memory
        // than the 4 MB default: with less, the bitmap of a broad word match turns lossy
        // and PostgreSQL rechecks every row of the pages it covers (1.2M rechecked rows
        // for 125k matches at 1M calls), and the set operations spill to disk. No memoize
        // nodes: they cache a probe's answer per call id, and a search probes each call id
        // once, so they only cost planning and memory (see `PostgresStore::open`).
        tx.batch_execute(
            "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL work_mem = '32MB'; \
             SET LOCAL enable_memoize = off",
        )?;
        let value = work(&mut Db {
            client: &mut tx,
            statements: self.statements,
        })?;
        tx.commit()?;
        Ok(value)
    }
}
