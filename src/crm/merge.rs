//! Merging two records of a type into one, as HubSpot does since its merge update
//! (its "Updated merge functionality" changelog): a new record with a new id; the primary's
//! values win, the other's fill what the primary lacks; both old ids read as the new record;
//! associations of both carry over; `hs_merged_object_ids` lists the ids merged in.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::associations::{associate, parse_record_id, read_links, AssociationPair};
use super::error::CrmError;
use super::objects::{ObjectType, Partition};
use super::ports::Store;
use super::record::{Record, RecordId, WriteSource};
use super::records::{new_call, set_property, ValidValue};
use super::schema_cache::Schemas;
use super::time::now_millis;

/// Where an archived record's merge led, kept in the record itself. Not a HubSpot
/// property: no catalogue defines it, so no response shows it.
pub(in crate::crm) const MERGED_INTO: &str = "hubcalls_merged_into";

/// Properties the new record gets from hubcalls itself, never copied from the old ones.
const NOT_COPIED: [&str; 7] = [
    "hs_object_id",
    "hs_obj_coords",
    "hs_object_source",
    "hs_object_source_id",
    "hs_object_source_label",
    "hs_merged_object_ids",
    MERGED_INTO,
];

/// The record a merged-away record became, if it was merged.
pub fn merged_into(record: &Record) -> Option<RecordId> {
    record
        .property(MERGED_INTO)
        .and_then(|id| id.parse().ok())
        .filter(|_| record.is_archived())
}

/// Merging needs the store and the schemas; what it shares with records (building a new
/// record, setting a property) and associations (reading and adding them) it calls as
/// plain functions.
pub struct MergeService {
    store: Arc<dyn Store>,
    schemas: Schemas,
}

impl MergeService {
    pub(super) fn new(store: Arc<dyn Store>, schemas: Schemas) -> Self {
        Self { store, schemas }
    }

    /// Merges `secondary` into `primary` (ids as the client wrote them) and returns the new
    /// record. Both must be live records of the partition and differ.
    pub fn merge(
        &self,
        partition: Partition,
        source: &WriteSource,
        primary: &str,
        secondary: &str,
    ) -> Result<Record, CrmError> {
        let object_type = partition.object_type;
        let (primary, secondary) = self.live_pair(partition, primary, secondary)?;
        let schema = self.schemas.properties(partition)?;
        let now = now_millis();

        // The primary's values over the secondary's; unique ones (a contact's email) wait
        // until the old records are archived and hold them no more.
        let mut values: Vec<ValidValue> = Vec::new();
        for (name, value) in secondary.properties.iter().chain(&primary.properties) {
            let derived = NOT_COPIED.contains(&name.as_str())
                || *name == object_type.created_property
                || *name == object_type.modified_property;
            let unique = schema.get(name).is_some_and(|d| object_type.is_unique(d));
            if derived || unique || !schema.contains(name) {
                continue;
            }
            values.retain(|v| v.name != *name);
            values.push(ValidValue {
                name: name.clone(),
                value: Some(value.clone()),
                append: false,
            });
        }
        let mut merged_ids: BTreeSet<String> = BTreeSet::new();
        for record in [&primary, &secondary] {
            merged_ids.insert(record.id.to_string());
            if let Some(earlier) = record.property("hs_merged_object_ids") {
                merged_ids.extend(earlier.split(';').map(str::to_owned));
            }
        }
        values.push(ValidValue {
            name: "hs_merged_object_ids".to_owned(),
            value: Some(merged_ids.into_iter().collect::<Vec<_>>().join(";")),
            append: false,
        });

        let id = self
            .store
            .allocate_ids(partition, 1)?
            .pop()
            .ok_or_else(|| CrmError::invalid("No id could be allocated for the merged record"))?;
        let record = new_call(object_type, &schema, id, &values, Vec::new(), source, now);
        self.store.insert_records(partition, &schema, &[record])?;
        self.carry_associations(partition, &[primary.id, secondary.id], id)?;

        // The old ids now lead to the new record.
        let pointer = id.to_string();
        self.store.update_records(
            partition,
            &schema,
            &[primary.id, secondary.id],
            &mut |_, old| {
                old.properties
                    .insert(MERGED_INTO.to_owned(), pointer.clone());
                Vec::new()
            },
        )?;
        self.store
            .archive_records(partition, &[primary.id, secondary.id], now)?;

        // Unique values last: the primary's, and for contacts the other emails as
        // additional ones (HubSpot keeps merged emails as `hs_additional_emails`).
        let unique: Vec<(String, String)> = schema
            .iter()
            .filter(|d| object_type.is_unique(d))
            .filter_map(|d| {
                primary
                    .property(&d.name)
                    .or_else(|| secondary.property(&d.name))
                    .map(|v| (d.name.clone(), v.to_owned()))
            })
            .collect();
        let additional = (object_type == ObjectType::CONTACTS)
            .then(|| additional_emails(&primary, &secondary))
            .flatten();
        let calculated = WriteSource::calculated();
        let mut updated =
            self.store
                .update_records(partition, &schema, &[id], &mut |_, record| {
                    let mut changes = Vec::new();
                    for (name, value) in &unique {
                        set_property(record, name, Some(value.clone()), source, now, &mut changes);
                    }
                    if let Some(additional) = &additional {
                        set_property(
                            record,
                            "hs_additional_emails",
                            Some(additional.clone()),
                            &calculated,
                            now,
                            &mut changes,
                        );
                    }
                    changes
                })?;
        updated
            .pop()
            .flatten()
            .ok_or_else(|| CrmError::invalid("The merged record could not be read back"))
    }

    /// Reads the two ids of a merge as live records of the partition.
    fn live_pair(
        &self,
        partition: Partition,
        primary: &str,
        secondary: &str,
    ) -> Result<(Record, Record), CrmError> {
        let parse = |text: &str| {
            parse_record_id(text).ok_or_else(|| CrmError::NotFound {
                id: text.to_owned(),
            })
        };
        let (primary_id, secondary_id) = (parse(primary)?, parse(secondary)?);
        if primary_id == secondary_id {
            return Err(CrmError::invalid(format!(
                "Cannot merge {} {primary_id} with itself",
                partition.object_type.singular
            )));
        }
        let records = self
            .store
            .get_records(partition, &[primary_id, secondary_id])?;
        let live = |id: RecordId| {
            records
                .iter()
                .find(|r| r.id == id && !r.is_archived())
                .cloned()
                .ok_or_else(|| CrmError::NotFound { id: id.to_string() })
        };
        Ok((live(primary_id)?, live(secondary_id)?))
    }

    /// Gives `to` every association the `from` records have, with every type they have.
    fn carry_associations(
        &self,
        partition: Partition,
        from: &[RecordId],
        to: RecordId,
    ) -> Result<(), CrmError> {
        for other in ObjectType::all() {
            let pair = AssociationPair::new(partition.object_type, other);
            if pair.default_spec().is_none() {
                continue;
            }
            let links = read_links(self.store.as_ref(), partition.portal, pair, from)?;
            let mut merged: std::collections::BTreeMap<u64, Vec<_>> = Default::default();
            for targets in links.into_values() {
                for (to_id, specs) in targets {
                    // The merged records' associations with each other end with them.
                    if other == partition.object_type && from.contains(&to_id) {
                        continue;
                    }
                    let entry = merged.entry(to_id).or_default();
                    for spec in specs {
                        if !entry.contains(&spec) {
                            entry.push(spec);
                        }
                    }
                }
            }
            let links: Vec<_> = merged
                .into_iter()
                .map(|(to_id, specs)| (to, to_id, specs))
                .collect();
            if !links.is_empty() {
                associate(self.store.as_ref(), partition.portal, pair, &links)?;
            }
        }
        Ok(())
    }
}

/// The emails of the merged contacts other than the one the result keeps.
fn additional_emails(primary: &Record, secondary: &Record) -> Option<String> {
    let kept = primary
        .property("email")
        .or_else(|| secondary.property("email"));
    let mut others: Vec<&str> = Vec::new();
    for record in [primary, secondary] {
        let emails = record.property("email").into_iter().chain(
            record
                .property("hs_additional_emails")
                .into_iter()
                .flat_map(|a| a.split(';')),
        );
        for email in emails {
            if Some(email) != kept && !email.is_empty() && !others.contains(&email) {
                others.push(email);
            }
        }
    }
    (!others.is_empty()).then(|| others.join(";"))
}
