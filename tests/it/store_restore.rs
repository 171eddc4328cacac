//! The store contract for putting calls back whole (import, fixtures, migration): ids,
//! timestamps, archive state, history and associations survive; ids handed out later do not
//! collide; a call id of another portal is refused with nothing written.

use std::collections::BTreeMap;

use hubcalls::crm::associations::{Association, AssociationCategory};
use hubcalls::crm::error::StoreError;
use hubcalls::crm::history::{HistoryEntry, PropertyChange};
use hubcalls::crm::objects::{ObjectType, Partition};
use hubcalls::crm::ports::{RestoredRecord, Store};
use hubcalls::crm::properties::PropertyCatalogue;
use hubcalls::crm::record::{Record, WriteSource};
use hubcalls::store::{PostgresStore, SqliteStore};

use crate::common;

/// The stores under test: SQLite, and PostgreSQL on a fresh schema when the harness runs
/// against it.
fn stores() -> Vec<Box<dyn Store>> {
    let mut stores: Vec<Box<dyn Store>> = vec![Box::new(SqliteStore::in_memory().unwrap())];
    if let Some(url) = common::test_database_url() {
        let settings = common::postgres_settings(&url, &common::fresh_schema_name());
        stores.push(Box::new(PostgresStore::open(&settings).unwrap()));
    }
    stores
}

fn change(name: &str, value: &str, timestamp: i64) -> PropertyChange {
    PropertyChange {
        name: name.to_owned(),
        value: (!value.is_empty()).then(|| value.to_owned()),
        entry: HistoryEntry {
            value: value.to_owned(),
            timestamp,
            source: WriteSource {
                source_type: "IMPORT".to_owned(),
                source_id: Some("fixture".to_owned()),
            },
        },
    }
}

fn restored(id: u64, title: &str, archived_at: Option<i64>) -> RestoredRecord {
    let properties = BTreeMap::from([
        ("hs_call_title".to_owned(), title.to_owned()),
        ("hs_timestamp".to_owned(), "2024-05-01T10:00:00Z".to_owned()),
    ]);
    RestoredRecord {
        call: Record {
            id,
            properties,
            created_at: 1_700_000_000_000,
            updated_at: 1_700_000_500_000,
            archived_at,
        },
        history: vec![
            change("hs_call_title", "first title", 1_700_000_000_000),
            change("hs_timestamp", "2024-05-01T10:00:00Z", 1_700_000_000_000),
            change("hs_call_title", title, 1_700_000_500_000),
        ],
        associations: vec![Association {
            from_id: id,
            to_type: ObjectType::CONTACTS,
            to_id: 501,
            type_id: 194,
            category: AssociationCategory::HubspotDefined,
        }],
    }
}

#[test]
fn restored_calls_come_back_whole_and_ids_stay_unique() {
    for store in stores() {
        restored_calls_come_back_whole_on(store.as_ref());
    }
}

fn restored_calls_come_back_whole_on(store: &dyn Store) {
    let schema = PropertyCatalogue::builtin();
    store
        .restore_records(
            hubcalls::crm::objects::Partition::calls(7),
            &schema,
            &[
                restored(20_000_000_000, "Renewal", None),
                restored(20_000_000_005, "Old", Some(1_700_000_900_000)),
            ],
        )
        .unwrap();

    let mut calls = store
        .get_records(
            hubcalls::crm::objects::Partition::calls(7),
            &[20_000_000_000, 20_000_000_005],
        )
        .unwrap();
    calls.sort_by_key(|c| c.id);
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].property("hs_call_title"), Some("Renewal"));
    assert_eq!(calls[0].created_at, 1_700_000_000_000);
    assert_eq!(calls[0].updated_at, 1_700_000_500_000);
    assert!(!calls[0].is_archived());
    assert_eq!(calls[1].archived_at, Some(1_700_000_900_000));

    let history = store
        .history(
            hubcalls::crm::objects::Partition::calls(7),
            &[20_000_000_000],
            &["hs_call_title".to_owned()],
        )
        .unwrap();
    let values: Vec<&str> = history.iter().map(|(_, _, e)| e.value.as_str()).collect();
    assert_eq!(values, ["Renewal", "first title"], "newest first");
    assert_eq!(history[0].2.source.source_type, "IMPORT");

    let associations = store
        .associations(
            hubcalls::crm::objects::Partition::calls(7),
            &[20_000_000_000],
        )
        .unwrap();
    assert_eq!(associations.len(), 1);
    assert_eq!(associations[0].to_id, 501);

    // Only the live call is searchable; ids allocated later are above the restored ones.
    let next = store.allocate_ids(Partition::calls(7), 1).unwrap()[0];
    assert!(next > 20_000_000_005, "allocated {next}");
    assert_eq!(store.portals().unwrap(), vec![7]);
    assert_eq!(
        store
            .find_by_value(
                hubcalls::crm::objects::Partition::calls(7),
                "hs_call_title",
                "renewal"
            )
            .unwrap(),
        vec![20_000_000_000]
    );
    assert!(store
        .find_by_value(
            hubcalls::crm::objects::Partition::calls(7),
            "hs_call_title",
            "old"
        )
        .unwrap()
        .is_empty());
}

#[test]
fn restoring_again_replaces_and_another_portals_id_is_refused() {
    for store in stores() {
        restoring_again_replaces_on(store.as_ref());
    }
}

fn restoring_again_replaces_on(store: &dyn Store) {
    let schema = PropertyCatalogue::builtin();
    store
        .restore_records(
            hubcalls::crm::objects::Partition::calls(7),
            &schema,
            &[restored(30_000_000_000, "One", None)],
        )
        .unwrap();
    store
        .restore_records(
            hubcalls::crm::objects::Partition::calls(7),
            &schema,
            &[restored(30_000_000_000, "Two", None)],
        )
        .unwrap();
    let calls = store
        .get_records(
            hubcalls::crm::objects::Partition::calls(7),
            &[30_000_000_000],
        )
        .unwrap();
    assert_eq!(calls[0].property("hs_call_title"), Some("Two"));
    let history = store
        .history(
            hubcalls::crm::objects::Partition::calls(7),
            &[30_000_000_000],
            &["hs_call_title".to_owned()],
        )
        .unwrap();
    assert_eq!(history.len(), 2, "the replaced call's history is gone");
    assert_eq!(
        store
            .associations(
                hubcalls::crm::objects::Partition::calls(7),
                &[30_000_000_000]
            )
            .unwrap()
            .len(),
        1
    );

    let refused = store.restore_records(
        hubcalls::crm::objects::Partition::calls(8),
        &schema,
        &[
            restored(30_000_000_001, "Fresh", None),
            restored(30_000_000_000, "Theft", None),
        ],
    );
    assert!(matches!(
        refused,
        Err(StoreError::IdTaken { id: 30_000_000_000 })
    ));
    assert!(
        store
            .get_records(
                hubcalls::crm::objects::Partition::calls(8),
                &[30_000_000_001]
            )
            .unwrap()
            .is_empty(),
        "nothing of the refused restore is written"
    );
    assert_eq!(
        store
            .get_records(
                hubcalls::crm::objects::Partition::calls(7),
                &[30_000_000_000]
            )
            .unwrap()[0]
            .property("hs_call_title"),
        Some("Two")
    );
}
