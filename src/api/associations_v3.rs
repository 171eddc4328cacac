//! HubSpot's legacy v3 associations batch API, `/crm/v3/associations/{from}/{to}/batch/…`,
//! still called by older connectors: each input names one pair of records and one type, by
//! its name (`contact_to_company`) or its id. Served by the same rules as v4.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::{Deserialize, Serialize};

use crate::crm::associations::{AssociationCategory, AssociationPair, AssociationSpec};
use crate::crm::objects::Partition;
use crate::crm::time::now_millis;

use super::associations::{check_batch, pair_of, record_id, BatchOut, IdOut};
use super::auth::Principal;
use super::error::{json_response, ApiError};
use super::json::HubJson;
use super::wire::{BatchInput, ObjectIdInput};
use super::{AppState, PathParams};

/// v3's batch limits (HubSpot documents 100 for this API).
const MAX_INPUTS: usize = 100;

/// `{"from": {"id"}, "to": {"id"}, "type": "contact_to_company"}`.
#[derive(Debug, Deserialize)]
pub struct PublicAssociation {
    from: ObjectIdInput,
    to: ObjectIdInput,
    #[serde(rename = "type")]
    association_type: String,
}

#[derive(Debug, Serialize)]
struct AssociationOut {
    from: IdOut,
    to: IdOut,
    #[serde(rename = "type")]
    association_type: String,
}

#[derive(Debug, Serialize)]
struct AssociatedOut {
    id: String,
    #[serde(rename = "type")]
    association_type: String,
}

#[derive(Debug, Serialize)]
struct MultiOut {
    from: IdOut,
    to: Vec<AssociatedOut>,
}

/// A v3 type: the pair's default by name or id, or another id as a label.
fn spec_of(pair: AssociationPair, text: &str) -> Result<AssociationSpec, ApiError> {
    let default = pair.default_spec();
    if text.eq_ignore_ascii_case(&pair.default_type_name()) {
        if let Some(default) = default {
            return Ok(default);
        }
    }
    match text.parse::<u32>() {
        Ok(type_id) if default.is_some_and(|d| d.type_id == type_id) => Ok(AssociationSpec {
            category: AssociationCategory::HubspotDefined,
            type_id,
        }),
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

/// How v3 names a type read `from -> to`.
fn type_name(pair: AssociationPair, spec: AssociationSpec) -> String {
    if Some(spec) == pair.default_spec() {
        pair.default_type_name()
    } else {
        spec.type_id.to_string()
    }
}

type Parsed = Vec<(u64, u64, AssociationSpec)>;

fn parse_inputs(pair: AssociationPair, inputs: &[PublicAssociation]) -> Result<Parsed, ApiError> {
    check_batch(inputs.len(), MAX_INPUTS)?;
    inputs
        .iter()
        .map(|input| {
            Ok((
                record_id(&input.from.id.0, pair.from.internal_name)?,
                record_id(&input.to.id.0, pair.to.internal_name)?,
                spec_of(pair, &input.association_type)?,
            ))
        })
        .collect()
}

pub async fn batch_create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((from, to)): PathParams<(String, String)>,
    HubJson(input): HubJson<BatchInput<PublicAssociation>>,
) -> Result<Response, ApiError> {
    let started_at = now_millis();
    let pair = pair_of(&from, &to)?;
    let parsed = parse_inputs(pair, &input.inputs)?;
    let portal = principal.portal;
    let links: Vec<_> = parsed
        .iter()
        .map(|(from, to, spec)| (*from, *to, vec![*spec]))
        .collect();
    state
        .run(Partition::new(portal, pair.from), move |crm| {
            crm.associations.associate(portal, pair, &links)
        })
        .await?;
    let results: Vec<AssociationOut> = parsed
        .into_iter()
        .map(|(from, to, spec)| AssociationOut {
            from: IdOut {
                id: from.to_string(),
            },
            to: IdOut { id: to.to_string() },
            association_type: type_name(pair, spec),
        })
        .collect();
    Ok(json_response(
        StatusCode::CREATED,
        &BatchOut::new(results, Vec::new(), started_at),
    ))
}

pub async fn batch_read(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((from, to)): PathParams<(String, String)>,
    HubJson(input): HubJson<BatchInput<ObjectIdInput>>,
) -> Result<Response, ApiError> {
    let started_at = now_millis();
    let pair = pair_of(&from, &to)?;
    check_batch(input.inputs.len(), MAX_INPUTS)?;
    let from_ids = input
        .inputs
        .iter()
        .map(|i| record_id(&i.id.0, pair.from.internal_name))
        .collect::<Result<Vec<_>, _>>()?;
    let portal = principal.portal;
    let wanted = from_ids.clone();
    let mut links = state
        .run_read(Partition::new(portal, pair.from), move |crm| {
            crm.associations.links(portal, pair, &wanted)
        })
        .await?;
    let results: Vec<MultiOut> = from_ids
        .into_iter()
        .filter_map(|from| {
            let to = links.remove(&from)?;
            Some(MultiOut {
                from: IdOut {
                    id: from.to_string(),
                },
                to: to
                    .into_iter()
                    .flat_map(|(to_id, specs)| {
                        specs.into_iter().map(move |spec| AssociatedOut {
                            id: to_id.to_string(),
                            association_type: type_name(pair, spec),
                        })
                    })
                    .collect(),
            })
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &BatchOut::new(results, Vec::new(), started_at),
    ))
}

pub async fn batch_archive(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((from, to)): PathParams<(String, String)>,
    HubJson(input): HubJson<BatchInput<PublicAssociation>>,
) -> Result<Response, ApiError> {
    let pair = pair_of(&from, &to)?;
    let parsed = parse_inputs(pair, &input.inputs)?;
    let portal = principal.portal;
    state
        .run(Partition::new(portal, pair.from), move |crm| {
            for (from, to, spec) in parsed {
                crm.associations
                    .dissociate(portal, pair, from, to, Some(&[spec]))?;
            }
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
