//! Single-call CRUD over HTTP: create, get, update, archive, and HubSpot's value formats.

use crate::common;

use common::spawn_app;
use reqwest::StatusCode;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Epoch milliseconds of an instant as HubSpot prints it (with or without `.SSS`).
fn millis(instant: &Value) -> i128 {
    let text = instant
        .as_str()
        .unwrap_or_else(|| panic!("instant: {instant}"));
    OffsetDateTime::parse(text, &Rfc3339)
        .unwrap_or_else(|e| panic!("{text} is not RFC 3339: {e}"))
        .unix_timestamp_nanos()
        / 1_000_000
}

/// The keys of the `properties` object in the order they appear in the raw response text.
fn raw_property_keys(text: &str) -> Vec<String> {
    let start = text
        .find("\"properties\":{")
        .expect("properties in the text")
        + 14;
    let end = start + text[start..].find('}').expect("end of properties");
    let object: serde_json::Map<String, Value> =
        serde_json::from_str(&format!("{{{}}}", &text[start..end])).expect("flat object");
    // Positions of each key in the raw text, so the order checked is the text's own.
    let mut keys: Vec<(usize, String)> = object
        .keys()
        .map(|k| {
            let at = text[start..end]
                .find(&format!("\"{k}\":"))
                .expect("key in text");
            (at, k.clone())
        })
        .collect();
    keys.sort();
    keys.into_iter().map(|(_, k)| k).collect()
}

#[tokio::test]
async fn create_returns_201_with_hubspot_shape() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {
                "hs_timestamp": "2025-04-24T20:01:33.000Z",
                "hs_call_title": "Support call",
                "hs_call_direction": "OUTBOUND",
                "hs_call_status": "COMPLETED",
                "hs_call_body": "<p>Hello&nbsp;<b>world</b></p><p>again &amp; again</p>"
            }}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "body: {}", reply.text);
    assert_eq!(
        reply.headers["content-type"].to_str().unwrap(),
        "application/json;charset=utf-8"
    );
    let body = &reply.body;
    let id = body["id"].as_str().expect("id is a string");
    assert!(id.parse::<u64>().is_ok(), "numeric id: {id}");
    let props = body["properties"].as_object().expect("properties");
    for (name, value) in props {
        assert!(value.is_string(), "{name} is not a string: {value}");
    }
    assert_eq!(props["hs_object_id"], id);
    assert_eq!(props["hs_obj_coords"], format!("0-48-{id}"));
    assert_eq!(props["hs_call_title"], "Support call");
    assert_eq!(props["hs_call_direction"], "OUTBOUND");
    assert_eq!(props["hs_timestamp"], "2025-04-24T20:01:33Z");
    assert_eq!(props["hs_body_preview"], "Hello world again & again");
    assert_eq!(props["hs_body_preview_is_truncated"], "false");
    assert!(props["hs_body_preview_html"]
        .as_str()
        .unwrap()
        .contains("<b>world</b>"));
    assert_eq!(body["createdAt"], props["hs_createdate"]);
    assert_eq!(body["updatedAt"], props["hs_lastmodifieddate"]);
    assert_eq!(body["archived"], false);
    assert!(body.get("archivedAt").is_none());
    assert_eq!(props["hs_object_source"], "INTEGRATION");
    assert_eq!(props["hs_object_source_label"], "INTEGRATION");
    // The create response does not list associations.
    assert!(body.get("associations").is_none());

    let keys = raw_property_keys(&reply.text);
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "property keys are sorted in the raw text");
    assert!(keys.len() >= 8, "keys: {keys:?}");
}

#[tokio::test]
async fn json_numbers_and_booleans_come_back_as_strings() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {
                "hs_timestamp": 1_745_524_893_000_i64,
                "hs_call_duration": 3800,
                "hs_call_recording_duration": 12.5,
                "hs_call_has_voicemail": true
            }}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "body: {}", reply.text);
    let props = &reply.body["properties"];
    assert_eq!(props["hs_call_duration"], "3800");
    assert_eq!(props["hs_call_recording_duration"], "12.5");
    assert_eq!(props["hs_call_has_voicemail"], "true");
    assert_eq!(props["hs_timestamp"], "2025-04-24T20:01:33Z");
}

#[tokio::test]
async fn datetimes_are_printed_like_java_instants() {
    let app = spawn_app().await;
    let cases = [
        (json!("1745524893000"), "2025-04-24T20:01:33Z"),
        (json!(1_746_106_773_903_i64), "2025-05-01T13:39:33.903Z"),
        (
            json!("2025-05-01T13:39:33.903Z"),
            "2025-05-01T13:39:33.903Z",
        ),
        (json!("2025-04-24T20:01:33Z"), "2025-04-24T20:01:33Z"),
        (
            json!("2025-04-24T22:01:33.000+02:00"),
            "2025-04-24T20:01:33Z",
        ),
        (
            json!("2025-04-24T20:01:33.050Z"),
            "2025-04-24T20:01:33.050Z",
        ),
    ];
    for (input, expected) in cases {
        let reply = app
            .post(
                "/crm/v3/objects/calls",
                json!({"properties": {"hs_timestamp": input}}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "body: {}", reply.text);
        assert_eq!(
            reply.body["properties"]["hs_timestamp"], expected,
            "input {input}"
        );
        let id = reply.body["id"].as_str().unwrap();
        let read = app
            .get(&format!(
                "/crm/v3/objects/calls/{id}?properties=hs_timestamp"
            ))
            .await;
        assert_eq!(read.body["properties"]["hs_timestamp"], expected);
    }
    // createdAt is the creation instant, close to now.
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": "1745524893000"}}),
        )
        .await;
    let now = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    assert!((now - millis(&reply.body["createdAt"])).abs() < 60_000);
}

#[tokio::test]
async fn get_returns_defaults_plus_requested_properties() {
    let app = spawn_app().await;
    let id = app
        .create_call(json!({"hs_call_title": "Weekly sync", "hs_call_direction": "INBOUND"}))
        .await;

    // No `properties`: just the three defaults.
    let reply = app.get(&format!("/crm/v3/objects/calls/{id}")).await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    let keys: Vec<&String> = reply.body["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        keys,
        ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"]
    );
    assert_eq!(reply.body["properties"]["hs_object_id"], id.as_str());
    assert_eq!(reply.body["id"], id.as_str());
    assert_eq!(reply.body["archived"], false);

    let expected = json!({
        "hs_call_direction": "INBOUND",
        "hs_call_duration": null,
        "hs_call_title": "Weekly sync",
    });
    for query in [
        "properties=hs_call_title,hs_call_direction,hs_call_duration,no_such_property",
        "properties=hs_call_title&properties=hs_call_direction&properties=hs_call_duration&properties=no_such_property",
        "properties=hs_call_title,hs_call_direction&properties=hs_call_duration,no_such_property",
    ] {
        let reply = app
            .get(&format!("/crm/v3/objects/calls/{id}?{query}"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
        let props = reply.body["properties"].as_object().unwrap();
        for (name, value) in expected.as_object().unwrap() {
            assert_eq!(&props[name], value, "{name} for {query}");
        }
        for name in ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"] {
            assert!(props[name].is_string(), "{name} for {query}");
        }
        assert!(!props.contains_key("no_such_property"), "{query}");
        assert_eq!(props.len(), 6, "{query}: {props:?}");
        let keys = raw_property_keys(&reply.text);
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
}

#[tokio::test]
async fn patch_updates_clears_and_returns_full_set() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {
                "hs_timestamp": "2025-04-24T20:01:33Z",
                "hs_call_title": "Before",
                "hs_call_direction": "OUTBOUND",
                "hs_call_to_number": "+15550100"
            }}),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(15)).await;

    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{id}"),
            json!({"properties": {"hs_call_title": "After", "hs_call_to_number": ""}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    let props = reply.body["properties"].as_object().unwrap();
    assert_eq!(props["hs_call_title"], "After");
    // Untouched values are part of the answer: the full stored set.
    assert_eq!(props["hs_call_direction"], "OUTBOUND");
    assert_eq!(props["hs_timestamp"], "2025-04-24T20:01:33Z");
    assert_eq!(props["hs_obj_coords"], format!("0-48-{id}"));
    // The empty string cleared the number.
    assert!(
        !props.contains_key("hs_call_to_number"),
        "cleared: {props:?}"
    );
    assert_eq!(reply.body["createdAt"], created.body["createdAt"]);
    assert_eq!(props["hs_createdate"], created.body["createdAt"]);
    assert!(millis(&reply.body["updatedAt"]) > millis(&created.body["updatedAt"]));
    assert_eq!(reply.body["updatedAt"], props["hs_lastmodifieddate"]);

    let read = app
        .get(&format!(
            "/crm/v3/objects/calls/{id}?properties=hs_call_to_number,hs_call_title"
        ))
        .await;
    assert_eq!(read.body["properties"]["hs_call_to_number"], Value::Null);
    assert_eq!(read.body["properties"]["hs_call_title"], "After");
    assert_eq!(read.body["updatedAt"], reply.body["updatedAt"]);
}

#[tokio::test]
async fn properties_with_history_lists_newest_first() {
    let app = spawn_app().await;
    let id = app.create_call(json!({"hs_call_title": "first"})).await;
    for title in ["second", "third"] {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let reply = app
            .patch(
                &format!("/crm/v3/objects/calls/{id}"),
                json!({"properties": {"hs_call_title": title}}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    }
    let reply = app
        .get(&format!(
            "/crm/v3/objects/calls/{id}?propertiesWithHistory=hs_call_title,hs_call_duration,nope"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    let history = reply.body["propertiesWithHistory"]
        .as_object()
        .expect("propertiesWithHistory");
    assert!(!history.contains_key("nope"));
    let titles = history["hs_call_title"].as_array().expect("title history");
    let values: Vec<&str> = titles
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["third", "second", "first"]);
    let stamps: Vec<i128> = titles.iter().map(|e| millis(&e["timestamp"])).collect();
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]), "{stamps:?}");
    assert!(stamps[0] > stamps[2]);
    for entry in titles {
        assert_eq!(entry["sourceType"], "INTEGRATION");
        assert!(entry["sourceId"].is_string(), "entry: {entry}");
    }
    // A known property that never had a value has an empty history.
    assert_eq!(
        history
            .get("hs_call_duration")
            .and_then(Value::as_array)
            .map_or(0, Vec::len),
        0
    );
    // The `properties` map is still there, with its defaults.
    assert_eq!(reply.body["properties"]["hs_object_id"], id.as_str());
}

#[tokio::test]
async fn id_property_hs_object_id_on_get_and_patch() {
    let app = spawn_app().await;
    let id = app.create_call(json!({"hs_call_title": "x"})).await;
    let reply = app
        .get(&format!(
            "/crm/v3/objects/calls/{id}?idProperty=hs_object_id&properties=hs_call_title"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    assert_eq!(reply.body["id"], id.as_str());
    assert_eq!(reply.body["properties"]["hs_call_title"], "x");

    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{id}?idProperty=hs_object_id"),
            json!({"properties": {"hs_call_title": "y"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    assert_eq!(reply.body["properties"]["hs_call_title"], "y");

    let reply = app
        .get("/crm/v3/objects/calls/99999999999?idProperty=hs_object_id")
        .await;
    reply.assert_error(404, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn object_type_id_and_upper_case_paths_work() {
    let app = spawn_app().await;
    for base in ["/crm/v3/objects/0-48", "/crm/v3/objects/CALLS"] {
        let reply = app
            .post(
                base,
                json!({"properties": {"hs_timestamp": "1745524893000", "hs_call_title": base}}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{base}: {}", reply.text);
        let id = reply.body["id"].as_str().unwrap().to_owned();

        let read = app
            .get(&format!("{base}/{id}?properties=hs_call_title"))
            .await;
        assert_eq!(read.status, StatusCode::OK, "{base}: {}", read.text);
        assert_eq!(read.body["properties"]["hs_call_title"], base);

        let patched = app
            .patch(
                &format!("{base}/{id}"),
                json!({"properties": {"hs_call_title": "patched"}}),
            )
            .await;
        assert_eq!(patched.status, StatusCode::OK, "{base}: {}", patched.text);

        let listed = app.get(&format!("{base}?limit=100")).await;
        assert_eq!(listed.status, StatusCode::OK);
        assert!(listed.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id.as_str()));

        let deleted = app.delete(&format!("{base}/{id}")).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        app.get(&format!("/crm/v3/objects/calls/{id}"))
            .await
            .assert_error(404, "OBJECT_NOT_FOUND");
    }
}

#[tokio::test]
async fn delete_archives_and_archived_true_finds_it() {
    let app = spawn_app().await;
    let id = app
        .create_call(json!({"hs_call_title": "to archive"}))
        .await;
    let before = app.get(&format!("/crm/v3/objects/calls/{id}")).await;
    assert_eq!(before.status, StatusCode::OK);

    let reply = app.delete(&format!("/crm/v3/objects/calls/{id}")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(reply.text.is_empty(), "204 body: {:?}", reply.text);

    let gone = app.get(&format!("/crm/v3/objects/calls/{id}")).await;
    let body = gone.assert_error(404, "OBJECT_NOT_FOUND");
    assert_eq!(body["context"]["id"], json!([id]));

    for flag in ["true", "True", "TRUE"] {
        let reply = app
            .get(&format!(
                "/crm/v3/objects/calls/{id}?archived={flag}&properties=hs_call_title"
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{flag}: {}", reply.text);
        assert_eq!(reply.body["archived"], true);
        assert_eq!(reply.body["properties"]["hs_call_title"], "to archive");
        let archived_at = millis(&reply.body["archivedAt"]);
        assert!(archived_at >= millis(&before.body["updatedAt"]));
    }

    // Archived calls cannot be updated.
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{id}"),
            json!({"properties": {"hs_call_title": "zombie"}}),
        )
        .await;
    reply.assert_error(404, "OBJECT_NOT_FOUND");
    let still = app
        .get(&format!(
            "/crm/v3/objects/calls/{id}?archived=true&properties=hs_call_title"
        ))
        .await;
    assert_eq!(still.body["properties"]["hs_call_title"], "to archive");

    // Archived calls are not searched.
    let search = app.post("/crm/v3/objects/calls/search", json!({})).await;
    assert_eq!(search.status, StatusCode::OK, "body: {}", search.text);
    assert_eq!(search.body["total"], 0);

    // Deleting again is fine too.
    let again = app.delete(&format!("/crm/v3/objects/calls/{id}")).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn delete_of_unknown_id_is_204() {
    let app = spawn_app().await;
    let reply = app.delete("/crm/v3/objects/calls/123456789012").await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(reply.text.is_empty());
    let reply = app.delete("/crm/v3/objects/calls/not-a-number").await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn get_and_patch_of_unknown_id_are_404() {
    let app = spawn_app().await;
    let reply = app.get("/crm/v3/objects/calls/123456789012").await;
    let body = reply.assert_error(404, "OBJECT_NOT_FOUND");
    assert_eq!(body["context"]["id"], json!(["123456789012"]));
    let reply = app
        .patch(
            "/crm/v3/objects/calls/123456789012",
            json!({"properties": {"hs_call_title": "x"}}),
        )
        .await;
    reply.assert_error(404, "OBJECT_NOT_FOUND");
    // Nothing was created by the failed PATCH.
    let list = app.get("/crm/v3/objects/calls").await;
    assert_eq!(list.body["results"], json!([]));
}

#[tokio::test]
async fn concurrent_creates_get_distinct_ids() {
    let app = std::sync::Arc::new(spawn_app().await);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let app = std::sync::Arc::clone(&app);
        tasks.push(tokio::spawn(async move {
            app.create_call(json!({"hs_call_title": format!("parallel {i}")}))
                .await
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 20);
    let list = app.get("/crm/v3/objects/calls?limit=100").await;
    assert_eq!(list.body["results"].as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn owner_and_body_derive_computed_properties() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {
                "hs_timestamp": "1745524893000",
                "hubspot_owner_id": "79601114",
                "hs_call_body": "Test call"
            }}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "body: {}", reply.text);
    let props = &reply.body["properties"];
    assert_eq!(props["hs_all_owner_ids"], "79601114");
    assert_eq!(props["hs_user_ids_of_all_owners"], "79601114");
    assert_eq!(props["hubspot_owner_assigneddate"], props["hs_createdate"]);
    assert_eq!(props["hs_body_preview"], "Test call");
    assert_eq!(props["hs_body_preview_is_truncated"], "false");

    // Clearing the body clears its previews.
    let id = reply.body["id"].as_str().unwrap();
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{id}"),
            json!({"properties": {"hs_call_body": ""}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    let props = reply.body["properties"].as_object().unwrap();
    for name in [
        "hs_call_body",
        "hs_body_preview",
        "hs_body_preview_html",
        "hs_body_preview_is_truncated",
    ] {
        assert!(!props.contains_key(name), "{name} still set: {props:?}");
    }
}

#[tokio::test]
async fn body_preview_html_matches_hubspot_capture() {
    // Real create response (2025-05): "hs_call_body": "Test call" gave this exact HTML.
    let app = spawn_app().await;
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": "1745524893000", "hs_call_body": "Test call"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "body: {}", reply.text);
    assert_eq!(
        reply.body["properties"]["hs_body_preview_html"],
        "<html>\n <head></head>\n <body>\n Test call\n </body>\n</html>"
    );
}

#[tokio::test]
async fn multi_checkbox_values_append_with_leading_semicolon() {
    let app = spawn_app().await;
    let id = app.create_call(json!({"hs_attachment_ids": "1;2"})).await;
    let path = format!("/crm/v3/objects/calls/{id}");
    let reply = app
        .patch(&path, json!({"properties": {"hs_attachment_ids": ";3;2"}}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    assert_eq!(reply.body["properties"]["hs_attachment_ids"], "1;2;3");
    let reply = app
        .patch(&path, json!({"properties": {"hs_attachment_ids": "4"}}))
        .await;
    assert_eq!(reply.body["properties"]["hs_attachment_ids"], "4");
}

#[tokio::test]
async fn unknown_top_level_fields_are_ignored() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": "1745524893000"}, "somethingElse": {"a": [1]}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "body: {}", reply.text);
    let id = reply.body["id"].as_str().unwrap();
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{id}"),
            json!({"properties": {"hs_call_title": "t"}, "id": "ignored"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    assert_eq!(reply.body["id"], id);
}
