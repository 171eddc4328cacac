//! `POST /crm/v3/objects/{type}/merge`: two records become one (contacts, companies, deals,
//! tickets; every type on `2026-09-beta`, see [`ApiVersion::serves_merge`]).

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;

use crate::crm::objects::Partition;

use super::auth::Principal;
use super::error::{json_response, ApiError};
use super::json::HubJson;
use super::render::{render_records, ReadOptions};
use super::version::ApiVersion;
use super::wire::IdText;
use super::{object_type_of, AppState, PathParams};

/// HubSpot's `PublicMergeInput`: both fields are required.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MergeInput {
    primary_object_id: IdText,
    object_id_to_merge: IdText,
}

pub async fn merge(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    OriginalUri(uri): OriginalUri,
    version: ApiVersion,
    HubJson(input): HubJson<MergeInput>,
) -> Result<Response, ApiError> {
    let object_type = object_type_of(&object_type)?;
    if !version.serves_merge(object_type) {
        // No such endpoint for this type in this version: what any unknown path answers.
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            format!("No endpoint matches POST {}", uri.path()),
        ));
    }
    let partition = Partition::new(principal.portal, object_type);
    let source = principal.write_source();
    let body = state
        .run(partition, move |crm| {
            let merged = crm.merge.merge(
                partition,
                &source,
                &input.primary_object_id.0,
                &input.object_id_to_merge.0,
            )?;
            render_records(crm, partition, vec![merged], &ReadOptions::stored())
        })
        .await?;
    Ok(json_response(StatusCode::OK, &body[0]))
}
