//! The admin API of webhooks (guarded by the admin token, outside HubSpot's paths): a
//! portal's subscriptions, and its recent delivery attempts.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::crm::record::PortalId;
use crate::webhooks::WebhookSettings;

use super::error::{json_response, ApiError};
use super::json::HubJson;
use super::{AppState, PathParams};

fn no_webhooks(portal: PortalId) -> ApiError {
    ApiError::not_found(format!("Portal {portal} has no webhook settings"))
}

/// `PUT /_hubcalls/portals/{portal}/webhooks`: sets (or replaces) the portal's settings.
pub async fn put(
    State(state): State<AppState>,
    PathParams(portal): PathParams<PortalId>,
    HubJson(settings): HubJson<WebhookSettings>,
) -> Result<Response, ApiError> {
    let view = state
        .webhooks
        .put(portal, settings)
        .map_err(ApiError::validation)?;
    Ok(json_response(StatusCode::OK, &view))
}

/// `GET /_hubcalls/portals/{portal}/webhooks`.
pub async fn get(
    State(state): State<AppState>,
    PathParams(portal): PathParams<PortalId>,
) -> Result<Response, ApiError> {
    let hook = state
        .webhooks
        .get(portal)
        .ok_or_else(|| no_webhooks(portal))?;
    Ok(json_response(StatusCode::OK, &hook.view()))
}

/// `DELETE /_hubcalls/portals/{portal}/webhooks`: no more events for the portal (batches
/// already queued are still delivered).
pub async fn delete(
    State(state): State<AppState>,
    PathParams(portal): PathParams<PortalId>,
) -> Result<Response, ApiError> {
    if !state.webhooks.remove(portal) {
        return Err(no_webhooks(portal));
    }
    state.webhooks.deliverer().forget(portal);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /_hubcalls/portals/{portal}/webhooks/attempts`: the latest delivery attempts,
/// newest first, with the server-wide queue state.
pub async fn attempts(
    State(state): State<AppState>,
    PathParams(portal): PathParams<PortalId>,
) -> Result<Response, ApiError> {
    let deliverer = state.webhooks.deliverer();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "results": deliverer.attempts(portal),
            "queuedEvents": deliverer.queued(),
            "droppedEvents": deliverer.dropped(),
        }),
    ))
}
