//! A full disk or a lost database: writes fail with HubSpot's 503 envelope and change
//! nothing, the process stays up, and writes succeed again once the store recovers.
//!
//! The store is the real SQLite engine behind a switch that makes it fail the way a full
//! disk does (`StoreError::Unavailable` on every write) or an unreachable database does
//! (reads and readiness fail too). Mounting a small filesystem would need privileges CI may
//! not have; the engine's own full-disk mapping is covered by `limits.rs` (a size cap).

use crate::common;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use common::{TestApp, TOKEN};
use hubcalls::config::{Config, Storage, TokenGrant};
use hubcalls::crm::associations::Association;
use hubcalls::crm::error::StoreError;
use hubcalls::crm::history::HistoryEntry;
use hubcalls::crm::objects::ObjectType;
use hubcalls::crm::objects::Partition;
use hubcalls::crm::pipelines::Pipeline;
use hubcalls::crm::ports::{
    AdminStore, AssociationStore, NewRecord, RecordMutation, RecordStore, RestoredRecord,
    Scheduling, SchemaStore,
};
use hubcalls::crm::properties::PropertyCatalogue;
use hubcalls::crm::record::{PortalId, Record, RecordId};
use hubcalls::crm::schema::{PropertyGroup, PropertyRecord};
use hubcalls::crm::search::{SearchHits, SearchPlan};
use hubcalls::crm::time::EpochMillis;
use hubcalls::store::SqliteStore;
use hubcalls::App;
use serde_json::json;

const HEALTHY: u8 = 0;
/// Writes fail; reads work (a full disk).
const FULL: u8 = 1;
/// Everything fails (the database is gone).
const DOWN: u8 = 2;

/// The real store, failing on demand.
struct SwitchedStore {
    inner: SqliteStore,
    state: Arc<AtomicU8>,
}

impl SwitchedStore {
    fn write(&self) -> Result<(), StoreError> {
        match self.state.load(Ordering::SeqCst) {
            HEALTHY => Ok(()),
            _ => Err(StoreError::Unavailable("database or disk is full".into())),
        }
    }

    fn read(&self) -> Result<(), StoreError> {
        match self.state.load(Ordering::SeqCst) {
            DOWN => Err(StoreError::Unavailable(
                "unable to open database file".into(),
            )),
            _ => Ok(()),
        }
    }
}

impl RecordStore for SwitchedStore {
    fn allocate_ids(
        &self,
        partition: Partition,
        count: usize,
    ) -> Result<Vec<RecordId>, StoreError> {
        self.write()?;
        self.inner.allocate_ids(partition, count)
    }

    fn write_records(
        &self,
        partition: Partition,
        schema: &PropertyCatalogue,
        inserts: &[NewRecord],
        update_ids: &[RecordId],
        apply: &mut RecordMutation<'_>,
    ) -> Result<Vec<Option<Record>>, StoreError> {
        self.write()?;
        self.inner
            .write_records(partition, schema, inserts, update_ids, apply)
    }

    fn get_records(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<Vec<Record>, StoreError> {
        self.read()?;
        self.inner.get_records(partition, ids)
    }

    fn list_records(
        &self,
        partition: Partition,
        archived: bool,
        from_id: RecordId,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.read()?;
        self.inner.list_records(partition, archived, from_id, limit)
    }

    fn archive_records(
        &self,
        partition: Partition,
        ids: &[RecordId],
        at: EpochMillis,
    ) -> Result<(), StoreError> {
        self.write()?;
        self.inner.archive_records(partition, ids, at)
    }

    fn purge_records(&self, partition: Partition, ids: &[RecordId]) -> Result<(), StoreError> {
        self.write()?;
        self.inner.purge_records(partition, ids)
    }

    fn history(
        &self,
        partition: Partition,
        ids: &[RecordId],
        names: &[String],
    ) -> Result<Vec<(RecordId, String, HistoryEntry)>, StoreError> {
        self.read()?;
        self.inner.history(partition, ids, names)
    }

    fn find_by_value(
        &self,
        partition: Partition,
        name: &str,
        value: &str,
    ) -> Result<Vec<RecordId>, StoreError> {
        self.read()?;
        self.inner.find_by_value(partition, name, value)
    }

    fn restore_records(
        &self,
        partition: Partition,
        schema: &PropertyCatalogue,
        calls: &[RestoredRecord],
    ) -> Result<(), StoreError> {
        self.write()?;
        self.inner.restore_records(partition, schema, calls)
    }

    fn search(&self, partition: Partition, plan: &SearchPlan) -> Result<SearchHits, StoreError> {
        self.read()?;
        self.inner.search(partition, plan)
    }
}

impl AssociationStore for SwitchedStore {
    fn associations(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<Vec<Association>, StoreError> {
        self.read()?;
        self.inner.associations(partition, ids)
    }

    fn replace_associations(
        &self,
        partition: Partition,
        call_id: RecordId,
        kind: ObjectType,
        to_id: u64,
        associations: &[Association],
    ) -> Result<(), StoreError> {
        self.write()?;
        self.inner
            .replace_associations(partition, call_id, kind, to_id, associations)
    }

    fn add_associations(
        &self,
        partition: Partition,
        associations: &[Association],
    ) -> Result<(), StoreError> {
        self.write()?;
        self.inner.add_associations(partition, associations)
    }

    fn remove_associations(
        &self,
        partition: Partition,
        call_id: RecordId,
        kind: ObjectType,
        to_id: u64,
        type_ids: Option<&[u32]>,
    ) -> Result<(), StoreError> {
        self.write()?;
        self.inner
            .remove_associations(partition, call_id, kind, to_id, type_ids)
    }

    fn associations_to(
        &self,
        partition: Partition,
        kind: ObjectType,
        to_ids: &[u64],
    ) -> Result<Vec<Association>, StoreError> {
        self.read()?;
        self.inner.associations_to(partition, kind, to_ids)
    }
}

impl SchemaStore for SwitchedStore {
    fn purge_property_values(&self, partition: Partition, name: &str) -> Result<(), StoreError> {
        self.write()?;
        self.inner.purge_property_values(partition, name)
    }

    fn custom_properties(&self, partition: Partition) -> Result<Vec<PropertyRecord>, StoreError> {
        self.read()?;
        self.inner.custom_properties(partition)
    }

    fn save_property(
        &self,
        partition: Partition,
        property: &PropertyRecord,
    ) -> Result<(), StoreError> {
        self.write()?;
        self.inner.save_property(partition, property)
    }

    fn custom_groups(&self, partition: Partition) -> Result<Vec<PropertyGroup>, StoreError> {
        self.read()?;
        self.inner.custom_groups(partition)
    }

    fn save_group(&self, partition: Partition, group: &PropertyGroup) -> Result<(), StoreError> {
        self.write()?;
        self.inner.save_group(partition, group)
    }

    fn custom_pipelines(&self, partition: Partition) -> Result<Vec<Pipeline>, StoreError> {
        self.read()?;
        self.inner.custom_pipelines(partition)
    }

    fn save_pipeline(&self, partition: Partition, pipeline: &Pipeline) -> Result<(), StoreError> {
        self.write()?;
        self.inner.save_pipeline(partition, pipeline)
    }
}

impl AdminStore for SwitchedStore {
    fn ping(&self) -> Result<(), StoreError> {
        self.read()?;
        self.inner.ping()
    }

    fn reset_portal(&self, portal: PortalId) -> Result<(), StoreError> {
        self.write()?;
        self.inner.reset_portal(portal)
    }

    fn portals(&self) -> Result<Vec<PortalId>, StoreError> {
        self.read()?;
        self.inner.portals()
    }
}

impl Scheduling for SwitchedStore {}

/// A server on a real on-disk store behind the switch.
async fn switched_app(dir: &std::path::Path) -> (TestApp, Arc<AtomicU8>) {
    let state = Arc::new(AtomicU8::new(HEALTHY));
    let store = SwitchedStore {
        inner: SqliteStore::open(dir).expect("store opens"),
        state: Arc::clone(&state),
    };
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![TokenGrant::full_access(TOKEN, 1)],
    );
    config.storage = Storage::Directory(dir.to_owned());
    let app = App::build_with_store(config, Arc::new(store))
        .await
        .expect("server starts");
    let address = app.address();
    tokio::spawn(app.run(std::future::pending()));
    let app = TestApp {
        address,
        client: reqwest::Client::new(),
        token: TOKEN.to_owned(),
        store_dir: None,
    };
    (app, state)
}

fn new_call(title: &str) -> serde_json::Value {
    json!({"properties": {"hs_timestamp": 0, "hs_call_title": title}})
}

#[tokio::test]
async fn writes_fail_with_503_while_the_disk_is_full_and_succeed_once_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let (app, state) = switched_app(dir.path()).await;
    let kept = app.create_call(json!({"hs_call_title": "kept"})).await;

    state.store(FULL, Ordering::SeqCst);
    let refused = app.post("/crm/v3/objects/calls", new_call("lost")).await;
    let body = refused.assert_error(503, "SERVICE_UNAVAILABLE");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("nothing was changed"));
    app.patch(
        &format!("/crm/v3/objects/calls/{kept}"),
        json!({"properties": {"hs_call_title": "changed"}}),
    )
    .await
    .assert_error(503, "SERVICE_UNAVAILABLE");
    app.post(
        "/crm/v3/objects/calls/batch/create",
        json!({"inputs": [new_call("lost too")]}),
    )
    .await
    .assert_error(503, "SERVICE_UNAVAILABLE");
    // Reads go on and the process is ready to serve them.
    let read = app
        .get(&format!(
            "/crm/v3/objects/calls/{kept}?properties=hs_call_title"
        ))
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["properties"]["hs_call_title"], "kept");
    assert_eq!(app.get("/readyz").await.status, 200);

    state.store(HEALTHY, Ordering::SeqCst);
    let created = app.post("/crm/v3/objects/calls", new_call("after")).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let updated = app
        .patch(
            &format!("/crm/v3/objects/calls/{kept}"),
            json!({"properties": {"hs_call_title": "changed"}}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    // Nothing of the refused writes was half-done.
    let titles: Vec<String> = app
        .get("/crm/v3/objects/calls?properties=hs_call_title")
        .await
        .body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["properties"]["hs_call_title"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(titles, ["changed", "after"]);
}

#[tokio::test]
async fn a_lost_database_fails_readiness_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let (app, state) = switched_app(dir.path()).await;
    let id = app.create_call(json!({"hs_call_title": "survives"})).await;

    state.store(DOWN, Ordering::SeqCst);
    app.get("/readyz")
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");
    app.get(&format!("/crm/v3/objects/calls/{id}"))
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");
    app.post("/crm/v3/objects/calls", new_call("lost"))
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");
    // Liveness is not readiness: the process answers.
    assert_eq!(app.get("/healthz").await.status, 200);

    state.store(HEALTHY, Ordering::SeqCst);
    assert_eq!(app.get("/readyz").await.status, 200);
    let read = app
        .get(&format!(
            "/crm/v3/objects/calls/{id}?properties=hs_call_title"
        ))
        .await;
    assert_eq!(read.body["properties"]["hs_call_title"], "survives");
    assert_eq!(
        app.post("/crm/v3/objects/calls", new_call("back"))
            .await
            .status,
        201
    );
}

/// The real engine with a size cap (as on a small disk): once full, a write fails with the
/// 503; once space is freed inside the database (GDPR deletes), writes succeed again.
#[tokio::test]
async fn a_capped_database_accepts_writes_again_once_space_is_freed() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![TokenGrant::full_access(TOKEN, 1)],
    );
    config.storage = Storage::Directory(dir.path().to_owned());
    config.max_database_bytes = Some(1024 * 1024);
    let app = common::spawn_with(config).await;
    let body = "x".repeat(4_000);
    let large = json!({"properties": {"hs_timestamp": 0, "hs_call_body": body}});
    let mut stored = Vec::new();
    let refused = loop {
        let reply = app.post("/crm/v3/objects/calls", large.clone()).await;
        if reply.status != 201 {
            break reply;
        }
        stored.push(reply.body["id"].as_str().unwrap().to_owned());
        assert!(stored.len() < 2_000, "the store never filled up");
    };
    refused.assert_error(503, "SERVICE_UNAVAILABLE");
    assert!(stored.len() >= 4, "only {} calls fit", stored.len());

    for id in &stored[..stored.len() / 2] {
        let reply = app
            .post("/crm/v3/objects/calls/gdpr-delete", json!({"objectId": id}))
            .await;
        assert_eq!(reply.status, 204, "{}", reply.text);
    }
    let created = app.post("/crm/v3/objects/calls", large.clone()).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap();
    let read = app
        .get(&format!(
            "/crm/v3/objects/calls/{id}?properties=hs_call_body"
        ))
        .await;
    assert_eq!(read.body["properties"]["hs_call_body"], body);
}
