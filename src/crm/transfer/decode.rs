//! Turning a record line into what the store restores, under the rules every record of its
//! type follows on the API: values checked and normalised against the definitions, ids in
//! range, required properties set, deals and tickets in a stage of their pipeline, and
//! associations of types that fit their pair, each kept by the type that owns the pair.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use super::definitions::TypeSchema;
use super::format::{
    import_source_type, instant, optional_instant, scalar_text, AssociationLine, ObjectLine,
};
use crate::crm::associations::{
    Association, AssociationCategory, AssociationPair, AssociationSpec,
};
use crate::crm::history::{HistoryEntry, PropertyChange};
use crate::crm::merge::MERGED_INTO;
use crate::crm::objects::ObjectType;
use crate::crm::pipelines::{is_placement_property, PortalPipelines};
use crate::crm::ports::RestoredRecord;
use crate::crm::properties::normalize_value;
use crate::crm::record::{Record, RecordId, WriteSource};
use crate::crm::time::{format_datetime, now_millis};

/// The largest record id: HubSpot's ids are Java `long`s, and the engines keep them as
/// signed 64-bit integers, so a larger one would wrap around.
pub(super) const MAX_RECORD_ID: RecordId = i64::MAX as RecordId;

/// A record line, ready to write.
#[derive(Debug)]
pub(super) struct DecodedRecord {
    /// The record with the associations its own type keeps.
    pub restored: RestoredRecord,
    /// Associations the line gives from the side that does not keep them, each with the
    /// owning type and as that type keeps it; written once every record is in.
    pub foreign: Vec<(ObjectType, Association)>,
}

/// A record id: a positive integer up to [`MAX_RECORD_ID`], as a number or a string.
pub(super) fn record_id(value: &Value, what: &str) -> Result<RecordId, String> {
    let text = scalar_text(value).unwrap_or_default();
    let text = text.trim();
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u64>() {
        Ok(id) if id > 0 && id <= MAX_RECORD_ID => Ok(id),
        Ok(id) if id > MAX_RECORD_ID => Err(beyond(what, value)),
        Err(_) if digits => Err(beyond(what, value)),
        _ => Err(format!("{what} {value} is not a positive integer")),
    }
}

fn beyond(what: &str, value: &Value) -> String {
    format!("{what} {value} is beyond the largest record id, {MAX_RECORD_ID}")
}

/// Turns a record line of `object_type` into a record to restore, checking every field
/// against `rules`; every problem of the line is listed.
pub(super) fn decode_record(
    object_type: ObjectType,
    line: ObjectLine,
    rules: &TypeSchema,
) -> Result<DecodedRecord, Vec<String>> {
    let values = &rules.values;
    let mut errors = Vec::new();
    let id = record_id(&line.id, &format!("{} id", object_type.singular)).map_err(|e| vec![e])?;
    let mut properties = BTreeMap::new();
    for (name, raw) in &line.properties {
        let Some(text) = scalar_text(raw) else {
            errors.push(format!(
                "value of \"{name}\" must be a string, number or boolean"
            ));
            continue;
        };
        if name == MERGED_INTO {
            // Where a merged-away record leads: hubcalls' own, on no catalogue.
            match record_id(raw, MERGED_INTO) {
                Ok(_) if line.archived != Some(true) && line.archived_at.is_none() => errors.push(
                    format!("{MERGED_INTO} is kept only by archived (merged-away) records"),
                ),
                Ok(target) => {
                    properties.insert(name.clone(), target.to_string());
                }
                Err(e) => errors.push(e),
            }
            continue;
        }
        let Some(def) = values.get(name) else {
            errors.push(format!("property \"{name}\" does not exist"));
            continue;
        };
        // The pipeline and stage hold ids of the portal's pipelines, checked below.
        if is_placement_property(object_type, name) {
            if !text.is_empty() {
                properties.insert(name.clone(), text);
            }
            continue;
        }
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
    let history = history(&line, values, &mut errors);
    let mut own = Vec::new();
    let mut foreign = Vec::new();
    for link in &line.associations {
        match association(object_type, id, link) {
            Ok(Kept::Own(association)) => own.push(association),
            Ok(Kept::ByOther(owner, association)) => foreign.push((owner, association)),
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
    let mut record = Record {
        id,
        properties,
        created_at,
        updated_at,
        archived_at,
    };
    let mut history = history;
    if let Err(e) = fill_identity(object_type, &mut record, rules, &mut history) {
        return Err(vec![e]);
    }
    errors.extend(missing_required(object_type, &record, &history));
    if let Some(problem) = misplaced(object_type, &record, &rules.pipelines) {
        errors.push(problem);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    own.sort();
    own.dedup();
    foreign.sort();
    foreign.dedup();
    Ok(DecodedRecord {
        restored: RestoredRecord {
            call: record,
            history,
            associations: own,
        },
        foreign,
    })
}

/// The line's history, oldest first per property (given newest first, as the API shows it).
fn history(
    line: &ObjectLine,
    values: &crate::crm::properties::PropertyCatalogue,
    errors: &mut Vec<String>,
) -> Vec<PropertyChange> {
    let mut history = Vec::new();
    for (name, entries) in &line.properties_with_history {
        if !values.contains(name) {
            errors.push(format!(
                "history of property \"{name}\" which does not exist"
            ));
            continue;
        }
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
    history
}

/// Gives a hand-written record what every record created through the API has (its id,
/// object coordinates, create and modification dates; a deal or ticket its portal's default
/// pipeline) and a history entry for each value that has none, so it reads like any other
/// record. An export already has all of it.
fn fill_identity(
    object_type: ObjectType,
    record: &mut Record,
    rules: &TypeSchema,
    history: &mut Vec<PropertyChange>,
) -> Result<(), String> {
    let id_text = record.id.to_string();
    if let Some(given) = record.property("hs_object_id") {
        if given != id_text {
            return Err(format!(
                "hs_object_id {given} differs from the {} id {id_text}",
                object_type.singular
            ));
        }
    }
    let with_history: HashSet<String> = history.iter().map(|c| c.name.clone()).collect();
    let mut identity = vec![
        ("hs_object_id", id_text.clone()),
        (
            "hs_obj_coords",
            format!("{}-{id_text}", object_type.type_id),
        ),
        (
            object_type.created_property,
            format_datetime(record.created_at),
        ),
        (
            object_type.modified_property,
            format_datetime(record.updated_at),
        ),
    ];
    // As the API places a new record that names no pipeline (a record whose pipeline was
    // cleared since has history of it, and stays as it is).
    if let Some(props) = object_type.pipeline {
        if !with_history.contains(props.pipeline) {
            if let Some(default) = rules.pipelines.default_pipeline() {
                identity.push((props.pipeline, default.id.clone()));
            }
        }
    }
    for (name, value) in identity {
        if rules.values.contains(name) && !record.properties.contains_key(name) {
            record.properties.insert(name.to_owned(), value);
        }
    }
    for (name, value) in &record.properties {
        if !with_history.contains(name) && name != MERGED_INTO {
            history.push(PropertyChange {
                name: name.clone(),
                value: Some(value.clone()),
                entry: HistoryEntry {
                    value: value.clone(),
                    timestamp: record.updated_at,
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

/// The type's required properties the record lacks. A property with history passes even
/// without a value: the record had it on create, and the API lets an update clear it, so a
/// record created through the API always passes.
fn missing_required(
    object_type: ObjectType,
    record: &Record,
    history: &[PropertyChange],
) -> Option<String> {
    let missing: Vec<&str> = object_type
        .required_on_create
        .iter()
        .filter(|name| {
            !record.properties.contains_key(**name) && !history.iter().any(|c| c.name == **name)
        })
        .copied()
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "required properties are not set: {} (the API refuses such a create: \"Error creating {}.  Some required properties were not set.\")",
            missing.join(", "),
            object_type.internal_name
        )
    })
}

/// Where a deal or ticket sits must exist: its pipeline (or the default one, when it names
/// none) must be one of the portal's, and its stage one of that pipeline's. Archived ones
/// count, since records stay where they were when a pipeline or stage is archived.
fn misplaced(
    object_type: ObjectType,
    record: &Record,
    pipelines: &PortalPipelines,
) -> Option<String> {
    let props = object_type.pipeline?;
    let pipeline_id = record.property(props.pipeline);
    let pipeline = match pipeline_id {
        Some(id) => pipelines.get(id),
        None => pipelines.default_pipeline(),
    };
    let ids = |items: Vec<&str>| items.join(", ");
    let Some(pipeline) = pipeline else {
        let live: Vec<&str> = pipelines.live().map(|p| p.id.as_str()).collect();
        return Some(format!(
            "{}: {} is not a pipeline of the portal; its pipelines are: [{}]",
            props.pipeline,
            pipeline_id.unwrap_or("(none)"),
            ids(live)
        ));
    };
    let stage = record.property(props.stage)?;
    if pipeline.stage(stage).is_some() {
        return None;
    }
    let stages: Vec<&str> = pipeline.stages.iter().map(|s| s.id.as_str()).collect();
    Some(format!(
        "{}: {stage} is not a stage of pipeline {}; its stages are: [{}]",
        props.stage,
        pipeline.id,
        ids(stages)
    ))
}

/// Who keeps an association read from a record's line.
enum Kept {
    /// The line's own type: stored with the record.
    Own(Association),
    /// The other type, with the association as that type keeps it.
    ByOther(ObjectType, Association),
}

/// An association written on the line of record `id` of `object_type`, read from that
/// record: the type must be one HubSpot defines for the pair (any of them; the unlabelled
/// one when none is given), or a label with a positive id between types HubSpot associates.
fn association(
    object_type: ObjectType,
    id: RecordId,
    link: &AssociationLine,
) -> Result<Kept, String> {
    let other = ObjectType::parse(&link.to_object_type).ok_or_else(|| {
        format!(
            "association to \"{}\": not an object type",
            link.to_object_type
        )
    })?;
    let to_id = record_id(&link.to_object_id, "association toObjectId")?;
    let category = AssociationCategory::parse(&link.association_category).ok_or_else(|| {
        format!(
            "associationCategory \"{}\" is not one of HUBSPOT_DEFINED, USER_DEFINED, INTEGRATOR_DEFINED, WORK",
            link.association_category
        )
    })?;
    let pair = AssociationPair::new(object_type, other);
    let Some(default) = pair.default_spec() else {
        return Err(format!(
            "{} and {} have no association HubSpot defines",
            object_type.plural, other.plural
        ));
    };
    let spec = match (category, link.association_type_id) {
        (AssociationCategory::HubspotDefined, None) => default,
        (_, Some(type_id)) if type_id > 0 => AssociationSpec { category, type_id },
        (AssociationCategory::HubspotDefined, Some(_)) => {
            return Err("associationTypeId must be a positive integer".to_owned())
        }
        (_, _) => {
            return Err("a labelled association needs a positive associationTypeId".to_owned())
        }
    };
    let Some(stored) = pair.stored_type_id(spec) else {
        let defined: Vec<String> = pair
            .defined_specs()
            .map(|(s, _)| s.type_id.to_string())
            .collect();
        return Err(format!(
            "associationTypeId {} is not a HubSpot-defined {}-to-{} type (those are: {})",
            spec.type_id,
            object_type.singular,
            other.singular,
            defined.join(", ")
        ));
    };
    let (from_id, other_id) = pair.owner_and_other(id, to_id);
    let kept = Association {
        from_id,
        to_type: pair.other(),
        to_id: other_id,
        type_id: stored,
        category,
    };
    Ok(if pair.from_owns() {
        Kept::Own(kept)
    } else {
        Kept::ByOther(pair.owner(), kept)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::pipelines::PortalPipelines;

    fn rules(object_type: ObjectType) -> TypeSchema {
        TypeSchema::builtin(object_type, PortalPipelines::new(object_type, Vec::new()))
    }

    fn decode(object_type: ObjectType, json: &str) -> Result<DecodedRecord, Vec<String>> {
        let line: ObjectLine = serde_json::from_str(json).unwrap();
        decode_record(object_type, line, &rules(object_type))
    }

    #[test]
    fn hand_written_records_get_an_identity_and_history() {
        let decoded = decode(
            ObjectType::CALLS,
            r#"{"id":42,"createdAt":"2025-01-01T00:00:00Z","properties":{"hs_timestamp":1735689600000,"hs_call_title":"Hi"}}"#,
        )
        .unwrap();
        let call = &decoded.restored.call;
        assert_eq!(call.property("hs_object_id"), Some("42"));
        assert_eq!(call.property("hs_obj_coords"), Some("0-48-42"));
        assert_eq!(call.property("hs_timestamp"), Some("2025-01-01T00:00:00Z"));
        assert_eq!(call.updated_at, call.created_at);
        assert!(decoded
            .restored
            .history
            .iter()
            .any(|c| c.name == "hs_call_title" && c.entry.source.source_type == "IMPORT"));
        let contact = decode(ObjectType::CONTACTS, r#"{"id":7,"createdAt":0}"#).unwrap();
        let contact = &contact.restored.call;
        assert_eq!(contact.property("hs_object_id"), Some("7"));
        assert_eq!(contact.property("createdate"), Some("1970-01-01T00:00:00Z"));
    }

    #[test]
    fn ids_must_fit_a_signed_64_bit_integer() {
        assert_eq!(
            record_id(&Value::from("9223372036854775807"), "id"),
            Ok(i64::MAX as u64)
        );
        for beyond in ["9223372036854775808", "18446744073709551616"] {
            let error = record_id(&Value::from(beyond), "deal id").unwrap_err();
            assert!(error.contains("beyond the largest record id"), "{error}");
        }
        let error = record_id(&Value::from(-3), "deal id").unwrap_err();
        assert!(error.contains("not a positive integer"), "{error}");
        let error = decode(
            ObjectType::CALLS,
            r#"{"id":1,"properties":{"hs_timestamp":0},"associations":[{"toObjectType":"contacts","toObjectId":"9223372036854775808"}]}"#,
        )
        .unwrap_err();
        assert!(error[0].contains("toObjectId"), "{error:?}");
    }

    #[test]
    fn required_properties_pass_with_history_alone() {
        let error = decode(
            ObjectType::DEALS,
            r#"{"id":1,"properties":{"dealname":"D"}}"#,
        )
        .unwrap_err();
        assert!(
            error[0].contains("required properties are not set: dealstage"),
            "{error:?}"
        );
        // Created with a stage, cleared since: as the API allows.
        let cleared = r#"{"id":1,"properties":{"dealname":"D","pipeline":"default"},"propertiesWithHistory":{"dealstage":[{"value":"","timestamp":2},{"value":"closedwon","timestamp":1}]}}"#;
        assert!(decode(ObjectType::DEALS, cleared).is_ok());
    }

    #[test]
    fn deals_sit_in_a_stage_of_their_pipeline() {
        let placed = decode(
            ObjectType::DEALS,
            r#"{"id":1,"properties":{"dealname":"D","dealstage":"closedwon"}}"#,
        )
        .unwrap();
        assert_eq!(placed.restored.call.property("pipeline"), Some("default"));
        let error = decode(
            ObjectType::DEALS,
            r#"{"id":1,"properties":{"dealname":"D","dealstage":"nope"}}"#,
        )
        .unwrap_err();
        assert!(
            error[0].contains("dealstage: nope is not a stage of pipeline default"),
            "{error:?}"
        );
        let error = decode(
            ObjectType::TICKETS,
            r#"{"id":1,"properties":{"subject":"S","hs_pipeline":"9","hs_pipeline_stage":"1"}}"#,
        )
        .unwrap_err();
        assert!(
            error[0].contains("hs_pipeline: 9 is not a pipeline"),
            "{error:?}"
        );
    }

    #[test]
    fn associations_are_kept_by_the_owning_type() {
        let link = |kind: &str, type_id: Option<u32>, category: &str| AssociationLine {
            to_object_type: kind.to_owned(),
            to_object_id: Value::from(7),
            association_type_id: type_id,
            association_category: category.to_owned(),
        };
        let own = |kept: Result<Kept, String>| match kept {
            Ok(Kept::Own(a)) => a,
            _ => panic!("not kept by the record"),
        };
        let calls = ObjectType::CALLS;
        assert_eq!(
            own(association(
                calls,
                1,
                &link("contacts", None, "HUBSPOT_DEFINED")
            ))
            .type_id,
            194
        );
        assert!(association(calls, 1, &link("contacts", Some(182), "HUBSPOT_DEFINED")).is_err());
        assert!(association(calls, 1, &link("widgets", None, "HUBSPOT_DEFINED")).is_err());
        assert!(association(calls, 1, &link("notes", None, "HUBSPOT_DEFINED")).is_err());
        assert_eq!(
            own(association(
                calls,
                1,
                &link("0-3", Some(12), "USER_DEFINED")
            ))
            .to_type,
            ObjectType::DEALS
        );
        // A contact's call (193) is the call's 194, kept by the call.
        match association(
            ObjectType::CONTACTS,
            5,
            &link("calls", Some(193), "HUBSPOT_DEFINED"),
        ) {
            Ok(Kept::ByOther(owner, a)) => {
                assert_eq!(owner, calls);
                assert_eq!(
                    (a.from_id, a.to_type, a.to_id, a.type_id),
                    (7, ObjectType::CONTACTS, 5, 194)
                );
            }
            _ => panic!("kept by the call"),
        }
        // A company's primary contact (2) is the contact's primary company (1).
        match association(
            ObjectType::COMPANIES,
            5,
            &link("contacts", Some(2), "HUBSPOT_DEFINED"),
        ) {
            Ok(Kept::ByOther(owner, a)) => {
                assert_eq!(owner, ObjectType::CONTACTS);
                assert_eq!((a.from_id, a.to_id, a.type_id), (7, 5, 1));
            }
            _ => panic!("kept by the contact"),
        }
    }
}
