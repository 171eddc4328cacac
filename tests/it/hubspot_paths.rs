//! Paths HubSpot serves (or no longer serves) answer as HubSpot does for a portal without the
//! feature: default pipelines, no merge for types without it; no path answers 501.
//! (Pipeline writes: tests/pipelines.rs.)

use crate::common;

use common::{spawn_app, spawn_with, READ_ONLY_TOKEN, TOKEN};
use hubcalls::config::{Config, TokenGrant};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn merge_of_a_type_without_merge_is_a_missing_endpoint() {
    let app = spawn_app().await;
    let first = app.create_call(json!({})).await;
    let second = app.create_call(json!({})).await;
    let body = json!({"primaryObjectId": first, "objectIdToMerge": second});
    for path in [
        "/crm/v3/objects/calls/merge",
        "/crm/v3/objects/0-48/merge",
        "/crm/v3/objects/notes/merge",
        "/crm/v3/objects/line_items/merge",
    ] {
        let reply = app.post(path, body.clone()).await;
        let error = reply.assert_error(404, "OBJECT_NOT_FOUND");
        assert_eq!(error["message"], format!("No endpoint matches POST {path}"));
    }
    // Both calls are untouched.
    for id in [&first, &second] {
        let reply = app.get(&format!("/crm/v3/objects/calls/{id}")).await;
        assert_eq!(reply.status, 200);
    }
}

fn stage_ids(body: &Value) -> Vec<&str> {
    body.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn deals_and_tickets_have_hubspots_default_pipelines() {
    let app = spawn_app().await;
    let reply = app.get("/crm/v3/pipelines/deals").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let pipelines = reply.body["results"].as_array().unwrap();
    assert_eq!(pipelines.len(), 1);
    let sales = &pipelines[0];
    assert_eq!(sales["id"], "default");
    assert_eq!(sales["label"], "Sales Pipeline");
    assert_eq!(sales["archived"], false);
    assert_eq!(
        stage_ids(&sales["stages"]),
        [
            "appointmentscheduled",
            "qualifiedtobuy",
            "presentationscheduled",
            "decisionmakerboughtin",
            "contractsent",
            "closedwon",
            "closedlost"
        ]
    );
    let won = &sales["stages"][5];
    assert_eq!(
        won["metadata"],
        json!({"isClosed": "true", "probability": "1.0"})
    );
    assert_eq!(won["displayOrder"], 5);
    assert_eq!(won["writePermissions"], "CRM_PERMISSIONS_ENFORCEMENT");

    // The same under the type id, one by one, and its stages.
    let one = app.get("/crm/v3/pipelines/0-3/default").await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.body, *sales);
    let stages = app.get("/crm/v3/pipelines/deals/default/stages").await;
    assert_eq!(stages.body["results"], sales["stages"]);
    let stage = app
        .get("/crm/v3/pipelines/deals/default/stages/closedwon")
        .await;
    assert_eq!(stage.body, *won);
    for path in [
        "/crm/v3/pipelines/deals/default/audit",
        "/crm/v3/pipelines/deals/default/stages/closedwon/audit",
    ] {
        let audit = app.get(path).await;
        assert_eq!(audit.status, 200, "{path}");
        assert_eq!(audit.body, json!({"results": []}));
    }

    let tickets = app.get("/crm/v3/pipelines/tickets").await;
    let support = &tickets.body["results"][0];
    assert_eq!(support["id"], "0");
    assert_eq!(support["label"], "Support Pipeline");
    assert_eq!(stage_ids(&support["stages"]), ["1", "2", "3", "4"]);
    assert_eq!(
        support["stages"][3]["metadata"],
        json!({"ticketState": "CLOSED"})
    );
}

#[tokio::test]
async fn pipelines_answer_hubspots_errors() {
    let app = spawn_app().await;
    let error = app
        .get("/crm/v3/pipelines/calls")
        .await
        .assert_error(400, "VALIDATION_ERROR")
        .clone();
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("has no pipelines"));
    app.get("/crm/v3/pipelines/widgets")
        .await
        .assert_error(400, "VALIDATION_ERROR");
    app.get("/crm/v3/pipelines/deals/other")
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    app.get("/crm/v3/pipelines/deals/default/stages/nope")
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    // The type's scopes apply: a token that reads contacts only may not read deals.
    app.send_raw(
        Method::GET,
        "/crm/v3/pipelines/deals",
        Some(READ_ONLY_TOKEN),
        None,
    )
    .await
    .assert_error(403, "MISSING_SCOPES");
}

#[tokio::test]
async fn custom_object_writes_say_the_portal_has_none() {
    let mut grant = TokenGrant::full_access(TOKEN, 1);
    grant.scopes.push("crm.schemas.custom.write".to_owned());
    let app = spawn_with(Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![grant],
    ))
    .await;
    for (method, path) in [
        (Method::POST, "/crm/v3/schemas"),
        (Method::PATCH, "/crm-object-schemas/v3/schemas/contacts"),
        (Method::POST, "/crm/v3/schemas/contacts/associations"),
        (Method::DELETE, "/crm/v3/schemas/contacts/associations/1"),
    ] {
        let reply = app.send(method.clone(), path, Some(json!({}))).await;
        let error = reply.assert_error(403, "FORBIDDEN");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("no access to custom objects"),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn every_hubspot_path_is_served_and_unknown_versions_are_404() {
    let app = spawn_app().await;
    // Date-versioned paths are served (tests/api_versions.rs has the details); a date
    // version HubSpot has not released is HubSpot's 404, never a 5xx a client would retry.
    let reply = app.get("/crm/objects/2026-03/calls").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let unknown = app.get("/crm/objects/2027-03/calls").await;
    let unknown = unknown.assert_error(404, "OBJECT_NOT_FOUND");
    assert!(
        unknown["message"].as_str().unwrap().contains("2027-03"),
        "{unknown}"
    );
    // Association labels and the legacy v3 associations batch API are served.
    for (method, path) in [
        (Method::GET, "/crm/v4/associations/calls/contacts/labels"),
        (
            Method::POST,
            "/crm/v3/associations/calls/contacts/batch/read",
        ),
    ] {
        let reply = app.send(method, path, Some(json!({"inputs": []}))).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    }
    // A path HubSpot does not have at all is its 404.
    app.get("/crm/v3/nothing-here")
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
}
