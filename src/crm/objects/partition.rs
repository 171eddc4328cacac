//! Where records live: one portal's records of one object type.

use super::ObjectType;
use crate::crm::record::PortalId;

/// One portal's records of one type: the unit every engine keeps records, history, custom
/// properties and search indexes by. Portals never see each other's partitions, and a
/// type's records never mix with another's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Partition {
    pub portal: PortalId,
    pub object_type: ObjectType,
}

impl Partition {
    pub fn new(portal: PortalId, object_type: ObjectType) -> Self {
        Self {
            portal,
            object_type,
        }
    }

    /// A portal's calls.
    pub fn calls(portal: PortalId) -> Self {
        Self::new(portal, ObjectType::CALLS)
    }

    /// Every partition of a portal, one per registered type.
    pub fn all_of(portal: PortalId) -> impl Iterator<Item = Partition> {
        ObjectType::all().map(move |object_type| Self::new(portal, object_type))
    }

    /// The partition's number in storage: the portal in the low 32 bits, the type's
    /// storage key above. Calls are type 0, so their key is the bare portal id, which is
    /// what stores written before there were other types hold: those read unchanged.
    pub fn key(self) -> i64 {
        i64::from(self.portal) | (i64::from(self.object_type.storage_key()) << 32)
    }

    /// The partition stored under `key`; `None` for a key no registered type makes.
    pub fn from_key(key: i64) -> Option<Self> {
        let portal = PortalId::try_from(key & 0xFFFF_FFFF).ok()?;
        let object_type = u8::try_from(key >> 32)
            .ok()
            .and_then(ObjectType::from_storage_key)?;
        Some(Self::new(portal, object_type))
    }

    /// The portal part of a stored key, whatever its type.
    pub fn portal_of_key(key: i64) -> i64 {
        key & 0xFFFF_FFFF
    }

    /// The keys of every partition of a portal, as an SQL list (`7, 4294967303, …`): integers
    /// only, so safe to splice into a statement, and a list the key indexes can serve where
    /// a computed `portal & mask` could not.
    pub fn key_list_of(portal: PortalId) -> String {
        Self::all_of(portal)
            .map(|p| p.key().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_calls_keep_the_bare_portal() {
        assert_eq!(Partition::new(7, ObjectType::CALLS).key(), 7);
        for t in ObjectType::all() {
            for portal in [0, 1, PortalId::MAX] {
                let p = Partition::new(portal, t);
                assert_eq!(Partition::from_key(p.key()), Some(p));
                assert_eq!(Partition::portal_of_key(p.key()), i64::from(portal));
            }
        }
        assert_eq!(Partition::from_key(i64::from(u8::MAX) << 32), None);
        assert_eq!(Partition::from_key(-1), None);
    }
}
