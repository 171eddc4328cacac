//! Association operations: linking live calls with records of other object types.

use std::collections::HashMap;

use super::associations::{AssociatedKind, Association, AssociationSpec, Direction};
use super::error::CrmError;
use super::objects::Partition;
use super::record::RecordId;
use super::service::RecordService;

/// Reads the id of a record: digits only, within the range HubSpot's (Java `long`) ids have.
pub fn parse_record_id(text: &str) -> Option<u64> {
    let id: u64 = text.trim().parse().ok()?;
    (id <= i64::MAX as u64).then_some(id)
}

/// The error HubSpot gives when an association names a record that cannot be used.
pub fn invalid_object_ids(object_type: &str, ids: &[String]) -> CrmError {
    CrmError::InvalidAssociations {
        context: vec![
            (
                "INVALID_OBJECT_IDS".to_owned(),
                ids.iter()
                    .map(|id| format!("{object_type}={id} is not valid"))
                    .collect(),
            ),
            ("objectId".to_owned(), ids.to_vec()),
            ("objectType".to_owned(), vec![object_type.to_owned()]),
        ],
    }
}

/// The error for an association type that does not fit the pair of object types.
pub fn invalid_type(spec: AssociationSpec, from: &str, to: &str) -> CrmError {
    CrmError::Invalid {
        message: format!(
            "{}={} is not a valid association type between {from} and {to}",
            spec.category.as_str(),
            spec.type_id
        ),
        context: vec![
            ("type".to_owned(), vec![spec.type_id.to_string()]),
            ("fromObjectType".to_owned(), vec![from.to_owned()]),
            ("toObjectType".to_owned(), vec![to.to_owned()]),
        ],
    }
}

/// A call, the kind and id of the record it is linked with, and the association types.
pub type Link = (RecordId, AssociatedKind, u64, Vec<AssociationSpec>);

impl RecordService {
    /// The ids among `ids` that are live calls of the portal.
    pub fn live_calls(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<Vec<RecordId>, CrmError> {
        Ok(self
            .store()
            .get_records(partition, ids)?
            .into_iter()
            .filter(|c| !c.is_archived())
            .map(|c| c.id)
            .collect())
    }

    /// Fails with `INVALID_OBJECT_IDS` unless every id is a live call of the portal.
    pub fn require_live_calls(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<(), CrmError> {
        let live = self.live_calls(partition, ids)?;
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !live.contains(id))
            .map(|id| id.to_string())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(invalid_object_ids("CALL", &missing))
        }
    }

    /// Adds associations between live calls and other records; `specs` are read in
    /// `direction`. Returns the associations as stored.
    pub fn associate(
        &self,
        partition: Partition,
        direction: Direction,
        links: &[Link],
    ) -> Result<Vec<Association>, CrmError> {
        let associations = self.checked_associations(partition, direction, links)?;
        self.store().add_associations(partition, &associations)?;
        Ok(associations)
    }

    /// Sets the associations between a call and one record to exactly `specs` (the v4
    /// labelled PUT replaces what the pair had).
    pub fn set_associations(
        &self,
        partition: Partition,
        direction: Direction,
        link: Link,
    ) -> Result<Vec<Association>, CrmError> {
        let (call_id, kind, to_id, _) = link;
        let associations =
            self.checked_associations(partition, direction, std::slice::from_ref(&link))?;
        self.store()
            .replace_associations(partition, call_id, kind, to_id, &associations)?;
        Ok(associations)
    }

    /// Checks links (live calls, types that fit the pair, at least one type each) and turns
    /// them into associations as stored.
    fn checked_associations(
        &self,
        partition: Partition,
        direction: Direction,
        links: &[Link],
    ) -> Result<Vec<Association>, CrmError> {
        if links.iter().any(|(.., specs)| specs.is_empty()) {
            return Err(CrmError::invalid(
                "Every association needs at least one association type",
            ));
        }
        let mut call_ids: Vec<RecordId> = links.iter().map(|(id, ..)| *id).collect();
        call_ids.sort_unstable();
        call_ids.dedup();
        self.require_live_calls(partition, &call_ids)?;
        let mut associations = Vec::new();
        for (call_id, kind, to_id, specs) in links {
            for spec in specs {
                let type_id = spec.stored_type_id(*kind, direction).ok_or_else(|| {
                    let (from, to) = match direction {
                        Direction::FromCall => ("CALL", kind.internal_name()),
                        Direction::ToCall => (kind.internal_name(), "CALL"),
                    };
                    invalid_type(*spec, from, to)
                })?;
                associations.push(Association {
                    call_id: *call_id,
                    kind: *kind,
                    to_id: *to_id,
                    type_id,
                    category: spec.category,
                });
            }
        }
        Ok(associations)
    }

    /// Removes associations between a call and a record: all of them, or the given types
    /// (read in `direction`). Removing the default type removes every label too, as HubSpot
    /// does. Unknown pairs are not an error.
    pub fn dissociate(
        &self,
        partition: Partition,
        direction: Direction,
        call_id: RecordId,
        kind: AssociatedKind,
        to_id: u64,
        specs: Option<&[AssociationSpec]>,
    ) -> Result<(), CrmError> {
        let default = AssociationSpec::default_for(kind, direction);
        let type_ids: Option<Vec<u32>> = match specs {
            Some(specs) if !specs.contains(&default) => Some(
                specs
                    .iter()
                    .filter_map(|s| s.stored_type_id(kind, direction))
                    .collect(),
            ),
            _ => None,
        };
        self.store()
            .remove_associations(partition, call_id, kind, to_id, type_ids.as_deref())?;
        Ok(())
    }

    /// Associations of live calls with the given records, by record id.
    pub fn associations_of_records(
        &self,
        partition: Partition,
        kind: AssociatedKind,
        to_ids: &[u64],
    ) -> Result<HashMap<u64, Vec<Association>>, CrmError> {
        let mut by_record: HashMap<u64, Vec<Association>> = HashMap::new();
        for association in self.store().associations_to(partition, kind, to_ids)? {
            by_record
                .entry(association.to_id)
                .or_default()
                .push(association);
        }
        Ok(by_record)
    }
}
