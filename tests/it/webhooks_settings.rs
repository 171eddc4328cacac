//! Webhook settings: subscriptions from the config file, and the admin API that checks them
//! and its token.

use crate::common::{spawn_with, TOKEN};
use crate::webhooks_support::{
    assert_signed, config, fast_delivery, target, Receiver, ADMIN, APP_ID, SECRET,
};
use hubcalls::webhooks::{SubscriptionSettings, WebhookSettings};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn subscriptions_can_come_from_the_config_file() {
    let (receiver, address) = Receiver::start(0).await;
    let mut config = config(fast_delivery());
    config.webhooks = vec![WebhookSettings {
        portal: Some(1),
        target_url: target(address),
        app_id: APP_ID,
        client_secret: SECRET.to_owned(),
        max_concurrent_requests: 5,
        subscriptions: vec![SubscriptionSettings {
            subscription_type: "object.creation".to_owned(),
            property_name: None,
            object_type_id: None,
            active: true,
        }],
    }];
    let app = spawn_with(config).await;
    let id = app.create_call(json!({})).await;
    let requests = receiver.wait_for("the creation", |r| !r.is_empty()).await;
    assert_signed(&requests[0], address);
    assert_eq!(requests[0].events()[0]["objectId"].to_string(), id);
}

#[tokio::test]
async fn the_admin_api_checks_settings_and_its_token() {
    let app = spawn_with(config(fast_delivery())).await;
    let path = "/_hubcalls/portals/1/webhooks";
    let good = json!({
        "targetUrl": "http://127.0.0.1:9/hook",
        "appId": 5,
        "clientSecret": "s",
        "subscriptions": [{"subscriptionType": "object.creation"}],
    });
    for token in [None, Some(TOKEN)] {
        app.send_raw(Method::PUT, path, token, Some(good.to_string()))
            .await
            .assert_error(401, "INVALID_AUTHENTICATION");
    }
    app.send_raw(Method::GET, path, Some(ADMIN), None)
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");

    let bad = |change: Value| {
        let mut body = good.clone();
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        body.to_string()
    };
    for (body, expected) in [
        (
            bad(json!({"subscriptions": [{"subscriptionType": "call.creation"}]})),
            "use object.<event> with an objectTypeId, or <object>.<event> for contact, company, deal, ticket, product, line_item, where <event> is one of creation, propertyChange, deletion, associationChange",
        ),
        (
            bad(
                json!({"subscriptions": [{"subscriptionType": "object.creation", "propertyName": "x"}]}),
            ),
            "propertyName is only for propertyChange subscriptions",
        ),
        (
            bad(
                json!({"subscriptions": [{"subscriptionType": "object.creation", "objectTypeId": "0-999"}]}),
            ),
            "names no object type hubcalls serves",
        ),
        (
            bad(
                json!({"subscriptions": [{"subscriptionType": "deal.creation", "objectTypeId": "0-1"}]}),
            ),
            "contradicts deal.creation",
        ),
        (
            bad(json!({"targetUrl": "https://example.com/hook"})),
            "plain http only",
        ),
        (bad(json!({"targetUrl": "not a url"})), "targetUrl"),
        (
            bad(json!({"clientSecret": ""})),
            "clientSecret must not be empty",
        ),
        (bad(json!({"portal": 2})), "differs from portal 1"),
        (bad(json!({"colour": "blue"})), "colour"),
    ] {
        let reply = app
            .send_raw(Method::PUT, path, Some(ADMIN), Some(body))
            .await;
        let error = reply.assert_error(400, "VALIDATION_ERROR");
        assert!(
            error["message"].as_str().unwrap().contains(expected),
            "{expected}: {error}"
        );
    }

    let put = app
        .send_raw(Method::PUT, path, Some(ADMIN), Some(good.to_string()))
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let got = app.send_raw(Method::GET, path, Some(ADMIN), None).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, put.body);
    assert_eq!(got.body["targetUrl"], "http://127.0.0.1:9/hook");
    assert_eq!(got.body["maxConcurrentRequests"], 10);
    assert_eq!(got.body["subscriptions"][0]["objectTypeId"], "0-48");
    assert_eq!(got.body["subscriptions"][0]["active"], true);
    assert!(got.body["subscriptions"][0]["id"].as_u64().is_some());

    let deleted = app.send_raw(Method::DELETE, path, Some(ADMIN), None).await;
    assert_eq!(deleted.status, 204);
    app.send_raw(Method::GET, path, Some(ADMIN), None)
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    app.send_raw(Method::DELETE, path, Some(ADMIN), None)
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
}
