//! The CRM's services, one per area, and what they share: the store and the schemas.
//!
//! The API holds one [`Services`] and calls the service of the area it serves. Services
//! never call each other: what several need (reading a partition's schema) is the
//! [`Schemas`] they each hold.

use std::sync::Arc;

use super::error::CrmError;
use super::owners::Owners;
use super::pipelines::service::PipelineService;
use super::ports::Store;
use super::records::RecordService;
use super::schema::PropertyService;
use super::schema_cache::Schemas;
use super::search::SearchLimits;
use super::staging::{CommitTicket, Staging};
use super::write_rules::WriteRules;

pub struct Services {
    store: Arc<dyn Store>,
    schemas: Schemas,
    /// Records: CRUD, batches, search, history, GDPR deletes, associations, merge,
    /// transfer (still one service while they are split out).
    pub records: RecordService,
    /// Property definitions and property groups.
    pub properties: PropertyService,
    /// Pipelines and their stages.
    pub pipelines: PipelineService,
}

impl Services {
    /// The services over `store`; each type's built-in properties come from the registry.
    pub fn new(store: Arc<dyn Store>, search_limits: SearchLimits) -> Self {
        let schemas = Schemas::new(Arc::clone(&store));
        Self {
            records: RecordService::with_schemas(
                Arc::clone(&store),
                schemas.clone(),
                search_limits,
            ),
            properties: PropertyService::new(Arc::clone(&store), schemas.clone()),
            pipelines: PipelineService::new(Arc::clone(&store), schemas.clone()),
            store,
            schemas,
        }
    }

    /// The services with the portals' owners, which owner properties are checked against.
    pub fn with_owners(mut self, owners: Owners) -> Self {
        self.records = self.records.with_owners(owners);
        self
    }

    /// The services with the portals' write validation rules (enforced where the API says).
    pub fn with_write_rules(mut self, rules: WriteRules) -> Self {
        self.records = self.records.with_write_rules(rules);
        self
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
        Some(Self {
            records: self.records.through(Arc::clone(&store), schemas.clone()),
            properties: PropertyService::new(Arc::clone(&store), schemas.clone()),
            pipelines: PipelineService::new(Arc::clone(&store), schemas.clone()),
            store,
            schemas,
        })
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
