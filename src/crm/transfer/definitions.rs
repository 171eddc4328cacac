//! The definitions an import's records are checked against, per object type: the type's
//! built-in properties and groups, the portal's own ones that stay, and the ones the input
//! brings (which replace the portal's of the same name), with the portal's pipelines.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::check::Problems;
use super::format::{optional_instant, GroupLine, PropertyLine};
use crate::crm::error::StoreError;
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::pipelines::{Pipeline, PortalPipelines};
use crate::crm::ports::Store;
use crate::crm::properties::{
    ModificationMetadata, PropertyCatalogue, PropertyDefinition, PropertyType,
};
use crate::crm::record::PortalId;
use crate::crm::schema::{
    bool_options, check_definition, check_name, parse_type, PropertyGroup, PropertyRecord,
    MAX_UNIQUE_PROPERTIES,
};
use crate::crm::time::now_millis;

/// What one type's records are checked against and written with.
#[derive(Debug, Clone)]
pub(super) struct TypeSchema {
    /// Every definition a value may belong to (archived custom ones too).
    pub values: PropertyCatalogue,
    /// The live definitions after the import: what the store indexes values and checks
    /// unique ones by.
    pub schema: Arc<PropertyCatalogue>,
    /// The portal's pipelines of the type after the import (none for types without).
    pub pipelines: PortalPipelines,
}

impl TypeSchema {
    /// The type's built-in properties with the portal's own `custom` ones.
    pub fn new(
        object_type: ObjectType,
        custom: &[PropertyRecord],
        pipelines: PortalPipelines,
    ) -> Self {
        let builtin = object_type.catalogue();
        let values = PropertyCatalogue::from_definitions(
            builtin
                .iter()
                .map(|d| d.as_ref().clone())
                .chain(custom.iter().map(|r| r.definition.clone())),
        );
        Self {
            values,
            schema: Arc::new(live_schema(builtin, custom)),
            pipelines,
        }
    }

    /// The type's built-in properties alone.
    #[cfg(test)]
    pub fn builtin(object_type: ObjectType, pipelines: PortalPipelines) -> Self {
        Self::new(object_type, &[], pipelines)
    }
}

/// The built-in properties with the live custom ones: what unique values are indexed by.
pub(super) fn live_schema(
    builtin: &PropertyCatalogue,
    custom: &[PropertyRecord],
) -> PropertyCatalogue {
    PropertyCatalogue::from_definitions(
        builtin.iter().map(|d| d.as_ref().clone()).chain(
            custom
                .iter()
                .filter(|r| !r.is_archived())
                .map(|r| r.definition.clone()),
        ),
    )
}

/// A portal's own definitions of one type, archived ones included.
#[derive(Debug, Default, Clone)]
pub(super) struct OwnDefinitions {
    pub groups: Vec<PropertyGroup>,
    pub properties: Vec<PropertyRecord>,
    pub pipelines: Vec<Pipeline>,
}

/// The portal's own definitions of every type that stay through the import (none when the
/// portal is reset first).
pub(super) fn current_definitions(
    store: &dyn Store,
    portal: PortalId,
    reset: bool,
) -> Result<BTreeMap<ObjectType, OwnDefinitions>, StoreError> {
    let mut all = BTreeMap::new();
    for object_type in ObjectType::all() {
        let partition = Partition::new(portal, object_type);
        let own = if reset {
            OwnDefinitions::default()
        } else {
            OwnDefinitions {
                groups: store.custom_groups(partition)?,
                properties: store.custom_properties(partition)?,
                pipelines: if object_type.pipeline.is_some() {
                    store.custom_pipelines(partition)?
                } else {
                    Vec::new()
                },
            }
        };
        all.insert(object_type, own);
    }
    Ok(all)
}

/// What an input defines, each with its line.
#[derive(Debug, Default)]
pub(super) struct LoadedDefinitions {
    pub groups: Vec<(usize, ObjectType, PropertyGroup)>,
    pub properties: Vec<(usize, ObjectType, PropertyRecord)>,
    pub pipelines: Vec<(usize, ObjectType, Pipeline)>,
}

impl LoadedDefinitions {
    fn properties_of(&self, object_type: ObjectType) -> impl Iterator<Item = &PropertyRecord> {
        self.properties
            .iter()
            .filter(move |(_, t, _)| *t == object_type)
            .map(|(_, _, p)| p)
    }

    /// The portal's definitions of `object_type` after the import: its own, replaced by the
    /// input's of the same name or id.
    pub fn merged(&self, object_type: ObjectType, own: &OwnDefinitions) -> OwnDefinitions {
        let mut groups: BTreeMap<String, PropertyGroup> = own
            .groups
            .iter()
            .map(|g| (g.name.clone(), g.clone()))
            .collect();
        for (_, t, group) in &self.groups {
            if *t == object_type {
                groups.insert(group.name.clone(), group.clone());
            }
        }
        let mut properties: BTreeMap<String, PropertyRecord> = own
            .properties
            .iter()
            .map(|r| (r.definition.name.clone(), r.clone()))
            .collect();
        for record in self.properties_of(object_type) {
            properties.insert(record.definition.name.clone(), record.clone());
        }
        let mut pipelines: BTreeMap<String, Pipeline> = own
            .pipelines
            .iter()
            .map(|p| (p.id.clone(), p.clone()))
            .collect();
        for (_, t, pipeline) in &self.pipelines {
            if *t == object_type {
                pipelines.insert(pipeline.id.clone(), pipeline.clone());
            }
        }
        OwnDefinitions {
            groups: groups.into_values().collect(),
            properties: properties.into_values().collect(),
            pipelines: pipelines.into_values().collect(),
        }
    }

    /// The schema each type's records are checked against after the import.
    pub fn schemas(
        &self,
        current: &BTreeMap<ObjectType, OwnDefinitions>,
    ) -> BTreeMap<ObjectType, TypeSchema> {
        ObjectType::all()
            .map(|t| {
                let merged = self.merged(t, current.get(&t).unwrap_or(&OwnDefinitions::default()));
                let pipelines = if t.pipeline.is_some() {
                    PortalPipelines::new(t, merged.pipelines)
                } else {
                    PortalPipelines::default()
                };
                (t, TypeSchema::new(t, &merged.properties, pipelines))
            })
            .collect()
    }

    /// Properties must sit in groups that exist, and each type stays within the cap of
    /// unique-value properties.
    pub fn check(&self, current: &BTreeMap<ObjectType, OwnDefinitions>, problems: &mut Problems) {
        for object_type in ObjectType::all() {
            let own = current.get(&object_type).cloned().unwrap_or_default();
            let merged = self.merged(object_type, &own);
            let mut groups = object_type.groups().to_vec();
            groups.extend(merged.groups.iter().cloned());
            for (line, _, record) in self.properties.iter().filter(|(_, t, _)| *t == object_type) {
                // An archived property may sit in a group archived with it.
                let visible: Vec<PropertyGroup> = groups
                    .iter()
                    .map(|g| PropertyGroup {
                        archived: g.archived && !record.is_archived(),
                        ..g.clone()
                    })
                    .collect();
                if let Err(error) = check_definition(&record.definition, &visible) {
                    problems.add(
                        *line,
                        format!("property \"{}\": {error}", record.definition.name),
                    );
                }
            }
            let unique = merged
                .properties
                .iter()
                .filter(|r| !r.is_archived() && r.definition.has_unique_value)
                .count();
            if unique > MAX_UNIQUE_PROPERTIES {
                let line = self
                    .properties
                    .iter()
                    .rev()
                    .find(|(_, t, _)| *t == object_type)
                    .map_or(0, |(line, _, _)| *line);
                problems.add(
                    line,
                    format!(
                        "{} can have at most {MAX_UNIQUE_PROPERTIES} unique value properties; this import would make {unique}",
                        object_type.plural
                    ),
                );
            }
        }
    }
}

/// A custom property of `object_type` from its line.
pub(super) fn property_record(
    object_type: ObjectType,
    line: PropertyLine,
) -> Result<PropertyRecord, String> {
    check_name("property", &line.name).map_err(|e| e.to_string())?;
    if object_type.catalogue().contains(&line.name) {
        return Err(format!(
            "property \"{}\" is built into {}; only custom properties can be loaded",
            line.name, object_type.plural
        ));
    }
    let property_type = parse_type(&line.property_type).map_err(|e| e.to_string())?;
    let created_at = optional_instant(&line.created_at, "createdAt")?;
    let updated_at = optional_instant(&line.updated_at, "updatedAt")?;
    let archived_at = optional_instant(&line.archived_at, "archivedAt")?;
    let options = match (property_type, line.options) {
        (PropertyType::Bool, None) => bool_options(),
        (_, options) => options.unwrap_or_default(),
    };
    let created_at = created_at.unwrap_or_else(now_millis);
    Ok(PropertyRecord {
        definition: PropertyDefinition {
            name: line.name,
            label: line.label,
            property_type,
            field_type: line.field_type,
            group_name: line.group_name,
            description: line.description,
            options,
            display_order: line.display_order,
            calculated: false,
            external_options: false,
            has_unique_value: line.has_unique_value,
            hidden: line.hidden,
            hubspot_defined: false,
            form_field: line.form_field,
            data_sensitivity: Some("non_sensitive".to_owned()),
            referenced_object_type: None,
            modification_metadata: ModificationMetadata {
                archivable: true,
                read_only_definition: false,
                read_only_value: false,
                read_only_options: Some(false),
            },
        },
        created_at: Some(created_at),
        updated_at: Some(updated_at.unwrap_or(created_at)),
        archived_at,
    })
}

/// A custom property group of `object_type` from its line.
pub(super) fn group_record(
    object_type: ObjectType,
    line: GroupLine,
) -> Result<PropertyGroup, String> {
    check_name("property group", &line.name).map_err(|e| e.to_string())?;
    if line.label.trim().is_empty() {
        return Err("a property group needs a non-empty label".to_owned());
    }
    if object_type.groups().iter().any(|g| g.name == line.name) {
        return Err(format!(
            "property group \"{}\" is built into {}",
            line.name, object_type.plural
        ));
    }
    Ok(PropertyGroup {
        name: line.name,
        label: line.label,
        display_order: line.display_order,
        archived: line.archived,
    })
}
