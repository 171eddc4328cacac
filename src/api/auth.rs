//! Bearer tokens: each belongs to one portal and carries scopes, as HubSpot private apps do.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};

use crate::crm::record::{PortalId, WriteSource};

use super::endpoints::{self, ScopeNeed};
use super::error::{ApiError, ErrorDetail};
use super::settings::TokenGrant;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub portal: PortalId,
    pub app_id: u64,
    /// Shared with the token's grant, so a request's principal costs no allocation; a set,
    /// so a check is a lookup or two rather than a comparison with each granted scope.
    scopes: Arc<HashSet<String>>,
}

impl Principal {
    /// Checks the caller holds one of the scopes `needed`; HubSpot answers 403
    /// `MISSING_SCOPES` otherwise.
    pub fn require(&self, needed: ScopeNeed) -> Result<(), ApiError> {
        if needed.any().any(|scope| self.scopes.contains(scope)) {
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

/// Every token the server accepts, each with the principal it authenticates.
#[derive(Debug, Default)]
pub struct TokenRegistry {
    grants: Vec<(String, Principal)>,
}

impl TokenRegistry {
    pub fn new(grants: Vec<TokenGrant>) -> Self {
        let grants = grants
            .into_iter()
            .map(|grant| {
                let principal = Principal {
                    portal: grant.portal,
                    app_id: grant.app_id,
                    scopes: Arc::new(grant.scopes.into_iter().collect()),
                };
                (grant.token, principal)
            })
            .collect();
        Self { grants }
    }

    /// Finds the grant for `token`, comparing in constant time so response timing does not
    /// reveal how much of a guess was right.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        let mut found = None;
        for (grant_token, principal) in &self.grants {
            if constant_time_eq(grant_token.as_bytes(), token.as_bytes()) {
                found = Some(principal.clone());
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

/// Authenticates the bearer token and checks it holds a scope the endpoint table declares
/// for the matched route: the caller, or HubSpot's 401 or 403. Runs after routing (see
/// `gate`), so the matched route is known, and before the handler's extractors read the
/// body.
pub fn admit(registry: &TokenRegistry, request: &Request) -> Result<Principal, ApiError> {
    let principal = bearer_token(request)
        .and_then(|token| registry.authenticate(token))
        .ok_or_else(unauthenticated)?;
    let matched = request.extensions().get::<MatchedPath>();
    let needed = endpoints::required_scopes(
        request.method(),
        matched.map(MatchedPath::as_str),
        request.uri().path(),
    );
    principal.require(needed)?;
    Ok(principal)
}

/// HubSpot's 401 for a missing or unknown token.
fn unauthenticated() -> ApiError {
    let mut error = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
    );
    error.extra_headers.push((
        HeaderName::from_static("x-hubspot-auth-failure"),
        HeaderValue::from_static("401 Unauthorized"),
    ));
    error
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::endpoints::required_scopes;

    /// The scopes of `method` at `path`, routed by the template `route` (none: no route).
    fn need(method: Method, route: Option<&str>, path: &str) -> Vec<&'static str> {
        required_scopes(&method, route, path).any().collect()
    }

    #[test]
    fn scopes_follow_the_path() {
        assert_eq!(
            need(
                Method::GET,
                Some("/crm/v3/objects/{object_type}/{call_id}"),
                "/crm/v3/objects/deals/1"
            ),
            ["crm.objects.deals.read"]
        );
        assert_eq!(
            need(
                Method::GET,
                Some("/crm/v3/owners/{owner_id}"),
                "/crm/v3/owners/7"
            ),
            ["crm.objects.owners.read"]
        );
        // Owners take their scope whatever the method (the 405 comes after the check).
        assert_eq!(
            need(Method::POST, Some("/crm/v3/owners"), "/crm/v3/owners"),
            ["crm.objects.owners.read"]
        );
        assert_eq!(
            need(Method::GET, Some("/crm/v3/schemas"), "/crm/v3/schemas"),
            ["crm.schemas.custom.read"]
        );
        assert_eq!(
            need(
                Method::GET,
                Some("/crm-object-schemas/v3/schemas/{object_type}"),
                "/crm-object-schemas/v3/schemas/0-3"
            ),
            ["crm.objects.deals.read", "crm.schemas.custom.read"]
        );
        assert_eq!(
            need(Method::POST, Some("/crm/v3/schemas"), "/crm/v3/schemas"),
            ["crm.schemas.custom.write"]
        );
        assert_eq!(
            need(
                Method::GET,
                Some("/properties/v2/{object_type}/properties"),
                "/properties/v2/company/properties"
            ),
            ["crm.objects.companies.read"]
        );
        assert_eq!(
            need(
                Method::GET,
                Some("/crm/v3/pipelines/{object_type}"),
                "/crm/v3/pipelines/tickets"
            ),
            ["tickets"]
        );
        assert_eq!(
            need(Method::GET, None, "/nothing"),
            ["crm.objects.contacts.read"]
        );
        // A name no type has: the contacts scopes (the handler answers 400).
        assert_eq!(
            need(
                Method::POST,
                Some("/crm/v3/objects/{object_type}"),
                "/crm/v3/objects/widgets"
            ),
            ["crm.objects.contacts.write"]
        );
    }

    #[test]
    fn access_follows_the_operation() {
        let read =
            |m: Method, route: &str, p: &str| need(m, Some(route), p) == ["crm.objects.deals.read"];
        let deals = "/crm/v3/objects/{object_type}";
        assert!(read(
            Method::GET,
            "/crm/v3/objects/{object_type}/{call_id}",
            "/crm/v3/objects/deals/1"
        ));
        assert!(read(
            Method::POST,
            "/crm/v3/objects/{object_type}/search",
            "/crm/v3/objects/deals/search"
        ));
        assert!(read(
            Method::POST,
            "/crm/v3/objects/{object_type}/batch/read",
            "/crm/v3/objects/deals/batch/read"
        ));
        assert!(read(
            Method::POST,
            "/crm/v4/associations/{from_type}/{to_type}/batch/read",
            "/crm/v4/associations/deals/contacts/batch/read"
        ));
        assert!(!read(Method::POST, deals, "/crm/v3/objects/deals"));
        assert!(!read(
            Method::POST,
            "/crm/v3/objects/{object_type}/batch/update",
            "/crm/v3/objects/deals/batch/update"
        ));
        assert!(!read(
            Method::DELETE,
            "/crm/v3/objects/{object_type}/{call_id}",
            "/crm/v3/objects/deals/1"
        ));
        assert!(!read(
            Method::PUT,
            "/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}/{to_id}",
            "/crm/v4/objects/deals/1/associations/contacts/2"
        ));
        // A method the route does not serve reads or writes by its kind.
        assert!(!read(Method::PUT, deals, "/crm/v3/objects/deals"));
        assert!(read(Method::OPTIONS, deals, "/crm/v3/objects/deals"));
    }
}
