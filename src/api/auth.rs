//! Bearer tokens: each belongs to one portal and carries scopes, as HubSpot private apps do.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::TokenGrant;
use crate::crm::objects::{ObjectType, SCHEMA_READ_SCOPES, SCHEMA_WRITE_SCOPES};
use crate::crm::owners;
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

/// The scopes a request needs, any one of which suffices: one or two lists, so the common
/// case (a type's read or write scopes) needs no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeNeed(&'static [&'static str], &'static [&'static str]);

impl ScopeNeed {
    fn one(scopes: &'static [&'static str]) -> Self {
        Self(scopes, &[])
    }

    fn any(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().chain(self.1).copied()
    }
}

/// What a request needs from its token, from its method and path alone, so that no endpoint
/// can be added without a check:
/// - the object APIs (`/crm/v3|v4/objects|properties|associations|pipelines/{type}…`,
///   `/properties/v2/{type}/…`): the read or write scopes of the path's type;
/// - owners (`/crm/v3/owners…`): `crm.objects.owners.read`, whatever the method (the API is
///   read-only; other methods are answered 405 after the check);
/// - object schemas (`/crm/v3/schemas…`, `/crm-object-schemas/v3/schemas…`): reading one
///   type's schema takes that type's read scopes or the schema scope, listing takes the
///   schema scope, and defining custom objects takes `crm.schemas.custom.write`.
///
/// Paths of no type (and types no one knows, which the handler refuses) need the contacts
/// scopes, as the engagements do.
pub fn required_scopes(method: &Method, path: &str) -> ScopeNeed {
    let access = Access::for_request(method, path);
    let mut segments = path.trim_matches('/').split('/');
    let first = [segments.next(), segments.next(), segments.next()];
    let typed = |named: Option<&str>| {
        ScopeNeed::one(
            access.scopes(
                named
                    .and_then(ObjectType::parse)
                    .unwrap_or(ObjectType::CONTACTS),
            ),
        )
    };
    match first {
        [Some("crm"), Some("v3"), Some("owners")] => ScopeNeed::one(owners::READ_SCOPES),
        [Some("crm"), Some("v3"), Some("schemas")]
        | [Some("crm-object-schemas"), Some("v3"), Some("schemas")] => {
            match (access, segments.next().filter(|s| !s.is_empty())) {
                (Access::Write, _) => ScopeNeed::one(SCHEMA_WRITE_SCOPES),
                (Access::Read, None) => ScopeNeed::one(SCHEMA_READ_SCOPES),
                (Access::Read, Some(named)) => ScopeNeed(
                    ObjectType::parse(named)
                        .unwrap_or(ObjectType::CONTACTS)
                        .read_scopes,
                    SCHEMA_READ_SCOPES,
                ),
            }
        }
        [Some("crm"), Some("v3" | "v4"), Some("objects" | "properties" | "associations" | "pipelines")] => {
            typed(segments.next())
        }
        [Some("properties"), Some("v2"), named] => typed(named),
        _ => typed(None),
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub portal: PortalId,
    pub app_id: u64,
    scopes: Vec<String>,
}

impl Principal {
    /// Checks the caller holds one of the scopes `needed`; HubSpot answers 403
    /// `MISSING_SCOPES` otherwise.
    pub fn require(&self, needed: ScopeNeed) -> Result<(), ApiError> {
        if self.scopes.iter().any(|s| needed.any().any(|n| n == s)) {
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
                needed.any().map(str::to_owned).collect(),
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
            let needed = required_scopes(request.method(), request.uri().path());
            if let Err(missing_scope) = principal.require(needed) {
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
    fn scopes_follow_the_path() {
        let need = |m: Method, p: &str| required_scopes(&m, p).any().collect::<Vec<_>>();
        assert_eq!(
            need(Method::GET, "/crm/v3/objects/deals/1"),
            ["crm.objects.deals.read"]
        );
        assert_eq!(
            need(Method::GET, "/crm/v3/owners/7"),
            ["crm.objects.owners.read"]
        );
        assert_eq!(
            need(Method::GET, "/crm/v3/schemas"),
            ["crm.schemas.custom.read"]
        );
        assert_eq!(
            need(Method::GET, "/crm-object-schemas/v3/schemas/0-3"),
            ["crm.objects.deals.read", "crm.schemas.custom.read"]
        );
        assert_eq!(
            need(Method::POST, "/crm/v3/schemas"),
            ["crm.schemas.custom.write"]
        );
        assert_eq!(
            need(Method::GET, "/properties/v2/company/properties"),
            ["crm.objects.companies.read"]
        );
        assert_eq!(need(Method::GET, "/crm/v3/pipelines/tickets"), ["tickets"]);
        assert_eq!(need(Method::GET, "/nothing"), ["crm.objects.contacts.read"]);
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
