//! Updating records by id or by a unique property, one or a batch.

use super::*;

impl RecordService {
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
        match merged.first().and_then(crate::crm::merge::merged_into) {
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
        if let Some(problem) =
            placement_problems(self.store.as_ref(), partition, pipelines, &[(id, values)])?
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
        let problems = placement_problems(self.store.as_ref(), partition, &pipelines, &placing)?;
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
}
