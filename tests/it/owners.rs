//! The owners API, fed from the configuration file's `[[owners]]`, and owner values on
//! writes checked against it.

use crate::common;

use common::{spawn_with, TestApp, OTHER_PORTAL_TOKEN, TOKEN};
use hubcalls::config::{Config, ServeArgs, TokenGrant};
use reqwest::Method;
use serde_json::{json, Value};

/// A token of portal 1 that may read contacts but not owners.
const NO_OWNERS_TOKEN: &str = "pat-test-no-owners";

const CONFIG: &str = r#"
[[tokens]]
token = "pat-test-portal-1"
portal = 1

[[tokens]]
token = "pat-test-portal-2"
portal = 2

[[tokens]]
token = "pat-test-no-owners"
portal = 1
scopes = ["crm.objects.contacts.read"]

[[owners]]
portal = 1
id = 41629779
email = "ada@example.com"
firstName = "Ada"
lastName = "Lovelace"
userId = 9586504
createdAt = "2019-12-25T13:01:35.228Z"
updatedAt = "2020-01-02T10:00:00Z"
teams = [{ id = 178588, name = "West Coast Sales", primary = true }, { id = "178590", name = "California Sales" }]

[[owners]]
portal = 1
id = "300"
email = "queue@example.com"
type = "QUEUE"

[[owners]]
portal = 1
id = 7
email = "gone@example.com"
first_name = "Gone"
user_id = 11
archived = true

[[owners]]
portal = 3
id = 999
email = "elsewhere@example.com"
"#;

/// A server started from `CONFIG` as an operator would write it.
async fn spawn_configured() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hubcalls.toml");
    std::fs::write(&path, CONFIG).unwrap();
    let config = Config::resolve(ServeArgs {
        config: Some(path),
        in_memory: true,
        listen: Some("127.0.0.1:0".parse().unwrap()),
        ..ServeArgs::default()
    })
    .expect("the documented configuration reads");
    spawn_with(config).await
}

fn ids(body: &Value) -> Vec<&str> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn owners_are_listed_in_hubspots_shape() {
    let app = spawn_configured().await;
    let reply = app.get("/crm/v3/owners").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(ids(&reply.body), ["300", "41629779"]);
    assert!(reply.body.get("paging").is_none(), "{}", reply.text);
    assert_eq!(
        reply.body["results"][1],
        json!({
            "id": "41629779",
            "email": "ada@example.com",
            "type": "PERSON",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "userId": 9586504,
            "userIdIncludingInactive": 9586504,
            "createdAt": "2019-12-25T13:01:35.228Z",
            "updatedAt": "2020-01-02T10:00:00Z",
            "archived": false,
            "teams": [
                {"id": "178588", "name": "West Coast Sales", "primary": true},
                {"id": "178590", "name": "California Sales", "primary": false}
            ]
        })
    );
    let queue = &reply.body["results"][0];
    assert_eq!(queue["type"], "QUEUE");
    assert_eq!(queue["userId"], Value::Null);
    assert!(queue.get("teams").is_none());
    // The trailing-slash spelling many clients use.
    let slash = app.get("/crm/v3/owners/").await;
    assert_eq!(slash.status, 200, "{}", slash.text);
    assert_eq!(ids(&slash.body), ["300", "41629779"]);

    // Archived owners only with `archived=true`; their user id moves to
    // `userIdIncludingInactive`.
    let archived = app.get("/crm/v3/owners?archived=true").await;
    assert_eq!(ids(&archived.body), ["7"]);
    assert_eq!(archived.body["results"][0]["userId"], Value::Null);
    assert_eq!(archived.body["results"][0]["userIdIncludingInactive"], 11);
    assert_eq!(archived.body["results"][0]["archived"], true);

    let by_email = app.get("/crm/v3/owners?email=ADA%40example.com").await;
    assert_eq!(ids(&by_email.body), ["41629779"]);
    let nobody = app.get("/crm/v3/owners?email=nobody%40example.com").await;
    assert_eq!(nobody.body, json!({"results": []}));

    // Another portal sees its own owners (none), never portal 1's.
    let other = app
        .send_raw(
            Method::GET,
            "/crm/v3/owners",
            Some(OTHER_PORTAL_TOKEN),
            None,
        )
        .await;
    assert_eq!(other.status, 200);
    assert_eq!(other.body, json!({"results": []}));
}

#[tokio::test]
async fn owner_pages_follow_after_and_limit() {
    let app = spawn_configured().await;
    let first = app.get("/crm/v3/owners?limit=1").await;
    assert_eq!(ids(&first.body), ["300"]);
    let next = &first.body["paging"]["next"];
    assert_eq!(next["after"], "41629779");
    let link = next["link"].as_str().unwrap();
    assert!(
        link.ends_with("/crm/v3/owners?limit=1&after=41629779"),
        "{link}"
    );
    let second = app.get("/crm/v3/owners?limit=1&after=41629779").await;
    assert_eq!(ids(&second.body), ["41629779"]);
    assert!(second.body.get("paging").is_none());
    // Past HubSpot's maximum of 500 the page is simply the largest one.
    let big = app.get("/crm/v3/owners?limit=100000").await;
    assert_eq!(big.status, 200);
    app.get("/crm/v3/owners?after=abc")
        .await
        .assert_error(400, "VALIDATION_ERROR");
    app.get("/crm/v3/owners?limit=-1")
        .await
        .assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn one_owner_by_id_or_user_id() {
    let app = spawn_configured().await;
    let reply = app.get("/crm/v3/owners/41629779").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["email"], "ada@example.com");
    let by_user = app.get("/crm/v3/owners/9586504?idProperty=userId").await;
    assert_eq!(by_user.status, 200, "{}", by_user.text);
    assert_eq!(by_user.body["id"], "41629779");

    let archived = app.get("/crm/v3/owners/7?archived=true").await;
    assert_eq!(archived.status, 200, "{}", archived.text);
    assert_eq!(archived.body["archived"], true);
    for path in [
        "/crm/v3/owners/7",
        "/crm/v3/owners/12345",
        "/crm/v3/owners/abc",
        "/crm/v3/owners/41629779?idProperty=userId",
        "/crm/v3/owners/999",
    ] {
        let missing = app.get(path).await;
        let error = missing.assert_error(404, "OBJECT_NOT_FOUND");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .starts_with("No owner with"),
            "{path}: {error}"
        );
    }
    app.get("/crm/v3/owners/7?idProperty=email")
        .await
        .assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn owners_need_their_scope() {
    let app = spawn_configured().await;
    app.send_raw(Method::GET, "/crm/v3/owners", None, None)
        .await
        .assert_error(401, "INVALID_AUTHENTICATION");
    for path in ["/crm/v3/owners", "/crm/v3/owners/41629779"] {
        let reply = app
            .send_raw(Method::GET, path, Some(NO_OWNERS_TOKEN), None)
            .await;
        let error = reply.assert_error(403, "MISSING_SCOPES");
        assert_eq!(
            error["errors"][0]["context"]["requiredGranularScopes"],
            json!(["crm.objects.owners.read"])
        );
    }
    // The API is read-only.
    app.post("/crm/v3/owners", json!({}))
        .await
        .assert_error(405, "VALIDATION_ERROR");
}

#[tokio::test]
async fn owner_values_must_name_a_configured_owner() {
    let app = spawn_configured().await;
    let contact = |owner: &str| json!({"properties": {"email": format!("c{owner}@example.com"), "hubspot_owner_id": owner}});
    let reply = app.post("/crm/v3/objects/contacts", contact("12345")).await;
    let error = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        error["errors"],
        json!([{
            "message": "12345 was not a valid owner ID",
            "code": "INVALID_OWNER_ID",
            "context": {"propertyName": ["hubspot_owner_id"]}
        }])
    );
    assert!(error["message"]
        .as_str()
        .unwrap()
        .starts_with("Property values were not valid: [{\"isValid\":false,\"message\":\"12345 was not a valid owner ID\",\"error\":\"INVALID_OWNER_ID\""));
    // Not even a number: still HubSpot's owner error, not an option error.
    let reply = app.post("/crm/v3/objects/contacts", contact("ada")).await;
    assert_eq!(
        reply.assert_error(400, "VALIDATION_ERROR")["errors"][0]["code"],
        "INVALID_OWNER_ID"
    );
    // Another portal's owner is not one of this portal's.
    let reply = app.post("/crm/v3/objects/contacts", contact("999")).await;
    reply.assert_error(400, "VALIDATION_ERROR");

    // Configured owners, archived ones included, are accepted on every type.
    for owner in ["41629779", "300", "7"] {
        let reply = app.post("/crm/v3/objects/contacts", contact(owner)).await;
        assert_eq!(reply.status, 201, "{owner}: {}", reply.text);
        assert_eq!(reply.body["properties"]["hubspot_owner_id"], owner);
    }
    let call = app
        .create_call(json!({"hubspot_owner_id": "41629779"}))
        .await;
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{call}"),
            json!({"properties": {"hubspot_owner_id": "8"}}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    // Clearing the owner is always fine.
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{call}"),
            json!({"properties": {"hubspot_owner_id": ""}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    // Batches report the owner problem like any other property problem.
    let reply = app
        .post(
            "/crm/v3/objects/deals/batch/create",
            json!({"inputs": [
                {"properties": {"dealname": "a", "dealstage": "closedwon", "hubspot_owner_id": "300"}, "objectWriteTraceId": "ok"},
                {"properties": {"dealname": "b", "dealstage": "closedwon", "hubspot_owner_id": "301"}, "objectWriteTraceId": "bad"}
            ]}),
        )
        .await;
    assert_eq!(reply.status, 207, "{}", reply.text);
    assert_eq!(reply.body["numErrors"], 1);
    assert_eq!(
        reply.body["errors"][0]["context"]["objectWriteTraceId"],
        json!(["bad"])
    );

    // A portal without configured owners keeps accepting any numeric owner id.
    let reply = app
        .send_raw(
            Method::POST,
            "/crm/v3/objects/contacts",
            Some(OTHER_PORTAL_TOKEN),
            Some(contact("12345").to_string()),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

#[tokio::test]
async fn invalid_owner_settings_stop_the_start() {
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![TokenGrant::full_access(TOKEN, 1)],
    );
    let twice = "[[owners]]\nportal = 1\nid = 5\n[[owners]]\nportal = 1\nid = 5";
    #[derive(serde::Deserialize)]
    struct File {
        owners: Vec<hubcalls::crm::owners::OwnerSettings>,
    }
    config.owners = toml::from_str::<File>(twice).unwrap().owners;
    let error = hubcalls::App::build(config).await.err().expect("refused");
    assert!(error.to_string().contains("configured twice"), "{error}");
}
