//! Archiving records (one or a batch) and GDPR deletes.

use super::*;

impl RecordService {
    /// Archives one call. Unknown and already archived ids are not an error (HubSpot: 204).
    pub fn archive(&self, partition: Partition, id: &str) -> Result<(), CrmError> {
        if let Ok(id) = id.parse::<RecordId>() {
            self.store.archive_records(partition, &[id], now_millis())?;
        }
        Ok(())
    }

    pub fn archive_batch(&self, partition: Partition, ids: &[String]) -> Result<(), CrmError> {
        check_batch_size(ids.len(), MAX_BATCH_INPUTS)?;
        check_unique_ids(ids.iter().map(String::as_str))?;
        let ids: Vec<RecordId> = ids.iter().filter_map(|id| id.parse().ok()).collect();
        self.store.archive_records(partition, &ids, now_millis())?;
        Ok(())
    }

    /// Deletes a call for good, archived or not, with its history and associations.
    pub fn gdpr_delete(&self, partition: Partition, locator: Locator<'_>) -> Result<(), CrmError> {
        let id = match locator.id_property {
            Some(name) if name != OBJECT_ID_PROPERTY => {
                self.check_unique_property(partition, name)?;
                self.store
                    .find_by_value(partition, name, locator.value)?
                    .into_iter()
                    .next()
            }
            _ => locator.value.parse::<RecordId>().ok(),
        };
        if let Some(id) = id {
            forget_associations_to(self.store.as_ref(), partition, &[id])?;
            self.store.purge_records(partition, &[id])?;
        }
        Ok(())
    }
}
