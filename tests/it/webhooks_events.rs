//! Webhook events over HTTP: a local receiver checks the payloads hubcalls sends for
//! creations, property changes, deletions and association changes, signed as HubSpot signs
//! them, and that refused writes send nothing.

use crate::common::{spawn_with, TOKEN};
use crate::webhooks_support::{
    assert_signed, config, fast_delivery, of_type, subscribe, Received, Receiver, APP_ID,
};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashSet;

#[tokio::test]
async fn creation_and_property_changes_arrive_signed_and_shaped_like_hubspots() {
    let (receiver, address) = Receiver::start(0).await;
    let app = spawn_with(config(fast_delivery())).await;
    let settings = subscribe(
        &app,
        address,
        json!([
            {"subscriptionType": "object.creation"},
            {"subscriptionType": "object.propertyChange", "propertyName": "hs_call_title"},
        ]),
    )
    .await;
    let creation_sub = settings["subscriptions"][0]["id"].clone();
    let title_sub = settings["subscriptions"][1]["id"].clone();
    assert_ne!(creation_sub, title_sub);

    let id = app
        .create_call(json!({"hs_call_title": "Intro", "hs_call_body": "hello"}))
        .await;
    let requests = receiver
        .wait_for("the creation", |r| {
            r.iter().flat_map(Received::events).count() >= 2
        })
        .await;
    assert_eq!(requests.len(), 1, "one write, one batch");
    assert_signed(&requests[0], address);
    let events = requests[0].events();
    assert_eq!(events.len(), 2, "{events:?}");
    let created = of_type(&events, "object.creation")[0];
    for (field, value) in [
        ("subscriptionId", creation_sub.clone()),
        ("portalId", json!(1)),
        ("appId", json!(APP_ID)),
        ("attemptNumber", json!(0)),
        ("objectId", json!(id.parse::<u64>().unwrap())),
        ("objectTypeId", json!("0-48")),
        ("changeFlag", json!("CREATED")),
        ("changeSource", json!("INTEGRATION")),
        ("sourceId", json!("1")),
    ] {
        assert_eq!(created[field], value, "{field} in {created}");
    }
    assert!(created["eventId"].as_u64().is_some());
    assert!(created["occurredAt"].as_i64().unwrap() > 1_600_000_000_000);
    let title = of_type(&events, "object.propertyChange")[0];
    assert_eq!(title["subscriptionId"], title_sub);
    assert_eq!(title["propertyName"], "hs_call_title");
    assert_eq!(title["propertyValue"], "Intro");
    assert_eq!(title["objectId"], created["objectId"]);
    assert_eq!(title["occurredAt"], created["occurredAt"]);
    assert_ne!(title["eventId"], created["eventId"]);

    // Only the subscribed property is reported; a value that does not change is not.
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{id}"),
            json!({"properties": {"hs_call_body": "changed", "hs_call_title": "Follow-up"}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{id}"),
            json!({"properties": {"hs_call_title": "Follow-up"}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    // A cleared value is reported as the empty string.
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{id}"),
            json!({"properties": {"hs_call_title": ""}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let requests = receiver
        .wait_for("two title changes", |r| {
            r.iter().flat_map(Received::events).count() >= 4
        })
        .await;
    // Separate writes may arrive in separate batches, in any order; event ids follow the
    // order of the writes.
    let mut events: Vec<Value> = requests.iter().flat_map(Received::events).collect();
    events.sort_by_key(|e| e["eventId"].as_u64());
    let changes = of_type(&events, "object.propertyChange");
    let values: Vec<&Value> = changes.iter().map(|e| &e["propertyValue"]).collect();
    assert_eq!(values, [&json!("Intro"), &json!("Follow-up"), &json!("")]);
    assert!(changes.iter().all(|e| e["propertyName"] == "hs_call_title"));
    for request in &requests {
        assert_signed(request, address);
    }
}

#[tokio::test]
async fn deletions_and_association_changes_are_reported_once() {
    let (receiver, address) = Receiver::start(0).await;
    let app = spawn_with(config(fast_delivery())).await;
    subscribe(
        &app,
        address,
        json!([
            {"subscriptionType": "object.deletion"},
            {"subscriptionType": "object.associationChange", "objectTypeId": "0-48"},
        ]),
    )
    .await;
    let first = app.create_call(json!({})).await;
    let second = app.create_call(json!({})).await;
    let contact = app.create_contact().await;
    let count = |n: usize| move |r: &[Received]| r.iter().flat_map(Received::events).count() >= n;

    let reply = app
        .send_raw(
            Method::PUT,
            &format!("/crm/v4/objects/calls/{first}/associations/default/contacts/{contact}"),
            Some(TOKEN),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    receiver.wait_for("the association", count(1)).await;
    // Associating again changes nothing, so reports nothing.
    let reply = app
        .send_raw(
            Method::PUT,
            &format!("/crm/v4/objects/calls/{first}/associations/default/contacts/{contact}"),
            Some(TOKEN),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = app
        .delete(&format!(
            "/crm/v4/objects/calls/{first}/associations/contacts/{contact}"
        ))
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    receiver.wait_for("the removal", count(2)).await;

    assert_eq!(
        app.delete(&format!("/crm/v3/objects/calls/{first}"))
            .await
            .status,
        204
    );
    receiver.wait_for("the archive", count(3)).await;
    // Archiving again, and deleting for good what is already archived, are not new deletions.
    assert_eq!(
        app.delete(&format!("/crm/v3/objects/calls/{first}"))
            .await
            .status,
        204
    );
    let gdpr = |id: &str| json!({"objectId": id});
    let reply = app
        .post("/crm/v3/objects/calls/gdpr-delete", gdpr(&first))
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    let reply = app
        .post("/crm/v3/objects/calls/gdpr-delete", gdpr(&second))
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    receiver.wait_for("the GDPR delete", count(4)).await;

    let events = receiver.events();
    assert_eq!(events.len(), 4, "{events:?}");
    let associations = of_type(&events, "object.associationChange");
    for (event, removed) in associations.iter().zip([false, true]) {
        assert_eq!(event["associationRemoved"], removed, "{event}");
        assert_eq!(event["fromObjectTypeId"], "0-48");
        assert_eq!(event["fromObjectId"], json!(first.parse::<u64>().unwrap()));
        assert_eq!(event["toObjectTypeId"], "0-1");
        assert_eq!(event["toObjectId"], json!(contact.parse::<u64>().unwrap()));
        assert_eq!(event["associationTypeId"], json!(194));
        assert_eq!(event["associationCategory"], "HUBSPOT_DEFINED");
        assert_eq!(event["associationType"], "CALL_TO_CONTACT");
    }
    let deleted: Vec<&Value> = of_type(&events, "object.deletion")
        .iter()
        .map(|e| &e["objectId"])
        .collect();
    assert_eq!(
        deleted,
        [
            &json!(first.parse::<u64>().unwrap()),
            &json!(second.parse::<u64>().unwrap())
        ]
    );
}

#[tokio::test]
async fn association_changes_are_reported_from_both_ends_for_every_type() {
    let (receiver, address) = Receiver::start(0).await;
    let app = spawn_with(config(fast_delivery())).await;
    subscribe(
        &app,
        address,
        json!([
            {"subscriptionType": "contact.associationChange"},
            {"subscriptionType": "object.associationChange", "objectTypeId": "0-2"},
        ]),
    )
    .await;
    let contact = app.create_contact().await;
    let other = app.create_contact().await;
    let company = app
        .create_record("companies", json!({"name": "Ends"}))
        .await;
    let count = |n: usize| move |r: &[Received]| r.iter().flat_map(Received::events).count() >= n;
    let reply = app
        .put(&format!(
            "/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}"
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    receiver.wait_for("both ends", count(2)).await;
    // Between two contacts: one event from each contact.
    let reply = app
        .put(&format!(
            "/crm/v4/objects/contacts/{contact}/associations/default/contacts/{other}"
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    receiver.wait_for("both contacts", count(4)).await;

    let events = receiver.events();
    let id = |text: &str| json!(text.parse::<u64>().unwrap());
    let mut seen: Vec<(String, Value, Value, Value)> = events
        .iter()
        .map(|e| {
            (
                e["subscriptionType"].as_str().unwrap().to_owned(),
                e["fromObjectId"].clone(),
                e["toObjectId"].clone(),
                e["associationTypeId"].clone(),
            )
        })
        .collect();
    seen.sort_by_key(|s| format!("{s:?}"));
    let mut expected = vec![
        (
            "contact.associationChange".to_owned(),
            id(&contact),
            id(&company),
            json!(279),
        ),
        (
            "object.associationChange".to_owned(),
            id(&company),
            id(&contact),
            json!(280),
        ),
        (
            "contact.associationChange".to_owned(),
            id(&contact),
            id(&other),
            json!(449),
        ),
        (
            "contact.associationChange".to_owned(),
            id(&other),
            id(&contact),
            json!(449),
        ),
    ];
    expected.sort_by_key(|s| format!("{s:?}"));
    assert_eq!(seen, expected, "{events:?}");
    let company_end = of_type(&events, "object.associationChange");
    assert_eq!(company_end[0]["fromObjectTypeId"], "0-2");
    assert_eq!(company_end[0]["toObjectTypeId"], "0-1");
    assert_eq!(
        company_end[0]["associationType"],
        "COMPANY_TO_CONTACT_UNLABELED"
    );
    assert_eq!(company_end[0]["associationRemoved"], false);
}

#[tokio::test]
async fn contacts_and_deals_send_their_events_generic_and_legacy() {
    let (receiver, address) = Receiver::start(0).await;
    let app = spawn_with(config(fast_delivery())).await;
    let settings = subscribe(
        &app,
        address,
        json!([
            {"subscriptionType": "object.creation", "objectTypeId": "0-1"},
            {"subscriptionType": "object.propertyChange", "objectTypeId": "contacts", "propertyName": "firstname"},
            {"subscriptionType": "deal.creation"},
            {"subscriptionType": "deal.propertyChange", "propertyName": "dealstage"},
            {"subscriptionType": "deal.deletion"},
            {"subscriptionType": "object.creation"},
        ]),
    )
    .await;
    let types: Vec<&Value> = settings["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["objectTypeId"])
        .collect();
    assert_eq!(
        types,
        [
            &json!("0-1"),
            &json!("0-1"),
            &json!("0-3"),
            &json!("0-3"),
            &json!("0-3"),
            &json!("0-48")
        ]
    );
    let sub = |n: usize| settings["subscriptions"][n]["id"].clone();

    let contact = app
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "ada@example.com", "firstname": "Ada"}}),
        )
        .await;
    assert_eq!(contact.status, 201, "{}", contact.text);
    let contact_id: u64 = contact.body["id"].as_str().unwrap().parse().unwrap();
    let deal = app
        .post(
            "/crm/v3/objects/deals",
            json!({"properties": {"dealname": "Engine licence", "dealstage": "appointmentscheduled"}}),
        )
        .await;
    assert_eq!(deal.status, 201, "{}", deal.text);
    let deal_id: u64 = deal.body["id"].as_str().unwrap().parse().unwrap();
    let reply = app
        .patch(
            &format!("/crm/v3/objects/deals/{deal_id}"),
            json!({"properties": {"dealstage": "closedwon", "amount": "10"}}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        app.delete(&format!("/crm/v3/objects/deals/{deal_id}"))
            .await
            .status,
        204
    );
    let call = app.create_call(json!({"hs_call_title": "barrier"})).await;
    let call_id: u64 = call.parse().unwrap();
    let requests = receiver
        .wait_for("the call's creation", |r| {
            r.iter()
                .flat_map(Received::events)
                .any(|e| e["objectId"] == call_id)
        })
        .await;
    for request in &requests {
        assert_signed(request, address);
    }
    let mut events = receiver.events();
    events.sort_by_key(|e| e["eventId"].as_u64());
    let of = |id: u64| -> Vec<&Value> { events.iter().filter(|e| e["objectId"] == id).collect() };

    // The contact: generic events, with the contact's type id.
    let contact_events = of(contact_id);
    assert_eq!(contact_events.len(), 2, "{contact_events:?}");
    let created = contact_events[0];
    assert_eq!(created["subscriptionType"], "object.creation");
    assert_eq!(created["subscriptionId"], sub(0));
    assert_eq!(created["objectTypeId"], "0-1");
    assert_eq!(created["changeFlag"], "CREATED");
    assert_eq!(created["changeSource"], "INTEGRATION");
    let firstname = contact_events[1];
    assert_eq!(firstname["subscriptionType"], "object.propertyChange");
    assert_eq!(firstname["objectTypeId"], "0-1");
    assert_eq!(firstname["propertyName"], "firstname");
    assert_eq!(firstname["propertyValue"], "Ada");
    assert_eq!(firstname["isSensitive"], false);

    // The deal: legacy events, which carry no objectTypeId.
    let deal_events = of(deal_id);
    let shapes: Vec<(&str, &str)> = deal_events
        .iter()
        .map(|e| {
            (
                e["subscriptionType"].as_str().unwrap(),
                e["propertyValue"]
                    .as_str()
                    .or(e["changeFlag"].as_str())
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shapes,
        [
            ("deal.creation", "CREATED"),
            ("deal.propertyChange", "appointmentscheduled"),
            ("deal.propertyChange", "closedwon"),
            ("deal.deletion", "DELETED"),
        ]
    );
    for event in &deal_events {
        assert!(event.get("objectTypeId").is_none(), "{event}");
        assert!(event.get("isSensitive").is_none(), "{event}");
        assert_eq!(event["portalId"], 1);
        assert_eq!(event["appId"], APP_ID);
    }
    assert_eq!(deal_events[0]["subscriptionId"], sub(2));
    assert_eq!(deal_events[3]["subscriptionId"], sub(4));

    // The call went to the calls subscription only; the contact and deal did not.
    let call_events = of(call_id);
    assert_eq!(call_events.len(), 1);
    assert_eq!(call_events[0]["objectTypeId"], "0-48");
    assert_eq!(call_events[0]["subscriptionId"], sub(5));
    assert_eq!(
        events.len(),
        contact_events.len() + deal_events.len() + call_events.len()
    );
}

#[tokio::test]
async fn refused_writes_send_nothing() {
    let (receiver, address) = Receiver::start(0).await;
    let app = spawn_with(config(fast_delivery())).await;
    let reply = app
        .post(
            "/crm/v3/properties/calls",
            json!({"name": "ext_id", "label": "Ext", "type": "string", "fieldType": "text", "groupName": "call", "hasUniqueValue": true}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    subscribe(
        &app,
        address,
        json!([
            {"subscriptionType": "object.creation"},
            {"subscriptionType": "object.propertyChange"},
            {"subscriptionType": "object.deletion"},
            {"subscriptionType": "object.associationChange"},
        ]),
    )
    .await;
    let first = app.create_call(json!({"ext_id": "a"})).await;

    // Associations with a record that does not exist (a call's id is no contact's).
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({
                "properties": {"hs_timestamp": 0},
                "associations": [{"to": {"id": first}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194}]}]
            }),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let reply = app
        .send_raw(
            Method::PUT,
            &format!("/crm/v4/objects/calls/{first}/associations/default/contacts/{first}"),
            Some(TOKEN),
            None,
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");

    // Refused by the rules (unknown property), by the store (unique value taken), and a
    // missing call.
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": 0, "no_such_property": "x"}}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let reply = app
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": 0, "ext_id": "a"}}),
        )
        .await;
    assert!(reply.status.is_client_error(), "{}", reply.text);
    let reply = app
        .patch(
            &format!("/crm/v3/objects/calls/{first}"),
            json!({"properties": {"hs_call_title": "x", "hs_call_duration": "not a number"}}),
        )
        .await;
    reply.assert_error(400, "VALIDATION_ERROR");
    let reply = app
        .patch(
            "/crm/v3/objects/calls/999999999",
            json!({"properties": {"hs_call_title": "x"}}),
        )
        .await;
    assert_eq!(reply.status, 404, "{}", reply.text);
    assert_eq!(
        app.delete("/crm/v3/objects/calls/999999999").await.status,
        204
    );

    // A write that succeeds afterwards, to know everything before it has been sent.
    let last = app.create_call(json!({"hs_call_title": "barrier"})).await;
    receiver
        .wait_for("the last creation", |r| {
            r.iter().flat_map(Received::events).any(|e| {
                e["subscriptionType"] == "object.creation"
                    && e["objectId"] == last.parse::<u64>().unwrap()
            })
        })
        .await;
    let events = receiver.events();
    let objects: HashSet<String> = events.iter().map(|e| e["objectId"].to_string()).collect();
    assert_eq!(
        objects,
        HashSet::from([first.clone(), last.clone()]),
        "{events:?}"
    );
    assert_eq!(of_type(&events, "object.creation").len(), 2);
    assert!(of_type(&events, "object.deletion").is_empty());
    assert!(!events
        .iter()
        .any(|e| e["propertyName"] == "hs_call_title"
            && e["objectId"] == first.parse::<u64>().unwrap()));
}
