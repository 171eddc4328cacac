//! Property history: every value a property has held, newest first when read.

use super::record::WriteSource;
use super::time::EpochMillis;

#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The value written; the empty string records a clear.
    pub value: String,
    pub timestamp: EpochMillis,
    pub source: WriteSource,
}

/// How a write changed one property: what the store must persist, history included.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyChange {
    pub name: String,
    /// The new value, `None` when the write cleared it.
    pub value: Option<String>,
    pub entry: HistoryEntry,
}
