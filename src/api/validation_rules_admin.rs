//! The admin API of write validation rules (guarded by the admin token, outside HubSpot's
//! paths): what a HubSpot admin sets under Settings → Objects → Create record form and
//! conditional property rules. Enforced on the `2026-09` API paths only.
//!
//! The body maps object types (any name the object API accepts) to their rules:
//! `{"deals": {"requiredOnCreate": ["amount"], "conditional": [{"property": "closed_lost_reason",
//! "whenProperty": "dealstage", "values": ["closedlost"]}]}}`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::crm::objects::Partition;
use crate::crm::record::PortalId;
use crate::crm::write_rules::ObjectWriteRules;

use super::error::{json_response, ApiError};
use super::json::HubJson;
use super::{object_type_of, AppState, PathParams};

/// `GET /_hubcalls/portals/{portal}/validation-rules`.
pub async fn get(
    State(state): State<AppState>,
    PathParams(portal): PathParams<PortalId>,
) -> Response {
    json_response(StatusCode::OK, &rules_of(&state, portal))
}

/// `PUT /_hubcalls/portals/{portal}/validation-rules`: replaces the portal's rules, every
/// type at once. Each property a rule names must exist on its type.
pub async fn put(
    State(state): State<AppState>,
    PathParams(portal): PathParams<PortalId>,
    HubJson(body): HubJson<BTreeMap<String, ObjectWriteRules>>,
) -> Result<Response, ApiError> {
    let mut checked = Vec::new();
    for (name, rules) in body {
        let partition = Partition::new(portal, object_type_of(&name)?);
        let named = rules
            .required_on_create
            .iter()
            .chain(rules.conditional.iter().map(|c| &c.property))
            .chain(rules.conditional.iter().map(|c| &c.when_property))
            .cloned()
            .collect::<Vec<_>>();
        let schema = state
            .run(partition, move |crm| crm.records.schema(partition))
            .await?;
        if let Some(unknown) = named.iter().find(|n| !schema.contains(n)) {
            return Err(ApiError::validation(format!(
                "Property \"{unknown}\" does not exist on {}",
                partition.object_type.plural
            )));
        }
        checked.push((partition, rules));
    }
    let rules = state.services.records.write_rules();
    rules.clear_portal(portal);
    for (partition, object_rules) in checked {
        rules.set(partition, object_rules);
    }
    Ok(json_response(StatusCode::OK, &rules_of(&state, portal)))
}

/// `DELETE /_hubcalls/portals/{portal}/validation-rules`: the portal has no rules.
pub async fn delete(
    State(state): State<AppState>,
    PathParams(portal): PathParams<PortalId>,
) -> Response {
    state.services.records.write_rules().clear_portal(portal);
    StatusCode::NO_CONTENT.into_response()
}

fn rules_of(state: &AppState, portal: PortalId) -> BTreeMap<&'static str, ObjectWriteRules> {
    state
        .services
        .records
        .write_rules()
        .of_portal(portal)
        .into_iter()
        .map(|(object_type, rules)| (object_type.plural, rules))
        .collect()
}
