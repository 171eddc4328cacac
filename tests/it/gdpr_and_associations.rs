//! Associations given on create and read back in HubSpot's v3 shape; GDPR delete.

use crate::common;

use common::{spawn_app, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn spec(type_id: i64) -> Value {
    json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}])
}

async fn create_with(app: &TestApp, associations: Value) -> String {
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({
                "properties": {"hs_timestamp": "2021-03-17T01:32:44.872Z", "hs_call_title": "Support call"},
                "associations": associations
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "body: {}", reply.text);
    assert!(reply.body.get("associations").is_none());
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn live_count(app: &TestApp) -> usize {
    let reply = app.get("/crm/v3/objects/calls?limit=100").await;
    reply.body["results"].as_array().unwrap().len()
}

async fn gdpr_delete(app: &TestApp, body: Value) {
    let reply = app
        .post("/crm/v3/objects/calls/gdpr-delete", body.clone())
        .await;
    assert_eq!(
        reply.status,
        StatusCode::NO_CONTENT,
        "{body}: {}",
        reply.text
    );
    assert!(reply.text.is_empty(), "204 body: {:?}", reply.text);
}

#[tokio::test]
async fn associations_on_create_are_read_back_in_hubspot_shape() {
    let app = spawn_app().await;
    let contact = app.create_contact().await;
    let ticket = app.create_minimal("tickets").await;
    let id = create_with(
        &app,
        json!([
            // A JSON number and a string both name a record.
            {"to": {"id": contact.parse::<u64>().unwrap()}, "types": spec(194)},
            {"to": {"id": ticket}, "types": spec(220)}
        ]),
    )
    .await;

    let reply = app
        .get(&format!(
            "/crm/v3/objects/calls/{id}?associations=contacts,tickets"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    assert_eq!(
        reply.body["associations"],
        json!({
            "contacts": {"results": [{"id": contact, "type": "call_to_contact"}]},
            "tickets": {"results": [{"id": ticket, "type": "call_to_ticket"}]}
        })
    );

    // Repeated form, singular names, a type without associations, an unknown type.
    let reply = app
        .get(&format!(
            "/crm/v3/objects/calls/{id}?associations=contact&associations=deals,nonsense"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    assert_eq!(
        reply.body["associations"],
        json!({"contacts": {"results": [{"id": contact, "type": "call_to_contact"}]}})
    );

    // Only types with associations appear; none at all means no `associations` key.
    let reply = app
        .get(&format!("/crm/v3/objects/calls/{id}?associations=deals"))
        .await;
    assert!(reply.body.get("associations").is_none(), "{}", reply.text);
    let reply = app.get(&format!("/crm/v3/objects/calls/{id}")).await;
    assert!(reply.body.get("associations").is_none(), "{}", reply.text);
}

#[tokio::test]
async fn list_items_carry_their_associations() {
    let app = spawn_app().await;
    let contacts = app.create_contacts(2).await;
    let company = app.create_minimal("companies").await;
    let with = create_with(
        &app,
        json!([
            {"to": {"id": contacts[0]}, "types": spec(194)},
            {"to": {"id": contacts[1]}, "types": spec(194)},
            {"to": {"id": company}, "types": spec(182)}
        ]),
    )
    .await;
    let without = app.create_call(json!({"hs_call_title": "alone"})).await;

    let reply = app
        .get("/crm/v3/objects/calls?associations=contacts,companies")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    let results = reply.body["results"].as_array().unwrap();
    let find = |id: &str| results.iter().find(|c| c["id"] == id).cloned().unwrap();
    assert_eq!(
        find(&with)["associations"],
        json!({
            "companies": {"results": [{"id": company, "type": "call_to_company"}]},
            "contacts": {"results": [
                {"id": contacts[0], "type": "call_to_contact"},
                {"id": contacts[1], "type": "call_to_contact"}
            ]}
        })
    );
    assert!(find(&without).get("associations").is_none());
}

#[tokio::test]
async fn invalid_association_type_is_refused_and_nothing_stored() {
    let app = spawn_app().await;
    let contacts = app.create_contacts(2).await;
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({
                "properties": {"hs_timestamp": "1745524893000"},
                "associations": [
                    {"to": {"id": contacts[0]}, "types": spec(194)},
                    {"to": {"id": contacts[1]}, "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": 3}]}
                ]
            }),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(body["message"], "One or more associations are invalid");
    assert_eq!(
        body["context"]["INVALID_ASSOCIATION_TYPE_ID"],
        json!(["USER_DEFINED=3 is not a valid association definition id"])
    );
    assert_eq!(
        body["context"]["associationSpec"],
        json!(["USER_DEFINED=3"])
    );
    assert_eq!(live_count(&app).await, 0);

    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({
                "properties": {"hs_timestamp": "1745524893000"},
                "associations": [{"to": {"id": contacts[0]}, "types": spec(999_999)}]
            }),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        body["context"]["INVALID_ASSOCIATION_TYPE_ID"],
        json!(["HUBSPOT_DEFINED=999999 is not a valid association definition id"])
    );
    assert_eq!(live_count(&app).await, 0);
}

#[tokio::test]
async fn non_numeric_target_id_is_refused() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({
                "properties": {"hs_timestamp": "1745524893000"},
                "associations": [{"to": {"id": "abc"}, "types": spec(206)}]
            }),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(body["message"], "One or more associations are invalid");
    assert_eq!(
        body["context"]["INVALID_OBJECT_IDS"],
        json!(["DEAL=abc is not valid"])
    );
    assert_eq!(live_count(&app).await, 0);
}

/// HubSpot refuses an association to a record that does not exist (here: an id of another
/// type) or is archived, naming it, and creates nothing.
#[tokio::test]
async fn associations_to_missing_or_archived_records_are_refused() {
    let app = spawn_app().await;
    for (type_path, type_id, internal_name) in [
        ("contacts", 194, "CONTACT"),
        ("companies", 182, "COMPANY"),
        ("deals", 206, "DEAL"),
        ("tickets", 220, "TICKET"),
    ] {
        let live = app.create_minimal(type_path).await;
        let archived = app.create_minimal(type_path).await;
        let reply = app
            .delete(&format!("/crm/v3/objects/{type_path}/{archived}"))
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "body: {}", reply.text);
        let calls_before = live_count(&app).await;
        // Ids are unique across types: a call's id is no record of any other type.
        let call = app
            .create_call(json!({"hs_call_title": "not a target"}))
            .await;

        for missing in [&call, &archived] {
            let reply = app
                .post(
                    "/crm/v3/objects/calls",
                    json!({
                        "properties": {"hs_timestamp": "1745524893000"},
                        "associations": [
                            {"to": {"id": live}, "types": spec(type_id)},
                            {"to": {"id": missing}, "types": spec(type_id)}
                        ]
                    }),
                )
                .await;
            let body = reply.assert_error(400, "VALIDATION_ERROR");
            assert_eq!(body["message"], "One or more associations are invalid");
            assert_eq!(
                body["context"]["INVALID_OBJECT_IDS"],
                json!([format!("{internal_name}={missing} is not valid")]),
                "{type_path}"
            );

            let reply = app
                .post(
                    "/crm/v3/objects/calls/batch/create",
                    json!({"inputs": [
                        {"properties": {"hs_timestamp": "1745524893000"}, "associations": [{"to": {"id": live}, "types": spec(type_id)}]},
                        {"properties": {"hs_timestamp": "1745524893000"}, "associations": [{"to": {"id": missing}, "types": spec(type_id)}]}
                    ]}),
                )
                .await;
            let body = reply.assert_error(400, "VALIDATION_ERROR");
            assert_eq!(
                body["context"]["INVALID_OBJECT_IDS"],
                json!([format!("{internal_name}={missing} is not valid")]),
                "{type_path}"
            );
        }
        // Nothing was created, and the live target gained no association.
        assert_eq!(live_count(&app).await, calls_before + 1, "{type_path}");
        let reply = app
            .get(&format!(
                "/crm/v4/objects/{type_path}/{live}/associations/calls"
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
        assert_eq!(reply.body["results"], json!([]), "{type_path}");

        // The live one alone is accepted, and read back from its side.
        let linked = create_with(&app, json!([{"to": {"id": live}, "types": spec(type_id)}])).await;
        let reply = app
            .get(&format!(
                "/crm/v4/objects/{type_path}/{live}/associations/calls"
            ))
            .await;
        let targets: Vec<&Value> = reply.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["toObjectId"])
            .collect();
        assert_eq!(
            targets,
            [&json!(linked.parse::<u64>().unwrap())],
            "{type_path}"
        );
    }
}

#[tokio::test]
async fn batch_create_with_invalid_association_stores_nothing() {
    let app = spawn_app().await;
    let contact = app.create_contact().await;
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/create",
            json!({"inputs": [
                {"properties": {"hs_timestamp": "1745524893000"}, "associations": [{"to": {"id": contact}, "types": spec(194)}]},
                {"properties": {"hs_timestamp": "1745524893000"}, "associations": [{"to": {"id": "x"}, "types": spec(194)}]}
            ]}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        body["context"]["INVALID_OBJECT_IDS"],
        json!(["CONTACT=x is not valid"])
    );
    assert_eq!(live_count(&app).await, 0);
}

#[tokio::test]
async fn gdpr_delete_removes_call_and_history() {
    let app = spawn_app().await;
    let contact = app.create_contact().await;
    let id = create_with(&app, json!([{"to": {"id": contact}, "types": spec(194)}])).await;
    let keep = create_with(&app, json!([{"to": {"id": contact}, "types": spec(194)}])).await;
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{id}"),
            json!({"properties": {"hs_call_title": "renamed"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);

    gdpr_delete(&app, json!({"objectId": id})).await;

    for query in [
        "",
        "?archived=true",
        "?archived=true&propertiesWithHistory=hs_call_title",
        "?propertiesWithHistory=hs_call_title",
    ] {
        app.get(&format!("/crm/v3/objects/calls/{id}{query}"))
            .await
            .assert_error(404, "OBJECT_NOT_FOUND");
    }
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/read?archived=true",
            json!({"inputs": [{"id": id}], "propertiesWithHistory": ["hs_call_title"]}),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::MULTI_STATUS,
        "body: {}",
        reply.text
    );
    assert_eq!(reply.body["results"], json!([]));
    let archived = app.get("/crm/v3/objects/calls?archived=true").await;
    assert_eq!(archived.body["results"], json!([]));

    // The other call and its associations are untouched.
    let other = app
        .get(&format!(
            "/crm/v3/objects/calls/{keep}?associations=contacts&propertiesWithHistory=hs_call_title"
        ))
        .await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(
        other.body["associations"]["contacts"]["results"],
        json!([{"id": contact, "type": "call_to_contact"}])
    );
    assert_eq!(
        other.body["propertiesWithHistory"]["hs_call_title"][0]["value"],
        "Support call"
    );
}

#[tokio::test]
async fn gdpr_delete_of_archived_call_works() {
    let app = spawn_app().await;
    let id = app
        .create_call(json!({"hs_call_title": "archived first"}))
        .await;
    let reply = app.delete(&format!("/crm/v3/objects/calls/{id}")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let archived = app
        .get(&format!("/crm/v3/objects/calls/{id}?archived=true"))
        .await;
    assert_eq!(archived.status, StatusCode::OK);

    // objectId as a JSON number, with idProperty hs_object_id.
    let number: u64 = id.parse().unwrap();
    gdpr_delete(
        &app,
        json!({"objectId": number, "idProperty": "hs_object_id"}),
    )
    .await;
    app.get(&format!("/crm/v3/objects/calls/{id}?archived=true"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn gdpr_delete_of_unknown_id_is_204() {
    let app = spawn_app().await;
    let id = app.create_call(json!({})).await;
    gdpr_delete(&app, json!({"objectId": "99999999999"})).await;
    gdpr_delete(&app, json!({"objectId": "not-a-number"})).await;
    assert_eq!(live_count(&app).await, 1);
    let reply = app.get(&format!("/crm/v3/objects/calls/{id}")).await;
    assert_eq!(reply.status, StatusCode::OK);

    // A body without objectId is a 400, not a silent success.
    let reply = app
        .post("/crm/v3/objects/calls/gdpr-delete", json!({}))
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("Some required fields were not set: [objectId]"));
}
