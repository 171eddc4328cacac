//! The pipeline rule on record writes: the glue between the record writes and
//! [`PortalPipelines::check_placement`] (defaulting a new record's pipeline, checking an
//! update against the record before the write and again inside it).

use std::collections::HashMap;

use super::ValidValue;
use crate::crm::error::CrmError;
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::pipelines::{Placement, PortalPipelines};
use crate::crm::ports::Store;
use crate::crm::properties::PropertyProblem;
use crate::crm::record::{Record, RecordId};

/// The placement problem of each update (`None` where there is none), checked against
/// the records as they are now. Only the records whose update writes the pipeline or
/// the stage are read; ids that name no live record are left to the write to report.
pub(super) fn placement_problems(
    store: &dyn Store,
    partition: Partition,
    pipelines: &PortalPipelines,
    updates: &[(RecordId, &[ValidValue])],
) -> Result<Vec<Option<PropertyProblem>>, CrmError> {
    let t = partition.object_type;
    let Some(props) = t.pipeline else {
        return Ok(vec![None; updates.len()]);
    };
    let touching: Vec<RecordId> = updates
        .iter()
        .filter(|(_, values)| placement_of(t, values).touches())
        .map(|(id, _)| *id)
        .collect();
    if touching.is_empty() {
        return Ok(vec![None; updates.len()]);
    }
    let current: HashMap<RecordId, Record> = store
        .get_records(partition, &touching)?
        .into_iter()
        .filter(|record| !record.is_archived())
        .map(|record| (record.id, record))
        .collect();
    Ok(updates
        .iter()
        .map(|(id, values)| {
            let record = current.get(id)?;
            pipelines
                .check_placement(props, Some(record), placement_of(t, values))
                .err()
        })
        .collect())
}

/// What `values` write to the type's pipeline and stage properties (the last value of each).
pub(super) fn placement_of(object_type: ObjectType, values: &[ValidValue]) -> Placement<'_> {
    let Some(props) = object_type.pipeline else {
        return Placement::default();
    };
    let written = |name: &str| {
        values
            .iter()
            .rev()
            .find(|v| v.name == name)
            .map(|v| v.value.as_deref())
    };
    Placement {
        pipeline: written(props.pipeline),
        stage: written(props.stage),
    }
}

/// A new record's values with its pipeline: the one written, else the portal's default
/// (HubSpot: "If a pipeline isn't specified, the default pipeline will be used"), checked
/// with its stage.
pub(super) fn place_new(
    pipelines: &PortalPipelines,
    object_type: ObjectType,
    mut values: Vec<ValidValue>,
) -> Result<Vec<ValidValue>, CrmError> {
    let Some(props) = object_type.pipeline else {
        return Ok(values);
    };
    if placement_of(object_type, &values)
        .pipeline
        .flatten()
        .is_none()
    {
        let default = pipelines.default_pipeline().ok_or_else(|| {
            CrmError::invalid(format!(
                "This portal has no live {} pipeline",
                object_type.singular
            ))
        })?;
        values.retain(|v| v.name != props.pipeline);
        values.push(ValidValue {
            name: props.pipeline.to_owned(),
            value: Some(default.id.clone()),
            append: false,
        });
    }
    pipelines
        .check_placement(props, None, placement_of(object_type, &values))
        .map_err(|problem| CrmError::InvalidProperties(vec![problem]))?;
    Ok(values)
}

/// Whether `values` may be applied to `call` as it is inside the write: its placement is
/// checked again there, since the record may have moved since the check before the write.
/// A refused record is left as it was, and the problem noted in `refused` (set on every
/// run, as an engine may run a mutation again).
pub(super) fn placed(
    pipelines: &PortalPipelines,
    object_type: ObjectType,
    call: &Record,
    values: &[ValidValue],
    refused: &mut Option<PropertyProblem>,
) -> bool {
    *refused = object_type.pipeline.and_then(|props| {
        pipelines
            .check_placement(props, Some(call), placement_of(object_type, values))
            .err()
    });
    refused.is_none()
}
