//! Reading records: by id or unique value, batches, pages, search, history and the
//! associations of the records read.

use std::future::Future;

use super::*;

/// What reading one id found: the record (or nothing), or the id of the record it was
/// merged into, to be read instead.
enum Read {
    Found(Option<Record>),
    MergedInto(RecordId),
}

/// An id merged away reads as the record it was merged into, as HubSpot's do: a live read
/// of an archived record that names its merge target follows it.
fn follow_merge(found: Option<Record>, filter: ArchiveFilter) -> Read {
    match (found, filter) {
        (Some(record), ArchiveFilter::Live) if record.is_archived() => {
            match crate::crm::merge::merged_into(&record) {
                Some(target) => Read::MergedInto(target),
                None => Read::Found(Some(record)),
            }
        }
        (found, _) => Read::Found(found),
    }
}

/// An awaited search's hits, with the schema to show them by.
pub type AwaitedHits = (SearchHits, Arc<PropertyCatalogue>);

impl RecordService {
    pub fn get(
        &self,
        partition: Partition,
        locator: Locator<'_>,
        filter: ArchiveFilter,
    ) -> Result<Record, CrmError> {
        self.get_projected(partition, locator, filter, &Projection::All)
    }

    /// [`RecordService::get`] of a record that will show only the `projection`'s properties.
    pub fn get_projected(
        &self,
        partition: Partition,
        locator: Locator<'_>,
        filter: ArchiveFilter,
        projection: &Projection<'_>,
    ) -> Result<Record, CrmError> {
        let not_found = || CrmError::NotFound {
            id: locator.value.to_owned(),
        };
        let id = self.resolve(partition, locator)?.ok_or_else(not_found)?;
        let read = projection.with(crate::crm::merge::MERGED_INTO);
        let found = self
            .store
            .get_records_projected(partition, &[id], &read)?
            .into_iter()
            .next();
        let found = match follow_merge(found, filter) {
            Read::Found(found) => found,
            Read::MergedInto(target) => self
                .store
                .get_records_projected(partition, &[target], projection)?
                .pop(),
        };
        found
            .filter(|call| filter.admits(call))
            .ok_or_else(not_found)
    }

    /// [`RecordService::get`] of a plain id, with the schema to show it by, when the store
    /// has awaited reads and the partition's schema is known without asking the store:
    /// then nothing of it waits on a thread. `None` otherwise: read on the blocking pool.
    pub fn awaited_get<'a>(
        &'a self,
        partition: Partition,
        id: &'a str,
        filter: ArchiveFilter,
    ) -> Option<impl Future<Output = Result<(Record, Arc<PropertyCatalogue>), CrmError>> + 'a> {
        let reads = self.store.async_reads()?;
        let schema = self.schemas.cached_properties(partition)?;
        Some(async move {
            let not_found = || CrmError::NotFound { id: id.to_owned() };
            let id: RecordId = id.parse().map_err(|_| not_found())?;
            let found = reads.get_records(partition, &[id]).await?.pop();
            let found = match follow_merge(found, filter) {
                Read::Found(found) => found,
                Read::MergedInto(target) => reads.get_records(partition, &[target]).await?.pop(),
            };
            let record = found
                .filter(|call| filter.admits(call))
                .ok_or_else(not_found)?;
            Ok((record, schema))
        })
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
        self.list_projected(partition, filter, after, limit, &Projection::All)
    }

    /// [`RecordService::list`] of records that will show only the `projection`'s
    /// properties.
    pub fn list_projected(
        &self,
        partition: Partition,
        filter: ArchiveFilter,
        after: RecordId,
        limit: usize,
        projection: &Projection<'_>,
    ) -> Result<RecordPage, CrmError> {
        let mut calls = self.store.list_records_projected(
            partition,
            filter == ArchiveFilter::Archived,
            after,
            limit + 1,
            projection,
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
        self.search_projected(partition, request, &Projection::All)
    }

    /// [`RecordService::search`] for a page that will show only the `projection`'s
    /// properties.
    pub fn search_projected(
        &self,
        partition: Partition,
        request: SearchRequest,
        projection: &Projection<'_>,
    ) -> Result<SearchHits, CrmError> {
        let schema = self.schema(partition)?;
        let mut plan = SearchPlan::build(&schema, request, &self.search_limits)?;
        plan.query_properties = partition.object_type.query_properties;
        resolve_association_filters(self.store.as_ref(), partition, &mut plan)?;
        if self.search_limits.index_lag_ms > 0 {
            let lag = i64::try_from(self.search_limits.index_lag_ms).unwrap_or(i64::MAX);
            let cutoff = crate::crm::time::now_millis().saturating_sub(lag);
            return Ok(crate::crm::search_lag::search_as_of(
                self.store.as_ref(),
                &schema,
                partition,
                &plan,
                cutoff,
            )?);
        }
        // The rehearsed lag above merges and sorts whole records: it reads all of them.
        Ok(self.store.search_projected(partition, &plan, projection)?)
    }

    /// [`RecordService::search_projected`] with the schema to show the page by, awaited,
    /// when the store has awaited reads and the partition's schema is known without asking
    /// the store (`None` otherwise: search on the blocking pool). The future yields `None`
    /// when the search needs the store for more than its one statement: association
    /// filters, a rehearsed index lag, or a page that reaches the matches without the sort
    /// value.
    pub fn awaited_search<'a>(
        &'a self,
        partition: Partition,
        request: SearchRequest,
        projection: &'a Projection<'a>,
    ) -> Option<impl Future<Output = Result<Option<AwaitedHits>, CrmError>> + 'a> {
        let reads = self.store.async_reads()?;
        let schema = self.schemas.cached_properties(partition)?;
        if self.search_limits.index_lag_ms > 0 {
            return None;
        }
        Some(async move {
            let mut plan = SearchPlan::build(&schema, request, &self.search_limits)?;
            plan.query_properties = partition.object_type.query_properties;
            let by_association = plan
                .groups
                .iter()
                .flatten()
                .any(|filter| matches!(filter.target, FilterTarget::Association(_)));
            if by_association {
                return Ok(None);
            }
            let hits = reads.search(partition, &plan, projection).await?;
            Ok(hits.map(|hits| (hits, schema)))
        })
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
}
