//! The ports: what the rules need from storage, as small traits of one topic each. Every
//! engine in `store/` implements all of them; [`Store`] is their sum, the one the services
//! hold (`Arc<dyn Store>`), implemented for anything that implements the parts.
//!
//! - [`RecordStore`]: a partition's records — ids, writes, reads, archive, purge, lookups
//!   by value, restore, history and search;
//! - [`AssociationStore`]: associations of records with other records;
//! - [`SchemaStore`]: a portal's own properties, groups and pipelines;
//! - [`AdminStore`]: readiness, the portals a store holds, the admin reset;
//! - [`Scheduling`]: where and when the API may run store work (on the serving thread,
//!   writes staged into a group commit, reads by id awaited through [`AsyncReads`]).
//!
//! Methods are synchronous; the API layer runs them on the blocking pool, or on the serving
//! thread where the store says that is cheap (reads by id, staged writes). The one
//! exception is [`AsyncReads`], for a networked store's reads by id. Every write method is
//! one transaction: it either happens whole or not at all.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::associations::Association;
use super::error::StoreError;
use super::history::{HistoryEntry, PropertyChange};
use super::objects::ObjectType;
use super::objects::Partition;
use super::pipelines::Pipeline;
use super::properties::PropertyCatalogue;
use super::record::{PortalId, Projection, Record, RecordId};
use super::schema::{PropertyGroup, PropertyRecord};
use super::search::{SearchHits, SearchPlan};
use super::staging::Staging;
use super::time::EpochMillis;

/// A call about to be inserted: its state, the changes that produced it (its first history
/// entries) and its associations.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub call: Record,
    pub changes: Vec<PropertyChange>,
    pub associations: Vec<Association>,
}

/// A call put back whole, as an export holds it: its state (live or archived), every history
/// entry oldest first, and its associations. Import, fixtures and store migration use it.
#[derive(Debug, Clone)]
pub struct RestoredRecord {
    pub call: Record,
    pub history: Vec<PropertyChange>,
    pub associations: Vec<Association>,
}

/// Applies the rules to one live call inside the store's write transaction: gets the
/// position of the id in the request and the call, mutates the call and returns what changed.
pub type RecordMutation<'a> = dyn FnMut(usize, &mut Record) -> Vec<PropertyChange> + 'a;

/// Everything the rules need from storage: the sum of the ports, implemented for every type
/// that implements each of them (engines and the wrappers around them).
pub trait Store: RecordStore + AssociationStore + SchemaStore + AdminStore + Scheduling {}

impl<T> Store for T where T: RecordStore + AssociationStore + SchemaStore + AdminStore + Scheduling {}

/// The records of a partition (a portal's records of one type).
pub trait RecordStore: Send + Sync {
    /// Reserves `count` fresh ids for new records of `partition`, unique across the whole
    /// store (a sharded store takes them from the partition's shard, so a portal's writes
    /// need no other shard).
    fn allocate_ids(&self, partition: Partition, count: usize)
        -> Result<Vec<RecordId>, StoreError>;

    /// One write transaction: applies `apply` to each live call of `update_ids` and inserts
    /// `inserts` with their history and associations. Returns the updated state per id
    /// (`None` where the id is not a live call of the portal). Fails with `UniqueViolation`,
    /// writing nothing, when a unique-value property would repeat another call's value.
    fn write_records(
        &self,
        partition: Partition,
        schema: &PropertyCatalogue,
        inserts: &[NewRecord],
        update_ids: &[RecordId],
        apply: &mut RecordMutation<'_>,
    ) -> Result<Vec<Option<Record>>, StoreError>;

    /// Inserts calls in one transaction (see [`RecordStore::write_records`]).
    fn insert_records(
        &self,
        partition: Partition,
        schema: &PropertyCatalogue,
        calls: &[NewRecord],
    ) -> Result<(), StoreError> {
        self.write_records(partition, schema, calls, &[], &mut |_, _| Vec::new())
            .map(|_| ())
    }

    /// Updates calls in one transaction (see [`RecordStore::write_records`]).
    fn update_records(
        &self,
        partition: Partition,
        schema: &PropertyCatalogue,
        ids: &[RecordId],
        apply: &mut RecordMutation<'_>,
    ) -> Result<Vec<Option<Record>>, StoreError> {
        self.write_records(partition, schema, &[], ids, apply)
    }

    /// The calls of `ids` that exist in the portal, archived or not, in any order.
    fn get_records(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<Vec<Record>, StoreError>;

    /// Up to `limit` calls with id >= `from_id` in ascending id order, either only live or
    /// only archived ones.
    fn list_records(
        &self,
        partition: Partition,
        archived: bool,
        from_id: RecordId,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError>;

    /// [`RecordStore::get_records`] for a read that shows only the `projection`'s
    /// properties: a store may skip reading the others.
    fn get_records_projected(
        &self,
        partition: Partition,
        ids: &[RecordId],
        projection: &Projection<'_>,
    ) -> Result<Vec<Record>, StoreError> {
        let _ = projection;
        self.get_records(partition, ids)
    }

    /// [`RecordStore::list_records`] for a read that shows only the `projection`'s
    /// properties.
    fn list_records_projected(
        &self,
        partition: Partition,
        archived: bool,
        from_id: RecordId,
        limit: usize,
        projection: &Projection<'_>,
    ) -> Result<Vec<Record>, StoreError> {
        let _ = projection;
        self.list_records(partition, archived, from_id, limit)
    }

    /// Moves the live calls of `ids` to the recycle bin; unknown ids are ignored.
    fn archive_records(
        &self,
        partition: Partition,
        ids: &[RecordId],
        at: EpochMillis,
    ) -> Result<(), StoreError>;

    /// Removes calls for good, with their history and associations (GDPR delete).
    fn purge_records(&self, partition: Partition, ids: &[RecordId]) -> Result<(), StoreError>;

    /// Live calls whose property `name` holds `value`, compared as unique values are: numbers
    /// by value, text without regard to case (for `idProperty` lookups).
    fn find_by_value(
        &self,
        partition: Partition,
        name: &str,
        value: &str,
    ) -> Result<Vec<RecordId>, StoreError>;

    /// Puts calls back with their own ids, timestamps, history and associations, in one
    /// transaction. A call of the portal with the same id is replaced whole; an id that
    /// belongs to another portal fails everything with `IdTaken`; a live call's unique
    /// values are checked as on any write (`UniqueViolation`). Ids allocated afterwards
    /// are above every restored id.
    fn restore_records(
        &self,
        partition: Partition,
        schema: &PropertyCatalogue,
        calls: &[RestoredRecord],
    ) -> Result<(), StoreError>;

    /// History of the named properties of the calls, newest first per property.
    fn history(
        &self,
        partition: Partition,
        ids: &[RecordId],
        names: &[String],
    ) -> Result<Vec<(RecordId, String, HistoryEntry)>, StoreError>;

    /// Runs a search plan over the portal's live calls. Must return exactly what
    /// [`SearchPlan::evaluate`] returns on the same calls.
    fn search(&self, partition: Partition, plan: &SearchPlan) -> Result<SearchHits, StoreError>;

    /// [`RecordStore::search`] for a page that shows only the `projection`'s properties:
    /// the hits are the same, their records may lack the other properties.
    fn search_projected(
        &self,
        partition: Partition,
        plan: &SearchPlan,
        projection: &Projection<'_>,
    ) -> Result<SearchHits, StoreError> {
        let _ = projection;
        self.search(partition, plan)
    }
}

/// Associations of a partition's records with other records. An association is stored
/// with the record that owns it (`from_id`) and read from the other side through
/// [`AssociationStore::associations_to`].
pub trait AssociationStore: Send + Sync {
    /// Every association of the calls.
    fn associations(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<Vec<Association>, StoreError>;

    /// Replaces all associations between a call and one record, in one transaction.
    fn replace_associations(
        &self,
        partition: Partition,
        call_id: RecordId,
        kind: ObjectType,
        to_id: u64,
        associations: &[Association],
    ) -> Result<(), StoreError>;

    /// Adds associations of live calls (existing ones are kept as they are).
    fn add_associations(
        &self,
        partition: Partition,
        associations: &[Association],
    ) -> Result<(), StoreError>;

    /// Removes the associations between a call and one record: all of them, or only those
    /// of the given type ids.
    fn remove_associations(
        &self,
        partition: Partition,
        call_id: RecordId,
        kind: ObjectType,
        to_id: u64,
        type_ids: Option<&[u32]>,
    ) -> Result<(), StoreError>;

    /// Associations of live calls with the given records (the other direction).
    fn associations_to(
        &self,
        partition: Partition,
        kind: ObjectType,
        to_ids: &[u64],
    ) -> Result<Vec<Association>, StoreError>;
}

/// A portal's own schema of one type: custom properties, groups and pipelines.
pub trait SchemaStore: Send + Sync {
    /// The portal's own property definitions, archived ones included.
    fn custom_properties(&self, partition: Partition) -> Result<Vec<PropertyRecord>, StoreError>;

    /// Creates or replaces one of the portal's property definitions.
    fn save_property(
        &self,
        partition: Partition,
        property: &PropertyRecord,
    ) -> Result<(), StoreError>;

    /// Removes every value of a property from the portal's calls (when a property is
    /// defined anew under an archived name).
    fn purge_property_values(&self, partition: Partition, name: &str) -> Result<(), StoreError>;

    /// The portal's own property groups, archived ones included.
    fn custom_groups(&self, partition: Partition) -> Result<Vec<PropertyGroup>, StoreError>;

    /// Creates or replaces one of the portal's property groups.
    fn save_group(&self, partition: Partition, group: &PropertyGroup) -> Result<(), StoreError>;

    /// The portal's own pipelines of the partition's type, archived ones included: the ones
    /// it created and the defaults it changed (an untouched default is never stored).
    fn custom_pipelines(&self, partition: Partition) -> Result<Vec<Pipeline>, StoreError>;

    /// Creates or replaces one of the portal's pipelines (by id), its stages with it.
    fn save_pipeline(&self, partition: Partition, pipeline: &Pipeline) -> Result<(), StoreError>;

    /// A number that changes whenever the portal's properties, groups or pipelines change, whichever
    /// process changed them: the rules cache a portal's schema while it stays the same.
    /// A store only this process writes may keep the default, since the rules forget
    /// their cached copy on their own changes.
    fn schema_version(&self, _partition: Partition) -> Result<u64, StoreError> {
        Ok(0)
    }
}

/// What operators and the admin API need of a store as a whole.
pub trait AdminStore: Send + Sync {
    /// Answers when the store can serve reads (readiness).
    fn ping(&self) -> Result<(), StoreError>;

    /// Every portal that holds calls, property definitions, groups or pipelines, ascending.
    fn portals(&self) -> Result<Vec<PortalId>, StoreError>;

    /// Removes everything of a portal: calls, history, associations, custom properties,
    /// groups and pipelines (the admin reset, so a test suite can start from nothing).
    fn reset_portal(&self, portal: PortalId) -> Result<(), StoreError>;

    /// How each part of the store that fails on its own (a shard) fared lately, for
    /// metrics; empty for a store of one part, whose health readiness tells.
    fn shard_health(&self) -> Vec<ShardHealth> {
        Vec::new()
    }
}

/// How one shard of a store fared: whether its last answer was one (not "unavailable"), and
/// how many times it was unavailable since the server started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardHealth {
    pub name: String,
    pub up: bool,
    pub unavailable_total: u64,
}

/// A store's answer that is awaited rather than waited for.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Reads by id and searches of a store across a network, awaited on the thread serving the
/// request: a synchronous read holds a blocking-pool thread for the round trip, and the hop
/// to that thread and back cost more than the read itself (docs/performance.md, "Issue 16,
/// third round"). Awaited reads also share connections: queries of concurrent requests go
/// out together.
pub trait AsyncReads: Send + Sync {
    /// [`RecordStore::get_records`], awaited.
    fn get_records<'a>(
        &'a self,
        partition: Partition,
        ids: &'a [RecordId],
    ) -> StoreFuture<'a, Vec<Record>>;

    /// [`RecordStore::search_projected`], awaited: the total and the page in one statement.
    /// `None` when the answer takes more than one (the store's search on the blocking pool
    /// gives it then).
    fn search<'a>(
        &'a self,
        partition: Partition,
        plan: &'a SearchPlan,
        projection: &'a Projection<'a>,
    ) -> StoreFuture<'a, Option<SearchHits>>;

    /// The partition's schema version when the store knows it without asking the database
    /// ([`SchemaStore::schema_version`] would wait for an answer otherwise).
    fn known_schema_version(&self, partition: Partition) -> Option<u64>;
}

/// Where and when the API may run store work. The defaults suit a networked store: every
/// call on the blocking pool, every write committed before it returns.
pub trait Scheduling: Send + Sync {
    /// Whether reading calls by id is short, local work (an embedded database in this
    /// process), so the API may do it on the thread serving the request rather than hand it
    /// to the blocking pool and back. A networked store keeps the default: its synchronous
    /// client would hold an async worker for a network round trip.
    fn reads_by_id_are_local(&self) -> bool {
        false
    }

    /// The store's awaited reads by id, if it has them: a networked store with an
    /// asynchronous client. The API awaits them where it serves the request, when the
    /// partition's schema is known without asking the store either.
    fn async_reads(&self) -> Option<&dyn AsyncReads> {
        None
    }

    /// How many reads (lists, searches, batch reads) the API runs on the blocking pool at
    /// once; the others wait for a turn without holding a thread. For a store that reads in
    /// this process, reads are CPU work and more of them than cores only switch between
    /// threads: the default is the cores this process may use. A networked store answers the
    /// connections it has, beyond which a read would only wait on the pool.
    fn parallel_reads(&self) -> usize {
        std::thread::available_parallelism().map_or(1, |cores| cores.get())
    }

    /// Whether the store stages writes now: writes through a [`Scheduling::staged`] view
    /// go into an open group without waiting for its commit (see [`crate::crm::staging`]).
    /// Only a store whose writes are short, local and need nothing to wait for says yes; it
    /// then commits a group on [`Scheduling::commit_group`] and tells its outcome through
    /// [`Scheduling::group_outcome`].
    fn stages_writes(&self) -> bool {
        false
    }

    /// A view of this store whose writes are staged: each goes into the store's open group,
    /// whose number it records in `staging`, and returns without waiting for the commit.
    /// Reads and everything else are the store's own. `None` when the store does not stage
    /// writes now (see [`Scheduling::stages_writes`]).
    fn staged(&self, _staging: &Arc<Staging>) -> Option<Arc<dyn Store>> {
        None
    }

    /// Commits group `group` if it is still open (earlier groups have ended already).
    fn commit_group(&self, _group: u64) {}

    /// Waits until group `group` has ended; an error when it was not committed.
    fn group_outcome(&self, _group: u64) -> GroupOutcome<'_> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// How a staged group ended, once it has (see [`Scheduling::group_outcome`]).
pub type GroupOutcome<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send + 'a>>;
