//! Inputs the fuzz targets (`fuzz/`) found mishandled, replayed over HTTP.

use crate::common;

use common::spawn_app;
use serde_json::json;

const ATTACHMENTS: &str = "hs_attachment_ids";

/// A multi-select written as separators only (`;`) normalised to the empty string: a create
/// stored `""` (a value that is no value), and an append added an empty element (`1;2;`).
/// Now it appends nothing.
#[tokio::test]
async fn separators_alone_append_nothing_to_a_multi_select() {
    let app = spawn_app().await;
    let created = app.create_call(json!({ATTACHMENTS: ";"})).await;
    let read = app
        .get(&format!(
            "/crm/v3/objects/calls/{created}?properties={ATTACHMENTS}"
        ))
        .await;
    assert!(
        read.body["properties"][ATTACHMENTS].is_null(),
        "{}",
        read.text
    );
    let search = app
        .post(
            "/crm/v3/objects/calls/search",
            json!({"filterGroups": [{"filters": [
                {"propertyName": ATTACHMENTS, "operator": "HAS_PROPERTY"}
            ]}]}),
        )
        .await;
    assert_eq!(search.body["total"], 0, "{}", search.text);

    let id = app.create_call(json!({ATTACHMENTS: "1;2"})).await;
    for separators in [";", ";;"] {
        let reply = app
            .patch(
                &format!("/crm/v3/objects/calls/{id}"),
                json!({"properties": {ATTACHMENTS: separators}}),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(
            reply.body["properties"][ATTACHMENTS], "1;2",
            "{}",
            reply.text
        );
    }
}
