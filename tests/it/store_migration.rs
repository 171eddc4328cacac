//! Reopening a file store: a database of layout version 2 (values and tokens indexed as rows
//! of their own) opens under version 3, its index tables dropped and its calls searchable
//! from the in-memory index rebuilt at start-up; and that rebuilt index keeps unique values.

use std::sync::Arc;

use hubcalls::crm::record::WriteSource;
use hubcalls::crm::records::{CreateRequest, RecordService};
use hubcalls::crm::search::{FilterSpec, SearchLimits, SearchRequest};
use hubcalls::crm::services::Services;
use hubcalls::store::SqliteStore;
use rusqlite::Connection;

fn service(store: Arc<SqliteStore>) -> RecordService {
    RecordService::new(store, SearchLimits::default())
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
            .create(
                hubcalls::crm::objects::Partition::calls(3),
                &WriteSource::integration(1),
                &request,
            )
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
            hubcalls::crm::objects::Partition::calls(3),
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
    assert_eq!(version, 5, "opened at the current layout version");
    let old_tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('call_values', 'call_tokens', 'calls_by_created')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old_tables, 0);
}

/// After a restart the index is rebuilt from the rows, typed by the portal's own
/// definitions: a unique value written before the restart still blocks another call, and
/// `find_by_value` still finds its holder.
#[test]
fn unique_values_hold_across_a_restart() {
    use hubcalls::crm::error::{CrmError, StoreError};
    use hubcalls::crm::ports::RecordStore;
    use hubcalls::crm::schema::PropertyDraft;

    let dir = tempfile::tempdir().unwrap();
    let create = |value: &str| CreateRequest {
        properties: vec![
            ("hs_timestamp".to_owned(), "1700000000000".to_owned()),
            ("ext_id".to_owned(), value.to_owned()),
        ],
        associations: Vec::new(),
        object_write_trace_id: None,
    };
    let source = WriteSource::integration(1);
    let first = {
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let services = Services::new(store, SearchLimits::default());
        services
            .properties
            .create_property(
                hubcalls::crm::objects::Partition::calls(5),
                PropertyDraft {
                    name: "ext_id".to_owned(),
                    label: "External id".to_owned(),
                    property_type: "string".to_owned(),
                    field_type: "text".to_owned(),
                    group_name: "callinformation".to_owned(),
                    has_unique_value: Some(true),
                    ..PropertyDraft::default()
                },
            )
            .unwrap();
        services
            .records
            .create(
                hubcalls::crm::objects::Partition::calls(5),
                &source,
                &create("ABC-1"),
            )
            .unwrap()
    };

    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    assert_eq!(
        store
            .find_by_value(
                hubcalls::crm::objects::Partition::calls(5),
                "ext_id",
                "abc-1"
            )
            .unwrap(),
        vec![first.id]
    );
    let refused = service(store.clone()).create(
        hubcalls::crm::objects::Partition::calls(5),
        &source,
        &create("abc-1"),
    );
    assert!(
        matches!(
            refused,
            Err(CrmError::Store(StoreError::UniqueViolation { existing, .. })) if existing == first.id
        ),
        "{refused:?}"
    );
    assert_eq!(
        store
            .find_by_value(
                hubcalls::crm::objects::Partition::calls(5),
                "ext_id",
                "ABC-1"
            )
            .unwrap(),
        vec![first.id]
    );
}
