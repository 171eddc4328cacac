//! A data directory written by the previous release (976fded, calls only, layout version 4,
//! a saved index of format 2) opens with this one and keeps every call, history entry,
//! association, custom property and unique value; the records it held become the portal's
//! calls, and the other types start empty beside them.
//!
//! The fixture was written by that release's binary through its HTTP API: a custom unique
//! property `ext_ref`; call 10000000001 created with `ext_ref` r-1 and associated with
//! contact 501 (which never existed: that release kept no contacts), its title updated once,
//! then associated with company 77; call 10000000002 created and archived; then a clean stop.

use crate::common;

use common::{spawn_app_in, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/release-976fded"
);
const LIVE: &str = "10000000001";
const ARCHIVED: &str = "10000000002";

/// The fixture copied into a directory of the test's own (the server writes to it).
fn copy_of_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(FIXTURE).expect("fixture") {
        let entry = entry.expect("fixture entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
    }
    dir
}

async fn get(app: &TestApp, path: &str) -> Value {
    let reply = app.get(path).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    reply.body
}

#[tokio::test]
async fn a_store_of_the_previous_release_opens_with_everything_in_place() {
    // The fixture is a SQLite file: the PostgreSQL run has nothing to check here.
    if common::test_database_url().is_some() {
        return;
    }
    let dir = copy_of_fixture();
    let app = spawn_app_in(dir.path()).await;

    let call = get(
        &app,
        &format!(
            "/crm/v3/objects/calls/{LIVE}?properties=hs_call_title,ext_ref&propertiesWithHistory=hs_call_title&associations=contacts,companies"
        ),
    )
    .await;
    assert_eq!(
        call["properties"]["hs_call_title"],
        "Renewal with Acme, second try"
    );
    assert_eq!(call["properties"]["ext_ref"], "r-1");
    let history: Vec<&str> = call["propertiesWithHistory"]["hs_call_title"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        ["Renewal with Acme, second try", "Renewal with Acme"]
    );
    // Associations with records that never existed stay readable from the call.
    assert_eq!(
        call["associations"],
        json!({
            "companies": {"results": [{"id": "77", "type": "call_to_company"}]},
            "contacts": {"results": [{"id": "501", "type": "call_to_contact"}]}
        })
    );

    let archived = get(
        &app,
        &format!("/crm/v3/objects/calls/{ARCHIVED}?archived=true"),
    )
    .await;
    assert_eq!(archived["archived"], true);

    // The custom property and its uniqueness came along; search works on the rebuilt index.
    let property = get(&app, "/crm/v3/properties/calls/ext_ref").await;
    assert_eq!(property["hasUniqueValue"], true);
    let by_ref = get(&app, "/crm/v3/objects/calls/r-1?idProperty=ext_ref").await;
    assert_eq!(by_ref["id"], LIVE);
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": "2025-01-01T00:00:00Z", "ext_ref": "r-1"}}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let hits = app
        .post("/crm/v3/objects/calls/search", json!({"query": "renewal"}))
        .await;
    assert_eq!(hits.body["total"], 1, "{}", hits.text);

    // The other types are there, empty, and new records get ids above the old ones.
    let contacts = get(&app, "/crm/v3/objects/contacts").await;
    assert_eq!(contacts["results"], json!([]));
    let reply = app
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "new@example.com"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let id: u64 = reply.body["id"].as_str().unwrap().parse().unwrap();
    assert!(id > ARCHIVED.parse::<u64>().unwrap());
}
