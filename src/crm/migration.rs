//! Copies every portal from one store to another (`hubcalls migrate-store`), or one portal
//! from one shard to another (`hubcalls move-portal`), and checks the copy by counting both
//! sides: calls live and archived, history entries, associations, custom properties, groups
//! and pipelines.
//!
//! The copying of one partition is [`transfer::copy_partition`] (records move whole, in
//! chunks, each one transaction on the destination), so this works between any two
//! [`Store`]s: SQLite → PostgreSQL and back are the same code. A same-id record already
//! in the destination's partition is replaced, which makes a rerun after an interruption safe.

use super::error::StoreError;
use super::objects::{ObjectType, Partition};
use super::ports::Store;
use super::record::PortalId;
use super::transfer::{self, TransferError};

/// What one portal holds, counted the same way on both sides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortalCounts {
    pub live_calls: usize,
    pub archived_calls: usize,
    pub history_entries: usize,
    pub associations: usize,
    pub properties: usize,
    pub groups: usize,
    pub pipelines: usize,
}

impl PortalCounts {
    fn add(&mut self, other: Self) {
        self.live_calls += other.live_calls;
        self.archived_calls += other.archived_calls;
        self.history_entries += other.history_entries;
        self.associations += other.associations;
        self.properties += other.properties;
        self.groups += other.groups;
        self.pipelines += other.pipelines;
    }

    /// Whether nothing of the portal is there.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Transfer(#[from] TransferError),
    #[error(
        "portal {portal}: the copy does not match the source (source {original:?}, copy {copy:?})"
    )]
    Mismatch {
        portal: PortalId,
        original: PortalCounts,
        copy: PortalCounts,
    },
    #[error("portal {portal}: copied and verified, but the source still holds {left:?}")]
    NotRemoved {
        portal: PortalId,
        left: PortalCounts,
    },
}

/// Counts what a partition (a portal's records of one type) holds.
pub fn count_partition(
    store: &dyn Store,
    partition: Partition,
) -> Result<PortalCounts, TransferError> {
    let properties = store.custom_properties(partition)?;
    let names = transfer::all_property_names(partition.object_type.catalogue(), &properties);
    let mut counts = PortalCounts {
        properties: properties.len(),
        groups: store.custom_groups(partition)?.len(),
        pipelines: store.custom_pipelines(partition)?.len(),
        ..PortalCounts::default()
    };
    transfer::for_each_chunk(store, partition, &names, |chunk| {
        for restored in &chunk {
            if restored.call.is_archived() {
                counts.archived_calls += 1;
            } else {
                counts.live_calls += 1;
            }
            counts.history_entries += restored.history.len();
            counts.associations += restored.associations.len();
        }
        Ok(())
    })?;
    Ok(counts)
}

/// Copies every portal of `from` into `to`, every object type of it, then checks each
/// portal's counts. `progress` hears of every chunk written (portal, records copied so far
/// in it).
pub fn copy_store(
    from: &dyn Store,
    to: &dyn Store,
    progress: &mut dyn FnMut(PortalId, usize),
) -> Result<Vec<(PortalId, PortalCounts)>, MigrationError> {
    let mut report = Vec::new();
    for portal in from.portals()? {
        let mut copied_before = 0;
        for object_type in ObjectType::all() {
            let partition = Partition::new(portal, object_type);
            let summary = transfer::copy_partition(from, to, partition, &mut |copied| {
                progress(portal, copied_before + copied)
            })?;
            copied_before += summary.records;
        }
        let original = count_portal(from, portal)?;
        let copy = count_portal(to, portal)?;
        if original != copy {
            return Err(MigrationError::Mismatch {
                portal,
                original,
                copy,
            });
        }
        report.push((portal, original));
    }
    Ok(report)
}

/// Counts what a portal holds, every object type of it.
pub fn count_portal(store: &dyn Store, portal: PortalId) -> Result<PortalCounts, TransferError> {
    let mut total = PortalCounts::default();
    for object_type in ObjectType::all() {
        total.add(count_partition(store, Partition::new(portal, object_type))?);
    }
    Ok(total)
}

/// What moving a portal found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveOutcome {
    /// Copied, verified by counts, then removed from the source.
    Moved(PortalCounts),
    /// The source held nothing of the portal and the destination holds it: an earlier run
    /// finished (the source's removal is one transaction, so it happened whole).
    AlreadyMoved(PortalCounts),
}

/// Moves one portal from one store to another (one shard to another): copies every object
/// type of it whole, counts both sides, and only when they agree removes it from `from`
/// (one transaction) and checks that nothing of it is left there. On any failure before the
/// removal the source is untouched, and a rerun is safe (same-id records are replaced).
pub fn move_portal(
    from: &dyn Store,
    to: &dyn Store,
    portal: PortalId,
    progress: &mut dyn FnMut(usize),
) -> Result<MoveOutcome, MigrationError> {
    let original = count_portal(from, portal)?;
    if original.is_empty() {
        let there = count_portal(to, portal)?;
        if !there.is_empty() {
            return Ok(MoveOutcome::AlreadyMoved(there));
        }
    }
    let mut copied_before = 0;
    for partition in Partition::all_of(portal) {
        let summary = transfer::copy_partition(from, to, partition, &mut |copied| {
            progress(copied_before + copied)
        })?;
        copied_before += summary.records;
    }
    let copy = count_portal(to, portal)?;
    if copy != original {
        return Err(MigrationError::Mismatch {
            portal,
            original,
            copy,
        });
    }
    from.reset_portal(portal)?;
    let left = count_portal(from, portal)?;
    if !left.is_empty() {
        return Err(MigrationError::NotRemoved { portal, left });
    }
    Ok(MoveOutcome::Moved(original))
}
