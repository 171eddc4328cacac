//! The SQLite store saves its search index at a clean shutdown and reads it back at
//! start-up; a saved index that no longer matches the rows is never used.

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
fn a_write_after_the_save_makes_the_saved_index_stale() {
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
        "the index was rebuilt from the rows, not read from the stale file"
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
