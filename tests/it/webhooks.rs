//! Webhooks: a local receiver checks what hubcalls sends (payloads, signatures, batching,
//! retries), and that refused writes send nothing.

use crate::common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use common::{spawn_with, TestApp, TOKEN};
use hmac::{Hmac, Mac};
use hubcalls::config::{Config, TokenGrant};
use hubcalls::webhooks::{DeliverySettings, SubscriptionSettings, WebhookSettings};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const ADMIN: &str = "admin-secret";
const SECRET: &str = "client-secret-of-app-77";
const APP_ID: u64 = 77;

/// One request the receiver got.
#[derive(Clone)]
struct Received {
    uri: String,
    headers: HeaderMap,
    body: Bytes,
    answered: u16,
}

impl Received {
    fn events(&self) -> Vec<Value> {
        serde_json::from_slice::<Value>(&self.body)
            .expect("body is JSON")
            .as_array()
            .expect("body is an array")
            .clone()
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }
}

#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    /// Requests still to be answered with a 500.
    failures_left: Arc<AtomicUsize>,
}

async fn receive(
    State(receiver): State<Receiver>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let fail = receiver
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let status = if fail {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    };
    receiver.received.lock().unwrap().push(Received {
        uri: uri.to_string(),
        headers,
        body,
        answered: status.as_u16(),
    });
    status
}

impl Receiver {
    async fn start(failures: usize) -> (Self, SocketAddr) {
        let receiver = Self::default();
        receiver.failures_left.store(failures, Ordering::SeqCst);
        let router = axum::Router::new()
            .fallback(receive)
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        (receiver, address)
    }

    fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Every event received so far (all attempts).
    fn events(&self) -> Vec<Value> {
        self.requests().iter().flat_map(Received::events).collect()
    }

    /// Waits until `done` holds for the requests received; a guard against hanging, not a
    /// measure of speed.
    async fn wait_for(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        for _ in 0..2_000 {
            let requests = self.requests();
            if done(&requests) {
                return requests;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("receiver never got {what}; got {:?}", self.events());
    }
}

fn fast_delivery() -> DeliverySettings {
    DeliverySettings {
        batch_window_ms: 20,
        retry_base_ms: 5,
        retry_cap_ms: 40,
        ..DeliverySettings::default()
    }
}

fn config(delivery: DeliverySettings) -> Config {
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![TokenGrant::full_access(TOKEN, 1)],
    );
    config.admin_token = Some(ADMIN.to_owned());
    config.webhook_delivery = delivery;
    config
}

fn target(address: SocketAddr) -> String {
    format!("http://{address}/hubspot/events?source=hubcalls")
}

async fn subscribe(app: &TestApp, address: SocketAddr, subscriptions: Value) -> Value {
    let reply = app
        .send_raw(
            Method::PUT,
            "/_hubcalls/portals/1/webhooks",
            Some(ADMIN),
            Some(
                json!({
                    "targetUrl": target(address),
                    "appId": APP_ID,
                    "clientSecret": SECRET,
                    "subscriptions": subscriptions,
                })
                .to_string(),
            ),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

/// Checks the request's v3 signature as a receiver would (and the older v1 one).
fn assert_signed(request: &Received, address: SocketAddr) {
    let timestamp = request.header("x-hubspot-request-timestamp");
    let millis: i64 = timestamp.parse().expect("timestamp is epoch millis");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        (now - millis).abs() < 5 * 60 * 1000,
        "timestamp {millis} is stale"
    );
    assert_eq!(request.uri, "/hubspot/events?source=hubcalls");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(b"POST");
    mac.update(target(address).as_bytes());
    mac.update(&request.body);
    mac.update(timestamp.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(request.header("x-hubspot-signature-v3"), expected);

    let mut v1 = Sha256::new();
    v1.update(SECRET.as_bytes());
    v1.update(&request.body);
    let v1: String = v1.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(request.header("x-hubspot-signature"), v1);
    assert_eq!(request.header("x-hubspot-signature-version"), "v1");
    assert_eq!(request.header("content-type"), "application/json");
}

fn of_type<'a>(events: &'a [Value], subscription_type: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["subscriptionType"] == subscription_type)
        .collect()
}

#[tokio::test]
async fn creation_and_property_changes_arrive_signed_and_shaped_like_hubspots() {
    let (receiver, address) = Receiver::start(0).await;
    let app = spawn_with(config(fast_delivery())).await;
    let settings = subscribe(
        &app,
        address,
        json!([
            {"subscriptionType": "object.creation"},
            {"subscriptionType": "object.propertyChange", "propertyName": "hs_call_title"},
        ]),
    )
    .await;
    let creation_sub = settings["subscriptions"][0]["id"].clone();
    let title_sub = settings["subscriptions"][1]["id"].clone();
    assert_ne!(creation_sub, title_sub);

    let id = app
        .create_call(json!({"hs_call_title": "Intro", "hs_call_body": "hello"}))
        .await;
    let requests = receiver
        .wait_for("the creation", |r| {
            r.iter().flat_map(Received::events).count() >= 2
        })
        .await;
    assert_eq!(requests.len(), 1, "one write, one batch");
    assert_signed(&requests[0], address);
    let events = requests[0].events();
    assert_eq!(events.len(), 2, "{events:?}");
    let created = of_type(&events, "object.creation")[0];
    for (field, value) in [
        ("subscriptionId", creation_sub.clone()),
        ("portalId", json!(1)),
        ("appId", json!(APP_ID)),
        ("attemptNumber", json!(0)),
        ("objectId", json!(id.parse::<u64>().unwrap())),
        ("objectTypeId", json!("0-48")),
        ("changeFlag", json!("CREATED")),
        ("changeSource", json!("INTEGRATION")),
        ("sourceId", json!("1")),
    ] {
        assert_eq!(created[field], value, "{field} in {created}");
    }
    assert!(created["eventId"].as_u64().is_some());
    assert!(created["occurredAt"].as_i64().unwrap() > 1_600_000_000_000);
    let title = of_type(&events, "object.propertyChange")[0];
    assert_eq!(title["subscriptionId"], title_sub);
    assert_eq!(title["propertyName"], "hs_call_title");
    assert_eq!(title["propertyValue"], "Intro");
    assert_eq!(title["objectId"], created["objectId"]);
    assert_eq!(title["occurredAt"], created["occurredAt"]);
    assert_ne!(title["eventId"], created["eventId"]);

    // Only the subscribed property is reported; a value that does not change is not.
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{id}"),
            json!({"properties": {"hs_call_body": "changed", "hs_call_title": "Follow-up"}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{id}"),
            json!({"properties": {"hs_call_title": "Follow-up"}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // A cleared value is reported as the empty string.
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{id}"),
            json!({"properties": {"hs_call_title": ""}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let requests = receiver
        .wait_for("two title changes", |r| {
            r.iter().flat_map(Received::events).count() >= 4
        })
        .await;
    // Separate writes may arrive in separate batches, in any order; event ids follow the
    // order of the writes.
    let mut events: Vec<Value> = requests.iter().flat_map(Received::events).collect();
    events.sort_by_key(|e| e["eventId"].as_u64());
    let changes = of_type(&events, "object.propertyChange");
    let values: Vec<&Value> = changes.iter().map(|e| &e["propertyValue"]).collect();
    assert_eq!(values, [&json!("Intro"), &json!("Follow-up"), &json!("")]);
    assert!(changes.iter().all(|e| e["propertyName"] == "hs_call_title"));
    for request in &requests {
        assert_signed(request, address);
    }
}

#[tokio::test]
async fn deletions_and_association_changes_are_reported_once() {
    let (receiver, address) = Receiver::start(0).await;
    let app = spawn_with(config(fast_delivery())).await;
    subscribe(
        &app,
        address,
        json!([
            {"subscriptionType": "object.deletion"},
            {"subscriptionType": "object.associationChange", "objectTypeId": "0-48"},
        ]),
    )
    .await;
    let first = app.create_call(json!({})).await;
    let second = app.create_call(json!({})).await;
    let contact = app.create_contact().await;
    let count = |n: usize| move |r: &[Received]| r.iter().flat_map(Received::events).count() >= n;

    let reply = app
        .send_raw(
            Method::PUT,
            &format!("/crm/v4/objects/calls/{first}/associations/default/contacts/{contact}"),
            Some(TOKEN),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    receiver.wait_for("the association", count(1)).await;
    // Associating again changes nothing, so reports nothing.
    let reply = app
        .send_raw(
            Method::PUT,
            &format!("/crm/v4/objects/calls/{first}/associations/default/contacts/{contact}"),
            Some(TOKEN),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = app
        .delete(&format!(
            "/crm/v4/objects/calls/{first}/associations/contacts/{contact}"
        ))
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    receiver.wait_for("the removal", count(2)).await;

    assert_eq!(
        app.delete(&format!("/crm/v3/objects/calls/{first}"))
            .await
            .status,
        204
    );
    receiver.wait_for("the archive", count(3)).await;
    // Archiving again, and deleting for good what is already archived, are not new deletions.
    assert_eq!(
        app.delete(&format!("/crm/v3/objects/calls/{first}"))
            .await
            .status,
        204
    );
    let gdpr = |id: &str| json!({"objectId": id});
    let reply = app
        .post("/crm/v3/objects/calls/gdpr-delete", gdpr(&first))
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    let reply = app
        .post("/crm/v3/objects/calls/gdpr-delete", gdpr(&second))
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    receiver.wait_for("the GDPR delete", count(4)).await;

    let events = receiver.events();
    assert_eq!(events.len(), 4, "{events:?}");
    let associations = of_type(&events, "object.associationChange");
    for (event, removed) in associations.iter().zip([false, true]) {
        assert_eq!(event["associationRemoved"], removed, "{event}");
        assert_eq!(event["fromObjectTypeId"], "0-48");
        assert_eq!(event["fromObjectId"], json!(first.parse::<u64>().unwrap()));
        assert_eq!(event["toObjectTypeId"], "0-1");
        assert_eq!(event["toObjectId"], json!(contact.parse::<u64>().unwrap()));
        assert_eq!(event["associationTypeId"], json!(194));
        assert_eq!(event["associationCategory"], "HUBSPOT_DEFINED");
        assert_eq!(event["associationType"], "CALL_TO_CONTACT");
    }
    let deleted: Vec<&Value> = of_type(&events, "object.deletion")
        .iter()
        .map(|e| &e["objectId"])
        .collect();
    assert_eq!(
        deleted,
        [
            &json!(first.parse::<u64>().unwrap()),
            &json!(second.parse::<u64>().unwrap())
        ]
    );
}

#[tokio::test]
async fn association_changes_are_reported_from_both_ends_for_every_type() {
    let (receiver, address) = Receiver::start(0).await;
    let app = spawn_with(config(fast_delivery())).await;
    subscribe(
        &app,
        address,
        json!([
            {"subscriptionType": "contact.associationChange"},
            {"subscriptionType": "object.associationChange", "objectTypeId": "0-2"},
        ]),
    )
    .await;
    let contact = app.create_contact().await;
    let other = app.create_contact().await;
    let company = app
        .create_record("companies", json!({"name": "Ends"}))
        .await;
    let count = |n: usize| move |r: &[Received]| r.iter().flat_map(Received::events).count() >= n;
    let reply = app
        .put(&format!(
            "/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}"
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    receiver.wait_for("both ends", count(2)).await;
    // Between two contacts: one event from each contact.
    let reply = app
        .put(&format!(
            "/crm/v4/objects/contacts/{contact}/associations/default/contacts/{other}"
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    receiver.wait_for("both contacts", count(4)).await;

    let events = receiver.events();
    let id = |text: &str| json!(text.parse::<u64>().unwrap());
    let mut seen: Vec<(String, Value, Value, Value)> = events
        .iter()
        .map(|e| {
            (
                e["subscriptionType"].as_str().unwrap().to_owned(),
                e["fromObjectId"].clone(),
                e["toObjectId"].clone(),
                e["associationTypeId"].clone(),
            )
        })
        .collect();
    seen.sort_by_key(|s| format!("{s:?}"));
    let mut expected = vec![
        (
            "contact.associationChange".to_owned(),
            id(&contact),
            id(&company),
            json!(279),
        ),
        (
            "object.associationChange".to_owned(),
            id(&company),
            id(&contact),
            json!(280),
        ),
        (
            "contact.associationChange".to_owned(),
            id(&contact),
            id(&other),
            json!(449),
        ),
        (
            "contact.associationChange".to_owned(),
            id(&other),
            id(&contact),
            json!(449),
        ),
    ];
    expected.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(seen, expected, "{events:?}");
    let company_end = of_type(&events, "object.associationChange");
    assert_eq!(company_end[0]["fromObjectTypeId"], "0-2");
    assert_eq!(company_end[0]["toObjectTypeId"], "0-1");
    assert_eq!(
        company_end[0]["associationType"],
        "COMPANY_TO_CONTACT_UNLABELED"
    );
    assert_eq!(company_end[0]["associationRemoved"], false);
}

#[tokio::test]
async fn contacts_and_deals_send_their_events_generic_and_legacy() {
    let (receiver, address) = Receiver::start(0).await;
    let app = spawn_with(config(fast_delivery())).await;
    let settings = subscribe(
        &app,
        address,
        json!([
            {"subscriptionType": "object.creation", "objectTypeId": "0-1"},
            {"subscriptionType": "object.propertyChange", "objectTypeId": "contacts", "propertyName": "firstname"},
            {"subscriptionType": "deal.creation"},
            {"subscriptionType": "deal.propertyChange", "propertyName": "dealstage"},
            {"subscriptionType": "deal.deletion"},
            {"subscriptionType": "object.creation"},
        ]),
    )
    .await;
    let types: Vec<&Value> = settings["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["objectTypeId"])
        .collect();
    assert_eq!(
        types,
        [
            &json!("0-1"),
            &json!("0-1"),
            &json!("0-3"),
            &json!("0-3"),
            &json!("0-3"),
            &json!("0-48")
        ]
    );
    let sub = |n: usize| settings["subscriptions"][n]["id"].clone();

    let contact = app
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "ada@example.com", "firstname": "Ada"}}),
        )
        .await;
    assert_eq!(contact.status, 201, "{}", contact.text);
    let contact_id: u64 = contact.body["id"].as_str().unwrap().parse().unwrap();
    let deal = app
        .post(
            "/crm/v3/objects/deals",
            json!({"properties": {"dealname": "Engine licence", "dealstage": "appointmentscheduled"}}),
        )
        .await;
    assert_eq!(deal.status, 201, "{}", deal.text);
    let deal_id: u64 = deal.body["id"].as_str().unwrap().parse().unwrap();
    let reply = app
        .patch(
            &format!("/crm/v3/objects/deals/{deal_id}"),
            json!({"properties": {"dealstage": "closedwon", "amount": "10"}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        app.delete(&format!("/crm/v3/objects/deals/{deal_id}"))
            .await
            .status,
        204
    );
    let call = app.create_call(json!({"hs_call_title": "barrier"})).await;
    let call_id: u64 = call.parse().unwrap();
    let requests = receiver
        .wait_for("the call's creation", |r| {
            r.iter()
                .flat_map(Received::events)
                .any(|e| e["objectId"] == call_id)
        })
        .await;
    for request in &requests {
        assert_signed(request, address);
    }
    let mut events = receiver.events();
    events.sort_by_key(|e| e["eventId"].as_u64());
    let of = |id: u64| -> Vec<&Value> { events.iter().filter(|e| e["objectId"] == id).collect() };

    // The contact: generic events, with the contact's type id.
    let contact_events = of(contact_id);
    assert_eq!(contact_events.len(), 2, "{contact_events:?}");
    let created = contact_events[0];
    assert_eq!(created["subscriptionType"], "object.creation");
    assert_eq!(created["subscriptionId"], sub(0));
    assert_eq!(created["objectTypeId"], "0-1");
    assert_eq!(created["changeFlag"], "CREATED");
    assert_eq!(created["changeSource"], "INTEGRATION");
    let firstname = contact_events[1];
    assert_eq!(firstname["subscriptionType"], "object.propertyChange");
    assert_eq!(firstname["objectTypeId"], "0-1");
    assert_eq!(firstname["propertyName"], "firstname");
    assert_eq!(firstname["propertyValue"], "Ada");
    assert_eq!(firstname["isSensitive"], false);

    // The deal: legacy events, which carry no objectTypeId.
    let deal_events = of(deal_id);
    let shapes: Vec<(&str, &str)> = deal_events
        .iter()
        .map(|e| {
            (
                e["subscriptionType"].as_str().unwrap(),
                e["propertyValue"]
                    .as_str()
                    .or(e["changeFlag"].as_str())
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shapes,
        [
            ("deal.creation", "CREATED"),
            ("deal.propertyChange", "appointmentscheduled"),
            ("deal.propertyChange", "closedwon"),
            ("deal.deletion", "DELETED"),
        ]
    );
    for event in &deal_events {
        assert!(event.get("objectTypeId").is_none(), "{event}");
        assert!(event.get("isSensitive").is_none(), "{event}");
        assert_eq!(event["portalId"], 1);
        assert_eq!(event["appId"], APP_ID);
    }
    assert_eq!(deal_events[0]["subscriptionId"], sub(2));
    assert_eq!(deal_events[3]["subscriptionId"], sub(4));

    // The call went to the calls subscription only; the contact and deal did not.
    let call_events = of(call_id);
    assert_eq!(call_events.len(), 1);
    assert_eq!(call_events[0]["objectTypeId"], "0-48");
    assert_eq!(call_events[0]["subscriptionId"], sub(5));
    assert_eq!(
        events.len(),
        contact_events.len() + deal_events.len() + call_events.len()
    );
}

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

#[tokio::test]
async fn refused_writes_send_nothing() {
    let (receiver, address) = Receiver::start(0).await;
    let app = spawn_with(config(fast_delivery())).await;
    let reply = app
        .post(
            "/crm/v3/properties/calls",
            json!({"name": "ext_id", "label": "Ext", "type": "string", "fieldType": "text", "groupName": "call", "hasUniqueValue": true}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    subscribe(
        &app,
        address,
        json!([
            {"subscriptionType": "object.creation"},
            {"subscriptionType": "object.propertyChange"},
            {"subscriptionType": "object.deletion"},
            {"subscriptionType": "object.associationChange"},
        ]),
    )
    .await;
    let first = app.create_call(json!({"ext_id": "a"})).await;

    // Associations with a record that does not exist (a call's id is no contact's).
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({
                "properties": {"hs_timestamp": 0},
                "associations": [{"to": {"id": first}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194}]}]
            }),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let reply = app
        .send_raw(
            Method::PUT,
            &format!("/crm/v4/objects/calls/{first}/associations/default/contacts/{first}"),
            Some(TOKEN),
            None,
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");

    // Refused by the rules (unknown property), by the store (unique value taken), and a
    // missing call.
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": 0, "no_such_property": "x"}}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": 0, "ext_id": "a"}}),
        )
        .await;
    assert!(reply.status.is_client_error(), "{}", reply.text);
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{first}"),
            json!({"properties": {"hs_call_title": "x", "hs_call_duration": "not a number"}}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let reply = app
        .patch(
            "/crm/v3/objects/calls/999999999",
            json!({"properties": {"hs_call_title": "x"}}),
        )
        .await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    assert_eq!(
        app.delete("/crm/v3/objects/calls/999999999").await.status,
        204
    );

    // A write that succeeds afterwards, to know everything before it has been sent.
    let last = app.create_call(json!({"hs_call_title": "barrier"})).await;
    receiver
        .wait_for("the last creation", |r| {
            r.iter().flat_map(Received::events).any(|e| {
                e["subscriptionType"] == "object.creation"
                    && e["objectId"] == last.parse::<u64>().unwrap()
            })
        })
        .await;
    let events = receiver.events();
    let objects: HashSet<String> = events.iter().map(|e| e["objectId"].to_string()).collect();
    assert_eq!(
        objects,
        HashSet::from([first.clone(), last.clone()]),
        "{events:?}"
    );
    assert_eq!(of_type(&events, "object.creation").len(), 2);
    assert!(of_type(&events, "object.deletion").is_empty());
    assert!(!events
        .iter()
        .any(|e| e["propertyName"] == "hs_call_title"
            && e["objectId"] == first.parse::<u64>().unwrap()));
}

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
