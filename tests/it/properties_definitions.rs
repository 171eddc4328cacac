//! Property definitions of calls over HTTP: builtins in HubSpot's shape, custom properties
//! created, patched, archived and batched, and what is refused.

use crate::common::spawn_app;
use crate::properties_support::{create_property, names, number_property, text_property, PROPS};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn list_includes_builtins_in_hubspot_shape() {
    let app = spawn_app().await;
    let reply = app.get(PROPS).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(reply.body.get("paging").is_none(), "{}", reply.text);
    let results = reply.body["results"].as_array().unwrap();
    assert!(results.len() > 20, "only {} properties", results.len());
    let title = results
        .iter()
        .find(|p| p["name"] == "hs_call_title")
        .expect("hs_call_title listed");
    assert_eq!(title["type"], "string");
    assert_eq!(title["fieldType"], "text");
    assert_eq!(title["groupName"], "call");
    assert_eq!(title["options"], json!([]));
    assert_eq!(title["hubspotDefined"], true);
    assert_eq!(title["archived"], false);
    assert_eq!(title["modificationMetadata"]["archivable"], false);
    assert_eq!(title["modificationMetadata"]["readOnlyDefinition"], true);
    assert_eq!(title["modificationMetadata"]["readOnlyValue"], false);
    let direction = results
        .iter()
        .find(|p| p["name"] == "hs_call_direction")
        .expect("hs_call_direction listed");
    assert_eq!(direction["type"], "enumeration");
    let values: Vec<&str> = direction["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert!(values.contains(&"INBOUND") && values.contains(&"OUTBOUND"));
    for name in ["hs_timestamp", "hs_object_id", "hs_call_body"] {
        assert!(names(&reply.body).contains(&name.to_owned()), "{name}");
    }

    // `properties=` narrows the list.
    let reply = app
        .get(&format!("{PROPS}?properties=hs_call_title,hs_timestamp"))
        .await;
    let mut listed = names(&reply.body);
    listed.sort();
    assert_eq!(listed, vec!["hs_call_title", "hs_timestamp"]);
}

#[tokio::test]
async fn get_one_and_unknown_is_json_404() {
    let app = spawn_app().await;
    let reply = app.get(&format!("{PROPS}/hs_call_title")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["name"], "hs_call_title");
    assert_eq!(reply.body["label"], "Call Title");

    let reply = app.get(&format!("{PROPS}/no_such_property")).await;
    let body = reply.assert_error(404, "OBJECT_NOT_FOUND");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("no_such_property"),
        "{body}"
    );
}

#[tokio::test]
async fn create_custom_property_by_name_and_by_type_id() {
    let app = spawn_app().await;
    let created = create_property(
        &app,
        json!({
            "name": "ext_ref",
            "label": "External reference",
            "type": "string",
            "fieldType": "text",
            "groupName": "callinformation",
            "description": "From the dialer"
        }),
    )
    .await;
    assert_eq!(created["name"], "ext_ref");
    assert_eq!(created["label"], "External reference");
    assert_eq!(created["description"], "From the dialer");
    assert_eq!(created["hubspotDefined"], false);
    assert_eq!(created["hasUniqueValue"], false);
    assert_eq!(created["archived"], false);
    assert_eq!(created["modificationMetadata"]["archivable"], true);
    assert_eq!(created["modificationMetadata"]["readOnlyDefinition"], false);
    assert!(created["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(created["updatedAt"].is_string());
    assert!(created.get("archivedAt").is_none());

    // The object type id and `call` address the same schema.
    let reply = app
        .post("/crm/v3/properties/0-48", text_property("by_type_id"))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    for path in [
        "/crm/v3/properties/calls/by_type_id",
        "/crm/v3/properties/call/ext_ref",
        "/crm/v3/properties/0-48/ext_ref",
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    }
    let listed = names(&app.get(PROPS).await.body);
    assert!(listed.contains(&"ext_ref".to_owned()));
    assert!(listed.contains(&"by_type_id".to_owned()));

    // Each type has its own properties; nonsense types are refused.
    app.get("/crm/v3/properties/contacts/ext_ref")
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    app.get("/crm/v3/properties/widgets")
        .await
        .assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn duplicate_name_is_a_conflict() {
    let app = spawn_app().await;
    create_property(&app, text_property("dup_me")).await;
    let reply = app.post(PROPS, text_property("dup_me")).await;
    reply.assert_error(409, "OBJECT_ALREADY_EXISTS");
    // Built-in names are taken too.
    let reply = app.post(PROPS, text_property("hs_call_title")).await;
    reply.assert_error(409, "OBJECT_ALREADY_EXISTS");
}

#[tokio::test]
async fn invalid_definitions_are_refused_and_nothing_is_created() {
    let app = spawn_app().await;
    let mut bad = Vec::new();
    for name in ["Upper", "2start", "with-dash", "spa ce", ""] {
        bad.push(text_property(name));
    }
    // A number shown as a text field.
    bad.push(json!({"name": "num_text", "label": "N", "type": "number", "fieldType": "text", "groupName": "callinformation"}));
    // An enumeration without options.
    bad.push(json!({"name": "enum_bare", "label": "E", "type": "enumeration", "fieldType": "select", "groupName": "callinformation"}));
    bad.push(json!({"name": "enum_empty", "label": "E", "type": "enumeration", "fieldType": "select", "groupName": "callinformation", "options": []}));
    // An unknown group.
    bad.push(json!({"name": "lost", "label": "L", "type": "string", "fieldType": "text", "groupName": "no_such_group"}));
    // Unknown or internal types.
    bad.push(json!({"name": "weird", "label": "W", "type": "integer", "fieldType": "number", "groupName": "callinformation"}));
    bad.push(json!({"name": "jsonish", "label": "J", "type": "json", "fieldType": "text", "groupName": "callinformation"}));
    // Empty label.
    bad.push(json!({"name": "nolabel", "label": " ", "type": "string", "fieldType": "text", "groupName": "callinformation"}));
    for body in bad {
        let reply = app.post(PROPS, body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text);
        reply.assert_error(400, "VALIDATION_ERROR");
    }
    let listed = names(&app.get(PROPS).await.body);
    for name in [
        "num_text",
        "enum_bare",
        "enum_empty",
        "lost",
        "weird",
        "nolabel",
    ] {
        assert!(!listed.contains(&name.to_owned()), "{name} was stored");
    }
    // Missing required fields: still HubSpot's envelope.
    let reply = app.post(PROPS, json!({"name": "half"})).await;
    reply.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn bool_property_gets_true_false_options() {
    let app = spawn_app().await;
    let created = create_property(
        &app,
        json!({"name": "was_billed", "label": "Billed", "type": "bool", "fieldType": "booleancheckbox", "groupName": "callinformation"}),
    )
    .await;
    let values: Vec<&str> = created["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, vec!["true", "false"]);

    // The property takes booleans and nothing else.
    let id = app
        .create_call(json!({"was_billed": "TRUE", "hs_call_title": "b"}))
        .await;
    let reply = app
        .get(&format!("/crm/v3/objects/calls/{id}?properties=was_billed"))
        .await;
    assert_eq!(reply.body["properties"]["was_billed"], "true");
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{id}"),
            json!({"properties": {"was_billed": "maybe"}}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(body["errors"][0]["code"], "INVALID_BOOLEAN", "{body}");
}

#[tokio::test]
async fn patch_label_and_options() {
    let app = spawn_app().await;
    create_property(
        &app,
        json!({
            "name": "outcome_kind",
            "label": "Outcome",
            "type": "enumeration",
            "fieldType": "select",
            "groupName": "callinformation",
            "options": [{"label": "Won", "value": "won"}]
        }),
    )
    .await;
    let before = app.get(&format!("{PROPS}/outcome_kind")).await.body;
    let reply = app
        .patch(
            &format!("{PROPS}/outcome_kind"),
            json!({
                "label": "Outcome kind",
                "options": [
                    {"label": "Won", "value": "won", "displayOrder": 0},
                    {"label": "Lost", "value": "lost", "displayOrder": 1}
                ]
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["label"], "Outcome kind");
    assert_eq!(reply.body["options"].as_array().unwrap().len(), 2);
    assert_eq!(reply.body["createdAt"], before["createdAt"]);
    let after = app.get(&format!("{PROPS}/outcome_kind")).await.body;
    assert_eq!(after["label"], "Outcome kind");
    assert_eq!(after["options"][1]["value"], "lost");

    // The new option is usable at once; an unknown one is not.
    app.create_call(json!({"outcome_kind": "lost"})).await;
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": "1745524893000", "outcome_kind": "drawn"}}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(body["errors"][0]["code"], "INVALID_OPTION", "{body}");

    // Emptying the options of an enumeration is refused.
    let reply = app
        .patch(&format!("{PROPS}/outcome_kind"), json!({"options": []}))
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    // A field type that does not fit the type is refused.
    let reply = app
        .patch(
            &format!("{PROPS}/outcome_kind"),
            json!({"fieldType": "text"}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn patch_of_unique_flag_or_hubspot_property_is_refused() {
    let app = spawn_app().await;
    create_property(&app, text_property("plain_one")).await;
    let reply = app
        .patch(
            &format!("{PROPS}/plain_one"),
            json!({"hasUniqueValue": true}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        app.get(&format!("{PROPS}/plain_one")).await.body["hasUniqueValue"],
        false
    );

    let reply = app
        .patch(
            &format!("{PROPS}/hs_call_title"),
            json!({"label": "Mine now"}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(
        app.get(&format!("{PROPS}/hs_call_title")).await.body["label"],
        "Call Title"
    );

    let reply = app
        .patch(&format!("{PROPS}/not_there"), json!({"label": "x"}))
        .await;
    reply.assert_error(404, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn delete_custom_then_it_is_archived() {
    let app = spawn_app().await;
    create_property(&app, text_property("short_lived")).await;
    let reply = app.delete(&format!("{PROPS}/short_lived")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert!(reply.text.is_empty());

    app.get(&format!("{PROPS}/short_lived"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    assert!(!names(&app.get(PROPS).await.body).contains(&"short_lived".to_owned()));

    let reply = app.get(&format!("{PROPS}?archived=true")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let archived = reply.body["results"].as_array().unwrap();
    let found = archived
        .iter()
        .find(|p| p["name"] == "short_lived")
        .expect("archived property listed");
    assert_eq!(found["archived"], true);
    assert!(found["archivedAt"].is_string(), "{found}");
    assert!(archived.iter().all(|p| p["archived"] == true));

    let reply = app.get(&format!("{PROPS}/short_lived?archived=true")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    // Deleting it again: it no longer exists.
    app.delete(&format!("{PROPS}/short_lived"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");

    // The name is free again.
    create_property(&app, text_property("short_lived")).await;
}

#[tokio::test]
async fn delete_builtin_is_refused() {
    let app = spawn_app().await;
    app.delete(&format!("{PROPS}/hs_call_title"))
        .await
        .assert_error(400, "VALIDATION_ERROR");
    let reply = app.get(&format!("{PROPS}/hs_call_title")).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn batch_create_read_archive() {
    let app = spawn_app().await;
    let reply = app
        .post(
            &format!("{PROPS}/batch/create"),
            json!({"inputs": [text_property("batch_a"), number_property("batch_b")]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.body["status"], "COMPLETE");
    assert!(reply.body["startedAt"].is_string());
    assert!(reply.body["completedAt"].is_string());
    assert_eq!(names(&reply.body), vec!["batch_a", "batch_b"]);
    assert_eq!(reply.body["results"][1]["type"], "number");

    // All or nothing: one bad input stores none.
    let reply = app
        .post(
            &format!("{PROPS}/batch/create"),
            json!({"inputs": [text_property("batch_c"), text_property("Bad Name")]}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    app.get(&format!("{PROPS}/batch_c"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");

    let reply = app
        .post(
            &format!("{PROPS}/batch/read"),
            json!({"archived": false, "inputs": [{"name": "batch_b"}, {"name": "nope"}, {"name": "hs_call_title"}, {"name": "batch_a"}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["status"], "COMPLETE");
    assert_eq!(
        names(&reply.body),
        vec!["batch_b", "hs_call_title", "batch_a"]
    );

    let reply = app
        .post(
            &format!("{PROPS}/batch/archive"),
            json!({"inputs": [{"name": "batch_a"}, {"name": "never_existed"}, {"name": "hs_call_title"}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    app.get(&format!("{PROPS}/batch_a"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    assert_eq!(
        app.get(&format!("{PROPS}/batch_b")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("{PROPS}/hs_call_title")).await.status,
        StatusCode::OK
    );

    let reply = app
        .post(
            &format!("{PROPS}/batch/read"),
            json!({"archived": true, "inputs": [{"name": "batch_a"}, {"name": "batch_b"}]}),
        )
        .await;
    assert_eq!(names(&reply.body), vec!["batch_a"]);
}

#[tokio::test]
async fn at_most_ten_unique_properties() {
    let app = spawn_app().await;
    for n in 0..10 {
        let mut body = text_property(&format!("unique_{n}"));
        body["hasUniqueValue"] = json!(true);
        let created = create_property(&app, body).await;
        assert_eq!(created["hasUniqueValue"], true);
    }
    let mut body = text_property("unique_10");
    body["hasUniqueValue"] = json!(true);
    app.post(PROPS, body)
        .await
        .assert_error(400, "VALIDATION_ERROR");
    // Non-unique ones are still fine.
    create_property(&app, text_property("not_unique_11")).await;
    // Archiving one frees a slot.
    let reply = app.delete(&format!("{PROPS}/unique_0")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let mut body = text_property("unique_10");
    body["hasUniqueValue"] = json!(true);
    create_property(&app, body).await;
}
