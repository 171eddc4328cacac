//! Association endpoints: v3 per-record, v4 per-record and v4 batch, between calls and
//! contacts, companies, deals and tickets (either side may be the call).

use std::collections::{BTreeMap, HashMap};

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::{Deserialize, Serialize};

use crate::crm::association_service::{invalid_object_ids, parse_record_id};
use crate::crm::associations::{
    AssociatedKind, Association, AssociationCategory, AssociationSpec, Direction,
};
use crate::crm::error::CrmError;
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::record::{RecordId, CALL_OBJECT_TYPE_ID};
use crate::crm::service::{ArchiveFilter, Locator, RecordService};
use crate::crm::time::now_millis;

use super::auth::Principal;
use super::error::{json_response, ApiError};
use super::json::{HubJson, HubJsonList};
use super::query::QueryParams;
use super::render::{render_records, ReadOptions};
use super::wire::{instant, AssociationTypeInput, BatchInput, IdText, ObjectIdInput};
use super::{object_type_of, AppState, PathParams};

/// Page size of the v4 list endpoint: default and maximum 500, as HubSpot.
const V4_PAGE_SIZE: usize = 500;
/// Batch limits of the v4 association API.
const V4_MAX_BATCH_READ: usize = 1_000;
const V4_MAX_BATCH_WRITE: usize = 2_000;

/// Two object types of an association path, one of them calls.
#[derive(Debug, Clone, Copy)]
struct Pair {
    direction: Direction,
    kind: AssociatedKind,
}

impl Pair {
    fn from_path(from: &str, to: &str) -> Result<Self, ApiError> {
        let unsupported = || {
            ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "NOT_IMPLEMENTED",
                format!(
                    "hubcalls keeps associations between calls and contacts, companies, deals or tickets; {from} to {to} is not available"
                ),
            )
        };
        let is_calls = |t: &str| ObjectType::parse(t) == Some(ObjectType::CALLS);
        let (direction, other) = match (is_calls(from), is_calls(to)) {
            (true, false) => (Direction::FromCall, to),
            (false, true) => (Direction::ToCall, from),
            _ => return Err(unsupported()),
        };
        match AssociatedKind::parse(other) {
            Some(kind) => Ok(Self { direction, kind }),
            // A HubSpot object hubcalls does not keep: 501; a name HubSpot has no object
            // for: HubSpot's 400.
            None if ObjectType::parse(other).is_some() => Err(unsupported()),
            None => Err(ApiError::validation(format!(
                "Unable to infer object type from: {other}"
            ))),
        }
    }

    fn source_type_id(self) -> &'static str {
        match self.direction {
            Direction::FromCall => CALL_OBJECT_TYPE_ID,
            Direction::ToCall => self.kind.object_type_id(),
        }
    }

    fn target_type_id(self) -> &'static str {
        match self.direction {
            Direction::FromCall => self.kind.object_type_id(),
            Direction::ToCall => CALL_OBJECT_TYPE_ID,
        }
    }

    fn source_word(self) -> &'static str {
        match self.direction {
            Direction::FromCall => "CALL",
            Direction::ToCall => self.kind.internal_name(),
        }
    }

    fn target_word(self) -> &'static str {
        match self.direction {
            Direction::FromCall => self.kind.internal_name(),
            Direction::ToCall => "CALL",
        }
    }

    /// `(call id, other record id)` from a path's `(from id, to id)`.
    fn call_and_record(self, from_id: u64, to_id: u64) -> (RecordId, u64) {
        match self.direction {
            Direction::FromCall => (from_id, to_id),
            Direction::ToCall => (to_id, from_id),
        }
    }

    /// The opposite direction, for the second half of a default association.
    fn reversed_direction(self) -> Direction {
        match self.direction {
            Direction::FromCall => Direction::ToCall,
            Direction::ToCall => Direction::FromCall,
        }
    }
}

/// Reads a record id; HubSpot answers `INVALID_OBJECT_IDS` for one that is not numeric.
fn record_id(text: &str, object_word: &str) -> Result<u64, ApiError> {
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
struct IdOut {
    id: String,
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
struct BatchOut<T> {
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
    fn new(results: Vec<T>, errors: Vec<serde_json::Value>, started_at: i64) -> Self {
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

/// The associations of the `from` records of `pair`, by from id and then to id, as read in
/// the pair's direction.
fn links_of(
    service: &RecordService,
    partition: Partition,
    pair: Pair,
    from_ids: &[u64],
) -> Result<HashMap<u64, BTreeMap<u64, Vec<AssociationSpec>>>, CrmError> {
    let mut links: HashMap<u64, BTreeMap<u64, Vec<AssociationSpec>>> = HashMap::new();
    let mut add = |from: u64, to: u64, association: &Association| {
        links
            .entry(from)
            .or_default()
            .entry(to)
            .or_default()
            .push(AssociationSpec::of(association, pair.direction));
    };
    match pair.direction {
        Direction::FromCall => {
            // Archived calls have no associations to show, as from the other side.
            let live: Vec<RecordId> = service
                .live_calls(partition, from_ids)?
                .into_iter()
                .collect();
            for list in service.associations(partition, &live)?.values() {
                for a in list.iter().filter(|a| a.kind == pair.kind) {
                    add(a.call_id, a.to_id, a);
                }
            }
        }
        Direction::ToCall => {
            for list in service
                .associations_of_records(partition, pair.kind, from_ids)?
                .values()
            {
                for a in list {
                    add(a.to_id, a.call_id, a);
                }
            }
        }
    }
    Ok(links)
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

fn default_pair_out(pair: Pair, from_id: u64, to_id: u64) -> [DefaultAssociationOut; 2] {
    let spec = |direction| {
        let s = AssociationSpec::default_for(pair.kind, direction);
        SpecOut {
            association_category: s.category.as_str(),
            association_type_id: s.type_id,
        }
    };
    [
        DefaultAssociationOut {
            from: IdOut {
                id: from_id.to_string(),
            },
            to: IdOut {
                id: to_id.to_string(),
            },
            association_spec: spec(pair.direction),
        },
        DefaultAssociationOut {
            from: IdOut {
                id: to_id.to_string(),
            },
            to: IdOut {
                id: from_id.to_string(),
            },
            association_spec: spec(pair.reversed_direction()),
        },
    ]
}

fn labels_out(pair: Pair, from_id: u64, to_id: u64) -> LabelsBetweenObjectPair {
    LabelsBetweenObjectPair {
        from_object_type_id: pair.source_type_id(),
        from_object_id: from_id,
        to_object_type_id: pair.target_type_id(),
        to_object_id: to_id,
        labels: Vec::new(),
    }
}

// ----- v3 per record --------------------------------------------------------------------------

/// A v3 path's association type: a number, or a name such as `call_to_contact`.
fn v3_spec(kind: AssociatedKind, text: &str) -> Result<AssociationSpec, ApiError> {
    let default = AssociationSpec::default_for(kind, Direction::FromCall);
    if text.eq_ignore_ascii_case(&kind.call_to_type_name()) {
        return Ok(default);
    }
    match text.parse::<u32>() {
        Ok(type_id) if type_id == default.type_id => Ok(default),
        Ok(type_id) if type_id > 0 => Ok(AssociationSpec {
            category: AssociationCategory::UserDefined,
            type_id,
        }),
        _ => Err(ApiError::validation(format!(
            "{text} is not a valid association type between calls and {}",
            kind.plural()
        ))),
    }
}

type V3Path = (String, String, String, String, String);

pub async fn put_v3(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, call_id, to_type, to_id, type_text)): PathParams<V3Path>,
) -> Result<Response, ApiError> {
    object_type_of(&object_type)?;
    let pair = Pair::from_path(&object_type, &to_type)?;
    let spec = v3_spec(pair.kind, &type_text)?;
    let call = record_id(&call_id, "CALL")?;
    let to = record_id(&to_id, pair.kind.internal_name())?;
    let partition = Partition::new(principal.portal, ObjectType::CALLS);
    let body = state
        .run(partition, move |service| {
            service.associate(
                partition,
                Direction::FromCall,
                &[(call, pair.kind, to, vec![spec])],
            )?;
            let locator = Locator {
                value: &call_id,
                id_property: None,
            };
            let call = service.get(partition, locator, ArchiveFilter::Live)?;
            let mut options = ReadOptions::requested(Vec::new());
            options.associations = AssociatedKind::ALL.to_vec();
            render_records(service, partition, &[call], &options)
        })
        .await?;
    Ok(json_response(StatusCode::OK, &body[0]))
}

pub async fn delete_v3(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, call_id, to_type, to_id, type_text)): PathParams<V3Path>,
) -> Result<Response, ApiError> {
    object_type_of(&object_type)?;
    let pair = Pair::from_path(&object_type, &to_type)?;
    let spec = v3_spec(pair.kind, &type_text)?;
    let call = record_id(&call_id, "CALL")?;
    let to = record_id(&to_id, pair.kind.internal_name())?;
    let partition = Partition::new(principal.portal, ObjectType::CALLS);
    state
        .run(partition, move |service| {
            service.dissociate(
                partition,
                Direction::FromCall,
                call,
                pair.kind,
                to,
                Some(&[spec]),
            )
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
    PathParams((object_type, call_id, to_type)): PathParams<(String, String, String)>,
) -> Result<Response, ApiError> {
    object_type_of(&object_type)?;
    let pair = Pair::from_path(&object_type, &to_type)?;
    let call = record_id(&call_id, "CALL")?;
    let partition = Partition::new(principal.portal, ObjectType::CALLS);
    let links = state
        .run(partition, move |service| {
            service.require_live_calls(partition, &[call])?;
            links_of(service, partition, pair, &[call])
        })
        .await?;
    let default = AssociationSpec::default_for(pair.kind, Direction::FromCall);
    let results: Vec<V3Associated> = links
        .into_values()
        .flatten()
        .flat_map(|(to_id, specs)| {
            specs.into_iter().map(move |s| V3Associated {
                id: to_id.to_string(),
                association_type: if s == default {
                    pair.kind.call_to_type_name()
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

/// Checks a v4 per-record path and returns the pair and the `(call, record)` ids.
fn v4_target((from_type, from_id, to_type, to_id): &V4Path) -> Result<(Pair, u64, u64), ApiError> {
    let pair = Pair::from_path(from_type, to_type)?;
    let from = record_id(from_id, pair.source_word())?;
    let to = record_id(to_id, pair.target_word())?;
    Ok((pair, from, to))
}

pub async fn put_default_v4(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(path): PathParams<V4Path>,
) -> Result<Response, ApiError> {
    let started_at = now_millis();
    let (pair, from, to) = v4_target(&path)?;
    let (call, record) = pair.call_and_record(from, to);
    let partition = Partition::new(principal.portal, ObjectType::CALLS);
    state
        .run(partition, move |service| {
            let spec = AssociationSpec::default_for(pair.kind, pair.direction);
            service.associate(
                partition,
                pair.direction,
                &[(call, pair.kind, record, vec![spec])],
            )
        })
        .await?;
    let body = BatchOut::new(
        default_pair_out(pair, from, to).into(),
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
    let (call, record) = pair.call_and_record(from, to);
    let partition = Partition::new(principal.portal, ObjectType::CALLS);
    state
        .run(partition, move |service| {
            service.set_associations(partition, pair.direction, (call, pair.kind, record, specs))
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
    let (call, record) = pair.call_and_record(from, to);
    let partition = Partition::new(principal.portal, ObjectType::CALLS);
    state
        .run(partition, move |service| {
            service.dissociate(partition, pair.direction, call, pair.kind, record, None)
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
    let pair = Pair::from_path(&from_type, &to_type)?;
    let from = record_id(&from_id, pair.source_word())?;
    let query = QueryParams::parse(raw.as_deref());
    let limit =
        (query.number("limit")?.unwrap_or(V4_PAGE_SIZE as u64) as usize).clamp(1, V4_PAGE_SIZE);
    let offset = query.number("after")?.unwrap_or(0) as usize;
    let partition = Partition::new(principal.portal, ObjectType::CALLS);
    let mut links = state
        .run(partition, move |service| {
            // Read from a call, the call must be one of this partition's live calls.
            if pair.direction == Direction::FromCall {
                service.require_live_calls(partition, &[from])?;
            }
            links_of(service, partition, pair, &[from])
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

fn check_batch(count: usize, limit: usize) -> Result<(), ApiError> {
    if count > limit {
        return Err(ApiError::validation(format!(
            "The maximum number of inputs supported in a batch is {limit}. Please reduce the number of items and try again"
        )));
    }
    Ok(())
}

fn ids(pair: Pair, from: &IdText, to: &IdText) -> Result<(u64, u64), ApiError> {
    Ok((
        record_id(&from.0, pair.source_word())?,
        record_id(&to.0, pair.target_word())?,
    ))
}

pub async fn batch_default_v4(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((from_type, to_type)): PathParams<(String, String)>,
    HubJson(input): HubJson<BatchInput<FromTo>>,
) -> Result<Response, ApiError> {
    let started_at = now_millis();
    let pair = Pair::from_path(&from_type, &to_type)?;
    check_batch(input.inputs.len(), V4_MAX_BATCH_WRITE)?;
    let pairs = input
        .inputs
        .iter()
        .map(|i| ids(pair, &i.from.id, &i.to.id))
        .collect::<Result<Vec<_>, _>>()?;
    let links: Vec<_> = pairs
        .iter()
        .map(|(from, to)| {
            let (call, record) = pair.call_and_record(*from, *to);
            let spec = AssociationSpec::default_for(pair.kind, pair.direction);
            (call, pair.kind, record, vec![spec])
        })
        .collect();
    let partition = Partition::new(principal.portal, ObjectType::CALLS);
    state
        .run(partition, move |service| {
            service.associate(partition, pair.direction, &links)
        })
        .await?;
    let results: Vec<DefaultAssociationOut> = pairs
        .into_iter()
        .flat_map(|(from, to)| default_pair_out(pair, from, to))
        .collect();
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
    let pair = Pair::from_path(&from_type, &to_type)?;
    check_batch(input.inputs.len(), V4_MAX_BATCH_WRITE)?;
    let mut pairs = Vec::new();
    let mut links = Vec::new();
    for item in &input.inputs {
        let (from, to) = ids(pair, &item.from.id, &item.to.id)?;
        let specs = item.types.iter().map(spec).collect::<Result<Vec<_>, _>>()?;
        let (call, record) = pair.call_and_record(from, to);
        links.push((call, pair.kind, record, specs));
        pairs.push((from, to));
    }
    let partition = Partition::new(principal.portal, ObjectType::CALLS);
    state
        .run(partition, move |service| {
            service.associate(partition, pair.direction, &links)
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
    let pair = Pair::from_path(&from_type, &to_type)?;
    check_batch(input.inputs.len(), V4_MAX_BATCH_READ)?;
    let from_ids = input
        .inputs
        .iter()
        .map(|i| record_id(&i.id.0, pair.source_word()))
        .collect::<Result<Vec<_>, _>>()?;
    let partition = Partition::new(principal.portal, ObjectType::CALLS);
    let wanted = from_ids.clone();
    let mut links = state
        .run(partition, move |service| {
            links_of(service, partition, pair, &wanted)
        })
        .await?;
    let (from_name, to_name) = match pair.direction {
        Direction::FromCall => ("call", pair.kind.singular()),
        Direction::ToCall => (pair.kind.singular(), "call"),
    };
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
    HubJson(input): HubJson<BatchInput<FromToMany>>,
) -> Result<Response, ApiError> {
    let pair = Pair::from_path(&from_type, &to_type)?;
    check_batch(input.inputs.len(), V4_MAX_BATCH_WRITE)?;
    let mut pairs = Vec::new();
    for item in &input.inputs {
        for to in &item.to {
            pairs.push(ids(pair, &item.from.id, &to.id)?);
        }
    }
    let partition = Partition::new(principal.portal, ObjectType::CALLS);
    state
        .run(partition, move |service| {
            for (from, to) in pairs {
                let (call, record) = pair.call_and_record(from, to);
                service.dissociate(partition, pair.direction, call, pair.kind, record, None)?;
            }
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn batch_archive_labels_v4(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((from_type, to_type)): PathParams<(String, String)>,
    HubJson(input): HubJson<BatchInput<FromToTypes>>,
) -> Result<Response, ApiError> {
    let pair = Pair::from_path(&from_type, &to_type)?;
    check_batch(input.inputs.len(), V4_MAX_BATCH_WRITE)?;
    let mut removals = Vec::new();
    for item in &input.inputs {
        let (from, to) = ids(pair, &item.from.id, &item.to.id)?;
        let specs = item.types.iter().map(spec).collect::<Result<Vec<_>, _>>()?;
        removals.push((from, to, specs));
    }
    let partition = Partition::new(principal.portal, ObjectType::CALLS);
    state
        .run(partition, move |service| {
            for (from, to, specs) in removals {
                let (call, record) = pair.call_and_record(from, to);
                service.dissociate(
                    partition,
                    pair.direction,
                    call,
                    pair.kind,
                    record,
                    Some(&specs),
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
