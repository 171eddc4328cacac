//! The second pass of an import: writes what [`super::check_import`] accepted, reading the
//! input again, so memory stays bounded whatever its size.
//!
//! Definitions go first (the reset, if asked, then groups, properties and pipelines), then
//! records in chunks of [`CHUNK`] per type, each chunk one transaction. Associations the
//! input gives from the side that does not keep them are added last, once every record is
//! in: restoring a record replaces what it keeps, so they must come after their keeper.

use std::collections::BTreeMap;
use std::io::BufRead;

use super::check::ImportPlan;
use super::decode::decode_record;
use super::format::{numbered_lines, parse_record, Line};
use super::{LineProblem, TransferError, TransferSummary, CHUNK};
use crate::crm::associations::Association;
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::ports::{RestoredRecord, Store};

/// Writes what the plan accepted. `progress` hears the running count of records after each
/// chunk.
pub fn apply_import(
    store: &dyn Store,
    plan: &ImportPlan,
    input: impl BufRead,
    progress: &mut dyn FnMut(usize),
) -> Result<TransferSummary, TransferError> {
    let portal = plan.portal;
    if plan.reset {
        store.reset_portal(portal)?;
    }
    let definitions = &plan.definitions;
    for (_, object_type, group) in &definitions.groups {
        store.save_group(Partition::new(portal, *object_type), group)?;
    }
    for (_, object_type, property) in &definitions.properties {
        store.save_property(Partition::new(portal, *object_type), property)?;
    }
    for (_, object_type, pipeline) in &definitions.pipelines {
        store.save_pipeline(Partition::new(portal, *object_type), pipeline)?;
    }
    let mut writer = Writer {
        store,
        plan,
        pending: BTreeMap::new(),
        written: 0,
    };
    let mut foreign: BTreeMap<ObjectType, Vec<Association>> = BTreeMap::new();
    numbered_lines(input, |line, text| {
        let changed = |message: String| TransferError::Invalid {
            problems: vec![LineProblem {
                line,
                message: format!("{message} (the input changed after it was checked)"),
            }],
            total: 1,
        };
        let record = text
            .map_err(str::to_owned)
            .and_then(parse_record)
            .map_err(changed)?;
        let Line::Object(object_type, object) = record else {
            return Ok(());
        };
        let rules = plan
            .schemas
            .get(&object_type)
            .ok_or_else(|| changed(format!("{} were not checked", object_type.plural)))?;
        let decoded =
            decode_record(object_type, object, rules).map_err(|e| changed(e.join("; ")))?;
        for (owner, association) in decoded.foreign {
            foreign.entry(owner).or_default().push(association);
        }
        writer.push(object_type, decoded.restored, progress)
    })?;
    writer.flush_all(progress)?;
    for (owner, associations) in foreign {
        for chunk in associations.chunks(CHUNK) {
            store
                .add_associations(Partition::new(portal, owner), chunk)
                .map_err(|source| TransferError::Store {
                    written: writer.written,
                    source,
                })?;
        }
    }
    Ok(plan.summary())
}

/// Records waiting to be written, per type.
struct Writer<'a> {
    store: &'a dyn Store,
    plan: &'a ImportPlan,
    pending: BTreeMap<ObjectType, Vec<RestoredRecord>>,
    written: usize,
}

impl Writer<'_> {
    fn push(
        &mut self,
        object_type: ObjectType,
        record: RestoredRecord,
        progress: &mut dyn FnMut(usize),
    ) -> Result<(), TransferError> {
        let pending = self.pending.entry(object_type).or_default();
        pending.push(record);
        if pending.len() >= CHUNK {
            self.flush(object_type)?;
            progress(self.written);
        }
        Ok(())
    }

    fn flush(&mut self, object_type: ObjectType) -> Result<(), TransferError> {
        let Some(records) = self.pending.get_mut(&object_type) else {
            return Ok(());
        };
        if records.is_empty() {
            return Ok(());
        }
        let Some(rules) = self.plan.schemas.get(&object_type) else {
            return Ok(());
        };
        self.store
            .restore_records(
                Partition::new(self.plan.portal, object_type),
                &rules.schema,
                records,
            )
            .map_err(|source| TransferError::Store {
                written: self.written,
                source,
            })?;
        self.written += records.len();
        records.clear();
        Ok(())
    }

    fn flush_all(&mut self, progress: &mut dyn FnMut(usize)) -> Result<(), TransferError> {
        let types: Vec<ObjectType> = self.pending.keys().copied().collect();
        for object_type in types {
            self.flush(object_type)?;
        }
        progress(self.written);
        Ok(())
    }
}
