//! Batch endpoints: create, read, update, archive (at most 100 inputs each).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::crm::objects::Partition;
use crate::crm::record::Record;
use crate::crm::service::{
    ArchiveFilter, BatchFailure, BatchOutcome, UpdateRequest, UpsertRequest,
};
use crate::crm::time::now_millis;

use super::auth::Principal;
use super::calls::create_request;
use super::error::{context_map, json_response, ApiError};
use super::json::HubJson;
use super::query::QueryParams;
use super::render::{render_records, ReadOptions};
use super::wire::{
    instant, BatchInput, BatchReadInput, BatchResponse, BatchUpdateItem, BatchUpsertItem,
    CreateInput, ObjectIdInput, StandardError, UpsertedObject,
};
use super::{object_type_of, AppState, PathParams};

/// The word HubSpot uses for calls in batch "not found" messages.
const OBJECT_WORD: &str = "CALL";

fn standard_error(failure: BatchFailure, partition: Partition) -> StandardError {
    match failure {
        BatchFailure::Rejected { trace_id, error } => {
            let error = ApiError::from_crm(error, partition);
            let mut context = error.context.clone();
            context.extend(trace_id.map(|t| ("objectWriteTraceId".to_owned(), vec![t])));
            StandardError {
                status: "error",
                category: error.category.unwrap_or("VALIDATION_ERROR"),
                message: error.message.clone(),
                context: context_map(&context),
            }
        }
        BatchFailure::NotFound { ids, trace_ids } => {
            let mut context = vec![("ids".to_owned(), ids)];
            if !trace_ids.is_empty() {
                context.push(("objectWriteTraceId".to_owned(), trace_ids));
            }
            StandardError {
                status: "error",
                category: "OBJECT_NOT_FOUND",
                message: format!(
                    "Could not get some {OBJECT_WORD} objects, they may be deleted or not exist. Check that ids are valid."
                ),
                context: context_map(&context),
            }
        }
    }
}

/// Renders a batch outcome: `success` when nothing failed, 207 with `numErrors` otherwise.
async fn respond(
    state: &AppState,
    partition: Partition,
    outcome: BatchOutcome,
    options: ReadOptions,
    started_at: i64,
    success: StatusCode,
) -> Result<Response, ApiError> {
    let calls = outcome.calls;
    // Rendering reads at most history and associations by id: no hop to the blocking pool.
    let results = state
        .run_read_by_id(partition, move |service| {
            render_records(service, partition, &calls, &options)
        })
        .await?;
    Ok(batch_response(
        results,
        outcome.failures,
        partition,
        started_at,
        success,
    ))
}

fn batch_response<T: serde::Serialize>(
    results: Vec<T>,
    failures: Vec<BatchFailure>,
    partition: Partition,
    started_at: i64,
    success: StatusCode,
) -> Response {
    let errors: Vec<StandardError> = failures
        .into_iter()
        .map(|f| standard_error(f, partition))
        .collect();
    let status = if errors.is_empty() {
        success
    } else {
        StatusCode::MULTI_STATUS
    };
    let body = BatchResponse {
        status: "COMPLETE",
        results,
        num_errors: (!errors.is_empty()).then_some(errors.len()),
        errors,
        started_at: instant(started_at),
        completed_at: instant(now_millis()),
    };
    json_response(status, &body)
}

pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    HubJson(input): HubJson<BatchInput<CreateInput>>,
) -> Result<Response, ApiError> {
    let object_type = object_type_of(&object_type)?;
    let started_at = now_millis();
    let requests: Vec<_> = input.inputs.into_iter().map(create_request).collect();
    let source = principal.write_source();
    let partition = Partition::new(principal.portal, object_type);
    let outcome = state
        .run_write(partition, move |service| {
            service.create_batch(partition, &source, &requests)
        })
        .await?;
    respond(
        &state,
        partition,
        outcome,
        ReadOptions::stored(),
        started_at,
        StatusCode::CREATED,
    )
    .await
}

pub async fn read(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    RawQuery(raw): RawQuery,
    HubJson(input): HubJson<BatchReadInput>,
) -> Result<Response, ApiError> {
    let object_type = object_type_of(&object_type)?;
    let started_at = now_millis();
    let query = QueryParams::parse(raw.as_deref());
    let filter = ArchiveFilter::from_flag(query.flag("archived", false)?);
    let mut options = ReadOptions::requested(input.properties.unwrap_or_default());
    options.with_history = input.properties_with_history.unwrap_or_default();
    let ids: Vec<String> = input.inputs.into_iter().map(|i| i.id.0).collect();
    let with_history = !options.with_history.is_empty();
    let partition = Partition::new(principal.portal, object_type);
    let outcome = state
        .run(partition, move |service| {
            service.read_batch(
                partition,
                &ids,
                input.id_property.as_deref(),
                filter,
                with_history,
            )
        })
        .await?;
    respond(
        &state,
        partition,
        outcome,
        options,
        started_at,
        StatusCode::OK,
    )
    .await
}

pub async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    HubJson(input): HubJson<BatchInput<BatchUpdateItem>>,
) -> Result<Response, ApiError> {
    let object_type = object_type_of(&object_type)?;
    let started_at = now_millis();
    let requests: Vec<UpdateRequest> = input
        .inputs
        .into_iter()
        .map(|item| UpdateRequest {
            id: item.id.0,
            id_property: item.id_property,
            properties: item.properties.0,
            object_write_trace_id: item.object_write_trace_id,
        })
        .collect();
    let source = principal.write_source();
    let partition = Partition::new(principal.portal, object_type);
    let outcome = state
        .run_write(partition, move |service| {
            service.update_batch(partition, &source, &requests)
        })
        .await?;
    respond(
        &state,
        partition,
        outcome,
        ReadOptions::stored(),
        started_at,
        StatusCode::OK,
    )
    .await
}

pub async fn upsert(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    RawQuery(raw): RawQuery,
    HubJson(input): HubJson<BatchInput<BatchUpsertItem>>,
) -> Result<Response, ApiError> {
    let object_type = object_type_of(&object_type)?;
    let started_at = now_millis();
    // The spec also names a query-string idProperty: the default for inputs without one.
    let default_id_property = QueryParams::parse(raw.as_deref())
        .get("idProperty")
        .map(str::to_owned);
    let requests: Vec<UpsertRequest> = input
        .inputs
        .into_iter()
        .map(|item| UpsertRequest {
            id: item.id.0,
            id_property: item.id_property.or_else(|| default_id_property.clone()),
            properties: item.properties.0,
            object_write_trace_id: item.object_write_trace_id,
        })
        .collect();
    let source = principal.write_source();
    let partition = Partition::new(principal.portal, object_type);
    let (results, failures) = state
        .run_write(partition, move |service| {
            let outcome = service.upsert_batch(partition, &source, &requests)?;
            let (calls, created): (Vec<Record>, Vec<bool>) = outcome.calls.into_iter().unzip();
            let objects = render_records(service, partition, &calls, &ReadOptions::stored())?;
            let results: Vec<UpsertedObject> = objects
                .into_iter()
                .zip(created)
                .map(|(object, new)| UpsertedObject { object, new })
                .collect();
            Ok((results, outcome.failures))
        })
        .await?;
    Ok(batch_response(
        results,
        failures,
        partition,
        started_at,
        StatusCode::OK,
    ))
}

pub async fn archive(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    HubJson(input): HubJson<BatchInput<ObjectIdInput>>,
) -> Result<Response, ApiError> {
    let object_type = object_type_of(&object_type)?;
    let ids: Vec<String> = input.inputs.into_iter().map(|i| i.id.0).collect();
    let partition = Partition::new(principal.portal, object_type);
    state
        .run_write(partition, move |service| {
            service.archive_batch(partition, &ids)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
