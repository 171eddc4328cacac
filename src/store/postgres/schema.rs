//! A portal's own schema: property definitions, groups and pipelines as JSONB rows, and the
//! per-portal schema version other servers check their cached copy against.

use postgres::types::Json;

use crate::crm::error::StoreError;
use crate::crm::objects::Partition;
use crate::crm::pipelines::Pipeline;
use crate::crm::ports::SchemaStore;
use crate::crm::schema::{PropertyGroup, PropertyRecord};

use super::{schema_versions, PostgresStore, Tx};

impl PostgresStore {
    fn bump_schema_version(tx: &mut Tx<'_, '_>, partition: Partition) -> Result<(), StoreError> {
        tx.execute(
            "INSERT INTO portal_schema_versions (portal, version) VALUES ($1, 1)
             ON CONFLICT (portal) DO UPDATE SET version = portal_schema_versions.version + 1",
            &[&partition.key()],
        )?;
        tx.execute(schema_versions::NOTIFY_ONE, &[&partition.key().to_string()])?;
        Ok(())
    }

    /// Runs a write that changes the partition's schema (and bumps its version), then
    /// forgets the version this server knew.
    fn write_schema(
        &self,
        partition: Partition,
        work: impl FnOnce(&mut Tx<'_, '_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let written = self.write(|tx| {
            work(tx)?;
            Self::bump_schema_version(tx, partition)
        });
        self.schema_versions.forget(Some(partition.key()));
        written
    }
}

impl SchemaStore for PostgresStore {
    fn purge_property_values(&self, partition: Partition, name: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            let portal_param = partition.key();
            tx.execute(
                "UPDATE calls SET properties = properties - $1::TEXT
                 WHERE portal = $2 AND properties ? $1::TEXT",
                &[&name, &portal_param],
            )?;
            tx.execute(
                "DELETE FROM call_values WHERE portal = $1 AND name = $2",
                &[&portal_param, &name],
            )?;
            Ok(())
        })
    }

    fn custom_properties(&self, partition: Partition) -> Result<Vec<PropertyRecord>, StoreError> {
        self.read(|db| {
            let rows = db.query(
                "SELECT definition, created_at, updated_at, archived_at FROM property_definitions
                 WHERE portal = $1 ORDER BY name",
                &[&partition.key()],
            )?;
            rows.iter()
                .map(|row| {
                    let Json(definition) = row.try_get(0)?;
                    Ok(PropertyRecord {
                        definition,
                        created_at: row.try_get(1)?,
                        updated_at: row.try_get(2)?,
                        archived_at: row.try_get(3)?,
                    })
                })
                .collect()
        })
    }

    fn save_property(
        &self,
        partition: Partition,
        property: &PropertyRecord,
    ) -> Result<(), StoreError> {
        self.write_schema(partition, |tx| {
            tx.execute(
                "INSERT INTO property_definitions
                 (portal, name, definition, created_at, updated_at, archived_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (portal, name) DO UPDATE SET definition = excluded.definition,
                 created_at = excluded.created_at, updated_at = excluded.updated_at,
                 archived_at = excluded.archived_at",
                &[
                    &partition.key(),
                    &property.definition.name,
                    &Json(&property.definition),
                    &property.created_at,
                    &property.updated_at,
                    &property.archived_at,
                ],
            )?;
            Ok(())
        })
    }

    fn custom_groups(&self, partition: Partition) -> Result<Vec<PropertyGroup>, StoreError> {
        self.read(|db| {
            let rows = db.query(
                "SELECT definition FROM property_groups WHERE portal = $1 ORDER BY name",
                &[&partition.key()],
            )?;
            rows.iter()
                .map(|row| {
                    let Json(group) = row.try_get(0)?;
                    Ok(group)
                })
                .collect()
        })
    }

    fn save_group(&self, partition: Partition, group: &PropertyGroup) -> Result<(), StoreError> {
        self.write_schema(partition, |tx| {
            tx.execute(
                "INSERT INTO property_groups (portal, name, definition) VALUES ($1, $2, $3)
                 ON CONFLICT (portal, name) DO UPDATE SET definition = excluded.definition",
                &[&partition.key(), &group.name, &Json(group)],
            )?;
            Ok(())
        })
    }

    fn custom_pipelines(&self, partition: Partition) -> Result<Vec<Pipeline>, StoreError> {
        self.read(|db| {
            let rows = db.query(
                "SELECT definition FROM pipelines WHERE portal = $1 ORDER BY id",
                &[&partition.key()],
            )?;
            rows.iter()
                .map(|row| {
                    let Json(pipeline) = row.try_get(0)?;
                    Ok(pipeline)
                })
                .collect()
        })
    }

    fn save_pipeline(&self, partition: Partition, pipeline: &Pipeline) -> Result<(), StoreError> {
        // Other servers' cached schemas hold the pipelines as property options.
        self.write_schema(partition, |tx| {
            tx.execute(
                "INSERT INTO pipelines (portal, id, definition) VALUES ($1, $2, $3)
                 ON CONFLICT (portal, id) DO UPDATE SET definition = excluded.definition",
                &[&partition.key(), &pipeline.id, &Json(pipeline)],
            )?;
            Ok(())
        })
    }

    fn schema_version(&self, partition: Partition) -> Result<u64, StoreError> {
        self.schema_versions.version(partition.key(), || {
            self.read(|db| {
                let row = db.query_opt(
                    "SELECT version FROM portal_schema_versions WHERE portal = $1",
                    &[&partition.key()],
                )?;
                Ok(match row {
                    Some(row) => row.try_get::<_, i64>(0)? as u64,
                    None => 0,
                })
            })
        })
    }
}
