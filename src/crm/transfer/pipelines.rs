//! A portal's own pipelines of deals and tickets in the transfer format: the ones it created
//! and the defaults it changed (an untouched default is never stored, so never exported),
//! with archived stages and the audit trail, checked on import by the pipelines API's rules.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::check::Problems;
use super::definitions::{LoadedDefinitions, OwnDefinitions};
use super::format::{instant, optional_instant, AuditLine, PipelineLine, StageLine};
use crate::crm::objects::ObjectType;
use crate::crm::pipelines::drafts::{check_id, check_label, check_metadata, MAX_STAGES};
use crate::crm::pipelines::{AuditEntry, Pipeline, PipelineStage, PortalPipelines};
use crate::crm::time::{format_datetime, now_millis, EpochMillis};

/// The line of a stored pipeline.
pub(super) fn pipeline_line(object_type: ObjectType, pipeline: &Pipeline) -> PipelineLine {
    let time = |t: EpochMillis| Some(Value::String(format_datetime(t)));
    PipelineLine {
        object_type: object_type.plural.to_owned(),
        id: pipeline.id.clone(),
        label: pipeline.label.clone(),
        display_order: pipeline.display_order,
        stages: pipeline
            .stages
            .iter()
            .map(|stage| StageLine {
                id: stage.id.clone(),
                label: stage.label.clone(),
                display_order: stage.display_order,
                metadata: stage.metadata.clone(),
                created_at: time(stage.created_at),
                updated_at: time(stage.updated_at),
                archived_at: stage.archived_at.and_then(time),
            })
            .collect(),
        created_at: time(pipeline.created_at),
        updated_at: time(pipeline.updated_at),
        archived_at: pipeline.archived_at.and_then(time),
        audit: pipeline
            .audit
            .iter()
            .map(|entry| AuditLine {
                identifier: entry.identifier.clone(),
                action: entry.action,
                timestamp: Value::String(format_datetime(entry.timestamp)),
                message: entry.message.clone(),
            })
            .collect(),
    }
}

/// A pipeline of `object_type` from its line, checked on its own as the pipelines API checks
/// a new one: ids, labels, one to [`MAX_STAGES`] stages with distinct ids and live labels,
/// and the stage metadata the type needs.
pub(super) fn pipeline_record(
    object_type: ObjectType,
    line: PipelineLine,
) -> Result<Pipeline, String> {
    let text = |e: crate::crm::error::CrmError| e.to_string();
    check_id("pipeline", &line.id).map_err(text)?;
    let label = check_label("pipeline", &line.label).map_err(text)?;
    if line.stages.is_empty() || line.stages.len() > MAX_STAGES {
        return Err(format!(
            "pipeline {}: a pipeline has 1 to {MAX_STAGES} stages, not {}",
            line.id,
            line.stages.len()
        ));
    }
    let created_at = optional_instant(&line.created_at, "createdAt")?.unwrap_or_else(now_millis);
    let updated_at = optional_instant(&line.updated_at, "updatedAt")?.unwrap_or(created_at);
    let archived_at = optional_instant(&line.archived_at, "archivedAt")?;
    let mut stages: Vec<PipelineStage> = Vec::with_capacity(line.stages.len());
    for stage in line.stages {
        check_id("stage", &stage.id).map_err(text)?;
        let label = check_label("stage", &stage.label).map_err(text)?;
        let metadata = check_metadata(object_type, &label, &stage.metadata).map_err(text)?;
        let stage_created =
            optional_instant(&stage.created_at, "stage createdAt")?.unwrap_or(created_at);
        let stage = PipelineStage {
            id: stage.id,
            label,
            display_order: stage.display_order,
            metadata,
            created_at: stage_created,
            updated_at: optional_instant(&stage.updated_at, "stage updatedAt")?
                .unwrap_or(stage_created),
            archived_at: optional_instant(&stage.archived_at, "stage archivedAt")?,
        };
        if stages.iter().any(|s| s.id == stage.id) {
            return Err(format!(
                "pipeline {}: stage id {} is given twice",
                line.id, stage.id
            ));
        }
        let same_label = |s: &PipelineStage| s.label.eq_ignore_ascii_case(&stage.label);
        if !stage.is_archived() && stages.iter().any(|s| !s.is_archived() && same_label(s)) {
            return Err(format!(
                "pipeline {}: two live stages are labelled '{}'",
                line.id, stage.label
            ));
        }
        stages.push(stage);
    }
    let mut audit = Vec::with_capacity(line.audit.len());
    for entry in line.audit {
        audit.push(AuditEntry {
            identifier: entry.identifier,
            action: entry.action,
            timestamp: instant(&entry.timestamp, "audit timestamp")?,
            message: entry.message,
        });
    }
    let mut pipeline = Pipeline {
        id: line.id,
        label,
        display_order: line.display_order,
        stages,
        created_at,
        updated_at,
        archived_at,
        audit,
    };
    pipeline.sort_stages();
    Ok(pipeline)
}

/// What holds across a type's pipelines once the input's replace the portal's of the same
/// id: live pipelines have distinct labels, and stage ids are unique across the type (a
/// record's stage property holds the id alone). Problems are reported on the lines of the
/// input's pipelines.
pub(super) fn check_pipeline_sets(
    loaded: &LoadedDefinitions,
    current: &BTreeMap<ObjectType, OwnDefinitions>,
    problems: &mut Problems,
) {
    for object_type in ObjectType::all().filter(|t| t.pipeline.is_some()) {
        let lines: HashMap<&str, usize> = loaded
            .pipelines
            .iter()
            .filter(|(_, t, _)| *t == object_type)
            .map(|(line, _, p)| (p.id.as_str(), *line))
            .collect();
        if lines.is_empty() {
            continue;
        }
        let own = current.get(&object_type).cloned().unwrap_or_default();
        let set = PortalPipelines::new(object_type, loaded.merged(object_type, &own).pipelines);
        let mut labels: HashMap<String, &str> = HashMap::new();
        let mut stage_owners: HashMap<&str, &str> = HashMap::new();
        for pipeline in set.all() {
            let line = lines.get(pipeline.id.as_str()).copied();
            if !pipeline.is_archived() {
                let label = pipeline.label.trim().to_lowercase();
                if let Some(other) = labels.insert(label, &pipeline.id) {
                    let at = line.or_else(|| lines.get(other).copied()).unwrap_or(0);
                    problems.add(
                        at,
                        format!(
                            "{} pipelines {other} and {} are both labelled '{}'",
                            object_type.singular, pipeline.id, pipeline.label
                        ),
                    );
                }
            }
            for stage in &pipeline.stages {
                let clash = stage_owners
                    .insert(&stage.id, &pipeline.id)
                    .or_else(|| set.get(&stage.id).map(|p| p.id.as_str()));
                if let Some(other) = clash {
                    let at = line.or_else(|| lines.get(other).copied()).unwrap_or(0);
                    problems.add(
                        at,
                        format!(
                            "stage id {} of {} pipeline {} is also the id of pipeline {other} or one of its stages; stage ids are unique across a type's pipelines",
                            stage.id, object_type.singular, pipeline.id
                        ),
                    );
                }
            }
        }
    }
}
