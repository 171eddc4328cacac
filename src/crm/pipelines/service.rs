//! The pipelines API's operations: HubSpot's rules for pipelines and stages on top of the
//! store.
//!
//! A change reads the partition's pipelines afresh, checks everything, then saves the one
//! pipeline it changed whole, so a refused request writes nothing. Archiving keeps the
//! pipeline or stage (records may still name it, and a pipeline can be restored).

use std::sync::Arc;

use crate::crm::error::CrmError;
use crate::crm::objects::{Partition, PipelineProperties};
use crate::crm::ports::Store;
use crate::crm::schema_cache::Schemas;
use crate::crm::time::{now_millis, EpochMillis};

use super::drafts::{
    check_id, check_label, check_metadata, new_id, PipelineDraft, PipelinePatch, StageDraft,
    StagePatch, MAX_STAGES,
};
use super::model::{AuditAction, AuditEntry, Pipeline, PipelineStage};
use super::set::PortalPipelines;

/// The pipelines API: pipelines and stages of the object types that have them.
pub struct PipelineService {
    store: Arc<dyn Store>,
    schemas: Schemas,
}

impl PipelineService {
    pub fn new(store: Arc<dyn Store>, schemas: Schemas) -> Self {
        Self { store, schemas }
    }

    /// The live pipelines of the partition's type, in display order.
    pub fn pipelines(&self, partition: Partition) -> Result<Vec<Pipeline>, CrmError> {
        pipeline_properties(partition)?;
        let set = self.schemas.partition(partition)?.pipelines;
        Ok(set.live().cloned().map(without_archived_stages).collect())
    }

    /// A live pipeline with its live stages.
    pub fn pipeline(&self, partition: Partition, id: &str) -> Result<Pipeline, CrmError> {
        pipeline_properties(partition)?;
        let set = self.schemas.partition(partition)?.pipelines;
        let pipeline = live_pipeline(&set, id)?;
        Ok(without_archived_stages(pipeline.clone()))
    }

    pub fn create_pipeline(
        &self,
        partition: Partition,
        draft: PipelineDraft,
    ) -> Result<Pipeline, CrmError> {
        pipeline_properties(partition)?;
        let set = self.schemas.load_pipelines(partition)?;
        let label = check_label("pipeline", &draft.label)?;
        check_pipeline_label(&set, &label, None)?;
        let id = match &draft.id {
            Some(id) => {
                check_id("pipeline", id)?;
                if set.id_taken(id) {
                    return Err(taken("pipeline", id));
                }
                id.clone()
            }
            None => new_id(|candidate| set.id_taken(candidate)),
        };
        check_stage_count(draft.stages.len())?;
        let now = now_millis();
        let mut pipeline = Pipeline {
            id: id.clone(),
            label,
            display_order: draft.display_order,
            stages: Vec::new(),
            created_at: now,
            updated_at: now,
            archived_at: None,
            audit: Vec::new(),
        };
        for stage in draft.stages {
            let stage = new_stage(partition, &set, &pipeline, stage, now)?;
            pipeline.stages.push(stage);
        }
        pipeline.sort_stages();
        pipeline.record(&id, AuditAction::Create, now, "Pipeline created".to_owned());
        for stage_id in pipeline
            .stages
            .iter()
            .map(|s| s.id.clone())
            .collect::<Vec<_>>()
        {
            let message = format!("Stage {stage_id} created");
            pipeline.record(&stage_id, AuditAction::Create, now, message);
        }
        self.save_pipeline(partition, &pipeline)?;
        Ok(pipeline)
    }

    /// Replaces a live pipeline's label, order and stages (`PUT`). A stage named by the id
    /// of one of the pipeline's stages keeps that stage (restoring it if archived); the
    /// pipeline's stages left out are archived, refused while records are in them when
    /// `check_usage` asks.
    pub fn replace_pipeline(
        &self,
        partition: Partition,
        id: &str,
        draft: PipelineDraft,
        check_usage: bool,
    ) -> Result<Pipeline, CrmError> {
        let props = pipeline_properties(partition)?;
        let set = self.schemas.load_pipelines(partition)?;
        let mut pipeline = live_pipeline(&set, id)?.clone();
        let label = check_label("pipeline", &draft.label)?;
        check_pipeline_label(&set, &label, Some(id))?;
        check_stage_count(draft.stages.len())?;
        let now = now_millis();
        let mut kept: Vec<String> = Vec::new();
        let mut stages: Vec<PipelineStage> = Vec::new();
        // What happened to each stage, for the audit trail.
        let mut events: Vec<(String, AuditAction)> = Vec::new();
        for stage_draft in draft.stages {
            let existing = stage_draft
                .id
                .as_deref()
                .and_then(|sid| pipeline.stage(sid));
            let stage = match existing {
                Some(current) => {
                    let action = if current.is_archived() {
                        AuditAction::Restore
                    } else {
                        AuditAction::Update
                    };
                    events.push((current.id.clone(), action));
                    let mut stage = current.clone();
                    stage.label = check_label("stage", &stage_draft.label)?;
                    stage.display_order = stage_draft.display_order;
                    stage.metadata =
                        check_metadata(partition.object_type, &stage.label, &stage_draft.metadata)?;
                    stage.archived_at = None;
                    stage.updated_at = now;
                    stage
                }
                None => {
                    // Checked against the stages of the replacement built so far.
                    let mut building = pipeline.clone();
                    building.stages = stages.clone();
                    let stage = new_stage(partition, &set, &building, stage_draft, now)?;
                    events.push((stage.id.clone(), AuditAction::Create));
                    stage
                }
            };
            if stages.iter().any(|s| same_label(&s.label, &stage.label)) {
                return Err(duplicate_stage_label(&stage.label, id));
            }
            if kept.contains(&stage.id) {
                return Err(CrmError::invalid(format!(
                    "Stage id {} is given twice in the replacement of pipeline {id}",
                    stage.id
                )));
            }
            kept.push(stage.id.clone());
            stages.push(stage);
        }
        for old in pipeline.stages.iter().filter(|s| !kept.contains(&s.id)) {
            let mut old = old.clone();
            if !old.is_archived() {
                if check_usage {
                    self.check_unused(partition, props.stage, &old.id, "Stage")?;
                }
                old.archived_at = Some(now);
                old.updated_at = now;
                events.push((old.id.clone(), AuditAction::Archive));
            }
            stages.push(old);
        }
        pipeline.label = label;
        pipeline.display_order = draft.display_order;
        pipeline.stages = stages;
        pipeline.updated_at = now;
        pipeline.sort_stages();
        pipeline.record(id, AuditAction::Update, now, "Pipeline replaced".to_owned());
        for (stage_id, action) in events {
            let verb = match action {
                AuditAction::Create => "created",
                AuditAction::Update => "replaced",
                AuditAction::Archive => "archived",
                AuditAction::Restore => "restored",
            };
            let message = format!("Stage {stage_id} {verb} with the pipeline");
            pipeline.record(&stage_id, action, now, message);
        }
        self.save_pipeline(partition, &pipeline)?;
        Ok(without_archived_stages(pipeline))
    }

    /// Changes a live pipeline's label or order, or restores an archived one (`archived:
    /// false`, the only use HubSpot allows of the field).
    pub fn update_pipeline(
        &self,
        partition: Partition,
        id: &str,
        patch: PipelinePatch,
    ) -> Result<Pipeline, CrmError> {
        pipeline_properties(partition)?;
        let set = self.schemas.load_pipelines(partition)?;
        let restoring = patch.archived == Some(false);
        let misuse = |state: &str| {
            CrmError::invalid(format!(
                "archived may only be given as false, to restore an archived pipeline (pipeline {id} is {state}); DELETE archives a pipeline"
            ))
        };
        if patch.archived == Some(true) {
            return Err(misuse("not archived"));
        }
        let mut pipeline = match set.get(id) {
            Some(p) if p.is_archived() == restoring => p.clone(),
            Some(p) if !p.is_archived() => return Err(misuse("not archived")),
            _ => return Err(pipeline_not_found(id)),
        };
        let now = now_millis();
        if let Some(label) = &patch.label {
            pipeline.label = check_label("pipeline", label)?;
        }
        if restoring || patch.label.is_some() {
            check_pipeline_label(&set, &pipeline.label, Some(id))?;
        }
        if let Some(order) = patch.display_order {
            pipeline.display_order = order;
        }
        pipeline.updated_at = now;
        if restoring {
            pipeline.archived_at = None;
            pipeline.record(
                id,
                AuditAction::Restore,
                now,
                "Pipeline restored".to_owned(),
            );
        } else {
            pipeline.record(id, AuditAction::Update, now, "Pipeline updated".to_owned());
        }
        self.save_pipeline(partition, &pipeline)?;
        Ok(without_archived_stages(pipeline))
    }

    /// Archives a live pipeline (`DELETE`). A portal keeps at least one live pipeline; with
    /// `check_usage`, one that records are in is refused.
    pub fn archive_pipeline(
        &self,
        partition: Partition,
        id: &str,
        check_usage: bool,
    ) -> Result<(), CrmError> {
        let props = pipeline_properties(partition)?;
        let set = self.schemas.load_pipelines(partition)?;
        let mut pipeline = live_pipeline(&set, id)?.clone();
        if set.live().count() == 1 {
            return Err(CrmError::invalid(format!(
                "Pipeline {id} is the last {} pipeline of this portal, which always keeps one",
                partition.object_type.singular
            )));
        }
        if check_usage {
            self.check_unused(partition, props.pipeline, id, "Pipeline")?;
        }
        let now = now_millis();
        pipeline.archived_at = Some(now);
        pipeline.updated_at = now;
        pipeline.record(
            id,
            AuditAction::Archive,
            now,
            "Pipeline archived".to_owned(),
        );
        self.save_pipeline(partition, &pipeline)
    }

    /// What happened to a live pipeline and its stages through this server, newest first.
    pub fn pipeline_audit(
        &self,
        partition: Partition,
        id: &str,
    ) -> Result<Vec<AuditEntry>, CrmError> {
        let pipeline = self.pipeline_with_archived_stages(partition, id)?;
        Ok(pipeline.audit.into_iter().rev().collect())
    }

    /// The live stages of a live pipeline.
    pub fn stages(
        &self,
        partition: Partition,
        pipeline_id: &str,
    ) -> Result<Vec<PipelineStage>, CrmError> {
        Ok(self.pipeline(partition, pipeline_id)?.stages)
    }

    pub fn stage(
        &self,
        partition: Partition,
        pipeline_id: &str,
        stage_id: &str,
    ) -> Result<PipelineStage, CrmError> {
        self.pipeline(partition, pipeline_id)?
            .stages
            .into_iter()
            .find(|s| s.id == stage_id)
            .ok_or_else(|| stage_not_found(pipeline_id, stage_id))
    }

    pub fn create_stage(
        &self,
        partition: Partition,
        pipeline_id: &str,
        draft: StageDraft,
    ) -> Result<PipelineStage, CrmError> {
        pipeline_properties(partition)?;
        let set = self.schemas.load_pipelines(partition)?;
        let mut pipeline = live_pipeline(&set, pipeline_id)?.clone();
        check_stage_count(pipeline.live_stages().count() + 1)?;
        let now = now_millis();
        let stage = new_stage(partition, &set, &pipeline, draft, now)?;
        let message = format!("Stage {} created", stage.id);
        pipeline.record(&stage.id, AuditAction::Create, now, message);
        pipeline.stages.push(stage.clone());
        pipeline.sort_stages();
        pipeline.updated_at = now;
        self.save_pipeline(partition, &pipeline)?;
        Ok(stage)
    }

    /// Replaces a live stage's label, order and metadata (`PUT`).
    pub fn replace_stage(
        &self,
        partition: Partition,
        pipeline_id: &str,
        stage_id: &str,
        draft: StageDraft,
    ) -> Result<PipelineStage, CrmError> {
        let patch = StagePatch {
            label: Some(draft.label),
            display_order: Some(draft.display_order),
            metadata: Some(draft.metadata),
            archived: None,
        };
        self.update_stage(partition, pipeline_id, stage_id, patch, false)
    }

    /// Changes a stage (`PATCH`): label, order, metadata; `archived: true` archives it (as
    /// `DELETE` does) and `archived: false` restores an archived one.
    pub fn update_stage(
        &self,
        partition: Partition,
        pipeline_id: &str,
        stage_id: &str,
        patch: StagePatch,
        check_usage: bool,
    ) -> Result<PipelineStage, CrmError> {
        let props = pipeline_properties(partition)?;
        let set = self.schemas.load_pipelines(partition)?;
        let mut pipeline = live_pipeline(&set, pipeline_id)?.clone();
        let restoring = patch.archived == Some(false);
        let archiving = patch.archived == Some(true);
        let mut stage = match pipeline.stage(stage_id) {
            Some(s) if !s.is_archived() || restoring => s.clone(),
            _ => return Err(stage_not_found(pipeline_id, stage_id)),
        };
        if let Some(label) = &patch.label {
            stage.label = check_label("stage", label)?;
        }
        if let Some(order) = patch.display_order {
            stage.display_order = order;
        }
        if let Some(metadata) = &patch.metadata {
            stage.metadata = check_metadata(partition.object_type, &stage.label, metadata)?;
        }
        let live_after = !archiving && (restoring || !stage.is_archived());
        if live_after {
            let clash = pipeline
                .live_stages()
                .any(|s| s.id != stage.id && same_label(&s.label, &stage.label));
            if clash {
                return Err(duplicate_stage_label(&stage.label, pipeline_id));
            }
        }
        let now = now_millis();
        let (action, message) = if archiving && !stage.is_archived() {
            self.check_can_archive_stage(partition, props, &pipeline, stage_id, check_usage)?;
            stage.archived_at = Some(now);
            (AuditAction::Archive, format!("Stage {stage_id} archived"))
        } else if restoring && stage.is_archived() {
            check_stage_count(pipeline.live_stages().count() + 1)?;
            stage.archived_at = None;
            (AuditAction::Restore, format!("Stage {stage_id} restored"))
        } else {
            (AuditAction::Update, format!("Stage {stage_id} updated"))
        };
        stage.updated_at = now;
        if let Some(slot) = pipeline.stage_mut(stage_id) {
            *slot = stage.clone();
        }
        pipeline.record(stage_id, action, now, message);
        pipeline.sort_stages();
        pipeline.updated_at = now;
        self.save_pipeline(partition, &pipeline)?;
        Ok(stage)
    }

    /// Archives a live stage (`DELETE`).
    pub fn archive_stage(
        &self,
        partition: Partition,
        pipeline_id: &str,
        stage_id: &str,
        check_usage: bool,
    ) -> Result<(), CrmError> {
        let patch = StagePatch {
            archived: Some(true),
            ..StagePatch::default()
        };
        self.update_stage(partition, pipeline_id, stage_id, patch, check_usage)
            .map(|_| ())
    }

    /// What happened to a stage of a live pipeline, newest first.
    pub fn stage_audit(
        &self,
        partition: Partition,
        pipeline_id: &str,
        stage_id: &str,
    ) -> Result<Vec<AuditEntry>, CrmError> {
        let pipeline = self.pipeline_with_archived_stages(partition, pipeline_id)?;
        if pipeline.stage(stage_id).is_none() {
            return Err(stage_not_found(pipeline_id, stage_id));
        }
        Ok(pipeline
            .audit
            .into_iter()
            .rev()
            .filter(|entry| entry.identifier == stage_id)
            .collect())
    }

    // ----- helpers ----------------------------------------------------------------------

    fn pipeline_with_archived_stages(
        &self,
        partition: Partition,
        id: &str,
    ) -> Result<Pipeline, CrmError> {
        pipeline_properties(partition)?;
        let set = self.schemas.partition(partition)?.pipelines;
        live_pipeline(&set, id).cloned()
    }

    fn save_pipeline(&self, partition: Partition, pipeline: &Pipeline) -> Result<(), CrmError> {
        self.store.save_pipeline(partition, pipeline)?;
        // The pipeline and stage properties' options change with the pipelines.
        self.schemas.forget(partition);
        Ok(())
    }

    /// A pipeline keeps at least one live stage; with `check_usage`, a stage records are in
    /// cannot be archived.
    fn check_can_archive_stage(
        &self,
        partition: Partition,
        props: PipelineProperties,
        pipeline: &Pipeline,
        stage_id: &str,
        check_usage: bool,
    ) -> Result<(), CrmError> {
        if pipeline.live_stages().count() <= 1 {
            return Err(CrmError::invalid(format!(
                "Stage {stage_id} is the last stage of pipeline {}, which always keeps one",
                pipeline.id
            )));
        }
        if check_usage {
            self.check_unused(partition, props.stage, stage_id, "Stage")?;
        }
        Ok(())
    }

    /// Refuses when live records hold `value` in `property` (the references HubSpot checks
    /// with `validateReferencesBeforeDelete`/`validateDealStageUsagesBeforeDelete`).
    fn check_unused(
        &self,
        partition: Partition,
        property: &str,
        value: &str,
        what: &str,
    ) -> Result<(), CrmError> {
        let holders = self.store.find_by_value(partition, property, value)?;
        if holders.is_empty() {
            return Ok(());
        }
        Err(CrmError::Invalid {
            message: format!(
                "{what} {value} is in use by {} {}; move them elsewhere first, or delete without reference validation",
                holders.len(),
                partition.object_type.plural
            ),
            context: vec![(
                "objectIds".to_owned(),
                holders.iter().take(100).map(|id| id.to_string()).collect(),
            )],
        })
    }
}

/// The pipeline properties of the partition's type; types without pipelines are refused
/// (HubSpot serves pipelines for deals, tickets and object types hubcalls does not have).
fn pipeline_properties(partition: Partition) -> Result<PipelineProperties, CrmError> {
    let t = partition.object_type;
    t.pipeline.ok_or_else(|| {
        CrmError::invalid(format!(
            "Object type {} ({}) has no pipelines: hubcalls serves pipelines of deals (0-3) and tickets (0-5)",
            t.plural, t.type_id
        ))
    })
}

fn live_pipeline<'a>(set: &'a PortalPipelines, id: &str) -> Result<&'a Pipeline, CrmError> {
    set.get(id)
        .filter(|p| !p.is_archived())
        .ok_or_else(|| pipeline_not_found(id))
}

fn pipeline_not_found(id: &str) -> CrmError {
    CrmError::UnknownResource(format!("Unable to find pipeline {id}"))
}

fn stage_not_found(pipeline_id: &str, stage_id: &str) -> CrmError {
    CrmError::UnknownResource(format!(
        "Unable to find stage {stage_id} in pipeline {pipeline_id}"
    ))
}

fn taken(kind: &str, id: &str) -> CrmError {
    CrmError::Conflict {
        message: format!(
            "A pipeline or stage with id {id} already exists; choose another {kind} id"
        ),
        context: vec![("id".to_owned(), vec![id.to_owned()])],
    }
}

fn without_archived_stages(mut pipeline: Pipeline) -> Pipeline {
    pipeline.stages.retain(|s| !s.is_archived());
    pipeline
}

fn same_label(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Pipeline labels are unique among a type's live pipelines (HubSpot: "A unique label").
fn check_pipeline_label(
    set: &PortalPipelines,
    label: &str,
    except: Option<&str>,
) -> Result<(), CrmError> {
    let clash = set
        .live()
        .any(|p| Some(p.id.as_str()) != except && same_label(&p.label, label));
    if clash {
        return Err(CrmError::Conflict {
            message: format!("A pipeline with label '{label}' already exists."),
            context: vec![("label".to_owned(), vec![label.to_owned()])],
        });
    }
    Ok(())
}

fn duplicate_stage_label(label: &str, pipeline_id: &str) -> CrmError {
    CrmError::Conflict {
        message: format!("A stage with label '{label}' already exists in pipeline {pipeline_id}."),
        context: vec![("label".to_owned(), vec![label.to_owned()])],
    }
}

fn check_stage_count(count: usize) -> Result<(), CrmError> {
    if count == 0 {
        return Err(CrmError::invalid("A pipeline needs at least one stage"));
    }
    if count > MAX_STAGES {
        return Err(CrmError::invalid(format!(
            "A pipeline can have at most {MAX_STAGES} stages"
        )));
    }
    Ok(())
}

/// A new stage of `pipeline` (as built so far), its id unique across the type's pipelines
/// and its label within the pipeline.
fn new_stage(
    partition: Partition,
    set: &PortalPipelines,
    pipeline: &Pipeline,
    draft: StageDraft,
    now: EpochMillis,
) -> Result<PipelineStage, CrmError> {
    let label = check_label("stage", &draft.label)?;
    if pipeline.live_stages().any(|s| same_label(&s.label, &label)) {
        return Err(duplicate_stage_label(&label, &pipeline.id));
    }
    let is_taken = |candidate: &str| {
        set.id_taken(candidate) || candidate == pipeline.id || pipeline.stage(candidate).is_some()
    };
    let id = match draft.id {
        Some(id) => {
            check_id("stage", &id)?;
            if is_taken(&id) {
                return Err(taken("stage", &id));
            }
            id
        }
        None => new_id(is_taken),
    };
    let metadata = check_metadata(partition.object_type, &label, &draft.metadata)?;
    Ok(PipelineStage {
        id,
        label,
        display_order: draft.display_order,
        metadata,
        created_at: now,
        updated_at: now,
        archived_at: None,
    })
}
