//! Batch upserts by a unique property: each input updates the record holding its value or
//! creates one.

use super::*;

impl RecordService {
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
                        let problem = placement_problems(
                            self.store.as_ref(),
                            partition,
                            &pipelines,
                            &[(id, &values)],
                        )?
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
        let ids = self.store.allocate_ids(partition, creates.len())?;
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
}
