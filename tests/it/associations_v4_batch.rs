//! v4 batch association endpoints over HTTP: associate by default, create, read and archive,
//! with and without labels.

use crate::associations_support::{hs, new_call, num, records, targets, v4_list};
use crate::common::spawn_app;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn v4_batch_associate_create_read_archive() {
    let app = spawn_app().await;
    let a = new_call(&app).await;
    let b = new_call(&app).await;
    let lonely = new_call(&app).await;
    let base = "/crm/v4/associations/calls/contacts/batch";
    let [c11, c12, c13, c14, c15, c4040] =
        <[String; 6]>::try_from(records(&app, "contacts", 6).await).unwrap();

    let reply = app
        .post(
            &format!("{base}/associate/default"),
            json!({"inputs": [{"from": {"id": a}, "to": {"id": c11}}, {"from": {"id": b}, "to": {"id": c12}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["status"], "COMPLETE");
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["from"]["id"], a.as_str());
    assert_eq!(results[0]["associationSpec"]["associationTypeId"], 194);
    assert_eq!(results[1]["from"]["id"], c11.as_str());
    assert_eq!(results[1]["associationSpec"]["associationTypeId"], 193);

    let reply = app
        .post(
            &format!("{base}/create"),
            json!({"inputs": [{"from": {"id": a}, "to": {"id": c13}, "types": [
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194},
                {"associationCategory": "USER_DEFINED", "associationTypeId": 77}
            ]}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["results"][0]["fromObjectTypeId"], "0-48");
    assert_eq!(reply.body["results"][0]["toObjectTypeId"], "0-1");
    assert_eq!(reply.body["results"][0]["toObjectId"], json!(num(&c13)));
    assert!(reply.body["results"][0]["fromObjectId"].is_u64());

    // An invalid type in one input stores none of the batch.
    let reply = app
        .post(
            &format!("{base}/create"),
            json!({"inputs": [
                {"from": {"id": b}, "to": {"id": c14}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194}]},
                {"from": {"id": b}, "to": {"id": c15}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 182}]}
            ]}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    // An unknown call in one input stores none either.
    let reply = app
        .post(
            &format!("{base}/associate/default"),
            json!({"inputs": [{"from": {"id": b}, "to": {"id": c14}}, {"from": {"id": "999999"}, "to": {"id": c14}}]}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        body["context"]["INVALID_OBJECT_IDS"],
        json!(["CALL=999999 is not valid"])
    );

    let reply = app
        .post(
            &format!("{base}/read"),
            json!({"inputs": [{"id": a}, {"id": b}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(reply.body.get("errors").is_none());
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(results[0]["from"]["id"], a.as_str());
    assert_eq!(
        targets(&results[0]["to"]),
        vec![
            (num(&c11), vec![hs(194)]),
            (num(&c13), vec![hs(194), ("USER_DEFINED".to_owned(), 77)])
        ]
    );
    assert_eq!(results[1]["from"]["id"], b.as_str());
    assert_eq!(targets(&results[1]["to"]), vec![(num(&c12), vec![hs(194)])]);

    // An id without associations: 207 with HubSpot's error.
    let reply = app
        .post(
            &format!("{base}/read"),
            json!({"inputs": [{"id": a}, {"id": lonely}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS, "{}", reply.text);
    assert_eq!(reply.body["numErrors"], 1);
    assert_eq!(reply.body["results"].as_array().unwrap().len(), 1);
    assert_eq!(
        reply.body["errors"][0],
        json!({
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
            "message": format!("No contact is associated with call {lonely}."),
            "context": {
                "fromObjectId": [lonely],
                "fromObjectType": ["call"],
                "toObjectType": ["contact"]
            }
        })
    );

    // Read from the contact side.
    let reply = app
        .post(
            "/crm/v4/associations/contacts/calls/batch/read",
            json!({"inputs": [{"id": c13}, {"id": c4040}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS, "{}", reply.text);
    let call_a: u64 = a.parse().unwrap();
    assert_eq!(
        targets(&reply.body["results"][0]["to"]),
        vec![(call_a, vec![hs(193), ("USER_DEFINED".to_owned(), 77)])]
    );
    assert_eq!(
        reply.body["errors"][0]["message"],
        format!("No call is associated with contact {c4040}.")
    );

    // Archive: every type between the pairs goes.
    let reply = app
        .post(
            &format!("{base}/archive"),
            json!({"inputs": [{"from": {"id": a}, "to": [{"id": c11}, {"id": c13}]}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert!(reply.text.is_empty());
    let reply = app
        .post(&format!("{base}/read"), json!({"inputs": [{"id": a}]}))
        .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS, "{}", reply.text);
    assert_eq!(reply.body["results"], json!([]));
}

#[tokio::test]
async fn v4_batch_labels_archive() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let base = "/crm/v4/associations/calls/contacts/batch";
    let types = json!([
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194},
        {"associationCategory": "USER_DEFINED", "associationTypeId": 8},
        {"associationCategory": "USER_DEFINED", "associationTypeId": 9}
    ]);
    let [c21, c22] = <[String; 2]>::try_from(records(&app, "contacts", 2).await).unwrap();
    for contact in [&c21, &c22] {
        let reply = app
            .post(
                &format!("{base}/create"),
                json!({"inputs": [{"from": {"id": call}, "to": {"id": contact}, "types": types}]}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }

    // Removing one label keeps the rest.
    let reply = app
        .post(
            &format!("{base}/labels/archive"),
            json!({"inputs": [{"from": {"id": call}, "to": {"id": c21}, "types": [
                {"associationCategory": "USER_DEFINED", "associationTypeId": 8}
            ]}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    // Removing the default type removes everything between the pair.
    let reply = app
        .post(
            "/crm/v4/associations/contacts/calls/batch/labels/archive",
            json!({"inputs": [{"from": {"id": c22}, "to": {"id": call}, "types": [
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 193}
            ]}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);

    let body = v4_list(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/contacts"),
    )
    .await;
    assert_eq!(
        targets(&body["results"]),
        vec![(num(&c21), vec![hs(194), ("USER_DEFINED".to_owned(), 9)])]
    );
}
