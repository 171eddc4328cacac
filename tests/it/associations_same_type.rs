//! Associations between records of the same type (contact to contact 449, company to
//! company 450 and parent/child 13/14, deal to deal 451, ticket to ticket 452): served on
//! every association path and read the same from both ends, on either store.

use crate::common;

use common::{spawn_app, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Each type with its symmetric HubSpot-defined type id.
const SAME_TYPE: [(&str, &str, u64); 4] = [
    ("contacts", "contact", 449),
    ("companies", "company", 450),
    ("deals", "deal", 451),
    ("tickets", "ticket", 452),
];

/// `(toObjectId, sorted type ids)` of a v4 list.
async fn v4(app: &TestApp, kind: &str, id: &str) -> Vec<(String, Vec<u64>)> {
    let reply = app
        .get(&format!("/crm/v4/objects/{kind}/{id}/associations/{kind}"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let mut types: Vec<u64> = r["associationTypes"]
                .as_array()
                .expect("associationTypes")
                .iter()
                .map(|t| t["typeId"].as_u64().expect("typeId"))
                .collect();
            types.sort_unstable();
            (r["toObjectId"].to_string(), types)
        })
        .collect()
}

async fn three(app: &TestApp, kind: &str) -> [String; 3] {
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(app.create_minimal(kind).await);
    }
    <[String; 3]>::try_from(ids).expect("three records")
}

async fn search_by(app: &TestApp, kind: &str, singular: &str, id: &str) -> Vec<String> {
    let reply = app
        .post(
            &format!("/crm/v3/objects/{kind}/search"),
            json!({"filterGroups": [{"filters": [
                {"propertyName": format!("associations.{singular}"), "operator": "EQ", "value": id}
            ]}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let mut ids: Vec<String> = reply.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_symmetric_type_reads_the_same_from_both_ends_on_every_path() {
    let app = spawn_app().await;
    for (kind, singular, type_id) in SAME_TYPE {
        let [a, b, c] = three(&app, kind).await;
        let reply = app
            .put(&format!(
                "/crm/v4/objects/{kind}/{a}/associations/default/{kind}/{b}"
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{kind}: {}", reply.text);
        assert_eq!(
            reply.body["results"][0]["associationSpec"]["associationTypeId"],
            type_id
        );
        assert_eq!(v4(&app, kind, &a).await, vec![(b.clone(), vec![type_id])]);
        assert_eq!(v4(&app, kind, &b).await, vec![(a.clone(), vec![type_id])]);

        // `associations=` on reads, from both ends, with the v3 name.
        let name = format!("{singular}_to_{singular}");
        for (from, to) in [(&a, &b), (&b, &a)] {
            let reply = app
                .get(&format!(
                    "/crm/v3/objects/{kind}/{from}?associations={kind}"
                ))
                .await;
            assert_eq!(
                reply.body["associations"][kind]["results"],
                json!([{"id": to, "type": name}]),
                "{kind}: {}",
                reply.text
            );
        }

        // Search by association finds either end.
        assert_eq!(search_by(&app, kind, singular, &a).await, vec![b.clone()]);
        assert_eq!(search_by(&app, kind, singular, &b).await, vec![a.clone()]);

        // v3 per-record PUT from c to a, removed from a's end.
        let reply = app
            .put(&format!(
                "/crm/v3/objects/{kind}/{c}/associations/{kind}/{a}/{name}"
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{kind}: {}", reply.text);
        assert_eq!(v4(&app, kind, &a).await.len(), 2);
        let reply = app
            .delete(&format!(
                "/crm/v3/objects/{kind}/{a}/associations/{kind}/{c}/{name}"
            ))
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
        assert!(v4(&app, kind, &c).await.is_empty());
        assert_eq!(v4(&app, kind, &a).await, vec![(b.clone(), vec![type_id])]);

        // v4 delete from the other end removes both.
        let reply = app
            .delete(&format!(
                "/crm/v4/objects/{kind}/{b}/associations/{kind}/{a}"
            ))
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
        assert!(v4(&app, kind, &a).await.is_empty());
        assert!(v4(&app, kind, &b).await.is_empty());
        assert!(search_by(&app, kind, singular, &a).await.is_empty());

        // The labels of the pair start with the unlabelled default.
        let reply = app
            .get(&format!("/crm/v4/associations/{kind}/{kind}/labels"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert_eq!(
            reply.body["results"][0],
            json!({"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": null})
        );
    }
}

#[tokio::test]
async fn batch_paths_and_association_on_create_keep_both_ends() {
    let app = spawn_app().await;
    for (kind, singular, type_id) in SAME_TYPE {
        let [a, b, c] = three(&app, kind).await;
        // v4 batch create from a; read from b and c in one batch.
        let reply = app
            .post(
                &format!("/crm/v4/associations/{kind}/{kind}/batch/create"),
                json!({"inputs": [
                    {"from": {"id": a}, "to": {"id": b}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]},
                    {"from": {"id": a}, "to": {"id": c}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}
                ]}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{kind}: {}", reply.text);
        let reply = app
            .post(
                &format!("/crm/v4/associations/{kind}/{kind}/batch/read"),
                json!({"inputs": [{"id": b}, {"id": c}]}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{kind}: {}", reply.text);
        let results = reply.body["results"].as_array().expect("results");
        assert_eq!(results.len(), 2, "{}", reply.text);
        for result in results {
            assert_eq!(result["to"][0]["toObjectId"].to_string(), a);
        }
        // v4 batch archive from the far ends.
        let reply = app
            .post(
                &format!("/crm/v4/associations/{kind}/{kind}/batch/archive"),
                json!({"inputs": [{"from": {"id": b}, "to": [{"id": a}]}, {"from": {"id": c}, "to": [{"id": a}]}]}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
        assert!(v4(&app, kind, &a).await.is_empty());

        // v3 batch create and read.
        let name = format!("{singular}_to_{singular}");
        let reply = app
            .post(
                &format!("/crm/v3/associations/{kind}/{kind}/batch/create"),
                json!({"inputs": [{"from": {"id": b}, "to": {"id": c}, "type": name}]}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{kind}: {}", reply.text);
        let reply = app
            .post(
                &format!("/crm/v3/associations/{kind}/{kind}/batch/read"),
                json!({"inputs": [{"id": c}]}),
            )
            .await;
        assert_eq!(
            reply.body["results"][0]["to"],
            json!([{"id": b, "type": name}]),
            "{}",
            reply.text
        );

        // A record created with an association to another of its type.
        let mut body = json!({"properties": common::minimal_properties(kind)});
        body["associations"] = json!([{"to": {"id": a}, "types": [
            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}
        ]}]);
        let reply = app.post(&format!("/crm/v3/objects/{kind}"), body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{kind}: {}", reply.text);
        let created = reply.body["id"].as_str().expect("id").to_owned();
        assert_eq!(v4(&app, kind, &a).await, vec![(created, vec![type_id])]);
    }
}

#[tokio::test]
async fn a_record_cannot_be_associated_with_itself() {
    let app = spawn_app().await;
    for (kind, _, type_id) in SAME_TYPE {
        let a = app.create_minimal(kind).await;
        let reply = app
            .put(&format!(
                "/crm/v4/objects/{kind}/{a}/associations/default/{kind}/{a}"
            ))
            .await;
        reply.assert_error(400, "VALIDATION_ERROR");
        let reply = app
            .send(
                Method::PUT,
                &format!("/crm/v4/objects/{kind}/{a}/associations/{kind}/{a}"),
                Some(json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}])),
            )
            .await;
        reply.assert_error(400, "VALIDATION_ERROR");
        assert!(v4(&app, kind, &a).await.is_empty());
    }
}

#[tokio::test]
async fn company_parent_and_child_are_each_others_inverse() {
    let app = spawn_app().await;
    let [parent, child, other] = three(&app, "companies").await;
    let labelled = |types: Value| {
        let app = &app;
        let (parent, child) = (parent.clone(), child.clone());
        async move {
            app.send(
                Method::PUT,
                &format!("/crm/v4/objects/companies/{parent}/associations/companies/{child}"),
                Some(types),
            )
            .await
        }
    };
    let reply =
        labelled(json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 13}]))
            .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(
        v4(&app, "companies", &parent).await,
        vec![(child.clone(), vec![13])]
    );
    assert_eq!(
        v4(&app, "companies", &child).await,
        vec![(parent.clone(), vec![14])]
    );

    // Child -> parent (14) from the child's end is the same association.
    let reply = app
        .send(
            Method::PUT,
            &format!("/crm/v4/objects/companies/{other}/associations/companies/{parent}"),
            Some(json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 14}])),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(
        v4(&app, "companies", &parent).await,
        vec![(child.clone(), vec![13]), (other.clone(), vec![13])]
    );

    // Removing 14 from the child's end removes 13 from the parent's.
    let reply = app
        .post(
            "/crm/v4/associations/companies/companies/batch/labels/archive",
            json!({"inputs": [{"from": {"id": child}, "to": {"id": parent}, "types": [
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 14}
            ]}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
    assert!(v4(&app, "companies", &child).await.is_empty());
    assert_eq!(
        v4(&app, "companies", &parent).await,
        vec![(other.clone(), vec![13])]
    );

    // The labels say which end is which.
    let reply = app
        .get("/crm/v4/associations/companies/companies/labels")
        .await;
    assert_eq!(
        reply.body["results"],
        json!([
            {"category": "HUBSPOT_DEFINED", "typeId": 450, "label": null},
            {"category": "HUBSPOT_DEFINED", "typeId": 13, "label": "Child Company"},
            {"category": "HUBSPOT_DEFINED", "typeId": 14, "label": "Parent Company"}
        ])
    );
    // On v3 paths, 13 is HubSpot's type too, read 14 from the other end.
    let reply = app
        .put(&format!(
            "/crm/v3/objects/companies/{parent}/associations/companies/{child}/13"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        v4(&app, "companies", &child).await,
        vec![(parent.clone(), vec![14])]
    );
}

#[tokio::test]
async fn archive_gdpr_delete_and_merge_leave_no_dangling_end() {
    let app = spawn_app().await;
    for (kind, _, type_id) in SAME_TYPE {
        let [a, b, c] = three(&app, kind).await;
        for (from, to) in [(&a, &b), (&b, &c)] {
            let reply = app
                .put(&format!(
                    "/crm/v4/objects/{kind}/{from}/associations/default/{kind}/{to}"
                ))
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        }
        // Archived: no longer listed from the other end.
        let reply = app.delete(&format!("/crm/v3/objects/{kind}/{a}")).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        assert_eq!(v4(&app, kind, &b).await, vec![(c.clone(), vec![type_id])]);
        // GDPR-deleted: its rows at the other end go too.
        let reply = app
            .post(
                &format!("/crm/v3/objects/{kind}/gdpr-delete"),
                json!({"objectId": c}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
        assert!(v4(&app, kind, &b).await.is_empty());
    }

    // Merge (contacts, companies, deals, tickets all merge): the merged record takes the
    // associations with third records, not the ones between the two merged.
    for (kind, _, type_id) in SAME_TYPE {
        let [a, b, c] = three(&app, kind).await;
        for (from, to) in [(&a, &b), (&b, &c)] {
            app.put(&format!(
                "/crm/v4/objects/{kind}/{from}/associations/default/{kind}/{to}"
            ))
            .await;
        }
        let reply = app
            .post(
                &format!("/crm/v3/objects/{kind}/merge"),
                json!({"primaryObjectId": a, "objectIdToMerge": b}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{kind}: {}", reply.text);
        let merged = reply.body["id"].as_str().expect("id").to_owned();
        assert_eq!(
            v4(&app, kind, &merged).await,
            vec![(c.clone(), vec![type_id])]
        );
        assert_eq!(v4(&app, kind, &c).await, vec![(merged, vec![type_id])]);
    }
}
