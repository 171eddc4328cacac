//! The association service: association operations between live records of any two
//! types, read and written as a request names the pair (`from` -> `to`), kept by the
//! owning type (see [`super::matrix`]).

use std::sync::Arc;

use super::links::{
    associate, checked_associations, live_records, read_links, require_live_records, Link, Links,
};
use super::matrix::{Association, AssociationPair, AssociationSpec};
use crate::crm::error::CrmError;
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::ports::Store;
use crate::crm::record::{PortalId, RecordId};

/// Associations need the store only: their rules are the type matrix, and the records
/// they name are checked live by reading them.
pub struct AssociationService {
    store: Arc<dyn Store>,
}

impl AssociationService {
    pub(in crate::crm) fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The ids among `ids` that are live records of the partition.
    pub fn live_records(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<Vec<RecordId>, CrmError> {
        live_records(self.store.as_ref(), partition, ids)
    }

    /// Fails with `INVALID_OBJECT_IDS` unless every id is a live record of the partition.
    pub fn require_live_records(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<(), CrmError> {
        require_live_records(self.store.as_ref(), partition, ids)
    }

    /// Adds associations between live records (existing ones are kept). Returns them as
    /// stored.
    pub fn associate(
        &self,
        portal: PortalId,
        pair: AssociationPair,
        links: &[Link],
    ) -> Result<Vec<Association>, CrmError> {
        associate(self.store.as_ref(), portal, pair, links)
    }

    /// Sets the associations between two records to exactly `specs` (the v4 labelled PUT
    /// replaces what the pair had).
    pub fn set_associations(
        &self,
        portal: PortalId,
        pair: AssociationPair,
        link: Link,
    ) -> Result<Vec<Association>, CrmError> {
        let (from_id, to_id, _) = link;
        let associations = checked_associations(
            self.store.as_ref(),
            portal,
            pair,
            std::slice::from_ref(&link),
        )?;
        let (owner_id, other_id) = pair.owner_and_other(from_id, to_id);
        self.store.replace_associations(
            Partition::new(portal, pair.owner()),
            owner_id,
            pair.other(),
            other_id,
            &associations,
        )?;
        Ok(associations)
    }

    /// Removes associations between two records: all of them, or the given types (read
    /// `from -> to`). Removing the default type removes every label too, as HubSpot does.
    /// Unknown pairs are not an error.
    pub fn dissociate(
        &self,
        portal: PortalId,
        pair: AssociationPair,
        from_id: RecordId,
        to_id: u64,
        specs: Option<&[AssociationSpec]>,
    ) -> Result<(), CrmError> {
        let default = pair.default_spec();
        let type_ids: Option<Vec<u32>> = match specs {
            Some(specs) if !default.is_some_and(|d| specs.contains(&d)) => Some(
                specs
                    .iter()
                    .filter_map(|s| pair.stored_type_id(*s))
                    .collect(),
            ),
            _ => None,
        };
        let (owner_id, other_id) = pair.owner_and_other(from_id, to_id);
        self.store.remove_associations(
            Partition::new(portal, pair.owner()),
            owner_id,
            pair.other(),
            other_id,
            type_ids.as_deref(),
        )?;
        Ok(())
    }

    /// The associations of the live `from` records with records of the pair's `to` type,
    /// read `from -> to` (see [`read_links`]).
    pub fn links(
        &self,
        portal: PortalId,
        pair: AssociationPair,
        from_ids: &[u64],
    ) -> Result<Links, CrmError> {
        read_links(self.store.as_ref(), portal, pair, from_ids)
    }

    /// Every association of the partition's records with records of each of `types`, as
    /// read from them (for `associations=` on reads).
    pub fn links_by_type(
        &self,
        partition: Partition,
        ids: &[RecordId],
        types: &[ObjectType],
    ) -> Result<Vec<(ObjectType, Links)>, CrmError> {
        types
            .iter()
            .map(|to| {
                let pair = AssociationPair::new(partition.object_type, *to);
                Ok((*to, self.links(partition.portal, pair, ids)?))
            })
            .collect()
    }
}
