//! Associations between the standard objects (not only calls): HubSpot's type ids in both
//! directions, association on create from either side, search by association from either
//! side, and what archiving and GDPR deletion do to them.

use crate::common;

use common::{spawn_app, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// `(toObjectId, sorted type ids)` of a v4 list.
async fn v4(app: &TestApp, from: &str, id: &str, to: &str) -> Vec<(String, Vec<u64>)> {
    let reply = app
        .get(&format!("/crm/v4/objects/{from}/{id}/associations/{to}"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let mut types: Vec<u64> = r["associationTypes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["typeId"].as_u64().unwrap())
                .collect();
            types.sort_unstable();
            (r["toObjectId"].to_string(), types)
        })
        .collect()
}

#[tokio::test]
async fn contacts_companies_and_deals_associate_with_hubspots_type_ids() {
    let app = spawn_app().await;
    let contact = app
        .create_record("contacts", json!({"email": "ada@example.com"}))
        .await;
    let company = app
        .create_record("companies", json!({"name": "Engines"}))
        .await;
    let deal = app
        .create_record(
            "deals",
            json!({"dealname": "Licence", "dealstage": "appointmentscheduled"}),
        )
        .await;

    // Default from the company side; primary (1) from the contact side.
    let reply = app
        .put(&format!(
            "/crm/v4/objects/companies/{company}/associations/default/contacts/{contact}"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body["results"][0]["associationSpec"]["associationTypeId"],
        280
    );
    assert_eq!(
        reply.body["results"][1]["associationSpec"]["associationTypeId"],
        279
    );
    let reply = app
        .send(
            reqwest::Method::PUT,
            &format!("/crm/v4/objects/contacts/{contact}/associations/companies/{company}"),
            Some(json!([
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279},
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}
            ])),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(
        v4(&app, "contacts", &contact, "companies").await,
        vec![(company.clone(), vec![1, 279])]
    );
    // Read from the company, the same associations carry the company's ids.
    assert_eq!(
        v4(&app, "companies", &company, "contacts").await,
        vec![(contact.clone(), vec![2, 280])]
    );

    // A deal with its company, by the deal's default.
    let reply = app
        .put(&format!(
            "/crm/v4/objects/deals/{deal}/associations/default/companies/{company}"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        v4(&app, "companies", &company, "deals").await,
        vec![(deal.clone(), vec![342])]
    );
    let reply = app
        .get(&format!(
            "/crm/v3/objects/deals/{deal}?associations=companies,contacts"
        ))
        .await;
    assert_eq!(
        reply.body["associations"],
        json!({"companies": {"results": [{"id": company, "type": "deal_to_company"}]}})
    );
}

#[tokio::test]
async fn associations_on_create_work_from_either_side_of_a_pair() {
    let app = spawn_app().await;
    let contact = app
        .create_record("contacts", json!({"email": "grace@example.com"}))
        .await;
    // Companies do not own their contact associations: the row lands with the contact.
    let reply = app
        .post(
            "/crm/v3/objects/companies",
            json!({"properties": {"name": "Navy"}, "associations": [{
                "to": {"id": contact},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 280}]
            }]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let company = reply.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        v4(&app, "contacts", &contact, "companies").await,
        vec![(company.clone(), vec![279])]
    );

    // A target that does not exist refuses the create and stores nothing.
    let reply = app
        .post(
            "/crm/v3/objects/notes",
            json!({"properties": {"hs_timestamp": "2025-01-01T00:00:00Z"}, "associations": [{
                "to": {"id": "987654321"},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}]
            }]}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        body["context"]["INVALID_OBJECT_IDS"],
        json!(["CONTACT=987654321 is not valid"])
    );
    let notes = app.get("/crm/v3/objects/notes").await;
    assert_eq!(notes.body["results"], json!([]));

    // A note logged on the contact shows from the contact.
    let note = app
        .post(
            "/crm/v3/objects/notes",
            json!({"properties": {"hs_timestamp": "2025-01-01T00:00:00Z", "hs_note_body": "Hi"},
                   "associations": [{
                "to": {"id": contact},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}]
            }]}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{}", note.text);
    let note = note.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        v4(&app, "contacts", &contact, "notes").await,
        vec![(note, vec![201])]
    );
}

#[tokio::test]
async fn search_by_association_works_from_either_side() {
    let app = spawn_app().await;
    let contact = app
        .create_record("contacts", json!({"email": "s@example.com"}))
        .await;
    let other = app
        .create_record("contacts", json!({"email": "t@example.com"}))
        .await;
    let company = app
        .create_record("companies", json!({"name": "Kept"}))
        .await;
    let lonely = app
        .create_record("companies", json!({"name": "Lonely"}))
        .await;
    app.put(&format!(
        "/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}"
    ))
    .await;
    let search = |kind: &'static str, filter: Value| {
        let app = &app;
        async move {
            let reply = app
                .post(
                    &format!("/crm/v3/objects/{kind}/search"),
                    json!({"filterGroups": [{"filters": [filter]}]}),
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
            reply.body["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    // Contacts keep the pair: searched through their own index.
    assert_eq!(
        search(
            "contacts",
            json!({"propertyName": "associations.company", "operator": "EQ", "value": company})
        )
        .await,
        vec![contact.clone()]
    );
    // Companies are searched through the contacts' rows.
    assert_eq!(
        search(
            "companies",
            json!({"propertyName": "associations.contact", "operator": "IN", "values": [contact, other]})
        )
        .await,
        vec![company.clone()]
    );
    assert!(search(
        "companies",
        json!({"propertyName": "associations.contact", "operator": "EQ", "value": other})
    )
    .await
    .is_empty());
    let reply = app
        .post(
            "/crm/v3/objects/companies/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "associations.contact", "operator": "HAS_PROPERTY"}]}]}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let _ = lonely;
}

#[tokio::test]
async fn archived_and_deleted_records_leave_the_associations_of_others() {
    let app = spawn_app().await;
    let contact = app
        .create_record("contacts", json!({"email": "gone@example.com"}))
        .await;
    let company = app
        .create_record("companies", json!({"name": "Stays"}))
        .await;
    let call = app.create_call(json!({"hs_call_title": "c"})).await;
    app.put(&format!(
        "/crm/v4/objects/companies/{company}/associations/default/contacts/{contact}"
    ))
    .await;
    app.put(&format!(
        "/crm/v4/objects/calls/{call}/associations/default/contacts/{contact}"
    ))
    .await;
    assert_eq!(v4(&app, "calls", &call, "contacts").await.len(), 1);

    // Archived: no longer listed with the call or the company.
    let reply = app
        .delete(&format!("/crm/v3/objects/contacts/{contact}"))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(v4(&app, "calls", &call, "contacts").await.is_empty());
    assert!(v4(&app, "companies", &company, "contacts").await.is_empty());

    // GDPR-deleted: the rows that named it are gone too.
    let second = app
        .create_record("contacts", json!({"email": "forget@example.com"}))
        .await;
    app.put(&format!(
        "/crm/v4/objects/calls/{call}/associations/default/contacts/{second}"
    ))
    .await;
    let reply = app
        .post(
            "/crm/v3/objects/contacts/gdpr-delete",
            json!({"objectId": second}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert!(v4(&app, "calls", &call, "contacts").await.is_empty());
    let search = app
        .post(
            "/crm/v3/objects/calls/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "associations.contact", "operator": "EQ", "value": second}]}]}),
        )
        .await;
    assert_eq!(search.body["total"], 0, "{}", search.text);
}

#[tokio::test]
async fn the_legacy_v3_batch_api_creates_reads_and_archives() {
    let app = spawn_app().await;
    let contact = app
        .create_record("contacts", json!({"email": "v3@example.com"}))
        .await;
    let company = app.create_record("companies", json!({"name": "V3"})).await;
    let reply = app
        .post(
            "/crm/v3/associations/contacts/companies/batch/create",
            json!({"inputs": [{"from": {"id": contact}, "to": {"id": company}, "type": "contact_to_company"}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["results"][0]["type"], "contact_to_company");
    assert_eq!(
        v4(&app, "companies", &company, "contacts").await,
        vec![(contact.clone(), vec![280])]
    );
    let reply = app
        .post(
            "/crm/v3/associations/companies/contacts/batch/read",
            json!({"inputs": [{"id": company}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body["results"][0]["to"],
        json!([{"id": contact, "type": "company_to_contact"}])
    );
    // A record that does not exist: HubSpot's 400, nothing stored.
    let reply = app
        .post(
            "/crm/v3/associations/contacts/companies/batch/create",
            json!({"inputs": [{"from": {"id": contact}, "to": {"id": "987654321"}, "type": "contact_to_company"}]}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let reply = app
        .post(
            "/crm/v3/associations/contacts/companies/batch/archive",
            json!({"inputs": [{"from": {"id": contact}, "to": {"id": company}, "type": "contact_to_company"}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert!(v4(&app, "contacts", &contact, "companies").await.is_empty());
}
