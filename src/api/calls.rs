//! Single-call endpoints: list, create, get, update, archive.

use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::crm::error::CrmError;
use crate::crm::objects::Partition;
use crate::crm::record::RecordId;
use crate::crm::records::{
    ArchiveFilter, AssociationRequest, CreateRequest, HistoryByRecord, Locator, PropertyValues,
    RecordService,
};
use crate::crm::services::Services;

use super::auth::Principal;
use super::error::{json_response, ApiError};
use super::json::HubJson;
use super::query::QueryParams;
use super::render::{json_body_response, render_loaded, render_records, ReadOptions};
use super::version::ApiVersion;
use super::wire::{
    AssociationInput, CollectionResponse, CreateInput, NextPage, Paging, UpdateInput,
};
use super::{object_type_of, AppState, PathParams};

/// The list endpoint's page size: default 10, at most 100 (50 with history), as HubSpot.
const DEFAULT_PAGE_SIZE: u64 = 10;
const MAX_PAGE_SIZE: u64 = 100;
const MAX_HISTORY_PAGE_SIZE: u64 = 50;

pub fn create_request(input: CreateInput) -> CreateRequest {
    CreateRequest {
        properties: input.properties.0,
        associations: input
            .associations
            .unwrap_or_default()
            .into_iter()
            .map(association_request)
            .collect(),
        object_write_trace_id: input.object_write_trace_id,
    }
}

fn association_request(input: AssociationInput) -> AssociationRequest {
    AssociationRequest {
        to_id: input.to.id.0,
        types: input
            .types
            .into_iter()
            .map(|t| (t.association_category, t.association_type_id))
            .collect(),
    }
}

pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    version: ApiVersion,
    HubJson(input): HubJson<CreateInput>,
) -> Result<Response, ApiError> {
    let object_type = object_type_of(&object_type)?;
    let request = create_request(input);
    let source = principal.write_source();
    let partition = Partition::new(principal.portal, object_type);
    let enforce_rules = version.enforces_write_validation();
    let body = state
        .run_write(partition, move |crm| {
            if enforce_rules {
                crm.records
                    .write_rules()
                    .check_create(partition, &request.properties)?;
            }
            let call = crm.records.create(partition, &source, &request)?;
            render_records(crm, partition, vec![call], &ReadOptions::stored())
        })
        .await?;
    Ok(json_response(StatusCode::CREATED, &body[0]))
}

/// Checks an update against the portal's write validation rules, as it would leave the
/// record. Reads the record only when the type has rules; an id that names no record is left
/// to the update to report.
pub(super) fn check_update_rules(
    service: &RecordService,
    partition: Partition,
    locator: Locator<'_>,
    properties: &PropertyValues,
) -> Result<(), CrmError> {
    let rules = service.write_rules();
    if !rules.any(partition) {
        return Ok(());
    }
    match service.get(partition, locator, ArchiveFilter::Live) {
        Ok(current) => rules.check_update(partition, &current, properties),
        Err(CrmError::NotFound { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}

pub async fn get_one(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, call_id)): PathParams<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let object_type = object_type_of(&object_type)?;
    let query = QueryParams::parse(raw.as_deref());
    let options = ReadOptions::from_query(&query);
    let filter = ArchiveFilter::from_flag(query.flag("archived", false)?);
    let id_property = query.get("idProperty").map(str::to_owned);
    let partition = Partition::new(principal.portal, object_type);
    // An `idProperty` lookup goes through the search index, which may still be building
    // at start-up: only plain reads by id may skip the blocking pool.
    let by_id = id_property.is_none();
    if by_id && options.reads_records_only() {
        let read = state
            .services
            .records
            .awaited_get(partition, &call_id, filter);
        if let Some(read) = read {
            let (call, schema) = state.run_awaited(partition, read).await?;
            let body = render_loaded(
                partition,
                &schema,
                vec![call],
                &options,
                &HistoryByRecord::new(),
                &[],
            );
            return Ok(json_body_response(StatusCode::OK, &body[0]));
        }
    }
    let read = move |crm: &Services| {
        let locator = Locator {
            value: &call_id,
            id_property: id_property.as_deref(),
        };
        let projection = options.projection(object_type);
        let call = crm
            .records
            .get_projected(partition, locator, filter, &projection)?;
        render_records(crm, partition, vec![call], &options)
    };
    let body = if by_id {
        state.run_read_by_id(partition, read).await?
    } else {
        state.run_read(partition, read).await?
    };
    Ok(json_body_response(StatusCode::OK, &body[0]))
}

pub async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, call_id)): PathParams<(String, String)>,
    RawQuery(raw): RawQuery,
    version: ApiVersion,
    HubJson(input): HubJson<UpdateInput>,
) -> Result<Response, ApiError> {
    let object_type = object_type_of(&object_type)?;
    let query = QueryParams::parse(raw.as_deref());
    let id_property = query.get("idProperty").map(str::to_owned);
    let source = principal.write_source();
    let partition = Partition::new(principal.portal, object_type);
    let enforce_rules = version.enforces_write_validation();
    let body = state
        .run_write(partition, move |crm| {
            let locator = Locator {
                value: &call_id,
                id_property: id_property.as_deref(),
            };
            if enforce_rules {
                check_update_rules(&crm.records, partition, locator, &input.properties.0)?;
            }
            let call = crm
                .records
                .update(partition, &source, locator, &input.properties.0)?;
            render_records(crm, partition, vec![call], &ReadOptions::stored())
        })
        .await?;
    Ok(json_response(StatusCode::OK, &body[0]))
}

pub async fn archive(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, call_id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let object_type = object_type_of(&object_type)?;
    let partition = Partition::new(principal.portal, object_type);
    state
        .run_write(partition, move |crm| {
            crm.records.archive(partition, &call_id)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let object_type = object_type_of(&object_type)?;
    let query = QueryParams::parse(raw.as_deref());
    let options = ReadOptions::from_query(&query);
    let filter = ArchiveFilter::from_flag(query.flag("archived", false)?);
    let max = if options.with_history.is_empty() {
        MAX_PAGE_SIZE
    } else {
        MAX_HISTORY_PAGE_SIZE
    };
    let limit = query
        .number("limit")?
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(1, max) as usize;
    let after: RecordId = match query.get("after").map(str::trim) {
        None | Some("") => 0,
        Some(after) => after.parse().map_err(|_| {
            ApiError::validation(format!(
                "Invalid value \"{after}\" for query parameter \"after\": expected the id of the next call, as returned in paging.next.after"
            ))
        })?,
    };
    let partition = Partition::new(principal.portal, object_type);
    let (results, next_after) = state
        .run_read(partition, move |crm| {
            let projection = options.projection(object_type);
            let page = crm
                .records
                .list_projected(partition, filter, after, limit, &projection)?;
            let results = render_records(crm, partition, page.calls, &options)?;
            Ok((results, page.next_after))
        })
        .await?;
    let paging = next_after.map(|next| {
        let after = next.to_string();
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        Paging {
            next: NextPage {
                link: Some(format!(
                    "http://{host}{}?{}",
                    uri.path(),
                    query.with("after", &after)
                )),
                after,
            },
        }
    });
    Ok(json_body_response(
        StatusCode::OK,
        &CollectionResponse { results, paging },
    ))
}
