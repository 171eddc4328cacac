//! The records of the NDJSON transfer format as they are on a line, and reading and writing
//! lines. What the fields mean to the rules is [`super::decode`]'s business.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::TransferError;
use crate::crm::associations::AssociationCategory;
use crate::crm::objects::ObjectType;
use crate::crm::pipelines::AuditAction;
use crate::crm::properties::PropertyOption;
use crate::crm::record::PortalId;
use crate::crm::time::{parse_datetime, EpochMillis};

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct HeaderLine {
    pub format: String,
    pub version: u32,
    #[serde(default)]
    pub portal: Option<PortalId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported_at: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct GroupLine {
    /// The type the group belongs to; calls when left out (as in version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_type: Option<String>,
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub display_order: i32,
    #[serde(default)]
    pub archived: bool,
}

/// A custom property as the properties API writes it, with its bookkeeping times. Fields
/// hubcalls sets itself on every custom property (`calculated`, `modificationMetadata`, …)
/// are accepted and ignored, so a property copied from the API's output loads as it is.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PropertyLine {
    /// The type the property belongs to; calls when left out (as in version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_type: Option<String>,
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub property_type: String,
    pub field_type: String,
    pub group_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<PropertyOption>>,
    #[serde(default = "unordered")]
    pub display_order: i32,
    #[serde(default)]
    pub has_unique_value: bool,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub form_field: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<Value>,
}

fn unordered() -> i32 {
    -1
}

/// A pipeline of deals or tickets, its stages inline, as the pipelines API shows one (other
/// fields of its output, `archived` or `writePermissions`, are accepted and ignored), with
/// the bookkeeping a portal export keeps: archived stages and the audit trail.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PipelineLine {
    pub object_type: String,
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub display_order: i32,
    #[serde(default)]
    pub stages: Vec<StageLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audit: Vec<AuditLine>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StageLine {
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub display_order: i32,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<Value>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct AuditLine {
    pub identifier: String,
    pub action: AuditAction,
    pub timestamp: Value,
    #[serde(default)]
    pub message: String,
}

/// A record of any type (`"record":"object"`, with `objectType`), or a call
/// (`"record":"call"`, version 1's record, whose `objectType` may be left out).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ObjectLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_type: Option<String>,
    pub id: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Value>,
    #[serde(default)]
    pub archived: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<Value>,
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
    #[serde(default)]
    pub properties_with_history: BTreeMap<String, Vec<HistoryLine>>,
    #[serde(default)]
    pub associations: Vec<AssociationLine>,
}

/// One history entry, newest first per property as the API shows them. Extra fields of
/// HubSpot's shape (`sourceLabel`, `updatedByUserId`) are accepted and ignored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HistoryLine {
    pub value: Value,
    pub timestamp: Value,
    #[serde(default = "import_source_type")]
    pub source_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
}

/// The source of values a file gives without saying where they came from.
pub(super) fn import_source_type() -> String {
    "IMPORT".to_owned()
}

/// An association as read from the record whose line holds it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct AssociationLine {
    pub to_object_type: String,
    pub to_object_id: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub association_type_id: Option<u32>,
    #[serde(default = "hubspot_defined")]
    pub association_category: String,
}

fn hubspot_defined() -> String {
    AssociationCategory::HubspotDefined.as_str().to_owned()
}

/// A line split into its kind and its fields, the object type already read.
pub(super) enum Line {
    Header(HeaderLine),
    Group(ObjectType, GroupLine),
    Property(ObjectType, PropertyLine),
    Pipeline(ObjectType, PipelineLine),
    Object(ObjectType, ObjectLine),
}

const KINDS: &str = "header, group, property, pipeline, object or call";

pub(super) fn parse_record(text: &str) -> Result<Line, String> {
    let mut value: Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let Some(object) = value.as_object_mut() else {
        return Err("expected a JSON object".to_owned());
    };
    let kind = match object.remove("record") {
        Some(Value::String(kind)) => kind,
        Some(_) => return Err("\"record\" must be a string".to_owned()),
        None => return Err(format!("missing \"record\" (one of {KINDS})")),
    };
    let fields = |e: serde_json::Error| format!("invalid {kind} record: {e}");
    Ok(match kind.as_str() {
        "header" => Line::Header(serde_json::from_value(value).map_err(fields)?),
        "group" => {
            let line: GroupLine = serde_json::from_value(value).map_err(fields)?;
            Line::Group(object_type(line.object_type.as_deref(), &kind)?, line)
        }
        "property" => {
            let line: PropertyLine = serde_json::from_value(value).map_err(fields)?;
            Line::Property(object_type(line.object_type.as_deref(), &kind)?, line)
        }
        "pipeline" => {
            let line: PipelineLine = serde_json::from_value(value).map_err(fields)?;
            let t = object_type(Some(&line.object_type), &kind)?;
            if t.pipeline.is_none() {
                return Err(format!(
                    "{} have no pipelines (deals and tickets do)",
                    t.plural
                ));
            }
            Line::Pipeline(t, line)
        }
        "object" => {
            let line: ObjectLine = serde_json::from_value(value).map_err(fields)?;
            let Some(named) = line.object_type.as_deref() else {
                return Err("an object record needs \"objectType\" (contacts, deals, …)".to_owned());
            };
            Line::Object(object_type(Some(named), &kind)?, line)
        }
        "call" => {
            let line: ObjectLine = serde_json::from_value(value).map_err(fields)?;
            let t = object_type(line.object_type.as_deref(), &kind)?;
            if t != ObjectType::CALLS {
                return Err(format!(
                    "a call record holds a call, not {}: use \"record\":\"object\"",
                    t.plural
                ));
            }
            Line::Object(t, line)
        }
        other => return Err(format!("unknown record \"{other}\": expected {KINDS}")),
    })
}

/// The type a line names (any spelling the API takes), calls when it names none.
fn object_type(named: Option<&str>, kind: &str) -> Result<ObjectType, String> {
    let Some(named) = named else {
        return Ok(ObjectType::CALLS);
    };
    ObjectType::parse(named).ok_or_else(|| {
        let known: Vec<&str> = ObjectType::all().map(|t| t.plural).collect();
        format!(
            "{kind} record: unknown objectType \"{named}\" (one of {})",
            known.join(", ")
        )
    })
}

/// Writes one record as a line, its kind first.
pub(super) fn write_record(
    out: &mut dyn Write,
    kind: &str,
    record: &impl Serialize,
) -> std::io::Result<()> {
    let mut value = serde_json::to_value(record).map_err(std::io::Error::other)?;
    let mut line = serde_json::Map::new();
    line.insert("record".to_owned(), Value::String(kind.to_owned()));
    if let Some(fields) = value.as_object_mut() {
        line.append(fields);
    }
    serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

/// Reads the lines of an input with their 1-based numbers, skipping blank ones; a line
/// that is not UTF-8 is handed over as the reason it cannot be read.
pub(super) fn numbered_lines(
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

/// A scalar as property text: strings as they are, numbers and booleans as written.
pub(super) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// An instant given as ISO 8601 text or epoch milliseconds.
pub(super) fn instant(value: &Value, field: &str) -> Result<EpochMillis, String> {
    scalar_text(value)
        .filter(|text| !text.is_empty())
        .and_then(|text| parse_datetime(&text))
        .ok_or_else(|| {
            format!("{field} {value} is not an instant (ISO 8601 or epoch milliseconds)")
        })
}

pub(super) fn optional_instant(
    value: &Option<Value>,
    field: &str,
) -> Result<Option<EpochMillis>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => instant(value, field).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_name_their_kind_and_type() {
        assert!(matches!(
            parse_record(r#"{"record":"call","id":"5"}"#),
            Ok(Line::Object(ObjectType::CALLS, _))
        ));
        assert!(matches!(
            parse_record(r#"{"record":"object","objectType":"0-1","id":"5"}"#),
            Ok(Line::Object(ObjectType::CONTACTS, _))
        ));
        assert!(matches!(
            parse_record(r#"{"record":"group","name":"g","label":"G"}"#),
            Ok(Line::Group(ObjectType::CALLS, _))
        ));
        let error = parse_record(r#"{"id":"5"}"#).err().unwrap();
        assert!(error.contains("missing \"record\""), "{error}");
        let error = parse_record(r#"{"record":"call","id":"5","propertes":{}}"#)
            .err()
            .unwrap();
        assert!(error.contains("unknown field `propertes`"), "{error}");
        let error = parse_record("[1]").err().unwrap();
        assert_eq!(error, "expected a JSON object");
        let error = parse_record(r#"{"record":"object","id":"5"}"#)
            .err()
            .unwrap();
        assert!(error.contains("needs \"objectType\""), "{error}");
        let error = parse_record(r#"{"record":"object","objectType":"widgets","id":"5"}"#)
            .err()
            .unwrap();
        assert!(error.contains("unknown objectType \"widgets\""), "{error}");
        let error = parse_record(r#"{"record":"call","objectType":"notes","id":"5"}"#)
            .err()
            .unwrap();
        assert!(error.contains("not notes"), "{error}");
        let error =
            parse_record(r#"{"record":"pipeline","objectType":"calls","id":"p","label":"P"}"#)
                .err()
                .unwrap();
        assert!(error.contains("calls have no pipelines"), "{error}");
    }
}
