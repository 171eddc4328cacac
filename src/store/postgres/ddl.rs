//! The PostgreSQL layout and its versioned migrations.
//!
//! Migrations run at start-up under a transaction-scoped advisory lock, so several servers
//! starting at once on one database apply each step exactly once: the first takes the lock
//! and migrates, the others wait, then find nothing left to do.

use postgres::Transaction;

/// Advisory lock key of the migration step ("hubcalls" in ASCII).
const MIGRATION_LOCK: i64 = 0x6875_6263_616c_6c73;

/// Every layout step in order: `(version, SQL)`. Applied steps are recorded in
/// `hubcalls_migrations`; a step is never edited once released, only followed by another.
///
/// Text columns use the "C" collation: search compares and sorts text by bytes (as the
/// reference evaluator does), whatever the database's default collation.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        r#"
CREATE SEQUENCE call_ids START 10000000001;
CREATE TABLE calls (
    id          BIGINT PRIMARY KEY,
    portal      BIGINT NOT NULL,
    archived    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    archived_at BIGINT,
    properties  JSONB NOT NULL
);
CREATE INDEX calls_by_portal ON calls (portal, archived, id);
CREATE INDEX calls_by_created ON calls (portal, archived, created_at, id);
CREATE TABLE call_values (
    call_id BIGINT NOT NULL,
    name    TEXT COLLATE "C" NOT NULL,
    portal  BIGINT NOT NULL,
    text    TEXT COLLATE "C" NOT NULL,
    number  DOUBLE PRECISION,
    PRIMARY KEY (call_id, name)
);
CREATE INDEX call_values_text ON call_values (portal, name, text, call_id);
CREATE INDEX call_values_number ON call_values (portal, name, number, call_id);
CREATE TABLE call_tokens (
    portal  BIGINT NOT NULL,
    name    TEXT COLLATE "C" NOT NULL,
    token   TEXT COLLATE "C" NOT NULL,
    call_id BIGINT NOT NULL,
    PRIMARY KEY (portal, name, token, call_id)
);
CREATE INDEX call_tokens_by_call ON call_tokens (call_id, name);
CREATE TABLE call_history (
    id      BIGSERIAL PRIMARY KEY,
    call_id BIGINT NOT NULL,
    changes JSONB NOT NULL
);
CREATE INDEX call_history_by_call ON call_history (call_id, id);
CREATE TABLE call_associations (
    call_id  BIGINT NOT NULL,
    kind     TEXT NOT NULL,
    to_id    BIGINT NOT NULL,
    type_id  INTEGER NOT NULL,
    portal   BIGINT NOT NULL,
    category TEXT NOT NULL,
    PRIMARY KEY (call_id, kind, to_id, type_id)
);
CREATE INDEX call_associations_target ON call_associations (portal, kind, to_id);
CREATE TABLE property_definitions (
    portal      BIGINT NOT NULL,
    name        TEXT NOT NULL,
    definition  JSONB NOT NULL,
    created_at  BIGINT,
    updated_at  BIGINT,
    archived_at BIGINT,
    PRIMARY KEY (portal, name)
);
CREATE TABLE property_groups (
    portal     BIGINT NOT NULL,
    name       TEXT NOT NULL,
    definition JSONB NOT NULL,
    PRIMARY KEY (portal, name)
);
-- Bumped on every change of a portal's properties or groups, so each server knows when
-- its cached copy of that portal's schema went stale.
CREATE TABLE portal_schema_versions (
    portal  BIGINT PRIMARY KEY,
    version BIGINT NOT NULL
);
"#,
    ),
    (
        2,
        r#"
-- A portal's own pipelines of one object type (created ones and changed defaults), stages
-- inline: a pipeline is always read and written whole.
CREATE TABLE pipelines (
    portal     BIGINT NOT NULL,
    id         TEXT NOT NULL,
    definition JSONB NOT NULL,
    PRIMARY KEY (portal, id)
);
"#,
    ),
    (
        3,
        r#"
-- A value's tokens move from a row each in `call_tokens` into a `tsvector` on the value's
-- own row (`name:token` lexemes, cut to 500 characters: see store/postgres/words.rs).
ALTER TABLE call_values ADD COLUMN words tsvector;
UPDATE call_values v SET words = t.words
FROM (SELECT call_id, name, array_to_tsvector(array_agg(left(name || ':' || token, 500))) AS words
      FROM call_tokens GROUP BY call_id, name) t
WHERE v.call_id = t.call_id AND v.name = t.name;
DROP TABLE call_tokens;
CREATE INDEX call_values_words ON call_values USING gin (words) WHERE words IS NOT NULL;
"#,
    ),
    (
        4,
        r#"
-- How often a text value occurs depends on the property: 'INBOUND' is half of the
-- directions but a thirtieth of all values. Without statistics of the pair, the planner
-- multiplies the two and expects a few hundred matches where there are thousands, and
-- sorts every match for a page instead of walking the sort index (20 ms against 1 ms
-- with 13k matches; docs/performance.md).
CREATE STATISTICS call_values_name_text (mcv) ON name, text FROM call_values;
ALTER STATISTICS call_values_name_text SET STATISTICS 500;
"#,
    ),
];

/// The newest layout version this code knows.
pub fn latest_version() -> i32 {
    MIGRATIONS.last().map(|(v, _)| *v).unwrap_or(0)
}

/// Brings the schema `tx` works in up to the latest version. Refuses a database that a
/// newer hubcalls has already migrated further.
pub fn migrate(tx: &mut Transaction<'_>) -> Result<(), String> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(|e| e.to_string())?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS hubcalls_migrations (
             version    INTEGER PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .map_err(|e| e.to_string())?;
    let applied: i32 = tx
        .query_one(
            "SELECT COALESCE(max(version), 0) FROM hubcalls_migrations",
            &[],
        )
        .and_then(|row| row.try_get(0))
        .map_err(|e| e.to_string())?;
    if applied > latest_version() {
        return Err(format!(
            "the database has layout version {applied}; this hubcalls knows up to {} (upgrade hubcalls)",
            latest_version()
        ));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > applied) {
        tx.batch_execute(sql)
            // `store_error` carries PostgreSQL's message; the error's own text is "db error".
            .map_err(|e| format!("migration {version} failed: {}", super::store_error(e)))?;
        tx.execute(
            "INSERT INTO hubcalls_migrations (version) VALUES ($1)",
            &[version],
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::rows::FIRST_RECORD_ID;

    #[test]
    fn ids_start_where_the_embedded_store_starts_them() {
        let (version, first) = MIGRATIONS[0];
        assert_eq!(version, 1);
        assert!(
            first.contains(&format!(
                "CREATE SEQUENCE call_ids START {FIRST_RECORD_ID};"
            )),
            "the id sequence starts at {FIRST_RECORD_ID}"
        );
    }
}
