//! Moving a portal's data out and back in whole: the NDJSON transfer format behind
//! `hubcalls export` / `hubcalls import`, the admin fixture API and store-to-store copies.
//!
//! One JSON object per line, told apart by its `record` field, in this order (version 2;
//! `docs/fixtures.md` has every field):
//!
//! ```text
//! {"record":"header","format":"hubcalls","version":2,"portal":1,"exportedAt":"…"}      optional, first
//! {"record":"group","objectType":"contacts","name":"…","label":"…",…}                  custom groups
//! {"record":"property","objectType":"contacts","name":"…","type":"string",…}           custom properties
//! {"record":"pipeline","objectType":"deals","id":"…","label":"…","stages":[…],…}       custom pipelines
//! {"record":"object","objectType":"contacts","id":"…","createdAt":"…","updatedAt":"…",
//!  "archived":false,"properties":{…},"propertiesWithHistory":{…},"associations":[…]}   records, any type
//! ```
//!
//! Version 1 carried calls only: its `{"record":"call",…}` lines and groups and properties
//! without `objectType` still read as calls. Each association is written once, on the record
//! of the type that keeps it (see [`crate::crm::associations`]); an input may give one from
//! either side.
//!
//! Everything here works over `&dyn Store`, so the same code exports from one engine
//! and imports into another.
//!
//! [`TransferService`] is the area's service (the admin API's fixtures and exports, the
//! CLI's CSV imports); a CSV row becomes a record through the records' create function, so
//! it is checked exactly as an API create is.
//!
//! Atomicity: an import reads its input twice. The first pass ([`check_import`]) checks every
//! line (syntax, definitions, property values, ids, required properties, pipeline stages,
//! associations, unique values in the input and in the store) and writes nothing; any problem
//! refuses the whole input, with every problem's line number. Only then does the second pass
//! ([`apply_import`]) write: definitions, then records in chunks of [`CHUNK`] per transaction,
//! so memory stays bounded. What can still fail then is the store itself (disk full, or
//! another writer taking a unique value in between): chunks already written stay, and
//! running the same import again is safe, since a record is replaced by its own id.

mod apply;
mod check;
mod copy;
mod csv_import;
mod decode;
mod definitions;
mod export;
mod format;
mod pipelines;
mod service;
mod store_checks;

use std::collections::BTreeMap;

use serde::Serialize;

use super::error::{CrmError, StoreError};
use super::objects::ObjectType;
use super::record::PortalId;

pub use apply::apply_import;
pub use check::{check_import, ImportOptions, ImportPlan};
pub use copy::copy_partition;
pub use csv_import::{CsvReport, RowProblem};
pub use export::export_portal;
pub(crate) use export::{all_property_names, for_each_chunk};
pub use service::TransferService;

/// The `format` of the header record this build writes.
pub const FORMAT_NAME: &str = "hubcalls";
/// The `format` of version 1, which carried calls only (still read).
pub const V1_FORMAT_NAME: &str = "hubcalls-calls";
/// The version of the format this build writes; it reads every version up to it.
pub const FORMAT_VERSION: u32 = 2;
/// Records per read or write transaction: large enough to be fast, small enough that a
/// file of any size needs little memory.
pub const CHUNK: usize = 500;

/// One thing wrong with an input, at its line (1-based; 0 when it is not about one line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LineProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The input was refused; nothing was written.
    #[error("{} problem(s) in the input; nothing was written", .total)]
    Invalid {
        /// The first problems, in line order.
        problems: Vec<LineProblem>,
        total: usize,
    },
    #[error("cannot read or write: {0}")]
    Io(#[from] std::io::Error),
    /// The store failed while writing, after `written` records had been written.
    #[error("the store failed after {written} record(s) were written: {source}")]
    Store { written: usize, source: StoreError },
}

impl From<StoreError> for TransferError {
    fn from(source: StoreError) -> Self {
        Self::Store { written: 0, source }
    }
}

impl From<CrmError> for TransferError {
    fn from(error: CrmError) -> Self {
        match error {
            CrmError::Store(source) => source.into(),
            other => Self::Invalid {
                problems: vec![LineProblem {
                    line: 0,
                    message: other.to_string(),
                }],
                total: 1,
            },
        }
    }
}

/// What an export or import moved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferSummary {
    pub portal: PortalId,
    pub groups: usize,
    pub properties: usize,
    pub pipelines: usize,
    /// Records of every type.
    pub records: usize,
    /// Records per type (plural name), types without any left out.
    pub objects: BTreeMap<String, usize>,
    /// The calls among the records, as version 1's summaries counted them.
    pub calls: usize,
}

impl TransferSummary {
    /// Counts `count` records of `object_type`.
    pub fn count(&mut self, object_type: ObjectType, count: usize) {
        if count == 0 {
            return;
        }
        self.records += count;
        *self
            .objects
            .entry(object_type.plural.to_owned())
            .or_default() += count;
        if object_type == ObjectType::CALLS {
            self.calls += count;
        }
    }

    /// `groups 1, properties 2, pipelines 0, records 5 (calls 2, contacts 3)`.
    pub fn describe(&self) -> String {
        let per_type: Vec<String> = self
            .objects
            .iter()
            .map(|(name, count)| format!("{name} {count}"))
            .collect();
        let mut text = format!(
            "groups {}, properties {}, pipelines {}, records {}",
            self.groups, self.properties, self.pipelines, self.records
        );
        if !per_type.is_empty() {
            text.push_str(&format!(" ({})", per_type.join(", ")));
        }
        text
    }
}
