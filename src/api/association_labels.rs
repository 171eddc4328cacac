//! `GET /crm/v4/associations/{from}/{to}/labels`: the association types of a pair. A portal
//! here defines no labels of its own, so the answer is HubSpot's own types of the pair:
//! the unlabelled default (`label: null`), the "Primary" ones where HubSpot has them, and
//! companies' "Parent Company" / "Child Company".
//! Defining labels (`POST`/`PUT`/`DELETE`) is not served: HubSpot's 400 says so.

use axum::extract::OriginalUri;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use crate::crm::associations::AssociationPair;

use super::error::{json_response, ApiError};
use super::{object_type_of, PathParams};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AssociationLabel {
    category: &'static str,
    type_id: u32,
    label: Option<&'static str>,
}

pub async fn list(
    PathParams((from, to)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let pair = AssociationPair::new(object_type_of(&from)?, object_type_of(&to)?);
    let results: Vec<AssociationLabel> = pair
        .defined_specs()
        .map(|(spec, label)| AssociationLabel {
            category: spec.category.as_str(),
            type_id: spec.type_id,
            label,
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "results": results }),
    ))
}

/// Custom labels cannot be defined here (hubcalls keeps no label definitions).
pub async fn define(OriginalUri(uri): OriginalUri) -> Result<Response, ApiError> {
    Err(ApiError::validation(format!(
        "hubcalls keeps no custom association labels; {} defines none",
        uri.path()
    )))
}
