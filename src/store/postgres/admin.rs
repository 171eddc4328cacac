//! The store as a whole: readiness, the portals it holds, the admin reset of a portal.

use crate::crm::error::StoreError;
use crate::crm::objects::Partition;
use crate::crm::ports::AdminStore;
use crate::crm::record::PortalId;
use crate::store::rows::PORTALS_QUERY;

use super::{schema_versions, PostgresStore};

impl AdminStore for PostgresStore {
    fn ping(&self) -> Result<(), StoreError> {
        self.read(|db| {
            db.query_one("SELECT 1", &[])?;
            Ok(())
        })
    }

    fn reset_portal(&self, portal: PortalId) -> Result<(), StoreError> {
        let reset = self.write(|tx| {
            // The `portal` columns hold partition keys: every type's of the portal go.
            let keys = Partition::key_list_of(portal);
            // History rows carry no portal: remove them through the portal's calls first.
            tx.execute(
                &format!(
                    "DELETE FROM call_history WHERE call_id IN
                     (SELECT id FROM calls WHERE portal IN ({keys}))"
                ),
                &[],
            )?;
            for table in [
                "call_values",
                "call_associations",
                "property_definitions",
                "property_groups",
                "pipelines",
                "calls",
            ] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE portal IN ({keys})"),
                    &[],
                )?;
            }
            // Every type's cached schema of the portal is stale now.
            tx.execute(
                &format!(
                    "UPDATE portal_schema_versions SET version = version + 1
                     WHERE portal IN ({keys})"
                ),
                &[],
            )?;
            tx.execute(schema_versions::NOTIFY_ALL, &[])?;
            Ok(())
        });
        self.schema_versions.forget(None);
        reset
    }

    fn portals(&self) -> Result<Vec<PortalId>, StoreError> {
        self.read(|db| {
            let rows = db.query(PORTALS_QUERY, &[])?;
            rows.iter()
                .map(|row| {
                    let portal: i64 = row.try_get(0)?;
                    PortalId::try_from(portal)
                        .map_err(|_| StoreError::Backend(format!("portal {portal} out of range")))
                })
                .collect()
        })
    }
}
