//! The checks of an import against what the store already holds: ids another partition
//! has, unique values other records hold, and the records that keep associations the input
//! gives from their other side.

use std::collections::HashMap;

use super::check::{Problems, UniqueValue};
use super::CHUNK;
use crate::crm::error::StoreError;
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::ports::Store;
use crate::crm::record::{PortalId, RecordId};

/// Record ids are unique across the store (every portal, every type): an id another
/// partition holds cannot be loaded. With a reset, the portal's own partitions are emptied
/// first, so only other portals count.
pub(super) fn check_ids_elsewhere(
    store: &dyn Store,
    portal: PortalId,
    reset: bool,
    ids: &HashMap<RecordId, (usize, ObjectType)>,
    problems: &mut Problems,
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let partitions: Vec<Partition> = store
        .portals()?
        .into_iter()
        .filter(|p| !(reset && *p == portal))
        .flat_map(Partition::all_of)
        .collect();
    let mut all: Vec<RecordId> = ids.keys().copied().collect();
    all.sort_unstable();
    for chunk in all.chunks(CHUNK) {
        for partition in &partitions {
            for found in store.get_records(*partition, chunk)? {
                let Some((line, object_type)) = ids.get(&found.id).copied() else {
                    continue;
                };
                if *partition == Partition::new(portal, object_type) {
                    // The record itself: the import replaces it.
                    continue;
                }
                let message = if partition.portal == portal {
                    format!(
                        "{} id {} is the id of a {} of portal {portal} (ids are unique across types)",
                        object_type.singular, found.id, partition.object_type.singular
                    )
                } else {
                    format!(
                        "{} id {} belongs to portal {}",
                        object_type.singular, found.id, partition.portal
                    )
                };
                problems.add(line, message);
            }
        }
    }
    Ok(())
}

/// A unique value may not repeat one a live record of the portal already holds, unless
/// that record is itself replaced by the import. Holders are found by the engine's own
/// equality ([`crate::crm::unique_values::UniqueKey::probe`]).
pub(super) fn check_unique_in_store(
    store: &dyn Store,
    portal: PortalId,
    ids: &HashMap<RecordId, (usize, ObjectType)>,
    values: &[UniqueValue],
    problems: &mut Problems,
) -> Result<(), StoreError> {
    for value in values {
        let partition = Partition::new(portal, value.object_type);
        for holder in store.find_by_value(partition, &value.name, &value.key.probe())? {
            if holder != value.id && !ids.contains_key(&holder) {
                problems.add(
                    value.line,
                    format!(
                        "{} \"{}\" is a unique value already held by {} {holder} of portal {portal}",
                        value.name, value.value, value.object_type.singular
                    ),
                );
            }
        }
    }
    Ok(())
}

/// An association given from the side that does not keep it is kept by the record of the
/// other side, which must therefore be in the input or in the portal: kept nowhere, it
/// could never be read or exported.
pub(super) fn check_owners_exist(
    store: &dyn Store,
    portal: PortalId,
    reset: bool,
    ids: &HashMap<RecordId, (usize, ObjectType)>,
    owners: &[(usize, ObjectType, RecordId)],
    problems: &mut Problems,
) -> Result<(), StoreError> {
    let mut probe: HashMap<ObjectType, Vec<(usize, RecordId)>> = HashMap::new();
    for (line, owner, id) in owners {
        match ids.get(id) {
            Some((_, t)) if t == owner => {}
            Some((other_line, t)) => problems.add(
                *line,
                format!(
                    "an association of this record is kept by {} {id}, but {id} is a {} (line {other_line})",
                    owner.singular, t.singular
                ),
            ),
            None => probe.entry(*owner).or_default().push((*line, *id)),
        }
    }
    for (owner, wanted) in probe {
        let mut missing: HashMap<RecordId, Vec<usize>> = HashMap::new();
        for (line, id) in &wanted {
            missing.entry(*id).or_default().push(*line);
        }
        if !reset {
            let ids: Vec<RecordId> = missing.keys().copied().collect();
            for chunk in ids.chunks(CHUNK) {
                for found in store.get_records(Partition::new(portal, owner), chunk)? {
                    missing.remove(&found.id);
                }
            }
        }
        for (id, lines) in missing {
            for line in lines {
                problems.add(
                    line,
                    format!(
                        "the association with {} {id} is kept by that {}, which is neither in the input nor in portal {portal}",
                        owner.singular, owner.singular
                    ),
                );
            }
        }
    }
    Ok(())
}
