//! HubSpot's API versions, and every way they differ, in one place.
//!
//! HubSpot serves the same CRM operations under its legacy numeric paths (`/crm/v3/objects/…`,
//! `/crm/v4/associations/…`) and, since 2026-03, under date-versioned ones
//! (`/crm/objects/2026-03/…`). hubcalls routes only the legacy shapes: a dated request is
//! rewritten to its legacy twin before routing ([`route_dated_path`]), and the version it
//! named travels with the request as an [`ApiVersion`] extension, which the few handlers
//! whose behaviour differs consult. `OriginalUri` keeps the path the client sent, so paging
//! links point at the version the client uses.

use axum::extract::{FromRequestParts, OriginalUri, Request};
use axum::http::request::Parts;
use axum::http::Uri;

use crate::crm::objects::ObjectType;

/// The API version a request was made under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiVersion {
    /// `/crm/v3/…`, `/crm/v4/…` and the other numeric paths (and `/crm/objects/v3/…`, the
    /// form HubSpot prints in its own paging links).
    Legacy,
    /// `2025-09`: the first, beta, date version.
    Beta2025_09,
    /// `2026-03`: the first generally available one.
    V2026_03,
    /// `2026-09`: enforces the portal's write validation rules.
    V2026_09,
    /// `2026-09-beta`: merge and GDPR delete for every object type.
    Beta2026_09,
}

impl ApiVersion {
    /// Every date version served, oldest first, as paths spell them.
    pub const DATED: [ApiVersion; 4] = [
        ApiVersion::Beta2025_09,
        ApiVersion::V2026_03,
        ApiVersion::V2026_09,
        ApiVersion::Beta2026_09,
    ];

    /// The newest generally available version: the one the console uses.
    pub const LATEST: ApiVersion = ApiVersion::V2026_09;

    /// The path segment that names this version (`v3` for the legacy paths).
    pub fn segment(self) -> &'static str {
        match self {
            ApiVersion::Legacy => "v3",
            ApiVersion::Beta2025_09 => "2025-09",
            ApiVersion::V2026_03 => "2026-03",
            ApiVersion::V2026_09 => "2026-09",
            ApiVersion::Beta2026_09 => "2026-09-beta",
        }
    }

    /// The date version a path segment names (case-insensitively: `2026-09-BETA` too).
    pub fn dated(segment: &str) -> Option<ApiVersion> {
        Self::DATED
            .into_iter()
            .find(|v| v.segment().eq_ignore_ascii_case(segment))
    }

    /// Whether a segment has the shape of a date version (`2027-03`, `2027-03-beta`), served
    /// or not: such a path is HubSpot's, under a version hubcalls does not know.
    pub fn looks_dated(segment: &str) -> bool {
        let date = segment
            .strip_suffix("-beta")
            .or_else(|| segment.strip_suffix("-BETA"))
            .unwrap_or(segment);
        let bytes = date.as_bytes();
        bytes.len() == 7
            && bytes[4] == b'-'
            && bytes[..4].iter().chain(&bytes[5..]).all(u8::is_ascii_digit)
    }

    // ---- The differences between versions. ----

    /// Association batch archive and labels archive: v4 answers 204 without a body; the
    /// date versions answer 200 with a `BatchResponse` (SPEC 2026-03, 2026-09-beta).
    pub fn association_archive_has_body(self) -> bool {
        self != ApiVersion::Legacy
    }

    /// Whether `POST …/{type}/merge` exists for `object_type`: contacts, companies, deals
    /// and tickets everywhere; every type on `2026-09-beta`.
    pub fn serves_merge(self, object_type: ObjectType) -> bool {
        object_type.mergeable || self == ApiVersion::Beta2026_09
    }

    /// Whether `POST …/{type}/gdpr-delete` exists for `object_type`. HubSpot's dated specs
    /// have it for contacts, and for every type on `2026-09-beta`. The legacy paths keep it
    /// for every type, as hubcalls always served it there (the seed spec and the older SDKs
    /// call it for calls).
    pub fn serves_gdpr_delete(self, object_type: ObjectType) -> bool {
        match self {
            ApiVersion::Legacy | ApiVersion::Beta2026_09 => true,
            _ => object_type == ObjectType::CONTACTS,
        }
    }

    /// Whether removing a pipeline or stage checks, unless the client says otherwise, that
    /// no record is in it: from `2026-09` on (`validateReferencesBeforeDelete` defaults to
    /// true there); false on v3 and `2026-03`.
    pub fn checks_pipeline_usage_by_default(self) -> bool {
        self == ApiVersion::V2026_09
    }

    /// Whether the portal's write validation rules (properties required on create,
    /// conditionally required properties) are enforced: from `2026-09` on, as HubSpot
    /// announced; older versions ignore them.
    pub fn enforces_write_validation(self) -> bool {
        self == ApiVersion::V2026_09
    }
}

/// Handlers take the version as an extractor: the legacy one when the path was not dated.
impl<S: Send + Sync> FromRequestParts<S> for ApiVersion {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ApiVersion>()
            .copied()
            .unwrap_or(ApiVersion::Legacy))
    }
}

/// The legacy twin of a dated path, and the version it named; `None` for a path that is not
/// dated (or names a version hubcalls does not serve: it is left to answer 404).
pub fn legacy_twin(path: &str) -> Option<(ApiVersion, String)> {
    let trimmed = path.strip_prefix('/')?;
    let mut segments = trimmed.splitn(4, '/');
    let (first, second, third) = (segments.next()?, segments.next()?, segments.next());
    let rest = segments.next();
    // `/crm-object-schemas/V/…` has its version one segment earlier than the others.
    if first == "crm-object-schemas" {
        let version = ApiVersion::dated(second)?;
        let tail = join_tail(third, rest);
        return Some((version, format!("/crm-object-schemas/v3/{tail}")));
    }
    if first != "crm" {
        return None;
    }
    let version_segment = third?;
    let version = match ApiVersion::dated(version_segment) {
        Some(version) => version,
        // HubSpot's own paging links say `/crm/objects/v3/contacts`.
        None if second == "objects" && version_segment == "v3" => ApiVersion::Legacy,
        None => return None,
    };
    let rest = rest.unwrap_or("");
    let legacy = match second {
        "objects" if is_record_associations(rest) => format!("/crm/v4/objects/{rest}"),
        "objects" => format!("/crm/v3/objects/{rest}"),
        "properties" => format!("/crm/v3/properties/{rest}"),
        "pipelines" => format!("/crm/v3/pipelines/{rest}"),
        "owners" => format!("/crm/v3/owners{}", with_slash(rest, trimmed)),
        "associations" if rest.split('/').nth(2) == Some("batch") => {
            format!("/crm/v4/associations/{rest}")
        }
        "associations" => format!("/crm/associations/v4/{rest}"),
        _ => return None,
    };
    Some((version, legacy))
}

/// `{type}/{id}/associations/…` in the v4 shapes (`{toType}`, `{toType}/{toId}`,
/// `default/{toType}/{toId}`), which the dated per-record association paths copy. The
/// v3 shape with a type id at the end (`{toType}/{toId}/{typeId}`) has no dated twin in
/// HubSpot's specs, but the dated guides print it: it goes to the v3 route.
fn is_record_associations(rest: &str) -> bool {
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        [_, _, "associations", tail @ ..] => !(tail.len() == 3 && tail[0] != "default"),
        _ => false,
    }
}

fn join_tail(third: Option<&str>, rest: Option<&str>) -> String {
    match (third, rest) {
        (Some(third), Some(rest)) => format!("{third}/{rest}"),
        (Some(third), None) => third.to_string(),
        (None, _) => String::new(),
    }
}

/// The owners list answers with and without a trailing slash; its id path after one.
fn with_slash(rest: &str, whole: &str) -> String {
    if rest.is_empty() && !whole.ends_with('/') {
        String::new()
    } else {
        format!("/{rest}")
    }
}

/// Rewrites a dated request to its legacy twin, keeping the query, the original URI (for
/// paging links) and the version (for the handlers). Runs before routing.
pub fn route_dated_path(mut request: Request) -> Request {
    let Some((version, legacy)) = legacy_twin(request.uri().path()) else {
        return request;
    };
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{legacy}?{query}"),
        None => legacy,
    };
    let mut parts = request.uri().clone().into_parts();
    let Ok(path_and_query) = path_and_query.parse() else {
        return request;
    };
    parts.path_and_query = Some(path_and_query);
    let Ok(uri) = Uri::from_parts(parts) else {
        return request;
    };
    let original = OriginalUri(request.uri().clone());
    let extensions = request.extensions_mut();
    if extensions.get::<OriginalUri>().is_none() {
        extensions.insert(original);
    }
    extensions.insert(version);
    *request.uri_mut() = uri;
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn twin(path: &str) -> Option<(ApiVersion, String)> {
        legacy_twin(path)
    }

    #[test]
    fn dated_object_paths_map_to_v3() {
        assert_eq!(
            twin("/crm/objects/2026-03/calls"),
            Some((ApiVersion::V2026_03, "/crm/v3/objects/calls".into()))
        );
        assert_eq!(
            twin("/crm/objects/2026-09/0-3/batch/read"),
            Some((
                ApiVersion::V2026_09,
                "/crm/v3/objects/0-3/batch/read".into()
            ))
        );
        assert_eq!(
            twin("/crm/objects/2026-09-beta/notes/5"),
            Some((ApiVersion::Beta2026_09, "/crm/v3/objects/notes/5".into()))
        );
        assert_eq!(
            twin("/crm/objects/v3/contacts"),
            Some((ApiVersion::Legacy, "/crm/v3/objects/contacts".into()))
        );
    }

    #[test]
    fn record_associations_map_to_v4_except_the_typed_v3_shape() {
        assert_eq!(
            twin("/crm/objects/2026-03/calls/1/associations/contacts").map(|t| t.1),
            Some("/crm/v4/objects/calls/1/associations/contacts".into())
        );
        assert_eq!(
            twin("/crm/objects/2026-03/calls/1/associations/contacts/2").map(|t| t.1),
            Some("/crm/v4/objects/calls/1/associations/contacts/2".into())
        );
        assert_eq!(
            twin("/crm/objects/2026-03/calls/1/associations/default/contacts/2").map(|t| t.1),
            Some("/crm/v4/objects/calls/1/associations/default/contacts/2".into())
        );
        assert_eq!(
            twin("/crm/objects/2026-03/calls/1/associations/contacts/2/194").map(|t| t.1),
            Some("/crm/v3/objects/calls/1/associations/contacts/2/194".into())
        );
    }

    #[test]
    fn other_apis_map_to_their_legacy_prefix() {
        let cases = [
            (
                "/crm/properties/2026-03/deals/groups",
                "/crm/v3/properties/deals/groups",
            ),
            (
                "/crm/pipelines/2025-09/tickets/0/stages",
                "/crm/v3/pipelines/tickets/0/stages",
            ),
            ("/crm/owners/2026-03", "/crm/v3/owners"),
            ("/crm/owners/2026-03/", "/crm/v3/owners/"),
            ("/crm/owners/2026-03/42", "/crm/v3/owners/42"),
            (
                "/crm/associations/2026-03/calls/contacts/batch/archive",
                "/crm/v4/associations/calls/contacts/batch/archive",
            ),
            (
                "/crm/associations/2026-03/calls/contacts/labels",
                "/crm/associations/v4/calls/contacts/labels",
            ),
            (
                "/crm-object-schemas/2026-03/schemas",
                "/crm-object-schemas/v3/schemas",
            ),
            (
                "/crm-object-schemas/2026-03/schemas/contacts",
                "/crm-object-schemas/v3/schemas/contacts",
            ),
        ];
        for (dated, legacy) in cases {
            assert_eq!(twin(dated).map(|t| t.1).as_deref(), Some(legacy), "{dated}");
        }
    }

    #[test]
    fn legacy_and_unknown_versions_are_left_alone() {
        for path in [
            "/crm/v3/objects/calls",
            "/crm/associations/v4/calls/contacts/labels",
            "/crm/objects/2027-03/calls",
            "/crm/objects/2026-13/calls",
            "/crm/objects",
            "/healthz",
            "/",
        ] {
            assert_eq!(twin(path), None, "{path}");
        }
        assert!(ApiVersion::looks_dated("2027-03"));
        assert!(ApiVersion::looks_dated("2027-03-beta"));
        assert!(!ApiVersion::looks_dated("v3"));
    }

    #[test]
    fn versions_declare_their_differences() {
        assert!(!ApiVersion::Legacy.association_archive_has_body());
        assert!(ApiVersion::V2026_03.association_archive_has_body());
        assert!(!ApiVersion::V2026_03.serves_merge(ObjectType::CALLS));
        assert!(ApiVersion::Beta2026_09.serves_merge(ObjectType::CALLS));
        assert!(ApiVersion::V2026_03.serves_merge(ObjectType::DEALS));
        assert!(ApiVersion::Legacy.serves_gdpr_delete(ObjectType::CALLS));
        assert!(!ApiVersion::V2026_03.serves_gdpr_delete(ObjectType::CALLS));
        assert!(ApiVersion::V2026_03.serves_gdpr_delete(ObjectType::CONTACTS));
        assert!(ApiVersion::V2026_09.enforces_write_validation());
        assert!(!ApiVersion::V2026_03.enforces_write_validation());
        assert!(!ApiVersion::Legacy.enforces_write_validation());
    }
}
