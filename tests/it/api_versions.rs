//! HubSpot's date-versioned paths: every API under each date version, and the places where
//! versions differ (association archive bodies, merge and GDPR delete per version, the
//! 2026-09 write validation rules). The object API on every version: tests/objects_crud.rs.

use crate::common;

use common::{spawn_with, TestApp, TOKEN};
use hubcalls::config::{Config, TokenGrant};
use reqwest::Method;
use serde_json::{json, Value};

const ADMIN: &str = "admin-versions-secret";
const DATED: [&str; 4] = ["2025-09", "2026-03", "2026-09", "2026-09-beta"];

async fn app() -> TestApp {
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![TokenGrant::full_access(TOKEN, 1)],
    );
    config.admin_token = Some(ADMIN.to_owned());
    spawn_with(config).await
}

async fn admin(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> common::Reply {
    app.send_raw(method, path, Some(ADMIN), body.map(|b| b.to_string()))
        .await
}

async fn rules_of(app: &TestApp) -> common::Reply {
    admin(
        app,
        Method::GET,
        "/_hubcalls/portals/1/validation-rules",
        None,
    )
    .await
}

#[tokio::test]
async fn every_api_answers_under_each_date_version() {
    let app = app().await;
    let call = app.create_call(json!({"hs_call_title": "Dated"})).await;
    let contact = app.create_contact().await;
    for v in DATED {
        for path in [
            format!("/crm/properties/{v}/deals"),
            format!("/crm/properties/{v}/calls/hs_call_title"),
            format!("/crm/properties/{v}/contacts/groups"),
            format!("/crm/pipelines/{v}/deals"),
            format!("/crm/pipelines/{v}/tickets/0/stages"),
            format!("/crm/owners/{v}"),
            format!("/crm/owners/{v}/"),
            format!("/crm-object-schemas/{v}/schemas"),
            format!("/crm/associations/{v}/calls/contacts/labels"),
            format!("/crm/objects/{v}/calls/{call}"),
        ] {
            let reply = app.get(&path).await;
            assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        }
        // Per-record associations take v4's shapes under the dated prefix.
        let linked = app
            .put(&format!(
                "/crm/objects/{v}/calls/{call}/associations/default/contacts/{contact}"
            ))
            .await;
        assert_eq!(linked.status, 200, "{v}: {}", linked.text);
        let listed = app
            .get(&format!(
                "/crm/objects/{v}/calls/{call}/associations/contacts"
            ))
            .await;
        assert_eq!(listed.status, 200, "{v}: {}", listed.text);
        assert_eq!(
            listed.body["results"][0]["toObjectId"].to_string(),
            contact,
            "{v}: {}",
            listed.text
        );
        let read = app
            .post(
                &format!("/crm/associations/{v}/calls/contacts/batch/read"),
                json!({"inputs": [{"id": call}]}),
            )
            .await;
        assert_eq!(read.status, 200, "{v}: {}", read.text);
        assert_eq!(
            read.body["results"][0]["to"][0]["toObjectId"].to_string(),
            contact
        );
        // The dated batch archive answers 200 with a batch body (v4: 204, below).
        let archived = app
            .post(
                &format!("/crm/associations/{v}/calls/contacts/batch/archive"),
                json!({"inputs": [{"from": {"id": call}, "to": [{"id": contact}]}]}),
            )
            .await;
        assert_eq!(archived.status, 200, "{v}: {}", archived.text);
        assert_eq!(archived.body["status"], "COMPLETE");
        assert!(archived.body["startedAt"].is_string(), "{}", archived.text);
        let after = app
            .get(&format!(
                "/crm/objects/{v}/calls/{call}/associations/contacts"
            ))
            .await;
        assert_eq!(after.body["results"], json!([]), "{v}: {}", after.text);
    }
    let archived = app
        .post(
            "/crm/v4/associations/calls/contacts/batch/archive",
            json!({"inputs": [{"from": {"id": call}, "to": [{"id": contact}]}]}),
        )
        .await;
    assert_eq!(archived.status, 204, "{}", archived.text);
    assert!(archived.text.is_empty());
}

#[tokio::test]
async fn versions_hubspot_has_not_released_are_404() {
    let app = app().await;
    for path in [
        "/crm/objects/2027-03/calls",
        "/crm/properties/2027-03-beta/calls",
        "/crm/objects/2026-10/contacts",
    ] {
        let reply = app.get(path).await;
        let body = reply.assert_error(404, "OBJECT_NOT_FOUND");
        assert!(
            body["message"].as_str().unwrap().contains("2026-03"),
            "{path}: the answer names the versions served: {body}"
        );
    }
}

async fn merge(app: &TestApp, path: &str, primary: String, other: String) -> common::Reply {
    let body = json!({"primaryObjectId": primary, "objectIdToMerge": other});
    app.post(path, body).await
}

#[tokio::test]
async fn merge_and_gdpr_delete_exist_where_each_version_has_them() {
    let app = app().await;
    // Calls: no merge on 2026-03 (or v3); merge on 2026-09-beta.
    let (a, b) = (
        app.create_call(json!({"hs_call_title": "A"})).await,
        app.create_call(json!({"hs_call_title": "B"})).await,
    );
    merge(
        &app,
        "/crm/objects/2026-03/calls/merge",
        a.clone(),
        b.clone(),
    )
    .await
    .assert_error(404, "OBJECT_NOT_FOUND");
    let merged = merge(&app, "/crm/objects/2026-09-beta/calls/merge", a, b).await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    assert_eq!(merged.body["properties"]["hs_call_title"], "A");
    // Contacts merge on every version.
    let (c, d) = (app.create_contact().await, app.create_contact().await);
    let merged = merge(&app, "/crm/objects/2026-03/contacts/merge", c, d).await;
    assert_eq!(merged.status, 200, "{}", merged.text);

    // GDPR delete: contacts on every version; calls on v3 (as before) and the beta only.
    let call = app.create_call(json!({})).await;
    app.post(
        "/crm/objects/2026-03/calls/gdpr-delete",
        json!({"objectId": call}),
    )
    .await
    .assert_error(404, "OBJECT_NOT_FOUND");
    assert_eq!(
        app.get(&format!("/crm/v3/objects/calls/{call}"))
            .await
            .status,
        200,
        "a refused GDPR delete deletes nothing"
    );
    for path in [
        "/crm/objects/2026-09-beta/calls/gdpr-delete",
        "/crm/v3/objects/calls/gdpr-delete",
    ] {
        let call = app.create_call(json!({})).await;
        let reply = app.post(path, json!({"objectId": call})).await;
        assert_eq!(reply.status, 204, "{path}: {}", reply.text);
    }
    let contact = app.create_contact().await;
    let reply = app
        .post(
            "/crm/objects/2026-03/contacts/gdpr-delete",
            json!({"objectId": contact}),
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
}

/// The rules of the examples in HubSpot's announcement: a deal's amount is required once it
/// is won; a contact's first name is on the create form.
fn rules() -> Value {
    json!({
        "deals": {"conditional": [
            {"property": "amount", "whenProperty": "dealstage", "values": ["closedwon"]}
        ]},
        "contacts": {"requiredOnCreate": ["firstname"]}
    })
}

#[tokio::test]
async fn write_validation_rules_are_enforced_on_2026_09_only() {
    let app = app().await;
    let set = admin(
        &app,
        Method::PUT,
        "/_hubcalls/portals/1/validation-rules",
        Some(rules()),
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.body, rules());

    // A create without the form's property.
    let body = json!({"properties": {"email": "form@example.com"}});
    let refused = app
        .post("/crm/objects/2026-09/contacts", body.clone())
        .await;
    let error = refused.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(error["errors"][0]["code"], "MISSING_REQUIRED_PROPERTY");
    assert_eq!(
        error["errors"][0]["context"]["propertyName"],
        json!(["firstname"])
    );
    assert_eq!(
        error["errors"][0]["message"],
        "A value for firstname must be provided"
    );
    let nothing = app
        .post(
            "/crm/v3/objects/contacts/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "form@example.com"}]}]}),
        )
        .await;
    assert_eq!(nothing.body["total"], 0, "a refused write writes nothing");
    // The same write passes on 2026-03 and v3.
    let created = app.post("/crm/objects/2026-03/contacts", body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let created = app
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "v3@example.com"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);

    // An update that wins a deal without an amount.
    let deal = app
        .post(
            "/crm/objects/2026-09/deals",
            json!({"properties": {"dealname": "Big one", "dealstage": "appointmentscheduled"}}),
        )
        .await;
    assert_eq!(deal.status, 201, "{}", deal.text);
    let id = deal.body["id"].as_str().unwrap();
    let won = json!({"properties": {"dealstage": "closedwon"}});
    let refused = app
        .patch(&format!("/crm/objects/2026-09/deals/{id}"), won.clone())
        .await;
    let error = refused.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        error["errors"][0]["code"],
        "MISSING_CONDITIONAL_REQUIRED_PROPERTY"
    );
    assert_eq!(
        error["errors"][0]["message"],
        "amount is required because of a conditional property rule based on [dealstage]"
    );
    let stage = app
        .get(&format!("/crm/v3/objects/deals/{id}?properties=dealstage"))
        .await;
    assert_ne!(stage.body["properties"]["dealstage"], "closedwon");
    // With the amount it passes; and without it on 2026-03.
    let ok = app
        .patch(
            &format!("/crm/objects/2026-09/deals/{id}"),
            json!({"properties": {"dealstage": "closedwon", "amount": "100"}}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let other = app.create_minimal("deals").await;
    let ok = app
        .patch(&format!("/crm/objects/2026-03/deals/{other}"), won)
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}

#[tokio::test]
async fn batches_refuse_whole_or_per_traced_input_under_the_rules() {
    let app = app().await;
    admin(
        &app,
        Method::PUT,
        "/_hubcalls/portals/1/validation-rules",
        Some(rules()),
    )
    .await;
    let good = json!({"properties": {"email": "a@example.com", "firstname": "A"}});
    let bad = json!({"properties": {"email": "b@example.com"}});
    // Untraced: the whole batch fails and nothing is written.
    let reply = app
        .post(
            "/crm/objects/2026-09/contacts/batch/create",
            json!({"inputs": [good.clone(), bad.clone()]}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let listed = app.get("/crm/v3/objects/contacts").await;
    assert_eq!(listed.body["results"], json!([]), "{}", listed.text);
    // Traced: the refused input is reported, the other created.
    let traced = |mut input: Value, trace: &str| {
        input["objectWriteTraceId"] = json!(trace);
        input
    };
    let reply = app
        .post(
            "/crm/objects/2026-09/contacts/batch/create",
            json!({"inputs": [traced(good, "t-good"), traced(bad, "t-bad")]}),
        )
        .await;
    assert_eq!(reply.status, 207, "{}", reply.text);
    assert_eq!(reply.body["numErrors"], 1);
    assert_eq!(reply.body["results"].as_array().unwrap().len(), 1);
    assert_eq!(
        reply.body["errors"][0]["context"]["objectWriteTraceId"],
        json!(["t-bad"])
    );
    assert_eq!(
        reply.body["errors"][0]["errors"][0]["context"]["propertyName"],
        json!(["firstname"]),
        "{}",
        reply.text
    );
    // An upsert that creates is checked as a create, one that updates as an update.
    let upsert = json!({"inputs": [
        {"id": "new@example.com", "idProperty": "email", "properties": {"lastname": "N"}}
    ]});
    app.post("/crm/objects/2026-09/contacts/batch/upsert", upsert.clone())
        .await
        .assert_error(400, "VALIDATION_ERROR");
    let ok = app
        .post("/crm/objects/2026-09/contacts/batch/upsert",
            json!({"inputs": [{"id": "a@example.com", "idProperty": "email", "properties": {"lastname": "L"}}]}))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let ok = app
        .post("/crm/objects/2026-03/contacts/batch/upsert", upsert)
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}

#[tokio::test]
async fn validation_rules_come_from_the_config_and_the_admin_api_checks_them() {
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![TokenGrant::full_access(TOKEN, 1)],
    );
    config.admin_token = Some(ADMIN.to_owned());
    config.validation_rules = toml::from_str::<ConfigRules>(
        r#"
        [[validation_rules]]
        portal = 1
        object_type = "0-3"
        required_on_create = ["amount"]
        "#,
    )
    .unwrap()
    .validation_rules;
    let app = spawn_with(config).await;
    let shown = rules_of(&app).await;
    assert_eq!(
        shown.body,
        json!({"deals": {"requiredOnCreate": ["amount"]}})
    );
    app.post(
        "/crm/objects/2026-09/0-3",
        json!({"properties": {"dealname": "No amount", "dealstage": "appointmentscheduled"}}),
    )
    .await
    .assert_error(400, "VALIDATION_ERROR");

    for (body, words) in [
        (json!({"widgets": {}}), "Unable to infer object type"),
        (
            json!({"deals": {"requiredOnCreate": ["no_such_property"]}}),
            "no_such_property",
        ),
        (json!({"deals": {"required": ["amount"]}}), "unknown field"),
    ] {
        let reply = admin(
            &app,
            Method::PUT,
            "/_hubcalls/portals/1/validation-rules",
            Some(body),
        )
        .await;
        let error = reply.assert_error(400, "VALIDATION_ERROR");
        assert!(
            error["message"].as_str().unwrap().contains(words),
            "{words}: {error}"
        );
    }
    // A refused PUT kept the rules; DELETE removes them.
    let shown = rules_of(&app).await;
    assert_eq!(
        shown.body,
        json!({"deals": {"requiredOnCreate": ["amount"]}})
    );
    let cleared = admin(
        &app,
        Method::DELETE,
        "/_hubcalls/portals/1/validation-rules",
        None,
    )
    .await;
    assert_eq!(cleared.status, 204);
    let created = app
        .post(
            "/crm/objects/2026-09/0-3",
            json!({"properties": {"dealname": "No amount", "dealstage": "appointmentscheduled"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
}

#[derive(serde::Deserialize)]
struct ConfigRules {
    validation_rules: Vec<hubcalls::crm::write_rules::WriteRuleSettings>,
}

#[tokio::test]
async fn pipeline_removals_check_usage_by_default_on_2026_09_only() {
    let app = app().await;
    let pipeline = app
        .post(
            "/crm/pipelines/2026-09/deals",
            json!({
                "label": "Renewals", "displayOrder": 1, "pipelineId": "renewals",
                "stages": [
                    {"label": "Due", "displayOrder": 0, "stageId": "r1", "metadata": {"probability": 0.5}},
                    {"label": "Renewed", "displayOrder": 1, "stageId": "r2", "metadata": {"probability": 1.0}},
                    {"label": "Lost", "displayOrder": 2, "stageId": "r3", "metadata": {"probability": 0.0}}
                ]
            }),
        )
        .await;
    assert_eq!(pipeline.status, 201, "{}", pipeline.text);
    for stage in ["r1", "r2"] {
        let deal = app
            .post(
                "/crm/objects/2026-09/deals",
                json!({"properties": {"dealname": stage, "pipeline": "renewals", "dealstage": stage}}),
            )
            .await;
        assert_eq!(deal.status, 201, "{}", deal.text);
    }
    // 2026-09: a stage in use is kept unless the client turns the check off.
    app.delete("/crm/pipelines/2026-09/deals/renewals/stages/r1")
        .await
        .assert_error(400, "VALIDATION_ERROR");
    let unchecked = app
        .delete(
            "/crm/pipelines/2026-09/deals/renewals/stages/r1?validateReferencesBeforeDelete=false",
        )
        .await;
    assert_eq!(unchecked.status, 204, "{}", unchecked.text);
    // 2026-03 (and v3): no check unless asked for.
    let archived = app
        .delete("/crm/pipelines/2026-03/deals/renewals/stages/r2")
        .await;
    assert_eq!(archived.status, 204, "{}", archived.text);
}
