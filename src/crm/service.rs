//! The call operations: HubSpot's rules on top of a [`Store`].
//!
//! Everything is validated before the store is touched, so a refused request writes nothing;
//! every write that is accepted goes to the store as one transaction.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use super::association_targets::{split_associations, validate_associations};
use super::associations::Association;
use super::error::CrmError;
use super::history::{HistoryEntry, PropertyChange};
use super::objects::{ObjectType, Partition};
use super::owners::{Owners, PortalOwners};
use super::pipelines::{is_placement_property, PortalPipelines};
use super::ports::{NewRecord, Store};
use super::properties::PropertyCatalogue;
use super::record::{PortalId, Record, RecordId, WriteSource};
use super::record_placement::{place_new, placed};
use super::schema_cache::{PartitionSchema, Schemas};
use super::search::{SearchHits, SearchLimits, SearchPlan, SearchRequest};
use super::time::{format_datetime, now_millis, EpochMillis};
use super::write_rules::WriteRules;

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

    pub(super) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Forgets the cached schemas of every type of a portal (after an import).
    pub(super) fn forget_portal_schemas(&self, portal: PortalId) {
        self.schemas.forget_portal(portal);
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

    // ----- writes -------------------------------------------------------------------------

    pub fn create(
        &self,
        partition: Partition,
        source: &WriteSource,
        request: &CreateRequest,
    ) -> Result<Record, CrmError> {
        let mut outcome = self.create_batch(partition, source, std::slice::from_ref(request))?;
        match outcome.failures.pop() {
            Some(BatchFailure::Rejected { error, .. }) => Err(error),
            _ => outcome
                .calls
                .pop()
                .ok_or_else(|| CrmError::invalid("No call was created")),
        }
    }

    /// Creates calls in one transaction. Invalid inputs fail the whole batch unless every
    /// input carries an `objectWriteTraceId`; then they are reported one by one.
    pub fn create_batch(
        &self,
        partition: Partition,
        source: &WriteSource,
        requests: &[CreateRequest],
    ) -> Result<BatchOutcome, CrmError> {
        check_batch_size(requests.len(), MAX_BATCH_INPUTS)?;
        let PartitionSchema {
            properties: schema,
            pipelines,
        } = self.partition_schema(partition)?;
        let owners = self.owners.portal(partition.portal);
        let partial = all_traced(requests.iter().map(|r| &r.object_write_trace_id));
        let mut valid = Vec::new();
        let mut failures = Vec::new();
        for request in requests {
            let checked = validate_values(
                &schema,
                owners,
                &request.properties,
                partition.object_type,
                true,
            )
            .and_then(|values| place_new(&pipelines, partition.object_type, values))
            .and_then(|values| {
                let targets = validate_associations(partition.object_type, &request.associations)?;
                self.require_live_targets(partition.portal, &targets)?;
                Ok((values, targets))
            });
            match checked {
                Ok(ok) => valid.push(ok),
                Err(error) if partial => failures.push(BatchFailure::Rejected {
                    trace_id: request.object_write_trace_id.clone(),
                    error,
                }),
                Err(error) => return Err(error),
            }
        }
        let ids = self.store.allocate_ids(valid.len())?;
        let now = now_millis();
        let new_calls: Vec<(NewRecord, Vec<(ObjectType, Association)>)> = ids
            .into_iter()
            .zip(valid)
            .map(|(id, (values, targets))| {
                let (own, foreign) = split_associations(partition.object_type, id, &targets);
                let record = new_call(
                    partition.object_type,
                    &schema,
                    id,
                    &values,
                    own,
                    source,
                    now,
                );
                (record, foreign)
            })
            .collect();
        let (new_calls, foreign): (Vec<NewRecord>, Vec<_>) = new_calls.into_iter().unzip();
        self.store.insert_records(partition, &schema, &new_calls)?;
        // Associations the other type keeps go to its partition, right after the records
        // they name exist.
        let mut by_owner: BTreeMap<ObjectType, Vec<Association>> = BTreeMap::new();
        for (owner, association) in foreign.into_iter().flatten() {
            by_owner.entry(owner).or_default().push(association);
        }
        for (owner, associations) in by_owner {
            self.store
                .add_associations(Partition::new(partition.portal, owner), &associations)?;
        }
        Ok(BatchOutcome {
            calls: new_calls.into_iter().map(|n| n.call).collect(),
            failures,
        })
    }

    pub fn update(
        &self,
        partition: Partition,
        source: &WriteSource,
        locator: Locator<'_>,
        properties: &PropertyValues,
    ) -> Result<Record, CrmError> {
        let PartitionSchema {
            properties: schema,
            pipelines,
        } = self.partition_schema(partition)?;
        let values = validate_values(
            &schema,
            self.owners.portal(partition.portal),
            properties,
            partition.object_type,
            false,
        )?;
        let not_found = || CrmError::NotFound {
            id: locator.value.to_owned(),
        };
        let id = self.resolve(partition, locator)?.ok_or_else(not_found)?;
        let written = |id| self.update_one(partition, source, &schema, &pipelines, id, &values);
        if let Some(record) = written(id)? {
            return Ok(record);
        }
        // An id merged away updates the merged record (HubSpot accepts previous ids in a
        // single update, not in batch updates). Looked up only when the id is not live, so
        // the common update pays no extra read.
        let merged = self.store.get_records(partition, &[id])?;
        match merged.first().and_then(super::merge::merged_into) {
            Some(target) => written(target)?.ok_or_else(not_found),
            None => Err(not_found()),
        }
    }

    /// Updates one live record with validated values; `None` when `id` is not live.
    fn update_one(
        &self,
        partition: Partition,
        source: &WriteSource,
        schema: &PropertyCatalogue,
        pipelines: &PortalPipelines,
        id: RecordId,
        values: &[ValidValue],
    ) -> Result<Option<Record>, CrmError> {
        let t = partition.object_type;
        if let Some(problem) = self
            .placement_problems(partition, pipelines, &[(id, values)])?
            .pop()
            .flatten()
        {
            return Err(CrmError::InvalidProperties(vec![problem]));
        }
        let now = now_millis();
        let mut refused = vec![None];
        let mut updated =
            self.store
                .update_records(partition, schema, &[id], &mut |at, call| {
                    if placed(pipelines, t, call, values, &mut refused[at]) {
                        apply_values(t, schema, call, values, source, now)
                    } else {
                        Vec::new()
                    }
                })?;
        if let Some(problem) = refused.pop().flatten() {
            return Err(CrmError::InvalidProperties(vec![problem]));
        }
        Ok(updated.pop().flatten())
    }

    /// Updates calls in one transaction; unknown ids are reported, the rest applied.
    pub fn update_batch(
        &self,
        partition: Partition,
        source: &WriteSource,
        requests: &[UpdateRequest],
    ) -> Result<BatchOutcome, CrmError> {
        check_batch_size(requests.len(), MAX_BATCH_INPUTS)?;
        check_unique_ids(requests.iter().map(|r| r.id.as_str()))?;
        let PartitionSchema {
            properties: schema,
            pipelines,
        } = self.partition_schema(partition)?;
        let t = partition.object_type;
        let owners = self.owners.portal(partition.portal);
        let partial = all_traced(requests.iter().map(|r| &r.object_write_trace_id));
        let mut failures = Vec::new();
        let mut accepted = Vec::new();
        for request in requests {
            match validate_values(&schema, owners, &request.properties, t, false) {
                Ok(values) => accepted.push((request, values)),
                Err(error) if partial => failures.push(BatchFailure::Rejected {
                    trace_id: request.object_write_trace_id.clone(),
                    error,
                }),
                Err(error) => return Err(error),
            }
        }
        let mut missing = Vec::new();
        let mut missing_traces = Vec::new();
        let mut targets = Vec::new();
        for (request, values) in accepted {
            let locator = Locator {
                value: &request.id,
                id_property: request.id_property.as_deref(),
            };
            match self.resolve(partition, locator)? {
                Some(id) => targets.push((id, request, values)),
                None => {
                    missing.push(request.id.clone());
                    missing_traces.extend(request.object_write_trace_id.clone());
                }
            }
        }
        let placing: Vec<(RecordId, &[ValidValue])> = targets
            .iter()
            .map(|(id, _, values)| (*id, values.as_slice()))
            .collect();
        let problems = self.placement_problems(partition, &pipelines, &placing)?;
        let mut kept = Vec::with_capacity(targets.len());
        for (target, problem) in targets.into_iter().zip(problems) {
            match problem {
                None => kept.push(target),
                Some(problem) if partial => failures.push(BatchFailure::Rejected {
                    trace_id: target.1.object_write_trace_id.clone(),
                    error: CrmError::InvalidProperties(vec![problem]),
                }),
                Some(problem) => return Err(CrmError::InvalidProperties(vec![problem])),
            }
        }
        let targets = kept;
        let ids: Vec<RecordId> = targets.iter().map(|(id, _, _)| *id).collect();
        let now = now_millis();
        let mut refused = vec![None; targets.len()];
        let updated = self
            .store
            .update_records(partition, &schema, &ids, &mut |at, call| {
                let values = &targets[at].2;
                if placed(&pipelines, t, call, values, &mut refused[at]) {
                    apply_values(t, &schema, call, values, source, now)
                } else {
                    Vec::new()
                }
            })?;
        let mut calls = Vec::new();
        for ((state, (_, request, _)), refused) in updated.into_iter().zip(&targets).zip(refused) {
            match (state, refused) {
                // The record moved between the check and the write; it was left as it was.
                (Some(_), Some(problem)) => failures.push(BatchFailure::Rejected {
                    trace_id: request.object_write_trace_id.clone(),
                    error: CrmError::InvalidProperties(vec![problem]),
                }),
                (Some(call), None) => calls.push(call),
                (None, _) => {
                    missing.push(request.id.clone());
                    missing_traces.extend(request.object_write_trace_id.clone());
                }
            }
        }
        if !missing.is_empty() {
            failures.push(BatchFailure::NotFound {
                ids: missing,
                trace_ids: missing_traces,
            });
        }
        Ok(BatchOutcome { calls, failures })
    }

    /// Creates or updates each call found by the value of its input's unique `idProperty`,
    /// in one transaction. A created call gets that value as its property.
    pub fn upsert_batch(
        &self,
        partition: Partition,
        source: &WriteSource,
        requests: &[UpsertRequest],
    ) -> Result<UpsertOutcome, CrmError> {
        check_batch_size(requests.len(), MAX_BATCH_INPUTS)?;
        check_unique_ids(requests.iter().map(|r| r.id.as_str()))?;
        let PartitionSchema {
            properties: schema,
            pipelines,
        } = self.partition_schema(partition)?;
        let t = partition.object_type;
        let owners = self.owners.portal(partition.portal);
        for request in requests {
            let name = request.id_property.as_deref().ok_or_else(|| {
                CrmError::invalid(format!(
                    "Upsert needs an idProperty on every input (missing for id \"{}\")",
                    request.id
                ))
            })?;
            let unique = schema
                .get(name)
                .is_some_and(|d| partition.object_type.is_unique(d));
            if name == OBJECT_ID_PROPERTY || !unique {
                return Err(CrmError::invalid(format!(
                    "Unable to perform update/upsert by non-unique {} property {name}",
                    partition.object_type.type_id
                )));
            }
        }
        let partial = all_traced(requests.iter().map(|r| &r.object_write_trace_id));
        let mut failures = Vec::new();
        // (input position, values) for calls to create and to update.
        let mut creates = Vec::new();
        let mut updates: Vec<(usize, RecordId, Vec<ValidValue>)> = Vec::new();
        for (at, request) in requests.iter().enumerate() {
            let name = request.id_property.as_deref().unwrap_or(OBJECT_ID_PROPERTY);
            let existing = self
                .store
                .find_by_value(partition, name, &request.id)?
                .into_iter()
                .next();
            let checked = match existing {
                Some(id) => match validate_values(&schema, owners, &request.properties, t, false) {
                    Ok(values) => {
                        let problem = self
                            .placement_problems(partition, &pipelines, &[(id, &values)])?
                            .pop()
                            .flatten();
                        match problem {
                            Some(problem) => Err(CrmError::InvalidProperties(vec![problem])),
                            None => {
                                updates.push((at, id, values));
                                Ok(())
                            }
                        }
                    }
                    Err(error) => Err(error),
                },
                None => {
                    let mut properties = request.properties.clone();
                    properties.retain(|(n, _)| n != name);
                    properties.push((name.to_owned(), request.id.clone()));
                    validate_values(&schema, owners, &properties, t, true)
                        .and_then(|values| place_new(&pipelines, t, values))
                        .map(|values| creates.push((at, values)))
                }
            };
            if let Err(error) = checked {
                if !partial {
                    return Err(error);
                }
                failures.push(BatchFailure::Rejected {
                    trace_id: request.object_write_trace_id.clone(),
                    error,
                });
            }
        }
        let ids = self.store.allocate_ids(creates.len())?;
        let now = now_millis();
        let new_calls: Vec<NewRecord> = ids
            .iter()
            .zip(&creates)
            .map(|(id, (_, values))| {
                new_call(
                    partition.object_type,
                    &schema,
                    *id,
                    values,
                    Vec::new(),
                    source,
                    now,
                )
            })
            .collect();
        let update_ids: Vec<RecordId> = updates.iter().map(|(_, id, _)| *id).collect();
        let mut refused = vec![None; updates.len()];
        let updated = self.store.write_records(
            partition,
            &schema,
            &new_calls,
            &update_ids,
            &mut |at, call| {
                let values = &updates[at].2;
                if placed(&pipelines, t, call, values, &mut refused[at]) {
                    apply_values(t, &schema, call, values, source, now)
                } else {
                    Vec::new()
                }
            },
        )?;
        let mut by_position: BTreeMap<usize, (Record, bool)> = BTreeMap::new();
        for ((at, _), new) in creates.iter().zip(new_calls) {
            by_position.insert(*at, (new.call, true));
        }
        let mut missing = Vec::new();
        for (((at, _, _), state), refused) in updates.iter().zip(updated).zip(refused) {
            match (state, refused) {
                // The record moved between the check and the write; it was left as it was.
                (Some(_), Some(problem)) => failures.push(BatchFailure::Rejected {
                    trace_id: requests[*at].object_write_trace_id.clone(),
                    error: CrmError::InvalidProperties(vec![problem]),
                }),
                (Some(call), None) => {
                    by_position.insert(*at, (call, false));
                }
                (None, _) => missing.push(requests[*at].id.clone()),
            }
        }
        if !missing.is_empty() {
            failures.push(BatchFailure::NotFound {
                ids: missing,
                trace_ids: Vec::new(),
            });
        }
        Ok(UpsertOutcome {
            calls: by_position.into_values().collect(),
            failures,
        })
    }

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
            self.forget_associations_to(partition, &[id])?;
            self.store.purge_records(partition, &[id])?;
        }
        Ok(())
    }

    // ----- reads --------------------------------------------------------------------------

    pub fn get(
        &self,
        partition: Partition,
        locator: Locator<'_>,
        filter: ArchiveFilter,
    ) -> Result<Record, CrmError> {
        let not_found = || CrmError::NotFound {
            id: locator.value.to_owned(),
        };
        let id = self.resolve(partition, locator)?.ok_or_else(not_found)?;
        let found = self.store.get_records(partition, &[id])?.into_iter().next();
        // An id merged away reads as the record it was merged into, as HubSpot's do.
        let found = match (found, filter) {
            (Some(record), ArchiveFilter::Live) if record.is_archived() => {
                match super::merge::merged_into(&record) {
                    Some(target) => self.store.get_records(partition, &[target])?.pop(),
                    None => Some(record),
                }
            }
            (found, _) => found,
        };
        found
            .filter(|call| filter.admits(call))
            .ok_or_else(not_found)
    }

    /// Reads calls by id in input order; ids that name no call (in the requested archive
    /// state) come back in `NotFound`.
    pub fn read_batch(
        &self,
        partition: Partition,
        ids: &[String],
        id_property: Option<&str>,
        filter: ArchiveFilter,
        with_history: bool,
    ) -> Result<BatchOutcome, CrmError> {
        let limit = if with_history {
            MAX_HISTORY_BATCH_INPUTS
        } else {
            MAX_BATCH_INPUTS
        };
        if with_history && ids.len() > limit {
            return Err(CrmError::invalid(format!(
                "The maximum number of inputs supported in a batch request for property histories is {limit}. Please reduce the number of items and try again"
            )));
        }
        check_batch_size(ids.len(), limit)?;
        check_unique_ids(ids.iter().map(String::as_str))?;
        let mut resolved = Vec::with_capacity(ids.len());
        for id in ids {
            let locator = Locator {
                value: id,
                id_property,
            };
            resolved.push(self.resolve(partition, locator)?);
        }
        let wanted: Vec<RecordId> = resolved.iter().flatten().copied().collect();
        let found: HashMap<RecordId, Record> = self
            .store
            .get_records(partition, &wanted)?
            .into_iter()
            .filter(|call| filter.admits(call))
            .map(|call| (call.id, call))
            .collect();
        let mut outcome = BatchOutcome::default();
        let mut missing = Vec::new();
        for (raw, id) in ids.iter().zip(resolved) {
            match id.and_then(|id| found.get(&id)) {
                Some(call) => outcome.calls.push(call.clone()),
                None => missing.push(raw.clone()),
            }
        }
        if !missing.is_empty() {
            outcome.failures.push(BatchFailure::NotFound {
                ids: missing,
                trace_ids: Vec::new(),
            });
        }
        Ok(outcome)
    }

    pub fn list(
        &self,
        partition: Partition,
        filter: ArchiveFilter,
        after: RecordId,
        limit: usize,
    ) -> Result<RecordPage, CrmError> {
        let mut calls = self.store.list_records(
            partition,
            filter == ArchiveFilter::Archived,
            after,
            limit + 1,
        )?;
        let next_after = if calls.len() > limit {
            calls.pop().map(|call| call.id)
        } else {
            None
        };
        Ok(RecordPage { calls, next_after })
    }

    pub fn search(
        &self,
        partition: Partition,
        request: SearchRequest,
    ) -> Result<SearchHits, CrmError> {
        let schema = self.schema(partition)?;
        let mut plan = SearchPlan::build(&schema, request, &self.search_limits)?;
        plan.query_properties = partition.object_type.query_properties;
        self.resolve_association_filters(partition, &mut plan)?;
        if self.search_limits.index_lag_ms > 0 {
            let lag = i64::try_from(self.search_limits.index_lag_ms).unwrap_or(i64::MAX);
            let cutoff = super::time::now_millis().saturating_sub(lag);
            return Ok(super::search_lag::search_as_of(
                self.store.as_ref(),
                &schema,
                partition,
                &plan,
                cutoff,
            )?);
        }
        Ok(self.store.search(partition, &plan)?)
    }

    /// History of the named properties (unknown names are skipped, as HubSpot does).
    pub fn history(
        &self,
        partition: Partition,
        ids: &[RecordId],
        names: &[String],
    ) -> Result<HistoryByRecord, CrmError> {
        let schema = self.schema(partition)?;
        let names: Vec<String> = names
            .iter()
            .filter(|name| schema.contains(name))
            .cloned()
            .collect();
        let mut by_call: HistoryByRecord = HashMap::new();
        if names.is_empty() || ids.is_empty() {
            return Ok(by_call);
        }
        for (id, name, entry) in self.store.history(partition, ids, &names)? {
            by_call
                .entry(id)
                .or_default()
                .entry(name)
                .or_default()
                .push(entry);
        }
        Ok(by_call)
    }

    pub fn associations(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<HashMap<RecordId, Vec<Association>>, CrmError> {
        let mut by_call: HashMap<RecordId, Vec<Association>> = HashMap::new();
        if ids.is_empty() {
            return Ok(by_call);
        }
        for association in self.store.associations(partition, ids)? {
            by_call
                .entry(association.from_id)
                .or_default()
                .push(association);
        }
        Ok(by_call)
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

// ----- the rules, as pure functions ---------------------------------------------------------

fn check_batch_size(count: usize, limit: usize) -> Result<(), CrmError> {
    if count > limit {
        return Err(CrmError::invalid(format!(
            "The maximum number of inputs supported in a batch is {limit}. Please reduce the number of items and try again"
        )));
    }
    Ok(())
}

fn check_unique_ids<'a>(ids: impl Iterator<Item = &'a str>) -> Result<(), CrmError> {
    let mut seen = HashSet::new();
    let mut duplicates: Vec<String> = Vec::new();
    for id in ids {
        if !seen.insert(id) && !duplicates.iter().any(|d| d == id) {
            duplicates.push(id.to_owned());
        }
    }
    if duplicates.is_empty() {
        return Ok(());
    }
    Err(CrmError::Invalid {
        message: format!(
            "Duplicate IDs found in batch input: [{}]. IDs must be unique",
            duplicates.join(", ")
        ),
        context: vec![("ids".to_owned(), duplicates)],
    })
}

/// HubSpot reports batch inputs one by one only when every input carries a trace id.
fn all_traced<'a>(mut trace_ids: impl ExactSizeIterator<Item = &'a Option<String>>) -> bool {
    trace_ids.len() > 0 && trace_ids.all(|t| t.as_deref().is_some_and(|t| !t.is_empty()))
}

/// Checks every value against its definition (and owner values against the portal's
/// owners), collecting all problems like HubSpot does; when `creating`, also that the type's
/// required properties are set. The pipeline and stage values are checked afterwards,
/// against each other ([`PortalPipelines::check_placement`]).
fn validate_values(
    schema: &PropertyCatalogue,
    owners: &PortalOwners,
    properties: &PropertyValues,
    object_type: ObjectType,
    creating: bool,
) -> Result<Vec<ValidValue>, CrmError> {
    let mut problems = Vec::new();
    let mut values = Vec::with_capacity(properties.len());
    for (name, raw) in properties {
        let checked = owners
            .screen(schema.get(name).map(|def| def.as_ref()), raw)
            .and_then(|()| {
                if is_placement_property(object_type, name) {
                    Ok((!raw.is_empty()).then(|| raw.clone()))
                } else {
                    schema.normalize(name, raw)
                }
            });
        match checked {
            Ok(value) => {
                let append = raw.starts_with(';')
                    && schema.get(name).is_some_and(|def| def.is_multi_valued());
                values.push(ValidValue {
                    name: name.clone(),
                    value,
                    append,
                });
            }
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        return Err(CrmError::InvalidProperties(problems));
    }
    if creating {
        let missing: Vec<String> = object_type
            .required_on_create
            .iter()
            .filter(|name| !values.iter().any(|v| v.name == **name && v.value.is_some()))
            .map(|name| (*name).to_owned())
            .collect();
        if !missing.is_empty() {
            // HubSpot's words, two spaces and all (live, HubSpot/hubspot-api-nodejs#124).
            return Err(CrmError::Invalid {
                message: format!(
                    "Error creating {}.  Some required properties were not set.",
                    object_type.internal_name
                ),
                context: vec![("properties".to_owned(), missing)],
            });
        }
    }
    Ok(values)
}

/// Sets one property on `call` and records the change, if the value differs.
pub(super) fn set_property(
    call: &mut Record,
    name: &str,
    value: Option<String>,
    source: &WriteSource,
    now: EpochMillis,
    changes: &mut Vec<PropertyChange>,
) {
    if call.properties.get(name) == value.as_ref() {
        return;
    }
    match &value {
        Some(v) => call.properties.insert(name.to_owned(), v.clone()),
        None => call.properties.remove(name),
    };
    changes.push(PropertyChange {
        name: name.to_owned(),
        entry: HistoryEntry {
            value: value.clone().unwrap_or_default(),
            timestamp: now,
            source: source.clone(),
        },
        value,
    });
}

/// A new call with its first history and its associations.
pub(super) fn new_call(
    object_type: ObjectType,
    schema: &PropertyCatalogue,
    id: RecordId,
    values: &[ValidValue],
    associations: Vec<Association>,
    source: &WriteSource,
    now: EpochMillis,
) -> NewRecord {
    let mut call = Record {
        id,
        properties: BTreeMap::new(),
        created_at: now,
        updated_at: now,
        archived_at: None,
    };
    let mut changes = identity_changes(object_type, schema, &mut call, source, now);
    changes.extend(apply_values(
        object_type,
        schema,
        &mut call,
        values,
        source,
        now,
    ));
    NewRecord {
        call,
        changes,
        associations,
    }
}

/// The properties every new call gets from hubcalls itself.
fn identity_changes(
    object_type: ObjectType,
    schema: &PropertyCatalogue,
    call: &mut Record,
    source: &WriteSource,
    now: EpochMillis,
) -> Vec<PropertyChange> {
    let calculated = WriteSource::calculated();
    let created = format_datetime(now);
    let identity = [
        ("hs_object_id", call.id.to_string()),
        (object_type.created_property, created),
        (
            "hs_obj_coords",
            format!("{}-{}", object_type.type_id, call.id),
        ),
        ("hs_object_source", source.source_type.clone()),
        ("hs_object_source_label", source.source_type.clone()),
        (
            "hs_object_source_id",
            source.source_id.clone().unwrap_or_default(),
        ),
    ];
    let mut changes = Vec::new();
    for (name, value) in identity {
        if schema.contains(name) && !value.is_empty() {
            set_property(call, name, Some(value), &calculated, now, &mut changes);
        }
    }
    changes
}

/// Applies validated values to a call, then recomputes what derives from them.
fn apply_values(
    object_type: ObjectType,
    schema: &PropertyCatalogue,
    call: &mut Record,
    values: &[ValidValue],
    source: &WriteSource,
    now: EpochMillis,
) -> Vec<PropertyChange> {
    let mut changes = Vec::new();
    for v in values {
        let value = match (&v.value, v.append, call.property(&v.name)) {
            // Separators alone (`;`) append nothing.
            (None, true, _) => continue,
            (Some(new), true, Some(current)) => {
                let mut merged: Vec<&str> = current.split(';').collect();
                for part in new.split(';') {
                    if !merged.contains(&part) {
                        merged.push(part);
                    }
                }
                Some(merged.join(";"))
            }
            _ => v.value.clone(),
        };
        set_property(call, &v.name, value, source, now, &mut changes);
    }
    let calculated = WriteSource::calculated();
    let touched = |name: &str| changes.iter().any(|c| c.name == name);
    let mut derived = super::derived::derived_values(object_type, call, &touched, now);
    derived.push((object_type.modified_property, Some(format_datetime(now))));
    for (name, value) in derived {
        if schema.contains(name) {
            set_property(call, name, value, &calculated, now, &mut changes);
        }
    }
    call.updated_at = now;
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_ids_are_named_once() {
        let err = check_unique_ids(["1", "2", "1", "1"].into_iter()).unwrap_err();
        match err {
            CrmError::Invalid { message, context } => {
                assert_eq!(
                    message,
                    "Duplicate IDs found in batch input: [1]. IDs must be unique"
                );
                assert_eq!(context, vec![("ids".to_owned(), vec!["1".to_owned()])]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn partial_batches_need_every_trace_id() {
        let some = [Some("a".to_owned()), None];
        let all = [Some("a".to_owned()), Some("b".to_owned())];
        assert!(!all_traced(some.iter()));
        assert!(all_traced(all.iter()));
        assert!(!all_traced([].iter()));
    }

    #[test]
    fn invalid_values_are_reported_before_missing_required_ones() {
        let schema = ObjectType::CALLS.catalogue();
        let values = vec![("nope".to_owned(), "x".to_owned())];
        match validate_values(
            schema,
            &PortalOwners::default(),
            &values,
            ObjectType::CALLS,
            true,
        )
        .unwrap_err()
        {
            CrmError::InvalidProperties(problems) => {
                let codes: Vec<_> = problems.iter().map(|p| p.code).collect();
                assert_eq!(codes, vec!["PROPERTY_DOESNT_EXIST"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn missing_required_properties_are_named_in_hubspot_words() {
        let schema = ObjectType::EMAILS.catalogue();
        let values = vec![("hs_email_subject".to_owned(), "Hi".to_owned())];
        match validate_values(
            schema,
            &PortalOwners::default(),
            &values,
            ObjectType::EMAILS,
            true,
        )
        .unwrap_err()
        {
            CrmError::Invalid { message, context } => {
                assert_eq!(
                    message,
                    "Error creating EMAIL.  Some required properties were not set."
                );
                assert_eq!(
                    context,
                    vec![(
                        "properties".to_owned(),
                        vec!["hs_timestamp".to_owned(), "hs_email_direction".to_owned()]
                    )]
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
