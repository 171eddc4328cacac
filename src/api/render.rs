//! Turning calls into `SimplePublicObject`s: which properties show, history, associations.

use std::collections::BTreeMap;

use crate::crm::associations::{AssociationPair, Links};
use crate::crm::error::CrmError;
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::properties::PropertyCatalogue;
use crate::crm::record::{Projection, Record, RecordId};
use crate::crm::records::HistoryByRecord;
use crate::crm::services::Services;

use super::query::QueryParams;
use super::wire::{instant, AssociatedId, AssociatedIds, SimplePublicObject, ValueWithTimestamp};

mod json;
pub use json::json_body_response;

/// Which properties a response shows.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertySelection {
    /// Everything the call has (create and update responses).
    Stored,
    /// The defaults plus these names; a defined property without a value shows as `null`,
    /// an undefined name is skipped.
    Requested(Vec<String>),
}

/// What a read asked to see besides the call itself.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub properties: PropertySelection,
    pub with_history: Vec<String>,
    pub associations: Vec<ObjectType>,
}

impl ReadOptions {
    pub fn requested(properties: Vec<String>) -> Self {
        Self {
            properties: PropertySelection::Requested(properties),
            with_history: Vec::new(),
            associations: Vec::new(),
        }
    }

    /// What a write returns: the whole stored property set.
    pub fn stored() -> Self {
        Self {
            properties: PropertySelection::Stored,
            with_history: Vec::new(),
            associations: Vec::new(),
        }
    }

    /// The stored properties a read of `object_type` must load to render these options: a
    /// requested selection shows only its names (and the type's fixed ones).
    /// Whether showing the records needs nothing but them and their schema (no history,
    /// no associations).
    pub fn reads_records_only(&self) -> bool {
        self.with_history.is_empty() && self.associations.is_empty()
    }

    pub fn projection(&self, object_type: ObjectType) -> Projection<'_> {
        match &self.properties {
            PropertySelection::Stored => Projection::All,
            PropertySelection::Requested(names) => {
                Projection::Only(shown_names(object_type, names).collect())
            }
        }
    }

    /// `properties`, `propertiesWithHistory` and `associations` query parameters.
    pub fn from_query(query: &QueryParams) -> Self {
        let mut associations: Vec<ObjectType> = query
            .list("associations")
            .unwrap_or_default()
            .iter()
            .filter_map(|name| ObjectType::parse(name))
            .collect();
        associations.sort();
        associations.dedup();
        Self {
            properties: PropertySelection::Requested(query.list("properties").unwrap_or_default()),
            with_history: query.list("propertiesWithHistory").unwrap_or_default(),
            associations,
        }
    }
}

/// The names a requested selection shows, before the schema's check of the requested
/// ones: the type's id and timestamps always, its usual properties when none are asked.
fn shown_names<'a>(
    object_type: ObjectType,
    names: &'a [String],
) -> impl Iterator<Item = &'a str> + 'a {
    object_type
        .always_returned
        .iter()
        .chain(if names.is_empty() {
            object_type.returned_by_default
        } else {
            &[]
        })
        .copied()
        .chain(names.iter().map(String::as_str))
}

/// Renders calls with what `options` asks for, loading history and associations in one
/// store read each. The calls are consumed: their values move into the answer.
pub fn render_records(
    crm: &Services,
    partition: Partition,
    calls: Vec<Record>,
    options: &ReadOptions,
) -> Result<Vec<SimplePublicObject>, CrmError> {
    let ids: Vec<RecordId> = calls.iter().map(|c| c.id).collect();
    let history = if options.with_history.is_empty() {
        HistoryByRecord::new()
    } else {
        crm.records
            .history(partition, &ids, &options.with_history)?
    };
    let associations = if options.associations.is_empty() {
        Vec::new()
    } else {
        crm.associations
            .links_by_type(partition, &ids, &options.associations)?
    };
    let schema = crm.records.schema(partition)?;
    Ok(render_loaded(
        partition,
        &schema,
        calls,
        options,
        &history,
        &associations,
    ))
}

/// Renders calls whose schema, history and associations are at hand (empty where `options`
/// asks for none).
pub fn render_loaded(
    partition: Partition,
    schema: &PropertyCatalogue,
    calls: Vec<Record>,
    options: &ReadOptions,
    history: &HistoryByRecord,
    associations: &[(ObjectType, Links)],
) -> Vec<SimplePublicObject> {
    let shown = match &options.properties {
        PropertySelection::Stored => None,
        PropertySelection::Requested(names) => {
            Some(shown_in_order(partition.object_type, schema, names))
        }
    };
    calls
        .into_iter()
        .map(|call| {
            render_call(
                partition.object_type,
                schema,
                shown.as_deref(),
                call,
                options,
                history,
                associations,
            )
        })
        .collect()
}

/// The names a requested selection shows, ascending and once each, as the answer lists
/// them: worked out once per answer, not once per record. Requested names the schema does
/// not define are skipped; the type's own are not.
fn shown_in_order<'a>(
    object_type: ObjectType,
    schema: &PropertyCatalogue,
    names: &'a [String],
) -> Vec<&'a str> {
    let fixed = object_type.always_returned.len()
        + if names.is_empty() {
            object_type.returned_by_default.len()
        } else {
            0
        };
    let mut shown: Vec<&str> = shown_names(object_type, names)
        .enumerate()
        .filter(|(position, name)| *position < fixed || schema.contains(name))
        .map(|(_, name)| name)
        .collect();
    shown.sort_unstable();
    shown.dedup();
    shown
}

fn render_call(
    object_type: ObjectType,
    schema: &PropertyCatalogue,
    shown: Option<&[&str]>,
    mut call: Record,
    options: &ReadOptions,
    history: &HistoryByRecord,
    associations: &[(ObjectType, Links)],
) -> SimplePublicObject {
    let stored = std::mem::take(&mut call.properties);
    let call = &call;
    let properties = match shown {
        // Values of archived properties stay stored but are not shown.
        None => stored
            .into_iter()
            .filter(|(k, _)| schema.contains(k))
            .map(|(k, v)| (k, Some(v)))
            .collect(),
        // Both in ascending order: one walk, values (and names) moved into the answer, and
        // the answer's map built from sorted entries at once.
        Some(shown) => {
            let mut stored = stored.into_iter().peekable();
            let mut properties = Vec::with_capacity(shown.len());
            for name in shown {
                while stored.next_if(|(k, _)| k.as_str() < *name).is_some() {}
                properties.push(match stored.next_if(|(k, _)| k == name) {
                    Some((name, value)) => (name, Some(value)),
                    None => ((*name).to_owned(), None),
                });
            }
            properties.into_iter().collect()
        }
    };
    let properties_with_history = (!options.with_history.is_empty()).then(|| {
        let own = history.get(&call.id);
        options
            .with_history
            .iter()
            .filter(|name| schema.contains(name))
            .map(|name| {
                let entries = own
                    .and_then(|by_name| by_name.get(name))
                    .map(|entries| {
                        entries
                            .iter()
                            .map(|entry| ValueWithTimestamp {
                                value: entry.value.clone(),
                                timestamp: instant(entry.timestamp),
                                source_type: entry.source.source_type.clone(),
                                source_id: entry.source.source_id.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (name.clone(), entries)
            })
            .collect()
    });
    let associations = (!options.associations.is_empty()).then(|| {
        let mut by_kind: BTreeMap<String, AssociatedIds> = BTreeMap::new();
        for (kind, links) in associations {
            let pair = AssociationPair::new(object_type, *kind);
            let default = pair.default_spec();
            let results: Vec<AssociatedId> = links
                .get(&call.id)
                .into_iter()
                .flatten()
                .flat_map(|(to_id, specs)| {
                    specs.iter().map(move |spec| AssociatedId {
                        id: to_id.to_string(),
                        association_type: if Some(*spec) == default {
                            pair.default_type_name()
                        } else {
                            spec.type_id.to_string()
                        },
                    })
                })
                .collect();
            // Types without associations are left out, as HubSpot does.
            if !results.is_empty() {
                by_kind.insert(kind.plural.to_owned(), AssociatedIds { results });
            }
        }
        by_kind
    });
    SimplePublicObject {
        id: call.id.to_string(),
        properties,
        properties_with_history,
        created_at: instant(call.created_at),
        updated_at: instant(call.updated_at),
        archived: call.is_archived(),
        archived_at: call.archived_at.map(instant),
        associations: associations.filter(|a| !a.is_empty()),
    }
}
