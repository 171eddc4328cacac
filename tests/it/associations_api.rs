//! Association endpoints over HTTP: v3 per record, v4 per record (from either side), v4
//! batch, with HubSpot's existence checks.

use crate::common;

use std::sync::atomic::{AtomicU32, Ordering};

use common::{spawn_app, TestApp, OTHER_PORTAL_TOKEN, READ_ONLY_TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const CALLS: &str = "/crm/v3/objects/calls";

async fn new_call(app: &TestApp) -> String {
    app.create_call(json!({"hs_call_title": "assoc"})).await
}

/// Creates `count` records of `kind` (a path name) for associations to name (HubSpot
/// refuses associations with records that do not exist); returns their ids, ascending.
async fn records(app: &TestApp, kind: &str, count: usize) -> Vec<String> {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let mut ids = Vec::new();
    for _ in 0..count {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let properties = match kind {
            "contacts" => json!({"email": format!("assoc-{n}@example.com")}),
            "companies" => json!({"name": format!("Company {n}")}),
            "deals" => {
                json!({"dealname": format!("Deal {n}"), "dealstage": "appointmentscheduled"})
            }
            "tickets" => json!({"subject": format!("Ticket {n}"), "hs_pipeline_stage": "1"}),
            other => panic!("no test record for {other}"),
        };
        let reply = app
            .post(
                &format!("/crm/v3/objects/{kind}"),
                json!({ "properties": properties }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        ids.push(reply.body["id"].as_str().expect("id").to_owned());
    }
    ids
}

/// One record of `kind`.
async fn record(app: &TestApp, kind: &str) -> String {
    records(app, kind, 1).await.remove(0)
}

fn num(id: &str) -> u64 {
    id.parse().expect("numeric id")
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

// ----- v4 batch ---------------------------------------------------------------------------

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

// ----- consistency ------------------------------------------------------------------------

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
