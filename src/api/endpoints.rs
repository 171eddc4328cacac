//! The endpoint table: every operation the API serves, where it is served (method and legacy
//! path) and what it needs from the caller's token.
//!
//! The router is built from [`TABLE`] (one `match` from operation to handler in `api/mod.rs`),
//! and authentication looks the matched route up here to check its scope, so an operation
//! cannot be served without a declared scope. Paths are the legacy ones: a dated request is
//! rewritten to its legacy twin before routing (`version::route_dated_path`).

use std::sync::LazyLock;

use axum::http::Method;
use axum::routing::MethodFilter;

use crate::crm::objects::{ObjectType, SCHEMA_READ_SCOPES, SCHEMA_WRITE_SCOPES};
use crate::crm::owners;

/// Every operation the API serves. An operation may be served under several paths (the two
/// schema prefixes, the two label prefixes, the owners list with a trailing slash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    OwnerList,
    OwnerGet,
    LegacyPropertyList,
    LegacyPropertyGet,
    RecordList,
    RecordCreate,
    RecordGet,
    RecordUpdate,
    RecordArchive,
    BatchCreate,
    BatchRead,
    BatchUpdate,
    BatchUpsert,
    BatchArchive,
    GdprDelete,
    Merge,
    Search,
    PropertyList,
    PropertyCreate,
    PropertyGet,
    PropertyUpdate,
    PropertyArchive,
    PropertyBatchCreate,
    PropertyBatchRead,
    PropertyBatchArchive,
    PropertyGroupList,
    PropertyGroupCreate,
    PropertyGroupGet,
    PropertyGroupUpdate,
    PropertyGroupArchive,
    PipelineList,
    PipelineCreate,
    PipelineGet,
    PipelineReplace,
    PipelineUpdate,
    PipelineArchive,
    PipelineAudit,
    StageList,
    StageCreate,
    StageGet,
    StageReplace,
    StageUpdate,
    StageArchive,
    StageAudit,
    AssociationPutV3,
    AssociationDeleteV3,
    AssociationListV3,
    AssociationPutDefaultV4,
    AssociationPutV4,
    AssociationDeleteV4,
    AssociationListV4,
    AssociationBatchDefaultV4,
    AssociationBatchCreateV4,
    AssociationBatchReadV4,
    AssociationBatchArchiveV4,
    AssociationBatchArchiveLabelsV4,
    AssociationBatchCreateV3,
    AssociationBatchReadV3,
    AssociationBatchArchiveV3,
    AssociationLabelList,
    AssociationLabelCreate,
    AssociationLabelUpdate,
    AssociationLabelDelete,
    SchemaList,
    SchemaCreate,
    SchemaBatchRead,
    SchemaGet,
    SchemaUpdate,
    SchemaDelete,
    SchemaAssociationCreate,
    SchemaAssociationDelete,
}

/// The HTTP methods the table uses (a GET route answers HEAD too, as axum's do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Verb {
    /// The verb a request's method is served by, if any route could serve it.
    fn of(method: &Method) -> Option<Self> {
        Some(match *method {
            Method::GET | Method::HEAD => Self::Get,
            Method::POST => Self::Post,
            Method::PUT => Self::Put,
            Method::PATCH => Self::Patch,
            Method::DELETE => Self::Delete,
            _ => return None,
        })
    }

    pub fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
            Self::Put => MethodFilter::PUT,
            Self::Patch => MethodFilter::PATCH,
            Self::Delete => MethodFilter::DELETE,
        }
    }
}

/// Whether an operation reads or writes: it picks the read or the write scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    /// For a request no operation serves (answered 404 or 405 after the scope check): reads
    /// are the methods that change nothing.
    fn of_method(method: &Method) -> Self {
        match *method {
            Method::GET | Method::HEAD | Method::OPTIONS => Self::Read,
            _ => Self::Write,
        }
    }

    /// The scopes that grant this access to `object_type`; any one suffices.
    fn scopes(self, object_type: ObjectType) -> &'static [&'static str] {
        match self {
            Self::Read => object_type.read_scopes,
            Self::Write => object_type.write_scopes,
        }
    }
}

/// Whose scopes an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The read or write scopes of the object type the path names (`{object_type}`, or
    /// `{from_type}` for associations). A name no type has needs the contacts scopes, as the
    /// engagements do; the handler then refuses the name.
    PathType,
    /// `crm.objects.owners.read`, whatever the method: the API is read-only, and other
    /// methods are answered 405 after the check.
    Owners,
    /// Object schemas: reading one type's schema takes that type's read scopes or the schema
    /// read scope; reading several or listing, the schema read scope; any write,
    /// `crm.schemas.custom.write`.
    Schemas,
}

/// One row of the table: an operation served at a method and path.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub endpoint: Endpoint,
    pub verb: Verb,
    pub path: &'static str,
    pub access: Access,
    pub scope: Scope,
}

const fn row(
    endpoint: Endpoint,
    verb: Verb,
    path: &'static str,
    access: Access,
    scope: Scope,
) -> Route {
    Route {
        endpoint,
        verb,
        path,
        access,
        scope,
    }
}

use Access::{Read, Write};
use Endpoint as E;
use Scope::{Owners, PathType, Schemas};
use Verb::{Delete, Get, Patch, Post, Put};

/// Every route of HubSpot's API that hubcalls serves (the admin API, the console and the
/// health checks are not HubSpot's and take no token scopes).
pub const TABLE: &[Route] = &[
    row(E::OwnerList, Get, "/crm/v3/owners", Read, Owners),
    // Many clients write the list path with a trailing slash; HubSpot answers both.
    row(E::OwnerList, Get, "/crm/v3/owners/", Read, Owners),
    row(E::OwnerGet, Get, "/crm/v3/owners/{owner_id}", Read, Owners),
    row(
        E::LegacyPropertyList,
        Get,
        "/properties/v2/{object_type}/properties",
        Read,
        PathType,
    ),
    row(
        E::LegacyPropertyGet,
        Get,
        "/properties/v2/{object_type}/properties/named/{property_name}",
        Read,
        PathType,
    ),
    // Records.
    row(
        E::RecordList,
        Get,
        "/crm/v3/objects/{object_type}",
        Read,
        PathType,
    ),
    row(
        E::RecordCreate,
        Post,
        "/crm/v3/objects/{object_type}",
        Write,
        PathType,
    ),
    row(
        E::RecordGet,
        Get,
        "/crm/v3/objects/{object_type}/{call_id}",
        Read,
        PathType,
    ),
    row(
        E::RecordUpdate,
        Patch,
        "/crm/v3/objects/{object_type}/{call_id}",
        Write,
        PathType,
    ),
    row(
        E::RecordArchive,
        Delete,
        "/crm/v3/objects/{object_type}/{call_id}",
        Write,
        PathType,
    ),
    row(
        E::BatchCreate,
        Post,
        "/crm/v3/objects/{object_type}/batch/create",
        Write,
        PathType,
    ),
    row(
        E::BatchRead,
        Post,
        "/crm/v3/objects/{object_type}/batch/read",
        Read,
        PathType,
    ),
    row(
        E::BatchUpdate,
        Post,
        "/crm/v3/objects/{object_type}/batch/update",
        Write,
        PathType,
    ),
    row(
        E::BatchUpsert,
        Post,
        "/crm/v3/objects/{object_type}/batch/upsert",
        Write,
        PathType,
    ),
    row(
        E::BatchArchive,
        Post,
        "/crm/v3/objects/{object_type}/batch/archive",
        Write,
        PathType,
    ),
    row(
        E::GdprDelete,
        Post,
        "/crm/v3/objects/{object_type}/gdpr-delete",
        Write,
        PathType,
    ),
    // Served for every type; the handler answers 404 for a type the version has no merge for.
    row(
        E::Merge,
        Post,
        "/crm/v3/objects/{object_type}/merge",
        Write,
        PathType,
    ),
    row(
        E::Search,
        Post,
        "/crm/v3/objects/{object_type}/search",
        Read,
        PathType,
    ),
    // Properties and their groups.
    row(
        E::PropertyList,
        Get,
        "/crm/v3/properties/{object_type}",
        Read,
        PathType,
    ),
    row(
        E::PropertyCreate,
        Post,
        "/crm/v3/properties/{object_type}",
        Write,
        PathType,
    ),
    row(
        E::PropertyGet,
        Get,
        "/crm/v3/properties/{object_type}/{property_name}",
        Read,
        PathType,
    ),
    row(
        E::PropertyUpdate,
        Patch,
        "/crm/v3/properties/{object_type}/{property_name}",
        Write,
        PathType,
    ),
    row(
        E::PropertyArchive,
        Delete,
        "/crm/v3/properties/{object_type}/{property_name}",
        Write,
        PathType,
    ),
    row(
        E::PropertyBatchCreate,
        Post,
        "/crm/v3/properties/{object_type}/batch/create",
        Write,
        PathType,
    ),
    row(
        E::PropertyBatchRead,
        Post,
        "/crm/v3/properties/{object_type}/batch/read",
        Read,
        PathType,
    ),
    row(
        E::PropertyBatchArchive,
        Post,
        "/crm/v3/properties/{object_type}/batch/archive",
        Write,
        PathType,
    ),
    row(
        E::PropertyGroupList,
        Get,
        "/crm/v3/properties/{object_type}/groups",
        Read,
        PathType,
    ),
    row(
        E::PropertyGroupCreate,
        Post,
        "/crm/v3/properties/{object_type}/groups",
        Write,
        PathType,
    ),
    row(
        E::PropertyGroupGet,
        Get,
        "/crm/v3/properties/{object_type}/groups/{group_name}",
        Read,
        PathType,
    ),
    row(
        E::PropertyGroupUpdate,
        Patch,
        "/crm/v3/properties/{object_type}/groups/{group_name}",
        Write,
        PathType,
    ),
    row(
        E::PropertyGroupArchive,
        Delete,
        "/crm/v3/properties/{object_type}/groups/{group_name}",
        Write,
        PathType,
    ),
    // Pipelines and their stages.
    row(
        E::PipelineList,
        Get,
        "/crm/v3/pipelines/{object_type}",
        Read,
        PathType,
    ),
    row(
        E::PipelineCreate,
        Post,
        "/crm/v3/pipelines/{object_type}",
        Write,
        PathType,
    ),
    row(E::PipelineGet, Get, PIPELINE, Read, PathType),
    row(E::PipelineReplace, Put, PIPELINE, Write, PathType),
    row(E::PipelineUpdate, Patch, PIPELINE, Write, PathType),
    row(E::PipelineArchive, Delete, PIPELINE, Write, PathType),
    row(
        E::PipelineAudit,
        Get,
        "/crm/v3/pipelines/{object_type}/{pipeline_id}/audit",
        Read,
        PathType,
    ),
    row(
        E::StageList,
        Get,
        "/crm/v3/pipelines/{object_type}/{pipeline_id}/stages",
        Read,
        PathType,
    ),
    row(
        E::StageCreate,
        Post,
        "/crm/v3/pipelines/{object_type}/{pipeline_id}/stages",
        Write,
        PathType,
    ),
    row(E::StageGet, Get, STAGE, Read, PathType),
    row(E::StageReplace, Put, STAGE, Write, PathType),
    row(E::StageUpdate, Patch, STAGE, Write, PathType),
    row(E::StageArchive, Delete, STAGE, Write, PathType),
    row(
        E::StageAudit,
        Get,
        "/crm/v3/pipelines/{object_type}/{pipeline_id}/stages/{stage_id}/audit",
        Read,
        PathType,
    ),
    // One record's associations, v3's shapes.
    row(E::AssociationPutV3, Put, ASSOCIATION_V3, Write, PathType),
    row(
        E::AssociationDeleteV3,
        Delete,
        ASSOCIATION_V3,
        Write,
        PathType,
    ),
    row(
        E::AssociationListV3,
        Get,
        "/crm/v3/objects/{object_type}/{call_id}/associations/{to_type}",
        Read,
        PathType,
    ),
    // One record's associations, v4's shapes.
    row(
        E::AssociationPutDefaultV4,
        Put,
        "/crm/v4/objects/{from_type}/{from_id}/associations/default/{to_type}/{to_id}",
        Write,
        PathType,
    ),
    row(E::AssociationPutV4, Put, ASSOCIATION_V4, Write, PathType),
    row(
        E::AssociationDeleteV4,
        Delete,
        ASSOCIATION_V4,
        Write,
        PathType,
    ),
    row(
        E::AssociationListV4,
        Get,
        "/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}",
        Read,
        PathType,
    ),
    // Association batches, v4 and the legacy v3 API.
    row(
        E::AssociationBatchDefaultV4,
        Post,
        "/crm/v4/associations/{from_type}/{to_type}/batch/associate/default",
        Write,
        PathType,
    ),
    row(
        E::AssociationBatchCreateV4,
        Post,
        "/crm/v4/associations/{from_type}/{to_type}/batch/create",
        Write,
        PathType,
    ),
    row(
        E::AssociationBatchReadV4,
        Post,
        "/crm/v4/associations/{from_type}/{to_type}/batch/read",
        Read,
        PathType,
    ),
    row(
        E::AssociationBatchArchiveV4,
        Post,
        "/crm/v4/associations/{from_type}/{to_type}/batch/archive",
        Write,
        PathType,
    ),
    row(
        E::AssociationBatchArchiveLabelsV4,
        Post,
        "/crm/v4/associations/{from_type}/{to_type}/batch/labels/archive",
        Write,
        PathType,
    ),
    row(
        E::AssociationBatchCreateV3,
        Post,
        "/crm/v3/associations/{from_type}/{to_type}/batch/create",
        Write,
        PathType,
    ),
    row(
        E::AssociationBatchReadV3,
        Post,
        "/crm/v3/associations/{from_type}/{to_type}/batch/read",
        Read,
        PathType,
    ),
    row(
        E::AssociationBatchArchiveV3,
        Post,
        "/crm/v3/associations/{from_type}/{to_type}/batch/archive",
        Write,
        PathType,
    ),
    // Association labels. The guides print `/crm/v4/associations/…/labels`; HubSpot's spec
    // (and its live API) `/crm/associations/v4/…/labels`: both answer.
    row(E::AssociationLabelList, Get, LABELS_GUIDE, Read, PathType),
    row(
        E::AssociationLabelCreate,
        Post,
        LABELS_GUIDE,
        Write,
        PathType,
    ),
    row(
        E::AssociationLabelUpdate,
        Put,
        LABELS_GUIDE,
        Write,
        PathType,
    ),
    row(
        E::AssociationLabelDelete,
        Delete,
        LABEL_GUIDE,
        Write,
        PathType,
    ),
    row(E::AssociationLabelList, Get, LABELS_SPEC, Read, PathType),
    row(
        E::AssociationLabelCreate,
        Post,
        LABELS_SPEC,
        Write,
        PathType,
    ),
    row(E::AssociationLabelUpdate, Put, LABELS_SPEC, Write, PathType),
    row(
        E::AssociationLabelDelete,
        Delete,
        LABEL_SPEC,
        Write,
        PathType,
    ),
    // Object schemas, under both of their prefixes.
    row(E::SchemaList, Get, "/crm/v3/schemas", Read, Schemas),
    row(E::SchemaCreate, Post, "/crm/v3/schemas", Write, Schemas),
    row(
        E::SchemaBatchRead,
        Post,
        "/crm/v3/schemas/batch/read",
        Read,
        Schemas,
    ),
    row(
        E::SchemaGet,
        Get,
        "/crm/v3/schemas/{object_type}",
        Read,
        Schemas,
    ),
    row(
        E::SchemaUpdate,
        Patch,
        "/crm/v3/schemas/{object_type}",
        Write,
        Schemas,
    ),
    row(
        E::SchemaDelete,
        Delete,
        "/crm/v3/schemas/{object_type}",
        Write,
        Schemas,
    ),
    row(
        E::SchemaAssociationCreate,
        Post,
        "/crm/v3/schemas/{object_type}/associations",
        Write,
        Schemas,
    ),
    row(
        E::SchemaAssociationDelete,
        Delete,
        "/crm/v3/schemas/{object_type}/associations/{association_id}",
        Write,
        Schemas,
    ),
    row(
        E::SchemaList,
        Get,
        "/crm-object-schemas/v3/schemas",
        Read,
        Schemas,
    ),
    row(
        E::SchemaCreate,
        Post,
        "/crm-object-schemas/v3/schemas",
        Write,
        Schemas,
    ),
    row(
        E::SchemaBatchRead,
        Post,
        "/crm-object-schemas/v3/schemas/batch/read",
        Read,
        Schemas,
    ),
    row(
        E::SchemaGet,
        Get,
        "/crm-object-schemas/v3/schemas/{object_type}",
        Read,
        Schemas,
    ),
    row(
        E::SchemaUpdate,
        Patch,
        "/crm-object-schemas/v3/schemas/{object_type}",
        Write,
        Schemas,
    ),
    row(
        E::SchemaDelete,
        Delete,
        "/crm-object-schemas/v3/schemas/{object_type}",
        Write,
        Schemas,
    ),
    row(
        E::SchemaAssociationCreate,
        Post,
        "/crm-object-schemas/v3/schemas/{object_type}/associations",
        Write,
        Schemas,
    ),
    row(
        E::SchemaAssociationDelete,
        Delete,
        "/crm-object-schemas/v3/schemas/{object_type}/associations/{association_id}",
        Write,
        Schemas,
    ),
];

const PIPELINE: &str = "/crm/v3/pipelines/{object_type}/{pipeline_id}";
const STAGE: &str = "/crm/v3/pipelines/{object_type}/{pipeline_id}/stages/{stage_id}";
const ASSOCIATION_V3: &str =
    "/crm/v3/objects/{object_type}/{call_id}/associations/{to_type}/{to_id}/{type_id}";
const ASSOCIATION_V4: &str = "/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}/{to_id}";
const LABELS_GUIDE: &str = "/crm/v4/associations/{from_type}/{to_type}/labels";
const LABEL_GUIDE: &str = "/crm/v4/associations/{from_type}/{to_type}/labels/{type_id}";
const LABELS_SPEC: &str = "/crm/associations/v4/{from_type}/{to_type}/labels";
const LABEL_SPEC: &str = "/crm/associations/v4/{from_type}/{to_type}/labels/{type_id}";

/// The scopes a request needs, any one of which suffices: one or two lists, so that no
/// request allocates for its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeNeed(&'static [&'static str], &'static [&'static str]);

impl ScopeNeed {
    fn one(scopes: &'static [&'static str]) -> Self {
        Self(scopes, &[])
    }

    pub fn any(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().chain(self.1).copied()
    }
}

/// A table row as looked up per request: sorted by path and verb, with the place of the
/// path's object type found once.
struct Indexed {
    path: &'static str,
    verb: Verb,
    /// The index of the `{object_type}` / `{from_type}` segment in the path split at `/`.
    type_segment: Option<usize>,
    route: &'static Route,
}

static INDEX: LazyLock<Vec<Indexed>> = LazyLock::new(|| {
    let mut index: Vec<Indexed> = TABLE
        .iter()
        .map(|route| Indexed {
            path: route.path,
            verb: route.verb,
            type_segment: route
                .path
                .split('/')
                .position(|s| s == "{object_type}" || s == "{from_type}"),
            route,
        })
        .collect();
    index.sort_by(|a, b| (a.path, a.verb).cmp(&(b.path, b.verb)));
    index
});

/// The operation serving `method` at the route `matched` (the path template the router
/// matched), if any.
pub fn lookup(method: &Method, matched: &str) -> Option<&'static Route> {
    let verb = Verb::of(method)?;
    INDEX
        .binary_search_by(|row| (row.path, row.verb).cmp(&(matched, verb)))
        .ok()
        .map(|at| INDEX[at].route)
}

/// What a request needs from its token: `matched` is the route template the router matched
/// (none for a path no route has), `path` the (legacy) path requested, whose object type
/// segment picks the scopes.
///
/// A method no operation of a matched route serves (a 405 after the check) is checked as
/// the route's other operations are, reading or writing by its method; a path no route has
/// (a 404 after the check) needs the contacts scopes, as the engagements do.
pub fn required_scopes(method: &Method, matched: Option<&str>, path: &str) -> ScopeNeed {
    let Some(matched) = matched else {
        return ScopeNeed::one(Access::of_method(method).scopes(ObjectType::CONTACTS));
    };
    let first = INDEX.partition_point(|row| row.path < matched);
    let Some(same_path) = INDEX.get(first).filter(|row| row.path == matched) else {
        return ScopeNeed::one(Access::of_method(method).scopes(ObjectType::CONTACTS));
    };
    let served = Verb::of(method).and_then(|verb| {
        INDEX[first..]
            .iter()
            .take_while(|row| row.path == matched)
            .find(|row| row.verb == verb)
    });
    let (row, access) = match served {
        Some(row) => (row, row.route.access),
        None => (same_path, Access::of_method(method)),
    };
    let named = row
        .type_segment
        .and_then(|at| path.split('/').nth(at))
        .map(|named| ObjectType::parse(named).unwrap_or(ObjectType::CONTACTS));
    match (row.route.scope, access) {
        (Scope::PathType, access) => {
            ScopeNeed::one(access.scopes(named.unwrap_or(ObjectType::CONTACTS)))
        }
        (Scope::Owners, _) => ScopeNeed::one(owners::READ_SCOPES),
        (Scope::Schemas, Access::Write) => ScopeNeed::one(SCHEMA_WRITE_SCOPES),
        (Scope::Schemas, Access::Read) => match named {
            Some(object_type) => ScopeNeed(object_type.read_scopes, SCHEMA_READ_SCOPES),
            None => ScopeNeed::one(SCHEMA_READ_SCOPES),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_declared_once() {
        for (i, a) in INDEX.iter().enumerate() {
            if let Some(b) = INDEX.get(i + 1) {
                assert!(
                    (a.path, a.verb) != (b.path, b.verb),
                    "{:?} {} twice",
                    a.verb,
                    a.path
                );
            }
        }
        assert_eq!(INDEX.len(), TABLE.len());
    }

    #[test]
    fn an_operation_reads_or_writes_the_same_under_every_path() {
        for a in TABLE {
            for b in TABLE.iter().filter(|b| b.endpoint == a.endpoint) {
                assert_eq!((a.verb, a.access, a.scope), (b.verb, b.access, b.scope));
            }
        }
    }

    #[test]
    fn typed_scopes_name_the_type_in_the_path() {
        for route in TABLE.iter().filter(|r| r.scope == Scope::PathType) {
            assert!(
                route.path.contains("{object_type}") || route.path.contains("{from_type}"),
                "{}",
                route.path
            );
        }
    }

    #[test]
    fn routes_are_found_by_method_and_template() {
        let found = |m: Method, p: &str| lookup(&m, p).map(|r| r.endpoint);
        assert_eq!(
            found(Method::GET, "/crm/v3/objects/{object_type}/{call_id}"),
            Some(Endpoint::RecordGet)
        );
        assert_eq!(
            found(Method::HEAD, "/crm/v3/objects/{object_type}"),
            Some(Endpoint::RecordList)
        );
        assert_eq!(
            found(Method::POST, "/crm/v3/objects/{object_type}/search"),
            Some(Endpoint::Search)
        );
        assert_eq!(found(Method::PUT, "/crm/v3/objects/{object_type}"), None);
        assert_eq!(found(Method::GET, "/nothing"), None);
    }
}
