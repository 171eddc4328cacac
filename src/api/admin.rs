//! The admin API, outside HubSpot's paths: lets a test suite reset a portal so every test
//! starts from known data. Off unless an admin token is configured; guarded by that token
//! alone (portal tokens are not accepted).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::crm::call::PortalId;

use super::error::ApiError;
use super::{AppState, PathParams};

/// The admin token, when the admin API is on.
#[derive(Clone)]
pub struct AdminToken(pub Option<Arc<str>>);

/// Middleware: only the admin token passes (compared in constant time).
pub async fn require_admin(
    State(AdminToken(expected)): State<AdminToken>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = expected else {
        return ApiError::not_found("The admin API is off: start hubcalls with --admin-token")
            .into_response();
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned())
        .unwrap_or_default();
    if !super::auth::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "The admin API needs the admin token as a bearer token.",
        )
        .into_response();
    }
    next.run(request).await
}

/// `DELETE /_hubcalls/portals/{portal}`: removes every call, history entry, association,
/// custom property and group of the portal.
pub async fn reset_portal(
    State(state): State<AppState>,
    PathParams(portal): PathParams<PortalId>,
) -> Result<Response, ApiError> {
    state
        .run(portal, move |service| service.reset_portal(portal))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
