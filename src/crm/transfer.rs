//! Moving a portal's data out and back in whole: the NDJSON transfer format behind
//! `hubcalls export` / `hubcalls import`, the admin fixture API and store-to-store copies.
//!
//! One JSON object per line, told apart by its `record` field, in this order:
//!
//! ```text
//! {"record":"header","format":"hubcalls-calls","version":1,"portal":1,"exportedAt":"…"}   optional, first
//! {"record":"group","name":"…","label":"…","displayOrder":0,"archived":false}             custom groups
//! {"record":"property","name":"…","label":"…","type":"string","fieldType":"text",…}      custom properties
//! {"record":"call","id":"…","createdAt":"…","updatedAt":"…","archived":false,
//!  "properties":{…},"propertiesWithHistory":{"name":[{"value","timestamp","sourceType","sourceId"}]},
//!  "associations":[{"toObjectType":"contacts","toObjectId":"…","associationTypeId":194,
//!                   "associationCategory":"HUBSPOT_DEFINED"}]}
//! ```
//!
//! Everything here works over `&dyn Store`, so the same code exports from one engine and
//! imports into another.
//!
//! Atomicity: an import reads its input twice. The first pass checks every line (syntax,
//! property names and values, ids, unique values, order of records) and writes nothing; any
//! problem refuses the whole input, with every problem's line number. Only then does the
//! second pass write: groups and properties, then calls in chunks of [`CHUNK`] per
//! transaction, so memory stays bounded. What can still fail then is the store itself (disk
//! full, or another writer taking a unique value in between): chunks already written stay,
//! and running the same import again is safe, since a call is replaced by its own id.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, Write};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::associations::{Association, AssociationCategory, AssociationPair};
use super::error::{CrmError, StoreError};
use super::history::{HistoryEntry, PropertyChange};
use super::objects::{ObjectType, Partition};
use super::ports::{RestoredRecord, Store};
use super::properties::{
    normalize_value, ModificationMetadata, PropertyCatalogue, PropertyDefinition, PropertyOption,
    PropertyType,
};
use super::record::{PortalId, Record, RecordId, WriteSource, CALL_OBJECT_TYPE_ID};
use super::schema::{
    bool_options, builtin_groups, check_definition, check_name, parse_type, PropertyGroup,
    PropertyRecord, MAX_UNIQUE_PROPERTIES,
};
use super::service::RecordService;
use super::time::{format_datetime, now_millis, parse_datetime, EpochMillis};

/// The `format` of the header record.
pub const FORMAT_NAME: &str = "hubcalls-calls";
/// The version of the format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Calls per read or write transaction: large enough to be fast, small enough that a file
/// of any size needs little memory.
pub const CHUNK: usize = 500;
/// Problems listed before the rest are only counted.
const MAX_LISTED_PROBLEMS: usize = 50;
const NO_PORTAL: &str =
    "no portal: give one (--portal, or the fixture's path) or a header with \"portal\"";

/// One thing wrong with an input, at its line (1-based; 0 when it is not about one line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LineProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The input was refused; nothing was written.
    #[error("{} problem(s) in the input; nothing was written", .total)]
    Invalid {
        /// The first problems, in line order.
        problems: Vec<LineProblem>,
        total: usize,
    },
    #[error("cannot read or write: {0}")]
    Io(#[from] std::io::Error),
    /// The store failed while writing, after `written` calls had been written.
    #[error("the store failed after {written} call(s) were written: {source}")]
    Store { written: usize, source: StoreError },
}

impl From<StoreError> for TransferError {
    fn from(source: StoreError) -> Self {
        Self::Store { written: 0, source }
    }
}

impl From<CrmError> for TransferError {
    fn from(error: CrmError) -> Self {
        match error {
            CrmError::Store(source) => source.into(),
            other => Self::Invalid {
                problems: vec![LineProblem {
                    line: 0,
                    message: other.to_string(),
                }],
                total: 1,
            },
        }
    }
}

/// What an export or import moved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferSummary {
    pub portal: PortalId,
    pub groups: usize,
    pub properties: usize,
    pub calls: usize,
}

// ----- the records, as they are on a line ------------------------------------------------

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HeaderLine {
    format: String,
    version: u32,
    #[serde(default)]
    portal: Option<PortalId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exported_at: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GroupLine {
    name: String,
    label: String,
    #[serde(default)]
    display_order: i32,
    #[serde(default)]
    archived: bool,
}

/// A custom property as the properties API writes it, with its bookkeeping times. Fields
/// hubcalls sets itself on every custom property (`calculated`, `modificationMetadata`, …)
/// are accepted and ignored, so a property copied from the API's output loads as it is.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PropertyLine {
    name: String,
    label: String,
    #[serde(rename = "type")]
    property_type: String,
    field_type: String,
    group_name: String,
    #[serde(default)]
    description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    options: Option<Vec<PropertyOption>>,
    #[serde(default = "unordered")]
    display_order: i32,
    #[serde(default)]
    has_unique_value: bool,
    #[serde(default)]
    hidden: bool,
    #[serde(default)]
    form_field: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    archived_at: Option<Value>,
}

fn unordered() -> i32 {
    -1
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CallLine {
    id: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated_at: Option<Value>,
    #[serde(default)]
    archived: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    archived_at: Option<Value>,
    #[serde(default)]
    properties: BTreeMap<String, Value>,
    #[serde(default)]
    properties_with_history: BTreeMap<String, Vec<HistoryLine>>,
    #[serde(default)]
    associations: Vec<AssociationLine>,
}

/// One history entry, newest first per property as the API shows them. Extra fields of
/// HubSpot's shape (`sourceLabel`, `updatedByUserId`) are accepted and ignored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryLine {
    value: Value,
    timestamp: Value,
    #[serde(default = "import_source_type")]
    source_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_id: Option<String>,
}

fn import_source_type() -> String {
    "IMPORT".to_owned()
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AssociationLine {
    to_object_type: String,
    to_object_id: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    association_type_id: Option<u32>,
    #[serde(default = "hubspot_defined")]
    association_category: String,
}

fn hubspot_defined() -> String {
    AssociationCategory::HubspotDefined.as_str().to_owned()
}

/// A line split into its kind and its fields.
enum Line {
    Header(HeaderLine),
    Group(GroupLine),
    Property(PropertyLine),
    Call(CallLine),
}

fn parse_record(text: &str) -> Result<Line, String> {
    let mut value: Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let Some(object) = value.as_object_mut() else {
        return Err("expected a JSON object".to_owned());
    };
    let kind = match object.remove("record") {
        Some(Value::String(kind)) => kind,
        Some(_) => return Err("\"record\" must be a string".to_owned()),
        None => return Err("missing \"record\" (one of header, group, property, call)".to_owned()),
    };
    let fields = |e: serde_json::Error| format!("invalid {kind} record: {e}");
    Ok(match kind.as_str() {
        "header" => Line::Header(serde_json::from_value(value).map_err(fields)?),
        "group" => Line::Group(serde_json::from_value(value).map_err(fields)?),
        "property" => Line::Property(serde_json::from_value(value).map_err(fields)?),
        "call" => Line::Call(serde_json::from_value(value).map_err(fields)?),
        other => {
            return Err(format!(
                "unknown record \"{other}\": expected header, group, property or call"
            ))
        }
    })
}

/// A scalar as property text: strings as they are, numbers and booleans as written.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// An instant given as ISO 8601 text or epoch milliseconds.
fn instant(value: &Value, field: &str) -> Result<EpochMillis, String> {
    scalar_text(value)
        .filter(|text| !text.is_empty())
        .and_then(|text| parse_datetime(&text))
        .ok_or_else(|| {
            format!("{field} {value} is not an instant (ISO 8601 or epoch milliseconds)")
        })
}

fn optional_instant(value: &Option<Value>, field: &str) -> Result<Option<EpochMillis>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => instant(value, field).map(Some),
    }
}

// ----- export ----------------------------------------------------------------------------

/// Every property name a portal's calls may hold values or history of.
pub(super) fn all_property_names(
    builtin: &PropertyCatalogue,
    custom: &[PropertyRecord],
) -> Vec<String> {
    let mut names: Vec<String> = builtin.iter().map(|d| d.name.clone()).collect();
    names.extend(custom.iter().map(|r| r.definition.name.clone()));
    names.sort();
    names.dedup();
    names
}

/// Reads up to [`CHUNK`] calls with id >= `from` (live or archived ones), whole.
fn read_chunk(
    store: &dyn Store,
    partition: Partition,
    names: &[String],
    archived: bool,
    from: RecordId,
) -> Result<Vec<RestoredRecord>, StoreError> {
    let calls = store.list_records(partition, archived, from, CHUNK)?;
    if calls.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<RecordId> = calls.iter().map(|c| c.id).collect();
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
    Ok(calls
        .into_iter()
        .map(|call| {
            let changes = history
                .remove(&call.id)
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
            let mut links = associations.remove(&call.id).unwrap_or_default();
            links.sort();
            RestoredRecord {
                associations: links,
                history: changes,
                call,
            }
        })
        .collect())
}

/// Walks every call of the portal, live ones then archived ones, chunk by chunk.
pub(super) fn for_each_chunk(
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

fn property_line(record: &PropertyRecord) -> PropertyLine {
    let def = &record.definition;
    let time = |t: Option<EpochMillis>| t.map(|t| Value::String(format_datetime(t)));
    PropertyLine {
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

fn call_line(restored: &RestoredRecord) -> CallLine {
    let call = &restored.call;
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
    CallLine {
        id: Value::String(call.id.to_string()),
        created_at: Some(Value::String(format_datetime(call.created_at))),
        updated_at: Some(Value::String(format_datetime(call.updated_at))),
        archived: Some(call.is_archived()),
        archived_at: call.archived_at.map(|t| Value::String(format_datetime(t))),
        properties: call
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
        properties_with_history: history,
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

fn write_record(out: &mut dyn Write, kind: &str, record: &impl Serialize) -> std::io::Result<()> {
    let mut value = serde_json::to_value(record).map_err(std::io::Error::other)?;
    let mut line = serde_json::Map::new();
    line.insert("record".to_owned(), Value::String(kind.to_owned()));
    if let Some(fields) = value.as_object_mut() {
        line.append(fields);
    }
    serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

/// Writes the portal's custom groups, custom properties and every call (live, then
/// archived, by id) with history and associations. `progress` hears the running count of
/// calls after each chunk. Not a snapshot: calls written meanwhile may or may not appear.
pub fn export_portal(
    store: &dyn Store,
    builtin: &PropertyCatalogue,
    portal: PortalId,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(usize),
) -> Result<TransferSummary, TransferError> {
    // The transfer format carries calls only, so far.
    let partition = Partition::new(portal, ObjectType::CALLS);
    let header = HeaderLine {
        format: FORMAT_NAME.to_owned(),
        version: FORMAT_VERSION,
        portal: Some(portal),
        exported_at: Some(format_datetime(now_millis())),
    };
    write_record(out, "header", &header)?;
    let groups = store.custom_groups(partition)?;
    for group in &groups {
        let line = GroupLine {
            name: group.name.clone(),
            label: group.label.clone(),
            display_order: group.display_order,
            archived: group.archived,
        };
        write_record(out, "group", &line)?;
    }
    let properties = store.custom_properties(partition)?;
    for record in &properties {
        write_record(out, "property", &property_line(record))?;
    }
    let names = all_property_names(builtin, &properties);
    let mut calls = 0;
    for_each_chunk(store, partition, &names, |chunk| {
        for restored in &chunk {
            write_record(out, "call", &call_line(restored))?;
        }
        calls += chunk.len();
        progress(calls);
        Ok(())
    })?;
    out.flush()?;
    Ok(TransferSummary {
        portal,
        groups: groups.len(),
        properties: properties.len(),
        calls,
    })
}

/// Copies one partition (a portal's records of one type) whole from one store into another
/// (e.g. from SQLite to PostgreSQL), without going through text, with its custom property
/// groups, properties and pipelines. Records of the partition in `to` with the same ids are
/// replaced.
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
    for pipeline in from.custom_pipelines(partition)? {
        to.save_pipeline(partition, &pipeline)?;
    }
    let schema = live_schema(builtin, &properties);
    let names = all_property_names(builtin, &properties);
    let mut calls = 0;
    for_each_chunk(from, partition, &names, |chunk| {
        to.restore_records(partition, &schema, &chunk)
            .map_err(|source| TransferError::Store {
                written: calls,
                source,
            })?;
        calls += chunk.len();
        progress(calls);
        Ok(())
    })?;
    Ok(TransferSummary {
        portal: partition.portal,
        groups: groups.len(),
        properties: properties.len(),
        calls,
    })
}

/// The built-in properties with the live custom ones: what unique values are indexed by.
fn live_schema(builtin: &PropertyCatalogue, custom: &[PropertyRecord]) -> PropertyCatalogue {
    PropertyCatalogue::from_definitions(
        builtin.iter().map(|d| d.as_ref().clone()).chain(
            custom
                .iter()
                .filter(|r| !r.is_archived())
                .map(|r| r.definition.clone()),
        ),
    )
}

// ----- import ----------------------------------------------------------------------------

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// The portal to load into; the header's portal when `None`.
    pub portal: Option<PortalId>,
    /// Remove everything of the portal first.
    pub reset: bool,
}

/// What the first pass learned: enough to write without holding the calls.
pub struct ImportPlan {
    pub portal: PortalId,
    pub reset: bool,
    pub calls: usize,
    groups: Vec<PropertyGroup>,
    properties: Vec<PropertyRecord>,
    /// Every definition a value may belong to (archived custom ones too).
    values: PropertyCatalogue,
    /// The live definitions after the import (unique values are indexed by these).
    schema: Arc<PropertyCatalogue>,
}

impl ImportPlan {
    pub fn summary(&self) -> TransferSummary {
        TransferSummary {
            portal: self.portal,
            groups: self.groups.len(),
            properties: self.properties.len(),
            calls: self.calls,
        }
    }
}

/// Collects problems in line order, keeping the first ones.
#[derive(Default)]
struct Problems {
    listed: Vec<LineProblem>,
    total: usize,
}

impl Problems {
    fn add(&mut self, line: usize, message: impl Into<String>) {
        self.total += 1;
        if self.listed.len() < MAX_LISTED_PROBLEMS {
            self.listed.push(LineProblem {
                line,
                message: message.into(),
            });
        }
    }

    fn into_result(self) -> Result<(), TransferError> {
        if self.total == 0 {
            return Ok(());
        }
        Err(self.into_error())
    }

    fn into_error(mut self) -> TransferError {
        self.listed.sort_by_key(|p| p.line);
        TransferError::Invalid {
            problems: self.listed,
            total: self.total,
        }
    }

    /// Adds a problem that stops the check at once.
    fn refuse(&mut self, line: usize, message: &str) -> TransferError {
        self.add(line, message);
        std::mem::take(self).into_error()
    }
}

/// Reads the lines of an input with their 1-based numbers, skipping blank ones; a line
/// that is not UTF-8 is handed over as the reason it cannot be read.
fn numbered_lines(
    mut input: impl BufRead,
    mut visit: impl FnMut(usize, Result<&str, &'static str>) -> Result<(), TransferError>,
) -> Result<(), TransferError> {
    let mut buffer = Vec::new();
    let mut number = 0;
    loop {
        buffer.clear();
        if input.read_until(b'\n', &mut buffer)? == 0 {
            return Ok(());
        }
        number += 1;
        match std::str::from_utf8(&buffer).map(str::trim) {
            Ok("") => {}
            Ok(text) => visit(number, Ok(text))?,
            Err(_) => visit(number, Err("the line is not valid UTF-8"))?,
        }
    }
}

/// A unique value as stores compare it: numbers by value, text without regard to case.
fn unique_key(def: &PropertyDefinition, value: &str) -> String {
    if def.property_type == PropertyType::Number {
        if let Ok(number) = value.parse::<f64>() {
            return number.to_string();
        }
    }
    value.to_lowercase()
}

/// The record id in a call line: a positive integer as a number or a string.
fn call_id(value: &Value) -> Result<RecordId, String> {
    scalar_text(value)
        .and_then(|text| text.trim().parse::<RecordId>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| format!("call id {value} is not a positive integer"))
}

/// Turns a call line into a call to restore, checking every field against `values`.
fn restored_call(
    line: CallLine,
    values: &PropertyCatalogue,
) -> Result<RestoredRecord, Vec<String>> {
    let mut errors = Vec::new();
    let id = call_id(&line.id).map_err(|e| vec![e])?;
    let mut properties = BTreeMap::new();
    for (name, raw) in &line.properties {
        let Some(def) = values.get(name) else {
            errors.push(format!("property \"{name}\" does not exist"));
            continue;
        };
        let Some(text) = scalar_text(raw) else {
            errors.push(format!(
                "value of \"{name}\" must be a string, number or boolean"
            ));
            continue;
        };
        match normalize_value(def, &text) {
            Ok(Some(value)) => {
                properties.insert(name.clone(), value);
            }
            Ok(None) => {}
            Err(problem) => errors.push(format!("{name}: {}", problem.message)),
        }
    }
    let created_at = optional_instant(&line.created_at, "createdAt").map_err(|e| errors.push(e));
    let updated_at = optional_instant(&line.updated_at, "updatedAt").map_err(|e| errors.push(e));
    let archived_at = optional_instant(&line.archived_at, "archivedAt").map_err(|e| errors.push(e));
    let mut history = Vec::new();
    for (name, entries) in &line.properties_with_history {
        if !values.contains(name) {
            errors.push(format!(
                "history of property \"{name}\" which does not exist"
            ));
            continue;
        }
        // Given newest first, kept oldest first.
        for entry in entries.iter().rev() {
            let value = scalar_text(&entry.value);
            let timestamp = instant(&entry.timestamp, "history timestamp");
            match (value, timestamp) {
                (Some(value), Ok(timestamp)) => history.push(PropertyChange {
                    name: name.clone(),
                    value: (!value.is_empty()).then(|| value.clone()),
                    entry: HistoryEntry {
                        value,
                        timestamp,
                        source: WriteSource {
                            source_type: entry.source_type.clone(),
                            source_id: entry.source_id.clone(),
                        },
                    },
                }),
                (None, _) => errors.push(format!(
                    "history value of \"{name}\" must be a string, number or boolean"
                )),
                (_, Err(e)) => errors.push(format!("{name}: {e}")),
            }
        }
    }
    let mut associations = Vec::new();
    for link in &line.associations {
        match association(id, link) {
            Ok(association) => associations.push(association),
            Err(e) => errors.push(e),
        }
    }
    let (Ok(created_at), Ok(updated_at), Ok(archived_at)) = (created_at, updated_at, archived_at)
    else {
        return Err(errors);
    };
    let archived_at = match (line.archived, archived_at) {
        (Some(false), Some(_)) => {
            errors.push("archivedAt is set but archived is false".to_owned());
            None
        }
        (Some(true), None) => Some(updated_at.or(created_at).unwrap_or_else(now_millis)),
        (_, at) => at,
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let created_at = created_at.unwrap_or_else(now_millis);
    let updated_at = updated_at.unwrap_or(created_at);
    let mut call = Record {
        id,
        properties,
        created_at,
        updated_at,
        archived_at,
    };
    fill_identity(&mut call, values, &mut history).map_err(|e| vec![e])?;
    associations.sort();
    associations.dedup();
    Ok(RestoredRecord {
        call,
        history,
        associations,
    })
}

/// Gives a hand-written call what every call created through the API has (its id, object
/// coordinates, create and modification dates) and a history entry for each value that has
/// none, so it reads like any other call. An export already has all of it.
fn fill_identity(
    call: &mut Record,
    values: &PropertyCatalogue,
    history: &mut Vec<PropertyChange>,
) -> Result<(), String> {
    let id_text = call.id.to_string();
    if let Some(given) = call.property("hs_object_id") {
        if given != id_text {
            return Err(format!(
                "hs_object_id {given} differs from the call id {id_text}"
            ));
        }
    }
    let identity = [
        ("hs_object_id", id_text.clone()),
        ("hs_obj_coords", format!("{CALL_OBJECT_TYPE_ID}-{id_text}")),
        ("hs_createdate", format_datetime(call.created_at)),
        ("hs_lastmodifieddate", format_datetime(call.updated_at)),
    ];
    for (name, value) in identity {
        if values.contains(name) && !call.properties.contains_key(name) {
            call.properties.insert(name.to_owned(), value);
        }
    }
    let with_history: HashSet<String> = history.iter().map(|c| c.name.clone()).collect();
    for (name, value) in &call.properties {
        if !with_history.contains(name) {
            history.push(PropertyChange {
                name: name.clone(),
                value: Some(value.clone()),
                entry: HistoryEntry {
                    value: value.clone(),
                    timestamp: call.updated_at,
                    source: WriteSource {
                        source_type: import_source_type(),
                        source_id: None,
                    },
                },
            });
        }
    }
    Ok(())
}

fn association(call_id: RecordId, link: &AssociationLine) -> Result<Association, String> {
    let kind = ObjectType::parse(&link.to_object_type).ok_or_else(|| {
        format!(
            "association to \"{}\": calls associate with contacts, companies, deals or tickets",
            link.to_object_type
        )
    })?;
    let to_id = scalar_text(&link.to_object_id)
        .and_then(|t| t.trim().parse::<u64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            format!(
                "association toObjectId {} is not a record id",
                link.to_object_id
            )
        })?;
    let category = AssociationCategory::parse(&link.association_category).ok_or_else(|| {
        format!(
            "associationCategory \"{}\" is not one of HUBSPOT_DEFINED, USER_DEFINED, INTEGRATOR_DEFINED",
            link.association_category
        )
    })?;
    // The transfer format holds calls: their HubSpot-defined type is the default one.
    let default = AssociationPair::new(ObjectType::CALLS, kind)
        .default_spec()
        .map(|spec| spec.type_id)
        .ok_or_else(|| format!("calls have no association with {}", kind.plural))?;
    let type_id = match (category, link.association_type_id) {
        (AssociationCategory::HubspotDefined, None) => default,
        (AssociationCategory::HubspotDefined, Some(t)) if t == default => t,
        (AssociationCategory::HubspotDefined, Some(t)) => {
            return Err(format!(
                "associationTypeId {t} is not HubSpot's call-to-{} type ({default})",
                kind.singular,
            ))
        }
        (_, Some(t)) if t > 0 => t,
        (_, _) => {
            return Err("a labelled association needs a positive associationTypeId".to_owned())
        }
    };
    Ok(Association {
        from_id: call_id,
        to_type: kind,
        to_id,
        type_id,
        category,
    })
}

fn property_record(line: PropertyLine) -> Result<PropertyRecord, String> {
    check_name("property", &line.name).map_err(|e| e.to_string())?;
    if PropertyCatalogue::builtin().contains(&line.name) {
        return Err(format!(
            "property \"{}\" is built in; only custom properties can be loaded",
            line.name
        ));
    }
    let property_type = parse_type(&line.property_type).map_err(|e| e.to_string())?;
    let created_at = optional_instant(&line.created_at, "createdAt")?;
    let updated_at = optional_instant(&line.updated_at, "updatedAt")?;
    let archived_at = optional_instant(&line.archived_at, "archivedAt")?;
    let options = match (property_type, line.options) {
        (PropertyType::Bool, None) => bool_options(),
        (_, options) => options.unwrap_or_default(),
    };
    let created_at = created_at.unwrap_or_else(now_millis);
    Ok(PropertyRecord {
        definition: PropertyDefinition {
            name: line.name,
            label: line.label,
            property_type,
            field_type: line.field_type,
            group_name: line.group_name,
            description: line.description,
            options,
            display_order: line.display_order,
            calculated: false,
            external_options: false,
            has_unique_value: line.has_unique_value,
            hidden: line.hidden,
            hubspot_defined: false,
            form_field: line.form_field,
            data_sensitivity: Some("non_sensitive".to_owned()),
            referenced_object_type: None,
            modification_metadata: ModificationMetadata {
                archivable: true,
                read_only_definition: false,
                read_only_value: false,
                read_only_options: Some(false),
            },
        },
        created_at: Some(created_at),
        updated_at: Some(updated_at.unwrap_or(created_at)),
        archived_at,
    })
}

fn group_record(line: GroupLine) -> Result<PropertyGroup, String> {
    check_name("property group", &line.name).map_err(|e| e.to_string())?;
    if line.label.trim().is_empty() {
        return Err("a property group needs a non-empty label".to_owned());
    }
    if builtin_groups().iter().any(|g| g.name == line.name) {
        return Err(format!("property group \"{}\" is built in", line.name));
    }
    Ok(PropertyGroup {
        name: line.name,
        label: line.label,
        display_order: line.display_order,
        archived: line.archived,
    })
}

/// Where the first pass is in the order of records.
#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Stage {
    Start,
    Groups,
    Properties,
    Calls,
}

/// The first pass: checks the whole input and writes nothing.
pub fn check_import(
    store: &dyn Store,
    builtin: &PropertyCatalogue,
    input: impl BufRead,
    options: ImportOptions,
) -> Result<ImportPlan, TransferError> {
    let mut problems = Problems::default();
    let mut stage = Stage::Start;
    let mut seen_any = false;
    let mut groups: Vec<(usize, PropertyGroup)> = Vec::new();
    let mut properties: Vec<(usize, PropertyRecord)> = Vec::new();
    // Built when the first call arrives: definitions are complete by then.
    let mut catalogues: Option<(PropertyCatalogue, PropertyCatalogue)> = None;
    let mut ids: HashMap<RecordId, usize> = HashMap::new();
    // (property, comparison key) -> (line, call id) of live calls' unique values.
    let mut unique: HashMap<(String, String), (usize, RecordId)> = HashMap::new();
    let mut unique_values: Vec<(usize, RecordId, String, String)> = Vec::new();
    let mut portal_known: Option<PortalId> = options.portal;
    let mut existing: Option<(Vec<PropertyRecord>, Vec<PropertyGroup>)> = None;
    let mut calls = 0;
    numbered_lines(input, |line, text| {
        let record = match text {
            Err(reason) => {
                problems.add(line, reason);
                return Ok(());
            }
            Ok(text) => parse_record(text),
        };
        let record = match record {
            Ok(record) => record,
            Err(message) => {
                problems.add(line, message);
                return Ok(());
            }
        };
        let this_stage = match &record {
            Line::Header(_) => Stage::Start,
            Line::Group(_) => Stage::Groups,
            Line::Property(_) => Stage::Properties,
            Line::Call(_) => Stage::Calls,
        };
        if this_stage == Stage::Start && seen_any {
            problems.add(line, "the header must be the first record");
            return Ok(());
        }
        seen_any = true;
        if this_stage < stage {
            problems.add(
                line,
                "records must come in the order header, groups, properties, calls",
            );
            return Ok(());
        }
        stage = this_stage.max(stage);
        match record {
            Line::Header(header) => {
                if header.format != FORMAT_NAME {
                    problems.add(
                        line,
                        format!("format \"{}\" is not {FORMAT_NAME}", header.format),
                    );
                }
                if header.version != FORMAT_VERSION {
                    problems.add(
                        line,
                        format!(
                            "version {} is not supported (this hubcalls reads version {FORMAT_VERSION})",
                            header.version
                        ),
                    );
                }
                portal_known = portal_known.or(header.portal);
            }
            Line::Group(group) => match group_record(group) {
                Ok(group) if groups.iter().any(|(_, g)| g.name == group.name) => problems.add(
                    line,
                    format!("property group \"{}\" appears twice", group.name),
                ),
                Ok(group) => groups.push((line, group)),
                Err(message) => problems.add(line, message),
            },
            Line::Property(property) => match property_record(property) {
                Ok(record)
                    if properties
                        .iter()
                        .any(|(_, p)| p.definition.name == record.definition.name) =>
                {
                    problems.add(
                        line,
                        format!("property \"{}\" appears twice", record.definition.name),
                    )
                }
                Ok(record) => properties.push((line, record)),
                Err(message) => problems.add(line, message),
            },
            Line::Call(call) => {
                calls += 1;
                if catalogues.is_none() {
                    let Some(portal) = portal_known else {
                        return Err(problems.refuse(line, NO_PORTAL));
                    };
                    let found = current_definitions(store, portal, options.reset)?;
                    let (values, schema) = catalogues_for(builtin, &found.0, &properties);
                    existing = Some(found);
                    catalogues = Some((values, schema));
                }
                let Some((values, schema)) = &catalogues else {
                    return Ok(());
                };
                match restored_call(call, values) {
                    Ok(restored) => {
                        let id = restored.call.id;
                        if let Some(first) = ids.insert(id, line) {
                            problems.add(
                                line,
                                format!("call id {id} already appears on line {first}"),
                            );
                        }
                        if !restored.call.is_archived() {
                            for def in schema.iter().filter(|d| d.has_unique_value) {
                                let Some(value) = restored.call.property(&def.name) else {
                                    continue;
                                };
                                let key = (def.name.clone(), unique_key(def, value));
                                if let Some((other_line, other)) = unique.get(&key) {
                                    problems.add(line, format!(
                                        "{} \"{value}\" is a unique value and is also held by call {other} (line {other_line})",
                                        def.name
                                    ));
                                } else {
                                    unique.insert(key, (line, id));
                                    unique_values.push((
                                        line,
                                        id,
                                        def.name.clone(),
                                        value.to_owned(),
                                    ));
                                }
                            }
                        }
                    }
                    Err(messages) => {
                        for message in messages {
                            problems.add(line, message);
                        }
                    }
                }
            }
        }
        Ok(())
    })?;
    let Some(portal) = portal_known else {
        return Err(problems.refuse(0, NO_PORTAL));
    };
    let (existing_properties, existing_groups) = match existing {
        Some(found) => found,
        None => current_definitions(store, portal, options.reset)?,
    };
    check_definitions(
        &mut problems,
        &groups,
        &properties,
        &existing_properties,
        &existing_groups,
    );
    check_ids_elsewhere(store, portal, &ids, &mut problems)?;
    if !options.reset {
        check_unique_in_store(store, portal, &ids, &unique_values, &mut problems)?;
    }
    problems.into_result()?;
    let properties: Vec<PropertyRecord> = properties.into_iter().map(|(_, p)| p).collect();
    let (values, schema) = catalogues_for_records(builtin, &existing_properties, &properties);
    Ok(ImportPlan {
        portal,
        reset: options.reset,
        calls,
        groups: groups.into_iter().map(|(_, g)| g).collect(),
        properties,
        values,
        schema: Arc::new(schema),
    })
}

/// The portal's own definitions that stay (none when the portal is reset first).
fn current_definitions(
    store: &dyn Store,
    portal: PortalId,
    reset: bool,
) -> Result<(Vec<PropertyRecord>, Vec<PropertyGroup>), StoreError> {
    if reset {
        return Ok((Vec::new(), Vec::new()));
    }
    let partition = Partition::new(portal, ObjectType::CALLS);
    Ok((
        store.custom_properties(partition)?,
        store.custom_groups(partition)?,
    ))
}

/// The definitions values are checked against (archived ones too) and the live schema,
/// once the input's properties replace the portal's ones of the same name.
fn catalogues_for(
    builtin: &PropertyCatalogue,
    existing: &[PropertyRecord],
    loaded: &[(usize, PropertyRecord)],
) -> (PropertyCatalogue, PropertyCatalogue) {
    let loaded: Vec<PropertyRecord> = loaded.iter().map(|(_, p)| p.clone()).collect();
    catalogues_for_records(builtin, existing, &loaded)
}

fn catalogues_for_records(
    builtin: &PropertyCatalogue,
    existing: &[PropertyRecord],
    loaded: &[PropertyRecord],
) -> (PropertyCatalogue, PropertyCatalogue) {
    let mut custom: BTreeMap<String, PropertyRecord> = existing
        .iter()
        .map(|r| (r.definition.name.clone(), r.clone()))
        .collect();
    for record in loaded {
        custom.insert(record.definition.name.clone(), record.clone());
    }
    let custom: Vec<PropertyRecord> = custom.into_values().collect();
    let values = PropertyCatalogue::from_definitions(
        builtin
            .iter()
            .map(|d| d.as_ref().clone())
            .chain(custom.iter().map(|r| r.definition.clone())),
    );
    (values, live_schema(builtin, &custom))
}

/// Properties must sit in groups that exist, and unique properties stay within the cap.
fn check_definitions(
    problems: &mut Problems,
    groups: &[(usize, PropertyGroup)],
    properties: &[(usize, PropertyRecord)],
    existing_properties: &[PropertyRecord],
    existing_groups: &[PropertyGroup],
) {
    let mut all_groups = builtin_groups();
    for group in existing_groups {
        if !groups.iter().any(|(_, g)| g.name == group.name) {
            all_groups.push(group.clone());
        }
    }
    all_groups.extend(groups.iter().map(|(_, g)| g.clone()));
    for (line, record) in properties {
        // An archived property may sit in a group archived with it.
        let visible: Vec<PropertyGroup> = all_groups
            .iter()
            .map(|g| PropertyGroup {
                archived: g.archived && !record.is_archived(),
                ..g.clone()
            })
            .collect();
        if let Err(error) = check_definition(&record.definition, &visible) {
            problems.add(
                *line,
                format!("property \"{}\": {error}", record.definition.name),
            );
        }
    }
    let loaded: Vec<PropertyRecord> = properties.iter().map(|(_, p)| p.clone()).collect();
    let unique = existing_properties
        .iter()
        .filter(|r| {
            !loaded
                .iter()
                .any(|l| l.definition.name == r.definition.name)
        })
        .chain(loaded.iter())
        .filter(|r| !r.is_archived() && r.definition.has_unique_value)
        .count();
    if unique > MAX_UNIQUE_PROPERTIES {
        problems.add(
            properties.last().map_or(0, |(line, _)| *line),
            format!("calls can have at most {MAX_UNIQUE_PROPERTIES} unique value properties; this import would make {unique}"),
        );
    }
}

/// Record ids are unique across portals: an id another portal holds cannot be loaded.
fn check_ids_elsewhere(
    store: &dyn Store,
    portal: PortalId,
    ids: &HashMap<RecordId, usize>,
    problems: &mut Problems,
) -> Result<(), StoreError> {
    let others: Vec<PortalId> = store
        .portals()?
        .into_iter()
        .filter(|p| *p != portal)
        .collect();
    if others.is_empty() || ids.is_empty() {
        return Ok(());
    }
    let all: Vec<RecordId> = ids.keys().copied().collect();
    for chunk in all.chunks(CHUNK) {
        for other in &others {
            for call in store.get_records(Partition::new(*other, ObjectType::CALLS), chunk)? {
                let line = ids.get(&call.id).copied().unwrap_or(0);
                problems.add(
                    line,
                    format!("call id {} belongs to portal {other}", call.id),
                );
            }
        }
    }
    Ok(())
}

/// A unique value may not repeat one a call of the portal already holds, unless that call
/// is itself replaced by the import.
fn check_unique_in_store(
    store: &dyn Store,
    portal: PortalId,
    ids: &HashMap<RecordId, usize>,
    values: &[(usize, RecordId, String, String)],
    problems: &mut Problems,
) -> Result<(), StoreError> {
    let partition = Partition::new(portal, ObjectType::CALLS);
    for (line, id, name, value) in values {
        for holder in store.find_by_value(partition, name, value)? {
            if holder != *id && !ids.contains_key(&holder) {
                problems.add(
                    *line,
                    format!("{name} \"{value}\" is a unique value already held by call {holder} of portal {portal}"),
                );
            }
        }
    }
    Ok(())
}

/// The second pass: writes what [`check_import`] accepted. `progress` hears the running
/// count of calls after each chunk.
pub fn apply_import(
    store: &dyn Store,
    plan: &ImportPlan,
    input: impl BufRead,
    progress: &mut dyn FnMut(usize),
) -> Result<TransferSummary, TransferError> {
    let portal = plan.portal;
    let partition = Partition::new(portal, ObjectType::CALLS);
    if plan.reset {
        store.reset_portal(portal)?;
    }
    for group in &plan.groups {
        store.save_group(partition, group)?;
    }
    for property in &plan.properties {
        store.save_property(partition, property)?;
    }
    let mut written = 0;
    let mut chunk = Vec::with_capacity(CHUNK);
    let flush = |chunk: &mut Vec<RestoredRecord>, written: &mut usize| {
        store
            .restore_records(partition, &plan.schema, chunk)
            .map_err(|source| TransferError::Store {
                written: *written,
                source,
            })?;
        *written += chunk.len();
        chunk.clear();
        Ok::<(), TransferError>(())
    };
    numbered_lines(input, |line, text| {
        let changed = |message: String| TransferError::Invalid {
            problems: vec![LineProblem {
                line,
                message: format!("{message} (the input changed after it was checked)"),
            }],
            total: 1,
        };
        let record = text
            .map_err(str::to_owned)
            .and_then(parse_record)
            .map_err(changed)?;
        if let Line::Call(call) = record {
            let restored = restored_call(call, &plan.values).map_err(|e| changed(e.join("; ")))?;
            chunk.push(restored);
            if chunk.len() == CHUNK {
                flush(&mut chunk, &mut written)?;
                progress(written);
            }
        }
        Ok(())
    })?;
    if !chunk.is_empty() {
        flush(&mut chunk, &mut written)?;
        progress(written);
    }
    Ok(TransferSummary {
        calls: written,
        ..plan.summary()
    })
}

impl RecordService {
    /// Loads an NDJSON fixture held in memory (the admin API): checks it whole, then writes.
    pub fn load_fixture(
        &self,
        portal: PortalId,
        body: &[u8],
        reset: bool,
    ) -> Result<TransferSummary, TransferError> {
        let options = ImportOptions {
            portal: Some(portal),
            reset,
        };
        let plan = check_import(self.store(), self.builtin_schema(), body, options)?;
        let outcome = apply_import(self.store(), &plan, body, &mut |_| {});
        // Whatever was written, the cached schema of the portal is stale now.
        self.forget_schema(Partition::new(portal, ObjectType::CALLS));
        outcome
    }

    /// Writes the portal as NDJSON (the admin API's export).
    pub fn export_portal(
        &self,
        portal: PortalId,
        out: &mut dyn Write,
    ) -> Result<TransferSummary, TransferError> {
        export_portal(
            self.store(),
            self.builtin_schema(),
            portal,
            out,
            &mut |_| {},
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_name_their_kind() {
        assert!(matches!(
            parse_record(r#"{"record":"call","id":"5"}"#),
            Ok(Line::Call(_))
        ));
        let error = parse_record(r#"{"id":"5"}"#).err().unwrap();
        assert!(error.contains("missing \"record\""), "{error}");
        let error = parse_record(r#"{"record":"call","id":"5","propertes":{}}"#)
            .err()
            .unwrap();
        assert!(error.contains("unknown field `propertes`"), "{error}");
        let error = parse_record("[1]").err().unwrap();
        assert_eq!(error, "expected a JSON object");
    }

    #[test]
    fn a_line_that_is_not_utf8_is_named() {
        let store = crate::store::SqliteStore::in_memory().unwrap();
        let input: &[u8] = b"{\"record\":\"call\",\"id\":1,\"properties\":{}}\n\xff\xfe\n";
        let options = ImportOptions {
            portal: Some(1),
            reset: false,
        };
        match check_import(&store, &PropertyCatalogue::builtin(), input, options) {
            Err(TransferError::Invalid { problems, total }) => {
                assert_eq!(total, 1);
                assert_eq!(
                    problems[0].to_string(),
                    "line 2: the line is not valid UTF-8"
                );
            }
            other => panic!("unexpected {:?}", other.map(|p| p.calls)),
        }
    }

    #[test]
    fn hand_written_calls_get_an_identity_and_history() {
        let values = PropertyCatalogue::builtin();
        let line: CallLine = serde_json::from_str(
            r#"{"id":42,"createdAt":"2025-01-01T00:00:00Z","properties":{"hs_timestamp":1735689600000,"hs_call_title":"Hi"}}"#,
        )
        .unwrap();
        let restored = restored_call(line, &values).unwrap();
        assert_eq!(restored.call.property("hs_object_id"), Some("42"));
        assert_eq!(restored.call.property("hs_obj_coords"), Some("0-48-42"));
        assert_eq!(
            restored.call.property("hs_timestamp"),
            Some("2025-01-01T00:00:00Z")
        );
        assert_eq!(restored.call.updated_at, restored.call.created_at);
        assert!(restored
            .history
            .iter()
            .any(|c| c.name == "hs_call_title" && c.entry.source.source_type == "IMPORT"));
    }

    #[test]
    fn association_types_must_fit() {
        let link = |kind: &str, type_id: Option<u32>, category: &str| AssociationLine {
            to_object_type: kind.to_owned(),
            to_object_id: Value::from(7),
            association_type_id: type_id,
            association_category: category.to_owned(),
        };
        assert_eq!(
            association(1, &link("contacts", None, "HUBSPOT_DEFINED"))
                .unwrap()
                .type_id,
            194
        );
        assert!(association(1, &link("contacts", Some(182), "HUBSPOT_DEFINED")).is_err());
        assert!(association(1, &link("widgets", None, "HUBSPOT_DEFINED")).is_err());
        assert_eq!(
            association(1, &link("0-3", Some(12), "USER_DEFINED"))
                .unwrap()
                .to_type,
            ObjectType::DEALS
        );
    }
}
