//! Many clients writing at once: no 5xx, no lost update, no lost history, distinct ids.

mod common;

use std::collections::HashSet;

use common::spawn_app_in;
use serde_json::{json, Value};

const PROPERTIES: [&str; 8] = [
    "hs_call_title",
    "hs_call_body",
    "hs_call_from_number",
    "hs_call_to_number",
    "hs_call_external_id",
    "hs_call_external_account_id",
    "hs_call_recording_url",
    "hs_call_summary",
];
const WRITES_PER_CLIENT: usize = 25;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_of_one_call_lose_nothing() {
    // On a file database: readers and the writer are separate connections there.
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path()).await;
    let id = app.create_call(json!({})).await;
    let path = format!("/crm/v3/objects/calls/{id}");
    let clients: Vec<_> = PROPERTIES
        .iter()
        .map(|property| {
            let client = app.client.clone();
            let url = app.url(&path);
            let token = app.token.clone();
            tokio::spawn(async move {
                for n in 0..WRITES_PER_CLIENT {
                    let reply = client
                        .patch(&url)
                        .bearer_auth(&token)
                        .json(&json!({"properties": {*property: format!("{property}-{n}")}}))
                        .send()
                        .await
                        .expect("patch is sent");
                    assert_eq!(reply.status(), 200, "{}", reply.text().await.unwrap());
                }
            })
        })
        .collect();
    for client in clients {
        client.await.expect("client task");
    }
    let names = PROPERTIES.join(",");
    let reply = app
        .get(&format!(
            "{path}?properties={names}&propertiesWithHistory={names}"
        ))
        .await;
    for property in PROPERTIES {
        let last = format!("{property}-{}", WRITES_PER_CLIENT - 1);
        assert_eq!(reply.body["properties"][property], last.as_str());
        let history: Vec<&str> = reply.body["propertiesWithHistory"][property]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["value"].as_str().unwrap())
            .collect();
        let expected: Vec<String> = (0..WRITES_PER_CLIENT)
            .rev()
            .map(|n| format!("{property}-{n}"))
            .collect();
        assert_eq!(history, expected, "history of {property}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_batch_creates_get_distinct_ids() {
    // On a file database: readers and the writer are separate connections there.
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path()).await;
    let batches: Vec<_> = (0..8)
        .map(|b| {
            let client = app.client.clone();
            let url = app.url("/crm/v3/objects/calls/batch/create");
            let token = app.token.clone();
            tokio::spawn(async move {
                let inputs: Vec<Value> = (0..50)
                    .map(|i| json!({"properties": {"hs_timestamp": 1, "hs_call_title": format!("{b}-{i}")}}))
                    .collect();
                let reply = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "inputs": inputs }))
                    .send()
                    .await
                    .expect("batch is sent");
                assert_eq!(reply.status(), 201);
                let body: Value = reply.json().await.unwrap();
                body["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["id"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut ids = HashSet::new();
    for batch in batches {
        for id in batch.await.unwrap() {
            assert!(ids.insert(id.clone()), "id {id} given twice");
        }
    }
    assert_eq!(ids.len(), 400);
    let search = app
        .post("/crm/v3/objects/calls/search", json!({"limit": 0}))
        .await;
    assert_eq!(search.body["total"], 400);
}
