//! What changed, as webhooks report it: the changes a committed write made to the records
//! of a partition (one portal's records of one type), and a store wrapper that reports them.
//!
//! The wrapper sits between the rules and the engine, so every write path (single, batch,
//! upsert, archive, GDPR delete, associations) is covered without the rules knowing about
//! webhooks, and a change is reported only once the engine has committed it: a write that
//! fails or is rolled back reports nothing. Import and restore (`restore_records`) and the
//! admin reset report nothing either: they load known data, they are not user activity.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::associations::{Association, AssociationPair};
use super::error::StoreError;
use super::history::{HistoryEntry, PropertyChange};
use super::objects::ObjectType;
use super::objects::Partition;
use super::pipelines::Pipeline;
use super::ports::{
    AdminStore, AssociationStore, AsyncReads, GroupOutcome, NewRecord, RecordMutation, RecordStore,
    RestoredRecord, Scheduling, SchemaStore, ShardHealth, Store,
};
use super::properties::PropertyCatalogue;
use super::record::{PortalId, Projection, Record, RecordId, WriteSource};
use super::schema::{PropertyGroup, PropertyRecord};
use super::search::{SearchHits, SearchPlan};
use super::staging::{self, Staging};
use super::time::{now_millis, EpochMillis};

/// One committed change of a record of the partition it is published for.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Created {
        record_id: RecordId,
        at: EpochMillis,
        source: WriteSource,
    },
    /// A property got a new value (`None`: it was cleared).
    PropertyChanged {
        record_id: RecordId,
        at: EpochMillis,
        name: String,
        value: Option<String>,
        source: WriteSource,
    },
    /// The record left the live records (archived, or deleted for good while live).
    Deleted {
        record_id: RecordId,
        at: EpochMillis,
    },
    /// An association added or removed, as read from the partition's records: `from_id`
    /// is one of them and `type_id` the type read from it. Each change is published for
    /// both ends, as HubSpot does (its "Webhook AssociationChanges" bugfix: same-type
    /// pairs too).
    AssociationChanged {
        at: EpochMillis,
        association: Association,
        removed: bool,
    },
}

/// Kinds of change, so a sink can say which it wants before any work is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Creation,
    PropertyChange,
    Deletion,
    AssociationChange,
}

/// Where committed changes go (the webhook deliverer). Must not block: it is called on the
/// request's path, right after the commit.
pub trait ChangeSink: Send + Sync {
    /// Whether any change of this kind in the portal would be used; when not, the wrapper
    /// skips the reads it needs to describe it.
    fn wants(&self, partition: Partition, kind: ChangeKind) -> bool;
    fn publish(&self, partition: Partition, changes: Vec<Change>);
}

/// A [`Store`] that reports the changes of committed writes to a [`ChangeSink`].
pub struct ReportingStore {
    inner: Arc<dyn Store>,
    sink: Arc<dyn ChangeSink>,
    /// Where the writes of a staged view are staged (see [`Scheduling::staged`]): their
    /// changes are reported once the group commits, not when the write returns.
    staging: Option<Arc<Staging>>,
}

impl ReportingStore {
    pub fn new(inner: Arc<dyn Store>, sink: Arc<dyn ChangeSink>) -> Self {
        Self {
            inner,
            sink,
            staging: None,
        }
    }

    fn publish(&self, partition: Partition, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        // A staged write is not committed yet: report it once it is.
        let sink = Arc::clone(&self.sink);
        staging::after_commit(
            self.staging.as_deref(),
            Box::new(move || sink.publish(partition, changes)),
        );
    }

    /// Whether any type of the portal wants association changes: a row kept by one type
    /// is reported at both ends.
    fn wants_associations(&self, partition: Partition) -> bool {
        ObjectType::all().any(|t| {
            self.sink.wants(
                Partition::new(partition.portal, t),
                ChangeKind::AssociationChange,
            )
        })
    }

    /// Publishes association changes of rows kept by the partition's records, each from
    /// both ends: as kept, and as read from the other record.
    fn publish_associations(&self, partition: Partition, changes: Vec<Change>) {
        let mut by_end: HashMap<ObjectType, Vec<Change>> = HashMap::new();
        for change in changes {
            let Change::AssociationChanged {
                at,
                association,
                removed,
            } = &change
            else {
                continue;
            };
            if let Some(other_end) = read_from_other_end(partition.object_type, association) {
                by_end.entry(other_end.to_type_of_owner).or_default().push(
                    Change::AssociationChanged {
                        at: *at,
                        association: other_end.association,
                        removed: *removed,
                    },
                );
            }
            by_end
                .entry(partition.object_type)
                .or_default()
                .push(change);
        }
        for (object_type, changes) in by_end {
            self.publish(Partition::new(partition.portal, object_type), changes);
        }
    }

    fn wants_any(&self, partition: Partition) -> bool {
        [
            ChangeKind::Creation,
            ChangeKind::PropertyChange,
            ChangeKind::Deletion,
            ChangeKind::AssociationChange,
        ]
        .into_iter()
        .any(|kind| self.sink.wants(partition, kind))
    }

    /// The associations between one call and one record, as they are now.
    fn pair(
        &self,
        partition: Partition,
        call_id: RecordId,
        kind: ObjectType,
        to_id: u64,
    ) -> Result<BTreeSet<Association>, StoreError> {
        Ok(self
            .inner
            .associations(partition, &[call_id])?
            .into_iter()
            .filter(|a| a.to_type == kind && a.to_id == to_id)
            .collect())
    }

    /// Reports `deleted` as deletions when they were live before the write.
    fn report_deletions(&self, partition: Partition, live_before: Vec<RecordId>, at: EpochMillis) {
        let changes = live_before
            .into_iter()
            .map(|record_id| Change::Deleted { record_id, at })
            .collect();
        self.publish(partition, changes);
    }

    fn live_calls(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<Vec<RecordId>, StoreError> {
        Ok(self
            .inner
            .get_records(partition, ids)?
            .into_iter()
            .filter(|call| !call.is_archived())
            .map(|call| call.id)
            .collect())
    }
}

fn property_changes(
    record_id: RecordId,
    changes: &[PropertyChange],
) -> impl Iterator<Item = Change> + '_ {
    changes.iter().map(move |change| Change::PropertyChanged {
        record_id,
        at: change.entry.timestamp,
        name: change.name.clone(),
        value: change.value.clone(),
        source: change.entry.source.clone(),
    })
}

/// Who created a call: the source hubcalls records in `hs_object_source` and
/// `hs_object_source_id` (its identity properties are written by "CALCULATED").
fn creation_source(call: &Record) -> WriteSource {
    WriteSource {
        source_type: call
            .property("hs_object_source")
            .unwrap_or("INTEGRATION")
            .to_owned(),
        source_id: call.property("hs_object_source_id").map(str::to_owned),
    }
}

/// An association kept by a record of `owner`, as read from its other record, and that
/// record's type.
struct OtherEnd {
    to_type_of_owner: ObjectType,
    association: Association,
}

fn read_from_other_end(owner: ObjectType, kept: &Association) -> Option<OtherEnd> {
    if kept.from_id == kept.to_id && kept.to_type == owner {
        return None;
    }
    let other = kept.to_type;
    let type_id = AssociationPair::new(other, owner).spec_of(kept).type_id;
    let type_id = if other == owner {
        kept.mirrored(owner).map_or(type_id, |m| m.type_id)
    } else {
        type_id
    };
    Some(OtherEnd {
        to_type_of_owner: other,
        association: Association {
            from_id: kept.to_id,
            to_type: owner,
            to_id: kept.from_id,
            type_id,
            category: kept.category,
        },
    })
}

fn association_changes(
    associations: impl IntoIterator<Item = Association>,
    removed: bool,
    at: EpochMillis,
) -> impl Iterator<Item = Change> {
    associations
        .into_iter()
        .map(move |association| Change::AssociationChanged {
            at,
            association,
            removed,
        })
}

impl RecordStore for ReportingStore {
    fn allocate_ids(
        &self,
        partition: Partition,
        count: usize,
    ) -> Result<Vec<RecordId>, StoreError> {
        self.inner.allocate_ids(partition, count)
    }

    fn write_records(
        &self,
        partition: Partition,
        schema: &PropertyCatalogue,
        inserts: &[NewRecord],
        update_ids: &[RecordId],
        apply: &mut RecordMutation<'_>,
    ) -> Result<Vec<Option<Record>>, StoreError> {
        if !self.wants_any(partition) && !self.wants_associations(partition) {
            return self
                .inner
                .write_records(partition, schema, inserts, update_ids, apply);
        }
        // The engine may run the mutation again if it retries its transaction: the last
        // run of each position is what was committed.
        let mut applied: HashMap<usize, Vec<PropertyChange>> = HashMap::new();
        let updated =
            self.inner
                .write_records(partition, schema, inserts, update_ids, &mut |at, call| {
                    let changes = apply(at, call);
                    applied.insert(at, changes.clone());
                    changes
                })?;
        let mut changes = Vec::new();
        let mut associated = Vec::new();
        for new in inserts {
            changes.push(Change::Created {
                record_id: new.call.id,
                at: new.call.created_at,
                source: creation_source(&new.call),
            });
            changes.extend(property_changes(new.call.id, &new.changes));
            associated.extend(association_changes(
                new.associations.iter().cloned(),
                false,
                new.call.created_at,
            ));
        }
        for (at, state) in updated.iter().enumerate() {
            if let (Some(call), Some(done)) = (state, applied.get(&at)) {
                changes.extend(property_changes(call.id, done));
            }
        }
        self.publish(partition, changes);
        self.publish_associations(partition, associated);
        Ok(updated)
    }

    fn get_records(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<Vec<Record>, StoreError> {
        self.inner.get_records(partition, ids)
    }

    fn list_records(
        &self,
        partition: Partition,
        archived: bool,
        from_id: RecordId,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        self.inner.list_records(partition, archived, from_id, limit)
    }

    fn get_records_projected(
        &self,
        partition: Partition,
        ids: &[RecordId],
        projection: &Projection<'_>,
    ) -> Result<Vec<Record>, StoreError> {
        self.inner.get_records_projected(partition, ids, projection)
    }

    fn list_records_projected(
        &self,
        partition: Partition,
        archived: bool,
        from_id: RecordId,
        limit: usize,
        projection: &Projection<'_>,
    ) -> Result<Vec<Record>, StoreError> {
        self.inner
            .list_records_projected(partition, archived, from_id, limit, projection)
    }

    fn archive_records(
        &self,
        partition: Partition,
        ids: &[RecordId],
        at: EpochMillis,
    ) -> Result<(), StoreError> {
        if !self.sink.wants(partition, ChangeKind::Deletion) {
            return self.inner.archive_records(partition, ids, at);
        }
        let live = self.live_calls(partition, ids)?;
        self.inner.archive_records(partition, ids, at)?;
        self.report_deletions(partition, live, at);
        Ok(())
    }

    fn purge_records(&self, partition: Partition, ids: &[RecordId]) -> Result<(), StoreError> {
        if !self.sink.wants(partition, ChangeKind::Deletion) {
            return self.inner.purge_records(partition, ids);
        }
        // An archived call was reported when it was archived.
        let live = self.live_calls(partition, ids)?;
        self.inner.purge_records(partition, ids)?;
        self.report_deletions(partition, live, now_millis());
        Ok(())
    }

    fn history(
        &self,
        partition: Partition,
        ids: &[RecordId],
        names: &[String],
    ) -> Result<Vec<(RecordId, String, HistoryEntry)>, StoreError> {
        self.inner.history(partition, ids, names)
    }

    fn find_by_value(
        &self,
        partition: Partition,
        name: &str,
        value: &str,
    ) -> Result<Vec<RecordId>, StoreError> {
        self.inner.find_by_value(partition, name, value)
    }

    fn restore_records(
        &self,
        partition: Partition,
        schema: &PropertyCatalogue,
        calls: &[RestoredRecord],
    ) -> Result<(), StoreError> {
        self.inner.restore_records(partition, schema, calls)
    }

    fn search(&self, partition: Partition, plan: &SearchPlan) -> Result<SearchHits, StoreError> {
        self.inner.search(partition, plan)
    }

    fn search_projected(
        &self,
        partition: Partition,
        plan: &SearchPlan,
        projection: &Projection<'_>,
    ) -> Result<SearchHits, StoreError> {
        self.inner.search_projected(partition, plan, projection)
    }
}

impl AssociationStore for ReportingStore {
    fn associations(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<Vec<Association>, StoreError> {
        self.inner.associations(partition, ids)
    }

    fn replace_associations(
        &self,
        partition: Partition,
        call_id: RecordId,
        kind: ObjectType,
        to_id: u64,
        associations: &[Association],
    ) -> Result<(), StoreError> {
        if !self.wants_associations(partition) {
            return self
                .inner
                .replace_associations(partition, call_id, kind, to_id, associations);
        }
        let before = self.pair(partition, call_id, kind, to_id)?;
        self.inner
            .replace_associations(partition, call_id, kind, to_id, associations)?;
        let after: BTreeSet<Association> = associations.iter().cloned().collect();
        let at = now_millis();
        let changes = association_changes(before.difference(&after).cloned(), true, at)
            .chain(association_changes(
                after.difference(&before).cloned(),
                false,
                at,
            ))
            .collect();
        self.publish_associations(partition, changes);
        Ok(())
    }

    fn add_associations(
        &self,
        partition: Partition,
        associations: &[Association],
    ) -> Result<(), StoreError> {
        if !self.wants_associations(partition) {
            return self.inner.add_associations(partition, associations);
        }
        let mut call_ids: Vec<RecordId> = associations.iter().map(|a| a.from_id).collect();
        call_ids.sort_unstable();
        call_ids.dedup();
        let before: BTreeSet<Association> = self
            .inner
            .associations(partition, &call_ids)?
            .into_iter()
            .collect();
        self.inner.add_associations(partition, associations)?;
        let added: BTreeSet<Association> = associations
            .iter()
            .filter(|a| !before.contains(a))
            .cloned()
            .collect();
        self.publish_associations(
            partition,
            association_changes(added, false, now_millis()).collect(),
        );
        Ok(())
    }

    fn remove_associations(
        &self,
        partition: Partition,
        call_id: RecordId,
        kind: ObjectType,
        to_id: u64,
        type_ids: Option<&[u32]>,
    ) -> Result<(), StoreError> {
        if !self.wants_associations(partition) {
            return self
                .inner
                .remove_associations(partition, call_id, kind, to_id, type_ids);
        }
        let before = self.pair(partition, call_id, kind, to_id)?;
        self.inner
            .remove_associations(partition, call_id, kind, to_id, type_ids)?;
        let removed = before
            .into_iter()
            .filter(|a| type_ids.is_none_or(|ids| ids.contains(&a.type_id)));
        self.publish_associations(
            partition,
            association_changes(removed, true, now_millis()).collect(),
        );
        Ok(())
    }

    fn associations_to(
        &self,
        partition: Partition,
        kind: ObjectType,
        to_ids: &[u64],
    ) -> Result<Vec<Association>, StoreError> {
        self.inner.associations_to(partition, kind, to_ids)
    }
}

impl SchemaStore for ReportingStore {
    fn purge_property_values(&self, partition: Partition, name: &str) -> Result<(), StoreError> {
        self.inner.purge_property_values(partition, name)
    }

    fn custom_properties(&self, partition: Partition) -> Result<Vec<PropertyRecord>, StoreError> {
        self.inner.custom_properties(partition)
    }

    fn save_property(
        &self,
        partition: Partition,
        property: &PropertyRecord,
    ) -> Result<(), StoreError> {
        self.inner.save_property(partition, property)
    }

    fn custom_groups(&self, partition: Partition) -> Result<Vec<PropertyGroup>, StoreError> {
        self.inner.custom_groups(partition)
    }

    fn save_group(&self, partition: Partition, group: &PropertyGroup) -> Result<(), StoreError> {
        self.inner.save_group(partition, group)
    }

    fn custom_pipelines(&self, partition: Partition) -> Result<Vec<Pipeline>, StoreError> {
        self.inner.custom_pipelines(partition)
    }

    fn save_pipeline(&self, partition: Partition, pipeline: &Pipeline) -> Result<(), StoreError> {
        self.inner.save_pipeline(partition, pipeline)
    }

    fn schema_version(&self, partition: Partition) -> Result<u64, StoreError> {
        self.inner.schema_version(partition)
    }
}

impl AdminStore for ReportingStore {
    fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping()
    }

    fn reset_portal(&self, portal: PortalId) -> Result<(), StoreError> {
        self.inner.reset_portal(portal)
    }

    fn portals(&self) -> Result<Vec<PortalId>, StoreError> {
        self.inner.portals()
    }

    fn shard_health(&self) -> Vec<ShardHealth> {
        self.inner.shard_health()
    }
}

impl Scheduling for ReportingStore {
    fn reads_by_id_are_local(&self) -> bool {
        self.inner.reads_by_id_are_local()
    }

    /// Reads report nothing: the inner store's own.
    fn async_reads(&self) -> Option<&dyn AsyncReads> {
        self.inner.async_reads()
    }

    fn parallel_reads(&self) -> usize {
        self.inner.parallel_reads()
    }

    fn stages_writes(&self) -> bool {
        self.inner.stages_writes()
    }

    fn staged(&self, staging: &Arc<Staging>) -> Option<Arc<dyn Store>> {
        let inner = self.inner.staged(staging)?;
        Some(Arc::new(ReportingStore {
            inner,
            sink: Arc::clone(&self.sink),
            staging: Some(Arc::clone(staging)),
        }))
    }

    fn commit_group(&self, group: u64) {
        self.inner.commit_group(group)
    }

    fn group_outcome(&self, group: u64) -> GroupOutcome<'_> {
        self.inner.group_outcome(group)
    }
}
