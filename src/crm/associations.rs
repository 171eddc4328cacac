//! Associations between records of two object types, and HubSpot's association types.
//!
//! Every association of a pair of types is kept once, by the records of one of the two
//! types, its *owner*: the type registered first (engagements before contacts, contacts
//! before companies, …; see [`ObjectType::storage_key`]). Calls came first, so the rows
//! stores of earlier versions hold (calls to contacts, companies, deals and tickets) are
//! already in this form. A HubSpot-defined type is kept as its `owner -> other` id and read
//! from the other side as its pair (`call -> contact` 194 reads `contact -> call` 193);
//! labels (user or integrator defined) are kept as given and read the same both ways.

use super::objects::{ObjectType, DEFINED_ASSOCIATIONS};
use super::record::RecordId;

/// One association as stored: a record of the owning type (`from_id`, whose partition
/// keeps the row), a record of `to_type`, and the type as read from the owner.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Association {
    pub from_id: RecordId,
    pub to_type: ObjectType,
    pub to_id: u64,
    pub type_id: u32,
    pub category: AssociationCategory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AssociationCategory {
    HubspotDefined,
    UserDefined,
    IntegratorDefined,
    Work,
}

impl AssociationCategory {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "HUBSPOT_DEFINED" => Some(Self::HubspotDefined),
            "USER_DEFINED" => Some(Self::UserDefined),
            "INTEGRATOR_DEFINED" => Some(Self::IntegratorDefined),
            "WORK" => Some(Self::Work),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::HubspotDefined => "HUBSPOT_DEFINED",
            Self::UserDefined => "USER_DEFINED",
            Self::IntegratorDefined => "INTEGRATOR_DEFINED",
            Self::Work => "WORK",
        }
    }
}

/// An association type as a client names it, read in one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AssociationSpec {
    pub category: AssociationCategory,
    pub type_id: u32,
}

impl AssociationSpec {
    fn hubspot_defined(type_id: u32) -> Self {
        Self {
            category: AssociationCategory::HubspotDefined,
            type_id,
        }
    }
}

/// Two object types as a request names them, `from` -> `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssociationPair {
    pub from: ObjectType,
    pub to: ObjectType,
}

impl AssociationPair {
    pub fn new(from: ObjectType, to: ObjectType) -> Self {
        Self { from, to }
    }

    /// The same pair read the other way.
    pub fn reversed(self) -> Self {
        Self::new(self.to, self.from)
    }

    /// Whether `from` is the type whose records keep the pair's associations.
    pub fn from_owns(self) -> bool {
        self.from.storage_key() <= self.to.storage_key()
    }

    /// The owning type and the other one.
    pub fn owner(self) -> ObjectType {
        if self.from_owns() {
            self.from
        } else {
            self.to
        }
    }

    pub fn other(self) -> ObjectType {
        if self.from_owns() {
            self.to
        } else {
            self.from
        }
    }

    /// `(owner's record, other's record)` of a `(from, to)` pair of ids.
    pub fn owner_and_other(self, from_id: u64, to_id: u64) -> (u64, u64) {
        if self.from_owns() {
            (from_id, to_id)
        } else {
            (to_id, from_id)
        }
    }

    /// HubSpot-defined type ids `from -> to`, each with the id of the same association
    /// read `to -> from`; the unlabelled one first.
    fn defined(self) -> impl Iterator<Item = (u32, u32, bool)> {
        DEFINED_ASSOCIATIONS.iter().filter_map(move |d| {
            if (d.from, d.to) == (self.from, self.to) {
                Some((d.forward, d.backward, d.primary))
            } else if (d.to, d.from) == (self.from, self.to) {
                Some((d.backward, d.forward, d.primary))
            } else {
                None
            }
        })
    }

    /// Every HubSpot-defined type `from -> to`, with whether it is a labelled "primary"
    /// one; the unlabelled one first.
    pub fn defined_specs(self) -> impl Iterator<Item = (AssociationSpec, bool)> {
        self.defined()
            .map(|(forward, _, primary)| (AssociationSpec::hubspot_defined(forward), primary))
    }

    /// The default (unlabelled) HubSpot-defined type `from -> to`; `None` where HubSpot
    /// defines no association between the two types.
    pub fn default_spec(self) -> Option<AssociationSpec> {
        self.defined()
            .find(|(_, _, primary)| !primary)
            .map(|(forward, ..)| AssociationSpec::hubspot_defined(forward))
    }

    /// The name the v3 API shows for the default type (`call_to_contact`).
    pub fn default_type_name(self) -> String {
        format!("{}_to_{}", self.from.singular, self.to.singular)
    }

    /// The type id kept in storage for `spec` read `from -> to`: HubSpot-defined types as
    /// their `owner -> other` id, labels as given. `None` when the type does not fit the pair.
    pub fn stored_type_id(self, spec: AssociationSpec) -> Option<u32> {
        match spec.category {
            AssociationCategory::HubspotDefined => self
                .defined()
                .find(|(forward, ..)| *forward == spec.type_id)
                .map(|(forward, backward, _)| if self.from_owns() { forward } else { backward }),
            _ => (spec.type_id > 0).then_some(spec.type_id),
        }
    }

    /// How a stored association reads `from -> to`.
    pub fn spec_of(self, association: &Association) -> AssociationSpec {
        let type_id = match association.category {
            AssociationCategory::HubspotDefined if !self.from_owns() => self
                .reversed()
                .defined()
                .find(|(forward, ..)| *forward == association.type_id)
                .map_or(association.type_id, |(_, backward, _)| backward),
            _ => association.type_id,
        };
        AssociationSpec {
            category: association.category,
            type_id,
        }
    }

    /// The type a HubSpot-defined id belongs to when it is not one of this pair: HubSpot
    /// checks the `from` id as a record of that type (HubSpot/hubspot-api-nodejs#646), so a
    /// wrong-direction id names it.
    pub fn implied_from_type(type_id: u32) -> Option<ObjectType> {
        DEFINED_ASSOCIATIONS.iter().find_map(|d| {
            if d.forward == type_id {
                Some(d.from)
            } else if d.backward == type_id {
                Some(d.to)
            } else {
                None
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_keep_their_rows_as_before() {
        let pair = AssociationPair::new(ObjectType::CALLS, ObjectType::CONTACTS);
        assert!(pair.from_owns());
        assert_eq!(pair.default_spec().map(|s| s.type_id), Some(194));
        assert_eq!(pair.reversed().default_spec().map(|s| s.type_id), Some(193));
        // Read from the contact, 193 is kept as the call's 194.
        let from_contact = pair.reversed();
        assert_eq!(
            from_contact.stored_type_id(AssociationSpec::hubspot_defined(193)),
            Some(194)
        );
        assert_eq!(
            from_contact.stored_type_id(AssociationSpec::hubspot_defined(194)),
            None
        );
        let stored = Association {
            from_id: 1,
            to_type: ObjectType::CONTACTS,
            to_id: 2,
            type_id: 194,
            category: AssociationCategory::HubspotDefined,
        };
        assert_eq!(from_contact.spec_of(&stored).type_id, 193);
        assert_eq!(pair.spec_of(&stored).type_id, 194);
    }

    #[test]
    fn contacts_own_their_companies_and_primary_types_pair_up() {
        let pair = AssociationPair::new(ObjectType::COMPANIES, ObjectType::CONTACTS);
        assert_eq!(pair.owner(), ObjectType::CONTACTS);
        assert_eq!(pair.default_spec().map(|s| s.type_id), Some(280));
        // company -> contact primary (2) is kept as contact -> company primary (1).
        assert_eq!(
            pair.stored_type_id(AssociationSpec::hubspot_defined(2)),
            Some(1)
        );
        assert_eq!(pair.owner_and_other(10, 20), (20, 10));
        assert_eq!(pair.reversed().default_type_name(), "contact_to_company");
    }

    #[test]
    fn pairs_hubspot_does_not_define_have_no_default() {
        let pair = AssociationPair::new(ObjectType::CALLS, ObjectType::NOTES);
        assert_eq!(pair.default_spec(), None);
        assert_eq!(
            AssociationPair::implied_from_type(1),
            Some(ObjectType::CONTACTS)
        );
    }
}
