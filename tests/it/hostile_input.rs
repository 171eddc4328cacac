//! Inputs found by fuzzing (Schemathesis against openapi/hubcalls.yaml): each must get
//! HubSpot's 4xx envelope and change nothing.

use crate::common;

use common::spawn_app;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_top_level_array_is_not_an_object_body() {
    let app = spawn_app().await;
    let id = app.create_call(json!({})).await;
    for (method, path, body) in [
        (
            Method::POST,
            "/crm/v3/objects/calls/gdpr-delete",
            format!("[\"{id}\"]"),
        ),
        (
            Method::POST,
            "/crm/v3/objects/calls",
            "[{\"hs_timestamp\":0}]".to_owned(),
        ),
        (
            Method::POST,
            "/crm/v3/objects/calls/search",
            "[null, null]".to_owned(),
        ),
    ] {
        let reply = app
            .send_raw(method, path, Some(&app.token), Some(body))
            .await;
        let error = reply.assert_error(400, "VALIDATION_ERROR");
        assert!(error["message"]
            .as_str()
            .unwrap()
            .contains("from Array value"));
    }
    // Nothing was deleted and nothing created.
    let list = app.get("/crm/v3/objects/calls").await;
    let ids: Vec<&str> = list.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![id.as_str()]);
    // The one endpoint whose body is an array refuses an object.
    let reply = app
        .send_raw(
            Method::PUT,
            &format!("/crm/v4/objects/calls/{id}/associations/contacts/1"),
            Some(&app.token),
            Some("{}".to_owned()),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn huge_paging_offsets_do_not_overflow() {
    let app = spawn_app().await;
    let id = app.create_call(json!({})).await;
    let reply = app
        .get(&format!(
            "/crm/v4/objects/calls/{id}/associations/contacts?after=18446744073709551615"
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["results"], json!([]));
}

#[tokio::test]
async fn instants_outside_four_digit_years_are_refused() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/crm/v3/properties/calls",
            json!({"name": "fz_date", "label": "D", "type": "date", "fieldType": "date", "groupName": "call"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    for properties in [
        json!({"hs_timestamp": 0, "fz_date": 185_542_500_700_800_000u64}),
        json!({"hs_timestamp": 0, "fz_date": "371085174374400000"}),
        json!({"hs_timestamp": 253_402_300_800_000u64}),
        json!({"hs_timestamp": i64::MAX}),
    ] {
        let reply = app
            .post("/crm/v3/objects/calls", json!({ "properties": properties }))
            .await;
        let error = reply.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(error["errors"][0]["code"], "INVALID_DATE", "{properties}");
    }
}

#[tokio::test]
async fn unknown_object_types_in_association_paths_are_400() {
    let app = spawn_app().await;
    let call = app.create_call(json!({})).await;
    let contact = app.create_contact().await;
    for from in [format!("calls/{call}"), format!("contacts/{contact}")] {
        let reply = app
            .get(&format!("/crm/v4/objects/{from}/associations/widgets"))
            .await;
        let error = reply.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(
            error["message"],
            "Unable to infer object type from: widgets"
        );
    }
    // Every standard object is kept, so a pair without calls is served too.
    let reply = app
        .get(&format!(
            "/crm/v4/objects/contacts/{contact}/associations/deals"
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["results"], json!([]));
    // The pair's association types, HubSpot's own (no custom labels here), by either path.
    for path in [
        "/crm/v4/associations/contacts/deals/labels",
        "/crm/associations/v4/0-1/0-3/labels",
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(
            reply.body["results"],
            json!([{"category": "HUBSPOT_DEFINED", "typeId": 4, "label": null}])
        );
    }
    let reply = app
        .get("/crm/v4/associations/companies/contacts/labels")
        .await;
    assert_eq!(
        reply.body["results"],
        json!([
            {"category": "HUBSPOT_DEFINED", "typeId": 280, "label": null},
            {"category": "HUBSPOT_DEFINED", "typeId": 2, "label": "Primary"}
        ])
    );
    // Defining labels is refused in the envelope.
    let reply = app
        .post(
            "/crm/v4/associations/contacts/deals/labels",
            json!({"label": "Partner", "name": "partner"}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn ids_must_be_strings_or_integers() {
    let app = spawn_app().await;
    for (path, body) in [
        (
            "/crm/v3/objects/calls/batch/archive",
            json!({"inputs": [{"id": null}]}),
        ),
        (
            "/crm/v3/objects/calls/batch/read",
            json!({"inputs": [{"id": true}]}),
        ),
        (
            "/crm/v3/objects/calls/gdpr-delete",
            json!({"objectId": 1.5}),
        ),
        (
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": 0}, "associations": [{"to": {"id": null}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194}]}]}),
        ),
    ] {
        app.post(path, body.clone())
            .await
            .assert_error(400, "VALIDATION_ERROR");
    }
    // An association without any type is refused, and no call is created.
    let contact = app.create_contact().await;
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": 0}, "associations": [{"to": {"id": contact}, "types": []}]}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let list = app.get("/crm/v3/objects/calls").await;
    assert_eq!(list.body["results"], json!([]));
}

/// The NUL character cannot be stored by PostgreSQL: in a body or in the request target it
/// is a 400 on either store, never a 500, and nothing is written.
#[tokio::test]
async fn the_nul_character_is_refused_everywhere() {
    let app = spawn_app().await;
    let id = app.create_call(json!({"hs_call_title": "before"})).await;
    for (method, path, body) in [
        (
            Method::POST,
            "/crm/v3/objects/calls".to_owned(),
            r#"{"properties": {"hs_timestamp": 0, "hs_call_title": "a\u0000b"}}"#,
        ),
        (
            Method::PATCH,
            format!("/crm/v3/objects/calls/{id}"),
            r#"{"properties": {"hs_call_title": "\u0000"}}"#,
        ),
        (
            Method::POST,
            "/crm/v3/objects/calls/search".to_owned(),
            r#"{"query": "x\u0000"}"#,
        ),
    ] {
        let reply = app
            .send_raw(method, &path, Some(&app.token), Some(body.to_owned()))
            .await;
        let error = reply.assert_error(400, "VALIDATION_ERROR");
        assert!(
            error["message"].as_str().unwrap().contains("NUL character"),
            "{error}"
        );
    }
    let by_value = app
        .get("/crm/v3/objects/calls/a%00b?idProperty=hs_call_title")
        .await;
    by_value.assert_error(400, "VALIDATION_ERROR");
    let got = app
        .get(&format!(
            "/crm/v3/objects/calls/{id}?properties=hs_call_title"
        ))
        .await;
    assert_eq!(got.body["properties"]["hs_call_title"], "before");
    let listed = app.get("/crm/v3/objects/calls").await;
    assert_eq!(listed.body["results"].as_array().unwrap().len(), 1);
}
