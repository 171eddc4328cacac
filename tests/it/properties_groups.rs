//! Property groups of calls over HTTP, and which tokens may write definitions and groups.

use crate::common::{spawn_app, READ_ONLY_TOKEN};
use crate::properties_support::{create_property, names, text_property, PROPS};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn property_groups_lifecycle() {
    let app = spawn_app().await;
    let groups = format!("{PROPS}/groups");
    let reply = app.get(&groups).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let call = reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "call")
        .cloned()
        .expect("call group");
    assert_eq!(call["label"], "Call");
    assert_eq!(call["archived"], false);
    assert!(call["displayOrder"].is_number());

    let reply = app
        .post(
            &groups,
            json!({"name": "dialer_data", "label": "Dialer data", "displayOrder": 3}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"name": "dialer_data", "label": "Dialer data", "displayOrder": 3, "archived": false})
    );
    app.post(&groups, json!({"name": "dialer_data", "label": "Again"}))
        .await
        .assert_error(409, "OBJECT_ALREADY_EXISTS");
    app.post(&groups, json!({"name": "Bad-Group", "label": "B"}))
        .await
        .assert_error(400, "VALIDATION_ERROR");

    let reply = app.get(&format!("{groups}/dialer_data")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["label"], "Dialer data");

    // A property may go in the new group.
    create_property(
        &app,
        json!({"name": "dialer_id", "label": "Dialer id", "type": "string", "fieldType": "text", "groupName": "dialer_data"}),
    )
    .await;

    let reply = app
        .patch(&format!("{groups}/dialer_data"), json!({"label": "Dialer"}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["label"], "Dialer");
    assert_eq!(reply.body["displayOrder"], 3);
    assert_eq!(
        app.get(&format!("{groups}/dialer_data")).await.body["label"],
        "Dialer"
    );

    // A group that still holds a property cannot go; once the property is archived it can.
    app.delete(&format!("{groups}/dialer_data"))
        .await
        .assert_error(400, "VALIDATION_ERROR");
    let reply = app.delete(&format!("{PROPS}/dialer_id")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    let reply = app.delete(&format!("{groups}/dialer_data")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    app.get(&format!("{groups}/dialer_data"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    let listed = names(&app.get(&groups).await.body);
    assert!(!listed.contains(&"dialer_data".to_owned()));
    // No new property may join an archived group.
    app.post(
        PROPS,
        json!({"name": "late", "label": "L", "type": "string", "fieldType": "text", "groupName": "dialer_data"}),
    )
    .await
    .assert_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn builtin_groups_cannot_change() {
    let app = spawn_app().await;
    app.delete(&format!("{PROPS}/groups/call"))
        .await
        .assert_error(400, "VALIDATION_ERROR");
    app.patch(&format!("{PROPS}/groups/call"), json!({"label": "x"}))
        .await
        .assert_error(400, "VALIDATION_ERROR");
    app.post(
        &format!("{PROPS}/groups"),
        json!({"name": "call", "label": "Call again"}),
    )
    .await
    .assert_error(409, "OBJECT_ALREADY_EXISTS");
    app.get(&format!("{PROPS}/groups/nope"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn read_only_token_cannot_write_definitions() {
    let app = spawn_app().await;
    create_property(&app, text_property("ro_target")).await;
    let ro = |method: Method, path: String, body: Option<Value>| {
        let app = &app;
        async move {
            app.send_raw(
                method,
                &path,
                Some(READ_ONLY_TOKEN),
                body.map(|b| b.to_string()),
            )
            .await
        }
    };
    // Reads are allowed.
    let reply = ro(Method::GET, PROPS.to_owned(), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = ro(Method::GET, format!("{PROPS}/groups"), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);

    let writes = [
        (
            Method::POST,
            PROPS.to_owned(),
            Some(text_property("ro_new")),
        ),
        (
            Method::PATCH,
            format!("{PROPS}/ro_target"),
            Some(json!({"label": "x"})),
        ),
        (Method::DELETE, format!("{PROPS}/ro_target"), None),
        (
            Method::POST,
            format!("{PROPS}/batch/create"),
            Some(json!({"inputs": [text_property("ro_new")]})),
        ),
        (
            Method::POST,
            format!("{PROPS}/batch/archive"),
            Some(json!({"inputs": [{"name": "ro_target"}]})),
        ),
        (
            Method::POST,
            format!("{PROPS}/groups"),
            Some(json!({"name": "ro_group", "label": "x"})),
        ),
        (
            Method::PATCH,
            format!("{PROPS}/groups/call"),
            Some(json!({"label": "x"})),
        ),
        (Method::DELETE, format!("{PROPS}/groups/call"), None),
    ];
    for (method, path, body) in writes {
        let reply = ro(method.clone(), path.clone(), body).await;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.text);
        reply.assert_error(403, "MISSING_SCOPES");
    }
    assert_eq!(
        app.get(&format!("{PROPS}/ro_target")).await.body["label"],
        "Label of ro_target"
    );
    app.get(&format!("{PROPS}/ro_new"))
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
}
