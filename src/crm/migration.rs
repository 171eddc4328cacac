//! Copies every portal from one store to another (`hubcalls migrate-store`) and checks the
//! copy by counting both sides: calls live and archived, history entries, associations,
//! custom properties and groups.
//!
//! The copying of one portal is [`transfer::copy_portal`] (calls move whole, in chunks, each
//! one transaction on the destination), so this works between any two [`RecordStore`]s:
//! SQLite → PostgreSQL and back are the same code. A same-id call already in the
//! destination's portal is replaced, which makes a rerun after an interruption safe.

use super::error::StoreError;
use super::properties::PropertyCatalogue;
use super::record::PortalId;
use super::store::RecordStore;
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
}

/// Counts what a portal holds.
pub fn count_portal(
    store: &dyn RecordStore,
    builtin: &PropertyCatalogue,
    portal: PortalId,
) -> Result<PortalCounts, TransferError> {
    let properties = store.custom_properties(portal)?;
    let names = transfer::all_property_names(builtin, &properties);
    let mut counts = PortalCounts {
        properties: properties.len(),
        groups: store.custom_groups(portal)?.len(),
        ..PortalCounts::default()
    };
    transfer::for_each_chunk(store, portal, &names, |chunk| {
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

/// Copies every portal of `from` into `to`, then checks each portal's counts. `progress`
/// hears of every chunk written (portal, calls copied so far in it).
pub fn copy_store(
    from: &dyn RecordStore,
    to: &dyn RecordStore,
    builtin: &PropertyCatalogue,
    progress: &mut dyn FnMut(PortalId, usize),
) -> Result<Vec<(PortalId, PortalCounts)>, MigrationError> {
    let mut report = Vec::new();
    for portal in from.portals()? {
        transfer::copy_portal(from, to, builtin, portal, &mut |copied| {
            progress(portal, copied)
        })?;
        let original = count_portal(from, builtin, portal)?;
        let copy = count_portal(to, builtin, portal)?;
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
