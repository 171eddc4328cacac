//! `hubcalls migrate-store` copies a store whole: SQLite → PostgreSQL → SQLite (or, without
//! a test database, SQLite → SQLite → SQLite) gives back the same calls, history,
//! associations, archived calls and custom properties, and the copy keeps working.

use crate::common;

use std::process::Command;

use common::{spawn_with, TestApp, OTHER_PORTAL_TOKEN, TOKEN};
use hubcalls::config::{Config, Storage, TokenGrant};
use serde_json::{json, Value};

fn config(storage: Storage) -> Config {
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![
            TokenGrant::full_access(TOKEN, 1),
            TokenGrant::full_access(OTHER_PORTAL_TOKEN, 2),
        ],
    );
    config.storage = storage;
    config
}

/// Runs the real binary; panics with its output when it fails.
fn migrate(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_hubcalls"))
        .arg("migrate-store")
        .args(args)
        .output()
        .expect("hubcalls runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "migrate-store {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Where a copy goes: a fresh PostgreSQL schema when the harness has a database, else a
/// second data directory. Returns the storage and the command-line arguments naming it.
fn middle_store(dir: &std::path::Path) -> (Storage, Vec<String>) {
    match common::test_database_url() {
        Some(url) => {
            let schema = common::fresh_schema_name();
            (
                Storage::Postgres(common::postgres_settings(&url, &schema)),
                vec![url, schema],
            )
        }
        None => (
            Storage::Directory(dir.to_owned()),
            vec![dir.display().to_string()],
        ),
    }
}

const SHOWN: &str = "hs_call_title,hs_call_body,hs_timestamp,ticket_ref";

/// Everything a client can see of the stored data, in a comparable form.
async fn snapshot(app: &TestApp, other: &TestApp) -> Value {
    let live = app
        .get(&format!(
            "/crm/v3/objects/calls?limit=100&properties={SHOWN}&propertiesWithHistory={SHOWN}&associations=contacts"
        ))
        .await;
    let archived = app
        .get(&format!(
            "/crm/v3/objects/calls?archived=true&properties={SHOWN}"
        ))
        .await;
    let contacts = app
        .get("/crm/v3/objects/contacts?limit=100&associations=calls")
        .await;
    let property = app.get("/crm/v3/properties/calls/ticket_ref").await;
    let search = app
        .post(
            "/crm/v3/objects/calls/search",
            json!({"query": "renewal", "properties": ["hs_call_title"], "sorts": ["hs_call_title"]}),
        )
        .await;
    let other_portal = other.get("/crm/v3/objects/calls").await;
    for reply in [
        &live,
        &archived,
        &contacts,
        &property,
        &search,
        &other_portal,
    ] {
        assert_eq!(reply.status, 200, "body: {}", reply.text);
    }
    let mut property = property.body.clone();
    // Read back as stored; only the server-stamped update time may differ between reads.
    property.as_object_mut().unwrap().remove("updatedAt");
    json!({
        "live": live.body["results"],
        "archived": archived.body["results"],
        "contacts": contacts.body["results"],
        "property": property,
        "search": search.body,
        "otherPortal": other_portal.body["results"],
    })
}

async fn server_pair(storage: Storage) -> (TestApp, TestApp) {
    let app = spawn_with(config(storage)).await;
    let other = TestApp {
        address: app.address,
        client: app.client.clone(),
        token: OTHER_PORTAL_TOKEN.to_owned(),
        store_dir: None,
    };
    (app, other)
}

#[tokio::test]
async fn a_store_survives_a_round_trip_through_migrate_store() {
    let source_dir = tempfile::tempdir().unwrap();
    let middle_dir = tempfile::tempdir().unwrap();
    let back_dir = tempfile::tempdir().unwrap();

    // The source: a SQLite store with a bit of everything.
    let (app, other) = server_pair(Storage::Directory(source_dir.path().to_owned())).await;
    let defined = app
        .post(
            "/crm/v3/properties/calls",
            json!({"name": "ticket_ref", "label": "Ticket", "type": "string", "fieldType": "text", "groupName": "callinformation", "hasUniqueValue": true}),
        )
        .await;
    assert_eq!(defined.status, 201, "body: {}", defined.text);
    let mut ids = Vec::new();
    for i in 0..12 {
        let id = app
            .create_call(json!({"hs_call_title": format!("Renewal call {i}"), "hs_call_body": "<p>Talked about <b>pricing</b></p>", "ticket_ref": format!("T-{i}")}))
            .await;
        ids.push(id);
    }
    for id in &ids[..4] {
        let reply = app
            .patch(
                &format!("/crm/v3/objects/calls/{id}"),
                json!({"properties": {"hs_call_title": "Renewal follow-up", "hs_call_body": ""}}),
            )
            .await;
        assert_eq!(reply.status, 200, "body: {}", reply.text);
    }
    let contact = app.create_contact().await;
    let associated = app
        .put(&format!(
            "/crm/v4/objects/calls/{}/associations/default/contacts/{contact}",
            ids[5]
        ))
        .await;
    assert_eq!(associated.status, 200, "body: {}", associated.text);
    assert_eq!(
        app.delete(&format!("/crm/v3/objects/calls/{}", ids[11]))
            .await
            .status,
        204
    );
    other
        .create_call(json!({"hs_call_title": "Portal two"}))
        .await;
    let before = snapshot(&app, &other).await;
    assert_eq!(before["live"].as_array().unwrap().len(), 11);
    assert_eq!(before["archived"].as_array().unwrap().len(), 1);
    assert_eq!(
        before["contacts"][0]["associations"]["calls"]["results"][0]["id"],
        ids[5].as_str(),
        "{}",
        before["contacts"]
    );

    // Out and back again.
    let (middle, middle_args) = middle_store(middle_dir.path());
    let mut to_middle = vec![
        "--from".to_owned(),
        source_dir.path().display().to_string(),
        "--to".to_owned(),
        middle_args[0].clone(),
    ];
    if let Some(schema) = middle_args.get(1) {
        to_middle.extend(["--to-schema".to_owned(), schema.clone()]);
    }
    let summary = migrate(&to_middle.iter().map(String::as_str).collect::<Vec<_>>());
    // 11 live calls and the contact they name; records of every type are counted.
    assert!(
        summary.contains("portal 1: 12 live records, 1 archived"),
        "{summary}"
    );
    assert!(summary.contains("portal 2: 1 live records"), "{summary}");

    let mut to_back = vec![
        "--from".to_owned(),
        middle_args[0].clone(),
        "--to".to_owned(),
        back_dir.path().display().to_string(),
    ];
    if let Some(schema) = middle_args.get(1) {
        to_back.extend(["--from-schema".to_owned(), schema.clone()]);
    }
    migrate(&to_back.iter().map(String::as_str).collect::<Vec<_>>());

    for storage in [middle, Storage::Directory(back_dir.path().to_owned())] {
        let (copy, copy_other) = server_pair(storage).await;
        let after = snapshot(&copy, &copy_other).await;
        assert_eq!(after, before);
        // The copy goes on working: new ids above the copied ones, unique values enforced.
        let fresh = copy.create_call(json!({"hs_call_title": "After"})).await;
        let highest = ids
            .iter()
            .chain([&contact])
            .map(|id| id.parse::<u64>().unwrap())
            .max()
            .unwrap();
        assert!(fresh.parse::<u64>().unwrap() > highest);
        let clash = copy
            .create_call_reply(json!({"hs_call_title": "Dup", "ticket_ref": "T-3"}))
            .await;
        clash.assert_error(400, "VALIDATION_ERROR");
    }
}

#[test]
fn a_missing_source_is_refused_with_a_message() {
    let empty = tempfile::tempdir().unwrap();
    let target = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hubcalls"))
        .args(["migrate-store", "--from"])
        .arg(empty.path())
        .arg("--to")
        .arg(target.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("holds no hubcalls database"), "{stderr}");
}
