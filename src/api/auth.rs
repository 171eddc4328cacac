//! Bearer tokens: each belongs to one portal and carries scopes, as HubSpot private apps do.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::TokenGrant;
use crate::crm::objects::ObjectType;
use crate::crm::record::{PortalId, WriteSource};

use super::error::{ApiError, ErrorDetail};

/// What an endpoint needs from the caller's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    /// What a request needs, from its method and path alone, so that no endpoint can be
    /// added without the check: reads are GET, search and batch reads; the rest writes.
    pub fn for_request(method: &Method, path: &str) -> Self {
        let read_post = path.ends_with("/search") || path.ends_with("/batch/read");
        match *method {
            Method::GET | Method::HEAD | Method::OPTIONS => Self::Read,
            Method::POST if read_post => Self::Read,
            _ => Self::Write,
        }
    }

    /// The scopes that grant this access to `object_type`; any one suffices.
    pub fn scopes(self, object_type: ObjectType) -> &'static [&'static str] {
        match self {
            Self::Read => object_type.read_scopes,
            Self::Write => object_type.write_scopes,
        }
    }
}

/// The object type a request's path is about, for its scope: the type after
/// `/crm/v3/objects/`, `/crm/v3/properties/`, `/crm/v3/pipelines/`, `/crm/v4/objects/` or
/// the first of `/crm/v4/associations/`. Paths of no type (and types no one knows, which the
/// handler refuses) need the contacts scopes, as the engagements do.
pub fn object_type_of_path(path: &str) -> ObjectType {
    let mut segments = path.trim_matches('/').split('/');
    let named = match (segments.next(), segments.next(), segments.next()) {
        (
            Some("crm"),
            Some("v3" | "v4"),
            Some("objects" | "properties" | "associations" | "pipelines"),
        ) => segments.next(),
        _ => None,
    };
    named
        .and_then(ObjectType::parse)
        .unwrap_or(ObjectType::CONTACTS)
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub portal: PortalId,
    pub app_id: u64,
    scopes: Vec<String>,
}

impl Principal {
    /// Checks the caller holds one of the scopes `access` to `object_type` needs; HubSpot
    /// answers 403 `MISSING_SCOPES` otherwise.
    pub fn require(&self, access: Access, object_type: ObjectType) -> Result<(), ApiError> {
        let needed = access.scopes(object_type);
        if self.scopes.iter().any(|s| needed.contains(&s.as_str())) {
            return Ok(());
        }
        let mut error = ApiError::new(
            StatusCode::FORBIDDEN,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
        );
        error.errors = vec![ErrorDetail {
            message: "One or more of the following scopes are required.".to_owned(),
            code: None,
            context: super::error::context_map(&vec![(
                "requiredGranularScopes".to_owned(),
                needed.iter().map(|s| (*s).to_owned()).collect(),
            )]),
        }];
        error.links = vec![("scopes", "https://developers.hubspot.com/scopes")];
        Err(error)
    }

    /// How this caller's writes are recorded in property history.
    pub fn write_source(&self) -> WriteSource {
        WriteSource::integration(self.app_id)
    }
}

/// Every token the server accepts.
#[derive(Debug, Default)]
pub struct TokenRegistry {
    grants: Vec<TokenGrant>,
}

impl TokenRegistry {
    pub fn new(grants: Vec<TokenGrant>) -> Self {
        Self { grants }
    }

    /// Finds the grant for `token`, comparing in constant time so response timing does not
    /// reveal how much of a guess was right.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        let mut found = None;
        for grant in &self.grants {
            if constant_time_eq(grant.token.as_bytes(), token.as_bytes()) {
                found = Some(Principal {
                    portal: grant.portal,
                    app_id: grant.app_id,
                    scopes: grant.scopes.clone(),
                });
            }
        }
        found
    }
}

pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer_token(request: &Request) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Middleware: authenticates the bearer token and attaches the [`Principal`].
pub async fn authenticate(
    State(registry): State<Arc<TokenRegistry>>,
    mut request: Request,
    next: Next,
) -> Response {
    match bearer_token(&request).and_then(|token| registry.authenticate(token)) {
        Some(principal) => {
            let path = request.uri().path();
            let access = Access::for_request(request.method(), path);
            if let Err(missing_scope) = principal.require(access, object_type_of_path(path)) {
                return missing_scope.into_response();
            }
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        None => {
            let mut error = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            );
            error.extra_headers.push((
                HeaderName::from_static("x-hubspot-auth-failure"),
                HeaderValue::from_static("401 Unauthorized"),
            ));
            error.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipelines_need_their_type_scopes() {
        assert_eq!(
            object_type_of_path("/crm/v3/pipelines/deals/default/stages"),
            ObjectType::DEALS
        );
        assert_eq!(
            object_type_of_path("/crm/v3/pipelines/0-5"),
            ObjectType::TICKETS
        );
    }

    #[test]
    fn access_follows_method_and_path() {
        let read = |m: Method, p: &str| Access::for_request(&m, p) == Access::Read;
        assert!(read(Method::GET, "/crm/v3/objects/calls/1"));
        assert!(read(Method::POST, "/crm/v3/objects/calls/search"));
        assert!(read(Method::POST, "/crm/v3/objects/calls/batch/read"));
        assert!(read(
            Method::POST,
            "/crm/v4/associations/calls/contacts/batch/read"
        ));
        assert!(!read(Method::POST, "/crm/v3/objects/calls"));
        assert!(!read(Method::POST, "/crm/v3/objects/calls/batch/update"));
        assert!(!read(Method::DELETE, "/crm/v3/objects/calls/1"));
        assert!(!read(
            Method::PUT,
            "/crm/v4/objects/calls/1/associations/contacts/2"
        ));
    }
}
