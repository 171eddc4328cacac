//! The pipelines of a portal without pipelines of its own: HubSpot's default deal pipeline
//! and default ticket pipeline, served read-only.
//!
//! Sources: `../shared/hubspot-behavior-objects.md` §2.5 (the Sales Pipeline `default`, its
//! seven stages with their probabilities, closed stages) and §2.6 (the Support Pipeline `0`,
//! stages `1`–`4` with their ticket states); the stage ids and labels are the options of the
//! types' pipeline and stage properties in `catalogue/` (a unit test keeps both in step).

use super::objects::ObjectType;

/// One stage of a pipeline, with HubSpot's `metadata` (strings, as HubSpot returns them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    pub id: &'static str,
    pub label: &'static str,
    pub display_order: i32,
    pub metadata: &'static [(&'static str, &'static str)],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pipeline {
    pub id: &'static str,
    pub label: &'static str,
    pub display_order: i32,
    pub stages: &'static [Stage],
}

impl Pipeline {
    pub fn stage(&self, id: &str) -> Option<&'static Stage> {
        self.stages.iter().find(|stage| stage.id == id)
    }
}

const fn stage(
    id: &'static str,
    label: &'static str,
    display_order: i32,
    metadata: &'static [(&'static str, &'static str)],
) -> Stage {
    Stage {
        id,
        label,
        display_order,
        metadata,
    }
}

const SALES_PIPELINE: Pipeline = Pipeline {
    id: "default",
    label: "Sales Pipeline",
    display_order: 0,
    stages: &[
        stage(
            "appointmentscheduled",
            "Appointment Scheduled",
            0,
            &[("isClosed", "false"), ("probability", "0.2")],
        ),
        stage(
            "qualifiedtobuy",
            "Qualified To Buy",
            1,
            &[("isClosed", "false"), ("probability", "0.4")],
        ),
        stage(
            "presentationscheduled",
            "Presentation Scheduled",
            2,
            &[("isClosed", "false"), ("probability", "0.6")],
        ),
        stage(
            "decisionmakerboughtin",
            "Decision Maker Bought-In",
            3,
            &[("isClosed", "false"), ("probability", "0.8")],
        ),
        stage(
            "contractsent",
            "Contract Sent",
            4,
            &[("isClosed", "false"), ("probability", "0.9")],
        ),
        stage(
            "closedwon",
            "Closed Won",
            5,
            &[("isClosed", "true"), ("probability", "1.0")],
        ),
        stage(
            "closedlost",
            "Closed Lost",
            6,
            &[("isClosed", "true"), ("probability", "0.0")],
        ),
    ],
};

const SUPPORT_PIPELINE: Pipeline = Pipeline {
    id: "0",
    label: "Support Pipeline",
    display_order: 0,
    stages: &[
        stage("1", "New", 0, &[("ticketState", "OPEN")]),
        stage("2", "Waiting on contact", 1, &[("ticketState", "OPEN")]),
        stage("3", "Waiting on us", 2, &[("ticketState", "OPEN")]),
        stage("4", "Closed", 3, &[("ticketState", "CLOSED")]),
    ],
};

/// The pipelines of `object_type`; `None` for a type without pipelines.
pub fn pipelines_of(object_type: ObjectType) -> Option<&'static [Pipeline]> {
    object_type.pipeline?;
    match object_type {
        ObjectType::DEALS => Some(std::slice::from_ref(&SALES_PIPELINE)),
        ObjectType::TICKETS => Some(std::slice::from_ref(&SUPPORT_PIPELINE)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option values of a property of `object_type`'s catalogue.
    fn options(object_type: ObjectType, name: &str) -> Vec<(String, String)> {
        object_type
            .catalogue()
            .get(name)
            .unwrap()
            .options
            .iter()
            .map(|o| (o.value.clone(), o.label.clone()))
            .collect()
    }

    #[test]
    fn pipelines_match_the_catalogued_options() {
        for object_type in ObjectType::all() {
            let Some(properties) = object_type.pipeline else {
                assert!(pipelines_of(object_type).is_none());
                continue;
            };
            let pipelines = pipelines_of(object_type).expect("a type with pipelines has some");
            let listed: Vec<(String, String)> = pipelines
                .iter()
                .map(|p| (p.id.to_owned(), p.label.to_owned()))
                .collect();
            assert_eq!(listed, options(object_type, properties.pipeline));
            let stages: Vec<(String, String)> = pipelines
                .iter()
                .flat_map(|p| p.stages)
                .map(|s| (s.id.to_owned(), s.label.to_owned()))
                .collect();
            assert_eq!(stages, options(object_type, properties.stage));
        }
    }
}
