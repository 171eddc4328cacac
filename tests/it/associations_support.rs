//! Helpers shared by the association API tests (`associations_v3`, `associations_v4`,
//! `associations_v4_batch`, `associations_consistency`): records to associate and readers
//! of HubSpot's association lists.

use crate::common;

use std::sync::atomic::{AtomicU32, Ordering};

use common::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const CALLS: &str = "/crm/v3/objects/calls";

pub async fn new_call(app: &TestApp) -> String {
    app.create_call(json!({"hs_call_title": "assoc"})).await
}

/// Creates `count` records of `kind` (a path name) for associations to name (HubSpot
/// refuses associations with records that do not exist); returns their ids, ascending.
pub async fn records(app: &TestApp, kind: &str, count: usize) -> Vec<String> {
    pub static NEXT: AtomicU32 = AtomicU32::new(1);
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
pub async fn record(app: &TestApp, kind: &str) -> String {
    records(app, kind, 1).await.remove(0)
}

pub fn num(id: &str) -> u64 {
    id.parse().expect("numeric id")
}

pub async fn put(app: &TestApp, path: &str, body: Option<Value>) -> common::Reply {
    app.send(Method::PUT, path, body).await
}

/// `(toObjectId, [(category, typeId)])` of a v4 list or batch-read `to` array. The types
/// of one target are sorted (HubSpot documents no order for them).
pub fn targets(list: &Value) -> Vec<(u64, Vec<(String, u64)>)> {
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

pub fn hs(type_id: u64) -> (String, u64) {
    ("HUBSPOT_DEFINED".to_owned(), type_id)
}

pub async fn v4_list(app: &TestApp, path: &str) -> Value {
    let reply = app.get(path).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    reply.body
}

pub async fn v3_contacts(app: &TestApp, call: &str) -> Value {
    let reply = app
        .get(&format!("{CALLS}/{call}/associations/contacts"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}
