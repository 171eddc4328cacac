//! Writing a portal out: its custom groups, properties and pipelines, then every record of
//! every type, live then archived, by id, chunk by chunk, each with its history and the
//! associations its type keeps (so each association is written once, on the side that
//! keeps it, and read back from both).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use serde_json::Value;

use super::format::{
    write_record, AssociationLine, GroupLine, HeaderLine, HistoryLine, ObjectLine, PropertyLine,
};
use super::pipelines::pipeline_line;
use super::{TransferError, TransferSummary, CHUNK, FORMAT_NAME, FORMAT_VERSION};
use crate::crm::associations::Association;
use crate::crm::error::StoreError;
use crate::crm::history::{HistoryEntry, PropertyChange};
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::ports::{RestoredRecord, Store};
use crate::crm::properties::PropertyCatalogue;
use crate::crm::record::{PortalId, RecordId};
use crate::crm::schema::PropertyRecord;
use crate::crm::time::{format_datetime, now_millis, EpochMillis};

/// Every property name a partition's records may hold values or history of.
pub(crate) fn all_property_names(
    builtin: &PropertyCatalogue,
    custom: &[PropertyRecord],
) -> Vec<String> {
    let mut names: Vec<String> = builtin.iter().map(|d| d.name.clone()).collect();
    names.extend(custom.iter().map(|r| r.definition.name.clone()));
    names.sort();
    names.dedup();
    names
}

/// Reads up to [`CHUNK`] records with id >= `from` (live or archived ones), whole.
fn read_chunk(
    store: &dyn Store,
    partition: Partition,
    names: &[String],
    archived: bool,
    from: RecordId,
) -> Result<Vec<RestoredRecord>, StoreError> {
    let records = store.list_records(partition, archived, from, CHUNK)?;
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<RecordId> = records.iter().map(|c| c.id).collect();
    // The store answers newest first per property; a restore wants oldest first.
    let mut history: HashMap<RecordId, BTreeMap<String, Vec<HistoryEntry>>> = HashMap::new();
    for (id, name, entry) in store.history(partition, &ids, names)? {
        history
            .entry(id)
            .or_default()
            .entry(name)
            .or_default()
            .push(entry);
    }
    let mut associations: HashMap<RecordId, Vec<Association>> = HashMap::new();
    for association in store.associations(partition, &ids)? {
        associations
            .entry(association.from_id)
            .or_default()
            .push(association);
    }
    Ok(records
        .into_iter()
        .map(|record| {
            let changes = history
                .remove(&record.id)
                .unwrap_or_default()
                .into_iter()
                .flat_map(|(name, entries)| {
                    entries.into_iter().rev().map(move |entry| PropertyChange {
                        name: name.clone(),
                        value: (!entry.value.is_empty()).then(|| entry.value.clone()),
                        entry,
                    })
                })
                .collect();
            let mut links = associations.remove(&record.id).unwrap_or_default();
            links.sort();
            RestoredRecord {
                associations: links,
                history: changes,
                call: record,
            }
        })
        .collect())
}

/// Walks every record of a partition, live ones then archived ones, chunk by chunk.
pub(crate) fn for_each_chunk(
    store: &dyn Store,
    partition: Partition,
    names: &[String],
    mut visit: impl FnMut(Vec<RestoredRecord>) -> Result<(), TransferError>,
) -> Result<(), TransferError> {
    for archived in [false, true] {
        let mut from = 0;
        loop {
            let chunk = read_chunk(store, partition, names, archived, from)?;
            let Some(last) = chunk.last() else { break };
            from = last.call.id + 1;
            let full = chunk.len() == CHUNK;
            visit(chunk)?;
            if !full {
                break;
            }
        }
    }
    Ok(())
}

fn property_line(object_type: ObjectType, record: &PropertyRecord) -> PropertyLine {
    let def = &record.definition;
    let time = |t: Option<EpochMillis>| t.map(|t| Value::String(format_datetime(t)));
    PropertyLine {
        object_type: Some(object_type.plural.to_owned()),
        name: def.name.clone(),
        label: def.label.clone(),
        property_type: serde_json::to_value(def.property_type)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        field_type: def.field_type.clone(),
        group_name: def.group_name.clone(),
        description: def.description.clone(),
        options: Some(def.options.clone()),
        display_order: def.display_order,
        has_unique_value: def.has_unique_value,
        hidden: def.hidden,
        form_field: def.form_field,
        created_at: time(record.created_at),
        updated_at: time(record.updated_at),
        archived_at: time(record.archived_at),
    }
}

fn object_line(object_type: ObjectType, restored: &RestoredRecord) -> ObjectLine {
    let record = &restored.call;
    let mut history: BTreeMap<String, Vec<HistoryLine>> = BTreeMap::new();
    for change in &restored.history {
        history
            .entry(change.name.clone())
            .or_default()
            .push(HistoryLine {
                value: Value::String(change.entry.value.clone()),
                timestamp: Value::String(format_datetime(change.entry.timestamp)),
                source_type: change.entry.source.source_type.clone(),
                source_id: change.entry.source.source_id.clone(),
            });
    }
    for entries in history.values_mut() {
        entries.reverse();
    }
    ObjectLine {
        object_type: Some(object_type.plural.to_owned()),
        id: Value::String(record.id.to_string()),
        created_at: Some(Value::String(format_datetime(record.created_at))),
        updated_at: Some(Value::String(format_datetime(record.updated_at))),
        archived: Some(record.is_archived()),
        archived_at: record
            .archived_at
            .map(|t| Value::String(format_datetime(t))),
        properties: record
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
        properties_with_history: history,
        // Kept by this record's type, so read from it as stored.
        associations: restored
            .associations
            .iter()
            .map(|a| AssociationLine {
                to_object_type: a.to_type.plural.to_owned(),
                to_object_id: Value::String(a.to_id.to_string()),
                association_type_id: Some(a.type_id),
                association_category: a.category.as_str().to_owned(),
            })
            .collect(),
    }
}

/// Writes the portal whole: custom groups and properties of every type, the pipelines it
/// created or changed, and every record of every type (live, then archived, by id) with
/// history and associations. `progress` hears the running count of records after each
/// chunk. Not a snapshot: records written meanwhile may or may not appear.
pub fn export_portal(
    store: &dyn Store,
    portal: PortalId,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(usize),
) -> Result<TransferSummary, TransferError> {
    let header = HeaderLine {
        format: FORMAT_NAME.to_owned(),
        version: FORMAT_VERSION,
        portal: Some(portal),
        exported_at: Some(format_datetime(now_millis())),
    };
    write_record(out, "header", &header)?;
    let mut summary = TransferSummary {
        portal,
        ..TransferSummary::default()
    };
    for object_type in ObjectType::all() {
        let partition = Partition::new(portal, object_type);
        for group in store.custom_groups(partition)? {
            let line = GroupLine {
                object_type: Some(object_type.plural.to_owned()),
                name: group.name,
                label: group.label,
                display_order: group.display_order,
                archived: group.archived,
            };
            write_record(out, "group", &line)?;
            summary.groups += 1;
        }
    }
    let mut custom: BTreeMap<ObjectType, Vec<PropertyRecord>> = BTreeMap::new();
    for object_type in ObjectType::all() {
        let properties = store.custom_properties(Partition::new(portal, object_type))?;
        for record in &properties {
            write_record(out, "property", &property_line(object_type, record))?;
        }
        summary.properties += properties.len();
        custom.insert(object_type, properties);
    }
    for object_type in ObjectType::all().filter(|t| t.pipeline.is_some()) {
        for pipeline in store.custom_pipelines(Partition::new(portal, object_type))? {
            write_record(out, "pipeline", &pipeline_line(object_type, &pipeline))?;
            summary.pipelines += 1;
        }
    }
    for (object_type, properties) in &custom {
        let partition = Partition::new(portal, *object_type);
        let names = all_property_names(object_type.catalogue(), properties);
        let mut count = 0;
        for_each_chunk(store, partition, &names, |chunk| {
            for restored in &chunk {
                write_record(out, "object", &object_line(*object_type, restored))?;
            }
            count += chunk.len();
            progress(summary.records + count);
            Ok(())
        })?;
        summary.count(*object_type, count);
    }
    out.flush()?;
    Ok(summary)
}
