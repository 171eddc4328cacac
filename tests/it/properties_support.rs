//! Helpers shared by the calls properties API tests (`properties_definitions`,
//! `properties_groups`, `properties_on_calls`): definitions to create and readers of replies.

use crate::common::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

pub const PROPS: &str = "/crm/v3/properties/calls";

pub fn text_property(name: &str) -> Value {
    json!({
        "name": name,
        "label": format!("Label of {name}"),
        "type": "string",
        "fieldType": "text",
        "groupName": "callinformation"
    })
}

pub fn number_property(name: &str) -> Value {
    json!({
        "name": name,
        "label": "A number",
        "type": "number",
        "fieldType": "number",
        "groupName": "callinformation"
    })
}

pub async fn create_property(app: &TestApp, body: Value) -> Value {
    let reply = app.post(PROPS, body.clone()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{body}: {}", reply.text);
    reply.body
}

pub fn names(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

pub fn ids(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

pub async fn search(app: &TestApp, body: Value) -> Value {
    let reply = app.post("/crm/v3/objects/calls/search", body.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{body}: {}", reply.text);
    reply.body
}
