//! The ports of a sharded store: every call goes to the shard of the portal it concerns;
//! what concerns the store as a whole (readiness, the portals it holds) asks every shard.

use crate::crm::associations::Association;
use crate::crm::error::StoreError;
use crate::crm::history::HistoryEntry;
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::pipelines::Pipeline;
use crate::crm::ports::{
    AdminStore, AssociationStore, AsyncReads, NewRecord, RecordMutation, RecordStore,
    RestoredRecord, Scheduling, SchemaStore, ShardHealth, StoreFuture,
};
use crate::crm::properties::PropertyCatalogue;
use crate::crm::record::{PortalId, Projection, Record, RecordId};
use crate::crm::schema::{PropertyGroup, PropertyRecord};
use crate::crm::search::{SearchHits, SearchPlan};
use crate::crm::time::EpochMillis;

use super::ShardedStore;

impl RecordStore for ShardedStore {
    fn allocate_ids(
        &self,
        partition: Partition,
        count: usize,
    ) -> Result<Vec<RecordId>, StoreError> {
        self.on(partition.portal, |s| s.allocate_ids(partition, count))
    }

    fn write_records(
        &self,
        partition: Partition,
        schema: &PropertyCatalogue,
        inserts: &[NewRecord],
        update_ids: &[RecordId],
        apply: &mut RecordMutation<'_>,
    ) -> Result<Vec<Option<Record>>, StoreError> {
        self.on(partition.portal, |s| {
            s.write_records(partition, schema, inserts, update_ids, apply)
        })
    }

    fn get_records(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<Vec<Record>, StoreError> {
        self.on(partition.portal, |s| s.get_records(partition, ids))
    }

    fn list_records(
        &self,
        partition: Partition,
        archived: bool,
        from_id: RecordId,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.on(partition.portal, |s| {
            s.list_records(partition, archived, from_id, limit)
        })
    }

    fn get_records_projected(
        &self,
        partition: Partition,
        ids: &[RecordId],
        projection: &Projection<'_>,
    ) -> Result<Vec<Record>, StoreError> {
        self.on(partition.portal, |s| {
            s.get_records_projected(partition, ids, projection)
        })
    }

    fn list_records_projected(
        &self,
        partition: Partition,
        archived: bool,
        from_id: RecordId,
        limit: usize,
        projection: &Projection<'_>,
    ) -> Result<Vec<Record>, StoreError> {
        self.on(partition.portal, |s| {
            s.list_records_projected(partition, archived, from_id, limit, projection)
        })
    }

    fn archive_records(
        &self,
        partition: Partition,
        ids: &[RecordId],
        at: EpochMillis,
    ) -> Result<(), StoreError> {
        self.on(partition.portal, |s| s.archive_records(partition, ids, at))
    }

    fn purge_records(&self, partition: Partition, ids: &[RecordId]) -> Result<(), StoreError> {
        self.on(partition.portal, |s| s.purge_records(partition, ids))
    }

    fn find_by_value(
        &self,
        partition: Partition,
        name: &str,
        value: &str,
    ) -> Result<Vec<RecordId>, StoreError> {
        self.on(partition.portal, |s| {
            s.find_by_value(partition, name, value)
        })
    }

    fn restore_records(
        &self,
        partition: Partition,
        schema: &PropertyCatalogue,
        calls: &[RestoredRecord],
    ) -> Result<(), StoreError> {
        self.on(partition.portal, |s| {
            s.restore_records(partition, schema, calls)
        })
    }

    fn history(
        &self,
        partition: Partition,
        ids: &[RecordId],
        names: &[String],
    ) -> Result<Vec<(RecordId, String, HistoryEntry)>, StoreError> {
        self.on(partition.portal, |s| s.history(partition, ids, names))
    }

    fn search(&self, partition: Partition, plan: &SearchPlan) -> Result<SearchHits, StoreError> {
        self.on(partition.portal, |s| s.search(partition, plan))
    }

    fn search_projected(
        &self,
        partition: Partition,
        plan: &SearchPlan,
        projection: &Projection<'_>,
    ) -> Result<SearchHits, StoreError> {
        self.on(partition.portal, |s| {
            s.search_projected(partition, plan, projection)
        })
    }
}

impl AssociationStore for ShardedStore {
    fn associations(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<Vec<Association>, StoreError> {
        self.on(partition.portal, |s| s.associations(partition, ids))
    }

    fn replace_associations(
        &self,
        partition: Partition,
        call_id: RecordId,
        kind: ObjectType,
        to_id: u64,
        associations: &[Association],
    ) -> Result<(), StoreError> {
        self.on(partition.portal, |s| {
            s.replace_associations(partition, call_id, kind, to_id, associations)
        })
    }

    fn add_associations(
        &self,
        partition: Partition,
        associations: &[Association],
    ) -> Result<(), StoreError> {
        self.on(partition.portal, |s| {
            s.add_associations(partition, associations)
        })
    }

    fn remove_associations(
        &self,
        partition: Partition,
        call_id: RecordId,
        kind: ObjectType,
        to_id: u64,
        type_ids: Option<&[u32]>,
    ) -> Result<(), StoreError> {
        self.on(partition.portal, |s| {
            s.remove_associations(partition, call_id, kind, to_id, type_ids)
        })
    }

    fn associations_to(
        &self,
        partition: Partition,
        kind: ObjectType,
        to_ids: &[u64],
    ) -> Result<Vec<Association>, StoreError> {
        self.on(partition.portal, |s| {
            s.associations_to(partition, kind, to_ids)
        })
    }
}

impl SchemaStore for ShardedStore {
    fn custom_properties(&self, partition: Partition) -> Result<Vec<PropertyRecord>, StoreError> {
        self.on(partition.portal, |s| s.custom_properties(partition))
    }

    fn save_property(
        &self,
        partition: Partition,
        property: &PropertyRecord,
    ) -> Result<(), StoreError> {
        self.on(partition.portal, |s| s.save_property(partition, property))
    }

    fn purge_property_values(&self, partition: Partition, name: &str) -> Result<(), StoreError> {
        self.on(partition.portal, |s| {
            s.purge_property_values(partition, name)
        })
    }

    fn custom_groups(&self, partition: Partition) -> Result<Vec<PropertyGroup>, StoreError> {
        self.on(partition.portal, |s| s.custom_groups(partition))
    }

    fn save_group(&self, partition: Partition, group: &PropertyGroup) -> Result<(), StoreError> {
        self.on(partition.portal, |s| s.save_group(partition, group))
    }

    fn custom_pipelines(&self, partition: Partition) -> Result<Vec<Pipeline>, StoreError> {
        self.on(partition.portal, |s| s.custom_pipelines(partition))
    }

    fn save_pipeline(&self, partition: Partition, pipeline: &Pipeline) -> Result<(), StoreError> {
        self.on(partition.portal, |s| s.save_pipeline(partition, pipeline))
    }

    fn schema_version(&self, partition: Partition) -> Result<u64, StoreError> {
        self.on(partition.portal, |s| s.schema_version(partition))
    }
}

impl AdminStore for ShardedStore {
    /// Ready only when every shard answers: a server missing one shard would fail that
    /// shard's portals, so a load balancer should send their requests elsewhere. Every
    /// shard is asked, and the answer names each one that did not answer.
    fn ping(&self) -> Result<(), StoreError> {
        let down: Vec<String> = self
            .shards
            .iter()
            .filter_map(|shard| shard.observe(shard.store.ping()).err())
            .map(|error| match error {
                StoreError::Unavailable(reason) => reason,
                other => other.to_string(),
            })
            .collect();
        if down.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Unavailable(down.join("; ")))
        }
    }

    /// Every shard's portals, merged. A portal on a shard it is not placed on (left over
    /// from an interrupted move) is listed too: it is there.
    fn portals(&self) -> Result<Vec<PortalId>, StoreError> {
        let mut portals = Vec::new();
        self.on_each(|shard| {
            portals.extend(shard.portals()?);
            Ok(())
        })?;
        portals.sort_unstable();
        portals.dedup();
        Ok(portals)
    }

    fn reset_portal(&self, portal: PortalId) -> Result<(), StoreError> {
        self.on(portal, |s| s.reset_portal(portal))
    }

    fn shard_health(&self) -> Vec<ShardHealth> {
        self.health()
    }
}

/// Every call runs on the blocking pool and commits before it returns, as on one database;
/// reads by id are awaited where every shard has awaited reads.
impl Scheduling for ShardedStore {
    fn async_reads(&self) -> Option<&dyn AsyncReads> {
        let every_shard = self
            .shards
            .iter()
            .all(|shard| shard.store.async_reads().is_some());
        every_shard.then_some(self as &dyn AsyncReads)
    }

    /// Reads run on the shards' connections: as many at once as all their pools hold.
    fn parallel_reads(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.store.parallel_reads())
            .sum()
    }
}

/// Each read goes to the portal's shard, as the synchronous ones do.
impl AsyncReads for ShardedStore {
    fn get_records<'a>(
        &'a self,
        partition: Partition,
        ids: &'a [RecordId],
    ) -> StoreFuture<'a, Vec<Record>> {
        Box::pin(async move {
            let (shard, reads) = self.awaited_reads_of(partition.portal)?;
            shard.observe(reads.get_records(partition, ids).await)
        })
    }

    fn search<'a>(
        &'a self,
        partition: Partition,
        plan: &'a SearchPlan,
        projection: &'a Projection<'a>,
    ) -> StoreFuture<'a, Option<SearchHits>> {
        Box::pin(async move {
            let (shard, reads) = self.awaited_reads_of(partition.portal)?;
            shard.observe(reads.search(partition, plan, projection).await)
        })
    }

    fn known_schema_version(&self, partition: Partition) -> Option<u64> {
        let shard = self.shard_of(partition.portal).ok()?;
        shard.store.async_reads()?.known_schema_version(partition)
    }
}
