//! Many clients writing at once: no 5xx, no lost update, no lost history, distinct ids.

use crate::common;

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

/// Group commit with staged writes: many single creates at once share transactions, yet
/// each is readable, searchable and durable as soon as it is acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_are_visible_and_durable_when_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path()).await;
    let clients: Vec<_> = (0..48)
        .map(|n| {
            let client = app.client.clone();
            let base = app.url("");
            let token = app.token.clone();
            tokio::spawn(async move {
                let title = format!("grouped{n}");
                let reply = client
                    .post(format!("{base}/crm/v3/objects/calls"))
                    .bearer_auth(&token)
                    .json(&json!({"properties": {"hs_timestamp": "2025-04-24T20:01:33.000Z", "hs_call_title": title}}))
                    .send()
                    .await
                    .expect("create is sent");
                assert_eq!(reply.status(), 201);
                let id = reply.json::<Value>().await.unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                // Read right after the acknowledgement: by id and through the search index.
                let read: Value = client
                    .get(format!("{base}/crm/v3/objects/calls/{id}?properties=hs_call_title"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(read["properties"]["hs_call_title"], title.as_str());
                let found: Value = client
                    .post(format!("{base}/crm/v3/objects/calls/search"))
                    .bearer_auth(&token)
                    .json(&json!({"filterGroups": [{"filters": [
                        {"propertyName": "hs_call_title", "operator": "EQ", "value": title}
                    ]}]}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(found["total"], 1, "{found}");
                assert_eq!(found["results"][0]["id"], id.as_str());
                (id, title)
            })
        })
        .collect();
    let mut created = Vec::new();
    for client in clients {
        created.push(client.await.unwrap());
    }
    drop(app);

    let again = spawn_app_in(dir.path()).await;
    for (id, title) in created {
        let reply = again
            .get(&format!(
                "/crm/v3/objects/calls/{id}?properties=hs_call_title"
            ))
            .await;
        assert_eq!(reply.status, 200, "{id} after a restart: {}", reply.text);
        assert_eq!(reply.body["properties"]["hs_call_title"], title.as_str());
    }
}

/// A staged write that fails (a unique value already taken within the same group) leaves
/// nothing behind and does not fail the writes it shared its group with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_in_a_group_spares_the_others() {
    let app = common::spawn_app().await;
    let property = app
        .post(
            "/crm/v3/properties/calls",
            json!({"name": "ticket_ref", "label": "Ticket", "type": "string", "fieldType": "text",
                   "groupName": "callinformation", "hasUniqueValue": true}),
        )
        .await;
    assert_eq!(property.status, 201, "{}", property.text);
    let clients: Vec<_> = (0..40)
        .map(|n| {
            let client = app.client.clone();
            let base = app.url("");
            let token = app.token.clone();
            tokio::spawn(async move {
                // Even clients all claim one value; odd ones each have their own.
                let value = if n % 2 == 0 { "shared".to_owned() } else { format!("own{n}") };
                let reply = client
                    .post(format!("{base}/crm/v3/objects/calls"))
                    .bearer_auth(&token)
                    .json(&json!({"properties": {"hs_timestamp": "2025-04-24T20:01:33.000Z", "ticket_ref": value}}))
                    .send()
                    .await
                    .expect("create is sent");
                (n, reply.status().as_u16())
            })
        })
        .collect();
    let mut shared_won = 0;
    for client in clients {
        let (n, status) = client.await.unwrap();
        if n % 2 == 1 {
            assert_eq!(status, 201, "client {n} had a value of its own");
        } else if status == 201 {
            shared_won += 1;
        } else {
            assert_eq!(
                status, 400,
                "client {n}: a taken value is a validation error"
            );
        }
    }
    assert_eq!(shared_won, 1, "exactly one call holds the shared value");
    let total = app
        .post("/crm/v3/objects/calls/search", json!({"limit": 0}))
        .await;
    assert_eq!(total.body["total"], 21, "{}", total.text);
}

/// Reads on the blocking pool take turns (`AppState::run_read`): more clients than turns all
/// get their answers while writes go on, and a client that gives up on its read does not
/// keep the turn (were it kept, the reads after a few abandoned ones would never start).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_take_turns_and_abandoned_reads_give_theirs_back() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir.path()).await;
    for batch in 0..2 {
        let inputs: Vec<Value> = (batch * 75..batch * 75 + 75)
            .map(|n| json!({"properties": {"hs_timestamp": "2026-01-01T00:00:00Z", "hs_call_title": format!("turns {n:03}"), "hs_call_direction": "INBOUND"}}))
            .collect();
        let reply = app
            .post(
                "/crm/v3/objects/calls/batch/create",
                json!({"inputs": inputs}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let search = json!({
        "filterGroups": [{"filters": [{"propertyName": "hs_call_direction", "operator": "EQ", "value": "INBOUND"}]}],
        "sorts": [{"propertyName": "hs_call_title", "direction": "ASCENDING"}],
        "properties": ["hs_call_title"],
        "limit": 100,
    });

    // Clients that give up after a millisecond, many more of them than there are turns.
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(1))
        .build()
        .unwrap();
    for _ in 0..40 {
        let _ = impatient
            .post(app.url("/crm/v3/objects/calls/search"))
            .bearer_auth(&app.token)
            .json(&search)
            .send()
            .await;
    }

    // Then 24 patient clients at once, searching and listing while a writer creates calls.
    let writer = {
        let client = app.client.clone();
        let (url, token) = (app.url("/crm/v3/objects/calls"), app.token.clone());
        tokio::spawn(async move {
            for n in 0..30 {
                let reply = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"properties": {"hs_timestamp": "2026-01-01T00:00:00Z", "hs_call_title": format!("late {n}"), "hs_call_direction": "OUTBOUND"}}))
                    .send()
                    .await
                    .expect("create is sent");
                assert_eq!(reply.status(), 201);
            }
        })
    };
    let readers: Vec<_> = (0..24)
        .map(|n| {
            let client = app.client.clone();
            let token = app.token.clone();
            let (search_url, list_url) = (
                app.url("/crm/v3/objects/calls/search"),
                app.url("/crm/v3/objects/calls?limit=100&properties=hs_call_title"),
            );
            let search = search.clone();
            tokio::spawn(async move {
                let request = if n % 2 == 0 {
                    client.post(&search_url).json(&search)
                } else {
                    client.get(&list_url)
                };
                let reply = request
                    .bearer_auth(&token)
                    .timeout(std::time::Duration::from_secs(30))
                    .send()
                    .await
                    .expect("every read is answered");
                assert_eq!(reply.status(), 200);
                let body: Value = reply.json().await.unwrap();
                let results = body["results"].as_array().unwrap();
                assert_eq!(results.len(), 100, "{body}");
                if n % 2 == 0 {
                    // Only the seeded calls are INBOUND, and they sort by title.
                    assert_eq!(body["total"], 150);
                    assert_eq!(results[0]["properties"]["hs_call_title"], "turns 000");
                }
            })
        })
        .collect();
    for reader in readers {
        reader.await.expect("reader task");
    }
    writer.await.expect("writer task");
}
