//! The pipelines API: `/crm/v3/pipelines/{objectType}`, its stages and audits.
//!
//! Shapes follow HubSpot's v3 spec (`Pipeline`, `PipelineStage`, `PipelineInput`,
//! `PipelineStageInput`, the patch inputs, `PublicAuditInfo`); lists are
//! `{"results": [...]}` without paging, as HubSpot's `CollectionResponse…NoPaging`.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::{Deserialize, Serialize};

use crate::crm::objects::Partition;
use crate::crm::pipelines::{
    AuditEntry, Pipeline, PipelineDraft, PipelinePatch, PipelineStage, StageDraft, StagePatch,
    WRITE_PERMISSIONS,
};
use crate::crm::record::PortalId;

use super::auth::Principal;
use super::error::{json_response, ApiError};
use super::json::HubJson;
use super::query::QueryParams;
use super::version::ApiVersion;
use super::wire::{instant, Text};
use super::{object_type_of, AppState, PathParams};

// ----- responses ----------------------------------------------------------------------------

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PipelineOut {
    id: String,
    label: String,
    display_order: i32,
    stages: Vec<StageOut>,
    created_at: String,
    updated_at: String,
    archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    archived_at: Option<String>,
}

impl From<Pipeline> for PipelineOut {
    fn from(p: Pipeline) -> Self {
        Self {
            archived: p.is_archived(),
            archived_at: p.archived_at.map(instant),
            id: p.id,
            label: p.label,
            display_order: p.display_order,
            stages: p.stages.into_iter().map(StageOut::from).collect(),
            created_at: instant(p.created_at),
            updated_at: instant(p.updated_at),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StageOut {
    id: String,
    label: String,
    display_order: i32,
    metadata: BTreeMap<String, String>,
    created_at: String,
    updated_at: String,
    archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    archived_at: Option<String>,
    write_permissions: &'static str,
}

impl From<PipelineStage> for StageOut {
    fn from(s: PipelineStage) -> Self {
        Self {
            archived: s.is_archived(),
            archived_at: s.archived_at.map(instant),
            id: s.id,
            label: s.label,
            display_order: s.display_order,
            metadata: s.metadata,
            created_at: instant(s.created_at),
            updated_at: instant(s.updated_at),
            write_permissions: WRITE_PERMISSIONS,
        }
    }
}

/// HubSpot's `PublicAuditInfo`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AuditOut {
    identifier: String,
    action: &'static str,
    portal_id: PortalId,
    timestamp: String,
    message: String,
}

fn audit_out(entries: Vec<AuditEntry>, portal: PortalId) -> Results<AuditOut> {
    Results {
        results: entries
            .into_iter()
            .map(|e| AuditOut {
                identifier: e.identifier,
                action: e.action.as_str(),
                portal_id: portal,
                timestamp: instant(e.timestamp),
                message: e.message,
            })
            .collect(),
    }
}

#[derive(Debug, Serialize)]
struct Results<T> {
    results: Vec<T>,
}

// ----- requests -----------------------------------------------------------------------------

/// `PipelineInput` (create) and `PipelineReplaceInput` (`PUT`). Every field is optional
/// here so that all the missing required ones are named at once.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineInput {
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    display_order: Option<i32>,
    #[serde(default)]
    stages: Option<Vec<StageInput>>,
    #[serde(default)]
    pipeline_id: Option<String>,
}

/// `PipelineStageInput`; `metadata` values may be strings or numbers (`"probability": 0.5`
/// in HubSpot's own guide).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageInput {
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    display_order: Option<i32>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, Text>>,
    #[serde(default)]
    stage_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelinePatchInput {
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    display_order: Option<i32>,
    #[serde(default)]
    archived: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StagePatchInput {
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    display_order: Option<i32>,
    #[serde(default)]
    metadata: Option<BTreeMap<String, Text>>,
    #[serde(default)]
    archived: Option<bool>,
}

/// HubSpot's 400 for required fields left out, naming every one (a live probe of an empty
/// create named `label` and `displayOrder`).
fn missing_fields(missing: Vec<String>) -> ApiError {
    ApiError::validation(format!(
        "Some required fields were not set: [{}]",
        missing.join(", ")
    ))
    .with_context(vec![("missingFields".to_owned(), missing)])
}

fn metadata(values: Option<BTreeMap<String, Text>>) -> BTreeMap<String, String> {
    values
        .unwrap_or_default()
        .into_iter()
        .map(|(key, Text(value))| (key, value))
        .collect()
}

impl PipelineInput {
    fn into_draft(self) -> Result<PipelineDraft, ApiError> {
        let mut missing = Vec::new();
        if self.label.is_none() {
            missing.push("label".to_owned());
        }
        if self.display_order.is_none() {
            missing.push("displayOrder".to_owned());
        }
        let stages = self.stages.unwrap_or_default();
        for (at, stage) in stages.iter().enumerate() {
            stage.missing(&format!("stages[{at}]."), &mut missing);
        }
        if !missing.is_empty() {
            return Err(missing_fields(missing));
        }
        Ok(PipelineDraft {
            id: self.pipeline_id,
            label: self.label.unwrap_or_default(),
            display_order: self.display_order.unwrap_or_default(),
            stages: stages.into_iter().map(StageInput::into_draft).collect(),
        })
    }
}

impl StageInput {
    fn missing(&self, prefix: &str, missing: &mut Vec<String>) {
        if self.label.is_none() {
            missing.push(format!("{prefix}label"));
        }
        if self.display_order.is_none() {
            missing.push(format!("{prefix}displayOrder"));
        }
    }

    fn into_draft(self) -> StageDraft {
        StageDraft {
            id: self.stage_id,
            label: self.label.unwrap_or_default(),
            display_order: self.display_order.unwrap_or_default(),
            metadata: metadata(self.metadata),
        }
    }

    fn checked(self) -> Result<StageDraft, ApiError> {
        let mut missing = Vec::new();
        self.missing("", &mut missing);
        if !missing.is_empty() {
            return Err(missing_fields(missing));
        }
        Ok(self.into_draft())
    }
}

/// Whether a change that removes stages or a pipeline must first check no record is in
/// them (`validateReferencesBeforeDelete`, or `validateDealStageUsagesBeforeDelete` for
/// deals). When the client sets neither, the version decides
/// ([`ApiVersion::checks_pipeline_usage_by_default`]).
fn check_usage(raw: Option<&str>, version: ApiVersion) -> Result<bool, ApiError> {
    const FLAGS: [&str; 2] = [
        "validateReferencesBeforeDelete",
        "validateDealStageUsagesBeforeDelete",
    ];
    let query = QueryParams::parse(raw);
    if FLAGS.iter().all(|flag| query.get(flag).is_none()) {
        return Ok(version.checks_pipeline_usage_by_default());
    }
    let mut check = false;
    for flag in FLAGS {
        check |= query.flag(flag, false)?;
    }
    Ok(check)
}

/// The partition a request's pipelines live in: the caller's portal, the path's type.
fn admit(principal: &Principal, object_type: &str) -> Result<Partition, ApiError> {
    Ok(Partition::new(
        principal.portal,
        object_type_of(object_type)?,
    ))
}

// ----- pipelines ----------------------------------------------------------------------------

pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let pipelines = state
        .run(partition, move |crm| crm.pipelines.pipelines(partition))
        .await?;
    let results = pipelines.into_iter().map(PipelineOut::from).collect();
    Ok(json_response(StatusCode::OK, &Results { results }))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams(object_type): PathParams<String>,
    HubJson(input): HubJson<PipelineInput>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let draft = input.into_draft()?;
    let pipeline = state
        .run(partition, move |crm| {
            crm.pipelines.create_pipeline(partition, draft)
        })
        .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &PipelineOut::from(pipeline),
    ))
}

pub async fn get_one(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let pipeline = state
        .run(partition, move |crm| crm.pipelines.pipeline(partition, &id))
        .await?;
    Ok(json_response(StatusCode::OK, &PipelineOut::from(pipeline)))
}

pub async fn replace(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, id)): PathParams<(String, String)>,
    RawQuery(raw): RawQuery,
    version: ApiVersion,
    HubJson(input): HubJson<PipelineInput>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let check = check_usage(raw.as_deref(), version)?;
    let draft = input.into_draft()?;
    let pipeline = state
        .run(partition, move |crm| {
            crm.pipelines.replace_pipeline(partition, &id, draft, check)
        })
        .await?;
    Ok(json_response(StatusCode::OK, &PipelineOut::from(pipeline)))
}

pub async fn update(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, id)): PathParams<(String, String)>,
    RawQuery(raw): RawQuery,
    version: ApiVersion,
    HubJson(input): HubJson<PipelinePatchInput>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    // Accepted as HubSpot does; a patch removes no stage, so there is nothing to check.
    check_usage(raw.as_deref(), version)?;
    let patch = PipelinePatch {
        label: input.label,
        display_order: input.display_order,
        archived: input.archived,
    };
    let pipeline = state
        .run(partition, move |crm| {
            crm.pipelines.update_pipeline(partition, &id, patch)
        })
        .await?;
    Ok(json_response(StatusCode::OK, &PipelineOut::from(pipeline)))
}

pub async fn archive(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, id)): PathParams<(String, String)>,
    RawQuery(raw): RawQuery,
    version: ApiVersion,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let check = check_usage(raw.as_deref(), version)?;
    state
        .run(partition, move |crm| {
            crm.pipelines.archive_pipeline(partition, &id, check)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn audit(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let entries = state
        .run(partition, move |crm| {
            crm.pipelines.pipeline_audit(partition, &id)
        })
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &audit_out(entries, partition.portal),
    ))
}

// ----- stages -------------------------------------------------------------------------------

pub async fn list_stages(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, pipeline_id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let stages = state
        .run(partition, move |crm| {
            crm.pipelines.stages(partition, &pipeline_id)
        })
        .await?;
    let results = stages.into_iter().map(StageOut::from).collect();
    Ok(json_response(StatusCode::OK, &Results { results }))
}

pub async fn create_stage(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, pipeline_id)): PathParams<(String, String)>,
    HubJson(input): HubJson<StageInput>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let draft = input.checked()?;
    let stage = state
        .run(partition, move |crm| {
            crm.pipelines.create_stage(partition, &pipeline_id, draft)
        })
        .await?;
    Ok(json_response(StatusCode::CREATED, &StageOut::from(stage)))
}

pub async fn get_stage(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, pipeline_id, stage_id)): PathParams<(String, String, String)>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let stage = state
        .run(partition, move |crm| {
            crm.pipelines.stage(partition, &pipeline_id, &stage_id)
        })
        .await?;
    Ok(json_response(StatusCode::OK, &StageOut::from(stage)))
}

pub async fn replace_stage(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, pipeline_id, stage_id)): PathParams<(String, String, String)>,
    HubJson(input): HubJson<StageInput>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let draft = input.checked()?;
    let stage = state
        .run(partition, move |crm| {
            crm.pipelines
                .replace_stage(partition, &pipeline_id, &stage_id, draft)
        })
        .await?;
    Ok(json_response(StatusCode::OK, &StageOut::from(stage)))
}

pub async fn update_stage(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, pipeline_id, stage_id)): PathParams<(String, String, String)>,
    HubJson(input): HubJson<StagePatchInput>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let patch = StagePatch {
        label: input.label,
        display_order: input.display_order,
        metadata: input.metadata.map(|m| metadata(Some(m))),
        archived: input.archived,
    };
    let stage = state
        .run(partition, move |crm| {
            crm.pipelines
                .update_stage(partition, &pipeline_id, &stage_id, patch, false)
        })
        .await?;
    Ok(json_response(StatusCode::OK, &StageOut::from(stage)))
}

pub async fn archive_stage(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, pipeline_id, stage_id)): PathParams<(String, String, String)>,
    RawQuery(raw): RawQuery,
    version: ApiVersion,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let check = check_usage(raw.as_deref(), version)?;
    state
        .run(partition, move |crm| {
            crm.pipelines
                .archive_stage(partition, &pipeline_id, &stage_id, check)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn stage_audit(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    PathParams((object_type, pipeline_id, stage_id)): PathParams<(String, String, String)>,
) -> Result<Response, ApiError> {
    let partition = admit(&principal, &object_type)?;
    let entries = state
        .run(partition, move |crm| {
            crm.pipelines
                .stage_audit(partition, &pipeline_id, &stage_id)
        })
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &audit_out(entries, partition.portal),
    ))
}
