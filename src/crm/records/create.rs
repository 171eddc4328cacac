//! Creating records, one or a batch: values checked against the schema, placement in a
//! pipeline, associations to live records, unique values.
//!
//! The create itself is a plain function over the store, the schemas and the owners, so
//! the transfer service's CSV import creates records exactly as the API does without
//! holding the records service.

use super::*;

impl RecordService {
    pub fn create(
        &self,
        partition: Partition,
        source: &WriteSource,
        request: &CreateRequest,
    ) -> Result<Record, CrmError> {
        create_record(
            self.store.as_ref(),
            &self.schemas,
            &self.owners,
            partition,
            source,
            request,
        )
    }

    /// Creates calls in one transaction. Invalid inputs fail the whole batch unless every
    /// input carries an `objectWriteTraceId`; then they are reported one by one.
    pub fn create_batch(
        &self,
        partition: Partition,
        source: &WriteSource,
        requests: &[CreateRequest],
    ) -> Result<BatchOutcome, CrmError> {
        create_records(
            self.store.as_ref(),
            &self.schemas,
            &self.owners,
            partition,
            source,
            requests,
        )
    }
}

/// Creates one record (see [`create_records`]); a refused input is the error.
pub(in crate::crm) fn create_record(
    store: &dyn Store,
    schemas: &Schemas,
    owners: &Owners,
    partition: Partition,
    source: &WriteSource,
    request: &CreateRequest,
) -> Result<Record, CrmError> {
    let mut outcome = create_records(
        store,
        schemas,
        owners,
        partition,
        source,
        std::slice::from_ref(request),
    )?;
    match outcome.failures.pop() {
        Some(BatchFailure::Rejected { error, .. }) => Err(error),
        _ => outcome
            .calls
            .pop()
            .ok_or_else(|| CrmError::invalid("No call was created")),
    }
}

/// Creates records in one transaction. Invalid inputs fail the whole batch unless every
/// input carries an `objectWriteTraceId`; then they are reported one by one.
pub(in crate::crm) fn create_records(
    store: &dyn Store,
    schemas: &Schemas,
    owners: &Owners,
    partition: Partition,
    source: &WriteSource,
    requests: &[CreateRequest],
) -> Result<BatchOutcome, CrmError> {
    check_batch_size(requests.len(), MAX_BATCH_INPUTS)?;
    let PartitionSchema {
        properties: schema,
        pipelines,
    } = schemas.partition(partition)?;
    let owners = owners.portal(partition.portal);
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
            require_live_targets(store, partition.portal, &targets)?;
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
    let ids = store.allocate_ids(partition, valid.len())?;
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
    store.insert_records(partition, &schema, &new_calls)?;
    // Associations the other type keeps go to its partition, right after the records
    // they name exist.
    let mut by_owner: BTreeMap<ObjectType, Vec<Association>> = BTreeMap::new();
    for (owner, association) in foreign.into_iter().flatten() {
        by_owner.entry(owner).or_default().push(association);
    }
    for (owner, associations) in by_owner {
        store.add_associations(Partition::new(partition.portal, owner), &associations)?;
    }
    Ok(BatchOutcome {
        calls: new_calls.into_iter().map(|n| n.call).collect(),
        failures,
    })
}
