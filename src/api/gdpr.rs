//! GDPR delete: removes a call for good, with its history and associations.

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::crm::objects::Partition;
use crate::crm::records::Locator;

use super::auth::Principal;
use super::error::ApiError;
use super::json::HubJson;
use super::version::ApiVersion;
use super::wire::GdprDeleteInput;
use super::{object_type_of, AppState, PathParams};

pub async fn delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    OriginalUri(uri): OriginalUri,
    version: ApiVersion,
    HubJson(input): HubJson<GdprDeleteInput>,
) -> Result<Response, ApiError> {
    let object_type = object_type_of(&object_type)?;
    if !version.serves_gdpr_delete(object_type) {
        // No such endpoint for this type in this version: what any unknown path answers.
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            format!("No endpoint matches POST {}", uri.path()),
        ));
    }
    let partition = Partition::new(principal.portal, object_type);
    state
        .run(partition, move |crm| {
            let locator = Locator {
                value: &input.object_id.0,
                id_property: input.id_property.as_deref(),
            };
            crm.records.gdpr_delete(partition, locator)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
