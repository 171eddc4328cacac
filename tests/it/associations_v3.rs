//! v3 association endpoints per record over HTTP (`/crm/v3/objects/calls/{id}/associations`),
//! with HubSpot's existence checks.

use crate::associations_support::{
    new_call, num, put, record, records, targets, v3_contacts, v4_list, CALLS,
};
use crate::common::spawn_app;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn v3_put_list_delete() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let [c500, c501] = <[String; 2]>::try_from(records(&app, "contacts", 2).await).unwrap();
    let c77 = record(&app, "companies").await;

    let reply = put(
        &app,
        &format!("{CALLS}/{call}/associations/contact/{c500}/194"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["id"], call.as_str());
    assert_eq!(reply.body["archived"], false);
    assert_eq!(reply.body["properties"]["hs_object_id"], call.as_str());
    assert_eq!(
        reply.body["associations"],
        json!({"contacts": {"results": [{"id": c500, "type": "call_to_contact"}]}})
    );

    // By name, plural path type, twice (idempotent).
    for _ in 0..2 {
        let reply = put(
            &app,
            &format!("{CALLS}/{call}/associations/contacts/{c501}/call_to_contact"),
            None,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let reply = put(
        &app,
        &format!("{CALLS}/{call}/associations/companies/{c77}/182"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body["associations"]["companies"],
        json!({"results": [{"id": c77, "type": "call_to_company"}]})
    );
    assert_eq!(
        reply.body["associations"]["contacts"]["results"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    assert_eq!(
        v3_contacts(&app, &call).await,
        json!({"results": [
            {"id": c500, "type": "call_to_contact"},
            {"id": c501, "type": "call_to_contact"}
        ]})
    );

    let reply = app
        .delete(&format!("{CALLS}/{call}/associations/contacts/{c500}/194"))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert!(reply.text.is_empty());
    assert_eq!(
        v3_contacts(&app, &call).await,
        json!({"results": [{"id": c501, "type": "call_to_contact"}]})
    );
    let reply = app
        .get(&format!("{CALLS}/{call}?associations=contacts,companies"))
        .await;
    assert_eq!(
        reply.body["associations"],
        json!({
            "companies": {"results": [{"id": c77, "type": "call_to_company"}]},
            "contacts": {"results": [{"id": c501, "type": "call_to_contact"}]}
        })
    );
    // Deleting what is not there is fine.
    let reply = app
        .delete(&format!("{CALLS}/{call}/associations/contacts/999/194"))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
}

#[tokio::test]
async fn v3_invalid_requests() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let c500 = record(&app, "contacts").await;

    // A type name of another pair, a nonsense name, zero.
    for bad in ["call_to_company", "bogus", "0"] {
        let reply = put(
            &app,
            &format!("{CALLS}/{call}/associations/contacts/{c500}/{bad}"),
            None,
        )
        .await;
        let body = reply.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(
            body["message"],
            format!("{bad} is not a valid association type between calls and contacts")
        );
    }
    // A non-numeric target id.
    let reply = put(
        &app,
        &format!("{CALLS}/{call}/associations/contacts/abc/194"),
        None,
    )
    .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        body["context"]["INVALID_OBJECT_IDS"],
        json!(["CONTACT=abc is not valid"])
    );
    // An unknown call.
    let reply = put(
        &app,
        &format!("{CALLS}/123456789/associations/contacts/{c500}/194"),
        None,
    )
    .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(body["message"], "One or more associations are invalid");
    assert_eq!(
        body["context"]["INVALID_OBJECT_IDS"],
        json!(["CALL=123456789 is not valid"])
    );
    // An archived call.
    app.delete(&format!("{CALLS}/{call}")).await;
    let reply = put(
        &app,
        &format!("{CALLS}/{call}/associations/contacts/{c500}/194"),
        None,
    )
    .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        body["context"]["INVALID_OBJECT_IDS"],
        json!([format!("CALL={call} is not valid")])
    );
    let reply = app
        .get(&format!("{CALLS}/{call}/associations/contacts"))
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    // A contact that does not exist: nothing is stored.
    let other = new_call(&app).await;
    let reply = put(
        &app,
        &format!("{CALLS}/{other}/associations/contacts/987654321/194"),
        None,
    )
    .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        body["context"]["INVALID_OBJECT_IDS"],
        json!(["CONTACT=987654321 is not valid"])
    );
    assert_eq!(v3_contacts(&app, &other).await, json!({"results": []}));
    // Types HubSpot does not associate (a call and a note).
    let note = app
        .post(
            "/crm/v3/objects/notes",
            json!({"properties": {"hs_timestamp": "2025-01-01T00:00:00Z"}}),
        )
        .await;
    let note = note.body["id"].as_str().unwrap().to_owned();
    let reply = put(
        &app,
        &format!("{CALLS}/{other}/associations/notes/{note}/1"),
        None,
    )
    .await;
    reply.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn v3_numeric_label_ids_are_kept_as_labels() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let c600 = record(&app, "contacts").await;
    let reply = put(
        &app,
        &format!("{CALLS}/{call}/associations/contacts/{c600}/999"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        v3_contacts(&app, &call).await,
        json!({"results": [{"id": c600, "type": "999"}]})
    );
    let body = v4_list(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/contacts"),
    )
    .await;
    assert_eq!(
        targets(&body["results"]),
        vec![(num(&c600), vec![("USER_DEFINED".to_owned(), 999)])]
    );
    let reply = app
        .delete(&format!("{CALLS}/{call}/associations/contacts/{c600}/999"))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(v3_contacts(&app, &call).await, json!({"results": []}));
}
