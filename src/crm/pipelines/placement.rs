//! Where a record of a type with pipelines sits: its pipeline and stage properties (deals:
//! `pipeline`/`dealstage`; tickets: `hs_pipeline`/`hs_pipeline_stage`), and the rule every
//! write of them must keep: the stage is a live stage of the record's live pipeline.
//!
//! These two properties are enumerations whose options are the portal's pipelines and
//! stages; their membership is checked here rather than by the generic option check, so a
//! refusal can name both the stage and the pipeline it was checked against.

use crate::crm::objects::{ObjectType, PipelineProperties};
use crate::crm::properties::PropertyProblem;
use crate::crm::record::Record;

use super::model::Pipeline;
use super::set::PortalPipelines;

/// What one write does to the placement properties: `None` leaves a property as it is,
/// `Some(None)` clears it, `Some(Some(v))` sets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Placement<'a> {
    pub pipeline: Option<Option<&'a str>>,
    pub stage: Option<Option<&'a str>>,
}

impl Placement<'_> {
    pub fn touches(&self) -> bool {
        self.pipeline.is_some() || self.stage.is_some()
    }
}

/// Whether `name` is the pipeline or the stage property of `object_type`.
pub fn is_placement_property(object_type: ObjectType, name: &str) -> bool {
    object_type
        .pipeline
        .is_some_and(|props| props.pipeline == name || props.stage == name)
}

impl PortalPipelines {
    /// Checks where a record ends up after a write. `current` is the record before an
    /// update (`None` on a create, whose pipeline the caller has already defaulted).
    ///
    /// The pipeline is the written one, else the record's, else the portal's default (a
    /// record that names none is in the default pipeline, as HubSpot places it). The stage
    /// is the written one, else the record's: an update that changes only the pipeline
    /// must also give a stage of the new pipeline.
    pub fn check_placement(
        &self,
        props: PipelineProperties,
        current: Option<&Record>,
        write: Placement<'_>,
    ) -> Result<(), PropertyProblem> {
        if !write.touches() {
            return Ok(());
        }
        let written_pipeline = write.pipeline.flatten();
        if let Some(id) = written_pipeline {
            self.check_pipeline(props, id)?;
        }
        let pipeline_id = match write.pipeline {
            Some(written) => written,
            None => current.and_then(|r| r.property(props.pipeline)),
        };
        let stage_id = match write.stage {
            Some(written) => written,
            None => current.and_then(|r| r.property(props.stage)),
        };
        let Some(stage_id) = stage_id else {
            return Ok(());
        };
        let pipeline = match pipeline_id {
            Some(id) => self.get(id),
            None => self.default_pipeline(),
        };
        let Some(pipeline) = pipeline.filter(|p| !p.is_archived()) else {
            let named = pipeline_id.unwrap_or("(none)");
            return Err(problem(
                props.stage,
                format!(
                    "{stage_id} is not a valid stage of pipeline {named}: that pipeline is archived or does not exist"
                ),
            ));
        };
        match pipeline.stage(stage_id) {
            Some(stage) if !stage.is_archived() => Ok(()),
            Some(_) => Err(problem(
                props.stage,
                format!(
                    "{stage_id} is an archived stage of pipeline {}; valid stages are: [{}]",
                    pipeline.id,
                    live_stage_ids(pipeline)
                ),
            )),
            None => Err(problem(
                props.stage,
                format!(
                    "{stage_id} is not a valid stage of pipeline {}; valid stages are: [{}]",
                    pipeline.id,
                    live_stage_ids(pipeline)
                ),
            )),
        }
    }

    fn check_pipeline(&self, props: PipelineProperties, id: &str) -> Result<(), PropertyProblem> {
        let live: Vec<&str> = self.live().map(|p| p.id.as_str()).collect();
        match self.get(id) {
            Some(p) if !p.is_archived() => Ok(()),
            Some(_) => Err(problem(
                props.pipeline,
                format!(
                    "Pipeline {id} is archived; valid pipelines are: [{}]",
                    live.join(", ")
                ),
            )),
            None => Err(problem(
                props.pipeline,
                format!(
                    "{id} is not a valid pipeline; valid pipelines are: [{}]",
                    live.join(", ")
                ),
            )),
        }
    }
}

fn live_stage_ids(pipeline: &Pipeline) -> String {
    pipeline
        .live_stages()
        .map(|s| s.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn problem(name: &str, message: String) -> PropertyProblem {
    PropertyProblem {
        name: name.to_owned(),
        code: "INVALID_OPTION",
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::pipelines::defaults::default_pipelines;

    fn deals(extra: Vec<Pipeline>) -> PortalPipelines {
        PortalPipelines::new(ObjectType::DEALS, extra)
    }

    fn renewals() -> Pipeline {
        let mut p = default_pipelines(ObjectType::DEALS).remove(0);
        p.id = "77".to_owned();
        p.label = "Renewals".to_owned();
        p.display_order = 1;
        p.stages.truncate(2);
        p.stages[0].id = "r1".to_owned();
        p.stages[1].id = "r2".to_owned();
        p.stages[1].archived_at = Some(9);
        p
    }

    fn record(pipeline: &str, stage: &str) -> Record {
        Record {
            id: 1,
            properties: [("pipeline", pipeline), ("dealstage", stage)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            created_at: 0,
            updated_at: 0,
            archived_at: None,
        }
    }

    fn set<'a>(pipeline: Option<&'a str>, stage: Option<&'a str>) -> Placement<'a> {
        Placement {
            pipeline: pipeline.map(Some),
            stage: stage.map(Some),
        }
    }

    #[test]
    fn creates_need_a_stage_of_their_pipeline() {
        let props = ObjectType::DEALS.pipeline.unwrap();
        let set_ = deals(vec![renewals()]);
        assert!(set_
            .check_placement(props, None, set(Some("default"), Some("closedwon")))
            .is_ok());
        assert!(set_
            .check_placement(props, None, set(Some("77"), Some("r1")))
            .is_ok());
        let wrong = set_
            .check_placement(props, None, set(Some("77"), Some("closedwon")))
            .unwrap_err();
        assert_eq!(wrong.name, "dealstage");
        assert!(
            wrong.message.contains("closedwon") && wrong.message.contains("77"),
            "{}",
            wrong.message
        );
        let archived = set_
            .check_placement(props, None, set(Some("77"), Some("r2")))
            .unwrap_err();
        assert!(
            archived.message.contains("archived"),
            "{}",
            archived.message
        );
        let unknown = set_
            .check_placement(props, None, set(Some("nope"), Some("r1")))
            .unwrap_err();
        assert_eq!(unknown.name, "pipeline");
    }

    #[test]
    fn updates_check_against_the_record() {
        let props = ObjectType::DEALS.pipeline.unwrap();
        let set_ = deals(vec![renewals()]);
        let deal = record("77", "r1");
        // Only the stage: checked against the record's pipeline.
        assert!(set_
            .check_placement(props, Some(&deal), set(None, Some("r1")))
            .is_ok());
        assert!(set_
            .check_placement(props, Some(&deal), set(None, Some("closedwon")))
            .is_err());
        // Only the pipeline: the record's stage is not one of the new pipeline's.
        assert!(set_
            .check_placement(props, Some(&deal), set(Some("default"), None))
            .is_err());
        assert!(set_
            .check_placement(
                props,
                Some(&deal),
                set(Some("default"), Some("qualifiedtobuy"))
            )
            .is_ok());
        // Untouched placement is never checked, even when the stage was archived since.
        let stale = record("77", "r2");
        let other = Placement::default();
        assert!(set_.check_placement(props, Some(&stale), other).is_ok());
    }
}
