//! A portal's own schema: property definitions, groups and pipelines, one JSON row each.

use rusqlite::params;

use crate::crm::error::StoreError;
use crate::crm::objects::Partition;
use crate::crm::pipelines::Pipeline;
use crate::crm::ports::SchemaStore;
use crate::crm::schema::{PropertyGroup, PropertyRecord};
use crate::store::rows::to_json;

use super::index::IndexOp;
use super::{json_column, SqliteStore};

impl SchemaStore for SqliteStore {
    fn purge_property_values(&self, partition: Partition, name: &str) -> Result<(), StoreError> {
        // Property names are letters, digits and `_`, safe inside a quoted JSON path.
        let path = format!("$.\"{name}\"");
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE calls SET properties = json_remove(properties, ?1)
                 WHERE portal = ?2 AND json_type(properties, ?1) IS NOT NULL",
            )?
            .execute(params![path, partition.key()])?;
            tx.pending.push(IndexOp::DropProperty {
                partition,
                name: name.to_owned(),
            });
            Ok(())
        })
    }

    fn custom_properties(&self, partition: Partition) -> Result<Vec<PropertyRecord>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT definition, created_at, updated_at, archived_at FROM property_definitions
                 WHERE portal = ?1 ORDER BY name",
            )?;
            let rows = statement.query_map(params![partition.key()], |row| {
                Ok(PropertyRecord {
                    definition: json_column(row, 0)?,
                    created_at: row.get(1)?,
                    updated_at: row.get(2)?,
                    archived_at: row.get(3)?,
                })
            })?;
            rows.collect()
        })
    }

    fn save_property(
        &self,
        partition: Partition,
        property: &PropertyRecord,
    ) -> Result<(), StoreError> {
        let definition = to_json(&property.definition)?;
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO property_definitions
                 (portal, name, definition, created_at, updated_at, archived_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                partition.key(),
                property.definition.name,
                definition,
                property.created_at,
                property.updated_at,
                property.archived_at
            ])?;
            Ok(())
        })
    }

    fn custom_groups(&self, partition: Partition) -> Result<Vec<PropertyGroup>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT definition FROM property_groups WHERE portal = ?1 ORDER BY name",
            )?;
            let rows = statement.query_map(params![partition.key()], |row| json_column(row, 0))?;
            rows.collect()
        })
    }

    fn save_group(&self, partition: Partition, group: &PropertyGroup) -> Result<(), StoreError> {
        let definition = to_json(group)?;
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO property_groups (portal, name, definition) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![partition.key(), group.name, definition])?;
            Ok(())
        })
    }

    fn custom_pipelines(&self, partition: Partition) -> Result<Vec<Pipeline>, StoreError> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached("SELECT definition FROM pipelines WHERE portal = ?1 ORDER BY id")?;
            let rows = statement.query_map(params![partition.key()], |row| json_column(row, 0))?;
            rows.collect()
        })
    }

    fn save_pipeline(&self, partition: Partition, pipeline: &Pipeline) -> Result<(), StoreError> {
        let definition = to_json(pipeline)?;
        self.write(|tx| {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO pipelines (portal, id, definition) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![partition.key(), pipeline.id, definition])?;
            Ok(())
        })
    }
}
