//! Every endpoint of openapi/hubcalls.yaml (the description of all routes the server
//! serves) is checked for authentication, scopes and portal isolation, so a new endpoint
//! cannot skip the checks without this test noticing.

use crate::common;

use common::{spawn_app, TestApp, OTHER_PORTAL_TOKEN, READ_ONLY_TOKEN};
use reqwest::Method;
use serde_json::json;

const OPENAPI: &str = include_str!("../../openapi/hubcalls.yaml");

/// (method, path template) of every operation in the description.
fn operations() -> Vec<(Method, String)> {
    let mut operations = Vec::new();
    let mut path = None;
    for line in OPENAPI.lines() {
        if let Some(p) = line.strip_prefix("  /").and_then(|p| p.strip_suffix(':')) {
            path = Some(format!("/{p}"));
            continue;
        }
        let method = match line.trim_end() {
            "    get:" => Method::GET,
            "    post:" => Method::POST,
            "    put:" => Method::PUT,
            "    patch:" => Method::PATCH,
            "    delete:" => Method::DELETE,
            _ => continue,
        };
        if let Some(path) = &path {
            operations.push((method, path.clone()));
        }
    }
    operations
}

fn is_write(method: &Method, path: &str) -> bool {
    match *method {
        Method::GET => false,
        Method::POST => !(path.ends_with("/search") || path.ends_with("/batch/read")),
        _ => true,
    }
}

/// Resources of portal 1 that the paths address.
struct Fixture {
    call: String,
    property: String,
    group: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let call = app
        .create_call(json!({"hs_call_title": "portal one"}))
        .await;
    let group = app
        .post(
            "/crm/v3/properties/calls/groups",
            json!({"name": "portal_one", "label": "P1"}),
        )
        .await;
    assert_eq!(group.status, 201);
    let property = app
        .post(
            "/crm/v3/properties/calls",
            json!({"name": "portal_one_id", "label": "P1", "type": "string", "fieldType": "text", "groupName": "call"}),
        )
        .await;
    assert_eq!(property.status, 201);
    Fixture {
        call,
        property: "portal_one_id".to_owned(),
        group: "portal_one".to_owned(),
    }
}

fn concrete(template: &str, fixture: &Fixture) -> String {
    template
        .replace("{callId}", &fixture.call)
        .replace("{toObjectType}", "contacts")
        .replace("{toObjectId}", "1")
        .replace("{associationType}", "194")
        .replace("{propertyName}", &fixture.property)
        .replace("{groupName}", &fixture.group)
        .replace("{ownerId}", "1")
        // A type the read-only token may read (calls have no pipelines: a 400, not a 403).
        .replace("{objectType}", "calls")
        .replace("{pipelineId}", "default")
}

fn body_for(method: &Method, path: &str) -> Option<String> {
    match *method {
        Method::GET | Method::DELETE => None,
        Method::PUT if path.starts_with("/crm/v4/objects/") && !path.contains("/default/") => {
            Some("[]".to_owned())
        }
        _ => Some("{}".to_owned()),
    }
}

#[tokio::test]
async fn every_endpoint_needs_a_token_and_the_right_scope() {
    let app = spawn_app().await;
    let fixture = fixture(&app).await;
    let operations = operations();
    assert!(
        operations.len() >= 35,
        "only {} operations parsed",
        operations.len()
    );
    for (method, template) in &operations {
        let path = concrete(template, &fixture);
        let body = body_for(method, template);
        let anonymous = app
            .send_raw(method.clone(), &path, None, body.clone())
            .await;
        anonymous.assert_error(401, "INVALID_AUTHENTICATION");
        let wrong = app
            .send_raw(method.clone(), &path, Some("pat-wrong"), body.clone())
            .await;
        wrong.assert_error(401, "INVALID_AUTHENTICATION");
        let read_only = app
            .send_raw(method.clone(), &path, Some(READ_ONLY_TOKEN), body)
            .await;
        if is_write(method, template) {
            read_only.assert_error(403, "MISSING_SCOPES");
        } else {
            assert!(
                !matches!(read_only.status.as_u16(), 401 | 403),
                "{method} {path}: read-only token refused with {}",
                read_only.status
            );
        }
    }
}

#[tokio::test]
async fn no_endpoint_reaches_another_portals_records() {
    let app = spawn_app().await;
    let fixture = fixture(&app).await;
    for (method, template) in operations() {
        let addresses_record = ["{callId}", "{propertyName}", "{groupName}"]
            .iter()
            .any(|p| template.contains(p));
        if !addresses_record {
            continue;
        }
        let path = concrete(&template, &fixture);
        let body = body_for(&method, &template);
        let reply = app
            .send_raw(method.clone(), &path, Some(OTHER_PORTAL_TOKEN), body)
            .await;
        // DELETE of an unknown call is HubSpot's 204; it must still leave the call alone.
        if method == Method::DELETE && template == "/crm/v3/objects/calls/{callId}" {
            assert_eq!(reply.status, 204);
            continue;
        }
        assert!(
            matches!(reply.status.as_u16(), 400 | 404 | 204),
            "{method} {path} from portal 2 answered {}: {}",
            reply.status,
            reply.text
        );
        if reply.status == 204 {
            continue;
        }
        assert_eq!(reply.body["status"], "error", "{method} {path}");
    }
    // Portal 1 still sees all of it, unchanged.
    let call = app
        .get(&format!(
            "/crm/v3/objects/calls/{}?properties=hs_call_title&associations=contacts",
            fixture.call
        ))
        .await;
    assert_eq!(call.status, 200);
    assert_eq!(call.body["properties"]["hs_call_title"], "portal one");
    assert!(call.body.get("associations").is_none(), "{}", call.text);
    let property = app
        .get(&format!("/crm/v3/properties/calls/{}", fixture.property))
        .await;
    assert_eq!(property.status, 200);
    let group = app
        .get(&format!(
            "/crm/v3/properties/calls/groups/{}",
            fixture.group
        ))
        .await;
    assert_eq!(group.status, 200);
}

/// Every endpoint of the admin API (which openapi/hubcalls.yaml leaves out: it describes
/// HubSpot's paths). Add new admin endpoints here.
fn admin_endpoints() -> Vec<(Method, &'static str, Option<&'static str>)> {
    vec![
        (Method::DELETE, "/_hubcalls/portals/1", None),
        (Method::POST, "/_hubcalls/portals/1/fixtures", Some("")),
        (
            Method::POST,
            "/_hubcalls/portals/1/fixtures?reset=true",
            Some(""),
        ),
        (Method::GET, "/_hubcalls/portals/1/export", None),
        (Method::GET, "/_hubcalls/portals/1/validation-rules", None),
        (
            Method::PUT,
            "/_hubcalls/portals/1/validation-rules",
            Some(r#"{"deals": {"requiredOnCreate": ["amount"]}}"#),
        ),
        (
            Method::DELETE,
            "/_hubcalls/portals/1/validation-rules",
            None,
        ),
    ]
}

#[tokio::test]
async fn every_admin_endpoint_takes_the_admin_token_and_nothing_else() {
    use hubcalls::config::{Config, TokenGrant};
    const ADMIN: &str = "admin-enumeration-secret";
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![TokenGrant::full_access(common::TOKEN, 1)],
    );
    config.admin_token = Some(ADMIN.to_owned());
    let app = common::spawn_with(config).await;
    let off = spawn_app().await;
    for (method, path, body) in admin_endpoints() {
        let body = body.map(str::to_owned);
        for token in [None, Some(common::TOKEN), Some("pat-wrong")] {
            app.send_raw(method.clone(), path, token, body.clone())
                .await
                .assert_error(401, "INVALID_AUTHENTICATION");
        }
        off.send_raw(method.clone(), path, Some(ADMIN), body.clone())
            .await
            .assert_error(404, "OBJECT_NOT_FOUND");
        let admitted = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(ADMIN)
            .body(body.unwrap_or_default())
            .send()
            .await
            .unwrap();
        assert!(
            admitted.status().is_success(),
            "{method} {path} with the admin token answered {}",
            admitted.status()
        );
    }
}
