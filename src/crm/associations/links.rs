//! Checked reads and writes of association rows over a store: the association service's
//! core, and what the other services need of associations (records checking a create's
//! targets, removing rows on a GDPR delete, resolving association filters; merge carrying
//! associations over), as plain functions so no service holds another.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::matrix::{Association, AssociationPair, AssociationSpec};
use crate::crm::error::CrmError;
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::ports::Store;
use crate::crm::properties::PropertyType;
use crate::crm::record::{PortalId, RecordId};
use crate::crm::records::OBJECT_ID_PROPERTY;
use crate::crm::search::{Condition, FilterTarget, Operand, SearchPlan};

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
pub fn invalid_type(spec: AssociationSpec, pair: AssociationPair) -> CrmError {
    let (from, to) = (pair.from.internal_name, pair.to.internal_name);
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

/// A `from` record, a `to` record and the association types between them, read `from -> to`.
pub type Link = (RecordId, u64, Vec<AssociationSpec>);

/// Associations of some `from` records: per `from` id, per `to` id, the types read
/// `from -> to`.
pub type Links = HashMap<u64, BTreeMap<u64, Vec<AssociationSpec>>>;

/// The ids among `ids` that are live records of the partition.
pub(super) fn live_records(
    store: &dyn Store,
    partition: Partition,
    ids: &[RecordId],
) -> Result<Vec<RecordId>, CrmError> {
    Ok(store
        .get_records(partition, ids)?
        .into_iter()
        .filter(|c| !c.is_archived())
        .map(|c| c.id)
        .collect())
}

/// Fails with `INVALID_OBJECT_IDS` unless every id is a live record of the partition.
pub(in crate::crm) fn require_live_records(
    store: &dyn Store,
    partition: Partition,
    ids: &[RecordId],
) -> Result<(), CrmError> {
    let live = live_records(store, partition, ids)?;
    let missing: Vec<String> = ids
        .iter()
        .filter(|id| !live.contains(id))
        .map(|id| id.to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(invalid_object_ids(
            partition.object_type.internal_name,
            &missing,
        ))
    }
}

/// Adds associations between live records (existing ones are kept). Returns them as
/// stored.
pub(in crate::crm) fn associate(
    store: &dyn Store,
    portal: PortalId,
    pair: AssociationPair,
    links: &[Link],
) -> Result<Vec<Association>, CrmError> {
    let associations = checked_associations(store, portal, pair, links)?;
    store.add_associations(Partition::new(portal, pair.owner()), &associations)?;
    Ok(associations)
}

/// Checks links — both records live, types that fit the pair, at least one type each —
/// and turns them into associations as stored.
pub(super) fn checked_associations(
    store: &dyn Store,
    portal: PortalId,
    pair: AssociationPair,
    links: &[Link],
) -> Result<Vec<Association>, CrmError> {
    if links.iter().any(|(.., specs)| specs.is_empty()) {
        return Err(CrmError::invalid(
            "Every association needs at least one association type",
        ));
    }
    // HubSpot defines no association between some types (two engagements, say):
    // neither default types nor labels exist for them.
    if let Some(spec) = pair
        .default_spec()
        .is_none()
        .then(|| links.iter().flat_map(|(.., specs)| specs).next())
        .flatten()
    {
        return Err(invalid_type(*spec, pair));
    }
    // HubSpot's docs do not say what associating a record with itself does; refused
    // here (docs/compatibility.md), since it would read as two ends of one record.
    if let Some((from_id, ..)) = links
        .iter()
        .find(|(from_id, to_id, _)| pair.from == pair.to && from_id == to_id)
    {
        return Err(CrmError::invalid(format!(
            "{} {from_id} cannot be associated with itself",
            pair.from.singular
        )));
    }
    let mut associations = Vec::new();
    for (from_id, to_id, specs) in links {
        for spec in specs {
            let Some(type_id) = pair.stored_type_id(*spec) else {
                // A HubSpot-defined id of another pair: HubSpot checks the record as
                // one of that pair's type, and finds none.
                if let Some(implied) =
                    AssociationPair::implied_from_type(spec.type_id).filter(|t| *t != pair.from)
                {
                    return Err(invalid_object_ids(
                        implied.internal_name,
                        &[from_id.to_string()],
                    ));
                }
                return Err(invalid_type(*spec, pair));
            };
            let (owner_id, other_id) = pair.owner_and_other(*from_id, *to_id);
            associations.push(Association {
                from_id: owner_id,
                to_type: pair.other(),
                to_id: other_id,
                type_id,
                category: spec.category,
            });
        }
    }
    let unique = |ids: Vec<u64>| -> Vec<u64> {
        let set: HashSet<u64> = ids.into_iter().collect();
        let mut ids: Vec<u64> = set.into_iter().collect();
        ids.sort_unstable();
        ids
    };
    let from_ids = unique(links.iter().map(|(from, ..)| *from).collect());
    let to_ids = unique(links.iter().map(|(_, to, _)| *to).collect());
    require_live_records(store, Partition::new(portal, pair.from), &from_ids)?;
    require_live_records(store, Partition::new(portal, pair.to), &to_ids)?;
    Ok(associations)
}

/// The associations of the live `from` records with records of the pair's `to` type,
/// read `from -> to`. Records of `to` that are archived are left out (rows kept from
/// earlier versions may name records that never existed here: those stay readable).
pub(in crate::crm) fn read_links(
    store: &dyn Store,
    portal: PortalId,
    pair: AssociationPair,
    from_ids: &[u64],
) -> Result<Links, CrmError> {
    let owner = Partition::new(portal, pair.owner());
    let mut rows: Vec<(u64, u64, AssociationSpec)> = Vec::new();
    if pair.from_owns() {
        let live = live_records(store, owner, from_ids)?;
        for a in store.associations(owner, &live)? {
            if a.to_type == pair.to {
                rows.push((a.from_id, a.to_id, pair.spec_of(&a)));
            }
        }
    } else {
        // The store returns only associations of live owners.
        for a in store.associations_to(owner, pair.from, from_ids)? {
            rows.push((a.to_id, a.from_id, pair.spec_of(&a)));
        }
        let from = Partition::new(portal, pair.from);
        let live: HashSet<u64> = live_records(store, from, from_ids)?.into_iter().collect();
        rows.retain(|(from_id, ..)| live.contains(from_id));
    }
    let to_ids: Vec<u64> = rows.iter().map(|(_, to, _)| *to).collect();
    let archived: HashSet<u64> = store
        .get_records(Partition::new(portal, pair.to), &to_ids)?
        .into_iter()
        .filter(|r| r.is_archived())
        .map(|r| r.id)
        .collect();
    let mut links = Links::new();
    for (from_id, to_id, spec) in rows {
        if !archived.contains(&to_id) {
            links
                .entry(from_id)
                .or_default()
                .entry(to_id)
                .or_default()
                .push(spec);
        }
    }
    Ok(links)
}

/// Removes the associations other types keep with records of `partition` about to be
/// deleted for good (their own rows go with them).
pub(in crate::crm) fn forget_associations_to(
    store: &dyn Store,
    partition: Partition,
    ids: &[RecordId],
) -> Result<(), CrmError> {
    for owner in ObjectType::all() {
        if owner == partition.object_type
            || !AssociationPair::new(owner, partition.object_type).from_owns()
        {
            continue;
        }
        let owner = Partition::new(partition.portal, owner);
        for a in store.associations_to(owner, partition.object_type, ids)? {
            store.remove_associations(owner, a.from_id, a.to_type, a.to_id, None)?;
        }
    }
    Ok(())
}

/// Turns `associations.<type>` filters whose rows the other type keeps (a company
/// searched by its contacts: contacts own that pair) into `hs_object_id IN (…)`, read
/// from the owner's rows: the searched type's index has none of them.
pub(in crate::crm) fn resolve_association_filters(
    store: &dyn Store,
    partition: Partition,
    plan: &mut SearchPlan,
) -> Result<(), CrmError> {
    for filter in plan.groups.iter_mut().flatten() {
        let FilterTarget::Association(other) = filter.target else {
            continue;
        };
        let pair = AssociationPair::new(partition.object_type, other);
        if pair.from_owns() {
            continue;
        }
        let to_ids: Vec<u64> = match &filter.condition {
            Condition::Eq(operand) => vec![operand.clone()],
            Condition::In(operands) => operands.clone(),
            _ => {
                return Err(CrmError::invalid(format!(
                    "Searching {} by associations.{} supports the EQ and IN operators",
                    partition.object_type.plural, other.singular
                )))
            }
        }
        .into_iter()
        .filter_map(|operand| match operand {
            Operand::Number(n) if n >= 0.0 && n.fract() == 0.0 => Some(n as u64),
            _ => None,
        })
        .collect();
        let owner = Partition::new(partition.portal, other);
        let mut ids: Vec<Operand> = store
            .associations(owner, &to_ids)?
            .into_iter()
            .filter(|a| a.to_type == partition.object_type)
            .map(|a| Operand::Number(a.to_id as f64))
            .collect();
        if ids.is_empty() {
            // No record id is negative: an `IN` that matches nothing, in a form every
            // engine accepts (an empty SQL `IN ()` is not).
            ids.push(Operand::Number(-1.0));
        }
        filter.target = FilterTarget::Property {
            name: OBJECT_ID_PROPERTY.to_owned(),
            property_type: PropertyType::Number,
        };
        filter.condition = Condition::In(ids);
    }
    Ok(())
}
