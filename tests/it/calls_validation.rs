//! Refused writes: HubSpot's 400 VALIDATION_ERROR bodies, and nothing stored.

use crate::common;

use common::{spawn_app, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PREFIX: &str = "Property values were not valid: ";

/// How many live calls portal 1 has.
async fn stored_calls(app: &TestApp) -> usize {
    let reply = app.get("/crm/v3/objects/calls?limit=100").await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    reply.body["results"].as_array().expect("results").len()
}

/// Posts a create and checks the property-error body; returns the parsed list inside
/// `message` and the `errors` array.
async fn refused_create(app: &TestApp, properties: Value) -> (Vec<Value>, Vec<Value>) {
    let reply = app
        .post("/crm/v3/objects/calls", json!({ "properties": properties }))
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR").clone();
    let message = body["message"].as_str().expect("message");
    let listed = message
        .strip_prefix(PREFIX)
        .unwrap_or_else(|| panic!("message prefix: {message}"));
    let listed: Vec<Value> =
        serde_json::from_str(listed).unwrap_or_else(|e| panic!("not JSON ({e}): {listed}"));
    let errors = body["errors"].as_array().expect("errors").clone();
    assert_eq!(listed.len(), errors.len(), "body: {body}");
    for (item, error) in listed.iter().zip(&errors) {
        assert_eq!(item["isValid"], false);
        assert_eq!(item["message"], error["message"]);
        assert_eq!(item["localizedErrorMessage"], error["message"]);
        assert_eq!(item["error"], error["code"]);
        assert_eq!(error["context"]["propertyName"], json!([item["name"]]));
        assert_eq!(item["portalId"], 1);
    }
    assert_eq!(stored_calls(app).await, 0, "a refused create stored a call");
    (listed, errors)
}

fn codes(errors: &[Value]) -> Vec<(&str, &str)> {
    errors
        .iter()
        .map(|e| {
            (
                e["context"]["propertyName"][0].as_str().unwrap(),
                e["code"].as_str().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn unknown_property_is_refused() {
    let app = spawn_app().await;
    let (listed, errors) = refused_create(
        &app,
        json!({"hs_timestamp": "1745524893000", "testproperty": "x"}),
    )
    .await;
    assert_eq!(codes(&errors), [("testproperty", "PROPERTY_DOESNT_EXIST")]);
    assert_eq!(
        errors[0]["message"],
        "Property \"testproperty\" does not exist"
    );
    assert_eq!(listed[0]["name"], "testproperty");
}

#[tokio::test]
async fn read_only_properties_are_refused() {
    let app = spawn_app().await;
    for name in ["hs_object_id", "hs_createdate"] {
        let (_, errors) = refused_create(
            &app,
            json!({"hs_timestamp": "1745524893000", name: "1745524893000"}),
        )
        .await;
        assert_eq!(codes(&errors), [(name, "READ_ONLY_VALUE")]);
        assert_eq!(
            errors[0]["message"],
            format!("\"{name}\" is a calculated property; its value cannot be set.")
        );
    }
}

#[tokio::test]
async fn invalid_values_are_refused_with_their_codes() {
    let app = spawn_app().await;
    let (_, errors) = refused_create(
        &app,
        json!({"hs_timestamp": "1745524893000", "hs_call_direction": "SIDEWAYS"}),
    )
    .await;
    assert_eq!(codes(&errors), [("hs_call_direction", "INVALID_OPTION")]);
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("SIDEWAYS was not one of the allowed options: ["),
        "{message}"
    );
    assert!(
        message.contains("INBOUND") && message.contains("OUTBOUND"),
        "{message}"
    );

    // Options are matched exactly (case-sensitive).
    let (_, errors) = refused_create(
        &app,
        json!({"hs_timestamp": "1745524893000", "hs_call_direction": "inbound"}),
    )
    .await;
    assert_eq!(codes(&errors), [("hs_call_direction", "INVALID_OPTION")]);

    let (_, errors) = refused_create(
        &app,
        json!({"hs_timestamp": "1745524893000", "hs_call_duration": "ten"}),
    )
    .await;
    assert_eq!(codes(&errors), [("hs_call_duration", "INVALID_INTEGER")]);
    assert_eq!(errors[0]["message"], "ten was not a valid number");

    let (_, errors) = refused_create(&app, json!({"hs_timestamp": "yesterday"})).await;
    assert_eq!(codes(&errors), [("hs_timestamp", "INVALID_DATE")]);
}

#[tokio::test]
async fn every_problem_is_reported_at_once() {
    let app = spawn_app().await;
    let (_, errors) = refused_create(
        &app,
        json!({
            "hs_timestamp": "1745524893000",
            "nope": "x",
            "hs_call_duration": "ten",
            "hs_object_id": "5"
        }),
    )
    .await;
    let mut found = codes(&errors);
    found.sort();
    assert_eq!(
        found,
        [
            ("hs_call_duration", "INVALID_INTEGER"),
            ("hs_object_id", "READ_ONLY_VALUE"),
            ("nope", "PROPERTY_DOESNT_EXIST"),
        ]
    );
}

#[tokio::test]
async fn missing_hs_timestamp_is_refused() {
    let app = spawn_app().await;
    // HubSpot's words for a missing required property (two spaces after the type).
    for properties in [
        json!({"hs_call_title": "no time"}),
        // An empty string is no value either.
        json!({"hs_call_title": "no time", "hs_timestamp": ""}),
    ] {
        let reply = app
            .post("/crm/v3/objects/calls", json!({ "properties": properties }))
            .await;
        let body = reply.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(
            body["message"],
            "Error creating CALL.  Some required properties were not set."
        );
        assert_eq!(body["context"]["properties"], json!(["hs_timestamp"]));
    }
    assert_eq!(stored_calls(&app).await, 0);
}

/// Sends a raw create body and returns the 400 body's message, checking nothing was stored.
async fn refused_raw(app: &TestApp, body: &str) -> String {
    let reply = app
        .send_raw(
            Method::POST,
            "/crm/v3/objects/calls",
            Some(&app.token),
            Some(body.to_owned()),
        )
        .await;
    let message = reply.assert_error(400, "VALIDATION_ERROR")["message"]
        .as_str()
        .expect("message")
        .to_owned();
    assert_eq!(stored_calls(app).await, 0, "stored after {body:?}");
    message
}

#[tokio::test]
async fn missing_properties_field_is_refused() {
    let app = spawn_app().await;
    let message = refused_raw(&app, "{}").await;
    assert!(
        message.contains("Some required fields were not set: [properties]"),
        "{message}"
    );
    assert!(
        message.starts_with("Invalid input JSON on line 1"),
        "{message}"
    );
    let message = refused_raw(&app, r#"{"associations": []}"#).await;
    assert!(
        message.contains("Some required fields were not set: [properties]"),
        "{message}"
    );
}

#[tokio::test]
async fn non_string_property_values_are_refused() {
    let app = spawn_app().await;
    let message = refused_raw(
        &app,
        r#"{"properties": {"hs_timestamp": "1745524893000", "hs_call_title": {"a": 1}}}"#,
    )
    .await;
    assert!(
        message.contains("Cannot deserialize value of type `java.lang.String`"),
        "{message}"
    );
    assert!(
        message.starts_with("Invalid input JSON on line 1, column "),
        "{message}"
    );

    let message = refused_raw(
        &app,
        r#"{"properties": {"hs_timestamp": "1745524893000", "hs_call_title": ["a"]}}"#,
    )
    .await;
    assert!(
        message.contains("Cannot deserialize value of type `java.lang.String`"),
        "{message}"
    );
}

#[tokio::test]
async fn malformed_and_empty_bodies_are_refused() {
    let app = spawn_app().await;
    let message = refused_raw(&app, r#"{"properties": %}"#).await;
    assert!(
        message.starts_with("Invalid input JSON on line 1"),
        "{message}"
    );
    let message = refused_raw(&app, r#"{"properties": {"hs_timestamp": "1"}"#).await;
    assert!(message.starts_with("Invalid input JSON"), "{message}");
    let message = refused_raw(&app, "").await;
    assert!(message.starts_with("Invalid input JSON"), "{message}");
    assert!(
        message.contains("No content to map due to end-of-input"),
        "{message}"
    );
    let message = refused_raw(&app, "[]").await;
    assert!(message.starts_with("Invalid input JSON"), "{message}");
}

#[tokio::test]
async fn refused_patch_changes_nothing() {
    let app = spawn_app().await;
    let id = app
        .create_call(json!({"hs_call_title": "kept", "hs_call_duration": "10"}))
        .await;
    let path = format!("/crm/v3/objects/calls/{id}");
    let before = app
        .get(&format!("{path}?properties=hs_call_title,hs_call_duration"))
        .await;

    // One good value next to a bad one: the whole PATCH is refused.
    let reply = app
        .patch(
            &path,
            json!({"properties": {"hs_call_title": "changed", "hs_call_duration": "ten"}}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert!(body["message"].as_str().unwrap().starts_with(PREFIX));
    assert_eq!(body["errors"][0]["code"], "INVALID_INTEGER");

    for bad in [
        json!({"properties": {"hs_object_id": "1"}}),
        json!({"properties": {"hs_lastmodifieddate": "1745524893000"}}),
        json!({"properties": {"unknown_thing": "1"}}),
        json!({"properties": {"hs_timestamp": "yesterday"}}),
        json!({}),
    ] {
        let reply = app.patch(&path, bad.clone()).await;
        reply.assert_error(400, "VALIDATION_ERROR");
    }

    let after = app
        .get(&format!(
            "{path}?properties=hs_call_title,hs_call_duration&propertiesWithHistory=hs_call_title"
        ))
        .await;
    assert_eq!(after.body["properties"], before.body["properties"]);
    assert_eq!(after.body["updatedAt"], before.body["updatedAt"]);
    assert_eq!(
        after.body["propertiesWithHistory"]["hs_call_title"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn error_envelope_field_order_follows_hubspot() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": "1745524893000", "nope": "x"}}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let keys: Vec<&String> = reply.body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["status", "message", "correlationId", "errors", "category"]
    );
    assert!(reply.text.starts_with("{\"status\":\"error\",\"message\":"));
}

#[tokio::test]
async fn string_values_are_limited_to_65536_characters() {
    let app = spawn_app().await;
    let longest = "x".repeat(65_536);
    let id = app.create_call(json!({"hs_call_title": longest})).await;
    let reply = app
        .get(&format!(
            "/crm/v3/objects/calls/{id}?properties=hs_call_title"
        ))
        .await;
    assert_eq!(
        reply.body["properties"]["hs_call_title"]
            .as_str()
            .unwrap()
            .len(),
        65_536
    );
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{id}"),
            json!({"properties": {"hs_call_title": "x".repeat(65_537)}}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        body["errors"][0]["context"]["propertyName"],
        json!(["hs_call_title"])
    );
}
