//! Associations: one `call_associations` row per association, owned by the record it is
//! stored with, mirrored in the index for search by association.

use rusqlite::{params, params_from_iter, Row};

use crate::crm::associations::Association;
use crate::crm::error::StoreError;
use crate::crm::objects::{ObjectType, Partition};
use crate::crm::ports::AssociationStore;
use crate::crm::record::RecordId;
use crate::store::rows::association_from_columns;

use super::group_commit::Tx;
use super::index::IndexOp;
use super::{placeholders, SqliteStore};

/// Inserts one association (with its mirror between records of the same type, see
/// [`Association::mirrored`]) and queues it for the index.
pub(super) fn associate(
    tx: &mut Tx<'_>,
    partition: Partition,
    a: &Association,
) -> rusqlite::Result<()> {
    insert_row(tx, partition, a)?;
    if let Some(mirror) = a.mirrored(partition.object_type) {
        insert_row(tx, partition, &mirror)?;
    }
    Ok(())
}

fn insert_row(tx: &mut Tx<'_>, partition: Partition, a: &Association) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO call_associations (call_id, kind, to_id, type_id, portal, category) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        a.from_id as i64,
        a.to_type.singular,
        a.to_id as i64,
        a.type_id,
        partition.key(),
        a.category.as_str()
    ])?;
    tx.pending.push(IndexOp::AddAssociation {
        partition,
        call_id: a.from_id,
        kind: a.to_type,
        to_id: a.to_id,
        type_id: a.type_id,
    });
    Ok(())
}

/// Removes every association between two records, both ways when they are of the same
/// type (the rows from the other end are the mirrors).
fn remove_pair(
    tx: &mut Tx<'_>,
    partition: Partition,
    call_id: RecordId,
    kind: ObjectType,
    to_id: u64,
) -> rusqlite::Result<()> {
    let mut ends = vec![(call_id, to_id)];
    if kind == partition.object_type && call_id != to_id {
        ends.push((to_id, call_id));
    }
    for (from, to) in ends {
        tx.prepare_cached(
            "DELETE FROM call_associations
             WHERE call_id = ?1 AND kind = ?2 AND to_id = ?3 AND portal = ?4",
        )?
        .execute(params![
            from as i64,
            kind.singular,
            to as i64,
            partition.key()
        ])?;
        tx.pending.push(IndexOp::RemoveAssociation {
            partition,
            call_id: from,
            kind,
            to_id: to,
            type_id: None,
        });
    }
    Ok(())
}

/// Removes one association row exactly.
fn remove_row(tx: &mut Tx<'_>, partition: Partition, a: &Association) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "DELETE FROM call_associations
         WHERE call_id = ?1 AND kind = ?2 AND to_id = ?3 AND portal = ?4 AND type_id = ?5 AND category = ?6",
    )?
    .execute(params![
        a.from_id as i64,
        a.to_type.singular,
        a.to_id as i64,
        partition.key(),
        a.type_id,
        a.category.as_str()
    ])?;
    tx.pending.push(IndexOp::RemoveAssociation {
        partition,
        call_id: a.from_id,
        kind: a.to_type,
        to_id: a.to_id,
        type_id: Some(a.type_id),
    });
    Ok(())
}

/// Removes the rows other records of the partition's type keep with a record deleted for
/// good: the mirrors of its own rows, which go with it.
pub(super) fn forget_mirrors(
    tx: &mut Tx<'_>,
    partition: Partition,
    id: RecordId,
) -> rusqlite::Result<()> {
    let rows: Vec<Association> = {
        let mut select = tx.prepare_cached(
            "SELECT call_id, kind, to_id, type_id, category FROM call_associations
             WHERE portal = ?1 AND kind = ?2 AND to_id = ?3",
        )?;
        let rows = select.query_map(
            params![partition.key(), partition.object_type.singular, id as i64],
            association_from_row,
        )?;
        rows.filter_map(|row| row.transpose())
            .collect::<rusqlite::Result<_>>()?
    };
    for row in &rows {
        remove_row(tx, partition, row)?;
    }
    Ok(())
}

fn association_from_row(row: &Row<'_>) -> rusqlite::Result<Option<Association>> {
    let kind: String = row.get(1)?;
    let category: String = row.get(4)?;
    Ok(association_from_columns(
        row.get(0)?,
        &kind,
        row.get(2)?,
        row.get(3)?,
        &category,
    ))
}

impl AssociationStore for SqliteStore {
    fn associations(
        &self,
        partition: Partition,
        ids: &[RecordId],
    ) -> Result<Vec<Association>, StoreError> {
        self.read(|conn| {
            let sql = format!(
                "SELECT call_id, kind, to_id, type_id, category FROM call_associations
                 WHERE portal = ? AND call_id IN ({}) ORDER BY call_id, kind, to_id, type_id",
                placeholders(ids.len())
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let params = std::iter::once(partition.key()).chain(ids.iter().map(|id| *id as i64));
            let rows = statement.query_map(params_from_iter(params), association_from_row)?;
            rows.filter_map(|row| row.transpose()).collect()
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
                associate(tx, partition, association)?;
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
                associate(tx, partition, association)?;
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
                return Ok(remove_pair(tx, partition, call_id, kind, to_id)?);
            };
            // The rows themselves, so that their mirrors (typed as read from the other
            // end) go with them.
            let rows: Vec<Association> = {
                let mut select = tx.prepare_cached(
                    "SELECT call_id, kind, to_id, type_id, category FROM call_associations
                     WHERE call_id = ?1 AND kind = ?2 AND to_id = ?3 AND portal = ?4",
                )?;
                let rows = select.query_map(
                    params![call_id as i64, kind.singular, to_id as i64, partition.key()],
                    association_from_row,
                )?;
                rows.filter_map(|row| row.transpose())
                    .filter(|row| row.as_ref().map_or(true, |a| type_ids.contains(&a.type_id)))
                    .collect::<rusqlite::Result<_>>()?
            };
            for row in &rows {
                remove_row(tx, partition, row)?;
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
        self.read(|conn| {
            let sql = format!(
                "SELECT a.call_id, a.kind, a.to_id, a.type_id, a.category FROM call_associations a
                 JOIN calls c ON c.id = a.call_id AND c.archived = 0
                 WHERE a.portal = ? AND a.kind = ? AND a.to_id IN ({})
                 ORDER BY a.to_id, a.call_id, a.type_id",
                placeholders(to_ids.len())
            );
            let mut statement = conn.prepare_cached(&sql)?;
            let params: Vec<rusqlite::types::Value> =
                [partition.key().into(), kind.singular.to_owned().into()]
                    .into_iter()
                    .chain(to_ids.iter().map(|id| (*id as i64).into()))
                    .collect();
            let rows = statement.query_map(params_from_iter(params), association_from_row)?;
            rows.filter_map(|row| row.transpose()).collect()
        })
    }
}
