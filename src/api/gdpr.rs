//! GDPR delete: removes a call for good, with its history and associations.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::crm::objects::Partition;
use crate::crm::service::Locator;

use super::auth::Principal;
use super::error::ApiError;
use super::json::HubJson;
use super::wire::GdprDeleteInput;
use super::{object_type_of, AppState, PathParams};

pub async fn delete(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    HubJson(input): HubJson<GdprDeleteInput>,
) -> Result<Response, ApiError> {
    let object_type = object_type_of(&object_type)?;
    let partition = Partition::new(principal.portal, object_type);
    state
        .run(partition, move |service| {
            let locator = Locator {
                value: &input.object_id.0,
                id_property: input.id_property.as_deref(),
            };
            service.gdpr_delete(partition, locator)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
