//! Association endpoints: v3 per-record, v4 per-record and v4 batch, between records of any
//! two types HubSpot associates (either may be named first).

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::{Deserialize, Serialize};

use crate::crm::associations::{
    invalid_object_ids, parse_record_id, AssociationCategory, AssociationPair, AssociationSpec,
};
use crate::crm::error::CrmError;
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::records::{ArchiveFilter, Locator};
use crate::crm::time::now_millis;

use super::auth::Principal;
use super::error::{json_response, ApiError};
use super::json::{HubJson, HubJsonList};
use super::query::QueryParams;
use super::render::{render_records, ReadOptions};
use super::version::ApiVersion;
use super::wire::{instant, AssociationTypeInput, BatchInput, IdText, ObjectIdInput};
use super::{object_type_of, AppState, PathParams};

/// Page size of the v4 list endpoint: default and maximum 500, as HubSpot.
const V4_PAGE_SIZE: usize = 500;
/// Batch limits of the v4 association API.
const V4_MAX_BATCH_READ: usize = 1_000;
const V4_MAX_BATCH_WRITE: usize = 2_000;

/// The pair of object types an association path names, `from` -> `to`. Both must be types
/// hubcalls serves; a name HubSpot has no object for is HubSpot's 400.
pub(super) fn pair_of(from: &str, to: &str) -> Result<AssociationPair, ApiError> {
    Ok(AssociationPair::new(
        object_type_of(from)?,
        object_type_of(to)?,
    ))
}

/// The pair's default (unlabelled) type, or HubSpot's 400 for types it does not associate.
fn default_spec(pair: AssociationPair) -> Result<AssociationSpec, ApiError> {
    pair.default_spec().ok_or_else(|| {
        ApiError::validation(format!(
            "There is no default association type between {} and {}",
            pair.from.plural, pair.to.plural
        ))
    })
}

/// Reads a record id; HubSpot answers `INVALID_OBJECT_IDS` for one that is not numeric.
pub(super) fn record_id(text: &str, object_word: &str) -> Result<u64, ApiError> {
    parse_record_id(text).ok_or_else(|| {
        to_api(
            invalid_object_ids(object_word, &[text.to_owned()]),
            Partition::new(0, ObjectType::CALLS),
        )
    })
}

fn to_api(error: CrmError, partition: Partition) -> ApiError {
    ApiError::from_crm(error, partition)
}

fn spec(input: &AssociationTypeInput) -> Result<AssociationSpec, ApiError> {
    let category = AssociationCategory::parse(&input.association_category).ok_or_else(|| {
        ApiError::validation(format!(
            "Invalid associationCategory \"{}\": expected HUBSPOT_DEFINED, USER_DEFINED, INTEGRATOR_DEFINED or WORK",
            input.association_category
        ))
    })?;
    let type_id = u32::try_from(input.association_type_id).map_err(|_| {
        ApiError::validation(format!(
            "Invalid associationTypeId {}",
            input.association_type_id
        ))
    })?;
    Ok(AssociationSpec { category, type_id })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AssociationTypeOut {
    category: &'static str,
    type_id: u32,
    label: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AssociatedObjectOut {
    to_object_id: u64,
    association_types: Vec<AssociationTypeOut>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LabelsBetweenObjectPair {
    from_object_type_id: &'static str,
    from_object_id: u64,
    to_object_type_id: &'static str,
    to_object_id: u64,
    labels: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct IdOut {
    pub(super) id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SpecOut {
    association_category: &'static str,
    association_type_id: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DefaultAssociationOut {
    from: IdOut,
    to: IdOut,
    association_spec: SpecOut,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BatchOut<T> {
    status: &'static str,
    results: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    num_errors: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<serde_json::Value>,
    started_at: String,
    completed_at: String,
}

impl<T> BatchOut<T> {
    pub(super) fn new(results: Vec<T>, errors: Vec<serde_json::Value>, started_at: i64) -> Self {
        Self {
            status: "COMPLETE",
            num_errors: (!errors.is_empty()).then_some(errors.len()),
            results,
            errors,
            started_at: instant(started_at),
            completed_at: instant(now_millis()),
        }
    }
}

/// The answer to an association batch archive: v4's 204, or the date versions' 200 with a
/// batch body (see [`ApiVersion::association_archive_has_body`]).
fn archived(version: ApiVersion, started_at: i64) -> Response {
    if version.association_archive_has_body() {
        let nothing: Vec<serde_json::Value> = Vec::new();
        json_response(
            StatusCode::OK,
            &BatchOut::new(nothing, Vec::new(), started_at),
        )
    } else {
        StatusCode::NO_CONTENT.into_response()
    }
}

fn associated_objects(to: BTreeMap<u64, Vec<AssociationSpec>>) -> Vec<AssociatedObjectOut> {
    to.into_iter()
        .map(|(to_object_id, specs)| AssociatedObjectOut {
            to_object_id,
            association_types: specs
                .into_iter()
                .map(|s| AssociationTypeOut {
                    category: s.category.as_str(),
                    type_id: s.type_id,
                    label: None,
                })
                .collect(),
        })
        .collect()
}

fn default_pair_out(
    pair: AssociationPair,
    from_id: u64,
    to_id: u64,
) -> Result<[DefaultAssociationOut; 2], ApiError> {
    let spec = |pair: AssociationPair| -> Result<SpecOut, ApiError> {
        let s = default_spec(pair)?;
        Ok(SpecOut {
            association_category: s.category.as_str(),
            association_type_id: s.type_id,
        })
    };
    Ok([
        DefaultAssociationOut {
            from: IdOut {
                id: from_id.to_string(),
            },
            to: IdOut {
                id: to_id.to_string(),
            },
            association_spec: spec(pair)?,
        },
        DefaultAssociationOut {
            from: IdOut {
                id: to_id.to_string(),
            },
            to: IdOut {
                id: from_id.to_string(),
            },
            association_spec: spec(pair.reversed())?,
        },
    ])
}

fn labels_out(pair: AssociationPair, from_id: u64, to_id: u64) -> LabelsBetweenObjectPair {
    LabelsBetweenObjectPair {
        from_object_type_id: pair.from.type_id,
        from_object_id: from_id,
        to_object_type_id: pair.to.type_id,
        to_object_id: to_id,
        labels: Vec::new(),
    }
}

// ----- v3 per record --------------------------------------------------------------------------

/// A v3 path's association type: a number, or the default's name (`call_to_contact`).
fn v3_spec(pair: AssociationPair, text: &str) -> Result<AssociationSpec, ApiError> {
    let default = pair.default_spec();
    if let Some(default) = default.filter(|_| text.eq_ignore_ascii_case(&pair.default_type_name()))
    {
        return Ok(default);
    }
    match text.parse::<u32>() {
        Ok(type_id) if default.is_some_and(|d| d.type_id == type_id) => {
            Ok(default.unwrap_or(AssociationSpec {
                category: AssociationCategory::HubspotDefined,
                type_id,
            }))
        }
        // Another of HubSpot's own types of the pair (company parent/child 13, 14).
        Ok(type_id) if pair.is_defined(type_id) => Ok(AssociationSpec {
            category: AssociationCategory::HubspotDefined,
            type_id,
        }),
        Ok(type_id) if type_id > 0 => Ok(AssociationSpec {
            category: AssociationCategory::UserDefined,
            type_id,
        }),
        _ => Err(ApiError::validation(format!(
            "{text} is not a valid association type between {} and {}",
            pair.from.plural, pair.to.plural
        ))),
    }
}

type V3Path = (String, String, String, String, String);

/// Checks a v3 per-record path: the pair, its type, and the `(from, to)` ids.
fn v3_target(
    (object_type, from_id, to_type, to_id, type_text): &V3Path,
) -> Result<(AssociationPair, AssociationSpec, u64, u64), ApiError> {
    let pair = pair_of(object_type, to_type)?;
    let spec = v3_spec(pair, type_text)?;
    let from = record_id(from_id, pair.from.internal_name)?;
    let to = record_id(to_id, pair.to.internal_name)?;
    Ok((pair, spec, from, to))
}

pub async fn put_v3(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(path): PathParams<V3Path>,
) -> Result<Response, ApiError> {
    let (pair, spec, from, to) = v3_target(&path)?;
    let portal = principal.portal;
    let partition = Partition::new(portal, pair.from);
    let body = state
        .run(partition, move |crm| {
            crm.associations
                .associate(portal, pair, &[(from, to, vec![spec])])?;
            let locator = Locator {
                value: &path.1,
                id_property: None,
            };
            let record = crm.records.get(partition, locator, ArchiveFilter::Live)?;
            let mut options = ReadOptions::requested(Vec::new());
            // Every type the record associates with, as HubSpot shows them.
            options.associations = ObjectType::all()
                .filter(|t| AssociationPair::new(pair.from, *t).default_spec().is_some())
                .collect();
            render_records(crm, partition, vec![record], &options)
        })
        .await?;
    Ok(json_response(StatusCode::OK, &body[0]))
}

pub async fn delete_v3(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(path): PathParams<V3Path>,
) -> Result<Response, ApiError> {
    let (pair, spec, from, to) = v3_target(&path)?;
    let portal = principal.portal;
    state
        .run(Partition::new(portal, pair.from), move |crm| {
            crm.associations
                .dissociate(portal, pair, from, to, Some(&[spec]))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Serialize)]
struct V3Associated {
    id: String,
    #[serde(rename = "type")]
    association_type: String,
}

pub async fn list_v3(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, from_id, to_type)): PathParams<(String, String, String)>,
) -> Result<Response, ApiError> {
    let pair = pair_of(&object_type, &to_type)?;
    let from = record_id(&from_id, pair.from.internal_name)?;
    let portal = principal.portal;
    let partition = Partition::new(portal, pair.from);
    let links = state
        .run_read(partition, move |crm| {
            crm.associations.require_live_records(partition, &[from])?;
            crm.associations.links(portal, pair, &[from])
        })
        .await?;
    let default = pair.default_spec();
    let results: Vec<V3Associated> = links
        .into_values()
        .flatten()
        .flat_map(|(to_id, specs)| {
            specs.into_iter().map(move |s| V3Associated {
                id: to_id.to_string(),
                association_type: if Some(s) == default {
                    pair.default_type_name()
                } else {
                    s.type_id.to_string()
                },
            })
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "results": results }),
    ))
}

// ----- v4 per record --------------------------------------------------------------------------

type V4Path = (String, String, String, String);

/// Checks a v4 per-record path and returns the pair and the `(from, to)` ids.
fn v4_target(
    (from_type, from_id, to_type, to_id): &V4Path,
) -> Result<(AssociationPair, u64, u64), ApiError> {
    let pair = pair_of(from_type, to_type)?;
    let from = record_id(from_id, pair.from.internal_name)?;
    let to = record_id(to_id, pair.to.internal_name)?;
    Ok((pair, from, to))
}

pub async fn put_default_v4(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(path): PathParams<V4Path>,
) -> Result<Response, ApiError> {
    let started_at = now_millis();
    let (pair, from, to) = v4_target(&path)?;
    let spec = default_spec(pair)?;
    let portal = principal.portal;
    state
        .run(Partition::new(portal, pair.from), move |crm| {
            crm.associations
                .associate(portal, pair, &[(from, to, vec![spec])])
        })
        .await?;
    let body = BatchOut::new(
        default_pair_out(pair, from, to)?.into(),
        Vec::new(),
        started_at,
    );
    Ok(json_response(StatusCode::OK, &body))
}

pub async fn put_labelled_v4(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(path): PathParams<V4Path>,
    HubJsonList(types): HubJsonList<AssociationTypeInput>,
) -> Result<Response, ApiError> {
    let (pair, from, to) = v4_target(&path)?;
    let specs = types.iter().map(spec).collect::<Result<Vec<_>, _>>()?;
    let portal = principal.portal;
    state
        .run(Partition::new(portal, pair.from), move |crm| {
            crm.associations
                .set_associations(portal, pair, (from, to, specs))
        })
        .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &labels_out(pair, from, to),
    ))
}

pub async fn delete_v4(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(path): PathParams<V4Path>,
) -> Result<Response, ApiError> {
    let (pair, from, to) = v4_target(&path)?;
    let portal = principal.portal;
    state
        .run(Partition::new(portal, pair.from), move |crm| {
            crm.associations.dissociate(portal, pair, from, to, None)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Serialize)]
struct V4Page {
    results: Vec<AssociatedObjectOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paging: Option<super::wire::Paging>,
}

pub async fn list_v4(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((from_type, from_id, to_type)): PathParams<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let pair = pair_of(&from_type, &to_type)?;
    let from = record_id(&from_id, pair.from.internal_name)?;
    let query = QueryParams::parse(raw.as_deref());
    let limit =
        (query.number("limit")?.unwrap_or(V4_PAGE_SIZE as u64) as usize).clamp(1, V4_PAGE_SIZE);
    let offset = query.number("after")?.unwrap_or(0) as usize;
    let portal = principal.portal;
    let partition = Partition::new(portal, pair.from);
    let mut links = state
        .run_read(partition, move |crm| {
            crm.associations.require_live_records(partition, &[from])?;
            crm.associations.links(portal, pair, &[from])
        })
        .await?;
    let all = associated_objects(links.remove(&from).unwrap_or_default());
    let next = offset.saturating_add(limit);
    let paging = (next < all.len()).then(|| super::wire::Paging {
        next: super::wire::NextPage {
            after: next.to_string(),
            link: None,
        },
    });
    let results = all.into_iter().skip(offset).take(limit).collect();
    Ok(json_response(StatusCode::OK, &V4Page { results, paging }))
}

// ----- v4 batch -------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct FromTo {
    from: ObjectIdInput,
    to: ObjectIdInput,
}

#[derive(Debug, Deserialize)]
pub struct FromToTypes {
    from: ObjectIdInput,
    to: ObjectIdInput,
    #[serde(default)]
    types: Vec<AssociationTypeInput>,
}

#[derive(Debug, Deserialize)]
pub struct FromToMany {
    from: ObjectIdInput,
    #[serde(default)]
    to: Vec<ObjectIdInput>,
}

pub(super) fn check_batch(count: usize, limit: usize) -> Result<(), ApiError> {
    if count > limit {
        return Err(ApiError::validation(format!(
            "The maximum number of inputs supported in a batch is {limit}. Please reduce the number of items and try again"
        )));
    }
    Ok(())
}

fn ids(pair: AssociationPair, from: &IdText, to: &IdText) -> Result<(u64, u64), ApiError> {
    Ok((
        record_id(&from.0, pair.from.internal_name)?,
        record_id(&to.0, pair.to.internal_name)?,
    ))
}

pub async fn batch_default_v4(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((from_type, to_type)): PathParams<(String, String)>,
    HubJson(input): HubJson<BatchInput<FromTo>>,
) -> Result<Response, ApiError> {
    let started_at = now_millis();
    let pair = pair_of(&from_type, &to_type)?;
    check_batch(input.inputs.len(), V4_MAX_BATCH_WRITE)?;
    let spec = default_spec(pair)?;
    let pairs = input
        .inputs
        .iter()
        .map(|i| ids(pair, &i.from.id, &i.to.id))
        .collect::<Result<Vec<_>, _>>()?;
    let links: Vec<_> = pairs
        .iter()
        .map(|(from, to)| (*from, *to, vec![spec]))
        .collect();
    let portal = principal.portal;
    state
        .run(Partition::new(portal, pair.from), move |crm| {
            crm.associations.associate(portal, pair, &links)
        })
        .await?;
    let mut results: Vec<DefaultAssociationOut> = Vec::new();
    for (from, to) in pairs {
        results.extend(default_pair_out(pair, from, to)?);
    }
    Ok(json_response(
        StatusCode::OK,
        &BatchOut::new(results, Vec::new(), started_at),
    ))
}

pub async fn batch_create_v4(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((from_type, to_type)): PathParams<(String, String)>,
    HubJson(input): HubJson<BatchInput<FromToTypes>>,
) -> Result<Response, ApiError> {
    let started_at = now_millis();
    let pair = pair_of(&from_type, &to_type)?;
    check_batch(input.inputs.len(), V4_MAX_BATCH_WRITE)?;
    let mut pairs = Vec::new();
    let mut links = Vec::new();
    for item in &input.inputs {
        let (from, to) = ids(pair, &item.from.id, &item.to.id)?;
        let specs = item.types.iter().map(spec).collect::<Result<Vec<_>, _>>()?;
        links.push((from, to, specs));
        pairs.push((from, to));
    }
    let portal = principal.portal;
    state
        .run(Partition::new(portal, pair.from), move |crm| {
            crm.associations.associate(portal, pair, &links)
        })
        .await?;
    let results: Vec<LabelsBetweenObjectPair> = pairs
        .into_iter()
        .map(|(from, to)| labels_out(pair, from, to))
        .collect();
    Ok(json_response(
        StatusCode::CREATED,
        &BatchOut::new(results, Vec::new(), started_at),
    ))
}

#[derive(Debug, Serialize)]
struct BatchReadResult {
    from: IdOut,
    to: Vec<AssociatedObjectOut>,
}

pub async fn batch_read_v4(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((from_type, to_type)): PathParams<(String, String)>,
    HubJson(input): HubJson<BatchInput<ObjectIdInput>>,
) -> Result<Response, ApiError> {
    let started_at = now_millis();
    let pair = pair_of(&from_type, &to_type)?;
    check_batch(input.inputs.len(), V4_MAX_BATCH_READ)?;
    let from_ids = input
        .inputs
        .iter()
        .map(|i| record_id(&i.id.0, pair.from.internal_name))
        .collect::<Result<Vec<_>, _>>()?;
    let portal = principal.portal;
    let wanted = from_ids.clone();
    let mut links = state
        .run(Partition::new(portal, pair.from), move |crm| {
            crm.associations.links(portal, pair, &wanted)
        })
        .await?;
    let (from_name, to_name) = (pair.from.singular, pair.to.singular);
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for from in from_ids {
        match links.remove(&from) {
            Some(to) if !to.is_empty() => results.push(BatchReadResult {
                from: IdOut {
                    id: from.to_string(),
                },
                to: associated_objects(to),
            }),
            _ => errors.push(serde_json::json!({
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                "message": format!("No {to_name} is associated with {from_name} {from}."),
                "context": {
                    "fromObjectId": [from.to_string()],
                    "fromObjectType": [from_name],
                    "toObjectType": [to_name],
                },
            })),
        }
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    Ok(json_response(
        status,
        &BatchOut::new(results, errors, started_at),
    ))
}

pub async fn batch_archive_v4(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((from_type, to_type)): PathParams<(String, String)>,
    version: ApiVersion,
    HubJson(input): HubJson<BatchInput<FromToMany>>,
) -> Result<Response, ApiError> {
    let started_at = now_millis();
    let pair = pair_of(&from_type, &to_type)?;
    check_batch(input.inputs.len(), V4_MAX_BATCH_WRITE)?;
    let mut pairs = Vec::new();
    for item in &input.inputs {
        for to in &item.to {
            pairs.push(ids(pair, &item.from.id, &to.id)?);
        }
    }
    let portal = principal.portal;
    state
        .run(Partition::new(portal, pair.from), move |crm| {
            for (from, to) in pairs {
                crm.associations.dissociate(portal, pair, from, to, None)?;
            }
            Ok(())
        })
        .await?;
    Ok(archived(version, started_at))
}

pub async fn batch_archive_labels_v4(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((from_type, to_type)): PathParams<(String, String)>,
    version: ApiVersion,
    HubJson(input): HubJson<BatchInput<FromToTypes>>,
) -> Result<Response, ApiError> {
    let started_at = now_millis();
    let pair = pair_of(&from_type, &to_type)?;
    check_batch(input.inputs.len(), V4_MAX_BATCH_WRITE)?;
    let mut removals = Vec::new();
    for item in &input.inputs {
        let (from, to) = ids(pair, &item.from.id, &item.to.id)?;
        let specs = item.types.iter().map(spec).collect::<Result<Vec<_>, _>>()?;
        removals.push((from, to, specs));
    }
    let portal = principal.portal;
    state
        .run(Partition::new(portal, pair.from), move |crm| {
            for (from, to, specs) in removals {
                crm.associations
                    .dissociate(portal, pair, from, to, Some(&specs))?;
            }
            Ok(())
        })
        .await?;
    Ok(archived(version, started_at))
}
