//! Unique-value properties, addressing calls by them (`idProperty`), and batch upsert.

use crate::common;

use common::{spawn_app, TestApp, OTHER_PORTAL_TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PROPS: &str = "/crm/v3/properties/calls";
const CALLS: &str = "/crm/v3/objects/calls";
const UPSERT: &str = "/crm/v3/objects/calls/batch/upsert";
const TS: &str = "2025-04-24T20:01:33.000Z";

async fn unique_property(app: &TestApp, name: &str) {
    let reply = app
        .post(
            PROPS,
            json!({
                "name": name,
                "label": "External id",
                "type": "string",
                "fieldType": "text",
                "groupName": "callinformation",
                "hasUniqueValue": true
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["hasUniqueValue"], true);
}

async fn live_ids(app: &TestApp) -> Vec<String> {
    let reply = app.get(&format!("{CALLS}?limit=100")).await;
    reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn as_other_portal(app: &TestApp, method: Method, path: &str, body: Value) -> common::Reply {
    app.send_raw(
        method,
        path,
        Some(OTHER_PORTAL_TOKEN),
        Some(body.to_string()),
    )
    .await
}

// ----- unique values ----------------------------------------------------------------------

#[tokio::test]
async fn second_call_with_a_taken_value_is_refused() {
    let app = spawn_app().await;
    unique_property(&app, "ext_id").await;
    let first = app.create_call(json!({"ext_id": "A-1"})).await;

    let reply = app
        .post(
            CALLS,
            json!({"properties": {"hs_timestamp": TS, "ext_id": "A-1", "hs_call_title": "second"}}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("already has that value"), "{message}");
    assert!(
        message.contains("propertyName=ext_id, value=A-1"),
        "{message}"
    );
    assert!(message.contains("legacyObjectType=CALL"), "{message}");
    assert!(
        message.ends_with(&format!(". {first} already has that value.")),
        "{message}"
    );
    assert_eq!(live_ids(&app).await, vec![first.clone()]);

    // The same in a batch create: nothing of the batch is stored.
    let reply = app
        .post(
            &format!("{CALLS}/batch/create"),
            json!({"inputs": [
                {"properties": {"hs_timestamp": TS, "ext_id": "B-1"}},
                {"properties": {"hs_timestamp": TS, "ext_id": "A-1"}}
            ]}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(live_ids(&app).await, vec![first.clone()]);

    // Two inputs of one batch with the same value clash too.
    let reply = app
        .post(
            &format!("{CALLS}/batch/create"),
            json!({"inputs": [
                {"properties": {"hs_timestamp": TS, "ext_id": "C-1"}},
                {"properties": {"hs_timestamp": TS, "ext_id": "C-1"}}
            ]}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(live_ids(&app).await, vec![first]);

    // A different value is fine.
    app.create_call(json!({"ext_id": "A-2"})).await;
}

#[tokio::test]
async fn patch_to_a_taken_value_is_refused() {
    let app = spawn_app().await;
    unique_property(&app, "ext_id").await;
    let a = app.create_call(json!({"ext_id": "one"})).await;
    let b = app.create_call(json!({"ext_id": "two"})).await;
    let reply = app
        .patch(
            &format!("{CALLS}/{b}"),
            json!({"properties": {"ext_id": "one", "hs_call_title": "changed"}}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.ends_with(&format!("on {b}. {a} already has that value.")),
        "{message}"
    );
    let reply = app
        .get(&format!("{CALLS}/{b}?properties=ext_id,hs_call_title"))
        .await;
    assert_eq!(reply.body["properties"]["ext_id"], "two");
    assert_eq!(reply.body["properties"]["hs_call_title"], Value::Null);

    // Writing a call's own value again is not a clash.
    let reply = app
        .patch(
            &format!("{CALLS}/{a}"),
            json!({"properties": {"ext_id": "one"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    // Clearing frees the value.
    let reply = app
        .patch(
            &format!("{CALLS}/{a}"),
            json!({"properties": {"ext_id": ""}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = app
        .patch(
            &format!("{CALLS}/{b}"),
            json!({"properties": {"ext_id": "one"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn same_value_on_another_portal_is_fine() {
    let app = spawn_app().await;
    unique_property(&app, "ext_id").await;
    app.create_call(json!({"ext_id": "shared"})).await;
    let reply = as_other_portal(
        &app,
        Method::POST,
        PROPS,
        json!({"name": "ext_id", "label": "E", "type": "string", "fieldType": "text", "groupName": "callinformation", "hasUniqueValue": true}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let reply = as_other_portal(
        &app,
        Method::POST,
        CALLS,
        json!({"properties": {"hs_timestamp": TS, "ext_id": "shared"}}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

#[tokio::test]
async fn calls_are_addressed_by_a_unique_property() {
    let app = spawn_app().await;
    unique_property(&app, "ext_id").await;
    let id = app
        .create_call(json!({"ext_id": "rec-7", "hs_call_title": "by ext"}))
        .await;
    let other = app.create_call(json!({"ext_id": "rec-8"})).await;

    let reply = app
        .get(&format!(
            "{CALLS}/rec-7?idProperty=ext_id&properties=hs_call_title"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["id"], id.as_str());
    assert_eq!(reply.body["properties"]["hs_call_title"], "by ext");

    let reply = app.get(&format!("{CALLS}/rec-404?idProperty=ext_id")).await;
    reply.assert_error(404, "OBJECT_NOT_FOUND");

    let reply = app
        .patch(
            &format!("{CALLS}/rec-7?idProperty=ext_id"),
            json!({"properties": {"hs_call_title": "patched by ext"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["id"], id.as_str());
    assert_eq!(reply.body["properties"]["hs_call_title"], "patched by ext");

    // A non-unique or unknown idProperty is refused.
    for name in ["hs_call_title", "no_such_prop"] {
        let reply = app
            .get(&format!("{CALLS}/by%20ext?idProperty={name}"))
            .await;
        reply.assert_error(400, "VALIDATION_ERROR");
        let reply = app
            .patch(
                &format!("{CALLS}/x?idProperty={name}"),
                json!({"properties": {"hs_call_body": "x"}}),
            )
            .await;
        reply.assert_error(400, "VALIDATION_ERROR");
    }
    // hs_object_id as idProperty means the plain id.
    let reply = app
        .get(&format!("{CALLS}/{id}?idProperty=hs_object_id"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    // Batch read by the unique property, in input order, unknown values reported.
    let reply = app
        .post(
            &format!("{CALLS}/batch/read"),
            json!({
                "idProperty": "ext_id",
                "properties": ["ext_id"],
                "inputs": [{"id": "rec-8"}, {"id": "missing"}, {"id": "rec-7"}]
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS, "{}", reply.text);
    let got: Vec<&str> = reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, vec![other.as_str(), id.as_str()]);
    assert_eq!(reply.body["results"][0]["properties"]["ext_id"], "rec-8");
    assert_eq!(reply.body["errors"][0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(
        reply.body["errors"][0]["context"]["ids"],
        json!(["missing"])
    );

    let reply = app
        .post(
            &format!("{CALLS}/batch/read"),
            json!({"idProperty": "hs_call_title", "inputs": [{"id": "x"}]}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");

    // Batch update by the unique property.
    let reply = app
        .post(
            &format!("{CALLS}/batch/update"),
            json!({"inputs": [{"id": "rec-8", "idProperty": "ext_id", "properties": {"hs_call_title": "eight"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["results"][0]["id"], other.as_str());
}

#[tokio::test]
async fn gdpr_delete_by_unique_property() {
    let app = spawn_app().await;
    unique_property(&app, "ext_id").await;
    let gone = app.create_call(json!({"ext_id": "forget-me"})).await;
    let kept = app.create_call(json!({"ext_id": "keep-me"})).await;

    let reply = app
        .post(
            &format!("{CALLS}/gdpr-delete"),
            json!({"objectId": "forget-me", "idProperty": "ext_id"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert_eq!(live_ids(&app).await, vec![kept]);
    app.get(&format!("{CALLS}/{gone}?archived=true"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    // The value is free again.
    app.create_call(json!({"ext_id": "forget-me"})).await;

    let reply = app
        .post(
            &format!("{CALLS}/gdpr-delete"),
            json!({"objectId": "x", "idProperty": "hs_call_title"}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
}

// ----- upsert -----------------------------------------------------------------------------

#[tokio::test]
async fn upsert_creates_then_updates() {
    let app = spawn_app().await;
    unique_property(&app, "ext_id").await;

    let reply = app
        .post(
            UPSERT,
            json!({"inputs": [{"idProperty": "ext_id", "id": "u-1", "properties": {"hs_timestamp": TS, "hs_call_title": "first"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["status"], "COMPLETE");
    assert!(reply.body["startedAt"].is_string() && reply.body["completedAt"].is_string());
    assert!(reply.body.get("errors").is_none());
    let created = &reply.body["results"][0];
    assert_eq!(created["new"], true);
    assert_eq!(created["archived"], false);
    assert!(created["createdAt"].is_string() && created["updatedAt"].is_string());
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["properties"]["ext_id"], "u-1");
    assert_eq!(created["properties"]["hs_object_id"], id.as_str());
    assert_eq!(created["properties"]["hs_call_title"], "first");

    let reply = app
        .post(
            UPSERT,
            json!({"inputs": [{"idProperty": "ext_id", "id": "u-1", "properties": {"hs_call_title": "second"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let updated = &reply.body["results"][0];
    assert_eq!(updated["new"], false);
    assert_eq!(updated["id"], id.as_str());
    assert_eq!(updated["properties"]["hs_call_title"], "second");
    assert_eq!(updated["properties"]["ext_id"], "u-1");

    assert_eq!(live_ids(&app).await, vec![id.clone()]);
    let reply = app
        .get(&format!(
            "{CALLS}/{id}?propertiesWithHistory=hs_call_title,ext_id"
        ))
        .await;
    let history = &reply.body["propertiesWithHistory"];
    let titles: Vec<&str> = history["hs_call_title"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["value"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["second", "first"], "{}", reply.text);
    assert_eq!(history["ext_id"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn upsert_mixes_creates_and_updates_in_input_order() {
    let app = spawn_app().await;
    unique_property(&app, "ext_id").await;
    let existing = app
        .create_call(json!({"ext_id": "old", "hs_call_title": "before"}))
        .await;

    let reply = app
        .post(
            UPSERT,
            json!({"inputs": [
                {"idProperty": "ext_id", "id": "new-1", "properties": {"hs_timestamp": TS, "hs_call_title": "n1"}},
                {"idProperty": "ext_id", "id": "old", "properties": {"hs_call_title": "after"}},
                {"idProperty": "ext_id", "id": "new-2", "properties": {"hs_timestamp": TS, "hs_call_title": "n2"}}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let results = reply.body["results"].as_array().unwrap();
    let summary: Vec<(String, bool)> = results
        .iter()
        .map(|r| {
            (
                r["properties"]["ext_id"].as_str().unwrap().to_owned(),
                r["new"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("new-1".to_owned(), true),
            ("old".to_owned(), false),
            ("new-2".to_owned(), true)
        ]
    );
    assert_eq!(results[1]["id"], existing.as_str());
    assert_eq!(results[1]["properties"]["hs_call_title"], "after");
    assert_ne!(results[0]["id"], results[2]["id"]);
    assert_eq!(live_ids(&app).await.len(), 3);
}

#[tokio::test]
async fn upsert_refuses_non_unique_id_properties() {
    let app = spawn_app().await;
    unique_property(&app, "ext_id").await;
    let before = app.create_call(json!({"hs_call_title": "t"})).await;
    for name in ["hs_call_title", "hs_object_id"] {
        let reply = app
            .post(
                UPSERT,
                json!({"inputs": [{"idProperty": name, "id": "t", "properties": {"hs_timestamp": TS}}]}),
            )
            .await;
        let body = reply.assert_error(400, "VALIDATION_ERROR");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!(
                "Unable to perform update/upsert by non-unique 0-48 property {name}"
            )),
            "{message}"
        );
    }
    // Missing idProperty (and no default in the query).
    let reply = app
        .post(
            UPSERT,
            json!({"inputs": [{"id": "t", "properties": {"hs_timestamp": TS}}]}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    // One bad input spoils the batch.
    let reply = app
        .post(
            UPSERT,
            json!({"inputs": [
                {"idProperty": "ext_id", "id": "ok-1", "properties": {"hs_timestamp": TS}},
                {"idProperty": "hs_call_title", "id": "t", "properties": {}}
            ]}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    // Duplicate ids.
    let reply = app
        .post(
            UPSERT,
            json!({"inputs": [
                {"idProperty": "ext_id", "id": "dup", "properties": {"hs_timestamp": TS}},
                {"idProperty": "ext_id", "id": "dup", "properties": {"hs_timestamp": TS}}
            ]}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        body["message"],
        "Duplicate IDs found in batch input: [dup]. IDs must be unique"
    );
    assert_eq!(live_ids(&app).await, vec![before]);
}

#[tokio::test]
async fn upsert_is_all_or_nothing_without_trace_ids() {
    let app = spawn_app().await;
    unique_property(&app, "ext_id").await;
    let reply = app
        .post(
            UPSERT,
            json!({"inputs": [
                {"idProperty": "ext_id", "id": "good", "properties": {"hs_timestamp": TS}},
                {"idProperty": "ext_id", "id": "no-ts", "properties": {"hs_call_title": "missing timestamp"}}
            ]}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        body["context"]["properties"],
        json!(["hs_timestamp"]),
        "{body}"
    );
    assert!(live_ids(&app).await.is_empty());

    // With a trace id on every input, the valid one is applied and the other reported.
    let reply = app
        .post(
            UPSERT,
            json!({"inputs": [
                {"idProperty": "ext_id", "id": "good", "properties": {"hs_timestamp": TS}, "objectWriteTraceId": "t-good"},
                {"idProperty": "ext_id", "id": "no-ts", "properties": {"hs_call_title": "x"}, "objectWriteTraceId": "t-bad"}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS, "{}", reply.text);
    assert_eq!(reply.body["numErrors"], 1);
    assert_eq!(reply.body["results"].as_array().unwrap().len(), 1);
    assert_eq!(reply.body["results"][0]["properties"]["ext_id"], "good");
    assert_eq!(reply.body["results"][0]["new"], true);
    assert_eq!(
        reply.body["errors"][0]["context"]["objectWriteTraceId"],
        json!(["t-bad"])
    );
    assert_eq!(live_ids(&app).await.len(), 1);
}

#[tokio::test]
async fn upsert_takes_id_property_from_the_query() {
    let app = spawn_app().await;
    unique_property(&app, "ext_id").await;
    unique_property(&app, "alt_id").await;
    let existing = app.create_call(json!({"ext_id": "q-1"})).await;
    let reply = app
        .post(
            &format!("{UPSERT}?idProperty=ext_id"),
            json!({"inputs": [
                {"id": "q-1", "properties": {"hs_call_title": "via query"}},
                {"id": "a-1", "idProperty": "alt_id", "properties": {"hs_timestamp": TS}}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["results"][0]["id"], existing.as_str());
    assert_eq!(reply.body["results"][0]["new"], false);
    assert_eq!(
        reply.body["results"][0]["properties"]["hs_call_title"],
        "via query"
    );
    // The input's own idProperty wins over the query's.
    assert_eq!(reply.body["results"][1]["new"], true);
    assert_eq!(reply.body["results"][1]["properties"]["alt_id"], "a-1");
    assert!(reply.body["results"][1]["properties"]
        .get("ext_id")
        .is_none());
}

#[tokio::test]
async fn upsert_update_can_not_take_another_calls_value() {
    let app = spawn_app().await;
    unique_property(&app, "ext_id").await;
    unique_property(&app, "alt_id").await;
    app.create_call(json!({"ext_id": "e-1", "alt_id": "taken"}))
        .await;
    let second = app.create_call(json!({"ext_id": "e-2"})).await;
    let reply = app
        .post(
            UPSERT,
            json!({"inputs": [{"idProperty": "ext_id", "id": "e-2", "properties": {"alt_id": "taken"}}]}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("already has that value"),
        "{body}"
    );
    let reply = app
        .get(&format!("{CALLS}/{second}?properties=alt_id"))
        .await;
    assert_eq!(reply.body["properties"]["alt_id"], Value::Null);
}

#[tokio::test]
async fn upsert_needs_write_access_and_stays_in_the_portal() {
    let app = spawn_app().await;
    unique_property(&app, "ext_id").await;
    app.create_call(json!({"ext_id": "p-1"})).await;
    let reply = app
        .send_raw(
            Method::POST,
            UPSERT,
            Some(common::READ_ONLY_TOKEN),
            Some(
                json!({"inputs": [{"idProperty": "ext_id", "id": "p-1", "properties": {}}]})
                    .to_string(),
            ),
        )
        .await;
    reply.assert_error(403, "MISSING_SCOPES");
    // Portal 2 has no ext_id property: the upsert is refused there.
    let reply = as_other_portal(
        &app,
        Method::POST,
        UPSERT,
        json!({"inputs": [{"idProperty": "ext_id", "id": "p-1", "properties": {"hs_timestamp": TS}}]}),
    )
    .await;
    reply.assert_error(400, "VALIDATION_ERROR");
}

// ----- known server bugs ------------------------------------------------------------------

#[tokio::test]
async fn upsert_finds_the_call_whose_value_blocks_it() {
    let app = spawn_app().await;
    unique_property(&app, "ext_id").await;
    let holder = app.create_call(json!({"ext_id": "ABC"})).await;
    // The server treats "abc" as the same unique value as "ABC" ...
    let reply = app
        .post(
            CALLS,
            json!({"properties": {"hs_timestamp": TS, "ext_id": "abc"}}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    // ... so an upsert by "abc" must reach that call rather than fail.
    let reply = app
        .post(
            UPSERT,
            json!({"inputs": [{"idProperty": "ext_id", "id": "abc", "properties": {"hs_timestamp": TS, "hs_call_title": "x"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["results"][0]["id"], holder.as_str());
    assert_eq!(reply.body["results"][0]["new"], false);
}

#[tokio::test]

async fn recreated_property_starts_without_old_values() {
    let app = spawn_app().await;
    unique_property(&app, "ext_id").await;
    let old = app.create_call(json!({"ext_id": "stale"})).await;
    let reply = app.delete(&format!("{PROPS}/ext_id")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    unique_property(&app, "ext_id").await;
    let reply = app.get(&format!("{CALLS}/{old}?properties=ext_id")).await;
    assert_eq!(
        reply.body["properties"]["ext_id"],
        Value::Null,
        "{}",
        reply.text
    );
    app.create_call(json!({"ext_id": "stale"})).await;
}
