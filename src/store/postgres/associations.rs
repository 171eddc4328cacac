//! Associations: one `call_associations` row per association, owned by the record it is
//! stored with.

use postgres::{Row, Transaction};

use crate::crm::associations::Association;
use crate::crm::error::StoreError;
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::ports::AssociationStore;
use crate::crm::record::RecordId;
use crate::store::rows::association_from_columns;

use super::{ids_param, PostgresStore};

fn association_from_row(row: &Row) -> Result<Option<Association>, StoreError> {
    let kind: String = row.try_get(1)?;
    let category: String = row.try_get(4)?;
    Ok(association_from_columns(
        row.try_get(0)?,
        &kind,
        row.try_get(2)?,
        row.try_get::<_, i32>(3)? as u32,
        &category,
    ))
}

fn associations_from_rows(rows: Vec<Row>) -> Result<Vec<Association>, StoreError> {
    let mut associations = Vec::with_capacity(rows.len());
    for row in &rows {
        if let Some(association) = association_from_row(row)? {
            associations.push(association);
        }
    }
    Ok(associations)
}

pub(super) fn insert_association(
    tx: &mut Transaction<'_>,
    partition: Partition,
    a: &Association,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO call_associations (call_id, kind, to_id, type_id, portal, category)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        &[
            &(a.from_id as i64),
            &a.to_type.singular,
            &(a.to_id.min(i64::MAX as u64) as i64),
            &(a.type_id as i32),
            &partition.key(),
            &a.category.as_str(),
        ],
    )?;
    Ok(())
}

impl AssociationStore for PostgresStore {
    fn associations(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<Vec<Association>, StoreError> {
        self.read(|client| {
            let rows = client.query(
                "SELECT call_id, kind, to_id, type_id, category FROM call_associations
                 WHERE portal = $1 AND call_id = ANY($2) ORDER BY call_id, kind, to_id, type_id",
                &[&partition.key(), &ids_param(ids)],
            )?;
            associations_from_rows(rows)
        })
    }

    fn replace_associations(
        &self,
        partition: Partition,
        call_id: RecordId,
        kind: ObjectType,
        to_id: u64,
        associations: &[Association],
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM call_associations
                 WHERE call_id = $1 AND kind = $2 AND to_id = $3 AND portal = $4",
                &[
                    &(call_id as i64),
                    &kind.singular,
                    &(to_id.min(i64::MAX as u64) as i64),
                    &partition.key(),
                ],
            )?;
            for association in associations {
                insert_association(tx, partition, association)?;
            }
            Ok(())
        })
    }

    fn add_associations(
        &self,
        partition: Partition,
        associations: &[Association],
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            for association in associations {
                insert_association(tx, partition, association)?;
            }
            Ok(())
        })
    }

    fn remove_associations(
        &self,
        partition: Partition,
        call_id: RecordId,
        kind: ObjectType,
        to_id: u64,
        type_ids: Option<&[u32]>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let call_id = call_id as i64;
            let to_id = to_id.min(i64::MAX as u64) as i64;
            let portal = partition.key();
            let kind = kind.singular;
            match type_ids {
                None => {
                    tx.execute(
                        "DELETE FROM call_associations
                         WHERE call_id = $1 AND kind = $2 AND to_id = $3 AND portal = $4",
                        &[&call_id, &kind, &to_id, &portal],
                    )?;
                }
                Some(type_ids) => {
                    let type_ids: Vec<i32> = type_ids.iter().map(|t| *t as i32).collect();
                    tx.execute(
                        "DELETE FROM call_associations
                         WHERE call_id = $1 AND kind = $2 AND to_id = $3 AND portal = $4
                         AND type_id = ANY($5)",
                        &[&call_id, &kind, &to_id, &portal, &type_ids],
                    )?;
                }
            }
            Ok(())
        })
    }

    fn associations_to(
        &self,
        partition: Partition,
        kind: ObjectType,
        to_ids: &[u64],
    ) -> Result<Vec<Association>, StoreError> {
        if to_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|client| {
            let rows = client.query(
                "SELECT a.call_id, a.kind, a.to_id, a.type_id, a.category FROM call_associations a
                 JOIN calls c ON c.id = a.call_id AND NOT c.archived
                 WHERE a.portal = $1 AND a.kind = $2 AND a.to_id = ANY($3)
                 ORDER BY a.to_id, a.call_id, a.type_id",
                &[&partition.key(), &kind.singular, &ids_param(to_ids)],
            )?;
            associations_from_rows(rows)
        })
    }
}
