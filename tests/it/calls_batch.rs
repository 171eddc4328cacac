//! Batch create, read, update and archive over HTTP.

use crate::common;

use common::{spawn_app, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

const TIMESTAMP: &str = "2025-04-24T20:01:33.000Z";

async fn live_ids(app: &TestApp) -> Vec<String> {
    let reply = app.get("/crm/v3/objects/calls?limit=100").await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

fn titles(results: &Value) -> Vec<String> {
    results
        .as_array()
        .expect("results")
        .iter()
        .map(|c| {
            c["properties"]["hs_call_title"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn ids(results: &Value) -> Vec<String> {
    results
        .as_array()
        .expect("results")
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Creates calls titled `titles` in one batch; returns their ids in input order.
async fn batch_create(app: &TestApp, titles: &[&str]) -> Vec<String> {
    let inputs: Vec<Value> = titles
        .iter()
        .map(|t| json!({"properties": {"hs_timestamp": TIMESTAMP, "hs_call_title": t}}))
        .collect();
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/create",
            json!({ "inputs": inputs }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "body: {}", reply.text);
    ids(&reply.body["results"])
}

#[tokio::test]
async fn batch_create_returns_201_in_input_order() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/create",
            json!({"inputs": [
                {"properties": {"hs_timestamp": TIMESTAMP, "hs_call_title": "c"}},
                {"properties": {"hs_timestamp": 1_745_524_893_000_i64, "hs_call_title": "a", "hs_call_duration": 60}},
                {"properties": {"hs_timestamp": TIMESTAMP, "hs_call_title": "b"}, "associations": []}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "body: {}", reply.text);
    let body = &reply.body;
    assert_eq!(body["status"], "COMPLETE");
    assert!(body.get("numErrors").is_none());
    assert!(body.get("errors").is_none());
    assert!(body["startedAt"].is_string());
    assert!(body["completedAt"].is_string());
    assert_eq!(titles(&body["results"]), ["c", "a", "b"]);
    for result in body["results"].as_array().unwrap() {
        let props = &result["properties"];
        assert_eq!(props["hs_object_id"], result["id"]);
        assert_eq!(props["hs_timestamp"], "2025-04-24T20:01:33Z");
        assert_eq!(result["createdAt"], props["hs_createdate"]);
        assert_eq!(result["archived"], false);
    }
    assert_eq!(body["results"][1]["properties"]["hs_call_duration"], "60");
    let created = ids(&body["results"]);
    let mut stored = live_ids(&app).await;
    stored.sort();
    let mut expected = created.clone();
    expected.sort();
    assert_eq!(stored, expected);
}

#[tokio::test]
async fn batch_create_is_all_or_nothing_without_trace_ids() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/create",
            json!({"inputs": [
                {"properties": {"hs_timestamp": TIMESTAMP, "hs_call_title": "ok"}},
                {"properties": {"hs_timestamp": TIMESTAMP, "missing": "x"}},
                {"properties": {"hs_timestamp": TIMESTAMP, "hs_call_title": "ok too"}}
            ]}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("Property values were not valid: "));
    assert_eq!(live_ids(&app).await, Vec::<String>::new());

    // Trace ids on only some inputs: still all-or-nothing.
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/create",
            json!({"inputs": [
                {"properties": {"hs_timestamp": TIMESTAMP}, "objectWriteTraceId": "t1"},
                {"properties": {"hs_call_title": "no timestamp"}}
            ]}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(live_ids(&app).await, Vec::<String>::new());
}

#[tokio::test]
async fn batch_create_with_trace_ids_reports_207() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/create",
            json!({"inputs": [
                {"properties": {"hs_timestamp": TIMESTAMP, "hs_call_title": "first"}, "objectWriteTraceId": "t1"},
                {"properties": {"hs_timestamp": TIMESTAMP, "missing": "x"}, "objectWriteTraceId": "t2"},
                {"properties": {"hs_timestamp": TIMESTAMP, "hs_call_title": "third"}, "objectWriteTraceId": "t3"}
            ]}),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::MULTI_STATUS,
        "body: {}",
        reply.text
    );
    let body = &reply.body;
    assert_eq!(body["status"], "COMPLETE");
    assert_eq!(body["numErrors"], 1);
    assert_eq!(titles(&body["results"]), ["first", "third"]);
    let error = &body["errors"][0];
    assert_eq!(error["status"], "error");
    assert_eq!(error["category"], "VALIDATION_ERROR");
    assert_eq!(error["context"]["objectWriteTraceId"], json!(["t2"]));
    let message = error["message"].as_str().unwrap();
    let listed = message
        .strip_prefix("Property values were not valid: ")
        .unwrap_or_else(|| panic!("{message}"));
    let listed: Value = serde_json::from_str(listed).expect("JSON after the prefix");
    assert_eq!(listed[0]["error"], "PROPERTY_DOESNT_EXIST");
    assert_eq!(listed[0]["name"], "missing");

    let mut stored = live_ids(&app).await;
    stored.sort();
    let mut created = ids(&body["results"]);
    created.sort();
    assert_eq!(stored, created);
}

#[tokio::test]
async fn batch_create_limit_is_100() {
    let app = spawn_app().await;
    let inputs: Vec<Value> = (0..101)
        .map(|_| json!({"properties": {"hs_timestamp": TIMESTAMP}}))
        .collect();
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/create",
            json!({ "inputs": inputs }),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        body["message"],
        "The maximum number of inputs supported in a batch is 100. Please reduce the number of items and try again"
    );
    assert_eq!(live_ids(&app).await.len(), 0);
}

#[tokio::test]
async fn batch_read_returns_requested_properties_in_input_order() {
    let app = spawn_app().await;
    let created = batch_create(&app, &["one", "two", "three"]).await;
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/read",
            json!({
                "inputs": [{"id": created[2]}, {"id": created[0]}, {"id": created[1]}],
                "properties": ["hs_call_title", "hs_call_duration", "not_a_property"]
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    let body = &reply.body;
    assert_eq!(body["status"], "COMPLETE");
    assert!(body.get("numErrors").is_none());
    assert_eq!(titles(&body["results"]), ["three", "one", "two"]);
    for result in body["results"].as_array().unwrap() {
        let props = result["properties"].as_object().unwrap();
        assert_eq!(props["hs_call_duration"], Value::Null);
        assert!(props["hs_object_id"].is_string());
        assert!(props["hs_createdate"].is_string());
        assert!(props["hs_lastmodifieddate"].is_string());
        assert!(!props.contains_key("not_a_property"));
        assert!(!props.contains_key("hs_timestamp"));
    }

    // Ids may be JSON numbers; `propertiesWithHistory` is honoured.
    let number: u64 = created[0].parse().unwrap();
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/read",
            json!({"inputs": [{"id": number}], "properties": [], "propertiesWithHistory": ["hs_call_title"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    assert_eq!(reply.body["results"][0]["id"], created[0].as_str());
    let history = &reply.body["results"][0]["propertiesWithHistory"]["hs_call_title"];
    assert_eq!(history[0]["value"], "one");
    assert_eq!(history[0]["sourceType"], "INTEGRATION");
}

#[tokio::test]
async fn batch_read_unknown_id_is_207() {
    let app = spawn_app().await;
    let created = batch_create(&app, &["known"]).await;
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/read",
            json!({"inputs": [{"id": created[0]}, {"id": "99999999999"}], "properties": ["hs_call_title"]}),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::MULTI_STATUS,
        "body: {}",
        reply.text
    );
    let body = &reply.body;
    assert_eq!(body["numErrors"], 1);
    assert_eq!(titles(&body["results"]), ["known"]);
    let error = &body["errors"][0];
    assert_eq!(error["status"], "error");
    assert_eq!(error["category"], "OBJECT_NOT_FOUND");
    assert_eq!(error["context"]["ids"], json!(["99999999999"]));
    assert!(error["message"]
        .as_str()
        .unwrap()
        .starts_with("Could not get some CALL objects, they may be deleted or not exist."));

    // All unknown: still 207 with no results.
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/read",
            json!({"inputs": [{"id": "99999999998"}, {"id": "abc"}]}),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::MULTI_STATUS,
        "body: {}",
        reply.text
    );
    assert_eq!(reply.body["results"], json!([]));
    assert_eq!(reply.body["numErrors"], 1);
    assert_eq!(
        reply.body["errors"][0]["context"]["ids"],
        json!(["99999999998", "abc"])
    );
}

#[tokio::test]
async fn batch_read_duplicates_and_limits_are_400() {
    let app = spawn_app().await;
    let created = batch_create(&app, &["a"]).await;
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/read",
            json!({"inputs": [{"id": created[0]}, {"id": created[0]}]}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(body["context"]["ids"], json!([created[0]]));
    assert_eq!(
        body["message"],
        format!(
            "Duplicate IDs found in batch input: [{}]. IDs must be unique",
            created[0]
        )
    );

    let inputs: Vec<Value> = (0..101)
        .map(|i| json!({"id": (1000 + i).to_string()}))
        .collect();
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/read",
            json!({ "inputs": inputs }),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        body["message"],
        "The maximum number of inputs supported in a batch is 100. Please reduce the number of items and try again"
    );

    let inputs: Vec<Value> = (0..51)
        .map(|i| json!({"id": (1000 + i).to_string()}))
        .collect();
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/read",
            json!({ "inputs": inputs, "propertiesWithHistory": ["hs_call_title"] }),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        body["message"],
        "The maximum number of inputs supported in a batch request for property histories is 50. Please reduce the number of items and try again"
    );

    // 50 with history, or 100 without, are within the limits.
    let inputs: Vec<Value> = (0..50)
        .map(|i| json!({"id": (1000 + i).to_string()}))
        .collect();
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/read",
            json!({ "inputs": inputs, "propertiesWithHistory": ["hs_call_title"] }),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::MULTI_STATUS,
        "body: {}",
        reply.text
    );
    let inputs: Vec<Value> = (0..100)
        .map(|i| json!({"id": (1000 + i).to_string()}))
        .collect();
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/read",
            json!({ "inputs": inputs }),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::MULTI_STATUS,
        "body: {}",
        reply.text
    );
}

#[tokio::test]
async fn batch_read_archived_true_reads_only_archived() {
    let app = spawn_app().await;
    let created = batch_create(&app, &["live", "gone"]).await;
    let reply = app
        .delete(&format!("/crm/v3/objects/calls/{}", created[1]))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/read?archived=true",
            json!({"inputs": [{"id": created[1]}], "properties": ["hs_call_title"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    assert_eq!(titles(&reply.body["results"]), ["gone"]);
    assert_eq!(reply.body["results"][0]["archived"], true);
    assert!(reply.body["results"][0]["archivedAt"].is_string());

    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/read",
            json!({"inputs": [{"id": created[0]}, {"id": created[1]}], "properties": ["hs_call_title"]}),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::MULTI_STATUS,
        "body: {}",
        reply.text
    );
    assert_eq!(titles(&reply.body["results"]), ["live"]);
    assert_eq!(
        reply.body["errors"][0]["context"]["ids"],
        json!([created[1]])
    );
}

#[tokio::test]
async fn batch_update_returns_full_sets() {
    let app = spawn_app().await;
    let created = batch_create(&app, &["a", "b"]).await;
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/update",
            json!({"inputs": [
                {"id": created[1], "properties": {"hs_call_title": "B", "hs_call_duration": 5}},
                {"id": created[0], "properties": {"hs_call_direction": "INBOUND"}}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    let body = &reply.body;
    assert_eq!(body["status"], "COMPLETE");
    assert!(body.get("numErrors").is_none());
    assert_eq!(
        ids(&body["results"]),
        [created[1].clone(), created[0].clone()]
    );
    let b = &body["results"][0]["properties"];
    assert_eq!(b["hs_call_title"], "B");
    assert_eq!(b["hs_call_duration"], "5");
    assert_eq!(b["hs_timestamp"], "2025-04-24T20:01:33Z");
    let a = &body["results"][1]["properties"];
    assert_eq!(a["hs_call_title"], "a");
    assert_eq!(a["hs_call_direction"], "INBOUND");

    let read = app
        .get(&format!(
            "/crm/v3/objects/calls/{}?properties=hs_call_title,hs_call_duration",
            created[1]
        ))
        .await;
    assert_eq!(read.body["properties"]["hs_call_title"], "B");
    assert_eq!(read.body["properties"]["hs_call_duration"], "5");
}

#[tokio::test]
async fn batch_update_unknown_id_is_207_and_duplicates_400() {
    let app = spawn_app().await;
    let created = batch_create(&app, &["a"]).await;
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/update",
            json!({"inputs": [
                {"id": created[0], "properties": {"hs_call_title": "updated"}},
                {"id": "99999999999", "properties": {"hs_call_title": "ghost"}}
            ]}),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::MULTI_STATUS,
        "body: {}",
        reply.text
    );
    assert_eq!(reply.body["numErrors"], 1);
    assert_eq!(titles(&reply.body["results"]), ["updated"]);
    let error = &reply.body["errors"][0];
    assert_eq!(error["category"], "OBJECT_NOT_FOUND");
    assert_eq!(error["context"]["ids"], json!(["99999999999"]));
    assert_eq!(live_ids(&app).await, created);

    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/update",
            json!({"inputs": [
                {"id": created[0], "properties": {"hs_call_title": "x"}},
                {"id": created[0], "properties": {"hs_call_title": "y"}}
            ]}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(body["context"]["ids"], json!([created[0]]));
    let read = app
        .get(&format!(
            "/crm/v3/objects/calls/{}?properties=hs_call_title",
            created[0]
        ))
        .await;
    assert_eq!(read.body["properties"]["hs_call_title"], "updated");

    // An invalid value without trace ids refuses the whole batch.
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/update",
            json!({"inputs": [
                {"id": created[0], "properties": {"hs_call_title": "never"}},
                {"id": "99999999999", "properties": {"hs_call_duration": "ten"}}
            ]}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let read = app
        .get(&format!(
            "/crm/v3/objects/calls/{}?properties=hs_call_title",
            created[0]
        ))
        .await;
    assert_eq!(read.body["properties"]["hs_call_title"], "updated");
}

#[tokio::test]
async fn batch_update_of_archived_call_is_not_found() {
    let app = spawn_app().await;
    let created = batch_create(&app, &["a"]).await;
    app.delete(&format!("/crm/v3/objects/calls/{}", created[0]))
        .await;
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/update",
            json!({"inputs": [{"id": created[0], "properties": {"hs_call_title": "zombie"}}]}),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::MULTI_STATUS,
        "body: {}",
        reply.text
    );
    assert_eq!(reply.body["results"], json!([]));
    assert_eq!(
        reply.body["errors"][0]["context"]["ids"],
        json!([created[0]])
    );
}

#[tokio::test]
async fn batch_archive_is_204_and_hides_calls() {
    let app = spawn_app().await;
    let created = batch_create(&app, &["a", "b", "c"]).await;
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/archive",
            json!({"inputs": [{"id": created[0]}, {"id": created[2]}, {"id": "99999999999"}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "body: {}", reply.text);
    assert!(reply.text.is_empty(), "204 body: {:?}", reply.text);

    for id in [&created[0], &created[2]] {
        app.get(&format!("/crm/v3/objects/calls/{id}"))
            .await
            .assert_error(404, "OBJECT_NOT_FOUND");
        let archived = app
            .get(&format!("/crm/v3/objects/calls/{id}?archived=true"))
            .await;
        assert_eq!(archived.status, StatusCode::OK);
        assert_eq!(archived.body["archived"], true);
    }
    assert_eq!(live_ids(&app).await, [created[1].clone()]);

    // Unknown and already archived ids are fine.
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/archive",
            json!({"inputs": [{"id": created[0]}, {"id": "12345"}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "body: {}", reply.text);
    assert_eq!(live_ids(&app).await, [created[1].clone()]);
}

#[tokio::test]
async fn batch_update_with_trace_ids_reports_each_failure() {
    let app = spawn_app().await;
    let created = batch_create(&app, &["a", "b"]).await;
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/update",
            json!({"inputs": [
                {"id": created[0], "properties": {"hs_call_title": "A"}, "objectWriteTraceId": "u1"},
                {"id": created[1], "properties": {"hs_call_duration": "ten"}, "objectWriteTraceId": "u2"},
                {"id": "99999999999", "properties": {"hs_call_title": "ghost"}, "objectWriteTraceId": "u3"}
            ]}),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::MULTI_STATUS,
        "body: {}",
        reply.text
    );
    assert_eq!(reply.body["numErrors"], 2);
    assert_eq!(titles(&reply.body["results"]), ["A"]);
    let errors = reply.body["errors"].as_array().unwrap();
    let invalid = errors
        .iter()
        .find(|e| e["category"] == "VALIDATION_ERROR")
        .expect("validation error");
    assert_eq!(invalid["context"]["objectWriteTraceId"], json!(["u2"]));
    let missing = errors
        .iter()
        .find(|e| e["category"] == "OBJECT_NOT_FOUND")
        .expect("not found error");
    assert_eq!(missing["context"]["ids"], json!(["99999999999"]));
    assert_eq!(missing["context"]["objectWriteTraceId"], json!(["u3"]));

    let read = app
        .get(&format!(
            "/crm/v3/objects/calls/{}?properties=hs_call_title,hs_call_duration",
            created[1]
        ))
        .await;
    assert_eq!(read.body["properties"]["hs_call_title"], "b");
    assert_eq!(read.body["properties"]["hs_call_duration"], Value::Null);
}

#[tokio::test]
async fn batch_archive_duplicates_and_limit_are_400() {
    let app = spawn_app().await;
    let created = batch_create(&app, &["a"]).await;
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/archive",
            json!({"inputs": [{"id": created[0]}, {"id": created[0]}]}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(body["context"]["ids"], json!([created[0]]));
    let inputs: Vec<Value> = (0..101)
        .map(|i| json!({"id": (1000 + i).to_string()}))
        .collect();
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/archive",
            json!({ "inputs": inputs }),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    // Neither refused request archived anything.
    assert_eq!(live_ids(&app).await, created);
}
