//! `POST /crm/v3/objects/calls/search`: HubSpot's search request, decoded into the rules'
//! terms, and its `{total, results, paging}` answer.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;

use crate::crm::objects::Partition;
use crate::crm::records::HistoryByRecord;
use crate::crm::search::{FilterSpec, SearchRequest, SortSpec};

use super::auth::Principal;
use super::error::ApiError;
use super::json::HubJson;
use super::render::{json_body_response, render_loaded, render_records, ReadOptions};
use super::wire::{NextPage, Paging, SearchResponse, SimplePublicObject, Text};
use super::{object_type_of, AppState, PathParams};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterInput {
    pub property_name: String,
    pub operator: String,
    #[serde(default)]
    pub value: Option<Text>,
    #[serde(default)]
    pub high_value: Option<Text>,
    #[serde(default)]
    pub values: Option<Vec<Text>>,
}

#[derive(Debug, Deserialize)]
pub struct FilterGroupInput {
    #[serde(default)]
    pub filters: Vec<FilterInput>,
}

/// A sort as an object, or as HubSpot's SDKs type it: a string (`"prop"`, `"-prop"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum SortInput {
    Named(String),
    Object {
        #[serde(rename = "propertyName")]
        property_name: String,
        #[serde(default)]
        direction: Option<String>,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchInput {
    #[serde(default)]
    pub filter_groups: Option<Vec<FilterGroupInput>>,
    /// Undocumented but honoured by HubSpot: filters outside any group, ANDed.
    #[serde(default)]
    pub filters: Option<Vec<FilterInput>>,
    #[serde(default)]
    pub sorts: Option<Vec<SortInput>>,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub properties: Option<Vec<String>>,
    #[serde(default)]
    pub limit: Option<Text>,
    #[serde(default)]
    pub after: Option<Text>,
}

fn filter_spec(input: FilterInput) -> FilterSpec {
    FilterSpec {
        property_name: input.property_name,
        operator: input.operator,
        value: input.value.map(|t| t.0),
        high_value: input.high_value.map(|t| t.0),
        values: input.values.map(|v| v.into_iter().map(|t| t.0).collect()),
    }
}

fn sort_spec(sort: SortInput) -> Result<Option<SortSpec>, ApiError> {
    Ok(match sort {
        SortInput::Named(name) => {
            let name = name.trim();
            if name.is_empty() || name.starts_with('{') {
                // HubSpot silently ignores a sort it cannot read as a property name
                // (e.g. a JSON-encoded object).
                None
            } else if let Some(name) = name.strip_prefix('-') {
                Some(SortSpec {
                    property_name: name.to_owned(),
                    descending: true,
                })
            } else {
                Some(SortSpec {
                    property_name: name.to_owned(),
                    descending: false,
                })
            }
        }
        SortInput::Object {
            property_name,
            direction,
        } => {
            let descending = match direction.as_deref() {
                None | Some("ASCENDING") => false,
                Some("DESCENDING") => true,
                Some(other) => {
                    return Err(ApiError::validation(format!(
                        "Invalid sort direction \"{other}\": expected ASCENDING or DESCENDING"
                    )))
                }
            };
            Some(SortSpec {
                property_name,
                descending,
            })
        }
    })
}

pub fn search_request(input: SearchInput) -> Result<SearchRequest, ApiError> {
    let loose: Vec<FilterSpec> = input
        .filters
        .unwrap_or_default()
        .into_iter()
        .map(filter_spec)
        .collect();
    let mut filter_groups: Vec<Vec<FilterSpec>> = input
        .filter_groups
        .unwrap_or_default()
        .into_iter()
        .map(|g| g.filters.into_iter().map(filter_spec).collect())
        .filter(|g: &Vec<FilterSpec>| !g.is_empty())
        .collect();
    if filter_groups.is_empty() {
        if !loose.is_empty() {
            filter_groups.push(loose);
        }
    } else {
        for group in &mut filter_groups {
            group.extend(loose.iter().cloned());
        }
    }
    // HubSpot applies one sort rule: the first.
    let sort = match input.sorts.unwrap_or_default().into_iter().next() {
        Some(sort) => sort_spec(sort)?,
        None => None,
    };
    let limit = match input.limit {
        None => None,
        Some(Text(text)) if text.is_empty() => None,
        Some(Text(text)) => Some(text.trim().parse::<i64>().map_err(|_| {
            ApiError::validation(format!("limit must be an integer, but was \"{text}\""))
        })?),
    };
    Ok(SearchRequest {
        filter_groups,
        query: input.query,
        sort,
        limit,
        after: input.after.map(|t| t.0),
    })
}

pub async fn search(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    HubJson(input): HubJson<SearchInput>,
) -> Result<Response, ApiError> {
    let object_type = object_type_of(&object_type)?;
    let options = ReadOptions::requested(input.properties.clone().unwrap_or_default());
    let request = search_request(input)?;
    let partition = Partition::new(principal.portal, object_type);
    let offset = request
        .after
        .as_deref()
        .and_then(|a| a.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let awaited = if options.reads_records_only() {
        awaited_search(&state, partition, &request, &options).await?
    } else {
        None
    };
    let (total, results) = match awaited {
        Some(found) => found,
        None => {
            state
                .run_read(partition, move |crm| {
                    let projection = options.projection(object_type);
                    let hits = crm
                        .records
                        .search_projected(partition, request, &projection)?;
                    let results = render_records(crm, partition, hits.calls, &options)?;
                    Ok((hits.total, results))
                })
                .await?
        }
    };
    let next = offset + results.len();
    let paging = (!results.is_empty() && next < total).then(|| Paging {
        next: NextPage {
            after: next.to_string(),
            link: None,
        },
    });
    Ok(json_body_response(
        StatusCode::OK,
        &SearchResponse {
            total,
            results,
            paging,
        },
    ))
}

/// The search's total and rendered page, awaited where the request is served (see
/// [`crate::crm::ports::AsyncReads`]), or `None` when it must run on the blocking pool.
async fn awaited_search(
    state: &AppState,
    partition: Partition,
    request: &SearchRequest,
    options: &ReadOptions,
) -> Result<Option<(usize, Vec<SimplePublicObject>)>, ApiError> {
    let projection = options.projection(partition.object_type);
    let records = &state.services.records;
    let Some(search) = records.awaited_search(partition, request.clone(), &projection) else {
        return Ok(None);
    };
    let Some((hits, schema)) = state.run_awaited(partition, search).await? else {
        return Ok(None);
    };
    let results = render_loaded(
        partition,
        &schema,
        hits.calls,
        options,
        &HistoryByRecord::new(),
        &[],
    );
    Ok(Some((hits.total, results)))
}
