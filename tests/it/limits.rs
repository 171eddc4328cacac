//! Request limits answer in HubSpot's envelope, and the health endpoints answer.

use crate::common;

use common::{spawn_app, spawn_with, TOKEN};
use hubcalls::config::{Config, TokenGrant};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn over_long_uris_get_414() {
    let app = spawn_app().await;
    let long = "a".repeat(20_000);
    let reply = app
        .get(&format!("/crm/v3/objects/calls?properties={long}"))
        .await;
    reply.assert_error(414, "VALIDATION_ERROR");
}

#[tokio::test]
async fn over_large_bodies_get_413_and_write_nothing() {
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![TokenGrant::full_access(TOKEN, 1)],
    );
    config.http.max_body_bytes = 1_000;
    let app = spawn_with(config).await;
    let body = json!({"properties": {"hs_timestamp": 1, "hs_call_body": "x".repeat(2_000)}});
    let reply = app.post("/crm/v3/objects/calls", body).await;
    reply.assert_error(413, "VALIDATION_ERROR");
    let list = app.get("/crm/v3/objects/calls").await;
    assert_eq!(list.body["results"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn health_and_readiness_need_no_token() {
    let app = spawn_app().await;
    let health = app.send_raw(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "ok");
    let ready = app.send_raw(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["status"], "ready");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![TokenGrant::full_access(TOKEN, 1)],
    );
    config.http.header_read_timeout_secs = 1;
    let app = spawn_with(config).await;
    let mut stream = tokio::net::TcpStream::connect(app.address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut buffer),
    )
    .await;
    assert!(read.is_ok(), "the server kept the stalled connection open");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Other clients are served meanwhile and after.
    let reply = app.get("/crm/v3/objects/calls").await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn a_full_store_answers_503_and_keeps_serving_reads() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![TokenGrant::full_access(TOKEN, 1)],
    );
    config.storage = hubcalls::config::Storage::Directory(dir.path().to_owned());
    config.max_database_bytes = Some(400 * 1024);
    let app = spawn_with(config).await;
    let body = "x".repeat(20_000);
    let mut stored = Vec::new();
    let mut refused = None;
    for _ in 0..200 {
        let reply = app
            .post(
                "/crm/v3/objects/calls",
                json!({"properties": {"hs_timestamp": 0, "hs_call_body": body}}),
            )
            .await;
        if reply.status == 201 {
            stored.push(reply.body["id"].as_str().unwrap().to_owned());
        } else {
            refused = Some(reply);
            break;
        }
    }
    let refused = refused.expect("the store never filled up");
    refused.assert_error(503, "SERVICE_UNAVAILABLE");
    assert!(!stored.is_empty());
    // The process is up, reads work, and the refused write left nothing behind.
    let list = app.get("/crm/v3/objects/calls?limit=100").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["results"].as_array().unwrap().len(), stored.len());
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 200);
    // Small writes that fit still go through once space is found (an update in place).
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{}", stored[0]),
            json!({"properties": {"hs_call_body": ""}}),
        )
        .await;
    assert!(matches!(reply.status.as_u16(), 200 | 503), "{}", reply.text);
}
