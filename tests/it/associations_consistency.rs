//! Associations seen from both sides over HTTP: what one side writes the other lists, archived
//! calls drop out, and labelled puts store what they claim.

use crate::associations_support::{
    hs, new_call, num, put, record, targets, v3_contacts, v4_list, CALLS,
};
use crate::common::spawn_app;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn associations_from_the_contact_side_show_on_the_call() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let other = new_call(&app).await;
    let c880 = record(&app, "contacts").await;
    let d55 = record(&app, "deals").await;
    let reply = put(
        &app,
        &format!("/crm/v4/objects/contacts/{c880}/associations/default/calls/{call}"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = app
        .post(
            "/crm/v4/associations/deals/calls/batch/associate/default",
            json!({"inputs": [{"from": {"id": d55}, "to": {"id": call}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    let reply = app
        .get(&format!("{CALLS}/{call}?associations=contacts,deals"))
        .await;
    assert_eq!(
        reply.body["associations"],
        json!({
            "contacts": {"results": [{"id": c880, "type": "call_to_contact"}]},
            "deals": {"results": [{"id": d55, "type": "call_to_deal"}]}
        })
    );
    assert_eq!(
        v3_contacts(&app, &call).await,
        json!({"results": [{"id": c880, "type": "call_to_contact"}]})
    );

    let reply = app
        .post(
            "/crm/v3/objects/calls/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "associations.contact", "operator": "EQ", "value": c880}]}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["total"], 1);
    assert_eq!(reply.body["results"][0]["id"], call.as_str());
    let reply = app
        .post(
            "/crm/v3/objects/calls/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "associations.deal", "operator": "EQ", "value": d55}]}]}),
        )
        .await;
    assert_eq!(reply.body["total"], 1, "{}", reply.text);

    // Removing from the call side shows from the contact side.
    let reply = app
        .delete(&format!("{CALLS}/{call}/associations/contacts/{c880}/194"))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let body = v4_list(
        &app,
        &format!("/crm/v4/objects/contacts/{c880}/associations/calls"),
    )
    .await;
    assert_eq!(body["results"], json!([]));
    let reply = app
        .post(
            "/crm/v3/objects/calls/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "associations.contact", "operator": "EQ", "value": c880}]}]}),
        )
        .await;
    assert_eq!(reply.body["total"], 0, "{}", reply.text);
    let _ = other;
}

#[tokio::test]
async fn archived_calls_are_not_listed_from_the_other_side() {
    let app = spawn_app().await;
    let kept = new_call(&app).await;
    let archived = new_call(&app).await;
    let c990 = record(&app, "contacts").await;
    for call in [&kept, &archived] {
        let reply = put(
            &app,
            &format!("/crm/v4/objects/contacts/{c990}/associations/default/calls/{call}"),
            None,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let reply = app.delete(&format!("{CALLS}/{archived}")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    let body = v4_list(
        &app,
        &format!("/crm/v4/objects/contacts/{c990}/associations/calls"),
    )
    .await;
    let kept_id: u64 = kept.parse().unwrap();
    assert_eq!(targets(&body["results"]), vec![(kept_id, vec![hs(193)])]);
    let reply = app
        .post(
            "/crm/v4/associations/contacts/calls/batch/read",
            json!({"inputs": [{"id": c990}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        targets(&reply.body["results"][0]["to"]),
        vec![(kept_id, vec![hs(193)])]
    );
    let reply = app
        .post(
            "/crm/v3/objects/calls/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "associations.contact", "operator": "EQ", "value": c990}]}]}),
        )
        .await;
    assert_eq!(reply.body["total"], 1, "{}", reply.text);
}

// ----- known server bugs and mismatches ---------------------------------------------------

#[tokio::test]

async fn labelled_put_without_types_does_not_claim_success() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let contact = record(&app, "contacts").await;
    let reply = put(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/contacts/{contact}"),
        Some(json!([])),
    )
    .await;
    if reply.status == StatusCode::CREATED {
        let body = v4_list(
            &app,
            &format!("/crm/v4/objects/calls/{call}/associations/contacts"),
        )
        .await;
        assert_eq!(
            targets(&body["results"]).len(),
            1,
            "201 but nothing stored: {}",
            body
        );
    } else {
        reply.assert_error(400, "VALIDATION_ERROR");
    }
}

#[tokio::test]

async fn labelled_put_replaces_the_labels_of_a_pair() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let contact = record(&app, "contacts").await;
    for type_id in [42, 43] {
        let reply = put(
            &app,
            &format!("/crm/v4/objects/calls/{call}/associations/contacts/{contact}"),
            Some(json!([{"associationCategory": "USER_DEFINED", "associationTypeId": type_id}])),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
    let body = v4_list(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/contacts"),
    )
    .await;
    assert_eq!(
        targets(&body["results"]),
        vec![(num(&contact), vec![("USER_DEFINED".to_owned(), 43)])]
    );
}

#[tokio::test]

async fn archived_call_lists_no_associations_from_its_own_side() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let contact = record(&app, "contacts").await;
    let reply = put(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/default/contacts/{contact}"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    app.delete(&format!("{CALLS}/{call}")).await;
    let body = v4_list(
        &app,
        &format!("/crm/v4/objects/contacts/{contact}/associations/calls"),
    )
    .await;
    assert_eq!(body["results"], json!([]));
    // From its own side an archived call is no longer a valid record, as in v3.
    let body = app
        .get(&format!(
            "/crm/v4/objects/calls/{call}/associations/contacts"
        ))
        .await
        .assert_error(400, "VALIDATION_ERROR")
        .clone();
    assert_eq!(
        body["context"]["INVALID_OBJECT_IDS"][0],
        format!("CALL={call} is not valid")
    );
    let reply = app
        .post(
            "/crm/v4/associations/calls/contacts/batch/read",
            json!({"inputs": [{"id": call}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS, "{}", reply.text);
}
