//! An import is checked whole by the rules the API applies to each type, and refused whole
//! with every problem's line: nothing is written. The same bad lines are tried for every
//! registered type.

use crate::common;

use common::{export_records, fixture_problems, spawn_admin_app, TestApp};
use hubcalls::crm::associations::AssociationPair;
use hubcalls::crm::objects::ObjectType;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A record line of type `t`.
fn object(t: ObjectType, id: Value, properties: Value) -> String {
    json!({"record": "object", "objectType": t.plural, "id": id, "properties": properties})
        .to_string()
}

/// What a create of `t` needs, with `extra` properties.
fn valid(t: ObjectType, extra: Value) -> Value {
    let mut properties = common::minimal_properties(t.plural);
    for (name, value) in extra.as_object().unwrap() {
        properties[name] = value.clone();
    }
    properties
}

/// Asserts that a problem on `line` mentions `text`.
fn assert_problem(problems: &[(String, String)], line: usize, text: &str) {
    assert!(
        problems
            .iter()
            .any(|(l, m)| *l == line.to_string() && m.contains(text)),
        "no problem on line {line} mentioning {text:?}: {problems:#?}"
    );
}

/// Loads `lines` into portal 1 and returns the problems; asserts that nothing changed.
async fn refused(app: &TestApp, lines: &[String]) -> Vec<(String, String)> {
    let before = export_records(&app.export_portal(1).await);
    let reply = app.load_fixture(1, "", &lines.join("\n")).await;
    let problems = fixture_problems(&reply);
    assert_eq!(
        export_records(&app.export_portal(1).await),
        before,
        "a refused fixture wrote something"
    );
    problems
}

#[tokio::test]
async fn bad_records_of_every_type_are_refused_with_their_lines() {
    let app = spawn_admin_app().await;
    for t in ObjectType::all() {
        // A type it associates with, if any (products associate with nothing).
        let other =
            ObjectType::all().find(|o| AssociationPair::new(t, *o).default_spec().is_some());
        let linked = other.unwrap_or(ObjectType::CALLS);
        let property = json!({"record": "property", "objectType": t.plural, "name": "ext_ref",
            "label": "Ext", "type": "string", "fieldType": "text",
            "groupName": t.groups()[0].name, "hasUniqueValue": true});
        let mut lines = vec![
            json!({"record": "header", "format": "hubcalls", "version": 2}).to_string(),
            property.to_string(),
            object(t, json!("900001"), valid(t, json!({"ext_ref": "Same"}))),
            object(t, json!("900002"), valid(t, json!({"ext_ref": "same"}))),
            object(t, json!("9223372036854775808"), valid(t, json!({}))),
            object(t, json!(900003), valid(t, json!({"no_such_property": "x"}))),
            object(t, json!("900001"), valid(t, json!({}))),
            json!({"record": "object", "objectType": t.plural, "id": "900004",
            "properties": valid(t, json!({})),
            "associations": [
                {"toObjectType": linked.plural, "toObjectId": "5", "associationTypeId": 999_999},
                {"toObjectType": linked.plural, "toObjectId": "9223372036854775808"}
            ]})
            .to_string(),
        ];
        if !t.required_on_create.is_empty() {
            lines.push(object(t, json!("900005"), json!({})));
        }
        let problems = refused(&app, &lines).await;
        let (plural, singular) = (t.plural, t.singular);
        assert_problem(
            &problems,
            4,
            &format!(
                "ext_ref \"same\" is a unique value and is also held by {singular} 900001 (line 3)"
            ),
        );
        assert_problem(
            &problems,
            5,
            &format!("{singular} id \"9223372036854775808\" is beyond the largest record id, 9223372036854775807"),
        );
        assert_problem(&problems, 6, "property \"no_such_property\" does not exist");
        assert_problem(
            &problems,
            7,
            &format!("{singular} id 900001 already appears on line 3"),
        );
        let wrong_type = match other {
            Some(other) => format!(
                "associationTypeId 999999 is not a HubSpot-defined {singular}-to-{}",
                other.singular
            ),
            None => format!("{plural} and calls have no association HubSpot defines"),
        };
        assert_problem(&problems, 8, &wrong_type);
        assert_problem(
            &problems,
            8,
            "toObjectId \"9223372036854775808\" is beyond the largest record id",
        );
        if !t.required_on_create.is_empty() {
            assert_problem(
                &problems,
                9,
                &format!(
                    "required properties are not set: {}",
                    t.required_on_create.join(", ")
                ),
            );
        }
        app.get(&format!("/crm/v3/properties/{plural}/ext_ref"))
            .await
            .assert_error(404, "OBJECT_NOT_FOUND");
    }
}

#[tokio::test]
async fn unique_values_compare_as_the_stores_compare_them() {
    let app = spawn_admin_app().await;
    // Contacts' email, case aside, against the store and within the input.
    let kept = app
        .create_record("contacts", json!({"email": "ada@example.com"}))
        .await;
    let contacts = ObjectType::CONTACTS;
    let problems = refused(
        &app,
        &[
            object(
                contacts,
                json!("910001"),
                json!({"email": "ADA@example.com"}),
            ),
            object(
                contacts,
                json!("910002"),
                json!({"email": "bob@example.com"}),
            ),
            object(
                contacts,
                json!("910003"),
                json!({"email": "Bob@Example.com"}),
            ),
        ],
    )
    .await;
    assert_problem(
        &problems,
        1,
        &format!("email \"ADA@example.com\" is a unique value already held by contact {kept} of portal 1"),
    );
    assert_problem(
        &problems,
        3,
        "email \"Bob@Example.com\" is a unique value and is also held by contact 910002 (line 2)",
    );
    // The record that holds the value may take it back, replaced by its own id.
    let reply = app
        .load_fixture(
            1,
            "",
            &object(contacts, json!(kept), json!({"email": "ADA@example.com"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    // Numbers and instants compare by value; enumerations exactly, as the engines do (a
    // rule of lower-cased text would refuse `A` beside `a`, which the store takes).
    let calls = ObjectType::CALLS;
    let property = |name: &str, kind: &str, field: &str, options: Value| {
        json!({"record": "property", "name": name, "label": name, "type": kind,
            "fieldType": field, "groupName": "call", "hasUniqueValue": true, "options": options})
        .to_string()
    };
    let ts = json!({"hs_timestamp": 0});
    let with = |extra: Value| {
        let mut properties = ts.clone();
        for (k, v) in extra.as_object().unwrap() {
            properties[k] = v.clone();
        }
        properties
    };
    let problems = refused(
        &app,
        &[
            property("amount_ref", "number", "number", json!([])),
            property("due_ref", "date", "date", json!([])),
            object(
                calls,
                json!("920001"),
                with(json!({"amount_ref": "1.50", "due_ref": "2025-01-01"})),
            ),
            object(
                calls,
                json!("920002"),
                with(json!({"amount_ref": "1.5", "due_ref": 1735689600000u64})),
            ),
        ],
    )
    .await;
    assert_problem(
        &problems,
        4,
        "amount_ref \"1.5\" is a unique value and is also held by call 920001",
    );
    assert_problem(
        &problems,
        4,
        "due_ref \"2025-01-01\" is a unique value and is also held by call 920001",
    );
    let options = json!([{"label": "Upper", "value": "A"}, {"label": "Lower", "value": "a"}]);
    let fixture = [
        property("grade_ref", "enumeration", "select", options),
        object(calls, json!("930001"), with(json!({"grade_ref": "A"}))),
        object(calls, json!("930002"), with(json!({"grade_ref": "a"}))),
    ];
    let reply = app.load_fixture(1, "", &fixture.join("\n")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["calls"], 2);
}

#[tokio::test]
async fn pipelines_stages_ids_and_associations_are_checked_against_the_portal() {
    let app = spawn_admin_app().await;
    let call = app.create_call(json!({"hs_call_title": "kept"})).await;
    let deals = ObjectType::DEALS;
    let problems = refused(
        &app,
        &[
            json!({"record": "pipeline", "objectType": "deals", "id": "renewals", "label": "Renewals",
                "stages": [{"id": "r1", "label": "Due", "metadata": {}}]})
            .to_string(),
            json!({"record": "pipeline", "objectType": "deals", "id": "upsell", "label": "Upsell",
                "stages": [{"id": "closedwon", "label": "Won", "metadata": {"probability": "1.0"}}]})
            .to_string(),
            object(deals, json!("940001"), json!({"dealname": "D", "dealstage": "nope"})),
            object(deals, json!("940002"), json!({"dealname": "D", "pipeline": "missing", "dealstage": "r1"})),
            object(ObjectType::CONTACTS, json!(call), json!({"email": "c@example.com"})),
            json!({"record": "object", "objectType": "contacts", "id": "940003",
                "associations": [{"toObjectType": "calls", "toObjectId": "940999"}]})
            .to_string(),
            json!({"record": "group", "objectType": "deals", "name": "late", "label": "Late"}).to_string(),
        ],
    )
    .await;
    assert_problem(&problems, 1, "needs metadata.probability");
    assert_problem(
        &problems,
        2,
        "stage id closedwon of deal pipeline upsell is also the id of pipeline default",
    );
    assert_problem(
        &problems,
        3,
        "dealstage: nope is not a stage of pipeline default; its stages are: [appointmentscheduled",
    );
    assert_problem(
        &problems,
        4,
        "pipeline: missing is not a pipeline of the portal",
    );
    assert_problem(
        &problems,
        5,
        &format!("contact id {call} is the id of a call of portal 1"),
    );
    assert_problem(
        &problems,
        6,
        "the association with call 940999 is kept by that call, which is neither in the input nor in portal 1",
    );
    assert_problem(
        &problems,
        7,
        "records must come in the order header, groups",
    );
    // Nothing was written: the call keeps its id, no pipeline was added.
    let kept = app.get(&format!("/crm/v3/objects/calls/{call}")).await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text);
    let pipelines = app.get("/crm/v3/pipelines/deals").await;
    assert_eq!(pipelines.body["results"].as_array().unwrap().len(), 1);
}
