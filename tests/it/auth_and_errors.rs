//! Tokens, scopes, portal isolation, and the error envelope for unknown routes and ids.

use crate::common;

use common::{spawn_app, Reply, TestApp, OTHER_PORTAL_TOKEN, READ_ONLY_TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn as_token(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    app.send_raw(method, path, Some(token), body.map(|b| b.to_string()))
        .await
}

fn create_body() -> Value {
    json!({"properties": {"hs_timestamp": "1745524893000", "hs_call_title": "t"}})
}

#[tokio::test]
async fn missing_token_is_401() {
    let app = spawn_app().await;
    for (method, path, body) in [
        (Method::GET, "/crm/v3/objects/calls", None),
        (Method::POST, "/crm/v3/objects/calls", Some(create_body())),
        (Method::GET, "/crm/v3/objects/calls/1", None),
        (
            Method::POST,
            "/crm/v3/objects/calls/search",
            Some(json!({})),
        ),
    ] {
        let reply = app
            .send_raw(method.clone(), path, None, body.map(|b| b.to_string()))
            .await;
        let body = reply.assert_error(401, "INVALID_AUTHENTICATION");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Authentication credentials not found."),
            "{body}"
        );
        assert_eq!(
            reply.headers["x-hubspot-auth-failure"].to_str().unwrap(),
            "401 Unauthorized",
            "{method} {path}"
        );
    }
    // Nothing was created without a token.
    let list = app.get("/crm/v3/objects/calls").await;
    assert_eq!(list.body["results"], json!([]));
}

#[tokio::test]
async fn wrong_token_is_401() {
    let app = spawn_app().await;
    for token in ["pat-wrong", "pat-test-portal-1x", "pat-test-portal-", ""] {
        let reply = as_token(&app, token, Method::GET, "/crm/v3/objects/calls", None).await;
        reply.assert_error(401, "INVALID_AUTHENTICATION");
        assert!(reply.headers.contains_key("x-hubspot-auth-failure"));
    }
    // Not a bearer scheme.
    let reply = app
        .client
        .get(app.url("/crm/v3/objects/calls"))
        .header("authorization", format!("Basic {}", app.token))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn read_only_token_reads_but_cannot_write() {
    let app = spawn_app().await;
    let id = app.create_call(json!({"hs_call_title": "kept"})).await;
    let ro = READ_ONLY_TOKEN;

    for (method, path, body) in [
        (Method::GET, format!("/crm/v3/objects/calls/{id}"), None),
        (Method::GET, "/crm/v3/objects/calls".to_owned(), None),
        (
            Method::POST,
            "/crm/v3/objects/calls/search".to_owned(),
            Some(json!({})),
        ),
        (
            Method::POST,
            "/crm/v3/objects/calls/batch/read".to_owned(),
            Some(json!({"inputs": [{"id": id}]})),
        ),
    ] {
        let reply = as_token(&app, ro, method.clone(), &path, body).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{method} {path}: {}",
            reply.text
        );
    }

    let writes = [
        (
            Method::POST,
            "/crm/v3/objects/calls".to_owned(),
            Some(create_body()),
        ),
        (
            Method::PATCH,
            format!("/crm/v3/objects/calls/{id}"),
            Some(json!({"properties": {"hs_call_title": "changed"}})),
        ),
        (Method::DELETE, format!("/crm/v3/objects/calls/{id}"), None),
        (
            Method::POST,
            "/crm/v3/objects/calls/batch/create".to_owned(),
            Some(json!({"inputs": [create_body()]})),
        ),
        (
            Method::POST,
            "/crm/v3/objects/calls/batch/update".to_owned(),
            Some(json!({"inputs": [{"id": id, "properties": {"hs_call_title": "changed"}}]})),
        ),
        (
            Method::POST,
            "/crm/v3/objects/calls/batch/archive".to_owned(),
            Some(json!({"inputs": [{"id": id}]})),
        ),
        (
            Method::POST,
            "/crm/v3/objects/calls/gdpr-delete".to_owned(),
            Some(json!({"objectId": id})),
        ),
    ];
    for (method, path, body) in writes {
        let reply = as_token(&app, ro, method.clone(), &path, body).await;
        let body = reply.assert_error(403, "MISSING_SCOPES");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("This app hasn't been granted all required scopes"),
            "{method} {path}: {body}"
        );
        assert_eq!(
            body["errors"][0]["context"]["requiredGranularScopes"],
            json!(["crm.objects.contacts.write"])
        );
    }

    // Nothing changed.
    let reply = app
        .get(&format!(
            "/crm/v3/objects/calls/{id}?properties=hs_call_title"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["properties"]["hs_call_title"], "kept");
    let list = app.get("/crm/v3/objects/calls").await;
    assert_eq!(list.body["results"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn portals_do_not_see_each_other() {
    let app = spawn_app().await;
    let id = app
        .create_call(json!({"hs_call_title": "portal one"}))
        .await;
    let other = OTHER_PORTAL_TOKEN;
    let path = format!("/crm/v3/objects/calls/{id}");

    as_token(&app, other, Method::GET, &path, None)
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    as_token(
        &app,
        other,
        Method::GET,
        &format!("{path}?archived=true"),
        None,
    )
    .await
    .assert_error(404, "OBJECT_NOT_FOUND");
    as_token(
        &app,
        other,
        Method::PATCH,
        &path,
        Some(json!({"properties": {"hs_call_title": "hijacked"}})),
    )
    .await
    .assert_error(404, "OBJECT_NOT_FOUND");

    let list = as_token(&app, other, Method::GET, "/crm/v3/objects/calls", None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["results"], json!([]));

    let search = as_token(
        &app,
        other,
        Method::POST,
        "/crm/v3/objects/calls/search",
        Some(json!({})),
    )
    .await;
    assert_eq!(search.status, StatusCode::OK, "body: {}", search.text);
    assert_eq!(search.body["total"], 0);
    assert_eq!(search.body["results"], json!([]));

    let read = as_token(
        &app,
        other,
        Method::POST,
        "/crm/v3/objects/calls/batch/read",
        Some(json!({"inputs": [{"id": id}]})),
    )
    .await;
    assert_eq!(read.status, StatusCode::MULTI_STATUS, "body: {}", read.text);
    assert_eq!(read.body["results"], json!([]));

    let update = as_token(
        &app,
        other,
        Method::POST,
        "/crm/v3/objects/calls/batch/update",
        Some(json!({"inputs": [{"id": id, "properties": {"hs_call_title": "hijacked"}}]})),
    )
    .await;
    assert_eq!(
        update.status,
        StatusCode::MULTI_STATUS,
        "body: {}",
        update.text
    );

    // Deletes from portal 2 answer 204 but leave portal 1's call alone.
    let delete = as_token(&app, other, Method::DELETE, &path, None).await;
    assert_eq!(delete.status, StatusCode::NO_CONTENT);
    let archive = as_token(
        &app,
        other,
        Method::POST,
        "/crm/v3/objects/calls/batch/archive",
        Some(json!({"inputs": [{"id": id}]})),
    )
    .await;
    assert_eq!(archive.status, StatusCode::NO_CONTENT);
    let gdpr = as_token(
        &app,
        other,
        Method::POST,
        "/crm/v3/objects/calls/gdpr-delete",
        Some(json!({"objectId": id})),
    )
    .await;
    assert_eq!(gdpr.status, StatusCode::NO_CONTENT);

    let mine = app.get(&format!("{path}?properties=hs_call_title")).await;
    assert_eq!(mine.status, StatusCode::OK, "body: {}", mine.text);
    assert_eq!(mine.body["archived"], false);
    assert_eq!(mine.body["properties"]["hs_call_title"], "portal one");
    let search = app.post("/crm/v3/objects/calls/search", json!({})).await;
    assert_eq!(search.body["total"], 1);

    // Portal 2's own call is invisible to portal 1.
    let theirs = as_token(
        &app,
        other,
        Method::POST,
        "/crm/v3/objects/calls",
        Some(create_body()),
    )
    .await;
    assert_eq!(theirs.status, StatusCode::CREATED);
    let their_id = theirs.body["id"].as_str().unwrap();
    assert_ne!(their_id, id);
    app.get(&format!("/crm/v3/objects/calls/{their_id}"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    let list = app.get("/crm/v3/objects/calls").await;
    assert_eq!(list.body["results"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn unknown_route_is_404_envelope() {
    let app = spawn_app().await;
    for path in [
        "/crm/v3/nothing-here",
        "/crm/v3/objects/calls/1/extra/segments/here",
        // `/` itself serves the web console (tests/console.rs).
        "/no-such-page",
    ] {
        let reply = app.get(path).await;
        let body = reply.assert_error(404, "OBJECT_NOT_FOUND");
        assert!(body["message"].is_string(), "{path}: {body}");
    }
}

#[tokio::test]
async fn wrong_method_is_405_envelope() {
    let app = spawn_app().await;
    let reply = app
        .send(Method::PUT, "/crm/v3/objects/calls/1", Some(json!({})))
        .await;
    reply.assert_error(405, "VALIDATION_ERROR");
    let reply = app.get("/crm/v3/objects/calls/batch/create").await;
    reply.assert_error(405, "VALIDATION_ERROR");
}

#[tokio::test]
async fn non_numeric_id_is_404_with_hubspot_message() {
    let app = spawn_app().await;
    for (method, body) in [
        (Method::GET, None),
        (
            Method::PATCH,
            Some(json!({"properties": {"hs_call_title": "x"}})),
        ),
    ] {
        let reply = app
            .send(method.clone(), "/crm/v3/objects/calls/3f1c9d2e-uuid", body)
            .await;
        let body = reply.assert_error(404, "OBJECT_NOT_FOUND");
        assert_eq!(
            body["message"], "Object not found.  objectId are usually numeric.",
            "{method}"
        );
        assert_eq!(body["context"]["id"], json!(["3f1c9d2e-uuid"]));
    }
}

#[tokio::test]
async fn every_response_has_a_correlation_id() {
    let app = spawn_app().await;
    let id = app.create_call(json!({})).await;
    let replies = [
        app.get("/crm/v3/objects/calls").await,
        app.get(&format!("/crm/v3/objects/calls/{id}")).await,
        app.post("/crm/v3/objects/calls", create_body()).await,
        app.post("/crm/v3/objects/calls/search", json!({})).await,
        app.delete(&format!("/crm/v3/objects/calls/{id}")).await,
        app.get("/crm/v3/objects/calls/999").await,
        app.get("/no/such/route").await,
        app.send_raw(Method::GET, "/crm/v3/objects/calls", None, None)
            .await,
        app.post("/crm/v3/objects/calls", json!({})).await,
    ];
    // `/healthz` answers plain text, so it is read without `Reply`.
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let mut headers: Vec<_> = replies
        .iter()
        .map(|r| (r.status, r.headers.clone()))
        .collect();
    headers.push((health.status(), health.headers().clone()));
    let mut seen = std::collections::HashSet::new();
    for (status, headers) in &headers {
        let header = headers
            .get("x-hubspot-correlation-id")
            .unwrap_or_else(|| panic!("no correlation id on {status}"))
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(header.len(), 36, "uuid: {header}");
        assert!(
            seen.insert(header),
            "correlation ids are unique per response"
        );
    }
}

#[tokio::test]
async fn unknown_object_type_is_hubspots_400() {
    let app = spawn_app().await;
    // Something HubSpot does not know at all.
    let reply = app.get("/crm/v3/objects/widgets").await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(body["message"], "Unable to infer object type from: widgets");
    // The standard objects are served, by name or id.
    let reply = app.get("/crm/v3/objects/0-1/123").await;
    reply.assert_error(404, "OBJECT_NOT_FOUND");
}
