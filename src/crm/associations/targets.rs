//! Associations asked for on create: which type each target is (HubSpot infers it from the
//! type id), that it exists, and which partition keeps each row.

use std::collections::BTreeMap;

use super::links::{parse_record_id, require_live_records};
use super::matrix::{Association, AssociationCategory, AssociationPair, AssociationSpec};
use crate::crm::error::CrmError;
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::ports::Store;
use crate::crm::record::{PortalId, RecordId};
use crate::crm::records::AssociationRequest;

/// An association asked for on create: the other record's type (inferred from the type
/// id, as HubSpot does), its id, and the type read from the new record.
pub(in crate::crm) type AssociationTarget = (ObjectType, u64, AssociationSpec);

/// Reads the associations of a create of `object_type`: HubSpot-defined types whose id
/// belongs to a pair with `object_type` on the `from` side, and numeric target ids.
pub(in crate::crm) fn validate_associations(
    object_type: ObjectType,
    requests: &[AssociationRequest],
) -> Result<Vec<AssociationTarget>, CrmError> {
    let mut targets = Vec::new();
    let mut bad_specs = Vec::new();
    let mut bad_ids = Vec::new();
    for request in requests {
        if request.types.is_empty() {
            bad_specs.push(format!("(no type for id {})", request.to_id));
        }
        for (category, type_id) in &request.types {
            let spec = format!("{category}={type_id}");
            let parsed = AssociationCategory::parse(category)
                .filter(|c| *c == AssociationCategory::HubspotDefined)
                .and_then(|category| {
                    let type_id = u32::try_from(*type_id).ok()?;
                    let to_type = ObjectType::all().find(|to| {
                        AssociationPair::new(object_type, *to)
                            .stored_type_id(AssociationSpec { category, type_id })
                            .is_some()
                    })?;
                    Some((to_type, AssociationSpec { category, type_id }))
                });
            let Some((to_type, spec)) = parsed else {
                bad_specs.push(spec);
                continue;
            };
            match parse_record_id(&request.to_id) {
                Some(to_id) => targets.push((to_type, to_id, spec)),
                None => bad_ids.push(format!(
                    "{}={} is not valid",
                    to_type.internal_name, request.to_id
                )),
            }
        }
    }
    let mut context = Vec::new();
    if !bad_specs.is_empty() {
        let invalid = bad_specs
            .iter()
            .map(|s| format!("{s} is not a valid association definition id"))
            .collect();
        context.push(("associationSpec".to_owned(), bad_specs));
        context.push(("INVALID_ASSOCIATION_TYPE_ID".to_owned(), invalid));
    }
    if !bad_ids.is_empty() {
        context.push(("INVALID_OBJECT_IDS".to_owned(), bad_ids));
    }
    if context.is_empty() {
        targets.sort();
        targets.dedup();
        Ok(targets)
    } else {
        Err(CrmError::InvalidAssociations { context })
    }
}

/// The associations of a new record `id` of `object_type`: those its own partition keeps
/// (written with it), and those the other type keeps, by owning type.
pub(in crate::crm) fn split_associations(
    object_type: ObjectType,
    id: RecordId,
    targets: &[AssociationTarget],
) -> (Vec<Association>, Vec<(ObjectType, Association)>) {
    let mut own = Vec::new();
    let mut foreign = Vec::new();
    for (to_type, to_id, spec) in targets {
        let pair = AssociationPair::new(object_type, *to_type);
        let Some(type_id) = pair.stored_type_id(*spec) else {
            continue;
        };
        let (owner_id, other_id) = pair.owner_and_other(id, *to_id);
        let association = Association {
            from_id: owner_id,
            to_type: pair.other(),
            to_id: other_id,
            type_id,
            category: spec.category,
        };
        if pair.from_owns() {
            own.push(association);
        } else {
            foreign.push((pair.owner(), association));
        }
    }
    (own, foreign)
}

/// Fails with HubSpot's `INVALID_OBJECT_IDS` unless every target of a create's
/// associations is a live record of its type.
pub(in crate::crm) fn require_live_targets(
    store: &dyn Store,
    portal: PortalId,
    targets: &[AssociationTarget],
) -> Result<(), CrmError> {
    let mut by_type: BTreeMap<ObjectType, Vec<RecordId>> = BTreeMap::new();
    for (to_type, to_id, _) in targets {
        by_type.entry(*to_type).or_default().push(*to_id);
    }
    for (to_type, ids) in by_type {
        require_live_records(store, Partition::new(portal, to_type), &ids)?;
    }
    Ok(())
}
