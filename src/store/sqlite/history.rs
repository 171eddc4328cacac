//! How the SQLite store keeps a call's history: one `call_history` row per write, its
//! changes as JSON, read back newest first.
//!
//! A write's changes mostly share their timestamp and source (a create sets ~20 properties
//! at one instant from two sources), so consecutive changes with the same timestamp and
//! source are stored as one group: `{"g":[[timestamp, source type, source id, [[name,
//! value], ...]], ...]}`. Written flat (`[[name, value, timestamp, source type, source id],
//! ...]`, layout version 3), the first history of a call took ~1,260 bytes; grouped it
//! takes about half, and a create's rows are the bound of batch creates (see
//! `benches/sqlite_bound.py`). Flat rows are still read.

use rusqlite::{params, params_from_iter, Connection};
use serde::{Deserialize, Serialize};

use crate::crm::error::StoreError;
use crate::crm::history::{HistoryEntry, PropertyChange};
use crate::crm::objects::Partition;
use crate::crm::record::RecordId;
use crate::store::rows::{push_history_entries, StoredChange};

use super::{placeholders, SqliteStore};

/// Changes sharing a timestamp and source, as written: timestamp, source type, source id,
/// then (name, value) pairs in the order they were made.
type Group<'a> = (i64, &'a str, Option<&'a str>, Vec<(&'a str, &'a str)>);

#[derive(Serialize)]
struct Grouped<'a> {
    g: Vec<Group<'a>>,
}

/// The owned form of [`Group`], for reading.
type OwnedGroup = (i64, String, Option<String>, Vec<(String, String)>);

#[derive(Deserialize)]
struct GroupedRow {
    g: Vec<OwnedGroup>,
}

/// The JSON of one write's changes, grouped (order kept).
pub fn encode(changes: &[PropertyChange]) -> Result<String, serde_json::Error> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    for change in changes {
        let source = &change.entry.source;
        let pair = (change.name.as_str(), change.entry.value.as_str());
        match groups.last_mut() {
            Some((timestamp, source_type, source_id, pairs))
                if *timestamp == change.entry.timestamp
                    && *source_type == source.source_type
                    && *source_id == source.source_id.as_deref() =>
            {
                pairs.push(pair)
            }
            _ => groups.push((
                change.entry.timestamp,
                source.source_type.as_str(),
                source.source_id.as_deref(),
                vec![pair],
            )),
        }
    }
    serde_json::to_string(&Grouped { g: groups })
}

/// The changes of one `call_history` row, in the order they were made; grouped and flat
/// rows alike.
pub fn decode(text: &str) -> Result<Vec<StoredChange>, serde_json::Error> {
    if !text.trim_start().starts_with('{') {
        return serde_json::from_str(text);
    }
    let row: GroupedRow = serde_json::from_str(text)?;
    let mut changes = Vec::new();
    for (timestamp, source_type, source_id, pairs) in row.g {
        for (name, value) in pairs {
            changes.push((
                name,
                value,
                timestamp,
                source_type.clone(),
                source_id.clone(),
            ));
        }
    }
    Ok(changes)
}

pub(super) fn record_history(
    tx: &Connection,
    call_id: RecordId,
    changes: &[PropertyChange],
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let changes =
        encode(changes).map_err(|e| StoreError::Backend(format!("cannot encode history: {e}")))?;
    tx.prepare_cached("INSERT INTO call_history (call_id, changes) VALUES (?1, ?2)")?
        .execute(params![call_id as i64, changes])?;
    Ok(())
}

impl SqliteStore {
    /// History of the named properties of the calls, newest first per property (see
    /// [`crate::crm::ports::RecordStore::history`]).
    pub(super) fn read_history(
        &self,
        partition: Partition,
        ids: &[RecordId],
        names: &[String],
    ) -> Result<Vec<(RecordId, String, HistoryEntry)>, StoreError> {
        let writes: Vec<(i64, String)> = self.read(|conn| {
            let sql = format!(
                "SELECT h.call_id, h.changes FROM call_history h JOIN calls c ON c.id = h.call_id
                 WHERE c.portal = ? AND h.call_id IN ({}) ORDER BY h.call_id, h.id DESC",
                placeholders(ids.len())
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let params = std::iter::once(partition.key()).chain(ids.iter().map(|id| *id as i64));
            let rows = statement.query_map(params_from_iter(params), |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?;
            rows.collect()
        })?;
        let mut entries = Vec::new();
        // Writes come newest first, so each property's entries do too.
        for (call_id, changes) in writes {
            let changes = decode(&changes)
                .map_err(|e| StoreError::Backend(format!("corrupt history row: {e}")))?;
            push_history_entries(&mut entries, call_id as RecordId, changes, names);
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::record::WriteSource;

    fn change(
        name: &str,
        value: &str,
        timestamp: i64,
        source: &str,
        id: Option<&str>,
    ) -> PropertyChange {
        PropertyChange {
            name: name.to_owned(),
            value: Some(value.to_owned()),
            entry: HistoryEntry {
                value: value.to_owned(),
                timestamp,
                source: WriteSource {
                    source_type: source.to_owned(),
                    source_id: id.map(str::to_owned),
                },
            },
        }
    }

    #[test]
    fn changes_read_back_in_order_with_their_own_timestamps_and_sources() {
        let changes = vec![
            change("hs_object_id", "101", 5, "CALCULATED", None),
            change(
                "hs_createdate",
                "1970-01-01T00:00:00.005Z",
                5,
                "CALCULATED",
                None,
            ),
            change(
                "hs_call_title",
                "Intro \"call\"",
                5,
                "INTEGRATION",
                Some("7"),
            ),
            change("hs_call_body", "", 5, "INTEGRATION", Some("7")),
            change("hs_lastmodifieddate", "x", 5, "CALCULATED", None),
            change("hs_call_status", "DONE", 6, "INTEGRATION", Some("8")),
        ];
        let text = encode(&changes).unwrap();
        let expected: Vec<StoredChange> = changes
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    c.entry.value.clone(),
                    c.entry.timestamp,
                    c.entry.source.source_type.clone(),
                    c.entry.source.source_id.clone(),
                )
            })
            .collect();
        assert_eq!(decode(&text).unwrap(), expected);
        // Four groups: the sources alternate, then the timestamp changes.
        let groups: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(groups["g"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn flat_rows_of_layout_version_3_are_still_read() {
        let flat = r#"[["hs_call_title","Old",1700000000000,"INTEGRATION","1"],["hs_object_id","9",1700000000000,"CALCULATED",null]]"#;
        assert_eq!(
            decode(flat).unwrap(),
            vec![
                (
                    "hs_call_title".to_owned(),
                    "Old".to_owned(),
                    1_700_000_000_000,
                    "INTEGRATION".to_owned(),
                    Some("1".to_owned())
                ),
                (
                    "hs_object_id".to_owned(),
                    "9".to_owned(),
                    1_700_000_000_000,
                    "CALCULATED".to_owned(),
                    None
                ),
            ]
        );
    }

    #[test]
    fn a_create_takes_about_half_the_flat_size() {
        let changes: Vec<PropertyChange> = (0..20)
            .map(|i| {
                change(
                    &format!("hs_property_{i}"),
                    "value",
                    1_795_709_068_247,
                    "INTEGRATION",
                    Some("1"),
                )
            })
            .collect();
        let flat: Vec<(&str, &str, i64, &str, Option<&str>)> = changes
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.entry.value.as_str(),
                    c.entry.timestamp,
                    "INTEGRATION",
                    Some("1"),
                )
            })
            .collect();
        let flat = serde_json::to_string(&flat).unwrap();
        let grouped = encode(&changes).unwrap();
        assert!(
            grouped.len() * 10 < flat.len() * 6,
            "{} vs {}",
            grouped.len(),
            flat.len()
        );
    }
}
