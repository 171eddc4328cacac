//! The admin API: resetting a portal so each test can start from nothing.

use crate::common;

use common::{spawn_app, spawn_with, OTHER_PORTAL_TOKEN, TOKEN};
use hubcalls::config::{Config, TokenGrant};
use reqwest::Method;
use serde_json::json;

const ADMIN: &str = "admin-secret";

async fn app_with_admin() -> common::TestApp {
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

#[tokio::test]
async fn reset_removes_one_portal_and_nothing_else() {
    let app = app_with_admin().await;
    let reply = app
        .post(
            "/crm/v3/properties/calls",
            json!({"name": "ext", "label": "E", "type": "string", "fieldType": "text", "groupName": "call", "hasUniqueValue": true}),
        )
        .await;
    assert_eq!(reply.status, 201);
    let id = app.create_call(json!({"ext": "a1"})).await;
    let other = app
        .send_raw(
            Method::POST,
            "/crm/v3/objects/calls",
            Some(OTHER_PORTAL_TOKEN),
            Some(json!({"properties": {"hs_timestamp": 0}}).to_string()),
        )
        .await;
    assert_eq!(other.status, 201);

    let reset = app
        .send_raw(Method::DELETE, "/_hubcalls/portals/1", Some(ADMIN), None)
        .await;
    assert_eq!(reset.status, 204, "{}", reset.text);

    app.get(&format!("/crm/v3/objects/calls/{id}?archived=true"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    app.get("/crm/v3/properties/calls/ext")
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    // The same unique value can be used again, and portal 2 still has its call.
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": 0}}),
        )
        .await;
    assert_eq!(reply.status, 201);
    let listed = app
        .send_raw(
            Method::GET,
            "/crm/v3/objects/calls",
            Some(OTHER_PORTAL_TOKEN),
            None,
        )
        .await;
    assert_eq!(listed.body["results"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn only_the_admin_token_may_reset() {
    let app = app_with_admin().await;
    for token in [None, Some(TOKEN), Some("wrong")] {
        let reply = app
            .send_raw(Method::DELETE, "/_hubcalls/portals/1", token, None)
            .await;
        reply.assert_error(401, "INVALID_AUTHENTICATION");
    }
}

#[tokio::test]
async fn the_admin_api_is_off_without_a_token() {
    let app = spawn_app().await;
    let reply = app
        .send_raw(Method::DELETE, "/_hubcalls/portals/1", Some(TOKEN), None)
        .await;
    reply.assert_error(404, "OBJECT_NOT_FOUND");
}
