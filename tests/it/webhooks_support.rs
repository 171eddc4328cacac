//! The local webhook receiver and settings shared by the webhook tests (`webhooks_events`,
//! `webhooks_delivery`, `webhooks_settings`).

use crate::common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use common::{TestApp, TOKEN};
use hmac::{Hmac, Mac};
use hubcalls::config::{Config, TokenGrant};
use hubcalls::webhooks::DeliverySettings;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const ADMIN: &str = "admin-secret";
pub const SECRET: &str = "client-secret-of-app-77";
pub const APP_ID: u64 = 77;

/// One request the receiver got.
#[derive(Clone)]
pub struct Received {
    uri: String,
    headers: HeaderMap,
    body: Bytes,
    pub answered: u16,
}

impl Received {
    pub fn events(&self) -> Vec<Value> {
        serde_json::from_slice::<Value>(&self.body)
            .expect("body is JSON")
            .as_array()
            .expect("body is an array")
            .clone()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }
}

#[derive(Clone, Default)]
pub struct Receiver {
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
    pub async fn start(failures: usize) -> (Self, SocketAddr) {
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

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Every event received so far (all attempts).
    pub fn events(&self) -> Vec<Value> {
        self.requests().iter().flat_map(Received::events).collect()
    }

    /// Waits until `done` holds for the requests received; a guard against hanging, not a
    /// measure of speed.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
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

pub fn fast_delivery() -> DeliverySettings {
    DeliverySettings {
        batch_window_ms: 20,
        retry_base_ms: 5,
        retry_cap_ms: 40,
        ..DeliverySettings::default()
    }
}

pub fn config(delivery: DeliverySettings) -> Config {
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![TokenGrant::full_access(TOKEN, 1)],
    );
    config.admin_token = Some(ADMIN.to_owned());
    config.webhook_delivery = delivery;
    config
}

pub fn target(address: SocketAddr) -> String {
    format!("http://{address}/hubspot/events?source=hubcalls")
}

pub async fn subscribe(app: &TestApp, address: SocketAddr, subscriptions: Value) -> Value {
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
pub fn assert_signed(request: &Received, address: SocketAddr) {
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

pub fn of_type<'a>(events: &'a [Value], subscription_type: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["subscriptionType"] == subscription_type)
        .collect()
}
