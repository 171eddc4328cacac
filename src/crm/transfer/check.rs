//! The first pass of an import: reads the whole input, checks every line against the rules
//! and the store, and writes nothing. What it learns (the definitions to write and what each
//! type's records are checked against) is the plan the second pass ([`super::apply`])
//! writes by, without holding the records.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::sync::Arc;

use super::decode::decode_record;
use super::definitions::{
    current_definitions, group_record, property_record, LoadedDefinitions, OwnDefinitions,
    TypeSchema,
};
use super::format::{numbered_lines, parse_record, HeaderLine, Line};
use super::pipelines::{check_pipeline_sets, pipeline_record};
use super::store_checks::{check_ids_elsewhere, check_owners_exist, check_unique_in_store};
use super::{
    LineProblem, TransferError, TransferSummary, FORMAT_NAME, FORMAT_VERSION, V1_FORMAT_NAME,
};
use crate::crm::objects::ObjectType;
use crate::crm::ports::Store;
use crate::crm::properties::PropertyDefinition;
use crate::crm::record::{PortalId, RecordId};
use crate::crm::unique_values::UniqueKey;

/// Problems listed before the rest are only counted.
const MAX_LISTED_PROBLEMS: usize = 50;
const NO_PORTAL: &str =
    "no portal: give one (--portal, or the fixture's path) or a header with \"portal\"";

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// The portal to load into; the header's portal when `None`.
    pub portal: Option<PortalId>,
    /// Remove everything of the portal first.
    pub reset: bool,
}

/// What the first pass learned: enough to write without holding the records.
pub struct ImportPlan {
    pub portal: PortalId,
    pub reset: bool,
    /// Records of each type in the input.
    pub counts: BTreeMap<ObjectType, usize>,
    pub(super) definitions: LoadedDefinitions,
    pub(super) schemas: BTreeMap<ObjectType, TypeSchema>,
}

impl ImportPlan {
    /// Records in the input, of every type.
    pub fn records(&self) -> usize {
        self.counts.values().sum()
    }

    pub fn summary(&self) -> TransferSummary {
        let mut summary = TransferSummary {
            portal: self.portal,
            groups: self.definitions.groups.len(),
            properties: self.definitions.properties.len(),
            pipelines: self.definitions.pipelines.len(),
            ..TransferSummary::default()
        };
        for (object_type, count) in &self.counts {
            summary.count(*object_type, *count);
        }
        summary
    }
}

/// Collects problems in line order, keeping the first ones.
#[derive(Default)]
pub(super) struct Problems {
    listed: Vec<LineProblem>,
    total: usize,
}

impl Problems {
    pub fn add(&mut self, line: usize, message: impl Into<String>) {
        self.total += 1;
        if self.listed.len() < MAX_LISTED_PROBLEMS {
            self.listed.push(LineProblem {
                line,
                message: message.into(),
            });
        }
    }

    fn into_result(self) -> Result<(), TransferError> {
        if self.total == 0 {
            return Ok(());
        }
        Err(self.into_error())
    }

    fn into_error(mut self) -> TransferError {
        self.listed.sort_by_key(|p| p.line);
        TransferError::Invalid {
            problems: self.listed,
            total: self.total,
        }
    }

    /// Adds a problem that stops the check at once.
    fn refuse(&mut self, line: usize, message: &str) -> TransferError {
        self.add(line, message);
        std::mem::take(self).into_error()
    }
}

/// Where the first pass is in the order of records.
#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Stage {
    Start,
    Groups,
    Properties,
    Pipelines,
    Objects,
}

const ORDER: &str = "records must come in the order header, groups, properties, pipelines, then objects (calls and every other type, in any order)";

/// A live record's value of a unique property, to check against the store.
pub(super) struct UniqueValue {
    pub line: usize,
    pub object_type: ObjectType,
    pub id: RecordId,
    pub name: String,
    pub value: String,
    pub key: UniqueKey,
}

/// What the definitions and the portal's own ones make of each type, once known.
struct Ready {
    current: BTreeMap<ObjectType, OwnDefinitions>,
    schemas: BTreeMap<ObjectType, TypeSchema>,
    /// Each type's unique properties after the import (what the store will enforce).
    unique: BTreeMap<ObjectType, Vec<Arc<PropertyDefinition>>>,
}

/// The state of the first pass.
struct Pass<'a> {
    store: &'a dyn Store,
    options: ImportOptions,
    problems: Problems,
    stage: Stage,
    seen_any: bool,
    portal: Option<PortalId>,
    definitions: LoadedDefinitions,
    ready: Option<Ready>,
    counts: BTreeMap<ObjectType, usize>,
    /// Every record id of the input: its line and type (ids are unique across types).
    ids: HashMap<RecordId, (usize, ObjectType)>,
    /// (type, property, key) -> (line, id) of live records' unique values.
    unique: HashMap<(ObjectType, String, UniqueKey), (usize, RecordId)>,
    unique_values: Vec<UniqueValue>,
    /// Records that must exist since the input gives associations they keep: (line, type, id).
    owners: Vec<(usize, ObjectType, RecordId)>,
}

/// The first pass: checks the whole input and writes nothing.
pub fn check_import(
    store: &dyn Store,
    input: impl BufRead,
    options: ImportOptions,
) -> Result<ImportPlan, TransferError> {
    let mut pass = Pass {
        store,
        options,
        problems: Problems::default(),
        stage: Stage::Start,
        seen_any: false,
        portal: options.portal,
        definitions: LoadedDefinitions::default(),
        ready: None,
        counts: BTreeMap::new(),
        ids: HashMap::new(),
        unique: HashMap::new(),
        unique_values: Vec::new(),
        owners: Vec::new(),
    };
    numbered_lines(input, |line, text| match text {
        Err(reason) => {
            pass.problems.add(line, reason);
            Ok(())
        }
        Ok(text) => match parse_record(text) {
            Ok(record) => pass.record(line, record),
            Err(message) => {
                pass.problems.add(line, message);
                Ok(())
            }
        },
    })?;
    pass.finish()
}

impl Pass<'_> {
    fn record(&mut self, line: usize, record: Line) -> Result<(), TransferError> {
        let stage = match &record {
            Line::Header(_) => Stage::Start,
            Line::Group(..) => Stage::Groups,
            Line::Property(..) => Stage::Properties,
            Line::Pipeline(..) => Stage::Pipelines,
            Line::Object(..) => Stage::Objects,
        };
        if stage == Stage::Start && self.seen_any {
            self.problems
                .add(line, "the header must be the first record");
            return Ok(());
        }
        self.seen_any = true;
        if stage < self.stage {
            self.problems.add(line, ORDER);
            return Ok(());
        }
        self.stage = stage;
        match record {
            Line::Header(header) => self.header(line, header),
            Line::Group(t, group) => match group_record(t, group) {
                Ok(group)
                    if self
                        .definitions
                        .groups
                        .iter()
                        .any(|(_, gt, g)| *gt == t && g.name == group.name) =>
                {
                    self.problems.add(
                        line,
                        format!(
                            "{} property group \"{}\" appears twice",
                            t.singular, group.name
                        ),
                    )
                }
                Ok(group) => self.definitions.groups.push((line, t, group)),
                Err(message) => self.problems.add(line, message),
            },
            Line::Property(t, property) => match property_record(t, property) {
                Ok(record)
                    if self.definitions.properties.iter().any(|(_, pt, p)| {
                        *pt == t && p.definition.name == record.definition.name
                    }) =>
                {
                    self.problems.add(
                        line,
                        format!(
                            "{} property \"{}\" appears twice",
                            t.singular, record.definition.name
                        ),
                    )
                }
                Ok(record) => self.definitions.properties.push((line, t, record)),
                Err(message) => self.problems.add(line, message),
            },
            Line::Pipeline(t, pipeline) => match pipeline_record(t, pipeline) {
                Ok(pipeline)
                    if self
                        .definitions
                        .pipelines
                        .iter()
                        .any(|(_, pt, p)| *pt == t && p.id == pipeline.id) =>
                {
                    self.problems.add(
                        line,
                        format!("{} pipeline {} appears twice", t.singular, pipeline.id),
                    )
                }
                Ok(pipeline) => self.definitions.pipelines.push((line, t, pipeline)),
                Err(message) => self.problems.add(line, message),
            },
            Line::Object(t, object) => {
                *self.counts.entry(t).or_default() += 1;
                if self.ready.is_none() {
                    let Some(portal) = self.portal else {
                        return Err(self.problems.refuse(line, NO_PORTAL));
                    };
                    self.ready = Some(self.prepare(portal)?);
                }
                self.object(line, t, object);
            }
        }
        Ok(())
    }

    fn header(&mut self, line: usize, header: HeaderLine) {
        // Version 1 was named for the one type it carried; either name reads either version.
        if header.format != FORMAT_NAME && header.format != V1_FORMAT_NAME {
            self.problems.add(
                line,
                format!(
                    "format \"{}\" is not {FORMAT_NAME} (or {V1_FORMAT_NAME}, version 1)",
                    header.format
                ),
            );
        }
        if header.version == 0 || header.version > FORMAT_VERSION {
            self.problems.add(
                line,
                format!(
                    "version {} is not supported (this hubcalls reads versions 1 to {FORMAT_VERSION})",
                    header.version
                ),
            );
        }
        self.portal = self.portal.or(header.portal);
    }

    /// Reads the portal's own definitions and builds what records are checked against: the
    /// definitions are complete once the first record arrives.
    fn prepare(&self, portal: PortalId) -> Result<Ready, TransferError> {
        let current = current_definitions(self.store, portal, self.options.reset)?;
        let schemas = self.definitions.schemas(&current);
        let unique = schemas
            .iter()
            .map(|(t, rules)| {
                let defs = rules
                    .schema
                    .iter()
                    .filter(|d| t.is_unique(d))
                    .cloned()
                    .collect();
                (*t, defs)
            })
            .collect();
        Ok(Ready {
            current,
            schemas,
            unique,
        })
    }

    fn object(&mut self, line: usize, t: ObjectType, object: super::format::ObjectLine) {
        let Some(ready) = &self.ready else { return };
        let Some(rules) = ready.schemas.get(&t) else {
            return;
        };
        let decoded = match decode_record(t, object, rules) {
            Ok(decoded) => decoded,
            Err(messages) => {
                for message in messages {
                    self.problems.add(line, message);
                }
                return;
            }
        };
        let record = &decoded.restored.call;
        let id = record.id;
        if let Some((first, first_type)) = self.ids.insert(id, (line, t)) {
            let what = if first_type == t {
                String::new()
            } else {
                format!(
                    " as a {} (ids are unique across types)",
                    first_type.singular
                )
            };
            self.problems.add(
                line,
                format!(
                    "{} id {id} already appears on line {first}{what}",
                    t.singular
                ),
            );
        }
        for (owner, association) in &decoded.foreign {
            self.owners.push((line, *owner, association.from_id));
        }
        if record.is_archived() {
            return;
        }
        for def in ready.unique.get(&t).into_iter().flatten() {
            let Some(value) = record.property(&def.name) else {
                continue;
            };
            let key = UniqueKey::of(def.property_type, value);
            let slot = (t, def.name.clone(), key.clone());
            if let Some((other_line, other)) = self.unique.get(&slot) {
                self.problems.add(
                    line,
                    format!(
                        "{} \"{value}\" is a unique value and is also held by {} {other} (line {other_line})",
                        def.name, t.singular
                    ),
                );
                continue;
            }
            self.unique.insert(slot, (line, id));
            self.unique_values.push(UniqueValue {
                line,
                object_type: t,
                id,
                name: def.name.clone(),
                value: value.to_owned(),
                key,
            });
        }
    }

    /// The checks that need the whole input, then the plan.
    fn finish(mut self) -> Result<ImportPlan, TransferError> {
        let Some(portal) = self.portal else {
            return Err(self.problems.refuse(0, NO_PORTAL));
        };
        let ready = match self.ready.take() {
            Some(ready) => ready,
            None => self.prepare(portal)?,
        };
        self.definitions.check(&ready.current, &mut self.problems);
        check_pipeline_sets(&self.definitions, &ready.current, &mut self.problems);
        let reset = self.options.reset;
        check_ids_elsewhere(self.store, portal, reset, &self.ids, &mut self.problems)?;
        check_owners_exist(
            self.store,
            portal,
            reset,
            &self.ids,
            &self.owners,
            &mut self.problems,
        )?;
        if !reset {
            check_unique_in_store(
                self.store,
                portal,
                &self.ids,
                &self.unique_values,
                &mut self.problems,
            )?;
        }
        self.problems.into_result()?;
        Ok(ImportPlan {
            portal,
            reset,
            counts: self.counts,
            definitions: self.definitions,
            schemas: ready.schemas,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_that_is_not_utf8_is_named() {
        let store = crate::store::SqliteStore::in_memory().unwrap();
        let input: &[u8] =
            b"{\"record\":\"call\",\"id\":1,\"properties\":{\"hs_timestamp\":0}}\n\xff\xfe\n";
        let options = ImportOptions {
            portal: Some(1),
            reset: false,
        };
        match check_import(&store, input, options) {
            Err(TransferError::Invalid { problems, total }) => {
                assert_eq!(total, 1);
                assert_eq!(
                    problems[0].to_string(),
                    "line 2: the line is not valid UTF-8"
                );
            }
            other => panic!("unexpected {:?}", other.map(|p| p.records())),
        }
    }
}
