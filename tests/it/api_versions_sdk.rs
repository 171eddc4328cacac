//! What HubSpot's date-versioned SDK (`hubspot-sdk`, tests/sdk/python_dated) met on hubcalls'
//! dated paths beyond the object APIs: the answers to endpoints the SDK offers that hubcalls
//! does not serve.

use crate::common;

use common::spawn_app;
use reqwest::Method;
use serde_json::json;

/// An endpoint the SDK offers that hubcalls does not serve, under a served version, is a
/// plain 404 naming the path the client sent, not its legacy twin, and does not claim the
/// version is unknown.
#[tokio::test]
async fn unserved_endpoints_under_a_served_version_name_the_path_sent() {
    let app = spawn_app().await;
    for (method, path) in [
        // Rewritten to a legacy twin that does not exist either.
        (
            Method::GET,
            "/crm/associations/2026-03/definitions/configurations/all",
        ),
        (
            Method::POST,
            "/crm/associations/2026-03/usage/high-usage-report/1",
        ),
        // An API hubcalls does not serve at all.
        (Method::GET, "/crm/property-validations/2026-03/0-1"),
    ] {
        let reply = app.send(method.clone(), path, Some(json!({}))).await;
        let body = reply.assert_error(404, "OBJECT_NOT_FOUND");
        assert_eq!(
            body["message"],
            format!("No endpoint matches {method} {path}"),
            "{path}"
        );
    }
    // A version hubcalls does not serve still says so.
    let unknown = app.get("/crm/objects/2027-03/calls").await;
    let body = unknown.assert_error(404, "OBJECT_NOT_FOUND");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("API version 2027-03 does not exist")),
        "{}",
        unknown.text
    );
}

/// A served path with a method it does not take: the 405 names the dated path.
#[tokio::test]
async fn a_wrong_method_on_a_dated_path_names_it() {
    let app = spawn_app().await;
    let reply = app
        .send(Method::PUT, "/crm/objects/2026-03/calls", None)
        .await;
    let body = reply.assert_error(405, "VALIDATION_ERROR");
    assert_eq!(
        body["message"],
        "Method PUT is not allowed on /crm/objects/2026-03/calls"
    );
}
