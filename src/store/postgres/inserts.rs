//! New records as rows: gathered into arrays, then inserted with their index rows, history
//! and associations by one statement. Rows of several requests can be joined and inserted
//! together (see `insert_groups`).

use postgres::GenericClient;

use crate::crm::error::StoreError;
use crate::crm::objects::Partition;
use crate::crm::ports::NewRecord;
use crate::crm::properties::PropertyCatalogue;
use crate::crm::search::IndexedValue;
use crate::store::rows::{flat_changes, properties_json, to_json};

use super::associations::AssociationRows;
use super::values::ValueRows;
use super::Db;

/// Inserts new records with their index rows, history and associations: one statement,
/// whose parts each insert the whole batch from arrays. One statement is one round trip,
/// and is atomic on its own, so a create needs no transaction of its own.
const INSERT_NEW_RECORDS: &str = "
WITH new_calls AS (
    INSERT INTO calls (id, portal, archived, created_at, updated_at, archived_at, properties)
    SELECT id, $1, FALSE, created, updated, NULL, props::JSONB
    FROM unnest($2::BIGINT[], $3::BIGINT[], $4::BIGINT[], $5::TEXT[]) AS t(id, created, updated, props)
), new_values AS (
    INSERT INTO call_values (call_id, name, portal, text, number, words)
    SELECT id, name, $1, text, number, array_to_tsvector(string_to_array(words, ' '))
    FROM unnest($6::BIGINT[], $7::TEXT[], $8::TEXT[], $9::DOUBLE PRECISION[], $10::TEXT[])
        AS t(id, name, text, number, words)
), new_history AS (
    INSERT INTO call_history (call_id, changes)
    SELECT id, changes::JSONB
    FROM unnest($11::BIGINT[], $12::TEXT[]) WITH ORDINALITY AS t(id, changes, n)
    ORDER BY n
), new_associations AS (
    INSERT INTO call_associations (call_id, kind, to_id, type_id, portal, category)
    SELECT from_id, kind, to_id, type_id, $1, category
    FROM unnest($13::BIGINT[], $14::TEXT[], $15::BIGINT[], $16::INTEGER[], $17::TEXT[])
        AS t(from_id, kind, to_id, type_id, category)
    ON CONFLICT DO NOTHING
)
SELECT 1";

/// The rows of new records of one partition, as [`INSERT_NEW_RECORDS`] takes them.
#[derive(Default, Clone)]
pub(super) struct NewRows {
    ids: Vec<i64>,
    created: Vec<i64>,
    updated: Vec<i64>,
    properties: Vec<String>,
    history_ids: Vec<i64>,
    histories: Vec<String>,
    values: ValueRows,
    associations: AssociationRows,
}

impl NewRows {
    pub(super) fn gather(
        partition: Partition,
        schema: &PropertyCatalogue,
        calls: &[NewRecord],
    ) -> Result<Self, StoreError> {
        let mut rows = Self::default();
        for new in calls {
            let call = &new.call;
            rows.ids.push(call.id as i64);
            rows.created.push(call.created_at);
            rows.updated.push(call.updated_at);
            rows.properties.push(properties_json(call));
            for change in &new.changes {
                if let (Some(value), Some(def)) = (&change.value, schema.get(&change.name)) {
                    rows.values.push(
                        call.id,
                        &change.name,
                        IndexedValue::new(def.property_type, value),
                    );
                }
            }
            if !new.changes.is_empty() {
                rows.history_ids.push(call.id as i64);
                rows.histories.push(to_json(&flat_changes(&new.changes))?);
            }
            for association in &new.associations {
                rows.associations.push(partition, association);
            }
        }
        Ok(rows)
    }

    /// Rows of records with these ids and nothing else, for tests of what carries rows.
    #[cfg(test)]
    pub(super) fn of_ids(ids: &[i64]) -> Self {
        Self {
            ids: ids.to_vec(),
            ..Self::default()
        }
    }

    #[cfg(test)]
    pub(super) fn ids(&self) -> &[i64] {
        &self.ids
    }

    /// How many records the rows hold.
    pub(super) fn records(&self) -> usize {
        self.ids.len()
    }

    /// Adds `other`'s rows after these.
    pub(super) fn append(&mut self, mut other: NewRows) {
        self.ids.append(&mut other.ids);
        self.created.append(&mut other.created);
        self.updated.append(&mut other.updated);
        self.properties.append(&mut other.properties);
        self.history_ids.append(&mut other.history_ids);
        self.histories.append(&mut other.histories);
        self.values.append(other.values);
        self.associations.append(other.associations);
    }

    /// Inserts the rows (see [`INSERT_NEW_RECORDS`]). Unique values, if any, have been
    /// checked by the caller.
    pub(super) fn insert<C: GenericClient>(
        &self,
        db: &mut Db<'_, C>,
        partition: Partition,
    ) -> Result<(), StoreError> {
        if self.ids.is_empty() {
            return Ok(());
        }
        db.execute(
            INSERT_NEW_RECORDS,
            &[
                &partition.key(),
                &self.ids,
                &self.created,
                &self.updated,
                &self.properties,
                &self.values.call_ids,
                &self.values.names,
                &self.values.texts,
                &self.values.numbers,
                &self.values.words,
                &self.history_ids,
                &self.histories,
                &self.associations.from_ids,
                &self.associations.kinds,
                &self.associations.to_ids,
                &self.associations.type_ids,
                &self.associations.categories,
            ],
        )?;
        Ok(())
    }
}
