//! The records service: HubSpot's rules for creating, reading, updating, archiving and
//! searching records of any object type, on top of a [`Store`]. One file per operation.
//!
//! Everything is validated before the store is touched, so a refused request writes nothing;
//! every write that is accepted goes to the store as one transaction.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use super::associations::{
    forget_associations_to, require_live_targets, resolve_association_filters, split_associations,
    validate_associations, Association,
};
use super::error::CrmError;
use super::history::{HistoryEntry, PropertyChange};
use super::objects::{ObjectType, Partition};
use super::owners::{Owners, PortalOwners};
use super::pipelines::{is_placement_property, PortalPipelines};
use super::ports::{NewRecord, Store};
use super::properties::PropertyCatalogue;
use super::record::{PortalId, Projection, Record, RecordId, WriteSource};
use super::schema_cache::{PartitionSchema, Schemas};
use super::search::{FilterTarget, SearchHits, SearchLimits, SearchPlan, SearchRequest};
use super::time::{format_datetime, now_millis, EpochMillis};
use super::write_rules::WriteRules;

mod archive;
mod create;
mod placement;
mod read;
mod update;
mod upsert;
mod values;

pub(in crate::crm) use create::{create_record, create_records};
use placement::{place_new, placed, placement_problems};
use values::*;
pub(in crate::crm) use values::{new_call, set_property};

/// HubSpot's batch size limit.
pub const MAX_BATCH_INPUTS: usize = 100;
/// The batch size limit when property history is requested.
pub const MAX_HISTORY_BATCH_INPUTS: usize = 50;
/// The property that identifies a call when no `idProperty` is given.
pub const OBJECT_ID_PROPERTY: &str = "hs_object_id";

/// A client's property values for one create or update, in request order. A value is the
/// client's text; the empty string clears.
pub type PropertyValues = Vec<(String, String)>;

/// An association requested on create: a target id as the client sent it and the types.
#[derive(Debug, Clone, PartialEq)]
pub struct AssociationRequest {
    pub to_id: String,
    pub types: Vec<(String, i64)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateRequest {
    pub properties: PropertyValues,
    pub associations: Vec<AssociationRequest>,
    pub object_write_trace_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UpdateRequest {
    pub id: String,
    /// The unique property `id` is a value of (`hs_object_id` when `None`).
    pub id_property: Option<String>,
    pub properties: PropertyValues,
    pub object_write_trace_id: Option<String>,
}

/// One input of a batch upsert: the value of `id_property` that identifies the call.
#[derive(Debug, Clone, PartialEq)]
pub struct UpsertRequest {
    pub id: String,
    pub id_property: Option<String>,
    pub properties: PropertyValues,
    pub object_write_trace_id: Option<String>,
}

/// What an upsert did: each call in input order, with whether it was created.
#[derive(Debug, Default)]
pub struct UpsertOutcome {
    pub calls: Vec<(Record, bool)>,
    pub failures: Vec<BatchFailure>,
}

/// One failed input of a batch that answers with 207.
#[derive(Debug)]
pub enum BatchFailure {
    /// The input was refused; `trace_id` is its `objectWriteTraceId`.
    Rejected {
        trace_id: Option<String>,
        error: CrmError,
    },
    /// These ids (as the client wrote them) name no call.
    NotFound {
        ids: Vec<String>,
        trace_ids: Vec<String>,
    },
}

/// What a batch did: the calls written or read, in input order, and what failed.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub calls: Vec<Record>,
    pub failures: Vec<BatchFailure>,
}

/// A call addressed by its id or by the value of a unique property.
#[derive(Debug, Clone, Copy)]
pub struct Locator<'a> {
    pub value: &'a str,
    pub id_property: Option<&'a str>,
}

/// Which calls a read sees: HubSpot's `archived` flag means "only archived ones".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFilter {
    Live,
    Archived,
}

impl ArchiveFilter {
    pub fn from_flag(archived: bool) -> Self {
        if archived {
            Self::Archived
        } else {
            Self::Live
        }
    }

    fn admits(self, call: &Record) -> bool {
        call.is_archived() == (self == Self::Archived)
    }
}

/// A page of the list endpoint.
#[derive(Debug)]
pub struct RecordPage {
    pub calls: Vec<Record>,
    pub next_after: Option<RecordId>,
}

/// A client value that passed validation, ready to apply.
#[derive(Debug, Clone)]
pub(super) struct ValidValue {
    pub(super) name: String,
    pub(super) value: Option<String>,
    /// A multi-select value written with a leading `;` adds to the current values.
    pub(super) append: bool,
}

/// Property history of some calls: per call, per property, newest first.
pub type HistoryByRecord = HashMap<RecordId, BTreeMap<String, Vec<HistoryEntry>>>;

pub struct RecordService {
    store: Arc<dyn Store>,
    schemas: Schemas,
    search_limits: SearchLimits,
    owners: Arc<Owners>,
    /// Shared, like the schemas: the admin API changes them at run time.
    write_rules: Arc<WriteRules>,
}

impl RecordService {
    /// A service over `store`; each type's built-in properties come from the registry.
    pub fn new(store: Arc<dyn Store>, search_limits: SearchLimits) -> Self {
        let schemas = Schemas::new(Arc::clone(&store));
        Self::with_schemas(store, schemas, search_limits)
    }

    /// A service over `store` sharing `schemas` with the other services.
    pub(super) fn with_schemas(
        store: Arc<dyn Store>,
        schemas: Schemas,
        search_limits: SearchLimits,
    ) -> Self {
        Self {
            store,
            schemas,
            search_limits,
            owners: Arc::default(),
            write_rules: Arc::default(),
        }
    }

    /// The service with the portals' write validation rules (enforced where the API says).
    pub fn with_write_rules(mut self, rules: WriteRules) -> Self {
        self.write_rules = Arc::new(rules);
        self
    }

    pub fn write_rules(&self) -> &WriteRules {
        &self.write_rules
    }

    /// The service with the portals' owners, which owner properties are checked against.
    pub fn with_owners(mut self, owners: Owners) -> Self {
        self.owners = Arc::new(owners);
        self
    }

    /// Every portal's owners (configuration, read-only).
    pub fn owners(&self) -> &Owners {
        &self.owners
    }

    /// The owners as shared with the other services that validate owner properties.
    pub(super) fn shared_owners(&self) -> Arc<Owners> {
        Arc::clone(&self.owners)
    }

    /// The service over `store` (a staged view of its own) with the same schemas, rules
    /// and owners.
    pub(super) fn through(&self, store: Arc<dyn Store>, schemas: Schemas) -> RecordService {
        Self {
            store,
            schemas,
            search_limits: self.search_limits,
            owners: Arc::clone(&self.owners),
            write_rules: Arc::clone(&self.write_rules),
        }
    }

    /// The property definitions a partition's records are validated against (see
    /// [`Schemas::properties`]).
    pub fn schema(&self, partition: Partition) -> Result<Arc<PropertyCatalogue>, CrmError> {
        self.schemas.properties(partition)
    }

    /// The schema with the portal's pipelines (see [`Schemas::partition`]).
    pub(super) fn partition_schema(
        &self,
        partition: Partition,
    ) -> Result<PartitionSchema, CrmError> {
        self.schemas.partition(partition)
    }

    /// Removes everything of a portal (admin API).
    pub fn reset_portal(&self, portal: PortalId) -> Result<(), CrmError> {
        self.store.reset_portal(portal)?;
        self.schemas.forget_portal(portal);
        Ok(())
    }

    /// Whether the store answers (for readiness checks).
    pub fn check_store(&self) -> Result<(), CrmError> {
        Ok(self.store.ping()?)
    }

    /// How each shard of the store fared lately (empty for a store of one part).
    pub fn shard_health(&self) -> Vec<crate::crm::ports::ShardHealth> {
        self.store.shard_health()
    }

    // ----- addressing ---------------------------------------------------------------------

    /// Resolves a locator to a call id; `None` when nothing can match.
    fn resolve(
        &self,
        partition: Partition,
        locator: Locator<'_>,
    ) -> Result<Option<RecordId>, CrmError> {
        match locator.id_property {
            Some(name) if name != OBJECT_ID_PROPERTY => {
                self.check_unique_property(partition, name)?;
                Ok(self
                    .store
                    .find_by_value(partition, name, locator.value)?
                    .into_iter()
                    .next())
            }
            _ => Ok(locator.value.parse::<RecordId>().ok()),
        }
    }

    fn check_unique_property(&self, partition: Partition, name: &str) -> Result<(), CrmError> {
        match self.schema(partition)?.get(name) {
            Some(def) if partition.object_type.is_unique(def) => Ok(()),
            Some(_) => Err(CrmError::invalid(format!(
                "Property \"{name}\" is not a unique identifier property, so it cannot be used as idProperty"
            ))),
            None => Err(CrmError::invalid(format!(
                "Property \"{name}\" does not exist, so it cannot be used as idProperty"
            ))),
        }
    }
}
