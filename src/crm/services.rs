//! The CRM's services, one per area, and what they share: the store and the schemas.
//!
//! The API holds one [`Services`] and calls the service of the area it serves. Services
//! never call each other: what several need (reading a partition's schema) is the
//! [`Schemas`] they each hold, and the logic they share (creating records, checked
//! reads and writes of associations) is plain functions over the store they each hold.

use std::sync::Arc;

use super::associations::AssociationService;
use super::error::CrmError;
use super::merge::MergeService;
use super::owners::Owners;
use super::pipelines::service::PipelineService;
use super::ports::Store;
use super::records::RecordService;
use super::schema::PropertyService;
use super::schema_cache::Schemas;
use super::search::SearchLimits;
use super::staging::{CommitTicket, Staging};
use super::transfer::TransferService;
use super::write_rules::WriteRules;

pub struct Services {
    store: Arc<dyn Store>,
    schemas: Schemas,
    /// Records: CRUD, batches, search, history, GDPR deletes.
    pub records: RecordService,
    /// Property definitions and property groups.
    pub properties: PropertyService,
    /// Pipelines and their stages.
    pub pipelines: PipelineService,
    /// Associations between records (v3 and v4).
    pub associations: AssociationService,
    /// Merging two records of a type.
    pub merge: MergeService,
    /// Fixtures, exports and CSV imports.
    pub transfer: TransferService,
}

impl Services {
    /// The services over `store`; each type's built-in properties come from the registry.
    pub fn new(store: Arc<dyn Store>, search_limits: SearchLimits) -> Self {
        let schemas = Schemas::new(Arc::clone(&store));
        let records =
            RecordService::with_schemas(Arc::clone(&store), schemas.clone(), search_limits);
        Self::around(store, schemas, records)
    }

    /// The services of every other area next to `records`, over the same store and
    /// schemas, sharing its owners (the configuration the records service keeps).
    fn around(store: Arc<dyn Store>, schemas: Schemas, records: RecordService) -> Self {
        Self {
            properties: PropertyService::new(Arc::clone(&store), schemas.clone()),
            pipelines: PipelineService::new(Arc::clone(&store), schemas.clone()),
            associations: AssociationService::new(Arc::clone(&store)),
            merge: MergeService::new(Arc::clone(&store), schemas.clone()),
            transfer: TransferService::new(
                Arc::clone(&store),
                schemas.clone(),
                records.shared_owners(),
            ),
            records,
            store,
            schemas,
        }
    }

    /// The services with the portals' owners, which owner properties are checked against.
    pub fn with_owners(self, owners: Owners) -> Self {
        let records = self.records.with_owners(owners);
        Self::around(self.store, self.schemas, records)
    }

    /// The services with the portals' write validation rules (enforced where the API says).
    pub fn with_write_rules(mut self, rules: WriteRules) -> Self {
        self.records = self.records.with_write_rules(rules);
        self
    }

    /// See [`crate::crm::ports::Scheduling::parallel_reads`].
    pub fn parallel_reads(&self) -> usize {
        self.store.parallel_reads()
    }

    /// See [`crate::crm::ports::Scheduling::reads_by_id_are_local`].
    pub fn reads_by_id_are_local(&self) -> bool {
        self.store.reads_by_id_are_local()
    }

    /// Runs `work` on views of these services whose writes are staged (see
    /// [`crate::crm::staging`]) and returns its result with the [`CommitTicket`] they left:
    /// the caller commits and awaits the ticket's groups before it acknowledges. `None`
    /// (and `work` not run) when the store does not stage writes now.
    pub fn run_staged<T>(&self, work: impl FnOnce(&Services) -> T) -> Option<(T, CommitTicket)> {
        let staging = Staging::new();
        let staged = self.staged(&staging)?;
        let result = work(&staged);
        drop(staged);
        Some((result, staging.take_ticket()))
    }

    /// The services over a view of the store whose writes are staged into `staging`: the
    /// same rules, schema cache and owners. `None` when the store does not stage writes now.
    fn staged(&self, staging: &Arc<Staging>) -> Option<Services> {
        let store = self.store.staged(staging)?;
        let schemas = self.schemas.through(Arc::clone(&store));
        let records = self.records.through(Arc::clone(&store), schemas.clone());
        Some(Self::around(store, schemas, records))
    }

    /// See [`crate::crm::ports::Scheduling::commit_group`].
    pub fn commit_group(&self, group: u64) {
        self.store.commit_group(group)
    }

    /// See [`crate::crm::ports::Scheduling::group_outcome`].
    pub async fn group_outcome(&self, group: u64) -> Result<(), CrmError> {
        Ok(self.store.group_outcome(group).await?)
    }
}
