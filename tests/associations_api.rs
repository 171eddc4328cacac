//! Association endpoints over HTTP: v3 per call, v4 per record (from either side), v4 batch.

mod common;

use common::{spawn_app, TestApp, OTHER_PORTAL_TOKEN, READ_ONLY_TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const CALLS: &str = "/crm/v3/objects/calls";

async fn new_call(app: &TestApp) -> String {
    app.create_call(json!({"hs_call_title": "assoc"})).await
}

async fn put(app: &TestApp, path: &str, body: Option<Value>) -> common::Reply {
    app.send(Method::PUT, path, body).await
}

/// `(toObjectId, [(category, typeId)])` of a v4 list or batch-read `to` array. The types
/// of one target are sorted (HubSpot documents no order for them).
fn targets(list: &Value) -> Vec<(u64, Vec<(String, u64)>)> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|t| {
            (
                t["toObjectId"].as_u64().expect("numeric toObjectId"),
                t["associationTypes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| {
                        assert_eq!(a["label"], Value::Null, "{a}");
                        (
                            a["category"].as_str().unwrap().to_owned(),
                            a["typeId"].as_u64().unwrap(),
                        )
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .map(|(id, mut types)| {
            types.sort();
            (id, types)
        })
        .collect()
}

fn hs(type_id: u64) -> (String, u64) {
    ("HUBSPOT_DEFINED".to_owned(), type_id)
}

async fn v4_list(app: &TestApp, path: &str) -> Value {
    let reply = app.get(path).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    reply.body
}

async fn v3_contacts(app: &TestApp, call: &str) -> Value {
    let reply = app
        .get(&format!("{CALLS}/{call}/associations/contacts"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

// ----- v3 ---------------------------------------------------------------------------------

#[tokio::test]
async fn v3_put_list_delete() {
    let app = spawn_app().await;
    let call = new_call(&app).await;

    let reply = put(
        &app,
        &format!("{CALLS}/{call}/associations/contact/500/194"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["id"], call.as_str());
    assert_eq!(reply.body["archived"], false);
    assert_eq!(reply.body["properties"]["hs_object_id"], call.as_str());
    assert_eq!(
        reply.body["associations"],
        json!({"contacts": {"results": [{"id": "500", "type": "call_to_contact"}]}})
    );

    // By name, plural path type, twice (idempotent).
    for _ in 0..2 {
        let reply = put(
            &app,
            &format!("{CALLS}/{call}/associations/contacts/501/call_to_contact"),
            None,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let reply = put(
        &app,
        &format!("{CALLS}/{call}/associations/companies/77/182"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body["associations"]["companies"],
        json!({"results": [{"id": "77", "type": "call_to_company"}]})
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
            {"id": "500", "type": "call_to_contact"},
            {"id": "501", "type": "call_to_contact"}
        ]})
    );

    let reply = app
        .delete(&format!("{CALLS}/{call}/associations/contacts/500/194"))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert!(reply.text.is_empty());
    assert_eq!(
        v3_contacts(&app, &call).await,
        json!({"results": [{"id": "501", "type": "call_to_contact"}]})
    );
    let reply = app
        .get(&format!("{CALLS}/{call}?associations=contacts,companies"))
        .await;
    assert_eq!(
        reply.body["associations"],
        json!({
            "companies": {"results": [{"id": "77", "type": "call_to_company"}]},
            "contacts": {"results": [{"id": "501", "type": "call_to_contact"}]}
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

    // A type name of another pair, a nonsense name, zero.
    for bad in ["call_to_company", "bogus", "0"] {
        let reply = put(
            &app,
            &format!("{CALLS}/{call}/associations/contacts/500/{bad}"),
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
        &format!("{CALLS}/123456789/associations/contacts/500/194"),
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
        &format!("{CALLS}/{call}/associations/contacts/500/194"),
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
    // An unsupported target type.
    let other = new_call(&app).await;
    let reply = put(
        &app,
        &format!("{CALLS}/{other}/associations/notes/5/1"),
        None,
    )
    .await;
    reply.assert_error(501, "NOT_IMPLEMENTED");
}

#[tokio::test]
async fn v3_numeric_label_ids_are_kept_as_labels() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let reply = put(
        &app,
        &format!("{CALLS}/{call}/associations/contacts/600/999"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        v3_contacts(&app, &call).await,
        json!({"results": [{"id": "600", "type": "999"}]})
    );
    let body = v4_list(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/contacts"),
    )
    .await;
    assert_eq!(
        targets(&body["results"]),
        vec![(600, vec![("USER_DEFINED".to_owned(), 999)])]
    );
    let reply = app
        .delete(&format!("{CALLS}/{call}/associations/contacts/600/999"))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(v3_contacts(&app, &call).await, json!({"results": []}));
}

// ----- v4 per record ----------------------------------------------------------------------

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
    for (n, (kind, from_call, to_call)) in kinds.iter().enumerate() {
        let record = 1000 + n as u64;
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
                {"from": {"id": call}, "to": {"id": record.to_string()},
                 "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": from_call}},
                {"from": {"id": record.to_string()}, "to": {"id": call},
                 "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": to_call}}
            ]),
            "{kind}"
        );

        // From the other side: same pair, directions swapped.
        let record = 2000 + n as u64;
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
                {"from": {"id": record.to_string()}, "to": {"id": call},
                 "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": to_call}},
                {"from": {"id": call}, "to": {"id": record.to_string()},
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
                (1000 + n as u64, vec![hs(*from_call)]),
                (2000 + n as u64, vec![hs(*from_call)])
            ],
            "{kind}"
        );
        let body = v4_list(
            &app,
            &format!(
                "/crm/v4/objects/{kind}/{}/associations/calls",
                1000 + n as u64
            ),
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

    let reply = put(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/contacts/700"),
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
    assert_eq!(reply.body["toObjectId"], json!(700));
    assert!(reply.body["labels"].is_array());

    let body = v4_list(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/contacts"),
    )
    .await;
    assert_eq!(
        targets(&body["results"]),
        vec![(700, vec![hs(194), ("USER_DEFINED".to_owned(), 42)])]
    );

    // From the contact side, with the contact → call id.
    let reply = put(
        &app,
        &format!("/crm/v4/objects/contacts/701/associations/calls/{call}"),
        Some(json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 193}])),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["fromObjectTypeId"], "0-1");
    assert_eq!(reply.body["fromObjectId"], json!(701));
    assert_eq!(reply.body["toObjectTypeId"], "0-48");
    assert_eq!(reply.body["toObjectId"], json!(call_id));

    // HubSpot-defined ids of the wrong direction (or another pair) are refused.
    for (path, type_id) in [
        (
            format!("/crm/v4/objects/calls/{call}/associations/contacts/702"),
            193,
        ),
        (
            format!("/crm/v4/objects/contacts/702/associations/calls/{call}"),
            194,
        ),
        (
            format!("/crm/v4/objects/calls/{call}/associations/contacts/702"),
            182,
        ),
    ] {
        let reply = put(
            &app,
            &path,
            Some(json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}])),
        )
        .await;
        let body = reply.assert_error(400, "VALIDATION_ERROR");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("is not a valid association type"),
            "{body}"
        );
    }
    // Unknown category, non-array body.
    let reply = put(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/contacts/702"),
        Some(json!([{"associationCategory": "MADE_UP", "associationTypeId": 1}])),
    )
    .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let reply = put(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/contacts/702"),
        Some(json!("194")),
    )
    .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    // Nothing was stored for 702.
    let body = v4_list(&app, "/crm/v4/objects/contacts/702/associations/calls").await;
    assert_eq!(body["results"], json!([]));
}

#[tokio::test]
async fn v4_list_pages_and_delete() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    for contact in [30, 10, 20] {
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
    assert_eq!(all, vec![10, 20, 30]);

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
            "/crm/v4/objects/calls/{call}/associations/contacts/20"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    // From the contact side too.
    let reply = app
        .delete(&format!(
            "/crm/v4/objects/contacts/30/associations/calls/{call}"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    let body = v4_list(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/contacts"),
    )
    .await;
    assert_eq!(targets(&body["results"]), vec![(10, vec![hs(194)])]);
    let body = v4_list(&app, "/crm/v4/objects/contacts/20/associations/calls").await;
    assert_eq!(body["results"], json!([]));
}

#[tokio::test]
async fn v4_object_type_spellings() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let call_id: u64 = call.parse().unwrap();
    for (n, call_type) in ["calls", "call", "0-48", "CALLS"].iter().enumerate() {
        for (m, other) in ["contacts", "contact", "0-1"].iter().enumerate() {
            let record = 100 * (n as u64 + 1) + m as u64;
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
    for (kind, type_id) in [
        ("companies", 182),
        ("0-2", 182),
        ("deals", 206),
        ("0-3", 206),
        ("tickets", 220),
        ("0-5", 220),
    ] {
        let reply = put(
            &app,
            &format!("/crm/v4/objects/0-48/{call}/associations/default/{kind}/9"),
            None,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{kind}: {}", reply.text);
        assert_eq!(
            reply.body["results"][0]["associationSpec"]["associationTypeId"],
            type_id
        );
    }

    // Pairs without calls, calls with calls, unknown types.
    for path in [
        "/crm/v4/objects/contacts/1/associations/default/deals/2".to_owned(),
        format!("/crm/v4/objects/calls/{call}/associations/default/calls/{call}"),
        format!("/crm/v4/objects/calls/{call}/associations/default/notes/1"),
    ] {
        put(&app, &path, None)
            .await
            .assert_error(501, "NOT_IMPLEMENTED");
    }
    app.get("/crm/v4/objects/contacts/1/associations/deals")
        .await
        .assert_error(501, "NOT_IMPLEMENTED");
    app.post(
        "/crm/v4/associations/contacts/deals/batch/read",
        json!({"inputs": [{"id": "1"}]}),
    )
    .await
    .assert_error(501, "NOT_IMPLEMENTED");
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
    let reply = put(
        &app,
        "/crm/v4/objects/contacts/5/associations/default/calls/424242",
        None,
    )
    .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        body["context"]["INVALID_OBJECT_IDS"],
        json!(["CALL=424242 is not valid"])
    );

    // Portal 2 cannot reach portal 1's call, from either side, nor see its associations.
    put(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/default/contacts/5"),
        None,
    )
    .await;
    for path in [
        format!("/crm/v4/objects/calls/{call}/associations/default/contacts/6"),
        format!("/crm/v4/objects/contacts/6/associations/default/calls/{call}"),
        format!("{CALLS}/{call}/associations/contacts/6/194"),
    ] {
        let reply = app
            .send_raw(Method::PUT, &path, Some(OTHER_PORTAL_TOKEN), None)
            .await;
        let body = reply.assert_error(400, "VALIDATION_ERROR");
        assert_eq!(
            body["context"]["INVALID_OBJECT_IDS"],
            json!([format!("CALL={call} is not valid")]),
            "{path}"
        );
    }
    let reply = app
        .send_raw(
            Method::GET,
            "/crm/v4/objects/contacts/5/associations/calls",
            Some(OTHER_PORTAL_TOKEN),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["results"], json!([]));
    // Portal 2 deleting the pair changes nothing in portal 1.
    let reply = app
        .send_raw(
            Method::DELETE,
            &format!("/crm/v4/objects/contacts/5/associations/calls/{call}"),
            Some(OTHER_PORTAL_TOKEN),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    let body = v4_list(&app, "/crm/v4/objects/contacts/5/associations/calls").await;
    assert_eq!(targets(&body["results"]).len(), 1);

    // A read-only token may read but not write.
    let reply = app
        .send_raw(
            Method::PUT,
            &format!("/crm/v4/objects/calls/{call}/associations/default/contacts/7"),
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
            Some(json!({"inputs": [{"from": {"id": call}, "to": [{"id": "5"}]}]}).to_string()),
        )
        .await;
    reply.assert_error(403, "MISSING_SCOPES");
    let reply = app
        .send_raw(
            Method::GET,
            "/crm/v4/objects/contacts/5/associations/calls",
            Some(READ_ONLY_TOKEN),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

// ----- v4 batch ---------------------------------------------------------------------------

#[tokio::test]
async fn v4_batch_associate_create_read_archive() {
    let app = spawn_app().await;
    let a = new_call(&app).await;
    let b = new_call(&app).await;
    let lonely = new_call(&app).await;
    let base = "/crm/v4/associations/calls/contacts/batch";

    let reply = app
        .post(
            &format!("{base}/associate/default"),
            json!({"inputs": [{"from": {"id": a}, "to": {"id": "11"}}, {"from": {"id": b}, "to": {"id": "12"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["status"], "COMPLETE");
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0]["from"]["id"], a.as_str());
    assert_eq!(results[0]["associationSpec"]["associationTypeId"], 194);
    assert_eq!(results[1]["from"]["id"], "11");
    assert_eq!(results[1]["associationSpec"]["associationTypeId"], 193);

    let reply = app
        .post(
            &format!("{base}/create"),
            json!({"inputs": [{"from": {"id": a}, "to": {"id": "13"}, "types": [
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194},
                {"associationCategory": "USER_DEFINED", "associationTypeId": 77}
            ]}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["results"][0]["fromObjectTypeId"], "0-48");
    assert_eq!(reply.body["results"][0]["toObjectTypeId"], "0-1");
    assert_eq!(reply.body["results"][0]["toObjectId"], json!(13));
    assert!(reply.body["results"][0]["fromObjectId"].is_u64());

    // An invalid type in one input stores none of the batch.
    let reply = app
        .post(
            &format!("{base}/create"),
            json!({"inputs": [
                {"from": {"id": b}, "to": {"id": "14"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194}]},
                {"from": {"id": b}, "to": {"id": "15"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 193}]}
            ]}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    // An unknown call in one input stores none either.
    let reply = app
        .post(
            &format!("{base}/associate/default"),
            json!({"inputs": [{"from": {"id": b}, "to": {"id": "14"}}, {"from": {"id": "999999"}, "to": {"id": "14"}}]}),
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
            (11, vec![hs(194)]),
            (13, vec![hs(194), ("USER_DEFINED".to_owned(), 77)])
        ]
    );
    assert_eq!(results[1]["from"]["id"], b.as_str());
    assert_eq!(targets(&results[1]["to"]), vec![(12, vec![hs(194)])]);

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
            json!({"inputs": [{"id": "13"}, {"id": "4040"}]}),
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
        "No call is associated with contact 4040."
    );

    // Archive: every type between the pairs goes.
    let reply = app
        .post(
            &format!("{base}/archive"),
            json!({"inputs": [{"from": {"id": a}, "to": [{"id": "11"}, {"id": "13"}]}]}),
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
    for contact in ["21", "22"] {
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
            json!({"inputs": [{"from": {"id": call}, "to": {"id": "21"}, "types": [
                {"associationCategory": "USER_DEFINED", "associationTypeId": 8}
            ]}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    // Removing the default type removes everything between the pair.
    let reply = app
        .post(
            "/crm/v4/associations/contacts/calls/batch/labels/archive",
            json!({"inputs": [{"from": {"id": "22"}, "to": {"id": call}, "types": [
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
        vec![(21, vec![hs(194), ("USER_DEFINED".to_owned(), 9)])]
    );
}

// ----- consistency ------------------------------------------------------------------------

#[tokio::test]
async fn associations_from_the_contact_side_show_on_the_call() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let other = new_call(&app).await;
    let reply = put(
        &app,
        &format!("/crm/v4/objects/contacts/880/associations/default/calls/{call}"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = app
        .post(
            "/crm/v4/associations/deals/calls/batch/associate/default",
            json!({"inputs": [{"from": {"id": "55"}, "to": {"id": call}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    let reply = app
        .get(&format!("{CALLS}/{call}?associations=contacts,deals"))
        .await;
    assert_eq!(
        reply.body["associations"],
        json!({
            "contacts": {"results": [{"id": "880", "type": "call_to_contact"}]},
            "deals": {"results": [{"id": "55", "type": "call_to_deal"}]}
        })
    );
    assert_eq!(
        v3_contacts(&app, &call).await,
        json!({"results": [{"id": "880", "type": "call_to_contact"}]})
    );

    let reply = app
        .post(
            "/crm/v3/objects/calls/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "associations.contact", "operator": "EQ", "value": "880"}]}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["total"], 1);
    assert_eq!(reply.body["results"][0]["id"], call.as_str());
    let reply = app
        .post(
            "/crm/v3/objects/calls/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "associations.deal", "operator": "EQ", "value": "55"}]}]}),
        )
        .await;
    assert_eq!(reply.body["total"], 1, "{}", reply.text);

    // Removing from the call side shows from the contact side.
    let reply = app
        .delete(&format!("{CALLS}/{call}/associations/contacts/880/194"))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let body = v4_list(&app, "/crm/v4/objects/contacts/880/associations/calls").await;
    assert_eq!(body["results"], json!([]));
    let reply = app
        .post(
            "/crm/v3/objects/calls/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "associations.contact", "operator": "EQ", "value": "880"}]}]}),
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
    for call in [&kept, &archived] {
        let reply = put(
            &app,
            &format!("/crm/v4/objects/contacts/990/associations/default/calls/{call}"),
            None,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let reply = app.delete(&format!("{CALLS}/{archived}")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    let body = v4_list(&app, "/crm/v4/objects/contacts/990/associations/calls").await;
    let kept_id: u64 = kept.parse().unwrap();
    assert_eq!(targets(&body["results"]), vec![(kept_id, vec![hs(193)])]);
    let reply = app
        .post(
            "/crm/v4/associations/contacts/calls/batch/read",
            json!({"inputs": [{"id": "990"}]}),
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
            json!({"filterGroups": [{"filters": [{"propertyName": "associations.contact", "operator": "EQ", "value": "990"}]}]}),
        )
        .await;
    assert_eq!(reply.body["total"], 1, "{}", reply.text);
}

// ----- known server bugs and mismatches ---------------------------------------------------

#[tokio::test]

async fn labelled_put_without_types_does_not_claim_success() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let reply = put(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/contacts/2"),
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
    for type_id in [42, 43] {
        let reply = put(
            &app,
            &format!("/crm/v4/objects/calls/{call}/associations/contacts/1"),
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
        vec![(1, vec![("USER_DEFINED".to_owned(), 43)])]
    );
}

#[tokio::test]

async fn archived_call_lists_no_associations_from_its_own_side() {
    let app = spawn_app().await;
    let call = new_call(&app).await;
    let reply = put(
        &app,
        &format!("/crm/v4/objects/calls/{call}/associations/default/contacts/1"),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    app.delete(&format!("{CALLS}/{call}")).await;
    let body = v4_list(&app, "/crm/v4/objects/contacts/1/associations/calls").await;
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
