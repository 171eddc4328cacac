//! The transfer format carries a whole portal, every object type of it: a portal made
//! through the API (records of every type with history, custom groups and properties,
//! associations given from either side, pipelines, archived and merged records) is exported
//! and loaded into an empty store, through the admin API and through `hubcalls export` /
//! `hubcalls import`, and reads back the same through the API. Files of version 1 (calls
//! only) still load.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use common::{export_records, spawn_admin_app, spawn_with, TestApp, TOKEN};
use hubcalls::config::{Config, Storage, TokenGrant};
use hubcalls::crm::associations::AssociationPair;
use hubcalls::crm::objects::ObjectType;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Every registered type: the tests walk them all, so a type added to the registry is
/// covered without a change here.
fn types() -> Vec<ObjectType> {
    ObjectType::all().collect()
}

/// The types `t` associates with, as an `associations=` list.
fn associated_types(t: ObjectType) -> String {
    ObjectType::all()
        .filter(|other| AssociationPair::new(t, *other).default_spec().is_some())
        .map(|other| other.plural)
        .collect::<Vec<_>>()
        .join(",")
}

/// Ids made by [`populate`] that the tests look at again.
struct Portal {
    /// Per type: a live record (created, then updated) and an archived one.
    live: Vec<(ObjectType, String)>,
    contact: String,
}

/// Fills portal 1 of `app` through the API with something of everything the format carries.
async fn populate(app: &TestApp) -> Portal {
    let mut live = Vec::new();
    for t in types() {
        let (plural, singular) = (t.plural, t.singular);
        let group = app
            .post(
                &format!("/crm/v3/properties/{plural}/groups"),
                json!({"name": format!("transfer_{singular}"), "label": "Transfer"}),
            )
            .await;
        assert_eq!(group.status, StatusCode::CREATED, "{}", group.text);
        let property = app
            .post(
                &format!("/crm/v3/properties/{plural}"),
                json!({"name": "transfer_ref", "label": "Ref", "type": "string", "fieldType": "text",
                       "groupName": format!("transfer_{singular}"), "hasUniqueValue": true}),
            )
            .await;
        assert_eq!(property.status, StatusCode::CREATED, "{}", property.text);
        let mut properties = common::minimal_properties(plural);
        properties["transfer_ref"] = json!(format!("Ref-{singular}-1"));
        let id = app.create_record(plural, properties).await;
        let edited = app
            .patch(
                &format!("/crm/v3/objects/{plural}/{id}"),
                json!({"properties": {"transfer_ref": format!("Ref-{singular}-2")}}),
            )
            .await;
        assert_eq!(edited.status, StatusCode::OK, "{}", edited.text);
        let mut properties = common::minimal_properties(plural);
        properties["transfer_ref"] = json!(format!("Ref-{singular}-gone"));
        let gone = app.create_record(plural, properties).await;
        let archived = app
            .delete(&format!("/crm/v3/objects/{plural}/{gone}"))
            .await;
        assert_eq!(archived.status, StatusCode::NO_CONTENT);
        live.push((t, id));
    }
    let id_of = |t: ObjectType| {
        live.iter()
            .find(|(lt, _)| *lt == t)
            .map(|(_, id)| id.clone())
            .unwrap_or_default()
    };
    let contact = id_of(ObjectType::CONTACTS);
    // Every type that associates with contacts gets the contact, made from one side or the
    // other in turn (each pair is kept once, by its owning type).
    for (at, (t, id)) in live.iter().enumerate() {
        let pair = AssociationPair::new(*t, ObjectType::CONTACTS);
        if *t == ObjectType::CONTACTS || pair.default_spec().is_none() {
            continue;
        }
        let path = if at % 2 == 0 {
            format!(
                "/crm/v4/objects/{}/{id}/associations/default/contacts/{contact}",
                t.plural
            )
        } else {
            format!(
                "/crm/v4/objects/contacts/{contact}/associations/default/{}/{id}",
                t.plural
            )
        };
        let reply = app.put(&path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    }
    // The contact's primary company: a labelled type besides the unlabelled one.
    let company = id_of(ObjectType::COMPANIES);
    let reply = app
        .send(
            Method::PUT,
            &format!("/crm/v4/objects/companies/{company}/associations/contacts/{contact}"),
            Some(json!([
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 280},
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 2}
            ])),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    // Pipelines: one the portal made, with a deal in it, and a default it changed.
    let reply = app
        .post(
            "/crm/v3/pipelines/deals",
            json!({"label": "Renewals", "displayOrder": 1, "pipelineId": "renewals", "stages": [
                {"label": "Due", "displayOrder": 0, "stageId": "r1", "metadata": {"probability": 0.5}},
                {"label": "Renewed", "displayOrder": 1, "stageId": "r2", "metadata": {"probability": "1.0"}}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    app.create_record(
        "deals",
        json!({"dealname": "Renewal", "pipeline": "renewals", "dealstage": "r1"}),
    )
    .await;
    let reply = app
        .patch("/crm/v3/pipelines/tickets/0", json!({"label": "Help desk"}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    // Two contacts merged: the old ones stay archived and lead to the new one.
    let first = app.create_contact().await;
    let second = app.create_contact().await;
    let reply = app
        .post(
            "/crm/v3/objects/contacts/merge",
            json!({"primaryObjectId": first, "objectIdToMerge": second}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    Portal { live, contact }
}

/// Everything the API shows of portal 1, read for every record of `export`: each record
/// with the values and history of every property it has and its associations with every
/// type (so each association is read from both of its records), each type's properties and
/// groups, and the pipelines with their audit trails.
async fn portal_view(app: &TestApp, export: &str) -> Vec<(String, Value)> {
    let mut view = Vec::new();
    let read = |path: String| async move {
        let reply = app.get(&path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
        (path, reply.body)
    };
    for record in export_records(export) {
        if record["record"] != "object" {
            continue;
        }
        let t = ObjectType::parse(record["objectType"].as_str().unwrap()).unwrap();
        let mut names: BTreeSet<&str> = BTreeSet::new();
        for field in ["properties", "propertiesWithHistory"] {
            if let Some(map) = record[field].as_object() {
                names.extend(map.keys().map(String::as_str));
            }
        }
        names.remove("hubcalls_merged_into");
        let names = names.into_iter().collect::<Vec<_>>().join(",");
        view.push(
            read(format!(
                "/crm/v3/objects/{}/{}?archived={}&properties={names}&propertiesWithHistory={names}&associations={}",
                t.plural,
                record["id"].as_str().unwrap(),
                record["archived"],
                associated_types(t)
            ))
            .await,
        );
    }
    for t in types() {
        for archived in [false, true] {
            view.push(
                read(format!(
                    "/crm/v3/properties/{}?archived={archived}",
                    t.plural
                ))
                .await,
            );
        }
        view.push(read(format!("/crm/v3/properties/{}/groups", t.plural)).await);
    }
    for t in ["deals", "tickets"] {
        let (path, list) = read(format!("/crm/v3/pipelines/{t}")).await;
        for pipeline in list["results"].as_array().unwrap() {
            let id = pipeline["id"].as_str().unwrap();
            view.push(read(format!("/crm/v3/pipelines/{t}/{id}/audit")).await);
        }
        view.push((path, list));
    }
    view
}

fn assert_same_view(expected: &[(String, Value)], actual: &[(String, Value)]) {
    assert_eq!(expected.len(), actual.len());
    for ((path, want), (_, got)) in expected.iter().zip(actual) {
        assert_eq!(got, want, "{path} differs after the round trip");
    }
}

/// The export holds something of everything: not an empty round trip.
fn assert_whole(export: &str) {
    let records = export_records(export);
    for t in types() {
        let of_type = |kind: &str| {
            records
                .iter()
                .filter(|r| r["record"] == kind && r["objectType"] == t.plural)
                .count()
        };
        assert!(of_type("object") >= 2, "{} records are missing", t.plural);
        assert_eq!(of_type("property"), 1, "{} property", t.plural);
        assert_eq!(of_type("group"), 1, "{} group", t.plural);
    }
    let pipelines: Vec<&Value> = records
        .iter()
        .filter(|r| r["record"] == "pipeline")
        .collect();
    assert_eq!(pipelines.len(), 2, "renewals and the changed default");
}

#[tokio::test]
async fn a_portal_of_every_type_moves_to_an_empty_store_through_the_admin_api() {
    let source = spawn_admin_app().await;
    let portal = populate(&source).await;
    let exported = source.export_portal(1).await;
    assert_whole(&exported);
    // The contact reads its associations from the other side too.
    let contact = source
        .get(&format!(
            "/crm/v3/objects/contacts/{}?associations={}",
            portal.contact,
            associated_types(ObjectType::CONTACTS)
        ))
        .await;
    for (t, id) in &portal.live {
        if *t == ObjectType::CONTACTS
            || AssociationPair::new(*t, ObjectType::CONTACTS)
                .default_spec()
                .is_none()
        {
            continue;
        }
        let linked = contact.body["associations"][t.plural]["results"].to_string();
        assert!(linked.contains(id.as_str()), "{} {id}: {linked}", t.plural);
    }
    let before = portal_view(&source, &exported).await;

    let target = spawn_admin_app().await;
    let loaded = target.load_fixture(1, "", &exported).await;
    assert_eq!(loaded.status, StatusCode::OK, "{}", loaded.text);
    let records = export_records(&exported);
    let objects = records.iter().filter(|r| r["record"] == "object").count();
    assert_eq!(loaded.body["records"], objects);
    assert_eq!(loaded.body["pipelines"], 2);
    let contacts = records
        .iter()
        .filter(|r| r["record"] == "object" && r["objectType"] == "contacts")
        .count();
    assert_eq!(
        loaded.body["objects"]["contacts"], contacts,
        "{}",
        loaded.text
    );
    assert_same_view(&before, &portal_view(&target, &exported).await);
    assert_eq!(export_records(&target.export_portal(1).await), records);

    // Loading the same export again replaces by id: nothing doubles, nothing is lost.
    let again = target.load_fixture(1, "", &exported).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(export_records(&target.export_portal(1).await), records);
    // New ids are above every loaded one, of any type.
    let fresh = target.create_contact().await;
    let highest = records
        .iter()
        .filter_map(|r| r["id"].as_str()?.parse::<u64>().ok())
        .max()
        .unwrap();
    assert!(fresh.parse::<u64>().unwrap() > highest);
}

fn hubcalls(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hubcalls"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("HUBCALLS_DATA_DIR")
        .output()
        .expect("binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A server on the SQLite data directory `dir` (whatever store the harness runs on: the
/// command line works on data directories).
async fn spawn_on_directory(dir: &Path) -> TestApp {
    let mut config = Config::in_memory(
        "127.0.0.1:0".parse().unwrap(),
        vec![TokenGrant::full_access(TOKEN, 1)],
    );
    config.storage = Storage::Directory(dir.to_owned());
    spawn_with(config).await
}

#[tokio::test]
async fn a_portal_of_every_type_moves_through_the_command_line() {
    let source = spawn_admin_app().await;
    populate(&source).await;
    let exported = source.export_portal(1).await;
    let before = portal_view(&source, &exported).await;

    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("portal.ndjson");
    std::fs::write(&file, &exported).unwrap();
    let first = work.path().join("first");
    let imported = hubcalls(&["import", file.to_str().unwrap()], &first);
    assert!(imported.status.success(), "{}", stderr(&imported));
    let count = types().len();
    assert!(
        stderr(&imported).contains(&format!(
            "imported into portal 1: groups {count}, properties {count}, pipelines 2"
        )),
        "{}",
        stderr(&imported)
    );
    let out = work.path().join("again.ndjson");
    let written = hubcalls(&["export", "--out", out.to_str().unwrap()], &first);
    assert!(written.status.success(), "{}", stderr(&written));
    let again = std::fs::read_to_string(&out).unwrap();
    assert_eq!(export_records(&again), export_records(&exported));

    // A server on the imported store shows what the source showed.
    let target = spawn_on_directory(&first).await;
    assert_same_view(&before, &portal_view(&target, &exported).await);
}

const V1_EXPORT: &str = include_str!("../fixtures/v1-calls-export-7f2ea74.ndjson");

#[tokio::test]
async fn a_version_1_export_of_calls_still_loads() {
    let app = spawn_admin_app().await;
    let loaded = app.load_fixture(1, "", V1_EXPORT).await;
    assert_eq!(loaded.status, StatusCode::OK, "{}", loaded.text);
    assert_eq!(
        (
            &loaded.body["calls"],
            &loaded.body["properties"],
            &loaded.body["groups"]
        ),
        (&json!(2), &json!(2), &json!(1))
    );
    let call = app
        .get("/crm/v3/objects/calls/10000000002?properties=hs_call_title,ticket_ref&propertiesWithHistory=hs_call_title&associations=contacts")
        .await;
    assert_eq!(call.status, StatusCode::OK, "{}", call.text);
    assert_eq!(call.body["properties"]["ticket_ref"], "T-1");
    let titles: Vec<&Value> = call.body["propertiesWithHistory"]["hs_call_title"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| &entry["value"])
        .collect();
    assert_eq!(titles, [&json!("Kickoff, rescheduled"), &json!("Kickoff")]);
    // The contact it names was not in the file (version 1 carried calls only): the
    // association is kept and shown from the call, as calls of that version had it.
    assert_eq!(
        call.body["associations"]["contacts"]["results"][0]["id"],
        "10000000001"
    );

    // Exported again, the version 2 lines say what the version 1 lines said, with their type.
    let now = export_records(&app.export_portal(1).await);
    let then = export_records(V1_EXPORT);
    assert_eq!(now.len(), then.len());
    for (mut old, new) in then.into_iter().zip(now) {
        if old["record"] == "call" {
            old["record"] = json!("object");
        }
        old["objectType"] = json!("calls");
        assert_eq!(new, old);
    }
}

#[tokio::test]
async fn associations_given_from_the_side_that_does_not_keep_them_land_on_the_keeper() {
    let app = spawn_admin_app().await;
    // Calls keep their associations with contacts; here the contact's line gives one (193,
    // contact to call), and a company's line gives its primary contact (2).
    let fixture = [
        r#"{"record":"header","format":"hubcalls","version":2,"portal":1}"#,
        r#"{"record":"object","objectType":"contacts","id":"501","properties":{"email":"ada@example.com"},"associations":[{"toObjectType":"calls","toObjectId":"601","associationTypeId":193}]}"#,
        r#"{"record":"object","objectType":"calls","id":"601","properties":{"hs_timestamp":"2025-01-01T00:00:00Z"}}"#,
        r#"{"record":"object","objectType":"companies","id":"701","properties":{"name":"Engines"},"associations":[{"toObjectType":"contacts","toObjectId":501,"associationTypeId":2}]}"#,
    ]
    .join("\n");
    let loaded = app.load_fixture(1, "", &fixture).await;
    assert_eq!(loaded.status, StatusCode::OK, "{}", loaded.text);
    let call = app
        .get("/crm/v4/objects/calls/601/associations/contacts")
        .await;
    assert_eq!(call.body["results"][0]["toObjectId"], 501, "{}", call.text);
    assert_eq!(
        call.body["results"][0]["associationTypes"][0]["typeId"],
        194
    );
    let contact = app
        .get("/crm/v4/objects/contacts/501/associations/companies")
        .await;
    assert_eq!(
        contact.body["results"][0]["toObjectId"], 701,
        "{}",
        contact.text
    );
    assert_eq!(
        contact.body["results"][0]["associationTypes"][0]["typeId"], 1,
        "the contact's primary company: {}",
        contact.text
    );
    // Exported, each is written once, by its keeper.
    let records = export_records(&app.export_portal(1).await);
    let line = |t: &str| {
        records
            .iter()
            .find(|r| r["objectType"] == t && r["record"] == "object")
            .cloned()
            .unwrap()
    };
    assert_eq!(line("calls")["associations"][0]["toObjectId"], "501");
    assert_eq!(line("contacts")["associations"][0]["toObjectId"], "701");
    assert_eq!(
        line("contacts")["associations"].as_array().unwrap().len(),
        1
    );
    assert_eq!(line("companies")["associations"], json!([]));
}
