//! Confining the ids a database hands out to one shard's range (see
//! `store::sharded::id_ranges`). The range is kept by the sequence itself (its MINVALUE and
//! MAXVALUE), so the database remembers which range it was given: a server configured with
//! another range for it refuses to start rather than hand out another shard's ids.

use crate::crm::error::StoreError;
use crate::crm::record::RecordId;
use crate::store::sharded::IdRange;

use super::PostgresStore;

/// Advisory lock key while a sequence is confined ("hubshard" in ASCII), so servers
/// starting together alter it once.
const CONFINE_LOCK: i64 = 0x6875_6273_6861_7264;

impl PostgresStore {
    /// Makes this database hand out ids of `range` only. A sequence never confined (a fresh
    /// database, or one that served alone) is confined now, starting past every id it
    /// handed out; one confined already must have this very range.
    pub fn confine_ids(&self, range: IdRange) -> Result<(), StoreError> {
        let (first, last) = (as_sql(range.first)?, as_sql(range.last)?);
        self.write(|tx| {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CONFINE_LOCK])?;
            let row = tx.query_one(
                "SELECT s.last_value, s.is_called, p.seqmin, p.seqmax
                 FROM call_ids s, pg_sequence p WHERE p.seqrelid = 'call_ids'::regclass",
                &[],
            )?;
            let (last_value, is_called): (i64, bool) = (row.try_get(0)?, row.try_get(1)?);
            let (min, max): (i64, i64) = (row.try_get(2)?, row.try_get(3)?);
            if (min, max) == (first, last) {
                return Ok(());
            }
            if (min, max) != (1, i64::MAX) {
                return Err(StoreError::Backend(format!(
                    "this database hands out ids {min} to {max}, not {first} to {last}: \
                     it belongs to a shard with another id_range"
                )));
            }
            let next = if is_called {
                last_value + 1
            } else {
                last_value
            };
            if next > last {
                return Err(StoreError::Backend(format!(
                    "this database has handed out ids up to {last_value}, past the range \
                     {first} to {last} of its id_range"
                )));
            }
            // Inside the range, the sequence keeps its place: servers not yet restarted may
            // be taking ids from it right now, and a restart at the value read above could
            // hand out theirs again. Below the range it jumps forward to the range's start.
            let restart = if next < first {
                format!(" RESTART WITH {first}")
            } else {
                String::new()
            };
            tx.execute(
                &format!(
                    "ALTER SEQUENCE call_ids MINVALUE {first} MAXVALUE {last} \
                     START WITH {first}{restart}"
                ),
                &[],
            )?;
            Ok(())
        })
    }
}

fn as_sql(id: RecordId) -> Result<i64, StoreError> {
    i64::try_from(id).map_err(|_| StoreError::Backend(format!("id {id} is out of range")))
}
