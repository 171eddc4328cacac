//! Copies every portal from one store to another (`hubcalls migrate-store`): property
//! definitions and groups, then calls, live and archived, whole — ids, timestamps, every
//! history entry and every association — and checks the copy by counting both sides.
//!
//! Works on any two [`CallStore`]s, so SQLite → PostgreSQL and back are the same code.
//! Calls move in pages, each page one transaction on the destination, so memory stays
//! bounded; a same-id call already in the destination's portal is replaced, which makes a
//! rerun after an interruption safe.

use super::call::{CallId, PortalId};
use super::error::StoreError;
use super::properties::PropertyCatalogue;
use super::store::{CallStore, RestoredCall};

/// Calls read and written per transaction.
const PAGE: usize = 500;

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
    #[error(
        "portal {portal}: the copy does not match the source (source {original:?}, copy {copy:?})"
    )]
    Mismatch {
        portal: PortalId,
        original: PortalCounts,
        copy: PortalCounts,
    },
}

/// The portal's schema as its calls are indexed by (built-in and live custom properties),
/// and the names of every property that may have history (archived ones too).
fn portal_schema(
    store: &dyn CallStore,
    builtin: &PropertyCatalogue,
    portal: PortalId,
) -> Result<(PropertyCatalogue, Vec<String>), StoreError> {
    let custom = store.custom_properties(portal)?;
    let mut names: Vec<String> = builtin.iter().map(|d| d.name.clone()).collect();
    names.extend(custom.iter().map(|r| r.definition.name.clone()));
    names.sort();
    names.dedup();
    let schema = PropertyCatalogue::from_definitions(
        builtin.iter().map(|d| d.as_ref().clone()).chain(
            custom
                .into_iter()
                .filter(|r| !r.is_archived())
                .map(|r| r.definition),
        ),
    );
    Ok((schema, names))
}

/// Reads one page of calls whole, each with its history oldest first.
fn read_whole(
    store: &dyn CallStore,
    portal: PortalId,
    archived: bool,
    from_id: CallId,
    names: &[String],
) -> Result<Vec<RestoredCall>, StoreError> {
    let calls = store.list_calls(portal, archived, from_id, PAGE)?;
    let ids: Vec<CallId> = calls.iter().map(|c| c.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let history = store.history(portal, &ids, names)?;
    let associations = store.associations(portal, &ids)?;
    Ok(calls
        .into_iter()
        .map(|call| {
            // The store answers newest first per property; put them back oldest first (a
            // stable sort keeps same-instant entries in their original order).
            let mut entries: Vec<_> = history
                .iter()
                .filter(|(id, _, _)| *id == call.id)
                .rev()
                .map(|(_, name, entry)| super::history::PropertyChange {
                    name: name.clone(),
                    value: (!entry.value.is_empty()).then(|| entry.value.clone()),
                    entry: entry.clone(),
                })
                .collect();
            entries.sort_by_key(|change| change.entry.timestamp);
            RestoredCall {
                associations: associations
                    .iter()
                    .filter(|a| a.call_id == call.id)
                    .cloned()
                    .collect(),
                history: entries,
                call,
            }
        })
        .collect())
}

/// Counts what a portal holds.
pub fn count_portal(
    store: &dyn CallStore,
    builtin: &PropertyCatalogue,
    portal: PortalId,
) -> Result<PortalCounts, StoreError> {
    let (_, names) = portal_schema(store, builtin, portal)?;
    let mut counts = PortalCounts {
        properties: store.custom_properties(portal)?.len(),
        groups: store.custom_groups(portal)?.len(),
        ..PortalCounts::default()
    };
    for archived in [false, true] {
        let mut from_id = 0;
        loop {
            let page = read_whole(store, portal, archived, from_id, &names)?;
            let Some(last) = page.last() else { break };
            from_id = last.call.id + 1;
            if archived {
                counts.archived_calls += page.len();
            } else {
                counts.live_calls += page.len();
            }
            counts.history_entries += page.iter().map(|c| c.history.len()).sum::<usize>();
            counts.associations += page.iter().map(|c| c.associations.len()).sum::<usize>();
        }
    }
    Ok(counts)
}

/// Copies every portal of `from` into `to`, then checks each portal's counts. `progress`
/// hears of every page written (portal, calls copied so far in it).
pub fn copy_store(
    from: &dyn CallStore,
    to: &dyn CallStore,
    builtin: &PropertyCatalogue,
    progress: &mut dyn FnMut(PortalId, usize),
) -> Result<Vec<(PortalId, PortalCounts)>, MigrationError> {
    let mut report = Vec::new();
    for portal in from.portals()? {
        for group in from.custom_groups(portal)? {
            to.save_group(portal, &group)?;
        }
        for property in from.custom_properties(portal)? {
            to.save_property(portal, &property)?;
        }
        let (schema, names) = portal_schema(from, builtin, portal)?;
        let mut copied = 0;
        for archived in [false, true] {
            let mut from_id = 0;
            loop {
                let page = read_whole(from, portal, archived, from_id, &names)?;
                let Some(last) = page.last() else { break };
                from_id = last.call.id + 1;
                to.restore_calls(portal, &schema, &page)?;
                copied += page.len();
                progress(portal, copied);
            }
        }
        let source = count_portal(from, builtin, portal)?;
        let copy = count_portal(to, builtin, portal)?;
        if source != copy {
            return Err(MigrationError::Mismatch {
                portal,
                original: source,
                copy,
            });
        }
        report.push((portal, source));
    }
    Ok(report)
}
