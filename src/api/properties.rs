//! The properties API for calls: `/crm/v3/properties/calls` and its groups.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::{Deserialize, Serialize};

use crate::crm::error::CrmError;
use crate::crm::objects::Partition;
use crate::crm::properties::{PropertyDefinition, PropertyOption};
use crate::crm::schema::{GroupPatch, PropertyDraft, PropertyGroup, PropertyPatch, PropertyRecord};
use crate::crm::time::now_millis;

use super::auth::Principal;
use super::error::{json_response, ApiError};
use super::json::HubJson;
use super::query::QueryParams;
use super::wire::{instant, BatchInput};
use super::{object_type_of, AppState, PathParams};

/// HubSpot's `Property` response: the definition plus bookkeeping (also inside object
/// schemas).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PropertyOut {
    #[serde(flatten)]
    definition: PropertyDefinition,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
    archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    archived_at: Option<String>,
}

impl From<PropertyRecord> for PropertyOut {
    fn from(record: PropertyRecord) -> Self {
        Self {
            archived: record.is_archived(),
            created_at: record.created_at.map(instant),
            updated_at: record.updated_at.map(instant),
            archived_at: record.archived_at.map(instant),
            definition: record.definition,
        }
    }
}

#[derive(Debug, Serialize)]
struct Results<T> {
    results: Vec<T>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchProperties {
    status: &'static str,
    results: Vec<PropertyOut>,
    started_at: String,
    completed_at: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyCreateInput {
    name: String,
    label: String,
    #[serde(rename = "type")]
    property_type: String,
    field_type: String,
    group_name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    options: Option<Vec<PropertyOption>>,
    #[serde(default)]
    display_order: Option<i32>,
    #[serde(default)]
    has_unique_value: Option<bool>,
    #[serde(default)]
    hidden: Option<bool>,
    #[serde(default)]
    form_field: Option<bool>,
}

impl From<PropertyCreateInput> for PropertyDraft {
    fn from(input: PropertyCreateInput) -> Self {
        Self {
            name: input.name,
            label: input.label,
            property_type: input.property_type,
            field_type: input.field_type,
            group_name: input.group_name,
            description: input.description,
            options: input.options,
            display_order: input.display_order,
            has_unique_value: input.has_unique_value,
            hidden: input.hidden,
            form_field: input.form_field,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyUpdateInput {
    #[serde(default)]
    label: Option<String>,
    #[serde(default, rename = "type")]
    property_type: Option<String>,
    #[serde(default)]
    field_type: Option<String>,
    #[serde(default)]
    group_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    options: Option<Vec<PropertyOption>>,
    #[serde(default)]
    display_order: Option<i32>,
    #[serde(default)]
    has_unique_value: Option<bool>,
    #[serde(default)]
    hidden: Option<bool>,
    #[serde(default)]
    form_field: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct PropertyName {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchReadPropertiesInput {
    inputs: Vec<PropertyName>,
    #[serde(default)]
    archived: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupCreateInput {
    name: String,
    label: String,
    #[serde(default)]
    display_order: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupUpdateInput {
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    display_order: Option<i32>,
}

/// The partition a request's properties live in: the caller's partition, the path's type.
fn admit(principal: &Principal, object_type: &str) -> Result<Partition, ApiError> {
    Ok(Partition::new(
        principal.portal,
        object_type_of(object_type)?,
    ))
}

pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let query = QueryParams::parse(raw.as_deref());
    let archived = query.flag("archived", false)?;
    let only = query.list("properties");
    let records = state
        .run(partition, move |crm| {
            crm.properties.properties(partition, archived)
        })
        .await?;
    let results = records
        .into_iter()
        .filter(|r| {
            only.as_ref()
                .is_none_or(|names| names.contains(&r.definition.name))
        })
        .map(PropertyOut::from)
        .collect();
    Ok(json_response(StatusCode::OK, &Results { results }))
}

pub async fn get_one(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, name)): PathParams<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let archived = QueryParams::parse(raw.as_deref()).flag("archived", false)?;
    let record = state
        .run(partition, move |crm| {
            crm.properties.property(partition, &name, archived)
        })
        .await?;
    Ok(json_response(StatusCode::OK, &PropertyOut::from(record)))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    HubJson(input): HubJson<PropertyCreateInput>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let record = state
        .run(partition, move |crm| {
            crm.properties.create_property(partition, input.into())
        })
        .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &PropertyOut::from(record),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, name)): PathParams<(String, String)>,
    HubJson(input): HubJson<PropertyUpdateInput>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let patch = PropertyPatch {
        label: input.label,
        property_type: input.property_type,
        field_type: input.field_type,
        group_name: input.group_name,
        description: input.description,
        options: input.options,
        display_order: input.display_order,
        has_unique_value: input.has_unique_value,
        hidden: input.hidden,
        form_field: input.form_field,
    };
    let record = state
        .run(partition, move |crm| {
            crm.properties.update_property(partition, &name, patch)
        })
        .await?;
    Ok(json_response(StatusCode::OK, &PropertyOut::from(record)))
}

pub async fn archive(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, name)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    state
        .run(partition, move |crm| {
            crm.properties.archive_property(partition, &name)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn batch_body(results: Vec<PropertyRecord>, started_at: i64) -> BatchProperties {
    BatchProperties {
        status: "COMPLETE",
        results: results.into_iter().map(PropertyOut::from).collect(),
        started_at: instant(started_at),
        completed_at: instant(now_millis()),
    }
}

pub async fn batch_create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    HubJson(input): HubJson<BatchInput<PropertyCreateInput>>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let started_at = now_millis();
    let drafts: Vec<PropertyDraft> = input.inputs.into_iter().map(Into::into).collect();
    let records = state
        .run(partition, move |crm| {
            crm.properties.create_properties(partition, drafts)
        })
        .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &batch_body(records, started_at),
    ))
}

pub async fn batch_read(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    HubJson(input): HubJson<BatchReadPropertiesInput>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let started_at = now_millis();
    let archived = input.archived;
    let records = state
        .run(partition, move |crm| {
            crm.properties.properties(partition, archived)
        })
        .await?;
    // Names that match nothing are skipped, results follow the input order.
    let results = input
        .inputs
        .iter()
        .filter_map(|wanted| {
            records
                .iter()
                .find(|r| r.definition.name == wanted.name)
                .cloned()
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &batch_body(results, started_at),
    ))
}

pub async fn batch_archive(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    HubJson(input): HubJson<BatchInput<PropertyName>>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    state
        .run(partition, move |crm| {
            // HubSpot answers 204 whatever the state of each property; a HubSpot-defined
            // one still cannot be archived, and stays as it is.
            for PropertyName { name } in &input.inputs {
                match crm.properties.archive_property(partition, name) {
                    Ok(()) | Err(CrmError::UnknownResource(_) | CrmError::Invalid { .. }) => {}
                    Err(other) => return Err(other),
                }
            }
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn list_groups(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let results = state
        .run(partition, move |crm| {
            crm.properties.property_groups(partition, false)
        })
        .await?;
    Ok(json_response(StatusCode::OK, &Results { results }))
}

pub async fn get_group(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, name)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let group = state
        .run(partition, move |crm| {
            crm.properties.property_group(partition, &name)
        })
        .await?;
    Ok(json_response(StatusCode::OK, &group))
}

pub async fn create_group(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    HubJson(input): HubJson<GroupCreateInput>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let group = PropertyGroup {
        name: input.name,
        label: input.label,
        display_order: input.display_order.unwrap_or(-1),
        archived: false,
    };
    let group = state
        .run(partition, move |crm| {
            crm.properties.create_property_group(partition, group)
        })
        .await?;
    Ok(json_response(StatusCode::CREATED, &group))
}

pub async fn update_group(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, name)): PathParams<(String, String)>,
    HubJson(input): HubJson<GroupUpdateInput>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let patch = GroupPatch {
        label: input.label,
        display_order: input.display_order,
    };
    let group = state
        .run(partition, move |crm| {
            crm.properties
                .update_property_group(partition, &name, patch)
        })
        .await?;
    Ok(json_response(StatusCode::OK, &group))
}

pub async fn archive_group(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, name)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    state
        .run(partition, move |crm| {
            crm.properties.archive_property_group(partition, &name)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
