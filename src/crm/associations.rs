//! Associations between calls and the records HubSpot links them to.
//!
//! hubcalls holds calls only; the other side of an association is just an object type and a
//! numeric id, accepted without a lookup.

use super::record::RecordId;

/// The object types a call can be associated with, with HubSpot's default type ids in both
/// directions (`call -> X` and `X -> call`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AssociatedKind {
    Contact,
    Company,
    Deal,
    Ticket,
}

impl AssociatedKind {
    pub const ALL: [AssociatedKind; 4] = [Self::Contact, Self::Company, Self::Deal, Self::Ticket];

    /// Reads an object type as HubSpot accepts it in paths and parameters: singular or
    /// plural name in any case, or the object type id.
    pub fn parse(text: &str) -> Option<Self> {
        let lower = text.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|kind| {
            lower == kind.singular() || lower == kind.plural() || lower == kind.object_type_id()
        })
    }

    pub fn from_call_type_id(type_id: u32) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.call_to_type_id() == type_id)
    }

    pub fn singular(self) -> &'static str {
        match self {
            Self::Contact => "contact",
            Self::Company => "company",
            Self::Deal => "deal",
            Self::Ticket => "ticket",
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            Self::Contact => "contacts",
            Self::Company => "companies",
            Self::Deal => "deals",
            Self::Ticket => "tickets",
        }
    }

    pub fn object_type_id(self) -> &'static str {
        match self {
            Self::Contact => "0-1",
            Self::Company => "0-2",
            Self::Deal => "0-3",
            Self::Ticket => "0-5",
        }
    }

    /// HubSpot's upper-case internal name, used in association error messages.
    pub fn internal_name(self) -> &'static str {
        match self {
            Self::Contact => "CONTACT",
            Self::Company => "COMPANY",
            Self::Deal => "DEAL",
            Self::Ticket => "TICKET",
        }
    }

    /// The default (unlabelled) `call -> X` association type id.
    pub fn call_to_type_id(self) -> u32 {
        match self {
            Self::Contact => 194,
            Self::Company => 182,
            Self::Deal => 206,
            Self::Ticket => 220,
        }
    }

    /// The default `X -> call` association type id.
    pub fn to_call_type_id(self) -> u32 {
        self.call_to_type_id() - 1
    }

    /// The snake-case type name shown in the v3 `associations` output.
    pub fn call_to_type_name(self) -> String {
        format!("call_to_{}", self.singular())
    }
}

/// One association of a call with another record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Association {
    pub call_id: RecordId,
    pub kind: AssociatedKind,
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

/// Which way an association is read or written: from the call, or towards it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    FromCall,
    ToCall,
}

/// An association type as a client names it, for one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssociationSpec {
    pub category: AssociationCategory,
    pub type_id: u32,
}

impl AssociationSpec {
    /// The default (unlabelled) type of `kind` seen in `direction`.
    pub fn default_for(kind: AssociatedKind, direction: Direction) -> Self {
        let type_id = match direction {
            Direction::FromCall => kind.call_to_type_id(),
            Direction::ToCall => kind.to_call_type_id(),
        };
        Self {
            category: AssociationCategory::HubspotDefined,
            type_id,
        }
    }

    /// The type id kept in storage: HubSpot-defined types are kept as their `call -> X`
    /// id, so both directions are one row and can never disagree. Labels (user or
    /// integrator defined) are kept as given. `None` when the type does not fit the pair.
    pub fn stored_type_id(self, kind: AssociatedKind, direction: Direction) -> Option<u32> {
        match self.category {
            AssociationCategory::HubspotDefined => {
                (self == Self::default_for(kind, direction)).then_some(kind.call_to_type_id())
            }
            _ => (self.type_id > 0).then_some(self.type_id),
        }
    }

    /// How a stored association reads in `direction`.
    pub fn of(association: &Association, direction: Direction) -> Self {
        let type_id = match (association.category, direction) {
            (AssociationCategory::HubspotDefined, Direction::ToCall) => association.type_id - 1,
            _ => association.type_id,
        };
        Self {
            category: association.category,
            type_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_types_pair_up() {
        for kind in AssociatedKind::ALL {
            let from = AssociationSpec::default_for(kind, Direction::FromCall);
            let to = AssociationSpec::default_for(kind, Direction::ToCall);
            assert_eq!(from.type_id, to.type_id + 1);
            assert_eq!(
                from.stored_type_id(kind, Direction::FromCall),
                Some(from.type_id)
            );
            assert_eq!(
                to.stored_type_id(kind, Direction::ToCall),
                Some(from.type_id)
            );
            assert_eq!(from.stored_type_id(kind, Direction::ToCall), None);
        }
        assert_eq!(AssociatedKind::Contact.call_to_type_id(), 194);
        assert_eq!(AssociatedKind::Ticket.to_call_type_id(), 219);
    }

    #[test]
    fn object_types_parse_in_every_spelling() {
        for text in ["contact", "CONTACTS", "0-1"] {
            assert_eq!(AssociatedKind::parse(text), Some(AssociatedKind::Contact));
        }
        assert_eq!(AssociatedKind::parse("calls"), None);
    }
}
