//! What can go wrong under the rules, independent of how the API words it.

use super::properties::PropertyProblem;

/// A failure of a call operation. The API layer turns each into HubSpot's error body.
#[derive(Debug, thiserror::Error)]
pub enum CrmError {
    /// One or more property values were refused; nothing was written.
    #[error("Property values were not valid")]
    InvalidProperties(Vec<PropertyProblem>),
    /// The write breaks the portal's write validation rules (enforced from API version
    /// 2026-09 on); nothing was written.
    #[error("The property values provided are invalid")]
    RuleViolations(Vec<PropertyProblem>),
    /// The addressed call does not exist (or not in the requested archive state).
    #[error("object {id} not found")]
    NotFound { id: String },
    /// A request that is well-formed JSON but breaks a rule (limits, duplicates, ...).
    #[error("{message}")]
    Invalid {
        message: String,
        context: Vec<(String, Vec<String>)>,
    },
    /// Associations given on a write that cannot exist.
    #[error("One or more associations are invalid")]
    InvalidAssociations { context: Vec<(String, Vec<String>)> },
    /// The request would create something that already exists.
    #[error("{message}")]
    Conflict {
        message: String,
        context: Vec<(String, Vec<String>)>,
    },
    /// A named resource other than a call (a property, a group) does not exist.
    #[error("{0}")]
    UnknownResource(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CrmError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid {
            message: message.into(),
            context: Vec::new(),
        }
    }
}

/// A storage failure. The rules never look inside: they pass it on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The engine cannot serve right now (disk full, database unreachable, busy).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A write would give a unique-value property a value another live call already has.
    #[error("unique value conflict on {property}")]
    UniqueViolation {
        property: String,
        value: String,
        /// The call being written and the one that already holds the value.
        call_id: u64,
        existing: u64,
    },
    /// A restored call's id belongs to another portal.
    #[error("call id {id} belongs to another portal")]
    IdTaken { id: u64 },
    /// Anything else the engine reported.
    #[error("store failure: {0}")]
    Backend(String),
}
