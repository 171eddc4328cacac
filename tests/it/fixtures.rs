//! Fixtures and reset over the admin API: a portal exported, reset and loaded again comes
//! back exactly; bad fixtures are refused whole, with line numbers.

use crate::common;

use common::{spawn_with, Reply, TestApp, OTHER_PORTAL_TOKEN, TOKEN};
use hubcalls::config::{Config, TokenGrant};
use hubcalls::crm::objects::Partition;
use hubcalls::crm::ports::AdminStore;
use hubcalls::crm::transfer::{copy_partition, export_portal};
use hubcalls::store::SqliteStore;
use reqwest::Method;
use serde_json::{json, Value};

const ADMIN: &str = "admin-secret";

async fn app_with_admin() -> TestApp {
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![
            TokenGrant::full_access(TOKEN, 1),
            TokenGrant::full_access(OTHER_PORTAL_TOKEN, 2),
        ],
    );
    config.admin_token = Some(ADMIN.to_owned());
    spawn_with(config).await
}

async fn export(app: &TestApp, portal: u32) -> String {
    let response = app
        .client
        .get(app.url(&format!("/_hubcalls/portals/{portal}/export")))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/x-ndjson"
    );
    response.text().await.unwrap()
}

async fn load(app: &TestApp, portal: u32, query: &str, body: &str) -> Reply {
    app.send_raw(
        Method::POST,
        &format!("/_hubcalls/portals/{portal}/fixtures{query}"),
        Some(ADMIN),
        Some(body.to_owned()),
    )
    .await
}

/// The export without its header line (which carries the time of the export).
fn records(export: &str) -> Vec<Value> {
    export
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|record| record["record"] != "header")
        .collect()
}

/// Everything the API shows of a call: properties, history of every property, associations.
async fn call_as_seen(app: &TestApp, id: &str, archived: bool) -> Value {
    let names = [
        "hs_call_title",
        "hs_call_body",
        "hs_timestamp",
        "hs_call_duration",
        "ticket_ref",
        "hs_lastmodifieddate",
        "hs_createdate",
        "hs_object_source",
    ]
    .join(",");
    let reply = app
        .get(&format!(
            "/crm/v3/objects/calls/{id}?archived={archived}&properties={names}&propertiesWithHistory={names}&associations=contacts,deals"
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

#[tokio::test]
async fn export_reset_and_load_round_trips_exactly() {
    let app = app_with_admin().await;
    let group = app
        .post(
            "/crm/v3/properties/calls/groups",
            json!({"name": "support", "label": "Support"}),
        )
        .await;
    assert_eq!(group.status, 201, "{}", group.text);
    let property = app
        .post(
            "/crm/v3/properties/calls",
            json!({"name": "ticket_ref", "label": "Ticket ref", "type": "string", "fieldType": "text", "groupName": "support", "hasUniqueValue": true}),
        )
        .await;
    assert_eq!(property.status, 201, "{}", property.text);
    let live = app
        .create_call(
            json!({"hs_call_title": "first", "ticket_ref": "T-1", "hs_call_body": "<p>hello</p>"}),
        )
        .await;
    let edited = app
        .patch(
            &format!("/crm/v3/objects/calls/{live}"),
            json!({"properties": {"hs_call_title": "second", "hs_call_duration": "60000"}}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    let contact = app.create_contact().await;
    let linked = app
        .send(
            Method::PUT,
            &format!("/crm/v3/objects/calls/{live}/associations/contacts/{contact}/194"),
            None,
        )
        .await;
    assert_eq!(linked.status, 200, "{}", linked.text);
    let archived = app
        .create_call(json!({"hs_call_title": "gone", "ticket_ref": "T-2"}))
        .await;
    assert_eq!(
        app.delete(&format!("/crm/v3/objects/calls/{archived}"))
            .await
            .status,
        204
    );

    let before_live = call_as_seen(&app, &live, false).await;
    let before_archived = call_as_seen(&app, &archived, true).await;
    let before_property = app.get("/crm/v3/properties/calls/ticket_ref").await.body;
    let first = export(&app, 1).await;
    assert!(first
        .lines()
        .next()
        .unwrap()
        .contains("\"record\":\"header\""));
    assert_eq!(
        first.lines().count(),
        6,
        "header, group, property, two calls, the contact"
    );

    let reset = app
        .send_raw(Method::DELETE, "/_hubcalls/portals/1", Some(ADMIN), None)
        .await;
    assert_eq!(reset.status, 204);
    app.get(&format!("/crm/v3/objects/calls/{live}"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");

    let loaded = load(&app, 1, "", &first).await;
    assert_eq!(loaded.status, 200, "{}", loaded.text);
    assert_eq!(loaded.body["calls"], 2);
    assert_eq!(loaded.body["properties"], 1);
    assert_eq!(loaded.body["groups"], 1);

    assert_eq!(call_as_seen(&app, &live, false).await, before_live);
    assert_eq!(call_as_seen(&app, &archived, true).await, before_archived);
    assert_eq!(
        app.get("/crm/v3/properties/calls/ticket_ref").await.body,
        before_property
    );
    assert_eq!(records(&export(&app, 1).await), records(&first));

    // The unique index came back too, and new ids do not collide with restored ones.
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": 0, "ticket_ref": "t-1"}}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("already has that value"));
    let fresh = app.create_call(json!({"hs_call_title": "new"})).await;
    let max_restored = live.parse::<u64>().unwrap().max(archived.parse().unwrap());
    assert!(fresh.parse::<u64>().unwrap() > max_restored, "{fresh}");
}

#[tokio::test]
async fn a_hand_written_fixture_loads_and_reset_starts_from_it() {
    let app = app_with_admin().await;
    let old = app.create_call(json!({"hs_call_title": "old"})).await;
    let fixture = [
        r#"{"record":"call","id":"900001","createdAt":"2025-03-01T09:00:00Z","properties":{"hs_timestamp":"2025-03-01T09:00:00Z","hs_call_title":"Kickoff","hs_call_direction":"OUTBOUND"},"associations":[{"toObjectType":"deals","toObjectId":"77"}]}"#,
        "",
        r#"{"record":"call","id":900002,"archived":true,"archivedAt":1740900000000,"properties":{"hs_timestamp":1740800000000}}"#,
    ]
    .join("\n");
    let loaded = load(&app, 1, "?reset=true", &fixture).await;
    assert_eq!(loaded.status, 200, "{}", loaded.text);
    assert_eq!(loaded.body["reset"], true);
    app.get(&format!("/crm/v3/objects/calls/{old}"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");

    let call = call_as_seen(&app, "900001", false).await;
    assert_eq!(call["properties"]["hs_call_title"], "Kickoff");
    assert_eq!(call["createdAt"], "2025-03-01T09:00:00Z");
    assert_eq!(call["properties"]["hs_createdate"], "2025-03-01T09:00:00Z");
    assert_eq!(
        call["propertiesWithHistory"]["hs_call_title"][0]["sourceType"],
        "IMPORT"
    );
    assert_eq!(
        call["associations"]["deals"]["results"][0]["id"], "77",
        "{call}"
    );
    let gone = call_as_seen(&app, "900002", true).await;
    assert_eq!(gone["archived"], true);
    assert_eq!(gone["archivedAt"], "2025-03-02T07:20:00Z");
    let search = app
        .post(
            "/crm/v3/objects/calls/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "hs_call_title", "operator": "EQ", "value": "Kickoff"}]}]}),
        )
        .await;
    assert_eq!(search.body["total"], 1, "restored calls are searchable");
}

#[tokio::test]
async fn bad_lines_are_refused_with_their_numbers_and_nothing_is_written() {
    let app = app_with_admin().await;
    let kept = app.create_call(json!({"hs_call_title": "kept"})).await;
    let fixture = [
        r#"{"record":"header","format":"hubcalls-calls","version":1}"#,
        r#"{"record":"call","id":"910001","properties":{"hs_timestamp":0,"hs_call_title":"fine"}}"#,
        r#"{"record":"call","id":"910002","properties":{"hs_timestamp":0}"#,
        r#"{"record":"call","id":"910003","properties":{"hs_timestamp":0,"no_such_property":"x","hs_call_direction":"SIDEWAYS"}}"#,
        r#"{"record":"call","id":"910001","properties":{"hs_timestamp":0}}"#,
        r#"{"record":"group","name":"late","label":"Late"}"#,
    ]
    .join("\n");
    let reply = load(&app, 1, "?reset=true", &fixture).await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("5 problem(s); nothing was written"),
        "{body}"
    );
    let lines: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["context"]["line"][0].as_str().unwrap().to_owned(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let at = |line: &str, text: &str| {
        assert!(
            lines.iter().any(|(l, m)| l == line && m.contains(text)),
            "no problem on line {line} mentioning {text:?}: {lines:?}"
        )
    };
    at("3", "not valid JSON");
    at("4", "property \"no_such_property\" does not exist");
    at("4", "SIDEWAYS was not one of the allowed options");
    at("5", "call id 910001 already appears on line 2");
    at(
        "6",
        "order header, groups, properties, pipelines, then objects",
    );

    // Nothing was written, not even the reset.
    assert_eq!(
        app.get(&format!("/crm/v3/objects/calls/{kept}"))
            .await
            .status,
        200
    );
    app.get("/crm/v3/objects/calls/910001")
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn ids_of_another_portal_and_repeated_unique_values_are_refused() {
    let app = app_with_admin().await;
    let theirs = app
        .send_raw(
            Method::POST,
            "/crm/v3/objects/calls",
            Some(OTHER_PORTAL_TOKEN),
            Some(json!({"properties": {"hs_timestamp": 0}}).to_string()),
        )
        .await;
    let theirs = theirs.body["id"].as_str().unwrap().to_owned();
    let fixture = format!(
        "{}\n{}\n{}\n{}",
        r#"{"record":"property","name":"ext","label":"Ext","type":"string","fieldType":"text","groupName":"call","hasUniqueValue":true}"#,
        json!({"record": "call", "id": theirs, "properties": {"hs_timestamp": 0}}),
        r#"{"record":"call","id":"920001","properties":{"hs_timestamp":0,"ext":"Same"}}"#,
        r#"{"record":"call","id":"920002","properties":{"hs_timestamp":0,"ext":"same"}}"#,
    );
    let reply = load(&app, 1, "", &fixture).await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    let text = body["errors"].to_string();
    assert!(
        text.contains(&format!("call id {theirs} belongs to portal 2")),
        "{text}"
    );
    assert!(
        text.contains(
            "ext \\\"same\\\" is a unique value and is also held by call 920001 (line 3)"
        ),
        "{text}"
    );
    app.get("/crm/v3/properties/calls/ext")
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    // Portal 2's call is untouched.
    let still = app
        .send_raw(
            Method::GET,
            &format!("/crm/v3/objects/calls/{theirs}"),
            Some(OTHER_PORTAL_TOKEN),
            None,
        )
        .await;
    assert_eq!(still.status, 200);
}

#[tokio::test]
async fn large_portals_stream_out_and_load_back_in_chunks() {
    // On PostgreSQL, loading 1,200 calls takes close to the default 30 s request limit on a
    // 2-core machine (each value is its own round trip); this test is about chunking, not
    // speed, so its load may take longer.
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![TokenGrant::full_access(TOKEN, 1)],
    );
    config.admin_token = Some(ADMIN.to_owned());
    config.http.request_timeout_secs = 300;
    let app = spawn_with(config).await;
    for batch in 0..12 {
        let inputs: Vec<Value> = (0..100)
            .map(|i| {
                json!({"properties": {
                    "hs_timestamp": 0,
                    "hs_call_title": format!("call {batch}-{i}"),
                    "hs_call_body": "x".repeat(200),
                }})
            })
            .collect();
        let reply = app
            .post(
                "/crm/v3/objects/calls/batch/create",
                json!({ "inputs": inputs }),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let first = export(&app, 1).await;
    assert_eq!(first.lines().count(), 1201);
    let loaded = load(&app, 1, "?reset=true", &first).await;
    assert_eq!(loaded.status, 200, "{}", loaded.text);
    assert_eq!(loaded.body["calls"], 1200);
    assert_eq!(records(&export(&app, 1).await), records(&first));
}

#[tokio::test]
async fn a_fixture_that_is_not_ndjson_gets_a_precise_error() {
    let app = app_with_admin().await;
    let reply = load(&app, 1, "?reset=maybe", "").await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let reply = load(&app, 1, "", "[1,2]\n").await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(body["errors"][0]["message"], "expected a JSON object");
    assert_eq!(body["errors"][0]["context"]["line"][0], "1");
    let reply = load(
        &app,
        1,
        "",
        r#"{"record":"header","format":"hubcalls","version":3}"#,
    )
    .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("version 3 is not supported"));
    app.send_raw(
        Method::GET,
        "/_hubcalls/portals/abc/export",
        Some(ADMIN),
        None,
    )
    .await
    .assert_error(400, "VALIDATION_ERROR");
    // An empty fixture is fine: it loads nothing.
    let reply = load(&app, 1, "", "").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["calls"], 0);
}

#[test]
fn a_portal_copies_from_one_store_to_another() {
    let from = SqliteStore::in_memory().unwrap();
    let to = SqliteStore::in_memory().unwrap();
    let fixture = r#"{"record":"group","name":"g","label":"G"}
{"record":"property","name":"p","label":"P","type":"number","fieldType":"number","groupName":"g"}
{"record":"call","id":"5","properties":{"hs_timestamp":0,"p":"12.5"},"associations":[{"toObjectType":"0-2","toObjectId":9}]}
{"record":"call","id":"6","archived":true,"properties":{"hs_timestamp":0}}
"#;
    let options = hubcalls::crm::transfer::ImportOptions {
        portal: Some(4),
        reset: false,
    };
    let plan = hubcalls::crm::transfer::check_import(&from, fixture.as_bytes(), options).unwrap();
    hubcalls::crm::transfer::apply_import(&from, &plan, fixture.as_bytes(), &mut |_| {}).unwrap();

    let mut seen = Vec::new();
    let summary = copy_partition(&from, &to, Partition::calls(4), &mut |n| seen.push(n)).unwrap();
    assert_eq!(
        (
            summary.groups,
            summary.properties,
            summary.records,
            summary.calls
        ),
        (1, 1, 2, 2)
    );
    assert_eq!(seen.last(), Some(&2));
    let dump = |store: &SqliteStore| {
        let mut out = Vec::new();
        export_portal(store, 4, &mut out, &mut |_| {}).unwrap();
        let text = String::from_utf8(out).unwrap();
        records(&text)
    };
    assert_eq!(dump(&to), dump(&from));
    assert_eq!(to.portals().unwrap(), vec![4]);
}
