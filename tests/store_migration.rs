//! A database of layout version 2 (values and tokens indexed as rows of their own) opens
//! under version 3: the index tables are dropped, the calls stay and are searchable from the
//! in-memory index rebuilt at start-up.

use std::sync::Arc;

use hubcalls::crm::call::WriteSource;
use hubcalls::crm::properties::PropertyCatalogue;
use hubcalls::crm::search::{FilterSpec, SearchLimits, SearchRequest};
use hubcalls::crm::service::{CallService, CreateRequest};
use hubcalls::store::SqliteStore;
use rusqlite::Connection;

fn service(store: Arc<SqliteStore>) -> CallService {
    CallService::new(store, PropertyCatalogue::builtin(), SearchLimits::default())
}

#[test]
fn version_2_database_is_migrated_and_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let created = {
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let request = CreateRequest {
            properties: vec![
                ("hs_timestamp".to_owned(), "1700000000000".to_owned()),
                ("hs_call_title".to_owned(), "Renewal with Acme".to_owned()),
            ],
            associations: Vec::new(),
            object_write_trace_id: None,
        };
        service(store)
            .create(3, &WriteSource::integration(1), &request)
            .unwrap()
    };
    // Turn the file back into what version 2 left: its index tables and version number.
    {
        let conn = Connection::open(dir.path().join("hubcalls.sqlite3")).unwrap();
        conn.execute_batch(
            "CREATE TABLE call_values (call_id INTEGER NOT NULL, name TEXT NOT NULL,
                 portal INTEGER NOT NULL, text TEXT NOT NULL, number REAL,
                 PRIMARY KEY (call_id, name)) WITHOUT ROWID;
             CREATE TABLE call_tokens (portal INTEGER NOT NULL, name TEXT NOT NULL,
                 token TEXT NOT NULL, call_id INTEGER NOT NULL,
                 PRIMARY KEY (portal, name, token, call_id)) WITHOUT ROWID;
             CREATE INDEX calls_by_created ON calls (portal, archived, created_at, id);
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }

    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let hits = service(store.clone())
        .search(
            3,
            SearchRequest {
                filter_groups: vec![vec![FilterSpec {
                    property_name: "hs_call_title".to_owned(),
                    operator: "CONTAINS_TOKEN".to_owned(),
                    value: Some("acme".to_owned()),
                    ..FilterSpec::default()
                }]],
                ..SearchRequest::default()
            },
        )
        .unwrap();
    assert_eq!(hits.total, 1);
    assert_eq!(hits.calls[0].id, created.id);

    let conn = Connection::open(dir.path().join("hubcalls.sqlite3")).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 3);
    let old_tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('call_values', 'call_tokens', 'calls_by_created')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old_tables, 0);
}
