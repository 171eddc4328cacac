//! Associations between calls and the records HubSpot links them to.
//!
//! hubcalls holds calls only; the other side of an association is just an object type and a
//! numeric id, accepted without a lookup.

use super::call::CallId;

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
    pub call_id: CallId,
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
