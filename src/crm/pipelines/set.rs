//! A portal's pipelines of one object type: HubSpot's defaults it has not changed, and its
//! own, archived ones included, in display order.

use crate::crm::objects::{ObjectType, PipelineProperties};
use crate::crm::properties::{PropertyDefinition, PropertyOption};

use super::defaults::{default_pipelines, is_default_pipeline};
use super::model::{Pipeline, PipelineStage};

#[derive(Debug, Clone, Default)]
pub struct PortalPipelines {
    object_type: Option<ObjectType>,
    /// Sorted as HubSpot lists them: by `displayOrder`, ties by label.
    pipelines: Vec<Pipeline>,
}

impl PortalPipelines {
    /// The defaults of `object_type`, each replaced by a stored pipeline of the same id, and
    /// the stored ones besides.
    pub fn new(object_type: ObjectType, stored: Vec<Pipeline>) -> Self {
        let mut pipelines = default_pipelines(object_type);
        for mut pipeline in stored {
            pipeline.sort_stages();
            match pipelines.iter_mut().find(|p| p.id == pipeline.id) {
                Some(default) => *default = pipeline,
                None => pipelines.push(pipeline),
            }
        }
        pipelines.sort_by(|a, b| {
            (a.display_order, &a.label, &a.id).cmp(&(b.display_order, &b.label, &b.id))
        });
        Self {
            object_type: Some(object_type),
            pipelines,
        }
    }

    /// Every pipeline, archived ones included.
    pub fn all(&self) -> &[Pipeline] {
        &self.pipelines
    }

    pub fn live(&self) -> impl Iterator<Item = &Pipeline> {
        self.pipelines.iter().filter(|p| !p.is_archived())
    }

    /// The pipeline `id`, archived or not.
    pub fn get(&self, id: &str) -> Option<&Pipeline> {
        self.pipelines.iter().find(|p| p.id == id)
    }

    /// The pipeline a record gets when it names none: the first live one in display order,
    /// HubSpot's own default first among equals (a portal's new pipeline listed with the
    /// same `displayOrder` does not take the default's place).
    pub fn default_pipeline(&self) -> Option<&Pipeline> {
        let builtin = |p: &Pipeline| {
            self.object_type
                .is_some_and(|t| is_default_pipeline(t, &p.id))
        };
        self.live().min_by(|a, b| {
            (a.display_order, !builtin(a), &a.label, &a.id).cmp(&(
                b.display_order,
                !builtin(b),
                &b.label,
                &b.id,
            ))
        })
    }

    /// The pipeline holding stage `id` (archived stages and pipelines included): stage ids
    /// are unique across a type's pipelines, since the stage property holds the id alone.
    pub fn stage_owner(&self, stage_id: &str) -> Option<&Pipeline> {
        self.pipelines.iter().find(|p| p.stage(stage_id).is_some())
    }

    /// Whether any pipeline or stage of the type, archived or not, has the id `id`.
    pub fn id_taken(&self, id: &str) -> bool {
        self.get(id).is_some() || self.stage_owner(id).is_some()
    }

    /// `def` as the portal's properties API and writes see it: for the type's pipeline and
    /// stage properties, with the portal's options (see [`PortalPipelines::with_options`]).
    pub fn decorate(&self, def: PropertyDefinition) -> PropertyDefinition {
        match self.object_type.and_then(|t| t.pipeline) {
            Some(props) => self.with_options(props, def),
            None => def,
        }
    }

    /// `def` with the live pipelines (for the pipeline property) or the live stages of live
    /// pipelines (for the stage property) as its options, so the properties API shows what
    /// records may hold. Other definitions are returned as they are.
    pub fn with_options(
        &self,
        props: PipelineProperties,
        mut def: PropertyDefinition,
    ) -> PropertyDefinition {
        let options: Vec<PropertyOption> = if def.name == props.pipeline {
            self.live()
                .map(|p| (p.id.as_str(), p.label.as_str()))
                .enumerate()
                .map(option)
                .collect()
        } else if def.name == props.stage {
            self.live()
                .flat_map(Pipeline::live_stages)
                .map(|s: &PipelineStage| (s.id.as_str(), s.label.as_str()))
                .enumerate()
                .map(option)
                .collect()
        } else {
            return def;
        };
        def.options = options;
        def
    }
}

fn option((order, (value, label)): (usize, (&str, &str))) -> PropertyOption {
    PropertyOption {
        label: label.to_owned(),
        value: value.to_owned(),
        description: String::new(),
        display_order: i32::try_from(order).unwrap_or(i32::MAX),
        hidden: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(id: &str, order: i32, stages: &[&str]) -> Pipeline {
        let mut pipeline = default_pipelines(ObjectType::DEALS).remove(0);
        pipeline.id = id.to_owned();
        pipeline.label = format!("Pipeline {id}");
        pipeline.display_order = order;
        pipeline.stages.truncate(stages.len());
        for (stage, id) in pipeline.stages.iter_mut().zip(stages) {
            stage.id = (*id).to_owned();
        }
        pipeline
    }

    #[test]
    fn stored_pipelines_replace_defaults_and_sort() {
        let mut renamed = default_pipelines(ObjectType::DEALS).remove(0);
        renamed.label = "Renamed".to_owned();
        let set =
            PortalPipelines::new(ObjectType::DEALS, vec![custom("900", -1, &["s1"]), renamed]);
        let ids: Vec<&str> = set.all().iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["900", "default"]);
        assert_eq!(set.get("default").unwrap().label, "Renamed");
        assert_eq!(set.default_pipeline().unwrap().id, "900");
        assert_eq!(set.stage_owner("s1").unwrap().id, "900");
        assert!(set.id_taken("closedwon") && set.id_taken("900") && !set.id_taken("x"));
    }

    #[test]
    fn the_builtin_default_wins_ties() {
        let set = PortalPipelines::new(ObjectType::DEALS, vec![custom("100", 0, &["s1"])]);
        assert_eq!(set.default_pipeline().unwrap().id, "default");
        let mut archived = default_pipelines(ObjectType::DEALS).remove(0);
        archived.archived_at = Some(5);
        let set =
            PortalPipelines::new(ObjectType::DEALS, vec![custom("100", 3, &["s1"]), archived]);
        assert_eq!(set.default_pipeline().unwrap().id, "100");
    }

    #[test]
    fn options_list_live_pipelines_and_stages() {
        let props = ObjectType::DEALS.pipeline.unwrap();
        let mut second = custom("100", 1, &["s1", "s2"]);
        second.stages[1].archived_at = Some(1);
        let set = PortalPipelines::new(ObjectType::DEALS, vec![second]);
        let catalogue = ObjectType::DEALS.catalogue();
        let stage = set.with_options(props, catalogue.get("dealstage").unwrap().as_ref().clone());
        let values: Vec<&str> = stage.options.iter().map(|o| o.value.as_str()).collect();
        assert_eq!(values.len(), 8);
        assert_eq!(values[7], "s1");
        let pipeline = set.with_options(props, catalogue.get("pipeline").unwrap().as_ref().clone());
        let values: Vec<&str> = pipeline.options.iter().map(|o| o.value.as_str()).collect();
        assert_eq!(values, ["default", "100"]);
    }
}
