//! Custom properties in use on calls over HTTP: validated, read, searched and sorted, no longer
//! writable once archived, kept per portal, and not stranded by an archived group.

use crate::common::{spawn_app, OTHER_PORTAL_TOKEN};
use crate::properties_support::{
    create_property, ids, names, number_property, search, text_property, PROPS,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn custom_property_is_validated_read_searched_and_sorted() {
    let app = spawn_app().await;
    create_property(&app, number_property("lead_score")).await;
    create_property(&app, text_property("dialer_ref")).await;

    let low = app
        .create_call(json!({"lead_score": "5", "dialer_ref": "alpha", "hs_call_title": "low"}))
        .await;
    let high = app
        .create_call(json!({"lead_score": 42.5, "dialer_ref": "beta", "hs_call_title": "high"}))
        .await;
    let mid = app
        .create_call(json!({"lead_score": "17", "hs_call_title": "mid"}))
        .await;

    // Typed: a number property refuses text, and nothing is stored.
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": "1745524893000", "lead_score": "abc"}}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(body["errors"][0]["code"], "INVALID_INTEGER", "{body}");
    assert_eq!(
        body["errors"][0]["context"]["propertyName"],
        json!(["lead_score"])
    );
    let all = app.get("/crm/v3/objects/calls?limit=100").await;
    assert_eq!(all.body["results"].as_array().unwrap().len(), 3);

    // Read: only when requested, and then with its value (null when unset).
    let reply = app.get(&format!("/crm/v3/objects/calls/{low}")).await;
    assert!(reply.body["properties"].get("lead_score").is_none());
    let reply = app
        .get(&format!(
            "/crm/v3/objects/calls/{mid}?properties=lead_score,dialer_ref"
        ))
        .await;
    assert_eq!(reply.body["properties"]["lead_score"], "17");
    assert_eq!(reply.body["properties"]["dialer_ref"], Value::Null);
    let reply = app
        .post(
            "/crm/v3/objects/calls/batch/read",
            json!({"inputs": [{"id": high}], "properties": ["lead_score"]}),
        )
        .await;
    assert_eq!(reply.body["results"][0]["properties"]["lead_score"], "42.5");
    let reply = app
        .get(&format!(
            "/crm/v3/objects/calls/{high}?propertiesWithHistory=lead_score"
        ))
        .await;
    assert_eq!(
        reply.body["propertiesWithHistory"]["lead_score"][0]["value"], "42.5",
        "{}",
        reply.text
    );

    // Searchable by value and by number order, sortable.
    let eq = search(
        &app,
        json!({"filterGroups": [{"filters": [{"propertyName": "dialer_ref", "operator": "EQ", "value": "beta"}]}]}),
    )
    .await;
    assert_eq!(ids(&eq), vec![high.clone()]);
    let gt = search(
        &app,
        json!({
            "filterGroups": [{"filters": [{"propertyName": "lead_score", "operator": "GT", "value": "9"}]}],
            "sorts": [{"propertyName": "lead_score", "direction": "ASCENDING"}],
            "properties": ["lead_score"]
        }),
    )
    .await;
    assert_eq!(gt["total"], 2);
    assert_eq!(ids(&gt), vec![mid.clone(), high.clone()]);
    assert_eq!(gt["results"][0]["properties"]["lead_score"], "17");
    let sorted = search(
        &app,
        json!({"sorts": [{"propertyName": "lead_score", "direction": "DESCENDING"}]}),
    )
    .await;
    assert_eq!(ids(&sorted), vec![high, mid, low.clone()]);
    let has = search(
        &app,
        json!({"filterGroups": [{"filters": [{"propertyName": "dialer_ref", "operator": "HAS_PROPERTY"}]}]}),
    )
    .await;
    assert_eq!(has["total"], 2);

    // Updates go through the same rules.
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{low}"),
            json!({"properties": {"lead_score": "6"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["properties"]["lead_score"], "6");
}

#[tokio::test]
async fn archived_property_can_no_longer_be_written() {
    let app = spawn_app().await;
    create_property(&app, text_property("temp_note")).await;
    let id = app.create_call(json!({"temp_note": "kept"})).await;
    let reply = app.delete(&format!("{PROPS}/temp_note")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{id}"),
            json!({"properties": {"temp_note": "again"}}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(body["errors"][0]["code"], "PROPERTY_DOESNT_EXIST", "{body}");
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": "1745524893000", "temp_note": "x"}}),
        )
        .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(body["errors"][0]["code"], "PROPERTY_DOESNT_EXIST", "{body}");

    // Nor searched on.
    let reply = app
        .post(
            "/crm/v3/objects/calls/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "temp_note", "operator": "EQ", "value": "kept"}]}]}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn properties_belong_to_one_portal() {
    let app = spawn_app().await;
    create_property(&app, text_property("portal_one_only")).await;
    let other = |method: Method, path: String, body: Option<Value>| {
        let app = &app;
        async move {
            app.send_raw(
                method,
                &path,
                Some(OTHER_PORTAL_TOKEN),
                body.map(|b| b.to_string()),
            )
            .await
        }
    };
    other(Method::GET, format!("{PROPS}/portal_one_only"), None)
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    let listed = other(Method::GET, PROPS.to_owned(), None).await;
    assert!(!names(&listed.body).contains(&"portal_one_only".to_owned()));
    let reply = other(
        Method::POST,
        "/crm/v3/objects/calls".to_owned(),
        Some(json!({"properties": {"hs_timestamp": "1745524893000", "portal_one_only": "x"}})),
    )
    .await;
    let body = reply.assert_error(400, "VALIDATION_ERROR");
    assert_eq!(body["errors"][0]["code"], "PROPERTY_DOESNT_EXIST", "{body}");
    // Portal 2 may create the same name for itself.
    let reply = other(
        Method::POST,
        PROPS.to_owned(),
        Some(text_property("portal_one_only")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    // And its groups are its own.
    let reply = other(
        Method::POST,
        format!("{PROPS}/groups"),
        Some(json!({"name": "p2_group", "label": "P2"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    app.get(&format!("{PROPS}/groups/p2_group"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn archiving_a_group_does_not_strand_its_properties() {
    let app = spawn_app().await;
    let reply = app
        .post(
            &format!("{PROPS}/groups"),
            json!({"name": "g1", "label": "G"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    create_property(
        &app,
        json!({"name": "in_g1", "label": "I", "type": "string", "fieldType": "text", "groupName": "g1"}),
    )
    .await;
    let deleted = app.delete(&format!("{PROPS}/groups/g1")).await;
    if deleted.status == StatusCode::NO_CONTENT {
        let reply = app
            .patch(&format!("{PROPS}/in_g1"), json!({"label": "Renamed"}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    } else {
        deleted.assert_error(400, "VALIDATION_ERROR");
    }
}
