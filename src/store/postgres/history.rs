//! A record's history: one `call_history` row per write, its changes as a JSONB array
//! (`[name, value, timestamp, source type, source id]` each), read back newest first.

use postgres::types::Json;

use crate::crm::error::StoreError;
use crate::crm::history::{HistoryEntry, PropertyChange};
use crate::crm::objects::Partition;
use crate::crm::record::RecordId;
use crate::store::rows::{flat_changes, push_history_entries, StoredChange};

use super::{ids_param, PostgresStore, Tx};

pub(super) fn record_history(
    tx: &mut Tx<'_, '_>,
    call_id: RecordId,
    changes: &[PropertyChange],
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO call_history (call_id, changes) VALUES ($1, $2)",
        &[&(call_id as i64), &Json(&flat_changes(changes))],
    )?;
    Ok(())
}

impl PostgresStore {
    /// History of the named properties of the calls, newest first per property (see
    /// [`crate::crm::ports::RecordStore::history`]).
    pub(super) fn read_history(
        &self,
        partition: Partition,
        ids: &[RecordId],
        names: &[String],
    ) -> Result<Vec<(RecordId, String, HistoryEntry)>, StoreError> {
        let rows = self.read(|db| {
            db.query(
                "SELECT h.call_id, h.changes FROM call_history h JOIN calls c ON c.id = h.call_id
                 WHERE c.portal = $1 AND h.call_id = ANY($2) ORDER BY h.call_id, h.id DESC",
                &[&partition.key(), &ids_param(ids)],
            )
        })?;
        let mut entries = Vec::new();
        // Writes come newest first, so each property's entries do too.
        for row in &rows {
            let call_id = row.try_get::<_, i64>(0)? as RecordId;
            let Json(changes): Json<Vec<StoredChange>> = row.try_get(1)?;
            push_history_entries(&mut entries, call_id, changes, names);
        }
        Ok(entries)
    }
}
