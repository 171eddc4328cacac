//! The object-type registry: every CRM object type hubcalls serves, declared as data.
//!
//! A type is an [`ObjectTypeDef`] in [`builtin::DEFINITIONS`] plus a property catalogue
//! and a group file under `catalogue/`. The rules, the engines and the API are generic over
//! it: adding a type is an entry and a catalogue, not new code paths.

mod builtin;
mod definitions;
mod partition;

use std::sync::OnceLock;

pub use builtin::{DefinedAssociation, DEFINED_ASSOCIATIONS};
pub use definitions::{association_definitions, AssociationDefinition};
pub use partition::Partition;

use super::properties::{PropertyCatalogue, PropertyDefinition};
use super::schema::PropertyGroup;

/// The scopes that grant reading object schemas beyond a type's own read scopes (HubSpot's
/// custom-object schema scope; a portal without custom objects still lists none with it).
pub const SCHEMA_READ_SCOPES: &[&str] = &["crm.schemas.custom.read"];
/// The scope that grants defining custom objects, which no hubcalls portal has.
pub const SCHEMA_WRITE_SCOPES: &[&str] = &["crm.schemas.custom.write"];

/// One object type, as a small copyable handle. Its number is its place in the registry,
/// which is also how storage tells types apart ([`Partition`]): entries are only ever
/// appended, never reordered.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectType(u8);

impl std::fmt::Debug for ObjectType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.plural)
    }
}

impl std::ops::Deref for ObjectType {
    type Target = ObjectTypeDef;
    fn deref(&self) -> &ObjectTypeDef {
        self.def()
    }
}

impl ObjectType {
    /// The type's declaration (also reachable through `Deref`).
    pub fn def(self) -> &'static ObjectTypeDef {
        &builtin::DEFINITIONS[usize::from(self.0)]
    }

    pub const CALLS: ObjectType = ObjectType(0);
    pub const NOTES: ObjectType = ObjectType(1);
    pub const EMAILS: ObjectType = ObjectType(2);
    pub const MEETINGS: ObjectType = ObjectType(3);
    pub const TASKS: ObjectType = ObjectType(4);
    pub const CONTACTS: ObjectType = ObjectType(5);
    pub const COMPANIES: ObjectType = ObjectType(6);
    pub const DEALS: ObjectType = ObjectType(7);
    pub const TICKETS: ObjectType = ObjectType(8);
    pub const PRODUCTS: ObjectType = ObjectType(9);
    pub const LINE_ITEMS: ObjectType = ObjectType(10);

    /// Every registered type, in registry order.
    pub fn all() -> impl ExactSizeIterator<Item = ObjectType> + Clone {
        (0..builtin::DEFINITIONS.len()).map(|i| ObjectType(i as u8))
    }

    /// Reads a type as HubSpot accepts it in paths and parameters: singular or plural name
    /// in any case, or the type id (`0-1`).
    pub fn parse(text: &str) -> Option<ObjectType> {
        let text = text.trim();
        Self::all().find(|t| {
            text.eq_ignore_ascii_case(t.plural)
                || text.eq_ignore_ascii_case(t.singular)
                || text == t.type_id
                || text.eq_ignore_ascii_case(t.internal_name)
        })
    }

    /// The type stored under `key` (see [`ObjectType::storage_key`]).
    pub fn from_storage_key(key: u8) -> Option<ObjectType> {
        (usize::from(key) < builtin::DEFINITIONS.len()).then_some(ObjectType(key))
    }

    /// The number storage keeps this type under: its place in the registry.
    pub fn storage_key(self) -> u8 {
        self.0
    }

    /// Whether no two live records of a portal may share a value of `def`: a
    /// `hasUniqueValue` property, or one the type keeps unique itself (contacts' `email`,
    /// also usable as `idProperty`).
    pub fn is_unique(self, def: &PropertyDefinition) -> bool {
        def.has_unique_value || self.conflict_properties.contains(&def.name.as_str())
    }

    /// The built-in property definitions of this type (parsed once).
    pub fn catalogue(self) -> &'static PropertyCatalogue {
        let def = self.def();
        def.catalogue.get_or_init(|| {
            let definitions: Vec<PropertyDefinition> = serde_json::from_str(def.properties_json)
                .unwrap_or_else(|e| {
                    panic!(
                        "the {} property catalogue is part of the build: {e}",
                        self.plural
                    )
                });
            PropertyCatalogue::from_definitions(definitions)
        })
    }

    /// The built-in property groups of this type (parsed once).
    pub fn groups(self) -> &'static [PropertyGroup] {
        let def = self.def();
        def.groups.get_or_init(|| {
            serde_json::from_str(def.groups_json).unwrap_or_else(|e| {
                panic!(
                    "the {} property groups are part of the build: {e}",
                    self.plural
                )
            })
        })
    }
}

/// What a type declares about itself.
pub struct ObjectTypeDef {
    /// HubSpot's object type id (`0-48`).
    pub type_id: &'static str,
    pub singular: &'static str,
    pub plural: &'static str,
    /// HubSpot's upper-case name, used in some error messages (`Error creating NOTE.`) and
    /// as the schema's `fullyQualifiedName`.
    pub internal_name: &'static str,
    /// The singular and plural labels HubSpot's UI (and the schema's `labels`) uses.
    pub labels: (&'static str, &'static str),
    /// The properties a record is shown by: the primary display property first, then the
    /// secondary ones (contacts: `firstname`, then `lastname`, `email`, `phone`, as HubSpot's
    /// schema has them).
    pub display_properties: &'static [&'static str],
    /// The properties every read returns, requested or not (the id and the timestamps).
    pub always_returned: &'static [&'static str],
    /// The properties a read returns besides those when none are asked for.
    pub returned_by_default: &'static [&'static str],
    /// The property holding the create time (`createdate`, `hs_createdate`).
    pub created_property: &'static str,
    /// The property holding the last modification time.
    pub modified_property: &'static str,
    /// Properties a create must set.
    pub required_on_create: &'static [&'static str],
    /// Properties no two live records of a portal may share, HubSpot answering a second
    /// one with 409 `CONFLICT` (contacts' `email`), unlike `hasUniqueValue` custom
    /// properties, which answer 400.
    pub conflict_properties: &'static [&'static str],
    /// Properties the full-text `query` of a search looks in.
    pub query_properties: &'static [&'static str],
    /// Scopes granting reads and writes; any one of each list suffices.
    pub read_scopes: &'static [&'static str],
    pub write_scopes: &'static [&'static str],
    /// The pipeline and stage properties of a type that has pipelines.
    pub pipeline: Option<PipelineProperties>,
    /// Whether `POST …/merge` exists for the type on v3 and 2026-03.
    pub mergeable: bool,
    properties_json: &'static str,
    groups_json: &'static str,
    catalogue: OnceLock<PropertyCatalogue>,
    groups: OnceLock<Vec<PropertyGroup>>,
}

/// The two properties that place a record in a pipeline.
#[derive(Debug, Clone, Copy)]
pub struct PipelineProperties {
    pub pipeline: &'static str,
    pub stage: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_in_every_spelling() {
        for text in ["calls", "CALL", "0-48"] {
            assert_eq!(ObjectType::parse(text), Some(ObjectType::CALLS), "{text}");
        }
        assert_eq!(ObjectType::parse("widgets"), None);
        assert_eq!(ObjectType::parse("0-4"), None);
    }

    #[test]
    fn every_catalogue_parses_and_declares_what_its_type_names() {
        for t in ObjectType::all() {
            assert_eq!(ObjectType::from_storage_key(t.storage_key()), Some(t));
            let catalogue = t.catalogue();
            let named = t
                .always_returned
                .iter()
                .chain(t.returned_by_default)
                .chain(t.required_on_create)
                .chain(t.conflict_properties)
                .chain(t.query_properties)
                .chain(t.display_properties)
                .chain([&t.created_property, &t.modified_property]);
            for name in named {
                assert!(catalogue.contains(name), "{t:?} lacks {name}");
            }
            for def in catalogue.iter() {
                assert!(
                    t.groups().iter().any(|g| g.name == def.group_name),
                    "{t:?}: {} is in an unknown group {}",
                    def.name,
                    def.group_name
                );
            }
        }
    }
}
