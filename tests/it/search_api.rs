//! Search over HTTP: HubSpot's request and response shapes, operators, paging and errors.

use crate::common;

use common::{spawn_app, TestApp, OTHER_PORTAL_TOKEN, READ_ONLY_TOKEN};
use reqwest::Method;
use serde_json::{json, Value};

const SEARCH: &str = "/crm/v3/objects/calls/search";

async fn search(app: &TestApp, body: Value) -> Value {
    let reply = app.post(SEARCH, body.clone()).await;
    assert_eq!(reply.status, 200, "search {body} answered {}", reply.text);
    reply.body
}

fn ids(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn one_filter(property: &str, operator: &str, value: Value) -> Value {
    json!({"filterGroups": [{"filters": [{"propertyName": property, "operator": operator, "value": value}]}]})
}

/// Three calls with distinct values of every type the tests filter on.
async fn seed(app: &TestApp) -> [String; 3] {
    let a = app
        .create_call(json!({
            "hs_call_title": "Discovery call with ACME",
            "hs_call_direction": "OUTBOUND",
            "hs_call_duration": "900000",
            "hs_timestamp": "2025-01-01T10:00:00Z",
            "hs_call_body": "<p>Talked about <b>pricing</b></p>",
        }))
        .await;
    let b = app
        .create_call(json!({
            "hs_call_title": "Follow-up: Globex",
            "hs_call_direction": "INBOUND",
            "hs_call_duration": 1800000,
            "hs_timestamp": 1735812000000u64,
        }))
        .await;
    let c = app
        .create_call(json!({
            "hs_call_title": "acme renewal",
            "hs_timestamp": "2025-01-03T10:00:00Z",
        }))
        .await;
    [a, b, c]
}

#[tokio::test]
async fn empty_search_lists_oldest_first_with_defaults() {
    let app = spawn_app().await;
    let [a, b, c] = seed(&app).await;
    let body = search(&app, json!({})).await;
    assert_eq!(body["total"], 3);
    assert_eq!(ids(&body), vec![a.clone(), b, c]);
    let props = body["results"][0]["properties"].as_object().unwrap();
    let keys: Vec<&str> = props.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        vec!["hs_createdate", "hs_lastmodifieddate", "hs_object_id"]
    );
    assert_eq!(props["hs_object_id"], a.as_str());
    assert!(body.get("paging").is_none());
}

#[tokio::test]
async fn numbers_compare_as_numbers() {
    let app = spawn_app().await;
    let [a, b, _] = seed(&app).await;
    let lt = search(&app, one_filter("hs_call_duration", "LT", json!("1800000"))).await;
    assert_eq!(ids(&lt), vec![a.clone()]);
    let gte = search(&app, one_filter("hs_call_duration", "GTE", json!(900000))).await;
    assert_eq!(ids(&gte), vec![a, b]);
}

#[tokio::test]
async fn datetimes_compare_as_instants_in_both_forms() {
    let app = spawn_app().await;
    let [_, b, c] = seed(&app).await;
    let body = search(
        &app,
        json!({"filterGroups": [{"filters": [{
            "propertyName": "hs_timestamp", "operator": "BETWEEN",
            "value": "2025-01-02T00:00:00Z", "highValue": "1735898400000"
        }]}]}),
    )
    .await;
    assert_eq!(ids(&body), vec![b, c]);
}

#[tokio::test]
async fn enumerations_are_case_sensitive_strings_are_not() {
    let app = spawn_app().await;
    let [a, _, c] = seed(&app).await;
    let exact = search(
        &app,
        one_filter("hs_call_direction", "EQ", json!("OUTBOUND")),
    )
    .await;
    assert_eq!(ids(&exact), vec![a.clone()]);
    let lower = search(
        &app,
        one_filter("hs_call_direction", "EQ", json!("outbound")),
    )
    .await;
    assert_eq!(lower["total"], 0);
    let title = search(
        &app,
        one_filter("hs_call_title", "EQ", json!("ACME RENEWAL")),
    )
    .await;
    assert_eq!(ids(&title), vec![c]);
}

#[tokio::test]
async fn negations_match_calls_without_the_property() {
    let app = spawn_app().await;
    let [_, b, c] = seed(&app).await;
    let body = search(
        &app,
        one_filter("hs_call_direction", "NEQ", json!("OUTBOUND")),
    )
    .await;
    assert_eq!(ids(&body), vec![b, c.clone()]);
    let missing = search(
        &app,
        json!({"filterGroups": [{"filters": [{"propertyName": "hs_call_direction", "operator": "NOT_HAS_PROPERTY"}]}]}),
    )
    .await;
    assert_eq!(ids(&missing), vec![c]);
}

#[tokio::test]
async fn in_needs_lower_case_values_for_strings() {
    let app = spawn_app().await;
    let [_, _, c] = seed(&app).await;
    let filter = |values: Value| json!({"filterGroups": [{"filters": [{"propertyName": "hs_call_title", "operator": "IN", "values": values}]}]});
    assert_eq!(
        ids(&search(&app, filter(json!(["acme renewal"]))).await),
        vec![c]
    );
    assert_eq!(
        search(&app, filter(json!(["ACME renewal"]))).await["total"],
        0
    );
}

#[tokio::test]
async fn tokens_and_wildcards() {
    let app = spawn_app().await;
    let [a, b, c] = seed(&app).await;
    let acme = search(
        &app,
        one_filter("hs_call_title", "CONTAINS_TOKEN", json!("acme")),
    )
    .await;
    assert_eq!(ids(&acme), vec![a, c]);
    let wildcard = search(
        &app,
        one_filter("hs_call_title", "CONTAINS_TOKEN", json!("glob*")),
    )
    .await;
    assert_eq!(ids(&wildcard), vec![b.clone()]);
    let not = search(
        &app,
        one_filter("hs_call_title", "NOT_CONTAINS_TOKEN", json!("acme")),
    )
    .await;
    assert_eq!(ids(&not), vec![b]);
}

#[tokio::test]
async fn query_matches_title_and_body_preview_by_word_prefix() {
    let app = spawn_app().await;
    let [a, _, c] = seed(&app).await;
    assert_eq!(
        ids(&search(&app, json!({"query": "acm"})).await),
        vec![a.clone(), c]
    );
    // "pricing" is only in the HTML body, found through hs_body_preview.
    assert_eq!(
        ids(&search(&app, json!({"query": "Pricing"})).await),
        vec![a]
    );
    assert_eq!(search(&app, json!({"query": "ricing"})).await["total"], 0);
}

#[tokio::test]
async fn groups_are_ored_filters_anded_and_loose_filters_accepted() {
    let app = spawn_app().await;
    let [a, b, c] = seed(&app).await;
    let body = search(
        &app,
        json!({"filterGroups": [
            {"filters": [
                {"propertyName": "hs_call_direction", "operator": "EQ", "value": "OUTBOUND"},
                {"propertyName": "hs_call_duration", "operator": "GT", "value": "1"}
            ]},
            {"filters": [{"propertyName": "hs_call_title", "operator": "CONTAINS_TOKEN", "value": "renewal"}]}
        ]}),
    )
    .await;
    assert_eq!(ids(&body), vec![a, c]);
    let loose = search(
        &app,
        json!({"filters": [{"propertyName": "hs_call_direction", "operator": "EQ", "value": "INBOUND"}]}),
    )
    .await;
    assert_eq!(ids(&loose), vec![b]);
}

#[tokio::test]
async fn sorts_in_object_and_string_forms() {
    let app = spawn_app().await;
    let [a, b, c] = seed(&app).await;
    let desc = search(
        &app,
        json!({"sorts": [{"propertyName": "hs_call_duration", "direction": "DESCENDING"}]}),
    )
    .await;
    // The call without a duration comes last either way.
    assert_eq!(ids(&desc), vec![b.clone(), a.clone(), c.clone()]);
    let asc = search(&app, json!({"sorts": ["hs_timestamp"]})).await;
    assert_eq!(ids(&asc), vec![a.clone(), b.clone(), c.clone()]);
    let minus = search(&app, json!({"sorts": ["-hs_timestamp"]})).await;
    assert_eq!(ids(&minus), vec![c, b, a]);
}

#[tokio::test]
async fn paging_uses_numeric_offsets() {
    let app = spawn_app().await;
    let [a, b, c] = seed(&app).await;
    let first = search(&app, json!({"limit": 2})).await;
    assert_eq!(ids(&first), vec![a, b]);
    assert_eq!(first["paging"]["next"]["after"], "2");
    assert!(first["paging"]["next"].get("link").is_none());
    let second = search(&app, json!({"limit": 2, "after": "2"})).await;
    assert_eq!(ids(&second), vec![c]);
    assert_eq!(second["total"], 3);
    assert!(second.get("paging").is_none());
    let numeric_after = search(&app, json!({"limit": 2, "after": 2})).await;
    assert_eq!(numeric_after["results"], second["results"]);
}

#[tokio::test]
async fn requested_properties_and_associations_filter() {
    let app = spawn_app().await;
    let contact = app.create_contact().await;
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({
                "properties": {"hs_timestamp": "2025-01-01T00:00:00Z", "hs_call_title": "linked"},
                "associations": [{"to": {"id": contact}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194}]}]
            }),
        )
        .await;
    assert_eq!(reply.status, 201, "body: {}", reply.text);
    let linked = reply.body["id"].as_str().unwrap().to_owned();
    app.create_call(json!({"hs_call_title": "alone"})).await;
    let body = search(
        &app,
        json!({
            "filterGroups": [{"filters": [{"propertyName": "associations.contact", "operator": "EQ", "value": contact}]}],
            "properties": ["hs_call_title", "hs_call_status", "no_such_property"]
        }),
    )
    .await;
    assert_eq!(ids(&body), vec![linked]);
    let props = &body["results"][0]["properties"];
    assert_eq!(props["hs_call_title"], "linked");
    assert_eq!(props["hs_call_status"], Value::Null);
    assert!(props.get("no_such_property").is_none());
}

#[tokio::test]
async fn writes_are_visible_at_once_and_archived_calls_never() {
    let app = spawn_app().await;
    let id = app.create_call(json!({"hs_call_title": "fresh"})).await;
    let filter = one_filter("hs_call_title", "EQ", json!("renamed"));
    app.patch(
        &format!("/crm/v3/objects/calls/{id}"),
        json!({"properties": {"hs_call_title": "renamed"}}),
    )
    .await;
    assert_eq!(ids(&search(&app, filter.clone()).await), vec![id.clone()]);
    let reply = app.delete(&format!("/crm/v3/objects/calls/{id}")).await;
    assert_eq!(reply.status, 204);
    assert_eq!(search(&app, filter).await["total"], 0);
}

#[tokio::test]
async fn other_portals_and_paths() {
    let app = spawn_app().await;
    seed(&app).await;
    let other = app
        .send_raw(
            Method::POST,
            SEARCH,
            Some(OTHER_PORTAL_TOKEN),
            Some("{}".into()),
        )
        .await;
    assert_eq!(other.body["total"], 0);
    let read_only = app
        .send_raw(
            Method::POST,
            SEARCH,
            Some(READ_ONLY_TOKEN),
            Some("{}".into()),
        )
        .await;
    assert_eq!(read_only.body["total"], 3);
    let by_type_id = app.post("/crm/v3/objects/0-48/search", json!({})).await;
    assert_eq!(by_type_id.body["total"], 3);
}

#[tokio::test]
async fn bad_searches_are_400_with_precise_messages() {
    let app = spawn_app().await;
    let filter = |f: Value| json!({"filterGroups": [{"filters": [f]}]});
    let cases = [
        (
            filter(json!({"propertyName": "hs_call_title", "operator": "LIKE", "value": "x"})),
            "Unknown filter operator \"LIKE\"",
        ),
        (
            filter(json!({"propertyName": "hs_timestamp", "operator": "BETWEEN", "value": "1"})),
            "operator BETWEEN requires a highValue",
        ),
        (
            filter(
                json!({"propertyName": "hs_call_title", "operator": "CONTAINS_TOKEN", "value": "  "}),
            ),
            "value must be non-empty and non-blank",
        ),
        (
            filter(json!({"propertyName": "nope", "operator": "EQ", "value": "x"})),
            "property \"nope\" does not exist",
        ),
        (
            filter(json!({"propertyName": "hs_call_duration", "operator": "EQ", "value": "ten"})),
            "\"ten\" is not a valid number",
        ),
        (json!({"limit": 201}), "limit must be between 0 and 200"),
        (
            json!({"after": "abc"}),
            "after must be a non-negative integer",
        ),
        (
            json!({"after": "10000"}),
            "Cannot page beyond 10000 results",
        ),
        (
            json!({"query": "x".repeat(3001)}),
            "at most 3000 are allowed",
        ),
        (
            json!({"sorts": [{"propertyName": "nope"}]}),
            "Unable to sort by property \"nope\"",
        ),
    ];
    for (body, expected) in cases {
        let reply = app.post(SEARCH, body.clone()).await;
        let error = reply.assert_error(400, "VALIDATION_ERROR");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(expected), "{body}: {message}");
    }
}

#[tokio::test]
async fn filter_limits_are_enforced() {
    let app = spawn_app().await;
    let f = json!({"propertyName": "hs_call_title", "operator": "HAS_PROPERTY"});
    let groups = |count: usize, per: usize| json!({"filterGroups": vec![json!({"filters": vec![f.clone(); per]}); count]});
    assert_eq!(app.post(SEARCH, groups(5, 3)).await.status, 200);
    let too_many_groups = app.post(SEARCH, groups(6, 1)).await;
    too_many_groups.assert_error(400, "VALIDATION_ERROR");
    let too_many_in_group = app.post(SEARCH, groups(1, 7)).await;
    too_many_in_group.assert_error(400, "VALIDATION_ERROR");
    let too_many_in_all = app.post(SEARCH, groups(4, 5)).await;
    let body = too_many_in_all.assert_error(400, "VALIDATION_ERROR");
    assert!(body["message"].as_str().unwrap().contains("at most 18"));
}
