//! Copying a partition from one store into another without going through text
//! (`hubcalls migrate-store`).

use super::definitions::live_schema;
use super::export::{all_property_names, for_each_chunk};
use super::{TransferError, TransferSummary};
use crate::crm::objects::Partition;
use crate::crm::ports::Store;

/// Copies one partition (a portal's records of one type) whole from one store into another
/// (e.g. from SQLite to PostgreSQL), with its custom property groups, properties and
/// pipelines. Records of the partition in `to` with the same ids are replaced.
pub fn copy_partition(
    from: &dyn Store,
    to: &dyn Store,
    partition: Partition,
    progress: &mut dyn FnMut(usize),
) -> Result<TransferSummary, TransferError> {
    let builtin = partition.object_type.catalogue();
    let groups = from.custom_groups(partition)?;
    for group in &groups {
        to.save_group(partition, group)?;
    }
    let properties = from.custom_properties(partition)?;
    for record in &properties {
        to.save_property(partition, record)?;
    }
    let pipelines = from.custom_pipelines(partition)?;
    for pipeline in &pipelines {
        to.save_pipeline(partition, pipeline)?;
    }
    let schema = live_schema(builtin, &properties);
    let names = all_property_names(builtin, &properties);
    let mut records = 0;
    for_each_chunk(from, partition, &names, |chunk| {
        to.restore_records(partition, &schema, &chunk)
            .map_err(|source| TransferError::Store {
                written: records,
                source,
            })?;
        records += chunk.len();
        progress(records);
        Ok(())
    })?;
    let mut summary = TransferSummary {
        portal: partition.portal,
        groups: groups.len(),
        properties: properties.len(),
        pipelines: pipelines.len(),
        ..TransferSummary::default()
    };
    summary.count(partition.object_type, records);
    Ok(summary)
}
