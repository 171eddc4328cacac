//! The pipelines every HubSpot portal starts with.
//!
//! Source: HubSpot's deals, tickets and pipelines guides (ids, labels, probabilities and
//! ticket states as integrations reproduce them; HubSpot's spec says default pipelines and
//! their stages have `createdAt` 0). They are not stored: a portal's stored pipeline with the
//! same id replaces the default, so a default is written only once it is changed.

use std::collections::BTreeMap;

use super::model::{Pipeline, PipelineStage};
use crate::crm::objects::ObjectType;

/// The deals' Sales Pipeline: (id, label, probability). Probability 1.0 is Closed Won and 0.0
/// Closed Lost; both are the closed stages.
const SALES_STAGES: [(&str, &str, &str); 7] = [
    ("appointmentscheduled", "Appointment Scheduled", "0.2"),
    ("qualifiedtobuy", "Qualified To Buy", "0.4"),
    ("presentationscheduled", "Presentation Scheduled", "0.6"),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8"),
    ("contractsent", "Contract Sent", "0.9"),
    ("closedwon", "Closed Won", "1.0"),
    ("closedlost", "Closed Lost", "0.0"),
];

/// The tickets' Support Pipeline: (id, label, ticket state).
const SUPPORT_STAGES: [(&str, &str, &str); 4] = [
    ("1", "New", "OPEN"),
    ("2", "Waiting on contact", "OPEN"),
    ("3", "Waiting on us", "OPEN"),
    ("4", "Closed", "CLOSED"),
];

/// The id of the deals' default pipeline.
pub const DEALS_DEFAULT: &str = "default";
/// The id of the tickets' default pipeline.
pub const TICKETS_DEFAULT: &str = "0";

/// The pipelines a portal has of `object_type` before it changes any (none for types
/// without pipelines).
pub fn default_pipelines(object_type: ObjectType) -> Vec<Pipeline> {
    match object_type {
        ObjectType::DEALS => vec![pipeline(
            DEALS_DEFAULT,
            "Sales Pipeline",
            SALES_STAGES.iter().map(|(id, label, probability)| {
                let closed = matches!(*probability, "1.0" | "0.0");
                let metadata = [
                    ("isClosed", closed.to_string()),
                    ("probability", (*probability).to_owned()),
                ];
                (*id, *label, metadata.to_vec())
            }),
        )],
        ObjectType::TICKETS => vec![pipeline(
            TICKETS_DEFAULT,
            "Support Pipeline",
            SUPPORT_STAGES.iter().map(|(id, label, state)| {
                (*id, *label, vec![("ticketState", (*state).to_owned())])
            }),
        )],
        _ => Vec::new(),
    }
}

/// Whether `id` is one of `object_type`'s default pipelines.
pub fn is_default_pipeline(object_type: ObjectType, id: &str) -> bool {
    match object_type {
        ObjectType::DEALS => id == DEALS_DEFAULT,
        ObjectType::TICKETS => id == TICKETS_DEFAULT,
        _ => false,
    }
}

type StageSpec<'a> = (&'a str, &'a str, Vec<(&'a str, String)>);

fn pipeline<'a>(id: &str, label: &str, stages: impl Iterator<Item = StageSpec<'a>>) -> Pipeline {
    let stages = stages
        .enumerate()
        .map(|(order, (id, label, metadata))| PipelineStage {
            id: id.to_owned(),
            label: label.to_owned(),
            display_order: i32::try_from(order).unwrap_or(i32::MAX),
            metadata: metadata
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<BTreeMap<_, _>>(),
            created_at: 0,
            updated_at: 0,
            archived_at: None,
        })
        .collect();
    Pipeline {
        id: id.to_owned(),
        label: label.to_owned(),
        display_order: 0,
        stages,
        created_at: 0,
        updated_at: 0,
        archived_at: None,
        audit: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_hubspot() {
        let deals = default_pipelines(ObjectType::DEALS);
        assert_eq!(deals.len(), 1);
        let sales = &deals[0];
        assert_eq!(
            (sales.id.as_str(), sales.label.as_str()),
            ("default", "Sales Pipeline")
        );
        let ids: Vec<&str> = sales.stages.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids[0], "appointmentscheduled");
        assert_eq!(ids[6], "closedlost");
        let won = sales.stage("closedwon").unwrap();
        assert_eq!(won.display_order, 5);
        assert_eq!(won.metadata["probability"], "1.0");
        assert_eq!(won.metadata["isClosed"], "true");
        assert_eq!(
            sales.stage("contractsent").unwrap().metadata["isClosed"],
            "false"
        );

        let tickets = default_pipelines(ObjectType::TICKETS);
        let support = &tickets[0];
        assert_eq!(
            (support.id.as_str(), support.label.as_str()),
            ("0", "Support Pipeline")
        );
        assert_eq!(
            support.stage("4").unwrap().metadata["ticketState"],
            "CLOSED"
        );
        assert_eq!(support.stage("2").unwrap().label, "Waiting on contact");

        assert!(default_pipelines(ObjectType::CALLS).is_empty());
    }

    #[test]
    fn defaults_agree_with_the_catalogues() {
        // The catalogues ship the defaults as the options of the pipeline properties.
        for t in [ObjectType::DEALS, ObjectType::TICKETS] {
            let props = t.pipeline.unwrap();
            let stage_def = t.catalogue().get(props.stage).unwrap();
            let pipeline = &default_pipelines(t)[0];
            for stage in &pipeline.stages {
                let option = stage_def.options.iter().find(|o| o.value == stage.id);
                assert_eq!(option.map(|o| o.label.as_str()), Some(stage.label.as_str()));
            }
        }
    }
}
