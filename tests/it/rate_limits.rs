//! HubSpot's rate limits, when switched on: headers, 429 bodies, search's own limit.

use crate::common;

use common::{spawn_with, TOKEN};
use hubcalls::config::{Config, RateLimits, Tier, TokenGrant};
use serde_json::json;

async fn limited(limits: RateLimits) -> common::TestApp {
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![TokenGrant::full_access(TOKEN, 1)],
    );
    config.rate_limits = limits;
    spawn_with(config).await
}

#[tokio::test]
async fn burst_window_headers_and_429() {
    let app = limited(RateLimits {
        tier: Some(Tier::Free),
        burst_per_ten_seconds: Some(3),
        ..RateLimits::default()
    })
    .await;
    for remaining in [2, 1, 0] {
        let reply = app.get("/crm/v3/objects/calls").await;
        assert_eq!(reply.status, 200);
        let header = |name: &str| reply.headers[name].to_str().unwrap().to_owned();
        assert_eq!(header("x-hubspot-ratelimit-max"), "3");
        assert_eq!(
            header("x-hubspot-ratelimit-remaining"),
            remaining.to_string()
        );
        assert_eq!(header("x-hubspot-ratelimit-interval-milliseconds"), "10000");
        assert_eq!(header("x-hubspot-ratelimit-daily"), "250000");
    }
    let refused = app.get("/crm/v3/objects/calls").await;
    assert_eq!(refused.status, 429);
    assert_eq!(
        refused.body["message"],
        "You have reached your ten_secondly_rolling limit."
    );
    assert_eq!(refused.body["errorType"], "RATE_LIMIT");
    assert_eq!(refused.body["policyName"], "TEN_SECONDLY_ROLLING");
    assert!(refused.body["correlationId"].is_string());
    // Search is exempt from the burst window and carries no rate-limit headers.
    let search = app.post("/crm/v3/objects/calls/search", json!({})).await;
    assert_eq!(search.status, 200);
    assert!(search
        .headers
        .get("x-hubspot-ratelimit-remaining")
        .is_none());
}

#[tokio::test]
async fn search_has_its_own_secondly_limit() {
    let app = limited(RateLimits {
        tier: Some(Tier::Professional),
        search_per_second: Some(2),
        ..RateLimits::default()
    })
    .await;
    for _ in 0..2 {
        let reply = app.post("/crm/v3/objects/calls/search", json!({})).await;
        assert_eq!(reply.status, 200);
    }
    let refused = app.post("/crm/v3/objects/calls/search", json!({})).await;
    refused.assert_error(429, "RATE_LIMITS");
    assert_eq!(
        refused.body["message"],
        "You have reached your secondly limit."
    );
    // Other endpoints are not held back by search's limit.
    assert_eq!(app.get("/crm/v3/objects/calls").await.status, 200);
}

#[tokio::test]
async fn daily_quota() {
    let app = limited(RateLimits {
        tier: Some(Tier::Enterprise),
        daily: Some(2),
        ..RateLimits::default()
    })
    .await;
    let first = app.get("/crm/v3/objects/calls").await;
    assert_eq!(first.headers["x-hubspot-ratelimit-daily"], "2");
    assert_eq!(first.headers["x-hubspot-ratelimit-daily-remaining"], "1");
    assert_eq!(first.headers["x-hubspot-ratelimit-max"], "190");
    assert_eq!(app.get("/crm/v3/objects/calls").await.status, 200);
    let refused = app.get("/crm/v3/objects/calls").await;
    assert_eq!(refused.status, 429);
    assert_eq!(
        refused.body["message"],
        "You have reached your daily limit."
    );
    assert_eq!(refused.body["policyName"], "DAILY");
}

#[tokio::test]
async fn limits_are_off_by_default() {
    let app = common::spawn_app().await;
    let reply = app.get("/crm/v3/objects/calls").await;
    assert!(reply.headers.get("x-hubspot-ratelimit-max").is_none());
}
