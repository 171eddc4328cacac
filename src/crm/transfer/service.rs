//! The transfer service: a portal's data out and back in as the admin API and the CLI ask
//! for it (NDJSON fixtures and exports, HubSpot-style CSV imports).

use std::io::Write;
use std::sync::Arc;

use super::{
    apply_import, check_import, export_portal, ImportOptions, TransferError, TransferSummary,
};
use crate::crm::owners::Owners;
use crate::crm::ports::Store;
use crate::crm::record::PortalId;
use crate::crm::schema_cache::Schemas;

/// Transfer needs the store, the schemas (a CSV import validates against them; a fixture
/// load makes them stale) and the owners (a CSV row's owner properties are checked as an
/// API create's are). CSV rows are created through the records' create function, not the
/// records service.
pub struct TransferService {
    pub(super) store: Arc<dyn Store>,
    pub(super) schemas: Schemas,
    pub(super) owners: Arc<Owners>,
}

impl TransferService {
    pub(in crate::crm) fn new(
        store: Arc<dyn Store>,
        schemas: Schemas,
        owners: Arc<Owners>,
    ) -> Self {
        Self {
            store,
            schemas,
            owners,
        }
    }

    /// Loads an NDJSON fixture held in memory (the admin API): checks it whole, then writes.
    pub fn load_fixture(
        &self,
        portal: PortalId,
        body: &[u8],
        reset: bool,
    ) -> Result<TransferSummary, TransferError> {
        let options = ImportOptions {
            portal: Some(portal),
            reset,
        };
        let plan = check_import(self.store.as_ref(), body, options)?;
        let outcome = apply_import(self.store.as_ref(), &plan, body, &mut |_| {});
        // Whatever was written, the portal's cached schemas (properties and pipelines of
        // every type) are stale now.
        self.schemas.forget_portal(portal);
        outcome
    }

    /// Writes the portal as NDJSON (the admin API's export).
    pub fn export_portal(
        &self,
        portal: PortalId,
        out: &mut dyn Write,
    ) -> Result<TransferSummary, TransferError> {
        export_portal(self.store.as_ref(), portal, out, &mut |_| {})
    }
}
