//! The shared store: PostgreSQL, so several stateless hubcalls servers can serve one
//! database.
//!
//! The layout mirrors the embedded store's (see `ddl.rs`): `calls` holds each
//! call's state as JSONB, `call_values` / `call_tokens` index live calls' values the way
//! search compares them, `call_history` keeps one row per write, `call_associations` one row
//! per association. Nothing is cached in the process except connections, so a write
//! acknowledged by one server is what every other server reads next.
//!
//! Concurrency between servers:
//! - ids come from a sequence, unique across servers;
//! - an update locks its calls' rows (`FOR UPDATE`, in id order so two batches cannot
//!   deadlock) before reading them, so concurrent read-modify-writes of one call serialise
//!   and no property change or history entry is lost;
//! - a unique-value check takes a transaction-scoped advisory lock on (portal, property), so
//!   two servers cannot both see a value as free and both write it.

use std::collections::BTreeMap;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::Json;
use postgres::{NoTls, Row, Transaction};
use r2d2_postgres::PostgresConnectionManager;

use crate::config::PostgresSettings;
use crate::crm::associations::{Association, AssociationCategory};
use crate::crm::error::StoreError;
use crate::crm::history::{HistoryEntry, PropertyChange};
use crate::crm::objects::ObjectType;
use crate::crm::objects::Partition;
use crate::crm::pipelines::Pipeline;
use crate::crm::ports::{
    AdminStore, AssociationStore, NewRecord, RecordMutation, RecordStore, RestoredRecord,
    Scheduling, SchemaStore,
};
use crate::crm::properties::PropertyCatalogue;
use crate::crm::record::{PortalId, Record, RecordId, WriteSource};
use crate::crm::schema::{PropertyGroup, PropertyRecord};
use crate::crm::search::{IndexedValue, SearchHits, SearchPlan};

mod ddl;
mod search;

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

const CALL_COLUMNS: &str = "c.id, c.properties, c.created_at, c.updated_at, c.archived_at";

pub struct PostgresStore {
    /// Always `Some` until drop (see `Drop`).
    pool: Option<Pool>,
}

/// One entry of a `call_history.changes` array: name, value, timestamp, source type, id.
type StoredChange = (String, String, i64, String, Option<String>);

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
        let mut config: postgres::Config = settings
            .url
            .parse()
            .map_err(|e| StoreError::Unavailable(format!("invalid database URL: {e}")))?;
        config.connect_timeout(Duration::from_secs(settings.connect_timeout_secs.max(1)));
        config.application_name("hubcalls");
        let mut options = format!("-c statement_timeout={}", settings.statement_timeout_ms);
        if let Some(schema) = &settings.schema {
            if !valid_schema_name(schema) {
                return Err(StoreError::Unavailable(format!(
                    "invalid database schema name {schema:?}: use lower-case letters, digits and _"
                )));
            }
            options.push_str(&format!(" -c search_path={schema}"));
        }
        config.options(&options);
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(settings.pool_size.max(1))
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(settings.connect_timeout_secs.max(1)))
            .build_unchecked(manager);
        let store = Self { pool: Some(pool) };
        store.prepare(settings.schema.as_deref())?;
        Ok(store)
    }

    fn prepare(&self, schema: Option<&str>) -> Result<(), StoreError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
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

    fn client(
        &self,
    ) -> Result<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>, StoreError> {
        self.pool()
            .get()
            .map_err(|e| StoreError::Unavailable(format!("no database connection available: {e}")))
    }

    fn read<T>(
        &self,
        work: impl FnOnce(&mut postgres::Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.client()?;
        work(&mut client)
    }

    /// Runs `work` in one transaction: committed when it returns `Ok`, rolled back otherwise.
    fn write<T>(
        &self,
        work: impl FnOnce(&mut Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let value = work(&mut tx)?;
        tx.commit()?;
        Ok(value)
    }

    fn bump_schema_version(
        tx: &mut Transaction<'_>,
        partition: Partition,
    ) -> Result<(), StoreError> {
        tx.execute(
            "INSERT INTO portal_schema_versions (portal, version) VALUES ($1, 1)
             ON CONFLICT (portal) DO UPDATE SET version = portal_schema_versions.version + 1",
            &[&partition.key()],
        )?;
        Ok(())
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

fn call_from_row(row: &Row) -> Result<Record, StoreError> {
    let properties: Json<BTreeMap<String, String>> = row.try_get(1)?;
    Ok(Record {
        id: row.try_get::<_, i64>(0)? as RecordId,
        properties: properties.0,
        created_at: row.try_get(2)?,
        updated_at: row.try_get(3)?,
        archived_at: row.try_get(4)?,
    })
}

fn calls_from_rows(rows: Vec<Row>) -> Result<Vec<Record>, StoreError> {
    rows.iter().map(call_from_row).collect()
}

fn association_from_row(row: &Row) -> Result<Option<Association>, StoreError> {
    let kind: String = row.try_get(1)?;
    let category: String = row.try_get(4)?;
    let (Some(kind), Some(category)) = (
        ObjectType::parse(&kind),
        AssociationCategory::parse(&category),
    ) else {
        return Ok(None);
    };
    Ok(Some(Association {
        from_id: row.try_get::<_, i64>(0)? as RecordId,
        to_type: kind,
        to_id: row.try_get::<_, i64>(2)? as u64,
        type_id: row.try_get::<_, i32>(3)? as u32,
        category,
    }))
}

fn associations_from_rows(rows: Vec<Row>) -> Result<Vec<Association>, StoreError> {
    let mut associations = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(association) = association_from_row(row)? {
            associations.push(association);
        }
    }
    Ok(associations)
}

/// A stable 64-bit key for an advisory lock (FNV-1a): the same on every server and build.
fn lock_key(partition: Partition, name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in partition.key().to_le_bytes().iter().chain(name.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

/// The live call other than `call_id` that holds `indexed` as its value of `name`,
/// compared the way search compares: numbers by value, text folded or exact by type.
fn taken_by(
    tx: &mut Transaction<'_>,
    partition: Partition,
    name: &str,
    indexed: &IndexedValue,
    call_id: RecordId,
) -> Result<Option<RecordId>, StoreError> {
    let (portal, id) = (partition.key(), call_id as i64);
    let row = match indexed.number {
        Some(number) => tx.query_opt(
            "SELECT call_id FROM call_values WHERE portal = $1 AND name = $2
             AND number = $3 AND call_id <> $4 LIMIT 1",
            &[&portal, &name, &number, &id],
        )?,
        None => tx.query_opt(
            "SELECT call_id FROM call_values WHERE portal = $1 AND name = $2
             AND text = $3 AND call_id <> $4 LIMIT 1",
            &[&portal, &name, &indexed.text, &id],
        )?,
    };
    Ok(match row {
        Some(row) => Some(row.try_get::<_, i64>(0)? as RecordId),
        None => None,
    })
}

/// Keeps the search index rows of one property in step with its new value.
fn index_change(
    tx: &mut Transaction<'_>,
    partition: Partition,
    schema: &PropertyCatalogue,
    call_id: RecordId,
    change: &PropertyChange,
) -> Result<(), StoreError> {
    let id = call_id as i64;
    let portal_param = partition.key();
    tx.execute(
        "DELETE FROM call_tokens WHERE call_id = $1 AND name = $2",
        &[&id, &change.name],
    )?;
    let (Some(value), Some(def)) = (&change.value, schema.get(&change.name)) else {
        tx.execute(
            "DELETE FROM call_values WHERE call_id = $1 AND name = $2",
            &[&id, &change.name],
        )?;
        return Ok(());
    };
    let indexed = IndexedValue::new(def.property_type, value);
    if partition.object_type.is_unique(def) {
        tx.execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&lock_key(partition, &change.name)],
        )?;
        let existing = taken_by(tx, partition, &change.name, &indexed, call_id)?;
        if let Some(existing) = existing {
            return Err(StoreError::UniqueViolation {
                property: change.name.clone(),
                value: value.clone(),
                call_id,
                existing,
            });
        }
    }
    tx.execute(
        "INSERT INTO call_values (call_id, name, portal, text, number) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (call_id, name) DO UPDATE SET text = excluded.text, number = excluded.number",
        &[
            &id,
            &change.name,
            &portal_param,
            &indexed.text,
            &indexed.number,
        ],
    )?;
    if !indexed.tokens.is_empty() {
        tx.execute(
            "INSERT INTO call_tokens (portal, name, token, call_id)
             SELECT $1, $2, token, $4 FROM unnest($3::TEXT[]) AS token
             ON CONFLICT DO NOTHING",
            &[&portal_param, &change.name, &indexed.tokens, &id],
        )?;
    }
    Ok(())
}

fn stored_changes(changes: &[PropertyChange]) -> Vec<StoredChange> {
    changes
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.entry.value.clone(),
                c.entry.timestamp,
                c.entry.source.source_type.clone(),
                c.entry.source.source_id.clone(),
            )
        })
        .collect()
}

fn to_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(e.to_string()))
}

fn record_history(
    tx: &mut Transaction<'_>,
    call_id: RecordId,
    changes: &[PropertyChange],
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO call_history (call_id, changes) VALUES ($1, $2)",
        &[&(call_id as i64), &Json(&stored_changes(changes))],
    )?;
    Ok(())
}

fn insert_association(
    tx: &mut Transaction<'_>,
    partition: Partition,
    a: &Association,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO call_associations (call_id, kind, to_id, type_id, portal, category)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        &[
            &(a.from_id as i64),
            &a.to_type.singular,
            &(a.to_id.min(i64::MAX as u64) as i64),
            &(a.type_id as i32),
            &partition.key(),
            &a.category.as_str(),
        ],
    )?;
    Ok(())
}

/// Removes what hangs off a call's row: index entries, history and associations.
fn delete_call_rows(tx: &mut Transaction<'_>, id: RecordId) -> Result<(), StoreError> {
    for table in [
        "call_values",
        "call_tokens",
        "call_history",
        "call_associations",
    ] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE call_id = $1"),
            &[&(id as i64)],
        )?;
    }
    Ok(())
}

/// Inserts new calls set-wise: one statement per table for the whole batch, so a batch of a
/// hundred calls costs a handful of round trips rather than thousands.
fn insert_in(
    tx: &mut Transaction<'_>,
    partition: Partition,
    schema: &PropertyCatalogue,
    calls: &[NewRecord],
) -> Result<(), StoreError> {
    if calls.is_empty() {
        return Ok(());
    }
    let portal_param = partition.key();
    check_unique_values_of_new_calls(tx, partition, schema, calls)?;

    let mut ids = Vec::with_capacity(calls.len());
    let mut created = Vec::with_capacity(calls.len());
    let mut updated = Vec::with_capacity(calls.len());
    let mut properties = Vec::with_capacity(calls.len());
    let mut histories = Vec::with_capacity(calls.len());
    let mut history_ids = Vec::with_capacity(calls.len());
    let mut values = ValueRows::default();
    let mut associations: Vec<&Association> = Vec::new();
    for new in calls {
        let call = &new.call;
        ids.push(call.id as i64);
        created.push(call.created_at);
        updated.push(call.updated_at);
        properties.push(to_json(&call.properties)?);
        for change in &new.changes {
            if let (Some(value), Some(def)) = (&change.value, schema.get(&change.name)) {
                values.push(
                    call.id,
                    &change.name,
                    IndexedValue::new(def.property_type, value),
                );
            }
        }
        if !new.changes.is_empty() {
            history_ids.push(call.id as i64);
            histories.push(to_json(&stored_changes(&new.changes))?);
        }
        associations.extend(&new.associations);
    }
    tx.execute(
        "INSERT INTO calls (id, portal, archived, created_at, updated_at, archived_at, properties)
         SELECT id, $1, FALSE, created, updated, NULL, props::JSONB
         FROM unnest($2::BIGINT[], $3::BIGINT[], $4::BIGINT[], $5::TEXT[]) AS t(id, created, updated, props)",
        &[&portal_param, &ids, &created, &updated, &properties],
    )?;
    values.insert(tx, partition)?;
    tx.execute(
        "INSERT INTO call_history (call_id, changes)
         SELECT id, changes::JSONB FROM unnest($1::BIGINT[], $2::TEXT[]) WITH ORDINALITY AS t(id, changes, n)
         ORDER BY n",
        &[&history_ids, &histories],
    )?;
    for association in associations {
        insert_association(tx, partition, association)?;
    }
    Ok(())
}

/// Index rows of many values, gathered to be written in two statements.
#[derive(Default)]
struct ValueRows {
    call_ids: Vec<i64>,
    names: Vec<String>,
    texts: Vec<String>,
    numbers: Vec<Option<f64>>,
    token_call_ids: Vec<i64>,
    token_names: Vec<String>,
    tokens: Vec<String>,
}

impl ValueRows {
    fn push(&mut self, call_id: RecordId, name: &str, indexed: IndexedValue) {
        for token in indexed.tokens {
            self.token_call_ids.push(call_id as i64);
            self.token_names.push(name.to_owned());
            self.tokens.push(token);
        }
        self.call_ids.push(call_id as i64);
        self.names.push(name.to_owned());
        self.texts.push(indexed.text);
        self.numbers.push(indexed.number);
    }

    fn insert(&self, tx: &mut Transaction<'_>, partition: Partition) -> Result<(), StoreError> {
        let portal = partition.key();
        if !self.call_ids.is_empty() {
            tx.execute(
                "INSERT INTO call_values (call_id, name, portal, text, number)
                 SELECT id, name, $1, text, number
                 FROM unnest($2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::DOUBLE PRECISION[]) AS t(id, name, text, number)",
                &[&portal, &self.call_ids, &self.names, &self.texts, &self.numbers],
            )?;
        }
        if !self.tokens.is_empty() {
            tx.execute(
                "INSERT INTO call_tokens (portal, name, token, call_id)
                 SELECT $1, name, token, id
                 FROM unnest($2::BIGINT[], $3::TEXT[], $4::TEXT[]) AS t(id, name, token)
                 ON CONFLICT DO NOTHING",
                &[
                    &portal,
                    &self.token_call_ids,
                    &self.token_names,
                    &self.tokens,
                ],
            )?;
        }
        Ok(())
    }
}

/// New calls' unique values must be free in the store and distinct among themselves. The
/// advisory locks are taken in name order, so two servers cannot deadlock on them.
fn check_unique_values_of_new_calls(
    tx: &mut Transaction<'_>,
    partition: Partition,
    schema: &PropertyCatalogue,
    calls: &[NewRecord],
) -> Result<(), StoreError> {
    let mut unique: BTreeMap<&str, Vec<(RecordId, &str, IndexedValue)>> = BTreeMap::new();
    for new in calls {
        for change in &new.changes {
            if let (Some(value), Some(def)) = (&change.value, schema.get(&change.name)) {
                if partition.object_type.is_unique(def) {
                    unique.entry(change.name.as_str()).or_default().push((
                        new.call.id,
                        value.as_str(),
                        IndexedValue::new(def.property_type, value),
                    ));
                }
            }
        }
    }
    for (name, written) in unique {
        tx.execute(
            "SELECT pg_advisory_xact_lock($1)",
            &[&lock_key(partition, name)],
        )?;
        for (at, (call_id, value, indexed)) in written.iter().enumerate() {
            let earlier = written[..at]
                .iter()
                .find(|(_, _, other)| match indexed.number {
                    Some(number) => other.number == Some(number),
                    None => other.text == indexed.text,
                });
            let existing = match earlier {
                Some((earlier_id, _, _)) => Some(*earlier_id),
                None => taken_by(tx, partition, name, indexed, *call_id)?,
            };
            if let Some(existing) = existing {
                return Err(StoreError::UniqueViolation {
                    property: name.to_owned(),
                    value: (*value).to_owned(),
                    call_id: *call_id,
                    existing,
                });
            }
        }
    }
    Ok(())
}

fn update_in(
    tx: &mut Transaction<'_>,
    partition: Partition,
    schema: &PropertyCatalogue,
    ids: &[RecordId],
    apply: &mut RecordMutation<'_>,
) -> Result<Vec<Option<Record>>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Lock every row first, in id order, then read: the state read is the latest committed
    // one and stays ours until commit.
    let rows = tx.query(
        &format!(
            "SELECT {CALL_COLUMNS} FROM calls c WHERE c.id = ANY($1) AND c.portal = $2
             AND NOT c.archived ORDER BY c.id FOR UPDATE"
        ),
        &[&ids_param(ids), &partition.key()],
    )?;
    let mut current: BTreeMap<RecordId, Record> = BTreeMap::new();
    for row in &rows {
        let call = call_from_row(row)?;
        current.insert(call.id, call);
    }
    let mut results = Vec::with_capacity(ids.len());
    for (at, id) in ids.iter().enumerate() {
        let Some(call) = current.get_mut(id) else {
            results.push(None);
            continue;
        };
        let changes = apply(at, call);
        tx.execute(
            "UPDATE calls SET properties = $1, updated_at = $2 WHERE id = $3",
            &[&Json(&call.properties), &call.updated_at, &(call.id as i64)],
        )?;
        for change in &changes {
            index_change(tx, partition, schema, call.id, change)?;
        }
        record_history(tx, call.id, &changes)?;
        results.push(Some(call.clone()));
    }
    Ok(results)
}

impl RecordStore for PostgresStore {
    fn allocate_ids(&self, count: usize) -> Result<Vec<RecordId>, StoreError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        self.read(|client| {
            let rows = client.query(
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
        self.read(|client| {
            let rows = client.query(
                &format!(
                    "SELECT {CALL_COLUMNS} FROM calls c WHERE c.portal = $1 AND c.id = ANY($2)"
                ),
                &[&partition.key(), &ids_param(ids)],
            )?;
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
        self.read(|client| {
            let rows = client.query(
                &format!(
                    "SELECT {CALL_COLUMNS} FROM calls c
                     WHERE c.portal = $1 AND c.archived = $2 AND c.id >= $3
                     ORDER BY c.id LIMIT $4"
                ),
                &[
                    &partition.key(),
                    &archived,
                    &(from_id.min(i64::MAX as u64) as i64),
                    &(limit.min(i64::MAX as usize) as i64),
                ],
            )?;
            calls_from_rows(rows)
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
            for table in ["call_values", "call_tokens"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE call_id = ANY($1)"),
                    &[&archived],
                )?;
            }
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
                delete_call_rows(tx, row.try_get::<_, i64>(0)? as RecordId)?;
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
        let rows = self.read(|client| {
            Ok(client.query(
                "SELECT h.call_id, h.changes FROM call_history h JOIN calls c ON c.id = h.call_id
                 WHERE c.portal = $1 AND h.call_id = ANY($2) ORDER BY h.call_id, h.id DESC",
                &[&partition.key(), &ids_param(ids)],
            )?)
        })?;
        let mut entries = Vec::new();
        // Writes come newest first, so each property's entries do too.
        for row in &rows {
            let call_id = row.try_get::<_, i64>(0)? as RecordId;
            let Json(changes): Json<Vec<StoredChange>> = row.try_get(1)?;
            for (name, value, timestamp, source_type, source_id) in changes {
                if names.contains(&name) {
                    let entry = HistoryEntry {
                        value,
                        timestamp,
                        source: WriteSource {
                            source_type,
                            source_id,
                        },
                    };
                    entries.push((call_id, name, entry));
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
        let folded = value.to_lowercase();
        let number = value.trim().parse::<f64>().ok().filter(|n| n.is_finite());
        self.read(|client| {
            let rows = client.query(
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
        let high_water = calls.iter().map(|c| c.call.id).max().unwrap_or(0);
        self.write(|tx| {
            for restored in calls {
                let call = &restored.call;
                let id = call.id as i64;
                let owner = tx.query_opt("SELECT portal FROM calls WHERE id = $1 FOR UPDATE", &[&id])?;
                if let Some(owner) = owner {
                    if owner.try_get::<_, i64>(0)? != partition.key() {
                        return Err(StoreError::IdTaken { id: call.id });
                    }
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
            // Ids handed out later must be above every restored one, on every server.
            tx.execute(
                "SELECT setval('call_ids', GREATEST((SELECT last_value FROM call_ids), $1))",
                &[&(high_water as i64)],
            )?;
            Ok(())
        })
    }

    fn search(&self, partition: Partition, plan: &SearchPlan) -> Result<SearchHits, StoreError> {
        self.read(|client| {
            // One snapshot for the total and the page, so they agree.
            let mut tx = client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let count = search::count_query(partition, plan);
            let total: i64 = tx
                .query_one(count.text.as_str(), &count.params())?
                .try_get(0)?;
            let total = total as usize;
            if total == 0 || plan.limit == 0 || plan.offset >= total {
                return Ok(SearchHits {
                    total,
                    calls: Vec::new(),
                });
            }
            let page = search::page_query(partition, plan, CALL_COLUMNS);
            let rows = tx.query(page.text.as_str(), &page.params())?;
            let calls = calls_from_rows(rows)?;
            tx.commit()?;
            Ok(SearchHits { total, calls })
        })
    }
}

impl AssociationStore for PostgresStore {
    fn associations(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<Vec<Association>, StoreError> {
        self.read(|client| {
            let rows = client.query(
                "SELECT call_id, kind, to_id, type_id, category FROM call_associations
                 WHERE portal = $1 AND call_id = ANY($2) ORDER BY call_id, kind, to_id, type_id",
                &[&partition.key(), &ids_param(ids)],
            )?;
            associations_from_rows(rows)
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
            tx.execute(
                "DELETE FROM call_associations
                 WHERE call_id = $1 AND kind = $2 AND to_id = $3 AND portal = $4",
                &[
                    &(call_id as i64),
                    &kind.singular,
                    &(to_id.min(i64::MAX as u64) as i64),
                    &partition.key(),
                ],
            )?;
            for association in associations {
                insert_association(tx, partition, association)?;
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
                insert_association(tx, partition, association)?;
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
            let call_id = call_id as i64;
            let to_id = to_id.min(i64::MAX as u64) as i64;
            let portal = partition.key();
            let kind = kind.singular;
            match type_ids {
                None => {
                    tx.execute(
                        "DELETE FROM call_associations
                         WHERE call_id = $1 AND kind = $2 AND to_id = $3 AND portal = $4",
                        &[&call_id, &kind, &to_id, &portal],
                    )?;
                }
                Some(type_ids) => {
                    let type_ids: Vec<i32> = type_ids.iter().map(|t| *t as i32).collect();
                    tx.execute(
                        "DELETE FROM call_associations
                         WHERE call_id = $1 AND kind = $2 AND to_id = $3 AND portal = $4
                         AND type_id = ANY($5)",
                        &[&call_id, &kind, &to_id, &portal, &type_ids],
                    )?;
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
        self.read(|client| {
            let rows = client.query(
                "SELECT a.call_id, a.kind, a.to_id, a.type_id, a.category FROM call_associations a
                 JOIN calls c ON c.id = a.call_id AND NOT c.archived
                 WHERE a.portal = $1 AND a.kind = $2 AND a.to_id = ANY($3)
                 ORDER BY a.to_id, a.call_id, a.type_id",
                &[&partition.key(), &kind.singular, &ids_param(to_ids)],
            )?;
            associations_from_rows(rows)
        })
    }
}

impl SchemaStore for PostgresStore {
    fn purge_property_values(&self, partition: Partition, name: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            let portal_param = partition.key();
            tx.execute(
                "UPDATE calls SET properties = properties - $1::TEXT
                 WHERE portal = $2 AND properties ? $1::TEXT",
                &[&name, &portal_param],
            )?;
            for table in ["call_values", "call_tokens"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE portal = $1 AND name = $2"),
                    &[&portal_param, &name],
                )?;
            }
            Ok(())
        })
    }

    fn custom_properties(&self, partition: Partition) -> Result<Vec<PropertyRecord>, StoreError> {
        self.read(|client| {
            let rows = client.query(
                "SELECT definition, created_at, updated_at, archived_at FROM property_definitions
                 WHERE portal = $1 ORDER BY name",
                &[&partition.key()],
            )?;
            rows.iter()
                .map(|row| {
                    let Json(definition) = row.try_get(0)?;
                    Ok(PropertyRecord {
                        definition,
                        created_at: row.try_get(1)?,
                        updated_at: row.try_get(2)?,
                        archived_at: row.try_get(3)?,
                    })
                })
                .collect()
        })
    }

    fn save_property(
        &self,
        partition: Partition,
        property: &PropertyRecord,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO property_definitions
                 (portal, name, definition, created_at, updated_at, archived_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (portal, name) DO UPDATE SET definition = excluded.definition,
                 created_at = excluded.created_at, updated_at = excluded.updated_at,
                 archived_at = excluded.archived_at",
                &[
                    &partition.key(),
                    &property.definition.name,
                    &Json(&property.definition),
                    &property.created_at,
                    &property.updated_at,
                    &property.archived_at,
                ],
            )?;
            Self::bump_schema_version(tx, partition)
        })
    }

    fn custom_groups(&self, partition: Partition) -> Result<Vec<PropertyGroup>, StoreError> {
        self.read(|client| {
            let rows = client.query(
                "SELECT definition FROM property_groups WHERE portal = $1 ORDER BY name",
                &[&partition.key()],
            )?;
            rows.iter()
                .map(|row| {
                    let Json(group) = row.try_get(0)?;
                    Ok(group)
                })
                .collect()
        })
    }

    fn save_group(&self, partition: Partition, group: &PropertyGroup) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO property_groups (portal, name, definition) VALUES ($1, $2, $3)
                 ON CONFLICT (portal, name) DO UPDATE SET definition = excluded.definition",
                &[&partition.key(), &group.name, &Json(group)],
            )?;
            Self::bump_schema_version(tx, partition)
        })
    }

    fn custom_pipelines(&self, partition: Partition) -> Result<Vec<Pipeline>, StoreError> {
        self.read(|client| {
            let rows = client.query(
                "SELECT definition FROM pipelines WHERE portal = $1 ORDER BY id",
                &[&partition.key()],
            )?;
            rows.iter()
                .map(|row| {
                    let Json(pipeline) = row.try_get(0)?;
                    Ok(pipeline)
                })
                .collect()
        })
    }

    fn save_pipeline(&self, partition: Partition, pipeline: &Pipeline) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO pipelines (portal, id, definition) VALUES ($1, $2, $3)
                 ON CONFLICT (portal, id) DO UPDATE SET definition = excluded.definition",
                &[&partition.key(), &pipeline.id, &Json(pipeline)],
            )?;
            // Other servers' cached schemas hold the pipelines as property options.
            Self::bump_schema_version(tx, partition)
        })
    }

    fn schema_version(&self, partition: Partition) -> Result<u64, StoreError> {
        self.read(|client| {
            let row = client.query_opt(
                "SELECT version FROM portal_schema_versions WHERE portal = $1",
                &[&partition.key()],
            )?;
            Ok(match row {
                Some(row) => row.try_get::<_, i64>(0)? as u64,
                None => 0,
            })
        })
    }
}

impl AdminStore for PostgresStore {
    fn ping(&self) -> Result<(), StoreError> {
        self.read(|client| {
            client.query_one("SELECT 1", &[])?;
            Ok(())
        })
    }

    fn reset_portal(&self, portal: PortalId) -> Result<(), StoreError> {
        self.write(|tx| {
            // The `portal` columns hold partition keys: every type's of the portal go.
            let keys = Partition::key_list_of(portal);
            // History rows carry no portal: remove them through the portal's calls first.
            tx.execute(
                &format!(
                    "DELETE FROM call_history WHERE call_id IN
                     (SELECT id FROM calls WHERE portal IN ({keys}))"
                ),
                &[],
            )?;
            for table in [
                "call_values",
                "call_tokens",
                "call_associations",
                "property_definitions",
                "property_groups",
                "pipelines",
                "calls",
            ] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE portal IN ({keys})"),
                    &[],
                )?;
            }
            // Every type's cached schema of the portal is stale now.
            tx.execute(
                &format!(
                    "UPDATE portal_schema_versions SET version = version + 1
                     WHERE portal IN ({keys})"
                ),
                &[],
            )?;
            Ok(())
        })
    }

    fn portals(&self) -> Result<Vec<PortalId>, StoreError> {
        self.read(|client| {
            let rows = client.query(
                "SELECT portal & 4294967295 FROM calls
                 UNION SELECT portal & 4294967295 FROM property_definitions
                 UNION SELECT portal & 4294967295 FROM property_groups
                 UNION SELECT portal & 4294967295 FROM pipelines ORDER BY 1",
                &[],
            )?;
            rows.iter()
                .map(|row| {
                    let portal: i64 = row.try_get(0)?;
                    PortalId::try_from(portal)
                        .map_err(|_| StoreError::Backend(format!("portal {portal} out of range")))
                })
                .collect()
        })
    }
}

impl Scheduling for PostgresStore {}
