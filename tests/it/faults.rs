//! Fault rehearsal: configured and requested latency, 429s, 5xx, dropped connections, and
//! the search-index lag.

use crate::common;

use std::time::{Duration, Instant};

use common::{spawn_with, TestApp, TOKEN};
use hubcalls::config::{Config, FaultKind, FaultLatency, FaultRule, FaultSettings, TokenGrant};
use reqwest::Method;
use serde_json::{json, Value};

const ADMIN: &str = "admin-secret";
const CALLS: &str = "/crm/v3/objects/calls";
const SEARCH: &str = "/crm/v3/objects/calls/search";

fn config() -> Config {
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![TokenGrant::full_access(TOKEN, 1)],
    );
    config.admin_token = Some(ADMIN.to_owned());
    config
}

fn rule(route: &str, rate: f64, error: Option<FaultKind>) -> FaultRule {
    FaultRule {
        route: route.to_owned(),
        method: None,
        rate,
        latency_ms: None,
        error,
    }
}

async fn with_rules(rules: Vec<FaultRule>) -> TestApp {
    let mut config = config();
    config.faults = FaultSettings {
        rules,
        seed: Some(7),
    };
    spawn_with(config).await
}

/// A request with the portal token and extra headers; `Err` when no answer came back.
async fn send_with(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<reqwest::Response, reqwest::Error> {
    // A fresh client: a dropped connection must not be retried on another pooled one.
    let mut request = reqwest::Client::new()
        .request(method, app.url(path))
        .bearer_auth(TOKEN);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await
}

#[tokio::test]
async fn rate_one_always_gives_hubspots_429() {
    let app = with_rules(vec![
        rule(CALLS, 1.0, Some(FaultKind::RateLimited)),
        rule(SEARCH, 1.0, Some(FaultKind::RateLimited)),
    ])
    .await;
    for _ in 0..3 {
        let refused = app.get(CALLS).await;
        assert_eq!(refused.status, 429, "{}", refused.text);
        assert_eq!(
            refused.body["message"],
            "You have reached your ten_secondly_rolling limit."
        );
        assert_eq!(refused.body["errorType"], "RATE_LIMIT");
        assert_eq!(refused.body["policyName"], "TEN_SECONDLY_ROLLING");
        assert_eq!(
            refused.body["groupName"],
            "publicapi:private_app-api-calls-ten-secondly:1:1"
        );
        assert_eq!(
            refused.headers["x-hubspot-correlation-id"]
                .to_str()
                .unwrap(),
            refused.body["correlationId"].as_str().unwrap()
        );
        assert_eq!(
            refused.headers["content-type"],
            "application/json;charset=utf-8"
        );
    }
    // Search answers with its own ("secondly") 429, as HubSpot's does.
    let search = app.post(SEARCH, json!({})).await;
    search.assert_error(429, "RATE_LIMITS");
    assert_eq!(
        search.body["message"],
        "You have reached your secondly limit."
    );
    // Routes no rule names are untouched.
    assert_eq!(app.get(&format!("{CALLS}/1")).await.status, 404);
    let metrics = reqwest::get(app.url("/metrics")).await.unwrap();
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("hubcalls_faults_injected_total{kind=\"429\"} 4"),
        "{text}"
    );
}

#[tokio::test]
async fn rate_zero_never_fires() {
    let app = with_rules(vec![rule(CALLS, 0.0, Some(FaultKind::Internal))]).await;
    for _ in 0..30 {
        assert_eq!(app.get(CALLS).await.status, 200);
    }
}

#[tokio::test]
async fn configured_latency_delays_only_matching_methods() {
    let mut slow = rule("/crm/v3/objects/calls*", 1.0, None);
    slow.method = Some("GET".to_owned());
    slow.latency_ms = Some(FaultLatency::Range([300, 350]));
    let app = with_rules(vec![slow]).await;
    let started = Instant::now();
    assert_eq!(app.get(CALLS).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // A POST matches the path but not the method: answered as usual.
    let search = app.post(SEARCH, json!({})).await;
    assert_eq!(search.status, 200);
}

#[tokio::test]
async fn five_hundreds_look_like_hubspots() {
    let app = with_rules(vec![
        rule(
            "/crm/v3/objects/calls/batch/read",
            1.0,
            Some(FaultKind::Internal),
        ),
        rule(
            "/crm/v3/objects/calls/batch/create",
            1.0,
            Some(FaultKind::Unavailable),
        ),
        rule(
            "/crm/v3/objects/calls/batch/update",
            1.0,
            Some(FaultKind::BadGateway),
        ),
        rule(
            "/crm/v3/objects/calls/batch/upsert",
            1.0,
            Some(FaultKind::GatewayTimeout),
        ),
    ])
    .await;
    let body = json!({"inputs": []});
    app.post("/crm/v3/objects/calls/batch/read", body.clone())
        .await
        .assert_error(500, "INTERNAL_ERROR");
    app.post("/crm/v3/objects/calls/batch/create", body.clone())
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");
    // The gateways in front of HubSpot answer 502 and 504 with an HTML page, not JSON.
    for (path, status) in [("update", 502), ("upsert", 504)] {
        let reply = send_with(
            &app,
            Method::POST,
            &format!("/crm/v3/objects/calls/batch/{path}"),
            &[],
        )
        .await
        .unwrap();
        assert_eq!(reply.status().as_u16(), status);
        assert_eq!(reply.headers()["content-type"], "text/html");
        let page = reply.text().await.unwrap();
        assert!(page.contains(&format!("<h1>{status} ")), "{page}");
    }
}

#[tokio::test]
async fn dropped_connections_get_no_answer_and_the_server_goes_on() {
    let app = with_rules(vec![rule(SEARCH, 1.0, Some(FaultKind::Drop))]).await;
    for _ in 0..3 {
        let outcome = send_with(&app, Method::POST, SEARCH, &[]).await;
        let error = outcome.expect_err("no answer");
        assert!(!error.is_status(), "{error:?}");
    }
    assert_eq!(app.get(CALLS).await.status, 200);
}

#[tokio::test]
async fn requested_faults_need_the_admin_token() {
    let app = spawn_with(config()).await;
    let asked = [("x-hubcalls-fault", "status=503")];
    // Without the admin token, or with a wrong one, the header is refused outright.
    for headers in [
        &asked[..],
        &[
            ("x-hubcalls-fault", "status=503"),
            ("x-hubcalls-admin-token", "guess"),
        ][..],
    ] {
        let reply = send_with(&app, Method::GET, CALLS, headers).await.unwrap();
        assert_eq!(reply.status(), 403);
        let body: Value = reply.json().await.unwrap();
        assert_eq!(body["category"], "MISSING_SCOPES");
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains("X-Hubcalls-Admin-Token"));
    }
    let with_admin = |fault: &'static str| {
        [
            ("x-hubcalls-fault", fault),
            ("x-hubcalls-admin-token", ADMIN),
        ]
    };
    let unavailable = send_with(&app, Method::GET, CALLS, &with_admin("status=503"))
        .await
        .unwrap();
    assert_eq!(unavailable.status(), 503);
    let limited = send_with(&app, Method::GET, CALLS, &with_admin("status=429-daily"))
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["policyName"], "DAILY");
    let started = Instant::now();
    let slow = send_with(&app, Method::GET, CALLS, &with_admin("latency=250"))
        .await
        .unwrap();
    assert_eq!(slow.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert!(send_with(&app, Method::GET, CALLS, &with_admin("drop"))
        .await
        .is_err());
    let unreadable = send_with(&app, Method::GET, CALLS, &with_admin("status=418"))
        .await
        .unwrap();
    assert_eq!(unreadable.status(), 400);
    // Without the header, nothing happens.
    assert_eq!(app.get(CALLS).await.status, 200);
}

#[tokio::test]
async fn requested_faults_are_off_without_an_admin_token() {
    let mut config = config();
    config.admin_token = None;
    let app = spawn_with(config).await;
    let reply = send_with(
        &app,
        Method::GET,
        CALLS,
        &[("x-hubcalls-fault", "drop"), ("x-hubcalls-admin-token", "")],
    )
    .await
    .unwrap();
    assert_eq!(reply.status(), 403);
}

#[tokio::test]
async fn admin_api_sets_and_clears_rules() {
    let app = spawn_with(config()).await;
    let admin = |method: Method, body: Option<Value>| {
        let mut request = reqwest::Client::new()
            .request(method, app.url("/_hubcalls/faults"))
            .bearer_auth(ADMIN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let rules = json!({"rules": [{"route": CALLS, "method": "GET", "error": "503"}], "seed": 3});
    let set = admin(Method::PUT, Some(rules)).await.unwrap();
    assert_eq!(set.status(), 200);
    let shown: Value = set.json().await.unwrap();
    assert_eq!(shown["rules"][0]["error"], "503");
    assert_eq!(shown["rules"][0]["rate"], 1.0);
    app.get(CALLS)
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");
    let listed: Value = admin(Method::GET, None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["rules"].as_array().unwrap().len(), 1);

    let bad = admin(
        Method::PUT,
        Some(json!({"rules": [{"route": "*", "rate": 2, "error": "500"}]})),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("between 0 and 1"));

    assert_eq!(admin(Method::DELETE, None).await.unwrap().status(), 204);
    assert_eq!(app.get(CALLS).await.status, 200);
    // Portal tokens do not reach the admin API.
    app.get("/_hubcalls/faults")
        .await
        .assert_error(401, "INVALID_AUTHENTICATION");
}

// ----- search-index lag -----------------------------------------------------------------

const LAG: Duration = Duration::from_millis(1000);

async fn lagging_app() -> TestApp {
    let mut config = config();
    config.search_limits.index_lag_ms = LAG.as_millis() as u64;
    spawn_with(config).await
}

async fn search_titles(app: &TestApp, title: &str) -> (u64, Vec<String>) {
    let reply = app
        .post(
            SEARCH,
            json!({
                "filterGroups": [{"filters": [
                    {"propertyName": "hs_call_title", "operator": "EQ", "value": title}
                ]}],
                "properties": ["hs_call_title"],
            }),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let ids = reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["properties"]["hs_call_title"], title);
            r["id"].as_str().unwrap().to_owned()
        })
        .collect();
    (reply.body["total"].as_u64().unwrap(), ids)
}

#[tokio::test]
async fn search_lag_hides_a_fresh_create_until_the_lag_passes() {
    let app = lagging_app().await;
    let id = app.create_call(json!({"hs_call_title": "fresh"})).await;
    assert_eq!(search_titles(&app, "fresh").await, (0, vec![]));
    // Reads by id are never delayed.
    assert_eq!(app.get(&format!("{CALLS}/{id}")).await.status, 200);
    tokio::time::sleep(LAG * 2).await;
    assert_eq!(search_titles(&app, "fresh").await, (1, vec![id]));
}

#[tokio::test]
async fn search_lag_shows_the_previous_state_of_updates_and_archives() {
    let app = lagging_app().await;
    let id = app.create_call(json!({"hs_call_title": "before"})).await;
    tokio::time::sleep(LAG * 2).await;
    let updated = app
        .patch(
            &format!("{CALLS}/{id}"),
            json!({"properties": {"hs_call_title": "after"}}),
        )
        .await;
    assert_eq!(updated.status, 200);
    assert_eq!(search_titles(&app, "before").await, (1, vec![id.clone()]));
    assert_eq!(search_titles(&app, "after").await, (0, vec![]));
    tokio::time::sleep(LAG * 2).await;
    assert_eq!(search_titles(&app, "before").await, (0, vec![]));
    assert_eq!(search_titles(&app, "after").await, (1, vec![id.clone()]));

    assert_eq!(app.delete(&format!("{CALLS}/{id}")).await.status, 204);
    assert_eq!(search_titles(&app, "after").await, (1, vec![id.clone()]));
    tokio::time::sleep(LAG * 2).await;
    assert_eq!(search_titles(&app, "after").await, (0, vec![]));
}

#[tokio::test]
async fn search_lag_merges_settled_and_changed_calls_in_order_across_pages() {
    let app = lagging_app().await;
    let mut ids = Vec::new();
    for title in ["lag-a", "lag-b", "lag-c"] {
        ids.push(app.create_call(json!({"hs_call_title": title})).await);
    }
    tokio::time::sleep(LAG * 2).await;
    let updated = app
        .patch(
            &format!("{CALLS}/{}", ids[1]),
            json!({"properties": {"hs_call_title": "lag-z"}}),
        )
        .await;
    assert_eq!(updated.status, 200);
    let page = |after: Option<&str>| {
        let mut body = json!({
            "filterGroups": [{"filters": [
                {"propertyName": "hs_call_title", "operator": "CONTAINS_TOKEN", "value": "lag-*"}
            ]}],
            "sorts": [{"propertyName": "hs_call_title", "direction": "ASCENDING"}],
            "properties": ["hs_call_title"],
            "limit": 2,
        });
        if let Some(after) = after {
            body["after"] = json!(after);
        }
        app.post(SEARCH, body)
    };
    let titles = |reply: &common::Reply| -> Vec<String> {
        reply.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["properties"]["hs_call_title"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let first = page(None).await;
    assert_eq!(first.body["total"], 3, "{}", first.text);
    assert_eq!(titles(&first), ["lag-a", "lag-b"]);
    let after = first.body["paging"]["next"]["after"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = page(Some(&after)).await;
    assert_eq!(titles(&second), ["lag-c"]);
}
