//! The web console's files: served without a token, with the right types, cache validators
//! and a same-origin-only security policy, and without opening any API route.

use crate::common;

use common::{spawn_app, TestApp};
use reqwest::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    X_CONTENT_TYPE_OPTIONS,
};
use reqwest::StatusCode;
use serde_json::Value;

async fn fetch(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.expect("request")
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> &str {
    response
        .headers()
        .get(&name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("ASCII header")
}

#[tokio::test]
async fn the_console_page_is_served_at_the_root_without_a_token() {
    let app = spawn_app().await;
    for path in ["/", "/console", "/console/"] {
        let response = fetch(&app, path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, CONTENT_TYPE), "text/html; charset=utf-8");
        assert_eq!(header(&response, CACHE_CONTROL), "no-cache");
        assert_eq!(header(&response, X_CONTENT_TYPE_OPTIONS), "nosniff");
        let policy = header(&response, CONTENT_SECURITY_POLICY).to_owned();
        assert!(policy.contains("default-src 'self'"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(!policy.contains("unsafe"), "{policy}");
        assert!(
            !policy.contains("http"),
            "no other origin is allowed: {policy}"
        );
        let html = response.text().await.unwrap();
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains(r#"<script type="module" src="/console/app.js"></script>"#));
    }
}

/// Every file the page names, and every module the scripts import, is served with its type.
#[tokio::test]
async fn every_referenced_file_is_served_with_its_content_type() {
    let app = spawn_app().await;
    let html = fetch(&app, "/").await.text().await.unwrap();
    let mut files: Vec<String> = ["src=\"/console/", "href=\"/console/"]
        .iter()
        .flat_map(|marker| html.split(marker).skip(1))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect();
    assert!(
        files.len() >= 3,
        "the page links its style, script and icon: {files:?}"
    );
    let mut seen = Vec::new();
    while let Some(file) = files.pop() {
        if seen.contains(&file) {
            continue;
        }
        let response = fetch(&app, &format!("/console/{file}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{file}");
        let expected = match file.rsplit('.').next() {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("svg") => "image/svg+xml",
            other => panic!("unexpected file type {other:?}"),
        };
        assert_eq!(header(&response, CONTENT_TYPE), expected, "{file}");
        assert!(header(&response, CONTENT_SECURITY_POLICY).contains("default-src 'self'"));
        let text = response.text().await.unwrap();
        // `import ... from './x.js'`: the modules a script needs.
        files.extend(
            text.split("from './")
                .skip(1)
                .filter_map(|rest| rest.split('\'').next())
                .map(str::to_owned),
        );
        seen.push(file);
    }
    for module in ["app.js", "api.js", "search.js", "views.js", "console.css"] {
        assert!(
            seen.iter().any(|f| f == module),
            "{module} not reached: {seen:?}"
        );
    }
}

#[tokio::test]
async fn files_carry_a_validator_and_answer_304_when_unchanged() {
    let app = spawn_app().await;
    let first = fetch(&app, "/console/app.js").await;
    let etag = header(&first, ETAG).to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let other = header(&fetch(&app, "/console/api.js").await, ETAG).to_owned();
    assert_ne!(etag, other, "each file has its own validator");

    let again = app
        .client
        .get(app.url("/console/app.js"))
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&again, ETAG), etag);
    assert!(again.text().await.unwrap().is_empty());

    let stale = app
        .client
        .get(app.url("/console/app.js"))
        .header(IF_NONE_MATCH, "\"0000000000000000\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_console_file_is_a_404_envelope() {
    let app = spawn_app().await;
    for path in [
        "/console/nope.js",
        "/console/index.htm",
        "/console/app.js/x",
    ] {
        let response = fetch(&app, path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            header(&response, CONTENT_TYPE),
            "application/json;charset=utf-8"
        );
        let correlation = header(&response, "x-hubspot-correlation-id".parse().unwrap()).to_owned();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "error");
        assert_eq!(body["category"], "OBJECT_NOT_FOUND");
        assert_eq!(body["correlationId"], correlation.as_str());
        assert!(
            body["message"].as_str().unwrap().contains("console"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn writing_to_the_console_is_refused_in_the_envelope() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["category"], "VALIDATION_ERROR");
}

/// The public console leaves the API exactly as guarded as before.
#[tokio::test]
async fn the_api_still_needs_a_token() {
    let app = spawn_app().await;
    for path in [
        "/crm/v3/objects/calls",
        "/crm/v3/properties/calls",
        "/no/such/path",
    ] {
        let response = fetch(&app, path).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let with_token = app.get("/crm/v3/objects/calls").await;
    assert_eq!(with_token.status, StatusCode::OK);
}
