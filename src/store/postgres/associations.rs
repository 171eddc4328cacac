//! Associations: one `call_associations` row per association, owned by the record it is
//! stored with.

use postgres::Row;

use crate::crm::associations::Association;
use crate::crm::error::StoreError;
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::ports::AssociationStore;
use crate::crm::record::RecordId;
use crate::store::rows::association_from_columns;

use super::{ids_param, PostgresStore, Tx};

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

/// Association rows gathered to be inserted by one statement (see `inserts`), each with
/// its mirror between records of the same type.
#[derive(Default, Clone)]
pub(super) struct AssociationRows {
    pub(super) from_ids: Vec<i64>,
    pub(super) kinds: Vec<&'static str>,
    pub(super) to_ids: Vec<i64>,
    pub(super) type_ids: Vec<i32>,
    pub(super) categories: Vec<&'static str>,
}

impl AssociationRows {
    pub(super) fn push(&mut self, partition: Partition, a: &Association) {
        self.push_row(a);
        if let Some(mirror) = a.mirrored(partition.object_type) {
            self.push_row(&mirror);
        }
    }

    fn push_row(&mut self, a: &Association) {
        self.from_ids.push(a.from_id as i64);
        self.kinds.push(a.to_type.singular);
        self.to_ids.push(a.to_id.min(i64::MAX as u64) as i64);
        self.type_ids.push(a.type_id as i32);
        self.categories.push(a.category.as_str());
    }

    /// Adds `other`'s rows after these.
    pub(super) fn append(&mut self, mut other: AssociationRows) {
        self.from_ids.append(&mut other.from_ids);
        self.kinds.append(&mut other.kinds);
        self.to_ids.append(&mut other.to_ids);
        self.type_ids.append(&mut other.type_ids);
        self.categories.append(&mut other.categories);
    }
}

/// Inserts one association, with its mirror between records of the same type (see
/// [`Association::mirrored`]).
pub(super) fn insert_association(
    tx: &mut Tx<'_, '_>,
    partition: Partition,
    a: &Association,
) -> Result<(), StoreError> {
    insert_row(tx, partition, a)?;
    if let Some(mirror) = a.mirrored(partition.object_type) {
        insert_row(tx, partition, &mirror)?;
    }
    Ok(())
}

fn insert_row(
    tx: &mut Tx<'_, '_>,
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

/// Removes every association between two records, both ways when they are of the same
/// type (the rows from the other end are the mirrors).
fn remove_pair(
    tx: &mut Tx<'_, '_>,
    partition: Partition,
    call_id: RecordId,
    kind: ObjectType,
    to_id: u64,
) -> Result<(), StoreError> {
    let (from, to) = (call_id as i64, to_id.min(i64::MAX as u64) as i64);
    let both_ways = kind == partition.object_type;
    tx.execute(
        "DELETE FROM call_associations
         WHERE portal = $4 AND kind = $2
         AND ((call_id = $1 AND to_id = $3) OR ($5 AND call_id = $3 AND to_id = $1))",
        &[&from, &kind.singular, &to, &partition.key(), &both_ways],
    )?;
    Ok(())
}

fn remove_row(
    tx: &mut Tx<'_, '_>,
    partition: Partition,
    a: &Association,
) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM call_associations
         WHERE call_id = $1 AND kind = $2 AND to_id = $3 AND portal = $4 AND type_id = $5
         AND category = $6",
        &[
            &(a.from_id as i64),
            &a.to_type.singular,
            &(a.to_id.min(i64::MAX as u64) as i64),
            &partition.key(),
            &(a.type_id as i32),
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
        self.read(|db| {
            let rows = db.query(
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
            remove_pair(tx, partition, call_id, kind, to_id)?;
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
            let Some(type_ids) = type_ids else {
                return remove_pair(tx, partition, call_id, kind, to_id);
            };
            let type_ids: Vec<i32> = type_ids.iter().map(|t| *t as i32).collect();
            // The rows themselves, so that their mirrors (typed as read from the other
            // end) go with them.
            let rows = tx.query(
                "SELECT call_id, kind, to_id, type_id, category FROM call_associations
                 WHERE call_id = $1 AND kind = $2 AND to_id = $3 AND portal = $4
                 AND type_id = ANY($5)",
                &[
                    &(call_id as i64),
                    &kind.singular,
                    &(to_id.min(i64::MAX as u64) as i64),
                    &partition.key(),
                    &type_ids,
                ],
            )?;
            for row in associations_from_rows(rows)? {
                remove_row(tx, partition, &row)?;
                if let Some(mirror) = row.mirrored(partition.object_type) {
                    remove_row(tx, partition, &mirror)?;
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
        self.read(|db| {
            let rows = db.query(
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
