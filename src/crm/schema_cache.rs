//! The partitions' schemas as every CRM service reads them: a portal's property
//! definitions and pipelines of one object type, read through the store and cached until
//! the store's schema version moves.
//!
//! [`Schemas`] is the piece of state the services share (each holds a cheap clone), so no
//! service asks another for a schema.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::error::CrmError;
use super::objects::Partition;
use super::pipelines::PortalPipelines;
use super::ports::Store;
use super::properties::PropertyCatalogue;
use super::record::PortalId;

/// What a partition's writes are checked against: its property definitions (the pipeline
/// and stage properties carrying the portal's pipelines and stages as options) and its
/// pipelines, read together so the two always agree.
#[derive(Debug, Clone)]
pub struct PartitionSchema {
    pub properties: Arc<PropertyCatalogue>,
    pub pipelines: Arc<PortalPipelines>,
}

/// Cached schemas per partition (a portal's properties and pipelines of one type), rebuilt
/// after any change of them.
#[derive(Debug, Default)]
struct SchemaCache {
    /// Each partition's schema with the store's schema version it was read at.
    partitions: RwLock<HashMap<Partition, (u64, PartitionSchema)>>,
}

impl SchemaCache {
    /// The cached schema, if it was read at `version`.
    fn get(&self, partition: Partition, version: u64) -> Option<PartitionSchema> {
        self.partitions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&partition)
            .filter(|(cached, _)| *cached == version)
            .map(|(_, schema)| schema.clone())
    }

    fn put(&self, partition: Partition, version: u64, schema: PartitionSchema) {
        self.partitions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(partition, (version, schema));
    }

    fn forget(&self, partition: Partition) {
        self.partitions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&partition);
    }

    /// Forgets every cached schema of a portal (after a reset).
    fn forget_portal(&self, portal: PortalId) {
        self.partitions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|partition, _| partition.portal != portal);
    }
}

/// The schemas of every partition, read through one store: the store's own, or a staged
/// view of it (the cache is shared with such views).
#[derive(Clone)]
pub struct Schemas {
    store: Arc<dyn Store>,
    cache: Arc<SchemaCache>,
}

impl Schemas {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            cache: Arc::default(),
        }
    }

    /// The same schemas read through `store` (a staged view of this one's store).
    pub(super) fn through(&self, store: Arc<dyn Store>) -> Self {
        Self {
            store,
            cache: Arc::clone(&self.cache),
        }
    }

    /// The property definitions a partition's records are validated against (built-in
    /// and the portal's own), cached until the portal changes a property (here, or on
    /// another server sharing the store: the store's schema version tells).
    pub fn properties(&self, partition: Partition) -> Result<Arc<PropertyCatalogue>, CrmError> {
        Ok(self.partition(partition)?.properties)
    }

    /// [`Schemas::properties`] if they are cached at the version the store knows without
    /// asking the database (see [`crate::crm::ports::AsyncReads`]); `None` otherwise.
    pub fn cached_properties(&self, partition: Partition) -> Option<Arc<PropertyCatalogue>> {
        let version = self.store.async_reads()?.known_schema_version(partition)?;
        Some(self.cache.get(partition, version)?.properties)
    }

    /// The schema with the portal's pipelines, cached as [`Schemas::properties`] are.
    pub fn partition(&self, partition: Partition) -> Result<PartitionSchema, CrmError> {
        // The version is read before the schema, so a change in between makes the cached
        // copy look stale (a reload), never fresh.
        let version = self.store.schema_version(partition)?;
        if let Some(schema) = self.cache.get(partition, version) {
            return Ok(schema);
        }
        let schema = self.load(partition)?;
        self.cache.put(partition, version, schema.clone());
        Ok(schema)
    }

    /// The partition's pipelines as stored now (empty for a type without pipelines).
    pub fn load_pipelines(&self, partition: Partition) -> Result<PortalPipelines, CrmError> {
        if partition.object_type.pipeline.is_none() {
            return Ok(PortalPipelines::default());
        }
        let stored = self.store.custom_pipelines(partition)?;
        Ok(PortalPipelines::new(partition.object_type, stored))
    }

    /// Forgets a partition's cached schema (after a change of its properties or pipelines).
    pub fn forget(&self, partition: Partition) {
        self.cache.forget(partition);
    }

    /// Forgets the cached schemas of every type of a portal (after an import or a reset).
    pub fn forget_portal(&self, portal: PortalId) {
        self.cache.forget_portal(portal);
    }

    /// The live properties of a partition (its type's built-in ones and the portal's own)
    /// and its pipelines.
    fn load(&self, partition: Partition) -> Result<PartitionSchema, CrmError> {
        let custom = self.store.custom_properties(partition)?;
        let pipelines = self.load_pipelines(partition)?;
        let properties = PropertyCatalogue::from_definitions(
            partition
                .object_type
                .catalogue()
                .iter()
                .map(|def| pipelines.decorate(def.as_ref().clone()))
                .chain(
                    custom
                        .into_iter()
                        .filter(|r| !r.is_archived())
                        .map(|r| r.definition),
                ),
        );
        Ok(PartitionSchema {
            properties: Arc::new(properties),
            pipelines: Arc::new(pipelines),
        })
    }
}
