//! The endpoint table: every operation the API serves, where it is served (method and legacy
//! path) and what it needs from the caller's token.
//!
//! The router is built from [`TABLE`] (one `match` from operation to handler in `api/mod.rs`),
//! and authentication looks the matched route up here to check its scope, so an operation
//! cannot be served without a declared scope. Paths are the legacy ones: a dated request is
//! rewritten to its legacy twin before routing (`version::route_dated_path`).

use axum::http::Method;
use axum::routing::MethodFilter;

use crate::crm::objects::ObjectType;

mod lookup;
#[cfg(test)]
mod tests;

pub use lookup::{lookup, required_scopes, ScopeNeed};

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
