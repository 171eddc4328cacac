//! Batch endpoints: create, read, update, archive (at most 100 inputs each).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use std::borrow::Cow;

use crate::crm::error::CrmError;
use crate::crm::objects::Partition;
use crate::crm::record::Record;
use crate::crm::records::{
    ArchiveFilter, BatchFailure, BatchOutcome, Locator, RecordService, UpdateRequest, UpsertRequest,
};
use crate::crm::time::now_millis;

use super::auth::Principal;
use super::calls::{check_update_rules, create_request};
use super::error::{context_map, json_response, ApiError};
use super::json::HubJson;
use super::query::QueryParams;
use super::render::{render_records, ReadOptions};
use super::version::ApiVersion;
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
                errors: error.errors.clone(),
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
                errors: Vec::new(),
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
        .run_read_by_id(partition, move |crm| {
            render_records(crm, partition, calls, &options)
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

/// Checks each input of a batch against the portal's write validation rules (2026-09). As
/// with invalid values, a refused input fails the whole batch, unless every input carries an
/// `objectWriteTraceId`: then each refused one is reported on its own and the rest go on.
fn screen<'a, T: Clone>(
    inputs: &'a [T],
    trace_id: impl Fn(&T) -> &Option<String>,
    mut check: impl FnMut(&T) -> Result<(), CrmError>,
) -> Result<(Cow<'a, [T]>, Vec<BatchFailure>), CrmError> {
    let partial = !inputs.is_empty() && inputs.iter().all(|i| trace_id(i).is_some());
    let mut kept = Vec::new();
    let mut failures = Vec::new();
    for input in inputs {
        match check(input) {
            Ok(()) => kept.push(input.clone()),
            Err(error) if partial => failures.push(BatchFailure::Rejected {
                trace_id: trace_id(input).clone(),
                error,
            }),
            Err(error) => return Err(error),
        }
    }
    if failures.is_empty() {
        return Ok((Cow::Borrowed(inputs), failures));
    }
    Ok((Cow::Owned(kept), failures))
}

/// Checks an upsert input as the write it becomes: an update of the record its id names,
/// or a create carrying that id as its property.
fn check_upsert_rules(
    service: &RecordService,
    partition: Partition,
    request: &UpsertRequest,
) -> Result<(), CrmError> {
    let rules = service.write_rules();
    if !rules.any(partition) {
        return Ok(());
    }
    let locator = Locator {
        value: &request.id,
        id_property: request.id_property.as_deref(),
    };
    match service.get(partition, locator, ArchiveFilter::Live) {
        Ok(current) => rules.check_update(partition, &current, &request.properties),
        Err(CrmError::NotFound { .. }) => {
            let mut properties = request.properties.clone();
            properties.extend(
                request
                    .id_property
                    .iter()
                    .map(|name| (name.clone(), request.id.clone())),
            );
            rules.check_create(partition, &properties)
        }
        Err(error) => Err(error),
    }
}

pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    version: ApiVersion,
    HubJson(input): HubJson<BatchInput<CreateInput>>,
) -> Result<Response, ApiError> {
    let object_type = object_type_of(&object_type)?;
    let started_at = now_millis();
    let requests: Vec<_> = input.inputs.into_iter().map(create_request).collect();
    let source = principal.write_source();
    let partition = Partition::new(principal.portal, object_type);
    let enforce_rules = version.enforces_write_validation();
    let outcome = state
        .run_write(partition, move |crm| {
            if !enforce_rules {
                return crm.records.create_batch(partition, &source, &requests);
            }
            let rules = crm.records.write_rules();
            let (kept, refused) = screen(
                &requests,
                |r| &r.object_write_trace_id,
                |r| rules.check_create(partition, &r.properties),
            )?;
            let mut outcome = crm.records.create_batch(partition, &source, &kept)?;
            outcome.failures.extend(refused);
            Ok(outcome)
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
        .run_read(partition, move |crm| {
            crm.records.read_batch(
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
    version: ApiVersion,
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
    let enforce_rules = version.enforces_write_validation();
    let outcome = state
        .run_write(partition, move |crm| {
            if !enforce_rules {
                return crm.records.update_batch(partition, &source, &requests);
            }
            let (kept, refused) = screen(
                &requests,
                |r| &r.object_write_trace_id,
                |r| {
                    let locator = Locator {
                        value: &r.id,
                        id_property: r.id_property.as_deref(),
                    };
                    check_update_rules(&crm.records, partition, locator, &r.properties)
                },
            )?;
            let mut outcome = crm.records.update_batch(partition, &source, &kept)?;
            outcome.failures.extend(refused);
            Ok(outcome)
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
    version: ApiVersion,
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
    let enforce_rules = version.enforces_write_validation();
    let (results, failures) = state
        .run_write(partition, move |crm| {
            let (kept, refused) = if enforce_rules {
                screen(
                    &requests,
                    |r| &r.object_write_trace_id,
                    |r| check_upsert_rules(&crm.records, partition, r),
                )?
            } else {
                (Cow::Borrowed(requests.as_slice()), Vec::new())
            };
            let mut outcome = crm.records.upsert_batch(partition, &source, &kept)?;
            outcome.failures.extend(refused);
            let (calls, created): (Vec<Record>, Vec<bool>) = outcome.calls.into_iter().unzip();
            let objects = render_records(crm, partition, calls, &ReadOptions::stored())?;
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
        .run_write(partition, move |crm| {
            crm.records.archive_batch(partition, &ids)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
