//! Webhook delivery: at most 100 events a request, retries until the receiver accepts, and
//! giving up after the last retry, as the attempts log shows.

use crate::common::{self, spawn_with, TestApp};
use crate::webhooks_support::{
    assert_signed, config, fast_delivery, of_type, subscribe, Received, Receiver, ADMIN,
};
use hubcalls::webhooks::DeliverySettings;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

#[tokio::test]
async fn a_request_carries_at_most_100_events() {
    let (receiver, address) = Receiver::start(0).await;
    let app = spawn_with(config(fast_delivery())).await;
    subscribe(
        &app,
        address,
        json!([
            {"subscriptionType": "object.creation"},
            {"subscriptionType": "object.propertyChange", "propertyName": "hs_call_title"},
        ]),
    )
    .await;
    let inputs: Vec<Value> = (0..100)
        .map(|n| json!({"properties": {"hs_timestamp": 0, "hs_call_title": format!("call {n}")}}))
        .collect();
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/create",
            json!({ "inputs": inputs }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let requests = receiver
        .wait_for("200 events", |r| {
            r.iter().flat_map(Received::events).count() >= 200
        })
        .await;
    let sizes: Vec<usize> = requests.iter().map(|r| r.events().len()).collect();
    assert_eq!(sizes, [100, 100]);
    let events = receiver.events();
    let ids: HashSet<u64> = events
        .iter()
        .map(|e| e["eventId"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), 200, "event ids are unique");
    assert_eq!(of_type(&events, "object.creation").len(), 100);
    for request in &requests {
        assert_signed(request, address);
    }
}

#[tokio::test]
async fn failed_deliveries_are_retried_until_accepted() {
    let (receiver, address) = Receiver::start(3).await;
    let app = spawn_with(config(fast_delivery())).await;
    subscribe(
        &app,
        address,
        json!([{"subscriptionType": "object.creation"}]),
    )
    .await;
    app.create_call(json!({})).await;
    let requests = receiver
        .wait_for("an accepted delivery", |r| {
            r.iter().any(|request| request.answered == 204)
        })
        .await;
    let answered: Vec<u16> = requests.iter().map(|r| r.answered).collect();
    assert_eq!(answered, [500, 500, 500, 204]);
    let first_id = &requests[0].events()[0]["eventId"];
    for (attempt, request) in requests.iter().enumerate() {
        let events = request.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["attemptNumber"], json!(attempt));
        assert_eq!(&events[0]["eventId"], first_id, "the same event each time");
        // Each attempt is signed anew (its body differs).
        assert_signed(request, address);
    }

    // The attempt is logged once the receiver has answered: wait for that entry.
    let log = attempts_until(&app, "DELIVERED").await;
    let attempts = log.body["results"].as_array().unwrap();
    let outcomes: Vec<&str> = attempts
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "DELIVERED",
            "RETRY_SCHEDULED",
            "RETRY_SCHEDULED",
            "RETRY_SCHEDULED"
        ]
    );
    assert_eq!(attempts[1]["statusCode"], 500);
    assert_eq!(attempts[1]["attemptNumber"], 2);
    assert!(attempts[1]["nextAttemptAt"].is_string());
    assert_eq!(attempts[0]["eventIds"], json!([first_id]));
    assert_eq!(log.body["droppedEvents"], 0);
}

/// The attempts log, once its newest entry has `outcome`.
async fn attempts_until(app: &TestApp, outcome: &str) -> common::Reply {
    for _ in 0..2_000 {
        let log = app
            .send_raw(
                Method::GET,
                "/_hubcalls/portals/1/webhooks/attempts",
                Some(ADMIN),
                None,
            )
            .await;
        assert_eq!(log.status, 200, "{}", log.text);
        if log.body["results"][0]["outcome"] == outcome {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no attempt ended with {outcome}");
}

#[tokio::test]
async fn deliveries_stop_after_the_last_retry() {
    let (receiver, address) = Receiver::start(usize::MAX).await;
    let app = spawn_with(config(DeliverySettings {
        max_retries: 2,
        ..fast_delivery()
    }))
    .await;
    subscribe(
        &app,
        address,
        json!([{"subscriptionType": "object.creation"}]),
    )
    .await;
    app.create_call(json!({})).await;
    let log = attempts_until(&app, "GAVE_UP").await;
    assert_eq!(log.body["results"].as_array().unwrap().len(), 3);
    let attempts: Vec<Value> = receiver
        .events()
        .iter()
        .map(|e| e["attemptNumber"].clone())
        .collect();
    assert_eq!(attempts, [json!(0), json!(1), json!(2)]);
}
