//! Operations endpoints: metrics, the OpenAPI description, and graceful shutdown.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::spawn_app;
use serde_json::json;

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = spawn_app().await;
    let id = app.create_call(json!({})).await;
    app.get(&format!("/crm/v3/objects/calls/{id}")).await;
    app.get("/crm/v3/objects/calls/999").await;
    let reply = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(reply.status(), 200);
    let text = reply.text().await.unwrap();
    assert!(text.contains(
        "hubcalls_http_requests_total{route=\"/crm/v3/objects/{object_type}/{call_id}\",method=\"GET\",status=\"200\"} 1"
    ), "{text}");
    assert!(text.contains(
        "hubcalls_http_requests_total{route=\"/crm/v3/objects/{object_type}/{call_id}\",method=\"GET\",status=\"404\"} 1"
    ), "{text}");
    assert!(text.contains(
        "hubcalls_http_requests_total{route=\"/crm/v3/objects/{object_type}\",method=\"POST\",status=\"201\"} 1"
    ), "{text}");
    assert!(text.contains("hubcalls_store_duration_seconds_count"));
    // Ids never become labels (a sample's value may hold the digits by chance: a duration
    // sum such as 0.00010000000001).
    let labelled_with_id: Vec<&str> = text
        .lines()
        .filter(|line| {
            let labels = line.rsplit_once(' ').map_or(*line, |(labels, _)| labels);
            labels.contains(&id)
        })
        .collect();
    assert!(labelled_with_id.is_empty(), "{labelled_with_id:?}");
}

#[tokio::test]
async fn the_openapi_description_is_served() {
    let app = spawn_app().await;
    let reply = app
        .client
        .get(app.url("/openapi.yaml"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let text = reply.text().await.unwrap();
    assert!(text.starts_with("openapi: 3.1"), "{}", &text[..40]);
    assert!(text.contains("/crm/v3/objects/calls/search"));
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hubcalls"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let banner: Vec<String> = (0..3).map(|_| lines.next().unwrap().unwrap()).collect();
    assert!(
        banner[0].contains("listening on http://127.0.0.1:"),
        "{banner:?}"
    );
    // With nothing configured, a token is generated, printed and kept in the data directory.
    let token = std::fs::read_to_string(dir.path().join("token")).unwrap();
    assert!(banner[2].contains(token.trim()), "{banner:?}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit status {exit:?}");
}
