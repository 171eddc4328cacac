//! Pipelines of deals and tickets: HubSpot's defaults, the pipelines API, and the rule that a
//! record's stage is a live stage of its pipeline, driven over HTTP.

use crate::common;

use common::{spawn_with, TestApp, OTHER_PORTAL_TOKEN, TOKEN};
use hubcalls::config::{Config, TokenGrant};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const ADMIN: &str = "admin-secret";
/// A token of portal 1 that may only read deals.
const DEALS_READER: &str = "pat-deals-reader";

async fn app() -> TestApp {
    let mut reader = TokenGrant::full_access(DEALS_READER, 1);
    reader.scopes = vec!["crm.objects.deals.read".to_owned()];
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![
            TokenGrant::full_access(TOKEN, 1),
            TokenGrant::full_access(OTHER_PORTAL_TOKEN, 2),
            reader,
        ],
    );
    config.admin_token = Some(ADMIN.to_owned());
    spawn_with(config).await
}

/// A deals pipeline "Renewals" with stages `r1` (open) and `r2` (won).
async fn create_renewals(app: &TestApp) -> Value {
    let reply = app
        .post(
            "/crm/v3/pipelines/deals",
            json!({
                "label": "Renewals", "displayOrder": 1, "pipelineId": "renewals",
                "stages": [
                    {"label": "Due", "displayOrder": 0, "stageId": "r1", "metadata": {"probability": 0.5}},
                    {"label": "Renewed", "displayOrder": 1, "stageId": "r2", "metadata": {"probability": "1.0"}}
                ]
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body
}

async fn create_deal(app: &TestApp, properties: Value) -> common::Reply {
    app.post("/crm/v3/objects/deals", json!({ "properties": properties }))
        .await
}

async fn deal_count(app: &TestApp) -> usize {
    let list = app.get("/crm/v3/objects/deals?limit=100").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    list.body["results"].as_array().map_or(0, Vec::len)
}

fn stage_ids(pipeline: &Value) -> Vec<&str> {
    pipeline["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn every_portal_starts_with_hubspots_default_pipelines() {
    let app = app().await;
    let deals = app.get("/crm/v3/pipelines/deals").await;
    assert_eq!(deals.status, StatusCode::OK, "{}", deals.text);
    let results = deals.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let sales = &results[0];
    assert_eq!(sales["id"], "default");
    assert_eq!(sales["label"], "Sales Pipeline");
    assert_eq!(sales["displayOrder"], 0);
    assert_eq!(sales["archived"], false);
    assert_eq!(sales["createdAt"], "1970-01-01T00:00:00Z");
    assert_eq!(
        stage_ids(sales),
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
    assert_eq!(won["label"], "Closed Won");
    assert_eq!(won["displayOrder"], 5);
    assert_eq!(
        won["metadata"],
        json!({"isClosed": "true", "probability": "1.0"})
    );
    assert_eq!(won["writePermissions"], "CRM_PERMISSIONS_ENFORCEMENT");
    assert_eq!(sales["stages"][3]["label"], "Decision Maker Bought-In");
    assert_eq!(sales["stages"][0]["metadata"]["probability"], "0.2");

    // Tickets, by type id.
    let tickets = app.get("/crm/v3/pipelines/0-5").await;
    assert_eq!(tickets.status, StatusCode::OK, "{}", tickets.text);
    let support = &tickets.body["results"][0];
    assert_eq!(support["id"], "0");
    assert_eq!(support["label"], "Support Pipeline");
    assert_eq!(stage_ids(support), ["1", "2", "3", "4"]);
    assert_eq!(support["stages"][1]["label"], "Waiting on contact");
    assert_eq!(support["stages"][2]["metadata"]["ticketState"], "OPEN");
    assert_eq!(support["stages"][3]["metadata"]["ticketState"], "CLOSED");

    let one = app
        .get("/crm/v3/pipelines/deals/default/stages/closedlost")
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.body["metadata"]["probability"], "0.0");
    app.get("/crm/v3/pipelines/deals/nope")
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    app.get("/crm/v3/pipelines/deals/default/stages/nope")
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn types_without_pipelines_are_refused_in_the_envelope() {
    let app = app().await;
    let calls = app.get("/crm/v3/pipelines/calls").await;
    let body = calls.assert_error(400, "VALIDATION_ERROR");
    assert!(
        body["message"].as_str().unwrap().contains("calls"),
        "{}",
        calls.text
    );
    app.get("/crm/v3/pipelines/widgets")
        .await
        .assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn a_create_without_label_or_display_order_names_both() {
    let app = app().await;
    let reply = app.post("/crm/v3/pipelines/deals", json!({})).await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("label") && message.contains("displayOrder"),
        "{message}"
    );
    // A deal stage needs its probability.
    let reply = app
        .post(
            "/crm/v3/pipelines/deals",
            json!({"label": "P", "displayOrder": 2, "stages": [{"label": "S", "displayOrder": 0}]}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert!(body["message"].as_str().unwrap().contains("probability"));
    assert_eq!(
        app.get("/crm/v3/pipelines/deals").await.body["results"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn pipelines_and_stages_are_created_changed_and_archived() {
    let app = app().await;
    let created = create_renewals(&app).await;
    assert_eq!(created["id"], "renewals");
    assert_eq!(created["stages"][0]["metadata"]["probability"], "0.5");
    assert_eq!(created["stages"][0]["metadata"]["isClosed"], "false");
    assert_eq!(created["stages"][1]["metadata"]["isClosed"], "true");
    let listed = app.get("/crm/v3/pipelines/deals").await;
    let ids: Vec<&str> = listed.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["default", "renewals"]);

    // A second pipeline with the same label is refused.
    let twin = app
        .post(
            "/crm/v3/pipelines/deals",
            json!({"label": "renewals", "displayOrder": 3, "stages": [{"label": "A", "displayOrder": 0, "metadata": {"probability": "0.1"}}]}),
        )
        .await;
    twin.assert_error(409, "OBJECT_ALREADY_EXISTS");

    // Generated ids when none are given.
    let generated = app
        .post(
            "/crm/v3/pipelines/tickets",
            json!({"label": "Escalations", "displayOrder": 1,
                   "stages": [{"label": "Open", "displayOrder": 0, "metadata": {"ticketState": "OPEN"}},
                              {"label": "Done", "displayOrder": 1, "metadata": {"ticketState": "CLOSED"}}]}),
        )
        .await;
    assert_eq!(generated.status, StatusCode::CREATED, "{}", generated.text);
    let id = generated.body["id"].as_str().unwrap();
    assert!(id.bytes().all(|b| b.is_ascii_digit()), "{id}");

    let patched = app
        .patch(
            "/crm/v3/pipelines/deals/renewals",
            json!({"label": "Contract renewals"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.body["label"], "Contract renewals");

    // Stages: add, change, archive.
    let stage = app
        .post(
            "/crm/v3/pipelines/deals/renewals/stages",
            json!({"label": "Lost", "displayOrder": 2, "metadata": {"probability": 0}}),
        )
        .await;
    assert_eq!(stage.status, StatusCode::CREATED, "{}", stage.text);
    let lost = stage.body["id"].as_str().unwrap().to_owned();
    let changed = app
        .patch(
            &format!("/crm/v3/pipelines/deals/renewals/stages/{lost}"),
            json!({"label": "Churned", "metadata": {"probability": "0.0"}}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    assert_eq!(changed.body["label"], "Churned");
    let stages = app.get("/crm/v3/pipelines/deals/renewals/stages").await;
    assert_eq!(stages.body["results"].as_array().unwrap().len(), 3);
    let archived = app
        .delete(&format!("/crm/v3/pipelines/deals/renewals/stages/{lost}"))
        .await;
    assert_eq!(archived.status, StatusCode::NO_CONTENT, "{}", archived.text);
    app.get(&format!("/crm/v3/pipelines/deals/renewals/stages/{lost}"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    let pipeline = app.get("/crm/v3/pipelines/deals/renewals").await;
    assert_eq!(stage_ids(&pipeline.body), ["r1", "r2"]);

    // A replacement keeps the stages it names and archives the others.
    let replaced = app
        .send(
            Method::PUT,
            "/crm/v3/pipelines/deals/renewals",
            Some(json!({"label": "Renewals", "displayOrder": 1, "stages": [
                {"label": "Due soon", "displayOrder": 0, "stageId": "r1", "metadata": {"probability": "0.4"}},
                {"label": "Signed", "displayOrder": 1, "stageId": "r3", "metadata": {"probability": "1.0"}}
            ]})),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);
    assert_eq!(stage_ids(&replaced.body), ["r1", "r3"]);
    assert_eq!(replaced.body["stages"][0]["label"], "Due soon");

    // The audit lists what happened, newest first.
    let audit = app.get("/crm/v3/pipelines/deals/renewals/audit").await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    let entries = audit.body["results"].as_array().unwrap();
    let pipeline_entries: Vec<&Value> = entries
        .iter()
        .filter(|e| e["identifier"] == "renewals")
        .collect();
    assert_eq!(pipeline_entries[0]["message"], "Pipeline replaced");
    assert_eq!(pipeline_entries.last().unwrap()["action"], "CREATE");
    assert_eq!(entries[0]["portalId"], 1);
    let stage_audit = app
        .get("/crm/v3/pipelines/deals/renewals/stages/r1/audit")
        .await;
    assert_eq!(stage_audit.status, StatusCode::OK, "{}", stage_audit.text);
    let actions: Vec<&str> = stage_audit.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["UPDATE", "CREATE"]);
    let r2_audit = app
        .get("/crm/v3/pipelines/deals/renewals/stages/r2/audit")
        .await;
    assert_eq!(r2_audit.body["results"][0]["action"], "ARCHIVE");

    // Archive and restore the pipeline.
    let deleted = app.delete("/crm/v3/pipelines/deals/renewals").await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    app.get("/crm/v3/pipelines/deals/renewals")
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    assert_eq!(
        app.get("/crm/v3/pipelines/deals").await.body["results"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let restored = app
        .patch(
            "/crm/v3/pipelines/deals/renewals",
            json!({"archived": false}),
        )
        .await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.text);
    assert_eq!(restored.body["archived"], false);

    // The last live pipeline stays.
    assert_eq!(
        app.delete("/crm/v3/pipelines/deals/renewals").await.status,
        StatusCode::NO_CONTENT
    );
    app.delete("/crm/v3/pipelines/deals/default")
        .await
        .assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn a_deal_or_ticket_without_pipeline_gets_the_default_one() {
    let app = app().await;
    create_renewals(&app).await;
    let deal = create_deal(
        &app,
        json!({"dealname": "Licence", "dealstage": "appointmentscheduled"}),
    )
    .await;
    assert_eq!(deal.status, StatusCode::CREATED, "{}", deal.text);
    assert_eq!(deal.body["properties"]["pipeline"], "default");

    let ticket = app
        .post(
            "/crm/v3/objects/tickets",
            json!({"properties": {"subject": "Jammed", "hs_pipeline_stage": "1"}}),
        )
        .await;
    assert_eq!(ticket.status, StatusCode::CREATED, "{}", ticket.text);
    assert_eq!(ticket.body["properties"]["hs_pipeline"], "0");

    // A stage of another pipeline is not one of the default pipeline's.
    let wrong = create_deal(&app, json!({"dealname": "X", "dealstage": "r1"})).await;
    wrong.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn an_invalid_stage_is_refused_and_writes_nothing() {
    let app = app().await;
    create_renewals(&app).await;
    let refused = create_deal(
        &app,
        json!({"dealname": "X", "pipeline": "renewals", "dealstage": "closedwon"}),
    )
    .await;
    let body = refused.assert_error(400, "VALIDATION_ERROR");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("closedwon") && message.contains("renewals"),
        "{message}"
    );
    assert_eq!(body["errors"][0]["code"], "INVALID_OPTION");
    assert_eq!(body["errors"][0]["context"]["propertyName"][0], "dealstage");
    let unknown = create_deal(&app, json!({"dealname": "X", "dealstage": "nowhere"})).await;
    unknown.assert_error(400, "VALIDATION_ERROR");
    let bad_pipeline = create_deal(
        &app,
        json!({"dealname": "X", "pipeline": "nope", "dealstage": "r1"}),
    )
    .await;
    bad_pipeline.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(deal_count(&app).await, 0);

    // Updates: the stage is checked against the deal's pipeline.
    let deal = create_deal(
        &app,
        json!({"dealname": "D", "pipeline": "renewals", "dealstage": "r1"}),
    )
    .await;
    assert_eq!(deal.status, StatusCode::CREATED, "{}", deal.text);
    let id = deal.body["id"].as_str().unwrap().to_owned();
    let path = format!("/crm/v3/objects/deals/{id}");
    app.patch(&path, json!({"properties": {"dealstage": "closedwon"}}))
        .await
        .assert_error(400, "VALIDATION_ERROR");
    // Moving to another pipeline needs a stage of it.
    app.patch(&path, json!({"properties": {"pipeline": "default"}}))
        .await
        .assert_error(400, "VALIDATION_ERROR");
    let read = app
        .get(&format!("{path}?properties=pipeline,dealstage"))
        .await;
    assert_eq!(read.body["properties"]["pipeline"], "renewals");
    assert_eq!(read.body["properties"]["dealstage"], "r1");

    let moved = app
        .patch(
            &path,
            json!({"properties": {"pipeline": "default", "dealstage": "contractsent"}}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    assert_eq!(moved.body["properties"]["dealstage"], "contractsent");
    // Other properties are written without any pipeline check.
    let renamed = app
        .patch(&path, json!({"properties": {"dealname": "Renamed"}}))
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
}

#[tokio::test]
async fn stages_of_custom_pipelines_are_accepted_and_listed_as_options() {
    let app = app().await;
    create_renewals(&app).await;
    let deal = create_deal(
        &app,
        json!({"dealname": "Renewal", "pipeline": "renewals", "dealstage": "r2"}),
    )
    .await;
    assert_eq!(deal.status, StatusCode::CREATED, "{}", deal.text);
    assert_eq!(deal.body["properties"]["dealstage"], "r2");

    let stage = app.get("/crm/v3/properties/deals/dealstage").await;
    assert_eq!(stage.status, StatusCode::OK, "{}", stage.text);
    let values: Vec<&str> = stage.body["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert!(
        values.contains(&"r1") && values.contains(&"closedwon"),
        "{values:?}"
    );
    let pipeline = app.get("/crm/v3/properties/deals/pipeline").await;
    let values: Vec<&str> = pipeline.body["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["default", "renewals"]);

    // Search finds the deal by its custom stage.
    let found = app
        .post(
            "/crm/v3/objects/deals/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "dealstage", "operator": "EQ", "value": "r2"}]}]}),
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert_eq!(found.body["total"], 1);

    // Another portal has only the defaults.
    let other = app
        .send_raw(
            Method::GET,
            "/crm/v3/pipelines/deals",
            Some(OTHER_PORTAL_TOKEN),
            None,
        )
        .await;
    assert_eq!(other.body["results"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn archived_stages_are_refused() {
    let app = app().await;
    create_renewals(&app).await;
    let deal = create_deal(
        &app,
        json!({"dealname": "Held", "pipeline": "renewals", "dealstage": "r1"}),
    )
    .await;
    assert_eq!(deal.status, StatusCode::CREATED, "{}", deal.text);

    // A stage in use is kept when references are checked, archived when not.
    let checked = app
        .delete("/crm/v3/pipelines/deals/renewals/stages/r1?validateReferencesBeforeDelete=true")
        .await;
    checked.assert_error(400, "VALIDATION_ERROR");
    let archived = app
        .delete("/crm/v3/pipelines/deals/renewals/stages/r1")
        .await;
    assert_eq!(archived.status, StatusCode::NO_CONTENT, "{}", archived.text);

    let refused = create_deal(
        &app,
        json!({"dealname": "Late", "pipeline": "renewals", "dealstage": "r1"}),
    )
    .await;
    let body = refused.assert_error(400, "VALIDATION_ERROR");
    assert!(body["message"].as_str().unwrap().contains("archived"));
    let options = app.get("/crm/v3/properties/deals/dealstage").await;
    assert!(!options.text.contains("\"r1\""), "{}", options.text);

    // The deal already there keeps its stage and can still be changed otherwise.
    let id = deal.body["id"].as_str().unwrap();
    let renamed = app
        .patch(
            &format!("/crm/v3/objects/deals/{id}"),
            json!({"properties": {"dealname": "Still held"}}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    assert_eq!(renamed.body["properties"]["dealstage"], "r1");

    // The last stage of a pipeline stays.
    app.delete("/crm/v3/pipelines/deals/renewals/stages/r2")
        .await
        .assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn batches_report_invalid_stages_per_input() {
    let app = app().await;
    create_renewals(&app).await;
    let good = json!({"properties": {"dealname": "A", "dealstage": "qualifiedtobuy"}, "objectWriteTraceId": "a"});
    let bad = json!({"properties": {"dealname": "B", "pipeline": "renewals", "dealstage": "qualifiedtobuy"}, "objectWriteTraceId": "b"});
    let traced = app
        .post(
            "/crm/v3/objects/deals/batch/create",
            json!({"inputs": [good.clone(), bad.clone()]}),
        )
        .await;
    assert_eq!(traced.status.as_u16(), 207, "{}", traced.text);
    assert_eq!(traced.body["results"].as_array().unwrap().len(), 1);
    assert_eq!(traced.body["numErrors"], 1);

    // Without trace ids, one bad input fails the batch and nothing is written.
    let untraced = app
        .post(
            "/crm/v3/objects/deals/batch/create",
            json!({"inputs": [
                {"properties": {"dealname": "C", "dealstage": "qualifiedtobuy"}},
                {"properties": {"dealname": "D", "pipeline": "renewals", "dealstage": "closedwon"}}
            ]}),
        )
        .await;
    untraced.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(deal_count(&app).await, 1);

    // Batch update: a stage of another pipeline is refused for that input alone.
    let id = traced.body["results"][0]["id"].as_str().unwrap().to_owned();
    let second = create_deal(
        &app,
        json!({"dealname": "E", "dealstage": "qualifiedtobuy"}),
    )
    .await;
    let second = second.body["id"].as_str().unwrap().to_owned();
    let updated = app
        .post(
            "/crm/v3/objects/deals/batch/update",
            json!({"inputs": [
                {"id": id, "properties": {"dealstage": "r1"}, "objectWriteTraceId": "x"},
                {"id": second, "properties": {"dealstage": "closedwon"}, "objectWriteTraceId": "y"}
            ]}),
        )
        .await;
    assert_eq!(updated.status.as_u16(), 207, "{}", updated.text);
    assert_eq!(
        updated.body["results"][0]["properties"]["dealstage"],
        "closedwon"
    );
    let untouched = app
        .get(&format!("/crm/v3/objects/deals/{id}?properties=dealstage"))
        .await;
    assert_eq!(untouched.body["properties"]["dealstage"], "qualifiedtobuy");
}

#[tokio::test]
async fn pipelines_need_the_scopes_of_their_type() {
    let app = app().await;
    let read = app
        .send_raw(
            Method::GET,
            "/crm/v3/pipelines/deals",
            Some(DEALS_READER),
            None,
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    let write = app
        .send_raw(
            Method::POST,
            "/crm/v3/pipelines/deals",
            Some(DEALS_READER),
            Some(json!({"label": "P", "displayOrder": 1, "stages": []}).to_string()),
        )
        .await;
    write.assert_error(403, "MISSING_SCOPES");
    let tickets = app
        .send_raw(
            Method::GET,
            "/crm/v3/pipelines/tickets",
            Some(DEALS_READER),
            None,
        )
        .await;
    tickets.assert_error(403, "MISSING_SCOPES");
    let anonymous = app
        .send_raw(Method::GET, "/crm/v3/pipelines/deals", None, None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_portal_reset_removes_its_pipelines() {
    let app = app().await;
    create_renewals(&app).await;
    let renamed = app
        .patch("/crm/v3/pipelines/tickets/0", json!({"label": "Help desk"}))
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    assert_eq!(renamed.body["createdAt"], "1970-01-01T00:00:00Z");
    let reset = app
        .send_raw(Method::DELETE, "/_hubcalls/portals/1", Some(ADMIN), None)
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{}", reset.text);
    let deals = app.get("/crm/v3/pipelines/deals").await;
    assert_eq!(deals.body["results"].as_array().unwrap().len(), 1);
    let tickets = app.get("/crm/v3/pipelines/tickets").await;
    assert_eq!(tickets.body["results"][0]["label"], "Support Pipeline");
}
