//! v4 association endpoints per record over HTTP, from either side of a pair: default and
//! labelled puts, listing, deleting, object type spellings and existence checks.

use crate::associations_support::{
    hs, new_call, num, put, record, records, targets, v4_list, CALLS,
};
use crate::common::{spawn_app, OTHER_PORTAL_TOKEN, READ_ONLY_TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn v4_default_put_from_either_side_for_every_kind() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let kinds = [
        ("contacts", 194u64, 193u64),
        ("companies", 182, 181),
        ("deals", 206, 205),
        ("tickets", 220, 219),
    ];
    for (kind, from_call, to_call) in kinds.iter() {
        let [first, second] = <[String; 2]>::try_from(records(&app, kind, 2).await).unwrap();
        let record = first.clone();
        let reply = put(
            &app,
            &format!("/crm/v4/objects/calls/{call}/associations/default/{kind}/{record}"),
            None,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{kind}: {}", reply.text);
        assert_eq!(reply.body["status"], "COMPLETE");
        assert!(reply.body["startedAt"].is_string());
        assert_eq!(
            reply.body["results"],
            json!([
                {"from": {"id": call}, "to": {"id": record},
                 "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": from_call}},
                {"from": {"id": record}, "to": {"id": call},
                 "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": to_call}}
            ]),
            "{kind}"
        );

        // From the other side: same pair, directions swapped.
        let record = second.clone();
        let reply = put(
            &app,
            &format!("/crm/v4/objects/{kind}/{record}/associations/default/calls/{call}"),
            None,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{kind}: {}", reply.text);
        assert_eq!(
            reply.body["results"],
            json!([
                {"from": {"id": record}, "to": {"id": call},
                 "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": to_call}},
                {"from": {"id": call}, "to": {"id": record},
                 "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": from_call}}
            ]),
            "{kind}"
        );

        let body = v4_list(
            &app,
            &format!("/crm/v4/objects/calls/{call}/associations/{kind}"),
        )
        .await;
        assert_eq!(
            targets(&body["results"]),
            vec![
                (num(&first), vec![hs(*from_call)]),
                (num(&second), vec![hs(*from_call)])
            ],
            "{kind}"
        );
        let body = v4_list(
            &app,
            &format!("/crm/v4/objects/{kind}/{first}/associations/calls"),
        )
        .await;
        let call_id: u64 = call.parse().unwrap();
        assert_eq!(
            targets(&body["results"]),
            vec![(call_id, vec![hs(*to_call)])],
            "{kind}"
        );
    }
}

#[tokio::test]
async fn v4_labelled_put_and_wrong_direction() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let call_id: u64 = call.parse().unwrap();
    let [c700, c701, c702] = <[String; 3]>::try_from(records(&app, "contacts", 3).await).unwrap();

    let reply = put(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/contacts/{c700}"),
        Some(json!([
            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194},
            {"associationCategory": "USER_DEFINED", "associationTypeId": 42}
        ])),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["fromObjectTypeId"], "0-48");
    assert_eq!(reply.body["fromObjectId"], json!(call_id));
    assert_eq!(reply.body["toObjectTypeId"], "0-1");
    assert_eq!(reply.body["toObjectId"], json!(num(&c700)));
    assert!(reply.body["labels"].is_array());

    let body = v4_list(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/contacts"),
    )
    .await;
    assert_eq!(
        targets(&body["results"]),
        vec![(num(&c700), vec![hs(194), ("USER_DEFINED".to_owned(), 42)])]
    );

    // From the contact side, with the contact → call id.
    let reply = put(
        &app,
        &format!("/crm/v4/objects/contacts/{c701}/associations/calls/{call}"),
        Some(json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 193}])),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["fromObjectTypeId"], "0-1");
    assert_eq!(reply.body["fromObjectId"], json!(num(&c701)));
    assert_eq!(reply.body["toObjectTypeId"], "0-48");
    assert_eq!(reply.body["toObjectId"], json!(call_id));

    // HubSpot-defined ids of the wrong direction are checked as HubSpot does: the `from`
    // record as one of the type the id starts from, which it is not (§4.2); an id of
    // another pair that starts from the right type is not a valid type for this pair.
    for (path, type_id, invalid_object) in [
        (
            format!("/crm/v4/objects/calls/{call}/associations/contacts/{c702}"),
            193,
            Some(format!("CONTACT={call} is not valid")),
        ),
        (
            format!("/crm/v4/objects/contacts/{c702}/associations/calls/{call}"),
            194,
            Some(format!("CALL={c702} is not valid")),
        ),
        (
            format!("/crm/v4/objects/calls/{call}/associations/contacts/{c702}"),
            182,
            None,
        ),
    ] {
        let reply = put(
            &app,
            &path,
            Some(json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}])),
        )
        .await;
        let body = reply.assert_error(400, "VALIDATION_ERROR");
        match invalid_object {
            Some(expected) => {
                assert_eq!(
                    body["context"]["INVALID_OBJECT_IDS"],
                    json!([expected]),
                    "{body}"
                )
            }
            None => assert!(
                body["message"]
                    .as_str()
                    .unwrap()
                    .contains("is not a valid association type"),
                "{body}"
            ),
        }
    }
    // Unknown category, non-array body.
    let reply = put(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/contacts/{c702}"),
        Some(json!([{"associationCategory": "MADE_UP", "associationTypeId": 1}])),
    )
    .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let reply = put(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/contacts/{c702}"),
        Some(json!("194")),
    )
    .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    // Nothing was stored for 702.
    let body = v4_list(
        &app,
        &format!("/crm/v4/objects/contacts/{c702}/associations/calls"),
    )
    .await;
    assert_eq!(body["results"], json!([]));
}

#[tokio::test]
async fn v4_list_pages_and_delete() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let [c10, c20, c30] = <[String; 3]>::try_from(records(&app, "contacts", 3).await).unwrap();
    for contact in [&c30, &c10, &c20] {
        let reply = put(
            &app,
            &format!("/crm/v4/objects/calls/{call}/associations/default/contacts/{contact}"),
            None,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let body = v4_list(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/contacts"),
    )
    .await;
    assert!(body.get("paging").is_none(), "{body}");
    let all: Vec<u64> = targets(&body["results"]).into_iter().map(|t| t.0).collect();
    assert_eq!(all, vec![num(&c10), num(&c20), num(&c30)]);

    let mut seen = Vec::new();
    let mut path = format!("/crm/v4/objects/calls/{call}/associations/contacts?limit=1");
    loop {
        let body = v4_list(&app, &path).await;
        let page = targets(&body["results"]);
        assert_eq!(page.len(), 1, "{body}");
        seen.push(page[0].0);
        match body["paging"]["next"]["after"].as_str() {
            Some(after) => {
                path = format!(
                    "/crm/v4/objects/calls/{call}/associations/contacts?limit=1&after={after}"
                )
            }
            None => break,
        }
        assert!(seen.len() < 5, "paging does not end");
    }
    assert_eq!(seen, all);

    let reply = app
        .delete(&format!(
            "/crm/v4/objects/calls/{call}/associations/contacts/{c20}"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    // From the contact side too.
    let reply = app
        .delete(&format!(
            "/crm/v4/objects/contacts/{c30}/associations/calls/{call}"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    let body = v4_list(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/contacts"),
    )
    .await;
    assert_eq!(targets(&body["results"]), vec![(num(&c10), vec![hs(194)])]);
    let body = v4_list(
        &app,
        &format!("/crm/v4/objects/contacts/{c20}/associations/calls"),
    )
    .await;
    assert_eq!(body["results"], json!([]));
}

#[tokio::test]
async fn v4_object_type_spellings() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let call_id: u64 = call.parse().unwrap();
    for call_type in ["calls", "call", "0-48", "CALLS"] {
        for other in ["contacts", "contact", "0-1"] {
            let record = record(&app, "contacts").await;
            let reply = put(
                &app,
                &format!(
                    "/crm/v4/objects/{call_type}/{call}/associations/default/{other}/{record}"
                ),
                None,
            )
            .await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{call_type}->{other}: {}",
                reply.text
            );
            let body = v4_list(
                &app,
                &format!("/crm/v4/objects/{other}/{record}/associations/{call_type}"),
            )
            .await;
            assert_eq!(
                targets(&body["results"]),
                vec![(call_id, vec![hs(193)])],
                "{other}->{call_type}"
            );
        }
    }
    for (kind, path_kind, type_id) in [
        ("companies", "companies", 182),
        ("companies", "0-2", 182),
        ("deals", "deals", 206),
        ("deals", "0-3", 206),
        ("tickets", "tickets", 220),
        ("tickets", "0-5", 220),
    ] {
        let target = record(&app, kind).await;
        let reply = put(
            &app,
            &format!("/crm/v4/objects/0-48/{call}/associations/default/{path_kind}/{target}"),
            None,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{kind}: {}", reply.text);
        assert_eq!(
            reply.body["results"][0]["associationSpec"]["associationTypeId"],
            type_id
        );
    }

    // Pairs HubSpot does not define (calls with calls or notes) and unknown types.
    for path in [
        format!("/crm/v4/objects/calls/{call}/associations/default/calls/{call}"),
        format!("/crm/v4/objects/calls/{call}/associations/default/notes/1"),
    ] {
        let body = put(&app, &path, None)
            .await
            .assert_error(400, "VALIDATION_ERROR")
            .clone();
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("There is no default association type between"),
            "{body}"
        );
    }
    put(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/default/widgets/1"),
        None,
    )
    .await
    .assert_error(400, "VALIDATION_ERROR");
    // A non-numeric record id.
    let reply = put(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/default/contacts/x1"),
        None,
    )
    .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        body["context"]["INVALID_OBJECT_IDS"],
        json!(["CONTACT=x1 is not valid"])
    );
}

#[tokio::test]
async fn v4_unknown_or_foreign_call_is_refused() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let [c5, c6, c7] = <[String; 3]>::try_from(records(&app, "contacts", 3).await).unwrap();
    let reply = put(
        &app,
        &format!("/crm/v4/objects/contacts/{c5}/associations/default/calls/424242"),
        None,
    )
    .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        body["context"]["INVALID_OBJECT_IDS"],
        json!(["CALL=424242 is not valid"])
    );

    // Portal 2 cannot reach portal 1's records, from either side, nor see their
    // associations: to it they do not exist.
    put(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/default/contacts/{c5}"),
        None,
    )
    .await;
    for (path, invalid) in [
        (
            format!("/crm/v4/objects/calls/{call}/associations/default/contacts/{c6}"),
            format!("CALL={call} is not valid"),
        ),
        (
            format!("/crm/v4/objects/contacts/{c6}/associations/default/calls/{call}"),
            format!("CONTACT={c6} is not valid"),
        ),
        (
            format!("{CALLS}/{call}/associations/contacts/{c6}/194"),
            format!("CALL={call} is not valid"),
        ),
    ] {
        let reply = app
            .send_raw(Method::PUT, &path, Some(OTHER_PORTAL_TOKEN), None)
            .await;
        let body = reply.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(
            body["context"]["INVALID_OBJECT_IDS"],
            json!([invalid]),
            "{path}"
        );
    }
    let reply = app
        .send_raw(
            Method::GET,
            &format!("/crm/v4/objects/contacts/{c5}/associations/calls"),
            Some(OTHER_PORTAL_TOKEN),
            None,
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    // Portal 2 deleting the pair changes nothing in portal 1.
    let reply = app
        .send_raw(
            Method::DELETE,
            &format!("/crm/v4/objects/contacts/{c5}/associations/calls/{call}"),
            Some(OTHER_PORTAL_TOKEN),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    let body = v4_list(
        &app,
        &format!("/crm/v4/objects/contacts/{c5}/associations/calls"),
    )
    .await;
    assert_eq!(targets(&body["results"]).len(), 1);

    // A read-only token may read but not write.
    let reply = app
        .send_raw(
            Method::PUT,
            &format!("/crm/v4/objects/calls/{call}/associations/default/contacts/{c7}"),
            Some(READ_ONLY_TOKEN),
            None,
        )
        .await;
    reply.assert_error(403, "MISSING_SCOPES");
    let reply = app
        .send_raw(
            Method::POST,
            "/crm/v4/associations/calls/contacts/batch/archive",
            Some(READ_ONLY_TOKEN),
            Some(json!({"inputs": [{"from": {"id": call}, "to": [{"id": c5}]}]}).to_string()),
        )
        .await;
    reply.assert_error(403, "MISSING_SCOPES");
    let reply = app
        .send_raw(
            Method::GET,
            &format!("/crm/v4/objects/contacts/{c5}/associations/calls"),
            Some(READ_ONLY_TOKEN),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}
