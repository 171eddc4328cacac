//! A call record as the rules see it.

use std::collections::BTreeMap;

use super::time::EpochMillis;

/// A HubSpot account. Every call belongs to exactly one.
pub type PortalId = u32;

/// A call's record id. Ids are unique across portals, as HubSpot's are within an object type.
pub type RecordId = u64;

/// HubSpot's object type id for calls, used in `hs_obj_coords` and in paths.
pub const CALL_OBJECT_TYPE_ID: &str = "0-48";

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: RecordId,
    /// Every property that has a value, in its stored (normalised) text form. Absent means
    /// "no value"; the empty string is never stored.
    pub properties: BTreeMap<String, String>,
    pub created_at: EpochMillis,
    pub updated_at: EpochMillis,
    pub archived_at: Option<EpochMillis>,
}

impl Record {
    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }

    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).map(String::as_str)
    }
}

/// Which stored properties a read needs. Parsing every stored property of every record
/// read was most of a list page's or a search's cost (callgrind, issue 15) when the answer
/// shows five of them; a read that shows a few names asks the store for those.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Projection<'a> {
    /// Every stored property (writes, merges, exports, search evaluation).
    #[default]
    All,
    /// These names. A store may return more properties, never fewer of these.
    Only(Vec<&'a str>),
}

impl<'a> Projection<'a> {
    pub fn wants(&self, name: &str) -> bool {
        match self {
            Projection::All => true,
            Projection::Only(names) => names.contains(&name),
        }
    }

    /// This projection with `name` too.
    pub fn with(&self, name: &'a str) -> Projection<'a> {
        match self {
            Projection::Only(names) if !names.contains(&name) => {
                let mut names = names.clone();
                names.push(name);
                Projection::Only(names)
            }
            _ => self.clone(),
        }
    }
}

/// Where a write came from, recorded in property history (`sourceType`, `sourceId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSource {
    pub source_type: String,
    pub source_id: Option<String>,
}

impl WriteSource {
    /// A write through the public API by a private app.
    pub fn integration(app_id: u64) -> Self {
        Self {
            source_type: "INTEGRATION".to_owned(),
            source_id: Some(app_id.to_string()),
        }
    }

    /// Values hubcalls derives itself (`hs_lastmodifieddate`, body previews, ...).
    pub fn calculated() -> Self {
        Self {
            source_type: "CALCULATED".to_owned(),
            source_id: None,
        }
    }
}
