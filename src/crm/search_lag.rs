//! Search-index lag, to rehearse (off by default). HubSpot's search reads an index that
//! trails writes by a few seconds; with a lag configured, hubcalls' search answers from the
//! calls as they were `lag` milliseconds ago (the cutoff):
//!
//! - a call created after the cutoff is absent;
//! - a call changed (updated or archived) after the cutoff is matched, sorted and returned
//!   with the property values it had at the cutoff, read back from its property history;
//! - every other call is as it is now.
//!
//! Associations are not versioned, so association filters see the current ones; that is the
//! one approximation. Reads by id and lists are never delayed, as on HubSpot.

use std::collections::HashMap;

use super::error::StoreError;
use super::objects::Partition;
use super::ports::Store;
use super::properties::{PropertyCatalogue, PropertyType};
use super::record::{Record, RecordId};
use super::search::{Condition, Filter, FilterTarget, Operand, SearchHits, SearchPlan, SortKey};
use super::time::EpochMillis;

/// Calls changed within the lag that one search reconstructs, at most (beyond it, the
/// oldest-created ones are taken).
const MAX_RECENT: usize = 10_000;
/// Page size when scanning the recycle bin for calls archived within the lag.
const ARCHIVE_PAGE: usize = 1_000;

fn instant_filter(name: &str, condition: fn(Operand) -> Condition, at: EpochMillis) -> Filter {
    Filter {
        target: FilterTarget::Property {
            name: name.to_owned(),
            property_type: PropertyType::Datetime,
        },
        condition: condition(Operand::Number(at as f64)),
    }
}

/// Runs `plan` as a search index trailing by `now - cutoff` would.
pub fn search_as_of(
    store: &dyn Store,
    schema: &PropertyCatalogue,
    partition: Partition,
    plan: &SearchPlan,
    cutoff: EpochMillis,
) -> Result<SearchHits, StoreError> {
    // Calls untouched since the cutoff: the store answers for them, enough of them to fill
    // the requested page once merged with the reconstructed ones.
    let settled = [
        instant_filter("hs_createdate", Condition::Lte, cutoff),
        instant_filter("hs_lastmodifieddate", Condition::Lte, cutoff),
    ];
    let mut stable = plan.clone();
    if stable.groups.is_empty() {
        stable.groups.push(Vec::new());
    }
    for group in &mut stable.groups {
        group.extend(settled.iter().cloned());
    }
    stable.offset = 0;
    stable.limit = plan.offset.saturating_add(plan.limit);
    let stable_hits = store.search(partition, &stable)?;

    let recent = as_of_cutoff(
        store,
        schema,
        partition,
        recently_changed(store, partition, cutoff)?,
        cutoff,
    )?;
    let ids: Vec<RecordId> = recent.iter().map(|call| call.id).collect();
    let associations = store.associations(partition, &ids)?;
    let mut everything = plan.clone();
    everything.offset = 0;
    everything.limit = usize::MAX;
    let recent_hits = everything.evaluate(&recent, &associations);

    let mut merged = stable_hits.calls;
    merged.extend(recent_hits.calls);
    merged.sort_by(|a, b| plan.compare_calls(a, b));
    Ok(SearchHits {
        total: stable_hits.total + recent_hits.total,
        calls: merged
            .into_iter()
            .skip(plan.offset)
            .take(plan.limit)
            .collect(),
    })
}

/// Calls that existed at the cutoff and changed after it: live ones modified since, and
/// ones archived since.
fn recently_changed(
    store: &dyn Store,
    partition: Partition,
    cutoff: EpochMillis,
) -> Result<Vec<Record>, StoreError> {
    let modified = SearchPlan {
        groups: vec![vec![
            instant_filter(
                partition.object_type.created_property,
                Condition::Lte,
                cutoff,
            ),
            instant_filter(
                partition.object_type.modified_property,
                Condition::Gt,
                cutoff,
            ),
        ]],
        query_tokens: Vec::new(),
        query_properties: partition.object_type.query_properties,
        sort: SortKey::Created,
        offset: 0,
        limit: MAX_RECENT,
    };
    let mut calls = store.search(partition, &modified)?.calls;
    let mut from_id = 0;
    loop {
        let page = store.list_records(partition, true, from_id, ARCHIVE_PAGE)?;
        let Some(last) = page.last() else { break };
        from_id = last.id.saturating_add(1);
        let full = page.len() == ARCHIVE_PAGE;
        calls.extend(page.into_iter().filter(|call| {
            call.created_at <= cutoff && call.archived_at.is_some_and(|at| at > cutoff)
        }));
        if !full || calls.len() >= MAX_RECENT {
            break;
        }
    }
    calls.truncate(MAX_RECENT);
    Ok(calls)
}

/// The calls as they were at the cutoff: each property with history takes its newest value
/// written at or before the cutoff (none, or a clear, means no value); a property without
/// history keeps its value (identity values never change). All are live at the cutoff.
fn as_of_cutoff(
    store: &dyn Store,
    schema: &PropertyCatalogue,
    partition: Partition,
    mut calls: Vec<Record>,
    cutoff: EpochMillis,
) -> Result<Vec<Record>, StoreError> {
    if calls.is_empty() {
        return Ok(calls);
    }
    let ids: Vec<RecordId> = calls.iter().map(|call| call.id).collect();
    let names: Vec<String> = schema.iter().map(|def| def.name.clone()).collect();
    // call -> property -> value at the cutoff; history comes newest first per property.
    let mut then: HashMap<RecordId, HashMap<String, Option<String>>> = HashMap::new();
    for (id, name, entry) in store.history(partition, &ids, &names)? {
        let slot = then.entry(id).or_default().entry(name).or_insert(None);
        if slot.is_none() && entry.timestamp <= cutoff {
            *slot = Some(entry.value);
        }
    }
    for call in &mut calls {
        for (name, value) in then.remove(&call.id).unwrap_or_default() {
            match value {
                Some(value) if !value.is_empty() => {
                    call.properties.insert(name, value);
                }
                _ => {
                    call.properties.remove(&name);
                }
            }
        }
        call.archived_at = None;
    }
    Ok(calls)
}
