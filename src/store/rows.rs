//! What both engines store alike, written once: a record's row (its columns, its properties
//! as one JSON object), the entries of its history, an association's row, and the rules on
//! ids. Each engine reads and binds columns with its own client; what they mean is here.

use std::collections::BTreeMap;

use crate::crm::associations::{Association, AssociationCategory};
use crate::crm::error::StoreError;
use crate::crm::history::{HistoryEntry, PropertyChange};
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::ports::RestoredRecord;
use crate::crm::record::{Projection, Record, RecordId, WriteSource};

use super::stored_json;

/// The first id a fresh store hands out. HubSpot's record ids are 11 or 12 digits; starting
/// there lets integrations meet realistic ids (and catch 32-bit id columns) early.
/// PostgreSQL's id sequence starts here too (its first migration, which cannot change).
pub const FIRST_RECORD_ID: RecordId = 10_000_000_001;

/// A record's columns on `calls` (aliased `c`), in the order [`record_from_columns`] takes
/// them.
pub const RECORD_COLUMNS: &str = "c.id, c.properties, c.created_at, c.updated_at, c.archived_at";

/// How many columns [`RECORD_COLUMNS`] names: where the columns after them start.
pub const RECORD_COLUMN_COUNT: usize = 5;

/// Every portal that holds records, property definitions, groups or pipelines, ascending:
/// the `portal` columns hold partition keys, whose low 32 bits are the portal.
pub const PORTALS_QUERY: &str = "SELECT portal & 4294967295 FROM calls
     UNION SELECT portal & 4294967295 FROM property_definitions
     UNION SELECT portal & 4294967295 FROM property_groups
     UNION SELECT portal & 4294967295 FROM pipelines ORDER BY 1";

/// A record from its [`RECORD_COLUMNS`].
pub fn record_from_columns(
    id: i64,
    properties: BTreeMap<String, String>,
    created_at: i64,
    updated_at: i64,
    archived_at: Option<i64>,
) -> Record {
    Record {
        id: id as RecordId,
        properties,
        created_at,
        updated_at,
        archived_at,
    }
}

/// A record's properties from the JSON object its row holds, only the `projection`'s.
/// Names are compared where the text holds them and the values of the others skipped
/// unread, so a page that shows 5 of a call's ~20 properties allocates for those 5; and
/// the map is built once from the row's (already sorted) entries rather than one insert
/// per property. Taken as bytes: only the strings read are checked to be UTF-8. Text in
/// the form the store writes is read by [`stored_json`], faster; serde_json reads the rest.
pub fn properties_from_json(
    text: &[u8],
    projection: &Projection<'_>,
) -> serde_json::Result<BTreeMap<String, String>> {
    if let Some(properties) = stored_json::projected_properties(text, projection) {
        return Ok(properties);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let properties =
        serde::Deserializer::deserialize_map(&mut deserializer, ProjectedProperties(projection))?;
    deserializer.end()?;
    Ok(properties)
}

struct ProjectedProperties<'p>(&'p Projection<'p>);

impl<'de> serde::de::Visitor<'de> for ProjectedProperties<'_> {
    type Value = BTreeMap<String, String>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object of property values")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut kept: Vec<(String, String)> = Vec::new();
        while let Some(name) = map.next_key::<PropertyName<'de>>()? {
            if self.0.wants(name.as_str()) {
                let value: String = map.next_value()?;
                kept.push((name.into_owned(), value));
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(kept.into_iter().collect())
    }
}

/// A property name as the JSON text holds it: borrowed unless it has escapes.
enum PropertyName<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl PropertyName<'_> {
    fn as_str(&self) -> &str {
        match self {
            PropertyName::Borrowed(name) => name,
            PropertyName::Owned(name) => name,
        }
    }

    fn into_owned(self) -> String {
        match self {
            PropertyName::Borrowed(name) => name.to_owned(),
            PropertyName::Owned(name) => name,
        }
    }
}

impl<'de> serde::Deserialize<'de> for PropertyName<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> serde::de::Visitor<'de> for NameVisitor {
            type Value = PropertyName<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a property name")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(PropertyName::Borrowed(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(PropertyName::Owned(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(PropertyName::Owned(v))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

/// A record's properties as the JSON object its row holds.
pub fn properties_json(record: &Record) -> String {
    // A map of strings always serialises.
    serde_json::to_string(&record.properties).unwrap_or_else(|_| "{}".to_owned())
}

/// A stored definition (property, group, pipeline) or value as JSON text.
pub fn to_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(e.to_string()))
}

/// One change of a record's history as stored: name, value, timestamp, source type, source
/// id.
pub type StoredChange = (String, String, i64, String, Option<String>);

/// A write's changes as stored, one tuple each (the flat form).
pub fn flat_changes(changes: &[PropertyChange]) -> Vec<StoredChange> {
    changes
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.entry.value.clone(),
                c.entry.timestamp,
                c.entry.source.source_type.clone(),
                c.entry.source.source_id.clone(),
            )
        })
        .collect()
}

/// Adds to `entries` the changes of one stored write of `record_id` that touch the named
/// properties, in the write's order. Reading writes newest first thus gives each property's
/// entries newest first.
pub fn push_history_entries(
    entries: &mut Vec<(RecordId, String, HistoryEntry)>,
    record_id: RecordId,
    changes: Vec<StoredChange>,
    names: &[String],
) {
    for (name, value, timestamp, source_type, source_id) in changes {
        if names.contains(&name) {
            let entry = HistoryEntry {
                value,
                timestamp,
                source: WriteSource {
                    source_type,
                    source_id,
                },
            };
            entries.push((record_id, name, entry));
        }
    }
}

/// An association from its row (`call_id, kind, to_id, type_id, category`); `None` for a
/// kind or category this version does not know, which is skipped rather than failing reads.
pub fn association_from_columns(
    from_id: i64,
    kind: &str,
    to_id: i64,
    type_id: u32,
    category: &str,
) -> Option<Association> {
    let (Some(to_type), Some(category)) = (
        ObjectType::parse(kind),
        AssociationCategory::parse(category),
    ) else {
        return None;
    };
    Some(Association {
        from_id: from_id as RecordId,
        to_type,
        to_id: to_id as u64,
        type_id,
        category,
    })
}

/// The highest id among records put back: ids allocated afterwards must be above it.
pub fn restored_high_water(records: &[RestoredRecord]) -> RecordId {
    records.iter().map(|r| r.call.id).max().unwrap_or(0)
}

/// Whether a record put back with its own id replaces a row, given the partition key of the
/// row holding that id now (if any): the partition's own row is replaced whole; an id held
/// in another partition (another portal, or another type) is taken.
pub fn restore_replaces(
    owner: Option<i64>,
    partition: Partition,
    id: RecordId,
) -> Result<bool, StoreError> {
    match owner {
        Some(owner) if owner != partition.key() => Err(StoreError::IdTaken { id }),
        Some(_) => Ok(true),
        None => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(name: &str, value: &str, timestamp: i64) -> PropertyChange {
        PropertyChange {
            name: name.to_owned(),
            value: Some(value.to_owned()),
            entry: HistoryEntry {
                value: value.to_owned(),
                timestamp,
                source: WriteSource {
                    source_type: "API".to_owned(),
                    source_id: Some("app".to_owned()),
                },
            },
        }
    }

    #[test]
    fn history_entries_keep_only_the_named_properties_in_write_order() {
        let stored = flat_changes(&[
            change("hs_call_title", "a", 1),
            change("hs_call_body", "b", 1),
            change("hs_call_title", "c", 2),
        ]);
        let mut entries = Vec::new();
        push_history_entries(&mut entries, 7, stored, &["hs_call_title".to_owned()]);
        let values: Vec<(RecordId, &str, &str, i64)> = entries
            .iter()
            .map(|(id, name, e)| (*id, name.as_str(), e.value.as_str(), e.timestamp))
            .collect();
        assert_eq!(
            values,
            vec![(7, "hs_call_title", "a", 1), (7, "hs_call_title", "c", 2)]
        );
        assert_eq!(entries[0].2.source.source_id.as_deref(), Some("app"));
    }

    #[test]
    fn stored_properties_read_back_whole_or_projected() {
        let mut properties = BTreeMap::new();
        properties.insert("a\"quoted".to_owned(), "x".to_owned());
        properties.insert("hs_call_body".to_owned(), "line\nbreak \u{e9}".to_owned());
        properties.insert("hs_call_title".to_owned(), "title".to_owned());
        let record = record_from_columns(1, properties.clone(), 0, 0, None);
        let text = properties_json(&record);
        assert_eq!(
            properties_from_json(text.as_bytes(), &Projection::All).unwrap(),
            properties
        );
        let only = Projection::Only(vec!["hs_call_body", "a\"quoted"]);
        let projected = properties_from_json(text.as_bytes(), &only).unwrap();
        assert_eq!(projected.len(), 2);
        assert_eq!(projected["hs_call_body"], "line\nbreak \u{e9}");
        assert_eq!(projected["a\"quoted"], "x");
        assert!(properties_from_json(b"{\"a\":1}", &only).is_ok());
        assert!(properties_from_json(b"{\"a\":1}", &Projection::All).is_err());
        assert!(properties_from_json(b"{} x", &only).is_err());
    }

    #[test]
    fn unknown_association_kinds_and_categories_are_skipped() {
        let known = association_from_columns(1, "contact", 2, 194, "HUBSPOT_DEFINED")
            .expect("a known kind and category");
        assert_eq!((known.from_id, known.to_id, known.type_id), (1, 2, 194));
        assert_eq!(known.to_type, ObjectType::CONTACTS);
        assert!(association_from_columns(1, "spaceship", 2, 194, "HUBSPOT_DEFINED").is_none());
        assert!(association_from_columns(1, "contact", 2, 194, "NOBODY_DEFINED").is_none());
    }

    #[test]
    fn a_restored_id_replaces_only_its_own_partitions_row() {
        let calls = Partition::calls(7);
        assert!(!restore_replaces(None, calls, 5).unwrap());
        assert!(restore_replaces(Some(calls.key()), calls, 5).unwrap());
        let other_portal = Partition::calls(8).key();
        assert!(matches!(
            restore_replaces(Some(other_portal), calls, 5),
            Err(StoreError::IdTaken { id: 5 })
        ));
        let other_type = Partition::new(7, ObjectType::CONTACTS).key();
        assert!(restore_replaces(Some(other_type), calls, 5).is_err());
    }
}
