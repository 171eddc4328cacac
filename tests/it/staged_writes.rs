//! The store contract for staged writes (group commit driven by the API, see
//! `hubcalls::crm::staging`): a staged write is invisible until its group commits,
//! and the group's outcome is known to every write in it.

use hubcalls::crm::ports::{NewRecord, RecordStore, Scheduling, Store};
use hubcalls::crm::properties::PropertyCatalogue;
use hubcalls::crm::staging::{CommitTicket, Staging};
use hubcalls::store::SqliteStore;

use crate::common;

/// Runs `work` on a staged view of `store` and returns its result and the commit ticket
/// its writes left.
fn write_staged<T>(store: &SqliteStore, work: impl FnOnce(&dyn Store) -> T) -> (T, CommitTicket) {
    let staging = Staging::new();
    let view = store
        .staged(&staging)
        .expect("a file store with its index built stages writes");
    let result = work(view.as_ref());
    drop(view);
    (result, staging.take_ticket())
}

fn new_call(store: &SqliteStore, title: &str) -> NewRecord {
    common::titled_call(store, title)
}

fn file_store(dir: &std::path::Path) -> SqliteStore {
    common::open_file_store(dir)
}

#[tokio::test]
async fn a_staged_write_is_seen_only_once_its_group_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path());
    assert!(
        store.stages_writes(),
        "a file store with its index built stages writes"
    );
    let schema = PropertyCatalogue::builtin();
    let first = new_call(&store, "first");
    let second = new_call(&store, "second");

    let (written, staged) = write_staged(&store, |store| {
        store.insert_records(
            hubcalls::crm::objects::Partition::calls(1),
            &schema,
            std::slice::from_ref(&first),
        )?;
        store.insert_records(
            hubcalls::crm::objects::Partition::calls(1),
            &schema,
            std::slice::from_ref(&second),
        )
    });
    written.unwrap();
    assert!(staged.needs_committer, "the first write opened a group");
    let group = staged.last_group().expect("the writes joined a group");
    assert_eq!(
        staged.groups,
        vec![group, group],
        "both writes share the open group"
    );
    assert!(
        store
            .get_records(
                hubcalls::crm::objects::Partition::calls(1),
                &[first.call.id, second.call.id]
            )
            .unwrap()
            .is_empty(),
        "readers do not see a group before it commits"
    );

    store.commit_group(group);
    store.group_outcome(group).await.unwrap();
    assert_eq!(
        store
            .get_records(
                hubcalls::crm::objects::Partition::calls(1),
                &[first.call.id, second.call.id]
            )
            .unwrap()
            .len(),
        2
    );

    // Committing an ended group again changes nothing; a later write opens a new group.
    store.commit_group(group);
    let third = new_call(&store, "third");
    let (written, staged) = write_staged(&store, |store| {
        store.insert_records(
            hubcalls::crm::objects::Partition::calls(1),
            &schema,
            &[third],
        )
    });
    written.unwrap();
    assert!(staged.last_group() > Some(group));
}

#[tokio::test]
async fn a_group_left_without_a_committer_is_committed_by_its_waiter() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path());
    let schema = PropertyCatalogue::builtin();
    let call = new_call(&store, "orphan");
    let id = call.call.id;
    let (written, staged) = write_staged(&store, |store| {
        store.insert_records(
            hubcalls::crm::objects::Partition::calls(1),
            &schema,
            &[call],
        )
    });
    written.unwrap();
    // Nobody calls `commit_group`: the waiter's rescue commits it.
    store
        .group_outcome(staged.last_group().unwrap())
        .await
        .unwrap();
    assert_eq!(
        store
            .get_records(hubcalls::crm::objects::Partition::calls(1), &[id])
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn writes_outside_staging_commit_before_returning() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path());
    let schema = PropertyCatalogue::builtin();
    let call = new_call(&store, "plain");
    let id = call.call.id;
    store
        .insert_records(
            hubcalls::crm::objects::Partition::calls(1),
            &schema,
            &[call],
        )
        .unwrap();
    assert_eq!(
        store
            .get_records(hubcalls::crm::objects::Partition::calls(1), &[id])
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn an_in_memory_store_never_stages() {
    let store = SqliteStore::in_memory().unwrap();
    assert!(!store.stages_writes());
    let schema = PropertyCatalogue::builtin();
    let call = new_call(&store, "memory");
    let id = call.call.id;
    assert!(
        store.staged(&Staging::new()).is_none(),
        "no staged view: every write commits on its own"
    );
    store
        .insert_records(
            hubcalls::crm::objects::Partition::calls(1),
            &schema,
            &[call],
        )
        .unwrap();
    assert_eq!(
        store
            .get_records(hubcalls::crm::objects::Partition::calls(1), &[id])
            .unwrap()
            .len(),
        1
    );
}

/// A write that panics halfway (here in the rules' mutation of its second call, after the
/// first one's row was updated) leaves nothing behind, staged or not, and the store keeps
/// working.
#[tokio::test]
async fn a_write_that_panics_halfway_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_store(dir.path());
    let schema = PropertyCatalogue::builtin();
    let first = new_call(&store, "untouched");
    let second = new_call(&store, "untouched");
    let ids = [first.call.id, second.call.id];
    store
        .insert_records(
            hubcalls::crm::objects::Partition::calls(1),
            &schema,
            &[first, second],
        )
        .unwrap();

    for staged in [false, true] {
        let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let write = |store: &dyn Store| {
                store.update_records(
                    hubcalls::crm::objects::Partition::calls(1),
                    &schema,
                    &ids,
                    &mut |at, call| {
                        assert_eq!(at, 0, "a rule failed on the second call");
                        call.properties
                            .insert("hs_call_title".to_owned(), "half written".to_owned());
                        Vec::new()
                    },
                )
            };
            if staged {
                write_staged(&store, write).0
            } else {
                write(&store)
            }
        }));
        assert!(attempt.is_err(), "the panic reaches the caller");

        // The next write's commit must not carry the first call's update along.
        let later = new_call(&store, "later");
        let (written, group) = write_staged(&store, |store| {
            store.insert_records(
                hubcalls::crm::objects::Partition::calls(1),
                &schema,
                &[later],
            )
        });
        written.unwrap();
        let group = group.last_group().unwrap();
        store.commit_group(group);
        store.group_outcome(group).await.unwrap();
        for call in store
            .get_records(hubcalls::crm::objects::Partition::calls(1), &ids)
            .unwrap()
        {
            assert_eq!(
                call.properties["hs_call_title"], "untouched",
                "staged: {staged}"
            );
        }
    }
}

/// While another write holds the writer for long, a staged write answers "busy" having
/// written nothing (its work then moves to the blocking pool) rather than wait for it.
#[test]
fn a_staged_write_does_not_wait_for_a_long_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(file_store(dir.path()));
    let schema = PropertyCatalogue::builtin();
    let slow = new_call(&store, "slow");
    let slow_id = slow.call.id;
    store
        .insert_records(
            hubcalls::crm::objects::Partition::calls(1),
            &schema,
            &[slow],
        )
        .unwrap();

    let (holding, held) = std::sync::mpsc::channel();
    let long_write = {
        let store = std::sync::Arc::clone(&store);
        let schema = schema.clone();
        std::thread::spawn(move || {
            store
                .update_records(
                    hubcalls::crm::objects::Partition::calls(1),
                    &schema,
                    &[slow_id],
                    &mut |_, _| {
                        holding.send(()).unwrap();
                        std::thread::sleep(std::time::Duration::from_millis(300));
                        Vec::new()
                    },
                )
                .unwrap();
        })
    };
    held.recv().unwrap();
    let quick = new_call(&store, "quick");
    let quick_id = quick.call.id;
    let (written, staged) = write_staged(&store, |store| {
        store.insert_records(
            hubcalls::crm::objects::Partition::calls(1),
            &schema,
            &[quick],
        )
    });
    // Had it waited for the writer, the insert would have succeeded.
    assert!(written.is_err(), "did not wait for the long write");
    assert!(staged.writer_busy);
    assert!(staged.groups.is_empty(), "nothing was written");
    long_write.join().unwrap();
    assert!(store
        .get_records(hubcalls::crm::objects::Partition::calls(1), &[quick_id])
        .unwrap()
        .is_empty());
}

/// Records what a wrapper publishes, wanting every kind of change.
#[derive(Default)]
struct RecordingSink {
    published: std::sync::Mutex<Vec<hubcalls::crm::webhooks::Change>>,
}

impl hubcalls::crm::webhooks::ChangeSink for RecordingSink {
    fn wants(
        &self,
        _partition: hubcalls::crm::objects::Partition,
        _kind: hubcalls::crm::webhooks::ChangeKind,
    ) -> bool {
        true
    }

    fn publish(
        &self,
        _partition: hubcalls::crm::objects::Partition,
        changes: Vec<hubcalls::crm::webhooks::Change>,
    ) {
        self.published.lock().unwrap().extend(changes);
    }
}

/// The webhook wrapper hands out staged views of its engine, and reports a staged write's
/// changes only once the ticket's effects run (after the commit), never when it returns.
#[tokio::test]
async fn a_wrapped_store_reports_staged_changes_after_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let engine = std::sync::Arc::new(file_store(dir.path()));
    let sink = std::sync::Arc::new(RecordingSink::default());
    let store = hubcalls::crm::webhooks::ReportingStore::new(engine.clone(), sink.clone());
    let schema = PropertyCatalogue::builtin();
    let call = new_call(&engine, "reported later");
    let id = call.call.id;

    let staging = Staging::new();
    let view = store
        .staged(&staging)
        .expect("the wrapper stages what its engine stages");
    view.insert_records(
        hubcalls::crm::objects::Partition::calls(1),
        &schema,
        &[call],
    )
    .unwrap();
    drop(view);
    assert!(
        sink.published.lock().unwrap().is_empty(),
        "nothing is reported before the commit"
    );
    let ticket = staging.take_ticket();
    let group = ticket.last_group().expect("the write joined a group");
    store.commit_group(group);
    store.group_outcome(group).await.unwrap();
    assert_eq!(
        ticket.after_commit.len(),
        1,
        "one report waits for the commit"
    );
    for effect in ticket.after_commit {
        effect();
    }
    let published = sink.published.lock().unwrap();
    assert!(
        published.iter().any(|change| matches!(
            change,
            hubcalls::crm::webhooks::Change::Created { record_id, .. } if *record_id == id
        )),
        "the creation is reported once committed: {published:?}"
    );
}
