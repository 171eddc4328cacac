//! The store as a whole: readiness, the portals it holds, the admin reset of a portal.

use crate::crm::error::StoreError;
use crate::crm::objects::Partition;
use crate::crm::ports::AdminStore;
use crate::crm::record::PortalId;
use crate::store::rows::PORTALS_QUERY;

use super::index::IndexOp;
use super::SqliteStore;

impl AdminStore for SqliteStore {
    fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())))
    }

    fn reset_portal(&self, portal: PortalId) -> Result<(), StoreError> {
        self.write(|tx| {
            // The `portal` columns hold partition keys: every type's of the portal go.
            let keys = Partition::key_list_of(portal);
            // History rows carry no portal: remove them through the portal's calls first.
            tx.prepare(&format!(
                "DELETE FROM call_history WHERE call_id IN
                 (SELECT id FROM calls WHERE portal IN ({keys}))"
            ))?
            .execute([])?;
            for table in [
                "call_associations",
                "property_definitions",
                "property_groups",
                "pipelines",
                "calls",
            ] {
                tx.prepare(&format!("DELETE FROM {table} WHERE portal IN ({keys})"))?
                    .execute([])?;
            }
            tx.pending.push(IndexOp::ResetPortal(portal));
            Ok(())
        })
    }

    fn portals(&self) -> Result<Vec<PortalId>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(PORTALS_QUERY)?;
            let rows = statement.query_map([], |row| row.get(0))?;
            rows.collect()
        })
    }
}
