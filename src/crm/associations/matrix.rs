//! Associations between records of two object types, and HubSpot's association types.
//!
//! Every association of a pair of types is kept once, by the records of one of the two
//! types, its *owner*: the type registered first (engagements before contacts, contacts
//! before companies, …; see [`ObjectType::storage_key`]). Calls came first, so the rows
//! stores of earlier versions hold (calls to contacts, companies, deals and tickets) are
//! already in this form. A HubSpot-defined type is kept as its `owner -> other` id and read
//! from the other side as its pair (`call -> contact` 194 reads `contact -> call` 193);
//! labels (user or integrator defined) are kept as given and read the same both ways.
//!
//! Between two records of the same type (contact to contact, company parent to child) the
//! owner is either end, so such an association is kept from both: a row from each record,
//! each with the type as read from it ([`Association::mirrored`]). Both engines write and
//! remove the two rows together, so every read, search and report sees it from both ends.

use crate::crm::objects::{ObjectType, DEFINED_ASSOCIATIONS};
use crate::crm::record::RecordId;

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

impl Association {
    /// The same association kept from its other end, when both ends are records of
    /// `owner` (the type whose partition keeps the row): the type read the other way
    /// (13 parent -> child reads 14 from the child; 449 and labels read the same).
    pub fn mirrored(&self, owner: ObjectType) -> Option<Association> {
        if self.to_type != owner {
            return None;
        }
        let type_id = match self.category {
            AssociationCategory::HubspotDefined => AssociationPair::new(owner, owner)
                .defined()
                .find(|d| d.forward == self.type_id)
                .map_or(self.type_id, |d| d.backward),
            _ => self.type_id,
        };
        Some(Association {
            from_id: self.to_id,
            to_type: owner,
            to_id: self.from_id,
            type_id,
            category: self.category,
        })
    }
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

/// One HubSpot-defined type of a pair as read `from -> to`.
#[derive(Debug, Clone, Copy)]
struct DefinedType {
    forward: u32,
    /// The same association read `to -> from`.
    backward: u32,
    label: Option<&'static str>,
    default: bool,
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

    /// HubSpot-defined types `from -> to`, each with the id of the same association read
    /// `to -> from`; the unlabelled one first. A same-type pair's labelled types count in
    /// both directions (13 and 14 are both company -> company types).
    fn defined(self) -> impl Iterator<Item = DefinedType> {
        DEFINED_ASSOCIATIONS.iter().flat_map(move |d| {
            let label = |direction: usize| {
                if d.primary {
                    Some("Primary")
                } else {
                    d.named.map(|named| named[direction].1)
                }
            };
            let forward = DefinedType {
                forward: d.forward,
                backward: d.backward,
                label: label(0),
                default: d.is_default(),
            };
            let backward = DefinedType {
                forward: d.backward,
                backward: d.forward,
                label: label(1),
                default: d.is_default(),
            };
            let same_type_twice = d.from == d.to && d.forward == d.backward;
            [
                ((d.from, d.to) == (self.from, self.to)).then_some(forward),
                ((d.to, d.from) == (self.from, self.to) && !same_type_twice).then_some(backward),
            ]
            .into_iter()
            .flatten()
        })
    }

    /// Every HubSpot-defined type `from -> to`, with its label (`None` for the unlabelled
    /// one, "Primary", …); the unlabelled one first.
    pub fn defined_specs(self) -> impl Iterator<Item = (AssociationSpec, Option<&'static str>)> {
        self.defined()
            .map(|d| (AssociationSpec::hubspot_defined(d.forward), d.label))
    }

    /// The default (unlabelled) HubSpot-defined type `from -> to`; `None` where HubSpot
    /// defines no association between the two types.
    pub fn default_spec(self) -> Option<AssociationSpec> {
        self.defined()
            .find(|d| d.default)
            .map(|d| AssociationSpec::hubspot_defined(d.forward))
    }

    /// Whether `type_id` is one of HubSpot's types `from -> to`.
    pub fn is_defined(self, type_id: u32) -> bool {
        self.defined().any(|d| d.forward == type_id)
    }

    /// The name the v3 API shows for the default type (`call_to_contact`).
    pub fn default_type_name(self) -> String {
        format!("{}_to_{}", self.from.singular, self.to.singular)
    }

    /// The type id kept in storage for `spec` read `from -> to`: HubSpot-defined types as
    /// their `owner -> other` id, labels as given. `None` when the type does not fit the pair.
    pub fn stored_type_id(self, spec: AssociationSpec) -> Option<u32> {
        match spec.category {
            AssociationCategory::HubspotDefined => {
                self.defined().find(|d| d.forward == spec.type_id).map(|d| {
                    if self.from_owns() {
                        d.forward
                    } else {
                        d.backward
                    }
                })
            }
            _ => (spec.type_id > 0).then_some(spec.type_id),
        }
    }

    /// How a stored association reads `from -> to`.
    pub fn spec_of(self, association: &Association) -> AssociationSpec {
        let type_id = match association.category {
            AssociationCategory::HubspotDefined if !self.from_owns() => self
                .reversed()
                .defined()
                .find(|d| d.forward == association.type_id)
                .map_or(association.type_id, |d| d.backward),
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
    fn same_type_pairs_read_from_both_ends() {
        let companies = AssociationPair::new(ObjectType::COMPANIES, ObjectType::COMPANIES);
        assert_eq!(companies.default_spec().map(|s| s.type_id), Some(450));
        let ids: Vec<u32> = companies.defined_specs().map(|(s, _)| s.type_id).collect();
        assert_eq!(ids, [450, 13, 14]);
        for id in [13, 14, 450] {
            assert_eq!(
                companies.stored_type_id(AssociationSpec::hubspot_defined(id)),
                Some(id)
            );
        }
        let parent_of = Association {
            from_id: 1,
            to_type: ObjectType::COMPANIES,
            to_id: 2,
            type_id: 13,
            category: AssociationCategory::HubspotDefined,
        };
        let child_of = parent_of.mirrored(ObjectType::COMPANIES).unwrap();
        assert_eq!(
            (child_of.from_id, child_of.to_id, child_of.type_id),
            (2, 1, 14)
        );
        assert_eq!(
            child_of.mirrored(ObjectType::COMPANIES),
            Some(parent_of.clone())
        );
        let contacts = Association {
            to_type: ObjectType::CONTACTS,
            type_id: 449,
            ..parent_of.clone()
        };
        assert_eq!(
            contacts.mirrored(ObjectType::CONTACTS).map(|m| m.type_id),
            Some(449)
        );
        // Rows with another type have no mirror.
        assert_eq!(parent_of.mirrored(ObjectType::CONTACTS), None);
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
