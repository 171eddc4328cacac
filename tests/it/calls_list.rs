//! `GET /crm/v3/objects/calls`: paging by id, page sizes, archived calls.

use crate::common;

use common::{spawn_app, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn batch_create(app: &TestApp, count: usize) -> Vec<String> {
    let inputs: Vec<Value> = (0..count)
        .map(|i| {
            json!({"properties": {"hs_timestamp": "1745524893000", "hs_call_title": format!("call {i}")}})
        })
        .collect();
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/create",
            json!({ "inputs": inputs }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "body: {}", reply.text);
    reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

fn page_ids(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

fn sorted_by_number(mut ids: Vec<String>) -> Vec<String> {
    ids.sort_by_key(|id| id.parse::<u64>().unwrap());
    ids
}

#[tokio::test]
async fn pages_follow_ascending_ids() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(
            app.create_call(json!({"hs_call_title": format!("n{i}")}))
                .await,
        );
    }
    let created = sorted_by_number(created);

    let first = app.get("/crm/v3/objects/calls?limit=2").await;
    assert_eq!(first.status, StatusCode::OK, "body: {}", first.text);
    assert_eq!(page_ids(&first.body), created[0..2]);
    let next = &first.body["paging"]["next"];
    assert_eq!(next["after"], created[2].as_str());
    let link = next["link"].as_str().expect("link");
    assert!(link.contains(&format!("after={}", created[2])), "{link}");
    assert!(link.contains("limit=2"), "{link}");
    assert!(link.contains("/crm/v3/objects/calls?"), "{link}");

    // Follow `after` to the end; the last page has no paging.
    let mut seen = page_ids(&first.body);
    let mut after = next["after"].as_str().unwrap().to_owned();
    let mut pages = 1;
    loop {
        let page = app
            .get(&format!("/crm/v3/objects/calls?limit=2&after={after}"))
            .await;
        assert_eq!(page.status, StatusCode::OK, "body: {}", page.text);
        pages += 1;
        seen.extend(page_ids(&page.body));
        match page.body.get("paging") {
            Some(paging) => after = paging["next"]["after"].as_str().unwrap().to_owned(),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created);

    // The link itself, followed as a path, gives the second page.
    let path_and_query = &link[link.find("/crm/").unwrap()..];
    let second = app.get(path_and_query).await;
    assert_eq!(page_ids(&second.body), created[2..4]);
}

#[tokio::test]
async fn items_carry_default_or_requested_properties() {
    let app = spawn_app().await;
    let id = app
        .create_call(json!({"hs_call_title": "listed", "hs_call_direction": "INBOUND"}))
        .await;
    let reply = app.get("/crm/v3/objects/calls").await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    assert!(reply.body.get("paging").is_none());
    let item = &reply.body["results"][0];
    assert_eq!(item["id"], id.as_str());
    assert_eq!(item["archived"], false);
    let keys: Vec<&String> = item["properties"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"]
    );

    let reply = app
        .get("/crm/v3/objects/calls?properties=hs_call_title&properties=hs_call_duration,bogus")
        .await;
    let props = reply.body["results"][0]["properties"].as_object().unwrap();
    assert_eq!(props["hs_call_title"], "listed");
    assert_eq!(props["hs_call_duration"], Value::Null);
    assert!(!props.contains_key("bogus"));
    assert!(!props.contains_key("hs_call_direction"));

    let reply = app
        .get("/crm/v3/objects/calls?propertiesWithHistory=hs_call_title")
        .await;
    assert_eq!(
        reply.body["results"][0]["propertiesWithHistory"]["hs_call_title"][0]["value"],
        "listed"
    );
}

#[tokio::test]
async fn default_page_is_10_and_limit_is_clamped_to_100() {
    let app = spawn_app().await;
    let mut created = batch_create(&app, 100).await;
    created.extend(batch_create(&app, 5).await);
    let created = sorted_by_number(created);

    let reply = app.get("/crm/v3/objects/calls").await;
    assert_eq!(page_ids(&reply.body), created[0..10]);
    assert_eq!(reply.body["paging"]["next"]["after"], created[10].as_str());

    let reply = app.get("/crm/v3/objects/calls?limit=500").await;
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.text);
    assert_eq!(page_ids(&reply.body), created[0..100]);
    assert_eq!(reply.body["paging"]["next"]["after"], created[100].as_str());

    let reply = app
        .get(&format!(
            "/crm/v3/objects/calls?limit=500&after={}",
            created[100]
        ))
        .await;
    assert_eq!(page_ids(&reply.body), created[100..]);
    assert!(reply.body.get("paging").is_none());

    let reply = app.get("/crm/v3/objects/calls?limit=100").await;
    assert_eq!(page_ids(&reply.body).len(), 100);
}

#[tokio::test]
async fn archived_true_lists_only_archived_calls() {
    let app = spawn_app().await;
    let created = sorted_by_number(batch_create(&app, 4).await);
    for id in [&created[1], &created[3]] {
        let reply = app.delete(&format!("/crm/v3/objects/calls/{id}")).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
    }
    let live = app.get("/crm/v3/objects/calls").await;
    assert_eq!(
        page_ids(&live.body),
        [created[0].clone(), created[2].clone()]
    );

    let archived = app.get("/crm/v3/objects/calls?archived=true").await;
    assert_eq!(archived.status, StatusCode::OK, "body: {}", archived.text);
    assert_eq!(
        page_ids(&archived.body),
        [created[1].clone(), created[3].clone()]
    );
    for item in archived.body["results"].as_array().unwrap() {
        assert_eq!(item["archived"], true);
        assert!(item["archivedAt"].is_string());
    }

    // Archived paging keeps the flag in its link.
    let page = app.get("/crm/v3/objects/calls?archived=true&limit=1").await;
    assert_eq!(page_ids(&page.body), [created[1].clone()]);
    let link = page.body["paging"]["next"]["link"].as_str().unwrap();
    assert!(link.contains("archived=true"), "{link}");
    assert_eq!(page.body["paging"]["next"]["after"], created[3].as_str());
}

#[tokio::test]
async fn empty_list_and_bad_parameters() {
    let app = spawn_app().await;
    let reply = app.get("/crm/v3/objects/calls").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({"results": []}));

    app.get("/crm/v3/objects/calls?limit=ten")
        .await
        .assert_error(400, "VALIDATION_ERROR");
    app.get("/crm/v3/objects/calls?after=abc")
        .await
        .assert_error(400, "VALIDATION_ERROR");
    app.get("/crm/v3/objects/calls?archived=maybe")
        .await
        .assert_error(400, "VALIDATION_ERROR");
}
