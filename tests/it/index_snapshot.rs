//! The SQLite store saves its search index at a clean shutdown (and now and then while it
//! serves) and reads it back at start-up, brought up to date with the journal of what was
//! written after it; a saved index that cannot be brought up to date is never used.

use std::path::Path;

use hubcalls::crm::ports::RecordStore;
use hubcalls::crm::properties::PropertyCatalogue;
use hubcalls::store::SqliteStore;

use crate::common;

fn open(dir: &Path) -> SqliteStore {
    common::open_file_store(dir)
}

fn create(store: &SqliteStore, title: &str) -> u64 {
    let call = common::titled_call(store, title);
    let id = call.call.id;
    store
        .insert_records(
            hubcalls::crm::objects::Partition::calls(1),
            &PropertyCatalogue::builtin(),
            &[call],
        )
        .unwrap();
    id
}

/// What the search index answers for a title (the index alone serves this lookup).
fn holders(store: &SqliteStore, title: &str) -> Vec<u64> {
    store
        .find_by_value(
            hubcalls::crm::objects::Partition::calls(1),
            "hs_call_title",
            title,
        )
        .unwrap()
}

#[test]
fn a_clean_shutdown_saves_the_index_and_the_next_start_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let first = create(&store, "kept");
    drop(store);
    assert!(
        dir.path().join("hubcalls.index").exists(),
        "saved at shutdown"
    );

    let store = open(dir.path());
    assert_eq!(holders(&store, "kept"), vec![first]);
    // Writes after a start from the saved index are indexed as usual.
    let second = create(&store, "later");
    assert_eq!(holders(&store, "later"), vec![second]);
}

#[test]
fn a_write_after_the_save_is_brought_in_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let first = create(&store, "before");
    drop(store);

    // A write, then a crash: the saved index does not know the write.
    let store = open(dir.path());
    let second = create(&store, "after the save");
    std::mem::forget(store);

    let store = open(dir.path());
    assert_eq!(holders(&store, "before"), vec![first]);
    assert_eq!(
        holders(&store, "after the save"),
        vec![second],
        "the saved index was brought up to date"
    );
    assert_eq!(
        store.index_origin(),
        Some(hubcalls::store::sqlite::IndexOrigin::Saved { replayed: 1 })
    );
}

#[test]
fn an_index_that_missed_another_writer_is_not_saved() {
    let dir = tempfile::tempdir().unwrap();
    let one = open(dir.path());
    let first = create(&one, "from one");
    // A second store on the same file (another process, say), opened after that write so
    // it hands out other ids.
    let two = open(dir.path());
    let second = create(&two, "from two");
    // `one` never saw `two`'s write: saving its index would hide that call from search.
    drop(one);
    let after_one = std::fs::metadata(dir.path().join("hubcalls.index")).ok();
    assert!(
        after_one.is_none(),
        "the first store did not save its partial index"
    );
    drop(two);

    let store = open(dir.path());
    assert_eq!(holders(&store, "from one"), vec![first]);
    assert_eq!(holders(&store, "from two"), vec![second]);
}

#[test]
fn a_damaged_saved_index_is_rebuilt_from_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = create(&store, "survives");
    drop(store);
    let path = dir.path().join("hubcalls.index");
    let mut bytes = std::fs::read(&path).unwrap();
    let cut = bytes.len() - 7;
    bytes.truncate(cut);
    std::fs::write(&path, bytes).unwrap();

    let store = open(dir.path());
    assert_eq!(holders(&store, "survives"), vec![id]);
}

mod saved_while_serving {
    //! The index is also saved while the store serves; after a crash the last saved index
    //! is brought up to date from the journal of what changed since, and answers exactly
    //! what the crashed store's index answered.

    use std::sync::Arc;

    use hubcalls::crm::associations::{Association, AssociationCategory};
    use hubcalls::crm::objects::{ObjectType, Partition};
    use hubcalls::crm::ports::AssociationStore;
    use hubcalls::crm::record::{RecordId, WriteSource};
    use hubcalls::crm::records::{CreateRequest, Locator, RecordService};
    use hubcalls::crm::search::{FilterSpec, SearchLimits, SearchRequest};
    use hubcalls::store::sqlite::IndexOrigin;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use crate::common;

    const WORDS: [&str; 6] = ["pricing", "renewal", "demo", "churn", "legal", "onboarding"];
    const CONTACTS: [u64; 3] = [501, 502, 503];

    fn calls(portal: u32) -> Partition {
        Partition::calls(portal)
    }

    fn title(rng: &mut StdRng) -> String {
        let a = WORDS[rng.random_range(0..WORDS.len())];
        let b = WORDS[rng.random_range(0..WORDS.len())];
        format!("{a} and {b}")
    }

    fn create(records: &RecordService, portal: u32, title: &str, direction: &str) -> RecordId {
        let request = CreateRequest {
            properties: vec![
                ("hs_timestamp".to_owned(), "1700000000000".to_owned()),
                ("hs_call_title".to_owned(), title.to_owned()),
                ("hs_call_direction".to_owned(), direction.to_owned()),
            ],
            associations: Vec::new(),
            object_write_trace_id: None,
        };
        records
            .create(calls(portal), &WriteSource::integration(1), &request)
            .unwrap()
            .id
    }

    fn association(call: RecordId, contact: u64) -> Association {
        Association {
            from_id: call,
            to_type: ObjectType::CONTACTS,
            to_id: contact,
            type_id: 194,
            category: AssociationCategory::HubspotDefined,
        }
    }

    /// What search answers for each question the test asks: ids of every match, in order.
    fn answers(records: &RecordService) -> Vec<(String, usize, Vec<RecordId>)> {
        let mut questions: Vec<(u32, FilterSpec)> = Vec::new();
        for word in WORDS {
            questions.push((1, filter("hs_call_title", "CONTAINS_TOKEN", word)));
        }
        for direction in ["INBOUND", "OUTBOUND"] {
            questions.push((1, filter("hs_call_direction", "EQ", direction)));
        }
        for contact in CONTACTS {
            questions.push((
                1,
                filter("associations.contact", "EQ", &contact.to_string()),
            ));
        }
        questions.push((1, filter("hs_call_title", "HAS_PROPERTY", "")));
        questions.push((2, filter("hs_call_title", "HAS_PROPERTY", "")));
        questions
            .into_iter()
            .map(|(portal, spec)| {
                let hits = records
                    .search(
                        calls(portal),
                        SearchRequest {
                            filter_groups: vec![vec![spec.clone()]],
                            limit: Some(200),
                            ..SearchRequest::default()
                        },
                    )
                    .unwrap();
                let ids = hits.calls.iter().map(|call| call.id).collect();
                (format!("portal {portal}: {spec:?}"), hits.total, ids)
            })
            .collect()
    }

    fn filter(name: &str, operator: &str, value: &str) -> FilterSpec {
        FilterSpec {
            property_name: name.to_owned(),
            operator: operator.to_owned(),
            value: (!value.is_empty()).then(|| value.to_owned()),
            ..FilterSpec::default()
        }
    }

    #[test]
    fn a_crash_after_saves_while_serving_recovers_every_write_from_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(common::open_file_store(dir.path()));
        let records = RecordService::new(store.clone(), SearchLimits::default());
        common::restore_contacts(&*store, 1, &CONTACTS);
        let mut rng = StdRng::seed_from_u64(15);
        let mut ids: Vec<RecordId> = Vec::new();
        // Portal 2 is indexed, saved, then reset: the reset must survive the replay.
        for n in 0..5 {
            create(&records, 2, &format!("portal two {n}"), "INBOUND");
        }
        for step in 0..600 {
            if step == 150 {
                store.save_search_index().unwrap();
                records.reset_portal(2).unwrap();
            }
            if step % 211 == 0 {
                store.save_search_index().unwrap();
            }
            let pick = (!ids.is_empty()).then(|| ids[rng.random_range(0..ids.len())]);
            match (rng.random_range(0..10), pick) {
                (0..=3, _) | (_, None) => {
                    let direction = if rng.random_bool(0.5) {
                        "INBOUND"
                    } else {
                        "OUTBOUND"
                    };
                    let title = title(&mut rng);
                    ids.push(create(&records, 1, &title, direction));
                }
                (4..=5, Some(id)) => {
                    let title = title(&mut rng);
                    // Updating an archived or deleted call fails; that is part of the mix.
                    let _ = records.update(
                        calls(1),
                        &WriteSource::integration(1),
                        Locator {
                            value: &id.to_string(),
                            id_property: None,
                        },
                        &vec![("hs_call_title".to_owned(), title)],
                    );
                }
                (6, Some(id)) => records.archive(calls(1), &id.to_string()).unwrap(),
                (7, Some(id)) => records
                    .gdpr_delete(
                        calls(1),
                        Locator {
                            value: &id.to_string(),
                            id_property: None,
                        },
                    )
                    .unwrap(),
                (8, Some(id)) => {
                    let contact = CONTACTS[rng.random_range(0..CONTACTS.len())];
                    let _ = store.add_associations(calls(1), &[association(id, contact)]);
                }
                (_, Some(id)) => {
                    let contact = CONTACTS[rng.random_range(0..CONTACTS.len())];
                    store
                        .remove_associations(calls(1), id, ObjectType::CONTACTS, contact, None)
                        .unwrap();
                }
            }
        }
        let expected = answers(&records);
        assert!(
            expected.iter().any(|(_, total, _)| *total > 20),
            "the mix leaves calls to find: {expected:?}"
        );
        // A crash: no shutdown, so the last save is the one made while serving.
        drop(records);
        std::mem::forget(store);

        let store = Arc::new(common::open_file_store(dir.path()));
        match store.index_origin() {
            Some(IndexOrigin::Saved { replayed }) => assert!(replayed > 0, "replayed {replayed}"),
            other => panic!("the index came from {other:?}, not the saved index"),
        }
        let records = RecordService::new(store.clone(), SearchLimits::default());
        assert_eq!(answers(&records), expected);
    }

    #[test]
    fn a_save_taken_while_writes_go_on_is_completed_by_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(common::open_file_store(dir.path()));
        let records = Arc::new(RecordService::new(store.clone(), SearchLimits::default()));
        common::restore_contacts(&*store, 1, &CONTACTS);
        for n in 0..300 {
            create(
                &records,
                1,
                &format!("seed {} call", WORDS[n % WORDS.len()]),
                "INBOUND",
            );
        }
        let writer = {
            let (records, store) = (records.clone(), store.clone());
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(16);
                let mut ids = Vec::new();
                for _ in 0..1500 {
                    let title = title(&mut rng);
                    let id = create(&records, 1, &title, "OUTBOUND");
                    ids.push(id);
                    let other = ids[rng.random_range(0..ids.len())];
                    let contact = CONTACTS[rng.random_range(0..CONTACTS.len())];
                    store
                        .add_associations(calls(1), &[association(other, contact)])
                        .unwrap();
                    if rng.random_bool(0.2) {
                        records.archive(calls(1), &other.to_string()).unwrap();
                    }
                }
            })
        };
        let mut saves = 0;
        while !writer.is_finished() {
            store.save_search_index().unwrap();
            saves += 1;
        }
        writer.join().unwrap();
        assert!(saves > 1, "saves overlapped the writes ({saves})");
        let expected = answers(&records);
        drop(records);
        std::mem::forget(store);

        let store = Arc::new(common::open_file_store(dir.path()));
        assert!(matches!(
            store.index_origin(),
            Some(IndexOrigin::Saved { .. })
        ));
        let records = RecordService::new(store.clone(), SearchLimits::default());
        assert_eq!(answers(&records), expected);
    }
}

/// A saved index from before the journal (layout version 4) is used only if nothing was
/// written after it: writes made then were not journaled.
#[test]
fn an_index_saved_before_unjournaled_writes_is_not_brought_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = create(&store, "before");
    drop(store);
    // What a version 4 binary leaves: no journal bookkeeping, and a write after the save
    // that only counted itself.
    {
        let conn = rusqlite::Connection::open(dir.path().join("hubcalls.sqlite3")).unwrap();
        conn.execute_batch(&format!(
            "DELETE FROM meta WHERE key = 'journal_from';
             UPDATE calls SET properties = json_set(properties, '$.hs_call_title', 'after')
               WHERE id = {id};
             UPDATE meta SET value = value + 1 WHERE key = 'writes';
             PRAGMA user_version = 4;"
        ))
        .unwrap();
    }
    let store = open(dir.path());
    assert_eq!(
        store.index_origin(),
        Some(hubcalls::store::sqlite::IndexOrigin::Rows)
    );
    assert_eq!(holders(&store, "after"), vec![id]);
    assert!(holders(&store, "before").is_empty());
}
