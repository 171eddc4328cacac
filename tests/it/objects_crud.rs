//! Every registered object type answers the object API as calls do: create, get, list,
//! update, search, batch and archive, with its own required properties, timestamps and
//! default properties. One parametrized walk per type, driven over HTTP.

use crate::common;

use std::sync::atomic::{AtomicU32, Ordering};

use common::spawn_app;
use common::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A type as a client sees it: its path name, a valid create body, a property to update
/// and a word that `query` finds in it.
struct TypeCase {
    path: &'static str,
    type_id: &'static str,
    created: &'static str,
    modified: &'static str,
    create: fn() -> Value,
    update: (&'static str, &'static str),
    query: &'static str,
    /// What a create without properties answers: `None` when it succeeds.
    required: Option<(&'static str, &'static [&'static str])>,
}

const TS: &str = "2025-04-24T20:01:33.000Z";

fn cases() -> Vec<TypeCase> {
    vec![
        TypeCase {
            path: "calls",
            type_id: "0-48",
            created: "hs_createdate",
            modified: "hs_lastmodifieddate",
            create: || json!({"hs_timestamp": TS, "hs_call_title": "Quarterly pricing call"}),
            update: ("hs_call_title", "Renewal call"),
            query: "pricing",
            required: Some(("CALL", &["hs_timestamp"])),
        },
        TypeCase {
            path: "notes",
            type_id: "0-46",
            created: "hs_createdate",
            modified: "hs_lastmodifieddate",
            create: || json!({"hs_timestamp": TS, "hs_note_body": "Pricing discussed"}),
            update: ("hs_note_body", "Follow up next week"),
            query: "pricing",
            required: Some(("NOTE", &["hs_timestamp"])),
        },
        TypeCase {
            path: "emails",
            type_id: "0-49",
            created: "hs_createdate",
            modified: "hs_lastmodifieddate",
            create: || json!({"hs_timestamp": TS, "hs_email_direction": "EMAIL", "hs_email_subject": "Pricing proposal"}),
            update: ("hs_email_subject", "Revised proposal"),
            query: "pricing",
            required: Some(("EMAIL", &["hs_timestamp", "hs_email_direction"])),
        },
        TypeCase {
            path: "meetings",
            type_id: "0-47",
            created: "hs_createdate",
            modified: "hs_lastmodifieddate",
            create: || json!({"hs_timestamp": TS, "hs_meeting_title": "Pricing review"}),
            update: ("hs_meeting_title", "Contract review"),
            query: "pricing",
            required: Some(("MEETING_EVENT", &["hs_timestamp"])),
        },
        TypeCase {
            path: "tasks",
            type_id: "0-27",
            created: "hs_createdate",
            modified: "hs_lastmodifieddate",
            create: || json!({"hs_timestamp": TS, "hs_task_subject": "Send pricing"}),
            update: ("hs_task_status", "COMPLETED"),
            query: "pricing",
            required: Some(("TASK", &["hs_timestamp"])),
        },
        TypeCase {
            path: "contacts",
            type_id: "0-1",
            created: "createdate",
            modified: "lastmodifieddate",
            create: || json!({"email": "ada@example.com", "firstname": "Ada", "lastname": "Lovelace"}),
            update: ("jobtitle", "Engineer"),
            query: "lovelace",
            required: None,
        },
        TypeCase {
            path: "companies",
            type_id: "0-2",
            created: "createdate",
            modified: "hs_lastmodifieddate",
            create: || json!({"name": "Analytical Engines", "domain": "engines.example"}),
            update: ("industry", "COMPUTER_SOFTWARE"),
            query: "analytical",
            required: None,
        },
        TypeCase {
            path: "deals",
            type_id: "0-3",
            created: "createdate",
            modified: "hs_lastmodifieddate",
            create: || json!({"dealname": "Engine licence", "dealstage": "appointmentscheduled", "pipeline": "default", "amount": "1500"}),
            update: ("amount", "2500"),
            query: "licence",
            required: Some(("DEAL", &["dealname", "dealstage"])),
        },
        TypeCase {
            path: "tickets",
            type_id: "0-5",
            created: "createdate",
            modified: "hs_lastmodifieddate",
            create: || json!({"subject": "Printer jammed", "hs_pipeline": "0", "hs_pipeline_stage": "1", "hs_ticket_priority": "HIGH"}),
            update: ("hs_ticket_priority", "LOW"),
            query: "printer",
            required: Some(("TICKET", &["subject", "hs_pipeline_stage"])),
        },
        TypeCase {
            path: "products",
            type_id: "0-7",
            created: "createdate",
            modified: "hs_lastmodifieddate",
            create: || json!({"name": "Difference engine", "price": "100"}),
            update: ("price", "120"),
            query: "difference",
            required: None,
        },
        TypeCase {
            path: "line_items",
            type_id: "0-8",
            created: "createdate",
            modified: "hs_lastmodifieddate",
            create: || json!({"name": "Engine, one unit", "quantity": "2", "price": "100"}),
            update: ("quantity", "3"),
            query: "engine",
            required: None,
        },
    ]
}

/// The case's create body; an email made unique, as contacts' emails must be.
fn create_body(case: &TypeCase) -> Value {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let mut properties = (case.create)();
    if let Some(email) = properties.get("email").and_then(Value::as_str) {
        let unique = format!("{}-{email}", NEXT.fetch_add(1, Ordering::Relaxed));
        properties["email"] = json!(unique);
    }
    json!({ "properties": properties })
}

/// The API versions every test here walks: the legacy paths, HubSpot's own alias of them,
/// and each date version.
const VERSIONS: [&str; 6] = [
    "v3",
    "objects-v3",
    "2025-09",
    "2026-03",
    "2026-09",
    "2026-09-beta",
];

/// The object API's root for `path` (a type's name or id) under `version`.
fn objects(version: &str, path: &str) -> String {
    match version {
        "v3" => format!("/crm/v3/objects/{path}"),
        "objects-v3" => format!("/crm/objects/v3/{path}"),
        dated => format!("/crm/objects/{dated}/{path}"),
    }
}

async fn create(app: &TestApp, case: &TypeCase, path: &str) -> Value {
    create_under(app, "v3", case, path).await
}

async fn create_under(app: &TestApp, version: &str, case: &TypeCase, path: &str) -> Value {
    let reply = app.post(&objects(version, path), create_body(case)).await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "{}: {}",
        case.path,
        reply.text
    );
    reply.body
}

#[tokio::test]
async fn every_type_serves_the_object_api_on_every_version() {
    for version in VERSIONS {
        walk_the_object_api(version).await;
    }
}

/// Create, get, list, search, update and archive of every type under `version`, in a
/// server of its own.
async fn walk_the_object_api(version: &str) {
    let app = spawn_app().await;
    let at = |path: &str| objects(version, path);
    for case in cases() {
        // By plural name, then by type id: both name the same records.
        let created = create_under(&app, version, &case, case.path).await;
        let id = created["id"].as_str().expect("id").to_owned();
        let props = &created["properties"];
        assert_eq!(props["hs_object_id"], id.as_str(), "{}", case.path);
        assert!(props[case.created].is_string(), "{}: {created}", case.path);
        assert!(props[case.modified].is_string(), "{}: {created}", case.path);
        let by_type_id = create_under(&app, version, &case, case.type_id).await;

        let got = app.get(&format!("{}/{id}", at(case.type_id))).await;
        assert_eq!(got.status, StatusCode::OK, "{}: {}", case.path, got.text);
        assert_eq!(got.body["id"], id.as_str());
        assert!(got.body["properties"][case.created].is_string());

        let list = app.get(&format!("{}?limit=10", at(case.path))).await;
        let listed: Vec<&str> = list.body["results"]
            .as_array()
            .expect("results")
            .iter()
            .filter_map(|r| r["id"].as_str())
            .collect();
        assert_eq!(
            listed,
            vec![id.as_str(), by_type_id["id"].as_str().unwrap()],
            "{version} {}: each type lists only its own records",
            case.path
        );
        // Paging links stay on the version the client used.
        let first = app.get(&format!("{}?limit=1", at(case.path))).await;
        let link = first.body["paging"]["next"]["link"].as_str().unwrap_or("");
        assert!(
            link.contains(&format!("{}?", at(case.path))),
            "{version} {}: {link}",
            case.path
        );

        // Before the update, which may change the words searched.
        let search = app
            .post(
                &format!("{}/search", at(case.path)),
                json!({"query": case.query, "properties": [case.update.0]}),
            )
            .await;
        assert_eq!(
            search.status,
            StatusCode::OK,
            "{}: {}",
            case.path,
            search.text
        );
        assert_eq!(search.body["total"], 2, "{}: {}", case.path, search.text);
        let (name, value) = case.update;
        let updated = app
            .patch(
                &format!("{}/{id}", at(case.path)),
                json!({"properties": {name: value}}),
            )
            .await;
        assert_eq!(
            updated.status,
            StatusCode::OK,
            "{}: {}",
            case.path,
            updated.text
        );
        assert_eq!(updated.body["properties"][name], value);

        let search = app
            .post(
                &format!("{}/search", at(case.path)),
                json!({"filterGroups": [{"filters": [
                    {"propertyName": name, "operator": "EQ", "value": value}
                ]}], "properties": [name]}),
            )
            .await;
        assert_eq!(search.body["total"], 1, "{}: {}", case.path, search.text);
        assert_eq!(search.body["results"][0]["id"], id.as_str());

        let archived = app.delete(&format!("{}/{id}", at(case.path))).await;
        assert_eq!(archived.status, StatusCode::NO_CONTENT, "{}", case.path);
        let gone = app.get(&format!("{}/{id}", at(case.path))).await;
        gone.assert_error(404, "OBJECT_NOT_FOUND");
    }
}

#[tokio::test]
async fn records_of_one_type_are_not_found_as_another() {
    let app = spawn_app().await;
    let cases = cases();
    let contact = create(&app, &cases[5], "contacts").await;
    let id = contact["id"].as_str().unwrap();
    app.get(&format!("/crm/v3/objects/companies/{id}"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    let reply = app.get(&format!("/crm/v3/objects/contacts/{id}")).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn creates_without_required_properties_get_hubspots_error() {
    let app = spawn_app().await;
    for case in cases() {
        let reply = app
            .post(
                &format!("/crm/v3/objects/{}", case.path),
                json!({"properties": {}}),
            )
            .await;
        match case.required {
            None => assert_eq!(reply.status, StatusCode::CREATED, "{}", case.path),
            Some((internal, missing)) => {
                let body = reply.assert_error(400, "VALIDATION_ERROR");
                assert_eq!(
                    body["message"],
                    format!("Error creating {internal}.  Some required properties were not set.")
                );
                assert_eq!(
                    body["context"]["properties"],
                    json!(missing),
                    "{}",
                    case.path
                );
            }
        }
    }
    let listed = app.get("/crm/v3/objects/notes").await;
    assert_eq!(
        listed.body["results"],
        json!([]),
        "a refused create writes nothing"
    );
}

#[tokio::test]
async fn reads_return_each_types_default_properties() {
    let app = spawn_app().await;
    let cases = cases();
    let contact = create(&app, &cases[5], "contacts").await;
    let id = contact["id"].as_str().unwrap();
    let reply = app.get(&format!("/crm/v3/objects/contacts/{id}")).await;
    let mut names: Vec<&str> = reply.body["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "lastname"
        ]
    );
    let reply = app
        .get(&format!(
            "/crm/v3/objects/contacts/{id}?properties=jobtitle"
        ))
        .await;
    assert_eq!(reply.body["properties"]["jobtitle"], Value::Null);
    assert!(reply.body["properties"].get("firstname").is_none());
}

#[tokio::test]
async fn a_second_contact_with_an_email_gets_hubspots_conflict() {
    let app = spawn_app().await;
    let first = app
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "grace@example.com"}}),
        )
        .await;
    let id = first.body["id"].as_str().unwrap().to_owned();
    let second = app
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "Grace@Example.com", "firstname": "G"}}),
        )
        .await;
    let body = second.assert_error(409, "CONFLICT");
    assert_eq!(
        body["message"],
        format!("Contact already exists. Existing ID: {id}")
    );
    // The email is the contact's id property too.
    let by_email = app
        .get("/crm/v3/objects/contacts/grace@example.com?idProperty=email")
        .await;
    assert_eq!(by_email.status, StatusCode::OK, "{}", by_email.text);
    assert_eq!(by_email.body["id"], id.as_str());
    assert_eq!(
        by_email.body["properties"]["email"], "grace@example.com",
        "{}",
        by_email.text
    );
}

#[tokio::test]
async fn contacts_are_found_by_their_national_phone_number() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"phone": "+1 (617) 555-0100", "email": "phone@example.com"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(
        created.body["properties"]["hs_searchable_calculated_phone_number"],
        "6175550100"
    );
    let search = app
        .post(
            "/crm/v3/objects/contacts/search",
            json!({"filterGroups": [{"filters": [{
                "propertyName": "hs_searchable_calculated_phone_number",
                "operator": "EQ",
                "value": "6175550100"
            }]}]}),
        )
        .await;
    assert_eq!(search.body["total"], 1, "{}", search.text);
    assert_eq!(search.body["results"][0]["id"], created.body["id"]);
}

#[tokio::test]
async fn custom_properties_belong_to_one_type() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/crm/v3/properties/deals",
            json!({"name": "deal_source", "label": "Deal source", "type": "string",
                   "fieldType": "text", "groupName": "dealinformation"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let deal = app
        .post(
            "/crm/v3/objects/deals",
            json!({"properties": {"dealname": "D", "dealstage": "closedwon", "deal_source": "web"}}),
        )
        .await;
    assert_eq!(deal.status, StatusCode::CREATED, "{}", deal.text);
    let contact = app
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"deal_source": "web"}}),
        )
        .await;
    contact.assert_error(400, "VALIDATION_ERROR");
    let listed = app.get("/crm/v3/properties/contacts/deal_source").await;
    listed.assert_error(404, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn batch_create_and_read_work_for_every_type() {
    let app = spawn_app().await;
    for case in cases() {
        let reply = app
            .post(
                &format!("/crm/v3/objects/{}/batch/create", case.path),
                json!({"inputs": [create_body(&case)]}),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{}: {}",
            case.path,
            reply.text
        );
        let id = reply.body["results"][0]["id"].as_str().unwrap().to_owned();
        let read = app
            .post(
                &format!("/crm/v3/objects/{}/batch/read", case.path),
                json!({"inputs": [{"id": id}], "properties": [case.update.0]}),
            )
            .await;
        assert_eq!(read.status, StatusCode::OK, "{}: {}", case.path, read.text);
        assert_eq!(read.body["results"][0]["id"], id.as_str());
    }
}
