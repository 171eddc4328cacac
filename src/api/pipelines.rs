//! The pipelines API (`/crm/v3/pipelines/{objectType}…`), read-only: a hubcalls portal has
//! HubSpot's default pipelines of deals and tickets and no others.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::crm::objects::ObjectType;
use crate::crm::pipelines::{pipelines_of, Pipeline, Stage};

use super::error::{json_response, ApiError};
use super::wire::instant;
use super::{object_type_of, PathParams};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StageOut {
    label: &'static str,
    display_order: i32,
    metadata: Map<String, Value>,
    id: &'static str,
    created_at: String,
    updated_at: String,
    archived: bool,
    write_permissions: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PipelineOut {
    label: &'static str,
    display_order: i32,
    id: &'static str,
    stages: Vec<StageOut>,
    created_at: String,
    updated_at: String,
    archived: bool,
}

#[derive(Debug, Serialize)]
struct Results<T> {
    results: Vec<T>,
}

/// The default pipelines exist since the portal does; hubcalls does not know when that was,
/// so they carry the epoch, like HubSpot's standard object schemas.
fn default_time() -> String {
    instant(0)
}

fn stage_out(stage: &Stage) -> StageOut {
    StageOut {
        label: stage.label,
        display_order: stage.display_order,
        metadata: stage
            .metadata
            .iter()
            .map(|(key, value)| ((*key).to_owned(), Value::from(*value)))
            .collect(),
        id: stage.id,
        created_at: default_time(),
        updated_at: default_time(),
        archived: false,
        write_permissions: "CRM_PERMISSIONS_ENFORCEMENT",
    }
}

fn pipeline_out(pipeline: &Pipeline) -> PipelineOut {
    PipelineOut {
        label: pipeline.label,
        display_order: pipeline.display_order,
        id: pipeline.id,
        stages: pipeline.stages.iter().map(stage_out).collect(),
        created_at: default_time(),
        updated_at: default_time(),
        archived: false,
    }
}

/// The pipelines of the path's type; a type without pipelines is a 400.
fn pipelines(object_type: &str) -> Result<&'static [Pipeline], ApiError> {
    let object_type: ObjectType = object_type_of(object_type)?;
    pipelines_of(object_type).ok_or_else(|| {
        ApiError::validation(format!(
            "Object type {} ({}) has no pipelines; deals and tickets have",
            object_type.plural, object_type.type_id
        ))
    })
}

fn pipeline(object_type: &str, id: &str) -> Result<&'static Pipeline, ApiError> {
    pipelines(object_type)?
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| {
            ApiError::not_found(format!("Unable to find pipeline {id}"))
                .with_context(vec![("pipelineId".to_owned(), vec![id.to_owned()])])
        })
}

fn stage(object_type: &str, pipeline_id: &str, id: &str) -> Result<&'static Stage, ApiError> {
    pipeline(object_type, pipeline_id)?
        .stage(id)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Unable to find stage {id} in pipeline {pipeline_id}"
            ))
            .with_context(vec![("stageId".to_owned(), vec![id.to_owned()])])
        })
}

/// `GET /crm/v3/pipelines/{objectType}`.
pub async fn list(PathParams(object_type): PathParams<String>) -> Result<Response, ApiError> {
    let results = pipelines(&object_type)?.iter().map(pipeline_out).collect();
    Ok(json_response(StatusCode::OK, &Results { results }))
}

/// `GET /crm/v3/pipelines/{objectType}/{pipelineId}`.
pub async fn get_one(
    PathParams((object_type, id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let pipeline = pipeline(&object_type, &id)?;
    Ok(json_response(StatusCode::OK, &pipeline_out(pipeline)))
}

/// `GET /crm/v3/pipelines/{objectType}/{pipelineId}/stages`.
pub async fn stages(
    PathParams((object_type, id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let results = pipeline(&object_type, &id)?
        .stages
        .iter()
        .map(stage_out)
        .collect();
    Ok(json_response(StatusCode::OK, &Results { results }))
}

/// `GET /crm/v3/pipelines/{objectType}/{pipelineId}/stages/{stageId}`.
pub async fn get_stage(
    PathParams((object_type, pipeline_id, id)): PathParams<(String, String, String)>,
) -> Result<Response, ApiError> {
    let stage = stage(&object_type, &pipeline_id, &id)?;
    Ok(json_response(StatusCode::OK, &stage_out(stage)))
}

/// `GET …/{pipelineId}/audit`: nothing ever changed the default pipeline.
pub async fn audit(
    PathParams((object_type, id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    pipeline(&object_type, &id)?;
    Ok(json_response(
        StatusCode::OK,
        &Results::<Value> {
            results: Vec::new(),
        },
    ))
}

/// `GET …/stages/{stageId}/audit`: nothing ever changed a default stage.
pub async fn stage_audit(
    PathParams((object_type, pipeline_id, id)): PathParams<(String, String, String)>,
) -> Result<Response, ApiError> {
    stage(&object_type, &pipeline_id, &id)?;
    Ok(json_response(
        StatusCode::OK,
        &Results::<Value> {
            results: Vec::new(),
        },
    ))
}

/// Creating, changing or deleting pipelines and stages: hubcalls serves the defaults only.
pub async fn write() -> ApiError {
    ApiError::validation(
        "hubcalls serves HubSpot's default pipelines read-only: pipelines and stages cannot be created, changed or deleted",
    )
}
