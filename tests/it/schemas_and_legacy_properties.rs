//! What connectors read before they sync records: object schemas (`/crm/v3/schemas`, alias
//! `/crm-object-schemas/v3/schemas`) and the legacy v2 properties API, for every type.

use crate::common;

use common::{spawn_app, OTHER_PORTAL_TOKEN};
use reqwest::Method;
use serde_json::{json, Value};

/// Every registered type: a name clients use in paths and its type id.
const TYPES: [(&str, &str); 11] = [
    ("calls", "0-48"),
    ("notes", "0-46"),
    ("emails", "0-49"),
    ("meetings", "0-47"),
    ("tasks", "0-27"),
    ("contacts", "0-1"),
    ("companies", "0-2"),
    ("deals", "0-3"),
    ("tickets", "0-5"),
    ("products", "0-7"),
    ("line_items", "0-8"),
];

fn names(properties: &Value) -> Vec<&str> {
    properties
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_portal_without_custom_objects_lists_no_schemas() {
    let app = spawn_app().await;
    for path in [
        "/crm/v3/schemas",
        "/crm-object-schemas/v3/schemas?archived=false",
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        assert_eq!(reply.body, json!({"results": []}));
    }
}

#[tokio::test]
async fn the_contact_schema_reads_like_hubspots() {
    let app = spawn_app().await;
    let reply = app.get("/crm/v3/schemas/CONTACT").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let schema = &reply.body;
    for (field, value) in [
        (
            "labels",
            json!({"singular": "Contact", "plural": "Contacts"}),
        ),
        ("requiredProperties", json!([])),
        ("primaryDisplayProperty", json!("firstname")),
        (
            "secondaryDisplayProperties",
            json!(["lastname", "email", "phone"]),
        ),
        ("archived", json!(false)),
        ("restorable", json!(true)),
        ("metaType", json!("HUBSPOT")),
        ("id", json!("1")),
        ("fullyQualifiedName", json!("CONTACT")),
        ("createdAt", json!("1970-01-01T00:00:00Z")),
        ("objectTypeId", json!("0-1")),
        ("name", json!("CONTACT")),
    ] {
        assert_eq!(schema[field], value, "{field}");
    }
    let searchable = schema["searchableProperties"].as_array().unwrap();
    assert!(searchable.contains(&json!("email")) && searchable.contains(&json!("phone")));
    let properties = names(&schema["properties"]);
    assert!(properties.contains(&"email") && properties.contains(&"hubspot_owner_id"));
    let email = schema["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "email")
        .unwrap();
    assert_eq!(email["modificationMetadata"]["readOnlyValue"], false);
    let association = |id: &str| {
        schema["associations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no association {id}"))
    };
    assert_eq!(
        association("1"),
        json!({
            "fromObjectTypeId": "0-1",
            "toObjectTypeId": "0-2",
            "name": "CONTACT_TO_COMPANY",
            "cardinality": "ONE_TO_ONE",
            "inverseCardinality": "ONE_TO_MANY",
            "id": "1",
            "createdAt": null,
            "updatedAt": null
        })
    );
    assert_eq!(association("194")["name"], "CALL_TO_CONTACT");
    assert_eq!(association("199")["name"], "CONTACT_TO_MEETING_EVENT");

    // The same schema under every spelling of the type and under the alias prefix.
    for path in [
        "/crm/v3/schemas/contacts",
        "/crm/v3/schemas/contact",
        "/crm/v3/schemas/0-1",
        "/crm-object-schemas/v3/schemas/CONTACT",
    ] {
        let again = app.get(path).await;
        assert_eq!(again.status, 200, "{path}");
        assert_eq!(again.body["objectTypeId"], "0-1", "{path}");
    }
    // Without property or association definitions when asked.
    let bare = app
        .get("/crm/v3/schemas/contacts?includePropertyDefinitions=false&includeAssociationDefinitions=false")
        .await;
    assert_eq!(bare.body["properties"], json!([]));
    assert_eq!(bare.body["associations"], json!([]));
}

#[tokio::test]
async fn every_type_has_a_schema_with_the_portals_own_properties() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/crm/v3/properties/deals",
            json!({"name": "region", "label": "Region", "type": "string", "fieldType": "text", "groupName": "dealinformation"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    for (name, type_id) in TYPES {
        let reply = app.get(&format!("/crm/v3/schemas/{type_id}")).await;
        assert_eq!(reply.status, 200, "{name}: {}", reply.text);
        assert_eq!(reply.body["objectTypeId"], type_id);
        assert!(
            !reply.body["properties"].as_array().unwrap().is_empty(),
            "{name}"
        );
        assert!(reply.body["primaryDisplayProperty"].is_string(), "{name}");
    }
    let deals = app.get("/crm/v3/schemas/deals").await;
    assert!(names(&deals.body["properties"]).contains(&"region"));
    assert_eq!(
        deals.body["requiredProperties"],
        json!(["dealname", "dealstage"])
    );
    // Another portal does not see portal 1's property.
    let other = app
        .send_raw(
            Method::GET,
            "/crm/v3/schemas/deals",
            Some(OTHER_PORTAL_TOKEN),
            None,
        )
        .await;
    assert!(!names(&other.body["properties"]).contains(&"region"));

    let batch = app
        .post(
            "/crm/v3/schemas/batch/read",
            json!({"inputs": ["CONTACT", "widgets", "0-3"]}),
        )
        .await;
    assert_eq!(batch.status, 200, "{}", batch.text);
    let read: Vec<&Value> = batch.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["objectTypeId"])
        .collect();
    assert_eq!(read, [&json!("0-1"), &json!("0-3")]);
}

#[tokio::test]
async fn unknown_schemas_and_custom_object_writes_are_refused() {
    let app = spawn_app().await;
    for path in [
        "/crm/v3/schemas/widgets",
        "/crm-object-schemas/v3/schemas/2-123456",
    ] {
        let reply = app.get(path).await;
        reply.assert_error(404, "OBJECT_NOT_FOUND");
    }
    // Defining custom objects takes a scope no full-access token holds (no hubcalls portal
    // has custom objects).
    let create = app
        .post(
            "/crm/v3/schemas",
            json!({"name": "cars", "labels": {"singular": "Car", "plural": "Cars"}}),
        )
        .await;
    let error = create.assert_error(403, "MISSING_SCOPES");
    assert_eq!(
        error["errors"][0]["context"]["requiredGranularScopes"],
        json!(["crm.schemas.custom.write"])
    );
    app.send(Method::DELETE, "/crm/v3/schemas/contacts", None)
        .await
        .assert_error(403, "MISSING_SCOPES");
}

#[tokio::test]
async fn v2_properties_are_a_bare_array_in_v2_shape() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/crm/v3/properties/contacts",
            json!({"name": "tier", "label": "Tier", "type": "enumeration", "fieldType": "select", "groupName": "contactinformation",
                   "options": [{"label": "Gold", "value": "gold", "displayOrder": 0}]}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    for path in [
        "/properties/v2/contacts/properties",
        "/properties/v2/contact/properties",
        "/properties/v2/0-1/properties",
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        assert!(reply.body.is_array(), "{path}");
        assert!(names(&reply.body).contains(&"tier"), "{path}");
    }
    let all = app.get("/properties/v2/contacts/properties").await;
    let find = |name: &str| {
        all.body
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap()
    };
    let email = find("email");
    for (field, value) in [
        ("label", json!("Email")),
        ("groupName", json!("contactinformation")),
        ("type", json!("string")),
        ("fieldType", json!("text")),
        ("readOnlyValue", json!(false)),
        ("readOnlyDefinition", json!(true)),
        ("mutableDefinitionNotDeletable", json!(false)),
        ("hubspotDefined", json!(true)),
        ("deleted", json!(false)),
        ("createdAt", Value::Null),
        ("formField", json!(true)),
        ("calculated", json!(false)),
        ("externalOptions", json!(false)),
        ("hasUniqueValue", json!(false)),
        ("favorited", json!(false)),
        ("favoritedOrder", json!(-1)),
        ("displayMode", json!("current_value")),
    ] {
        assert_eq!(email[field], value, "email.{field}");
    }
    assert!(email.get("modificationMetadata").is_none());
    let tier = find("tier");
    assert_eq!(tier["hubspotDefined"], Value::Null);
    assert!(tier["createdAt"].as_i64().unwrap() > 1_600_000_000_000);
    assert_eq!(
        tier["options"],
        json!([{"label": "Gold", "value": "gold", "displayOrder": 0, "hidden": false, "description": "", "readOnly": false}])
    );
    let owner = find("hubspot_owner_id");
    assert_eq!(owner["referencedObjectType"], "OWNER");
    assert_eq!(owner["externalOptions"], true);

    // Every registered type answers, by its v2 (singular) name too.
    for (name, type_id) in TYPES {
        let singular = name.trim_end_matches('s').replace("companie", "company");
        for path in [
            format!("/properties/v2/{name}/properties"),
            format!("/properties/v2/{singular}/properties"),
            format!("/properties/v2/{type_id}/properties"),
        ] {
            let reply = app.get(&path).await;
            assert_eq!(reply.status, 200, "{path}: {}", reply.text);
            assert!(!reply.body.as_array().unwrap().is_empty(), "{path}");
        }
    }

    let one = app
        .get("/properties/v2/contacts/properties/named/tier")
        .await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.body["name"], "tier");
    app.get("/properties/v2/contacts/properties/named/nope")
        .await
        .assert_error(404, "OBJECT_NOT_FOUND");
    let error = app
        .get("/properties/v2/widgets/properties")
        .await
        .assert_error(400, "VALIDATION_ERROR")
        .clone();
    assert_eq!(
        error["message"],
        "Unable to infer object type from: widgets"
    );
    // Archived properties are gone from v2 as from v3.
    let archived = app.delete("/crm/v3/properties/contacts/tier").await;
    assert_eq!(archived.status, 204);
    let after = app.get("/properties/v2/contacts/properties").await;
    assert!(!names(&after.body).contains(&"tier"));
}
