//! The object schemas API (`/crm/v3/schemas`, alias `/crm-object-schemas/v3/schemas`): a
//! portal without custom objects lists none, and each standard type's schema is built from
//! the registry, its properties (the portal's own included) and HubSpot's defined
//! association types.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde::{Deserialize, Serialize};

use crate::crm::objects::{association_definitions, ObjectType, Partition};
use crate::crm::time::now_millis;

use super::auth::Principal;
use super::error::{json_response, ApiError};
use super::json::HubJson;
use super::properties::PropertyOut;
use super::query::QueryParams;
use super::wire::{instant, BatchInput};
use super::{AppState, PathParams};

/// The creation time HubSpot gives its standard schemas (`1970-01-01T00:00:00Z` in a real
/// `GET /crm/v3/schemas/CONTACT`).
const STANDARD_SCHEMA_TIME: &str = "1970-01-01T00:00:00Z";

#[derive(Debug, Serialize)]
struct Labels {
    singular: &'static str,
    plural: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AssociationOut {
    from_object_type_id: &'static str,
    to_object_type_id: &'static str,
    name: String,
    cardinality: &'static str,
    inverse_cardinality: &'static str,
    id: String,
    created_at: Option<String>,
    updated_at: Option<String>,
}

/// HubSpot's `ObjectSchema`, fields in the order of the recorded contact schema.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectSchema {
    labels: Labels,
    required_properties: &'static [&'static str],
    searchable_properties: &'static [&'static str],
    primary_display_property: Option<&'static str>,
    secondary_display_properties: &'static [&'static str],
    archived: bool,
    restorable: bool,
    meta_type: &'static str,
    id: &'static str,
    fully_qualified_name: &'static str,
    created_at: &'static str,
    updated_at: &'static str,
    object_type_id: &'static str,
    properties: Vec<PropertyOut>,
    associations: Vec<AssociationOut>,
    name: &'static str,
}

#[derive(Debug, Serialize)]
struct Results<T> {
    results: Vec<T>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchSchemas {
    status: &'static str,
    results: Vec<ObjectSchema>,
    started_at: String,
    completed_at: String,
}

/// What to put in a schema (`includePropertyDefinitions`, `includeAssociationDefinitions`).
#[derive(Debug, Clone, Copy)]
struct Include {
    properties: bool,
    associations: bool,
}

impl Include {
    fn from_query(raw: Option<&str>) -> Result<Self, ApiError> {
        let query = QueryParams::parse(raw);
        Ok(Self {
            properties: query.flag("includePropertyDefinitions", true)?,
            associations: query.flag("includeAssociationDefinitions", true)?,
        })
    }
}

/// HubSpot's 404 for a schema name that names no object type of the portal.
fn unknown_schema(name: &str) -> ApiError {
    ApiError::not_found(format!("Unable to find object schema for type {name}"))
        .with_context(vec![("objectType".to_owned(), vec![name.to_owned()])])
}

/// The schema of a standard type in the portal: its built-in and custom live properties.
async fn schema_of(
    state: &AppState,
    principal: &Principal,
    object_type: ObjectType,
    include: Include,
) -> Result<ObjectSchema, ApiError> {
    let partition = Partition::new(principal.portal, object_type);
    let properties = if include.properties {
        state
            .run(partition, move |crm| {
                crm.properties.properties(partition, false)
            })
            .await?
            .into_iter()
            .map(PropertyOut::from)
            .collect()
    } else {
        Vec::new()
    };
    let associations = if include.associations {
        association_definitions(object_type)
            .into_iter()
            .map(|d| AssociationOut {
                from_object_type_id: d.from.type_id,
                to_object_type_id: d.to.type_id,
                name: d.name,
                cardinality: d.cardinality,
                inverse_cardinality: d.inverse_cardinality,
                id: d.type_id.to_string(),
                created_at: None,
                updated_at: None,
            })
            .collect()
    } else {
        Vec::new()
    };
    let (primary, secondary) = match object_type.display_properties.split_first() {
        Some((primary, secondary)) => (Some(*primary), secondary),
        None => (None, &[][..]),
    };
    Ok(ObjectSchema {
        labels: Labels {
            singular: object_type.labels.0,
            plural: object_type.labels.1,
        },
        required_properties: object_type.required_on_create,
        searchable_properties: object_type.query_properties,
        primary_display_property: primary,
        secondary_display_properties: secondary,
        archived: false,
        restorable: true,
        meta_type: "HUBSPOT",
        // HubSpot's schema id is the type id's number (`"1"` for `0-1`).
        id: object_type
            .type_id
            .split_once('-')
            .map_or(object_type.type_id, |(_, n)| n),
        fully_qualified_name: object_type.internal_name,
        created_at: STANDARD_SCHEMA_TIME,
        updated_at: STANDARD_SCHEMA_TIME,
        object_type_id: object_type.type_id,
        properties,
        associations,
        name: object_type.internal_name,
    })
}

/// `GET /crm/v3/schemas`: the portal's custom objects, of which a hubcalls portal has none
/// (HubSpot lists only custom objects here).
pub async fn list(RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    QueryParams::parse(raw.as_deref()).flag("archived", false)?;
    Ok(json_response(
        StatusCode::OK,
        &Results::<ObjectSchema> {
            results: Vec::new(),
        },
    ))
}

/// `GET /crm/v3/schemas/{objectType}`: a standard type by name, internal name (`CONTACT`)
/// or id.
pub async fn get_one(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(name): PathParams<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let include = Include::from_query(raw.as_deref())?;
    let object_type = ObjectType::parse(&name).ok_or_else(|| unknown_schema(&name))?;
    let schema = schema_of(&state, &principal, object_type, include).await?;
    Ok(json_response(StatusCode::OK, &schema))
}

#[derive(Debug, Deserialize)]
pub struct SchemaName(String);

/// `POST /crm/v3/schemas/batch/read`: the schemas named in `inputs`; names of no type are
/// left out.
pub async fn batch_read(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    RawQuery(raw): RawQuery,
    HubJson(input): HubJson<BatchInput<SchemaName>>,
) -> Result<Response, ApiError> {
    let include = Include::from_query(raw.as_deref())?;
    let started_at = now_millis();
    let mut results = Vec::new();
    for SchemaName(name) in &input.inputs {
        if let Some(object_type) = ObjectType::parse(name) {
            results.push(schema_of(&state, &principal, object_type, include).await?);
        }
    }
    Ok(json_response(
        StatusCode::OK,
        &BatchSchemas {
            status: "COMPLETE",
            results,
            started_at: instant(started_at),
            completed_at: instant(now_millis()),
        },
    ))
}

/// Creating, changing or deleting schemas and their associations: custom objects, which no
/// hubcalls portal has (HubSpot offers them on Enterprise portals only). Reached only with a
/// token explicitly granted `crm.schemas.custom.write`; every other token gets HubSpot's 403
/// `MISSING_SCOPES` first.
pub async fn write() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        "This portal has no access to custom objects: hubcalls serves HubSpot's standard object types, whose schemas cannot be created, changed or deleted",
    )
}
