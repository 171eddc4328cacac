//! The index journal: which records' search-index entries each write transaction changed,
//! written in that transaction, so a saved index can be brought up to date after a crash
//! instead of being rebuilt from every row.
//!
//! The index is saved now and then while the store serves (see `indexing`), at the count of
//! committed writes (`meta.writes`) it reflects. A record changed by a later write has a row
//! here naming that write (`seq`); portal resets and dropped properties, which change many
//! records at once, are events of their own. Start-up loads the saved index and re-indexes
//! only what the journal names after it. Rows at or below a saved count are trimmed by the
//! next commit; `meta.journal_from` then says from which count on the journal is whole, so
//! an older saved index (a file restored from a backup) is never brought "up to date" with
//! rows that are gone.

use rusqlite::{params, Connection, OptionalExtension};

use crate::crm::objects::Partition;
use crate::crm::record::{PortalId, RecordId};

use super::index::IndexOp;

/// Changes to the index that are not about single records.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum JournalEvent {
    ResetPortal(PortalId),
    DropProperty { partition: Partition, name: String },
}

/// What changed after a saved index: the records to re-index, and the events to replay
/// first, in the order they happened.
#[derive(Debug, Default)]
pub(super) struct JournalChanges {
    pub(super) records: Vec<RecordId>,
    pub(super) events: Vec<JournalEvent>,
}

/// Journals the index changes `ops` of the transaction that commits as write `seq`; answers
/// how many changes there were (what the saver counts towards its next save).
pub(super) fn record(conn: &Connection, seq: i64, ops: &[IndexOp]) -> rusqlite::Result<usize> {
    let mut records = conn.prepare_cached(
        "INSERT INTO index_journal (id, seq) VALUES (?1, ?2)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq",
    )?;
    let mut last = None;
    for op in ops {
        let (record, event) = match op {
            IndexOp::Record { id, .. } => (Some(*id), None),
            IndexOp::AddAssociation { call_id, .. }
            | IndexOp::RemoveAssociation { call_id, .. } => (Some(*call_id), None),
            IndexOp::ResetPortal(portal) => {
                (None, Some(("reset_portal", i64::from(*portal), None)))
            }
            IndexOp::DropProperty { partition, name } => (
                None,
                Some(("drop_property", partition.key(), Some(name.as_str()))),
            ),
        };
        // A batch's ops come record by record: skip the repeats of the one just journaled.
        if let Some(id) = record.filter(|id| last != Some(*id)) {
            records.execute(params![id as i64, seq])?;
            last = Some(id);
        }
        if let Some((kind, key, property)) = event {
            conn.prepare_cached(
                "INSERT INTO index_journal_events (seq, kind, key, property)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![seq, kind, key, property])?;
        }
    }
    Ok(ops.len())
}

/// Forgets what the index saved at write `saved_at` already holds (in the committing
/// transaction), and records that the journal is whole from there on.
pub(super) fn trim(conn: &Connection, saved_at: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM index_journal WHERE seq <= ?1")?
        .execute([saved_at])?;
    conn.prepare_cached("DELETE FROM index_journal_events WHERE seq <= ?1")?
        .execute([saved_at])?;
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('journal_from', ?1)
         ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
    )?
    .execute([saved_at])?;
    Ok(())
}

/// The count of writes from which on the journal is whole.
pub(super) fn journal_from(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT value FROM meta WHERE key = 'journal_from'",
        [],
        |r| r.get(0),
    )
    .optional()
    .map(|from| from.unwrap_or(0))
}

/// What writes after `saved_at` changed.
pub(super) fn changes_since(conn: &Connection, saved_at: i64) -> rusqlite::Result<JournalChanges> {
    let records = conn
        .prepare("SELECT id FROM index_journal WHERE seq > ?1 ORDER BY id")?
        .query_map([saved_at], |row| Ok(row.get::<_, i64>(0)? as RecordId))?
        .collect::<rusqlite::Result<_>>()?;
    let mut statement = conn.prepare(
        "SELECT kind, key, property FROM index_journal_events WHERE seq > ?1 ORDER BY seq, rowid",
    )?;
    let rows = statement.query_map([saved_at], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, Option<String>>(2)?,
        ))
    })?;
    let mut events = Vec::new();
    for row in rows {
        let (kind, key, property) = row?;
        let event = match (kind.as_str(), property) {
            ("reset_portal", _) => u32::try_from(key).ok().map(JournalEvent::ResetPortal),
            ("drop_property", Some(name)) => Partition::from_key(key)
                .map(|partition| JournalEvent::DropProperty { partition, name }),
            _ => None,
        };
        match event {
            Some(event) => events.push(event),
            None => {
                return Err(rusqlite::Error::InvalidColumnType(
                    0,
                    format!("index journal event {kind} of key {key}"),
                    rusqlite::types::Type::Text,
                ))
            }
        }
    }
    Ok(JournalChanges { records, events })
}
