//! Disjoint id ranges, one per shard.
//!
//! Each PostgreSQL database hands out ids from a sequence of its own. Two shards starting
//! at the same number would give two portals the same ids, harmless while each stays where
//! it is, fatal when one moves onto the other's shard (its restore would find the ids taken).
//! So each shard's sequence is confined to a range no other shard uses: every id the
//! installation ever hands out is handed out once, and a portal moves anywhere with its ids.

use crate::crm::record::RecordId;
use crate::store::rows::FIRST_RECORD_ID;

/// Ids per shard: a trillion, more than any shard will hand out.
pub const IDS_PER_SHARD: RecordId = 1_000_000_000_000;

/// The highest `id_range` a shard may have: its ids stay below 2^53, so clients that read
/// ids as JavaScript numbers (or doubles) read them exactly.
pub const MAX_ID_RANGE: u32 = 9_000;

/// The ids one shard hands out, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub first: RecordId,
    pub last: RecordId,
}

impl IdRange {
    /// The range of the shard numbered `number` (its `id_range`). Range 0 starts where an
    /// unsharded store starts, so a database that served alone keeps its ids as shard 0.
    pub fn numbered(number: u32) -> Self {
        let first = FIRST_RECORD_ID + RecordId::from(number) * IDS_PER_SHARD;
        Self {
            first,
            last: first + IDS_PER_SHARD - 1,
        }
    }

    pub fn contains(&self, id: RecordId) -> bool {
        (self.first..=self.last).contains(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_disjoint_and_stay_below_two_to_the_53() {
        let zero = IdRange::numbered(0);
        assert_eq!(zero.first, FIRST_RECORD_ID);
        let one = IdRange::numbered(1);
        assert_eq!(one.first, zero.last + 1);
        assert!(!zero.contains(one.first) && !one.contains(zero.last));
        assert!(IdRange::numbered(MAX_ID_RANGE).last < 1 << 53);
    }
}
