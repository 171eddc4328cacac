//! A portal's property schema: the built-in call properties plus the portal's own, and the
//! rules of the properties API (names, types, options, unique values, groups).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::error::CrmError;
use super::objects::Partition;
use super::ports::Store;
use super::properties::{ModificationMetadata, PropertyDefinition, PropertyOption, PropertyType};
use super::schema_cache::Schemas;
use super::time::{now_millis, EpochMillis};

/// HubSpot's cap on unique-value properties per object.
pub const MAX_UNIQUE_PROPERTIES: usize = 10;
/// Longest property or group name accepted.
const MAX_NAME_LENGTH: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyGroup {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub display_order: i32,
    #[serde(default)]
    pub archived: bool,
}

/// A property definition with the bookkeeping the properties API shows.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyRecord {
    pub definition: PropertyDefinition,
    /// `None` for built-in properties.
    pub created_at: Option<EpochMillis>,
    pub updated_at: Option<EpochMillis>,
    pub archived_at: Option<EpochMillis>,
}

impl PropertyRecord {
    fn builtin(definition: PropertyDefinition) -> Self {
        Self {
            definition,
            created_at: None,
            updated_at: None,
            archived_at: None,
        }
    }

    pub fn is_archived(&self) -> bool {
        self.archived_at.is_some()
    }
}

/// A new property as a client describes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PropertyDraft {
    pub name: String,
    pub label: String,
    pub property_type: String,
    pub field_type: String,
    pub group_name: String,
    pub description: Option<String>,
    pub options: Option<Vec<PropertyOption>>,
    pub display_order: Option<i32>,
    pub has_unique_value: Option<bool>,
    pub hidden: Option<bool>,
    pub form_field: Option<bool>,
}

/// Changes to a property; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PropertyPatch {
    pub label: Option<String>,
    pub property_type: Option<String>,
    pub field_type: Option<String>,
    pub group_name: Option<String>,
    pub description: Option<String>,
    pub options: Option<Vec<PropertyOption>>,
    pub display_order: Option<i32>,
    pub has_unique_value: Option<bool>,
    pub hidden: Option<bool>,
    pub form_field: Option<bool>,
}

/// Changes to a property group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupPatch {
    pub label: Option<String>,
    pub display_order: Option<i32>,
}

/// Field types HubSpot allows for each property type.
fn field_types_for(property_type: PropertyType) -> &'static [&'static str] {
    match property_type {
        PropertyType::Bool => &["booleancheckbox", "calculation_equation"],
        PropertyType::Enumeration => &[
            "select",
            "radio",
            "checkbox",
            "booleancheckbox",
            "calculation_equation",
        ],
        PropertyType::String => &[
            "text",
            "textarea",
            "file",
            "html",
            "phonenumber",
            "calculation_equation",
        ],
        PropertyType::Number => &["number", "calculation_equation"],
        PropertyType::Date | PropertyType::Datetime => &["date", "calculation_equation"],
        PropertyType::PhoneNumber => &["phonenumber"],
        PropertyType::ObjectCoordinates | PropertyType::Json => &["text"],
    }
}

pub(super) fn parse_type(text: &str) -> Result<PropertyType, CrmError> {
    let parsed: Option<PropertyType> =
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok();
    match parsed {
        // Internal types exist on built-in properties but cannot be created.
        Some(t) if !matches!(t, PropertyType::ObjectCoordinates | PropertyType::Json) => Ok(t),
        _ => Err(CrmError::invalid(format!(
            "Invalid property type \"{text}\": expected one of bool, date, datetime, enumeration, number, phone_number, string"
        ))),
    }
}

pub(super) fn check_name(kind: &str, name: &str) -> Result<(), CrmError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LENGTH
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        return Err(CrmError::invalid(format!(
            "Invalid {kind} name \"{name}\": names must start with a lower-case letter and contain only lower-case letters, digits and underscores (at most {MAX_NAME_LENGTH} characters)"
        )));
    }
    Ok(())
}

fn check_options(property_type: PropertyType, options: &[PropertyOption]) -> Result<(), CrmError> {
    let mut seen = std::collections::HashSet::new();
    for option in options {
        if option.value.is_empty() || option.label.is_empty() {
            return Err(CrmError::invalid(
                "Every option needs a non-empty label and value",
            ));
        }
        if !seen.insert(option.value.as_str()) {
            return Err(CrmError::invalid(format!(
                "Duplicate option value \"{}\"",
                option.value
            )));
        }
    }
    if property_type == PropertyType::Enumeration && options.is_empty() {
        return Err(CrmError::invalid(
            "Enumeration properties need at least one option",
        ));
    }
    Ok(())
}

pub(super) fn bool_options() -> Vec<PropertyOption> {
    [("True", "true", 0), ("False", "false", 1)]
        .into_iter()
        .map(|(label, value, order)| PropertyOption {
            label: label.to_owned(),
            value: value.to_owned(),
            description: String::new(),
            display_order: order,
            hidden: false,
        })
        .collect()
}

/// Validates a complete definition (after create or patch) against the portal's schema.
pub(super) fn check_definition(
    definition: &PropertyDefinition,
    groups: &[PropertyGroup],
) -> Result<(), CrmError> {
    let allowed = field_types_for(definition.property_type);
    if !allowed.contains(&definition.field_type.as_str()) {
        return Err(CrmError::invalid(format!(
            "Invalid fieldType \"{}\" for a property of type {:?}: expected one of {}",
            definition.field_type,
            definition.property_type,
            allowed.join(", ")
        )));
    }
    if definition.label.trim().is_empty() {
        return Err(CrmError::invalid("A property needs a non-empty label"));
    }
    if !groups
        .iter()
        .any(|g| g.name == definition.group_name && !g.archived)
    {
        return Err(CrmError::invalid(format!(
            "Property group \"{}\" does not exist",
            definition.group_name
        )));
    }
    check_options(definition.property_type, &definition.options)
}

/// The properties API: a partition's property definitions and property groups.
pub struct PropertyService {
    store: Arc<dyn Store>,
    schemas: Schemas,
}

impl PropertyService {
    pub fn new(store: Arc<dyn Store>, schemas: Schemas) -> Self {
        Self { store, schemas }
    }

    /// Every property record of the portal: built-in first, then its own. The pipeline and
    /// stage properties list the portal's live pipelines and stages as their options.
    fn property_records(&self, partition: Partition) -> Result<Vec<PropertyRecord>, CrmError> {
        let pipelines = self.schemas.partition(partition)?.pipelines;
        let mut records: Vec<PropertyRecord> = partition
            .object_type
            .catalogue()
            .iter()
            .map(|def| PropertyRecord::builtin(pipelines.decorate(def.as_ref().clone())))
            .collect();
        records.extend(self.store.custom_properties(partition)?);
        Ok(records)
    }

    pub fn properties(
        &self,
        partition: Partition,
        archived: bool,
    ) -> Result<Vec<PropertyRecord>, CrmError> {
        Ok(self
            .property_records(partition)?
            .into_iter()
            .filter(|r| r.is_archived() == archived)
            .collect())
    }

    pub fn property(
        &self,
        partition: Partition,
        name: &str,
        archived: bool,
    ) -> Result<PropertyRecord, CrmError> {
        self.properties(partition, archived)?
            .into_iter()
            .find(|r| r.definition.name == name)
            .ok_or_else(|| CrmError::UnknownResource(format!("Unable to find property {name}")))
    }

    pub fn create_property(
        &self,
        partition: Partition,
        draft: PropertyDraft,
    ) -> Result<PropertyRecord, CrmError> {
        let mut created = self.create_properties(partition, vec![draft])?;
        created
            .pop()
            .ok_or_else(|| CrmError::invalid("No property was created"))
    }

    /// Creates properties; all are checked before any is saved.
    pub fn create_properties(
        &self,
        partition: Partition,
        drafts: Vec<PropertyDraft>,
    ) -> Result<Vec<PropertyRecord>, CrmError> {
        let existing = self.property_records(partition)?;
        let groups = self.property_groups(partition, false)?;
        let mut unique_count = existing
            .iter()
            .filter(|r| !r.is_archived() && r.definition.has_unique_value)
            .count();
        let now = now_millis();
        let mut records = Vec::with_capacity(drafts.len());
        for draft in drafts {
            check_name("property", &draft.name)?;
            if existing
                .iter()
                .chain(records.iter())
                .any(|r| r.definition.name == draft.name && !r.is_archived())
            {
                return Err(CrmError::Conflict {
                    message: format!("Property named '{}' already exists.", draft.name),
                    context: vec![("name".to_owned(), vec![draft.name.clone()])],
                });
            }
            let property_type = parse_type(&draft.property_type)?;
            let has_unique_value = draft.has_unique_value.unwrap_or(false);
            if has_unique_value {
                unique_count += 1;
                if unique_count > MAX_UNIQUE_PROPERTIES {
                    return Err(CrmError::invalid(format!(
                        "Calls can have at most {MAX_UNIQUE_PROPERTIES} unique value properties"
                    )));
                }
            }
            let options = match (property_type, draft.options) {
                (PropertyType::Bool, None) => bool_options(),
                (_, options) => options.unwrap_or_default(),
            };
            let definition = PropertyDefinition {
                name: draft.name,
                label: draft.label,
                property_type,
                field_type: draft.field_type,
                group_name: draft.group_name,
                description: draft.description.unwrap_or_default(),
                options,
                display_order: draft.display_order.unwrap_or(-1),
                calculated: false,
                external_options: false,
                has_unique_value,
                hidden: draft.hidden.unwrap_or(false),
                hubspot_defined: false,
                form_field: draft.form_field.unwrap_or(false),
                data_sensitivity: Some("non_sensitive".to_owned()),
                referenced_object_type: None,
                modification_metadata: ModificationMetadata {
                    archivable: true,
                    read_only_definition: false,
                    read_only_value: false,
                    read_only_options: Some(false),
                },
            };
            check_definition(&definition, &groups)?;
            records.push(PropertyRecord {
                definition,
                created_at: Some(now),
                updated_at: Some(now),
                archived_at: None,
            });
        }
        for record in &records {
            // A name that was archived is defined anew: the old values go.
            if existing
                .iter()
                .any(|r| r.definition.name == record.definition.name && r.is_archived())
            {
                self.store
                    .purge_property_values(partition, &record.definition.name)?;
            }
            self.store.save_property(partition, record)?;
        }
        self.schemas.forget(partition);
        Ok(records)
    }

    pub fn update_property(
        &self,
        partition: Partition,
        name: &str,
        patch: PropertyPatch,
    ) -> Result<PropertyRecord, CrmError> {
        let mut record = self.property(partition, name, false)?;
        if record.definition.modification_metadata.read_only_definition {
            return Err(CrmError::invalid(format!(
                "Property \"{name}\" is defined by HubSpot and its definition cannot be changed"
            )));
        }
        let def = &mut record.definition;
        if let Some(unique) = patch.has_unique_value {
            if unique != def.has_unique_value {
                return Err(CrmError::invalid(format!(
                    "hasUniqueValue of property \"{name}\" cannot be changed once the property exists"
                )));
            }
        }
        if let Some(property_type) = patch.property_type {
            if parse_type(&property_type)? != def.property_type {
                return Err(CrmError::invalid(format!(
                    "The type of property \"{name}\" cannot be changed by hubcalls: archive it and create a new property"
                )));
            }
        }
        if let Some(label) = patch.label {
            def.label = label;
        }
        if let Some(field_type) = patch.field_type {
            def.field_type = field_type;
        }
        if let Some(group_name) = patch.group_name {
            def.group_name = group_name;
        }
        if let Some(description) = patch.description {
            def.description = description;
        }
        if let Some(options) = patch.options {
            def.options = options;
        }
        if let Some(order) = patch.display_order {
            def.display_order = order;
        }
        if let Some(hidden) = patch.hidden {
            def.hidden = hidden;
        }
        if let Some(form_field) = patch.form_field {
            def.form_field = form_field;
        }
        check_definition(&record.definition, &self.property_groups(partition, false)?)?;
        record.updated_at = Some(now_millis());
        self.store.save_property(partition, &record)?;
        self.schemas.forget(partition);
        Ok(record)
    }

    /// Archives a custom property. HubSpot-defined properties cannot be archived.
    pub fn archive_property(&self, partition: Partition, name: &str) -> Result<(), CrmError> {
        let mut record = self.property(partition, name, false)?;
        if record.definition.hubspot_defined || !record.definition.modification_metadata.archivable
        {
            return Err(CrmError::invalid(format!(
                "Property \"{name}\" is defined by HubSpot and cannot be archived"
            )));
        }
        let now = now_millis();
        record.archived_at = Some(now);
        record.updated_at = Some(now);
        self.store.save_property(partition, &record)?;
        self.schemas.forget(partition);
        Ok(())
    }

    pub fn property_groups(
        &self,
        partition: Partition,
        archived: bool,
    ) -> Result<Vec<PropertyGroup>, CrmError> {
        let mut groups = partition.object_type.groups().to_vec();
        groups.extend(self.store.custom_groups(partition)?);
        Ok(groups
            .into_iter()
            .filter(|g| g.archived == archived)
            .collect())
    }

    pub fn property_group(
        &self,
        partition: Partition,
        name: &str,
    ) -> Result<PropertyGroup, CrmError> {
        self.property_groups(partition, false)?
            .into_iter()
            .find(|g| g.name == name)
            .ok_or_else(|| {
                CrmError::UnknownResource(format!("Unable to find property group {name}"))
            })
    }

    pub fn create_property_group(
        &self,
        partition: Partition,
        group: PropertyGroup,
    ) -> Result<PropertyGroup, CrmError> {
        check_name("property group", &group.name)?;
        if group.label.trim().is_empty() {
            return Err(CrmError::invalid(
                "A property group needs a non-empty label",
            ));
        }
        if self
            .property_groups(partition, false)?
            .iter()
            .any(|g| g.name == group.name)
        {
            return Err(CrmError::Conflict {
                message: format!("Property group named '{}' already exists.", group.name),
                context: vec![("name".to_owned(), vec![group.name.clone()])],
            });
        }
        let group = PropertyGroup {
            archived: false,
            ..group
        };
        self.store.save_group(partition, &group)?;
        Ok(group)
    }

    pub fn update_property_group(
        &self,
        partition: Partition,
        name: &str,
        patch: GroupPatch,
    ) -> Result<PropertyGroup, CrmError> {
        let mut group = self.custom_group(partition, name)?;
        if let Some(label) = patch.label {
            group.label = label;
        }
        if let Some(order) = patch.display_order {
            group.display_order = order;
        }
        self.store.save_group(partition, &group)?;
        Ok(group)
    }

    pub fn archive_property_group(&self, partition: Partition, name: &str) -> Result<(), CrmError> {
        let mut group = self.custom_group(partition, name)?;
        let members: Vec<String> = self
            .properties(partition, false)?
            .into_iter()
            .filter(|r| r.definition.group_name == name)
            .map(|r| r.definition.name)
            .collect();
        if !members.is_empty() {
            return Err(CrmError::invalid(format!(
                "Property group \"{name}\" still holds properties ({}); move or archive them first",
                members.join(", ")
            )));
        }
        group.archived = true;
        self.store.save_group(partition, &group)?;
        Ok(())
    }

    /// A group the portal created (built-in groups cannot change).
    fn custom_group(&self, partition: Partition, name: &str) -> Result<PropertyGroup, CrmError> {
        if partition
            .object_type
            .groups()
            .iter()
            .any(|g| g.name == name)
        {
            return Err(CrmError::invalid(format!(
                "Property group \"{name}\" is defined by HubSpot and cannot be changed"
            )));
        }
        self.store
            .custom_groups(partition)?
            .into_iter()
            .find(|g| g.name == name && !g.archived)
            .ok_or_else(|| {
                CrmError::UnknownResource(format!("Unable to find property group {name}"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_hubspot_rules() {
        assert!(check_name("property", "external_id_2").is_ok());
        for bad in ["", "External", "2abc", "with-dash", "spa ce"] {
            assert!(check_name("property", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn field_types_must_fit_the_type() {
        assert!(field_types_for(PropertyType::Number).contains(&"number"));
        assert!(!field_types_for(PropertyType::Number).contains(&"text"));
        assert!(field_types_for(PropertyType::Enumeration).contains(&"checkbox"));
    }

    #[test]
    fn only_public_types_can_be_created() {
        assert_eq!(parse_type("number").unwrap(), PropertyType::Number);
        assert!(parse_type("json").is_err());
        assert!(parse_type("integer").is_err());
    }
}
