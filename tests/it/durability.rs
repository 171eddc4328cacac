//! Calls survive a restart of the server on the same data directory.

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::{spawn_app_in, TestApp, OTHER_PORTAL_TOKEN, READ_ONLY_TOKEN, TOKEN};
use hubcalls::config::{Config, TokenGrant};
use hubcalls::App;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server on `dir` that can be stopped, so the next one opens a closed database.
struct StoppableApp {
    app: TestApp,
    stop: oneshot::Sender<()>,
    running: JoinHandle<std::io::Result<()>>,
}

impl StoppableApp {
    async fn start(dir: &Path) -> Self {
        let mut read_only = TokenGrant::full_access(READ_ONLY_TOKEN, 1);
        read_only.scopes = vec!["crm.objects.contacts.read".to_owned()];
        let grants = vec![
            TokenGrant::full_access(TOKEN, 1),
            read_only,
            TokenGrant::full_access(OTHER_PORTAL_TOKEN, 2),
        ];
        let mut config = Config::in_memory("127.0.0.1:0".parse().unwrap(), grants);
        config.storage = common::storage_in(dir);
        let server = App::build(config).await.expect("server starts");
        let address = server.address();
        let (stop, stopped) = oneshot::channel::<()>();
        let running = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        Self {
            app: TestApp {
                address,
                client: reqwest::Client::new(),
                token: TOKEN.to_owned(),
                store_dir: None,
            },
            stop,
            running,
        }
    }

    /// Stops the server and waits until it has finished (its store is dropped with it).
    async fn stop(self) {
        drop(self.app);
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.running)
            .await
            .expect("server stops within 10 s")
            .expect("server task")
            .expect("server ran cleanly");
    }
}

fn id_number(id: &str) -> u64 {
    id.parse().expect("numeric id")
}

#[tokio::test]
async fn calls_and_history_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = StoppableApp::start(dir.path()).await;
    let app = &first.app;
    let id = app
        .create_call(json!({"hs_call_title": "before", "hs_call_duration": 3800}))
        .await;
    let updated = app
        .patch(
            &format!("/crm/v3/objects/calls/{id}"),
            json!({"properties": {"hs_call_title": "after", "hs_call_direction": "INBOUND"}}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "body: {}", updated.text);
    let archived_id = app.create_call(json!({"hs_call_title": "archived"})).await;
    let reply = app
        .delete(&format!("/crm/v3/objects/calls/{archived_id}"))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let email = common::unique_email();
    let contact = app.create_record("contacts", json!({"email": email})).await;
    let associated = app
        .post(
            "/crm/v3/objects/calls",
            json!({
                "properties": {"hs_timestamp": "1745524893000"},
                "associations": [{"to": {"id": contact}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194}]}]
            }),
        )
        .await;
    assert_eq!(
        associated.status,
        StatusCode::CREATED,
        "body: {}",
        associated.text
    );
    let associated_id = associated.body["id"].as_str().unwrap().to_owned();
    let full_before = app
        .get(&format!(
            "/crm/v3/objects/calls/{id}?properties=hs_call_title,hs_call_duration,hs_call_direction,hs_timestamp&propertiesWithHistory=hs_call_title"
        ))
        .await;
    first.stop().await;

    let second = StoppableApp::start(dir.path()).await;
    let app = &second.app;
    let reply = app
        .get(&format!(
            "/crm/v3/objects/calls/{id}?properties=hs_call_title,hs_call_duration,hs_call_direction,hs_timestamp&propertiesWithHistory=hs_call_title"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    assert_eq!(reply.body, full_before.body);
    let props = &reply.body["properties"];
    assert_eq!(props["hs_call_title"], "after");
    assert_eq!(props["hs_call_duration"], "3800");
    assert_eq!(props["hs_call_direction"], "INBOUND");
    assert_eq!(props["hs_timestamp"], "2025-04-24T20:01:33Z");
    assert_eq!(reply.body["updatedAt"], updated.body["updatedAt"]);
    let history: Vec<&str> = reply.body["propertiesWithHistory"]["hs_call_title"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["after", "before"]);

    // Archived state, other object types and associations survive too.
    app.get(&format!("/crm/v3/objects/calls/{archived_id}"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    let archived = app
        .get(&format!(
            "/crm/v3/objects/calls/{archived_id}?archived=true"
        ))
        .await;
    assert_eq!(archived.status, StatusCode::OK);
    assert_eq!(archived.body["archived"], true);
    let with_assoc = app
        .get(&format!(
            "/crm/v3/objects/calls/{associated_id}?associations=contacts"
        ))
        .await;
    assert_eq!(
        with_assoc.body["associations"]["contacts"]["results"],
        json!([{"id": contact, "type": "call_to_contact"}])
    );
    let reply = app
        .get(&format!("/crm/v3/objects/contacts/{contact}"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    assert_eq!(reply.body["properties"]["email"], email.as_str());

    // Search still finds the updated values.
    let search = app
        .post(
            "/crm/v3/objects/calls/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "hs_call_title", "operator": "EQ", "value": "after"}]}]}),
        )
        .await;
    assert_eq!(search.status, StatusCode::OK, "body: {}", search.text);
    assert_eq!(search.body["total"], 1);
    assert_eq!(search.body["results"][0]["id"], id.as_str());

    // New ids come after every id handed out before the restart.
    let new_id = app.create_call(json!({})).await;
    let highest = [&id, &archived_id, &contact, &associated_id]
        .iter()
        .map(|i| id_number(i))
        .max()
        .unwrap();
    assert!(id_number(&new_id) > highest, "{new_id} <= {highest}");
    second.stop().await;
}

#[tokio::test]
async fn ids_of_purged_calls_are_not_reused_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = StoppableApp::start(dir.path()).await;
    let kept = first.app.create_call(json!({})).await;
    let purged = first.app.create_call(json!({})).await;
    assert!(id_number(&purged) > id_number(&kept));
    let reply = first
        .app
        .post(
            "/crm/v3/objects/calls/gdpr-delete",
            json!({"objectId": purged}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    first.stop().await;

    let second = StoppableApp::start(dir.path()).await;
    let fresh = second.app.create_call(json!({})).await;
    assert!(
        id_number(&fresh) > id_number(&purged),
        "new id {fresh} reuses or precedes purged id {purged}"
    );
    second
        .app
        .get(&format!("/crm/v3/objects/calls/{purged}?archived=true"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    second.stop().await;
}

#[tokio::test]
async fn a_second_server_reads_what_the_first_wrote() {
    // The first server keeps running: SQLite's WAL lets the second open the same files.
    let dir = tempfile::tempdir().unwrap();
    let first = spawn_app_in(dir.path()).await;
    let reply = first
        .post(
            "/crm/v3/objects/calls/batch/create",
            json!({"inputs": [
                {"properties": {"hs_timestamp": "1745524893000", "hs_call_title": "one"}},
                {"properties": {"hs_timestamp": "1745524893000", "hs_call_title": "two"}}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "body: {}", reply.text);
    let ids: Vec<String> = reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    let patched = first
        .patch(
            &format!("/crm/v3/objects/calls/{}", ids[1]),
            json!({"properties": {"hs_call_title": "two, edited"}}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK);

    let second = spawn_app_in(dir.path()).await;
    let reply = second
        .post(
            "/crm/v3/objects/calls/batch/read",
            json!({"inputs": [{"id": ids[0]}, {"id": ids[1]}], "properties": ["hs_call_title"], "propertiesWithHistory": ["hs_call_title"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(results[0]["properties"]["hs_call_title"], "one");
    assert_eq!(results[1]["properties"]["hs_call_title"], "two, edited");
    let history: Vec<&Value> = results[1]["propertiesWithHistory"]["hs_call_title"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["value"])
        .collect();
    assert_eq!(history, [&json!("two, edited"), &json!("two")]);

    let new_id = second.create_call(json!({})).await;
    assert!(ids.iter().all(|id| id_number(id) < id_number(&new_id)));
}
