//! The rules on values, as pure functions: batch sizes, duplicate ids, property values
//! checked against their definitions, and the changes a write makes to a record.

use super::*;

pub(super) fn check_batch_size(count: usize, limit: usize) -> Result<(), CrmError> {
    if count > limit {
        return Err(CrmError::invalid(format!(
            "The maximum number of inputs supported in a batch is {limit}. Please reduce the number of items and try again"
        )));
    }
    Ok(())
}

pub(super) fn check_unique_ids<'a>(ids: impl Iterator<Item = &'a str>) -> Result<(), CrmError> {
    let mut seen = HashSet::new();
    let mut duplicates: Vec<String> = Vec::new();
    for id in ids {
        if !seen.insert(id) && !duplicates.iter().any(|d| d == id) {
            duplicates.push(id.to_owned());
        }
    }
    if duplicates.is_empty() {
        return Ok(());
    }
    Err(CrmError::Invalid {
        message: format!(
            "Duplicate IDs found in batch input: [{}]. IDs must be unique",
            duplicates.join(", ")
        ),
        context: vec![("ids".to_owned(), duplicates)],
    })
}

/// HubSpot reports batch inputs one by one only when every input carries a trace id.
pub(super) fn all_traced<'a>(
    mut trace_ids: impl ExactSizeIterator<Item = &'a Option<String>>,
) -> bool {
    trace_ids.len() > 0 && trace_ids.all(|t| t.as_deref().is_some_and(|t| !t.is_empty()))
}

/// Checks every value against its definition (and owner values against the portal's
/// owners), collecting all problems like HubSpot does; when `creating`, also that the type's
/// required properties are set. The pipeline and stage values are checked afterwards,
/// against each other ([`PortalPipelines::check_placement`]).
pub(super) fn validate_values(
    schema: &PropertyCatalogue,
    owners: &PortalOwners,
    properties: &PropertyValues,
    object_type: ObjectType,
    creating: bool,
) -> Result<Vec<ValidValue>, CrmError> {
    let mut problems = Vec::new();
    let mut values = Vec::with_capacity(properties.len());
    for (name, raw) in properties {
        let checked = owners
            .screen(schema.get(name).map(|def| def.as_ref()), raw)
            .and_then(|()| {
                if is_placement_property(object_type, name) {
                    Ok((!raw.is_empty()).then(|| raw.clone()))
                } else {
                    schema.normalize(name, raw)
                }
            });
        match checked {
            Ok(value) => {
                let append = raw.starts_with(';')
                    && schema.get(name).is_some_and(|def| def.is_multi_valued());
                values.push(ValidValue {
                    name: name.clone(),
                    value,
                    append,
                });
            }
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        return Err(CrmError::InvalidProperties(problems));
    }
    if creating {
        let missing: Vec<String> = object_type
            .required_on_create
            .iter()
            .filter(|name| !values.iter().any(|v| v.name == **name && v.value.is_some()))
            .map(|name| (*name).to_owned())
            .collect();
        if !missing.is_empty() {
            // HubSpot's words, two spaces and all (live, HubSpot/hubspot-api-nodejs#124).
            return Err(CrmError::Invalid {
                message: format!(
                    "Error creating {}.  Some required properties were not set.",
                    object_type.internal_name
                ),
                context: vec![("properties".to_owned(), missing)],
            });
        }
    }
    Ok(values)
}

/// Sets one property on `call` and records the change, if the value differs.
pub(in crate::crm) fn set_property(
    call: &mut Record,
    name: &str,
    value: Option<String>,
    source: &WriteSource,
    now: EpochMillis,
    changes: &mut Vec<PropertyChange>,
) {
    if call.properties.get(name) == value.as_ref() {
        return;
    }
    match &value {
        Some(v) => call.properties.insert(name.to_owned(), v.clone()),
        None => call.properties.remove(name),
    };
    changes.push(PropertyChange {
        name: name.to_owned(),
        entry: HistoryEntry {
            value: value.clone().unwrap_or_default(),
            timestamp: now,
            source: source.clone(),
        },
        value,
    });
}

/// A new call with its first history and its associations.
pub(in crate::crm) fn new_call(
    object_type: ObjectType,
    schema: &PropertyCatalogue,
    id: RecordId,
    values: &[ValidValue],
    associations: Vec<Association>,
    source: &WriteSource,
    now: EpochMillis,
) -> NewRecord {
    let mut call = Record {
        id,
        properties: BTreeMap::new(),
        created_at: now,
        updated_at: now,
        archived_at: None,
    };
    let mut changes = identity_changes(object_type, schema, &mut call, source, now);
    changes.extend(apply_values(
        object_type,
        schema,
        &mut call,
        values,
        source,
        now,
    ));
    NewRecord {
        call,
        changes,
        associations,
    }
}

/// The properties every new call gets from hubcalls itself.
pub(super) fn identity_changes(
    object_type: ObjectType,
    schema: &PropertyCatalogue,
    call: &mut Record,
    source: &WriteSource,
    now: EpochMillis,
) -> Vec<PropertyChange> {
    let calculated = WriteSource::calculated();
    let created = format_datetime(now);
    let identity = [
        ("hs_object_id", call.id.to_string()),
        (object_type.created_property, created),
        (
            "hs_obj_coords",
            format!("{}-{}", object_type.type_id, call.id),
        ),
        ("hs_object_source", source.source_type.clone()),
        ("hs_object_source_label", source.source_type.clone()),
        (
            "hs_object_source_id",
            source.source_id.clone().unwrap_or_default(),
        ),
    ];
    let mut changes = Vec::new();
    for (name, value) in identity {
        if schema.contains(name) && !value.is_empty() {
            set_property(call, name, Some(value), &calculated, now, &mut changes);
        }
    }
    changes
}

/// Applies validated values to a call, then recomputes what derives from them.
pub(super) fn apply_values(
    object_type: ObjectType,
    schema: &PropertyCatalogue,
    call: &mut Record,
    values: &[ValidValue],
    source: &WriteSource,
    now: EpochMillis,
) -> Vec<PropertyChange> {
    let mut changes = Vec::new();
    for v in values {
        let value = match (&v.value, v.append, call.property(&v.name)) {
            // Separators alone (`;`) append nothing.
            (None, true, _) => continue,
            (Some(new), true, Some(current)) => {
                let mut merged: Vec<&str> = current.split(';').collect();
                for part in new.split(';') {
                    if !merged.contains(&part) {
                        merged.push(part);
                    }
                }
                Some(merged.join(";"))
            }
            _ => v.value.clone(),
        };
        set_property(call, &v.name, value, source, now, &mut changes);
    }
    let calculated = WriteSource::calculated();
    let touched = |name: &str| changes.iter().any(|c| c.name == name);
    let mut derived = crate::crm::derived::derived_values(object_type, call, &touched, now);
    derived.push((object_type.modified_property, Some(format_datetime(now))));
    for (name, value) in derived {
        if schema.contains(name) {
            set_property(call, name, value, &calculated, now, &mut changes);
        }
    }
    call.updated_at = now;
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_ids_are_named_once() {
        let err = check_unique_ids(["1", "2", "1", "1"].into_iter()).unwrap_err();
        match err {
            CrmError::Invalid { message, context } => {
                assert_eq!(
                    message,
                    "Duplicate IDs found in batch input: [1]. IDs must be unique"
                );
                assert_eq!(context, vec![("ids".to_owned(), vec!["1".to_owned()])]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn partial_batches_need_every_trace_id() {
        let some = [Some("a".to_owned()), None];
        let all = [Some("a".to_owned()), Some("b".to_owned())];
        assert!(!all_traced(some.iter()));
        assert!(all_traced(all.iter()));
        assert!(!all_traced([].iter()));
    }

    #[test]
    fn invalid_values_are_reported_before_missing_required_ones() {
        let schema = ObjectType::CALLS.catalogue();
        let values = vec![("nope".to_owned(), "x".to_owned())];
        match validate_values(
            schema,
            &PortalOwners::default(),
            &values,
            ObjectType::CALLS,
            true,
        )
        .unwrap_err()
        {
            CrmError::InvalidProperties(problems) => {
                let codes: Vec<_> = problems.iter().map(|p| p.code).collect();
                assert_eq!(codes, vec!["PROPERTY_DOESNT_EXIST"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn missing_required_properties_are_named_in_hubspot_words() {
        let schema = ObjectType::EMAILS.catalogue();
        let values = vec![("hs_email_subject".to_owned(), "Hi".to_owned())];
        match validate_values(
            schema,
            &PortalOwners::default(),
            &values,
            ObjectType::EMAILS,
            true,
        )
        .unwrap_err()
        {
            CrmError::Invalid { message, context } => {
                assert_eq!(
                    message,
                    "Error creating EMAIL.  Some required properties were not set."
                );
                assert_eq!(
                    context,
                    vec![(
                        "properties".to_owned(),
                        vec!["hs_timestamp".to_owned(), "hs_email_direction".to_owned()]
                    )]
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
