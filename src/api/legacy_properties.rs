//! The legacy properties API connectors still read before they sync records:
//! `GET /properties/v2/{objectType}/properties` (a bare JSON array) and
//! `GET /properties/v2/{objectType}/properties/named/{name}`, in v2's shape.
//!
//! The shape follows a v2 response quoted in full in public integration code: creation and update times as epoch milliseconds, `readOnlyValue`,
//! `readOnlyDefinition` and `mutableDefinitionNotDeletable` at the top level instead of v3's
//! `modificationMetadata`, `deleted` instead of `archived`, and the UI fields (`favorited`,
//! `displayMode`, ...) with their defaults.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde::Serialize;

use crate::crm::objects::Partition;
use crate::crm::properties::PropertyOption;
use crate::crm::schema::PropertyRecord;

use super::auth::Principal;
use super::error::{json_response, ApiError};
use super::{object_type_of, AppState, PathParams};

/// One option of an enumeration in v2's shape.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OptionV2<'a> {
    label: &'a str,
    value: &'a str,
    display_order: i32,
    hidden: bool,
    description: &'a str,
    read_only: bool,
}

/// A property in v2's shape, fields in the order of the quoted response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PropertyV2<'a> {
    name: &'a str,
    label: &'a str,
    description: &'a str,
    group_name: &'a str,
    #[serde(rename = "type")]
    property_type: crate::crm::properties::PropertyType,
    field_type: &'a str,
    /// Epoch milliseconds; `null` for HubSpot-defined properties, whose times hubcalls does
    /// not know.
    created_at: Option<i64>,
    read_only_definition: bool,
    updated_at: Option<i64>,
    form_field: bool,
    display_order: i32,
    read_only_value: bool,
    hidden: bool,
    mutable_definition_not_deletable: bool,
    favorited: bool,
    favorited_order: i32,
    calculated: bool,
    external_options: bool,
    display_mode: &'static str,
    show_currency_symbol: Option<bool>,
    /// `true` for HubSpot's properties, `null` for a portal's own (as in the quoted response).
    hubspot_defined: Option<bool>,
    created_user_id: Option<String>,
    text_display_hint: Option<String>,
    number_display_hint: Option<String>,
    options_are_mutable: Option<bool>,
    referenced_object_type: Option<&'a str>,
    is_customized_default: bool,
    searchable_in_global_search: bool,
    currency_property_name: Option<String>,
    has_unique_value: bool,
    deleted: bool,
    updated_user_id: Option<String>,
    options: Vec<OptionV2<'a>>,
}

fn option_v2(option: &PropertyOption) -> OptionV2<'_> {
    OptionV2 {
        label: &option.label,
        value: &option.value,
        display_order: option.display_order,
        hidden: option.hidden,
        description: &option.description,
        read_only: false,
    }
}

fn property_v2(record: &PropertyRecord) -> PropertyV2<'_> {
    let def = &record.definition;
    let metadata = &def.modification_metadata;
    PropertyV2 {
        name: &def.name,
        label: &def.label,
        description: &def.description,
        group_name: &def.group_name,
        property_type: def.property_type,
        field_type: &def.field_type,
        created_at: record.created_at,
        read_only_definition: metadata.read_only_definition,
        updated_at: record.updated_at,
        form_field: def.form_field,
        display_order: def.display_order,
        read_only_value: metadata.read_only_value,
        hidden: def.hidden,
        // v2's "the definition can be customised but not deleted": HubSpot's own properties
        // whose definition is not locked.
        mutable_definition_not_deletable: def.hubspot_defined && !metadata.read_only_definition,
        favorited: false,
        favorited_order: -1,
        calculated: def.calculated,
        external_options: def.external_options,
        display_mode: "current_value",
        show_currency_symbol: None,
        hubspot_defined: def.hubspot_defined.then_some(true),
        created_user_id: None,
        text_display_hint: None,
        number_display_hint: None,
        options_are_mutable: None,
        referenced_object_type: def.referenced_object_type.as_deref(),
        is_customized_default: false,
        searchable_in_global_search: false,
        currency_property_name: None,
        has_unique_value: def.has_unique_value,
        deleted: record.is_archived(),
        updated_user_id: None,
        options: def.options.iter().map(option_v2).collect(),
    }
}

/// The live properties of the path's type in the caller's portal, built-in then custom.
async fn live_properties(
    state: &AppState,
    principal: &Principal,
    object_type: &str,
) -> Result<Vec<PropertyRecord>, ApiError> {
    let partition = Partition::new(principal.portal, object_type_of(object_type)?);
    state
        .run(partition, move |crm| {
            crm.properties.properties(partition, false)
        })
        .await
}

/// `GET /properties/v2/{objectType}/properties`: every property of the type, as a bare array.
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
) -> Result<Response, ApiError> {
    let records = live_properties(&state, &principal, &object_type).await?;
    let body: Vec<PropertyV2<'_>> = records.iter().map(property_v2).collect();
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /properties/v2/{objectType}/properties/named/{name}`: one property.
pub async fn get_one(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, name)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let records = live_properties(&state, &principal, &object_type).await?;
    let record = records
        .iter()
        .find(|r| r.definition.name == name)
        .ok_or_else(|| ApiError::not_found(format!("Unable to find property {name}")))?;
    Ok(json_response(StatusCode::OK, &property_v2(record)))
}
