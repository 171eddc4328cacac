//! `POST /crm/v3/objects/{type}/merge`, as HubSpot documents it: a new record with a new id,
//! the primary's values first, both old ids reading as the result, associations carried over.

use crate::common;

use common::spawn_app;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn merged_contacts_become_a_new_record_both_old_ids_lead_to() {
    let app = spawn_app().await;
    let primary = app
        .create_record(
            "contacts",
            json!({"email": "ada@example.com", "firstname": "Ada"}),
        )
        .await;
    let secondary = app
        .create_record(
            "contacts",
            json!({"email": "lovelace@example.com", "firstname": "Augusta", "jobtitle": "Analyst"}),
        )
        .await;
    let company = app
        .create_record("companies", json!({"name": "Engines"}))
        .await;
    let call = app.create_call(json!({"hs_call_title": "intro"})).await;
    app.put(&format!(
        "/crm/v4/objects/contacts/{secondary}/associations/default/companies/{company}"
    ))
    .await;
    app.put(&format!(
        "/crm/v4/objects/calls/{call}/associations/default/contacts/{primary}"
    ))
    .await;

    let reply = app
        .post(
            "/crm/v3/objects/contacts/merge",
            json!({"primaryObjectId": primary, "objectIdToMerge": secondary}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let merged = reply.body["id"].as_str().unwrap().to_owned();
    assert_ne!(merged, primary);
    assert_ne!(merged, secondary);
    let props = &reply.body["properties"];
    assert_eq!(
        props["email"], "ada@example.com",
        "the primary's values win"
    );
    assert_eq!(props["firstname"], "Ada");
    assert_eq!(
        props["jobtitle"], "Analyst",
        "the other fills what the primary lacks"
    );
    assert_eq!(props["hs_additional_emails"], "lovelace@example.com");
    assert_eq!(
        props["hs_merged_object_ids"],
        format!("{primary};{secondary}")
    );

    // Both old ids read as the merged record; a single update by an old id updates it.
    for old in [&primary, &secondary] {
        let reply = app.get(&format!("/crm/v3/objects/contacts/{old}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(reply.body["id"], merged.as_str());
    }
    let reply = app
        .patch(
            &format!("/crm/v3/objects/contacts/{secondary}"),
            json!({"properties": {"lastname": "Lovelace"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["id"], merged.as_str());
    // The email is free of the archived records and belongs to the result.
    let reply = app
        .get("/crm/v3/objects/contacts/ada@example.com?idProperty=email")
        .await;
    assert_eq!(reply.body["id"], merged.as_str(), "{}", reply.text);
    let list = app.get("/crm/v3/objects/contacts").await;
    assert_eq!(list.body["results"].as_array().unwrap().len(), 1);

    // Associations of both came along.
    let reply = app
        .get(&format!(
            "/crm/v4/objects/contacts/{merged}/associations/companies"
        ))
        .await;
    assert_eq!(reply.body["results"][0]["toObjectId"].to_string(), company);
    let reply = app
        .get(&format!(
            "/crm/v4/objects/calls/{call}/associations/contacts"
        ))
        .await;
    let targets: Vec<String> = reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["toObjectId"].to_string())
        .collect();
    assert_eq!(targets, vec![merged]);
}

#[tokio::test]
async fn merge_refuses_what_hubspot_refuses() {
    let app = spawn_app().await;
    let deal = app
        .create_record(
            "deals",
            json!({"dealname": "D", "dealstage": "appointmentscheduled"}),
        )
        .await;
    // The same record twice, an unknown one.
    let reply = app
        .post(
            "/crm/v3/objects/deals/merge",
            json!({"primaryObjectId": deal, "objectIdToMerge": deal}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let reply = app
        .post(
            "/crm/v3/objects/deals/merge",
            json!({"primaryObjectId": deal, "objectIdToMerge": "987654321"}),
        )
        .await;
    reply.assert_error(404, "OBJECT_NOT_FOUND");
    // A missing field.
    let reply = app
        .post(
            "/crm/v3/objects/deals/merge",
            json!({"primaryObjectId": deal}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    // Calls have no merge on v3.
    let call = app.create_call(json!({})).await;
    let reply = app
        .post(
            "/crm/v3/objects/calls/merge",
            json!({"primaryObjectId": call, "objectIdToMerge": call}),
        )
        .await;
    reply.assert_error(404, "OBJECT_NOT_FOUND");
    // Nothing changed.
    let reply = app.get(&format!("/crm/v3/objects/deals/{deal}")).await;
    assert_eq!(reply.body["id"], deal.as_str());
}
